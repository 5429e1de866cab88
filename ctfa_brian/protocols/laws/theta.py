"""The theta-cycle law of the frequency-transition protocol: the exact ΔW per cycle of the
temporal-difference rule in its periodic state (NumPy and SciPy only).
"""

import numpy as np
from brian2 import Quantity, second

__all__ = ["cycle_law"]


def _seconds(value):
    return float(value / second) if isinstance(value, Quantity) else float(value)


def cycle_law(f1, f2, phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot,
              f_ref=50.0):
    """Return the exact ΔW per cycle in the periodic state: (gated, time-invariant).

    The state (z, z_fast, z_slow, W, W_invariant) obeys a linear ODE with constant input on
    each piece of the cycle (minus phase; plus phase before the gate; the gate), so one cycle
    is a product of matrix exponentials Φ. The periodic state solves s₀ = Φ s₀ (first three
    components); ΔW is what Φ adds to W from there. This is the continuous-time rates-mode
    change and also the expected Poisson-mode change.

    Parameters
    ----------
    f1, f2 : float
        Minus- and plus-phase frequency (Hz).
    phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot : Quantity
    f_ref : float
        Reference frequency (Hz): x = f / f_ref.

    Returns
    -------
    tuple of float
        (ΔW per cycle with the theta gate, ΔW per cycle with g ≡ 1).
    """
    from scipy.linalg import expm

    if f1 == f2:  # constant drive from its steady state: m ≡ 0
        return 0.0, 0.0
    P, gw = _seconds(phase_duration), _seconds(gate_width)
    tp, tf, ts, tpot = (_seconds(v) for v in (tau_prop, tau_fast, tau_slow, tau_pot))

    def generator(x, g):
        A = np.zeros((6, 6))  # z, z_fast, z_slow, W, W_invariant, 1
        A[0, 0], A[0, 5] = -1 / tp, x / tp
        A[1, 0], A[1, 1] = 1 / tf, -1 / tf
        A[2, 0], A[2, 2] = 1 / ts, -1 / ts
        A[3, 1], A[3, 2] = g * x / tpot, -g * x / tpot
        A[4, 1], A[4, 2] = x / tpot, -x / tpot
        return A

    x1, x2 = f1 / f_ref, f2 / f_ref
    phi = (expm(generator(x2, 1.0) * gw) @ expm(generator(x2, 0.0) * (P - gw))
           @ expm(generator(x1, 0.0) * P))
    start = np.linalg.solve(np.eye(3) - phi[:3, :3], phi[:3, 5])
    end = phi @ np.r_[start, 0.0, 0.0, 1.0]
    return float(end[3]), float(end[4])
