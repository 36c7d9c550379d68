"""Numerical stability: the activations, the softmaxes and the cross-entropy take inputs of +-1e4 with no
overflow warning and no NaN, in float64 and float32; the gradient check's relative error is well defined when
both gradients are zero. Every test runs with warnings turned into errors."""
import warnings

import numpy as np
import pytest

from cnnlit.combine import softmax, softmax_backward
from cnnlit.dense import ScaledTanh, Sigmoid, get_activation
from cnnlit.fast import fast_toolbox_cnn
from cnnlit.gradcheck import check_gradients, rel_error
from cnnlit.sparsity import alpha_of, effective_inputs, entropy
from cnnlit.train import SoftmaxCrossEntropy

BIG = 1e4
DTYPES = [np.float64, np.float32]


@pytest.fixture(autouse=True)
def _all_warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):  # also an underflow would raise; none may happen where it matters
            yield


def _extremes(dtype, shape=(4, 6)):
    """+-1e4 mixed with ordinary values, so that both tails and the middle are hit."""
    u = np.linspace(-1.0, 1.0, int(np.prod(shape))).reshape(shape).astype(dtype)
    u[0, :] = BIG
    u[1, :] = -BIG
    u[2, ::2] = BIG
    u[2, 1::2] = -BIG
    return u


def _finite(*arrays):
    for a in arrays:
        assert np.all(np.isfinite(a)), a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta", [1.0, 3.0])
def test_sigmoid_takes_huge_inputs(dtype, beta):
    act = Sigmoid(beta)
    with np.errstate(under="ignore"):
        x = act.f(_extremes(dtype))
        d = act.df(x)
    _finite(x, d)
    assert x.dtype == dtype
    assert np.all(x[0] == 1.0) and np.all(x[1] == 0.0)
    assert np.all((x >= 0) & (x <= 1)) and np.all(d >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_scaled_tanh_takes_huge_inputs(dtype):
    act = ScaledTanh()
    with np.errstate(under="ignore"):
        x = act.f(_extremes(dtype))
        d = act.df(x)
    _finite(x, d)
    assert np.allclose(x[0], act.a) and np.allclose(x[1], -act.a)
    assert get_activation("tanh").f(np.array([BIG, -BIG])).tolist() == pytest.approx([1.7159, -1.7159])


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_in_place_sigmoid_takes_huge_inputs(dtype):
    net = fast_toolbox_cnn(input_size=14, maps=(2, 3), kernel_size=3, n_classes=4, rng=0, dtype=dtype)
    for p in net.params.values():
        p[...] = np.where(np.arange(p.size).reshape(p.shape) % 2, BIG, -BIG).astype(dtype)
    X = np.full((3, 1, 14, 14), 1.0, dtype=dtype)
    with np.errstate(under="ignore", over="raise", invalid="raise"):
        y = net.forward(X)
    _finite(y)
    assert np.all((y >= 0) & (y <= 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_over_maps_takes_huge_inputs(dtype):
    c = _extremes(dtype)
    with np.errstate(under="ignore"):
        a = softmax(c)
        a1 = alpha_of(c)
        g = softmax_backward(a, np.ones_like(a))
        h = entropy(a1)
        e = effective_inputs(a1)
    _finite(a, a1, g, h, e)
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(a1.sum(axis=0), 1.0, rtol=1e-6)
    assert np.all(a >= 0) and np.all(h >= -1e-6)
    with np.errstate(under="ignore"):
        one = softmax(np.array([BIG, -BIG, 0.0]))
    assert one.tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_takes_huge_inputs(dtype):
    loss = SoftmaxCrossEntropy()
    u = _extremes(dtype, (6, 4))  # N = 6 patterns, c = 4 classes
    T = np.eye(4, dtype=dtype)[[0, 1, 2, 3, 0, 1]]
    with np.errstate(under="ignore"):
        p = loss.prob(u)
        E = loss.per_pattern(u, T)
        g = loss.grad(u, T)
        k = loss.curvature(u, T)
    _finite(p, E, g, k)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(E >= 0)
    # The right class at +1e4, the others at -1e4: no loss; the right one at -1e4: a loss of about 2e4.
    with np.errstate(under="ignore"):
        E2 = loss.per_pattern(np.array([[BIG, -BIG], [-BIG, BIG]]), np.array([[1.0, 0.0], [1.0, 0.0]]))
    assert E2[0] == 0.0 and E2[1] == pytest.approx(2 * BIG)


def test_rel_error_of_two_zero_gradients_is_zero():
    z = np.zeros((3, 4))
    assert rel_error(z, z) == 0.0
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0
    assert rel_error(z, np.full((3, 4), 1e-3)) == 1.0


class _FlatModel:
    """A model whose loss does not depend on its parameters: both gradients are exactly zero."""

    def __init__(self):
        self.params = {"w": np.arange(6.0).reshape(2, 3)}

    def loss(self, X, T):
        return 1.5

    def gradients(self, X, T):
        return {"w": np.zeros((2, 3))}


def test_check_gradients_with_both_gradients_zero():
    X, T = np.zeros((2, 3)), np.zeros((2, 1))  # one batch of two patterns; the model ignores them
    errors = check_gradients(_FlatModel(), X, T)
    assert errors == {"w": 0.0}


def test_the_suite_turns_the_package_warnings_into_errors():
    import tomllib
    from pathlib import Path

    ini = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    filters = ini["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert "error:::cnnlit" in filters and "error::RuntimeWarning" in filters, filters
