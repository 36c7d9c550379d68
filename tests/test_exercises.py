"""Exercises and their gated solutions, rendered (issue 23): on the site each solution is folded
behind "Show solution" right after its exercise, with its code cells and outputs inside the fold
and links both ways; exercises are numbered per chapter ("Exercise 5.2") and found by search; the
PDF collects the solutions at the end of the chapter, with links both ways.

The checks build a small fixture project (one chapter, two exercises, one solution with a code
cell between its gates) with the book's own tools, so they do not depend on the solutions being
written in the real chapters. Screenshots: _build/screenshots/solution-*.png.
"""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest
from test_book import (
    ROOT,
    SCREENSHOTS,
    assert_no_survivors,
    launch_browser,
    parse_html,
    require_tool,
    serve,
    tagged_env,
)

CHAPTER = textwrap.dedent("""\
    ---
    jupytext:
      formats: ipynb,md:myst
      text_representation:
        extension: .md
        format_name: myst
    kernelspec:
      name: python3
      display_name: Python 3 (ipykernel)
      language: python
    ---

    # Five: a fixture chapter

    Some text.

    ```{code-cell} ipython3
    :tags: [fold]
    import math
    ```

    ## Exercises

    :::{exercise}
    :label: ex-combine-1
    Compute the zebrafish constant of two plus two.
    :::

    :::{solution-start} ex-combine-1
    :label: sol-combine-1
    :::

    The quokka answer is four.

    ```{code-cell} ipython3
    :tags: [solution]
    assert 2 + 2 == 4
    print("narwhal", 2 + 2)
    ```

    It checks out.

    :::{solution-end}
    :::

    :::{exercise}
    :label: ex-combine-2
    Compare with [](#ex-combine-1).
    :::

    :::{solution-start} ex-combine-2
    :label: sol-combine-2
    :::

    Same as before.

    :::{solution-end}
    :::
    """)

SECOND = textwrap.dedent("""\
    ---
    kernelspec:
      name: python3
      display_name: Python 3 (ipykernel)
      language: python
    ---

    # Six: another chapter

    :::{exercise}
    :label: ex-sparsity-1
    A question of chapter six.
    :::

    :::{solution-start} ex-sparsity-1
    :label: sol-sparsity-1
    :::

    Its answer.

    :::{solution-end}
    :::
    """)

MYST = textwrap.dedent("""\
    version: 1
    project:
      title: fixture
      exclude:
        - book/*.md
        - '**/_build/**'
        - tools/**
      plugins:
        - tools/site/myst-plugin.mjs
      error_rules:
        - rule: reference-target-resolves
          severity: error
        - rule: gated-nodes-join
          severity: ignore
      toc:
        - file: book/05_fixture.ipynb
        - file: book/06_other.ipynb
    site:
      template: ./tools/site
      title: fixture
    """)


def outputs_of(src):
    """Run the fixture's cells in order (they are tiny) and return the notebook with outputs."""
    import jupytext
    import nbformat

    nb = jupytext.reads(src, fmt="md:myst")
    env = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(cell.source, env)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=buf.getvalue())] if buf.getvalue() else []
        cell.execution_count = None
    return jupytext.writes(nb, fmt="ipynb")


def make_fixture(dst):
    (dst / "book").mkdir(parents=True)
    (dst / "book" / "05_fixture.md").write_text(CHAPTER)
    (dst / "book" / "05_fixture.ipynb").write_text(outputs_of(CHAPTER))
    (dst / "book" / "06_other.md").write_text(SECOND)
    (dst / "book" / "06_other.ipynb").write_text(outputs_of(SECOND))
    (dst / "myst.yml").write_text(MYST)
    (dst / "references.bib").write_text("")
    for d in ("site", "pdf"):  # this checkout's tools (mystmd wants a real template folder)
        (dst / "tools" / d).mkdir(parents=True)
        for f in (ROOT / "tools" / d).iterdir():
            if f.name != "node_modules":
                (dst / "tools" / d / f.name).symlink_to(f)
    if (ROOT / "tools" / "site" / "node_modules").is_dir():
        (dst / "tools" / "site" / "node_modules").symlink_to(ROOT / "tools" / "site" / "node_modules")
    return dst


@pytest.fixture(scope="module")
def fixture_build(book_build, tmp_path_factory):
    # book_build (tests/conftest.py) builds the real book first, so the renderer's packages are
    # installed in tools/site/node_modules, which the fixture project links to
    require_tool("node", "the fixture book build (Node.js >= 20 with npm)")
    root = make_fixture(tmp_path_factory.mktemp("exercises") / "project")
    out = root / "_build" / "html"
    proc = subprocess.run([sys.executable, ROOT / "tools" / "build_book.py", "--root", root, "--out", out],
                          cwd=root, env=tagged_env(), capture_output=True, text=True, timeout=600)
    assert_no_survivors("the fixture build")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, out


def page(out):
    return (out / "index.html").read_text()


def test_exercises_are_numbered_per_chapter_and_link_their_solution(fixture_build):
    root, out = fixture_build
    tree = parse_html(page(out))
    exercises = tree.find_all("section", "exercise")
    assert len(exercises) == 2
    for i, ex in enumerate(exercises, 1):
        title = ex.find_all("h4", "exercise-title")[0]
        assert title.attrs["id"] == f"ex-combine-{i}"
        assert re.sub(r"\s+", " ", title.text()).strip().startswith(f"Exercise 5.{i}"), title.text()
        links = [a.attrs["href"] for a in ex.find_all("a", "solution-link")]
        assert links == [f"#sol-combine-{i}"], links
    # numbered per chapter: the next chapter starts again at 1
    other = parse_html((out / "other.html").read_text()).find_all("h4", "exercise-title")
    assert [re.sub(r"\s+", " ", h.text()).strip() for h in other] == ["Exercise 6.1"], [h.text() for h in other]
    # a reference to an exercise shows its chapter number
    assert "Exercise\xa05.1" in exercises[1].text() or "Exercise 5.1" in exercises[1].text()


def test_each_solution_is_folded_right_after_its_exercise_with_its_cells(fixture_build):
    root, out = fixture_build
    html = page(out)
    tree = parse_html(html)
    sols = tree.find_all("details", "solution")
    assert [s.attrs["id"] for s in sols] == ["sol-combine-1", "sol-combine-2"]
    for s in sols:
        assert "open" not in s.attrs, f"{s.attrs['id']} is shown unfolded"
        assert "Show solution" in s.find_all("summary")[0].text()
        back = [a.attrs["href"] for a in s.find_all("a", "exercise-link")]
        assert back == [f"#{s.attrs['data-exercise']}"] and back[0].startswith("#ex-combine-"), back
    first = sols[0]
    text = first.text()
    # the prose, the code cell between the gates and its output, and the prose after it
    for needed in ("The quokka answer is four.", "assert 2 + 2 == 4", "narwhal 4", "It checks out."):
        assert needed in text, f"{needed!r} is not inside the folded solution"
    # right after its exercise: nothing but whitespace between the exercise and its solution
    i_ex = html.index('id="ex-combine-1"')
    i_sol = html.index('id="sol-combine-1"')
    i_ex2 = html.index('id="ex-combine-2"')
    assert i_ex < i_sol < i_ex2
    between = re.sub(r"<[^>]+>|\s", "", html[html.index("</section>", i_ex):html.rindex("<details", 0, i_sol)])
    assert between == "", between
    # nothing of the solution is outside the fold
    outside = re.sub(r"<details class=\"solution\".*?</details>", "", html, flags=re.S)
    for leaked in ("quokka", "narwhal", "It checks out"):
        assert leaked not in outside, f"{leaked!r} is shown outside its folded solution"


def test_import_only_cells_are_folded_with_their_output_shown(fixture_build):
    root, out = fixture_build
    tree = parse_html(page(out))
    folded = tree.find_all("div", "folded")
    assert folded, "the cell tagged fold is not folded"
    det = folded[0].find_all("details", "fold-code")
    assert det and "open" not in det[0].attrs and "show code" in det[0].find_all("summary")[0].text()
    assert "import math" in det[0].text()


def test_the_pdf_collects_the_solutions_at_the_chapters_end(fixture_build):
    pypdf = pytest.importorskip("pypdf")
    root, out = fixture_build
    reader = pypdf.PdfReader(out / "cnnlit.pdf")
    text = "\n".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    i_sols = flat.index("Solutions")
    # the exercises come first, then the heading, then every solution (with its code and output)
    assert flat.index("zebrafish") < i_sols < flat.index("quokka") < flat.index("narwhal")
    assert flat.index("Exercise 5.2") < i_sols
    assert "Solution to Exercise 5.1" in flat[i_sols:] and "Solution to Exercise 5.2" in flat[i_sols:]
    # links both ways: every exercise to its solution, every solution back
    typ = "\n".join(f.read_text() for f in (root / "_build" / "pdf-src" / "out").glob("*.typ"))
    for i in (1, 2):
        assert f"#link(<sol-combine-{i}>)" in typ, f"exercise {i} does not link its solution"
        assert f"#link(<ex-combine-{i}>)" in typ, f"solution {i} does not link its exercise"
        # the targets exist (typst refuses a link to a missing label, so the PDF would not build)
        assert f'labelName: "sol-combine-{i}"' in typ and f'labelName: "ex-combine-{i}"' in typ
    links = sum(1 for p in reader.pages for a in (p.get("/Annots") or [])
                if a.get_object().get("/Subtype") == "/Link" and "/URI" not in str(a.get_object().get("/A", {})))
    assert links >= 5, f"{links} internal links in the PDF (2 exercise -> solution, 2 back, 1 reference)"


# ---------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def browser(fixture_build, tmp_path_factory):
    yield from launch_browser(tmp_path_factory, "chromium-ex")


@pytest.fixture(scope="module")
def fx_server(fixture_build):
    yield from serve(fixture_build[1])


OPEN = "document.getElementById('sol-combine-1').open"
VISIBLE = ("(() => { const e = [...document.querySelectorAll('#sol-combine-1 .solution-body p')]"
           ".find(p => p.textContent.includes('quokka')); if (!e) return null;"
           " const r = e.getBoundingClientRect(); return e.checkVisibility() && r.height > 0 && r.width > 0; })()")


@pytest.mark.parametrize("theme,width", [("light", 1280), ("dark", 1280), ("light", 390)])
def test_solutions_fold_and_unfold_in_a_browser(fx_server, browser, theme, width):
    base, _ = fx_server
    browser.viewport(width, 900, mobile=width < 500)
    browser.color_scheme(theme)
    browser.goto(f"{base}/index.html")
    browser.eval("localStorage.removeItem('cnnlit-theme'), true")
    browser.goto(f"{base}/index.html")
    assert browser.eval("document.documentElement.dataset.theme") == theme
    assert browser.eval(OPEN) is False and browser.eval(VISIBLE) is False, "the solution is shown unfolded"
    width_ok = browser.eval("document.documentElement.scrollWidth")
    assert width_ok <= width, f"the page scrolls sideways at {width} px"
    browser.eval("scrollTo(0, document.getElementById('ex-combine-1').getBoundingClientRect().top + scrollY - 20), true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SCREENSHOTS / f"solution-folded-{theme}-{width}.png")
    browser.eval("document.querySelector('#sol-combine-1 > summary').click(), true")
    assert browser.eval(OPEN) is True and browser.eval(VISIBLE) is True, "Show solution does not unfold it"
    summary_color = browser.eval("getComputedStyle(document.querySelector('#sol-combine-1 > summary')).color")
    bg = browser.eval("getComputedStyle(document.body).backgroundColor")
    assert summary_color != bg
    browser.screenshot(SCREENSHOTS / f"solution-unfolded-{theme}-{width}.png")
    # the link from the exercise opens its solution; the link back lands on the exercise
    browser.goto(f"{base}/index.html")
    browser.eval("document.getElementById('ex-combine-2').closest('section').querySelector('a.solution-link')"
                 ".click(), true")
    browser.wait_for("document.getElementById('sol-combine-2').open === true", what="the solution opened by its link")
    browser.eval("document.querySelector('#sol-combine-2 a.exercise-link').click(), true")
    browser.wait_for("location.hash === '#ex-combine-2'", what="the link back to the exercise")


def test_search_finds_an_exercise_by_its_words(fx_server, browser):
    base, _ = fx_server
    browser.viewport(1280, 900)
    browser.goto(f"{base}/index.html")
    found = browser.eval("""(async () => { const pf = await import('./pagefind/pagefind.js');
        const r = await pf.search('zebrafish'); const d = await Promise.all(r.results.map(x => x.data()));
        return d.flatMap(x => (x.sub_results || []).map(s => s.url)); })()""")
    assert any(u.endswith("#ex-combine-1") for u in found), found
