"""Screenshots of one solution on the site: folded and unfolded, light and dark, and at
390 px width. Writes PNGs under _build/screenshots/ and prints their paths.

    python tools/screenshots.py [--page book/02_convolution.md] [--rebuild]
"""

from __future__ import annotations

import argparse

from _site import ROOT, build, open_browser, pages, serve

SHOTS = ROOT / "_build" / "screenshots"

SCROLL = ("(() => { const d = document.querySelector('details.solution');"
          " if (!d) return false; d.open = {open};"
          " const ex = document.getElementById(d.dataset.exercise) || d;"
          " ex.scrollIntoView(); return true; })()")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--page", default="book/02_convolution.md", help="chapter with a solution")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the site first")
    args = ap.parse_args()
    out = build(rebuild=args.rebuild)
    html = pages()[args.page.replace(".md", ".ipynb")]
    gen = serve(out)
    base, _ = next(gen)
    browser = open_browser()
    try:
        for width, height in ((1280, 900), (390, 844)):
            browser.viewport(width, height, mobile=width < 600)
            for theme in ("light", "dark"):
                browser.color_scheme(theme)
                browser.goto(f"{base}/{html}")
                browser.eval(f"localStorage.setItem('cnnlit-theme', '{theme}'), true")
                browser.goto(f"{base}/{html}")
                for state in ("folded", "unfolded"):
                    js = SCROLL.replace("{open}", "true" if state == "unfolded" else "false")
                    if not browser.eval(js):
                        raise SystemExit(f"no solution on {args.page}")
                    path = SHOTS / f"solution-{width}-{theme}-{state}.png"
                    browser.screenshot(path)
                    print(path.relative_to(ROOT))
            browser.eval("localStorage.removeItem('cnnlit-theme'), true")
    finally:
        browser.close()
        gen.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
