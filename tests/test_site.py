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
    launch_browser,
    pages_of_build,
    parse_html,
    serve,
    source_md,
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
    yield from launch_browser(tmp_path_factory, "chromium")


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
        hits = [h.split("#")[0] for h in search(browser, query)]
        assert built.pages[toc_file] in hits, f"searching {query!r} does not find {toc_file}: {hits}"
    shot(browser, "search")
    # every chapter is found by its own title
    for toc_file in CHAPTERS:
        title = built.tree(built.pages[toc_file]).find_all("h1", "page-title")[0].text()
        words = " ".join(re.findall(r"[A-Za-z][A-Za-z-]{3,}", title)[:4])
        hits = [h.split("#")[0] for h in search(browser, words)]
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


# every numbered display whose number's box meets a box of the formula (by more than 1 px)
OVERLAPS = """[...document.querySelectorAll('.math-display')].flatMap(d => {
    const tag = d.querySelector('.katex-html > .tag'); if (!tag) return [];
    const t = tag.getBoundingClientRect();
    const worst = Math.max(0, ...[...d.querySelectorAll('.katex-html > .base')].map(b => {
        const r = b.getBoundingClientRect();
        if (r.bottom <= t.top || r.top >= t.bottom) return 0;
        return Math.min(r.right, t.right) - Math.max(r.left, t.left); }));
    return worst > 1 ? [(d.id || '?') + ' ' + tag.textContent + ' by ' + Math.round(worst) + ' px'] : []; })"""


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
    # no formula is printed over its number (or its number over it): every numbered display
    # of the page, measured after the fonts have loaded
    browser.eval("document.fonts.ready.then(() => new Promise(r => setTimeout(r, 150)))")
    overlaps = browser.eval(OVERLAPS)
    tagged = browser.eval("document.querySelectorAll('.math-display .katex-html > .tag').length")
    if re.search(r"\\tag\{", source_md(toc_file)):
        assert tagged, f"{name}: no numbered display found"
    assert not overlaps, f"{name}: at 390 px formulas overlap their numbers: {overlaps}"
    # wide tables and long formulas: each sits in a box that scrolls
    boxes = browser.eval("""[...document.querySelectorAll('.table-scroll, .math-display')]
        .filter(b => b.scrollWidth > b.clientWidth + 1)
        .map(b => getComputedStyle(b).overflowX)""")
    assert all(o in ("auto", "scroll") for o in boxes), boxes


# ---------------------------------------------------------------- issue 22: the reader's experience
def readme_block(marker):
    m = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n\s*```", (ROOT / "README.md").read_text(), re.S)
    return m.group(1).strip() if m else None


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_run_this_chapter_box(built, toc_file):
    """Each chapter says how to run it: the README's JupyterLab command, the chapter's .md and
    .ipynb, the student edition's command when the README has one; the README is linked."""
    tree = built.tree(built.pages[toc_file])
    boxes = tree.find_all("aside", "run-chapter")
    assert len(boxes) == 1, f"{toc_file}: {len(boxes)} 'Run this chapter' boxes"
    box = boxes[0]
    text = box.text()
    assert readme_block("lab-command") in text, "the box does not give the README's JupyterLab command"
    student = readme_block("student-command")
    if student:
        assert student in text, "the box does not give the student edition's command"
    hrefs = [a.attrs.get("href", "") for a in box.find_all("a")]
    md = (ROOT / toc_file).with_suffix(".md").name
    assert f"sources/{md}" in hrefs and any(h.endswith(".ipynb") for h in hrefs), hrefs
    assert "README.md" in hrefs and (built.out / "README.md").read_text() == (ROOT / "README.md").read_text()


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_figures_are_described_and_references_not_doubled(built, toc_file):
    """Images carry their figure's caption as alt text, not matplotlib's repr; an equation
    reference inside parentheses is not printed "((8))"; equation references preview the formula."""
    name = built.pages[toc_file]
    html = (built.out / name).read_text()
    tree = built.tree(name)
    for img in tree.find_all("img"):
        alt = img.attrs.get("alt") or ""
        assert alt and not alt.startswith("<Figure size"), f"{name}: an image without a description: {alt!r}"
    for fig in tree.find_all("figure", "kind-figure"):
        for img in fig.find_all("img"):
            assert re.match(r"Figure [\w.]+: \S", img.attrs["alt"]), img.attrs["alt"][:80]
    doubled = re.findall(r"\(<a [^>]*class=\"xref[^\"]*\"[^>]*>\(", html)
    assert not doubled, f"{name}: equation references in doubled parentheses: {len(doubled)}"
    for a in tree.find_all("a", "xref"):
        if "#eq-" in a.attrs.get("href", ""):
            assert "eq" in a.classes and a.find_all("span", "eq-preview"), f"{name}: {a.attrs['href']} has no preview"


def test_code_column_fits_88_columns(built, server, browser):
    """At 1280 px the text column holds 88 columns of code (ruff's line length) without scrolling."""
    base, _ = server
    browser.viewport(1280, 900)
    browser.goto(f"{base}/{built.pages[CHAPTERS[1]]}")
    fit = browser.eval("""document.fonts.ready.then(() => { const pre = document.querySelector('pre.code');
        const probe = document.createElement('span'); probe.textContent = 'M'.repeat(88);
        pre.querySelector('code').appendChild(probe);
        const cs = getComputedStyle(pre);
        const room = pre.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
        const need = probe.getBoundingClientRect().width; probe.remove();
        return {room, need}; })""")
    assert fit["need"] <= fit["room"], f"88 columns of code need {fit['need']:.0f} px, the column has {fit['room']:.0f} px"


def test_copy_buttons_and_equation_previews(built, server, browser):
    base, _ = server
    browser.viewport(1280, 900)
    browser.goto(f"{base}/{built.pages[CHAPTERS[1]]}")
    counts = browser.eval("[document.querySelectorAll('pre.code').length,"
                          " document.querySelectorAll('.code-box > button.copy').length]")
    assert counts[0] and counts[0] == counts[1], f"{counts[1]} copy buttons for {counts[0]} code cells"
    copied = browser.eval("""(async () => { const b = document.querySelector('.code-box > button.copy'); b.click();
        await new Promise(r => setTimeout(r, 300));
        return [b.dataset.copied, b.parentElement.querySelector('pre.code code').textContent]; })()""")
    assert copied[0] and copied[0] == copied[1], "the copy button does not copy the cell's code"
    browser.send("Emulation.setFocusEmulationEnabled", enabled=True)  # :focus in a headless page
    shown = browser.eval("""(() => { const a = document.querySelector('article a.xref.eq'); if (!a) return null;
        a.focus(); const p = a.querySelector('.eq-preview'); const r = p.getBoundingClientRect();
        return r.width > 0 && !!p.querySelector('.katex'); })()""")
    assert shown is not False, "an equation reference does not show its formula"


def test_search_opens_the_matching_section(built, server, browser):
    base, _ = server
    browser.viewport(1400, 900)
    browser.goto(f"{base}/index.html")
    hits = search(browser, "Kronecker product")
    assert any("#" in h for h in hits), f"no result opens a section: {hits}"
    target = next(h for h in hits if "#" in h)
    page, anchor = target.split("#", 1)
    assert page, f"a result without its page: {target}"
    assert anchor in {n.attrs.get("id") for n in built.tree(page).iter()}, target


def test_no_code_block_scrolls_sideways_at_1280(built, server, browser):
    """The 88-column rule, seen by the reader: with every solution unfolded, no code or output
    block scrolls at 1280 px, and none is cut off by the box around it (a solution's body is
    narrower than the page's column; its code blocks take the body's full width). Enabled after
    the chapters' sweep to 88 columns, code and printed output (tests/test_lint.py:
    LINE_LENGTH_SWEEP_DONE and OUTPUT_SWEEP_DONE)."""
    from test_lint import LINE_LENGTH_SWEEP_DONE, OUTPUT_SWEEP_DONE

    if not (LINE_LENGTH_SWEEP_DONE and OUTPUT_SWEEP_DONE):
        pytest.skip("the chapters' printed output is not yet swept to 88 columns (tests/test_lint.py)")
    base, _ = server
    browser.viewport(1280, 900)
    wide, cut, seen = {}, {}, 0
    for toc_file in CHAPTERS:
        browser.goto(f"{base}/{built.pages[toc_file]}")
        found = browser.eval(
            "document.fonts.ready.then(() => { document.querySelectorAll('details').forEach((d) => { d.open = true; });"
            " const pres = [...document.querySelectorAll('pre.code, pre.output')];"
            " const box = (p) => p.closest('.block, details.solution, article');"
            " return [pres.length, pres.filter((p) => p.scrollWidth > p.clientWidth + 1).length,"
            "  pres.filter((p) => { const r = p.getBoundingClientRect(), b = box(p).getBoundingClientRect();"
            "   return r.width > 0 && (r.left < b.left - 0.5 || r.right > b.right + 0.5); }).length]; })")
        seen += found[0]
        if found[1]:
            wide[toc_file] = found[1]
        if found[2]:
            cut[toc_file] = found[2]
    assert seen > 300, f"only {seen} code and output blocks found"
    assert not cut, f"code or output blocks cut off by their box at 1280 px: {cut}"
    assert not wide, f"code or output blocks that scroll sideways at 1280 px: {wide}"
