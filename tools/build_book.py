#!/usr/bin/env python3
"""Build the cnnlit book as a static, offline HTML site.

1. `npm ci` in site/ (only if node_modules is missing or older than package-lock.json)
2. `myst build --site`  -> _build/site/{config.json,content/*.json,public/}
   (uses the stored notebook outputs; nothing is executed; broken refs fail via error_rules)
3. `node site/render.mjs _build/site OUT` -> static HTML (KaTeX, highlight.js, local assets)
"""
import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "tools" / "site"
STAMP = SITE / "node_modules" / ".lock-sha256"


def run(cmd, cwd=ROOT, env=None):
    print("+", " ".join(map(str, cmd)), flush=True)
    # own process group, so nothing survives us on failure or Ctrl-C
    proc = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env=env, start_new_session=True)
    try:
        rc = proc.wait()
    except BaseException:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        raise
    if rc != 0:
        sys.exit(f"build failed: {cmd[0]} exited with {rc}")


def ensure_node_modules():
    lock = hashlib.sha256((SITE / "package-lock.json").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == lock:
        return
    run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SITE)
    STAMP.write_text(lock)


def myst_command():
    exe = Path(sys.executable).with_name("myst")  # the venv's mystmd
    return [exe] if exe.exists() else [shutil.which("myst") or sys.exit("myst not found (pip install mystmd)")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=ROOT / "_build" / "html", type=Path, help="output folder (default: _build/html)")
    args = ap.parse_args()
    t0 = time.monotonic()
    ensure_node_modules()
    shutil.rmtree(ROOT / "_build" / "site", ignore_errors=True)  # no stale pages/figures
    run([*myst_command(), "build", "--site", "--strict"])  # --strict: exit 1 on errors
    if not (ROOT / "_build" / "site" / "config.json").exists():
        sys.exit("build failed: myst wrote no _build/site/config.json")
    run(["node", SITE / "render.mjs", ROOT / "_build" / "site", args.out.resolve()])
    print(f"built {args.out} in {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
