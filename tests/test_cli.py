"""The command-line program of chapter 8, run as a user runs it: a subprocess, its output, its exit code.

Everything runs on the embedded subset with tiny settings (600 digits, two epochs), and without
CNNLIT_DATA, so that the tests need no download. Each kind of outcome (success, bad arguments,
failed run) runs at least once as a subprocess; the many variants of each bad input run through
cnnlit.cli.main in-process, which is the same code without the interpreter's start-up time.
"""
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def env():
    e = {k: v for k, v in os.environ.items() if k != "CNNLIT_DATA"}
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e["OPENBLAS_NUM_THREADS"] = e["OMP_NUM_THREADS"] = "1"
    return e


def run(*args, cwd=None, command=None):
    cmd = command or [sys.executable, "-m", "cnnlit"]
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, env=env(), cwd=cwd, timeout=120)


class InProcess:
    """The outcome of cnnlit.cli.main(args), shaped like a CompletedProcess."""

    def __init__(self, args, capsys):
        from cnnlit.cli import main
        capsys.readouterr()
        old = os.environ.pop("CNNLIT_DATA", None)
        try:
            self.returncode = main([str(a) for a in args])
        except SystemExit as exc:           # argparse: --help, bad arguments
            self.returncode = exc.code
        finally:
            if old is not None:
                os.environ["CNNLIT_DATA"] = old
        self.stdout, self.stderr = capsys.readouterr()


def assert_user_error(r, code, *words):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr                       # one line, no traceback
    assert "Traceback" not in r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "toolbox.npz"
    r = run("train", "--limit", 600, "--epochs", 2, "--seed", 3, "--save", path)
    assert r.returncode == 0, r.stderr
    assert "training toolbox" in r.stdout and "on the embedded subset: 600 training, 1000 test digits" in r.stdout
    assert "squared error, 2 epoch(s), batch 50, lr 1, seed 3, float32" in r.stdout
    assert f"saved the model to {path}" in r.stdout
    assert "steps" not in r.stderr                     # stderr is a pipe: tqdm's bar stays quiet
    global TRAIN_ERROR
    TRAIN_ERROR = [line for line in r.stdout.splitlines() if line.startswith("test error:")]
    assert len(TRAIN_ERROR) == 1
    at_chance = float(TRAIN_ERROR[0].split(":")[1].split("%")[0]) >= 85
    assert ("chance level" in r.stderr and "--lr" in r.stderr) == at_chance
    return path


def test_train_is_deterministic_and_quiet_turns_the_bar_off(model_file, tmp_path):
    r = run("train", "--limit", 600, "--epochs", 2, "--seed", 3, "--quiet")
    assert r.returncode == 0 and "steps" not in r.stderr
    assert [line for line in r.stdout.splitlines() if line.startswith("test error:")] == TRAIN_ERROR


def test_evaluate_prints_the_same_error_and_a_confusion_matrix(model_file):
    r = run("evaluate", model_file)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    error = TRAIN_ERROR[0].split(":", 1)[1].split("(")[0].strip()
    assert any(line.startswith("test error on the embedded subset: " + error) for line in lines)
    i = lines.index("confusion matrix (rows: true digit, columns: predicted digit):")
    rows = [list(map(int, line.split())) for line in lines[i + 2:i + 12]]
    assert [row[0] for row in rows] == list(range(10))
    counts = np.array([row[1:] for row in rows])
    assert counts.shape == (10, 10) and (counts.sum(axis=1) == 100).all()   # 100 test digits per class
    wrong = int(TRAIN_ERROR[0].split("(")[1].split()[0])
    assert counts.sum() - np.trace(counts) == wrong


def test_predict_png_and_npy_either_polarity(model_file, tmp_path):
    from PIL import Image

    from cnnlit.data import load_subset
    d = load_subset()
    digit = d.X_test[0]
    Image.fromarray(digit).save(tmp_path / "white_on_black.png")
    Image.fromarray(255 - digit).save(tmp_path / "black_on_white.png")
    np.save(tmp_path / "digit.npy", digit.astype(np.float64) / 255)
    r = run("predict", model_file, tmp_path / "white_on_black.png", tmp_path / "black_on_white.png", tmp_path / "digit.npy")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["image", "digit"] and len(lines) == 4
    rows = [line.split()[1:] for line in lines[1:]]
    assert rows[0] == rows[1] == rows[2]                    # the same digit three ways, the same scores
    assert 0 <= int(rows[0][0]) <= 9 and len(rows[0]) == 11


def test_help_on_every_subcommand(capsys):
    r = run("--help")
    assert r.returncode == 0 and "usage: cnnlit" in r.stdout and "{train,evaluate,predict}" in r.stdout
    for sub in ("train", "evaluate", "predict"):
        r = InProcess([sub, "--help"], capsys)
        assert r.returncode == 0 and f"usage: cnnlit {sub}" in r.stdout
    assert "--batch-size" in InProcess(["train", "--help"], capsys).stdout


def test_bad_arguments_exit_2_with_one_line_in_a_subprocess():
    assert_user_error(run("train", "--epochs", "0"), 2, "cnnlit train: error:", "--epochs", "must be positive")


@pytest.mark.parametrize("args, words", [
    ([], ["the following arguments are required"]),
    (["fit"], ["invalid choice: 'fit'"]),
    (["train", "--epochs", "0"], ["--epochs", "must be positive"]),
    (["train", "--lr", "fast"], ["--lr", "is not a float"]),
    (["train", "--model", "lenet"], ["--model", "invalid choice"]),
    (["train", "--loss", "hinge"], ["--loss", "invalid choice"]),
    (["train", "--limit", "10", "--batch-size", "50"], ["--batch-size 50 is larger than the training set (10 digits)"]),
    (["predict", "model.npz"], ["the first argument must be a model file", "got only model.npz"]),
    (["predict", "seven.png"], ["the first argument must be a model file", "seven.png looks like an image"]),
    (["predict", "seven.png", "eight.png"], ["the first argument must be a model file", "seven.png"]),
    (["train", "--lr", "1e39"], ["--lr 1e+39", "at most 1000"]),
    (["train", "--lr", "1e39", "--dtype", "float64"], ["--lr 1e+39", "at most 1000"]),
    (["train", "--model", "best", "--lr", "300"], ["step size of 1200", "at most 1000"]),
    (["train", "--decay", "1e300"], ["--decay", "must lie in (0, 1]"]),
    (["train", "--decay", "1.5"], ["--decay", "must lie in (0, 1]"]),
    (["train", "--decay", "nan"], ["--decay", "must lie in (0, 1]"]),
    (["train", "--save", "models/"], ["cannot write models/", "it is a folder"]),
    (["train", "--seed", "-1"], ["--seed", "must be a non-negative int"]),
    (["train", "--data", ""], ["--data", "an empty file name"]),
    (["train", "--save", ""], ["--save", "an empty file name"]),
    (["evaluate", ""], ["MODEL", "an empty file name"]),
    (["predict", "model.npz", ""], ["IMAGE", "an empty file name"]),
    (["train", "--penalty-lambda", "-1"], ["--penalty-lambda", "must be a finite number >= 0"]),
    (["train", "--penalty-lambda", "nan"], ["--penalty-lambda", "must be a finite number >= 0"]),
    (["train", "--penalty-lambda", "some"], ["--penalty-lambda", "is not a float"]),
    (["train", "--penalty-lambda", "0.01"], ["--penalty-lambda", "only --model combine has", "--model toolbox"]),
    (["train", "--model", "best", "--penalty-lambda", "0"], ["--penalty-lambda", "(got --model best)"]),
])
def test_bad_arguments_exit_2_with_one_line(args, words, capsys):
    assert_user_error(InProcess(args, capsys), 2, *words)


def test_missing_data_folder_exits_1(tmp_path, capsys):
    assert_user_error(run("train", "--data", tmp_path / "nowhere", "--quiet"), 1, "cnnlit train: error:", "nowhere")
    assert_user_error(InProcess(["train", "--data", tmp_path, "--quiet"], capsys), 1, "MNIST files missing")
    assert_user_error(InProcess(["evaluate", "m.npz", "--data", tmp_path], capsys), 1, "no such model file")


def test_unreadable_model_files_exit_1(model_file, tmp_path, capsys):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    plain = tmp_path / "plain.npz"
    np.savez(plain, W6=np.zeros(3))
    digit = tmp_path / "d.npy"
    np.save(digit, np.zeros((28, 28)))
    assert_user_error(run("evaluate", junk), 1, "cnnlit evaluate: error:", "not a cnnlit model file")
    for cmd in (["evaluate"], ["predict"]):
        extra = [digit] if cmd == ["predict"] else []
        assert_user_error(InProcess([*cmd, tmp_path / "missing.npz", *extra], capsys), 1, "no such model file")
        assert_user_error(InProcess([*cmd, junk, *extra], capsys), 1, "not a cnnlit model file")
        assert_user_error(InProcess([*cmd, plain, *extra], capsys), 1, "not a cnnlit model file")
    with np.load(model_file) as f:
        stored = {k: f[k] for k in f.files}
    for label, change in (("extra", {"k9": np.zeros(2, np.float32)}), ("mis-typed", {"W6": stored["W6"].astype(float)}),
                          ("nan", {"b6": np.full_like(stored["b6"], np.nan)})):
        damaged = tmp_path / f"{label}.npz"
        np.savez(damaged, **{**stored, **change})
        assert_user_error(InProcess(["evaluate", damaged], capsys), 1, "cnnlit evaluate: error:", str(damaged),
                          "the file is damaged")


def test_save_into_a_missing_folder_fails_before_training(tmp_path, capsys):
    r = InProcess(["train", "--limit", 600, "--save", tmp_path / "nowhere" / "m.npz"], capsys)
    assert_user_error(r, 2, "cnnlit train: error: cannot write", "does not exist")
    assert "test error" not in r.stdout


def test_bad_images_exit_1(model_file, tmp_path, capsys):
    from PIL import Image
    (tmp_path / "text.png").write_text("hello")
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    colour = np.zeros((28, 28, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "red.png")
    np.save(tmp_path / "neg.npy", -np.ones((28, 28)))
    np.save(tmp_path / "obj.npy", np.array([None, 1], dtype=object))
    cases = [("missing.png", "no such image file"), ("text.png", "not an image cnnlit can read"),
             ("big.png", "the image is blank"), ("red.png", "the image is blank"),
             ("neg.npy", "pixel values must lie in 0..1 or 0..255"), ("obj.npy", "not a readable .npy array")]
    assert_user_error(run("predict", model_file, tmp_path / "text.png"), 1, "cnnlit predict: error:", "not an image")
    for name, words in cases:
        r = InProcess(["predict", model_file, tmp_path / name], capsys)
        assert_user_error(r, 1, "cnnlit predict: error:", name, words)


def test_console_script_is_declared_and_runs(model_file):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, func = scripts["cnnlit"].split(":")
    assert (module, func) == ("cnnlit.cli", "main")
    beside = Path(sys.executable).with_name("cnnlit")  # the venv's bin/, also when it is not on PATH
    exe = str(beside) if beside.exists() else shutil.which("cnnlit")
    if exe is None:
        if os.environ.get("CI"):  # CI installs the package into a fresh venv: the script must be there
            pytest.fail(f"the console script cnnlit is not installed beside {sys.executable}")
        pytest.skip("the console script is not installed (pip install -e . writes it)")
    r = run("evaluate", model_file, command=[exe])
    assert r.returncode == 0 and "confusion matrix" in r.stdout


def test_the_best_model_is_the_recorded_best_recipe():
    """`cnnlit train --model best` trains the network, the schedule and the distortion of the
    protocol's recorded runs (benchmarks/results/repro_best_val_*.json and repro_best_seed*.json,
    which chapter 8 reads): the validation candidates differ only in their distortion, and the
    test-stage seeds use the one the program uses."""
    import json

    from cnnlit.cli import DISTORTIONS, MODELS, build_model, make_parser
    from cnnlit.train import SoftmaxCrossEntropy, softmax_cnn

    results = ROOT / "benchmarks" / "results"
    spec = MODELS["best"]
    val = {d: json.loads((results / f"repro_best_val_{d}.json").read_text()) for d in DISTORTIONS}
    seeds = [json.loads(f.read_text()) for f in sorted(results.glob("repro_best_seed*.json"))]
    for r in [*val.values(), *seeds]:
        st = r["settings"]
        assert st["loss"] == spec["loss"] == "cross-entropy"
        assert (st["lr"], st["decay_per_epoch"], st["epochs"]) == (spec["lr"], spec["decay"], spec["epochs"])
        assert {int(k): v for k, v in st["layer_scale"].items()} == spec["layer_scale"]
        assert st["batch_size"] == make_parser().parse_args(["train"]).batch_size
        net, ref = build_model("best", rng=5), softmax_cnn(maps=tuple(st["maps"]), activation=st["activation"],
                                                         rng=5, dtype=np.float32)
        assert isinstance(net.loss_fn, SoftmaxCrossEntropy) and repr(net) == repr(ref)
        assert all(np.array_equal(net.params[k], ref.params[k]) for k in ref.params)
    assert {d: r["settings"]["distortion"] for d, r in val.items()} == {d: d for d in DISTORTIONS}
    assert all(r["settings"]["train_patterns"] == 50000 and r["test_error"] is None for r in val.values())
    assert len(seeds) >= 3, "the protocol's three test-stage seeds have not been recorded yet"
    chosen = min((d for d, r in val.items() if not r.get("stopped")), key=lambda d: val[d]["final_error"])
    for r in seeds:
        assert r["settings"]["distortion"] == chosen and r["settings"]["train_patterns"] == 60000
    assert spec["distortion"] == DISTORTIONS[chosen]
    test = np.array([r["test_error"] for r in seeds[:3]])
    mean, sd = 100 * test.mean(), 100 * test.std(ddof=1)
    from cnnlit.cli import BEST_PROTOCOL
    assert f"{mean:.2f}% +- {sd:.2f}%" in BEST_PROTOCOL                        # `cnnlit train --help`
    for doc in ("README.md", "book/08_digits.md"):                             # and the summary
        assert f"{mean:.2f}% ± {sd:.2f}% (mean ± sd" in (ROOT / doc).read_text(), doc


def test_save_into_a_folder_fails_before_training(tmp_path, capsys):
    r = InProcess(["train", "--limit", 600, "--save", tmp_path], capsys)
    assert_user_error(r, 2, "cnnlit train: error: cannot write", "it is a folder")
    assert "test error" not in r.stdout


def test_a_16_bit_png_is_scaled_not_clipped(tmp_path):
    """A 16-bit grey PNG (values 0..65535) reads as the same image as its 8-bit version."""
    from PIL import Image

    from cnnlit.cli import read_image
    digit = np.zeros((28, 28), np.uint16)
    digit[6:22, 12:16] = 40000                        # a bar at 61% of full scale
    Image.fromarray(digit).save(tmp_path / "d16.png")
    Image.fromarray((digit // 257).astype(np.uint8)).save(tmp_path / "d8.png")
    x16, x8 = read_image(tmp_path / "d16.png"), read_image(tmp_path / "d8.png")
    assert abs(x16.max() - 40000 / 65535) < 1e-9
    assert np.abs(x16 - x8).max() < 1 / 255


def test_a_closed_output_pipe_ends_quietly(model_file):
    """`cnnlit evaluate m.npz | head -1`: when the reader has gone, no traceback, exit code 141."""
    read_end, write_end = os.pipe()
    os.close(read_end)                      # nobody will read: every write fails with EPIPE
    try:
        r = subprocess.run([sys.executable, "-m", "cnnlit", "evaluate", str(model_file)], stdout=write_end,
                           stderr=subprocess.PIPE, text=True, env=env(), timeout=120)
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (141, ""), r.stderr


# -- issue 20, the command line's classes: 5 saving, 7 crafted files, 9 image modes, 10 options ------
def test_a_run_at_chance_says_so(capsys):
    """A step size far too large diverges to chance level; train says so and names --lr (issue 19)."""
    r = InProcess(["train", "--limit", 600, "--epochs", 1, "--lr", 900, "--quiet"], capsys)
    assert r.returncode == 0 and "test error: 90" in r.stdout or "test error: 8" in r.stdout, r.stdout
    assert "chance level" in r.stderr and "--lr 900" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_options_that_would_overflow_are_refused_before_training(capsys):
    for args in (["--lr", "1e39"], ["--decay", "1e300"], ["--lr", "3e38", "--dtype", "float32"],
                 ["--model", "best", "--lr", "251"]):
        r = InProcess(["train", *args], capsys)
        assert r.returncode == 2 and "training" not in r.stdout, (args, r.stdout, r.stderr)


def test_the_progress_bar_is_tqdm_with_rate_and_loss():
    import io

    from cnnlit.cli import Progress, build_model
    from cnnlit.data import load_digits
    from cnnlit.train import SGD, train
    X, T = load_digits("train", dtype=np.float32)
    stream = io.StringIO()
    net = build_model("toolbox", rng=0)
    bar = Progress(SGD(1.0), 4, "epoch 1/1", stream=stream)
    train(net, X[:200], T[:200], epochs=1, batch_size=50, optimizer=bar, rng=0, monitor=(X[:1], T[:1]),
          progress=False)
    text = stream.getvalue()
    assert "epoch 1/1" in text and "4/4 steps" in text and "loss" in text and "step/s" in text
    assert "tqdm" in type(bar.bar).__module__


def test_tqdm_is_a_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.split(">")[0].split("=")[0].strip() == "tqdm" for d in project["dependencies"])
    assert "tqdm==" in (ROOT / "environment.yml").read_text()


def test_save_writes_exactly_the_path_asked_for(tmp_path):
    """Class 5: no .npz appended, folders and trailing slashes refused, the user's umask applies."""
    import stat

    from cnnlit.cli import build_model, load_model, save_model
    net, info = build_model("toolbox", rng=2), {"model": "toolbox", "loss": "squared", "dtype": "float32"}
    for name in ("model", "model.bin", "model.npz", ".hidden"):
        save_model(net, tmp_path / name, info)
        back, _ = load_model(tmp_path / name)
        assert all(np.array_equal(back.params[k], net.params[k]) for k in net.params)   # round trip
    assert sorted(p.name for p in tmp_path.iterdir()) == [".hidden", "model", "model.bin", "model.npz"]
    for mask in (0o022, 0o077, 0o002):
        old = os.umask(mask)
        try:
            save_model(net, tmp_path / f"m{mask:o}", info)
        finally:
            os.umask(old)
        assert stat.S_IMODE((tmp_path / f"m{mask:o}").stat().st_mode) == 0o666 & ~mask
    (tmp_path / "folder").mkdir()
    for bad in (tmp_path / "folder", str(tmp_path / "new") + "/", str(tmp_path / "folder") + "/"):
        with pytest.raises(ValueError, match="folder"):
            save_model(net, bad, info)
    assert not (tmp_path / "new").exists() and list((tmp_path / "folder").iterdir()) == []


@pytest.mark.parametrize("label", ["nan", "inf", "wrong-model", "wrong-dtype", "wrong-loss-shape", "extra", "deep"])
def test_save_refuses_what_load_would_refuse(tmp_path, label):
    from cnnlit.cli import build_model, save_model
    net, info = build_model("toolbox", rng=2), {"model": "toolbox", "loss": "squared", "dtype": "float32"}
    if label in ("nan", "inf"):
        net.params["k2"].flat[3] = np.nan if label == "nan" else np.inf
    elif label == "wrong-model":
        info["model"] = "best"
    elif label == "wrong-dtype":
        info["dtype"] = "float64"
    elif label == "wrong-loss-shape":
        net = build_model("combine", rng=2)
    elif label == "extra":
        class Extra:
            params = {**net.params, "k9": np.zeros(3, np.float32)}
        net = Extra()
    else:
        deep = {}
        for _ in range(40):
            deep = {"x": deep}
        info["history"] = deep
    with pytest.raises(ValueError, match="model|info"):
        save_model(net, tmp_path / "m.npz", info)
    assert list(tmp_path.iterdir()) == []                     # nothing written, no temporary left


def _zip_with(path, members, *, flag_bits=0, compress_type=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name)
            zi.compress_type = zipfile.ZIP_STORED
            z.writestr(zi, data)
    raw = bytearray(path.read_bytes())
    if flag_bits or compress_type != zipfile.ZIP_STORED:      # patch every header of the archive
        for sig, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
            i = raw.find(sig)
            while i >= 0:
                raw[i + flag_at:i + flag_at + 2] = flag_bits.to_bytes(2, "little")
                raw[i + method_at:i + method_at + 2] = compress_type.to_bytes(2, "little")
                i = raw.find(sig, i + 4)
    path.write_bytes(bytes(raw))
    return path


def _npy(a=None, *, header=None):
    import io
    buf = io.BytesIO()
    if header is None:
        np.save(buf, a)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


def _model_members():
    import json

    from cnnlit.cli import build_model
    net = build_model("toolbox", rng=2)
    info = json.dumps({"model": "toolbox", "loss": "squared", "dtype": "float32"})
    return {**{f"{k}.npy": _npy(np.asarray(v)) for k, v in net.params.items()},
            "cnnlit_info.npy": _npy(np.array(info))}


CRAFTED = {
    "huge-shape": lambda m: {**m, "k2.npy": _npy(header={"descr": "<f4", "fortran_order": False,
                                                         "shape": (10**6, 10**6)})},
    "huge-shape-right-kind": lambda m: {**m, "W6.npy": _npy(header={"descr": "<f4", "fortran_order": False,
                                                                  "shape": (10, 10**11)})},
    "huge-info": lambda m: {**m, "cnnlit_info.npy": _npy(header={"descr": "<U1000000000", "fortran_order": False,
                                                               "shape": ()})},
    "short-data": lambda m: {**m, "b6.npy": m["b6.npy"][:-8]},
    "deep-json": lambda m: {**m, "cnnlit_info.npy": _npy(np.array("[" * 100000 + "]" * 100000))},
    "deep-json-object": lambda m: {**m, "cnnlit_info.npy": _npy(np.array(
        '{"model": "toolbox", "loss": "squared", "dtype": "float32", "x": ' + "[" * 50 + "]" * 50 + "}"))},
}


@pytest.mark.parametrize("label", [*CRAFTED, "encrypted", "unknown-compression", "bzip2"])
def test_crafted_model_files_are_refused_without_allocating(tmp_path, label, capsys):
    """Class 7: every size is checked before memory is allocated; one line from the program."""
    import tracemalloc

    from cnnlit.cli import load_model
    members = _model_members()
    if label in CRAFTED:
        path = _zip_with(tmp_path / "m.npz", CRAFTED[label](members))
    else:
        flags, method = {"encrypted": (1, 0), "unknown-compression": (0, 99), "bzip2": (0, 12)}[label]
        path = _zip_with(tmp_path / "m.npz", members, flag_bits=flags, compress_type=method)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert peak < 4e6, f"{peak / 1e6:.1f} MB allocated to refuse {label}"
    assert_user_error(InProcess(["evaluate", path], capsys), 1, "cnnlit evaluate: error:", str(path))


def test_a_good_model_file_still_loads_after_the_crafting_helpers(tmp_path):
    from cnnlit.cli import load_model
    model, info = load_model(_zip_with(tmp_path / "m.npz", _model_members()))
    assert info["model"] == "toolbox" and model.params["k2"].shape == (1, 6, 5, 5)


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_paths_that_are_not_regular_files_are_refused(tmp_path, kind, capsys):
    if kind == "fifo":
        path = tmp_path / "pipe.npz"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
        if not path.exists():
            pytest.skip("no /dev/zero on this system")
    from cnnlit.cli import load_model, read_image
    for fn in (load_model, read_image):
        with pytest.raises(ValueError, match="not a regular file"):
            fn(path)
    assert_user_error(InProcess(["evaluate", path], capsys), 1, "not a regular file")


def _png_claiming(path, width, height):
    """A valid 1x1 grey PNG whose header then claims width x height pixels (CRC fixed)."""
    import struct
    import zlib as z

    from PIL import Image
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(path)
    raw = bytearray(path.read_bytes())
    i = raw.index(b"IHDR")
    raw[i + 4:i + 12] = struct.pack(">II", width, height)
    raw[i + 17:i + 21] = struct.pack(">I", z.crc32(bytes(raw[i:i + 17])))
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("size", [(20000, 20000), (5000, 5000), (100000, 1000)])
def test_image_bombs_are_one_line_refusals(tmp_path, size, capsys):
    import tracemalloc

    from cnnlit.cli import read_image
    path = _png_claiming(tmp_path / "bomb.png", *size)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="pixels") as info:
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(info.value) and peak < 4e6
    model = tmp_path / "m.npz"
    _zip_with(model, _model_members())
    assert_user_error(InProcess(["predict", model, path], capsys), 1, "cnnlit predict: error:", "pixels")


def test_an_npy_image_declaring_more_than_its_file_is_refused(tmp_path):
    import tracemalloc

    from cnnlit.cli import read_image
    path = tmp_path / "huge.npy"
    path.write_bytes(_npy(header={"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="not a readable .npy"):
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4e6


def _digit():
    from cnnlit.data import load_subset
    return load_subset().X_test[0]                      # (28, 28) uint8, white on black


MODES = ["L", "LA-alpha-only", "RGBA-alpha-only-white-ink", "RGBA-alpha-only-black-ink", "RGB", "RGBA", "P",
         "P-transparency", "1", "CMYK", "I;16", "I", "F", "YCbCr", "LAB"]


@pytest.mark.parametrize("mode", MODES)
def test_every_image_mode_reads_as_the_digit(tmp_path, mode):
    """Class 9: alpha-only drawings are composited onto a contrary background; every mode converts."""
    from PIL import Image

    from cnnlit.cli import read_image
    d = _digit()
    ink = 255 - d                                       # dark on light, as drawn on paper
    grey = Image.fromarray(ink)
    if mode == "LA-alpha-only":
        im = Image.merge("LA", [Image.new("L", grey.size, 0), Image.fromarray(d)])
    elif mode.startswith("RGBA-alpha-only"):
        colour = 255 if "white" in mode else 0
        a = np.zeros((28, 28, 4), np.uint8)
        a[..., :3], a[..., 3] = colour, d
        im = Image.fromarray(a, "RGBA")
    elif mode == "P-transparency":
        im = grey.convert("P")
        im.info["transparency"] = 255                   # palette entry 255 (white paper) is clear
    elif mode == "1":
        im = grey.point(lambda v: 255 if v > 127 else 0).convert("1")
    elif mode in ("I;16", "I"):
        im = Image.fromarray(ink.astype(np.uint16) * 257) if mode == "I;16" else \
            Image.fromarray(ink.astype(np.int32) * 257, "I")
    elif mode == "F":
        im = Image.fromarray(ink.astype(np.float32) / 255)
    else:
        im = grey.convert(mode)
    suffix = {"CMYK": ".tif", "YCbCr": ".tif", "LAB": ".tif", "F": ".tif", "I": ".tif"}.get(mode, ".png")
    path = tmp_path / f"digit{suffix}"
    im.save(path, transparency=im.info["transparency"]) if mode == "P-transparency" else im.save(path)
    x = read_image(path)
    expected = (d > 127).astype(float) if mode == "1" else d / 255
    tolerance = 0.03 if mode != "LAB" else 0.1
    assert x.shape == (28, 28) and np.abs(x - expected).max() < tolerance + (1.0 if mode == "P-transparency" else 0)
    assert np.corrcoef(x.ravel(), expected.ravel())[0, 1] > 0.97


@pytest.mark.parametrize("kind", ["white", "black", "grey", "transparent", "faint", "one-dot"])
def test_blank_images_are_refused(tmp_path, kind, capsys):
    from PIL import Image

    from cnnlit.cli import preprocess, read_image
    a = np.full((200, 200), {"white": 255, "black": 0, "grey": 128, "faint": 250}.get(kind, 255), np.uint8)
    if kind == "faint":
        a[50:150, 95:105] = 240                          # a stroke 4% darker than the paper
    if kind == "transparent":
        im = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    else:
        if kind == "one-dot":
            a[100, 100] = 0
        im = Image.fromarray(a)
    im.save(tmp_path / "blank.png")
    with pytest.raises(ValueError, match="blank"):
        x = read_image(tmp_path / "blank.png")
        preprocess(x)
    model = _zip_with(tmp_path / "m.npz", _model_members())
    assert_user_error(InProcess(["predict", model, tmp_path / "blank.png"], capsys), 1, "blank")


def test_predict_frames_any_size_like_mnist(tmp_path, capsys):
    """A digit drawn large, off-centre, on a 300x200 canvas, reads as the digit framed 28x28."""
    from PIL import Image
    from scipy import ndimage

    from cnnlit.cli import preprocess, read_image
    d = _digit()
    canvas = np.full((200, 300), 255, np.uint8)
    big = np.asarray(Image.fromarray(255 - d).resize((140, 140), Image.Resampling.BILINEAR))
    canvas[10:150, 150:290] = big
    Image.fromarray(canvas).save(tmp_path / "drawn.png")
    x = preprocess(read_image(tmp_path / "drawn.png"))
    assert x.shape == (28, 28) and 0.9 < x.max() <= 1
    com = ndimage.center_of_mass(x)
    assert abs(com[0] - 14) <= 0.5 and abs(com[1] - 14) <= 0.5
    rows, cols = np.flatnonzero((x > 0.25).any(axis=1)), np.flatnonzero((x > 0.25).any(axis=0))
    assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in (19, 20, 21)
    assert np.corrcoef(x.ravel(), preprocess(d / 255).ravel())[0, 1] > 0.9
    model = _zip_with(tmp_path / "m.npz", _model_members())
    r = InProcess(["predict", model, tmp_path / "drawn.png"], capsys)
    assert r.returncode == 0 and "drawn.png" in r.stdout
    r = InProcess(["predict", "--raw", model, tmp_path / "drawn.png"], capsys)
    assert_user_error(r, 1, "with --raw cnnlit needs 28x28")


def test_penalty_lambda_sets_the_weight_of_the_combine_networks_penalty(tmp_path, capsys):
    """--penalty-lambda (exercise 8.2) reaches the penalty: from one seed, lambda 0 and 0.03 train
    different combination weights; the default is chapter 6's 0.004; the model file records the
    weight and evaluate prints it."""
    from cnnlit.cli import COMBINE_LAMBDA, load_model
    c4 = {}
    for lam in (None, "0", "0.03"):
        path = tmp_path / f"combine-{lam}.npz"
        option = [] if lam is None else ["--penalty-lambda", lam]
        r = InProcess(["train", "--model", "combine", *option, "--limit", 600, "--epochs", 1, "--quiet",
                       "--save", path], capsys)
        assert r.returncode == 0, r.stderr
        expected = COMBINE_LAMBDA if lam is None else float(lam)
        assert f", penalty lambda {expected:g}\n" in r.stdout
        model, info = load_model(path)
        assert info["penalty_lambda"] == expected
        c4[lam] = model.params["c4"]
        r = InProcess(["evaluate", path], capsys)
        assert r.returncode == 0 and f"600 digits, penalty lambda {expected:g}\n" in r.stdout
    assert COMBINE_LAMBDA == 0.004
    assert not np.array_equal(c4["0"], c4["0.03"])
    assert "--penalty-lambda LAMBDA" in InProcess(["train", "--help"], capsys).stdout
