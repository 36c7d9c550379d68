"""Shared helpers of the benchmarks: machine description, thread limits, the PyTorch twin network."""
from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

try:  # optional: the `bench` extra
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_info = threadpool_limits = None


@contextlib.contextmanager
def threads(n):
    """BLAS (through threadpoolctl) and PyTorch limited to n threads inside the block."""
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(n)
    ctx = threadpool_limits(limits=n) if threadpool_limits is not None else contextlib.nullcontext()
    try:
        with ctx:
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)


def git_commit():
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "cnnlit", "benchmarks/*.py"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def l2_cache_bytes():
    """The size of one core's level-2 cache, from Linux's sysfs, or None."""
    try:
        for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip()
                return int(size[:-1]) * {"K": 1024, "M": 1024**2}[size[-1]]
    except (OSError, ValueError, KeyError):
        pass
    return None


def machine():
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = []
    if threadpool_info is not None:
        blas = [f"{d.get('internal_api')} {d.get('version')} ({d.get('architecture')})" for d in threadpool_info()]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "l2_cache_bytes": l2_cache_bytes(),
        "load_average_at_start": [round(v, 2) for v in os.getloadavg()],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": sorted(set(blas)),
        "torch": torch.__version__ if torch is not None else None,
    }


def matmul_peak_gflops(dtype, n=1024, repeats=5, clock=None):
    """The measured rate of one large square matrix product, in GFLOP/s (a practical peak): the
    fastest of ``repeats`` runs, since on a shared machine the other runs measure the load.
    ``clock`` is the timer (default time.perf_counter; time.process_time gives the rate in CPU
    time, which at one thread waiting for a core does not lower)."""
    import time

    clock = clock or time.perf_counter
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    b = a.T.copy()
    a @ b
    times = []
    for _ in range(repeats):
        t = clock()
        a @ b
        times.append(clock() - t)
    return 2 * n**3 / min(times) / 1e9


def torch_toolbox_cnn(maps=(6, 12), dtype="float32", kernel_size=5, n_classes=10):
    """PyTorch's version of toolbox_cnn: sigmoid convolutions, 2x2 average pooling, sigmoid outputs."""
    nn = torch.nn
    side = ((28 - kernel_size + 1) // 2 - kernel_size + 1) // 2
    net = nn.Sequential(
        nn.Conv2d(1, maps[0], kernel_size), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Conv2d(maps[0], maps[1], kernel_size), nn.Sigmoid(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(maps[1] * side * side, n_classes), nn.Sigmoid(),
    )
    return net.to(getattr(torch, dtype))


def torch_step_fn(net, lr=1.0):
    """One plain-SGD step on the mean squared error 1/2 ||t - y||^2 (N1), as the toolbox does."""
    opt = torch.optim.SGD(net.parameters(), lr=lr)

    def step(X, T):
        opt.zero_grad(set_to_none=False)
        y = net(X)
        loss = 0.5 * ((y - T) ** 2).sum(dim=1).mean()
        loss.backward()
        opt.step()
        return loss

    return step


def write_results(name, data, markdown):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"wrote {RESULTS / (name + '.json')} and {name}.md")


def chapter7_data():
    """Chapter 7's training set and monitoring set (section 7.2), in float32: the first 1000
    embedded training digits (X, T) and the first 300 test digits (monitor)."""
    from cnnlit.data import load_digits

    X_all, T_all = load_digits("train")
    Xt_all, Tt_all = load_digits("test")
    f32 = np.float32
    X, T = X_all[:1000].astype(f32), T_all[:1000].astype(f32)
    return X, T, (Xt_all[:300].astype(f32), Tt_all[:300].astype(f32))
