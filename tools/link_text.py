#!/usr/bin/env python3
"""Write into every cross-reference of the chapters the text the site shows for it.

A reference with empty text, ``[](#eq-n7)``, is numbered by whatever renders it: the site's
plugin gives it the paper's number "(7)", but jupyterlab-myst numbers the displays of one
notebook 1, 2, 3, ... and shows "(12)", and it cannot resolve a label of another chapter at
all. So the chapters spell the text out, ``[(7)](#eq-n7)``, and every renderer shows what the
site shows. This tool computes that text from the chapters themselves:

- an equation: its ``\\tag``, "(7)", or "7" where the reference stands inside parentheses
  that the text opens ("([8](#eq-n8))" reads "(8)", not "((8))");
- a figure: "Figure 2.3", numbered per chapter in the order of the figure directives, as the
  site's plugin numbers them (tools/site/myst-plugin.mjs);
- an exercise: "Exercise 5.3"; a solution: "Solution to Exercise 5.3";
- a chapter: its title.

References that already carry a number ("[Figure 2.3](#fig-...)", "[U3.1d](#eq-u3-1d)") are
checked against the same table; descriptive text ("[the valid convolution](#eq-conv-valid)")
is left alone.

Usage::

    python tools/link_text.py          # fill in the empty references of every chapter
    python tools/link_text.py --check  # list empty or wrong references; exit 1 if any
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

DISPLAY = re.compile(r"\$\$(.*?)\$\$[ \t]*\(([\w-]+)\)", re.S)
TAG = re.compile(r"\\tag\*?\{([^{}]+)\}")
DIRECTIVE = re.compile(r"^(:{3,}|`{3,})\{(figure|exercise)\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)", re.M)
TARGET_LINE = re.compile(r"^\(([\w-]+)\)=\s*\n#+\s+(.+)$", re.M)
# a reference to a label of the book: [text](#label), the label not a URL
REF = re.compile(r"(?<!!)\[([^\[\]]*)\]\(#([\w-]+)\)")
NUMBERED = re.compile(r"^(Figure|Table|Exercise|Solution to Exercise) [A-Z0-9]+\.\d+$")
EQ_NUMBER = re.compile(r"^\(?((?:[UN]?\d+[\w.]*)|(?:U\d[\w.]*))\)?$")


def chapter_prefix(md: Path) -> str | None:
    m = re.match(r"^(\d+)_", md.name)
    if m:
        return str(int(m.group(1)))
    m = re.match(r"^([A-Z])\d*_", md.name)
    return m.group(1) if m else None


def label_table(chapters: list[Path]) -> dict[str, tuple[str, str]]:
    """label -> (kind, text the site shows), from every chapter."""
    table: dict[str, tuple[str, str]] = {}
    for md in chapters:
        src = md.read_text()
        prefix = chapter_prefix(md)
        for m in DISPLAY.finditer(src):
            tag = TAG.search(m.group(1))
            table[m.group(2)] = ("equation", tag.group(1).strip() if tag else "")
        counts = {"figure": 0, "exercise": 0}
        for m in DIRECTIVE.finditer(src):
            kind, options = m.group(2), m.group(3)
            label = re.search(r"^:label:\s*(\S+)", options, re.M)
            if re.search(r"^:(nonumber|enumerated):\s*(true|false)", options, re.M):
                continue
            counts[kind] += 1
            n = f"{prefix}.{counts[kind]}" if prefix else str(counts[kind])
            if label:
                table[label.group(1)] = (kind, f"{kind.title()} {n}")
        for m in re.finditer(r"^:::\{solution-start\}\s+(\S+)\s*\n:label:\s*(\S+)", src, re.M):
            ex, sol = m.group(1), m.group(2)
            table[sol] = ("solution", ex)  # resolved below, once every exercise is known
        for m in TARGET_LINE.finditer(src):
            table.setdefault(m.group(1), ("section", m.group(2).strip()))
    for label, (kind, text) in list(table.items()):
        if kind == "solution":
            ex_kind, ex_text = table.get(text, ("", ""))
            table[label] = ("solution", f"Solution to {ex_text}" if ex_kind == "exercise" else "")
    return table


def inside_parentheses(paragraph: str) -> bool:
    """True when the text before a reference (in its paragraph) leaves a parenthesis open."""
    text = re.sub(r"\$[^$]*\$", "", paragraph)  # inline math
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"`[^`]*`", "", text)  # code
    depth = 0
    for ch in text:
        depth = max(0, depth + (ch == "(") - (ch == ")"))
    return depth > 0


def paragraph_before(src: str, pos: int) -> str:
    start = src.rfind("\n\n", 0, pos)
    return src[start + 2 if start >= 0 else 0 : pos]


def wanted(label: str, table, src: str, pos: int) -> str | None:
    kind, text = table.get(label, ("", ""))
    if not text:
        return None
    if kind == "equation":
        return text if inside_parentheses(paragraph_before(src, pos)) else f"({text})"
    return text


def fix_or_check(md: Path, table, write: bool) -> list[str]:
    src = md.read_text()
    problems: list[str] = []
    out, last = [], 0
    for m in REF.finditer(src):
        text, label = m.group(1), m.group(2)
        line = src.count("\n", 0, m.start()) + 1
        want = wanted(label, table, src, m.start())
        kind = table.get(label, ("",))[0]
        if not text:
            if want is None:
                problems.append(f"{md.name}:{line}: [](#{label}) has no text, and none is known for it")
                continue
            problems.append(f"{md.name}:{line}: [](#{label}) -> [{want}](#{label})")
            out.append(src[last : m.start()] + f"[{want}](#{label})")
            last = m.end()
        elif want is not None and (
            (kind in ("figure", "exercise", "solution") and NUMBERED.match(text) and text != want)
            or (kind == "equation" and EQ_NUMBER.match(text)
                and text.strip("()") not in (want.strip("()"), "N" + want.strip("()")))
        ):
            problems.append(f"{md.name}:{line}: [{text}](#{label}) shows another number than {want!r}")
    if write and out:
        md.write_text("".join(out) + src[last:])
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 on any problem")
    ap.add_argument("chapters", nargs="*", type=Path, help="default: every book/*.md")
    args = ap.parse_args(argv)
    every = sorted(BOOK.glob("*.md"))
    table = label_table(every)
    problems = []
    for md in args.chapters or every:
        problems += fix_or_check(md, table, write=not args.check)
    for p in problems:
        print(p)
    if args.check:
        return 1 if problems else 0
    left = [p for p in problems if "->" not in p]
    print(f"{len(problems) - len(left)} reference(s) given their text; {len(left)} problem(s) left")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
