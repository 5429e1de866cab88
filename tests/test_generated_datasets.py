"""MNIST-1D and Yin-Yang, generated offline: the published definitions, reproduced."""

import random

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from ctfa_brian.datasets import DATASETS, load_dataset
from ctfa_brian.generated_datasets import (
    MNIST1D_REFERENCE,
    YINYANG_REFERENCE,
    yinyang_arrays,
    yinyang_class,
    yinyang_samples,
)

pytest.importorskip("mnist1d")


@pytest.fixture(scope="module")
def mnist1d():
    return load_dataset("mnist1d")


@pytest.fixture(scope="module")
def yinyang():
    return load_dataset("yinyang")


def test_both_are_listed():
    assert {"mnist1d", "yinyang"} <= set(DATASETS)


def test_mnist1d_shapes_standardised_balanced(mnist1d):
    assert mnist1d.x_train.shape == (4000, 40) and mnist1d.x_test.shape == (1000, 40)
    assert mnist1d.n_classes == 10
    everything = np.concatenate([mnist1d.x_train, mnist1d.x_test])
    assert abs(everything.mean()) < 1e-9 and abs(everything.std() - 1) < 1e-9
    counts = np.bincount(np.concatenate([mnist1d.y_train, mnist1d.y_test]), minlength=10)
    assert (counts == 500).all()  # 5000 samples, 500 per class


def test_mnist1d_is_reproducible_and_leaves_global_random_states(mnist1d):
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    again = load_dataset("mnist1d")
    assert np.random.rand() == expected_np and random.random() == expected_py
    np.testing.assert_array_equal(again.x_train, mnist1d.x_train)
    np.testing.assert_array_equal(again.y_test, mnist1d.y_test)


def test_mnist1d_linear_accuracy_matches_the_published_one(mnist1d):
    # the package's README: logistic regression 32 % on the default data set
    clf = LogisticRegression(max_iter=2000).fit(mnist1d.x_train, mnist1d.y_train)
    accuracy = clf.score(mnist1d.x_test, mnist1d.y_test)
    assert abs(accuracy - MNIST1D_REFERENCE["logistic regression"]) < 0.03, accuracy


def test_yinyang_shapes_mirror_inputs_and_balance(yinyang):
    assert yinyang.x_train.shape == (5000, 4) and yinyang.x_test.shape == (1000, 4)
    assert yinyang.n_classes == 3
    x = yinyang.x_train
    np.testing.assert_allclose(x[:, 2], 1 - x[:, 0])
    np.testing.assert_allclose(x[:, 3], 1 - x[:, 1])
    assert (np.hypot(x[:, 0] - 0.5, x[:, 1] - 0.5) <= 0.5).all()
    counts = np.bincount(yinyang.y_train, minlength=3)
    assert counts.min() > 1550 and counts.max() < 1800  # goal class drawn uniformly


def test_yinyang_labels_follow_the_geometry(yinyang):
    labels = [yinyang_class(px, py) for px, py in yinyang.x_train[:, :2]]
    np.testing.assert_array_equal(labels, yinyang.y_train)
    assert yinyang_class(0.75, 0.5) == 2 and yinyang_class(0.25, 0.5) == 2  # the two dots
    assert yinyang_class(0.5, 0.95) == 1 - yinyang_class(0.5, 0.05)  # top and bottom differ
    # the dot of one class sits inside the body of the other
    assert yinyang_class(0.75, 0.62) != yinyang_class(0.25, 0.62)


def test_yinyang_seeds_are_the_published_ones(yinyang):
    x, y = yinyang_samples(5000, 42)
    np.testing.assert_array_equal(x, yinyang.x_train)
    x40, _ = yinyang_samples(1000, 40)
    np.testing.assert_array_equal(x40, yinyang.x_test)
    assert not np.isin(yinyang.x_test[:, 0], yinyang.x_train[:, 0]).any()


def test_yinyang_linear_accuracy_matches_the_published_one(yinyang):
    # the data set's README: shallow network 64.3 ± 0.2 %
    clf = LogisticRegression(max_iter=2000).fit(yinyang.x_train, yinyang.y_train)
    accuracy = clf.score(yinyang.x_test, yinyang.y_test)
    assert abs(accuracy - YINYANG_REFERENCE["shallow 4-3"][0]) < 0.02, accuracy


@pytest.mark.parametrize("kwargs, pattern", [
    ({"n_train": 0}, r"n_train=0 is not allowed"),
    ({"n_test": 2.5}, r"n_test=2\.5 is not allowed"),
    ({"train_seed": 40}, r"train_seed=40 equals test_seed=40"),
])
def test_yinyang_bad_arguments(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        yinyang_arrays(**kwargs)
