"""The tangle tool's own behaviour, on small chapters written to a temporary book."""
import textwrap

import pytest

from tools import tangle

FRONT = textwrap.dedent(
    """\
    ---
    jupytext:
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      display_name: Python 3
      language: python
      name: python3
    {extra}
    ---

    # A test chapter

    """
)


def chapter(tmp_path, cells, module="demo", name="01_demo.md"):
    extra = f"cnnlit:\n  module: {module}" if module else ""
    body = FRONT.format(extra=extra)
    for tags, src in cells:
        opts = f":tags: [{', '.join(tags)}]\n" if tags else ""
        body += f"```{{code-cell}} ipython3\n{opts}{textwrap.dedent(src).strip()}\n```\n\n"
    book = tmp_path / "book"
    book.mkdir(exist_ok=True)
    (book / name).write_text(body)
    return book


def test_exports_cells_in_order_with_header_and_all(tmp_path):
    book = chapter(tmp_path, [
        (["export"], "import numpy as np\n\ndef f(x):\n    return x"),
        ([], "print(f(1))  # narration is not exported"),
        (["export"], "class G:\n    pass\n\nLIMIT = 3\n_private = 4"),
    ])
    out = tangle.tangle_all(book)
    text = out["demo.py"]
    assert "DO NOT EDIT" in text and "book/01_demo.md" in text
    assert "__all__ = ['f', 'G', 'LIMIT']" in text
    assert text.index("def f") < text.index("class G")
    assert "print(f(1))" not in text
    assert "from . import demo" in out["__init__.py"]
    compile(text, "demo.py", "exec")


def test_export_to_a_named_module(tmp_path):
    book = chapter(tmp_path, [(["export"], "def a():\n    pass"), (["export:other"], "def b():\n    pass")])
    out = tangle.tangle_all(book)
    assert "def a" in out["demo.py"] and "def b" not in out["demo.py"]
    assert "def b" in out["other.py"]


def test_export_to_main_writes_a_runnable_module_that_init_does_not_import(tmp_path):
    book = chapter(tmp_path, [(["export"], "def main():\n    return 0"),
                              (["export:__main__"], "import sys\n\nif __name__ == \"__main__\" and __spec__:\n    sys.exit(0)")])
    out = tangle.tangle_all(book)
    assert 'if __name__ == "__main__" and __spec__:' in out["__main__.py"]
    assert "__main__" not in out["__init__.py"] and "from . import demo" in out["__init__.py"]
    compile(out["__main__.py"], "__main__.py", "exec")


@pytest.mark.parametrize("src", ["if x:\n    pass", "if __name__ == 'other':\n    pass",
                                 "if __name__ == '__main__':\n    pass\nelse:\n    pass"])
def test_other_if_statements_are_still_rejected(tmp_path, src):
    book = chapter(tmp_path, [(["export"], src)])
    with pytest.raises(tangle.TangleError, match="top-level If statement"):
        tangle.tangle_all(book)


@pytest.mark.parametrize(
    "src, message",
    [
        ("%timeit f()", "magics or shell escapes"),
        ("!pip install numpy", "magics or shell escapes"),
        ("import os\nget_ipython().run_line_magic('time', 'x')", "magics or shell escapes"),
        ("files = !ls", "magics or shell escapes"),
        ("t = %timeit -o f()", "magics or shell escapes"),
        ("%%bash\necho hi", "magics or shell escapes"),
        ("def f():\n    pass\nprint('side effect')", "definitions and imports only"),
        ("for i in range(3):\n    pass", "definitions and imports only"),
        ("def f(:\n    pass", "not valid Python"),
    ],
)
def test_bad_export_cells_are_rejected_naming_chapter_and_cell(tmp_path, src, message):
    book = chapter(tmp_path, [([], "x = 1"), (["export"], src)])
    with pytest.raises(tangle.TangleError) as err:
        tangle.tangle_all(book)
    assert message in str(err.value)
    assert "01_demo.md, cell 3" in str(err.value)  # cell 1 is the title, cell 2 the narration


def test_percent_and_bang_inside_strings_are_not_magics(tmp_path):
    src = (
        'def f(x):\n    """Docstring whose lines start with symbols:\n    % of the total\n    ! not a shell escape\n'
        '    """\n    return x % 3 != 1'
    )
    book = chapter(tmp_path, [(["export"], src)])
    assert "% of the total" in tangle.tangle_all(book)["demo.py"]


def test_export_without_a_module_is_rejected(tmp_path):
    book = chapter(tmp_path, [(["export"], "def f():\n    pass")], module=None)
    with pytest.raises(tangle.TangleError, match="names no module"):
        tangle.tangle_all(book)


def test_two_export_tags_on_one_cell_are_rejected(tmp_path):
    book = chapter(tmp_path, [(["export", "export:other"], "def f():\n    pass")])
    with pytest.raises(tangle.TangleError, match="one module only"):
        tangle.tangle_all(book)


def test_two_chapters_writing_one_module_are_rejected(tmp_path):
    chapter(tmp_path, [(["export"], "def f():\n    pass")], name="01_a.md")
    book = chapter(tmp_path, [(["export"], "def g():\n    pass")], name="02_b.md")
    with pytest.raises(tangle.TangleError, match="written by both"):
        tangle.tangle_all(book)


def test_check_mode_reports_a_hand_edit(tmp_path, capsys):
    book = chapter(tmp_path, [(["export"], "def f():\n    return 1")])
    pkg = tmp_path / "pkg"
    assert tangle.main(["--book", str(book), "--package", str(pkg)]) == 0
    assert tangle.main(["--check", "--book", str(book), "--package", str(pkg)]) == 0
    path = pkg / "demo.py"
    path.write_text(path.read_text().replace("return 1", "return 2"))
    capsys.readouterr()
    assert tangle.main(["--check", "--book", str(book), "--package", str(pkg)]) == 1
    out = capsys.readouterr().out
    assert "-    return 2" in out and "+    return 1" in out


def test_tangle_removes_modules_no_chapter_writes(tmp_path):
    book = chapter(tmp_path, [(["export"], "def f():\n    return 1")])
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "stale.py").write_text("x = 1\n")
    assert tangle.main(["--check", "--book", str(book), "--package", str(pkg)]) == 1
    assert tangle.main(["--book", str(book), "--package", str(pkg)]) == 0
    assert not (pkg / "stale.py").exists()


def test_cli_error_exit_code(tmp_path, capsys):
    book = chapter(tmp_path, [(["export"], "%matplotlib inline")])
    assert tangle.main(["--book", str(book), "--package", str(tmp_path / "pkg")]) == 2
    assert "01_demo.md, cell 2" in capsys.readouterr().err
