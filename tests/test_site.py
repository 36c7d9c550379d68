"""What a reader of the rendered site expects beyond the pages themselves: search, a dark theme,
an "on this page" outline, downloads and a footer, MathML for screen readers, and a phone layout.

The file checks read the build that tests/conftest.py makes once; the browser checks drive
headless Chromium over the DevTools protocol (tests/browser.py) against a local server, on
every page of myst.yml's toc, so new chapters are covered without touching this file.
Screenshots of the light, dark and phone layouts are kept in _build/screenshots/site-*.png.
"""
from __future__ import annotations

import json
import re

import pytest
from test_book import (
    CHAPTERS,
    ROOT,
    SCREENSHOTS,
    assert_no_survivors,
    chromium,
    pages_of_build,
    parse_html,
    serve,
    source_md,
    tagged_env,
)


class Built:
    def __init__(self, out):
        self.out = out
        self.pages = pages_of_build(ROOT / "_build" / "site")
        self._trees = {}

    def tree(self, name):
        if name not in self._trees:
            self._trees[name] = parse_html((self.out / name).read_text())
        return self._trees[name]


@pytest.fixture(scope="module")
def built(book_build):
    out, rc, log = book_build
    assert rc == 0, f"the book build failed:\n{log[-4000:]}"
    return Built(out)


def h2_ids(tree):
    return [h.attrs["id"] for h in tree.find_all("article")[0].find_all("h2") if h.attrs.get("id")]


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_outline_downloads_and_footer(built, toc_file):
    name = built.pages[toc_file]
    tree = built.tree(name)
    # "On this page": every section of the page, in order
    outline = tree.find_all("aside", "outline")
    ids = h2_ids(tree)
    if ids:
        links = [a.attrs["href"][1:] for a in outline[0].find_all("a")]
        assert [i for i in links if i in ids] == ids, (links, ids)
    # downloads: the chapter's .md source (the same bytes), its .ipynb, the PDF
    downloads = tree.find_all("p", "downloads")[0]
    hrefs = {a.attrs["href"]: a for a in downloads.find_all("a")}
    md = [h for h in hrefs if h.endswith(".md")]
    assert md == [f"sources/{(ROOT / toc_file).with_suffix('.md').name}"], hrefs
    assert (built.out / md[0]).read_text() == source_md(toc_file)
    nb = [h for h in hrefs if h.endswith(".ipynb")]
    assert len(nb) == 1 and json.loads((built.out / nb[0]).read_text())["cells"], hrefs
    assert "cnnlit.pdf" in hrefs and (built.out / "cnnlit.pdf").is_file()
    # the footer: title, licenses, the paper
    footer = re.sub(r"\s+", " ", tree.find_all("footer", "site-footer")[0].text())
    for needed in ("cnnlit", "CC-BY-4.0", "MIT", "Bouvrie", "Notes on Convolutional Neural Networks", "2006"):
        assert needed in footer, (needed, footer)


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_math_carries_mathml(built, toc_file):
    """Every formula has MathML beside its HTML (with the TeX as annotation), for screen readers."""
    tree = built.tree(built.pages[toc_file])
    formulas = tree.find_all(cls="katex")
    for k in formulas:
        maths = [m for m in k.find_all("math")]
        assert maths and maths[0].find_all("annotation"), "a formula without MathML"
    if "$" in source_md(toc_file):
        assert formulas


def test_search_index_exists(built):
    assert (built.out / "pagefind" / "pagefind.js").is_file()
    assert list((built.out / "pagefind").glob("index/*")), "the search index is empty"


# ---------------------------------------------------------------- the browser
@pytest.fixture(scope="module")
def server(built):
    yield from serve(built.out)


@pytest.fixture(scope="module")
def browser(built, tmp_path_factory):
    exe = chromium()
    from browser import Browser

    b = Browser(exe, tmp_path_factory.mktemp("chromium") / "profile", env=tagged_env())
    try:
        yield b
    finally:
        b.close()
        assert_no_survivors("chromium")


def shot(browser, name, full_page=False):
    return browser.screenshot(SCREENSHOTS / f"site-{name}.png", full_page=full_page)


SEARCH = "document.getElementById('search-results')"


def search(browser, query):
    browser.eval(f"(() => {{ const i = document.getElementById('search-input'); i.value = {json.dumps(query)};"
                 " i.dispatchEvent(new Event('input')); return true; })()")
    browser.wait_for(f"{SEARCH}.dataset.state === 'done' || {SEARCH}.dataset.state === 'error'", what=f"search {query!r}")
    assert browser.eval(f"{SEARCH}.dataset.state") == "done", browser.eval(f"{SEARCH}.innerText")
    return browser.eval(f"[...{SEARCH}.querySelectorAll('li > a')].map(a => a.getAttribute('href'))")


# A formula's name -> the chapter whose formula it is (the page must be among the results).
FORMULA_NAMES = {
    "rot180": "book/02_convolution.ipynb",
    "sensitivity": "book/01_fully_connected.ipynb",
    "Kronecker product": "book/03_subsampling.ipynb",
    "finite differences": "book/01_fully_connected.ipynb",
}


def test_search_finds_a_formulas_chapter(built, server, browser):
    base, _ = server
    browser.viewport(1400, 900)
    browser.goto(f"{base}/index.html")
    for query, toc_file in FORMULA_NAMES.items():
        if toc_file not in built.pages:
            continue
        hits = search(browser, query)
        assert built.pages[toc_file] in hits, f"searching {query!r} does not find {toc_file}: {hits}"
    shot(browser, "search")
    # every chapter is found by its own title
    for toc_file in CHAPTERS:
        title = built.tree(built.pages[toc_file]).find_all("h1", "page-title")[0].text()
        words = " ".join(re.findall(r"[A-Za-z][A-Za-z-]{3,}", title)[:4])
        hits = search(browser, words)
        assert built.pages[toc_file] in hits, f"searching {words!r} does not find {toc_file}: {hits}"


def luminance(css):
    r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", css)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def colors(browser):
    js = """(() => { const cs = (s, p) => { const e = document.querySelector(s); return e ? getComputedStyle(e)[p] : null; };
      return { bg: cs('body', 'backgroundColor'), text: cs('article p', 'color'),
               code: cs('pre.code code', 'color'), codeBg: cs('pre.code', 'backgroundColor'),
               math: cs('.katex', 'color'), side: cs('.sidebar', 'backgroundColor'),
               link: cs('article a.xref, article a', 'color'),
               img: cs('figure.output.image', 'backgroundColor') }; })()"""
    return browser.eval(js)


def test_dark_mode_follows_the_system_and_the_toggle(built, server, browser):
    base, _ = server
    page = built.pages[CHAPTERS[1]]  # a chapter with code, math and figures
    browser.viewport(1400, 900)
    browser.color_scheme("light")
    browser.goto(f"{base}/{page}")
    browser.eval("localStorage.removeItem('cnnlit-theme'), true")
    browser.goto(f"{base}/{page}")
    assert browser.eval("document.documentElement.dataset.theme") == "light"
    light = colors(browser)
    assert luminance(light["bg"] if "0, 0, 0, 0" not in light["bg"] else "rgb(255,255,255)") > 0.8
    shot(browser, "light")

    browser.color_scheme("dark")  # the system switches: the page follows
    browser.wait_for("document.documentElement.dataset.theme === 'dark'", what="the dark theme")
    dark = colors(browser)
    assert luminance(dark["bg"]) < 0.05, dark
    for fg, bg in (("text", "bg"), ("code", "codeBg"), ("math", "bg"), ("link", "bg")):
        assert contrast(dark[fg], dark[bg]) >= 4.5, (fg, bg, dark)
    if dark["img"]:  # figures keep their white paper
        assert luminance(dark["img"]) > 0.9, dark["img"]
    browser.eval("scrollTo(0, document.querySelector('.math-display').getBoundingClientRect().top + scrollY - 200), true")
    shot(browser, "dark")
    if browser.eval("!!document.querySelector('figure.kind-figure img')"):
        browser.eval("scrollTo(0, document.querySelector('figure.kind-figure img').getBoundingClientRect().top"
                     " + scrollY - 100), true")
        shot(browser, "dark-figure")
    if browser.eval("!!document.querySelector('pre.code')"):
        browser.eval("scrollTo(0, document.querySelector('.block.notebook-code').getBoundingClientRect().top"
                     " + scrollY - 100), true")
        shot(browser, "dark-code")
    browser.eval("scrollTo(0, 0), true")

    browser.eval("document.querySelector('.theme-toggle').click(), true")  # the reader's choice wins
    assert browser.eval("document.documentElement.dataset.theme") == "light"
    assert browser.eval("localStorage.getItem('cnnlit-theme')") == "light"
    browser.goto(f"{base}/{page}")
    assert browser.eval("document.documentElement.dataset.theme") == "light", "the choice is not kept"
    browser.eval("document.querySelector('.theme-toggle').click(), true")
    assert browser.eval("document.documentElement.dataset.theme") == "dark"
    assert browser.eval("document.querySelector('.theme-toggle').getAttribute('aria-pressed')") == "true"
    browser.eval("localStorage.removeItem('cnnlit-theme'), true")
    browser.color_scheme("light")


def test_outline_on_wide_screens_only(built, server, browser):
    base, _ = server
    page = built.pages[CHAPTERS[1]]
    visible = ("(() => { const o = document.querySelector('aside.outline'); "
               "return !!o && o.getBoundingClientRect().width > 100 && getComputedStyle(o).display !== 'none'; })()")
    browser.viewport(1400, 900)
    browser.goto(f"{base}/{page}")
    assert browser.eval(visible), "no outline beside the text at 1400 px"
    right = browser.eval("document.querySelector('aside.outline').getBoundingClientRect().left"
                         " >= document.querySelector('article').getBoundingClientRect().right")
    assert right, "the outline overlaps the text"
    browser.viewport(1000, 900)
    assert not browser.eval(visible), "an outline squeezes the text at 1000 px"


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_phone_layout(built, server, browser, toc_file):
    """At 390 px: no sideways scrolling of the page; the table of contents folds behind a menu
    button; wide tables, formulas and code scroll inside their own box."""
    base, _ = server
    name = built.pages[toc_file]
    browser.viewport(390, 844, mobile=True)
    browser.goto(f"{base}/{name}")
    width = browser.eval("document.documentElement.scrollWidth")
    wide = browser.eval("""[...document.querySelectorAll('body *')].filter(e => {
        const r = e.getBoundingClientRect(); if (r.width === 0) return false;
        let p = e.parentElement;
        while (p) {
            const o = getComputedStyle(p).overflowX;
            if (o === 'auto' || o === 'scroll' || o === 'hidden') return false;
            p = p.parentElement;
        }
        return r.right > innerWidth + 1; }).slice(0, 5)
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width <= 390, f"{name} scrolls sideways at 390 px (width {width}): {wide}"
    assert not wide, f"{name}: boxes reach past the screen: {wide}"
    toc_shown = "getComputedStyle(document.querySelector('#toc-panel')).display !== 'none'"
    assert browser.eval("getComputedStyle(document.querySelector('.menu-toggle')).display !== 'none'"), "no menu button"
    assert not browser.eval(toc_shown), "the table of contents is not folded"
    top = browser.eval("document.querySelector('h1.page-title').getBoundingClientRect().top")
    assert top < 300, f"the page's title starts {top} px down"
    if toc_file == CHAPTERS[0]:
        shot(browser, "phone")
        if browser.eval("!!document.querySelector('.table-scroll')"):  # a wide table in its box
            browser.eval("scrollTo(0, document.querySelector('.table-scroll').getBoundingClientRect().top + scrollY - 80), true")
            shot(browser, "phone-table")
            browser.eval("scrollTo(0, 0), true")
    browser.eval("document.querySelector('.menu-toggle').click(), true")
    assert browser.eval(toc_shown), "the menu button does not open the table of contents"
    assert browser.eval("document.querySelector('.menu-toggle').getAttribute('aria-expanded')") == "true"
    if toc_file == CHAPTERS[0]:
        shot(browser, "phone-menu")
    # wide tables and long formulas: each sits in a box that scrolls
    boxes = browser.eval("""[...document.querySelectorAll('.table-scroll, .math-display')]
        .filter(b => b.scrollWidth > b.clientWidth + 1)
        .map(b => getComputedStyle(b).overflowX)""")
    assert all(o in ("auto", "scroll") for o in boxes), boxes
