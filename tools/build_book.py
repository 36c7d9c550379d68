#!/usr/bin/env python3
"""Build the cnnlit book as a static, offline HTML site.

1. `npm ci` in tools/site/ (only when node_modules is missing or was installed from another
   package-lock.json); offline, from npm's cache, or a clear failure within seconds
2. `myst build --site --strict`  -> _build/site/{config.json,content/*.json,public/}
   (uses the stored notebook outputs; nothing is executed; a broken reference fails the build),
   then tools/bibliography.py -> _build/site/bibliography.json (the references' order and labels)
3. `tools/build_pdf.py` -> OUT/cnnlit.pdf, the whole book as one PDF (skipped with --no-pdf;
   the pages link to it when it is there)
4. `node tools/site/render.mjs _build/site OUT` -> static HTML (KaTeX with MathML,
   highlight.js, local assets), which also fails on any link or #anchor that does not exist
5. Pagefind (`pagefind-bin` from PyPI) -> OUT/pagefind/, the offline search index

Exit status 0 means every page was written and every reference resolved.
"""
import argparse
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tools.build_pdf

# Known, harmless myst output that is dropped from the log: jupytext stores the lexer of the
# MyST code cells as notebook metadata (jupytext.default_lexer) and mystmd's page-frontmatter
# check reports the unknown key once per page. The .ipynb files are derived from the .md
# sources by tools/execute.py and checked by tests/test_sync.py, so the key stays there.
NOISE = re.compile(r"'jupytext' extra key ignored: default_lexer")


def myst_env():
    env = dict(os.environ)
    # mystmd prints an "Update available" box after each build, comparing itself with the npm
    # package (which lags behind the PyPI one we pin). Any white-labelling variable switches
    # that notice off; MYSTMD_BINARY_NAME=myst changes nothing else (myst is the default name).
    env.setdefault("MYSTMD_BINARY_NAME", "myst")
    return env


def run(cmd, cwd, env=None, drop=None):
    """Run cmd in its own process group; kill the whole group if we are interrupted."""
    print("+", " ".join(map(str, cmd)), flush=True)
    proc = subprocess.Popen(
        [str(c) for c in cmd], cwd=cwd, env=env, start_new_session=True,
        stdout=subprocess.PIPE if drop else None, stderr=subprocess.STDOUT if drop else None, text=bool(drop),
    )
    dropped = 0
    try:
        if drop:
            for line in proc.stdout:
                if drop.search(line):
                    dropped += 1
                else:
                    sys.stdout.write(line)
                    sys.stdout.flush()
        rc = proc.wait()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    finally:
        try:  # nothing the child started may outlive it
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if dropped:
        print(f"  ({dropped} known harmless warning(s) about jupytext.default_lexer not shown)")
    if rc != 0:
        sys.exit(f"build failed: {Path(str(cmd[0])).name} exited with {rc}")


def registry_reachable(site, timeout=5.0):
    """Whether npm's registry answers a TCP connection within `timeout` seconds."""
    try:
        url = subprocess.run(["npm", "config", "get", "registry"], cwd=site, capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return False, "npm's registry"
    u = urllib.parse.urlsplit(url or "https://registry.npmjs.org/")
    port = u.port or (443 if u.scheme == "https" else 80)
    try:
        with socket.create_connection((u.hostname, port), timeout=timeout):
            return True, u.hostname
    except OSError:
        return False, u.hostname


def ensure_node_modules(site):
    stamp = site / "node_modules" / ".lock-sha256"
    lock = hashlib.sha256((site / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == lock:
        return
    ok, host = registry_reachable(site)
    if ok:  # bounded: a stalled download fails instead of waiting for minutes
        run(["npm", "ci", "--no-audit", "--no-fund", "--fetch-retries=1", "--fetch-timeout=60000"], cwd=site)
    else:
        # offline: npm's own cache may still hold every package of the lockfile
        print(f"+ npm ci --offline   ({host} cannot be reached; trying npm's cache)", flush=True)
        proc = subprocess.run(["npm", "ci", "--offline", "--no-audit", "--no-fund"], cwd=site,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            sys.exit(f"build failed: {site / 'node_modules'} is missing, npm cannot reach {host} (no network?), "
                     "and npm's cache does not hold the renderer's packages (tools/site/package-lock.json). "
                     "Run the build once with network access (it installs them into tools/site/node_modules/), "
                     "or copy that folder from another checkout of the same package-lock.json.")
    stamp.write_text(lock)


def myst_command():
    exe = Path(sys.executable).with_name("myst")  # the venv's mystmd
    if exe.exists():
        return [exe]
    return [shutil.which("myst") or sys.exit("myst not found: pip install -e '.[book]' (mystmd)")]


def pagefind(out: Path):
    try:
        from pagefind_bin import get_executable
    except ImportError:
        sys.exit("pagefind not found: pip install -e '.[book]' (pagefind-bin)")
    run([get_executable(), "--site", out, "--output-subdir", "pagefind", "--quiet"], cwd=out)
    if not (out / "pagefind" / "pagefind.js").exists():
        sys.exit("build failed: pagefind wrote no index")


def build(root: Path, out: Path, pdf: bool = True) -> float:
    t0 = time.monotonic()
    site = root / "tools" / "site"
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: the book build needs Node.js >= 20 with npm")
    ensure_node_modules(site)
    shutil.rmtree(root / "_build" / "site", ignore_errors=True)  # no stale pages or figures
    run([*myst_command(), "build", "--site", "--strict"], cwd=root, env=myst_env(), drop=NOISE)
    if not (root / "_build" / "site" / "config.json").exists():
        sys.exit("build failed: myst wrote no _build/site/config.json")
    from tools.bibliography import write as write_bibliography
    write_bibliography(root / "_build" / "site")  # one reference list for the site and the PDF
    shutil.rmtree(out, ignore_errors=True)
    if pdf:
        from tools.build_pdf import build as build_pdf
        build_pdf(root, out / "cnnlit.pdf")
    run(["node", site / "render.mjs", root / "_build" / "site", out], cwd=root)
    pagefind(out)
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="output folder (default: ROOT/_build/html)")
    ap.add_argument("--no-pdf", action="store_true", help="skip the PDF of the book (tools/build_pdf.py)")
    ap.add_argument("--root", type=Path, default=ROOT,
                    help="project folder holding myst.yml, book/ and tools/site/ (default: this repository)")
    args = ap.parse_args()
    root = args.root.resolve()
    out = (args.out or root / "_build" / "html").resolve()
    seconds = build(root, out, pdf=not args.no_pdf)
    print(f"built {out} in {seconds:.1f} s")


if __name__ == "__main__":
    main()
