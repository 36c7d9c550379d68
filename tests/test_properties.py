"""Property-based tests (hypothesis) for every layer and every gradient of cnnlit (issue 14).

Sizes, map counts, connection tables, kernel sizes, block sizes m, dtypes, parameter values and a
seed are drawn by hypothesis; the arrays are then built with numpy.random.default_rng(seed), so
that a failing example is a handful of small integers. The properties:

- finite differences (U4.4a) agree with every backward pass, for the parameters and for the input
  sensitivity dE/dx_prev, layer by layer and for every model builder and loss;
- the fast layers and networks (chapters 4, 5) equal the equation-faithful ones, forward and
  backward, to 1e-12 in float64 (and to float32 rounding in float32);
- the identities the book proves: conv2 and correlation with rot180 (chapter 2), the adjointness
  of down and up, of im2col and col2im, the softmax's columns, its Jacobian N8 and N9/N10;
- numerical stability at inputs of magnitude up to 1e4, and determinism of one seed.

The example counts are in units of the "ci" profile (tests/conftest.py); another profile
(HYPOTHESIS_PROFILE=dev) scales them all.
"""
import copy
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, settings
from hypothesis import strategies as st
from tolerances import F32_TOL, F64_TOL, close

from cnnlit.combine import (
    Combine,
    FastCombine,
    combine_cnn,
    fast_combine_cnn,
    softmax,
    softmax_backward,
    softmax_jacobian,
)
from cnnlit.conv import Conv, conv2, lenet5_c3_table, rot180
from cnnlit.data import one_hot
from cnnlit.dense import Dense, Network, ScaledTanh, Sigmoid, SquaredError, gradient_step
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
from cnnlit.gradcheck import check_gradients, numerical_gradient, rel_error
from cnnlit.sparsity import EntropyPenalty, L1Penalty, LpPenalty, Penalized, alpha_of
from cnnlit.subsample import Flatten, Subsample, down, paper_cnn, toolbox_cnn, up
from cnnlit.train import SoftmaxCrossEntropy, curvatures, load_params, save_params, softmax_cnn

# --- tolerances ------------------------------------------------------------------------------

FD_REL = 1e-7     # the book's criterion (§4.4): relative error of a finite-difference check
FD_ABS = 1e-9     # ... or, for a gradient that is itself near zero, the central difference's own error
FD_ENTRIES = 10   # entries per array checked by finite differences (drawn at random)

_CI_EXAMPLES = 20   # max_examples of the "ci" profile, the unit of the counts below


def examples(n):
    """@settings with n examples under the ci profile, scaled by the loaded profile's max_examples."""
    return settings(max_examples=max(1, round(n * settings().max_examples / _CI_EXAMPLES)))


SEEDS = st.integers(0, 2**32 - 1)
ACTS = st.one_of(   # by name, or with other parameter values (Sigmoid's beta, ScaledTanh's a and b)
    st.sampled_from(["sigmoid", "tanh", "identity"]),
    st.builds(Sigmoid, st.sampled_from([0.5, 2.0])),
    st.builds(ScaledTanh, st.sampled_from([1.0, 1.7159]), st.sampled_from([0.5, 1.5])),
)
DTYPES = st.sampled_from([np.float64, np.float32])


def same_start(fast, slow, name):
    """One seed gives the same initial parameter: bit for bit in float64; in float32 up to the
    rounding of a product (FastCombine scales its float32 draws by C_in after the cast)."""
    if fast.dtype == np.float64:
        assert np.array_equal(fast, slow), name
    else:
        np.testing.assert_allclose(fast, slow, rtol=2 * np.finfo(np.float32).eps, atol=0, err_msg=name)


def fd_error(analytic, numeric):
    """(relative error, max absolute difference) of two gradients, in float64."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return rel_error(analytic, numeric), float(np.abs(analytic - numeric).max(initial=0.0))


def assert_fd(analytic, numeric, what):
    """The book's check: rel_error < 1e-7, or max |difference| < 1e-9 where the gradient is tiny
    (there the central difference's truncation error, eps^2/6 E''' ~ 1e-9, is all that is left)."""
    err, diff = fd_error(analytic, numeric)
    assert err < FD_REL or diff < FD_ABS, f"{what}: rel. error {err:.1e}, max abs. difference {diff:.1e}"


def sample(rng, size, k=FD_ENTRIES):
    """Up to k distinct flat indices of an array of ``size`` entries, sorted."""
    return np.sort(rng.choice(size, size=min(k, size), replace=False))


def fd_agree(E, a, analytic, idx, what, first=None):
    """Central differences (U4.4a) of the scalar E() with respect to the entries idx of the array a
    agree with ``analytic`` (the whole gradient, shaped like a) by assert_fd, at the default eps = 1e-4.

    Where E''' is large (a sum over an m x m block of 16 pixels, a deep chain of steep sigmoids), the
    truncation error eps^2/6 E''' alone can exceed 1e-7 relative; such a check is repeated with
    eps = 1e-5 and then 1e-6, each of which divides that error by 100 (while the rounding error,
    1e-16 E / eps, stays below 1e-9). A wrong gradient does not get closer with a smaller step.
    ``first``, if given, is the relative error that the check at eps = 1e-4 must reproduce (the one
    check_gradients reported for the same entries)."""
    a_idx = np.asarray(analytic).reshape(-1)[idx]
    errors = []
    for eps in (1e-4, 1e-5, 1e-6):
        numeric = numerical_gradient(lambda _: E(), a, eps=eps, indices=idx).reshape(-1)[idx]
        err, diff = fd_error(a_idx, numeric)
        if first is not None and eps == 1e-4:
            assert abs(err - first) <= 1e-6 * first, f"{what}: not the entries check_gradients checked"
        if err < FD_REL or diff < FD_ABS:
            return
        errors.append(f"{err:.1e} (eps {eps:.0e})")
    raise AssertionError(f"{what}: rel. errors {', '.join(errors)}; max abs. difference {diff:.1e}")


def fd_check_array(E, a, analytic, rng, what):
    """fd_agree on up to FD_ENTRIES entries of a, drawn with rng."""
    fd_agree(E, a, analytic, sample(rng, a.size), what)


# --- strategies: layers ----------------------------------------------------------------------

@st.composite
def tables(draw, C, J):
    """A random connection table (C, J) in which every output map j has at least one input map."""
    table = np.array(draw(st.lists(st.booleans(), min_size=C * J, max_size=C * J)), dtype=bool).reshape(C, J)
    for j in range(J):
        if not table[:, j].any():
            table[draw(st.integers(0, C - 1)), j] = True
    return table


@st.composite
def conv_configs(draw):
    """Conv/FastConv arguments: maps, a table (random, full connection, or LeNet-5's C3), kernels R x S."""
    which = draw(st.sampled_from(["random", "full", "lenet5"]))
    if which == "lenet5":
        C, J, table = 6, 16, lenet5_c3_table()
    else:
        C, J = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        table = draw(tables(C, J)) if which == "random" else None
    R, S = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    small = which == "lenet5"
    H, W = draw(st.integers(R, R + (1 if small else 4))), draw(st.integers(S, S + (1 if small else 4)))
    return dict(in_shape=(C, H, W), n_out=J, kernel_size=(R, S), activation=draw(ACTS), connections=table)


@st.composite
def combine_configs(draw):
    R, S = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return dict(in_shape=(draw(st.integers(1, 4)), draw(st.integers(R, R + 3)), draw(st.integers(S, S + 3))),
                n_out=draw(st.integers(1, 4)), kernel_size=(R, S), activation=draw(ACTS),
                kernels=draw(st.sampled_from(["pair", "shared"])))


@st.composite
def subsample_configs(draw):
    m = draw(st.integers(1, 4))
    trainable = draw(st.booleans())
    act = draw(st.sampled_from([None, "sigmoid", "tanh", "identity"]))
    shape = (draw(st.integers(1, 4)), m * draw(st.integers(1, 3)), m * draw(st.integers(1, 3)))
    return dict(in_shape=shape, m=m, activation=act, trainable=trainable)


@st.composite
def dense_configs(draw):
    return dict(n_in=draw(st.integers(1, 12)), n_out=draw(st.integers(1, 8)), activation=draw(ACTS))


@st.composite
def flatten_configs(draw):
    return dict(in_shape=(draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))))


LAYERS = {   # class, strategy of its arguments, whether it takes rng=
    "Conv": (Conv, conv_configs, True),
    "FastConv": (FastConv, conv_configs, True),
    "Subsample": (Subsample, subsample_configs, False),
    "FastSubsample": (FastSubsample, subsample_configs, False),
    "Dense": (Dense, dense_configs, True),
    "FastDense": (FastDense, dense_configs, True),
    "Combine": (Combine, combine_configs, True),
    "FastCombine": (FastCombine, combine_configs, True),
    "Flatten": (Flatten, flatten_configs, None),
}
PAIRS = [("Conv", "FastConv"), ("Subsample", "FastSubsample"), ("Dense", "FastDense"), ("Combine", "FastCombine")]


def build_layer(kind, cfg, seed, dtype=np.float64):
    cls, _, takes_rng = LAYERS[kind]
    if takes_rng is None:
        return cls(**cfg)
    return cls(**cfg, dtype=dtype, **({"rng": seed} if takes_rng else {}))


def random_params(layer, rng, scale):
    """New values for every parameter (kernel slots of unconnected pairs stay zero)."""
    new = {}
    for name, p in layer.params.items():
        v = p.astype(np.float64) + scale * rng.normal(size=p.shape)
        if name == "k" and hasattr(layer, "connections"):
            v[~layer.connections] = 0.0
        new[name] = v
    return new


def set_params(layer, values):
    for name, v in values.items():
        layer.params[name][...] = v


def in_shape_of(layer):
    return (layer.n_in,) if isinstance(layer, Dense) else tuple(layer.in_shape)


def out_shape_of(layer):
    return (layer.n_out,) if isinstance(layer, Dense) else tuple(layer.out_shape)


# --- 1. finite differences, layer by layer ---------------------------------------------------

@pytest.mark.parametrize("kind", list(LAYERS))
@examples(16)
@given(data=st.data())
def test_layer_backward_matches_finite_differences(kind, data):
    """Every layer's backward (N3-N5, U3.1d/e, U3.2c/e, U3.3d, N10; dE/dx_prev by eq-dx-prev, U3.1b)
    against central differences (U4.4a) of E = <G, forward(x)>, float64, with random parameters."""
    cfg = data.draw(LAYERS[kind][1](), label="config")
    seed = data.draw(SEEDS, label="seed")
    N = data.draw(st.integers(1, 3), label="N")
    scale = data.draw(st.sampled_from([0.1, 0.5, 1.0]), label="parameter scale")
    rng = np.random.default_rng(seed)
    layer = build_layer(kind, cfg, seed)
    set_params(layer, random_params(layer, rng, scale))
    x = rng.normal(size=(N,) + in_shape_of(layer))
    G = rng.normal(size=(N,) + out_shape_of(layer))

    def E():
        return float(np.sum(G * layer.forward(x)))

    E()
    dx = layer.backward(G).copy()
    grads = {name: g.copy() for name, g in layer.grads.items()}
    assert dx.shape == x.shape
    fd_check_array(E, x, dx, rng, f"{kind} dE/dx_prev")
    for name, p in layer.params.items():
        assert grads[name].shape == p.shape
        fd_check_array(E, p, grads[name], rng, f"{kind} dE/d{name}")
    if "k" in layer.params and hasattr(layer, "connections"):
        assert not grads["k"][~layer.connections].any()   # unconnected slots are not parameters


# --- 2. finite differences, whole models -------------------------------------------------------

@st.composite
def two_stage_sizes(draw):
    """Sizes of a conv - sub-sampling - conv - sub-sampling - dense network that divide evenly."""
    m = draw(st.integers(1, 3))
    R = draw(st.integers(1, 3))
    s2 = draw(st.integers(1, 2))                 # the second pooled map size
    input_size = (s2 * m + R - 1) * m + R - 1
    maps = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return dict(input_size=input_size, kernel_size=R, m=m, maps=maps, n_classes=draw(st.integers(2, 4)))


@st.composite
def paper_options(draw, maps, input_size):
    """paper_cnn's activation and second-layer table: full connection, random, or LeNet-5's C3 (6 -> 16
    maps; on inputs up to 6 x 6, to keep the faithful network quick)."""
    which = draw(st.sampled_from(["full", "random", "lenet5"] if input_size <= 6 else ["full", "random"]))
    options = {"activation": draw(ACTS)}
    if which == "random":
        options["connections"] = draw(tables(*maps))
    elif which == "lenet5":
        options.update(maps=(6, 16), connections=lenet5_c3_table())
    return options


def dense_network(fast, sizes, acts, loss, rng, dtype=np.float64):
    layer = FastDense if fast else Dense
    net = FastNetwork if fast else Network
    return net([layer(a, b, f, rng=rng, dtype=dtype) for a, b, f in zip(sizes, sizes[1:], acts, strict=False)], loss=loss)


class Recipe:
    """A model builder with its drawn arguments: calling it builds a fresh model, the same every time."""

    def __init__(self, what, build):
        self.what, self.build = what, build

    def __call__(self):
        return self.build()

    def __repr__(self):
        return self.what


@st.composite
def models(draw, name, dtype=np.float64):
    """(build, input shape, n_classes) for one of the MODELS, with its sizes and seed drawn; build()
    makes a fresh model from those draws, the same each time it is called."""
    seed = draw(SEEDS)
    if name in ("Network", "FastNetwork"):
        sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
        sizes[-1] = max(sizes[-1], 2)
        acts = draw(st.lists(ACTS, min_size=len(sizes) - 1, max_size=len(sizes) - 1))
        loss = draw(st.sampled_from([SquaredError(), SoftmaxCrossEntropy()]))
        fast = name == "FastNetwork"
        return (Recipe(f"{name}(sizes={sizes}, acts={acts}, loss={loss!r}, seed={seed})",
                       lambda: dense_network(fast, sizes, acts, loss, np.random.default_rng(seed), dtype)),
                (sizes[0],), sizes[-1])
    kw = draw(two_stage_sizes())
    shape, c = (1, kw["input_size"], kw["input_size"]), kw["n_classes"]
    if name in ("paper_cnn", "fast_paper_cnn"):
        kw.update(draw(paper_options(kw["maps"], kw["input_size"])))
    if name in ("combine_cnn", "fast_combine_cnn", "Penalized"):
        kw["kernels"] = draw(st.sampled_from(["pair", "shared"]))
    if name == "Penalized":
        builder = draw(st.sampled_from([combine_cnn, fast_combine_cnn]))
        penalty = draw(st.sampled_from([EntropyPenalty(), LpPenalty(0.5), LpPenalty(1.0)]))
        lam = draw(st.sampled_from([0.0, 0.1, 1.0]))
        return (Recipe(f"Penalized({builder.__name__}(**{kw}, rng={seed}), {penalty.name}, lam={lam})",
                       lambda: Penalized(builder(**kw, rng=seed, dtype=dtype), penalty, lam)), shape, c)
    return Recipe(f"{name}(**{kw}, rng={seed})", lambda: MODELS[name](**kw, rng=seed, dtype=dtype)), shape, c


MODELS = {
    "Network": None, "FastNetwork": None,
    "toolbox_cnn": toolbox_cnn, "fast_toolbox_cnn": fast_toolbox_cnn,
    "paper_cnn": paper_cnn, "fast_paper_cnn": fast_paper_cnn,
    "combine_cnn": combine_cnn, "fast_combine_cnn": fast_combine_cnn,
    "softmax_cnn": softmax_cnn, "Penalized": None,
}


def perturb_model(model, rng, scale):
    """Move every parameter away from its start (unconnected kernel slots stay zero)."""
    for name, p in model.params.items():
        new = p + scale * rng.normal(size=p.shape)
        if name.startswith("k"):
            new[p == 0.0] = 0.0
        p[...] = new


def data_for(shape, c, N, rng, dtype=np.float64):
    X = rng.uniform(-1.0, 1.0, size=(N,) + shape).astype(dtype)
    T = one_hot(rng.integers(0, c, size=N), c, dtype=dtype)
    return X, T


@pytest.mark.parametrize("name", list(MODELS))
@examples(12)
@given(data=st.data())
def test_model_gradients_match_finite_differences(name, data):
    """The model contract: gradients(X, T) is the gradient of loss(X, T), the mean of E^n (N1) or of
    E~^n (N11, U3.3e), for every builder and both errors (N1; §4.3's cross-entropy), checked by
    check_gradients (U4.4a) on random entries; and backward's input sensitivity by finite differences."""
    build, shape, c = data.draw(models(name), label="model")
    model = build()
    seed = data.draw(SEEDS, label="seed")
    N = data.draw(st.integers(1, 3), label="N")
    scale = data.draw(st.sampled_from([0.1, 0.5]), label="parameter scale")
    rng = np.random.default_rng(seed)
    perturb_model(model, rng, scale)
    X, T = data_for(shape, c, N, rng)
    errors = check_gradients(model, X, T, max_entries=FD_ENTRIES, seed=seed % 2**16)
    assert list(errors) == list(model.params)
    analytic = model.gradients(X, T)
    pick = np.random.default_rng(seed % 2**16)   # the entries check_gradients drew, in its order
    for pname, p in model.params.items():
        idx = np.sort(pick.choice(p.size, size=FD_ENTRIES, replace=False)) if p.size > FD_ENTRIES else np.arange(p.size)
        if errors[pname] >= FD_REL:   # a near-zero gradient, or a large third derivative: fd_agree's fallbacks
            fd_agree(lambda: model.loss(X, T), p, analytic[pname], idx, f"{name} {pname}", first=errors[pname])
    net = model.model if isinstance(model, Penalized) else model
    y = net.forward(X)
    dX = net.backward(net.loss_fn.grad(y, T) / N)
    fd_check_array(lambda: model.loss(X, T), X, dX, rng, f"{name} dE/dX")


@examples(25)
@given(N=st.integers(1, 4), c=st.integers(1, 6), scale=st.sampled_from([0.3, 3.0]), onehot=st.booleans(), seed=SEEDS)
def test_error_gradients_and_curvature(N, c, scale, onehot, seed):
    """The errors' own derivatives, by central differences (U4.4a): SquaredError, E^n = 1/2 ||t - y||^2 (N1),
    dE^n/dy = y - t; SoftmaxCrossEntropy (§4.3), dE^n/du = p sum_k t_k - t (= p - t, delta^L, for one-of-c t),
    with curvature p (1 - p) sum_k t_k, the exact diagonal of d2E^n/du^2 (second differences)."""
    rng = np.random.default_rng(seed)
    u = scale * rng.normal(size=(N, c))
    t = one_hot(rng.integers(0, c, size=N), c) if onehot else rng.uniform(0.0, 1.0, size=(N, c))
    t /= t.sum(axis=1, keepdims=True)   # the cross-entropy's targets are distributions (issue 20)
    for loss in (SquaredError(), SoftmaxCrossEntropy()):
        E = lambda v, loss=loss: float(np.sum(loss.per_pattern(v, t)))  # noqa: E731
        assert_fd(loss.grad(u, t), numerical_gradient(E, u.copy()), f"{loss!r}.grad")
    ce = SoftmaxCrossEntropy()
    if onehot:
        np.testing.assert_allclose(ce.grad(u, t), ce.prob(u) - t, rtol=0, atol=1e-15)
    h, eps = ce.curvature(u, t), 1e-3   # second differences: truncation eps^2/12 d4E ~ 1e-7, rounding ~ 1e-9
    second = np.empty_like(u)
    for n, k in np.ndindex(u.shape):
        e = np.zeros(c)
        e[k] = eps
        row = lambda v, n=n: float(ce.per_pattern(v[None], t[n:n + 1])[0])  # noqa: E731
        second[n, k] = (row(u[n] + e) - 2 * row(u[n]) + row(u[n] - e)) / eps**2
    np.testing.assert_allclose(h, second, rtol=1e-5, atol=3e-7)


@examples(25)
@given(n_in=st.integers(1, 6), n_out=st.integers(1, 4), scale=st.sampled_from([0.01, 0.5, 2.0, 8.0]),
       p=st.sampled_from([0.25, 0.5, 0.8, 1.0]), seed=SEEDS)
def test_penalty_gradients_n10_n14(n_in, n_out, scale, p, seed):
    """The sparsity penalties of chapter 6 depend on c only through alpha = softmax(c), so their gradients
    are N10 (N13) applied to dOmega/dalpha: EntropyPenalty (eq-sparse-dh-dc) and LpPenalty (eq-sparse-dlp-dc)
    by finite differences and through softmax_backward; the paper's L1 penalty (N11) is the constant n_out
    and its gradient N14 is zero, as is LpPenalty's at p = 1."""
    rng = np.random.default_rng(seed)
    c = scale * rng.normal(size=(n_in, n_out))
    alpha = softmax(c)
    for pen, d_alpha in ((EntropyPenalty(), -(np.log(alpha) + 1.0)), (LpPenalty(p), p * alpha ** (p - 1.0))):
        g = pen.grad(c)
        assert_fd(g, numerical_gradient(pen.value, c.copy()), pen.name)
        np.testing.assert_allclose(g, softmax_backward(alpha, d_alpha), rtol=1e-9, atol=1e-12)   # N10
        np.testing.assert_allclose(g.sum(axis=0), 0.0, atol=1e-12)
    l1 = L1Penalty()
    assert abs(l1.value(c) - n_out) < 1e-12
    assert np.abs(l1.grad(c)).max() < 1e-15
    assert np.abs(numerical_gradient(l1.value, c.copy())).max() < 1e-10
    if p == 1.0:
        assert np.abs(LpPenalty(p).grad(c)).max() < 1e-15


@pytest.mark.parametrize("name", ["FastNetwork", "fast_paper_cnn", "fast_combine_cnn", "Penalized"])
@examples(5)
@given(data=st.data())
def test_batch_gradient_is_the_mean_of_pattern_gradients(name, data):
    """The loss is the mean of E^n over the batch (N1), so its gradient is the mean of the patterns'
    gradients (plus the penalty's once, N11): batch learning is the average of online steps (§4.1)."""
    build, shape, c = data.draw(models(name), label="model")
    model = build()
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    perturb_model(model, rng, 0.5)
    X, T = data_for(shape, c, 3, rng)
    full = model.gradients(X, T)
    singles = [model.gradients(X[n:n + 1], T[n:n + 1]) for n in range(3)]
    assert model.loss(X, T) == pytest.approx(np.mean([model.loss(X[n:n + 1], T[n:n + 1]) for n in range(3)]), rel=1e-12)
    for k in full:
        np.testing.assert_allclose(full[k], np.mean([g[k] for g in singles], axis=0), rtol=1e-10, atol=1e-14, err_msg=k)


# --- 3. fast == faithful -------------------------------------------------------------------------

@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p[1])
@examples(20)
@given(data=st.data())
def test_fast_layer_equals_faithful(pair, data):
    """The batched layers of chapters 4 and 5 (eq-fast-forward, eq-fast-dk, eq-fast-dx, U3.2a-e,
    U3.3a-d) compute the faithful layers' outputs, sensitivities delta, input sensitivities and
    parameter gradients (and dE/dalpha): to 1e-12 in float64; in float32, to float32 rounding of
    the float64 results; backward(input_grad=False) gives the same gradients. One seed gives the
    same initial parameters."""
    slow_kind, fast_kind = pair
    cfg = data.draw(LAYERS[slow_kind][1](), label="config")
    seed, dtype = data.draw(SEEDS, label="seed"), data.draw(DTYPES, label="dtype")
    N = data.draw(st.integers(1, 3), label="N")
    slow = build_layer(slow_kind, cfg, seed)
    fast = build_layer(fast_kind, cfg, seed, dtype)
    for name in slow.params:
        same_start(fast.params[name], slow.params[name], name)
    rng = np.random.default_rng(seed)
    new = random_params(slow, rng, 0.5)
    set_params(slow, new)
    set_params(fast, new)
    x = rng.normal(size=(N,) + in_shape_of(slow))
    G = rng.normal(size=(N,) + out_shape_of(slow))
    tol = F64_TOL if dtype == np.float64 else F32_TOL
    y = fast.forward(x.astype(dtype))
    assert y.dtype == dtype
    close(y, slow.forward(x), tol)
    dx = fast.backward(G.astype(dtype))
    assert dx.dtype == dtype
    close(dx, slow.backward(G), tol)
    for name in slow.grads:
        assert fast.grads[name].dtype == dtype
        close(fast.grads[name], slow.grads[name], tol)
    close(fast.delta, slow.delta, tol)
    if slow_kind == "Combine":
        close(fast.dE_dalpha, slow.dE_dalpha, tol)                       # U3.3d
    fast.forward(x.astype(dtype))                                       # the lowest layer of a network
    assert fast.backward(G.astype(dtype), input_grad=False) is None     # skips dE/dx_prev, not the grads
    for name in slow.grads:
        close(fast.grads[name], slow.grads[name], tol)


MODEL_PAIRS = [("toolbox_cnn", "fast_toolbox_cnn"), ("paper_cnn", "fast_paper_cnn"), ("combine_cnn", "fast_combine_cnn")]


@pytest.mark.parametrize("pair", MODEL_PAIRS, ids=lambda p: p[1])
@examples(12)
@given(data=st.data())
def test_fast_network_equals_faithful(pair, data):
    """fast_toolbox_cnn, fast_paper_cnn and fast_combine_cnn are, for one seed, the functions
    toolbox_cnn, paper_cnn and combine_cnn: the same initial parameters, and the same predict, loss,
    gradients, input sensitivity and, for SDLM, diagonal Gauss-Newton curvatures (eq-sdlm-dense,
    eq-sdlm-conv, eq-sdlm-sub; 1e-12 in float64, float32 rounding in float32)."""
    slow_name, fast_name = pair
    kw = data.draw(two_stage_sizes(), label="sizes")
    if slow_name == "paper_cnn":
        kw.update(data.draw(paper_options(kw["maps"], kw["input_size"]), label="paper_cnn options"))
    if slow_name == "combine_cnn":
        kw["kernels"] = data.draw(st.sampled_from(["pair", "shared"]), label="kernels")
    seed, dtype = data.draw(SEEDS, label="seed"), data.draw(DTYPES, label="dtype")
    N = data.draw(st.integers(1, 3), label="N")
    slow, fast = MODELS[slow_name](**kw, rng=seed), MODELS[fast_name](**kw, rng=seed, dtype=dtype)
    assert list(slow.params) == list(fast.params)
    for name in slow.params:
        same_start(fast.params[name], slow.params[name], name)
    rng = np.random.default_rng(seed)
    perturb_model(slow, rng, 0.3)
    for name, p in slow.params.items():
        fast.params[name] = p.astype(dtype)
    X, T = data_for((1, kw["input_size"], kw["input_size"]), kw["n_classes"], N, rng)
    tol = F64_TOL if dtype == np.float64 else F32_TOL
    Xd, Td = X.astype(dtype), T.astype(dtype)
    close(fast.predict(Xd), slow.predict(X), tol)
    assert abs(fast.loss(Xd, Td) - slow.loss(X, T)) <= tol * abs(slow.loss(X, T))
    g_slow, g_fast = slow.gradients(X, T), fast.gradients(Xd, Td)
    for name in g_slow:
        assert g_fast[name].dtype == dtype
        close(g_fast[name], g_slow[name], tol)
    dy = slow.predict(X) - T
    close(fast.backward(fast.predict(Xd) - Td), slow.backward(dy), tol)
    if slow_name != "combine_cnn":   # the Gauss-Newton curvatures of SDLM (§4.2) cover these layers
        h_slow, h_fast = curvatures(slow, X, T), curvatures(fast, Xd, Td)
        for name in h_slow:
            assert np.all(h_slow[name] >= 0) and h_fast[name].dtype == dtype, name
            close(h_fast[name], h_slow[name], tol)


@examples(20)
@given(C=st.integers(1, 3), R=st.integers(1, 4), S=st.integers(1, 4), dh=st.integers(0, 4), dw=st.integers(0, 4),
       N=st.integers(1, 3), seed=SEEDS, dtype=DTYPES)
def test_im2col_and_col2im(C, R, S, dh, dw, N, seed, dtype):
    """The patch matrix (eq-fast-cols): X~[(i, r, s), (p, q, n)] = x[i, p + r, q + s, n]; col2im is its
    adjoint (eq-fast-dx): <col2im(Y), x> = <Y, im2col(x)>."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(C, R + dh, S + dw, N)).astype(dtype)
    Y = rng.normal(size=(C * R * S, (dh + 1) * (dw + 1) * N)).astype(dtype)
    cols = im2col(x, R, S)
    assert cols.dtype == dtype and cols.shape == Y.shape
    six = cols.reshape(C, R, S, dh + 1, dw + 1, N)
    i, r, s, p, q, n = (rng.integers(0, d, size=20) for d in six.shape)
    assert np.array_equal(six[i, r, s, p, q, n], x[i, p + r, q + s, n])
    back = col2im(Y, x.shape[:3], R, S)
    assert back.dtype == dtype and back.shape == x.shape
    x64, Y64 = x.astype(np.float64), Y.astype(np.float64)
    lhs, rhs = np.sum(cols.astype(np.float64) * Y64), np.sum(x64 * back.astype(np.float64))
    rounding = 1e-12 if dtype == np.float64 else 1e-5
    assert abs(lhs - rhs) <= rounding * np.abs(x64).sum() * np.abs(Y64).max() * R * S


@examples(5)
@given(n=st.integers(1, 700), seed=SEEDS)
def test_fast_predict_in_slices_equals_forward(n, seed):
    """FastNetwork.predict runs through slices of predict_batch (250) patterns: the same outputs as one
    forward pass over the whole batch."""
    net = fast_toolbox_cnn(input_size=8, maps=(2, 2), kernel_size=1, m=2, n_classes=3, rng=seed)
    X = np.random.default_rng(seed).uniform(size=(n, 1, 8, 8))
    y = net.predict(X)
    assert y.shape == (n, 3)
    close(y, net.forward(X), 1e-14)


# --- 4. the identities the book proves ----------------------------------------------------------

def xcorr(x, g):
    """Valid cross-correlation from its definition (eq-xcorr): sum_rs g_rs x_{p+r, q+s}."""
    R, S = g.shape
    P, Q = x.shape[0] - R + 1, x.shape[1] - S + 1
    out = np.zeros((P, Q))
    for r in range(R):
        for s in range(S):
            out += g[r, s] * x[r:r + P, s:s + Q]
    return out


@examples(30)
@given(P=st.integers(1, 8), Q=st.integers(1, 8), R=st.integers(1, 8), S=st.integers(1, 8), seed=SEEDS)
def test_conv2_identities(P, Q, R, S, seed):
    """Chapter 2: conv2 'valid' is correlation with rot180(k) (eq-conv-is-xcorr, identity 1), and
    correlation with g is conv2 with rot180(g); 'full' is 'valid' on the zero-padded map
    (eq-full-is-padded-valid, identity 2) and is commutative; 'valid' and 'full' with rot180(k) are
    adjoint, <conv2(x, k), y> = <x, conv2(y, rot180(k), 'full')> (eq-dx-prev); both match scipy."""
    rng = np.random.default_rng(seed)
    x, k = rng.normal(size=(P, Q)), rng.normal(size=(R, S))
    full = conv2(x, k, "full")
    assert full.shape == (P + R - 1, Q + S - 1)
    np.testing.assert_allclose(full, scipy.signal.convolve2d(x, k, mode="full"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(full, conv2(np.pad(x, ((R - 1, R - 1), (S - 1, S - 1))), k), rtol=0, atol=1e-12)
    np.testing.assert_allclose(full, conv2(k, x, "full"), rtol=0, atol=1e-12)
    if R <= P and S <= Q:
        valid = conv2(x, k)
        assert valid.shape == (P - R + 1, Q - S + 1)
        np.testing.assert_allclose(valid, scipy.signal.convolve2d(x, k, mode="valid"), rtol=0, atol=1e-12)
        np.testing.assert_allclose(valid, xcorr(x, rot180(k)), rtol=0, atol=1e-12)
        np.testing.assert_allclose(conv2(x, rot180(k)), xcorr(x, k), rtol=0, atol=1e-12)
        y = rng.normal(size=valid.shape)
        lhs, rhs = np.sum(valid * y), np.sum(x * conv2(y, rot180(k), "full"))
        assert abs(lhs - rhs) <= 1e-12 * np.abs(x).sum() * np.abs(k).sum() * np.abs(y).max()
        close(conv2(x.astype(np.float32), k.astype(np.float32)), valid, 1e-5)


@examples(12)
@given(cfg=combine_configs(), N=st.integers(1, 2), seed=SEEDS)
def test_combine_is_conv_with_kernels_alpha_k(cfg, N, seed):
    """U3.3a with one kernel per pair (or k_i shared over j) is U3.1a with full connection and the
    kernels alpha_ij k_ij, alpha = softmax(c) (U3.3c): Combine's output equals such a Conv's."""
    rng = np.random.default_rng(seed)
    comb = Combine(**cfg, rng=seed)
    set_params(comb, random_params(comb, rng, 1.0))
    conv = Conv(cfg["in_shape"], cfg["n_out"], cfg["kernel_size"], cfg["activation"], rng=0)
    conv.k[...] = comb.alpha[:, :, None, None] * comb.pair_kernels()
    conv.b[...] = comb.b
    x = rng.normal(size=(N,) + cfg["in_shape"])
    close(comb.forward(x), conv.forward(x), F64_TOL)


@examples(20)
@given(lead=st.lists(st.integers(1, 3), max_size=2), R=st.integers(1, 5), S=st.integers(1, 5), seed=SEEDS,
       kind=st.sampled_from(["f8", "f4", "i8", "?"]))
def test_rot180_is_an_involution(lead, R, S, seed, kind):
    """rot180 (eq-rot180) reverses the last two axes of any stack: rot180(k)_rs = k_{R-1-r, S-1-s},
    np.rot90 twice, and rot180(rot180(k)) = k."""
    k = (np.random.default_rng(seed).normal(size=tuple(lead) + (R, S)) * 10).astype(kind)
    r = rot180(k)
    assert r.shape == k.shape and r.dtype == k.dtype
    assert np.array_equal(rot180(r), k)
    assert np.array_equal(r, np.rot90(k, 2, axes=(-2, -1)))
    assert r[(..., 0, 0)].tolist() == k[(..., R - 1, S - 1)].tolist()


@examples(25)
@given(m=st.integers(1, 4), p=st.integers(1, 4), q=st.integers(1, 4), lead=st.lists(st.integers(1, 3), max_size=2),
       seed=SEEDS)
def test_down_and_up_are_adjoint(m, p, q, lead, seed):
    """down (U3.2a, U3.2d) sums m x m blocks and up (U3.1c) is the Kronecker product with 1_{m x m}:
    <down(x), y> = <x, up(y)>, down(up(y)) = m^2 y; the fast layout's down_blocks and up_blocks
    equal them on (C, H, W, N)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=tuple(lead) + (m * p, m * q))
    y = rng.normal(size=tuple(lead) + (p, q))
    d, u = down(x, m), up(y, m)
    assert d.shape == y.shape and u.shape == x.shape
    lhs, rhs = np.sum(d * y), np.sum(x * u)
    assert abs(lhs - rhs) <= 1e-12 * np.sum(np.abs(x)) * np.max(np.abs(y))
    np.testing.assert_allclose(down(u, m), m * m * y, rtol=1e-14)
    if not lead:
        assert np.array_equal(u, np.kron(y, np.ones((m, m))))
    x4 = rng.normal(size=(2, m * p, m * q, 3))
    np.testing.assert_allclose(down_blocks(x4, m), down(x4.transpose(3, 0, 1, 2), m).transpose(1, 2, 3, 0),
                               rtol=1e-13, atol=1e-13)
    y4 = x4[:, :p, :q]
    assert np.array_equal(up_blocks(y4, m), up(y4.transpose(3, 0, 1, 2), m).transpose(1, 2, 3, 0))


@pytest.mark.parametrize("cls", [Subsample, FastSubsample])
@examples(15)
@given(cfg=subsample_configs(), N=st.integers(1, 3), seed=SEEDS)
def test_subsampling_sensitivity_is_beta_up_delta(cls, cfg, N, seed):
    """Mean pooling is x = down(x_prev)/m^2 and its input sensitivity is up(dE/dx)/m^2; a trainable layer
    gives x = f(beta down(x_prev) + b) (U3.2a) and dE/dx_prev = beta up(delta), delta = dE/dx o f'(u)
    (the factor of U3.1b), with dE/db = sum delta (U3.2c) and dE/dbeta = sum delta o down(x_prev) (U3.2e)."""
    rng = np.random.default_rng(seed)
    layer = cls(**cfg)
    set_params(layer, random_params(layer, rng, 0.5))
    m = cfg["m"]
    x = rng.normal(size=(N,) + layer.in_shape)
    g = rng.normal(size=(N,) + layer.out_shape)
    y = layer.forward(x)
    dx = layer.backward(g)
    if layer.trainable:
        beta, b = layer.beta[:, None, None], layer.b[:, None, None]
        np.testing.assert_allclose(y, layer.act.f(beta * down(x, m) + b), rtol=1e-13, atol=1e-15)
        delta = g * layer.act.df(y)
        np.testing.assert_allclose(layer.delta, delta, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(dx, beta * up(delta, m), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(layer.grads["b"], delta.sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(layer.grads["beta"], (delta * down(x, m)).sum(axis=(0, 2, 3)), rtol=1e-12, atol=1e-13)
    else:
        assert layer.params == {}
        np.testing.assert_allclose(y, layer.act.f(down(x, m) / m**2), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(dx, up(g * layer.act.df(y), m) / m**2, rtol=1e-13, atol=1e-15)
        if cfg["activation"] in (None, "identity"):
            np.testing.assert_allclose(dx, up(g, m) / m**2, rtol=1e-14, atol=1e-16)


@examples(25)
@given(C=st.integers(1, 7), J=st.integers(1, 4), scale=st.sampled_from([0.01, 1.0, 10.0, 300.0]), seed=SEEDS,
       dtype=DTYPES)
def test_softmax_columns_are_distributions(C, J, scale, seed, dtype):
    """alpha = softmax(c) (U3.3c): every column lies in (0, 1] and sums to 1 (U3.3b), a constant added to a
    column changes nothing, a 1-d c is one column; sparsity.alpha_of is the same map; the cross-entropy's
    prob (§4.3) is the softmax of each row."""
    rng = np.random.default_rng(seed)
    c = (scale * rng.normal(size=(C, J))).astype(dtype)
    a = softmax(c)
    assert a.dtype == dtype and a.shape == (C, J)
    tiny = np.finfo(dtype).tiny
    assert np.all(a <= 1)
    if scale <= 10:
        assert np.all(a >= tiny)
    eps = 1e-15 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=0, atol=C * eps)
    shift = ((100 if dtype == np.float64 else 10) * rng.normal(size=J)).astype(dtype)   # float32: c + shift rounds
    np.testing.assert_allclose(softmax(c + shift), a, rtol=1e-5 if dtype == np.float32 else 1e-11, atol=1e-6 * eps)
    np.testing.assert_allclose(softmax(c[:, 0]), a[:, 0], rtol=0, atol=0)
    np.testing.assert_allclose(alpha_of(c.astype(np.float64)), softmax(c.astype(np.float64)), rtol=1e-12, atol=1e-300)
    p = SoftmaxCrossEntropy().prob(c.T)
    np.testing.assert_allclose(p, a.T, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-300)


@examples(25)
@given(C=st.integers(1, 7), J=st.integers(1, 3), scale=st.sampled_from([0.1, 1.0, 3.0]), seed=SEEDS)
def test_softmax_jacobian_n8_and_backward_n10(C, J, scale, seed):
    """N8: d alpha_k / d c_i = delta_ki alpha_i - alpha_i alpha_k, against central differences of the softmax;
    J is symmetric and its rows and columns sum to 0; N9/N10: softmax_backward(alpha, g) = J^T g, column by
    column, and dE/dc sums to 0 per column; the gradient of E = <g, softmax(c)> by finite differences."""
    rng = np.random.default_rng(seed)
    c = scale * rng.normal(size=(C, J))
    a = softmax(c)
    g = rng.normal(size=(C, J))
    dc = softmax_backward(a, g)                                          # N10
    for j in range(J):
        Jm = softmax_jacobian(a[:, j])                                   # N8
        eps = 1e-5
        numeric = np.empty((C, C))
        for i in range(C):
            e = np.zeros(C)
            e[i] = eps
            numeric[:, i] = (softmax(c[:, j] + e) - softmax(c[:, j] - e)) / (2 * eps)   # column i: d alpha / d c_i
        np.testing.assert_allclose(Jm, numeric, rtol=0, atol=1e-10)
        assert np.array_equal(Jm, Jm.T)
        np.testing.assert_allclose(Jm.sum(axis=0), 0.0, atol=1e-15)
        np.testing.assert_allclose(dc[:, j], Jm.T @ g[:, j], rtol=0, atol=1e-14)        # N9
    np.testing.assert_allclose(dc.sum(axis=0), 0.0, atol=1e-14)
    numeric = numerical_gradient(lambda cc: float(np.sum(g * softmax(cc))), c)
    assert_fd(dc, numeric, "dE/dc (N10)")


# --- 5. numerical stability ----------------------------------------------------------------------

@examples(20)
@given(shape=st.tuples(st.integers(1, 5), st.integers(1, 6)), scale=st.sampled_from([1.0, 1e2, 1e3, 1e4]),
       seed=SEEDS, dtype=DTYPES)
def test_large_inputs_give_finite_results_and_no_warnings(shape, scale, seed, dtype):
    """At |u| up to 1e4, in float64 and float32: the sigmoid and the scaled tanh (§2.1), their derivatives,
    the in-place sigmoid of the fast layers, the softmax of U3.3c with N10, the cross-entropy (§4.3) with its
    gradient and curvature, and the sparsity penalties give finite values, with no warning (all are errors)."""
    rng = np.random.default_rng(seed)
    u = (scale * rng.uniform(-1.0, 1.0, size=shape)).astype(dtype)
    u.flat[0] = scale                      # hit both extremes exactly
    u.flat[-1] = -scale
    t = one_hot(rng.integers(0, shape[1], size=shape[0]), shape[1], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = []
            for act in (Sigmoid(), Sigmoid(3.0), ScaledTanh()):
                x = act.f(u)
                assert x.dtype == dtype
                out += [x, act.df(x)]
            fd = FastDense(shape[1], 2, "sigmoid", rng=seed, dtype=dtype)
            fd.W[...] = scale
            out.append(fd.forward(u))
            a = softmax(u)
            out += [a, softmax_backward(a, u)]
            ce = SoftmaxCrossEntropy()
            out += [ce.prob(u), ce.per_pattern(u, t), ce.grad(u, t), ce.curvature(u, t)]
            c = u.astype(np.float64)
            for pen in (EntropyPenalty(), LpPenalty(0.5)):
                out += [np.float64(pen.value(c)), pen.grad(c)]
    for v in out:
        assert np.all(np.isfinite(v))
    assert np.all((out[0] >= 0) & (out[0] <= 1))
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", list(LAYERS))
@examples(6)
@given(data=st.data())
def test_layers_take_large_inputs(kind, data):
    """Every layer's forward and backward, in float64 and float32, on inputs and parameters of magnitude
    up to 1e4 (saturated units, a one-hot softmax over c): finite outputs, sensitivities and gradients,
    and no warning."""
    cfg = data.draw(LAYERS[kind][1](), label="config")
    seed, dtype = data.draw(SEEDS, label="seed"), data.draw(DTYPES, label="dtype")
    scale = data.draw(st.sampled_from([1e2, 1e4]), label="scale")
    rng = np.random.default_rng(seed)
    layer = build_layer(kind, cfg, seed, dtype)
    set_params(layer, random_params(layer, rng, scale))
    x = (scale * rng.normal(size=(2,) + in_shape_of(layer))).astype(dtype)
    G = rng.normal(size=(2,) + out_shape_of(layer)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = layer.forward(x)
            dx = layer.backward(G)
    for v in (y, dx, *layer.grads.values()):
        assert np.all(np.isfinite(v))


# --- 6. determinism ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(MODELS))
@examples(4)
@given(data=st.data())
def test_same_seed_gives_bitwise_identical_outputs(name, data):
    """Two models built from one seed have bitwise-identical parameters, outputs and gradients, in
    float64 and float32; a second forward pass on the same model repeats the first bit for bit."""
    dtype = data.draw(DTYPES, label="dtype")
    build, shape, c = data.draw(models(name, dtype), label="model")
    model_a, model_b = build(), build()
    for k in model_a.params:
        assert model_a.params[k].dtype == dtype
        assert model_a.params[k].tobytes() == model_b.params[k].tobytes(), k
    X, T = data_for(shape, c, 3, np.random.default_rng(data.draw(SEEDS, label="seed")), dtype)
    y1 = model_a.predict(X)
    assert y1.tobytes() == model_b.predict(X).tobytes()
    assert y1.tobytes() == model_a.predict(X).tobytes()
    ga, gb = model_a.gradients(X, T), model_b.gradients(X, T)
    for k in ga:
        assert ga[k].tobytes() == gb[k].tobytes(), k


# --- checkpoints (issue 20, class 1) ------------------------------------------------------------

SNAPSHOTS = {   # ways to keep the parameters aside
    "params.copy()": lambda params: params.copy(),
    "copy.deepcopy": copy.deepcopy,
    "copy.copy": copy.copy,
    "pickle": lambda params: pickle.loads(pickle.dumps(params)),
    "dict of copies": lambda params: {k: np.array(v) for k, v in params.items()},
}
RESTORES = {    # ways to put them back
    "update": lambda model, saved: model.params.update(saved),
    "update(**)": lambda model, saved: model.params.update(**saved),
    "update(pairs)": lambda model, saved: model.params.update(list(saved.items())),
    "|=": lambda model, saved: model.params.__ior__(saved),
    "item assignment": lambda model, saved: [model.params.__setitem__(k, v) for k, v in saved.items()],
    "setdefault, then assignment": lambda model, saved: [model.params.__setitem__(k, v) for k, v in saved.items()
                                                         if model.params.setdefault(k) is not v],
    "model.params = saved": lambda model, saved: setattr(model, "params", saved),
}


@pytest.mark.parametrize("name", list(MODELS))
@examples(4)
@given(data=st.data())
def test_checkpoint_restores_bit_identical_predictions(name, data):
    """Any checkpoint kept and restored by a public route (a snapshot of params put back by update, |=,
    item assignment, setdefault or attribute assignment; or save_params and load_params, with any file
    name) gives bit-identical predictions after training has moved the weights, in float64 and float32."""
    dtype = data.draw(DTYPES, label="dtype")
    build, shape, c = data.draw(models(name, dtype), label="model")
    model = build()
    rng = np.random.default_rng(data.draw(SEEDS, label="seed"))
    perturb_model(model, rng, 0.5)
    X, T = data_for(shape, c, 3, rng, dtype)
    before, start = model.predict(X), {k: np.array(v) for k, v in model.params.items()}
    route = data.draw(st.sampled_from([*SNAPSHOTS, "save_params"]), label="kept by")
    with tempfile.TemporaryDirectory() as tmp:
        if route == "save_params":
            path = Path(tmp) / data.draw(st.sampled_from(["ckpt.npz", "ckpt", "ckpt.bin"]), label="file")
            save_params(model, path)
        else:
            saved = SNAPSHOTS[route](model.params)
        clone = data.draw(st.sampled_from([copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))]), label="model copy")(model)
        gradient_step(clone.params, clone.gradients(X, T), 0.5)    # the copy trains its own arrays ...
        assert np.array_equal(model.predict(X), before)            # ... and leaves the model alone
        gradient_step(model.params, model.gradients(X, T), 0.5)    # training moves the weights in place
        perturb_model(model, rng, 1.0)
        assert not all(np.array_equal(v, start[k]) for k, v in model.params.items())   # the test can fail
        if route == "save_params":
            load_params(model, path)
        else:
            RESTORES[data.draw(st.sampled_from(list(RESTORES)), label="restored by")](model, saved)
    assert np.array_equal(model.predict(X), before)
    fresh = build()                              # the copy's layers compute with the arrays of its dict
    fresh.params.update(clone.params)
    assert np.array_equal(fresh.predict(X), clone.predict(X))
