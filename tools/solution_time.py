"""Time the worked solutions: run chapters with nbclient (as tools/execute.py does, one BLAS
thread), record each cell's wall time, and print per chapter the sum over the cells tagged
`solution` beside the whole chapter's time. The .ipynb files are not written.

    python tools/solution_time.py [book/05_combinations.md ...]   (default: all of book/)
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from execute import BOOK, DETERMINISTIC_ENV, paired_notebook


def timed_cells(md: Path, timeout: int) -> list[tuple[bool, float]]:
    """(is a solution cell, seconds) for each code cell of the chapter."""
    from nbclient import NotebookClient

    nb = paired_notebook(md)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(md.parent)}})
    times = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            start = time.perf_counter()
            client.execute_cell(cell, index)
            times.append(("solution" in cell.metadata.get("tags", []),
                          time.perf_counter() - start))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("chapters", nargs="*", type=Path, help="chapter .md files")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = ap.parse_args()
    os.environ.update(DETERMINISTIC_ENV)
    chapters = args.chapters or sorted(BOOK.glob("*.md"))
    print(f"{'chapter':<28} {'cells':>5} {'sol':>4} {'solution s':>11} {'chapter s':>10}")
    sol_all = chap_all = 0.0
    for md in chapters:
        times = timed_cells(md, args.timeout)
        sol = sum(t for is_sol, t in times if is_sol)
        whole = sum(t for _, t in times)
        n_sol = sum(is_sol for is_sol, _ in times)
        sol_all += sol
        chap_all += whole
        print(f"{md.name:<28} {len(times):>5d} {n_sol:>4d} {sol:>11.2f} {whole:>10.2f}",
              flush=True)
    print(f"{'all':<28} {'':>5} {'':>4} {sol_all:>11.2f} {chap_all:>10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
