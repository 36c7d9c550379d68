#!/usr/bin/env python3
"""Put each exploratory run's test error (logs/, as first run) beside its validation error
(val/, the same run re-made by revalidate.sh on the last 10 000 training digits), and write
benchmarks/results/explore_val.json and .md.

    python benchmarks/explore/collect_val.py      (from the repository root)
"""
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from benchmarks._common import machine, write_results  # noqa: E402

NAMES = ["tanh_std", "sig95", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"]


def test_curve(name):
    """[(epoch, error)] from the first run's log: name, epoch, s, cumulative s, error %, load."""
    rows = [ln.split() for ln in (HERE / "logs" / f"{name}.log").read_text().splitlines()]
    return [(int(r[1]), float(r[4]) / 100) for r in rows if r and r[0] == name]


def main():
    runs = []
    for name in NAMES:
        val = json.loads((HERE / "val" / f"{name}.json").read_text())
        test = test_curve(name)
        args = val["args"]
        runs.append({
            "name": name,
            "settings": {k: args[k] for k in ("act", "maps", "rates", "decay", "epochs", "std",
                                              "batch", "hidden")},
            "epochs": len(val["log"]),
            "test_epochs": len(test),
            "final_test_error": test[-1][1],
            "final_validation_error": val["log"][-1][2],
            "validation_curve": [e for _, _, e in val["log"]],
            "train_seconds": val["log"][-1][1],
        })
    by_test = min(runs, key=lambda r: r["final_test_error"])["name"]
    by_val = min(runs, key=lambda r: r["final_validation_error"])["name"]
    data = {"machine": machine(), "runs": runs, "chosen_by_test": by_test,
            "chosen_by_validation": by_val,
            "how": "each run of RUNS.md re-made with its settings and epochs on the first 50 000 "
                   "training digits, measured on the last 10 000; one BLAS thread, two runs "
                   "at a time"}
    lines = ["Chapter 8's exploratory runs, first judged on the test digits, re-judged on the "
             "validation digits (the last 10 000 of training).", "",
             f"Commit {data['machine'].get('commit')}, {data['machine'].get('date')}; "
             f"load average {data['machine'].get('load_average_at_start')} when collected, "
             "after the runs.", "",
             "| run | activation | maps | rates | decay | other | epochs | test error "
             "(first run) | validation error |", "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        s = r["settings"]
        other = ", ".join(x for x in [("inputs standardised" if s["std"] else ""),
                                      (f"hidden {s['hidden']}" if s["hidden"] else ""),
                                      (f"batch {s['batch']}" if s["batch"] != 50 else "")] if x)
        lines.append(f"| {r['name']} | {s['act']} | {s['maps'][0]}, {s['maps'][1]} | "
                     f"{', '.join(f'{x:g}' for x in s['rates'])} | {s['decay']:g} | {other} | "
                     f"{r['epochs']} | {100 * r['final_test_error']:.2f}% | "
                     f"{100 * r['final_validation_error']:.2f}% |")
    lines += ["", f"Chosen by the test digits: {by_test}; by the validation digits: {by_val}."]
    write_results("explore_val", data, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
