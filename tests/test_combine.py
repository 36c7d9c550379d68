"""cnnlit.combine outside the book: the softmax at fixed points, fast == faithful in float32, the
gradient check, the builders and bad input. The properties (softmax columns, N8-N10, fast == faithful,
U3.3a as U3.1a with kernels alpha k) are in tests/test_properties.py."""
import numpy as np
import pytest
from tolerances import F32_TOL, F64_TOL, close

from cnnlit.combine import (
    KERNELS,
    Combine,
    FastCombine,
    check_kernels,
    combine_cnn,
    fast_combine_cnn,
    softmax,
    softmax_backward,
    softmax_jacobian,
)
from cnnlit.fast import FastNetwork, fast_toolbox_cnn
from cnnlit.gradcheck import check_gradients
from cnnlit.subsample import toolbox_cnn

# --- the softmax, N8, N10 -------------------------------------------------------------------


def test_softmax_does_not_overflow():
    a = softmax(np.array([[1000.0, -1000.0], [0.0, -1001.0]]))
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a, [[1.0, 1 / (1 + np.exp(-1))], [0.0, np.exp(-1) / (1 + np.exp(-1))]], atol=1e-15)


# --- fast == faithful -----------------------------------------------------------------------


def test_fast_combine_float32():
    slow = Combine((3, 9, 9), 4, 3, kernels="pair", rng=1)
    fast = FastCombine((3, 9, 9), 4, 3, kernels="pair", rng=1, dtype=np.float32)
    rng = np.random.default_rng(1)
    c = rng.normal(size=slow.c.shape)
    slow.c[...] = c
    fast.c[...] = c
    x = rng.normal(size=(2, 3, 9, 9))
    g = rng.normal(size=(2,) + slow.out_shape)
    y = fast.forward(x.astype(np.float32))
    assert y.dtype == np.float32
    close(y, slow.forward(x), F32_TOL)
    close(fast.backward(g.astype(np.float32)), slow.backward(g), F32_TOL)
    for name in ("c", "k", "b"):
        assert fast.grads[name].dtype == np.float32
        close(fast.grads[name], slow.grads[name], F32_TOL)


def test_alpha_tracks_c_and_init():
    layer = FastCombine((6, 12, 12), 16, 5, rng=0)
    np.testing.assert_allclose(layer.alpha, 1 / 6)       # c = 0: the uniform alpha
    layer.c[0, 3] = 2.0
    assert layer.alpha[0, 3] > layer.alpha[1, 3]
    assert layer.k.shape == (6, 16, 5, 5)
    assert FastCombine((6, 12, 12), 16, 5, kernels="shared", rng=0).k.shape == (6, 5, 5)
    assert "k_ij per pair" in repr(layer) and "k_i shared" in repr(Combine((6, 12, 12), 16, 5, kernels="shared"))


# --- gradient checks and networks -----------------------------------------------------------

@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("builder", [combine_cnn, fast_combine_cnn])
def test_gradient_check(builder, kernels):
    net = builder(input_size=14, maps=(2, 3), kernel_size=3, n_classes=3, kernels=kernels, rng=3)
    rng = np.random.default_rng(3)
    for p in net.params.values():
        p += 0.5 * rng.normal(size=p.shape)
    X = rng.uniform(size=(3, 1, 14, 14))
    T = rng.uniform(size=(3, 3))
    errors = check_gradients(net, X, T)
    assert set(errors) == {"k2", "b2", "c4", "k4", "b4", "W6", "b6"}
    assert max(errors.values()) < 1e-7, errors


@pytest.mark.parametrize("kernels", KERNELS)
def test_builders_agree(kernels):
    slow = combine_cnn(input_size=14, maps=(2, 3), kernel_size=3, n_classes=4, kernels=kernels, rng=5)
    fast = fast_combine_cnn(input_size=14, maps=(2, 3), kernel_size=3, n_classes=4, kernels=kernels, rng=5)
    assert isinstance(fast, FastNetwork)
    assert sorted(slow.params) == sorted(fast.params)
    rng = np.random.default_rng(5)
    for name, p in slow.params.items():
        assert np.array_equal(p, fast.params[name]), name
        new = p + 0.3 * rng.normal(size=p.shape)
        slow.params[name] = new
        fast.params[name] = new
    X = rng.uniform(size=(4, 1, 14, 14))
    T = rng.uniform(size=(4, 4))
    close(fast.predict(X), slow.predict(X), F64_TOL)
    gs, gf = slow.gradients(X, T), fast.gradients(X, T)
    for name in gs:
        close(gf[name], gs[name], F64_TOL)


def test_pair_network_starts_as_the_toolbox_network():
    comb = combine_cnn(input_size=14, maps=(2, 3), kernel_size=3, rng=7)
    tb = toolbox_cnn(input_size=14, maps=(2, 3), kernel_size=3, rng=7)
    np.testing.assert_allclose(comb.params["k4"] / 2, tb.params["k4"], rtol=1e-15)
    X = np.random.default_rng(7).uniform(size=(3, 1, 14, 14))
    close(comb.predict(X), tb.predict(X), 1e-14)
    fast, ftb = fast_combine_cnn(rng=7), fast_toolbox_cnn(rng=7)
    X = np.random.default_rng(7).uniform(size=(3, 1, 28, 28))
    close(fast.predict(X), ftb.predict(X), 1e-14)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Combine, FastCombine])
def test_bad_layer_arguments(cls):
    with pytest.raises(ValueError, match="kernels"):
        cls((2, 8, 8), 3, 3, kernels="per-pair")
    with pytest.raises(ValueError, match="kernels"):
        cls((2, 8, 8), 3, 3, kernels=None)
    with pytest.raises(ValueError, match="in_shape"):
        cls((8, 8), 3, 3)
    with pytest.raises(ValueError, match="n_out"):
        cls((2, 8, 8), 0, 3)
    with pytest.raises(ValueError, match="kernel_size"):
        cls((2, 8, 8), 3, 9)
    with pytest.raises(ValueError, match="kernel_size"):
        cls((2, 8, 8), 3, (3, 0))
    with pytest.raises(TypeError, match="dtype"):
        cls((2, 8, 8), 3, 3, dtype=np.int64)
    with pytest.raises(ValueError, match="activation|unknown"):
        cls((2, 8, 8), 3, 3, activation="relu6")
    with pytest.raises(TypeError, match="rng"):
        cls((2, 8, 8), 3, 3, rng="seed")


@pytest.mark.parametrize("cls", [Combine, FastCombine])
def test_bad_layer_inputs(cls):
    layer = cls((2, 8, 8), 3, 3, rng=0)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 3, 6, 6)))
    with pytest.raises(ValueError, match="x_prev"):
        layer.forward(np.zeros((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="x_prev"):
        layer.forward(np.full((1, 2, 8, 8), np.nan))
    with pytest.raises(TypeError, match="x_prev"):
        layer.forward(np.zeros((1, 2, 8, 8), dtype=int))
    layer.forward(np.zeros((2, 2, 8, 8)))
    with pytest.raises(ValueError, match="dE_dx"):
        layer.backward(np.zeros((1, 3, 6, 6)))


def test_bad_softmax_inputs():
    with pytest.raises(ValueError, match="c must have shape"):
        softmax(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="c must have shape"):
        softmax(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="c contains"):
        softmax(np.array([0.0, np.inf]))
    with pytest.raises(TypeError, match="c must be a floating-point"):
        softmax(np.array([1, 2]))
    with pytest.raises(ValueError, match="alpha must have shape"):
        softmax_jacobian(np.ones((2, 2)) / 2)
    with pytest.raises(ValueError, match="dE_dalpha must have shape"):
        softmax_backward(np.ones((2, 3)) / 2, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="kernels"):
        check_kernels("k_ij")


def test_bad_builder_arguments():
    with pytest.raises(ValueError, match="kernels"):
        fast_combine_cnn(kernels="all")
    with pytest.raises(ValueError, match="maps"):
        combine_cnn(maps=6)
    with pytest.raises(ValueError, match="m \\(the block size\\)"):
        fast_combine_cnn(m=0)
    with pytest.raises(ValueError, match="input_size"):
        combine_cnn(input_size=0)
    with pytest.raises(ValueError, match="kernel_size=5"):
        fast_combine_cnn(input_size=12)
    with pytest.raises(ValueError, match="params\\['c4'\\]"):
        fast_combine_cnn(rng=0).params["c4"] = np.zeros((12, 6))
