"""cnnlit.dense and cnnlit.gradcheck outside the book: bad input, the model contract, properties."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlit.checks import as_float_array
from cnnlit.dense import Dense, Network, ScaledTanh, Sigmoid, SquaredError, gradient_step
from cnnlit.gradcheck import check_gradients, numerical_gradient, rel_error


def small_net(seed=0, act="sigmoid"):
    rng = np.random.default_rng(seed)
    return Network([Dense(4, 5, act, rng=rng), Dense(5, 3, act, rng=rng)])


def data(seed=0, N=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 4))
    T = np.eye(3)[rng.integers(0, 3, size=N)]
    return X, T


# --- bad input: each names the argument -------------------------------------------------

@pytest.mark.parametrize(
    "X, exc, words",
    [
        (np.zeros((6, 3)), ValueError, ["X", "(N, 4)", "(6, 3)"]),
        (np.zeros((6, 4, 1)), ValueError, ["X", "(N, 4)"]),
        (np.zeros(4), ValueError, ["X", "(N, 4)"]),
        (np.zeros((6, 4), dtype=np.int64), TypeError, ["X", "floating-point", "int64"]),
        (np.zeros((6, 4), dtype=complex), TypeError, ["X", "floating-point"]),
        (np.array([["a"] * 4] * 6), TypeError, ["X", "floating-point"]),
        (np.full((6, 4), np.nan), ValueError, ["X", "non-finite"]),
        (np.where(np.eye(6, 4) > 0, np.inf, 0.0), ValueError, ["X", "non-finite"]),
    ],
)
def test_bad_inputs_name_the_argument(X, exc, words):
    net = small_net()
    _, T = data()
    for call in (lambda: net.loss(X, T), lambda: net.gradients(X, T), lambda: net.predict(X)):
        with pytest.raises(exc) as err:
            call()
        for w in words:
            assert w in str(err.value), (w, str(err.value))


@pytest.mark.parametrize(
    "T, exc, words",
    [
        (np.zeros((6, 2)), ValueError, ["T", "(6, 3)", "(6, 2)"]),
        (np.zeros((5, 3)), ValueError, ["T", "(6, 3)"]),
        (np.zeros(6), ValueError, ["T"]),
        (np.zeros((6, 3), dtype=np.int32), TypeError, ["T", "floating-point"]),
        (np.full((6, 3), np.nan), ValueError, ["T", "non-finite"]),
    ],
)
def test_bad_targets_name_the_argument(T, exc, words):
    net = small_net()
    X, _ = data()
    for call in (lambda: net.loss(X, T), lambda: net.gradients(X, T)):
        with pytest.raises(exc) as err:
            call()
        for w in words:
            assert w in str(err.value), (w, str(err.value))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n_in"):
        Dense(0, 3)
    with pytest.raises(ValueError, match="n_out"):
        Dense(3, 2.5)
    with pytest.raises(ValueError, match="activation"):
        Dense(3, 2, "relu6")
    with pytest.raises(TypeError, match="dtype"):
        Dense(3, 2, dtype=np.int32)
    with pytest.raises(TypeError, match="rng"):
        Dense(3, 2, rng="seed")
    with pytest.raises(ValueError, match="beta"):
        Sigmoid(beta=-1)
    with pytest.raises(ValueError, match="a must"):
        ScaledTanh(a=np.nan)
    with pytest.raises(ValueError, match=r"layers\[1\].*expects input of shape \(4,\).*produces \(5,\)"):
        Network([Dense(3, 5), Dense(4, 2)])
    with pytest.raises(TypeError, match="not a layer"):
        Network([Dense(3, 5), object()])
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])


def test_backward_before_forward_and_wrong_gradient_shape():
    layer = Dense(3, 2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 2)))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="dE_dx"):
        layer.backward(np.zeros((4, 3)))
    bad = np.zeros((4, 2))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="dE_dx contains 1 non-finite"):
        layer.backward(bad)
    with pytest.raises(TypeError, match="dE_dx must be a floating-point"):
        layer.backward([[1, 2]] * 4)


def test_gradient_step_bad_rates():
    net = small_net()
    g = net.gradients(*data())
    with pytest.raises(ValueError, match="W2.*shape"):
        gradient_step(net.params, g, {"W2": np.ones((2, 2))})
    with pytest.raises(ValueError, match="non-negative"):
        gradient_step(net.params, g, -0.1)
    with pytest.raises(KeyError, match="lacks"):
        gradient_step(net.params, {"W9": np.zeros(1)}, 0.1)


def test_params_reject_unknown_names_and_wrong_shapes():
    net = small_net()
    with pytest.raises(KeyError, match="unknown parameter"):
        net.params["W7"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(5, 4\)"):
        net.params["W2"] = np.zeros((4, 5))


def test_as_float_array_accepts_lists_and_casts():
    a = as_float_array("a", [[1.0, 2.0]], shape=("N", 2), dtype=np.float32)
    assert a.dtype == np.float32 and a.shape == (1, 2)


# --- the model contract ---------------------------------------------------------------

def test_params_are_the_layers_arrays():
    net = small_net()
    assert set(net.params) == {"W2", "b2", "W3", "b3"}
    assert net.params["W2"] is net.layers[0].W
    net.params["b3"] = np.array([1.0, 2.0, 3.0])   # assignment copies into the layer
    assert np.array_equal(net.layers[1].b, [1.0, 2.0, 3.0])
    net.params["W2"] *= 0.0                          # in-place update reaches the layer
    assert not net.layers[0].W.any()


def test_gradients_have_the_keys_and_shapes_of_params_and_are_copies():
    net = small_net()
    X, T = data()
    g = net.gradients(X, T)
    assert {k: v.shape for k, v in g.items()} == {k: v.shape for k, v in net.params.items()}
    g["W2"][...] = 123.0
    assert not np.allclose(net.gradients(X, T)["W2"], 123.0)


def test_loss_is_the_mean_of_per_pattern_errors():
    net = small_net()
    X, T = data(N=7)
    per = [SquaredError().per_pattern(net.predict(X[i:i + 1]), T[i:i + 1])[0] for i in range(7)]
    assert net.loss(X, T) == pytest.approx(np.mean(per), rel=1e-12)


def test_batch_gradient_is_the_mean_of_pattern_gradients():
    net = small_net()
    X, T = data(N=5)
    full = net.gradients(X, T)
    singles = [net.gradients(X[i:i + 1], T[i:i + 1]) for i in range(5)]
    for k in full:
        assert np.allclose(full[k], np.mean([s[k] for s in singles], axis=0), atol=1e-14)


def test_float32_model_runs_in_float32():
    rng = np.random.default_rng(0)
    net = Network([Dense(4, 3, rng=rng, dtype=np.float32)])
    X, T = data()
    assert net.predict(X).dtype == np.float32
    assert all(g.dtype == np.float32 for g in net.gradients(X, T).values())
    with pytest.raises(TypeError, match="float64"):
        check_gradients(net, X, T)


def test_a_gradient_step_lowers_the_loss():
    net = small_net()
    X, T = data(N=20)
    before = net.loss(X, T)
    gradient_step(net.params, net.gradients(X, T), 0.5)
    assert net.loss(X, T) < before


# --- gradcheck --------------------------------------------------------------------------

def test_numerical_gradient_of_a_known_function():
    """h(v) = v^2 sin v. With the default step eps = 1e-4 the error is the truncation term
    eps^2/6 h'''(v) of chapter 1; once that is added, only rounding is left."""
    x = np.array([[0.3, -1.2], [2.0, 0.5]])
    g = numerical_gradient(lambda v: float(np.sum(np.sin(v) * v**2)), x)
    exact = np.cos(x) * x**2 + 2 * x * np.sin(x)
    third = 6 * np.cos(x) - 6 * x * np.sin(x) - x**2 * np.cos(x)
    assert rel_error(g, exact) < 1e-8
    assert rel_error(g, exact + 1e-8 / 6 * third) < 1e-10
    assert np.array_equal(x, [[0.3, -1.2], [2.0, 0.5]])  # restored exactly


def test_rel_error_properties():
    a = np.array([1.0, -2.0, 3.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, -a) == pytest.approx(1.0)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        rel_error(a, a[:2])


def test_check_gradients_catches_a_wrong_gradient():
    net = small_net()
    X, T = data()
    honest = check_gradients(net, X, T)
    assert max(honest.values()) < 1e-7
    # Break backprop the way the paper's equation (5) would: transpose a weight gradient.
    layer = net.layers[1]
    original = layer.backward

    def transposed_backward(dE_dx):
        out = original(dE_dx)
        layer.grads["W"][...] = layer.grads["W"][::-1, ::-1]
        return out

    layer.backward = transposed_backward
    broken = check_gradients(net, X, T)
    assert broken["W3"] > 1e-2 and broken["W2"] < 1e-7


def test_check_gradients_with_sampled_entries_is_reproducible():
    net = small_net()
    X, T = data()
    assert check_gradients(net, X, T, max_entries=5, seed=1) == check_gradients(net, X, T, max_entries=5, seed=1)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    N=st.integers(1, 5),
    act=st.sampled_from(["sigmoid", "tanh", "identity"]),
    seed=st.integers(0, 2**16),
)
def test_backprop_matches_finite_differences_for_any_architecture(sizes, N, act, seed):
    """Entry by entry: within 1e-6 relative, or 1e-9 absolute for a gradient entry that is
    itself near zero (there the central difference's own error is all that is left: with the
    default eps = 1e-4, its truncation term eps^2/6 E''' and a rounding error of about
    1e-16 * loss / eps = 1e-12)."""
    rng = np.random.default_rng(seed)
    net = Network([Dense(a, b, act, rng=rng) for a, b in zip(sizes, sizes[1:], strict=False)])
    for p in net.params.values():
        p += 0.1 * rng.normal(size=p.shape)
    X = rng.normal(size=(N, sizes[0]))
    T = rng.normal(size=(N, sizes[-1]))
    analytic = net.gradients(X, T)
    for name, p in net.params.items():
        numeric = numerical_gradient(lambda _: net.loss(X, T), p)
        np.testing.assert_allclose(analytic[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_the_property_test_tolerance_covers_a_near_zero_gradient():
    """The example that once broke a pure relative-error check: W2's gradient is about 7e-6."""
    test_backprop_matches_finite_differences_for_any_architecture.hypothesis.inner_test(
        sizes=[1, 1, 2, 2], N=5, act="sigmoid", seed=6140
    )
