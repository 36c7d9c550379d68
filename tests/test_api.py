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


# Every formula of the paper is cited where it is computed (issue 18): each of its 32 IDs appears
# in the docstring of a public function, class or method, or Appendix B lists it, with the reason,
# among the formulas that no function computes.
PAPER_IDS = (["U2.1a"] + [f"N{k}" for k in range(1, 7)] + ["U2.2a"]
             + [f"U3.1{c}" for c in "abcde"] + ["N7"] + [f"U3.2{c}" for c in "abcde"]
             + [f"U3.3{c}" for c in "abcd"] + [f"N{k}" for k in range(8, 15)] + ["U3.3e", "U4.4a"])
NOT_COMPUTED = "(sec-conventions-not-computed)="   # the label of Appendix B's list


def _docstrings():
    """Every docstring of the package's public names and of their public methods and properties."""
    docs = []
    for m, n in _public():
        obj = getattr(importlib.import_module(f"cnnlit.{m}"), n)
        docs.append(inspect.getdoc(obj) or "")
        if inspect.isclass(obj):
            for name, member in inspect.getmembers(obj):
                public = not name.startswith("_") or name in ("__init__", "__call__")
                if public and (callable(member) or isinstance(member, property)):
                    docs.append(inspect.getdoc(member) or "")
    return docs


def not_computed_list():
    """{ID: reason} from Appendix B's list: the lines '- `ID` ...: reason' after its label."""
    md = (ROOT / "book" / "B1_conventions.md").read_text()
    assert NOT_COMPUTED in md, f"Appendix B (book/B1_conventions.md) has no list labelled {NOT_COMPUTED}"
    section = md.split(NOT_COMPUTED, 1)[1].split("\n#", 1)[0]
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^- `([NU][\d.]+[a-z]?)`[^:\n]*:(.*)$", section, re.M)}


def uncited(ids, docs, listed):
    """The IDs that no docstring names and no list entry (with a non-empty reason) gives."""
    cited = set()
    for doc in docs:
        cited |= set(ID.findall(doc))
    return [i for i in ids if i not in cited and not listed.get(i)]


def test_the_paper_has_32_formula_ids_and_the_book_tags_them():
    assert len(PAPER_IDS) == len(set(PAPER_IDS)) == 32
    assert set(PAPER_IDS) <= BOOK_IDS, sorted(set(PAPER_IDS) - BOOK_IDS)


def test_every_formula_of_the_paper_is_cited_where_it_is_computed_or_listed():
    listed = not_computed_list()
    assert set(listed) <= set(PAPER_IDS), sorted(set(listed) - set(PAPER_IDS))
    missing = uncited(PAPER_IDS, _docstrings(), listed)
    assert not missing, (f"no docstring of cnnlit names {missing}, and Appendix B's list "
                         f"{NOT_COMPUTED} does not give them with a reason")


def test_the_citation_check_can_fail():
    docs = ["Convolution (U3.1a) of x (N, C, P, Q).", "Kernel gradient (N7, computed as U3.1e)."]
    assert uncited(["U3.1a", "N7", "U3.1e", "N13"], docs, {}) == ["N13"]
    assert uncited(["N13"], docs, {"N13": "the chain rule"}) == []
    assert uncited(["N13"], docs, {"N13": ""}) == ["N13"]          # a listed ID needs its reason
    assert uncited(["N1"], ["E^n (N10)"], {}) == ["N1"]             # N1 is not N10
