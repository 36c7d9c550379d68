#!/usr/bin/env python3
"""Chapter 8's comparison of the book's variants, on equal footing, on the embedded subset.

Every variant starts from the toolbox recipe (fast_toolbox_cnn: mean pooling, full connection,
squared error, plain gradient descent with eta = 1) and changes one thing:

- paper: the paper's trainable beta/b sub-sampling (chapter 3);
- combine: learned combinations (chapter 5) with the entropy penalty at lambda = 0.004 (chapter 6);
- cross-entropy: softmax outputs and the cross-entropy error, eta = 0.5 (chapter 7);
- per-layer: rates 20, 4, 1 for layers 2, 4, 6 (chapter 7);
- SDLM: eta = 0.01, mu = 1e-3, gamma = 0.05 (chapter 7).

All are built by cnnlit.cli.build_model and trained by cnnlit.train.train on the 6000 training
digits, in float32 at one BLAS thread, for 10 epochs of mini-batches of 50, with seeds 0 and 1
(each seed draws the weights and the order); the test error and loss on the 1000 test digits are
recorded after every epoch. It needs no CNNLIT_DATA, and runs in minutes:

    python benchmarks/compare_variants.py        # writes benchmarks/results/variants.json (and .md)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine, threads, write_results  # noqa: E402
from cnnlit.cli import build_model  # noqa: E402
from cnnlit.data import load_digits  # noqa: E402
from cnnlit.train import SDLM, SGD, layer_rates, train  # noqa: E402

VARIANTS = {
    "toolbox": ("toolbox", None, lambda net: SGD(1.0)),
    "paper": ("paper", None, lambda net: SGD(1.0)),
    "combine": ("combine", None, lambda net: SGD(1.0)),
    "cross-entropy": ("toolbox", "cross-entropy", lambda net: SGD(0.5)),
    "per-layer": ("toolbox", None, lambda net: SGD(layer_rates(net, {2: 20.0, 4: 4.0, 6: 1.0}))),
    "SDLM": ("toolbox", None, lambda net: SDLM(eta=0.01, mu=1e-3, gamma=0.05)),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    a = p.parse_args(argv)
    f32 = np.float32
    X, T = load_digits("train", dtype=f32)
    Xt, Tt = load_digits("test", dtype=f32)
    mach = machine()
    runs = {}
    with threads(1):
        for key, (model, loss, make_opt) in VARIANTS.items():
            runs[key] = []
            for seed in a.seeds:
                net = build_model(model, loss=loss, rng=seed, dtype=f32)
                t0 = time.perf_counter()
                h = train(net, X, T, epochs=a.epochs, batch_size=50, optimizer=make_opt(net), rng=seed,
                          monitor=(Xt, Tt), progress=False)
                runs[key].append({"seed": seed, "epoch": h["epoch"].tolist(), "test_error": h["error"].tolist(),
                                  "test_loss": [float(v) for v in h["loss"]],
                                  "seconds": round(time.perf_counter() - t0, 2)})
                print(key, seed, f"{100 * h['error'][-1]:.1f}%", runs[key][-1]["seconds"], "s", flush=True)
    res = {"machine": mach,
           "settings": {"data": "embedded subset, 6000 training / 1000 test digits", "epochs": a.epochs,
                        "batch_size": 50, "dtype": "float32", "threads": 1, "seeds": a.seeds,
                        "variants": {k: {"model": m, "loss": lo or "squared", "optimizer": repr(f(build_model(m, loss=lo)))}
                                     for k, (m, lo, f) in VARIANTS.items()}},
           "runs": runs}
    md = [f"Chapter 8's variants on the embedded subset, {a.epochs} epochs, batch 50, seeds {a.seeds}, float32, "
          f"1 thread; commit {mach['commit']}, {mach['date']}, load average {mach['load_average_at_start']}.", "",
          "| variant | final test error per seed | mean | seconds per run (mean) |", "|---|---|---|---|"]
    for k, rs in runs.items():
        errs = [r["test_error"][-1] for r in rs]
        md.append(f"| {k} | {', '.join(f'{100 * e:.1f}%' for e in errs)} | {100 * np.mean(errs):.1f}% | "
                  f"{np.mean([r['seconds'] for r in rs]):.0f} |")
    write_results("variants", res, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
