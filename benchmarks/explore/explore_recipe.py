#!/usr/bin/env python3
"""The exploratory runs that chose chapter 8's best recipe (see RUNS.md), kept as they were run.

    CNNLIT_DATA=/path/to/mnist python benchmarks/explore/explore_recipe.py --name t2 --act tanh \
        --rates 0.5 0.25 0.125 --decay 0.9 --epochs 14

One line per epoch on standard output: name, epoch, seconds of that epoch, cumulative seconds,
test error in %, load average. The test error is measured on MNIST's 10 000 test digits, which is
why chapter 8 says that these runs consulted the test set.

With --validate the same run trains on the first 50 000 training digits only and measures the
error on the last 10 000 (the validation digits of chapter 8's protocol) instead of the test
digits; the test digits are not read. benchmarks/explore/revalidate.sh re-runs every exploratory
run that way, and writes benchmarks/results/explore_val.json.
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import numpy as np  # noqa: E402

from benchmarks._common import threads  # noqa: E402
from benchmarks.repro_toolbox import load  # noqa: E402
from cnnlit.fast import FastConv, FastDense, FastNetwork, FastSubsample  # noqa: E402
from cnnlit.subsample import Flatten  # noqa: E402
from cnnlit.train import SGD, SoftmaxCrossEntropy, layer_rates, train  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--act", default="sigmoid")
p.add_argument("--maps", type=int, nargs=2, default=[20, 50])
p.add_argument("--rates", type=float, nargs=3, default=[2, 1, 0.5])
p.add_argument("--decay", type=float, default=0.95)
p.add_argument("--epochs", type=int, default=10)
p.add_argument("--std", action="store_true")
p.add_argument("--threads", type=int, default=1)
p.add_argument("--batch", type=int, default=50)
p.add_argument("--name")
p.add_argument("--hidden", type=int, default=0)
p.add_argument("--validate", action="store_true",
               help="train on the first 50 000 digits, measure on the last 10 000 of training")
p.add_argument("--out", default=".", help="folder for <name>.json")
a = p.parse_args()
dt = np.float32
X, T, Xt, yt = load(None, dt)  # $CNNLIT_DATA
if a.validate:  # the test digits are dropped unread; the last 10 000 training digits measure
    del Xt, yt
    X, T, Xt, yt = X[:50000], T[:50000], X[50000:], np.argmax(T[50000:], axis=1)
if a.std:
    mu, sd = X.mean(), X.std()
    X = (X - mu) / sd
    Xt = (Xt - mu) / sd
rng = np.random.default_rng(0)
c1 = FastConv((1, 28, 28), a.maps[0], 5, a.act, rng=rng, dtype=dt)
s1 = FastSubsample(c1.out_shape, 2, None, False, dtype=dt)
c2 = FastConv(s1.out_shape, a.maps[1], 5, a.act, None, rng=rng, dtype=dt)
s2 = FastSubsample(c2.out_shape, 2, None, False, dtype=dt)
fl = Flatten(s2.out_shape)
if a.hidden:
    h = FastDense(fl.out_shape[0], a.hidden, a.act, rng=rng, dtype=dt)
    out = FastDense(a.hidden, 10, "identity", rng=rng, dtype=dt)
    net = FastNetwork([c1, s1, c2, s2, fl, h, out], loss=SoftmaxCrossEntropy())
    a.rates = list(a.rates) + [a.rates[-1]]
else:
    out = FastDense(fl.out_shape[0], 10, "identity", rng=rng, dtype=dt)
    net = FastNetwork([c1, s1, c2, s2, fl, out], loss=SoftmaxCrossEntropy())
spent = 0
log = []
with threads(a.threads):
    for e in range(a.epochs):
        s = a.decay ** e
        opt = SGD(layer_rates(net, {ell: r * s for ell, r in zip((2, 4, 6, 7), a.rates, strict=False)}))
        t0 = time.perf_counter()
        train(net, X, T, epochs=1, batch_size=a.batch, optimizer=opt, rng=rng, progress=False, monitor=(X[:500], T[:500]))
        d = time.perf_counter() - t0
        spent += d
        err = float(np.mean(net.classify(Xt) != yt))
        log.append((e + 1, round(spent, 1), err))
        print(a.name, e + 1, round(d, 1), round(spent, 1), f"{100*err:.2f}", os.getloadavg()[0], flush=True)
Path(a.out, f"{a.name}.json").write_text(json.dumps({"args": vars(a), "log": log}))
