"""cnnlit.fast outside the book: fast == faithful at full size, bad input, the builders. The properties
(fast == faithful for every layer and network, float32, im2col/col2im, down/up blocks) are in
tests/test_properties.py."""
import numpy as np
import pytest
from tolerances import F64_TOL, close

from cnnlit.data import one_hot
from cnnlit.fast import (
    FastConv,
    FastDense,
    FastNetwork,
    FastSubsample,
    fast_paper_cnn,
    fast_toolbox_cnn,
)
from cnnlit.gradcheck import check_gradients
from cnnlit.subsample import toolbox_cnn

# --- whole networks ------------------------------------------------------------------------


def test_full_size_toolbox_net_equals_faithful():
    slow, fast = toolbox_cnn(rng=3), fast_toolbox_cnn(rng=3)
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(2, 1, 28, 28))
    T = one_hot(np.array([3, 7]), 10)
    close(fast.predict(X), slow.predict(X), F64_TOL)
    g_slow, g_fast = slow.gradients(X, T), fast.gradients(X, T)
    for name in g_slow:
        close(g_fast[name], g_slow[name], F64_TOL)


def test_fast_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    net = fast_paper_cnn(input_size=14, kernel_size=3, maps=(3, 4), n_classes=5, rng=rng)
    for p in net.params.values():
        p += 0.2 * rng.normal(size=p.shape)
    X = rng.uniform(size=(3, 1, 14, 14))
    T = one_hot(rng.integers(0, 5, size=3), 5)
    errors = check_gradients(net, X, T, eps=1e-4, max_entries=20)
    assert max(errors.values()) < 1e-7, errors


def test_unconnected_slots_stay_zero_under_training():
    table = np.array([[True, False], [False, True]])
    net = fast_paper_cnn(input_size=14, kernel_size=3, maps=(2, 2), n_classes=3, connections=table, rng=0)
    rng = np.random.default_rng(0)
    X, T = rng.uniform(size=(4, 1, 14, 14)), one_hot(np.array([0, 1, 2, 0]), 3)
    for _ in range(3):
        g = net.gradients(X, T)
        assert not g["k4"][~table].any()
        for name in g:
            net.params[name] -= g[name]
    assert not net.params["k4"][~table].any()


def test_fast_network_is_a_network_and_reprs():
    net = fast_toolbox_cnn(rng=0)
    assert isinstance(net, FastNetwork)
    text = repr(net)
    assert "FastConv(1x28x28 -> 6x24x24, 5x5 kernels, full connection" in text
    assert "FastSubsample((6, 24, 24) -> (6, 12, 12), m=2, mean pooling" in text
    assert "6 of 8 pairs" in repr(FastConv((2, 5, 5), 4, 3, connections=[[1, 1, 1, 1], [1, 1, 0, 0]]))


# --- bad input: each names the argument -----------------------------------------------------

@pytest.mark.parametrize(
    "x, exc, words",
    [
        (np.zeros((2, 3, 6)), ValueError, ["x_prev", "(N, 3, 6, 6)"]),
        (np.zeros((2, 2, 6, 6)), ValueError, ["x_prev", "(N, 3, 6, 6)"]),
        (np.zeros((2, 3, 6, 6), dtype=np.int64), TypeError, ["x_prev", "floating-point"]),
        (np.full((2, 3, 6, 6), np.nan), ValueError, ["x_prev", "non-finite"]),
    ],
)
def test_fast_layers_forward_bad_input(x, exc, words):
    for layer in (FastConv((3, 6, 6), 2, 3), FastSubsample((3, 6, 6), 2)):
        with pytest.raises(exc) as info:
            layer.forward(x)
        for word in words:
            assert word in str(info.value)


def test_fast_layers_backward_bad_input():
    for layer in (FastConv((3, 6, 6), 2, 3), FastSubsample((3, 6, 6), 2), FastDense(4, 2)):
        with pytest.raises(RuntimeError, match="backward called before forward"):
            layer.backward(np.zeros((1, 2)))
    conv = FastConv((3, 6, 6), 2, 3)
    conv.forward(np.zeros((2, 3, 6, 6)))
    with pytest.raises(ValueError, match=r"dE_dx must have shape \(2, 2, 4, 4\)"):
        conv.backward(np.zeros((2, 2, 4, 5)))
    with pytest.raises(ValueError, match="dE_dx contains 1 non-finite"):
        conv.backward(np.where(np.arange(64).reshape(2, 2, 4, 4) == 5, np.inf, 0.0))


def test_fast_constructors_refuse_bad_arguments():
    with pytest.raises(ValueError, match="kernel_size"):
        FastConv((1, 4, 4), 2, 5)
    with pytest.raises(ValueError, match="in_shape"):
        FastConv((4, 4), 2, 3)
    with pytest.raises(ValueError, match="n_out"):
        FastConv((1, 4, 4), 0, 3)
    with pytest.raises(ValueError, match="connections must have shape"):
        FastConv((2, 4, 4), 3, 3, connections=np.ones((3, 2), bool))
    with pytest.raises(ValueError, match="without any input map"):
        FastConv((2, 4, 4), 2, 3, connections=[[1, 0], [1, 0]])
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        FastConv((1, 4, 4), 2, 3, dtype=np.int32)
    with pytest.raises(ValueError, match=r"m \(the block size\) must be a positive integer"):
        FastSubsample((1, 4, 4), 0)
    with pytest.raises(ValueError, match=r"not divisible by the block size m=3"):
        FastSubsample((1, 4, 4), 3)
    with pytest.raises(ValueError, match="does not divide"):
        fast_toolbox_cnn(input_size=29)
    with pytest.raises(ValueError, match="maps must be a pair"):
        fast_paper_cnn(maps=(6,))
    with pytest.raises(ValueError, match=r"m \(the block size\)"):
        fast_toolbox_cnn(m=0)
    with pytest.raises(TypeError, match="rng"):
        fast_toolbox_cnn(rng="seed")


def test_network_refuses_bad_batches():
    net = fast_toolbox_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 1, 14, 14\)"):
        net.predict(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"T must have shape \(N, c\) = \(2, 4\)"):
        net.gradients(np.zeros((2, 1, 14, 14)), np.zeros((2, 5)))


# --- the benchmark scripts (a smoke test: no timing, no MNIST, no PyTorch needed) ------------

def test_benchmark_helpers_smoke(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "torch", None)   # PyTorch is optional: run as if it were absent
    for name in ("benchmarks._common", "benchmarks.bench_step", "benchmarks.bench_epoch"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    bench_step = importlib.import_module("benchmarks.bench_step")
    bench_epoch = importlib.import_module("benchmarks.bench_epoch")
    assert abs(bench_step.step_flops(50) / 1e6 - 52.4) < 0.05
    calls = {"a": 0, "b": 0, "slow": 0}

    def counter(name):
        def f():
            calls[name] += 1
        return f

    res = bench_step.time_interleaved({"a": counter("a"), "b": counter("b")}, 1, 4, sparse=counter("slow"), sparse_count=2)
    assert calls == {"a": 6, "b": 6, "slow": 2} and set(res) == {"a", "b", "sparse"}
    X, y, Xt, yt = bench_epoch.load(True, None, "float32")
    assert X.dtype == np.float32 and X.shape == (6000, 1, 28, 28) and yt.shape == (1000,)
    assert bench_step.torch is None
    for name in ("benchmarks._common", "benchmarks.bench_step", "benchmarks.bench_epoch"):
        sys.modules.pop(name, None)


def test_loss_and_predict_of_a_large_batch_run_in_slices():
    """loss(X, T) of a FastNetwork goes through predict, which runs X in slices of predict_batch:
    on 2000 patterns its peak memory stays a fraction of one forward pass over all of them (a
    session's default monitor, the whole training set, once needed 15 GB for MNIST's 60 000)."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.random((2000, 1, 28, 28), dtype=np.float32)
    T = one_hot(rng.integers(0, 10, 2000), 10, dtype=np.float32)
    peaks = {}
    for name in ("forward", "loss"):
        net = fast_toolbox_cnn(maps=(6, 12), rng=0, dtype=np.float32)   # a new network: no buffers yet
        tracemalloc.start()
        net.forward(X) if name == "forward" else net.loss(X, T)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["loss"] < peaks["forward"] / 3, peaks
    y = net.forward(X)
    direct = float(np.mean(net.loss_fn.per_pattern(y, T)))
    assert abs(net.loss(X, T) - direct) <= 1e-6 * abs(direct)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_gradients_over_two_threads_equal_one_piece_and_repeat(dtype, tol):
    """threads = 2: the sum of two slices' gradients equals the one-piece gradients to
    rounding, gives the same bits on a second call, and trains the shared parameters."""
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(9, 1, 14, 14)).astype(dtype)   # odd N: unequal slices
    T = one_hot(rng.integers(0, 4, size=9), 4, dtype=dtype)
    build = dict(input_size=14, kernel_size=3, maps=(3, 4), n_classes=4, rng=0, dtype=dtype)
    one, two = fast_paper_cnn(**build), fast_paper_cnn(**build)
    two.threads = 2
    g1, g2, again = one.gradients(X, T), two.gradients(X, T), two.gradients(X, T)
    assert list(g1) == list(g2)
    for k in g1:
        assert g2[k].dtype == dtype and np.array_equal(g2[k], again[k])
        assert np.abs(g2[k] - g1[k]).max() <= tol * np.abs(g1[k]).max(), k
    for net, g in ((one, g1), (two, g2)):
        for k, p in net.params.items():
            p -= 0.5 * g[k]
    g1, g2 = one.gradients(X, T), two.gradients(X, T)    # the replicas see the update
    for k in g1:
        assert np.abs(g2[k] - g1[k]).max() <= tol * np.abs(g1[k]).max(), k
    assert two.gradients(X[:3], T[:3]).keys() == g1.keys()    # N < 2k: one piece
