#!/usr/bin/env python3
"""Exercise 6.6: chapter 6's runs for ten epochs, and the unpenalized network with a rate per pair.

Section 6.6 builds fast_combine_cnn(rng=0) with the output biases at log(1/9), trains it two
common epochs without a penalty (order np.random.default_rng(1)), and from the parameters they
reach trains two more epochs with the entropy penalty at each lambda (order
np.random.default_rng(2)): batches of 50 of the 6000 embedded training digits, gradient descent
with the rates ETA. This script makes the same runs for ten epochs instead of two, with
lambda = 0, 0.004 and 0.03, and adds a fourth run: no penalty, and the rate of k4 set per pair at
every step to

    eta_ij = eta_k4 * min(1 / alpha_ij^2, CAP),

so that the applied kernel alpha_ij k_ij of every pair moves by -eta_k4 G_ij, as fast as that of
a pair with alpha_ij = 1 (exercise 6.6). The factor 1 / alpha_ij^2 grows without bound as a weight
falls; the cap bounds it. Before the main runs, a probe trains that fourth run for seed 0 with
several caps (none, 400, 100, 36) and records whether it stays finite and where its test error
goes; the cap is the largest probed one whose run never has a test error above that of its start
(without a cap, the first epoch takes the network from 60% to 89% test error). The per-pair run
without a cap is recorded as a fifth run.

Seed s drives the network's initialization (rng=s), the order of the common epochs
(np.random.default_rng(10 s + 1)) and that of the runs after them (np.random.default_rng(10 s + 2));
seed 0 is section 6.6's own start and order, so its runs after two epochs are section 6.6's.

    OPENBLAS_NUM_THREADS=1 python benchmarks/solutions_sparsity_rates.py [--seeds 0 1 ...]

Writes results/sparsity_rates.json and results/sparsity_rates.md; chapter 6's solution of
exercise 6.6 reads the JSON. About 45 s per seed at one thread, plus about 35 s for the probe.
"""
from __future__ import annotations

import argparse
import math
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
from cnnlit.sparsity import EntropyPenalty, Penalized, alpha_of, effective_inputs  # noqa: E402

ETA = {"k2": 3.0, "b2": 3.0, "k4": 30.0, "b4": 3.0, "c4": 10.0, "W6": 3.0, "b6": 3.0}  # section 6.5
LAMS = [0.0, 0.004, 0.03]
EPOCHS = 10
PROBE_CAPS = [math.inf, 400.0, 100.0, 36.0]


class Data:
    def __init__(self):
        self.X, self.T = load_digits("train")
        self.Xt, self.yt = load_digits("test", one_hot_targets=False)

    def error(self, model):
        return float(np.mean(model.predict(self.Xt).argmax(axis=1) != self.yt))


def per_pair_rates(model, cap):
    """ETA with k4's rate per pair: eta_k4 * min(1 / alpha_ij^2, cap), and the largest factor used."""
    alpha = alpha_of(model.params["c4"])
    factor = np.minimum(1.0 / alpha**2, cap)
    rates = dict(ETA)
    rates["k4"] = np.broadcast_to((ETA["k4"] * factor)[:, :, None, None], model.params["k4"].shape)
    return rates, float(factor.max())


def train(model, data, epochs, seed, cap=None, record=True):
    """Section 6.6's train(): one generator, a permutation per epoch, batches of 50; with cap, the
    per-pair rate of k4. Returns the test error, effective inputs and largest factor per epoch."""
    rng = np.random.default_rng(seed)
    out = {"test_error": [], "effective_inputs": [], "largest_factor": []}
    for _ in range(epochs):
        order, largest = rng.permutation(len(data.X)), 0.0
        for i in range(0, len(data.X), 50):
            idx = order[i : i + 50]
            grads = model.gradients(data.X[idx], data.T[idx])
            if cap is None:
                rates = ETA
            else:
                rates, f = per_pair_rates(model, cap)
                largest = max(largest, f) if np.isfinite(f) else largest
            gradient_step(model.params, grads, rates)
        if record:
            out["test_error"].append(data.error(model))
            out["effective_inputs"].append(float(effective_inputs(alpha_of(model.params["c4"])).mean()))
            out["largest_factor"].append(largest)
    return out


def start_of(seed, data):
    """The network after section 6.6's two common epochs, for this seed."""
    net = fast_combine_cnn(rng=seed)
    net.params["b6"] = np.full(10, np.log(1 / 9))
    train(net, data, 2, 10 * seed + 1, record=False)
    return net, {name: p.copy() for name, p in net.params.items()}


def one_run(net, start, data, seed, lam, cap):
    for name, p in start.items():
        net.params[name] = p
    model = Penalized(net, EntropyPenalty(), lam)
    t0 = time.perf_counter()
    try:
        out = train(model, data, EPOCHS, 10 * seed + 2, cap)
        out["diverged"] = not all(np.all(np.isfinite(p)) for p in net.params.values())
    except (FloatingPointError, ValueError) as err:  # the package refuses non-finite values
        out = {"diverged": True, "error_message": str(err)[:200]}
    out["seconds"] = round(time.perf_counter() - t0, 2)
    if not out["diverged"]:
        alpha = alpha_of(net.params["c4"])
        out["below_0.01"] = float(np.mean(alpha < 0.01))
        out["alpha"] = alpha.round(6).tolist()
    return out


def cap_label(cap):
    return "none" if cap is None else f"{cap:g}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    p.add_argument("--cap", type=float, default=None, help="the cap of the per-pair factor (default: chosen by the probe)")
    p.add_argument("--probe-only", action="store_true", help="run the probe, print it, write nothing")
    a = p.parse_args(argv)
    data, mach, t_all = Data(), machine(), time.perf_counter()

    # the probe: seed 0's per-pair run with each cap
    net, start = start_of(0, data)
    probe_start_error = data.error(net)
    probe = []
    for cap in PROBE_CAPS:
        r = one_run(net, start, data, 0, 0.0, cap)
        r["cap"] = None if math.isinf(cap) else cap
        probe.append(r)
        curve = "diverged" if r["diverged"] else " ".join(f"{100 * e:4.1f}" for e in r["test_error"])
        print(f"probe cap {cap:5g}: test error per epoch {curve}  ({r['seconds']:.1f} s)", flush=True)
    # the cap: the largest probed one whose run stays finite and never has a test error above that
    # of its start (a run that first gets worse than where it started is taking too large steps)
    ok = [r for r in probe if not r["diverged"] and max(r["test_error"]) < probe_start_error]
    cap = a.cap if a.cap is not None else max(math.inf if r["cap"] is None else r["cap"] for r in ok)
    print(f"cap of the per-pair factor: {cap:g}", flush=True)
    if a.probe_only:
        return

    runs = []
    variants = [(f"entropy {lam:g}", lam, None) for lam in LAMS] + [("per-pair k4 rate", 0.0, cap)]
    if not math.isinf(cap):
        variants.append(("per-pair, no cap", 0.0, math.inf))
    for seed in a.seeds:
        t0 = time.perf_counter()
        net, start = start_of(seed, data)
        start_error = data.error(net)
        t_start = round(time.perf_counter() - t0, 2)
        for name, lam, c in variants:
            r = one_run(net, start, data, seed, lam, c)
            r.update(seed=seed, variant=name, **{"lambda": lam}, start_error=start_error, start_seconds=t_start)
            runs.append(r)
            curve = "diverged" if r["diverged"] else " ".join(f"{100 * e:4.1f}" for e in r["test_error"])
            print(f"seed {seed} {name:16s}: {curve}  ({r['seconds']:.1f} s)", flush=True)
    total = time.perf_counter() - t_all
    meta = {
        "commit": git_commit(),
        "machine": mach,
        "seconds_total": round(total, 1),
        "eta": ETA,
        "common_epochs": 2,
        "epochs": EPOCHS,
        "seeds": a.seeds,
        "lambdas": LAMS,
        "cap": None if math.isinf(cap) else cap,
        "probe_caps": [None if math.isinf(c) else c for c in PROBE_CAPS],
        "probe_start_error": probe_start_error,
        "cap_rule": "the largest probed cap whose seed-0 run stays finite and never has a test error above its start's",
        "k4_rate": "per-pair run: eta_k4 * min(1 / alpha_ij^2, cap), at every step; the other runs: ETA",
        "orders": "init rng=seed; common epochs default_rng(10 seed + 1); runs default_rng(10 seed + 2)",
        "train": "6000 embedded training digits, batches of 50",
        "test": "1000 embedded test digits",
    }
    lines = [
        "# Exercise 6.6: chapter 6's runs for ten epochs, and a per-pair rate for k4",
        "",
        f"Commit {meta['commit']}, {mach['date']}, load average at start {mach['load_average_at_start']}, "
        f"one BLAS thread, {total:.0f} s in all. 2 common epochs, then {EPOCHS}; cap of the per-pair factor {cap:g}.",
        "",
        "Probe (seed 0, no penalty, per-pair rate):",
        "",
        "| cap | test error after each epoch (%) | seconds |",
        "|---|---|---:|",
    ]
    lines += [
        f"| {cap_label(r['cap'])} | "
        + ("diverged" if r["diverged"] else " ".join(f"{100 * e:.1f}" for e in r["test_error"]))
        + f" | {r['seconds']:.1f} |"
        for r in probe
    ]
    lines += [
        "",
        "| seed | run | effective inputs | alpha < 0.01 | test error after each epoch (%) | seconds |",
        "|---:|---|---:|---:|---|---:|",
    ]
    lines += [
        f"| {r['seed']} | {r['variant']} | "
        + (
            "| | diverged"
            if r["diverged"]
            else f"{r['effective_inputs'][-1]:.2f} | {100 * r['below_0.01']:.0f}% | "
            + " ".join(f"{100 * e:.1f}" for e in r["test_error"])
        )
        + f" | {r['seconds']:.1f} |"
        for r in runs
    ]
    write_results("sparsity_rates", {"meta": meta, "probe": probe, "runs": runs}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
