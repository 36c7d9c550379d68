#!/usr/bin/env python3
"""Chapter 8's clean protocol for the best recipe on full MNIST: choose on validation, test once.

Two stages, both with the schedule of `cnnlit train --model best` (cnnlit.cli.MODELS["best"]:
epochs, step size, decay per epoch, rates per layer), trained by the same function (cnnlit.cli.fit)
that the program uses, so a recorded run and the program's run are the same computation:

1. --validate: train on the first 50 000 training digits, measure the error on the last 10 000
   (the validation set) after every epoch. Nothing touches the test digits. One run per
   candidate (--distortion none, shift or affine; see cnnlit.cli.DISTORTIONS).
2. without --validate: train the chosen recipe on all 60 000 training digits, record the
   training error on a fixed 5 000 of them after every epoch (the learning curve), and measure
   the test error once, at the end.

The schedule counts epochs, not seconds, so the result does not depend on the machine's load;
the training seconds and the load average after every epoch are recorded beside it.

    CNNLIT_DATA=/path/to/mnist OPENBLAS_NUM_THREADS=1 python benchmarks/repro_best.py \\
        --validate --distortion shift --name repro_best_val_shift
    CNNLIT_DATA=/path/to/mnist OPENBLAS_NUM_THREADS=1 python benchmarks/repro_best.py \\
        --seed 0 --name repro_best_seed0

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
from cnnlit.cli import DISTORTIONS, MODELS, build_model, fit  # noqa: E402

N_TRAIN = 50_000          # the validation set is the last 10 000 training digits


def main(argv=None):
    spec = MODELS["best"]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="the MNIST folder (default: $CNNLIT_DATA)")
    p.add_argument("--name", default="repro_best")
    p.add_argument("--validate", action="store_true",
                   help="train on the first 50 000 digits, measure on the last 10 000; no test digits")
    default = next(k for k, v in DISTORTIONS.items() if v == spec["distortion"])
    p.add_argument("--distortion", choices=list(DISTORTIONS), default=default,
                   help=f"(default: the program's best recipe, {default})")
    p.add_argument("--epochs", type=int, default=spec["epochs"])
    p.add_argument("--lr", type=float, default=spec["lr"])
    p.add_argument("--decay", type=float, default=spec["decay"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--split", action="store_true",
                   help="only count the classes of the training, validation and test digits "
                        "(writes benchmarks/results/repro_best_split.json)")
    a = p.parse_args(argv)
    if a.split:
        X, T, Xt, yt = load(a.data, np.float32)
        y = T.argmax(axis=1)
        counts = {"training (all 60 000)": y, "candidates (first 50 000)": y[:N_TRAIN],
                  "validation (last 10 000)": y[N_TRAIN:], "test (10 000)": yt}
        res = {"machine": machine(), "class_counts": {k: np.bincount(v, minlength=10).tolist()
                                                      for k, v in counts.items()}}
        write_results("repro_best_split", res, "\n".join(f"{k}: {v}" for k, v in res["class_counts"].items()) + "\n")
        return
    if not 0 < a.decay <= 1 or a.epochs < 1 or not 0 < a.lr < 10:
        p.error("--decay must lie in (0, 1], --epochs be positive, --lr in (0, 10)")
    dtype = np.float32
    mach = machine()
    X, T, Xt, yt = load(a.data, dtype)
    y = T.argmax(axis=1)
    if a.validate:
        X, T, Xv, yv, what = X[:N_TRAIN], T[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:], "validation"
    else:
        Xv, yv, what = X[:5000], y[:5000], "training (first 5 000)"
    net = build_model("best", rng=a.seed, dtype=dtype)
    epochs, t_last, spent, wall0 = [], [time.perf_counter()], [0.0], time.perf_counter()

    def on_epoch(e, eta):
        dt = time.perf_counter() - t_last[0]
        spent[0] += dt
        err = float(np.mean(net.classify(Xv) != yv))
        epochs.append({"epoch": e + 1, "lr": eta, "train_seconds": round(dt, 2),
                       "cumulative_train_seconds": round(spent[0], 2), f"{what.split()[0]}_error": err,
                       "load_average": [round(v, 2) for v in os.getloadavg()]})
        print(epochs[-1], flush=True)
        t_last[0] = time.perf_counter()

    with threads(a.threads):
        fit(net, X, T, epochs=a.epochs, lr=a.lr, decay=a.decay, batch_size=50,
            layer_scale=spec["layer_scale"], distortion=DISTORTIONS[a.distortion], rng=a.seed,
            on_epoch=on_epoch)
        test_error = None if a.validate else float(np.mean(net.classify(Xt) != yt))
    settings = {"model": "best", "maps": [32, 64], "activation": "tanh", "loss": "cross-entropy",
                "batch_size": 50, "lr": a.lr, "layer_scale": spec["layer_scale"], "decay_per_epoch": a.decay,
                "epochs": a.epochs, "distortion": a.distortion, "distortion_args": DISTORTIONS[a.distortion],
                "seed": a.seed, "dtype": "float32", "threads": a.threads, "inputs": "x/255",
                "train_patterns": len(X), "measured_on": what, "measured_patterns": len(yv),
                "test_patterns": None if a.validate else len(Xt)}
    last = epochs[-1]
    res = {"machine": mach, "settings": settings, "stage": "validation" if a.validate else "test",
           "epochs": epochs, "final_error": last[f"{what.split()[0]}_error"], "test_error": test_error,
           "train_seconds": last["cumulative_train_seconds"], "n_epochs": last["epoch"],
           "load_average_at_end": [round(v, 2) for v in os.getloadavg()],
           "wall_seconds": round(time.perf_counter() - wall0, 1)}
    key = f"{what.split()[0]}_error"
    md = [f"Best recipe on full MNIST ({a.name}, {res['stage']} stage): 32c5-2s-64c5-2s-10 tanh, cross-entropy, "
          f"batch 50, rates {a.lr:g} x (4, 2, 1) x {a.decay:g}^epoch, {a.epochs} epochs, distortion "
          f"{a.distortion}, seed {a.seed}, float32, {a.threads} thread(s), {len(X)} training digits.",
          f"Commit {mach['commit']}, {mach['date']}, load average {mach['load_average_at_start']} at start, "
          f"{res['load_average_at_end']} at the end; {res['train_seconds']:.0f} s of training, "
          f"{res['wall_seconds']:.0f} s wall.", "",
          f"| epoch | lr | training s (cumulative) | {what} error | load average |", "|---|---|---|---|---|"]
    md += [f"| {r['epoch']} | {r['lr']:.4f} | {r['cumulative_train_seconds']:.0f} | {100 * r[key]:.2f}% | "
           f"{r['load_average'][0]:.1f} |" for r in epochs]
    if test_error is not None:
        md += ["", f"Test error (measured once, after the last epoch): {100 * test_error:.2f}%."]
    write_results(a.name, res, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
