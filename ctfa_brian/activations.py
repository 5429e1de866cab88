"""Activation functions σ and their derivatives σ' as NumPy functions.

The Brian2 versions are the expression strings in `ctfa_brian.equations.ACTIVATION_EXPRESSIONS`;
these serve the NumPy reference integrator and the analysis of saved weights.
"""

import numpy as np

__all__ = ["ACTIVATIONS"]


def _relu(x):
    return np.maximum(x, 0.0)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


#: ``{name: (σ, σ')}``
ACTIVATIONS = {
    "relu": (_relu, lambda x: (x > 0).astype(float)),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (_sigmoid, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    "linear": (lambda x: x, np.ones_like),
}
