#!/usr/bin/env python3
"""One epoch of full MNIST, cnnlit's fast path against PyTorch: time, test error, memory.

The recipe: toolbox_cnn (6c5-2s-12c5-2s-10, sigmoid everywhere, mean pooling), squared error,
mini-batches of 50 in a random order (seed 0), plain gradient descent with eta = 1, one epoch
(1200 steps). The data are read through $CNNLIT_DATA (or --data). Reports the training time (the
1200 steps only), the test error on the 10 000 test images, and the peak memory: the largest
amount traced by tracemalloc (NumPy reports its arrays to it) from before loading, and the
process's maximum resident size, against the size of the training images in the dtype used.
The memory is measured in a separate, untimed epoch: tracemalloc slows Python code down.
Runs at 1 thread and at 2, each epoch in its own process (in one process, OpenBLAS's and
PyTorch's thread pools spin against each other); with torch importable, PyTorch's epoch is
timed too. Two networks: the toolbox's (above) and the best recipe's (32c5-2s-64c5-2s-10,
scaled tanh, softmax cross-entropy, the first epoch's rates 0.5, 0.25, 0.125 by layer).

    CNNLIT_DATA=/path/to/mnist python benchmarks/bench_epoch.py     # writes results/epoch.json, epoch.md
    python benchmarks/bench_epoch.py --quick    # the embedded 6000 digits instead, nothing written
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

from benchmarks._common import machine, threads, torch, torch_step_fn, torch_toolbox_cnn, write_results  # noqa: E402
from cnnlit.data import load_digits, load_mnist, one_hot  # noqa: E402
from cnnlit.dense import gradient_step  # noqa: E402
from cnnlit.fast import FastConv, fast_toolbox_cnn  # noqa: E402

# The recorded runs used cache blocking, which is off by default (chapter 4, section 4.3).
FastConv.block_bytes = 1 << 19


def load(quick, path, dtype):
    if quick:
        X, y = load_digits("train", one_hot_targets=False, dtype=dtype)
        Xt, yt = load_digits("test", one_hot_targets=False, dtype=dtype)
        return X, y, Xt, yt
    mnist = load_mnist(path)
    X = mnist.X_train.reshape(-1, 1, 28, 28).astype(dtype)
    X /= 255
    Xt = mnist.X_test.reshape(-1, 1, 28, 28).astype(dtype)
    Xt /= 255
    return X, mnist.y_train.astype(np.int64), Xt, mnist.y_test.astype(np.int64)


BEST_RATES = {2: 0.5, 4: 0.25, 6: 0.125}   # the best recipe's first-epoch rates: 4, 2, 1 times 0.125


def cnnlit_model(net, dtype, seed):
    if net == "dlt":
        return fast_toolbox_cnn(rng=seed, dtype=dtype), 1.0
    from cnnlit.train import softmax_cnn
    model = softmax_cnn(maps=(32, 64), activation="tanh", rng=seed, dtype=dtype)
    return model, {name: BEST_RATES[int(name[-1])] for name in model.params}


def epoch_cnnlit(X, y, dtype, batch=50, seed=0, net="dlt", n_threads=1):
    model, eta = cnnlit_model(net, dtype, seed)
    model.threads = n_threads      # 2: each step's batch in two slices, one per thread (ch. 4.4)
    order = np.random.default_rng(seed).permutation(len(X))
    eye = np.eye(10, dtype=dtype)
    t = time.perf_counter()
    for i in range(0, len(X) - batch + 1, batch):
        idx = order[i:i + batch]
        gradient_step(model.params, model.gradients(X[idx], eye[y[idx]]), eta)
    return model, time.perf_counter() - t


def test_error_cnnlit(net, Xt, yt, chunk=200):
    wrong = sum(int(np.sum(net.classify(Xt[i:i + chunk]) != yt[i:i + chunk])) for i in range(0, len(Xt), chunk))
    return wrong / len(Xt)


def epoch_torch(X, y, Xt, yt, dtype, batch=50, seed=0, net="dlt"):
    from benchmarks.bench_step import torch_best_cnn

    torch.manual_seed(seed)
    order = np.random.default_rng(seed).permutation(len(X))
    Xtorch = torch.from_numpy(X)
    if net == "dlt":
        model = torch_toolbox_cnn(dtype=dtype)
        step = torch_step_fn(model, 1.0)
        T = torch.from_numpy(one_hot(y, 10, dtype=dtype))
    else:
        model = torch_best_cnn(dtype=dtype)
        layers = [model[0], model[3], model[7]]
        opt = torch.optim.SGD([{"params": layer.parameters(), "lr": rate}
                               for layer, rate in zip(layers, BEST_RATES.values(), strict=True)], lr=0.125)
        loss_fn = torch.nn.CrossEntropyLoss()
        T = torch.from_numpy(y)

        def step(Xb, Tb):
            opt.zero_grad(set_to_none=False)
            loss_fn(model(Xb), Tb).backward()
            opt.step()
    t = time.perf_counter()
    for i in range(0, len(X) - batch + 1, batch):
        idx = torch.from_numpy(order[i:i + batch])
        step(Xtorch[idx], T[idx])
    elapsed = time.perf_counter() - t
    with torch.no_grad():
        pred = model(torch.from_numpy(Xt)).argmax(dim=1).numpy()
    return elapsed, float(np.mean(pred != yt))


def one_run(quick, path, dtype, net, impl, n_threads):
    """One timed epoch, in this process, with the threads pinned."""
    X, y, Xt, yt = load(quick, path, dtype)
    with threads(n_threads):
        if impl == "cnnlit":
            model, elapsed = epoch_cnnlit(X, y, dtype, net=net, n_threads=n_threads)
            err = test_error_cnnlit(model, Xt, yt)
        else:
            elapsed, err = epoch_torch(X, y, Xt, yt, dtype, net=net)
    return {"net": net, "impl": "cnnlit fast" if impl == "cnnlit" else "PyTorch", "dtype": dtype,
            "threads": n_threads, "train_s": elapsed, "steps": len(X) // 50, "test_error": err}


def run_in_process(quick, path, dtype, net, impl, n_threads):
    """one_run in a fresh process with OPENBLAS/OMP/MKL_NUM_THREADS set: thread pools never share a process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(n_threads), OMP_NUM_THREADS=str(n_threads),
               MKL_NUM_THREADS=str(n_threads))
    cmd = [sys.executable, __file__, "--worker", json.dumps([quick, path, dtype, net, impl, n_threads])]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(quick, path, dtype, nets=("dlt", "best")):
    meta = machine()
    meta["threads"] = ("every epoch in its own process, OPENBLAS/OMP/MKL_NUM_THREADS and threadpoolctl/"
                       "torch.set_num_threads pinned to the thread count; cnnlit at 2 threads: "
                       "FastNetwork.threads = 2 (two batch slices, BLAS at 1 thread in each)")
    # Memory first: trace everything from before loading to the end of one (untimed) epoch.
    # tracemalloc slows Python code down, so the timed epochs below run without it.
    tracemalloc.start()
    X, y, Xt, yt = load(quick, path, dtype)
    data_bytes = X.nbytes
    with threads(1):
        net, _ = epoch_cnnlit(X, y, dtype)
        test_error_cnnlit(net, Xt, yt)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del net, X, Xt
    runs = []
    impls = ["cnnlit"] + (["torch"] if torch is not None else [])
    for name in nets:
        for n_threads in (1, 2):
            for impl in impls:
                runs.append(run_in_process(quick, path, dtype, name, impl, n_threads))
                print(runs[-1], flush=True)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
    meta["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    return {"meta": meta, "quick": quick, "data": "embedded digits (6000/1000)" if quick else "full MNIST (60000/10000)",
            "recipe": "batch 50, 1 epoch, seed 0; dlt: toolbox_cnn, sigmoid, squared error, eta 1; best: 32c5-2s-64c5-2s-10, "
                      "scaled tanh, cross-entropy, rates 0.5/0.25/0.125 by layer",
            "train_images_MB": data_bytes / 2**20, "traced_peak_MB": peak / 2**20,
            "peak_over_data": peak / data_bytes, "max_rss_MB": maxrss, "runs": runs}


def markdown(res):
    m = res["meta"]
    lines = [
        f"One epoch, {res['data']}, {res['recipe']}.",
        f"Commit {m['commit']}, {m['date']}, {m['cpu']} ({m['cores']} cores), numpy {m['numpy']}, "
        f"torch {m['torch']}; load average {m['load_average_at_start']} at start.",
        "",
        "| net | implementation | dtype | threads | training s | test error |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["runs"]:
        lines.append(f"| {r['net']} | {r['impl']} | {r['dtype']} | {r['threads']} | {r['train_s']:.2f} | "
                     f"{100 * r['test_error']:.2f}% |")
    lines += ["", f"Training images: {res['train_images_MB']:.0f} MB; peak traced memory of a cnnlit epoch at 1 thread "
              f"(loading, data, training and testing included; a separate, untimed run): {res['traced_peak_MB']:.0f} MB = "
              f"{res['peak_over_data']:.2f}× the training images; "
              f"maximum resident size of the whole process (interpreter, libraries, PyTorch): {res['max_rss_MB']:.0f} MB."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the embedded 6000 digits (no MNIST needed); prints, writes nothing")
    ap.add_argument("--data", default=None, help="the MNIST folder (default: $CNNLIT_DATA)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(one_run(*json.loads(args.worker))))
        return
    res = run(args.quick, args.data, args.dtype)
    if args.quick:
        print(markdown(res))
    else:
        write_results("epoch", res, markdown(res))


if __name__ == "__main__":
    main()
