"""Numbers from saved results: alignment angles between feedback, forward weights and gradients.

These functions take weight matrices (as in `TrainingResult.weights`) and data arrays; they
import neither the network nor a Brian2 device.

Conventions: ``W{l}`` has shape (d_{l-1}, d_l) and a_l = W_l^T z_{l-1} + b_l; ``V{l}`` has shape
(d_l, d_src) and carries error from layer l+1 (layerwise) or from the output (direct) to
layer l. Backprop corresponds to V_l = W_{l+1}.
"""

import numpy as np

from ctfa_brian.activations import ACTIVATIONS

__all__ = ["angle", "backprop_deltas", "feedback_angles", "forward_pass", "update_angles"]

def angle(a, b):
    """Angle in degrees between two arrays taken as flat vectors (90° if either is zero)."""
    a, b = np.ravel(a), np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 90.0
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def _n_layers(weights):
    return sum(1 for k in weights if k.startswith("W"))


def feedback_angles(weights):
    """Angle between each layerwise V_l and the forward weights W_{l+1} it stands in for.

    Returns ``{"V1": degrees, ...}``; 0° means exact weight transport (sgd).
    """
    out = {}
    for key in sorted(k for k in weights if k.startswith("V")):
        l = int(key[1:])
        w_above = weights[f"W{l + 1}"]
        if weights[key].shape == w_above.shape:
            out[key] = angle(weights[key], w_above)
    return out


def forward_pass(weights, x, activation="relu", layer_names=None):
    """Quasi-static rates z_l = σ(W_l^T z_{l-1} + b_l) (linear output) for inputs ``x``.

    Returns ``(pre_activations, rates)`` as lists over layers 1..L; ``rates[-1]`` is the output.
    """
    sig = ACTIVATIONS[activation][0]
    n = _n_layers(weights)
    names = layer_names or [f"layer{l}" for l in range(1, n)] + ["output"]
    z, pre, rates = np.atleast_2d(x), [], []
    for l in range(1, n + 1):
        a = z @ weights[f"W{l}"] + weights.get(f"b_{names[l - 1]}", 0.0)
        z = a if l == n else sig(a)
        pre.append(a)
        rates.append(z)
    return pre, rates


def _output_error(z_out, y_onehot, loss):
    if loss == "cross_entropy":
        e = np.exp(z_out - z_out.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True) - y_onehot
    return z_out - y_onehot


def backprop_deltas(weights, x, y_onehot, activation="relu", loss="cross_entropy",
                    feedback=None, routing="layerwise"):
    """Error of every layer (δ_l, rows = samples) for the true gradient or a feedback rule.

    With ``feedback=None`` δ_l = σ'(a_l) ⊙ (W_{l+1} δ_{l+1}) (backprop). With ``feedback`` a dict
    of V matrices, δ_l = σ'(a_l) ⊙ (V_l δ_{l+1}) (layerwise) or σ'(a_l) ⊙ (V_l δ_L) (direct).
    """
    dsig = ACTIVATIONS[activation][1]
    pre, rates = forward_pass(weights, x, activation)
    n = len(pre)
    deltas = [None] * n
    deltas[-1] = _output_error(rates[-1], y_onehot, loss)
    for l in range(n - 1, 0, -1):  # layer index l (1-based) = list index l-1
        if feedback is None:
            back = deltas[l] @ weights[f"W{l + 1}"].T
        elif routing == "direct":
            back = deltas[-1] @ feedback[f"V{l}"].T
        else:
            back = deltas[l] @ feedback[f"V{l}"].T
        deltas[l - 1] = dsig(pre[l - 1]) * back
    return deltas


def update_angles(weights, x, y_onehot, activation="relu", loss="cross_entropy",
                  routing="layerwise", tied=False):
    """Angle between the update a rule applies to each hidden W_l and the true gradient.

    Both updates are summed over the samples ``x`` (the expected update over a window).
    Returns ``{"W1": degrees, ...}`` for the hidden layers (the output layer is exact).
    """
    true = backprop_deltas(weights, x, y_onehot, activation, loss)
    feedback = None if tied else {k: v for k, v in weights.items() if k.startswith("V")}
    rule = true if tied else backprop_deltas(weights, x, y_onehot, activation, loss, feedback,
                                             routing)
    _, rates = forward_pass(weights, x, activation)
    inputs = [np.atleast_2d(x)] + rates[:-1]
    out = {}
    for l in range(1, len(true)):
        g_true = inputs[l - 1].T @ true[l - 1]
        g_rule = inputs[l - 1].T @ rule[l - 1]
        out[f"W{l}"] = angle(g_rule, g_true)
    return out
