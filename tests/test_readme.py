"""Every snippet in the README works as written.

The same holds for CONTRIBUTING.md, where the contributor's material lives.

- Each ```python block runs, as it stands, in a fresh interpreter (with this checkout's cnnlit).
- Each ```bash block is read command by command (lines, then `&&`): the programs it calls
  from `.venv/bin/` are installed in this environment, the extras it installs exist in
  pyproject.toml, the repository files it names exist, and the repository's tools it runs
  accept the options it gives them. The long-running commands are run elsewhere: the book
  command's build by tests/conftest.py, the lab command by tests/test_jupyterlab.py, the test
  command by .ci/run.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CONTRIBUTING = (ROOT / "CONTRIBUTING.md").read_text()
BLOCKS = re.findall(r"^[ \t]*```(\w+)\n(.*?)^[ \t]*```", README + "\n" + CONTRIBUTING, flags=re.S | re.M)
PYTHON = [b for lang, b in BLOCKS if lang == "python"]
BASH = [b for lang, b in BLOCKS if lang == "bash"]
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def test_the_readme_has_its_commands():
    for marker in ("book-command", "test-command", "lab-command", "pdf-command"):
        assert re.search(rf"<!-- {marker} -->\s*```bash\n", README), marker
    assert PYTHON and BASH


def test_the_readme_leads_with_a_quick_start():
    """What it is, then a quick start with the two commands; contributor material elsewhere."""
    heads = re.findall(r"^## (.+)$", README, flags=re.M)
    assert heads[0] == "Quick start", heads
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    for marker in ("book-command", "lab-command", "test-command"):
        assert f"<!-- {marker} -->" in quick, f"the quick start lacks the {marker}"
    assert "cnnlit train" in quick, "the quick start does not say how to run the program"
    assert "Ctrl-C" in quick and "keeps running" in quick, "the book command's server: say it keeps running and how to stop it"
    # 192 lines before the student edition's section (issue 23) is merged; it was 269 with the build's design
    assert len(README.splitlines()) <= 250, f"the README is {len(README.splitlines())} lines"
    assert "(CONTRIBUTING.md)" in README
    for moved in ("render.mjs", "DevTools", "Jupyter Book 1", "tools/tangle.py"):
        assert moved not in README and moved in CONTRIBUTING, f"{moved!r} belongs in CONTRIBUTING.md"


def test_one_virtual_environment_folder_and_it_is_ignored():
    """Every command creates and calls the same venv folder, and git ignores it."""
    text = README + CONTRIBUTING
    created = set(re.findall(r"python3 -m venv (\S+)", text))
    called = set(re.findall(r"(?<![\w./])(\.?venv)/bin/", text))
    assert created == {".venv"} and called == {".venv"}, (created, called)
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".venv/" in ignored and "venv/" in ignored, ignored


@pytest.mark.parametrize("i", range(len(PYTHON)))
def test_python_snippet_runs(i, tmp_path):
    code = textwrap.dedent(PYTHON[i])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    env.pop("CNNLIT_DATA", None)
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"README snippet {i} fails:\n{code}\n{r.stderr[-3000:]}"


def commands():
    for block in BASH:
        for line in block.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            for cmd in filter(None, (c.strip() for c in line.split("&&"))):
                yield cmd


COMMANDS = list(commands())


@pytest.mark.parametrize("cmd", COMMANDS)
def test_bash_command_is_runnable(cmd):
    argv = shlex.split(cmd)
    prog = argv[0]
    bindir = Path(sys.executable).parent
    if prog.startswith((".venv/bin/", "venv/bin/")):
        name = prog.rsplit("/", 1)[1]
        assert (bindir / name).exists(), f"{cmd!r}: {name} is not installed by the extras"
    else:
        assert prog in {"python3", "git"}, f"{cmd!r}: an unexpected program"
    for arg in argv[1:]:
        if m := re.fullmatch(r"-e|\.(?:\[([\w,]+)\])?", arg):
            for extra in filter(None, (m.group(1) or "").split(",")):
                assert extra in EXTRAS, f"{cmd!r}: no extra {extra!r} in pyproject.toml"
        elif re.match(r"(book|tools|cnnlit|tests)/", arg):
            assert (ROOT / arg).exists(), f"{cmd!r}: {arg} does not exist"
    # the repository's own tools accept the options the README gives them
    script = next((a for a in argv[1:] if re.fullmatch(r"tools/\w+\.py", a)), None)
    if script and len(argv) > argv.index(script) + 1:
        opts = [a for a in argv[argv.index(script) + 1:] if a.startswith("--")]
        if opts:
            helptext = subprocess.run([sys.executable, ROOT / script, "--help"], capture_output=True, text=True,
                                      cwd=ROOT, timeout=60).stdout
            for o in opts:
                assert o.split("=")[0] in helptext, f"{cmd!r}: {script} has no option {o}"


def test_tangle_as_the_readme_runs_it():
    """`tools/tangle.py` from "Working on the book" runs and finds cnnlit/ up to date."""
    r = subprocess.run([sys.executable, ROOT / "tools" / "tangle.py", "--check"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
