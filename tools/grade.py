#!/usr/bin/env python3
"""Grade your chapters of the student edition against the reference (the installed cnnlit).

For each chapter: one line per function or method, right (with the largest relative error
over the random cases), wrong (with the largest relative error or what differs, and the
formula ID), not yet written, or not checked (no case reaches it); then the chapter's own
finite-difference checks, run with your code. The exit code is 0 only if every graded
function is right and the checks pass. Your chapter N imports the reference chapters
before it, unless --mine names them.

Usage::

    python tools/grade.py ../cnnlit-student 3            # chapter 3
    python tools/grade.py ../cnnlit-student 3 --mine 1 2  # chapter 3 on your chapters 1-2
    python tools/grade.py ../cnnlit-student              # every chapter with export cells
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from tools.student import grade  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("edition", type=Path, help="the folder tools/student_edition.py wrote")
    parser.add_argument("chapters", nargs="*", help="chapters to grade: 1, 2, ..., A1, B1 (default: all)")
    parser.add_argument("--mine", nargs="+", default=[], metavar="CHAPTER",
                        help="use your own code of these chapters instead of the reference (default: none)")
    parser.add_argument("--no-checks", action="store_true",
                        help="compare the functions only; skip the chapter's finite-difference checks")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random cases (default: a fresh one)")
    args = parser.parse_args(argv)
    try:
        return grade(args.edition, args.chapters, mine=args.mine, checks=not args.no_checks, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
