"""cnnlit.fast outside the book: fast == faithful (properties), float32, bad input, the builders."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlit.conv import Conv
from cnnlit.data import one_hot
from cnnlit.dense import Dense
from cnnlit.fast import (
    FastConv,
    FastDense,
    FastNetwork,
    FastSubsample,
    col2im,
    down_blocks,
    fast_paper_cnn,
    fast_toolbox_cnn,
    im2col,
    up_blocks,
)
from cnnlit.gradcheck import check_gradients
from cnnlit.subsample import Subsample, down, paper_cnn, toolbox_cnn, up

F64_TOL = 1e-12   # float64: fast and faithful agree to this, relative to the largest entry
F32_TOL = 2e-4    # float32 fast against float64 faithful, relative to the largest entry


def close(a, b, tol):
    """max |a - b| <= tol * max |b| (entry-wise, scaled by the reference's largest entry)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(b).max(initial=0.0), 1e-300)
    err = np.abs(a - b).max(initial=0.0) / scale
    assert err <= tol, err
    return err


def perturb(nets, rng, scale=0.3):
    """Move every parameter away from its initial value, identically in every net."""
    for name, p in nets[0].params.items():
        new = p + scale * rng.normal(size=p.shape)
        if name.startswith("k"):
            new[p == 0] = 0.0   # keep unconnected kernel slots at zero
        for net in nets:
            net.params[name] = new


# --- fast == faithful, layer by layer -------------------------------------------------------

@st.composite
def conv_cases(draw):
    C = draw(st.integers(1, 4))
    J = draw(st.integers(1, 4))
    R = draw(st.integers(1, 4))
    S = draw(st.integers(1, 4))
    H = draw(st.integers(R, R + 5))
    W = draw(st.integers(S, S + 5))
    N = draw(st.integers(1, 3))
    table = np.array(draw(st.lists(st.booleans(), min_size=C * J, max_size=C * J))).reshape(C, J)
    table[draw(st.integers(0, C - 1)), :] = True   # every output map keeps at least one input
    act = draw(st.sampled_from(["sigmoid", "tanh", "identity"]))
    seed = draw(st.integers(0, 2**16))
    return C, J, (R, S), (H, W), N, table, act, seed


@settings(max_examples=40, deadline=None, derandomize=True)
@given(conv_cases())
def test_fast_conv_equals_faithful(case):
    C, J, ks, (H, W), N, table, act, seed = case
    slow = Conv((C, H, W), J, ks, act, table, rng=seed)
    fast = FastConv((C, H, W), J, ks, act, table, rng=seed)
    assert np.array_equal(slow.k, fast.k) and np.array_equal(slow.b, fast.b)
    rng = np.random.default_rng(seed)
    b = rng.normal(size=J)
    slow.b[...] = b
    fast.b[...] = b
    x = rng.normal(size=(N, C, H, W))
    g = rng.normal(size=(N,) + slow.out_shape)
    close(fast.forward(x), slow.forward(x), F64_TOL)
    close(fast.backward(g), slow.backward(g), F64_TOL)
    for name in ("k", "b"):
        close(fast.grads[name], slow.grads[name], F64_TOL)
    assert not fast.grads["k"][~table].any()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    C=st.integers(1, 4), h=st.integers(1, 4), w=st.integers(1, 4), m=st.integers(1, 4), N=st.integers(1, 3),
    trainable=st.booleans(), act=st.sampled_from([None, "sigmoid", "tanh"]), seed=st.integers(0, 2**16),
)
def test_fast_subsample_equals_faithful(C, h, w, m, N, trainable, act, seed):
    shape = (C, h * m, w * m)
    slow = Subsample(shape, m, act, trainable)
    fast = FastSubsample(shape, m, act, trainable)
    rng = np.random.default_rng(seed)
    if trainable:
        for name in ("beta", "b"):
            v = rng.normal(size=C)
            slow.params[name][...] = v
            fast.params[name][...] = v
    x = rng.normal(size=(N,) + shape)
    g = rng.normal(size=(N, C, h, w))
    close(fast.forward(x), slow.forward(x), F64_TOL)
    close(fast.backward(g), slow.backward(g), F64_TOL)
    for name in slow.grads:
        close(fast.grads[name], slow.grads[name], F64_TOL)


@settings(max_examples=20, deadline=None, derandomize=True)
@given(n_in=st.integers(1, 20), n_out=st.integers(1, 10), N=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_fast_dense_equals_faithful(n_in, n_out, N, seed):
    slow, fast = Dense(n_in, n_out, rng=seed), FastDense(n_in, n_out, rng=seed)
    rng = np.random.default_rng(seed)
    x, g = rng.normal(size=(N, n_in)), rng.normal(size=(N, n_out))
    close(fast.forward(x), slow.forward(x), F64_TOL)
    close(fast.backward(g), slow.backward(g), F64_TOL)
    for name in ("W", "b"):
        close(fast.grads[name], slow.grads[name], F64_TOL)


# --- whole networks ------------------------------------------------------------------------

@st.composite
def net_cases(draw):
    m = draw(st.integers(1, 3))
    R = draw(st.integers(1, 4))
    s2 = draw(st.integers(1, 3))            # the second pooled map size
    c2 = s2 * m + R - 1                     # the first pooled map size
    input_size = c2 * m + R - 1
    maps = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    n_classes = draw(st.integers(2, 6))
    paper = draw(st.booleans())
    table = None
    if paper and draw(st.booleans()):
        table = np.array(draw(st.lists(st.booleans(), min_size=maps[0] * maps[1], max_size=maps[0] * maps[1])))
        table = table.reshape(maps)
        table[0, :] = True
    N = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    return dict(input_size=input_size, kernel_size=R, maps=maps, n_classes=n_classes), m, paper, table, N, seed


def build_pair(kw, m, paper, table, seed, dtype=np.float64):
    if paper:
        return (paper_cnn(m=m, connections=table, rng=seed, **kw),
                fast_paper_cnn(m=m, connections=table, rng=seed, dtype=dtype, **kw))
    return toolbox_cnn(m=m, rng=seed, **kw), fast_toolbox_cnn(m=m, rng=seed, dtype=dtype, **kw)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(net_cases())
def test_fast_network_equals_faithful(case):
    kw, m, paper, table, N, seed = case
    slow, fast = build_pair(kw, m, paper, table, seed)
    assert list(slow.params) == list(fast.params)
    for name in slow.params:               # the same initialization for the same seed
        assert np.array_equal(slow.params[name], fast.params[name]), name
    rng = np.random.default_rng(seed)
    perturb([slow, fast], rng)
    X = rng.uniform(size=(N, 1, kw["input_size"], kw["input_size"]))
    T = one_hot(rng.integers(0, kw["n_classes"], size=N), kw["n_classes"])
    close(fast.predict(X), slow.predict(X), F64_TOL)
    assert abs(fast.loss(X, T) - slow.loss(X, T)) <= F64_TOL * abs(slow.loss(X, T))
    g_slow, g_fast = slow.gradients(X, T), fast.gradients(X, T)
    for name in g_slow:
        close(g_fast[name], g_slow[name], F64_TOL)
    dy = fast.predict(X) - T
    close(fast.backward(dy), slow.backward(slow.predict(X) - T), F64_TOL)   # the input sensitivity


@settings(max_examples=15, deadline=None, derandomize=True)
@given(net_cases())
def test_fast_float32_close_to_faithful(case):
    kw, m, paper, table, N, seed = case
    slow, fast = build_pair(kw, m, paper, table, seed, dtype=np.float32)
    rng = np.random.default_rng(seed)
    perturb([slow, fast], rng)
    assert all(p.dtype == np.float32 for p in fast.params.values())
    X = rng.uniform(size=(N, 1, kw["input_size"], kw["input_size"]))
    T = one_hot(rng.integers(0, kw["n_classes"], size=N), kw["n_classes"])
    y = fast.predict(X.astype(np.float32))
    assert y.dtype == np.float32
    close(y, slow.predict(X), F32_TOL)
    g_slow, g_fast = slow.gradients(X, T), fast.gradients(X.astype(np.float32), T.astype(np.float32))
    for name in g_slow:
        assert g_fast[name].dtype == np.float32
        close(g_fast[name], g_slow[name], F32_TOL)


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


# --- the building blocks -------------------------------------------------------------------

@settings(max_examples=25, deadline=None, derandomize=True)
@given(C=st.integers(1, 3), R=st.integers(1, 4), S=st.integers(1, 4), dh=st.integers(0, 4), dw=st.integers(0, 4),
       N=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(C, R, S, dh, dw, N, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(C, R + dh, S + dw, N))
    Y = rng.normal(size=(C * R * S, (dh + 1) * (dw + 1) * N))
    lhs = np.sum(im2col(x, R, S) * Y)
    rhs = np.sum(x * col2im(Y, x.shape[:3], R, S))
    assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + np.abs(x).sum() * np.abs(Y).max())


@settings(max_examples=25, deadline=None, derandomize=True)
@given(C=st.integers(1, 3), h=st.integers(1, 4), w=st.integers(1, 4), m=st.integers(1, 4), N=st.integers(1, 3))
def test_down_up_blocks_equal_down_up(C, h, w, m, N):
    x = np.random.default_rng(m).normal(size=(C, h * m, w * m, N))
    ref = down(x.transpose(3, 0, 1, 2), m).transpose(1, 2, 3, 0)
    assert np.allclose(down_blocks(x, m), ref, rtol=1e-13, atol=1e-13)
    y = x[:, :h, :w]
    assert np.array_equal(up_blocks(y, m), up(y.transpose(3, 0, 1, 2), m).transpose(1, 2, 3, 0))


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
