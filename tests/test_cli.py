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
    assert "epoch 2/2" in r.stderr and "12/12 steps, loss" in r.stderr      # the progress bar
    global TRAIN_ERROR
    TRAIN_ERROR = [line for line in r.stdout.splitlines() if line.startswith("test error:")]
    assert len(TRAIN_ERROR) == 1
    return path


def test_train_is_deterministic_and_quiet_turns_the_bar_off(model_file, tmp_path):
    r = run("train", "--limit", 600, "--epochs", 2, "--seed", 3, "--quiet")
    assert r.returncode == 0 and r.stderr == ""
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
    (["predict", "model.npz"], ["the following arguments are required: IMAGE"]),
    (["train", "--seed", "-1"], ["--seed", "must be a non-negative int"]),
    (["train", "--data", ""], ["--data", "an empty file name"]),
    (["train", "--save", ""], ["--save", "an empty file name"]),
    (["evaluate", ""], ["MODEL", "an empty file name"]),
    (["predict", "model.npz", ""], ["IMAGE", "an empty file name"]),
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
             ("big.png", "(32, 32); cnnlit needs 28x28"), ("red.png", "a colour image"),
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
    """`cnnlit train --model best` trains the network and the rates of the recorded full-MNIST run
    (benchmarks/results/repro_best_tanh.json, which chapter 8 reads)."""
    import json

    from cnnlit.cli import MODELS, build_model, make_parser
    from cnnlit.train import SoftmaxCrossEntropy, softmax_cnn

    run = json.loads((ROOT / "benchmarks" / "results" / "repro_best_tanh.json").read_text())["settings"]
    spec = MODELS["best"]
    assert spec["loss"] == "cross-entropy" and run["loss"] == "cross-entropy"
    assert [spec["lr"] * spec["layer_scale"][ell] for ell in (2, 4, 6)] == run["layer_rates"]
    assert run["batch_size"] == make_parser().parse_args(["train"]).batch_size
    net, ref = build_model("best", rng=5), softmax_cnn(maps=tuple(run["maps"]), activation=run["activation"], rng=5,
                                                     dtype=np.float32)
    assert isinstance(net.loss_fn, SoftmaxCrossEntropy) and repr(net) == repr(ref)
    assert all(np.array_equal(net.params[k], ref.params[k]) for k in ref.params)
    assert np.isclose(spec["decay"] ** spec["epochs"], run["anneal_to"], rtol=0.05)


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
