"""JupyterLab as the README starts it: the chapters open as paired notebooks with their stored
outputs, an edit saved there reaches both files, MyST is rendered, and .md opens as a notebook.

The test takes the README's JupyterLab command (the block after `<!-- lab-command -->`) and
runs its `jupyter lab` part with this interpreter, headless, on a free port with a random token,
in a temporary copy of book/ and tools/lab/ (never the repository's own files), with Jupyter's
user folders in the temporary folder too, so no personal setting helps or hinders. It talks to
the server through its REST API only, then stops it and checks that no process is left.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_book import CHAPTERS, ROOT, SCREENSHOTS, assert_no_survivors, tagged_env

pytest.importorskip("jupyterlab", reason="pip install -e '.[test]' (jupyterlab)")


def readme_lab_command():
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- lab-command -->\s*```bash\n(.+?)\n\s*```", readme, re.S)
    assert m, "README.md has no <!-- lab-command --> block"
    parts = [p.strip() for p in m.group(1).split("&&")]
    lab = [p for p in parts if re.match(r"\S*jupyter lab\b", p)]
    assert len(lab) == 1, f"the README's lab command has no single `jupyter lab` step: {parts}"
    return shlex.split(lab[0])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=None, timeout=30):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    repo = tmp / "repo"
    shutil.copytree(ROOT / "book", repo / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(ROOT / "tools" / "lab", repo / "tools" / "lab")
    argv = readme_lab_command()
    assert argv[0].endswith("jupyter") and argv[1] == "lab", argv
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyter", *argv[1:], "--no-browser", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:  # containers and CI run as root, which Jupyter refuses without this flag
        cmd.append("--allow-root")
    env = tagged_env()
    for var, sub in (("HOME", "home"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        env[var] = str(tmp / sub)
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen(cmd, cwd=repo, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", token)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.call("GET", "/api/status", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"jupyter lab did not start:\n{(tmp / 'server.log').read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield server, repo, argv
    finally:
        proc.send_signal(signal.SIGINT)  # Jupyter asks for a second Ctrl-C within 5 s
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        log.close()
        assert_no_survivors("jupyter lab")


def chapter_with_outputs():
    """The first chapter of the toc whose stored notebook has outputs (toc files are .ipynb)."""
    for f in CHAPTERS:
        nb = json.loads((ROOT / f).read_text())
        if sum(len(c.get("outputs", [])) for c in nb["cells"] if c["cell_type"] == "code"):
            return f
    pytest.fail("no chapter has stored outputs")


def test_the_readme_serves_the_book_folder(lab):
    server, repo, argv = lab
    listing = server.call("GET", "/api/contents/")
    names = {c["name"] for c in listing["content"]}
    assert {os.path.basename(f).replace(".ipynb", ".md") for f in CHAPTERS} <= names, names
    # each chapter is listed once: the .ipynb twins (they hold the outputs) are hidden
    assert not [n for n in names if n.endswith(".ipynb")], sorted(names)


def test_opening_and_saving_an_unchanged_chapter_changes_nothing(lab):
    """JupyterLab writes the running kernel's spec and language into the notebook when it saves;
    the chapters store exactly that, so `git diff` stays empty (tools/fold_cells.py sets it)."""
    import platform

    server, repo, argv = lab
    spec = server.call("GET", "/api/kernelspecs")
    kernel = spec["kernelspecs"][spec["default"]]["spec"]
    for toc_file in CHAPTERS[:3]:
        md_name = os.path.basename(toc_file).replace(".ipynb", ".md")
        md, ipynb = repo / "book" / md_name, repo / "book" / os.path.basename(toc_file)
        md_before, nb_before = md.read_text(), ipynb.read_text()
        model = server.call("GET", f"/api/contents/{md_name}?type=notebook&content=1")
        meta = model["content"]["metadata"]
        meta["kernelspec"] = {"display_name": kernel["display_name"], "language": kernel["language"], "name": spec["default"]}
        meta.setdefault("language_info", {})["version"] = platform.python_version()
        server.call("PUT", f"/api/contents/{md_name}", {"type": "notebook", "format": "json", "content": model["content"]})
        assert md.read_text() == md_before, f"opening and saving {md_name} changed it"
        assert ipynb.read_text() == nb_before, f"opening and saving {md_name} changed its .ipynb"


def test_the_news_popup_is_off(lab):
    server, repo, argv = lab
    settings = server.call("GET", "/lab/api/settings/@jupyterlab/apputils-extension:notification")
    props = settings["schema"]["properties"]
    assert props["fetchNews"].get("default") == "false", props["fetchNews"]
    assert props["checkForUpdates"].get("default") is False, props["checkForUpdates"]


def test_jupyterlab_and_jupyterlab_myst_are_a_compatible_pair():
    """`jupyter labextension list` marks every extension OK (jupyterlab-myst 2.7.0 needs the
    @jupyter/ydoc 3 of JupyterLab 4.5; JupyterLab 4.6 brings ydoc 4 and disables it)."""
    proc = subprocess.run([sys.executable, "-m", "jupyter", "labextension", "list"], capture_output=True,
                          text=True, timeout=120, env=tagged_env())
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert re.search(r"jupyterlab-myst v\S+ enabled OK", out), out
    assert "not compatible" not in out and " X" not in out, out


def test_every_lab_extension_accepts_the_pinned_jupyterlab():
    """`labextension list` reads only an extension's package.json; JupyterLab loads its bundle,
    which may ask for newer shared modules than package.json says. jupytext 1.19.6's bundle asks
    for @jupyterlab/apputils ^4.7.0-beta.0 and fails to load on JupyterLab 4.5, and then every
    chapter opens as text. Read each bundle's required versions (webpack writes them as
    [1,4,5,9], rspack as "^4.7.0-beta.0") and compare them with those JupyterLab ships. The
    browser test above sees the same in a real JupyterLab."""
    import sysconfig

    share = Path(sysconfig.get_path("data")) / "share" / "jupyter"
    core = json.loads((share / "lab" / "static" / "package.json").read_text())
    provided = {k: v.lstrip("~^") for k, v in {**core.get("dependencies", {}), **core.get("resolutions", {})}.items()}
    needs = {}
    for entry in sorted((share / "labextensions").glob("**/static/*.js")):
        ext = entry.parent.parent.name
        text = entry.read_text(errors="replace")
        for name, *v in re.findall(r'"(@jupyterlab/[\w-]+)",!\d,\[1,(\d+),(\d+),(\d+)\]', text):
            needs.setdefault(ext, []).append((name, tuple(map(int, v)), ""))
        for name, *v, pre in re.findall(r'shareKey:"(@jupyterlab/[\w-]+)",[^}]*?requiredVersion:"\^(\d+)\.(\d+)\.(\d+)'
                                        r'(-[\w.]+)?"', text):
            needs.setdefault(ext, []).append((name, tuple(map(int, v)), pre))
    assert {"jupyterlab-jupytext", "jupyterlab-myst"} <= set(needs), sorted(needs)
    wrong = []
    for ext, reqs in needs.items():
        for name, need, pre in reqs:
            have = provided.get(name)
            m = have and re.match(r"(\d+)\.(\d+)\.(\d+)", have)
            if m and tuple(map(int, m.groups())) < need:
                wrong.append(f"{ext} needs {name} ^{'.'.join(map(str, need))}{pre}, JupyterLab has {have}")
    assert not wrong, sorted(set(wrong))


def test_a_chapter_opens_as_a_notebook_with_its_outputs_and_saves_to_both_files(lab):
    server, repo, argv = lab
    toc_file = chapter_with_outputs()
    md_name = os.path.basename(toc_file).replace(".ipynb", ".md")
    md, ipynb = repo / "book" / md_name, repo / "book" / os.path.basename(toc_file)
    stored = json.loads(ipynb.read_text())
    want = sum(len(c.get("outputs", [])) for c in stored["cells"] if c["cell_type"] == "code")

    model = server.call("GET", f"/api/contents/{md_name}?type=notebook&content=1")
    assert model["type"] == "notebook" and model["format"] == "json", (model["type"], model["format"])
    cells = model["content"]["cells"]
    got = sum(len(c.get("outputs", [])) for c in cells if c["cell_type"] == "code")
    assert got == want > 0, f"{md_name} opened with {got} outputs; its .ipynb stores {want}: the pairing is lost"

    # a small edit, saved through the API as JupyterLab saves it
    mark = f"An edit made in JupyterLab {secrets.token_hex(4)}."
    cells.append({"cell_type": "markdown", "metadata": {}, "source": mark, "id": secrets.token_hex(4)})
    md_before, nb_before = md.read_text(), ipynb.read_text()
    server.call("PUT", f"/api/contents/{md_name}", {"type": "notebook", "format": "json", "content": model["content"]})
    md_after, nb_after = md.read_text(), ipynb.read_text()
    assert md_after != md_before and mark in md_after, "the edit did not reach the .md"
    assert nb_after != nb_before and mark in nb_after, "the edit did not reach the paired .ipynb"
    saved = json.loads(nb_after)
    assert sum(len(c.get("outputs", [])) for c in saved["cells"] if c["cell_type"] == "code") == want, \
        "saving dropped the stored outputs"


def test_markdown_opens_as_a_notebook_by_default(lab):
    server, repo, argv = lab
    settings = server.call("GET", "/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
    # the server folds overrides into the schema's defaults; the reader's own settings (raw) are empty
    viewers = settings["schema"]["properties"]["defaultViewers"].get("default", {})
    assert viewers.get("markdown") == "Jupytext Notebook", viewers
    assert viewers.get("myst") == "Jupytext Notebook", viewers


def test_myst_is_rendered_by_jupyterlab_myst(lab):
    server, repo, argv = lab
    extensions = server.call("GET", "/lab/api/extensions")
    names = {e["name"]: e for e in extensions}
    assert "jupyterlab-myst" in names, sorted(names)
    assert names["jupyterlab-myst"].get("enabled", True), names["jupyterlab-myst"]
    assert "jupyterlab-jupytext" in names, sorted(names)


def test_pins_include_the_lab_extras():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for group in ("lab", "test"):
        assert any(s.startswith("jupyterlab-myst==") for s in extras[group]), group
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- lab-command -->\s*```bash\n(.+?)\n\s*```", readme, re.S)
    assert m and '".[lab]"' in m.group(1), "the README's lab command must install the lab extra"


# ---------------------------------------------------------------- what the reader sees, in a browser
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the tab in front (the workspace keeps the others)
READ_CHAPTER_JS = r"""
(() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!panel) return null;
  const cells = panel.querySelectorAll('.jp-Cell');
  const displays = Array.from(panel.querySelectorAll('.jp-MarkdownCell [id^="eq-"]')).map((d) => {
    const tag = d.querySelector('.katex-display .tag');
    const rest = d.cloneNode(true);
    rest.querySelectorAll('.katex-display').forEach((k) => k.remove());
    return {id: d.id, tag: tag ? tag.textContent.replace(/\s/g, '') : '', own: rest.textContent.replace(/\s/g, '')};
  });
  // references in the text: not a caption's or a heading's link to itself
  const links = Array.from(panel.querySelectorAll('.jp-MarkdownCell a[href^="#"]'))
    .filter((a) => !a.closest('figcaption, h1, h2, h3, h4, h5, h6')
                   && !(a.parentElement.closest('[id]') || {}).id?.startsWith?.(a.getAttribute('href').slice(1)))
    .map((a) => ({href: a.getAttribute('href'), text: a.textContent.replace(/\s+/g, ' ').trim()}));
  const captions = Array.from(panel.querySelectorAll('.jp-MarkdownCell figcaption'))
    .map((f) => f.textContent.replace(/\s+/g, ' ').trim().slice(0, 14));
  return {cells: cells.length, displays, links, captions};
})()
"""


def open_in_the_file_browser(b, name):
    """Double-click `name` in JupyterLab's file browser, as a reader does."""
    b.eval(f"""(() => {{
      const it = Array.from(document.querySelectorAll('.jp-DirListing-item'))
        .find((e) => e.querySelector('.jp-DirListing-itemText').textContent.trim() === {json.dumps(name)});
      it.dispatchEvent(new MouseEvent('dblclick', {{bubbles: true}}));
      return true;
    }})()""")


@pytest.mark.parametrize("name", ["02_convolution.md", "05_combinations.md"])
def test_a_chapter_opens_as_a_notebook_and_shows_the_sites_numbers(lab, tmp_path, name):
    """In a real browser: a double-click on a chapter opens it as a notebook (not as text: that
    happens when a lab extension fails to load against the pinned JupyterLab), every labelled
    display shows only its paper number (the KaTeX tag, no count of jupyterlab-myst's beside
    it), every reference to a display, a figure or an exercise reads the number its target shows,
    and figure captions are numbered per chapter as on the site ("Figure 5.3:")."""
    from browser import Browser
    from test_book import chromium

    server, repo, argv = lab
    # render every cell (JupyterLab otherwise skips the ones off screen); the temporary server's
    # own user settings, never the reader's
    server.call("PUT", "/lab/api/settings/@jupyterlab/notebook-extension:tracker",
                {"raw": json.dumps({"windowingMode": "none"})})
    prefix = str(int(name[:2]))
    md = (ROOT / "book" / name).read_text()
    tags = [t.strip() for body, _ in re.findall(r"\$\$(.+?)\$\$[ \t]*\(([\w-]+)\)", md, flags=re.S)
            for t in re.findall(r"\\tag\{([^{}]+)\}", body)]
    b = Browser(chromium(), tmp_path / "profile", env=tagged_env())
    try:
        b.viewport(1400, 900)
        b.send("Page.navigate", url=f"{server.base}/lab?token={server.token}")
        b.wait_for("document.querySelectorAll('.jp-DirListing-item').length > 5", timeout=90)
        b.wait_for("document.querySelector('.jp-LabShell') !== null", timeout=30)
        time.sleep(2)  # the document registry reads the default viewers from the settings
        open_in_the_file_browser(b, name)
        b.wait_for(f"document.querySelectorAll('{PANEL} .jp-MarkdownCell').length > 10", timeout=90,
                   what=f"{name} to open as a notebook")
        want_cells = len(json.loads((ROOT / "book" / name).with_suffix(".ipynb").read_text())["cells"])
        b.wait_for(f"document.querySelectorAll('{PANEL} .jp-Cell').length === {want_cells}", timeout=60)
        b.wait_for(f"document.querySelectorAll('{PANEL} .jp-MarkdownCell .katex-display .tag').length >= {len(tags)}",
                   timeout=60, what="the tagged displays to render")
        n_figures = len(re.findall(r"^:{3,}\{figure\}", md, flags=re.M))
        b.wait_for(f"document.querySelectorAll('{PANEL} .jp-MarkdownCell figcaption').length >= {n_figures}",
                   timeout=60, what="every figure's caption to render")
        seen = b.eval(READ_CHAPTER_JS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        b.screenshot(SCREENSHOTS / f"jupyterlab-{name[:-3]}.png")
    finally:
        b.close()
    shown = {d["id"]: d for d in seen["displays"]}
    assert [d["tag"] for d in seen["displays"] if d["tag"]] == [f"({t})" for t in tags]
    doubled = {i: d["own"] for i, d in shown.items() if d["own"]}
    assert not doubled, f"jupyterlab-myst numbers these displays as well: {doubled}"
    figures = {f"Figure {prefix}.{n}:" for n in range(1, 1 + n_figures)}
    assert {c[: len(c.split(":")[0]) + 1] for c in seen["captions"] if c.startswith("Figure")} == figures
    wrong = []
    for link in seen["links"]:
        label, text = link["href"][1:], link["text"]
        if label in shown and re.fullmatch(r"\(?[NU]?\d[\w.]*\)?", text) and shown[label]["tag"]:
            if text.strip("()") not in (shown[label]["tag"].strip("()"), "N" + shown[label]["tag"].strip("()")):
                wrong.append(f"{text} -> #{label} {shown[label]['tag']}")
        if not text or text in ("Equation", "Figure") or text.startswith("#"):
            wrong.append(f"{text!r} -> #{label}")
        if label.startswith(("fig-", "ex-")) and not re.fullmatch(r"(Figure|Exercise) [A-Z\d]+\.\d+", text):
            wrong.append(f"{text!r} -> #{label}")
    assert not wrong, f"{name}: references that do not read the site's numbers: {wrong}"


def test_every_chapter_opens_with_jupyterlab_mysts_numbering():
    """Every chapter's first cell is the frontmatter that makes jupyterlab-myst number as the
    site does: figures and exercises per chapter ("5.%s"), and no count of its own beside the
    displays, which show their paper numbers through \\tag. Source-level, for every chapter (the
    browser test above opens two)."""
    import jupytext

    for md in sorted((ROOT / "book").glob("*.md")):
        first = jupytext.read(md, fmt="md:myst").cells[0]
        m = re.match(r"^(\d+)_", md.name) or re.match(r"^([A-Z])\d*_", md.name)
        prefix = (str(int(m.group(1))) if m.group(1).isdigit() else m.group(1)) if m else None
        want = "---\nnumbering:\n" + (f"  enumerator: {prefix}.%s\n" if prefix else "") + "  equation: false\n---"
        assert first.cell_type == "markdown" and first.source == want, (md.name, first.source[:120])
