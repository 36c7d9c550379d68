#!/usr/bin/env python3
"""Reproduction (b) of chapter 8: the best recipe the book can justify, on full MNIST, in 15 minutes.

The ingredients, and the chapters they come from: the fast layers (chapter 4); mean pooling
(chapter 3; chapter 8's comparison finds the trainable beta/b no better); softmax outputs with
the cross-entropy error (chapter 7, §4.3); LeNet-5's scaled tanh in the convolution layers
(chapter 1; --activation, default tanh, or sigmoid as in the toolbox); more feature maps than the
toolbox's 6 and 12 (LeNet-5 has 6 and 16; --maps, default 32 and 64); a rate per layer (chapter
7, the note after N6; --layer-rates, default 0.5, 0.25, 0.125 for layers 2, 4, 6, or
--single-rate with --eta); mini-batches of 50, and a step size multiplied by F ** (training
seconds spent / budget) at the start of every epoch (--anneal-to F, default 0.02), so that it
reaches about F times its first value when the budget runs out however many epochs the machine
manages, or by a constant factor after every epoch (--decay D instead).

Training stops before an epoch that, judged by the slowest epoch so far, would not finish within
the budget (--budget seconds of training, default 900); on a shared machine that is a forecast,
and an epoch can still overrun. The test error is measured after every epoch (outside the timed
training), as a learning curve; nothing is selected on it: the result is the error after the
last epoch. The defaults reproduce the recorded run repro_best_tanh (--seed 1: repro_best_tanh_seed1):

    CNNLIT_DATA=/path/to/mnist python benchmarks/repro_best.py --name repro_best_tanh

The sigmoid runs, recorded before the tanh existed here, correspond to --activation sigmoid with
--maps 20 50 --layer-rates 2 1 0.5 --decay 0.9 (repro_best_sigmoid), and with --maps 12 32
--decay 0.85 --threads 1 and either --single-rate --eta 0.5 (repro_best_eta) or --layer-rates 2 1
0.5 (repro_best_layer).

writes benchmarks/results/<name>.json (and .md).
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
from benchmarks.repro_toolbox import load  # noqa: E402
from cnnlit.train import SGD, layer_rates, softmax_cnn, train  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="the MNIST folder (default: $CNNLIT_DATA)")
    p.add_argument("--name", default="repro_best")
    p.add_argument("--maps", type=int, nargs=2, default=[32, 64])
    p.add_argument("--activation", default="tanh", choices=["tanh", "sigmoid"],
                   help="of the two convolution layers (default tanh)")
    p.add_argument("--eta", type=float, default=0.5)
    p.add_argument("--layer-rates", type=float, nargs=3, default=[0.5, 0.25, 0.125], metavar=("C1", "C2", "OUT"),
                   help="rates of layers 2, 4, 6 (default 0.5 0.25 0.125); the decay applies to all")
    p.add_argument("--single-rate", action="store_true", help="use --eta for every layer instead of --layer-rates")
    p.add_argument("--decay", type=float, default=None,
                   help="instead of --anneal-to: multiply the step size by this after every epoch")
    p.add_argument("--anneal-to", type=float, default=0.02, metavar="F",
                   help="scale the step size by F ** (seconds spent / budget) (default 0.02)")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--max-epochs", type=int, default=100)
    p.add_argument("--budget", type=float, default=900.0, help="seconds of training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    a = p.parse_args(argv)
    if a.decay is not None:
        a.anneal_to = None
        if not 0 < a.decay <= 1:
            p.error(f"--decay must lie in (0, 1], got {a.decay}")
    elif not 0 < a.anneal_to <= 1:
        p.error(f"--anneal-to must lie in (0, 1], got {a.anneal_to}")
    if a.single_rate:
        a.layer_rates = None
    dtype = np.dtype(a.dtype).type
    mach = machine()
    X, T, Xt, yt = load(a.data, dtype)
    net = softmax_cnn(maps=tuple(a.maps), activation=a.activation, rng=a.seed, dtype=dtype)
    rng = np.random.default_rng(a.seed)
    epochs, spent, wall0 = [], 0.0, time.perf_counter()
    with threads(a.threads):
        for e in range(a.max_epochs):
            if epochs and spent + max(r["train_seconds"] for r in epochs) > a.budget:
                break
            scale = a.decay ** e if a.anneal_to is None else a.anneal_to ** (spent / a.budget)
            if a.layer_rates:
                opt = SGD(layer_rates(net, {ell: r * scale for ell, r in zip((2, 4, 6), a.layer_rates, strict=True)}))
            else:
                opt = SGD(a.eta * scale)
            t0 = time.perf_counter()
            train(net, X, T, epochs=1, batch_size=a.batch_size, optimizer=opt, rng=rng,
                  monitor=(X[:500], T[:500]), progress=False)
            dt = time.perf_counter() - t0
            spent += dt
            err = float(np.mean(net.classify(Xt) != yt))
            epochs.append({"epoch": e + 1, "step_scale": scale, "train_seconds": round(dt, 2),
                           "cumulative_train_seconds": round(spent, 2), "test_error": err,
                           "load_average": [round(v, 2) for v in os.getloadavg()]})
            print(epochs[-1], flush=True)
    final = epochs[-1]
    settings = {"model": "softmax_cnn", "maps": a.maps, "kernel_size": 5, "m": 2, "activation": a.activation,
                "output": "linear + softmax cross-entropy", "loss": "cross-entropy", "batch_size": a.batch_size,
                "eta": None if a.layer_rates else a.eta, "layer_rates": a.layer_rates,
                "decay_per_epoch": a.decay if a.anneal_to is None else None, "anneal_to": a.anneal_to,
                "budget_seconds": a.budget, "seed": a.seed, "dtype": a.dtype, "threads": a.threads,
                "inputs": "x/255", "train_patterns": len(X), "test_patterns": len(Xt)}
    res = {"machine": mach, "settings": settings, "epochs": epochs, "test_error": final["test_error"],
           "train_seconds": final["cumulative_train_seconds"], "n_epochs": final["epoch"],
           "wall_seconds_with_test_evaluations": round(time.perf_counter() - wall0, 1)}
    md = [f"Best recipe on full MNIST ({a.name}): softmax_cnn maps {a.maps}, {a.activation}, cross-entropy, "
          f"batch {a.batch_size}, "
          f"{'rates ' + str(a.layer_rates) if a.layer_rates else 'eta ' + str(a.eta)} times "
          f"{str(a.decay) + '^epoch' if a.anneal_to is None else str(a.anneal_to) + '^(seconds spent / budget)'}, "
          f"seed {a.seed}, {a.dtype}, {a.threads} thread(s), budget {a.budget:.0f} s.",
          f"Commit {mach['commit']}, {mach['date']}, load average {mach['load_average_at_start']} at start.", "",
          "| epoch | training s (cumulative) | test error |", "|---|---|---|"]
    md[-2:] = ["| epoch | step scale | training s (cumulative) | test error |", "|---|---|---|---|"]
    md += [f"| {r['epoch']} | {r['step_scale']:.3f} | {r['cumulative_train_seconds']:.0f} | {100 * r['test_error']:.2f}% |"
           for r in epochs]
    write_results(a.name, res, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
