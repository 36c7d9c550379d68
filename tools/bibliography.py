#!/usr/bin/env python3
"""One reference list and one set of citation labels for the site and the PDF.

mystmd resolves {cite}`key` against references.bib page by page: each page's JSON in
_build/site/content/ has references.cite.data[key] (the formatted entry) and `cite` nodes whose
text is "LeCun et al., 1998". This module takes the union of the works, orders them by their
formatted text (first author's surname, then the rest), and gives works that would be cited
with the same text ("LeCun et al., 1998" for three works) the letters a, b, c after the year, in
the list's order. It writes _build/site/bibliography.json, which tools/site/render.mjs reads
for the site and tools/build_pdf.py for the PDF, so both show the same labels in the same order.

A citation key is what JupyterLab shows for a citation (jupyterlab-myst has no bibliography),
so every key is the label the site prints, without spaces: LeCun1998a for "LeCun et al.,
1998a". The build stops on a key that is not.

Usage: python tools/bibliography.py [_build/site]
"""
from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def plain(markup: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", markup))).strip()


def node_text(node) -> str:
    if "value" in node:
        return node["value"]
    return "".join(node_text(c) for c in node.get("children", []))


def cites(node):
    if node.get("type") == "cite":
        yield node
    for c in node.get("children", []):
        yield from cites(c)


def compute(site: Path) -> dict:
    entries: dict[str, str] = {}
    cite_text: dict[str, str] = {}
    for f in sorted((site / "content").glob("*.json")):
        page = json.loads(f.read_text())
        for key, entry in (page.get("references", {}).get("cite", {}).get("data") or {}).items():
            entries[key] = entry["html"]
        for n in cites(page.get("mdast", {})):
            cite_text.setdefault(n["label"], re.sub(r"\s+", " ", re.sub(r"[(),;]", " ", node_text(n))).strip())
    order = sorted(entries, key=lambda k: (plain(entries[k]).casefold(), k))
    groups: dict[str, list[str]] = {}
    for key in order:
        groups.setdefault(cite_text.get(key, key), []).append(key)
    out = {}
    for key in order:
        same = groups[cite_text.get(key, key)]
        letter = chr(97 + same.index(key)) if len(same) > 1 else ""
        text = cite_text.get(key, "")
        m = re.match(r"(.*?)\s*(\d{4})$", text)
        author, year = (m.group(1), m.group(2)) if m else (text or key, "")
        entry = entries[key]
        if letter:
            entry, n = re.subn(r"\((\d{4})\)", rf"(\g<1>{letter})", entry, count=1)
            if not n:
                sys.exit(f"bibliography: no '(year)' in the entry of {key}")
        readable = re.sub(r"[^\w]", "", author.split()[0] if author else "") + f"{year}{letter}"
        if key != readable:
            sys.exit(f"bibliography: the key {key!r} should read {readable!r} (its label "
                     f"{author}, {year}{letter}), which JupyterLab shows in its place")
        out[key] = {"html": entry, "text": plain(entry), "author": author, "year": f"{year}{letter}",
                    "letter": letter}
    return {"order": order, "entries": out}


def write(site: Path) -> Path:
    path = site / "bibliography.json"
    path.write_text(json.dumps(compute(site), indent=1, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    site = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "site"
    print(write(site))
