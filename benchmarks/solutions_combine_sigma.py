#!/usr/bin/env python3
"""Exercises 5.5 and 5.6: section 5.6's combination network trained in full, from a random c and
with a faster rate for c4.

Section 5.6 trains fast_combine_cnn(maps=(6, 16), rng=seed) on the 6000 embedded training digits
for 3 epochs of mini-batches of 10 (18 000 pattern presentations), plain gradient descent at
eta = 1 on the squared error, the order drawn by np.random.default_rng(seed) (one permutation per
epoch). This script repeats exactly that, for seeds 0-4, in three variants:

- sigma = 0: c4 = 0 (section 5.6's own "combination" run; seeds 0 and 1 are its two runs);
- sigma = 2: c4 drawn from N(0, sigma^2) by np.random.default_rng(1000 + seed) (exercise 5.5);
- c4 rate x 30: c4 = 0, the rate of c4 30 * eta, every other rate eta (exercise 5.6).

For each run it records the effective number of inputs exp H(alpha_j) of the combination layer
(cnnlit.sparsity.effective_inputs, mean over the 16 output maps) before and after training, the
largest change of a weight |alpha_ij(after) - alpha_ij(before)|, the fraction of weights below
0.01, the largest weight, alpha before and after, the test error on the 1000 embedded test digits
after each epoch, and the seconds the run took.

    OPENBLAS_NUM_THREADS=1 python benchmarks/solutions_combine_sigma.py

Writes results/combine_sigma.json and results/combine_sigma.md; chapter 5's solutions read the
JSON. About a minute at one thread.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy is imported

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_commit, machine, write_results  # noqa: E402

from cnnlit.combine import fast_combine_cnn  # noqa: E402
from cnnlit.data import load_digits  # noqa: E402
from cnnlit.dense import gradient_step  # noqa: E402
from cnnlit.sparsity import effective_inputs  # noqa: E402

EPOCHS, BATCH, ETA = 3, 10, 1.0  # section 5.6
SEEDS = [0, 1, 2, 3, 4]
VARIANTS = {  # name: (sigma of the initial c4, rate of c4 in units of eta)
    "sigma 0": (0.0, 1.0),
    "sigma 2": (2.0, 1.0),
    "c4 rate x 30": (0.0, 30.0),
}


def run(sigma, c4_factor, seed, data):
    """One run of section 5.6's training, c4 drawn with scale sigma and trained at c4_factor * eta."""
    X_train, T_train, X_test, y_test = data
    t0 = time.perf_counter()
    net = fast_combine_cnn(maps=(6, 16), rng=seed)
    net.params["c4"][...] = sigma * np.random.default_rng(1000 + seed).normal(size=(6, 16))
    rates = {name: c4_factor * ETA if name == "c4" else ETA for name in net.params}
    before = net.layers[2].alpha.copy()
    order_rng = np.random.default_rng(seed)
    errors = []
    for _ in range(EPOCHS):  # section 5.6's train()
        order = order_rng.permutation(len(X_train))
        for i in range(0, len(X_train), BATCH):
            idx = order[i : i + BATCH]
            gradient_step(net.params, net.gradients(X_train[idx], T_train[idx]), rates)
        errors.append(float(np.mean(net.classify(X_test) != y_test)))
    after = net.layers[2].alpha.copy()
    return {
        "seed": seed,
        "sigma": sigma,
        "c4_rate": c4_factor * ETA,
        "effective_inputs_before": float(effective_inputs(before).mean()),
        "effective_inputs_after": float(effective_inputs(after).mean()),
        "largest_change": float(np.abs(after - before).max()),
        "below_0.01": float(np.mean(after < 0.01)),
        "largest_weight": float(after.max()),
        "test_error": errors,
        "alpha_before": before.round(6).tolist(),
        "alpha_after": after.round(6).tolist(),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    a = p.parse_args(argv)
    X_train, T_train = load_digits("train")
    X_test, y_test = load_digits("test", one_hot_targets=False)
    data = (X_train, T_train, X_test, y_test)
    mach, t0 = machine(), time.perf_counter()
    runs = []
    for name, (sigma, factor) in VARIANTS.items():
        for seed in a.seeds:
            r = run(sigma, factor, seed, data)
            r["variant"] = name
            runs.append(r)
            print(
                f"{name:13s} seed {seed}: effective inputs {r['effective_inputs_before']:.2f} -> "
                f"{r['effective_inputs_after']:.2f}, largest change {r['largest_change']:.3f}, "
                f"test error {100 * r['test_error'][-1]:.1f}%, {r['seconds']:.1f} s",
                flush=True,
            )
    total = time.perf_counter() - t0
    meta = {
        "commit": git_commit(),
        "machine": mach,
        "seconds_total": round(total, 1),
        "epochs": EPOCHS,
        "batch": BATCH,
        "eta": ETA,
        "seeds": a.seeds,
        "variants": {k: {"sigma": s, "c4_rate": f * ETA} for k, (s, f) in VARIANTS.items()},
        "c_draw": "sigma * np.random.default_rng(1000 + seed).normal(size=(6, 16))",
        "network": "fast_combine_cnn(maps=(6, 16), rng=seed); order np.random.default_rng(seed)",
        "train": "6000 embedded training digits",
        "test": "1000 embedded test digits",
    }
    lines = [
        "# Exercises 5.5 and 5.6: section 5.6's combination network, full runs",
        "",
        f"Commit {meta['commit']}, {mach['date']}, load average at start {mach['load_average_at_start']}, "
        f"one BLAS thread, {total:.0f} s in all. {EPOCHS} epochs of batches of {BATCH} at eta = {ETA:g}.",
        "",
        "| variant | seed | effective inputs before | after | largest change of a weight | alpha < 0.01 "
        "| test error | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['variant']} | {r['seed']} | {r['effective_inputs_before']:.2f} | {r['effective_inputs_after']:.2f} | "
        f"{r['largest_change']:.3f} | {100 * r['below_0.01']:.0f}% | {100 * r['test_error'][-1]:.1f}% | {r['seconds']:.1f} |"
        for r in runs
    ]
    write_results("combine_sigma", {"meta": meta, "runs": runs}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
