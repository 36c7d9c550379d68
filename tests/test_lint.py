"""The linter: ruff (pinned in the `test` extra) passes on the tools, the tests, the benchmarks and the
generated package, with the rules configured in pyproject.toml."""
import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

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


def test_the_package_keeps_to_88_columns():
    """cnnlit/ as tools/tangle.py writes it: every line within 88 columns, like the chapters' cells
    it comes from (tools, tests and benchmarks may use 130)."""
    from tools import tangle

    long = []
    for name, text in tangle.tangle_all().items():
        long += [f"cnnlit/{name}:{i}: {len(line)} columns" for i, line in enumerate(text.splitlines(), 1)
                 if len(line) > LINE_LENGTH]
    assert not long, long


def test_the_tangled_modules_pass_ruff_as_generated():
    """What tools/tangle.py writes (headers, ``__all__``, ``__init__``) passes, not only what is on disk."""
    from tools import tangle

    for name, text in tangle.tangle_all().items():
        proc = subprocess.run(
            [*_ruff(), "check", "--no-cache", "--output-format", "concise", "--stdin-filename", f"cnnlit/{name}", "-"],
            cwd=ROOT, input=text, capture_output=True, text=True,
        )
        assert proc.returncode == 0, f"the tangled cnnlit/{name} fails ruff:\n{proc.stdout}{proc.stderr}"


# ---------------------------------------------------------------- the chapters' cells: 88 columns
# Code in the book keeps to 88 columns (ruff's line length), so that it fits the site's column
# and the PDF without wrapping. Every chapter's code is swept, so the check below is on.
LINE_LENGTH_SWEEP_DONE = True
# The printed outputs are swept too: every chapter prints within 88 columns (long messages are
# wrapped, wide tables split), so the check below and tests/test_site.py's no-sideways-scrolling
# check (which sees code and output blocks alike) are on.
OUTPUT_SWEEP_DONE = True
LINE_LENGTH = 88


def long_lines_per_chapter(tmp_path) -> dict[str, list[str]]:
    """chapter -> ruff's E501 reports (line-length 88) on its code cells, magics blanked."""
    import jupytext

    for md in sorted((ROOT / "book").glob("*.md")):
        nb = jupytext.read(md, fmt="md:myst")
        cells = []
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            lines = [("# " + ln if ln.lstrip().startswith(("%", "!")) else ln) for ln in cell.source.splitlines()]
            cells.append("\n".join(lines))
        (tmp_path / f"{md.stem}.py").write_text("\n\n# %%\n".join(cells) + "\n")
    proc = subprocess.run(
        [*_ruff(), "check", "--isolated", "--no-cache", "--select", "E501", "--line-length", str(LINE_LENGTH),
         "--output-format", "concise", str(tmp_path)],
        capture_output=True, text=True,
    )
    found: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        if "E501" in line:
            name = Path(line.split(":", 1)[0]).stem
            found.setdefault(name, []).append(line)
    return found


def test_chapter_cells_keep_to_88_columns(tmp_path):
    found = long_lines_per_chapter(tmp_path)
    counts = {k: len(v) for k, v in found.items()}
    if not LINE_LENGTH_SWEEP_DONE:
        pytest.skip(f"not yet swept: lines over {LINE_LENGTH} columns per chapter: {counts}")
    assert not found, f"code lines over {LINE_LENGTH} columns per chapter: {counts}"


def long_output_lines_per_chapter() -> dict[str, int]:
    """chapter -> number of stored output lines (stream, text/plain) over 88 columns."""
    import json

    found = {}
    for nb_path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(nb_path.read_text())
        n = 0
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                text = out.get("text") or out.get("data", {}).get("text/plain") or ""
                text = "".join(text) if isinstance(text, list) else text
                if not text.startswith("<Figure size"):
                    n += sum(len(line) > LINE_LENGTH for line in text.splitlines())
        if n:
            found[nb_path.stem] = n
    return found


def test_printed_outputs_keep_to_88_columns():
    found = long_output_lines_per_chapter()
    if not OUTPUT_SWEEP_DONE:
        assert set(found) <= {"05_combinations", "06_sparsity", "07_practical", "A1_digits"}, found
        pytest.skip(f"not yet swept: printed lines over {LINE_LENGTH} columns per chapter: {found}")
    assert not found, f"printed lines over {LINE_LENGTH} columns per chapter: {found}"
