"""Appendix D and the errata page: every formula of the paper has a row, and the errata list is
exactly the chapters' erratum boxes. Source-level checks, plus the stored result of Appendix D."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"

# The paper's 32 displayed formulas (shared/paper/bouvrie-2006.md): N1-N14 and the U-ids.
PAPER_IDS = ["U2.1a", "N1", "N2", "N3", "N4", "U2.2a", "N5", "N6",
             "U3.1a", "U3.1b", "U3.1c", "U3.1d", "N7", "U3.1e",
             "U3.2a", "U3.2b", "U3.2c", "U3.2d", "U3.2e",
             "U3.3a", "U3.3b", "U3.3c", "N8", "U3.3d", "N9", "N10",
             "N11", "N12", "N13", "N14", "U3.3e", "U4.4a"]
# The errors and ambiguities of the notes that the book treats (issue 24's list).
REQUIRED_ERRATA = {"err-n5-transpose", "err-u3-2b-sum", "err-n11-constant", "err-beta-twice",
                   "err-u3-3a-kernel", "err-u4-4a-eps"}
BOX = re.compile(r"^:::\{admonition\} Erratum:(?P<title>.*)\n(?P<options>(?::\w+:.*\n)*)", re.M)


def erratum_boxes():
    """{label: chapter file} of every erratum box in the chapters (the preface's sample box,
    titled plain "Erratum", is an illustration and has no colon)."""
    boxes = {}
    for md in sorted(BOOK.glob("*.md")):
        if md.name == "D2_errata.md":
            continue
        for m in BOX.finditer(md.read_text()):
            label = re.search(r"^:label: (\S+)$", m.group("options"), flags=re.M)
            assert label, f"{md.name}: the erratum box{m.group('title')!r} has no :label:"
            assert label.group(1) not in boxes, f"two erratum boxes labelled {label.group(1)}"
            boxes[label.group(1)] = md.name
    return boxes


def test_every_erratum_box_is_on_the_errata_page_once():
    boxes = erratum_boxes()
    assert REQUIRED_ERRATA <= set(boxes), sorted(REQUIRED_ERRATA - set(boxes))
    embeds = re.findall(r"^:::\{embed\} #(\S+)$", (BOOK / "D2_errata.md").read_text(), flags=re.M)
    assert sorted(embeds) == sorted(set(embeds)), "an erratum is listed twice"
    assert set(embeds) == set(boxes), {"missing from the page": sorted(set(boxes) - set(embeds)),
                                       "with no box": sorted(set(embeds) - set(boxes))}


def test_the_box_rule_can_fail(tmp_path):
    text = ":::{admonition} Erratum: something\n:class: warning\n:label: err-x\nBody.\n:::\n"
    m = BOX.search(text)
    assert m and re.search(r"^:label: (\S+)$", m.group("options"), flags=re.M).group(1) == "err-x"
    assert BOX.search(":::{admonition} Erratum\n:class: warning\n") is None   # the sample box


def test_appendix_d_has_a_row_for_every_formula_and_proves_it():
    source = (BOOK / "D1_proofs.md").read_text()
    rows = re.findall(r"^\| \[([NU][0-9.a-e]+)\]\(#eq-[\w-]+\) \|(.*)\|\s*$", source, flags=re.M)
    assert [fid for fid, _ in rows] == PAPER_IDS, "Appendix D's table must list the 32 IDs in order"
    assert all("proven" in rest for _, rest in rows)
    nb = json.loads((BOOK / "D1_proofs.ipynb").read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                   for o in c.get("outputs", []))
    assert "all 32 formulas proven" in text, "Appendix D's stored outputs do not show the proofs"
    for fid in PAPER_IDS:
        assert re.search(rf"^{re.escape(fid)}\s+\d+\s", text, flags=re.M), f"{fid} has no result"


def test_appendix_d_rows_link_to_the_formula_they_name():
    """Each row links to eq-<id> (U3.2b -> eq-u3-2b), a label that a chapter defines."""
    source = (BOOK / "D1_proofs.md").read_text()
    row = r"^\| \[([NU][0-9.a-e]+)\]\(#(eq-[\w-]+)\) \|"
    rows = re.findall(row, source, flags=re.M)
    assert len(rows) == len(PAPER_IDS)
    chapters = "".join(md.read_text() for md in sorted(BOOK.glob("*.md"))
                       if not md.name.startswith("D"))
    defined = set(re.findall(r"^\$\$ \((eq-[\w-]+)\)\s*$", chapters, flags=re.M))
    for fid, target in rows:
        assert target == "eq-" + fid.lower().replace(".", "-"), (fid, target)
        assert target in defined, f"{fid}: no chapter defines the label {target}"
