"""Tests for ctfa_brian.datasets."""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from ctfa_brian import datasets
from ctfa_brian.datasets import (
    DATASETS,
    Dataset,
    from_arrays,
    load_circles,
    load_dataset,
    load_digits,
    load_mnist7,
    read_idx,
    validate_arrays,
)

MNIST_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def _idx_bytes(array, magic):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def _write_mnist(directory, gz=False, n_train=5, n_test=3):
    """Synthetic MNIST: image k has a 255-block at pooled cell (k, k) and label k."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for k in range(n):
            images[k, 4 * k:4 * k + 4, 4 * k:4 * k + 4] = 255
            images[k, 0, 24] = 51  # one pixel of 16 in pooled cell (0, 6) -> 51/16/255 = 0.0125
        arrays[f"x_{split}"] = images
        arrays[f"y_{split}"] = np.arange(n, dtype=np.uint8)
    for key, stem in MNIST_NAMES.items():
        magic = 0x803 if key.startswith("x") else 0x801
        data = _idx_bytes(arrays[key], magic)
        if gz:
            (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)
    return arrays


def _good():
    rng = np.random.default_rng(0)
    return {"x_train": rng.random((6, 3)), "y_train": np.array([0, 1, 2, 0, 1, 2]),
            "x_test": rng.random((4, 3)), "y_test": np.array([2, 1, 0, 1]), "n_classes": 3}


# --- circles ---------------------------------------------------------------------------------


def test_circles_default_shapes_and_imbalance():
    data = load_circles()
    assert data.name == "circles" and data.n_classes == 2 and data.n_features == 2
    assert data.x_train.shape == (750, 2) and data.x_test.shape == (250, 2)
    assert data.x_train.dtype == np.float64 and data.y_train.dtype == np.int64
    for y in (data.y_train, data.y_test):
        assert np.mean(y == 0) == pytest.approx(0.75, abs=0.01)
    assert np.sum(data.y_train == 0) + np.sum(data.y_test == 0) == 750
    assert np.abs(data.x_train).max() < 1.6


def test_circles_outer_ring_is_label_zero():
    data = load_circles(noise=0.0)
    radius = np.hypot(*data.x_train.T)
    assert np.allclose(radius[data.y_train == 0], 1.0)
    assert np.allclose(radius[data.y_train == 1], 0.5)


def test_circles_reproducible_with_seed_and_varies_across_seeds():
    a, b, c = load_circles(seed=3), load_circles(seed=3), load_circles(seed=4)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_circles_custom_sizes_and_bad_test_fraction():
    data = load_circles(n_outer=300, n_inner=100, test_fraction=0.5)
    assert len(data.y_train) == 200 and len(data.y_test) == 200
    with pytest.raises(ValueError, match=r"test_fraction=1\.5"):
        load_circles(test_fraction=1.5)


# --- digits ----------------------------------------------------------------------------------


def test_digits_shapes_and_range():
    data = load_digits()
    assert data.n_features == 64 and data.n_classes == 10
    assert len(data.y_train) + len(data.y_test) == 1797
    assert len(data.y_test) == 450
    for x in (data.x_train, data.x_test):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert data.x_train.max() == 1.0
    assert set(np.unique(data.y_train)) == set(range(10))
    np.testing.assert_array_equal(load_digits(seed=1).x_train, load_digits(seed=1).x_train)


# --- mnist7 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_mnist7_pooling_and_labels(tmp_path, gz):
    _write_mnist(tmp_path, gz=gz)
    data = load_mnist7(tmp_path)
    assert data.name == "mnist7" and data.n_classes == 10
    assert data.x_train.shape == (5, 49) and data.x_test.shape == (3, 49)
    np.testing.assert_array_equal(data.y_train, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(data.y_test, [0, 1, 2])
    for x in (data.x_train, data.x_test):
        for k, row in enumerate(x):
            pooled = row.reshape(7, 7)
            expected = np.zeros((7, 7))
            expected[k, k] = 1.0
            expected[0, 6] = 51 / 16 / 255
            np.testing.assert_allclose(pooled, expected, rtol=0, atol=1e-15)


def test_mnist7_first_n(tmp_path):
    _write_mnist(tmp_path)
    data = load_mnist7(tmp_path, n_train=2, n_test=1)
    np.testing.assert_array_equal(data.y_train, [0, 1])
    np.testing.assert_array_equal(data.y_test, [0])
    with pytest.raises(ValueError, match="n_train=9"):
        load_mnist7(tmp_path, n_train=9)


def test_mnist7_via_load_dataset(tmp_path):
    _write_mnist(tmp_path, gz=True)
    assert load_dataset("mnist7", path=tmp_path, n_test=2).x_test.shape == (2, 49)


def test_mnist7_missing_directory_and_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist7(tmp_path / "nowhere")
    _write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist7(tmp_path)


def test_mnist7_bad_magic_names_file(tmp_path):
    _write_mnist(tmp_path)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(_idx_bytes(np.arange(5), 0x803))  # image magic on a label file
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.*0x00000803.*0x00000801"):
        load_mnist7(tmp_path)


def test_read_idx_roundtrip_and_errors(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    good = tmp_path / "good"
    good.write_bytes(_idx_bytes(array, 0x803))
    np.testing.assert_array_equal(read_idx(good), array)
    np.testing.assert_array_equal(read_idx(good, magic=0x803), array)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(_idx_bytes(array, 0x803)[:-1])
    with pytest.raises(ValueError, match=r"truncated.*23 data bytes"):
        read_idx(truncated)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x12\x34")
    with pytest.raises(ValueError, match=r"garbage.*magic"):
        read_idx(garbage)


# --- mnist7 shipped with the package ----------------------------------------------------------

BUILD_SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_mnist7.py"
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
#: content_sha256 of the shipped arrays (ctfa_brian/data/MNIST7.md).
MNIST7_CONTENT_SHA256 = "781d571921000ba4b5fa529df87cbf1b1dbcc3b39ca1128296a19d8136511945"


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location("build_mnist7", BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped():
    return load_mnist7()


def test_shipped_mnist7_shapes_range_and_class_counts(shipped, build_script):
    data = shipped
    assert data.name == "mnist7" and data.n_classes == 10 and data.n_features == 49
    assert data.x_train.shape == (60000, 49) and data.x_test.shape == (10000, 49)
    assert data.x_train.dtype == np.float64 and data.y_train.dtype == np.int64
    for x in (data.x_train, data.x_test):
        assert x.min() == 0.0 and x.max() == 1.0
        np.testing.assert_array_equal(x * 255, np.round(x * 255))  # uint8 / 255
    np.testing.assert_array_equal(np.bincount(data.y_train, minlength=10), MNIST_TRAIN_COUNTS)
    np.testing.assert_array_equal(np.bincount(data.y_test, minlength=10), MNIST_TEST_COUNTS)
    np.testing.assert_array_equal(data.y_train[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(data.y_test[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9])
    assert tuple(MNIST_TRAIN_COUNTS) == build_script.MNIST_TRAIN_COUNTS
    assert tuple(MNIST_TEST_COUNTS) == build_script.MNIST_TEST_COUNTS
    uint8 = {key: np.round(getattr(data, key) * 255).astype(np.uint8)
             if key.startswith("x") else getattr(data, key).astype(np.uint8)
             for key in ("x_train", "y_train", "x_test", "y_test")}
    assert build_script.content_sha256(uint8) == MNIST7_CONTENT_SHA256


def test_load_dataset_mnist7_without_path(shipped):
    data = load_dataset("mnist7", n_train=100, n_test=20)
    assert data.name == "mnist7"
    assert data.x_train.shape == (100, 49) and data.x_test.shape == (20, 49)
    np.testing.assert_array_equal(data.x_train, shipped.x_train[:100])
    np.testing.assert_array_equal(data.y_test, shipped.y_test[:20])
    assert load_dataset("mnist7", path=None).x_train.shape == (60000, 49)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_path_agrees_with_shipped_pooling(tmp_path, build_script, gz):
    """load_mnist7(path) is the exact 4x4 mean; the build script's uint8 is within 1/510."""
    rng = np.random.default_rng(7)
    arrays = {}
    for split, n in (("train", 6), ("test", 3)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[0] = 0
        images[0, 0, 0] = 8  # block sum 8: mean 0.5, stored as 1 (half up): the 1/510 bound
        images[0, 0, 4] = 24  # block sum 24: mean 1.5 -> 2
        images[0, 4:8, 4:8] = 255  # a full block -> exactly 1
        arrays[f"x_{split}"] = images
        arrays[f"y_{split}"] = rng.integers(0, 10, size=n, dtype=np.uint8)
    for key, stem in MNIST_NAMES.items():
        raw = _idx_bytes(arrays[key], 0x803 if key.startswith("x") else 0x801)
        if gz:
            (tmp_path / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (tmp_path / stem).write_bytes(raw)
    data = load_mnist7(tmp_path)
    for split in ("train", "test"):
        stored = build_script.pool_7x7(arrays[f"x_{split}"])
        assert stored.dtype == np.uint8 and stored.shape == (len(stored), 49)
        exact = arrays[f"x_{split}"].reshape(-1, 7, 4, 7, 4).mean(axis=(2, 4)).reshape(-1, 49)
        np.testing.assert_allclose(getattr(data, f"x_{split}"), exact / 255, rtol=0,
                                   atol=1e-15)
        diff = stored / 255.0 - getattr(data, f"x_{split}")
        assert np.abs(diff).max() <= 1 / 510 + 1e-15
        assert diff[0, 0] == pytest.approx(1 / 510) and stored[0, 0] == 1
        assert stored[0, 1] == 2 and stored[0, 8] == 255 and diff[0, 8] == 0
        np.testing.assert_array_equal(getattr(data, f"y_{split}"), arrays[f"y_{split}"])


def test_shipped_mnist7_linear_softmax_accuracy(shipped):
    """Multinomial logistic regression on the first 10 000 training images (paper: > 89 %)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        clf = LogisticRegression(solver="lbfgs", C=10.0, max_iter=300)
        clf.fit(shipped.x_train[:10000], shipped.y_train[:10000])
    assert clf.score(shipped.x_test, shipped.y_test) >= 0.88


def test_shipped_mnist7_missing_or_corrupt_file(tmp_path, monkeypatch):
    missing = tmp_path / "mnist7.npz"
    monkeypatch.setattr(datasets, "_MNIST7_FILE", missing)
    with pytest.raises(FileNotFoundError, match=r"mnist7\.npz.*missing.*build_mnist7\.py"):
        load_mnist7()
    with pytest.raises(FileNotFoundError, match=r"mnist7\.npz.*missing"):
        load_dataset("mnist7")
    real = datasets.importlib.resources.files("ctfa_brian") / "data" / "mnist7.npz"
    for content in (b"not a zip file at all", real.read_bytes()[:100_000]):  # garbage, cut
        missing.write_bytes(content)
        with pytest.raises(ValueError, match=r"mnist7\.npz.*corrupt"):
            load_mnist7()
    np.savez_compressed(missing, x_train=np.zeros((3, 49), dtype=np.uint8))
    with pytest.raises(ValueError, match=r"mnist7\.npz.*corrupt.*holds \['x_train'\]"):
        load_mnist7()
    np.savez_compressed(missing, x_train=np.zeros((60000, 49)), y_train=np.zeros(60000),
                        x_test=np.zeros((10000, 49)), y_test=np.zeros(10000))
    with pytest.raises(ValueError, match=r"corrupt.*x_train is float64 \(60000, 49\)"):
        load_mnist7()
    np.savez_compressed(missing, x_train=np.array([{}], dtype=object),  # pickled: refused
                        y_train=np.zeros(60000, dtype=np.uint8),
                        x_test=np.zeros((10000, 49), dtype=np.uint8),
                        y_test=np.zeros(10000, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"mnist7\.npz.*corrupt.*allow_pickle=False"):
        load_mnist7()


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"x_train": np.zeros(6)}, r"x_train has shape \(6,\).*2-D"),
        ({"x_test": np.zeros((4, 3, 1))}, r"x_test has shape \(4, 3, 1\).*2-D"),
        ({"y_train": np.zeros((6, 1), dtype=int)}, r"y_train has shape \(6, 1\).*1-D"),
        ({"y_test": np.array([0, 1, 2])},
         r"x_test has shape \(4, 3\) but y_test has shape \(3,\)"),
        ({"x_test": np.zeros((4, 2))},
         r"x_test has shape \(4, 2\) but x_train has 3 features; both splits need the same"),
        ({"x_train": np.zeros((0, 3)), "y_train": np.zeros(0, dtype=int)},
         r"x_train has shape \(0, 3\).*at least one sample"),
        ({"x_test": np.array([[0, 0, 0], [0, np.nan, 0], [np.inf, 0, 0], [0, 0, 0]])},
         r"x_test has 2 non-finite values.*first at index \(1, 1\)"),
        ({"y_train": np.array([0, 1, 2, 0, 1, 1.5])}, r"y_train has non-integer labels.*1.5"),
        ({"y_test": np.array(["a", "b", "c", "d"])}, r"y_test has dtype.*integers"),
        ({"y_train": np.array([0, 1, 2, 0, 1, 3])},
         r"y_train has labels from 0 to 3.*n_classes=3"),
        ({"y_test": np.array([-1, 1, 0, 1])}, r"y_test has labels from -1 to 1.*\[0, 3\)"),
        ({"n_classes": 1}, r"n_classes=1.*>= 2"),
        ({"n_classes": 2.5}, r"n_classes=2.5.*integer"),
    ],
)
def test_validation_errors_name_parameter(change, pattern):
    kwargs = {**_good(), **change}
    with pytest.raises(ValueError, match=pattern):
        validate_arrays(**kwargs)
    with pytest.raises(ValueError, match=pattern):
        Dataset("bad", **kwargs)


def test_example_message_from_spec():
    kwargs = {**_good(), "x_train": np.zeros((6, 64)), "x_test": np.zeros((4, 63))}
    with pytest.raises(ValueError) as info:
        validate_arrays(**kwargs)
    assert str(info.value) == ("x_test has shape (4, 63) but x_train has 64 features; "
                               "both splits need the same number of features")


def test_float_whole_number_labels_are_converted():
    kwargs = {**_good(), "y_train": np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])}
    x_tr, y_tr, _, _ = validate_arrays(**kwargs)
    assert y_tr.dtype == np.int64 and x_tr.dtype == np.float64
    np.testing.assert_array_equal(y_tr, [0, 1, 2, 0, 1, 2])
    data = Dataset("ok", **kwargs)
    assert data.y_train.dtype == np.int64


# --- Dataset, from_arrays, load_dataset ------------------------------------------------------


def test_from_arrays_infers_n_classes():
    good = _good()
    del good["n_classes"]
    data = from_arrays(**good)
    assert data.n_classes == 3 and data.name == "user" and data.n_features == 3
    with pytest.raises(ValueError, match="y_train holds only label 0"):  # one class
        from_arrays(np.zeros((2, 1)), [0, 0], np.zeros((1, 1)), [0], name="z")
    with pytest.raises(ValueError, match="1000001 output units"):
        from_arrays(np.zeros((2, 1)), [0, 10**6], np.zeros((1, 1)), [0])
    with pytest.raises(ValueError, match="2 of those classes never occur"):
        from_arrays(np.zeros((3, 1)), [0, 1, 4], np.zeros((1, 1)), [0])
    assert from_arrays(**good, n_classes=5).n_classes == 5
    with pytest.raises(ValueError, match="y_train has non-integer labels"):
        from_arrays(**{**good, "y_train": [0, 1, 2, 0, 1, np.nan]})


def test_one_hot():
    data = Dataset("d", **_good())
    np.testing.assert_array_equal(data.one_hot([2, 0]), [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert data.one_hot(data.y_train).shape == (6, 3)
    with pytest.raises(ValueError, match=r"y has labels from 0 to 3"):
        data.one_hot([0, 3])


def test_subset():
    data = Dataset("d", **_good())
    small = data.subset(n_train=2)
    np.testing.assert_array_equal(small.x_train, data.x_train[:2])
    np.testing.assert_array_equal(small.y_train, [0, 1])
    assert len(small.y_test) == 4 and small.name == "d" and small.n_classes == 3
    assert len(data.subset(n_test=1).y_test) == 1 and len(data.y_train) == 6
    with pytest.raises(ValueError, match=r"n_train=7.*\[1, 6\]"):
        data.subset(n_train=7)
    with pytest.raises(ValueError, match=r"n_test=0"):
        data.subset(n_test=0)


def test_dataset_is_frozen():
    data = Dataset("d", **_good())
    with pytest.raises(AttributeError):
        data.n_classes = 4


def test_load_dataset_dispatch_and_unknown():
    assert DATASETS == ("circles", "digits", "mnist7", "mnist1d", "yinyang")
    data = load_dataset("circles", n_outer=60, n_inner=20, seed=1)
    assert data.name == "circles" and len(data.y_train) + len(data.y_test) == 80
    assert load_dataset("digits").n_features == 64
    with pytest.raises(ValueError) as info:
        load_dataset("nope")
    assert str(info.value) == ("unknown dataset 'nope'; choose one of: circles, digits, "
                               "mnist1d, mnist7, yinyang")
