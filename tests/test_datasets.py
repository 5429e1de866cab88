"""Tests for ctfa_brian.datasets."""

import gzip

import numpy as np
import pytest

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
    with pytest.raises(ValueError, match="path is required"):
        load_dataset("mnist7")


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
    zeros = from_arrays(np.zeros((2, 1)), [0, 0], np.zeros((1, 1)), [0], name="z")
    assert zeros.n_classes == 2 and zeros.name == "z"
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
    assert DATASETS == ("circles", "digits", "mnist7")
    data = load_dataset("circles", n_outer=60, n_inner=20, seed=1)
    assert data.name == "circles" and len(data.y_train) + len(data.y_test) == 80
    assert load_dataset("digits").n_features == 64
    with pytest.raises(ValueError) as info:
        load_dataset("nope")
    assert str(info.value) == "unknown dataset 'nope'; choose one of: circles, digits, mnist7"
