import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def book_build(tmp_path_factory):
    """The book built once per test run, as the README's book command builds it (the HTML site
    with its search index and the PDF): (output folder, exit status, log). tests/test_book.py,
    tests/test_site.py and tests/test_pdf.py all read this one build."""
    import test_book as tb

    tb.require_tool("node", "the book build (Node.js >= 20 with npm)")
    out = tmp_path_factory.mktemp("book") / "html"
    rc, log = tb.run_group([sys.executable, tb.BUILD, "--out", out], timeout=900)
    tb.assert_no_survivors("the book build")
    return out, rc, log
