#!/usr/bin/env python3
"""Time one training step (forward, backward, update) of two networks, cnnlit against PyTorch.

Networks: DeepLearnToolbox's ("dlt": toolbox_cnn, 6c5-2s-12c5-2s-10, sigmoid, mean pooling,
squared error) and the book's best recipe ("best": softmax_cnn with 32 and 64 maps, LeNet-5's
scaled tanh, mean pooling, softmax cross-entropy), both with plain SGD. Every combination of
network, dtype (float32, float64) and batch size (1, 10, 50, 256) is timed for cnnlit's fast
path and for PyTorch's CPU implementation of the same network:

- at 1 thread (BLAS through threadpoolctl, torch.set_num_threads(1)) in this process, the two
  implementations interleaved in blocks of consecutive steps, so that a change of the machine's
  load hits both alike;
- at 2 threads in two worker processes, one per implementation, each with its threads pinned
  (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and torch.set_num_threads), run in
  turn, block by block, with a pause between them: in one process OpenBLAS's and PyTorch's
  thread pools spin against each other.

Also: the faithful layers (float64, dlt, batch 50, a few steps), the machine's measured matrix-
product rate (one 1024 x 1024 product, "the sgemm peak") at 1 and 2 threads, the FLOPs of each
step's matrix products, and the floor they set: the same matrix products, with the same shapes,
timed alone.

    python benchmarks/bench_step.py          # writes benchmarks/results/steps.json and steps.md
    python benchmarks/bench_step.py --quick  # a smoke test: a few steps of everything, nothing written
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
from cnnlit.fast import FastConv, fast_toolbox_cnn  # noqa: E402

# The recorded runs used cache blocking, which is off by default (chapter 4, section 4.3).
FastConv.block_bytes = 1 << 19
from cnnlit.subsample import toolbox_cnn  # noqa: E402

NETS = {"dlt": {"maps": (6, 12), "about": "toolbox_cnn: 6c5-2s-12c5-2s-10, sigmoid, squared error"},
        "best": {"maps": (32, 64), "about": "best recipe: 32c5-2s-64c5-2s-10, scaled tanh, cross-entropy"}}
BATCHES = (1, 10, 50, 256)
DTYPES = ("float32", "float64")


def batch(N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, 1, 28, 28)).astype(dtype)
    T = one_hot(rng.integers(0, 10, size=N), 10, dtype=dtype)
    return X, T


def summary(times_s, cpu_s=None):
    """Median and 10th-90th percentiles of the wall times; with cpu_s, the median CPU time of the
    process per step too (at 1 thread, the time the step computed, which waiting for a core
    on a loaded machine does not inflate)."""
    t = np.array(times_s) * 1e3
    out = {"median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
           "p90_ms": float(np.percentile(t, 90)), "steps": len(t)}
    if cpu_s is not None:
        out["cpu_median_ms"] = float(np.median(cpu_s) * 1e3)
    return out


def time_interleaved(steps, warmup, repeats, sparse=None, sparse_count=0, block=10):
    """Time the step functions in interleaved blocks: ``block`` consecutive steps of each in turn
    (warm caches, as in training), round after round, so that a change in the machine's load hits
    them all alike (the ratios are what matter on a shared machine). Each block starts with one
    untimed step. ``sparse`` (a slow step function) runs ``sparse_count`` times, spread over the rounds."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    cpu = {name: [] for name in steps}
    rounds = max(1, repeats // block)
    slow_rounds = set(np.linspace(0, rounds - 1, sparse_count).astype(int).tolist()) if sparse else set()
    slow = []
    for k in range(rounds):
        for name, step in steps.items():
            step()
            for _ in range(min(block, repeats)):
                c, t = time.process_time(), time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t)
                cpu[name].append(time.process_time() - c)
        if k in slow_rounds:
            for _ in range(sparse_count // len(slow_rounds) + (1 if len(slow) < sparse_count % len(slow_rounds) else 0)):
                t = time.perf_counter()
                sparse()
                slow.append(time.perf_counter() - t)
    out = {name: summary(ts, cpu[name]) for name, ts in times.items()}
    if sparse:
        out["sparse"] = summary(slow)
    return out


def cnnlit_net(net, dtype):
    if net == "dlt":
        return fast_toolbox_cnn(rng=0, dtype=dtype)
    from cnnlit.train import softmax_cnn
    return softmax_cnn(maps=NETS["best"]["maps"], activation="tanh", rng=0, dtype=dtype)


def cnnlit_step(model, X, T, eta=0.1):
    def step():
        gradient_step(model.params, model.gradients(X, T), eta)
    return step


def torch_best_cnn(maps=(32, 64), dtype="float32", kernel_size=5, n_classes=10):
    """PyTorch's version of the best recipe: scaled tanh 1.7159 tanh(2u/3), 2x2 average pooling,
    a linear output layer under the softmax cross-entropy."""
    nn = torch.nn

    class ScaledTanh(nn.Module):
        def forward(self, u):
            return 1.7159 * torch.tanh(u * (2.0 / 3.0))

    side = ((28 - kernel_size + 1) // 2 - kernel_size + 1) // 2
    net = nn.Sequential(
        nn.Conv2d(1, maps[0], kernel_size), ScaledTanh(), nn.AvgPool2d(2),
        nn.Conv2d(maps[0], maps[1], kernel_size), ScaledTanh(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(maps[1] * side * side, n_classes),
    )
    return net.to(getattr(torch, dtype))


def torch_step(net, dtype, N, eta=0.1):
    torch.manual_seed(0)
    X, T = batch(N, dtype)
    X, T = torch.from_numpy(X), torch.from_numpy(T)
    if net == "dlt":
        model = torch_toolbox_cnn(NETS["dlt"]["maps"], dtype)
        step = torch_step_fn(model, lr=eta)
        return lambda: step(X, T)
    model = torch_best_cnn(NETS["best"]["maps"], dtype)
    opt = torch.optim.SGD(model.parameters(), lr=eta)
    labels = T.argmax(dim=1)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(X), labels)
        loss.backward()
        opt.step()
    return step


def make_step(impl, net, dtype, N, n_threads=1):
    if impl == "cnnlit":
        X, T = batch(N, dtype)
        model = cnnlit_net(net, dtype)
        model.threads = n_threads      # 2: the batch in two slices, one per thread (ch. 4.4)
        return cnnlit_step(model, X, T)
    return torch_step(net, dtype, N)


def step_flops(N, maps=(6, 12), size=28, R=5, n_classes=10):
    """Multiply-adds x 2 of the matrix products of one step: forward, dE/dk, dE/dx (not below layer 2)."""
    return 2 * sum(m * k * n for m, k, n, _ in gemm_shapes(N, maps, size, R, n_classes))


def gemm_shapes(N, maps=(6, 12), size=28, R=5, n_classes=10):
    """The matrix products of one step, (rows, inner, columns, what) each."""
    P1 = size - R + 1
    P2 = P1 // 2 - R + 1
    F = maps[1] * (P2 // 2) ** 2
    return [(maps[0], R * R, P1 * P1 * N, "layer 1 forward K X~"),
            (R * R, P1 * P1 * N, maps[0], "layer 1 dE/dk: X~ D^T"),
            (maps[1], maps[0] * R * R, P2 * P2 * N, "layer 3 forward K X~"),
            (maps[0] * R * R, P2 * P2 * N, maps[1], "layer 3 dE/dk: X~ D^T"),
            (maps[0] * R * R, maps[1], P2 * P2 * N, "layer 3 dE/dx: K^T D"),
            (N, F, n_classes, "output forward"),
            (n_classes, N, F, "output dE/dW"),
            (N, n_classes, F, "output dE/dx")]


def gemm_floor_ms(N, maps, dtype, repeats, clock=time.perf_counter):
    """The median time of the step's matrix products alone, with the same shapes and orders
    (``clock``: time.perf_counter for wall time, time.process_time for CPU time)."""
    rng = np.random.default_rng(0)
    pairs = [(rng.random((m, k)).astype(dtype), rng.random((k, n)).astype(dtype))
             for m, k, n, _ in gemm_shapes(N, maps)]
    outs = [np.empty((a.shape[0], b.shape[1]), dtype=dtype) for a, b in pairs]
    times = []
    for _ in range(repeats + 2):
        t = clock()
        for (a, b), out in zip(pairs, outs, strict=True):
            np.matmul(a, b, out=out)
        times.append(clock() - t)
    return float(np.median(times[2:]) * 1e3)


def repeats_for(net, N, quick):
    if quick:
        return 3
    return max(5, {1: 40, 10: 30, 50: 20, 256: 10}[N] // (2 if net == "best" else 1))


# --- the worker: one implementation, pinned threads, driven over stdin/stdout ------------------

def worker(impl, n_threads):
    if impl == "torch":
        torch.set_num_threads(n_threads)
    steps = {}
    for line in sys.stdin:
        job = json.loads(line)
        key = (job["net"], job["dtype"], job["batch"])
        if key not in steps:
            steps[key] = make_step(impl, *key, n_threads=n_threads)
            for _ in range(2):
                steps[key]()
        step = steps[key]
        step()
        times = []
        for _ in range(job["reps"]):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        print(json.dumps(times), flush=True)


def start_worker(impl, n_threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(n_threads), OMP_NUM_THREADS=str(n_threads),
               MKL_NUM_THREADS=str(n_threads))
    return subprocess.Popen([sys.executable, __file__, "--worker", impl, "--threads", str(n_threads)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)


def run_two_threads(configs, quick, block=5, pause=0.3):
    """Each implementation in its own worker process, the two run in turn, block by block."""
    impls = ["cnnlit"] + (["torch"] if torch is not None else [])
    procs = {impl: start_worker(impl, 2) for impl in impls}
    out = []
    try:
        for net, dtype, N in configs:
            reps = repeats_for(net, N, quick)
            times = {impl: [] for impl in impls}
            for _ in range(max(1, reps // block)):
                for impl, proc in procs.items():
                    time.sleep(pause)          # let the other process's threads go to sleep
                    proc.stdin.write(json.dumps({"net": net, "dtype": dtype, "batch": N,
                                                 "reps": min(block, reps)}) + "\n")
                    proc.stdin.flush()
                    times[impl] += json.loads(proc.stdout.readline())
            for impl in impls:
                out.append({"net": net, "dtype": dtype, "batch": N, "threads": 2,
                            "impl": "cnnlit fast" if impl == "cnnlit" else "PyTorch", **summary(times[impl])})
                print(out[-1], flush=True)
    finally:
        for proc in procs.values():
            proc.stdin.close()
            proc.wait()
    return out


def run(quick):
    meta = machine()
    meta["threads"] = ("1 thread: threadpoolctl limits BLAS to 1, torch.set_num_threads(1), one process; "
                       "2 threads: one process per implementation, OPENBLAS/OMP/MKL_NUM_THREADS=2 and "
                       "torch.set_num_threads(2), run in turn; cnnlit at 2 threads: "
                       "FastNetwork.threads = 2 (two batch slices, BLAS at 1 thread in each)")
    peaks = {}
    for n in (1, 2):
        with threads(n):
            peaks[n] = {dt: matmul_peak_gflops(dt, n=512 if quick else 1024) for dt in DTYPES}
    with threads(1):
        cpu_peak = {dt: matmul_peak_gflops(dt, n=512 if quick else 1024, repeats=10, clock=time.process_time)
                    for dt in DTYPES}
    print("matmul peak GFLOP/s", peaks, "in CPU time at 1 thread", cpu_peak, flush=True)
    configs = [(net, dt, N) for net in NETS for dt in DTYPES for N in BATCHES]
    rows, floors = [], []
    with threads(1):
        X, T = batch(50, np.float64)
        slow = cnnlit_step(toolbox_cnn(rng=0), X, T)
        for net, dt, N in configs:
            steps = {"cnnlit fast": make_step("cnnlit", net, dt, N)}
            if torch is not None:
                steps["PyTorch"] = make_step("torch", net, dt, N)
            faithful = (net, dt, N) == ("dlt", "float64", 50)
            res = time_interleaved(steps, 2, repeats_for(net, N, quick), block=5,
                                   sparse=slow if faithful else None, sparse_count=1 if quick else 3)
            if faithful:
                rows.append({"net": net, "dtype": dt, "batch": N, "threads": 1, "impl": "cnnlit faithful",
                             **res.pop("sparse")})
            for impl, r in res.items():
                rows.append({"net": net, "dtype": dt, "batch": N, "threads": 1, "impl": impl, **r})
                print(rows[-1], flush=True)
            floors.append({"net": net, "dtype": dt, "batch": N, "threads": 1,
                           "gemm_ms": gemm_floor_ms(N, NETS[net]["maps"], dt, 5 if quick else 20),
                           "gemm_cpu_ms": gemm_floor_ms(N, NETS[net]["maps"], dt, 5 if quick else 20,
                                                        clock=time.process_time)})
    rows += run_two_threads(configs, quick)
    for r in rows:
        flops = step_flops(r["batch"], NETS[r["net"]]["maps"])
        r["gflops"] = flops / (r["median_ms"] * 1e-3) / 1e9
        r["fraction_of_peak"] = r["gflops"] / peaks[r["threads"]][r["dtype"]]
    by = {(r["net"], r["dtype"], r["batch"], r["threads"], r["impl"]): r for r in rows}
    for r in rows:
        twin = by.get((r["net"], r["dtype"], r["batch"], r["threads"], "PyTorch"))
        r["speed_vs_pytorch"] = twin["median_ms"] / r["median_ms"] if twin else None
    meta["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    return {"meta": meta, "quick": quick, "nets": {k: {"maps": list(v["maps"]), "about": v["about"]}
                                                   for k, v in NETS.items()},
            "step_flops": {net: {str(N): step_flops(N, NETS[net]["maps"]) for N in BATCHES} for net in NETS},
            "matmul_peak_gflops": {str(k): v for k, v in peaks.items()}, "matmul_peak_cpu_gflops": cpu_peak,
            "steps": rows, "gemm_floor": floors}


def markdown(res):
    m = res["meta"]
    lines = [
        "One training step (forward, backward, SGD update), cnnlit's fast path against PyTorch's CPU version.",
        "",
        *[f"- `{k}`: {v['about']}" for k, v in res["nets"].items()],
        "",
        f"Commit {m['commit']}, {m['date']}, {m['cpu']} ({m['cores']} cores), numpy {m['numpy']}, "
        f"torch {m['torch']}; load average {m['load_average_at_start']} at start, "
        f"{m['load_average_at_end']} at the end. Threads: {m['threads']}.",
        f"Measured matrix-product rate (1024 x 1024), GFLOP/s: {json.dumps(res['matmul_peak_gflops'])}; "
        f"in CPU time at 1 thread: {json.dumps(res['matmul_peak_cpu_gflops'])}.",
        "",
        "| net | dtype | batch | threads | cnnlit ms (p10-p90) | PyTorch ms (p10-p90) | vs PyTorch | vs PyTorch, CPU time "
        "| cnnlit % of peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by = {(r["net"], r["dtype"], r["batch"], r["threads"], r["impl"]): r for r in res["steps"]}
    for (net, dt, N, th, impl), r in by.items():
        if impl != "cnnlit fast":
            continue
        pt = by.get((net, dt, N, th, "PyTorch"))
        pts = f"{pt['median_ms']:.2f} ({pt['p10_ms']:.2f}-{pt['p90_ms']:.2f})" if pt else "-"
        vs = f"{r['speed_vs_pytorch']:.2f}×" if r["speed_vs_pytorch"] else "-"
        cpu = f"{pt['cpu_median_ms'] / r['cpu_median_ms']:.2f}×" if pt and "cpu_median_ms" in r else "-"
        lines.append(f"| {net} | {dt} | {N} | {th} | {r['median_ms']:.2f} ({r['p10_ms']:.2f}-{r['p90_ms']:.2f}) | "
                     f"{pts} | {vs} | {cpu} | {100 * r['fraction_of_peak']:.1f} |")
    lines += ["", "vs PyTorch = PyTorch's median / cnnlit's median (above 1: cnnlit is faster); the CPU-time "
              "column (1 thread only) divides the medians of the process's CPU time per step.", ""]
    for r in res["steps"]:
        if r["impl"] == "cnnlit faithful":
            fast = by[(r["net"], r["dtype"], r["batch"], r["threads"], "cnnlit fast")]
            lines.append(f"Faithful layers ({r['net']}, {r['dtype']}, batch {r['batch']}, 1 thread): "
                         f"{r['median_ms']:.0f} ms per step, {r['median_ms'] / fast['median_ms']:.0f} × the fast path.")
    lines += ["", "The matrix products of a step alone (same shapes), 1 thread, median ms:", "",
              "| net | dtype | batch | MFLOP | products alone ms (CPU ms) | cnnlit step ms (CPU ms) | products' share (CPU) |",
              "|---|---|---|---|---|---|---|"]
    for f in res["gemm_floor"]:
        r = by[(f["net"], f["dtype"], f["batch"], 1, "cnnlit fast")]
        flops = res["step_flops"][f["net"]][str(f["batch"])]
        lines.append(f"| {f['net']} | {f['dtype']} | {f['batch']} | {flops / 1e6:.1f} | {f['gemm_ms']:.2f} "
                     f"({f['gemm_cpu_ms']:.2f}) | {r['median_ms']:.2f} ({r['cpu_median_ms']:.2f}) | "
                     f"{100 * f['gemm_cpu_ms'] / r['cpu_median_ms']:.0f}% |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a few steps of everything (a smoke test); prints, writes nothing")
    ap.add_argument("--worker", choices=("cnnlit", "torch"), help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.threads)
        return
    t0 = time.perf_counter()
    res = run(args.quick)
    res["meta"]["run_seconds"] = round(time.perf_counter() - t0)
    if args.quick:
        print(markdown(res))
    else:
        write_results("steps", res, markdown(res))


if __name__ == "__main__":
    main()
