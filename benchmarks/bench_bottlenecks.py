#!/usr/bin/env python3
"""Time the paper's three bottlenecks (§3.4) in NumPy, as chapter 4 (section 4.1) presents them.

Up-sampling (np.kron, repeat, broadcasting), down-sampling (the paper's convolve-with-ones-then-
stride, reshape-and-sum, the m^2 strided slice sums, and the separable scheme of cnnlit.fast's
down_blocks) and the sigmoid (plain, in place, scipy's expit,
the tanh form in place; float64 and float32), on the batch sizes of the toolbox network's first
layer at batch 50, with BLAS at 1 thread. Then the two routes to a convolution layer's input
sensitivity (col2im of K^T D, and the full convolution as im2col of the padded delta and one
product), float32, batch 50, for the second layer of the toolbox network (6 -> 12 maps) and of
the best recipe's (32 -> 64 maps). Checks that the alternatives agree, then reports the
best of 7 timeit runs per call. The chapter shows the recorded times; it does not re-time.

    python benchmarks/bench_bottlenecks.py          # writes results/bottlenecks.json and .md
    python benchmarks/bench_bottlenecks.py --quick  # fewer runs, nothing written
"""
from __future__ import annotations

import argparse
import sys
import timeit

import numpy as np
import scipy.signal
from scipy.special import expit

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from benchmarks._common import machine, threads, write_results  # noqa: E402
from cnnlit.fast import col2im, full_conv_sensitivity  # noqa: E402


def up_broadcast(y, m):
    out = np.empty(y.shape[:-2] + (y.shape[-2], m, y.shape[-1], m))
    out[...] = y[..., :, None, :, None]
    return out.reshape(y.shape[:-2] + (y.shape[-2] * m, y.shape[-1] * m))


def down_conv_stride(x, m):
    return scipy.signal.convolve(x, np.ones((1, 1, m, m)), mode="valid", method="direct")[..., ::m, ::m]


def down_slices(x, m):
    return sum(x[..., r::m, s::m] for r in range(m) for s in range(m))


def down_separable(x, m):
    """cnnlit.fast's down_blocks on (..., H, W): m column slices added, then m row slices of that sum."""
    y = sum(x[..., s::m] for s in range(m))
    return sum(y[..., r::m, :] for r in range(m))


def input_sensitivity(C_in, C_out, size, N, dtype, R=5, seed=0):
    """The two routes to dE/dx of a convolution layer (cnnlit.fast): col2im(K^T D) and the full
    convolution as im2col of the padded delta times the unrotated kernels."""
    rng = np.random.default_rng(seed)
    k = rng.normal(size=(C_in, C_out, R, R)).astype(dtype)
    P = size - R + 1
    delta = rng.normal(size=(C_out, P, P, N)).astype(dtype)
    K = np.ascontiguousarray(k[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)).reshape(C_out, -1)
    D = delta.reshape(C_out, -1)
    return {"col2im(K^T D)": lambda: col2im(K.T @ D, (C_in, size, size), R, R),
            "full convolution: im2col of padded delta": lambda: full_conv_sensitivity(delta, k)}


def sigmoid_inplace(u):
    out = np.negative(u)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def sigmoid_tanh_inplace(u):
    out = np.multiply(u, 0.5)
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    return out


def groups(m=2, seed=0):
    """The alternatives of each bottleneck, as {group: {name: zero-argument function}}."""
    rng = np.random.default_rng(seed)
    delta = rng.normal(size=(50, 6, 12, 12))
    x = rng.uniform(size=(50, 6, 24, 24))
    u = rng.normal(scale=3.0, size=(50, 6, 24, 24))
    u32 = u.astype(np.float32)
    ones = np.ones((m, m))
    return {
        "up": {"np.kron(delta, ones)": lambda: np.kron(delta, ones),
               "delta.repeat(m, -2).repeat(m, -1)": lambda: delta.repeat(m, axis=-2).repeat(m, axis=-1),
               "broadcast into (..., 12, m, 12, m)": lambda: up_broadcast(delta, m)},
        "down": {"convolve with ones, keep every m-th": lambda: down_conv_stride(x, m),
                 "reshape (..., 12, m, 12, m), sum": lambda: x.reshape(50, 6, 12, m, 12, m).sum(axis=(3, 5)),
                 "sum of the m^2 strided slices": lambda: down_slices(x, m),
                 "separable: m column slices, then m row slices": lambda: down_separable(x, m)},
        "sigmoid": {"1 / (1 + np.exp(-u))": lambda: 1.0 / (1.0 + np.exp(-u)),
                    "the same, in place": lambda: sigmoid_inplace(u),
                    "scipy.special.expit(u)": lambda: expit(u),
                    "(1 + tanh(u / 2)) / 2, in place": lambda: sigmoid_tanh_inplace(u)},
        "sigmoid float32": {"1 / (1 + np.exp(-u))": lambda: 1.0 / (1.0 + np.exp(-u32)),
                            "the same, in place": lambda: sigmoid_inplace(u32),
                            "scipy.special.expit(u)": lambda: expit(u32),
                            "(1 + tanh(u / 2)) / 2, in place": lambda: sigmoid_tanh_inplace(u32)},
        "input sensitivity 6 -> 12 maps": input_sensitivity(6, 12, 12, 50, np.float32),
        "input sensitivity 32 -> 64 maps": input_sensitivity(32, 64, 12, 50, np.float32),
    }


def per_call(f, repeat):
    number, _ = timeit.Timer(f).autorange()
    return min(timeit.repeat(f, number=number, repeat=repeat)) / number


def run(quick):
    meta = machine()
    out = {}
    with threads(1):
        for group, fns in groups().items():
            results = [f() for f in fns.values()]
            tol = 1e-6 if "float32" in group else 1e-14
            if group.startswith("input sensitivity"):
                tol = 1e-4
            assert all(np.allclose(r, results[0], rtol=tol, atol=tol) for r in results), group
            out[group] = {name: per_call(f, 2 if quick else 7) for name, f in fns.items()}
            print(group, {k: f"{1e6 * v:.1f} us" for k, v in out[group].items()}, flush=True)
    return {"meta": meta, "threads": 1, "seconds_per_call": out}


def markdown(res):
    m = res["meta"]
    lines = [f"The paper's three bottlenecks in NumPy, best of 7 timeit runs, 1 thread. Commit {m['commit']}, "
             f"{m['date']}, {m['cpu']}, numpy {m['numpy']}; load average {m['load_average_at_start']} at start.", "",
             "| operation | alternative | µs per call |", "|---|---|---|"]
    for group, times in res["seconds_per_call"].items():
        for name, t in times.items():
            lines.append(f"| {group} | `{name}` | {1e6 * t:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer timeit runs; prints, writes nothing")
    args = ap.parse_args(argv)
    res = run(args.quick)
    if args.quick:
        print(markdown(res))
    else:
        write_results("bottlenecks", res, markdown(res))


if __name__ == "__main__":
    main()
