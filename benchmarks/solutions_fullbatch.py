"""Exercise 7.2: how many full-batch steps leave the plateau, with momentum or a line search.

Section 7.2 trains the toolbox network on 1000 digits with the full batch (B = 1000) and sees it
stay on the plateau (monitored error near 90%) where online learning leaves it within 5000
pattern gradients. This script gives full-batch descent its fair chance, from the same start
(fast_toolbox_cnn(rng=0), float32, the first 1000 training digits, 300 test digits to
monitor), and counts the steps until the monitored error first falls below 50% ("leaves the
plateau") and below 22% (where online learning is after 5000 pattern gradients):

- plain: w <- w - eta grad, eta 3 (the chapter's full-batch rate);
- momentum: v <- mu v - eta grad, w <- w + v, mu 0.9, at eta 3 (the solution's first attempt),
  1 and 0.3 (the last moves as plain eta 3 once the velocity has built up, eta / (1 - mu));
- line search: backtracking along -grad with Armijo's rule, E(w - s g) <= E(w) - c s |g|^2,
  c = 1e-4; each step starts from twice the step size accepted last (so that steps can grow
  on a plateau) and halves it until the rule holds. Every trial is one loss evaluation (a
  forward pass over the 1000 digits); E(w) of the next step is the accepted trial's, so it
  costs nothing more. The first step starts at s = 3.

Each run stops at the cap of STEPS full-batch steps. Usage (from the repository root, about
15 minutes on one thread):

    OPENBLAS_NUM_THREADS=1 python benchmarks/solutions_fullbatch.py

Writes results/fullbatch.json and results/fullbatch.md; chapter 7's solution 7.2 reads them.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, chapter7_data, git_commit, machine  # noqa: E402

from cnnlit.fast import fast_toolbox_cnn  # noqa: E402

STEPS = 1200  # the cap: 1.2 million pattern gradients, 240 times online learning's 5000


def error(model, X, T):
    return float(np.mean(np.argmax(model.predict(X), axis=1) != np.argmax(T, axis=1)))


def run(kind, X, T, monitor, eta=3.0, mu=0.0, c=1e-4, s0=3.0, steps=STEPS):
    """One run of `steps` full-batch steps; chapter 7 re-runs the first few to check the record."""
    net = fast_toolbox_cnn(rng=0, dtype=np.float32)
    params = net.params
    v = {k: np.zeros_like(p) for k, p in params.items()}
    errors, losses, trials, steps_taken = [error(net, *monitor)], [float(net.loss(X, T))], [], []
    evaluations = 1  # E(w) at the start
    s, e0 = s0 / 2, losses[0]
    t0 = time.perf_counter()
    for _ in range(steps):
        g = net.gradients(X, T)
        if kind == "line search":
            gg = float(sum(np.sum(np.square(gi, dtype=np.float64)) for gi in g.values()))
            saved = {k: p.copy() for k, p in params.items()}
            s, n = 2 * s, 0
            while True:
                for k, p in params.items():
                    p[...] = saved[k] - np.float32(s) * g[k]
                e, n = float(net.loss(X, T)), n + 1
                if e <= e0 - c * s * gg or s < 1e-6:
                    break
                s /= 2
            evaluations += n
            trials.append(n)
            steps_taken.append(s)
            e0 = e
        else:
            for k, p in params.items():
                v[k] = np.float32(mu) * v[k] - np.float32(eta) * g[k]
                p += v[k]
            e0 = float(net.loss(X, T))  # recorded only, not needed by the rule
        losses.append(e0)
        errors.append(error(net, *monitor))
    seconds = time.perf_counter() - t0
    errors = np.array(errors)

    def first_below(level):
        hit = np.flatnonzero(errors < level)
        return int(hit[0]) if hit.size else None

    out = {"kind": kind, "eta": eta, "mu": mu, "steps": steps, "seconds": round(seconds, 1),
           "first_below_50": first_below(0.5), "first_below_22": first_below(0.22),
           "final_error": float(errors[-1]), "min_error": float(errors.min()),
           "error": [round(float(x), 4) for x in errors], "loss": [round(x, 6) for x in losses]}
    if kind == "line search":
        out.update(c=c, s0=s0, loss_evaluations=evaluations, trials=trials,
                   step_sizes=[float(f"{x:.4g}") for x in steps_taken])
    return out


def main():
    X, T, monitor = chapter7_data()
    runs = []
    for kind, kw in (("plain", {}), ("momentum", {"mu": 0.9}), ("momentum", {"mu": 0.9, "eta": 1.0}),
                     ("momentum", {"mu": 0.9, "eta": 0.3}), ("line search", {})):
        r = run(kind, X, T, monitor, **kw)
        runs.append(r)
        print(f"{kind:11s} eta {r['eta']:<3g} mu {r['mu']:<3g}: below 50% at step {r['first_below_50']}, below 22% at "
              f"step {r['first_below_22']}, final {100 * r['final_error']:.1f}%, {r['seconds']} s"
              + (f", {r['loss_evaluations']} loss evaluations" if kind == "line search" else ""),
              flush=True)
    out = {"meta": {"commit": git_commit(), "machine": machine(), "cap_steps": STEPS,
                    "monitor": "300 test digits", "train": "first 1000 training digits",
                    "start": "fast_toolbox_cnn(rng=0, dtype=float32)"}, "runs": runs}
    (RESULTS / "fullbatch.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# Exercise 7.2: full-batch descent with momentum or a line search", "",
             f"Commit {out['meta']['commit']}; cap {STEPS} steps of the full batch (1000 digits); "
             "monitored error on 300 test digits.", "",
             "| method | first step below 50% | below 22% | final error | loss evaluations | seconds |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        name = r["kind"] + (f", eta {r['eta']:g}, mu {r['mu']:g}" if r["kind"] == "momentum" else "")
        lines.append(f"| {name} | {r['first_below_50']} | {r['first_below_22']} | "
                     f"{100 * r['final_error']:.1f}% | {r.get('loss_evaluations', '')} | {r['seconds']} |")
    (RESULTS / "fullbatch.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
