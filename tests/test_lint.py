"""The linter: ruff (pinned in the `test` extra) passes on the tools, the tests, the benchmarks and the
generated package, with the rules configured in pyproject.toml."""
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINTED = ["tools", "tests", "benchmarks", "cnnlit", "conftest.py"]


def _ruff() -> list[str]:
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    exe = shutil.which("ruff")
    assert exe, 'ruff is not installed; `pip install -e ".[test]"` installs it'
    return [exe]


def test_ruff_is_the_pinned_version():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    (pinned,) = [p.split("==")[1] for p in pins if p.startswith("ruff==")]
    out = subprocess.run([*_ruff(), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["ruff", pinned], f"ruff {pinned} is pinned, {out.strip()!r} is installed"


def test_ruff_check_passes():
    proc = subprocess.run(
        [*_ruff(), "check", "--no-cache", "--output-format", "concise", *LINTED],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, (
        "ruff check failed (fix tools/tests/benchmarks directly, cnnlit/ through the chapters' export cells):\n"
        + proc.stdout + proc.stderr
    )


def test_the_tangled_modules_pass_ruff_as_generated():
    """What tools/tangle.py writes (headers, ``__all__``, ``__init__``) passes, not only what is on disk."""
    from tools import tangle

    for name, text in tangle.tangle_all().items():
        proc = subprocess.run(
            [*_ruff(), "check", "--no-cache", "--output-format", "concise", "--stdin-filename", f"cnnlit/{name}", "-"],
            cwd=ROOT, input=text, capture_output=True, text=True,
        )
        assert proc.returncode == 0, f"the tangled cnnlit/{name} fails ruff:\n{proc.stdout}{proc.stderr}"
