"""Discrete-time baseline of the paper's Appendix C: an MLP trained by backprop and Adam.

Same layer sizes as the continuous network, ReLU hidden layers, linear output with softmax
cross-entropy (or squared loss), biases, the W of :func:`ctfa_brian.network.initial_weights`,
Adam (lr 1e-3), batch size 1, samples in the order of :func:`ctfa_brian.stimulus.make_presentation`.
*Label dithering* (paper Fig. 8) models an error delay Δ = rT: with r ≈ p/q, p of every q
consecutive training samples learn from the previous sample's label (:func:`dither_mask`).
Pure NumPy.
"""

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from brian2.utils.logger import get_logger

__all__ = ["LOSSES", "Adam", "DiscreteMLP", "DiscreteResult", "dither_mask",
           "presentation_order", "train_discrete"]

logger = get_logger(__name__)

#: Losses of the discrete MLP (the same as `ctfa_brian.parameters.LOSSES`).
LOSSES = ("cross_entropy", "squared")


def _positive(name, value, integer=False):
    """Return ``value`` if it is a positive number (integer if asked) or raise naming ``name``."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 \
            or not np.isfinite(value):
        kind = "an integer >= 1" if integer else "a finite number > 0"
        raise ValueError(f"{name}={value!r}; it must be {kind}")
    return value


class Adam:
    """Adam (Kingma & Ba 2014) on a dict of arrays, updated in place.

    Parameters
    ----------
    params : dict of ndarray
        Updated in place by :meth:`update`.
    lr, beta1, beta2, eps : float
        Step size, moment decay rates, denominator offset.
    """

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = float(_positive("lr", lr))
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name}={beta!r}; it must lie in [0, 1)")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(_positive("eps", eps))
        self.params = params
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def update(self, grads):
        """Apply one bias-corrected Adam step for ``grads`` (same keys as ``params``)."""
        self.t += 1
        c1, c2 = 1 - self.beta1 ** self.t, 1 - self.beta2 ** self.t
        for k, g in grads.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * g
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * g * g
            self.params[k] -= self.lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)


class DiscreteMLP:
    """MLP with ReLU hidden layers and a linear output, trained online by backprop and Adam.

    Parameters
    ----------
    sizes : sequence of int
        ``(d0, *hidden, n_classes)``, as for the continuous network.
    seed : int
        Seeds the Xavier-normal weights: ``W_l`` has shape ``(d_{l-1}, d_l)`` with std
        ``sqrt(2 / (d_{l-1} + d_l))``, drawn in layer order from one
        ``np.random.default_rng(seed)`` (the same W as ``initial_weights``). Biases start at 0.
    lr : float
        Adam learning rate (betas 0.9 / 0.999, eps 1e-8).
    loss : {"cross_entropy", "squared"}
        Softmax cross-entropy, or ``0.5 * ||a - y||^2`` on the linear output ``a``.

    Attributes
    ----------
    params : dict of ndarray
        ``W1``, ``b1``, ... ``WL``, ``bL``; layer l computes ``a = z @ W_l + b_l``.
    """

    def __init__(self, sizes, seed=0, lr=1e-3, loss="cross_entropy"):
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes={sizes!r}; it needs at least an input and an output size")
        for s in sizes:
            _positive("sizes", s, integer=True)
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r}; choose one of: {', '.join(LOSSES)}")
        self.sizes, self.loss_name, self.n_layers = sizes, loss, len(sizes) - 1
        rng = np.random.default_rng(seed)
        self.params = {}
        for l in range(1, len(sizes)):
            std = np.sqrt(2.0 / (sizes[l - 1] + sizes[l]))
            self.params[f"W{l}"] = rng.normal(0.0, std, size=(sizes[l - 1], sizes[l]))
            self.params[f"b{l}"] = np.zeros(sizes[l])
        self.optimizer = Adam(self.params, lr=lr)

    def _forward(self, x):
        """Activations ``[x, z1, ..., z_{L-1}]`` and the linear output ``a_L``."""
        zs = [np.atleast_2d(np.asarray(x, dtype=float))]
        for l in range(1, self.n_layers + 1):
            a = zs[-1] @ self.params[f"W{l}"] + self.params[f"b{l}"]
            if l == self.n_layers:
                return zs, a
            zs.append(np.maximum(a, 0.0))

    def predict(self, x):
        """Predicted class of each row of ``x`` (argmax of the linear output)."""
        return np.argmax(self._forward(x)[1], axis=1)

    def accuracy(self, x, y):
        """Fraction of rows of ``x`` whose predicted class equals ``y``."""
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def loss_and_gradients(self, x, y_onehot):
        """Mean loss over the rows of ``x`` and its exact gradient for every parameter.

        Returns ``(loss, grads)``; ``grads`` has the keys and shapes of :attr:`params`.
        """
        zs, a = self._forward(x)
        y = np.atleast_2d(np.asarray(y_onehot, dtype=float))
        n = len(a)
        if self.loss_name == "cross_entropy":
            shifted = a - a.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -np.sum(y * logp) / n
            delta = (np.exp(logp) - y) / n
        else:
            loss = 0.5 * np.sum((a - y) ** 2) / n
            delta = (a - y) / n
        grads = {}
        for l in range(self.n_layers, 0, -1):
            grads[f"W{l}"] = zs[l - 1].T @ delta
            grads[f"b{l}"] = delta.sum(axis=0)
            if l > 1:
                delta = (delta @ self.params[f"W{l}"].T) * (zs[l - 1] > 0)
        return float(loss), grads

    def step(self, x, y_onehot):
        """One Adam step on sample ``x`` (or the row mean) for ``y_onehot``; returns the loss."""
        loss, grads = self.loss_and_gradients(x, y_onehot)
        self.optimizer.update(grads)
        return loss


@dataclass
class DiscreteResult:
    """What :func:`train_discrete` produced (the fields shared with ``TrainingResult`` first).

    Attributes
    ----------
    test_accuracy, train_accuracy : float
        Accuracy on the test and the training set after the last epoch.
    learning_curve : list of dict
        ``{"epoch": float, "test_accuracy": float}`` before training and after each epoch.
    online_train_accuracy : list of dict
        ``{"epoch": float, "accuracy": float}``: per epoch, the fraction of training samples
        whose true label was predicted just before their own update.
    weights : dict of ndarray
        Final ``W1``, ``b1``, ...
    order, targets : ndarray
        Training-set index of every step (epochs concatenated), and the label it learned from.
    delay : fractions.Fraction
        The p/q used for ``delay_ratio``.
    """

    test_accuracy: float
    train_accuracy: float
    learning_curve: list
    online_train_accuracy: list
    weights: dict
    order: np.ndarray = field(repr=False)
    targets: np.ndarray = field(repr=False)
    delay: Fraction = Fraction(0)

    def summary(self):
        """The scalar results and the curves as plain JSON-able data."""
        return {"test_accuracy": self.test_accuracy, "train_accuracy": self.train_accuracy,
                "learning_curve": self.learning_curve,
                "online_train_accuracy": self.online_train_accuracy,
                "delay_ratio": float(self.delay)}


def presentation_order(n_train, epochs, seed):
    """Training-set indices in the continuous network's order, shape ``(epochs, n_train)``.

    One ``np.random.default_rng(seed)`` and one ``permutation(n_train)`` per epoch, as in
    :func:`ctfa_brian.stimulus.make_presentation` (its train blocks of an epoch concatenated).
    """
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(n_train) for _ in range(epochs)]
    return np.array(orders, dtype=int).reshape(epochs, n_train)


def dither_mask(n_steps, delay_ratio, max_denominator=20):
    """Which training steps learn from the previous sample's label, and the p/q used.

    ``delay_ratio`` r in [0, 1] becomes ``p/q = Fraction(r).limit_denominator(max_denominator)``.
    Step t is dithered when ``floor((t + 1) p / q) > floor(t p / q)``: a pattern of period q
    with exactly p dithered steps in every q consecutive ones, spread evenly, the last step of
    every block of q always among them (r = 1/2: steps 1, 3, 5, ...; r = 1/4: 3, 7, ...). Step
    0, the first of the whole run, has no previous sample and never uses another label (it
    would only be dithered when r = 1). Returns ``(mask, delay)``: bool array of shape
    ``(n_steps,)`` and the :class:`~fractions.Fraction` p/q.
    """
    if isinstance(delay_ratio, bool) or not isinstance(
            delay_ratio, (int, float, np.integer, np.floating)) or not 0 <= delay_ratio <= 1:
        raise ValueError(f"delay_ratio={delay_ratio!r}; it must be a number in [0, 1] "
                         "(delay Δ divided by the sample time T)")
    delay = Fraction(float(delay_ratio)).limit_denominator(max_denominator)
    p, q = delay.numerator, delay.denominator
    t = np.arange(n_steps, dtype=np.int64)
    mask = ((t + 1) * p // q > t * p // q) & (t > 0)
    return mask, delay


def train_discrete(dataset, hidden, epochs, seed=0, lr=1e-3, delay_ratio=0.0,
                   loss="cross_entropy"):
    """Train a :class:`DiscreteMLP` online on ``dataset`` in the continuous network's order.

    Parameters
    ----------
    dataset : ctfa_brian.datasets.Dataset
    hidden : sequence of int
        Hidden layer sizes (may be empty: softmax regression).
    epochs : int
        Passes through the training set (one Adam step per sample).
    seed : int
        Seeds the initial weights and the sample order, as for the continuous network.
    lr : float
        Adam learning rate.
    delay_ratio : float
        r = Δ/T in [0, 1] for label dithering (see :func:`dither_mask`); the previous label is
        that of the previous training step, across epoch boundaries.
    loss : {"cross_entropy", "squared"}

    Returns
    -------
    DiscreteResult
    """
    _positive("epochs", epochs, integer=True)
    _positive("lr", lr)
    hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
    model = DiscreteMLP((dataset.n_features, *hidden, dataset.n_classes), seed, lr, loss)
    order = presentation_order(len(dataset.y_train), epochs, seed).ravel()
    labels = dataset.y_train[order]
    mask, delay = dither_mask(len(order), delay_ratio)
    targets, dithered = labels.copy(), np.flatnonzero(mask)
    targets[dithered] = labels[dithered - 1]
    onehot = dataset.one_hot(targets)
    x_train = dataset.x_train
    curve = [{"epoch": 0.0, "test_accuracy": model.accuracy(dataset.x_test, dataset.y_test)}]
    online = []
    n = len(dataset.y_train)
    for epoch in range(epochs):
        correct = 0
        for t in range(epoch * n, (epoch + 1) * n):
            x = x_train[order[t]]
            correct += int(model.predict(x)[0] == labels[t])
            model.step(x, onehot[t])
        online.append({"epoch": float(epoch), "accuracy": correct / n})
        acc = model.accuracy(dataset.x_test, dataset.y_test)
        curve.append({"epoch": float(epoch + 1), "test_accuracy": acc})
        logger.debug(f"discrete {model.sizes} epoch {epoch + 1}/{epochs}: test accuracy {acc:.4f}")
    return DiscreteResult(
        test_accuracy=curve[-1]["test_accuracy"],
        train_accuracy=model.accuracy(dataset.x_train, dataset.y_train),
        learning_curve=curve, online_train_accuracy=online,
        weights={k: v.copy() for k, v in model.params.items()},
        order=order, targets=targets, delay=delay)
