"""Appendix C (book/C1_api.md) is the API reference: its stored output lists every public name of the package."""
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

import cnnlit

ROOT = Path(__file__).resolve().parent.parent
APPENDIX = ROOT / "book" / "C1_api.ipynb"


def _sections():
    """{module name: the text that the appendix printed for it}, from the stored outputs."""
    nb = json.loads(APPENDIX.read_text())
    sections = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        if m := re.match(r"cnnlit\.(\w+): ", text):
            sections[m.group(1)] = text
    return sections


def _public():
    return [(m, n) for m in cnnlit.__all__ for n in importlib.import_module(f"cnnlit.{m}").__all__]


def test_the_appendix_has_a_section_for_every_module():
    assert set(_sections()) == set(cnnlit.__all__), sorted(set(cnnlit.__all__) ^ set(_sections()))


@pytest.mark.parametrize("module, name", _public(), ids=lambda v: v)
def test_every_public_name_is_in_the_appendix(module, name):
    text = _sections().get(module, "")
    entry = re.compile(rf"^(class )?{re.escape(name)}(\(|\s=\s|$)", re.M)
    assert entry.search(text), f"cnnlit.{module}.{name} is public but missing from Appendix C (book/C1_api.md)"


def test_the_appendix_counts_the_names_it_lists():
    for module, text in _sections().items():
        n = len(importlib.import_module(f"cnnlit.{module}").__all__)
        assert f"public names: {n}\n" in text, module


def test_the_appendix_is_generated_not_written():
    """No export cells and no module in the front matter: the appendix only reads the package."""
    md = (ROOT / "book" / "C1_api.md").read_text()
    front = md.split("---", 2)[1]
    assert "cnnlit:" not in front and not re.search(r"^:tags:.*export", md, re.M)


# Every public function and class names its formula and its shapes (the convention of Appendix B).
NO_FORMULA = "Formula: none ("   # then what the name does instead, e.g. "Formula: none (reads an IDX file)."
NO_ARRAYS = "Shapes: none (no arrays)."
# A formula ID: the paper's N1-N14 and U2.1a ... U4.4a, or a book equation's label such as eq-fast-cols.
ID = re.compile(r"(?<![\w.-])(N\d+|U\d\.\d[a-z](?![\w])|eq-[a-z0-9]+(?:-[a-z0-9]+)*)(?![\w])")
# A shape: a tuple of dimensions such as (N, n_in), (C, P, Q), (..., P, Q), (n_out,), (N, n_out, P-R+1, Q-S+1).
_DIM = r"(?:\.\.\.|[\w'′]+(?:\s*[-+*/]\s*[\w'′]+)*)"
SHAPE = re.compile(rf"(?<![\w])\((\s*{_DIM}\s*,(?:\s*{_DIM}\s*,)*(?:\s*{_DIM})?\s*)\)|(?<![\w])\(\.\.\.\)")
_SIZE = re.compile(r"\.\.\.|\d+|[A-Za-z](?:_\w+)?['′]?|.*[-+*/].*")  # at least one entry must look like a size


def _book_ids():
    """The formula IDs the book defines: its \\tag{..}s (a number k is the paper's Nk) and its eq- labels."""
    ids = set()
    for md in (ROOT / "book").glob("*.md"):
        text = md.read_text()
        ids |= {f"N{t}" if t.isdigit() else t for t in re.findall(r"\\tag\{([^}]*)\}", text)}
        ids |= set(re.findall(r"\$\$\s*\((eq-[a-z0-9-]+)\)", text))
        ids |= set(re.findall(r"^\((eq-[a-z0-9-]+)\)=", text, re.M))
    return ids


BOOK_IDS = _book_ids()


def _has_shape(doc):
    for m in SHAPE.finditer(doc):
        if m.group(1) is None:  # (...): any shape
            return True
        dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
        if any(_SIZE.fullmatch(d) for d in dims):
            return True
    return False


def _callables():
    return [(m, n) for m, n in _public() if callable(getattr(importlib.import_module(f"cnnlit.{m}"), n))]


def test_the_book_defines_the_formula_ids():
    assert {f"N{k}" for k in range(1, 15)} <= BOOK_IDS
    assert {"U2.1a", "U3.1a", "U3.3e", "U4.4a", "eq-fast-cols", "eq-idx-length"} <= BOOK_IDS


def docstring_problems(obj, name):
    """What the docstring of ``obj`` lacks: a formula ID of the book (or NO_FORMULA) and a shape (or NO_ARRAYS)."""
    doc = inspect.getdoc(obj) or ""
    problems = []
    ids = ID.findall(doc)
    unknown = sorted(set(ids) - BOOK_IDS)
    if unknown:
        problems.append(f"names {unknown}, which no chapter tags or labels (see book/*.md)")
    if not ids and NO_FORMULA not in doc:
        problems.append(f"names no formula ID (such as U3.1a, N4, eq-fast-cols) and does not say {NO_FORMULA!r}...")
    if not _has_shape(doc) and NO_ARRAYS not in doc:
        problems.append(f"gives no shape (such as (N, C, P, Q)) and does not say {NO_ARRAYS!r}")
    return [f"the docstring of {name} {p}" for p in problems]


@pytest.mark.parametrize("module, name", _callables(), ids=lambda v: v)
def test_every_public_docstring_names_its_formula_and_shapes(module, name):
    obj = getattr(importlib.import_module(f"cnnlit.{module}"), name)
    problems = docstring_problems(obj, f"cnnlit.{module}.{name}")
    assert not problems, "; ".join(problems)


def test_the_docstring_check_can_fail():
    def nothing():
        """Does something."""

    def typo():
        """Convolution (U3.1f) of x (N, C, P, Q)."""

    def good():
        """Convolution (U3.1a) of x (N, C, P, Q)."""

    def good_none():
        """Reads a file.

        Formula: none (reads a file). Shapes: none (no arrays).
        """

    assert len(docstring_problems(nothing, "nothing")) == 2
    assert docstring_problems(typo, "typo") == [
        "the docstring of typo names ['U3.1f'], which no chapter tags or labels (see book/*.md)"
    ]
    assert docstring_problems(good, "good") == docstring_problems(good_none, "good_none") == []
    for prose in ("(model, info)", "f(x, y)", "(the name, loss, ...)"):
        assert not _has_shape(prose), prose
    for shape in ("(N, n_in)", "(C, P, Q)", "(..., P, Q)", "(n_out,)", "(N, n_out, P-R+1, Q-S+1)", "(...)"):
        assert _has_shape(shape), shape
