"""The rates of chapter 7's batch comparison (section 7.2), tried on a grid.

Chapter 7 trains the toolbox network on 1000 digits online (B = 1), with batches of 50 and with
the full batch (B = 1000), each at one rate, and ranks the three per pattern gradient and per
recorded second. This script repeats the chapter's runs exactly (same data, start, order and
time budget read from results/step.json) at every rate of a grid per batch size, and records
the monitored error (300 test digits) after 5000 pattern gradients and after the budget, so that
the chapter can show that its ranking does not depend on the rates it picked.

Usage (from the repository root, about 3-5 minutes on one thread):

    OPENBLAS_NUM_THREADS=1 python benchmarks/batch_rates.py

Writes results/batch_rates.json and results/batch_rates.md. Nothing is timed: the seconds are
the recorded step times of step.json, as in the chapter.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, chapter7_data, git_commit, machine  # noqa: E402

from cnnlit.fast import fast_toolbox_cnn  # noqa: E402
from cnnlit.train import train  # noqa: E402

GRID = {1: [0.1, 0.2, 0.5, 1.0, 2.0], 50: [0.3, 1.0, 3.0, 10.0], 1000: [1.0, 3.0, 10.0, 30.0]}


def main():
    X, T, monitor = chapter7_data()
    step_res = json.loads((RESULTS / "step.json").read_text())
    t_step = {s["batch"]: s["cnnlit_fast_ms"] / 1e3 for s in step_res["scaling"]
              if tuple(s["maps"]) == (6, 12) and s["dtype"] == "float32" and s["threads"] == 1}
    N = len(X)
    t_step[N] = t_step[200] * N / 200
    budget = 5000 * t_step[1]
    rows = []
    for B, etas in GRID.items():
        for eta in etas:
            steps_per_epoch = N // B
            epochs = max(5, int(np.ceil(budget / t_step[B] / steps_per_epoch)))
            net = fast_toolbox_cnn(rng=0, dtype=np.float32)
            h = train(net, X, T, epochs=epochs, batch_size=B, eta=eta, rng=0, monitor=monitor,
                      record_every=max(1, 500 // B), progress=False)
            seconds = h["step"] * t_step[B]
            e5000 = float(h["error"][np.flatnonzero(h["evaluations"] <= 5000)[-1]])
            e_time = float(h["error"][np.flatnonzero(seconds <= budget + 1e-12)[-1]])
            rows.append({"batch": B, "eta": eta, "epochs": epochs, "steps": int(h["step"][-1]),
                         "error_at_5000": e5000, "error_at_budget": e_time,
                         "min_error_at_budget": float(h["error"][seconds <= budget + 1e-12].min())})
            print(f"B = {B:4d}  eta = {eta:5.2f}  error after 5000 pattern gradients {100 * e5000:5.1f}%, "
                  f"after {budget:.2f} recorded s {100 * e_time:5.1f}%", flush=True)
    out = {"meta": {"commit": git_commit(), "machine": machine(), "step_json_commit": step_res["meta"]["commit"],
                    "budget_s": budget, "monitor": "300 test digits", "train": "first 1000 training digits"},
           "grid": {str(B): etas for B, etas in GRID.items()}, "runs": rows}
    (RESULTS / "batch_rates.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# Chapter 7's batch comparison at a grid of rates", "",
             f"Monitored error (300 test digits); budget {budget:.2f} recorded seconds (step.json).", "",
             "| batch | eta | steps | error after 5000 pattern gradients | error after the budget |",
             "|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['batch']} | {r['eta']:g} | {r['steps']} | {100 * r['error_at_5000']:.1f}% | "
              f"{100 * r['error_at_budget']:.1f}% |" for r in rows]
    (RESULTS / "batch_rates.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
