#!/usr/bin/env python3
"""Re-run chapters and store their outputs in the paired ``.ipynb``.

The ``.md`` chapter is the source. This tool reads it, keeps the cell ids of the existing
``.ipynb`` (so an unchanged chapter gives an empty ``git diff``), runs every cell in a fresh
kernel started in ``book/``, and writes the notebook back without timing metadata.

BLAS is limited to one thread so that floating-point results, and therefore the stored
outputs, do not depend on how many cores the machine has.

Usage::

    python tools/execute.py                  # every chapter
    python tools/execute.py book/01_*.md     # some chapters
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# Fixed before any kernel starts: the kernel inherits this environment.
DETERMINISTIC_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}


def paired_notebook(md: Path):
    """The chapter's inputs from ``md``, with the ids and outputs of its ``.ipynb`` if it exists."""
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs

    nb = jupytext.read(md, fmt="md:myst")
    ipynb = md.with_suffix(".ipynb")
    if ipynb.exists():
        old = jupytext.read(ipynb, fmt="ipynb")
        nb = combine_inputs_with_outputs(nb, old, fmt="md:myst")
    return nb


def coalesce_streams(nb) -> None:
    """Merge consecutive stdout (or stderr) outputs of a cell into one.

    The kernel flushes its output on a timer, so a cell that prints while it computes
    can come back in a different number of pieces on each run; merged, it is the same.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if (out.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == out.name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = merged


def execute(md: Path, timeout: int = 1800) -> float:
    import jupytext
    from nbclient import NotebookClient

    nb = paired_notebook(md)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        allow_errors=False,
        resources={"metadata": {"path": str(md.parent)}},
    )
    client.execute()
    coalesce_streams(nb)
    nb.metadata.pop("widgets", None)
    jupytext.write(nb, md.with_suffix(".ipynb"), fmt="ipynb")
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="chapter .md files (default: all of book/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    args = parser.parse_args(argv)
    os.environ.update(DETERMINISTIC_ENV)
    chapters = [p.resolve() for p in args.chapters] or sorted(BOOK.glob("*.md"))
    for md in chapters:
        if md.suffix != ".md" or not md.exists():
            print(f"execute: {md} is not a chapter .md file", file=sys.stderr)
            return 2
    for md in chapters:
        print(f"executing {md.relative_to(ROOT)} ...", flush=True)
        try:
            seconds = execute(md, args.timeout)
        except Exception as exc:  # nbclient raises CellExecutionError with the traceback
            print(f"execute: {md.name} failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"  wrote {md.with_suffix('.ipynb').relative_to(ROOT)} in {seconds:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
