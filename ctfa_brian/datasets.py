"""Classification datasets for feedback-alignment experiments, with input validation.

Every loader returns a :class:`Dataset` holding float64 inputs and int64 labels in
``[0, n_classes)``. Random train/test splits are stratified and reproducible through ``seed``.

Available datasets (see :data:`DATASETS` and :func:`load_dataset`):

``circles``
    Two concentric noisy rings from :func:`sklearn.datasets.make_circles`; by default 750
    outer-ring points (label 0) and 250 inner-ring points (label 1), so predicting the majority
    class already scores ~0.75.
``digits``
    scikit-learn's 8x8 handwritten digits (1797 samples, 64 features scaled to [0, 1]).
``mnist7``
    MNIST (60 000 train / 10 000 test) average-pooled over 4x4 blocks, 28x28 -> 7x7 (49
    features in [0, 1]), as in Bacvanski, Ziyin & Poggio (arXiv 2510.18808, Appendix B). By
    default it is read from ``ctfa_brian/data/mnist7.npz``, shipped with the package (no path,
    no download; built by ``scripts/build_mnist7.py``, see ``ctfa_brian/data/MNIST7.md``);
    ``load_mnist7(path)`` pools the four standard IDX files in ``path`` instead.
``mnist1d``, ``yinyang``
    MNIST-1D (40 standardised features, 10 classes) and Yin-Yang (4 features, 3 classes), generated
    offline from their published definitions (:mod:`ctfa_brian.generated_datasets`).

Every check raises an error that names the parameter, quotes the value and says what is allowed.
"""

import gzip
import importlib.resources
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from brian2.utils.logger import get_logger

__all__ = ["DATASETS", "Dataset", "from_arrays", "load_circles", "load_dataset", "load_digits",
           "load_mnist1d", "load_mnist7", "load_yinyang", "read_idx", "validate_arrays"]

logger = get_logger(__name__)

#: The names `load_dataset` takes.
DATASETS = ("circles", "digits", "mnist7", "mnist1d", "yinyang")
#: Most classes a data set may have (output units).
MAX_CLASSES = 10_000

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_MNIST_FILES = {
    "x_train": ("train-images-idx3-ubyte", IDX_IMAGES_MAGIC),
    "y_train": ("train-labels-idx1-ubyte", IDX_LABELS_MAGIC),
    "x_test": ("t10k-images-idx3-ubyte", IDX_IMAGES_MAGIC),
    "y_test": ("t10k-labels-idx1-ubyte", IDX_LABELS_MAGIC),
}
#: 7x7 MNIST shipped with the package (uint8 pooled means; see ctfa_brian/data/MNIST7.md).
_MNIST7_FILE = importlib.resources.files("ctfa_brian") / "data" / "mnist7.npz"
_MNIST7_SHAPES = {"x_train": (60000, 49), "y_train": (60000,), "x_test": (10000, 49),
                  "y_test": (10000,)}


def _check_labels(y, name, n_classes):
    """Return ``y`` as a 1-D int64 array in ``[0, n_classes)`` or raise naming ``name``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} has shape {y.shape}; labels must be a 1-D array")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} has non-integer labels "
                             f"(first: {y[i].item()!r} at index {i}); "
                             f"labels must be whole numbers in [0, {n_classes})")
    elif y.dtype.kind not in "iu":
        raise ValueError(f"{name} has dtype {y.dtype}; labels must be integers in "
                         f"[0, {n_classes})")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} has labels from {y.min()} to {y.max()} but n_classes="
                         f"{n_classes}; labels must lie in [0, {n_classes})")
    return y


def validate_arrays(x_train, y_train, x_test, y_test, n_classes):
    """Check a train/test classification split and return it as float64 / int64 arrays.

    Returns ``(x_train, y_train, x_test, y_test)``; whole-number float labels become int64.
    Raises ``ValueError`` naming the offending parameter for wrong dimensions, mismatched
    lengths or feature counts, empty splits, non-finite inputs, non-integer or out-of-range
    labels, or ``n_classes < 2``.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 2:
        raise ValueError(f"n_classes={n_classes!r}; it must be an integer >= 2")
    out = {}
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        xn, yn = f"x_{split}", f"y_{split}"
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{xn} cannot be converted to float64 ({err}); "
                             "inputs must be a numeric 2-D array") from None
        if x.ndim != 2:
            raise ValueError(f"{xn} has shape {x.shape}; inputs must be a 2-D array "
                             "(n_samples, n_features)")
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"{xn} has shape {x.shape}; each split needs at least one "
                             "sample and one feature")
        bad = ~np.isfinite(x)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{xn} has {int(bad.sum())} non-finite values (NaN or inf), "
                             f"first at index {first}; inputs must be finite")
        y = _check_labels(y, yn, int(n_classes))
        if len(x) != len(y):
            raise ValueError(f"{xn} has shape {x.shape} but {yn} has shape {y.shape}; "
                             "they need the same number of samples")
        out[xn], out[yn] = x, y
    if out["x_test"].shape[1] != out["x_train"].shape[1]:
        raise ValueError(f"x_test has shape {out['x_test'].shape} but x_train has "
                         f"{out['x_train'].shape[1]} features; both splits need the same "
                         "number of features")
    return out["x_train"], out["y_train"], out["x_test"], out["y_test"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train/test arrays for a classification task (inputs in [0,1]-ish floats, int labels).

    ``x_*`` are ``(n_samples, n_features)`` float64, ``y_*`` are ``(n_samples,)`` int64 in
    ``[0, n_classes)``; all are checked by :func:`validate_arrays` on construction.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def __post_init__(self):
        arrays = validate_arrays(self.x_train, self.y_train, self.x_test, self.y_test,
                                 self.n_classes)
        for key, value in zip(("x_train", "y_train", "x_test", "y_test"), arrays, strict=True):
            object.__setattr__(self, key, value)
        object.__setattr__(self, "n_classes", int(self.n_classes))

    @property
    def n_features(self) -> int:
        """Number of input features."""
        return int(self.x_train.shape[1])

    def one_hot(self, y) -> np.ndarray:
        """Return labels ``y`` as an ``(n, n_classes)`` float64 one-hot matrix."""
        y = _check_labels(y, "y", self.n_classes)
        return np.eye(self.n_classes)[y]

    def subset(self, n_train=None, n_test=None) -> "Dataset":
        """Return a dataset with the first ``n_train`` / ``n_test`` samples (None: all)."""
        sizes = {}
        for param, n, available in (("n_train", n_train, len(self.y_train)),
                                    ("n_test", n_test, len(self.y_test))):
            if n is None:
                n = available
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) \
                    or not 1 <= n <= available:
                raise ValueError(f"{param}={n!r}; it must be an integer in [1, {available}] "
                                 f"(the number of samples available)")
            sizes[param] = int(n)
        a, b = sizes["n_train"], sizes["n_test"]
        classes = np.unique(self.y_train[:a])
        if classes.size < 2:
            raise ValueError(f"n_train={a}: the first {a} training samples all have label "
                             f"{int(classes[0])}; a network learns nothing from one class, "
                             "use more samples")
        return replace(self, x_train=self.x_train[:a], y_train=self.y_train[:a],
                       x_test=self.x_test[:b], y_test=self.y_test[:b])


def _split(name, x, y, n_classes, test_fraction, seed):
    """Stratified, reproducible train/test split into a :class:`Dataset`."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r}; it must lie strictly between 0 and 1")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, stratify=y,
                                              random_state=seed)
    data = Dataset(name, x_tr, y_tr, x_te, y_te, n_classes)
    logger.debug(f"loaded {name}: {len(y_tr)} train, {len(y_te)} test, "
                 f"{data.n_features} features, {n_classes} classes")
    return data


def load_circles(n_outer=750, n_inner=250, noise=0.1, factor=0.5, test_fraction=0.25, seed=0):
    """Two noisy concentric rings: outer ring is label 0, inner ring (radius ``factor``) label 1.

    Features are left unscaled (about [-1.1, 1.1]). The default 75/25 class imbalance is kept
    in both splits, so a linear classifier scores about 0.75 by predicting the outer ring.
    """
    from sklearn.datasets import make_circles

    x, y = make_circles(n_samples=(n_outer, n_inner), noise=noise, factor=factor,
                        random_state=seed)
    return _split("circles", x, y, 2, test_fraction, seed)


def load_digits(test_fraction=0.25, seed=0):
    """scikit-learn's 8x8 digits (1797 samples), features divided by 16 into [0, 1]."""
    from sklearn import datasets

    x, y = datasets.load_digits(return_X_y=True)
    return _split("digits", x / 16.0, y, 10, test_fraction, seed)


def read_idx(file, magic=None) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed, by a ``.gz`` suffix) into an array.

    ``magic`` (e.g. 0x00000803 for images, 0x00000801 for labels) is checked when given.
    Raises ``ValueError`` naming the file for a bad magic number or a wrong data size.
    """
    file = Path(file)
    opener = gzip.open if file.suffix == ".gz" else open
    try:
        with opener(file, "rb") as fh:
            raw = fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise ValueError(f"{file}: the gzip data is truncated or corrupt ({err}); download "
                         "the file again") from None
    except OSError as err:
        raise ValueError(f"{file}: cannot be read ({err.strerror or err})") from None
    if not raw:
        raise ValueError(f"{file} is empty; expected an IDX file")
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found is None or raw[0] or raw[1] or raw[2] not in _IDX_DTYPES \
            or (magic is not None and found != magic):
        want = f"0x{magic:08x}" if magic is not None else "0x0000TTNN (IDX)"
        got = "none (file too short)" if found is None else f"0x{found:08x}"
        raise ValueError(f"{file}: magic number is {got}, expected {want}; not a valid "
                         "IDX file of this kind")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{file}: header needs {header} bytes but the file has {len(raw)}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{file}: header says shape {shape} ({expected} data bytes) but "
                         f"the file has {len(raw) - header} data bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _load_shipped_mnist7():
    """The four arrays of the shipped ``mnist7.npz`` as float64 in [0, 1] / int64 labels."""
    resource = _MNIST7_FILE
    rebuild = ("reinstall ctfa_brian, or rebuild the file with scripts/build_mnist7.py, or "
               "pass path=<directory with the MNIST IDX files>")
    if not resource.is_file():
        raise FileNotFoundError(f"the shipped 7x7 MNIST file {str(resource)!r} is missing; "
                                f"{rebuild}")
    arrays = {}
    try:
        with resource.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                raise ValueError("it is not a .npz (zip) file")
        with importlib.resources.as_file(resource) as file, \
                np.load(file, allow_pickle=False) as npz:
            if set(npz.files) != set(_MNIST7_SHAPES):
                raise ValueError(f"it holds {sorted(npz.files)}, expected "
                                 f"{sorted(_MNIST7_SHAPES)}")
            for key, shape in _MNIST7_SHAPES.items():
                a = npz[key]
                if a.dtype != np.uint8 or a.shape != shape:
                    raise ValueError(f"{key} is {a.dtype} {a.shape}, expected uint8 {shape}")
                if key.startswith("y") and a.max() > 9:
                    raise ValueError(f"{key} has a label {int(a.max())}, expected 0..9")
                arrays[key] = a
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise ValueError(f"the shipped 7x7 MNIST file {str(resource)!r} is corrupt or not the "
                         f"expected one ({err}); {rebuild}") from None
    for key in ("x_train", "x_test"):
        arrays[key] = arrays[key] / 255.0
    return arrays


def load_mnist7(path=None, n_train=None, n_test=None):
    """7x7 MNIST: 4x4 average pooling of the 28x28 images, 49 features in [0, 1], 10 classes.

    With ``path=None`` (the default) it loads ``ctfa_brian/data/mnist7.npz``, shipped with the
    package (nothing is downloaded): the 60 000 training and 10 000 test images of MNIST in
    their original order, each pooled value stored as the uint8 mean of 16 pixels rounded half
    up and divided here by 255.0. A missing file raises ``FileNotFoundError``, a corrupt one
    ``ValueError``, both naming the file. How the file was built: ``scripts/build_mnist7.py``
    and ``ctfa_brian/data/MNIST7.md``.

    With a ``path`` it reads the four standard MNIST IDX files in that directory
    (``train-images-idx3-ubyte`` etc., each optionally gzip-compressed with a ``.gz`` suffix)
    and pools them the same way without rounding: the exact mean of the 16 pixels divided by
    255. For the same images the two differ only by the shipped file's uint8 quantisation,
    at most 1/510 per feature.

    ``n_train`` / ``n_test`` keep the first n samples of each split.
    """
    if path is None:
        data = Dataset("mnist7", n_classes=10, **_load_shipped_mnist7())
        logger.debug(f"loaded mnist7 from the shipped {_MNIST7_FILE}: "
                     f"{len(data.y_train)} train, {len(data.y_test)} test")
        if n_train is None and n_test is None:
            return data
        return data.subset(n_train=n_train, n_test=n_test)
    path = Path(path)
    names = ", ".join(stem for stem, _ in _MNIST_FILES.values())
    if not path.is_dir():
        raise FileNotFoundError(f"MNIST directory {str(path)!r} does not exist; it must "
                                f"contain {names} (each optionally with .gz)")
    arrays = {}
    for key, (stem, magic) in _MNIST_FILES.items():
        file = next((f for f in (path / stem, path / f"{stem}.gz") if f.is_file()), None)
        if file is None:
            raise FileNotFoundError(f"{stem} (or {stem}.gz) not found in {str(path)!r}; "
                                    f"the directory must contain {names}")
        data = read_idx(file, magic=magic)
        if key.startswith("x"):
            if data.shape[1:] != (28, 28):
                raise ValueError(f"{file}: images have shape {data.shape[1:]}, expected "
                                 "(28, 28)")
            n = data.shape[0]
            data = data.astype(np.float64).reshape(n, 7, 4, 7, 4).mean(axis=(2, 4)) / 255.0
            data = data.reshape(n, 49)
        arrays[key] = data
    data = Dataset("mnist7", n_classes=10, **arrays)
    logger.debug(f"loaded mnist7 from {path}: {len(data.y_train)} train, "
                 f"{len(data.y_test)} test")
    if n_train is None and n_test is None:
        return data
    return data.subset(n_train=n_train, n_test=n_test)


def from_arrays(x_train, y_train, x_test, y_test, n_classes=None, name="user"):
    """Wrap user arrays in a validated :class:`Dataset`.

    ``n_classes`` defaults to the largest label + 1 (at least 2).
    """
    inferred = n_classes is None
    if inferred:
        try:
            top = max(np.max(np.asarray(y)) for y in (y_train, y_test))
            n_classes = max(2, int(top) + 1)
        except (TypeError, ValueError, OverflowError):
            n_classes = 2  # validate_arrays reports what is wrong with the labels
        if n_classes > MAX_CLASSES:
            raise ValueError(f"the labels go up to {n_classes - 1}, which would make "
                             f"{n_classes} output units; labels must be 0..K-1 for K classes "
                             f"(at most {MAX_CLASSES}); renumber them")
    data = Dataset(name, x_train, y_train, x_test, y_test, n_classes)
    if inferred:
        present = np.unique(data.y_train)
        if present.size < 2:
            raise ValueError(f"y_train holds only label {int(present[0])}; a classifier needs "
                             "at least two classes in its training set (give n_classes to "
                             "build such a data set on purpose)")
        missing = sorted(set(range(n_classes)) - set(np.unique(data.y_train).tolist())
                         - set(np.unique(data.y_test).tolist()))
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            raise ValueError(f"labels must be 0..K-1 with every class present; the labels "
                             f"go up to {n_classes - 1} but {len(missing)} of those classes "
                             f"never occur ({shown}); renumber them")
    return data


def load_mnist1d():
    """MNIST-1D: 4000 train / 1000 test samples, 40 standardised features, 10 classes, generated
    offline by the ``mnist1d`` package (`ctfa_brian.generated_datasets.mnist1d_arrays`)."""
    from ctfa_brian.generated_datasets import mnist1d_arrays

    return Dataset("mnist1d", n_classes=10, **mnist1d_arrays())


def load_yinyang(n_train=5000, n_test=1000, train_seed=42, test_seed=40):
    """Yin-Yang: the published 5000 training (seed 42) / 1000 test (seed 40) samples, 4
    features in [0, 1], 3 classes (`ctfa_brian.generated_datasets.yinyang_arrays`)."""
    from ctfa_brian.generated_datasets import yinyang_arrays

    return Dataset("yinyang", n_classes=3, **yinyang_arrays(n_train, n_test, train_seed,
                                                           test_seed))


_LOADERS = {"circles": load_circles, "digits": load_digits, "mnist7": load_mnist7,
            "mnist1d": load_mnist1d, "yinyang": load_yinyang}


def load_dataset(name, **kwargs):
    """Load the dataset called ``name`` (one of :data:`DATASETS`), passing ``kwargs`` on.

    ``load_dataset("mnist7")`` loads the 7x7 MNIST shipped with the package;
    ``load_dataset("mnist7", path=DIR)`` pools the MNIST IDX files in ``DIR``.
    """
    if not isinstance(name, str) or name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: "
                         f"{', '.join(sorted(_LOADERS))}")
    return _LOADERS[name](**kwargs)
