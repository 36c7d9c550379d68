"""Drift checks: the package, the notebooks and the environment files must agree with their sources."""
import re
import tomllib
from pathlib import Path

import jupytext
import pytest
from jupytext.config import load_jupytext_config

from tools import tangle
from tools.execute import paired_notebook

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("*.md"))


def test_there_are_chapters():
    names = [p.stem for p in CHAPTERS]
    assert "00_index" in names and "01_fully_connected" in names, names


def test_package_matches_what_the_book_exports():
    diff = tangle.diff(tangle.tangle_all())
    assert not diff, "cnnlit/ differs from the book; run `python tools/tangle.py`:\n" + diff


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_in_step_with_its_markdown(md):
    """What `jupytext --to ipynb --update` would write must be what is committed."""
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing; run `python tools/execute.py {md.relative_to(ROOT)}`"
    expected = jupytext.writes(paired_notebook(md), fmt="ipynb")
    assert ipynb.read_text().rstrip("\n") == expected.rstrip("\n"), (
        f"{ipynb.name} is out of step with {md.name}; run `python tools/execute.py {md.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_notebook_has_outputs_for_every_code_cell(md):
    nb = jupytext.read(md.with_suffix(".ipynb"))
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "code" and cell.source.strip():
            assert cell.execution_count is not None, f"{md.stem}.ipynb cell {i} was never executed"


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.name)
def test_markdown_is_in_canonical_jupytext_form(md):
    """The .md round-trips through jupytext unchanged, so no tool rewrites it behind our back."""
    text = md.read_text()
    config = load_jupytext_config(str(md.parent))
    assert jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="md:myst", config=config) == text


def _requirement(spec):
    m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:(==|>=)\s*([^\s;]+))?\s*", spec)
    assert m, f"cannot parse requirement {spec!r}"
    return m.group(1).lower(), m.group(2), m.group(3)


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pinned = {}
    for group in ("book", "lab", "test"):
        for spec in extras[group]:
            name, op, ver = _requirement(spec)
            assert op == "==", f"{spec!r} in extra {group!r} must be pinned with =="
            assert pinned.setdefault(name, ver) == ver, f"{name} is pinned to two versions in pyproject"
    runtime = {_requirement(s)[0] for s in project["dependencies"]}
    assert runtime == {"numpy", "scipy", "matplotlib", "tqdm"}, (
        "the runtime needs numpy, scipy, matplotlib and tqdm (the program's progress bar) only")
    assert runtime <= set(pinned), "every runtime dependency must be pinned in the book/test extras"

    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    env = {}
    for line in pip_section.splitlines():
        line = line.strip()
        if not line.startswith("- ") or line == "- -e .":
            continue
        name, op, ver = _requirement(line[2:])
        assert op == "==", f"environment.yml must pin {name} with =="
        env[name] = ver
    assert "- -e ." in pip_section, "environment.yml must install the package itself from the checkout"
    python = re.search(r"^\s*-\s*python\s*=\s*(\d+\.\d+)\s*$", text, re.M)
    assert python, "environment.yml must pin python=X.Y"
    lowest = re.fullmatch(r">=\s*(\d+\.\d+)", project["requires-python"])
    assert lowest, f"requires-python should be '>=X.Y', got {project['requires-python']!r}"
    assert python.group(1) == lowest.group(1), (
        f"environment.yml installs python {python.group(1)} but pyproject.toml requires {project['requires-python']}"
    )
    assert env == pinned, (
        "environment.yml and pyproject.toml disagree:\n"
        f"  only in pyproject or different: { {k: v for k, v in pinned.items() if env.get(k) != v} }\n"
        f"  only in environment.yml or different: { {k: v for k, v in env.items() if pinned.get(k) != v} }"
    )


def test_every_chapter_is_in_the_table_of_contents():
    toc = re.findall(r"-\s*file:\s*(\S+)", (ROOT / "myst.yml").read_text())
    # chapters (00_, 01_, ...), then appendices (A1_, B1_, ...), then back matter (references)
    def place(p):
        return (0 if p.stem[0].isdigit() else 1 if re.match(r"[A-Z]\d+_", p.stem) else 2, p.stem)

    assert toc == [f"book/{p.stem}.ipynb" for p in sorted(CHAPTERS, key=place)], toc


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    m = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert m, "README.md must mark its test command with <!-- test-command -->"
    assert m.group(1).strip() in ci, ".ci/run must run the README's test command verbatim"
