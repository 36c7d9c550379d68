#!/usr/bin/env python3
"""Build the whole cnnlit book as one PDF, offline: _build/pdf/cnnlit.pdf.

1. Stage a copy of the project in _build/pdf-src/ whose myst.yml has one more entry, a typst
   export of every page of the toc, in order, with the local template tools/pdf/ (mystmd would
   otherwise download a template). The repository's myst.yml is not touched.
2. `myst build --typst` writes one .typ file per chapter, the figures from the stored
   notebook outputs, and book.typ that includes them. mystmd then calls a `typst` program to
   compile; the one found on PATH here does nothing, because step 3 compiles instead.
3. Fix what mystmd's typst writer leaves for typst to fetch or cannot express, then compile
   with the `typst` compiler from PyPI (the Python package embeds the compiler and its fonts):
   - myst-imports.typ imports a table package from typst's online registry; it is replaced by
     tools/pdf/myst-imports.typ, which draws the same tables with typst's own `table`, and
     figures of several outputs with tools/pdf/subpar.typ instead of the `subpar` package;
   - `\\tag{N}` becomes `tag N` inside the math, which typst does not know; each tagged
     display becomes an equation numbered "(N)", so the paper's numbers stand beside it and
     a link to its label lands on it;
   - links to another page ("/fully-connected") point at a label placed where that page
     starts;
   - TeX's negative thin space is 1/6 em, not the 1 em mystmd writes; \\iff and \\implies,
     which it passes through by name, become typst's arrows;
   - citations and the reference list are the site's (tools/bibliography.py: the same order
     and the same labels, 1998a/1998b), not typst's own bibliography style;
   - figure numbers get the chapter's prefix as on the site (1.1, A.2), not a typst pattern;
   - admonitions with a class but no kind (the errata boxes) get a kind from their class
     (tools/pdf/myst-plugin.mjs), since the typst writer drops those without one;
   - a figure made from a code cell's output is placed once, in the figure (mystmd also writes
     the image bare after the cell);
   - solutions are collected at the end of their chapter, with links to their exercises and
     back (tools/pdf/myst-plugin.mjs), and exercises stay where they are written (the `proof`
     of tools/pdf/myst-imports.typ does not float them);
   - cells tagged `fold` (only imports or only asserts) show their outputs, not their code.

Exit status 0 means the PDF was written.
"""
import argparse
import html
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tools.build_book import NOISE, myst_command, myst_env, run  # noqa: E402


def toc_files(root):
    return re.findall(r"-\s*file:\s*(\S+)", (root / "myst.yml").read_text())


def stage(root, src):
    """A copy of the project with a typst export of the whole toc in its myst.yml."""
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    shutil.copytree(root / "book", src / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.md"))
    shutil.copy2(root / "references.bib", src / "references.bib")
    (src / "tools" / "site").mkdir(parents=True)
    for name in ("myst-plugin.mjs", "solution-gates.mjs"):  # the PDF's plugin imports the second
        shutil.copy2(root / "tools" / "site" / name, src / "tools" / "site" / name)
    shutil.copy2(root / "tools" / "site" / "template.yml", src / "tools" / "site" / "template.yml")
    pdf_tools = root / "tools" / "pdf"  # a copy of the book without tools/pdf/ uses this checkout's
    shutil.copytree(pdf_tools if pdf_tools.is_dir() else ROOT / "tools" / "pdf", src / "tools" / "pdf")
    articles = "".join(f"        - {f}\n" for f in toc_files(root))
    export = ("  exports:\n    - format: typst\n      template: ./tools/pdf\n      output: out/book.typ\n"
              f"      articles:\n{articles}")
    text = (root / "myst.yml").read_text()
    text, n = re.subn(r"^project:\n", "project:\n" + export, text, count=1, flags=re.M)
    if n != 1:
        sys.exit("build failed: myst.yml has no `project:` section")
    # tools/pdf/myst-plugin.mjs (admonitions get a kind, solutions move to their chapter's end,
    # folded cells lose their code) runs after the site's plugin, which numbers the exercises
    text, n = re.subn(r"^(    - tools/site/myst-plugin\.mjs\n)", r"\1    - tools/pdf/myst-plugin.mjs\n", text,
                      count=1, flags=re.M)
    if n != 1:
        sys.exit("build failed: myst.yml's `plugins:` list under `project:` has no tools/site/myst-plugin.mjs")
    (src / "myst.yml").write_text(text)


# A display with a \tag is a line of its own in mystmd's typst: "$ body tag U3.1d $ <eq-u3-1d>".
# Anchored to whole lines, so that inline math and the word "tag" in the prose never match.
TAGGED = re.compile(r"^\$ (?P<body>(?:[^$\\\n]|\\.)*?)\s+tag\s+(?P<tag>(?:[^$\\\n]|\\.)*?)\s*\$"
                    r"(?P<label>[ \t]*<[\w.:-]+>)?[ \t]*$", re.M)


def number_equations(typ):
    def one(m):
        tag = re.sub(r"\s+", "", m["tag"])
        label = m["label"] or ""
        return f'#math.equation(block: true, numbering: _ => "({tag})", $ {m["body"]} $){label}'
    return TAGGED.sub(one, typ)


def fix_figure_numbers(typ):
    # At a chapter's first figure mystmd sets its number ("3.1", from tools/site/myst-plugin.mjs)
    # as typst's numbering *pattern* and lets typst count on; but typst reads "1.1" as two
    # counters (showing "1") and "A.1" as a letter counter (showing "A"). A function that puts
    # the chapter's prefix before typst's count shows 1.1, 1.2, ..., A.1, ... as on the site.
    return re.sub(r'#set figure\(numbering: "([^"]+)\.1"\)', r'#set figure(numbering: n => "\1." + str(n))', typ)


def place_figures_once(typ):
    # A figure that embeds a code cell's output (`:::{figure} #cell`) shows the image; mystmd
    # also writes the same image bare after the cell. Keep the one in the figure.
    in_figures = set(re.findall(r'(?<![#\w])image\("([^"]+)"', typ))  # inside #figure( or #subpar.grid(
    return re.sub(r'^#image\("([^"]+)"[^\n]*\)\n', lambda m: "" if m[1] in in_figures else m[0], typ, flags=re.M)


# TeX commands that mystmd's typst writer passes through as names typst's math does not know
TYPST_MATH = {"iff": "<==>", "implies": "==>", "impliedby": "<=="}


def fix_math_names(typ):
    names = "|".join(TYPST_MATH)
    pattern = re.compile(rf"(?<![\w.#])({names})(?![\w(])")
    return re.sub(r"\$(?:[^$\\]|\\.)*\$", lambda m: pattern.sub(lambda n: TYPST_MATH[n[1]], m[0]), typ)


def fix_negative_space(typ):
    # TeX's negative thin space \! is 3/18 em; mystmd writes it as #h(-1em), which makes
    # "f'\!(u)" print its parenthesis over the f'.
    return typ.replace("#h(-1em)", "#h(-0.1667em)")


def fix_page_links(typ):
    # "/slug#id" -> the id's own label; "/slug" -> the label at the start of that page;
    # "#id" (an exercise's link to its solution and back) -> the label
    typ = re.sub(r'#link\("/?[\w-]*#([\w.:-]+)"\)', r"#link(<\1>)", typ)
    typ = re.sub(r'#link\("/([\w-]+)"\)', r"#link(<page-\1>)", typ)
    return typ.replace('#link("/")', "#link(<page-index>)")  # the project's index page


def typst_text(markup):
    """An entry's HTML as typst markup: italics kept, everything else plain and escaped."""
    text = html.unescape(re.sub(r"<[^>]+>", lambda m: "\0" if re.fullmatch(r"</?i>", m[0]) else "", markup))
    text = re.sub(r'([\\#\[\]*_`$<>@~"/])', r"\\\1", text)
    return text.replace("\0", "_")


def reference_list(bib):
    """The site's reference list (tools/bibliography.py): the same order, text and letters."""
    items = []
    for k in bib["order"]:
        label = re.sub(r"[^\w-]", "-", k)
        items.append(f"#block(above: 0.8em)[{typst_text(bib['entries'][k]['html'])}]<cite-{label}>")
    return "\n".join(items)


def citations(typ, bib):
    """`#cite(<key>)` -> "(LeCun et al., 1998b)", `form: "prose"` -> "LeCun et al. (1998b)", as on the
    site, each a link to its entry in the reference list."""
    def one(m):
        key = m["key"]
        if key not in bib["entries"]:
            sys.exit(f"build failed: citation {key!r} is not in the bibliography")
        e = bib["entries"][key]
        label = re.sub(r"[^\w-]", "-", key)
        who = typst_text(e["author"])
        text = f"{who} ({e['year']})" if m["prose"] else f"({who}, {e['year']})"
        return f"#link(<cite-{label}>)[{text}]"
    return re.sub(r'#cite\(<(?P<key>[^>]+)>(?P<prose>,\s*form:\s*"prose")?\)', one, typ)


def fix_typst(out, root):
    shutil.copy2(ROOT / "tools" / "pdf" / "myst-imports.typ", out / "myst-imports.typ")
    shutil.copy2(ROOT / "tools" / "pdf" / "subpar.typ", out / "subpar.typ")  # imported by myst-imports.typ
    book = out / "book.typ"
    text = book.read_text()
    includes = re.findall(r'#include "([\w.-]+)\.typ"', text)
    for name in includes:  # a label where each page starts (file "book-fully-connected" -> page "fully-connected")
        slug = re.sub(r"^book-", "", name)
        text = text.replace(f'#include "{name}.typ"', f'#metadata("{slug}") <page-{slug}>\n#include "{name}.typ"', 1)
    book.write_text(text)
    # The page whose text holds the `{div}` of class "bibliography" (the site's renderer fills it
    # from references.bib) gets the same list, in the same order, with the same labels.
    tocs = toc_files(root)
    if len(tocs) != len(includes):
        sys.exit(f"build failed: book.typ includes {len(includes)} pages, the toc lists {len(tocs)}")
    bib = json.loads((root / "_build" / "site" / "bibliography.json").read_text())
    for toc, name in zip(tocs, includes, strict=True):
        md = (root / toc).with_suffix(".md")
        if md.exists() and re.search(r"^:class:\s*bibliography\s*$", md.read_text(), re.M):
            page = out / f"{name}.typ"
            page.write_text(page.read_text() + "\n" + reference_list(bib) + "\n")
    for f in out.glob("*.typ"):
        if f.name in ("book.typ", "myst-imports.typ"):
            continue
        typ = citations(fix_math_names(fix_negative_space(fix_figure_numbers(f.read_text()))), bib)
        f.write_text((place_figures_once(fix_page_links(number_equations(typ)))))
    return includes


def build(root: Path, pdf: Path) -> float:
    t0 = time.monotonic()
    src = root / "_build" / "pdf-src"
    if not (root / "_build" / "site" / "bibliography.json").exists():  # run on its own: the site's data first
        run([*myst_command(), "build", "--site", "--strict"], cwd=root, env=myst_env(), drop=NOISE)
        from tools.bibliography import write as write_bibliography
        write_bibliography(root / "_build" / "site")
    stage(root, src)
    with tempfile.TemporaryDirectory() as bindir:
        noop = Path(bindir) / "typst"  # mystmd insists on running `typst compile`; step 3 compiles
        noop.write_text("#!/bin/sh\nexit 0\n")
        noop.chmod(noop.stat().st_mode | stat.S_IEXEC)
        env = myst_env()
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        run([*myst_command(), "build", "--typst", "--strict"], cwd=src, env=env, drop=NOISE)
    out = src / "out"
    if not (out / "book.typ").exists():
        sys.exit("build failed: myst wrote no book.typ")
    fix_typst(out, root)
    import typst

    pdf.parent.mkdir(parents=True, exist_ok=True)
    try:
        typst.compile(str(out / "book.typ"), output=str(pdf), root=str(out), ignore_system_fonts=True)
    except Exception as e:  # typst reports every error with its file and line
        sys.exit(f"build failed: typst: {e}")
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="the PDF to write (default: ROOT/_build/pdf/cnnlit.pdf)")
    ap.add_argument("--root", type=Path, default=ROOT, help="project folder holding myst.yml and book/")
    args = ap.parse_args()
    root = args.root.resolve()
    pdf = (args.out or root / "_build" / "pdf" / "cnnlit.pdf").resolve()
    seconds = build(root, pdf)
    print(f"built {pdf} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
