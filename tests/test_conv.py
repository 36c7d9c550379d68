"""cnnlit.conv outside the book: bad input, the rot180 identities and the layer at fixed examples (conv2 against
SciPy and the other properties are in tests/test_properties.py)."""
import numpy as np
import pytest
import scipy.signal

from cnnlit.conv import Conv, conv2, lenet5_c3_table, rot180
from cnnlit.dense import Network
from cnnlit.gradcheck import numerical_gradient, rel_error


def check_message(err, words):
    for w in words:
        assert w in str(err.value), (w, str(err.value))


# --- conv2 and rot180: bad input ----------------------------------------------------------

@pytest.mark.parametrize("mode", ["same", "VALID", "", None, 1])
def test_conv2_bad_mode_names_mode(mode):
    with pytest.raises(ValueError) as err:
        conv2(np.zeros((4, 4)), np.ones((2, 2)), mode)
    check_message(err, ["mode", "'valid'", "'full'", repr(mode)])


@pytest.mark.parametrize("kshape", [(5, 2), (2, 5), (5, 5)])
def test_conv2_valid_kernel_larger_than_map(kshape):
    with pytest.raises(ValueError) as err:
        conv2(np.zeros((4, 4)), np.ones(kshape), "valid")
    check_message(err, ["k", str(kshape), "(4, 4)"])
    # the full convolution is defined for any sizes
    assert conv2(np.zeros((4, 4)), np.ones(kshape), "full").shape == (4 + kshape[0] - 1, 4 + kshape[1] - 1)


@pytest.mark.parametrize(
    "x, k, exc, words",
    [
        (np.zeros((4, 4), dtype=np.int64), np.ones((2, 2)), TypeError, ["x", "floating-point", "int64"]),
        (np.zeros((4, 4)), np.ones((2, 2), dtype=bool), TypeError, ["k", "floating-point"]),
        (np.zeros((1, 4, 4)), np.ones((2, 2)), ValueError, ["x", "(P, Q)", "(1, 4, 4)"]),
        (np.zeros(4), np.ones((2, 2)), ValueError, ["x", "(P, Q)"]),
        (np.zeros((4, 4)), np.ones(2), ValueError, ["k", "(R, S)"]),
        (np.full((4, 4), np.nan), np.ones((2, 2)), ValueError, ["x", "non-finite"]),
        (np.zeros((4, 4)), np.full((2, 2), np.inf), ValueError, ["k", "non-finite"]),
    ],
)
def test_conv2_bad_arrays(x, k, exc, words):
    with pytest.raises(exc) as err:
        conv2(x, k)
    check_message(err, words)


def test_rot180_needs_two_axes():
    with pytest.raises(ValueError) as err:
        rot180(np.arange(3.0))
    check_message(err, ["k", "2 dimensions", "(3,)"])


# --- conv2 and rot180: fixed examples (the properties are in tests/test_properties.py) -----


def test_rot180_identities():
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(8, 7)), rng.normal(size=(3, 4))
    assert np.allclose(conv2(x, rot180(g)), scipy.signal.correlate2d(x, g, mode="valid"), atol=1e-12)
    assert np.allclose(conv2(x, g, "full"), conv2(np.pad(x, ((2, 2), (3, 3))), g), atol=1e-12)
    stack = rng.normal(size=(2, 3, 4, 5))
    assert np.array_equal(rot180(rot180(stack)), stack)
    assert np.array_equal(rot180(stack)[1, 2], np.rot90(stack[1, 2], 2))


def test_lenet5_c3_table():
    t = lenet5_c3_table()
    assert t.shape == (6, 16) and t.dtype == bool
    assert t.sum(axis=0).tolist() == [3] * 6 + [4] * 9 + [6]
    assert t.sum() == 60


# --- Conv: bad construction ---------------------------------------------------------------

@pytest.mark.parametrize("ks", [5, (5, 2), (2, 5), 9])
def test_kernel_larger_than_map_names_kernel_size(ks):
    with pytest.raises(ValueError) as err:
        Conv((1, 4, 4), 2, ks)
    check_message(err, ["kernel_size", "(4, 4)"])


@pytest.mark.parametrize("ks", [0, -1, (2,), (2, 2, 2), (0, 2), 2.5, True, "3", None])
def test_bad_kernel_size(ks):
    with pytest.raises(ValueError) as err:
        Conv((1, 6, 6), 2, ks)
    check_message(err, ["kernel_size"])


@pytest.mark.parametrize("in_shape", [(6, 6), (1, 6, 6, 1), (0, 6, 6), (1, -6, 6), 6, (1, 6.0, 6)])
def test_bad_in_shape(in_shape):
    with pytest.raises(ValueError) as err:
        Conv(in_shape, 2, 3)
    check_message(err, ["in_shape"])


@pytest.mark.parametrize("n_out", [0, -2, 1.5, None])
def test_bad_n_out(n_out):
    with pytest.raises(ValueError) as err:
        Conv((1, 6, 6), n_out, 3)
    check_message(err, ["n_out"])


def test_bad_dtype_and_activation():
    with pytest.raises(TypeError) as err:
        Conv((1, 6, 6), 2, 3, dtype=np.int32)
    check_message(err, ["dtype", "int32"])
    with pytest.raises(ValueError) as err:
        Conv((1, 6, 6), 2, 3, activation="relu")
    check_message(err, ["activation", "relu"])


@pytest.mark.parametrize("shape", [(5, 16), (7, 16), (6, 15), (6, 17), (16, 6), (96,)])
def test_connection_table_of_wrong_shape(shape):
    """A table naming maps the layer does not have (or missing some) is rejected."""
    with pytest.raises(ValueError) as err:
        Conv((6, 10, 10), 16, 5, connections=np.ones(shape, dtype=bool))
    check_message(err, ["connections", "(6, 16)", str(shape)])


def test_output_map_without_inputs():
    table = lenet5_c3_table()
    table[:, [3, 11]] = False
    with pytest.raises(ValueError) as err:
        Conv((6, 10, 10), 16, 5, connections=table)
    check_message(err, ["connections", "[3, 11]", "M_j"])


def test_connection_table_with_non_boolean_values():
    with pytest.raises(TypeError) as err:
        Conv((2, 6, 6), 2, 3, connections=np.array([[1, 2], [0, 1]]))
    check_message(err, ["connections", "bool"])
    with pytest.raises(TypeError) as err:
        Conv((2, 6, 6), 2, 3, connections=[["a", "b"], ["c", "d"]])
    check_message(err, ["connections", "bool"])
    # 0/1 integers are accepted as a table
    layer = Conv((2, 6, 6), 2, 3, connections=np.array([[1, 0], [1, 1]]))
    assert layer.connections.tolist() == [[True, False], [True, True]]


# --- Conv: bad forward / backward input ----------------------------------------------------

@pytest.mark.parametrize(
    "x, exc, words",
    [
        (np.zeros((2, 3, 8, 8)), ValueError, ["x_prev", "(N, 2, 8, 8)", "(2, 3, 8, 8)"]),
        (np.zeros((2, 2, 8, 7)), ValueError, ["x_prev", "(N, 2, 8, 8)"]),
        (np.zeros((2, 8, 8)), ValueError, ["x_prev", "(N, 2, 8, 8)"]),
        (np.zeros((2, 2, 8, 8), dtype=np.int64), TypeError, ["x_prev", "floating-point"]),
        (np.full((2, 2, 8, 8), np.nan), ValueError, ["x_prev", "non-finite"]),
    ],
)
def test_forward_bad_input(x, exc, words):
    layer = Conv((2, 8, 8), 3, 3, rng=0)
    with pytest.raises(exc) as err:
        layer.forward(x)
    check_message(err, words)


def test_backward_bad_input():
    layer = Conv((2, 8, 8), 3, 3, rng=0)
    with pytest.raises(RuntimeError):
        layer.backward(np.zeros((1, 3, 6, 6)))
    layer.forward(np.zeros((1, 2, 8, 8)))
    with pytest.raises(ValueError) as err:
        layer.backward(np.zeros((1, 3, 5, 6)))
    check_message(err, ["dE_dx", "(1, 3, 6, 6)", "(1, 3, 5, 6)"])


# --- Conv: behaviour -----------------------------------------------------------------------

def test_shapes_init_and_network_names():
    layer = Conv((6, 14, 14), 16, 5, connections=lenet5_c3_table(), rng=1)
    assert layer.in_shape == (6, 14, 14) and layer.out_shape == (16, 10, 10)
    assert layer.k.shape == (6, 16, 5, 5) and layer.b.shape == (16,)
    assert np.all(layer.k[~lenet5_c3_table()] == 0) and np.all(layer.k[lenet5_c3_table()] != 0)
    bound = np.sqrt(6.0 / (6 * 25 + 16 * 25))
    assert np.abs(layer.k).max() <= bound and np.all(layer.b == 0)
    net = Network([layer])
    assert sorted(net.params) == ["b2", "k2"]
    t = layer.connections
    t[:] = False  # a copy: the layer's table is unchanged
    assert layer.connections.sum() == 60


def test_same_seed_same_kernels():
    a, b = Conv((3, 8, 8), 4, 3, rng=7), Conv((3, 8, 8), 4, 3, rng=7)
    assert np.array_equal(a.k, b.k)


def test_float32_layer_keeps_its_dtype():
    layer = Conv((2, 8, 8), 3, 3, rng=0, dtype=np.float32)
    x = layer.forward(np.random.default_rng(0).normal(size=(2, 2, 8, 8)))
    assert x.dtype == np.float32
    assert layer.backward(np.ones_like(x)).dtype == np.float32
    assert layer.grads["k"].dtype == np.float32


@pytest.mark.parametrize("table", [None, "c3", "sparse"])
def test_gradients_by_finite_differences(table):
    rng = np.random.default_rng(3)
    if table == "c3":
        n_in, n_out, conn = 6, 16, lenet5_c3_table()
    elif table == "sparse":
        n_in, n_out, conn = 3, 2, np.array([[True, False], [False, False], [False, True]])
    else:
        n_in, n_out, conn = 2, 3, None
    layer = Conv((n_in, 5, 6), n_out, (2, 3), "tanh", conn, rng=rng)
    layer.b += rng.normal(size=n_out)
    X = rng.normal(size=(2, n_in, 5, 6))
    T = rng.normal(size=(2,) + layer.out_shape)

    def E(_=None):
        return 0.5 * np.sum((layer.forward(X) - T) ** 2)

    dX = layer.backward(layer.forward(X) - T)
    gk, gb = layer.grads["k"].copy(), layer.grads["b"].copy()
    assert rel_error(gk, numerical_gradient(E, layer.k)) < 1e-7
    assert rel_error(gb, numerical_gradient(E, layer.b)) < 1e-7
    assert rel_error(dX, numerical_gradient(E, X)) < 1e-7
    assert np.all(gk[~layer.connections] == 0)


def test_unconnected_kernel_entries_are_ignored():
    """M_j decides which maps feed output j, whatever sits in an unconnected kernel slot."""
    rng = np.random.default_rng(4)
    table = np.array([[True, False], [True, True]])
    layer = Conv((2, 6, 6), 2, 3, "identity", table, rng=rng)
    X = rng.normal(size=(1, 2, 6, 6))
    before = layer.forward(X).copy()
    layer.k[0, 1] = 5.0
    assert np.array_equal(layer.forward(X), before)
