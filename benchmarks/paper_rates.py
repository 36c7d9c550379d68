#!/usr/bin/env python3
"""Exercise 8.3: rates per layer with which the paper's beta/b network leaves the plateau.

The paper's network (cnnlit.cli.build_model("paper"): the toolbox network with trainable beta and
b in the sub-sampling layers 3 and 5, squared error) never left the plateau in chapter 8's
comparison: 90% test error after ten epochs at eta = 1 (benchmarks/compare_variants.py). At the
start its kernels k2 and k4 get about a twentieth and a quarter of the gradient they get in the
toolbox network (solution 8.3 measures it), so this script raises their rates by those factors,
on top of the rates per layer 20, 4, 1 that chapter 8 gave the toolbox network, and tries a few
neighbours and chapter 7's SDLM, which sets a rate per weight from the curvature. None of them
left the plateau from the book's start (beta = 1/4, b = 0), so two more settings (STARTS) train
from the start beta = 1, b = -2, which passes signals on as mean pooling does.

Every setting trains on the embedded subset (6000 training digits) for 10 epochs of mini-batches
of 50, in float32 at one BLAS thread, with seeds 0 and 1 (weights and order), and records the
test error on the 1000 test digits after every epoch, as compare_variants.py does; a run has
left the plateau when its test error falls below 50%.

    python benchmarks/paper_rates.py        # writes benchmarks/results/paper_rates.json (and .md)
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

# rates for layers 2 (k2), 3 (beta3, b3), 4 (k4), 5 (beta5, b5), 6 (W6)
RATES = {
    "eta 1 (section 8.4)": {2: 1.0, 3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0},
    "20, 1, 4, 1, 1": {2: 20.0, 3: 1.0, 4: 4.0, 5: 1.0, 6: 1.0},
    "400, 1, 16, 1, 1": {2: 400.0, 3: 1.0, 4: 16.0, 5: 1.0, 6: 1.0},
    "400, 20, 16, 4, 1": {2: 400.0, 3: 20.0, 4: 16.0, 5: 4.0, 6: 1.0},
    "100, 1, 8, 1, 1": {2: 100.0, 3: 1.0, 4: 8.0, 5: 1.0, 6: 1.0},
}


# The start: build_model("paper") starts every sub-sampling layer at beta = 1/4, b = 0 (the mean,
# then a sigmoid at about 0.5, slope 0.23): each input pixel moves the layer's output by
# 0.25 * 0.23 = 0.06, a quarter of what mean pooling passes on. beta = 1, b = -2 centres the
# sigmoid (the sum of four inputs near 0.5 is about 2) where its slope is 1/4, so each pixel moves
# the output by 1/4, as mean pooling does.
CENTRED = {"beta": 1.0, "b": -2.0}
STARTS = {"20, 1, 4, 1, 1 from beta 1, b -2": ("20, 1, 4, 1, 1", CENTRED),
          "eta 1 from beta 1, b -2": ("eta 1 (section 8.4)", CENTRED)}


def optimizers(net):
    out = {k: SGD(layer_rates(net, r)) for k, r in RATES.items()}
    out["SDLM (section 8.4's constants)"] = SDLM(eta=0.01, mu=1e-3, gamma=0.05)
    out.update({k: SGD(layer_rates(net, RATES[r])) for k, (r, _) in STARTS.items()})
    return out


def start(net, key):
    """Set the sub-sampling layers' beta and b of the settings in STARTS (else leave the book's)."""
    if key in STARTS:
        for ell in (3, 5):
            net.params[f"beta{ell}"][...] = STARTS[key][1]["beta"]
            net.params[f"b{ell}"][...] = STARTS[key][1]["b"]
    return net


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
        for key in optimizers(build_model("paper")):
            runs[key] = []
            for seed in a.seeds:
                net = start(build_model("paper", rng=seed, dtype=f32), key)
                t0 = time.perf_counter()
                h = train(net, X, T, epochs=a.epochs, batch_size=50, optimizer=optimizers(net)[key],
                          rng=seed, monitor=(Xt, Tt), progress=False)
                err = [float(e) for e in h["error"]]
                runs[key].append({"seed": seed, "epoch": h["epoch"].tolist(), "test_error": err,
                                  "finite": bool(all(np.isfinite(v).all() for v in net.params.values())),
                                  "seconds": round(time.perf_counter() - t0, 2)})
                print(f"{key:32s} seed {seed}: " + " ".join(f"{100 * e:.1f}" for e in err),
                      f"({runs[key][-1]['seconds']:.0f} s)", flush=True)
    res = {"machine": mach,
           "settings": {"model": "paper", "loss": "squared", "data": "embedded subset, 6000 training / 1000 test digits",
                        "epochs": a.epochs, "batch_size": 50, "dtype": "float32", "threads": 1, "seeds": a.seeds,
                        "rates": {k: {str(ell): v for ell, v in r.items()} for k, r in RATES.items()},
                        "sdlm": {"eta": 0.01, "mu": 1e-3, "gamma": 0.05},
                        "starts": {k: {"rates": r, **st} for k, (r, st) in STARTS.items()}},
           "runs": runs}
    md = [f"Exercise 8.3: the paper's beta/b network with rates per layer, embedded subset, {a.epochs} epochs, "
          f"batch 50, seeds {a.seeds}, float32, 1 thread; commit {mach['commit']}, {mach['date']}, load average "
          f"{mach['load_average_at_start']}.", "",
          "| rates for layers 2, 3, 4, 5, 6 | test error after each epoch, per seed | below 50% after epoch |",
          "|---|---|---|"]
    for k, rs in runs.items():
        curves = "; ".join(" ".join(f"{100 * e:.1f}" for e in r["test_error"][1:]) for r in rs)
        exits = ", ".join(next((f"{ep:g}" for ep, e in zip(r["epoch"], r["test_error"], strict=True) if e < 0.5), "never")
                          for r in rs)
        md.append(f"| {k} | {curves} | {exits} |")
    write_results("paper_rates", res, "\n".join(md) + "\n")


if __name__ == "__main__":
    main()
