#!/usr/bin/env python3
"""Every benchmark that chapter 4 reads, in one command: writes the results files it quotes.

Runs, one after the other and each in its own process: bench_bottlenecks.py (section 4.1 and
the input sensitivity of section 4.2), bench_torch_kernels.py (PyTorch's convolution route per
dtype), bench_step.py (section 4.6: both networks, every batch size, both dtypes, 1 and 2
threads) and, when the full MNIST is found (--data or $CNNLIT_DATA), bench_epoch.py. Then
re-execute the chapter: python tools/execute.py book/04_fast.md

    CNNLIT_DATA=/path/to/mnist python benchmarks/bench_chapter4.py
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("CNNLIT_DATA"), help="the MNIST folder (default: $CNNLIT_DATA)")
    args = ap.parse_args(argv)
    scripts = [["bench_bottlenecks.py"], ["bench_torch_kernels.py"], ["bench_step.py"]]
    if args.data:
        scripts.append(["bench_epoch.py", "--data", args.data])
    else:
        print("no MNIST folder given: bench_epoch.py skipped, results/epoch.json kept", flush=True)
    start = time.perf_counter()
    for script in scripts:
        t = time.perf_counter()
        subprocess.run([sys.executable, str(HERE / script[0]), *script[1:]], check=True)
        print(f"== {script[0]}: {time.perf_counter() - t:.0f} s", flush=True)
    print(f"== all: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
