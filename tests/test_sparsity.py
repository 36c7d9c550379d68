"""cnnlit.sparsity outside the book: the paper's penalty at p = 1, the penalties at corners and centre,
the Penalized model contract, and bad input. The gradient properties (N10, N14, finite differences) are
in tests/test_properties.py."""
import numpy as np
import pytest

from cnnlit.combine import fast_combine_cnn
from cnnlit.fast import fast_toolbox_cnn
from cnnlit.gradcheck import check_gradients
from cnnlit.sparsity import (
    EntropyPenalty,
    L1Penalty,
    LpPenalty,
    Penalized,
    alpha_of,
    check_lam,
    effective_inputs,
    entropy,
)

# --- the paper's penalty ---------------------------------------------------------------------


def test_lp_at_p_one_is_the_paper_penalty():
    c = np.random.default_rng(0).normal(size=(5, 3))
    assert LpPenalty(1.0).value(c) == pytest.approx(L1Penalty().value(c), abs=1e-12)
    assert np.abs(LpPenalty(1.0).grad(c)).max() < 1e-14


def test_penalties_are_extreme_at_corners_and_centre():
    n_in = 6
    uniform = np.zeros((n_in, 2))
    onehot = np.full((n_in, 2), -800.0)
    onehot[0] = 0.0
    assert EntropyPenalty().value(uniform) == pytest.approx(2 * np.log(n_in))
    assert EntropyPenalty().value(onehot) == 0.0
    assert LpPenalty(0.5).value(uniform) == pytest.approx(2 * np.sqrt(n_in))
    assert LpPenalty(0.5).value(onehot) == pytest.approx(2.0)
    for pen in (EntropyPenalty(), LpPenalty(0.5)):
        assert np.abs(pen.grad(uniform)).max() < 1e-15
        assert np.all(np.isfinite(pen.grad(onehot)))


def test_alpha_and_effective_inputs():
    c = np.log(np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]) + 1e-300)
    alpha = alpha_of(c)
    np.testing.assert_allclose(alpha.sum(axis=0), 1.0)
    np.testing.assert_allclose(effective_inputs(alpha), [2.0, 1.0])
    np.testing.assert_allclose(entropy(np.full((4, 1), 0.25)), [np.log(4)])
    np.testing.assert_allclose(alpha_of(np.array([[1000.0], [0.0]])), [[1.0], [0.0]])


# --- the model contract --------------------------------------------------------------------------

def small_net(seed=1):
    net = fast_combine_cnn(input_size=14, maps=(3, 4), kernel_size=3, n_classes=3, rng=seed)
    net.params["c4"] = np.random.default_rng(seed).normal(size=net.params["c4"].shape)
    return net


def small_batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(3, 1, 14, 14)), np.eye(3)[rng.integers(0, 3, size=3)]


@pytest.mark.parametrize("pen", [L1Penalty(), EntropyPenalty(), LpPenalty(0.5)], ids=lambda p: p.name)
def test_penalized_gradient_check(pen):
    net = small_net()
    X, T = small_batch()
    model = Penalized(net, pen, 0.2)
    errors = check_gradients(model, X, T, max_entries=15)
    assert max(errors.values()) < 1e-7, errors


def test_penalized_loss_and_gradients_add_the_penalty():
    net = small_net()
    X, T = small_batch()
    pen = EntropyPenalty()
    model = Penalized(net, pen, 0.3)
    assert model.params is net.params
    assert model.keys == ["c4"]
    assert model.loss(X, T) == pytest.approx(net.loss(X, T) + 0.3 * pen.value(net.params["c4"]), abs=1e-14)
    g, g0 = model.gradients(X, T), net.gradients(X, T)
    assert set(g) == set(g0)
    np.testing.assert_allclose(g["c4"], g0["c4"] + 0.3 * pen.grad(net.params["c4"]), rtol=0, atol=1e-15)
    for k in g0:
        if k != "c4":
            np.testing.assert_array_equal(g[k], g0[k])
    assert model.predict(X).shape == (3, 3)
    assert model.layers is net.layers            # anything else is the model's
    model.lam = 0.0
    assert model.loss(X, T) == net.loss(X, T)
    assert "entropy" in repr(model) and "c4" in repr(model)


def test_l1_penalized_training_equals_unpenalized():
    X, T = small_batch()
    alphas = []
    for lam in (0.0, 50.0):
        net = small_net()
        model = Penalized(net, L1Penalty(), lam)
        for _ in range(5):
            for name, g in model.gradients(X, T).items():
                net.params[name] = net.params[name] - 5.0 * g
        alphas.append(alpha_of(net.params["c4"]))
    assert np.abs(alphas[0] - alphas[1]).max() < 1e-13


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("lam", [-1.0, -1e-12, float("nan"), float("inf"), -float("inf")])
def test_bad_lambda(lam):
    with pytest.raises(ValueError, match="lam"):
        Penalized(small_net(), EntropyPenalty(), lam)
    model = Penalized(small_net(), EntropyPenalty(), 0.1)
    with pytest.raises(ValueError, match="lam"):
        model.lam = lam
    assert model.lam == 0.1


@pytest.mark.parametrize("lam", ["0.1", None, True, np.array([0.1, 0.2])])
def test_lambda_not_a_number(lam):
    with pytest.raises(TypeError, match="lam"):
        check_lam(lam)


def test_lambda_numpy_scalars_accepted():
    assert check_lam(np.float32(0.5)) == 0.5
    assert check_lam(0) == 0.0


def test_model_without_alpha():
    with pytest.raises(ValueError, match="model has no combination weights"):
        Penalized(fast_toolbox_cnn(rng=0), EntropyPenalty(), 0.1)


def test_not_a_model_or_not_a_penalty():
    with pytest.raises(TypeError, match="model"):
        Penalized(object(), EntropyPenalty(), 0.1)
    with pytest.raises(TypeError, match="penalty"):
        Penalized(small_net(), "entropy", 0.1)


@pytest.mark.parametrize("p", [0, -0.5, 1.5, float("nan"), True, "0.5"])
def test_bad_p(p):
    with pytest.raises(ValueError, match="p must"):
        LpPenalty(p)


@pytest.mark.parametrize("c, err", [
    (np.zeros(4), ValueError),                       # one column per output map: 2-D
    (np.zeros((2, 3, 1)), ValueError),
    (np.array([[0.0, np.nan]]), ValueError),
    (np.zeros((2, 2), dtype=int), TypeError),
])
def test_bad_c(c, err):
    for pen in (L1Penalty(), EntropyPenalty(), LpPenalty(0.5)):
        with pytest.raises(err, match="c"):
            pen.value(c)
        with pytest.raises(err, match="c"):
            pen.grad(c)
