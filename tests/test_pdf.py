"""The PDF of the whole book (tools/build_pdf.py, built by tools/build_book.py into the site).

Everything the checks expect comes from the sources, so a new chapter tightens them by itself:
the chapters are myst.yml's toc, their titles are the site's page titles, the equation
numbers are every `\\tag{...}` in the chapters' .md files, the figures are their figure
directives.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_book import CHAPTERS, ROOT, chapter_prefix, pages_of_build, parse_html, source_md, without_fences

pypdf = pytest.importorskip("pypdf", reason="pip install -e '.[test]' (pypdf)")


@pytest.fixture(scope="module")
def pdf(book_build):
    out, rc, log = book_build
    assert rc == 0, f"the book build failed:\n{log[-4000:]}"
    path = out / "cnnlit.pdf"
    assert path.is_file(), "the book build wrote no cnnlit.pdf"
    reader = pypdf.PdfReader(path)
    text = "\n".join(p.extract_text() for p in reader.pages)
    return reader, text, out


def titles(out):
    pages = pages_of_build(ROOT / "_build" / "site")
    found = []
    for f in CHAPTERS:
        h1 = parse_html((out / pages[f]).read_text()).find_all("h1", "page-title")
        found.append(re.sub(r"\s+", " ", h1[0].text()).strip())
    return found


def test_every_chapter_starts_a_page_in_toc_order(pdf):
    """The PDF's bookmarks are the chapters of the toc, with the site's titles, in order, each
    on a later page than the one before; the page count fits a title page, the contents and
    every chapter."""
    reader, text, out = pdf
    marks = [(o.title, reader.get_destination_page_number(o)) for o in reader.outline if not isinstance(o, list)]
    same = lambda t: t.replace("\u2019", "'")  # noqa: E731  (typst's smart quotes vs the page's)
    assert [same(t) for t, _ in marks] == [same(t) for t in titles(out)], marks
    starts = [p for _, p in marks]
    assert starts == sorted(set(starts)), f"chapters share or reverse pages: {marks}"
    assert len(reader.pages) >= len(CHAPTERS) + 2
    assert starts[0] >= 1 and starts[-1] < len(reader.pages)
    # pypdf reads typst's hyphens as soft hyphens: one at a line's end was added by hyphenation
    squeeze = lambda t: re.sub(r"\s", "", same(t).replace("\xad\n", "").replace("\xad", "-"))  # noqa: E731
    for title in titles(out):  # the titles are in the text too (contents and chapter heads)
        assert squeeze(text).count(squeeze(title.split(":")[0])) >= 2, title


def test_the_papers_equation_numbers_stand_in_the_text(pdf):
    """Every display the chapters tag, (1)-(14) and the U-ids, shows its tag in the PDF."""
    reader, text, out = pdf
    tags = set()
    for f in CHAPTERS:
        tags |= {re.sub(r"\s+", "", t) for t in re.findall(r"\\tag\{([^{}]+)\}", without_fences(source_md(f)))}
    numbered = sorted(int(t) for t in tags if t.isdigit())
    assert numbered and numbered == list(range(1, numbered[-1] + 1)), f"the paper's numbers skip: {numbered}"
    flat = text.replace("\n", "")
    missing = sorted(t for t in tags if f"({t})" not in flat)
    assert not missing, f"equation numbers missing from the PDF: {missing}"
    assert not re.search(r"\btag\s*U?\d", flat), "a raw \\tag in the PDF"


def placements(resources, data):
    """How many times a content stream draws an image (`/Name Do`), following form XObjects."""
    xobjects = resources.get_object().get("/XObject") if resources else None
    xobjects = xobjects.get_object() if xobjects else {}
    n = 0
    for name in re.findall(rb"/([^\s/]+)\s+Do\b", data):
        obj = xobjects.get("/" + name.decode())
        if obj is None:
            continue
        obj = obj.get_object()
        if obj.get("/Subtype") == "/Image":
            n += 1
        elif obj.get("/Subtype") == "/Form":
            n += placements(obj.get("/Resources"), obj.get_data())
    return n


def test_the_title_page_hyphenates_nothing(pdf):
    reader, text, out = pdf
    first = reader.pages[0].extract_text()
    assert "\xad" not in first and not re.search(r"\w-\n", first), f"the title page hyphenates: {first!r}"


def test_figures_and_cross_references(pdf):
    """The figures of the stored outputs are images in the PDF, and the references between
    chapters are links that land on a page of the document."""
    reader, text, out = pdf
    figures = sum(len(re.findall(r"^:{3,}\{figure\}", source_md(f), flags=re.M)) for f in CHAPTERS)
    images = 0
    internal = 0
    for page in reader.pages:
        contents = page.get_contents()
        if contents is not None:
            images += placements(page.get("/Resources"), contents.get_data())
        for a in page.get("/Annots") or []:
            a = a.get_object()
            if a.get("/Subtype") == "/Link" and ("/Dest" in a or a.get("/A", {}).get("/S") == "/GoTo"):
                internal += 1
    # one for one: each figure's image is drawn once (not also bare after its code cell)
    assert images == figures, f"{images} images are drawn in the PDF for {figures} figures"
    links = sum(len(re.findall(r"\]\(#eq-", without_fences(source_md(f)))) for f in CHAPTERS)
    assert internal >= links, f"{internal} internal links in the PDF, but the chapters link equations {links} times"
    assert "Figure" in text


def test_errata_boxes_and_figure_numbers(pdf):
    """The errata boxes keep their titles, and the figures their chapter's numbers (Figure 3.2),
    the same numbers the site shows and the text refers to."""
    reader, text, out = pdf
    flat = re.sub(r"\s+", "", text.replace("\xad\n", "").replace("\xad", "-").replace("\u2019", "'"))
    for f in CHAPTERS:
        md = without_fences(source_md(f))
        for title in re.findall(r"^:{3,}\{admonition\}\s*(Erratum.*)$", md, flags=re.M):
            assert re.sub(r"\s+", "", title.replace("\u2019", "'"))[:40] in flat, f"{f}: the erratum {title!r} is not in the PDF"
        prefix = chapter_prefix(f)
        n = len(re.findall(r"^:{3,}\{figure\}", source_md(f), flags=re.M))
        for i in range(1, n + 1):
            number = f"{prefix}.{i}" if prefix else str(i)
            assert f"Figure{number}:" in flat, f"{f}: no caption 'Figure {number}:' in the PDF"


def test_the_site_links_the_pdf(pdf):
    reader, text, out = pdf
    html = (out / "index.html").read_text()
    assert re.search(r'<a[^>]+href="cnnlit\.pdf"', html), "the site does not link the PDF"


def test_the_pdf_sources_import_nothing_online(pdf):
    """The typst sources import nothing from typst's online package registry."""
    src = ROOT / "_build" / "pdf-src" / "out"
    typ = list(src.glob("*.typ"))
    assert typ, "no typst sources: the book build did not run tools/build_pdf.py"
    imports = [f.name for f in typ if "@preview/" in f.read_text()]
    assert not imports, f"typst files import online packages: {imports}"
    assert Path(ROOT / "tools" / "pdf" / "template.yml").is_file()


def test_one_bibliography_with_the_same_labels_on_the_site_and_in_the_pdf(pdf):
    """The PDF's reference list is the site's: the same entries in the same order, with the same
    year letters (two works by the same authors in one year: 1998a, 1998b); each citation reads
    as on the site; no stray commas ("(1998b,)")."""
    reader, text, out = pdf
    pages = pages_of_build(ROOT / "_build" / "site")
    squeeze = lambda t: re.sub(r"\s", "", t.replace("\xad\n", "").replace("\xad", "-").replace("\u2019", "'"))  # noqa: E731
    flat = squeeze(text)
    site_entries, cites = [], set()
    for f in CHAPTERS:
        tree = parse_html((out / pages[f]).read_text())
        for ul in tree.find_all("ul", "bibliography"):
            site_entries += [squeeze(li.text()) for li in ul.find_all("li")]
        cites |= {squeeze(a.text()) for a in tree.find_all("a", "cite")}
    assert site_entries, "the site lists no references"
    start = flat.rfind(site_entries[0][:40])
    assert start >= 0, f"the PDF lacks the first reference: {site_entries[0][:60]}"
    positions = [flat.find(e[:50], start) for e in site_entries]
    assert -1 not in positions, [e[:50] for e, p in zip(site_entries, positions, strict=True) if p < 0]
    assert positions == sorted(positions), "the PDF orders the references otherwise than the site"
    for c in cites:
        assert c in flat, f"the site's citation {c!r} is not in the PDF"
    assert not re.search(r"\((?:[^()]*,)?(?:19|20)\d\d[a-z]?,\)", flat), "a stray comma in a citation"
    # works cited with the same text get letters, in the list's order, on both
    years = [re.search(r"\((\d{4}[a-z]?)\)", e).group(1) for e in site_entries]
    for y in {y[:4] for y in years if y[-1].isalpha()}:
        letters = [v[4:] for v in years if v.startswith(y) and len(v) == 5]
        assert letters == sorted(letters) and letters[0] == "a", (y, letters)


def test_wrapped_code_keeps_its_indentation(tmp_path):
    """The PDF template's code rules (tools/pdf/template.typ): a line too long for the page
    continues indented past its own indentation, not at the margin."""
    typst = pytest.importorskip("typst")
    rules = re.search(r"(#show raw\.where\(block: true\).*?\n)(?=#show heading)", (ROOT / "tools" / "pdf" / "template.typ")
                      .read_text(), re.S)
    assert rules and "it.lines" in rules.group(1), "the template has no rule for code lines"
    long = "        result = " + " + ".join(f"term_number_{i}" for i in range(12))
    (tmp_path / "t.typ").write_text("#set page(paper: \"a4\", margin: 2cm)\n" + rules.group(1)
                                    + f"```python\ndef f():\n{long}\n```\n")
    typst.compile(str(tmp_path / "t.typ"), output=str(tmp_path / "t.pdf"), ignore_system_fonts=True)
    xs = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            xs.setdefault(round(tm[5] + cm[5]), []).append(tm[4] * cm[0] + cm[4])

    pypdf.PdfReader(tmp_path / "t.pdf").pages[0].extract_text(visitor_text=visit)
    starts = [min(v) for _, v in sorted(xs.items(), reverse=True)]  # line by line, top to bottom
    assert len(starts) >= 3, f"the long line did not wrap: {starts}"
    margin, indented, continued = starts[0], starts[1], starts[2:]
    assert indented > margin + 10, starts
    assert all(x > indented + 5 for x in continued), f"a wrapped line starts left of its indentation: {starts}"


def test_only_displays_get_the_papers_numbers():
    """tools/build_pdf.py gives a display with a \\tag its paper number. It reads mystmd's typst,
    where such a display is a line of its own; inline math and the word "tag" in the prose,
    even between two inline formulas, must stay as they are."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_pdf", ROOT / "tools" / "build_pdf.py")
    build_pdf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build_pdf)
    display = '$ frac(diff E, diff b^ell_j) = sum_(p comma q) (delta^ell_j)_(p q). tag U3.1d $ <eq-u3-1d>'
    out = build_pdf.number_equations(f"Summing:\n\n{display}\n\nso it is.\n")
    assert '#math.equation(block: true, numbering: _ => "(U3.1d)", $ frac(diff E' in out, out
    assert out.endswith("$) <eq-u3-1d>\n\nso it is.\n"), out
    prose = "The map $x$ gets a tag from the list and $y$ keeps its own.\n"
    assert build_pdf.number_equations(prose) == prose
    two = "where $a tag b$ and $c$\n"  # inline, though it reads like a tagged body
    assert build_pdf.number_equations(two) == two
