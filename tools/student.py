"""The student edition of the book, and the grader that checks a reader's code against cnnlit.

Two commands use this module (see the README, "The student edition"):

- ``tools/student_edition.py DIR`` writes the student edition to ``DIR``: the chapters with
  every function and method body of their ``export`` cells replaced by a stub that raises
  ``NotImplementedError("implement U3.1e (Conv.backward)")``, naming the formula IDs of its
  docstring. Imports, signatures, docstrings, constants and the special methods
  (``__init__``, ``__repr__``, ...) stay as they are: they fix the attribute names that the
  rest of the book relies on. The worked solutions (from ``solution-start`` to
  ``solution-end``, with the code cells tagged ``solution`` between them) are removed; the
  derivations, the checks and the exercises stay, with the recorded results the chapters read
  (``benchmarks/results``, ``benchmarks/explore``). ``DIR`` must be empty or missing: the tool
  never overwrites anything.
- ``tools/grade.py DIR [CHAPTER ...]`` grades the reader's chapters in ``DIR``. For each
  chapter it builds the reader's module from the chapter's export cells (executed into a
  namespace of their own, so that ``from cnnlit.conv import conv2`` in chapter 3 imports the
  installed reference unless ``--mine`` names chapter 2), then

  1. compares every function and method with the reference (the installed cnnlit) on the
     random cases of ``tools/grade_cases.py``: each case runs the reference under a
     profiler that records the arguments of every call into the chapter's module; each
     recorded call is replayed with the reader's function *alone* (everything it calls is
     the reference), so one wrong function is named and no other; results, arguments
     changed in place and the state of ``self`` are compared, with shapes and dtypes;
  2. runs the chapter's own finite-difference checks: its code cells in order, up to the
     last one that calls ``numerical_gradient``, ``check_gradients``, ``rel_error`` or
     ``print_errors``, with the reader's functions.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import functools
import importlib
import inspect
import io
import os
import re
import shutil
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The paper's formula IDs (shared/paper): N1-N14, and U<section>.<n><letter> for unnumbered displays.
FORMULA_ID = re.compile(r"\b(N1[0-4]|N[1-9]|U\d\.\d[a-z])\b")
STUB_PREFIX = "implement "
RECORDED = ("benchmarks/results", "benchmarks/explore")  # copied into the edition, read by chapters
SOLUTION_TAG = "solution"
# A cell that runs a finite-difference check (chapter 1's tools).
CHECK_CALL = re.compile(r"\b(numerical_gradient|check_gradients|rel_error|print_errors)\s*\(")


# --------------------------------------------------------------------------------------------
# The student edition
# --------------------------------------------------------------------------------------------

def formula_ids(doc: str | None) -> list[str]:
    seen: list[str] = []
    for m in FORMULA_ID.findall(doc or ""):
        if m not in seen:
            seen.append(m)
    return seen


def method_ids(doc: str | None, class_doc: str | None = None) -> list[str]:
    """The formula IDs of a function's or method's own docstring."""
    return formula_ids(doc)


def stub_message(qualname: str, doc: str | None, class_doc: str | None = None) -> str:
    ids = method_ids(doc, class_doc)
    return STUB_PREFIX + (f"{', '.join(ids)} ({qualname})" if ids else qualname)


def _stubbable(node: ast.AST) -> bool:
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
        node.name.startswith("__") and node.name.endswith("__"))


def stubbed_names(src: str) -> list[str]:
    """The qualified names the edition stubs in a module's source (a property's setter: NAME.setter)."""
    names = []
    for qualname, node, _ in _functions(ast.parse(src)):
        if _stubbable(node):
            setter = any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in node.decorator_list)
            names.append(qualname + ".setter" if setter else qualname)
    return names


def _functions(tree: ast.Module):
    """(qualname, node, class docstring) for each top-level function and each method of a top-level class."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node, None
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{sub.name}", sub, ast.get_docstring(node)


def stub_source(src: str) -> tuple[str, list[str]]:
    """``src`` (an export cell) with each function and method body replaced by a stub.

    Returns the new source and the qualified names stubbed. Lines outside the bodies
    (imports, decorators, signatures, docstrings, comments between definitions) are kept as
    they are; special methods (``__init__``, ...) keep their bodies.
    """
    tree = ast.parse(src)
    lines = src.splitlines(keepends=True)
    edits = []  # (first line, last line, replacement lines), 1-based inclusive
    names = []
    for qualname, node, class_doc in _functions(tree):
        if not _stubbable(node):
            continue
        body = node.body
        doc = ast.get_docstring(node)
        has_doc = doc is not None and isinstance(body[0], ast.Expr)
        indent = " " * body[0].col_offset
        msg = stub_message(qualname, doc, class_doc)
        stub = f"{indent}raise NotImplementedError({msg!r})\n"
        if body[0].lineno == node.lineno:  # a one-line definition: `def f(x): return x`
            line = lines[node.lineno - 1]
            head = line[:body[0].col_offset].rstrip()
            edits.append((node.lineno, node.end_lineno,
                          [head + "\n", " " * (node.col_offset + 4) + f"raise NotImplementedError({msg!r})\n"]))
        elif has_doc:
            if len(body) == 1 and lines[body[0].end_lineno - 1].rstrip().endswith(("'''", '"""')):
                edits.append((body[0].end_lineno + 1, body[0].end_lineno, [stub]))  # insert after the docstring
            else:
                edits.append((body[0].end_lineno + 1, node.end_lineno, [stub]))
        else:
            edits.append((body[0].lineno, node.end_lineno, [stub]))
        names.append(qualname)
    for first, last, new in sorted(edits, reverse=True):
        lines[first - 1:last] = new
    out = "".join(lines)
    ast.parse(out)  # still Python
    return out, names


_FENCE = re.compile(r"^(:{3,})\{(solution|solution-start|solution-end)\}")


def strip_solutions_md(text: str, in_solution: bool) -> tuple[str, bool]:
    """Remove the solution spans from one markdown cell; ``in_solution`` carries across cells."""
    out = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m:
            fence, kind = m.groups()
            # skip the directive block itself: up to its closing fence
            j = i + 1
            while j < len(lines) and lines[j].strip() != fence:
                j += 1
            if kind == "solution-start":
                in_solution = True
            elif kind == "solution-end":
                in_solution = False
            i = j + 1
            continue
        if not in_solution:
            out.append(lines[i])
        i += 1
    return "".join(out), in_solution


def student_notebook(nb):
    """The student version of a chapter (a jupytext notebook), and the names it stubbed."""
    nb = copy.deepcopy(nb)
    cells = []
    stubbed = []
    in_solution = False
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "code":
            if in_solution or SOLUTION_TAG in tags:
                continue
            if any(t == "export" or t.startswith("export:") for t in tags):
                cell.source, names = stub_source(cell.source)
                stubbed += names
        elif cell.cell_type in ("markdown", "raw"):
            text, in_solution = strip_solutions_md(cell.source, in_solution)
            if text != cell.source:
                text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
            if not text.strip():
                continue
            cell.source = text
            if cells and cells[-1].cell_type == "markdown" == cell.cell_type and not cell.metadata:
                cells[-1].source = cells[-1].source.rstrip("\n") + "\n\n" + text  # where a solution was
                continue
        cells.append(cell)
    if in_solution:
        raise ValueError("a solution-start has no solution-end")
    nb.cells = cells
    return nb, stubbed


EDITION_README = """\
# cnnlit, student edition

Written by `tools/student_edition.py` from the book in {source}.

Every function and method in the chapters' `export` cells is a stub that raises
`NotImplementedError` and names the formula to implement. Fill them in, chapter by chapter,
in JupyterLab (from the cnnlit clone: `.venv/bin/jupyter lab --LabApp.app_settings_dir=tools/lab {book}`),
then grade a chapter from the clone with

    .venv/bin/python tools/grade.py {target} 2

or every chapter with `tools/grade.py {target}`. Your chapter 3 imports the reference
chapters 1-2 (the installed cnnlit) unless you add `--mine 1 2`. The worked solutions are
not in this edition; they are in the book.
"""


def write_md(nb, path: Path, book: Path = BOOK) -> None:
    """Write a chapter as the book writes it (its jupytext.toml keeps the ``cnnlit`` front matter)."""
    import jupytext
    from jupytext.config import load_jupytext_configuration_file

    config = load_jupytext_configuration_file(str(book / "jupytext.toml"))
    Path(path).write_text(jupytext.writes(nb, fmt="md:myst", config=config))


def write_edition(target: Path, book: Path = BOOK) -> list[Path]:
    """Write the student edition of ``book`` to ``target``/book; refuse a non-empty ``target``."""
    import jupytext
    from jupytext.config import load_jupytext_configuration_file

    config = load_jupytext_configuration_file(str(book / "jupytext.toml")) if (book / "jupytext.toml").exists() else None
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(
            f"{target} is not an empty folder; the student edition is only written to a new or empty "
            "folder, so that nothing you wrote is overwritten")
    out = target / "book"
    out.mkdir(parents=True)
    written = []
    for md in sorted(book.glob("*.md")):
        nb = jupytext.read(md, fmt="md:myst")
        snb, _ = student_notebook(nb)
        path = out / md.name
        path.write_text(jupytext.writes(snb, fmt="md:myst", config=config))
        written.append(path)
    for extra in ("jupytext.toml",):
        if (book / extra).exists():
            (out / extra).write_text((book / extra).read_text())
            written.append(out / extra)
    # the recorded results that chapters 4, 7 and 8 read from ../benchmarks/ (they run in book/)
    for folder in RECORDED:
        src = book.parent / folder
        if src.is_dir():
            shutil.copytree(src, target / folder)
            written += sorted(p for p in (target / folder).rglob("*") if p.is_file())
    (target / "README.md").write_text(EDITION_README.format(source=book, target=target, book=out))
    written.append(target / "README.md")
    return written


# --------------------------------------------------------------------------------------------
# Building the reader's modules
# --------------------------------------------------------------------------------------------

def find_chapter(book: Path, key: str) -> Path:
    key = str(key)
    p = Path(key)
    if p.suffix == ".md" and p.exists():
        return p
    if re.fullmatch(r"\d", key):
        key = "0" + key
    hits = sorted(book.glob(f"{key}_*.md")) or sorted(book.glob(f"{key}*.md"))
    if len(hits) != 1:
        raise ValueError(f"no chapter {key!r} in {book} (give a number such as 3, or A1, B1)")
    return hits[0]


def chapter_modules(md: Path) -> dict[str, str]:
    """{module name: source} of a chapter's export cells."""
    md = Path(md)
    return dict(_chapter_modules(md, md.stat().st_mtime_ns, md.stat().st_size))


@functools.lru_cache(maxsize=64)
def _chapter_modules(md: Path, mtime_ns: int, size: int) -> tuple:
    from tools.tangle import collect

    return tuple((name, "\n\n".join(src for _, src in mod.cells) + "\n") for name, mod in collect(md).items())


def build_module(name: str, source: str, origin: Path) -> types.ModuleType:
    """Execute a reader's export cells as a module of their own (not ``cnnlit.<name>``)."""
    mod = types.ModuleType(f"cnnlit_student.{name}")
    mod.__file__ = str(origin)
    exec(compile(source, f"{origin} (module {name})", "exec"), mod.__dict__)
    return mod


def _members(mod: types.ModuleType, classes_from: str | None = None):
    """{qualname: function} of a module's own functions and the methods of its own classes."""
    modname = classes_from or mod.__name__
    out = {}
    for name, obj in vars(mod).items():
        if isinstance(obj, types.FunctionType) and obj.__module__ == modname:
            out[name] = obj
        elif isinstance(obj, type) and obj.__module__ == modname:
            for attr, v in vars(obj).items():
                if isinstance(v, (staticmethod, classmethod)):
                    v = v.__func__
                if isinstance(v, property):
                    if v.fget is not None:
                        out[f"{name}.{attr}"] = v.fget
                    if v.fset is not None:
                        out[f"{name}.{attr}.setter"] = v.fset
                elif isinstance(v, types.FunctionType):
                    out[f"{name}.{attr}"] = v
    return {k: v for k, v in out.items() if not (k.rsplit(".", 1)[-1].startswith("__")
                                                 and k.rsplit(".", 1)[-1].endswith("__"))}


def _is_stub(fn) -> bool:
    """The body is still the edition's stub: a docstring and one `raise NotImplementedError(...)`."""
    code = fn.__code__
    consts = [c for c in code.co_consts if isinstance(c, str)]
    return "NotImplementedError" in code.co_names and any(c.startswith(STUB_PREFIX) for c in consts) \
        and len(code.co_names) <= 1


# --------------------------------------------------------------------------------------------
# Recording calls into the reference, replaying them with the reader's functions
# --------------------------------------------------------------------------------------------

@dataclass
class Call:
    qualname: str
    before: tuple  # deep copy of (args, kwargs) at the call
    after: tuple | None = None  # deep copy of the arguments when it returned
    result: object = None
    raised: bool = False


def _arguments(code, loc):
    """The call's (positional, keyword) arguments, from the frame's locals at the call."""
    n, names = code.co_argcount, code.co_varnames
    pos = [loc[a] for a in names[:n]]
    i = n + code.co_kwonlyargcount
    kw = {a: loc[a] for a in names[n:i]}
    if code.co_flags & 0x04:  # *args
        pos += list(loc[names[i]])
        i += 1
    if code.co_flags & 0x08:  # **kwargs
        kw.update(loc[names[i]])
    return pos, kw


def _rebuild_dict(cls, items, state):
    new = cls.__new__(cls)
    dict.update(new, items)  # not the class's own __setitem__, which may check the keys
    new.__dict__.update(state)
    return new


def _reduce_dict(d):
    return _rebuild_dict, (type(d), dict(d), dict(vars(d)))


def _copyable():
    """Let deepcopy copy cnnlit's ParamDict, whose __setitem__ accepts only existing keys."""
    import copyreg

    from cnnlit.checks import ParamDict

    copyreg.pickle(ParamDict, _reduce_dict)


def record(ref_modules: list[types.ModuleType], workload, seed: int, per_function: int = 3) -> dict[str, list[Call]]:
    """Run ``workload`` on the reference modules and record calls into their functions."""
    codes = {}
    for mod in ref_modules:
        for q, fn in _members(mod).items():
            codes[fn.__code__] = q
    calls: dict[str, list[Call]] = {}
    live: dict[int, tuple[Call, tuple]] = {}

    def profiler(frame, event, arg):
        q = codes.get(frame.f_code)
        if q is None:
            return
        if event == "call":
            if len(calls.get(q, ())) >= per_function:
                return
            try:
                args = _arguments(frame.f_code, frame.f_locals)
                before = copy.deepcopy(args)
            except Exception:
                return
            c = Call(q, before)
            calls.setdefault(q, []).append(c)
            live[id(frame)] = (c, args)
        elif event == "return" and id(frame) in live:
            c, args = live.pop(id(frame))
            try:
                c.result = copy.deepcopy(arg)
                c.after = copy.deepcopy(args)
            except Exception:
                calls[q].remove(c)

    import numpy as np

    _copyable()
    rng = np.random.default_rng(seed)
    sys.setprofile(profiler)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            workload(*ref_modules, rng)
    finally:
        sys.setprofile(None)
    return calls


def _rebind(fn, ref_mod: types.ModuleType, owner: type | None):
    """``fn``'s code with the reference module's globals (and ``__class__`` the reference class)."""
    closure = fn.__closure__
    if closure is not None:
        cells = []
        for name, cell in zip(fn.__code__.co_freevars, closure, strict=True):
            cells.append(types.CellType(owner) if name == "__class__" and owner is not None else cell)
        closure = tuple(cells)
    new = types.FunctionType(fn.__code__, ref_mod.__dict__, fn.__name__, fn.__defaults__, closure)
    new.__kwdefaults__ = copy.copy(fn.__kwdefaults__)
    return new


def replay(fn, call: Call):
    args, kwargs = copy.deepcopy(call.before)
    with contextlib.redirect_stdout(io.StringIO()):
        result = fn(*args, **kwargs)
    return result, (args, kwargs)


class Mismatch(Exception):
    pass


def compare(got, want, path="result", seen=None) -> float:
    """Largest relative error between ``got`` and ``want``; Mismatch for a wrong type, shape or dtype."""
    import numpy as np

    seen = set() if seen is None else seen
    key = (id(got), id(want))
    if key in seen:
        return 0.0
    seen.add(key)
    if isinstance(want, np.random.Generator):
        return 0.0
    if isinstance(want, np.ndarray) or isinstance(got, np.ndarray):
        if not (isinstance(want, np.ndarray) and isinstance(got, np.ndarray)):
            raise Mismatch(f"{path}: expected {type(want).__name__}, got {type(got).__name__}")
        if got.shape != want.shape:
            raise Mismatch(f"{path}: shape {got.shape}, expected {want.shape}")
        if got.dtype != want.dtype:
            raise Mismatch(f"{path}: dtype {got.dtype}, expected {want.dtype}")
        if want.dtype.kind in "fc":
            if want.size == 0:
                return 0.0
            if not np.array_equal(np.isnan(got), np.isnan(want)):
                raise Mismatch(f"{path}: NaN where the reference has none, or the other way round")
            g, w = np.nan_to_num(got.astype(np.float64)), np.nan_to_num(want.astype(np.float64))
            scale = max(np.abs(w).max(), np.abs(g).max())
            return float(np.abs(g - w).max() / scale) if scale > 0 else 0.0
        if want.dtype.kind == "O":
            return max((compare(a, b, f"{path}[{i}]", seen) for i, (a, b) in
                        enumerate(zip(got.ravel(), want.ravel(), strict=True))), default=0.0)
        if not np.array_equal(got, want):
            raise Mismatch(f"{path}: values differ")
        return 0.0
    if isinstance(want, (bool, np.bool_)) or want is None or isinstance(want, (str, bytes)):
        if got != want:
            raise Mismatch(f"{path}: {got!r}, expected {want!r}")
        return 0.0
    if isinstance(want, (int, float, np.number)) and not isinstance(want, bool):
        if not isinstance(got, (int, float, np.number)) or isinstance(got, bool):
            raise Mismatch(f"{path}: expected a number, got {type(got).__name__}")
        return compare(np.asarray(got, dtype=float), np.asarray(want, dtype=float), path, seen)
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            raise Mismatch(f"{path}: keys {sorted(map(str, got)) if isinstance(got, dict) else type(got).__name__}, "
                           f"expected {sorted(map(str, want))}")
        return max((compare(got[k], want[k], f"{path}[{k!r}]", seen) for k in want), default=0.0)
    if isinstance(want, (list, tuple)):
        if not isinstance(got, (list, tuple)) or len(got) != len(want):
            raise Mismatch(f"{path}: expected a sequence of {len(want)}, got {type(got).__name__}"
                           + (f" of {len(got)}" if isinstance(got, (list, tuple)) else ""))
        return max((compare(a, b, f"{path}[{i}]", seen) for i, (a, b) in enumerate(zip(got, want, strict=True))), default=0.0)
    if callable(want) and not hasattr(want, "__dict__"):
        return 0.0
    if isinstance(want, types.FunctionType) or isinstance(want, types.MethodType) or isinstance(want, type):
        return 0.0
    if hasattr(want, "__dict__"):
        if type(got).__name__ != type(want).__name__:
            raise Mismatch(f"{path}: a {type(got).__name__}, expected a {type(want).__name__}")
        gv, wv = vars(got), vars(want)
        missing = [k for k in wv if k not in gv]
        if missing:
            raise Mismatch(f"{path}: no attribute {missing[0]!r}")
        return max((compare(gv[k], wv[k], f"{path}.{k}", seen) for k in wv), default=0.0)
    if got != want:
        raise Mismatch(f"{path}: {got!r}, expected {want!r}")
    return 0.0


def tolerance(call: Call) -> float:
    """1e-4 when any float32 array takes part in the call, else 1e-7 (summation order may differ)."""
    import numpy as np

    found = []

    def walk(o, depth=0):
        if depth > 4 or found:
            return
        if isinstance(o, np.ndarray):
            if o.dtype == np.float32:
                found.append(o)
        elif isinstance(o, dict):
            for v in o.values():
                walk(v, depth + 1)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v, depth + 1)
        elif hasattr(o, "__dict__") and not isinstance(o, type):
            for v in vars(o).values():
                walk(v, depth + 1)

    walk((call.before, call.result))
    return 1e-4 if found else 1e-7


@dataclass
class Verdict:
    qualname: str
    status: str  # right, wrong, not yet written, not checked
    ids: list[str] = field(default_factory=list)
    error: float | None = None
    detail: str = ""
    cases: int = 0


def grade_function(qualname, reader_fn, ref_mod, calls: list[Call], doc, class_doc) -> Verdict:
    ids = method_ids(doc, class_doc)
    if _is_stub(reader_fn):
        return Verdict(qualname, "not yet written", ids)
    if not calls:
        return Verdict(qualname, "not checked", ids, detail="no case reaches it")
    owner = getattr(ref_mod, qualname.split(".")[0]) if "." in qualname else None
    fn = _rebind(reader_fn, ref_mod, owner)
    worst = 0.0
    for call in calls:
        tol = tolerance(call)
        try:
            result, (args, kwargs) = replay(fn, call)
        except NotImplementedError as exc:
            if str(exc).startswith(STUB_PREFIX):
                return Verdict(qualname, "not yet written", ids)
            return Verdict(qualname, "wrong", ids, detail=f"raises NotImplementedError: {exc}")
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return Verdict(qualname, "wrong", ids, detail=f"raises {type(exc).__name__}: {exc} (line {where.lineno})")
        try:
            err = compare(result, call.result, "result")
            err = max(err, compare((args, kwargs), call.after, "arguments after the call"))
        except Mismatch as exc:
            return Verdict(qualname, "wrong", ids, detail=str(exc))
        worst = max(worst, err)
        if err > tol:
            return Verdict(qualname, "wrong", ids, error=err)
    return Verdict(qualname, "right", ids, error=worst, cases=len(calls))


def verdict_line(v: Verdict) -> str:
    """One line of the report: status, function, formula IDs, and the evidence."""
    ids = ", ".join(v.ids) if v.ids else "-"
    if v.status == "right":
        tail = f"largest relative error {v.error:.1e} over {v.cases} case(s)"
    elif v.status == "wrong":
        tail = f"largest relative error {v.error:.1e}" if v.error is not None else v.detail
    elif v.status == "not checked":
        tail = v.detail
    else:
        tail = ""
    return f"{v.status:15s}  {v.qualname:30s} {ids:18s} {tail}".rstrip()


def _docs(mod, qualname):
    parts = qualname.removesuffix(".setter").split(".")
    obj = mod
    for p in parts:
        obj = getattr(obj, p, None)
    if isinstance(obj, property):
        obj = obj.fget
    doc = getattr(obj, "__doc__", None)
    class_doc = getattr(getattr(mod, parts[0], None), "__doc__", None) if len(parts) > 1 else None
    return doc, class_doc


def reference_calls(modnames: list[str], seed: int):
    """Record the reference's calls for one chapter's modules, keeping those that replay exactly."""
    from tools import grade_cases

    refs = [importlib.import_module(f"cnnlit.{n}") for n in modnames]
    workload = grade_cases.WORKLOADS.get(tuple(modnames))
    if workload is None:
        return refs, {}
    try:
        calls = record(refs, workload, seed)
    except Exception as exc:  # a bug of the grader's cases, not of the reader's code
        raise RuntimeError(f"the grading cases of cnnlit.{modnames[0]} fail on the reference: "
                           f"{type(exc).__name__}: {exc}") from exc
    kept = {}
    for q, cs in calls.items():
        ref_mod = next(m for m in refs if q.split(".")[0] in vars(m))
        fn = _members(ref_mod)[q]
        owner = getattr(ref_mod, q.split(".")[0]) if "." in q else None
        good = []
        for c in cs:
            if c.after is None:
                continue
            try:
                result, args = replay(_rebind(fn, ref_mod, owner), c)
                if compare(result, c.result) <= 1e-12 and compare(args, c.after) <= 1e-12:
                    good.append(c)
            except Exception:
                pass
        kept[q] = good
    return refs, kept


# --------------------------------------------------------------------------------------------
# The chapter's own checks
# --------------------------------------------------------------------------------------------

def run_checks(md: Path, mine: dict[str, types.ModuleType]) -> tuple[bool | None, str]:
    """Run the chapter's code cells up to its last finite-difference check, with the reader's code.

    Returns (passed, message); passed is None when the chapter has no such check.
    """
    import jupytext

    nb = jupytext.read(md, fmt="md:myst")
    cells = [(i, c) for i, c in enumerate(nb.cells, 1)
             if c.cell_type == "code" and SOLUTION_TAG not in c.metadata.get("tags", [])]
    last = max((k for k, (_, c) in enumerate(cells) if CHECK_CALL.search(c.source)
                and not any(t.startswith("export") for t in c.metadata.get("tags", []))), default=None)
    if last is None:
        return None, "no finite-difference check in this chapter"
    ns = {"__name__": "__main__"}
    saved = {k: sys.modules.get(k) for k in mine}
    cwd = os.getcwd()
    os.environ.setdefault("MPLBACKEND", "Agg")
    start = time.perf_counter()
    try:
        sys.modules.update(mine)
        os.chdir(md.parent)
        for number, cell in cells[:last + 1]:
            src = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line
                            for line in cell.source.splitlines())
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(src, f"{md.name}, cell {number}", "exec"), ns)
            except NotImplementedError as exc:
                return False, f"stopped at cell {number}: it calls a function not yet written ({exc})"
            except Exception as exc:
                return False, f"cell {number} fails: {type(exc).__name__}: {str(exc)[:300]}"
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:
            pass
    return True, f"{last + 1} code cells run, every assert holds ({time.perf_counter() - start:.0f} s)"


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------

def build_chapter(md: Path, own: dict[str, types.ModuleType]) -> dict[str, types.ModuleType]:
    """The reader's modules of chapter ``md``, built with ``own`` (``{"cnnlit.conv": module}``)
    in place of the reference modules they name; every other import is the installed cnnlit."""
    import cnnlit  # noqa: F401  every reference module, imported before any of the reader's replaces one

    saved = dict(sys.modules)
    try:
        sys.modules.update(own)
        return {name: build_module(name, src, md) for name, src in chapter_modules(md).items()}
    finally:
        sys.modules.clear()
        sys.modules.update(saved)


def own_modules(book: Path, mine) -> dict[str, types.ModuleType]:
    """The reader's modules of the chapters in ``mine``, in book order, each built on the ones before."""
    own: dict[str, types.ModuleType] = {}
    for md in sorted({find_chapter(book, k) for k in mine}):
        own.update({f"cnnlit.{n}": m for n, m in build_chapter(md, own).items()})
    return own


def grade(edition: Path, keys: list[str] | None = None, mine: list[str] = (), checks: bool = True,
          seed: int | None = None, out=None) -> int:
    """Grade chapters of a student edition; print one line per function; return the exit code."""
    import numpy as np

    out = sys.stdout if out is None else out
    from tools import grade_cases

    edition = Path(edition)
    book = edition / "book" if (edition / "book").is_dir() else edition
    if not book.is_dir():
        raise FileNotFoundError(f"{edition} holds no student edition (no book/ folder)")
    chapters = [find_chapter(book, k) for k in keys] if keys else \
        [p for p in sorted(book.glob("*.md")) if chapter_modules(p)]
    seed = int(np.random.SeedSequence().entropy % 2**32) if seed is None else seed
    print(f"grading {len(chapters)} chapter(s) of {book} against the installed cnnlit (seed {seed})", file=out)
    try:
        own = own_modules(book, mine)
    except Exception as exc:
        print(f"your chapters {' '.join(mine)} do not run: {type(exc).__name__}: {exc}", file=out)
        return 1
    if own:
        print(f"your own {', '.join(sorted(own))} replace the reference", file=out)
    counts = {"right": 0, "wrong": 0, "not yet written": 0, "not checked": 0}
    failed = False
    for md in chapters:
        sources = chapter_modules(md)
        if not sources:
            print(f"\n{md.name}: no export cells, nothing to grade", file=out)
            continue
        names = list(sources)
        print(f"\n{md.name} (cnnlit.{', cnnlit.'.join(names)})", file=out)
        try:
            readers = build_chapter(md, own)
        except Exception as exc:
            print(f"  your export cells do not run: {type(exc).__name__}: {exc}", file=out)
            failed = True
            continue
        written = any(not _is_stub(f) for m in readers.values() for f in _members(m).values())
        # the reference runs the cases only if there is something to compare
        refs, calls = reference_calls(names, seed) if written else \
            ([importlib.import_module(f"cnnlit.{n}") for n in names], {})
        if tuple(names) not in grade_cases.WORKLOADS:
            print("  (tools/grade_cases.py has no cases for this chapter: its functions are not compared)", file=out)
        for name, ref in zip(names, refs, strict=True):
            reader = readers[name]
            stubbed = stubbed_names(inspect.getsource(ref))
            ref_members = {q: f for q, f in _members(ref).items() if q in stubbed}
            reader_members = _members(reader)
            for q in ref_members:
                if q not in reader_members:
                    v = Verdict(q, "wrong", detail="missing from your chapter")
                else:
                    doc, class_doc = _docs(reader, q)
                    v = grade_function(q, reader_members[q], ref, calls.get(q, []), doc, class_doc)
                counts[v.status] += 1
                print("  " + verdict_line(v), file=out)
        if checks:
            ok, msg = run_checks(md, own)
            print(f"  checks: {msg}", file=out)
            failed |= ok is False
    total = sum(counts.values())
    print(f"\n{counts['right']} right, {counts['wrong']} wrong, {counts['not yet written']} not yet written, "
          f"{counts['not checked']} not checked, of {total} functions", file=out)
    return 0 if counts["wrong"] == counts["not yet written"] == 0 and not failed else 1
