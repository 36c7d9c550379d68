"""The rendered book: the offline HTML build (tools/build_book.py), checked as files and in a real browser.

Figures: every image is in a numbered, captioned figure (Figure 3.2: chapter 3's second) that
the text refers to; citations link to the one page that lists references.bib.

The build runs once per module into a temporary folder. Every check iterates over the pages
that myst.yml's toc lists, so new chapters are covered without touching this file.

Every process the tests start carries a marker in its environment; after the build and after
the browser runs the tests look through /proc and fail if any of them is still alive.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "tools" / "build_book.py"
SCREENSHOTS = ROOT / "_build" / "screenshots"
MARK = "CNNLIT_TEST_PROCESS_MARK"
RUN_MARK = uuid.uuid4().hex  # this pytest run's marker value


def toc_files():
    return re.findall(r"-\s*file:\s*(\S+)", (ROOT / "myst.yml").read_text())


def tagged_env():
    return {**os.environ, MARK: RUN_MARK}


def marked_processes():
    """(pid, command name) of every live process whose environment carries this run's marker."""
    needle = f"{MARK}={RUN_MARK}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append((int(entry.name), (entry / "comm").read_text().strip()))
        except OSError:  # gone, or a zombie
            continue
    return found


def assert_no_survivors(what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while (left := marked_processes()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes started by {what} are still running: {left}"


def run_group(cmd, *, timeout, cwd=ROOT):
    """Run cmd in its own process group with the marker; kill the group whatever happens."""
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=tagged_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# ---------------------------------------------------------------- a small HTML tree
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    @property
    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag=None, cls=None):
        return [n for n in self.iter() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)]

    def text(self, skip=("script", "style")):
        return "".join(c if isinstance(c, str) else ("" if c.tag in skip else c.text(skip)) for c in self.children)


class TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#root", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(text):
    b = TreeBuilder()
    b.feed(text)
    b.close()
    return b.root


def without_fences(md):
    """The chapter's Markdown without fenced code (code cells, code examples)."""
    return re.sub(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", "", md, flags=re.S | re.M)


# ---------------------------------------------------------------- the build, once
class Site:
    def __init__(self, out, pages, rc, log):
        self.out, self.pages, self.rc, self.log = out, pages, rc, log  # pages: toc file -> html name
        self._trees = {}

    def tree(self, html_name):
        if html_name not in self._trees:
            self._trees[html_name] = parse_html((self.out / html_name).read_text())
        return self._trees[html_name]


def pages_of_build(site_dir):
    """toc file -> html file name, from mystmd's own output (content/<slug>.json has the location)."""
    config = json.loads((site_dir / "config.json").read_text())
    index = config["projects"][0]["index"]
    pages = {}
    for f in (site_dir / "content").glob("*.json"):
        d = json.loads(f.read_text())
        pages[d["location"].lstrip("/")] = "index.html" if d["slug"] == index else f"{d['slug']}.html"
    return pages


def require_tool(name, why):
    path = shutil.which(name)
    if path:
        return path
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing, but CI must run {why}")
    pytest.skip(f"{name} not found; {why} is skipped outside CI")


@pytest.fixture(scope="module")
def site(book_build):  # tests/conftest.py builds the book once for every test file
    out, rc, log = book_build
    pages = pages_of_build(ROOT / "_build" / "site") if rc == 0 else {}
    return Site(out, pages, rc, log)


@pytest.fixture(scope="module")
def built(site):
    assert site.rc == 0, f"the book build failed:\n{site.log[-4000:]}"
    return site


CHAPTERS = toc_files()


def source_md(toc_file):
    return (ROOT / toc_file).with_suffix(".md").read_text()


# ---------------------------------------------------------------- file checks
def test_build_succeeds_and_names_no_unknown_noise(site):
    assert site.rc == 0, f"the book build failed:\n{site.log[-4000:]}"
    assert "Update available" not in site.log


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_every_toc_chapter_is_a_page(built, toc_file):
    assert toc_file in built.pages, f"{toc_file} has no page; pages: {built.pages}"
    assert (built.out / built.pages[toc_file]).is_file()


def test_sidebar_and_pager_follow_the_toc(built):
    names = [built.pages[f] for f in CHAPTERS]
    assert names[0] == "index.html"
    for i, name in enumerate(names):
        tree = built.tree(name)
        sidebar = tree.find_all("nav", "sidebar")[0]
        top = [li.find_all("a")[0].attrs["href"] for li in sidebar.find_all("ol", "toc")[0].children
               if not isinstance(li, str) and li.tag == "li"]
        assert top == names, f"{name}: sidebar lists {top}"
        current = [li for li in sidebar.find_all("li") if "current" in li.classes]
        assert [li.find_all("a")[0].attrs["href"] for li in current] == [name]
        # the current page's own sections, nested under its entry, pointing at its headings
        ids = {n.attrs.get("id") for n in tree.iter()}
        sections = [a.attrs["href"] for a in current[0].find_all("a")[1:]]
        h2 = [h.attrs["id"] for h in tree.find_all("h2") if "id" in h.attrs]
        assert sections and all(s.startswith("#") and s[1:] in ids for s in sections), sections
        assert ["#" + h for h in h2] == [s for s in sections if s[1:] in h2]
        pager = tree.find_all("nav", "pager")[0]
        prev = [a.attrs["href"] for a in pager.find_all("a", "prev")]
        nxt = [a.attrs["href"] for a in pager.find_all("a", "next")]
        assert prev == (names[i - 1:i] if i else []), (name, prev)
        assert nxt == names[i + 1:i + 2], (name, nxt)


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_math_is_typeset(built, toc_file):
    tree = built.tree(built.pages[toc_file])
    article = tree.find_all("article")[0]
    # prose: not code, its output, or the TeX that MathML carries
    text = article.text(skip=("script", "style", "pre", "code", "annotation"))
    assert "$$" not in text and "\\[" not in text and "\\begin{" not in text, "raw TeX left on the page"
    assert not tree.find_all(cls="katex-error")
    md = without_fences(source_md(toc_file))
    displays = len(re.findall(r"\$\$(.+?)\$\$", md, flags=re.S))
    assert len(tree.find_all(cls="katex-display")) >= displays, (len(tree.find_all(cls="katex-display")), displays)
    if re.search(r"\$[^$\n]+\$", re.sub(r"\$\$.+?\$\$", "", md, flags=re.S)):  # inline math too
        assert len(article.find_all(cls="katex")) > len(tree.find_all(cls="katex-display"))


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_the_papers_equation_numbers_are_shown(built, toc_file):
    tree = built.tree(built.pages[toc_file])
    shown = {re.sub(r"\s", "", t.text()) for t in tree.find_all("span", "tag")}
    md = without_fences(source_md(toc_file))
    wanted = {f"({n.strip()})" for n in re.findall(r"\\tag\{([^{}]+)\}", md)}
    assert wanted <= shown, f"tags missing: {sorted(wanted - shown)}"
    # a reference to a tagged equation shows the paper's number, not a page counter
    tagged = {}
    for body, label in re.findall(r"\$\$(.+?)\$\$[ \t]*\(([\w-]+)\)", md, flags=re.S):
        if m := re.search(r"\\tag\{([^{}]+)\}", body):
            tagged[label] = m.group(1).strip()
    for a in tree.find_all("a", "xref"):
        label = a.attrs["href"].split("#")[-1]
        text = a.text().strip()  # one word, e.g. "(4)" or "U3.2b"; longer link texts are prose
        if label in tagged and re.fullmatch(r"\(?[\w.]+\)?", text):
            assert text.strip("()") == tagged[label], (label, text)


def prose_of(md):
    """The chapter's prose: no code, no math, no inline code or roles, and no links."""
    text = without_fences(md)
    text = re.sub(r"\$\$.+?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$(?:[^$\n]|\n(?!\s*\n))+\$", " ", text)  # inline math, also across a line break
    text = re.sub(r"`[^`\n]*`", " ", text)
    return re.sub(r"\[[^\]\n]*\]\([^)\n]*\)", " ", text)


def test_every_mention_of_a_tagged_display_is_a_link():
    """A tagged display ((4), U3.1d) is named in the prose only through a link, never as bare text,
    and every tagged display carries a label that such a link can point at. Source-level: no build."""
    sources = {f: without_fences(source_md(f)) for f in CHAPTERS}
    tags = set()
    for f, md in sources.items():
        for body, label in re.findall(r"\$\$(.+?)\$\$([ \t]*\([\w-]+\))?", md, flags=re.S):
            if m := re.search(r"\\tag\{([^{}]+)\}", body):
                assert label.strip(), f"{f}: the display tagged ({m.group(1)}) has no label"
                tags.add(m.group(1).strip())
    assert {"1", "7", "U3.1d", "U3.2b"} <= tags
    bare = []
    for f in CHAPTERS:
        text = prose_of(source_md(f))
        for tag in tags:
            pattern = rf"\({re.escape(tag)}\)" if tag.isdigit() else rf"(?<![\w.]){re.escape(tag)}(?!\w)"
            bare += [f"{f}: ...{text[max(0, m.start() - 40):m.end()]!r}" for m in re.finditer(pattern, text)]
    assert not bare, "bare mentions of tagged displays (write [](#eq-n4) or [U3.1d](#eq-u3-1d)):\n" + "\n".join(bare)


def test_every_reference_spells_out_its_text():
    """A cross-reference carries its text in the chapter, "[(7)](#eq-n7)", "[Figure 2.3](#fig-...)",
    never "[](#eq-n7)": jupyterlab-myst numbers a notebook's displays 1, 2, 3, ... and cannot see
    another chapter's labels, so only spelled-out text shows the reader the site's numbers there.
    tools/link_text.py writes the text and checks that a number in it is the target's own."""
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "link_text.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, f"run `python tools/link_text.py`:\n{proc.stdout}{proc.stderr}"


def _number_shown_at(html, label):
    """The number a target shows on its page: "Figure 5.3", "Exercise 5.5", "(8)"; None if none."""
    i = html.find(f'id="{label}"')
    if i < 0:
        return None
    head = html[i:i + 60000]
    if label.startswith("eq-"):
        end = head.find('class="math-display"', 10)
        m = re.search(r'<span class="tag">(.*?)</span></span></span>', head[:end if end > 0 else None], re.S)
        return re.sub(r"\s", "", re.sub(r"<[^>]+>", "", m.group(1))) if m else None
    if m := re.match(r'[^>]*>\s*([A-Z0-9]+\.\d+(?:\.\d+)*) ', head):  # a numbered heading: "6.6 The ..."
        return m.group(1)
    m = re.match(r'[^>]*>\s*(?:<[^>]+>\s*)*?<span class="(?:caption|exercise)-number">([^<:]+)', head, re.S) or \
        re.search(r'^[^>]*>.{0,4000}?<span class="caption-number">([^<:]+)', head, re.S)
    return m.group(1).replace("\xa0", " ").strip() if m else None


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_every_reference_shows_the_number_of_its_target(built, toc_file):
    """What the reader sees: no reference reads a bare "Equation" (mystmd's text for a display
    without a number), and a reference that shows a number shows its target's: "(7)" links the
    display tagged 7, "Figure 2.3" the figure captioned so, "section 6.6" the heading numbered so,
    on whatever page it stands."""
    import html as htmllib

    pages = {name: (built.out / name).read_text() for name in built.pages.values()}
    anchors = re.findall(r'<a href="([\w.-]*)#([\w-]+)" class="xref[^"]*">([^<]*)', pages[built.pages[toc_file]])
    assert anchors or toc_file.endswith(("references.ipynb", "C1_api.ipynb")), "no cross-references found"
    wrong = []
    for page, label, text in anchors:
        text = htmllib.unescape(text).replace("\xa0", " ").strip()
        if text == "Equation":
            wrong.append(f"#{label} reads a bare 'Equation'")
            continue
        if not re.fullmatch(r"((Figure|Table|Exercise|Solution to Exercise|[Ss]ection) )?[A-Z0-9]+\.\d+|\(?[NU]?\d[\w.]*\)?",
                            text):
            continue  # descriptive text: "the valid convolution"
        html = pages.get(page) if page else pages[built.pages[toc_file]]
        shown = _number_shown_at(html or "", label)
        if shown is None:
            continue  # a target that shows no number (a section)
        want = shown.strip("()")
        got = re.sub(r"^(Figure|Table|Exercise|Solution to Exercise|[Ss]ection) ", "", text).strip("()")
        if got not in (want, want.split()[-1], "N" + want):
            wrong.append(f"#{label} reads {text!r}, its target shows {shown!r}")
    assert not wrong, f"{toc_file}: " + "; ".join(wrong)


def test_chapter_one_shows_equations_one_to_six(built):
    tree = built.tree(built.pages["book/01_fully_connected.ipynb"])
    shown = [re.sub(r"\s", "", t.text()) for t in tree.find_all("span", "tag")]
    assert [f"({n})" for n in range(1, 7)] == [s for s in shown if s in {f"({n})" for n in range(1, 7)}]


def _ids(site, name):
    return {n.attrs["id"] for n in site.tree(name).iter() if "id" in n.attrs}


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_every_link_and_cross_reference_resolves(built, toc_file):
    name = built.pages[toc_file]
    tree = built.tree(name)
    anchors = [a.attrs["href"] for a in tree.find_all("a") if "href" in a.attrs]
    loaded = [n.attrs[k] for n in tree.iter() for k in ("src",) if k in n.attrs]
    loaded += [n.attrs["href"] for n in tree.find_all("link")]
    checked = 0
    for url in anchors + loaded:
        if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I) or url.startswith("//"):
            # a reader may follow a link out (the paper's PDF, a DOI), but the page loads nothing from outside
            outward = url in anchors and url not in loaded and re.match(r"^https?://", url)
            assert outward or url.startswith("data:"), f"{name}: the offline site loads from outside itself: {url}"
            continue
        file, _, anchor = url.partition("#")
        target = file or name
        assert (built.out / target).is_file(), f"{name}: {url} points at a missing file"
        if anchor and target.endswith(".html"):
            assert anchor in _ids(built, target), f"{name}: {url} points at a missing id"
        checked += 1
    # references written in the chapter: [](#label), [text](#label), {eq}`label`, ... (mystmd
    # renders those to equations as a.xref and those to a page label as a link to the page)
    article = tree.find_all("article")[0]
    xrefs = [a for a in article.find_all("a") if "xref" in a.classes
             or re.fullmatch(r"[\w.-]+\.html(#[\w-]+)?", a.attrs.get("href", ""))]
    md = without_fences(source_md(toc_file))
    assert len(xrefs) >= len(re.findall(r"\]\(#", md)) + len(re.findall(r"\{(?:eq|ref|numref)\}`", md))
    assert checked > 0


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_figures_come_from_the_stored_outputs(built, toc_file):
    import matplotlib.image as mpimg

    nb = json.loads((ROOT / toc_file).read_text())
    images = sum(1 for c in nb["cells"] if c["cell_type"] == "code"
                 for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    imgs = built.tree(built.pages[toc_file]).find_all("img")
    from_outputs = [i for i in imgs if "image" in (i.parent.classes if i.parent else set())]
    assert len(from_outputs) >= images, (len(from_outputs), images)
    for img in from_outputs:
        png = mpimg.imread(built.out / img.attrs["src"])
        assert png.shape[0] > 50 and png.shape[1] > 50 and png.std() > 0.01, img.attrs["src"]


def chapter_prefix(toc_file):
    """The prefix of a chapter's figure numbers: 03_subsampling -> "3", A1_digits -> "A", else None."""
    stem = Path(toc_file).stem
    if m := re.match(r"(\d+)_", stem):
        return str(int(m.group(1)))
    if m := re.match(r"([A-Z])\d*_", stem):
        return m.group(1)
    return None


def numbered_figure(node):
    """The numbered figure (<figure id=... class="numbered">) that holds node, or None."""
    while node is not None:
        if node.tag == "figure" and {"numbered", "kind-figure"} <= node.classes and node.attrs.get("id"):
            return node
        node = node.parent
    return None


def figure_number(fig):
    """ "3.2" from the caption "Figure 3.2: ...", and the caption's own text after it."""
    caps = [c for c in fig.find_all("figcaption") if numbered_figure(c) is fig]
    assert caps, f"figure {fig.attrs['id']} has no caption"
    nums = caps[0].find_all("span", "caption-number")
    assert nums, f"figure {fig.attrs['id']} has no number in its caption"
    m = re.fullmatch(r"Figure\s+([0-9A-Z]+(?:\.\d+)?):", nums[0].text().strip())
    assert m, f"figure {fig.attrs['id']}: caption number {nums[0].text()!r}"
    return m.group(1), re.sub(r"\s+", " ", caps[0].text()).strip()[len(nums[0].text().strip()):].strip()


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_every_image_is_a_numbered_captioned_figure(built, toc_file):
    """Every image on the page (the notebook's output figures and image files alike) sits in a
    numbered figure with a caption; the numbers run 1, 2, ... within the chapter, with the
    chapter as prefix (Figure 3.2); a code cell's figure is shown once, in the figure."""
    article = built.tree(built.pages[toc_file]).find_all("article")[0]
    loose = [img.attrs.get("src") for img in article.find_all("img") if numbered_figure(img) is None]
    assert not loose, f"images outside a numbered, captioned figure: {loose}"
    figures = [f for f in article.find_all("figure", "kind-figure") if "numbered" in f.classes and f.attrs.get("id")]
    prefix = chapter_prefix(toc_file)
    numbers = []
    for fig in figures:
        number, caption = figure_number(fig)
        numbers.append(number)
        assert len(caption.split()) >= 5, f"figure {fig.attrs['id']}: caption too short to say what it shows: {caption!r}"
        assert fig.find_all("img"), f"figure {fig.attrs['id']} shows no image"
        printed = [p.text()[:80] for p in fig.find_all("pre")]
        assert not printed, f"figure {fig.attrs['id']}: its cell prints text besides the figure: {printed}"
    assert numbers == [f"{prefix}.{i}" if prefix else str(i) for i in range(1, len(numbers) + 1)], numbers
    srcs = [img.attrs["src"] for img in article.find_all("img")]
    assert len(srcs) == len(set(srcs)), "an image is shown twice on the page"


def test_every_figure_is_referred_to_with_its_number(built):
    """Each numbered figure is the target of at least one cross-reference somewhere in the book,
    and every reference to it shows the caption's number ("Figure 3.2")."""
    figures = {}  # (html file, id) -> number
    for toc_file in CHAPTERS:
        name = built.pages[toc_file]
        for fig in built.tree(name).find_all("figure", "kind-figure"):
            if "numbered" in fig.classes and fig.attrs.get("id"):
                figures[(name, fig.attrs["id"])] = figure_number(fig)[0]
    referred = set()
    for toc_file in CHAPTERS:
        name = built.pages[toc_file]
        for a in built.tree(name).find_all("article")[0].find_all("a"):
            file, _, anchor = a.attrs.get("href", "").partition("#")
            target = (file or name, anchor)
            if target in figures and numbered_figure(a) is None:
                referred.add(target)
                text = re.sub(r"\s+", " ", a.text()).strip()
                assert text == f"Figure {figures[target]}", f"{name}: a reference to {target} reads {text!r}"
    never = sorted(set(figures) - referred)
    assert not never, f"figures never referred to from the text: {never}"


def bib_keys():
    return re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "references.bib").read_text(), flags=re.M)


def test_the_references_page_lists_every_work(built):
    """references.bib's works all appear, once each, on the one page that holds the list, and
    every citation in the book links to its entry there."""
    keys = bib_keys()
    assert keys and len(keys) == len(set(keys)), keys
    holders = [f for f in CHAPTERS if built.tree(built.pages[f]).find_all("ul", "bibliography")]
    assert len(holders) == 1, holders
    page = built.pages[holders[0]]
    entries = built.tree(page).find_all("ul", "bibliography")[0].find_all("li")
    assert sorted(li.attrs.get("id") for li in entries) == sorted(f"cite-{k}" for k in keys)
    assert all(len(li.text().split()) >= 5 for li in entries)
    cited = set()
    for toc_file in CHAPTERS:
        for a in built.tree(built.pages[toc_file]).find_all("a", "cite"):
            file, _, anchor = a.attrs["href"].partition("#")
            assert file == page and anchor.startswith("cite-"), a.attrs["href"]
            assert a.text().strip(), "an empty citation"
            cited.add(anchor[len("cite-"):])
    assert cited == set(keys), f"works in references.bib never cited: {sorted(set(keys) - cited)}"


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_tables_code_and_errata_are_rendered(built, toc_file):
    tree = built.tree(built.pages[toc_file])
    md = without_fences(source_md(toc_file))
    tables = len(re.findall(r"^\|(?:\s*:?-{3,}:?\s*\|)+\s*$", md, flags=re.M))
    assert len(tree.find_all("table")) >= tables
    nb = json.loads((ROOT / toc_file).read_text())
    code_cells = sum(1 for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip())
    python = [c for c in tree.find_all("code", "hljs") if "language-python" in c.classes]
    assert len(python) >= code_cells, (len(python), code_cells)
    if code_cells:
        assert sum(len(c.find_all("span")) for c in python) > code_cells, "code is not highlighted"
    errata = re.findall(r"^:{3,}\{admonition\}\s*(Erratum.*)$", md, flags=re.M)
    errata += re.findall(r"^:{3,}\{embed\} #(err-[\w-]+)$", md, flags=re.M)  # the errata page
    boxes = [a for a in tree.find_all("aside", "admonition") if "warning" in a.classes]
    titles = [b.find_all(cls="admonition-title")[0].text().strip() for b in boxes]
    assert len([t for t in titles if t.startswith("Erratum")]) == len(errata), (titles, errata)


# ---------------------------------------------------------------- broken books must not build
def copy_project(dst):
    shutil.copytree(ROOT / "book", dst / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(ROOT / "myst.yml", dst / "myst.yml")
    shutil.copy2(ROOT / "references.bib", dst / "references.bib")
    site = dst / "tools" / "site"
    shutil.copytree(ROOT / "tools" / "site", site, ignore=shutil.ignore_patterns("node_modules"))
    (site / "node_modules").symlink_to(ROOT / "tools" / "site" / "node_modules")


def append_to_markdown(ipynb, text):
    nb = json.loads(ipynb.read_text())
    cell = next(c for c in reversed(nb["cells"]) if c["cell_type"] == "markdown")
    cell["source"] = "".join(cell["source"]) + "\n\n" + text + "\n"
    ipynb.write_text(json.dumps(nb, indent=1))


BREAKAGES = {  # case: (text appended to the last chapter, what the failing build must name)
    "intact": (None, None),
    "missing label": ("See [](#no-such-label).", r"no-such-label"),
    "missing equation": ("See {eq}`eq-no-such-equation`.", r"eq-no-such-equation"),
    "missing chapter file": ("See [a chapter that does not exist](09_missing.md).", r"09_missing"),
    "duplicate label": ("(preface)=\n## A second target named like the preface",
                        r'Duplicate identifier in project "preface"'),
    "missing figure": ("See [](#fig-no-such-figure).", r"fig-no-such-figure"),
    "figure of a missing cell": (":::{figure} #no-such-cell\n:label: fig-of-nothing\nA caption.\n:::\n\n"
                                 "See [](#fig-of-nothing).", r"no-such-cell"),
    "missing citation": ("As {cite}`no-such-work` shows.", r"no-such-work"),
}


@pytest.mark.parametrize("case", BREAKAGES)
def test_a_broken_reference_fails_the_build(built, tmp_path, case):
    text, names = BREAKAGES[case]
    copy_project(tmp_path)
    if text:
        append_to_markdown(tmp_path / CHAPTERS[-1], text)
    rc, log = run_group([sys.executable, BUILD, "--root", tmp_path, "--out", tmp_path / "html", "--no-pdf"], timeout=300)
    assert_no_survivors("the build of a copy")
    if text is None:
        assert rc == 0, f"the unmodified copy must build:\n{log[-3000:]}"
    else:
        assert rc != 0, f"a book with {case} built without error:\n{log[-3000:]}"
        assert re.search(names, log), f"the failed build does not name the {case}:\n{log[-3000:]}"


def test_a_figure_from_an_image_file(built, tmp_path):
    """`:::{figure} file.png` works too: numbered with the chapter's prefix, captioned, referred to."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    copy_project(tmp_path)
    chapter = next(f for f in CHAPTERS if chapter_prefix(f) == "A")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "book" / "a-drawing.png")
    plt.close(fig)
    append_to_markdown(tmp_path / chapter, ":::{figure} a-drawing.png\n:label: fig-a-drawing\n"
                       "A drawing stored as a file, not made by a cell.\n:::\n\nSee [](#fig-a-drawing).")
    rc, log = run_group([sys.executable, BUILD, "--root", tmp_path, "--out", tmp_path / "html", "--no-pdf"], timeout=300)
    assert_no_survivors("the build of a copy")
    assert rc == 0, log[-3000:]
    tree = parse_html((tmp_path / "html" / built.pages[chapter]).read_text())
    fig = next(f for f in tree.find_all("figure", "kind-figure") if f.attrs.get("id") == "fig-a-drawing")
    number, caption = figure_number(fig)
    assert number.startswith("A.") and caption.startswith("A drawing stored as a file")
    assert (tmp_path / "html" / fig.find_all("img")[0].attrs["src"]).is_file()
    refs = [a for a in tree.find_all("a", "xref") if a.attrs.get("href") == "#fig-a-drawing"]
    assert refs and re.sub(r"\s+", " ", refs[0].text()).strip() == f"Figure {number}"


# ---------------------------------------------------------------- a real browser
SHOT_HEIGHT = 12000  # px; below Chromium's 16384-px texture limit, and most of a chapter
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--hide-scrollbars", "--virtual-time-budget=5000"]


class Recorder(http.server.SimpleHTTPRequestHandler):
    requests: list  # (path, status), set per server

    def log_request(self, code="-", size="-"):
        self.requests.append((self.path.split("?")[0], int(getattr(code, "value", code))))

    def log_message(self, *args):
        pass


def launch_browser(tmp_path_factory, name):
    """Headless Chromium for a module's tests: yields a Browser, and leaves no process behind."""
    exe = chromium()
    from browser import Browser

    b = Browser(exe, tmp_path_factory.mktemp(name) / "profile", env=tagged_env())
    try:
        yield b
    finally:
        b.close()
        assert_no_survivors("chromium")


def serve(directory):
    """Serve ``directory`` on a free local port in a thread: yields (base URL, the requests served)."""
    handler = type("Handler", (Recorder,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def server(built):
    yield from serve(built.out)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return require_tool("chromium", "the browser test (apt-get install chromium)")


@pytest.mark.parametrize("toc_file", CHAPTERS)
def test_pages_in_a_real_browser(built, server, tmp_path, toc_file):
    import matplotlib.image as mpimg

    exe = chromium()
    base, requests = server
    name = built.pages[toc_file]
    url = f"{base}/{name}"
    del requests[:]
    try:
        rc, dom = run_group([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-dom'}",
                             "--dump-dom", url], timeout=120)
        assert rc == 0, dom[-3000:]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{Path(name).stem}.png"
        shot.unlink(missing_ok=True)
        rc, log = run_group([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile-shot'}",
                             f"--window-size=1280,{SHOT_HEIGHT}", f"--screenshot={shot}", url], timeout=180)
        assert rc == 0 and shot.is_file(), log[-3000:]
    finally:
        assert_no_survivors("chromium")

    # the DOM the browser built: the typeset math is there, and none of it failed
    tree = parse_html(dom[dom.find("<html"):])
    assert tree.find_all("h1"), "the browser shows no page title"
    n_katex = len(tree.find_all(cls="katex"))
    assert n_katex == len(built.tree(name).find_all(cls="katex"))
    if "$" in without_fences(source_md(toc_file)):
        assert n_katex > 0
    assert not tree.find_all(cls="katex-error")

    # everything the page asked for was served: styles, fonts, figures
    failed = [(p, s) for p, s in requests if s >= 400]
    assert not failed, f"requests that failed: {failed}"
    asked = {p.lstrip("/") for p, s in requests}
    wanted = {n.attrs["href"] for n in tree.find_all("link") if n.attrs.get("rel") == "stylesheet"}
    wanted |= {n.attrs["src"] for n in tree.find_all("img")}
    assert wanted <= asked, f"never requested: {sorted(wanted - asked)}"

    # The screenshot is a tall slice of the page (up to SHOT_HEIGHT px), not a blank: many
    # colours, and ink in the text column of every 1500-px band down to where the page ends,
    # so a figure, equation or box that failed to paint would leave a blank band.
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (SHOT_HEIGHT, 1280), img.shape
    assert img.std() > 0.05, f"{shot} looks blank (std {img.std():.3f})"
    column = img[:, 400:1200].mean(axis=2)
    ink = [(column[top:top + 1500] < 0.5).mean() for top in range(0, SHOT_HEIGHT, 1500)]
    inked = [i for i, share in enumerate(ink) if share > 0.002]
    assert inked and inked[0] == 0, f"{shot}: no text at the top of the page"
    blank = [i for i in range(inked[-1]) if i not in inked]
    assert not blank, f"{shot}: blank bands at {[1500 * i for i in blank]} px inside the page; ink per band {ink}"
    assert len({tuple(p) for p in (img[::7, ::7] * 255).astype(int).reshape(-1, 3)}) > 50


# ---------------------------------------------------------------- folded cells, offline builds
def test_setup_assert_and_figure_cells_are_folded():
    """tools/fold_cells.py has nothing left to do: every code cell that sets up, only asserts or
    only draws a figure carries the tag `fold` and `jupyter.source_hidden`, and the kernelspec is
    what JupyterLab writes (the lead re-runs the tool after merging chapters)."""
    from tools import fold_cells

    assert fold_cells.kind("import numpy as np\nfrom cnnlit import conv  # the layer") == "import"
    assert fold_cells.kind("assert x == 1\nassert y < 2, 'why'") == "assert"
    assert fold_cells.kind("x = 1\nassert x == 1") is None
    assert fold_cells.kind("%matplotlib inline") is None
    setup = 'import numpy as np\nnp.set_printoptions(precision=4)\nRESULTS = Path("..") / "results"'
    assert fold_cells.kind(setup) == "setup"
    assert fold_cells.kind(setup + "\nX = load_digits()") is None  # computes: not setup
    assert fold_cells.kind("fig, ax = plt.subplots()\nplt.show()", "fig-conv-c3-cell") == "figure"
    assert fold_cells.kind("fig, ax = plt.subplots()\nplt.show()", "tab-rates") is None
    left = []
    for md in sorted((ROOT / "book").glob("*.md")):
        left += [f"{md.name}: {c}" for c in fold_cells.process(md, write=False)]
    assert not left, "run `python tools/fold_cells.py`:\n" + "\n".join(left)


def test_an_offline_build_without_node_modules_fails_fast(tmp_path):
    """No tools/site/node_modules, no registry, an empty npm cache: the build stops within
    seconds and says what is missing, instead of waiting minutes in `npm ci`."""
    require_tool("npm", "the offline build check")
    root = tmp_path / "project"
    (root / "tools" / "site").mkdir(parents=True)
    for f in ("package.json", "package-lock.json", "template.yml"):
        shutil.copy2(ROOT / "tools" / "site" / f, root / "tools" / "site" / f)
    env = {**tagged_env(), "npm_config_registry": "http://127.0.0.1:9/", "npm_config_cache": str(tmp_path / "npm-cache")}
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, BUILD, "--root", root, "--no-pdf"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - t0
    assert_no_survivors("the offline build")
    assert proc.returncode != 0
    assert "node_modules" in proc.stderr and "cannot reach" in proc.stderr, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert seconds < 60, f"the offline build took {seconds:.0f} s to fail"
