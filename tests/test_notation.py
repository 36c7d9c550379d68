"""One meaning per symbol (the preface's notation table, book/00_index.md): the double uses that
the table resolves must not come back in the chapters' prose.

Each rule names a symbol of the table, the meaning the table gives it, and a LaTeX pattern that
can only be the other meaning. The chapters' prose is scanned outside code cells, inline code
and the Exercises sections (whose solutions are written separately); a line that names the
paper (quoting its letter) is allowed.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PREFACE = ROOT / "book" / "00_index.md"

RULES = {  # the first cell of the symbol's row in the table: (its one meaning, a pattern of another)
    "$n$, $N$": ("N is the number of patterns", r"N_\\text\{(in|out)\}|N_\{?(in|out)\b"),
    "$m$": ("m is the block size", r"\\sum_\{?m\b|\\prod_\{?m\b"),
    "$(p, q)$": ("p is the pixel row", r"\b[LS]_\{?p\b|\^\{?p\b|\bp_[jk]\b|\bp_\{[jk]\}|\\log p\b"),
    "$a$": ("a is the constant of the scaled tanh", r"\ba_\{?[ij]\b|\ba_\{?j'"),
    "$H(\\alpha_j)$": ("H is the entropy", r"\bH\s*\\times\s*W\b"),
}


def prose_lines(md):
    """(line number, text) of the prose of a chapter: no code cells, no inline code, no Exercises."""
    in_code = False
    for number, line in enumerate(md.splitlines(), 1):
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            continue
        if re.match(r"#+ Exercises", line):
            return
        yield number, re.sub(r"`[^`]*`", "", line)


def violations(md):
    found = []
    for number, line in prose_lines(md):
        if re.search(r"\bpaper\b", line):
            continue
        for symbol, (meaning, pattern) in RULES.items():
            if re.search(pattern, line):
                found.append(f"line {number}: {meaning} ({symbol} in the table), but: {line.strip()[:100]}")
    return found


def test_the_rules_name_symbols_of_the_table():
    table = PREFACE.read_text().split("(notation)=", 1)[1]
    rows = {line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| $")}
    assert set(RULES) <= rows, sorted(set(RULES) - rows)


CHAPTERS = sorted(p for p in (ROOT / "book").glob("*.md") if p != PREFACE)


@pytest.mark.parametrize("md", CHAPTERS, ids=lambda p: p.stem)
def test_no_symbol_of_the_table_has_a_second_meaning(md):
    found = violations(md.read_text())
    assert not found, f"{md.name}:\n" + "\n".join(found)


def test_the_notation_check_can_fail():
    bad = ("$\\sum_{i=1}^{N_\\text{in}} \\alpha_i$\n$Z = \\sum_m e^{c_m}$\n$\\sum_i \\alpha_i^p$\n"
           "$S_p(\\alpha)$\n$p_k = e^{u_k}$\n$\\partial u_j / \\partial w = a_j$\n")
    assert len(violations(bad)) == 6
    good = ("pixel $(p, q)$, $x_{pq}$, $f(u) = a \\tanh(b u)$, $\\sum_k \\alpha_k^\\nu$, $C_\\text{in}$\n"
            "```{code-cell} ipython3\np_k = 1\n```\nthe paper writes $N_\\text{in}$\n## Exercises\n$p_k$\n")
    assert violations(good) == []
