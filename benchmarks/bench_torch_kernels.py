#!/usr/bin/env python3
"""Which kernels PyTorch's CPU convolution runs, per dtype: the operators its profiler records for
one forward and backward pass of a Conv2d layer (the toolbox network's second layer, batch 50).

Chapter 4 compares cnnlit's im2col and matrix product with PyTorch's convolution; this records
which route PyTorch takes in float32 and in float64 on this machine, with the machine and the
commit, so that the chapter can quote it.

    python benchmarks/bench_torch_kernels.py     # writes results/torch_kernels.json and .md
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine, threads, torch, write_results  # noqa: E402


def conv_operators(dtype):
    """The names of the aten operators with 'conv' in them, run by one forward and backward pass."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6, 12, 5).to(getattr(torch, dtype))
    x = torch.rand(50, 6, 12, 12, dtype=getattr(torch, dtype))
    with torch.autograd.profiler.profile() as prof:
        conv(x).sum().backward()
    return sorted({e.name for e in prof.function_events if "conv" in e.name.lower()})


def main():
    if torch is None:
        sys.exit("PyTorch is not importable: nothing to record")
    with threads(1):
        ops = {dt: conv_operators(dt) for dt in ("float32", "float64")}
    res = {"meta": machine(), "mkldnn_enabled": bool(torch.backends.mkldnn.is_available()), "operators": ops}
    lines = [f"PyTorch {res['meta']['torch']} CPU convolution operators (Conv2d 6 -> 12 maps, 5x5, batch 50, "
             f"forward and backward), commit {res['meta']['commit']}, {res['meta']['date']}.", ""]
    lines += [f"- {dt}: {', '.join(names)}" for dt, names in ops.items()]
    write_results("torch_kernels", res, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
