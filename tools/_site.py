"""Shared helpers for the evidence tools: build the site once, serve it, open Chromium."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser  # noqa: E402
from test_book import chromium, pages_of_build, serve  # noqa: E402

__all__ = ["Browser", "build", "chromium", "open_browser", "pages", "serve"]

HTML = ROOT / "_build" / "html"


def build(out: Path = HTML, rebuild: bool = False) -> Path:
    """The site as tools/build_book.py builds it (no PDF); reused if already built."""
    if rebuild or not (out / "index.html").exists():
        cmd = [sys.executable, str(ROOT / "tools" / "build_book.py"), "--out", str(out),
               "--no-pdf"]
        subprocess.run(cmd, check=True, cwd=ROOT)
    return out


def pages() -> dict[str, str]:
    """toc file (e.g. book/02_convolution.md) -> html file name."""
    return pages_of_build(ROOT / "_build" / "site")


def open_browser() -> Browser:
    profile = Path(tempfile.mkdtemp(prefix="cnnlit-chromium-"))
    return Browser(chromium(), profile)
