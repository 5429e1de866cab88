"""Sample presentation: the order of samples and the arrays behind the stimulus TimedArrays.

A run is a sequence of *periods* of equal length (the sample time, buffer included). Training
periods present a training sample with plasticity on; evaluation periods present a sample with the
plasticity gate at 0 (error clamped to zero, W and V frozen). The learning curve comes from
evaluation blocks on the test set: one before training and ``evals_per_epoch`` per epoch; after
the last epoch the whole training set is evaluated too.

The arrays have one row per period plus one trailing blank period, so that the output at the end
of the last real period is read (monitors record the state at the start of a period, which is
the end of the previous one).
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["Block", "Presentation", "make_presentation"]


@dataclass(frozen=True)
class Block:
    """A contiguous run of periods: ``kind`` is ``train`` or ``eval``; ``split`` the data split."""

    kind: str
    split: str
    start: int
    indices: np.ndarray
    epoch: float

    @property
    def stop(self):
        return self.start + len(self.indices)


@dataclass(frozen=True)
class Presentation:
    """Everything the network needs to present a dataset, and how to read the result back.

    Attributes
    ----------
    x : ndarray, shape (n_periods + 1, n_features)
        Input rate of each period.
    y : ndarray, shape (n_periods + 1, n_classes)
        One-hot target of each period (the network delays it by Δ).
    learn : ndarray, shape (n_periods + 1,)
        Plasticity gate: 1 for training periods, 0 for evaluation.
    blocks : list of Block
        The periods grouped into training and evaluation blocks, in order.
    labels : ndarray, shape (n_periods,)
        True label of each period (for accuracies).
    """

    x: np.ndarray
    y: np.ndarray
    learn: np.ndarray
    labels: np.ndarray
    blocks: tuple

    @property
    def n_periods(self):
        return len(self.labels)


def make_presentation(dataset, epochs, evals_per_epoch, seed, final_train_eval=True,
                      curve=True, anneal_to=1.0):
    """Lay out training and evaluation periods for ``dataset``.

    Parameters
    ----------
    dataset : ctfa_brian.datasets.Dataset
        The data; inputs are used as rates as they are.
    epochs, evals_per_epoch : int
        Training passes, and test evaluations per pass.
    seed : int
        Seeds the sample order (reshuffled every epoch).
    final_train_eval : bool
        Evaluate the whole training set (frozen) after the last epoch.
    curve : bool
        Evaluate the test set before training and ``evals_per_epoch`` times per epoch (the
        learning curve); if False, only once, after the last epoch. The training order is the
        same either way.
    anneal_to : float
        The gate of the last epoch's training periods falls linearly from 1 (its first
        sample) to ``anneal_to`` (its last); 1: every training period at 1.

    Returns
    -------
    Presentation
    """
    rng = np.random.default_rng(seed)
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    blocks, start = [], 0

    def add(kind, split, indices, epoch):
        nonlocal start
        blocks.append(Block(kind, split, start, np.asarray(indices, dtype=int), epoch))
        start += len(indices)

    if curve:
        add("eval", "test", np.arange(n_test), 0.0)
    for epoch in range(epochs):
        order = rng.permutation(n_train)
        for k, chunk in enumerate(np.array_split(order, evals_per_epoch)):
            add("train", "train", chunk, epoch + k / evals_per_epoch)
            if curve or (epoch == epochs - 1 and k == evals_per_epoch - 1):
                add("eval", "test", np.arange(n_test), epoch + (k + 1) / evals_per_epoch)
    if final_train_eval:
        add("eval", "train", np.arange(n_train), float(epochs))

    n = start
    x = np.zeros((n + 1, dataset.n_features))
    labels = np.zeros(n, dtype=int)
    learn = np.zeros(n + 1)
    for b in blocks:
        xs = dataset.x_train if b.split == "train" else dataset.x_test
        ys = dataset.y_train if b.split == "train" else dataset.y_test
        x[b.start:b.stop] = xs[b.indices]
        labels[b.start:b.stop] = ys[b.indices]
        learn[b.start:b.stop] = 1.0 if b.kind == "train" else 0.0
    if anneal_to != 1.0:
        last = [b for b in blocks if b.kind == "train" and b.epoch >= epochs - 1]
        periods = np.concatenate([np.arange(b.start, b.stop) for b in last])
        learn[periods] = np.linspace(1.0, anneal_to, len(periods))
    y = np.zeros((n + 1, dataset.n_classes))
    y[np.arange(n), labels] = 1.0
    return Presentation(x=x, y=y, learn=learn, labels=labels, blocks=tuple(blocks))
