import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


import os  # noqa: E402

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Hypothesis profiles. "ci" (the default) is reproducible: every run tries the same examples,
# derived from each test's own code (derandomize), with no time limit per example (the machine may
# be busy) and no example database written to disk; a failure prints the blob that replays it
# (@reproduce_failure). "dev" tries ten times as many fresh random examples and keeps a database
# of failures in .hypothesis/. Choose with HYPOTHESIS_PROFILE=dev pytest ... . A test's own
# @settings(max_examples=...) overrides the profile's count; tests/test_properties.py scales its
# counts with the profile instead (see its `examples`).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=20,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=200,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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
