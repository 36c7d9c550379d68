"""The student edition (tools/student_edition.py) and its grader (tools/grade.py), issue 23.

- The edition, written to a temporary folder, stubs every function and method of every
  export cell (their docstrings and signatures stay) and holds no solution.
- Solution stripping is tested on the chapters as they are and on a fixture with the book's
  gated solution (solution-start ... code cell tagged solution ... solution-end).
- Grading the untouched edition reports every function "not yet written"; with the reference
  bodies put back every compared function is right; with rot180 left out of the kernel
  gradient exactly Conv.backward is wrong, with its formula U3.1e.
"""
from __future__ import annotations

import ast
import io
import re
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import student  # noqa: E402
from tools.tangle import collect  # noqa: E402

BOOK = ROOT / "book"
LINE = re.compile(r"^  (right|wrong|not yet written|not checked)\s+(\S+)\s+(.*)$", re.M)


def export_cells(md: Path) -> list[str]:
    return [src for mod in collect(md).values() for _, src in mod.cells]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    target = tmp_path_factory.mktemp("edition") / "student"
    student.write_edition(target)
    return target


def grade(folder, *args):
    out = io.StringIO()
    code = student.grade(folder, list(args), checks=False, seed=7, out=out)
    text = out.getvalue()
    return code, text, LINE.findall(text)


def test_every_export_function_is_stubbed(edition):
    for md in sorted(BOOK.glob("*.md")):
        ours = edition / "book" / md.name
        assert ours.exists(), md.name
        original, stubbed = export_cells(md), export_cells(ours)
        assert len(original) == len(stubbed), md.name
        for before, after in zip(original, stubbed, strict=True):
            want = student.stubbed_names(before)
            assert student.stubbed_names(after) == want
            funcs = {q: node for q, node, _ in student._functions(ast.parse(after))}
            old = {q: node for q, node, _ in student._functions(ast.parse(before))}
            for q, node in funcs.items():
                if not student._stubbable(node):  # special methods keep their bodies
                    assert ast.dump(node) == ast.dump(old[q])
                    continue
                body = node.body[1:] if ast.get_docstring(node) is not None else node.body
                assert ast.get_docstring(node) == ast.get_docstring(old[q]), q
                assert len(body) == 1 and isinstance(body[0], ast.Raise), f"{md.name}: {q} is not a stub"
                msg = body[0].exc.args[0].value
                assert body[0].exc.func.id == "NotImplementedError" and msg.startswith("implement ")
                ids = student.formula_ids(ast.get_docstring(node))
                assert all(i in msg for i in ids), (q, msg)
            # signatures and imports stay
            assert [ast.dump(n.args) for n in funcs.values()] == [ast.dump(n.args) for n in old.values()]
            imports = [ast.dump(n) for n in ast.parse(before).body if isinstance(n, (ast.Import, ast.ImportFrom))]
            assert imports == [ast.dump(n) for n in ast.parse(after).body if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_the_chapters_find_the_recorded_results(edition):
    """Chapters 4, 7 and 8 read ../benchmarks/results from book/: the edition has them."""
    for folder in student.RECORDED:
        for f in (ROOT / folder).rglob("*"):
            if f.is_file():
                assert (edition / f.relative_to(ROOT)).read_bytes() == f.read_bytes()


def test_the_conv_stub_names_its_formula(edition):
    import cnnlit.conv

    text = (edition / "book" / "02_convolution.md").read_text()
    ids = student.formula_ids(cnnlit.conv.Conv.backward.__doc__)
    assert "U3.1e" in ids
    assert f"raise NotImplementedError('implement {', '.join(ids)} (Conv.backward)')" in text
    assert "gk[i, j] += rot180(" not in text  # the body is gone; the derivation stays


def test_no_solution_in_the_edition(edition):
    for md in sorted((edition / "book").glob("*.md")):
        text = md.read_text()
        assert not re.search(r"\{solution(-start|-end)?\}|:label: sol-", text), md.name
        nb = jupytext.read(md)
        assert not [c for c in nb.cells if "solution" in c.metadata.get("tags", [])], md.name
    # the exercises stay
    for md in sorted(BOOK.glob("*.md")):
        n = len(re.findall(r"\{exercise\}", md.read_text()))
        assert len(re.findall(r"\{exercise\}", (edition / "book" / md.name).read_text())) == n


FIXTURE = '''\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
:tags: [export]

def double(x):
    """Twice x (N7)."""
    # a comment of the body
    return 2 * x


def one_line(x): return x


class Layer:
    """A layer (U3.1a)."""

    def __init__(self, k):
        self.k = k

    @property
    def size(self):
        return self.k.size

    def forward(self, x):
        """x -> k x (U3.1a)."""
        return self.k * x
```

## Exercises

:::{exercise}
:label: ex-conv-1
Compute double(3).
:::

:::{solution-start} ex-conv-1
:label: sol-conv-1
:::

SECRET prose of the solution.

```{code-cell} ipython3
:tags: [solution]

assert double(3) == 6  # SECRET code
```

SECRET closing prose.

:::{solution-end}
:::

:::{exercise}
:label: ex-conv-2
Text after it stays.
:::

:::{solution} ex-conv-2
:class: dropdown
SECRET plain solution.
:::

The end.
'''


def test_the_fixture_loses_its_solutions_and_bodies():
    nb = jupytext.reads(FIXTURE, fmt="md:myst")
    snb, names = student.student_notebook(nb)
    text = jupytext.writes(snb, fmt="md:myst")
    assert "SECRET" not in text and "solution" not in text
    assert "Compute double(3)." in text and "Text after it stays." in text and "The end." in text
    assert names == ["double", "one_line", "Layer.size", "Layer.forward"]
    assert "raise NotImplementedError('implement N7 (double)')" in text
    assert "raise NotImplementedError('implement U3.1a (Layer.forward)')" in text
    assert "raise NotImplementedError('implement Layer.size')" in text
    assert "a comment of the body" not in text and "self.k = k" in text and "return 2 * x" not in text
    ns = {}
    exec(snb.cells[1].source, ns)
    with pytest.raises(NotImplementedError, match="implement N7"):
        ns["double"](3)
    with pytest.raises(NotImplementedError, match="implement one_line"):
        ns["one_line"](3)


def test_an_unfinished_solution_span_is_an_error():
    nb = jupytext.reads(FIXTURE.replace(":::{solution-end}\n:::\n", ""), fmt="md:myst")
    with pytest.raises(ValueError, match="solution-end"):
        student.student_notebook(nb)


def test_nothing_the_reader_wrote_is_overwritten(tmp_path, capsys):
    from tools import student_edition

    (tmp_path / "mine.md").write_text("my notes")
    assert student_edition.main([str(tmp_path)]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.md"] and (tmp_path / "mine.md").read_text() == "my notes"


def test_the_untouched_edition_is_not_yet_written(edition):
    code, text, lines = grade(edition)
    assert code == 1
    assert len(lines) > 150
    assert {status for status, _, _ in lines} == {"not yet written"}, text


def with_reference_bodies(edition, target):
    """A copy of the edition with every export cell's reference source put back."""
    (target / "book").mkdir(parents=True)
    for md in sorted((edition / "book").glob("*.md")):
        nb = jupytext.read(md)
        original = iter(export_cells(BOOK / md.name))
        for cell in nb.cells:
            if any(t == "export" or t.startswith("export:") for t in cell.metadata.get("tags", [])):
                cell.source = next(original)
        student.write_md(nb, target / "book" / md.name)
    return target


def test_the_reference_bodies_grade_right(edition, tmp_path):
    code, text, lines = grade(with_reference_bodies(edition, tmp_path))
    assert code == 0, text
    status = {name: s for s, name, _ in lines}
    assert set(status.values()) <= {"right", "not checked"}
    # every chapter compares at least its derivation's functions; what is not compared is named
    for name in ("rot180", "conv2", "Conv.backward", "Dense.backward", "down", "Subsample.backward",
                 "FastConv.backward", "Combine.backward", "softmax_backward", "EntropyPenalty.grad",
                 "SoftmaxCrossEntropy.curvature", "curvatures", "numerical_gradient", "check_gradients"):
        assert status[name] == "right", name
    assert sum(s == "right" for s in status.values()) >= 140


def test_a_planted_bug_is_named_with_its_formula(edition, tmp_path):
    target = with_reference_bodies(edition, tmp_path)
    md = target / "book" / "02_convolution.md"
    right = (
        "gk[i, j] += rot180(\n"
        '                        conv2(self.x_prev[n, i], rot180(delta[n, j]), "valid")\n'
        "                    )"
    )
    bug = 'gk[i, j] += conv2(self.x_prev[n, i], rot180(delta[n, j]), "valid")'
    assert md.read_text().count(right) == 1
    md.write_text(md.read_text().replace(right, bug))
    code, text, lines = grade(target, "2")
    assert code == 1
    wrong = [(name, rest) for s, name, rest in lines if s == "wrong"]
    assert [name for name, _ in wrong] == ["Conv.backward"], text
    assert "U3.1e" in wrong[0][1] and "largest relative error" in wrong[0][1]
    assert {s for s, name, _ in lines if name != "Conv.backward"} == {"right"}


def test_mine_replaces_the_reference_chapters(edition):
    book = edition / "book"
    md = book / "03_subsampling.md"
    import cnnlit.conv

    assert student.build_chapter(md, {})["subsample"].Conv is cnnlit.conv.Conv
    own = student.own_modules(book, ["2"])
    mine = student.build_chapter(md, own)["subsample"].Conv
    assert mine is own["cnnlit.conv"].Conv and mine is not cnnlit.conv.Conv
    with pytest.raises(NotImplementedError, match="implement U3.1a"):
        own["cnnlit.conv"].conv2(None, None)
    assert sys.modules["cnnlit.conv"] is cnnlit.conv


CHECKED = FIXTURE.split("## Exercises")[0] + '''
```{code-cell} ipython3
import numpy as np
from cnnlit.gradcheck import numerical_gradient, rel_error

x = np.arange(3.0)
assert rel_error(numerical_gradient(lambda v: float(np.sum(double(v))), x), np.full(3, 2.0)) < 1e-8
```
'''


@pytest.mark.parametrize("body, verdict", [("return 2 * x", "every assert holds"),
                                           ("return 3 * x", "AssertionError"),
                                           (None, "not yet written (implement N7 (double))")])
def test_the_chapter_checks_run_with_the_readers_code(tmp_path, body, verdict):
    nb = jupytext.reads(CHECKED, fmt="md:myst")
    if body is None:
        nb, _ = student.student_notebook(nb)
    else:
        nb.cells[1].source = nb.cells[1].source.replace("return 2 * x", body)
    md = tmp_path / "02_fixture.md"
    student.write_md(nb, md)
    ok, msg = student.run_checks(md, {})
    assert ok is (body == "return 2 * x") and verdict in msg, msg


def test_the_grade_command_exits_non_zero_and_prints_one_line_per_function(edition, capsys):
    from tools import grade as grade_command

    assert grade_command.main([str(edition), "3", "--no-checks", "--seed", "1"]) == 1
    lines = LINE.findall(capsys.readouterr().out)
    assert lines and all(s == "not yet written" for s, _, _ in lines)
    assert [n for _, n, _ in lines] == student.stubbed_names("\n\n".join(export_cells(BOOK / "03_subsampling.md")))


def test_the_readme_commands(edition, capsys):
    """The README's two marked commands call these tools with options they accept."""
    import shlex

    from tools import grade as grade_command

    readme = (ROOT / "README.md").read_text()
    cmds = {}
    for marker in ("student-command", "grade-command"):
        m = re.search(rf"<!-- {marker} -->\s*```bash\n(.*?)\n```", readme, re.S)
        assert m, marker
        cmds[marker] = shlex.split(m.group(1))
    assert cmds["student-command"][:2] == [".venv/bin/python", "tools/student_edition.py"]
    assert cmds["grade-command"][:2] == [".venv/bin/python", "tools/grade.py"]
    assert cmds["grade-command"][2] == cmds["student-command"][2]  # grades the folder the first one wrote
    # run as written, with the README's folder replaced by this test's edition
    assert grade_command.main([str(edition), *cmds["grade-command"][3:], "--no-checks"]) == 1
    assert "not yet written" in capsys.readouterr().out
