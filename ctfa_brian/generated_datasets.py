"""The arrays of the data sets generated offline from their published definitions: MNIST-1D
and Yin-Yang.

Neither needs a download: both are drawn on this machine, reproducibly, by the code that
defines them, so a package installed anywhere can train on them.

``mnist1d``
    MNIST-1D (Greydanus & Kobak, ICML 2024; https://github.com/greydanus/mnist1d): ten 1-D
    digit templates padded, sheared, translated, noised and resampled to 40 points. Made by
    the ``mnist1d`` package's ``make_dataset`` with its default arguments (5000 samples, seed
    42, 4000 train / 1000 test: the data set of the paper's tables), never by its
    ``get_dataset``, which downloads. The values are the package's, standardised to mean 0
    and standard deviation 1 (about -4 to 4): mapped to [0, 1] instead, a 100-unit network
    learnt far less (test 0.26–0.34 against 0.53–0.59 standardised, 20 epochs, kp).
``yinyang``
    Yin-Yang (Kriener, Göltz & Petrovici, NICE 2022, arXiv 2102.08211;
    https://github.com/lkriener/yin_yang_data_set): points in the unit disc of radius
    ``r_big`` = 0.5 labelled yin, yang or dot (3 classes), four inputs ``(x, y, 1 - x, 1 - y)``.
    The sampler follows the published one step by step (a target class drawn first, then
    rejection sampling from ``numpy.random.RandomState(seed)``), so the published seeds give
    the published sets: 5000 training samples from seed 42 and 1000 test samples from seed
    40 (the reference's validation set, seed 41, is not used).
"""

import random

import numpy as np

__all__ = ["MNIST1D_REFERENCE", "YINYANG_REFERENCE", "mnist1d_arrays", "yinyang_arrays",
           "yinyang_class", "yinyang_samples"]

#: Published test accuracies of MNIST-1D (the ``mnist1d`` README, default data set).
MNIST1D_REFERENCE = {"logistic regression": 0.32, "MLP": 0.68, "CNN": 0.94, "GRU": 0.91,
                     "human expert": 0.96}
#: Published test accuracies of Yin-Yang (mean ± s.d. of 20 runs; the data set's README:
#: ANN 4-120-3 and a shallow 4-3 network, Adam, batch 20, 300 epochs).
YINYANG_REFERENCE = {"ANN 4-120-3": (0.987, 0.003), "shallow 4-3": (0.643, 0.002)}


def mnist1d_arrays():
    """MNIST-1D's arrays (``x_train``, ``y_train``, ``x_test``, ``y_test``): 4000 train /
    1000 test samples, 40 standardised features, 10
    classes, generated offline by the ``mnist1d`` package (its default arguments, seed 42).

    NumPy's and Python's global random states are restored afterwards (``make_dataset``
    seeds them both).

    Raises
    ------
    ImportError
        The ``mnist1d`` package is not installed (it is a dependency of ctfa_brian).
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as err:
        raise ImportError("dataset 'mnist1d' needs the mnist1d package: pip install "
                          "mnist1d (a dependency of ctfa_brian; reinstall it)") from err
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x_train": np.asarray(data["x"], np.float64),
            "y_train": np.asarray(data["y"], np.int64),
            "x_test": np.asarray(data["x_test"], np.float64),
            "y_test": np.asarray(data["y_test"], np.int64)}


def yinyang_class(x, y, r_small=0.1, r_big=0.5):
    """The Yin-Yang class of the point ``(x, y)``: 0 yin, 1 yang, 2 dot (the published
    ``which_class``; the point is assumed inside the disc)."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    is_yin = (d_right <= r_small or r_small < d_left <= 0.5 * r_big
              or (y > r_big and d_right > 0.5 * r_big))
    return int(is_yin)


def yinyang_samples(size, seed, r_small=0.1, r_big=0.5):
    """``size`` Yin-Yang samples drawn as the published sampler draws them.

    Returns
    -------
    x : ndarray, shape (size, 4)
        ``(x, y, 1 - x, 1 - y)`` per sample, in [0, 1].
    y : ndarray, shape (size,)
        Classes 0 (yin), 1 (yang), 2 (dot).
    """
    rng = np.random.RandomState(seed)
    values, classes = [], []
    for _ in range(int(size)):
        goal = rng.randint(3)
        while True:
            px, py = rng.rand(2) * 2.0 * r_big
            if np.hypot(px - r_big, py - r_big) > r_big:
                continue
            c = yinyang_class(px, py, r_small, r_big)
            if c == goal:
                break
        values.append((px, py, 1.0 - px, 1.0 - py))
        classes.append(c)
    return np.array(values, dtype=np.float64), np.array(classes, dtype=np.int64)


def yinyang_arrays(n_train=5000, n_test=1000, train_seed=42, test_seed=40):
    """Yin-Yang's arrays (``x_train``, ``y_train``, ``x_test``, ``y_test``): by default the
    published 5000 training samples (seed 42) and
    1000 test samples (seed 40), 4 features in [0, 1], 3 classes.

    The two sets must come from different seeds: with equal seeds the test set would repeat
    the first training samples, so that is refused.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r} is not allowed; give a whole number ≥ 1")
    if train_seed == test_seed:
        raise ValueError(f"train_seed={train_seed!r} equals test_seed={test_seed!r}; the "
                         "sampler would draw the same points for both sets, so give two "
                         "different seeds (published: 42 and 40)")
    x_train, y_train = yinyang_samples(n_train, train_seed)
    x_test, y_test = yinyang_samples(n_test, test_seed)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
