#!/usr/bin/env python3
"""Write the student edition of the book to a new or empty folder.

Every function and method body of the chapters' export cells becomes a stub that raises
NotImplementedError and names the formula to implement; the worked solutions are removed;
the derivations, checks and exercises stay. The folder must be new or empty: nothing you
wrote is ever overwritten. Grade your chapters with tools/grade.py.

Usage::

    python tools/student_edition.py ../cnnlit-student
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tools.student import BOOK, write_edition  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where to write it (must be new or empty)")
    parser.add_argument("--book", type=Path, default=BOOK, help="the book to start from (default: book/)")
    args = parser.parse_args(argv)
    try:
        written = write_edition(args.folder, args.book)
    except FileExistsError as exc:
        print(f"student_edition: {exc}", file=sys.stderr)
        return 2
    chapters = [p for p in written if p.suffix == ".md" and p.parent.name == "book"]
    print(f"wrote the student edition to {args.folder}: {len(chapters)} chapters in {args.folder / 'book'}")
    print(f"grade a chapter with: .venv/bin/python tools/grade.py {args.folder} 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
