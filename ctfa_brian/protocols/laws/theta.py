"""The theta-cycle law of the frequency-transition protocol: the exact ΔW per cycle of the
temporal-difference rule in its periodic state, for a theta gate anywhere in the cycle, and
the LTD/LTP ratio it implies (NumPy and SciPy only).

The circuit is linear with piecewise-constant drive: f1 for the minus phase [0, P), f2 for the
plus phase [P, 2P). Writing the drive as its mean plus (x2 − x1)/2 times a unit square wave
s(t) (−1 in the minus phase, +1 in the plus phase), the mean drives no m (a constant has
z_fast = z_slow), so m(t) = (x2 − x1)/2 · μ(t) with μ the periodic response to s, and

.. math::

    \\Delta W_{cycle} = \\frac{x_2 - x_1}{2}\\,(x_1 A + x_2 B), \\qquad
    A = \\frac{1}{\\tau_{pot}}\\int_{gate \\cap minus} \\mu\\,dt, \\quad
    B = \\frac{1}{\\tau_{pot}}\\int_{gate \\cap plus} \\mu\\,dt

(`gate_kernels`). For a low→high pair at the ratio r = f_low/f_high (< 1) and its swap
high→low, the signed **LTD/LTP ratio** is

.. math::

    R(r) = \\frac{\\Delta W(f_{high} \\to f_{low})}{\\Delta W(f_{low} \\to f_{high})}
         = -\\frac{A + r B}{r A + B}

(`transition_ratio`), independent of f_high and f_ref; the protocol's sign pattern (LTP for
low→high, LTD for high→low) holds where r A + B > 0 and A + r B > 0 (`sign_pattern`). With
the gate wholly in the plus phase (A = 0, the default) R = −r; wholly in the minus phase
(B = 0) R = −1/r, and the pattern holds only if A > 0.
"""

import numpy as np
from brian2 import Quantity, second

__all__ = ["cycle_law", "default_gate_phase", "gate_kernels", "pattern_edges", "pattern_margin",
           "sign_pattern", "transition_ratio"]


def _seconds(value):
    return float(value / second) if isinstance(value, Quantity) else float(value)


def default_gate_phase(phase_duration, gate_width):
    """Return the gate phase of a gate that closes at the cycle's end: 1 − w_g / (2 P)."""
    return 1.0 - _seconds(gate_width) / (2 * _seconds(phase_duration))


def _segments(P, gw, phase):
    """``[(duration, plus, gated)]`` of one cycle [0, 2P) in time order."""
    if not 0 < gw <= 2 * P:
        raise ValueError(f"gate_width = {gw * 1e3:g} ms is not allowed; it must be > 0 and "
                         f"≤ the theta cycle 2·phase_duration (= {2e3 * P:g} ms)")
    if phase is None:
        phase = 1.0 - gw / (2 * P)
    if not (np.isfinite(phase) and 0 <= phase < 1):
        raise ValueError(f"gate_phase = {phase!r} is not allowed; it must be in [0, 1): the "
                         "start of the gate as a fraction of the theta cycle (0 = start of the "
                         "minus phase, 0.5 = start of the plus phase)")
    start, cycle = phase * 2 * P, 2 * P
    end = start + gw
    gates = [(start, min(end, cycle))] + ([(0.0, end - cycle)] if end > cycle else [])
    edges = sorted({0.0, P, cycle, *(e for g in gates for e in g if 0 < e < cycle)})
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b - a <= 1e-12 * cycle:
            continue
        mid = (a + b) / 2
        out.append((b - a, mid >= P, any(lo <= mid < hi for lo, hi in gates)))
    return out


def _integrals(x1, x2, P, gw, phase, tp, tf, ts):
    """∫ m over (gate ∩ minus, gate ∩ plus, minus, plus) in one cycle of the periodic state."""
    from scipy.linalg import expm

    def generator(x, gated, plus):
        A = np.zeros((8, 8))  # z, z_fast, z_slow, Gm, Gp, Um, Up, 1
        A[0, 0], A[0, 7] = -1 / tp, x / tp
        A[1, 0], A[1, 1] = 1 / tf, -1 / tf
        A[2, 0], A[2, 2] = 1 / ts, -1 / ts
        row = 3 + int(plus)
        A[row, 1], A[row, 2] = float(gated), -float(gated)
        A[5 + int(plus), 1], A[5 + int(plus), 2] = 1.0, -1.0
        return A

    phi = np.eye(8)
    for duration, plus, gated in _segments(P, gw, phase):
        phi = expm(generator(x2 if plus else x1, gated, plus) * duration) @ phi
    start = np.linalg.solve(np.eye(3) - phi[:3, :3], phi[:3, 7])
    end = phi @ np.r_[start, 0.0, 0.0, 0.0, 0.0, 1.0]
    return end[3:7]


def cycle_law(f1, f2, phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot,
              f_ref=50.0, gate_phase=None):
    """Return the exact ΔW per cycle in the periodic state: (gated, time-invariant).

    The state (z, z_fast, z_slow and the integrals of m) obeys a linear ODE with constant
    input on each piece of the cycle (minus or plus phase, in or out of the gate), so one cycle
    is a product of matrix exponentials Φ. The periodic state solves s₀ = Φ s₀ (first three
    components); ΔW is what Φ adds to W from there. This is the continuous-time rates-mode
    change and also the expected Poisson-mode change.

    Parameters
    ----------
    f1, f2 : float
        Minus- and plus-phase frequency (Hz).
    phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot : Quantity
        P (each phase; the cycle is 2 P), the gate's width w_g (0 < w_g ≤ 2 P) and the time
        constants.
    f_ref : float
        Reference frequency (Hz): x = f / f_ref.
    gate_phase : float, optional
        Where the gate opens, as a fraction of the cycle, in [0, 1): g = 1 on
        [gate_phase · 2P, gate_phase · 2P + w_g) modulo 2P (a gate past the cycle's end wraps
        into the next minus phase). Default: 1 − w_g/(2P), the gate closes at the cycle's end.

    Returns
    -------
    tuple of float
        (ΔW per cycle with the theta gate, ΔW per cycle with g ≡ 1).

    Raises
    ------
    ValueError
        ``gate_phase`` outside [0, 1) or ``gate_width`` not in (0, 2P].
    """
    P, gw = _seconds(phase_duration), _seconds(gate_width)
    tp, tf, ts, tpot = (_seconds(v) for v in (tau_prop, tau_fast, tau_slow, tau_pot))
    _segments(P, gw, gate_phase)  # validates before the shortcut below
    if f1 == f2:  # constant drive from its steady state: m ≡ 0
        return 0.0, 0.0
    x1, x2 = f1 / f_ref, f2 / f_ref
    gm, gp, um, up = _integrals(x1, x2, P, gw, gate_phase, tp, tf, ts)
    return float((x1 * gm + x2 * gp) / tpot), float((x1 * um + x2 * up) / tpot)


def gate_kernels(phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot,
                 gate_phase=None):
    """Return (A, B): ΔW per cycle = (x2 − x1)/2 · (x1 A + x2 B) for any f1, f2.

    A and B are the integrals of μ (the periodic m for a unit square-wave drive, −1 in the
    minus and +1 in the plus phase) over the part of the gate in the minus and in the plus
    phase, divided by τ_pot. Arguments as `cycle_law`.
    """
    P, gw = _seconds(phase_duration), _seconds(gate_width)
    tp, tf, ts, tpot = (_seconds(v) for v in (tau_prop, tau_fast, tau_slow, tau_pot))
    gm, gp, _, _ = _integrals(-1.0, 1.0, P, gw, gate_phase, tp, tf, ts)
    return float(gm / tpot), float(gp / tpot)


def transition_ratio(ratio, A, B):
    """Return R = ΔW(f_high→f_low) / ΔW(f_low→f_high) = −(A + r B)/(r A + B), signed.

    ``ratio`` is r = f_low/f_high (array-like, 0 < r < 1); ``A``, ``B`` from `gate_kernels`
    (scalars or arrays that broadcast against ``ratio``). Where r A + B = 0 (no change for
    the rise) R is ±inf or nan.
    """
    r = np.asarray(ratio, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(A + r * B) / (r * A + B)


def sign_pattern(ratio, A, B):
    """Return where the protocol's pattern holds: ΔW(low→high) > 0 and ΔW(high→low) < 0.

    Both ΔW carry the factor x_high² (1 − r)/2 > 0, so the pattern is r A + B > 0 and
    A + r B > 0 (boolean array broadcast from ``ratio``, ``A``, ``B``).
    """
    return pattern_margin(ratio, A, B) > 0


def pattern_margin(ratio, A, B):
    """Return min(r A + B, A + r B): positive exactly where `sign_pattern` holds (it is
    ΔW(low→high) and −ΔW(high→low), whichever is smaller, over x_high² (1 − r)/2)."""
    r = np.asarray(ratio, dtype=float)
    return np.minimum(r * A + B, A + r * B)


def pattern_edges(ratio, phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot,
                  points=200):
    """Return the gate phases where the sign pattern starts or stops holding at ``ratio``.

    The margin (`pattern_margin`) is evaluated at ``points`` phases k/points and each sign
    change is refined by root finding (to 1e-10 of the cycle); the cycle wraps (a change
    between the last phase and 1 ≡ 0 is found too).

    Returns
    -------
    list of tuple
        ``(phase, "opens" | "closes")`` in increasing phase: the pattern holds just after an
        ``opens`` phase and stops at a ``closes`` one.
    """
    from scipy.optimize import brentq

    args = (phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot)

    def margin(phase):
        return float(pattern_margin(ratio, *gate_kernels(*args, gate_phase=phase % 1.0)))

    grid = np.arange(points) / points
    values = [margin(p) for p in grid]
    edges = []
    for k in range(points):
        a, b = values[k], values[(k + 1) % points]
        if (a > 0) == (b > 0):
            continue
        lo, hi = grid[k], grid[k] + 1 / points
        root = brentq(margin, lo, hi, xtol=1e-10) if a != 0 and b != 0 else (
            lo if a == 0 else hi)
        edges.append((float(root % 1.0), "opens" if b > 0 else "closes"))
    return sorted(edges)
