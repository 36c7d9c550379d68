#!/usr/bin/env python3
"""Cut the embedded MNIST subset from the full database, and write its statistics.

How the subset is cut (cnnlit.data.cut_subset, Appendix A): one generator,
``numpy.random.default_rng(2006)``, draws 600 indices of each digit 0..9 from the training
set, then 100 of each digit from the test set, without replacement; the indices are sorted,
so the subset keeps the files' order. The result is deterministic: running this script again
on the same MNIST files gives the same arrays (tests/test_data.py checks this whenever
CNNLIT_DATA is set).

Writes into the output folder (default: cnnlit/_data/):

- ``mnist_subset.npz`` (np.savez_compressed, uint8 images and labels, int64 indices into the
  original files): train_images (6000, 28, 28), train_labels, train_indices, and the same
  for test (1000 images);
- ``mnist_subset_stats.json``: the seed, the counts per class, the SHA-256 of the indices
  and of every array, and pixel statistics (cnnlit.data.pixel_stats) of the subset and of
  the full set, plus the RMS difference between their mean images per digit.

Usage::

    python tools/cut_mnist_subset.py ../shared/data/mnist      # or: CNNLIT_DATA=... python tools/cut_mnist_subset.py
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnnlit import data  # noqa: E402

OUT = ROOT / "cnnlit" / "_data"
ATTRIBUTION = (
    "MNIST database of handwritten digits, by Y. LeCun, C. Cortes and C. J. C. Burges; "
    "licensed under CC BY-SA 3.0. This is a subset of it."
)


def array_sha256(a: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and little-endian bytes."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.newbyteorder('<').str}{a.shape}".encode())
    h.update(a.astype(a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


def statistics(mnist: data.MNIST, subset: dict) -> dict:
    full = {"train": (mnist.X_train, mnist.y_train), "test": (mnist.X_test, mnist.y_test)}
    stats = {
        "source": ATTRIBUTION,
        "seed": data.SUBSET_SEED,
        "per_class": dict(data.SUBSET_PER_CLASS),
        "cut": "cnnlit.data.cut_subset: default_rng(seed) draws per_class indices of each digit 0..9 "
               "without replacement, train then test; indices sorted",
        "indices_sha256": {s: array_sha256(subset[f"{s}_indices"]) for s in ("train", "test")},
        "arrays_sha256": {k: array_sha256(v) for k, v in sorted(subset.items())},
        "subset": {},
        "full": {},
        "class_mean_image_rms_difference": {},
    }
    for split, (X, y) in full.items():
        Xs, ys = subset[f"{split}_images"], subset[f"{split}_labels"]
        stats["subset"][split] = data.pixel_stats(Xs, ys)
        stats["full"][split] = data.pixel_stats(X, y)
        rms = []
        for d in range(data.N_CLASSES):
            diff = Xs[ys == d].mean(axis=0) - X[y == d].mean(axis=0)
            rms.append(round(float(np.sqrt(np.mean(diff ** 2))), 6))
        stats["class_mean_image_rms_difference"][split] = rms
    return stats


def build(mnist_dir, out: Path = OUT) -> tuple[Path, Path]:
    """Cut the subset from the MNIST files in ``mnist_dir`` and write both files into ``out``."""
    mnist = data.load_mnist(mnist_dir)
    subset = data.cut_subset(mnist)
    out.mkdir(parents=True, exist_ok=True)
    npz = out / "mnist_subset.npz"
    np.savez_compressed(npz, **subset)
    js = out / "mnist_subset_stats.json"
    js.write_text(json.dumps(statistics(mnist, subset), indent=1) + "\n")
    return npz, js


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mnist", nargs="?", default=None,
                        help="folder with the four MNIST files (default: $CNNLIT_DATA)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: cnnlit/_data/)")
    args = parser.parse_args(argv)
    try:
        npz, js = build(args.mnist, args.out)
    except (FileNotFoundError, ValueError) as exc:
        print(f"cut_mnist_subset: {exc}", file=sys.stderr)
        return 1
    with np.load(npz, allow_pickle=False) as z:
        counts = {s: np.bincount(z[f"{s}_labels"], minlength=10).tolist() for s in ("train", "test")}
    print(f"wrote {npz} ({npz.stat().st_size} bytes), class counts {counts}")
    print(f"wrote {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
