"""cnnlit.train outside the book: the loop, the rates, SDLM's curvature pass, cross-entropy, model files, bad input."""
import numpy as np
import pytest

from cnnlit.conv import Conv
from cnnlit.data import one_hot
from cnnlit.dense import Dense, Network
from cnnlit.fast import FastConv, FastDense, FastNetwork, FastSubsample, fast_paper_cnn, fast_toolbox_cnn
from cnnlit.gradcheck import check_gradients, numerical_gradient, rel_error
from cnnlit.subsample import Flatten, Subsample, paper_cnn
from cnnlit.train import (
    SDLM,
    SGD,
    SoftmaxCrossEntropy,
    curvatures,
    layer_rates,
    load_params,
    save_params,
    softmax_cnn,
    train,
)


def small_net(rng=0, dtype=np.float64):
    return fast_paper_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=rng, dtype=dtype)


def data(n=12, c=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 1, 14, 14)).astype(dtype), one_hot(rng.integers(0, c, size=n), c).astype(dtype)


def second_diff(model, X, T, eps=1e-4):
    out = {}
    E0 = model.loss(X, T)
    for name, p in model.params.items():
        h, flat = np.zeros(p.shape), p.reshape(-1)
        for i in range(p.size):
            s = flat[i]
            flat[i] = s + eps
            ep = model.loss(X, T)
            flat[i] = s - eps
            em = model.loss(X, T)
            flat[i] = s
            h.reshape(-1)[i] = (ep - 2 * E0 + em) / eps**2
        out[name] = h
    return out


# -- the loop -----------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [1, 5, 12])
def test_history_counts_steps_and_evaluations(batch_size):
    X, T = data()
    net = small_net()
    h = train(net, X, T, epochs=2, batch_size=batch_size, eta=0.1, progress=False, per_step=True)
    steps = 2 * -(-12 // batch_size)
    assert h["step"][-1] == steps and h["evaluations"][-1] == 24 and h["epoch"][-1] == 2
    assert len(h["step_loss"]) == steps and len(h["loss"]) == 3
    assert np.all((h["error"] >= 0) & (h["error"] <= 1))


def test_seeded_runs_are_identical_and_seeds_differ():
    X, T = data()
    runs = []
    for seed in (3, 3, 4):
        net = small_net()
        train(net, X, T, epochs=2, batch_size=4, eta=0.5, rng=seed, progress=False)
        runs.append(net.params["W6"].copy())
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_full_batch_step_is_one_gradient_step():
    X, T = data()
    a, b = small_net(), small_net()
    g = b.gradients(X, T)
    train(a, X, T, epochs=1, batch_size=len(X), eta=0.3, progress=False)
    for k in g:
        assert np.allclose(a.params[k], b.params[k] - 0.3 * g[k])


def test_per_weight_rates_and_layer_rates():
    X, T = data()
    net = small_net()
    rates = layer_rates(net, {2: 1e-3, 3: 0.1, 4: 0.1, 5: 0.1, 6: 0.2})
    assert rates["k2"] == 1e-3 and rates["W6"] == 0.2 and set(rates) == set(net.params)
    eta = dict(rates, W6=np.zeros_like(net.params["W6"]))            # freeze W6 entry by entry
    before = net.params["W6"].copy()
    train(net, X, T, epochs=1, batch_size=4, optimizer=SGD(eta), progress=False)
    assert np.array_equal(net.params["W6"], before)
    with pytest.raises(KeyError, match="no rate for layer 2"):
        layer_rates(net, {4: 0.1, 6: 0.1})


def test_progress_bar_is_optional():
    X, T = data()
    try:
        import tqdm  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="tqdm"):
            train(small_net(), X, T, eta=0.1, batch_size=4, progress=True)
    else:
        train(small_net(), X, T, eta=0.1, batch_size=4, progress=True)
    train(small_net(), X, T, eta=0.1, batch_size=4, progress=None)    # never fails


def test_monitor_and_callback():
    X, T = data()
    calls = []
    h = train(small_net(), X, T, epochs=1, batch_size=2, eta=0.1, monitor=data(5, seed=1), record_every=2,
              progress=False, callback=lambda step, model: calls.append(step))
    assert list(h["step"]) == calls == [0, 2, 4, 6]


def test_float32_training():
    X, T = data(dtype=np.float32)
    net = small_net(dtype=np.float32)
    h = train(net, X, T, epochs=1, batch_size=4, optimizer=SDLM(0.01, 1e-3), progress=False)
    assert net.params["k2"].dtype == np.float32 and np.all(np.isfinite(h["loss"]))


# -- SDLM: the curvature pass ---------------------------------------------------------------------

def one_path(fast, rng):
    Sub, Cv, Dn, Net = (FastSubsample, FastConv, FastDense, FastNetwork) if fast else (Subsample, Conv, Dense, Network)
    net = Net([Sub((3, 4, 4), 2, None, False), Sub((3, 2, 2), 2, "sigmoid", True),
               Cv((3, 1, 1), 2, 1, "tanh", connections=np.array([[1, 0], [1, 0], [0, 1]], bool), rng=rng),
               Flatten((2, 1, 1)), Dn(2, 1, "sigmoid", rng=rng)])
    for p in net.params.values():
        p += 0.3 * rng.normal(size=p.shape) * (p != 0 if p.ndim == 4 else 1)
    return net


@pytest.mark.parametrize("fast", [True, False])
def test_curvature_is_exact_on_a_one_path_network_at_zero_residual(fast):
    rng = np.random.default_rng(5)
    net = one_path(fast, rng)
    X = rng.uniform(-1, 1, size=(4, 3, 4, 4))
    T = net.predict(X).copy()
    h, H = curvatures(net, X, T), second_diff(net, X, T)
    for k in h:
        assert rel_error(h[k], H[k]) < 1e-6, k


def test_curvature_of_the_output_layer_is_exact_and_fast_equals_faithful():
    rng = np.random.default_rng(2)
    X = rng.uniform(size=(3, 1, 14, 14))
    f = fast_paper_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=9)
    s = paper_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=9)
    T = f.predict(X).copy()
    hf, hs = curvatures(f, X, T), curvatures(s, X, T)
    for k in hf:
        assert np.allclose(hf[k], hs[k], rtol=1e-10, atol=1e-18), k
        assert np.all(hf[k] >= 0)
    H = second_diff(f, X, T)
    assert rel_error(hf["W6"], H["W6"]) < 1e-6 and rel_error(hf["b6"], H["b6"]) < 1e-6


def test_curvature_with_cross_entropy_output():
    net = softmax_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=1)
    X, T = data(4, seed=3)
    h = curvatures(net, X, T)
    x5 = net.layers[-1].x_prev                       # kept by the forward pass of curvatures
    p = net.loss_fn.prob(net.layers[-1].x)
    assert np.allclose(h["W6"], (p * (1 - p)).T @ x5**2 / len(X))


def test_sdlm_rates_are_bounded_by_eta_over_mu():
    X, T = data()
    opt = SDLM(0.05, mu=0.1)
    train(small_net(), X, T, epochs=1, batch_size=4, optimizer=opt, progress=False)
    assert all(np.all((r > 0) & (r <= 0.5 + 1e-12)) for r in opt.rates().values())


def test_sdlm_refuses_a_layer_it_cannot_handle():
    class Strange:
        params, grads = {}, {}
        in_shape = out_shape = (4,)

        def forward(self, x):
            return x

        def backward(self, d):
            return d

    net = Network([Dense(3, 4, rng=0), Strange(), Dense(4, 2, rng=0)])
    X, T = np.ones((2, 3)), one_hot([0, 1], 2)
    with pytest.raises(TypeError, match="Strange"):
        train(net, X, T, batch_size=2, optimizer=SDLM(0.1), progress=False)
    with pytest.raises(TypeError, match="Strange"):
        curvatures(net, X, T)


# -- cross-entropy ----------------------------------------------------------------------------------

def test_cross_entropy_delta_and_gradients():
    ce = SoftmaxCrossEntropy()
    rng = np.random.default_rng(0)
    u, t = 30 * rng.normal(size=(5, 6)), one_hot(rng.integers(0, 6, size=5), 6)
    assert np.allclose(ce.prob(u).sum(axis=1), 1) and np.all(np.isfinite(ce.per_pattern(u, t)))
    u = rng.normal(size=(5, 6))
    num = numerical_gradient(lambda v: ce.per_pattern(v, t).sum(), u)
    assert rel_error(ce.grad(u, t), num) < 1e-8
    net = softmax_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=2)
    for p in net.params.values():
        p += 0.2 * rng.normal(size=p.shape)
    X, T = data(3, seed=4)
    assert max(check_gradients(net, X, T).values()) < 1e-7


# -- model files --------------------------------------------------------------------------------------

def test_save_and_load_round_trip(tmp_path):
    net, other = small_net(rng=0), small_net(rng=1)
    save_params(net, tmp_path / "m.npz")
    load_params(other, tmp_path / "m.npz")
    assert all(np.array_equal(net.params[k], other.params[k]) for k in net.params)


def test_load_refuses_another_architecture_shape_and_dtype(tmp_path):
    net = small_net()
    save_params(net, tmp_path / "m.npz")
    toolbox = fast_toolbox_cnn(input_size=14, kernel_size=3, maps=(2, 3), n_classes=4, rng=0)
    before = {k: v.copy() for k, v in toolbox.params.items()}
    with pytest.raises(ValueError, match=r"unexpected \['b3', 'b5', 'beta3', 'beta5'\]"):
        load_params(toolbox, tmp_path / "m.npz")
    assert all(np.array_equal(before[k], toolbox.params[k]) for k in before)
    with pytest.raises(ValueError, match=r"'k4' has shape \(2, 5, 3, 3\) in the file but \(2, 3, 3, 3\)"):
        load_params(small_net(), _with(tmp_path, net, k4=np.zeros((2, 5, 3, 3))))
    with pytest.raises(ValueError, match="'W6' has dtype float32 in the file but float64"):
        load_params(small_net(), _with(tmp_path, net, W6=net.params["W6"].astype(np.float32)))
    with pytest.raises(ValueError, match=r"missing \['W6'\]"):
        load_params(small_net(), _with(tmp_path, net, W6=None))


def _with(tmp_path, net, **changes):
    arrays = {k: v for k, v in net.params.items()}
    for k, v in changes.items():
        if v is None:
            del arrays[k]
        else:
            arrays[k] = v
    path = tmp_path / "changed.npz"
    np.savez(path, **arrays)
    return path


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, W6=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle|Object arrays"):
        load_params(small_net(), path)


# -- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size, message", [
    (13, "larger than the data set"), (0, "positive integer"), (-2, "positive integer"),
    (2.5, "positive integer"), (True, "positive integer"), ("4", "positive integer")])
def test_bad_batch_size(batch_size, message):
    X, T = data()
    with pytest.raises(ValueError, match=message):
        train(small_net(), X, T, batch_size=batch_size, eta=0.1, progress=False)


@pytest.mark.parametrize("eta", [-0.1, 0.0, np.nan, np.inf])
def test_bad_rate(eta):
    X, T = data()
    with pytest.raises(ValueError, match="learning rate eta must be a positive finite number"):
        train(small_net(), X, T, batch_size=4, eta=eta, progress=False)
    with pytest.raises(ValueError, match="positive finite"):
        SDLM(eta)


def test_bad_per_weight_rates():
    net = small_net()
    X, T = data()
    rates = layer_rates(net, {2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1, 6: 0.1})
    for name, bad, message in (("W6", -np.ones_like(net.params["W6"]), "finite and non-negative"),
                               ("W6", np.ones(3), "array of shape"),
                               ("k2", float("nan"), "positive finite")):
        with pytest.raises(ValueError, match=message):
            train(net, X, T, batch_size=4, optimizer=SGD(dict(rates, **{name: bad})), progress=False)
    with pytest.raises(KeyError, match="missing"):
        train(net, X, T, batch_size=4, eta={"W6": 0.1}, progress=False)
    with pytest.raises(KeyError, match="unknown"):
        train(net, X, T, batch_size=4, eta=dict(rates, W9=0.1), progress=False)


def test_targets_must_match_the_outputs():
    X, T = data()
    with pytest.raises(ValueError, match=r"T has 5 columns but the model has 4 outputs"):
        train(small_net(), X, one_hot(np.zeros(12, int), 5), batch_size=4, eta=0.1, progress=False)
    with pytest.raises(ValueError, match=r"N = 12"):
        train(small_net(), X, T[:10], batch_size=4, eta=0.1, progress=False)
    with pytest.raises(ValueError, match="T must"):
        train(small_net(), X, T[:, 0], batch_size=4, eta=0.1, progress=False)
    with pytest.raises(ValueError, match="finite|NaN|nan"):
        train(small_net(), X, np.full_like(T, np.nan), batch_size=4, eta=0.1, progress=False)


def test_empty_data_set():
    X, T = data()
    with pytest.raises(ValueError, match="empty"):
        train(small_net(), X[:0], T[:0], batch_size=1, eta=0.1, progress=False)


def test_eta_or_optimizer_and_other_arguments():
    X, T = data()
    with pytest.raises(ValueError, match="either eta"):
        train(small_net(), X, T, batch_size=4, progress=False)
    with pytest.raises(ValueError, match="either eta"):
        train(small_net(), X, T, batch_size=4, eta=0.1, optimizer=SGD(0.1), progress=False)
    with pytest.raises(TypeError, match="optimizer must have"):
        train(small_net(), X, T, batch_size=4, optimizer=object(), progress=False)
    with pytest.raises(ValueError, match="epochs"):
        train(small_net(), X, T, batch_size=4, eta=0.1, epochs=0, progress=False)
    with pytest.raises(ValueError, match="record_every"):
        train(small_net(), X, T, batch_size=4, eta=0.1, record_every=0, progress=False)
    with pytest.raises(ValueError, match="X must have shape"):
        train(small_net(), X[:, :, :10], T, batch_size=4, eta=0.1, progress=False)
    with pytest.raises(ValueError, match="gamma"):
        SDLM(0.1, gamma=0)
    with pytest.raises(TypeError, match="callback"):
        train(small_net(), X, T, batch_size=4, eta=0.1, callback=3, progress=False)
    with pytest.raises(TypeError, match="monitor"):
        train(small_net(), X, T, batch_size=4, eta=0.1, monitor=X, progress=False)
    with pytest.raises(ValueError, match="T has 5 columns"):
        train(small_net(), X, T, batch_size=4, eta=0.1, monitor=(X, one_hot(np.zeros(12, int), 5)), progress=False)
