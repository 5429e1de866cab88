"""What a network starts from and what it records: `initial_weights` and `Recording`."""

from dataclasses import dataclass, field

import numpy as np
from brian2 import Quantity, ms

from ctfa_brian.rules import get_rule

__all__ = ["Recording", "initial_weights", "record_indices"]


@dataclass(frozen=True)
class Recording:
    """Which traces to record, as ``{group name: indices}``.

    Neuron groups are ``layer1`` … ``output`` (records ``z`` and ``eps``); synapse groups are
    ``W1`` … (forward, records ``w``) and ``V1`` … (feedback, records ``v``). ``"all"`` records
    every index. `Recording.first` records the first k of every group.

    ``spikes`` (spiking variant only) lists the groups whose spikes are recorded, as
    ``{group name: indices}`` with ``input`` allowed too: the forward ``spike`` events and, for
    layers, the error events ``err_pos`` and ``err_neg`` (and ``neg`` of a signed input).
    ``"count"`` in place of the indices keeps only the number of events of every neuron.
    """

    neurons: dict = field(default_factory=dict)
    synapses: dict = field(default_factory=dict)
    dt: Quantity = field(default_factory=lambda: 1 * ms)
    spikes: dict = field(default_factory=dict)

    @classmethod
    def first(cls, k=3, dt=1 * ms, layers=(), synapses=(), spikes=()):
        return cls({n: list(range(k)) for n in layers}, {s: list(range(k)) for s in synapses},
                   dt, {n: "all" for n in spikes})


def initial_weights(sizes, rule, seed, v_init=None):
    """Xavier-normal W (Glorot & Bengio 2010) and the rule's initial V, from ``seed``.

    Returns ``({"W1": (d0, d1) array, ...}, {"V1": array, ...})``. Layerwise V_l maps the error
    units of layer l+1 to layer l and has shape (d_l, d_{l+1}); direct V_l maps the output
    error to layer l, shape (d_l, d_L). Plastic V start at the constant ``v_init`` (paper:
    0.1); fixed V are drawn like W.
    """
    rule = get_rule(rule)
    rng = np.random.default_rng(seed)
    ws = {}
    for l in range(1, len(sizes)):
        std = np.sqrt(2.0 / (sizes[l - 1] + sizes[l]))
        ws[f"W{l}"] = rng.normal(0.0, std, size=(sizes[l - 1], sizes[l]))
    vs = {}
    if not rule.tied:
        for l in range(1, len(sizes) - 1):
            src = sizes[l + 1] if rule.routing == "layerwise" else sizes[-1]
            shape = (sizes[l], src)
            if rule.random_init:
                vs[f"V{l}"] = rng.normal(0.0, np.sqrt(2.0 / sum(shape)), size=shape)
            else:
                vs[f"V{l}"] = np.full(shape, 0.1 if v_init is None else float(v_init))
    return ws, vs


def record_indices(idx, n):
    """``"all"`` → every index of a group of ``n``; otherwise the given indices, checked."""
    if isinstance(idx, str) and idx == "all":
        return np.arange(n)
    idx = np.atleast_1d(np.asarray(idx, dtype=int))
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"recording indices {idx.tolist()} out of range for a group of {n}")
    return idx
