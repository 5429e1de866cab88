"""The overlap laws of the single-synapse protocol: the weight change −ΔW · τ_pot as a kernel
integral of the input and error windows, in seconds (NumPy only).

`triangle_law` is the paper's eq. 5, `eq1_law` the exact eq. 1 integral with decay and the
read-out time, `eq4_law` its τ_pot form, `gated_law` the eligibility-gated rule, and
`propagated_law` the windows after the input and the error each pass through τ_prop filters.
"""

import numpy as np
from brian2 import Quantity, second

__all__ = ["GATED_EARLY_MAX", "GATED_LATE_MIN", "TAIL", "eq1_law", "eq4_law", "gated_law",
           "propagated_law", "triangle_law"]

#: Gated checks: an error after the input (Δ = +r T) keeps at least this fraction of the
#: Δ = 0 change; one before it (Δ = −r T) at most this one.
GATED_LATE_MIN, GATED_EARLY_MAX = 0.2, 0.02
#: Time (in τ_prop × hops) the run continues after the last error window, so that the
#: filtered input and error have decayed before W is read.
TAIL = 10


def _seconds(value):
    return np.asarray(value / second if isinstance(value, Quantity) else value, dtype=float)


def _ramp(rate, width):
    """∫₀^width e^{rate·u} du, elementwise (width ≥ 0, any sign of rate)."""
    rate, width = np.broadcast_arrays(np.asarray(rate, float), np.asarray(width, float))
    x = rate * width
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.abs(x) < 1e-12, width * (1 + 0.5 * x), np.expm1(x) / rate)
    return np.where(width > 0, out, 0.0)


def _overlap(delta, T):
    d, T = _seconds(delta), float(_seconds(T))
    t0, t1 = np.maximum(0.0, d), np.minimum(T, d + T)
    return t0, t1, np.maximum(t1 - t0, 0.0)


def triangle_law(delta, T):
    """Return the flat-kernel overlap ``(T − |Δ|)₊`` (the paper's eq. 5).

    Parameters
    ----------
    delta : Quantity
        Error delay(s) Δ.
    T : Quantity
        Sample time: input on [0, T), error on [Δ, Δ + T).

    Returns
    -------
    Quantity
        ``(T − |Δ|)₊`` in seconds; −ΔW of eq. 1 with τ_dec = ∞ is this divided by τ_pot.
    """
    return np.maximum(float(_seconds(T)) - np.abs(_seconds(delta)), 0.0) * second


def eq1_law(delta, T, tau_dec=None, t_read=None):
    """Return ∫ x(t) e(t) e^{−(t_read − t)/τ_dec} dt: eq. 1 read at ``t_read``, exactly.

    With W(0) = 0 and dW/dt = −W/τ_dec − x e/τ_pot, −W(t_read) τ_pot is
    τ_dec e^{−(t_read − t₁)/τ_dec} (1 − e^{−L/τ_dec}) with t₁ = min(T, Δ + T) and
    L = ``(T − |Δ|)₊`` — eq. 4 with τ_dec in place of τ_pot and t_read in place of T.

    Parameters
    ----------
    delta, T : Quantity
        Error delay(s) and sample time.
    tau_dec : Quantity, optional
        Passive decay of W (``None``: no decay; the result is `triangle_law`).
    t_read : Quantity, optional
        When W is read, from input onset; must be ≥ max(T, Δ + T) (default: that).

    Returns
    -------
    Quantity
        In seconds.
    """
    t0, t1, L = _overlap(delta, T)
    if tau_dec is None:
        return L * second
    tau = float(_seconds(tau_dec))
    t_read = np.maximum(t1, t0) if t_read is None else float(_seconds(t_read))
    return np.exp(-(t_read - t0) / tau) * _ramp(1 / tau, L) * second


def eq4_law(delta, T, tau_pot):
    """Return the paper's eq. 4: τ_pot e^{−(T − t₁)/τ_pot} (1 − e^{−L/τ_pot}).

    This is ∫₀ᵀ x(t) e(t) k(t) dt with the kernel k(t) = e^{−(T − t)/τ_pot}, t₀ = max(0, Δ),
    t₁ = min(T, Δ + T), L = ``(T − |Δ|)₊`` (zero without overlap).

    Parameters
    ----------
    delta, T, tau_pot : Quantity

    Returns
    -------
    Quantity
        In seconds; −P(T) of the ``filtered`` variant is this divided by τ_pot.
    """
    T_s, tau = float(_seconds(T)), float(_seconds(tau_pot))
    _, t1, L = _overlap(delta, T)
    value = tau * np.exp(-(T_s - np.maximum(t1, 0.0)) / tau) * -np.expm1(-L / tau)
    return np.where(L > 0, value, 0.0) * second


def gated_law(delta, T, tau_elig, tau_dec=None, t_read=None):
    """Return ∫ E(t) e(t) e^{−(t_read − t)/τ_dec} dt for the eligibility-gated synapse.

    The trace τ_elig dE/dt = −E + x with x = 1 on [0, T) is E = 1 − e^{−t/τ_elig} on [0, T]
    and E(T) e^{−(t − T)/τ_elig} after; the error e = 1 on [Δ, Δ + T). An error before the
    input finds no trace (zero for Δ ≤ −T); one after it still finds E(T) e^{−(Δ−T)/τ_elig}.

    Parameters
    ----------
    delta, T, tau_elig : Quantity
    tau_dec : Quantity, optional
        Passive decay of W (``None``: none).
    t_read : Quantity, optional
        When W is read, from input onset (≥ Δ + T for the whole window to count; default:
        Δ + T, i.e. no decay after the window).

    Returns
    -------
    Quantity
        In seconds; −ΔW of the gated synapse is this divided by τ_pot.
    """
    d = _seconds(delta)
    T_s, q = float(_seconds(T)), 1.0 / float(_seconds(tau_elig))
    r = 0.0 if tau_dec is None else 1.0 / float(_seconds(tau_dec))
    t_end = np.maximum(d + T_s, T_s) if t_read is None else np.full_like(d, _seconds(t_read))
    # on [0, T]: ∫ (1 − e^{−q t}) e^{−r (t_end − t)} dt over [a1, b1]
    a1, b1 = np.maximum(d, 0.0), np.minimum(np.minimum(d + T_s, T_s), t_end)
    w1 = np.maximum(b1 - a1, 0.0)
    decay1 = np.exp(-r * (t_end - a1))
    part1 = decay1 * (_ramp(r, w1) - np.exp(-q * a1) * _ramp(r - q, w1))
    # after T: E(T) ∫ e^{−q (t − T)} e^{−r (t_end − t)} dt over [a2, b2]
    a2, b2 = np.maximum(d, T_s), np.minimum(d + T_s, t_end)
    w2 = np.maximum(b2 - a2, 0.0)
    e_T = -np.expm1(-q * T_s)
    part2 = e_T * np.exp(-q * (a2 - T_s) - r * (t_end - a2)) * _ramp(r - q, w2)
    return (np.where(w1 > 0, part1, 0.0) + np.where(w2 > 0, part2, 0.0)) * second


def _erlang_step(t, hops, tau):
    """Response of ``hops`` exponential stages (time constant tau) to a unit step at t = 0."""
    from scipy.special import gammainc

    t = np.asarray(t, float)
    if hops == 0 or tau == 0:
        return (t >= 0).astype(float)
    return np.where(t > 0, gammainc(hops, np.maximum(t, 0.0) / tau), 0.0)


def propagated_law(delta, T, tau_prop, input_hops=1, error_hops=1, tau_dec=None, t_read=None,
                   points_per_tau=200):
    """Return ∫ z(t) ε(t) e^{−(t_read − t)/τ_dec} dt after finite propagation (quadrature).

    z is the input x = 1 on [0, T) after ``input_hops`` rate neurons τ_prop dz/dt = −z + drive,
    ε the error e = 1 on [Δ, Δ + T) after ``error_hops``; both are exact (Erlang step
    responses), the integral is a trapezoid sum with ``points_per_tau`` points per τ_prop.

    Parameters
    ----------
    delta, T, tau_prop : Quantity
    input_hops, error_hops : int
    tau_dec, t_read : Quantity, optional
        As in `eq1_law` (default t_read: when both signals have decayed, 10 τ_prop per hop
        after the last window).
    points_per_tau : int

    Returns
    -------
    Quantity
        In seconds; equals `eq1_law` for τ_prop = 0.
    """
    tau = float(_seconds(tau_prop))
    d = np.atleast_1d(_seconds(delta))
    T_s = float(_seconds(T))
    if tau == 0 or input_hops + error_hops == 0:
        return eq1_law(delta, T, tau_dec, t_read)
    tail = TAIL * tau * max(input_hops, error_hops)
    t_end = max(T_s, d.max() + T_s) + tail if t_read is None else float(_seconds(t_read))
    step = tau / points_per_tau
    t = np.arange(min(0.0, d.min()), t_end + step / 2, step)
    z = _erlang_step(t, input_hops, tau) - _erlang_step(t - T_s, input_hops, tau)
    r = 0.0 if tau_dec is None else 1.0 / float(_seconds(tau_dec))
    weight = z * np.exp(-r * (t_end - t))
    out = np.empty_like(d)
    for k, dk in enumerate(d):
        eps = _erlang_step(t - dk, error_hops, tau) - _erlang_step(t - dk - T_s, error_hops, tau)
        out[k] = np.trapezoid(weight * eps, t)
    return out.reshape(np.shape(_seconds(delta))) * second
