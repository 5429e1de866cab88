"""K independent copies of one network in one simulation: what changes when ``replicas = K``.

Every group holds K blocks, replica r's neurons at ``r·d … (r+1)·d − 1``; every projection is
block-diagonal (replica r's synapse k of its matrix is synapse ``r·n_pre·n_post + k``); the
stimulus TimedArrays hold the K presentations side by side (columns); the softmax normaliser
has one unit per replica. Nothing connects two replicas, so each one computes what a separate
run computes (to round-off: per-replica constants are no longer loop invariants, so Brian's
code generation factors a few divisions differently) and a NaN in one stays in it.

What a separate run keeps in ``(shared, constant)`` variables — the time constants, Δ, the
noise amplitude — stays shared where every replica has the same value, and becomes a
per-neuron ``(constant)`` that holds each replica's value in its block (`per_replica`,
`blocks`) for the names the network is built with as ``per_replica`` (those a pack of cells
varies: a per-synapse time constant costs a load and a division per synapse and step, where a
shared one is hoisted out of the loop). The plasticity gate ``learn`` stays shared: the
replicas of one simulation present the same sequence of training and evaluation blocks (same
epochs, same evaluation schedule), only the samples, their order and the weights differ.
"""

import numpy as np
from brian2 import Equations, Quantity
from brian2.equations.codestrings import Expression
from brian2.equations.equations import SingleEquation
from brian2.units.fundamentalunits import get_dimensions

__all__ = ["blocks", "check_replicas", "per_replica", "split_columns", "stack_presentations"]


def check_replicas(replicas):
    """The replica count as an int ≥ 1, or a ValueError that names ``replicas``."""
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 1:
        raise ValueError(f"replicas = {replicas!r} is not allowed; it must be an integer ≥ 1 "
                         "(copies of the network in one simulation)")
    return int(replicas)


def per_replica(eqs, names, n_classes=None):
    """``eqs`` with the ``(shared, constant)`` variables ``names`` made per neuron (one value
    per replica, repeated over its block) and the softmax's class count ``N`` (the group's
    size, K · n_classes with replicas) written as the number ``n_classes``."""
    out = []
    for e in eqs.ordered:
        flags = [f for f in e.flags
                 if not (f == "shared" and "constant" in e.flags and e.varname in names)]
        expr = e.expr
        if expr is not None and n_classes is not None and "label_smoothing/N" in str(expr):
            expr = Expression(str(expr).replace("label_smoothing/N",
                                                f"label_smoothing/{int(n_classes)}"))
        out.append(SingleEquation(e.type, e.varname, e.dim, var_type=e.var_type, expr=expr,
                                  flags=flags))
    return Equations(out)


def blocks(values, size):
    """One value per replica (``values``), each repeated ``size`` times: the per-neuron array
    of a per-replica constant (a Quantity if the values have units)."""
    values = list(values)
    dim = get_dimensions(values[0])
    numbers = np.repeat(np.array([float(np.asarray(v)) for v in values]), int(size))
    return Quantity(numbers, dim=dim) if dim is not get_dimensions(1.0) else numbers


def split_columns(array, replicas):
    """``array`` (…, K·n) → K arrays (…, n), replica by replica."""
    array = np.asarray(array)
    return np.split(array, replicas, axis=-1)


def stack_presentations(presentations):
    """The stimulus of K replicas: ``(x, y, learn)`` with the presentations' columns side by
    side. Their shapes and their gates must be equal (one gate for the whole simulation)."""
    first = presentations[0]
    for k, p in enumerate(presentations[1:], start=1):
        if p.x.shape != first.x.shape or p.y.shape != first.y.shape:
            raise ValueError(f"replica {k} has {p.n_periods} periods but replica 0 has "
                             f"{first.n_periods}; replicas of one simulation need presentations "
                             "of one shape")
        if not np.array_equal(p.learn, first.learn):
            raise ValueError(f"replica {k} has another plasticity gate (training and "
                             "evaluation blocks) than replica 0; replicas of one simulation "
                             "share the gate (same epochs, evaluation and anneal_to)")
    return (np.hstack([p.x for p in presentations]), np.hstack([p.y for p in presentations]),
            first.learn)
