#!/usr/bin/env python3
"""Time one training step (forward, backward, update) of DeepLearnToolbox's CNN at batch 50.

Runs, with BLAS (and PyTorch) at 1 thread and then at 2, all in one process, the implementations
interleaved in blocks of consecutive steps (so that the machine's load affects them alike):
cnnlit faithful (float64, a few steps), cnnlit fast (float64 and float32) and, if torch is
importable, PyTorch CPU (float64 and float32) with the same architecture and plain SGD.
Reports medians and spreads, the ratios to PyTorch and to the faithful code, the matrix-product
FLOPs of one step and the fraction of the measured matrix-multiply rate they reach, and a
scaling run (batch 1/10/50/200, maps 6/12 and 12/24, float32, 1 thread).

    python benchmarks/bench_step.py            # writes benchmarks/results/step.json and step.md
    python benchmarks/bench_step.py --quick    # a smoke test: a few steps of everything, nothing written
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    machine,
    matmul_peak_gflops,
    threads,
    torch,
    torch_step_fn,
    torch_toolbox_cnn,
    write_results,
)
from cnnlit.data import one_hot  # noqa: E402
from cnnlit.dense import gradient_step  # noqa: E402
from cnnlit.fast import fast_toolbox_cnn  # noqa: E402
from cnnlit.subsample import toolbox_cnn  # noqa: E402


def batch(N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, 1, 28, 28)).astype(dtype)
    T = one_hot(rng.integers(0, 10, size=N), 10, dtype=dtype)
    return X, T


def summary(times_s):
    t = np.array(times_s) * 1e3
    return {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
            "p90_ms": float(np.percentile(t, 90)), "steps": len(t)}


def time_interleaved(steps, warmup, repeats, sparse=None, sparse_count=0, block=10):
    """Time the step functions in interleaved blocks: ``block`` consecutive steps of each in turn
    (warm caches, as in training), round after round, so that a change in the machine's load hits
    them all alike (the ratios are what matter on a shared machine). Each block starts with one
    untimed step. ``sparse`` (a slow step function) runs ``sparse_count`` times, spread over the rounds."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    rounds = max(1, repeats // block)
    slow_rounds = set(np.linspace(0, rounds - 1, sparse_count).astype(int).tolist()) if sparse else set()
    slow = []
    for k in range(rounds):
        for name, step in steps.items():
            step()
            for _ in range(min(block, repeats)):
                t = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
        if k in slow_rounds:
            for _ in range(sparse_count // len(slow_rounds) + (1 if len(slow) < sparse_count % len(slow_rounds) else 0)):
                t = time.perf_counter()
                sparse()
                slow.append(time.perf_counter() - t)
    out = {name: summary(ts) for name, ts in times.items()}
    if sparse:
        out["sparse"] = summary(slow)
    return out


def cnnlit_step(net, X, T, eta=1.0):
    def step():
        gradient_step(net.params, net.gradients(X, T), eta)
    return step


def torch_step(maps, dtype, N):
    torch.manual_seed(0)
    net = torch_toolbox_cnn(maps, dtype)
    X, T = batch(N, dtype)
    X, T = torch.from_numpy(X), torch.from_numpy(T)
    step = torch_step_fn(net)
    return lambda: step(X, T)


def step_flops(N, maps=(6, 12), size=28, R=5, n_classes=10):
    """Multiply-adds x 2 of the matrix products of one step: forward, dE/dk, dE/dx (not below layer 2)."""
    P1 = size - R + 1
    P2 = P1 // 2 - R + 1
    c1 = N * maps[0] * P1 * P1 * 1 * R * R
    c2 = N * maps[1] * P2 * P2 * maps[0] * R * R
    dense = N * n_classes * maps[1] * (P2 // 2) ** 2
    return 2 * (2 * c1 + 3 * c2 + 3 * dense)


def run(quick):
    reps = 5 if quick else 60
    faithful_steps = 1 if quick else 3
    meta = machine()
    rows, peaks = [], {}
    for n_threads in (1, 2):
        with threads(n_threads):
            peaks[n_threads] = {dt: matmul_peak_gflops(dt, n=512 if quick else 1024) for dt in ("float32", "float64")}
            steps = {}
            for dt in ("float64", "float32"):
                X, T = batch(50, dt)
                steps[("cnnlit fast", dt)] = cnnlit_step(fast_toolbox_cnn(rng=0, dtype=dt), X, T)
                if torch is not None:
                    steps[("PyTorch", dt)] = torch_step((6, 12), dt, 50)
            X, T = batch(50, np.float64)
            slow = cnnlit_step(toolbox_cnn(rng=0), X, T)
            res = time_interleaved(steps, 5, reps, sparse=slow, sparse_count=faithful_steps)
            rows.append({"impl": "cnnlit faithful", "dtype": "float64", "threads": n_threads, **res.pop("sparse")})
            for (impl, dt), r in res.items():
                rows.append({"impl": impl, "dtype": dt, "threads": n_threads, **r})
            for r in rows[-len(res) - 1:]:
                print(r, flush=True)
    flops = step_flops(50)
    by = {(r["impl"], r["dtype"], r["threads"]): r for r in rows}
    for r in rows:
        r["gflops"] = flops / (r["median_ms"] * 1e-3) / 1e9
        r["fraction_of_peak"] = r["gflops"] / peaks[r["threads"]][r["dtype"]]
        faithful = by[("cnnlit faithful", "float64", r["threads"])]
        r["speedup_vs_faithful"] = faithful["median_ms"] / r["median_ms"]
        twin = by.get(("PyTorch", r["dtype"], r["threads"]))
        r["speed_vs_pytorch"] = twin["median_ms"] / r["median_ms"] if twin else None

    scaling = []
    with threads(1):
        for maps in ((6, 12), (12, 24)):
            for N in (1, 10, 50, 200):
                n_reps = 3 if quick else (40 if N <= 50 else 15)
                X, T = batch(N, "float32")
                steps = {"cnnlit_fast_ms": cnnlit_step(fast_toolbox_cnn(maps=maps, rng=0, dtype="float32"), X, T)}
                if torch is not None:
                    steps["pytorch_ms"] = torch_step(maps, "float32", N)
                res = time_interleaved(steps, 3, n_reps)
                entry = {"maps": list(maps), "batch": N, "threads": 1, "dtype": "float32",
                         **{name: r["median_ms"] for name, r in res.items()}}
                scaling.append(entry)
                print(entry, flush=True)
    meta["load_average_at_end"] = [round(v, 2) for v in __import__("os").getloadavg()]
    return {"meta": meta, "quick": quick, "batch": 50, "step_flops": flops, "matmul_peak_gflops": peaks,
            "steps": rows, "scaling": scaling}


def markdown(res):
    m = res["meta"]
    lines = [
        "One training step of toolbox_cnn (6c5-2s-12c5-2s-10, sigmoid, squared error, SGD, batch 50).",
        f"Commit {m['commit']}, {m['date']}, {m['cpu']} ({m['cores']} cores), numpy {m['numpy']}, "
        f"torch {m['torch']}; load average {m['load_average_at_start']} at start.",
        f"Matrix-product work per step: {res['step_flops'] / 1e6:.1f} MFLOP.",
        "",
        "| threads | implementation | dtype | median ms | p10-p90 ms | × faithful | vs PyTorch | % of matmul peak |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in res["steps"]:
        vs = f"{r['speed_vs_pytorch']:.2f}×" if r["speed_vs_pytorch"] else "-"
        lines.append(f"| {r['threads']} | {r['impl']} | {r['dtype']} | {r['median_ms']:.2f} | "
                     f"{r['p10_ms']:.2f}-{r['p90_ms']:.2f} | {r['speedup_vs_faithful']:.0f} | {vs} | "
                     f"{100 * r['fraction_of_peak']:.1f} |")
    lines += ["", "vs PyTorch = PyTorch's median / this median (above 1: faster than PyTorch).", "",
              "Scaling (float32, 1 thread), median ms per step:", "",
              "| maps | batch | cnnlit fast | PyTorch |", "|---|---|---|---|"]
    for s in res["scaling"]:
        pt = f"{s['pytorch_ms']:.2f}" if "pytorch_ms" in s else "-"
        lines.append(f"| {s['maps'][0]}/{s['maps'][1]} | {s['batch']} | {s['cnnlit_fast_ms']:.2f} | {pt} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few steps of everything (a smoke test); prints, writes nothing")
    args = ap.parse_args(argv)
    res = run(args.quick)
    if args.quick:
        print(markdown(res))
    else:
        write_results("step", res, markdown(res))


if __name__ == "__main__":
    main()
