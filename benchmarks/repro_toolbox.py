#!/usr/bin/env python3
"""Reproduction (a) of chapter 8: DeepLearnToolbox's CNN recipe on full MNIST, three seeds.

The recipe of DeepLearnToolbox's test_example_CNN: inputs x/255, the network 6c5-2s-12c5-2s-10
(sigmoid everywhere, mean pooling, fast_toolbox_cnn), squared error, mini-batches of 50 in a
random order, plain gradient descent with eta = 1, one epoch. Their test asserts a test error
below 12% and they report about 11%. Each seed draws both the initial weights and the order.

    CNNLIT_DATA=/path/to/mnist python benchmarks/repro_toolbox.py [--threads 1] [--seeds 0 1 2]

writes benchmarks/results/repro_toolbox.json (and .md). Wall times are those of this machine
under the load recorded next to them.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine, threads, write_results  # noqa: E402
from cnnlit.data import load_mnist, one_hot  # noqa: E402
from cnnlit.fast import fast_toolbox_cnn  # noqa: E402
from cnnlit.train import train  # noqa: E402


def load(path, dtype):
    mnist = load_mnist(path)
    X = mnist.X_train.reshape(-1, 1, 28, 28).astype(dtype) / dtype(255)
    Xt = mnist.X_test.reshape(-1, 1, 28, 28).astype(dtype) / dtype(255)
    return X, one_hot(mnist.y_train, dtype=dtype), Xt, mnist.y_test.astype(np.int64)


def run_seed(X, T, Xt, yt, seed, dtype):
    net = fast_toolbox_cnn(rng=seed, dtype=dtype)
    t0 = time.perf_counter()
    train(net, X, T, epochs=1, batch_size=50, eta=1.0, rng=seed, monitor=(X[:1000], T[:1000]), progress=False)
    seconds = time.perf_counter() - t0
    error = float(np.mean(net.classify(Xt) != yt))
    return {"seed": seed, "test_error": error, "test_errors": int(round(error * len(yt))),
            "train_seconds": round(seconds, 2), "load_average_after": [round(v, 2) for v in os.getloadavg()]}


def markdown(res):
    lines = [f"DeepLearnToolbox's recipe on full MNIST: {res['settings']['summary']}.",
             f"Commit {res['machine']['commit']}, {res['machine']['date']}, {res['machine']['cpu']} "
             f"({res['machine']['cores']} cores, shared), {res['settings']['threads']} BLAS thread(s); "
             f"load average {res['machine']['load_average_at_start']} at start.", "",
             "| seed | test error | training s | load average after |", "|---|---|---|---|"]
    for r in res["runs"]:
        lines.append(f"| {r['seed']} | {100 * r['test_error']:.2f}% | {r['train_seconds']:.1f} | {r['load_average_after']} |")
    lines += ["", f"Mean test error {100 * res['mean_test_error']:.2f}%."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="the MNIST folder (default: $CNNLIT_DATA)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = p.parse_args(argv)
    dtype = np.dtype(a.dtype).type
    mach = machine()
    X, T, Xt, yt = load(a.data, dtype)
    runs = []
    with threads(a.threads):
        for seed in a.seeds:
            runs.append(run_seed(X, T, Xt, yt, seed, dtype))
            print(runs[-1], flush=True)
    res = {"machine": mach,
           "settings": {"summary": "fast_toolbox_cnn (6c5-2s-12c5-2s-10, sigmoid, mean pooling), x/255, squared error, "
                                   f"batch 50, eta 1, one epoch (1200 steps), {a.dtype}",
                        "model": "toolbox", "loss": "squared", "batch_size": 50, "eta": 1.0, "epochs": 1,
                        "dtype": a.dtype, "threads": a.threads, "seeds": a.seeds,
                        "train_patterns": len(X), "test_patterns": len(Xt)},
           "runs": runs, "mean_test_error": float(np.mean([r["test_error"] for r in runs]))}
    write_results("repro_toolbox", res, markdown(res))


if __name__ == "__main__":
    main()
