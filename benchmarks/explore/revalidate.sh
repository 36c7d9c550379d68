#!/bin/sh
# Every exploratory run of RUNS.md re-run with the same settings and epochs, judged on the
# validation digits (the last 10 000 of training) instead of the test digits, in two lanes at
# one BLAS thread each; then collect_val.py writes benchmarks/results/explore_val.{json,md}.
# Usage: CNNLIT_DATA=/path/to/mnist sh benchmarks/explore/revalidate.sh   (from the repository root)
set -e
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
PY=${PYTHON:-python}
R="$PY benchmarks/explore/explore_recipe.py --validate --out benchmarks/explore/val"
L=benchmarks/explore/val
mkdir -p $L
(
  $R --name t7 --act tanh --maps 32 64 --rates 0.5 0.25 0.125 --decay 0.9 --epochs 18 > $L/t7.log
  $R --name t2 --act tanh --rates 0.5 0.25 0.125 --decay 0.9 --epochs 14 > $L/t2.log
  $R --name t3 --act tanh --rates 1 0.5 0.25 --decay 0.93 --epochs 3 > $L/t3.log
  $R --name t5 --act tanh --rates 0.5 0.25 0.125 --decay 0.9 --hidden 100 --epochs 3 > $L/t5.log
) &
(
  $R --name t4 --act tanh --rates 0.5 0.25 0.125 --decay 0.95 --epochs 15 > $L/t4.log
  $R --name t6 --act tanh --rates 0.25 0.125 0.0625 --decay 0.93 --hidden 100 --epochs 16 > $L/t6.log
  $R --name t8 --act tanh --rates 0.5 0.25 0.125 --decay 0.9 --batch 25 --epochs 12 > $L/t8.log
  $R --name t9 --act tanh --rates 0.5 0.25 0.125 --decay 0.8 --epochs 7 > $L/t9.log
  $R --name t1 --act tanh --rates 0.5 0.25 0.125 --decay 0.9 --std --epochs 5 > $L/t1.log
  $R --name sig95 --act sigmoid --rates 2 1 0.5 --decay 0.95 --epochs 3 > $L/sig95.log
  $R --name tanh_std --act tanh --rates 0.5 0.25 0.125 --decay 0.95 --std --epochs 3 > $L/tanh_std.log
) &
wait
$PY benchmarks/explore/collect_val.py
