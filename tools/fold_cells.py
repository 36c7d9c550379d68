#!/usr/bin/env python3
"""Fold the cells that set up, only assert or only draw a figure, and store the kernelspec
JupyterLab writes.

The page leads with the mathematics. These code cells get the cell tag `fold` (and
`jupyter.source_hidden`, so JupyterLab collapses their code):

- a setup cell: imports, with at most NumPy's print options, `sys.path` entries, constant or
  path assignments and small helper functions (three statements at most) beside them;
- a cell whose statements are all `assert`s;
- a figure's cell (its label, `fig-...-cell`, is what a figure directive embeds): the code
  only draws what the caption describes.
 The site shows such a cell's code behind "show code" with its output still shown, and
the PDF prints its output only (tools/site/render.mjs, tools/pdf/myst-plugin.mjs). Export cells
(they are the package, and the book) and solution cells are never folded. A cell tagged `fold`
by hand keeps its tag; this tool only adds what is missing.

It also sets each chapter's kernelspec to what JupyterLab's Python kernel writes on save
(display_name "Python 3 (ipykernel)"), so that opening and saving an unchanged chapter in
JupyterLab leaves `git diff` empty.

The tool is idempotent: a second run changes nothing. It writes the `.md` through jupytext (the
chapters are in jupytext's canonical form, tests/test_sync.py), and the paired `.ipynb` as
tools/execute.py would (its outputs and ids kept), so the two stay in step without re-running.

Usage::

    python tools/fold_cells.py            # every chapter in book/
    python tools/fold_cells.py --check    # list what it would change; exit 1 if anything
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FOLD = "fold"
NEVER = {"export", "solution"}
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


SETUP_CALLS = {"np.set_printoptions", "sys.path.insert", "sys.path.append", "plt.rcParams.update",
               "warnings.filterwarnings"}


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _constant(node) -> bool:
    """A value built of constants, names and attributes, with Path(...) the only call."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and _dotted(n.func) != "Path":
            return False
    return True


def _setup(stmt) -> bool:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        return _dotted(stmt.value.func) in SETUP_CALLS
    if isinstance(stmt, ast.Assign):
        return _constant(stmt.value)
    if isinstance(stmt, ast.FunctionDef):
        body = stmt.body[1:] if ast.get_docstring(stmt) else stmt.body
        return len(body) <= 3
    return False


def kind(source: str, label: str = "") -> str | None:
    """'import', 'setup', 'assert' or 'figure' when the cell is one (see the module's
    docstring), else None. `label` is the cell's label, if it has one."""
    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics and the like: leave the cell alone
        return None
    if not body:
        return None
    if all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body):
        return "import"
    if any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body) and all(map(_setup, body)):
        return "setup"
    if all(isinstance(s, ast.Assert) for s in body):
        return "assert"
    if label.startswith("fig-") and label.endswith("-cell"):
        return "figure"
    return None


def fold_notebook(nb) -> list[str]:
    """Tag the foldable cells of a jupytext notebook in place; what changed, one line each."""
    changes = []
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        tags = list(cell.metadata.get("tags", []))
        if NEVER & set(tags):
            continue
        what = kind(cell.source, str(cell.metadata.get("label", "")))
        if what and FOLD not in tags:
            cell.metadata["tags"] = [*tags, FOLD]
            changes.append(f"cell {i}: {what}-only, tagged {FOLD}")
        if FOLD in cell.metadata.get("tags", []) and not cell.metadata.get("jupyter", {}).get("source_hidden"):
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
            changes.append(f"cell {i}: source_hidden")
    if dict(nb.metadata.get("kernelspec", {})) != KERNELSPEC:
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        changes.append("kernelspec: " + KERNELSPEC["display_name"])
    return changes


def process(md: Path, write: bool) -> list[str]:
    import jupytext
    from jupytext.config import load_jupytext_config

    from tools.execute import paired_notebook

    config = load_jupytext_config(str(md.parent))
    text = md.read_text()
    nb = jupytext.reads(text, fmt="md:myst")
    changes = fold_notebook(nb)
    new_md = jupytext.writes(nb, fmt="md:myst", config=config)
    ipynb = md.with_suffix(".ipynb")
    if write and new_md != text:
        md.write_text(new_md)
    if ipynb.exists():
        # the notebook as tools/execute.py writes it: the .md's inputs, the .ipynb's outputs
        if write:
            new_nb = jupytext.writes(paired_notebook(md), fmt="ipynb")
            if new_nb.rstrip("\n") != ipynb.read_text().rstrip("\n"):
                ipynb.write_text(new_nb if new_nb.endswith("\n") else new_nb + "\n")
    return changes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("chapters", nargs="*", type=Path, help="chapter .md files (default: book/*.md)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything would change")
    args = ap.parse_args(argv)
    chapters = [p.resolve() for p in args.chapters] or sorted((ROOT / "book").glob("*.md"))
    total = 0
    for md in chapters:
        changes = process(md, write=not args.check)
        total += len(changes)
        for c in changes:
            print(f"{md.relative_to(ROOT)}: {c}")
    if args.check:
        return 1 if total else 0
    print(f"fold_cells: {total} change(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
