"""Appendix C (book/C1_api.md) is the API reference: its stored output lists every public name of the package."""
import importlib
import json
import re
from pathlib import Path

import pytest

import cnnlit

ROOT = Path(__file__).resolve().parent.parent
APPENDIX = ROOT / "book" / "C1_api.ipynb"


def _sections():
    """{module name: the text that the appendix printed for it}, from the stored outputs."""
    nb = json.loads(APPENDIX.read_text())
    sections = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        if m := re.match(r"cnnlit\.(\w+): ", text):
            sections[m.group(1)] = text
    return sections


def _public():
    return [(m, n) for m in cnnlit.__all__ for n in importlib.import_module(f"cnnlit.{m}").__all__]


def test_the_appendix_has_a_section_for_every_module():
    assert set(_sections()) == set(cnnlit.__all__), sorted(set(cnnlit.__all__) ^ set(_sections()))


@pytest.mark.parametrize("module, name", _public(), ids=lambda v: v)
def test_every_public_name_is_in_the_appendix(module, name):
    text = _sections().get(module, "")
    entry = re.compile(rf"^(class )?{re.escape(name)}(\(|\s=\s|$)", re.M)
    assert entry.search(text), f"cnnlit.{module}.{name} is public but missing from Appendix C (book/C1_api.md)"


def test_the_appendix_counts_the_names_it_lists():
    for module, text in _sections().items():
        n = len(importlib.import_module(f"cnnlit.{module}").__all__)
        assert f"public names: {n}\n" in text, module


def test_the_appendix_is_generated_not_written():
    """No export cells and no module in the front matter: the appendix only reads the package."""
    md = (ROOT / "book" / "C1_api.md").read_text()
    front = md.split("---", 2)[1]
    assert "cnnlit:" not in front and not re.search(r"^:tags:.*export", md, re.M)
