"""cnnlit.data (Appendix A): the IDX reader, load_mnist, download_mnist, the embedded subset.

Nothing here reads ../shared or the internet: IDX files are made in tmp_path, downloads come
from an HTTP server on 127.0.0.1 that the test starts. The one test that needs the full MNIST
(re-cutting the subset) runs only when CNNLIT_DATA is set.
"""
import functools
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from cnnlit import data

ROOT = Path(__file__).resolve().parent.parent


# -- the IDX reader ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip_every_type(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    back = data.read_idx(data.write_idx(tmp_path / "a.idx", a))
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    assert np.array_equal(back, a)


def test_idx_header_is_big_endian_as_specified():
    raw = data.idx_bytes(np.zeros((2, 300), dtype=np.int16))
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert raw[4:12] == bytes([0, 0, 0, 2, 0, 0, 1, 0x2C])  # 300 = 0x012c
    assert len(raw) == 4 + 8 + 2 * 600


def test_gzip_is_detected_by_magic_bytes_not_by_name(tmp_path):
    a = np.arange(10, dtype=np.uint8)
    gz_without_suffix = tmp_path / "labels-idx1-ubyte"
    data.write_idx(gz_without_suffix, a, compress=True)
    raw_with_gz_suffix = tmp_path / "labels-idx1-ubyte.gz"
    data.write_idx(raw_with_gz_suffix, a, compress=False)
    assert gz_without_suffix.read_bytes()[:2] == b"\x1f\x8b"
    assert raw_with_gz_suffix.read_bytes()[:2] == b"\x00\x00"
    assert np.array_equal(data.read_idx(gz_without_suffix), a)
    assert np.array_equal(data.read_idx(raw_with_gz_suffix), a)


def test_write_idx_gzip_is_deterministic(tmp_path):
    a = np.arange(100, dtype=np.uint8)
    p1 = data.write_idx(tmp_path / "a.gz", a)
    p2 = data.write_idx(tmp_path / "b.gz", a)
    assert p1.read_bytes() == p2.read_bytes()


GOOD = data.idx_bytes(np.arange(6, dtype=np.uint8).reshape(2, 3))


@pytest.mark.parametrize(
    "content, message",
    [
        (GOOD[:-1], "truncated IDX file"),
        (GOOD[:-4], "4 missing"),
        (GOOD + b"\x00", "trailing bytes"),
        (GOOD + b"\x00\x00\x00", "3 extra"),
        (b"\x01" + GOOD[1:], "not an IDX file"),
        (GOOD[:1] + b"\x07" + GOOD[2:], "not an IDX file"),
        (GOOD[:2] + b"\x07" + GOOD[3:], "unknown IDX type code 07"),
        (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX type code 0a"),
        (GOOD[:3] + b"\x00", "0 dimensions"),
        (GOOD[:7], "needs 12 bytes"),
        (GOOD[:3], "too short"),
        (b"", "too short"),
    ],
    ids=["short-by-1", "short-by-4", "trailing-1", "trailing-3", "magic-byte0", "magic-byte1",
         "dtype-07", "dtype-0a", "zero-dims", "header-cut", "3-bytes", "empty"],
)
@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
def test_bad_idx_files_raise_value_error_naming_the_file(tmp_path, content, message, compressed):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(gzip.compress(content) if compressed else content)
    with pytest.raises(ValueError) as err:
        data.read_idx(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_corrupt_gzip_raises_value_error_naming_the_file(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(GOOD * 50)[:-10])  # cut off the end of the gzip stream
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as err:
        data.read_idx(path)
    assert str(path) in str(err.value)


def test_missing_idx_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file") as err:
        data.read_idx(tmp_path / "nope")
    assert "nope" in str(err.value)


def test_idx_bytes_rejects_unsupported_dtype():
    with pytest.raises(TypeError, match="IDX cannot store"):
        data.idx_bytes(np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="between 1 and 255 dimensions"):
        data.idx_bytes(np.uint8(3))


# -- load_mnist on small fake MNIST folders ------------------------------------------------------

def fake_mnist(folder, monkeypatch, n_train=30, n_test=20, gz=True, seed=0):
    """Write four small MNIST-shaped IDX files and make their checksums the expected ones."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name, a in arrays.items():
        data.write_idx(folder / (name + (".gz" if gz else "")), a)
        sums[name] = hashlib.sha256(data.idx_bytes(a)).hexdigest()
    monkeypatch.setattr(data, "MNIST_SHA256", sums)
    return arrays


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_load_mnist_from_a_folder(tmp_path, monkeypatch, gz):
    arrays = fake_mnist(tmp_path / "m", monkeypatch, gz=gz)
    m = data.load_mnist(tmp_path / "m")
    assert isinstance(m, data.MNIST)
    assert m.X_train.shape == (30, 28, 28) and m.y_train.shape == (30,)
    assert m.X_test.shape == (20, 28, 28) and m.X_test.dtype == np.uint8
    assert np.array_equal(m.X_train, arrays["train-images-idx3-ubyte"])
    assert np.array_equal(m.y_test, arrays["t10k-labels-idx1-ubyte"])


def test_load_mnist_from_the_environment_variable(tmp_path, monkeypatch):
    fake_mnist(tmp_path / "m", monkeypatch)
    monkeypatch.setenv("CNNLIT_DATA", str(tmp_path / "m"))
    assert data.load_mnist().X_train.shape == (30, 28, 28)


def test_the_real_checksums_are_the_published_ones():
    assert data.MNIST_SHA256["train-images-idx3-ubyte"].startswith("ba891046e6505d7a")
    assert data.MNIST_SHA256["t10k-labels-idx1-ubyte"].endswith("f7ec33f2")
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in data.MNIST_SHA256.values())
    assert len(set(data.MNIST_SHA256.values())) == 4
    assert set(data.MNIST_SHA256) == set(data.MNIST_FILES.values())


def test_load_mnist_without_folder_or_variable(monkeypatch):
    monkeypatch.delenv("CNNLIT_DATA", raising=False)
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist()
    msg = str(err.value)
    assert "CNNLIT_DATA" in msg and "download_mnist" in msg and "train-images-idx3-ubyte" in msg


def test_load_mnist_wrong_folder(tmp_path):
    where = tmp_path / "not-here"
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist(where)
    msg = str(err.value)
    assert str(where) in msg and "does not exist" in msg
    assert "CNNLIT_DATA" in msg and "download_mnist" in msg and "t10k-labels-idx1-ubyte" in msg


def test_load_mnist_a_file_is_not_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        data.load_mnist(f)


def test_load_mnist_missing_file_is_named(tmp_path, monkeypatch):
    fake_mnist(tmp_path, monkeypatch)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.load_mnist(tmp_path)
    msg = str(err.value)
    assert "missing from" in msg and str(tmp_path) in msg
    missing_part = msg.split("missing from", 1)[1].split("(looked for", 1)[0]
    assert "t10k-images-idx3-ubyte" in missing_part and "train-images" not in missing_part


def test_load_mnist_bad_checksum(tmp_path, monkeypatch):
    fake_mnist(tmp_path, monkeypatch)
    bad = tmp_path / "train-labels-idx1-ubyte.gz"
    data.write_idx(bad, np.zeros(30, dtype=np.uint8))  # a valid IDX file, but not the expected one
    with pytest.raises(ValueError, match="checksum mismatch") as err:
        data.load_mnist(tmp_path)
    assert str(bad) in str(err.value)


def test_load_mnist_real_checksums_reject_fake_files(tmp_path, monkeypatch):
    fake_mnist(tmp_path, monkeypatch)
    monkeypatch.undo()  # the real, published checksums again
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load_mnist(tmp_path)


def test_load_mnist_images_and_labels_must_match(tmp_path, monkeypatch):
    arrays = fake_mnist(tmp_path, monkeypatch)
    labels = np.zeros(7, dtype=np.uint8)  # 7 labels for 30 images
    data.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    sums = dict(data.MNIST_SHA256, **{"train-labels-idx1-ubyte": hashlib.sha256(data.idx_bytes(labels)).hexdigest()})
    monkeypatch.setattr(data, "MNIST_SHA256", sums)
    assert len(arrays["train-images-idx3-ubyte"]) == 30  # the images the 7 labels are paired with
    with pytest.raises(ValueError, match="do not match"):
        data.load_mnist(tmp_path)


# -- download_mnist against a local HTTP server -------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; yields (base_url, folder, requests)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = type("Handler", (_Quiet,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/mnist/", root / "mnist", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_download_mnist_fetches_verifies_and_loads(tmp_path, monkeypatch, server):
    url, www, requests = server
    arrays = fake_mnist(www, monkeypatch)
    dest = tmp_path / "dest" / "mnist"
    assert data.download_mnist(dest, base_url=url) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(n + ".gz" for n in data.MNIST_SHA256)
    m = data.load_mnist(dest)
    assert np.array_equal(m.X_test, arrays["t10k-images-idx3-ubyte"])
    assert len(requests) == 4
    data.download_mnist(dest, base_url=url)  # valid files are kept, not fetched again
    assert len(requests) == 4


def test_download_mnist_replaces_a_damaged_file(tmp_path, monkeypatch, server):
    url, www, requests = server
    fake_mnist(www, monkeypatch)
    dest = tmp_path / "dest"
    data.download_mnist(dest, base_url=url)
    (dest / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    data.download_mnist(dest, base_url=url)
    assert len(requests) == 5
    data.load_mnist(dest)


def test_download_mnist_checksum_failure_leaves_nothing(tmp_path, monkeypatch, server):
    url, www, _ = server
    fake_mnist(www, monkeypatch)
    # corrupt one served file: still valid gzip and IDX, but other content
    data.write_idx(www / "train-labels-idx1-ubyte.gz", np.ones(30, dtype=np.uint8))
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="failed verification") as err:
        data.download_mnist(dest, base_url=url)
    assert "train-labels-idx1-ubyte" in str(err.value)
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["train-images-idx3-ubyte.gz"], names  # the file before it, complete; no .part


def test_download_mnist_truncated_transfer_leaves_nothing(tmp_path, monkeypatch, server):
    url, www, _ = server
    fake_mnist(www, monkeypatch)
    path = www / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="failed verification"):
        data.download_mnist(dest, base_url=url)
    assert list(dest.iterdir()) == []


def test_download_mnist_http_error_leaves_no_partial_or_failed_file(tmp_path, monkeypatch, server):
    url, www, _ = server
    fake_mnist(www, monkeypatch)
    (www / "t10k-images-idx3-ubyte.gz").unlink()  # the server answers 404
    dest = tmp_path / "dest"
    with pytest.raises(OSError, match="could not download .*t10k-images-idx3-ubyte.gz"):
        data.download_mnist(dest, base_url=url)
    assert not any(p.name.endswith(".part") for p in dest.iterdir())
    assert not (dest / "t10k-images-idx3-ubyte.gz").exists()


# -- the embedded subset and load_digits ------------------------------------------------------------

def test_subset_is_class_balanced_and_matches_its_statistics():
    m = data.load_subset()
    assert m.X_train.shape == (6000, 28, 28) and m.X_test.shape == (1000, 28, 28)
    assert m.X_train.dtype == np.uint8 and m.y_train.dtype == np.uint8
    assert np.bincount(m.y_train, minlength=10).tolist() == [600] * 10
    assert np.bincount(m.y_test, minlength=10).tolist() == [100] * 10
    stats = data.subset_stats()
    assert stats["seed"] == data.SUBSET_SEED and stats["per_class"] == data.SUBSET_PER_CLASS
    assert data.pixel_stats(m.X_train, m.y_train) == stats["subset"]["train"]
    assert data.pixel_stats(m.X_test, m.y_test) == stats["subset"]["test"]
    idx = data.subset_indices()
    for split, n_full in (("train", 60000), ("test", 10000)):
        i = idx[split]
        assert np.all(np.diff(i) > 0) and i[0] >= 0 and i[-1] < n_full  # sorted, unique, in range
        assert stats["full"][split]["n"] == n_full


def test_subset_file_size_and_license_travel_with_the_package():
    folder = ROOT / "cnnlit" / "_data"
    assert (folder / "mnist_subset.npz").stat().st_size < 2.5e6
    text = (folder / "LICENSE-MNIST.txt").read_text()
    assert "LeCun" in text and "Cortes" in text and "Burges" in text and "CC BY-SA 3.0" in text
    assert not (ROOT / "cnnlit" / "data").exists(), "a folder cnnlit/data/ would clash with the module cnnlit/data.py"


def test_load_digits_default_layout():
    X, T = data.load_digits()
    assert X.shape == (6000, 1, 28, 28) and X.dtype == np.float64
    assert T.shape == (6000, 10) and set(np.unique(T)) == {0.0, 1.0}
    assert np.all(T.sum(axis=1) == 1)
    assert 0.0 == X.min() and X.max() == 1.0


def test_load_digits_options():
    X, y = data.load_digits("test", flatten=True, scale=False, one_hot_targets=False, dtype=np.float32)
    assert X.shape == (1000, 784) and X.dtype == np.float32 and X.max() == 255.0
    assert y.shape == (1000,) and y.dtype == np.int64
    m = data.load_subset()
    assert np.array_equal(X.reshape(1000, 28, 28), m.X_test.astype(np.float32))
    assert np.array_equal(y, m.y_test)
    _, T = data.load_digits("test", off=-1.0)
    assert set(np.unique(T)) == {-1.0, 1.0}
    assert np.array_equal(np.argmax(T, axis=1), y)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"split": "validation"}, ValueError, "split must be 'train' or 'test'"),
        ({"dtype": np.int32}, TypeError, "float32 or float64"),
        ({"off": 1.0}, ValueError, "off must be"),
        ({"off": float("nan")}, ValueError, "off must be"),
        ({"off": "zero"}, ValueError, "off must be"),
    ],
)
def test_load_digits_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.load_digits(**kwargs)


def test_one_hot():
    T = data.one_hot(np.array([2, 0]), 3, off=-1.0)
    assert np.array_equal(T, [[-1, -1, 1], [1, -1, -1]])
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        data.one_hot(np.array([3]), 3)
    with pytest.raises(TypeError, match="1-d array of integers"):
        data.one_hot(np.array([0.5]), 3)


def test_pixel_stats_by_hand():
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[0, 0, 0] = 255
    s = data.pixel_stats(images, np.array([0, 1]))
    assert s["n"] == 2 and s["class_counts"][:3] == [1, 1, 0]
    assert s["mean"] == round(255 / 1568, 6)
    assert s["zero_fraction"] == round(1567 / 1568, 6)
    assert s["class_mean"][0] == round(255 / 784, 6) and s["class_mean"][1] == 0.0
    assert s["histogram"][-1] == round(1 / 1568, 6) and s["histogram"][0] == round(1567 / 1568, 6)
    assert s["std"] == round(float(np.std(images.astype(np.float64))), 6)
    with pytest.raises(TypeError, match="uint8 images"):
        data.pixel_stats(images.astype(np.float64), np.array([0, 1]))


@pytest.mark.parametrize("labels, bins, message", [
    (np.array([0, 1, 2]), 16, "same N"),
    (np.array([0, 10]), 16, r"labels must lie in 0\.\.9"),
    (np.array([0, -1]), 16, r"labels must lie in 0\.\.9"),
    (np.array([0, 1]), 10, "positive divisor of 256"),
])
def test_pixel_stats_bad_input(labels, bins, message):
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match=message):
        data.pixel_stats(images, labels, bins=bins)


# -- rebuilding the subset from the full MNIST (developer machines and CI only) -------------------

def _close(a, b, path="stats"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6), path
    else:
        assert a == b, path


@pytest.mark.skipif(not os.environ.get("CNNLIT_DATA"),
                    reason="set CNNLIT_DATA to the full MNIST folder to re-cut the subset and compare")
def test_recut_subset_equals_the_committed_one(tmp_path):
    from tools import cut_mnist_subset

    npz, js = cut_mnist_subset.build(os.environ["CNNLIT_DATA"], tmp_path)
    committed = ROOT / "cnnlit" / "_data"
    with np.load(npz, allow_pickle=False) as new, np.load(committed / "mnist_subset.npz", allow_pickle=False) as old:
        assert sorted(new.files) == sorted(old.files)
        for key in old.files:
            assert new[key].dtype == old[key].dtype, key
            assert np.array_equal(new[key], old[key]), key
    _close(json.loads(js.read_text()), json.loads((committed / "mnist_subset_stats.json").read_text()))


# -- the installed package carries the data ---------------------------------------------------

def test_wheel_contains_and_loads_the_subset(tmp_path):
    """Build a wheel offline, install it into a target folder and load the subset from there."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cnnlit", src / "cnnlit", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    wheels = tmp_path / "wheels"
    subprocess.run(pip + ["wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-w", str(wheels)],
                   check=True, cwd=tmp_path, capture_output=True, timeout=120)
    (wheel,) = wheels.glob("cnnlit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("cnnlit/data.py", "cnnlit/_data/mnist_subset.npz", "cnnlit/_data/LICENSE-MNIST.txt",
                   "cnnlit/_data/mnist_subset_stats.json"):
        assert needed in names, (needed, names)

    target = tmp_path / "site"
    subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
                   check=True, cwd=tmp_path, capture_output=True, timeout=120)
    code = (
        "import cnnlit, cnnlit.data as d; "
        "X, T = d.load_digits('test'); "
        "print(cnnlit.__file__); print(X.shape, T.shape, int(T.sum()))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CNNLIT_DATA")}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         check=True, timeout=120).stdout.splitlines()
    assert Path(out[0]).resolve().is_relative_to(target.resolve()), out[0]
    assert out[1] == "(1000, 1, 28, 28) (1000, 10) 1000"
