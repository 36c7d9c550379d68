"""cnnlit.subsample outside the book: bad input, down by a loop, the two CNN builders (the down/up
properties are in tests/test_properties.py)."""
import numpy as np
import pytest

from cnnlit.dense import Network
from cnnlit.gradcheck import check_gradients, numerical_gradient, rel_error
from cnnlit.subsample import Flatten, Subsample, down, paper_cnn, toolbox_cnn, up

# --- bad input: each names the argument -------------------------------------------------

@pytest.mark.parametrize("m", [0, -2, 2.0, 1.5, "2", True, None])
def test_bad_block_size_is_refused(m):
    for call in (lambda: down(np.zeros((4, 4)), m), lambda: up(np.zeros((2, 2)), m), lambda: Subsample((1, 4, 4), m)):
        with pytest.raises(ValueError, match=r"m \(the block size\).*positive integer"):
            call()


def test_block_size_is_a_keyword_m():
    assert Subsample((1, 4, 4), m=2).m == 2
    assert np.array_equal(down(np.ones((4, 4)), m=2), np.full((2, 2), 4.0))
    assert up(np.ones((1, 1)), m=3).shape == (3, 3)
    for build in (toolbox_cnn, paper_cnn):
        assert build(input_size=10, kernel_size=3, maps=(1, 1), m=2, rng=0).layers[1].m == 2
        with pytest.raises(TypeError):
            build(n=2)


def test_map_size_not_divisible_by_m():
    with pytest.raises(ValueError, match=r"in_shape \(2, 6, 5\).*not divisible.*m=2"):
        Subsample((2, 6, 5), 2)
    with pytest.raises(ValueError, match=r"6x6.*m=4"):
        Subsample((1, 6, 6), 4)
    with pytest.raises(ValueError, match=r"5x4 of x is not divisible by the block size m=2"):
        down(np.zeros((3, 5, 4)), 2)


@pytest.mark.parametrize("shape", [(4, 4), (1, 4), (1, 4, 4, 1), (0, 4, 4), (1.0, 4, 4), "144"])
def test_bad_in_shape(shape):
    for cls in (Subsample, Flatten):
        with pytest.raises(ValueError, match="in_shape"):
            cls(shape)


def test_down_and_up_need_two_dims_and_floats():
    with pytest.raises(ValueError, match="x must have at least 2 dimensions"):
        down(np.zeros(4), 2)
    with pytest.raises(ValueError, match="x must have at least 2 dimensions"):
        up(np.zeros(4), 2)
    with pytest.raises(TypeError, match="x must be a floating-point array"):
        down(np.zeros((4, 4), dtype=int), 2)
    with pytest.raises(ValueError, match="x contains 1 non-finite"):
        up(np.array([[np.nan, 0.0]]), 2)


@pytest.mark.parametrize("trainable", [True, False])
@pytest.mark.parametrize(
    "x, exc, words",
    [
        (np.zeros((2, 3, 4)), ValueError, ["x_prev", "(N, 2, 4, 4)", "(2, 3, 4)"]),
        (np.zeros((2, 3, 4, 4)), ValueError, ["x_prev", "(N, 2, 4, 4)"]),
        (np.zeros((2, 2, 4, 6)), ValueError, ["x_prev", "(N, 2, 4, 4)"]),
        (np.zeros((2, 2, 4, 4), dtype=np.int64), TypeError, ["x_prev", "floating-point"]),
        (np.full((2, 2, 4, 4), np.inf), ValueError, ["x_prev", "non-finite"]),
    ],
)
def test_subsample_forward_bad_input(trainable, x, exc, words):
    layer = Subsample((2, 4, 4), 2, trainable=trainable)
    with pytest.raises(exc) as err:
        layer.forward(x)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_subsample_backward_checks_its_input():
    layer = Subsample((2, 4, 4), 2)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 2, 2, 2)))
    layer.forward(np.zeros((1, 2, 4, 4)))
    with pytest.raises(ValueError, match=r"dE_dx must have shape \(1, 2, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 4, 4)))


def test_subsample_bad_dtype_and_activation():
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        Subsample((1, 4, 4), 2, dtype=np.int32)
    with pytest.raises(ValueError, match="activation must be one of"):
        Subsample((1, 4, 4), 2, "relu")


def test_flatten_shape_mismatch():
    flat = Flatten((2, 3, 3))
    assert flat.out_shape == (18,) and flat.params == {} and flat.numbered is False
    with pytest.raises(ValueError, match=r"x_prev must have shape \(N, 2, 3, 3\), got \(4, 18\)"):
        flat.forward(np.zeros((4, 18)))
    with pytest.raises(ValueError, match=r"x_prev must have shape \(N, 2, 3, 3\)"):
        flat.forward(np.zeros((4, 3, 3, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        flat.backward(np.zeros((4, 18)))
    flat.forward(np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"dE_dx must have shape \(4, 18\), got \(4, 17\)"):
        flat.backward(np.zeros((4, 17)))
    with pytest.raises(ValueError, match=r"dE_dx must have shape \(4, 18\)"):
        flat.backward(np.zeros((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"dE_dx must have shape \(4, 18\), got \(3, 18\)"):
        flat.backward(np.zeros((3, 18)))


def _subsample_after_forward():
    layer = Subsample((2, 4, 4), 2)
    layer.forward(np.zeros((1, 2, 4, 4)))
    return layer, (1, 2, 2, 2)


def _flatten_after_forward():
    layer = Flatten((2, 3, 3))
    layer.forward(np.zeros((4, 2, 3, 3)))
    return layer, (4, 18)


@pytest.mark.parametrize("make", [_subsample_after_forward, _flatten_after_forward])
def test_backward_refuses_non_finite_dE_dx(make):
    layer, shape = make()
    dE_dx = np.zeros(shape)
    dE_dx.flat[1] = np.nan
    with pytest.raises(ValueError, match="dE_dx contains 1 non-finite"):
        layer.backward(dE_dx)


@pytest.mark.parametrize("make", [_subsample_after_forward, _flatten_after_forward])
def test_backward_refuses_integer_dE_dx(make):
    layer, shape = make()
    with pytest.raises(TypeError, match="dE_dx must be a floating-point array"):
        layer.backward(np.zeros(shape, dtype=np.int64))


def test_network_refuses_a_flatten_of_the_wrong_size():
    sub = Subsample((2, 4, 4), 2)
    with pytest.raises(ValueError, match="expects input of shape"):
        Network([sub, Flatten((2, 4, 4))])


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"input_size": 12, "kernel_size": 3}, ["input_size=12", "m=2"]),  # 10 -> 5 -> 3: not divisible
        ({"input_size": 27}, ["input_size=27", "kernel_size=5", "23x23"]),
        ({"input_size": 0}, ["input_size"]),
        ({"kernel_size": 2.5}, ["kernel_size"]),
        ({"maps": (6,)}, ["maps"]),
        ({"m": 0}, ["m (the block size)"]),
        ({"n_classes": 0}, ["n_classes"]),
    ],
)
def test_builders_refuse_sizes_that_do_not_divide(kwargs, words):
    for build in (toolbox_cnn, paper_cnn):
        with pytest.raises(ValueError) as err:
            build(**kwargs)
        for w in words:
            assert w in str(err.value), (w, str(err.value))


def test_down_matches_a_loop():
    x = np.random.default_rng(0).normal(size=(6, 9))
    loop = np.array([[x[3 * i:3 * i + 3, 3 * j:3 * j + 3].sum() for j in range(3)] for i in range(2)])
    assert np.allclose(down(x, 3), loop)


def test_mean_pooling_has_no_params_and_averages():
    layer = Subsample((2, 4, 4), 2, trainable=False)
    assert layer.params == {} and layer.grads == {}
    x = np.random.default_rng(1).uniform(size=(3, 2, 4, 4))
    assert np.allclose(layer.forward(x), x.reshape(3, 2, 2, 2, 2, 2).mean(axis=(3, 5)))


def test_trainable_layer_starts_at_mean_pooling_then_sigmoid():
    layer = Subsample((2, 6, 6), 3)
    assert np.allclose(layer.params["beta"], 1 / 9) and np.all(layer.params["b"] == 0)
    x = np.random.default_rng(2).uniform(size=(1, 2, 6, 6))
    mean = Subsample((2, 6, 6), 3, trainable=False).forward(x)
    assert np.allclose(layer.forward(x), 1 / (1 + np.exp(-mean)))


def test_float32_forward_keeps_dtype():
    layer = Subsample((1, 4, 4), 2, dtype=np.float32)
    out = layer.forward(np.ones((1, 1, 4, 4)))
    assert out.dtype == np.float32 and layer.params["beta"].dtype == np.float32


def test_input_gradient_by_finite_differences():
    rng = np.random.default_rng(3)
    layer = Subsample((2, 6, 6), 2, "tanh")
    layer.beta[...] = rng.normal(size=2)
    layer.b[...] = rng.normal(size=2)
    x = rng.uniform(size=(2, 2, 6, 6))
    g = rng.normal(size=(2, 2, 3, 3))
    layer.forward(x)
    analytic = layer.backward(g)
    numeric = numerical_gradient(lambda z: float(np.sum(layer.forward(z) * g)), x.copy())
    assert rel_error(analytic, numeric) < 1e-8


@pytest.mark.parametrize("build", [toolbox_cnn, paper_cnn])
def test_builders_follow_the_model_contract(build):
    rng = np.random.default_rng(4)
    net = build(input_size=10, kernel_size=3, maps=(2, 3), n_classes=4, rng=0)
    expected = {"k2", "b2", "k4", "b4", "W6", "b6"}
    if build is paper_cnn:
        expected |= {"beta3", "b3", "beta5", "b5"}
    assert set(net.params) == expected
    X = rng.uniform(size=(2, 1, 10, 10))
    T = np.eye(4)[[1, 3]]
    assert net.predict(X).shape == (2, 4)
    for p in net.params.values():
        p += 0.2 * rng.normal(size=p.shape)
    errors = check_gradients(net, X, T, eps=1e-4)
    assert max(errors.values()) < 1e-7, errors


def test_full_size_builders_match_the_toolbox():
    net = toolbox_cnn(rng=0)
    assert net.params["W6"].shape == (10, 192)
    assert net.params["k4"].shape == (6, 12, 5, 5)
    assert sum(p.size for p in net.params.values()) == 3898
    assert sum(p.size for p in paper_cnn(rng=0).params.values()) == 3898 + 36
    # uniform init on +-sqrt(6 / (fan_in + fan_out)) with the toolbox's fans
    r = np.sqrt(6 / (6 * 25 + 12 * 25))
    assert np.abs(net.params["k4"]).max() <= r and np.abs(net.params["k4"]).max() > 0.9 * r
