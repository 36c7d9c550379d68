"""Print each book page's height in px at 1280 px width (headless Chromium) and the number
of code cells tagged `fold` per chapter.

    python tools/page_heights.py [--rebuild]

Builds the site with tools/build_book.py --no-pdf into _build/html unless it is there
(--rebuild forces it), serves it locally and measures document.scrollHeight.
"""

from __future__ import annotations

import argparse
import json

from _site import ROOT, build, open_browser, pages, serve


def fold_counts(md_name: str) -> tuple[int, int]:
    """(cells tagged fold, code cells) in the chapter's paired .ipynb."""
    nb = ROOT / md_name.replace(".md", ".ipynb")
    if not nb.exists():
        return 0, 0
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code"]
    folded = sum("fold" in c.get("metadata", {}).get("tags", []) for c in cells)
    return folded, len(cells)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rebuild", action="store_true", help="rebuild the site first")
    args = ap.parse_args()
    out = build(rebuild=args.rebuild)
    table = sorted(pages().items())
    gen = serve(out)
    base, _ = next(gen)
    browser = open_browser()
    total = 0
    try:
        browser.viewport(1280, 900)
        print(f"{'page':<34} {'height px':>10} {'fold':>5} {'code':>5}")
        for md_name, html in table:
            browser.goto(f"{base}/{html}")
            height = browser.eval("document.documentElement.scrollHeight")
            folded, code = fold_counts(md_name)
            total += height
            print(f"{md_name:<34} {height:>10d} {folded:>5d} {code:>5d}")
        print(f"{'total':<34} {total:>10d}")
    finally:
        browser.close()
        gen.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
