"""cnnlit.checks outside the book: what each check accepts, and the argument every refusal names."""
import numpy as np
import pytest

from cnnlit.checks import ParamDict, as_float_array, as_rng, check_dtype, check_size


def test_as_float_array_returns_float_input_itself_and_casts_on_request():
    x = np.zeros((2, 3))
    assert as_float_array("x", x, shape=("N", 3)) is x
    y = as_float_array("x", [[1.0, 2.0, 3.0]], shape=("N", 3), dtype=np.float32)
    assert y.dtype == np.float32 and y.shape == (1, 3)


@pytest.mark.parametrize(
    "a, shape, exc, words",
    [
        (np.zeros((2, 3)), ("N", 4), ValueError, ["x", "(N, 4)", "(2, 3)"]),
        (np.zeros(3), (3, 1), ValueError, ["x", "(3, 1)", "(3,)"]),
        (np.zeros((2, 3)), (6,), ValueError, ["x", "(6,)"]),
        (np.zeros((2, 3), dtype=np.int32), None, TypeError, ["x", "floating-point", "int32"]),
        ([[1.0, 2.0], [3.0]], None, TypeError, ["x", "list"]),
        (np.array([1.0, np.inf, np.nan]), None, ValueError, ["x", "2 non-finite"]),
    ],
)
def test_as_float_array_refusals_name_the_argument(a, shape, exc, words):
    with pytest.raises(exc) as err:
        as_float_array("x", a, shape=shape)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


def test_check_size_accepts_positive_integers_only():
    assert check_size("n", 3) == 3 and type(check_size("n", np.int64(3))) is int
    for bad in (0, -1, True, 2.0, 2.5, "3", None):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            check_size("n", bad)


def test_check_dtype_accepts_float32_and_float64_only():
    assert check_dtype("float32") == np.float32 and check_dtype(float) == np.float64
    for bad in (np.float16, np.int64, "complex128"):
        with pytest.raises(TypeError, match="float32 or float64"):
            check_dtype(bad)


def test_as_rng_seeds_passes_generators_on_and_refuses_legacy_state():
    g = np.random.default_rng(0)
    assert as_rng(g) is g
    assert as_rng(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(as_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy Generator"):
        as_rng(np.random.RandomState(0))


def test_param_dict_copies_into_the_existing_array():
    w = np.zeros((2, 2))
    params = ParamDict()
    dict.__setitem__(params, "W2", w)
    params["W2"] = np.ones((2, 2))
    assert params["W2"] is w and w.all()
    params["W2"] = w                      # assigning an array to itself is a no-op
    with pytest.raises(KeyError, match="unknown parameter 'W3'"):
        params["W3"] = np.ones((2, 2))
    with pytest.raises(ValueError, match=r"params\['W2'\] must have shape \(2, 2\), got \(3,\)"):
        params["W2"] = np.ones(3)
