#!/usr/bin/env python3
"""Exercise 8.2: chapter 6's sweep of the entropy penalty's weight, run from the command line.

For each lambda of chapter 6's sweep (0, 0.001, 0.002, 0.004, 0.01, 0.03) and each seed, runs the
program as a user would,

    python -m cnnlit train --model combine --penalty-lambda LAMBDA --epochs 10 --seed S \\
        --quiet --save FILE

on the embedded subset (6000 training, 1000 test digits), with the program's defaults otherwise
(squared error, eta = 1, mini-batches of 50, float32), at one BLAS thread. Then it reads each
saved model back and records chapter 6's two measures of sparsity for the learned combination
weights alpha of layer 4: the effective number of inputs exp H(alpha_j), averaged over the
twelve output maps, and the fraction of the 72 weights below 0.01; and the test error that the
program printed, checked against the saved model's.

    python benchmarks/combine_lambda_sweep.py     # writes benchmarks/results/combine_lambda_sweep.json

No CNNLIT_DATA needed; a few minutes at one thread.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, write_results  # noqa: E402
from cnnlit.cli import load_model  # noqa: E402
from cnnlit.data import load_digits  # noqa: E402
from cnnlit.sparsity import alpha_of, effective_inputs  # noqa: E402

LAMS = [0.0, 0.001, 0.002, 0.004, 0.01, 0.03]          # chapter 6, section 6.6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    a = p.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "CNNLIT_DATA"}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    Xt, yt = load_digits("test", one_hot_targets=False, dtype=np.float32)
    mach = machine()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in a.seeds:
            for lam in LAMS:
                path = Path(tmp) / f"combine_{lam:g}_{seed}.npz"
                cmd = ["train", "--model", "combine", "--penalty-lambda", f"{lam:g}", "--epochs",
                       str(a.epochs), "--seed", str(seed), "--quiet", "--save", str(path)]
                t0 = time.perf_counter()
                r = subprocess.run([sys.executable, "-m", "cnnlit", *cmd], capture_output=True,
                                   text=True, env=env, check=False)
                seconds = time.perf_counter() - t0
                if r.returncode != 0:
                    sys.exit(f"cnnlit {' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
                model, info = load_model(path)
                keys = [k for k in model.params if k.startswith("c")]
                assert keys == ["c4"], keys
                alpha = alpha_of(model.params["c4"].astype(np.float64))
                wrong = int(np.sum(model.classify(Xt) != yt))
                printed = next(ln for ln in r.stdout.splitlines() if ln.startswith("test error:"))
                assert f"({wrong} of {len(yt)} test digits)" in printed, printed
                assert info["penalty_lambda"] == lam
                runs.append({"lambda": lam, "seed": seed, "command": " ".join(["cnnlit", *cmd[:-1], path.name]),
                             "stdout": r.stdout.splitlines()[:-1],
                             "effective_inputs": float(effective_inputs(alpha).mean()),
                             "below_0.01": float(np.mean(alpha < 0.01)),
                             "test_error": wrong / len(yt), "seconds": round(seconds, 1)})
                print(f"lambda {lam:g} seed {seed}: {runs[-1]['effective_inputs']:.2f} effective "
                      f"inputs, {100 * runs[-1]['below_0.01']:.0f}% below 0.01, test error "
                      f"{100 * wrong / len(yt):.1f}%, {seconds:.0f} s", flush=True)
    res = {"machine": mach, "settings": {"data": "embedded subset, 6000 training / 1000 test digits",
                                         "epochs": a.epochs, "seeds": a.seeds, "lambdas": LAMS,
                                         "threads": 1, "defaults": "squared error, lr 1, batch 50, float32"},
           "runs": runs}
    md = [f"Exercise 8.2: `cnnlit train --model combine --penalty-lambda L --epochs {a.epochs}` on the "
          f"embedded subset, seeds {a.seeds}, 1 thread; commit {mach['commit']}, {mach['date']}, "
          f"load average {mach['load_average_at_start']}.", "",
          "| lambda | effective inputs (per seed) | alpha < 0.01 | test error (per seed) |",
          "|---|---|---|---|"]
    for lam in LAMS:
        rs = [r for r in runs if r["lambda"] == lam]
        neff = ", ".join(f"{r['effective_inputs']:.2f}" for r in rs)
        below = ", ".join(f"{100 * r['below_0.01']:.0f}%" for r in rs)
        errors = ", ".join(f"{100 * r['test_error']:.1f}%" for r in rs)
        md.append(f"| {lam:g} | {neff} | {below} | {errors} |")
    write_results("combine_lambda_sweep", res, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
