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


# -- the checks of sections B.7-B.10 (issue 20, issue 18's plumbing) ---------------------------------

def test_check_distribution_accepts_rounded_softmax_columns_and_rows():
    from cnnlit.checks import check_distribution
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        u = (30 * rng.normal(size=(7, 50))).astype(dtype)
        e = np.exp(u - u.max(axis=0))
        alpha = e / e.sum(axis=0)
        assert check_distribution("alpha", alpha, axis=0) is alpha
        t = alpha.T
        assert check_distribution("t", t, axis=1) is t
    with pytest.raises(ValueError, match="columns of alpha must sum to 1"):
        check_distribution("alpha", np.array([[0.5], [0.5 + 1e-9]]), axis=0)


def test_check_memory_counts_bytes_with_python_ints():
    from cnnlit.checks import check_memory
    assert check_memory("n", 10, np.float32) == 40
    with pytest.raises(ValueError, match=r"n_out is too large: it needs 1e\+300 entries"):
        check_memory("n_out", 10**400, np.float64)


def test_read_npz_reads_what_savez_writes(tmp_path):
    from cnnlit.checks import read_npz
    arrays = {"W": np.arange(6.0).reshape(2, 3), "F": np.asfortranarray(np.ones((3, 2), np.float32)), "e": np.zeros(0)}
    for save in (np.savez, np.savez_compressed):
        path = tmp_path / f"{save.__name__}.npz"
        save(path, **arrays)
        got = read_npz("path", path, "a file")
        assert set(got) == set(arrays)
        for k, v in arrays.items():
            assert got[k].dtype == v.dtype and np.array_equal(got[k], v) and got[k].flags.writeable


def test_open_regular_returns_the_file_and_refuses_a_fifo_without_blocking(tmp_path):
    import os

    from cnnlit.checks import open_regular
    (tmp_path / "f").write_bytes(b"abc")
    with open_regular("path", tmp_path / "f") as f:
        assert f.read() == b"abc"
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        open_regular("path", tmp_path / "fifo")


def test_param_dict_snapshots_are_plain_copies():
    from cnnlit.dense import Dense, Network
    net = Network([Dense(2, 2, rng=0)])
    snap = net.params.copy()
    net.params["W2"] += 1.0
    assert type(snap) is dict and not np.array_equal(snap["W2"], net.params["W2"])
    net.params = snap
    assert np.array_equal(snap["W2"], net.params["W2"]) and net.params["W2"] is net.layers[0].W


def test_check_training_accepts_the_defaults_of_train():
    from cnnlit.checks import check_training
    from cnnlit.dense import Dense, Network
    check_training(Network([Dense(2, 2, rng=0)]), eta=0.1, optimizer=None, epochs=1, batch_size=50, record_every=None,
                   shuffle=True, per_step=False, progress=None, callback=None, monitor=None)
