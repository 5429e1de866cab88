"""The overlap protocol: the weight change of one synapse as a function of the error delay Δ.

This is the experiment behind §4 of Bacvanski, Ziyin & Poggio (arXiv 2510.18808), eqs. 2–5:
a presynaptic rate x(t) = 1 on [0, T) (else 0) and an error (modulatory) drive e(t) = 1 on
[Δ, Δ + T), Δ swept from −1.5 T to +1.5 T. Every synapse of the sweep is simulated at once in one
Brian2 `Network`: synapse k has its own delay Δ_k (and time constants), so one ``run`` computes
every curve. The synapses are the package's own forward synapses
(`ctfa_brian.equations.FORWARD_SYNAPSE`, `~ctfa_brian.equations.GATED_FORWARD_SYNAPSE` with
`~ctfa_brian.equations.eligibility_update`), so the sign is the model's:

.. math::  dW/dt = -W/\\tau_{dec} - x\\,e/\\tau_{pot}

and this module reports **−ΔW** (positive where input and error coincide). Curves:

``eq1``
    Eq. 1 as written, read once all activity is over (at ``t_read``). Exact law, with
    τ_dec: −ΔW = (τ_dec/τ_pot) e^{−(t_read − t₁)/τ_dec} (1 − e^{−L/τ_dec}) (`eq1_law`), which
    is the flat triangle (T − |Δ|)₊/τ_pot (eq. 5, `triangle_law`) up to O(T/τ_dec).
``filtered``
    Potentiation low-pass filtered with τ_pot: τ_pot dP/dt = −P − x e — eq. 1 with
    τ_dec = τ_pot — read at the end of the input window, t = T. Since x = 0 outside [0, T),
    −P(T) = (1/τ_pot) ∫₀ᵀ x e k(t) dt with k(t) = e^{−(T − t)/τ_pot}: exactly the paper's eq. 4
    (`eq4_law`) divided by τ_pot.
``gated``
    Eligibility gate (τ_elig dE/dt = −E + x, dW/dt = −W/τ_dec − E e/τ_pot), read at
    ``t_read``; law `gated_law` (E is a piecewise exponential, integrated in closed form).
propagation (``eq1`` with τ_prop > 0)
    Input and error each pass through ``input_hops`` / ``error_hops`` rate neurons
    τ_prop dz/dt = −z + drive (the model's own neurons with a linear σ, forward Euler) before
    they meet at the synapse; law `propagated_law` (exact integrand, numerical quadrature).
    Equal hops smooth the curve symmetrically (the Δ = 0 change shrinks, the peak stays at 0);
    extra hops on the error path delay the error and move the curve to negative Δ.

The fast-propagation limit of the paper (input and error drive the synapse directly) is
τ_prop = 0: the eq1, filtered and gated curves use it.
"""

import csv
import time
from dataclasses import dataclass

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    Quantity,
    StateMonitor,
    Synapses,
    ms,
    second,
)
from brian2.utils.logger import get_logger

from ctfa_brian import equations as eq
from ctfa_brian.io import atomic_path
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.runner import Parameter

__all__ = [
    "NAME",
    "PARAMETERS",
    "Curve",
    "Sweep",
    "check",
    "delays_of",
    "eq1_law",
    "eq4_law",
    "gated_law",
    "plot",
    "propagated_law",
    "run",
    "simulate",
    "traces_block",
    "triangle_law",
    "write_table",
]

logger = get_logger(__name__)

NAME = "overlap"

PARAMETERS = {
    "sample_time": Parameter("time", None, "T: input on [0, T), error on [Δ, Δ + T)",
                             required=True, gt=0 * ms),
    "max_delay_ratio": Parameter("float", 1.5, "Δ is swept over [−r T, +r T]", gt=0, le=5),
    "n_delays": Parameter("int", 61, "number of Δ values (odd, so that Δ = 0 is one of them)",
                          ge=3, le=2001),
    "tau_pot_ratios": Parameter("floats", (10.0, 40.0, 100.0),
                                "τ_pot/T of the ungated curves (eq1 and filtered)", gt=0),
    "tau_dec": Parameter("time", 1200 * second, "passive decay of W (eq1, gated, propagation)",
                         gt=0 * ms),
    "tau_elig": Parameter("time", None, "eligibility-trace time constant of the gated curve",
                          gt=0 * ms, default_text="2 × sample_time"),
    "tau_props": Parameter("times", (0 * ms, 10 * ms, 30 * ms),
                           "propagation time constants shown bending the eq1 curve (0: direct)",
                           ge=0 * ms),
    "input_hops": Parameter("int", 1, "rate neurons (τ_prop each) between input and synapse",
                            ge=0, le=4),
    "error_hops": Parameter("int", 1, "rate neurons (τ_prop each) between error and synapse",
                            ge=0, le=4),
    "dt": Parameter("time", 0.1 * ms, "integration step (< T/100 and < τ_prop/5)", gt=0 * ms),
    "record_dt": Parameter("time", 1 * ms, "sampling period of the saved traces", gt=0 * ms),
    "tolerance": Parameter("float", 0.02, "allowed deviation from a law, as a fraction of its "
                           "peak (the ungated and gated checks)", gt=0, lt=1),
    "variant": Parameter("str", "rate", "rate: the curves above; spiking: Poisson input and "
                         "error spikes into the package's spiking synapses, n_trials per delay",
                         choices=("rate", "spiking")),
    "max_rate_hz": Parameter("float", 200.0, "spiking: the rate that stands for x = 1 and "
                             "e = 1, Hz", gt=0, le=1000),
    "n_trials": Parameter("int", 100, "spiking: independent synapses (trials) per delay",
                          ge=2, le=100_000),
    "spike_tau_prop": Parameter("time", 10 * ms, "spiking: τ_prop of the error trace the "
                                "synapse reads", gt=0 * ms),
    "cch_trials": Parameter("int", 20, "spiking: trials per delay whose spike trains give the "
                            "cross-correlation C(0) = ∫ x e dt (elephant)", ge=2),
    "cch_bin": Parameter("time", 5 * ms, "spiking: bin of that cross-correlation (C(0) is its "
                         "central bin)", gt=0 * ms),
}

#: Gated checks: an error after the input (Δ = +r T) keeps at least this fraction of the
#: Δ = 0 change; one before it (Δ = −r T) at most this one.
GATED_LATE_MIN, GATED_EARLY_MAX = 0.2, 0.02

# Scheduling inside the 'groups' slot, as in `ctfa_brian.network`: synapses (W from the state
# at t) at 0.5, the trace E at 0.75, neurons at 1.
_SYNAPSE_ORDER, _TRACE_ORDER, _NEURON_ORDER = 0.5, 0.75, 1
#: Time (in τ_prop × hops) the run continues after the last error window, so that the
#: filtered input and error have decayed before W is read.
_TAIL = 10
#: Smallest T/dt and τ_prop/dt.
_MIN_STEPS_T, _MIN_STEPS_PROP = 100, 5


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def check(params):
    """Fill in ``tau_elig`` (2 T) and check the parameters against each other.

    Raises
    ------
    ValueError
        ``n_delays`` even; ``dt`` not < T/100, not < τ_prop/5 for a nonzero τ_prop, or T not a
        whole number of steps; Δ values closer than dt; τ_prop > 0 with no hop.
    """
    T, dt = params["sample_time"], params["dt"]
    if params["tau_elig"] is None:
        params["tau_elig"] = 2 * T
    if params["n_delays"] % 2 == 0:
        raise ValueError(f"n_delays = {params['n_delays']} is not allowed; it must be odd so "
                         "that Δ = 0 is one of the delays")
    if not dt * _MIN_STEPS_T < T:
        raise ValueError(f"dt = {format_time(dt)} is too coarse for sample_time = "
                         f"{format_time(T)}; it must be < sample_time/{_MIN_STEPS_T} "
                         f"(= {format_time(T / _MIN_STEPS_T)})")
    steps = float(T / dt)
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"sample_time = {format_time(T)} is not a whole number of steps of "
                         f"dt = {format_time(dt)}; choose a multiple of dt")
    spacing = 2 * params["max_delay_ratio"] * T / (params["n_delays"] - 1)
    if spacing < dt:
        raise ValueError(f"n_delays = {params['n_delays']} puts the delays "
                         f"{format_time(spacing)} apart, closer than dt = {format_time(dt)}; "
                         "use fewer delays or a smaller dt")
    if params["variant"] == "spiking":
        p_max = params["max_rate_hz"] * float(dt / second)
        if p_max > 0.1:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for max_rate_hz = "
                             f"{params['max_rate_hz']:g}: a spike probability of {p_max:g} per "
                             "step; it must be ≤ 0.1 (dt ≤ 0.1/max_rate)")
        if params["cch_bin"] < dt or params["cch_bin"] > T / 10:
            raise ValueError(f"cch_bin = {format_time(params['cch_bin'])} is not allowed; it "
                             f"must lie between dt = {format_time(dt)} and sample_time/10 = "
                             f"{format_time(T / 10)}")
        if not dt * _MIN_STEPS_PROP < params["spike_tau_prop"]:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for spike_tau_prop = "
                             f"{format_time(params['spike_tau_prop'])}; it must be < "
                             f"spike_tau_prop/{_MIN_STEPS_PROP}")
    for k, tau_prop in enumerate(params["tau_props"]):
        if float(tau_prop) > 0 and not dt * _MIN_STEPS_PROP < tau_prop:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for tau_props[{k}] = "
                             f"{format_time(tau_prop)}; it must be < tau_prop/{_MIN_STEPS_PROP} "
                             f"(= {format_time(tau_prop / _MIN_STEPS_PROP)})")
    if any(float(tp) > 0 for tp in params["tau_props"]) and \
            params["input_hops"] + params["error_hops"] == 0:
        raise ValueError("input_hops = 0 and error_hops = 0 leave the nonzero tau_props "
                         "without effect; set at least one hop")
    return params


# ----------------------------------------------------------------------------------------
# Laws (all return the kernel integral in seconds: −ΔW · τ_pot)
# ----------------------------------------------------------------------------------------
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
    """Return the flat-kernel overlap (T − |Δ|)₊ (the paper's eq. 5).

    Parameters
    ----------
    delta : Quantity
        Error delay(s) Δ.
    T : Quantity
        Sample time: input on [0, T), error on [Δ, Δ + T).

    Returns
    -------
    Quantity
        (T − |Δ|)₊ in seconds; −ΔW of eq. 1 with τ_dec = ∞ is this divided by τ_pot.
    """
    return np.maximum(float(_seconds(T)) - np.abs(_seconds(delta)), 0.0) * second


def eq1_law(delta, T, tau_dec=None, t_read=None):
    """Return ∫ x(t) e(t) e^{−(t_read − t)/τ_dec} dt: eq. 1 read at ``t_read``, exactly.

    With W(0) = 0 and dW/dt = −W/τ_dec − x e/τ_pot, −W(t_read) τ_pot is
    τ_dec e^{−(t_read − t₁)/τ_dec} (1 − e^{−L/τ_dec}) with t₁ = min(T, Δ + T) and
    L = (T − |Δ|)₊ — eq. 4 with τ_dec in place of τ_pot and t_read in place of T.

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
    t₁ = min(T, Δ + T), L = (T − |Δ|)₊ (zero without overlap).

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
    tail = _TAIL * tau * max(input_hops, error_hops)
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


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
@dataclass
class Curve:
    """One simulated curve −ΔW(Δ) next to its law.

    Attributes
    ----------
    variant : str
        ``eq1``, ``filtered`` or ``gated``.
    tau_pot : Quantity
    tau_prop : Quantity
        0 ms: input and error drive the synapse directly.
    tau_elig : Quantity or None
        The trace's time constant (gated only).
    law_name : str
        Which law the curve is compared with.
    minus_dw : ndarray
        Simulated −ΔW, one value per delay (dimensionless).
    law : ndarray
        The law's −ΔW at the same delays.
    """

    variant: str
    tau_pot: Quantity
    tau_prop: Quantity
    tau_elig: Quantity
    law_name: str
    minus_dw: np.ndarray = None
    law: np.ndarray = None

    @property
    def deviation(self):
        """Largest |simulated − law|, as a fraction of the law's peak."""
        return float(np.max(np.abs(self.minus_dw - self.law)) / np.max(np.abs(self.law)))


@dataclass
class Sweep:
    """Everything `simulate` computed.

    Attributes
    ----------
    delays : Quantity
        The delays Δ (on the dt grid), shape (n_delays,).
    sample_time : Quantity
    t_read : Quantity
        When eq1, gated and propagated W are read, from input onset (filtered: at T).
    curves : list of Curve
    traces : dict
        ``{name: {"t": Quantity (from input onset), "values": ndarray (channels, times),
        "channels": list of dict}}`` for a few synapses (W, E) and their input and error.
    timings : dict
        ``build`` and ``run`` in seconds.
    hops : tuple of int
        ``(input_hops, error_hops)`` of the τ_prop curves.
    """

    delays: Quantity
    sample_time: Quantity
    t_read: Quantity
    curves: list
    traces: dict
    timings: dict
    hops: tuple = (1, 1)

    def find(self, variant, tau_pot=None, tau_prop=0 * ms):
        """Return the curve of ``variant`` at ``tau_pot`` (default: any) and ``tau_prop``."""
        for curve in self.curves:
            if curve.variant != variant or abs(float(curve.tau_prop - tau_prop)) > 1e-12:
                continue
            if tau_pot is None or abs(float(curve.tau_pot - tau_pot)) < 1e-12:
                return curve
        raise KeyError(f"no {variant} curve with tau_pot = {tau_pot}, tau_prop = {tau_prop}")

    def index(self, delay):
        """Return the index of the delay closest to ``delay``."""
        return int(np.argmin(np.abs(np.asarray(self.delays / second) - float(delay / second))))


def delays_of(params):
    """The protocol's delays Δ, on the dt grid."""
    T, dt = params["sample_time"], params["dt"]
    step_s = float(dt / second)
    return np.round(np.linspace(-1, 1, params["n_delays"]) * params["max_delay_ratio"]
                    * float(T / second) / step_s) * step_s * second


def _window(start):
    """1 on [start, start + sample_time), sampled at the steps (edges on the dt grid)."""
    return f"int(t >= {start} - 0.5*dt)*int(t < {start} + sample_time - 0.5*dt)"


def _chain(out, drive, start, hops):
    """A step drive and ``hops`` rate neurons τ_prop dz/dt = −z + drive; ``out`` reaches W."""
    lines = [f"{drive} = {_window(start)} : 1"]
    previous = drive
    for k in range(1, hops + 1):
        lines.append(f"d{out}{k}/dt = (-{out}{k} + {previous})/tau_lp : 1")
        previous = f"{out}{k}"
    # direct = 1: the drive reaches the synapse as it is (the fast-propagation limit)
    lines.append(f"{out} = direct*{drive} + (1 - direct)*{previous} : 1" if hops
                 else f"{out} = {drive} : 1")
    lines += ["tau_lp : second (constant)", "direct : 1 (constant)"]
    return "\n".join(lines)


#: What the forward synapse equations read from the postsynaptic side, plus the delay.
_POST_VARIABLES = """
a : 1
learn : 1 (constant)
delay : second (constant)
tau_pot_w : second (constant)
tau_dec_w : second (constant)
tau_elig : second (constant)
"""


def _circuit(name, configs, delays, namespace, dt, input_hops, error_hops, tau_elig):
    """Presynaptic and postsynaptic groups and one-to-one synapses, config-major."""
    n_delays = len(delays)
    n = len(configs) * n_delays
    pre = NeuronGroup(n, _chain("z", "x", "t_on", input_hops), method="euler",
                      namespace=namespace, dt=dt, order=_NEURON_ORDER, name=f"{name}_input")
    post = NeuronGroup(n, _chain("eps", "err", "t_on + delay", error_hops) + _POST_VARIABLES,
                       method="euler", namespace=namespace, dt=dt, order=_NEURON_ORDER,
                       name=f"{name}_error")
    gated = name == "gated"
    syn = Synapses(pre, post, eq.GATED_FORWARD_SYNAPSE if gated else eq.FORWARD_SYNAPSE,
                   method="euler", namespace=namespace, dt=dt, order=_SYNAPSE_ORDER,
                   name=f"{name}_W")
    syn.connect(j="i")
    if gated:  # after W's update, before the neurons: E(t + dt) from z(t), exactly
        syn.run_regularly(eq.eligibility_update("pre"), when="groups", order=_TRACE_ORDER,
                          name=f"{name}_eligibility")
    tau_prop = np.repeat([float(c.tau_prop / second) for c in configs], n_delays)
    direct = (tau_prop == 0).astype(float)
    for group in (pre, post):
        group.direct = direct
        group.tau_lp = np.where(direct > 0, 1.0, tau_prop) * second  # unused where direct
    post.delay = np.tile(np.asarray(delays / second), len(configs)) * second
    post.learn = 1
    post.tau_pot_w = np.repeat([float(c.tau_pot / second) for c in configs], n_delays) * second
    post.tau_dec_w = np.repeat([float(c.tau_dec / second) for c in configs], n_delays) * second
    post.tau_elig = tau_elig
    return pre, post, syn


@dataclass(frozen=True)
class _Config:
    variant: str
    tau_pot: Quantity
    tau_dec: Quantity
    tau_prop: Quantity


def _trace_indices(delays, T, max_ratio):
    wanted = np.array([-max_ratio, -0.5, 0.0, 0.5, max_ratio]) * float(T / second)
    d = np.asarray(delays / second)
    return sorted({int(np.argmin(np.abs(d - w))) for w in wanted})


def simulate(params):
    """Simulate every curve of the protocol in one Brian2 `Network` and compute the laws.

    Parameters
    ----------
    params : dict
        Validated parameters (see `PARAMETERS`; ``tau_elig`` filled in by `check`).

    Returns
    -------
    Sweep
    """
    T, dt = params["sample_time"], params["dt"]
    n = params["n_delays"]
    delays = delays_of(params)
    t_on = float(np.max(np.asarray(delays / second))) * second  # error of the earliest Δ at 0
    tau_pots = [r * T for r in params["tau_pot_ratios"]]
    tau_main = tau_pots[-1]
    props = [tp for tp in params["tau_props"] if float(tp) > 0]
    ungated = ([_Config("eq1", tp, params["tau_dec"], 0 * ms) for tp in tau_pots]
               + [_Config("filtered", tp, tp, 0 * ms) for tp in tau_pots]
               + [_Config("eq1", tau_main, params["tau_dec"], tp) for tp in props])
    gated = [_Config("gated", tau_main, params["tau_dec"], 0 * ms)]
    hops = max(params["input_hops"], params["error_hops"])
    tail = _TAIL * max(props) * hops if props else 0 * ms
    n_read_filtered = int(round(float((t_on + T) / dt)))
    n_total = int(round(float((2 * t_on + T + tail) / dt)))
    namespace = {"t_on": t_on, "sample_time": T}

    start = time.perf_counter()
    u_pre, u_post, u_syn = _circuit("ungated", ungated, delays, namespace, dt,
                                    params["input_hops"], params["error_hops"], params["tau_elig"])
    g_pre, g_post, g_syn = _circuit("gated", gated, delays, namespace, dt, 0, 0,
                                    params["tau_elig"])
    picks = _trace_indices(delays, T, params["max_delay_ratio"])
    zero = n // 2
    main_eq1 = len(tau_pots) - 1  # eq1 at the largest τ_pot, direct
    u_record = [main_eq1 * n + k for k in picks]
    u_record += [(2 * len(tau_pots) + c) * n + zero for c in range(len(props))]
    rec = {"dt": params["record_dt"], "when": "start"}
    monitors = {
        "ungated.w": StateMonitor(u_syn, "w", record=u_record, **rec),
        "ungated.z": StateMonitor(u_pre, "z", record=u_record, **rec),
        "ungated.eps": StateMonitor(u_post, "eps", record=u_record, **rec),
        "gated.w": StateMonitor(g_syn, "w", record=picks, **rec),
        "gated.E": StateMonitor(g_syn, "E", record=picks, **rec),
        "gated.z": StateMonitor(g_pre, "z", record=picks, **rec),
        "gated.eps": StateMonitor(g_post, "eps", record=picks, **rec),
    }
    net = Network(u_pre, u_post, u_syn, g_pre, g_post, g_syn, *monitors.values(),
                  name="overlap_network")
    built = time.perf_counter()
    logger.debug(f"overlap: {len(u_syn) + len(g_syn)} synapses, {n_total} steps of "
                f"{format_time(dt)}")
    net.run(n_read_filtered * dt, namespace={})
    at_T = -np.asarray(u_syn.w[:]).reshape(len(ungated), n)
    net.run((n_total - n_read_filtered) * dt, namespace={})
    at_end = -np.asarray(u_syn.w[:]).reshape(len(ungated), n)
    gated_end = -np.asarray(g_syn.w[:]).reshape(len(gated), n)
    finished = time.perf_counter()
    t_read = n_total * dt - t_on

    curves = []
    for c, config in enumerate(ungated + gated):
        if config.variant == "filtered":
            law, name, sim = eq4_law(delays, T, config.tau_pot), "eq4_law", at_T[c]
        elif config.variant == "gated":
            law = gated_law(delays, T, params["tau_elig"], config.tau_dec, t_read)
            name, sim = "gated_law", gated_end[0]
        elif float(config.tau_prop) > 0:
            law = propagated_law(delays, T, config.tau_prop, params["input_hops"],
                                 params["error_hops"], config.tau_dec, t_read)
            name, sim = "propagated_law", at_end[c]
        else:
            law, name, sim = eq1_law(delays, T, config.tau_dec, t_read), "eq1_law", at_end[c]
        curves.append(Curve(config.variant, config.tau_pot, config.tau_prop,
                            params["tau_elig"] if config.variant == "gated" else None, name,
                            np.asarray(sim, float) + 0.0,
                            np.asarray(law / config.tau_pot, float) + 0.0))

    channels = {"ungated": [ungated[i // n] for i in u_record], "gated": [gated[0]] * len(picks)}
    channel_delays = {"ungated": [delays[i % n] for i in u_record],
                      "gated": [delays[i] for i in picks]}
    traces = {}
    for key, monitor in monitors.items():
        circuit, var = key.split(".")
        values = np.array(getattr(monitor, var), dtype=float)
        traces[key] = {
            "t": monitor.t - t_on,
            "values": -values if var == "w" else values,
            "variable": "-w" if var == "w" else var,
            "channels": [{"variant": cfg.variant, "delay": d, "tau_pot": cfg.tau_pot,
                          "tau_prop": cfg.tau_prop}
                         for cfg, d in zip(channels[circuit], channel_delays[circuit])],
        }
    timings = {"build": built - start, "run": finished - built}
    logger.debug(f"overlap: ran in {timings['run']:.1f} s")
    return Sweep(delays, T, t_read, curves, traces, timings,
                 (params["input_hops"], params["error_hops"]))


# ----------------------------------------------------------------------------------------
# Results, table, figure, traces
# ----------------------------------------------------------------------------------------
def _summary(sweep, params):
    T = sweep.sample_time
    d_ms = np.asarray(sweep.delays / ms)
    zero, late, early = sweep.index(0 * ms), len(d_ms) - 1, 0
    tolerance = params["tolerance"]
    ungated = []
    for curve in sweep.curves:
        if curve.variant == "gated" or float(curve.tau_prop) > 0:
            continue
        entry = {"variant": curve.variant, "law": curve.law_name,
                 "tau_pot_ratio": float(curve.tau_pot / T), "tau_pot": format_time(curve.tau_pot),
                 "max_deviation_percent": 100 * curve.deviation,
                 "peak_delay_ms": float(d_ms[np.argmax(curve.minus_dw)])}
        if curve.variant == "eq1":
            triangle = np.asarray(triangle_law(sweep.delays, T) / curve.tau_pot)
            entry["deviation_from_triangle_percent"] = float(
                100 * np.max(np.abs(curve.minus_dw - triangle)) / np.max(triangle))
        ungated.append(entry)
    g = sweep.find("gated")
    gated = {"tau_elig": format_time(g.tau_elig), "tau_pot": format_time(g.tau_pot),
             "law": g.law_name, "max_deviation_percent": 100 * g.deviation,
             "delay_late_ms": float(d_ms[late]), "delay_early_ms": float(d_ms[early]),
             "ratio_late": float(g.minus_dw[late] / g.minus_dw[zero]),
             "ratio_early": float(g.minus_dw[early] / g.minus_dw[zero]) + 0.0,
             "law_ratio_late": float(g.law[late] / g.law[zero]),
             "peak_delay_ms": float(d_ms[np.argmax(g.minus_dw)])}
    propagation = []
    direct = [c for c in sweep.curves if c.variant == "eq1" and float(c.tau_prop) == 0]
    reference = direct[-1]
    for curve in [reference] + [c for c in sweep.curves if float(c.tau_prop) > 0]:
        weights = np.clip(curve.minus_dw, 0, None)
        propagation.append({
            "tau_prop": format_time(curve.tau_prop),
            "input_hops": params["input_hops"] if float(curve.tau_prop) else 0,
            "error_hops": params["error_hops"] if float(curve.tau_prop) else 0,
            "zero_delay_ratio": float(curve.minus_dw[zero] / reference.minus_dw[zero]),
            "peak_ratio": float(curve.minus_dw.max() / reference.minus_dw.max()),
            "peak_delay_ms": float(d_ms[np.argmax(curve.minus_dw)]),
            "centroid_ms": float(np.sum(d_ms * weights) / np.sum(weights)),
            "max_deviation_percent": 100 * curve.deviation,
        })
    worst = max(e["max_deviation_percent"] for e in ungated)
    checks = {
        "ungated_within_tolerance": bool(worst <= 100 * tolerance),
        "gated_within_tolerance": bool(gated["max_deviation_percent"] <= 100 * tolerance),
        "gated_late_at_least_20_percent": bool(gated["ratio_late"] >= GATED_LATE_MIN),
        "gated_early_at_most_2_percent": bool(abs(gated["ratio_early"]) <= GATED_EARLY_MAX),
    }
    return {
        "protocol": NAME,
        "sign": "values are -ΔW; the synapse follows the model's dW/dt = -W/tau_dec "
                "- x e/tau_pot (e: error drive), so coincidence makes W fall",
        "sample_time": format_time(T),
        "t_read": format_time(sweep.t_read),
        "n_delays": len(d_ms),
        "tolerance_percent": 100 * tolerance,
        "max_ungated_deviation_percent": worst,
        "ungated": ungated,
        "gated": gated,
        "propagation": propagation,
        "checks": checks,
        "passed": all(checks.values()),
    }


def _table_rows(sweep):
    T = sweep.sample_time
    direct_peak = {}
    for curve in sweep.curves:
        if float(curve.tau_prop) == 0:
            direct_peak[(curve.variant, float(curve.tau_pot))] = np.max(curve.law)
    rows = []
    for curve in sweep.curves:
        peak = direct_peak[("eq1" if float(curve.tau_prop) else curve.variant,
                            float(curve.tau_pot))]
        for k, delay in enumerate(sweep.delays):
            rows.append({
                "delay_ms": f"{float(delay / ms):.6g}",
                "delay_over_T": f"{float(delay / T):.6g}",
                "variant": curve.variant,
                "law": curve.law_name,
                "tau_pot_s": f"{float(curve.tau_pot / second):.6g}",
                "tau_prop_ms": f"{float(curve.tau_prop / ms):.6g}",
                "tau_elig_ms": ("" if curve.tau_elig is None
                                else f"{float(curve.tau_elig / ms):.6g}"),
                "minus_dW_sim": f"{curve.minus_dw[k]:.10g}",
                "minus_dW_law": f"{curve.law[k]:.10g}",
                "normalised": f"{curve.minus_dw[k] / peak:.8g}",
            })
    return rows


def write_table(sweep, path):
    """Write every curve as rows of ``path`` (CSV; units in the column names)."""
    rows = _table_rows(sweep)
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def plot(sweep, path):
    """Draw −ΔW/peak against Δ/T: simulated points, analytic lines (four panels)."""
    from matplotlib.figure import Figure

    T = sweep.sample_time
    x = np.asarray(sweep.delays / T)
    fine = np.linspace(x[0], x[-1], 601) * T
    xf = np.asarray(fine / T)
    fig = Figure(figsize=(10, 7.5), layout="constrained")
    (ax_eq1, ax_filt), (ax_gate, ax_prop) = fig.subplots(2, 2, sharex=True)
    markers = "os^vD"
    ungated = [c for c in sweep.curves if c.variant in ("eq1", "filtered")
               and float(c.tau_prop) == 0]
    for k, curve in enumerate(c for c in ungated if c.variant == "eq1"):
        peak = curve.law.max()
        ratio = float(curve.tau_pot / T)
        ax_eq1.plot(x, curve.minus_dw / peak, markers[k % 5], ms=4, mfc="none",
                    label=f"sim, τ_pot/T = {ratio:g} (dev {100 * curve.deviation:.2g} %)")
    ax_eq1.plot(xf, np.asarray(triangle_law(fine, T) / T), "k-", lw=1,
                label="(T − |Δ|)₊ / T  (eq. 5)")
    ax_eq1.set_title("eq. 1 as written (fast propagation)")
    for k, curve in enumerate(c for c in ungated if c.variant == "filtered"):
        peak = curve.law.max()
        ratio = float(curve.tau_pot / T)
        line = ax_filt.plot(xf, np.asarray(eq4_law(fine, T, curve.tau_pot) / curve.tau_pot)
                            / peak, "-", lw=1, label=f"eq. 4, τ_pot/T = {ratio:g}")[0]
        ax_filt.plot(x, curve.minus_dw / peak, markers[k % 5], ms=4, mfc="none",
                     color=line.get_color(), label=f"sim (dev {100 * curve.deviation:.2g} %)")
    ax_filt.set_title("potentiation low-pass filtered with τ_pot, read at T")
    g = sweep.find("gated")
    peak = g.law.max()
    ax_gate.plot(xf, np.asarray(gated_law(fine, T, g.tau_elig, None, None) / g.tau_pot) / peak,
                 "-", color="C3", lw=1, label="gated_law")
    ax_gate.plot(x, g.minus_dw / peak, "o", ms=4, mfc="none", color="C3",
                 label=f"sim (dev {100 * g.deviation:.2g} %)")
    tri = np.asarray(triangle_law(fine, T) / T)
    ax_gate.plot(xf, tri * tri.max() ** -1, ":", color="0.5", lw=1, label="ungated (T − |Δ|)₊")
    ax_gate.set_title(f"eligibility-gated, τ_elig = {format_time(g.tau_elig)}")
    ref = [c for c in sweep.curves if c.variant == "eq1" and float(c.tau_prop) == 0][-1]
    peak = ref.law.max()
    ax_prop.plot(x, ref.minus_dw / peak, "k-", lw=1, label="τ_prop = 0 (direct)")
    for k, curve in enumerate(c for c in sweep.curves if float(c.tau_prop) > 0):
        line = ax_prop.plot(x, curve.law / peak, "-", lw=1, color=f"C{k + 1}",
                            label=f"τ_prop = {format_time(curve.tau_prop)}")[0]
        ax_prop.plot(x, curve.minus_dw / peak, markers[(k + 1) % 5], ms=3, mfc="none",
                     color=line.get_color())
    ax_prop.set_title(f"finite propagation (τ_prop hops: input {sweep.hops[0]}, "
                      f"error {sweep.hops[1]})")
    for ax in (ax_eq1, ax_filt, ax_gate, ax_prop):
        ax.axhline(0, color="0.8", lw=0.5)
        ax.axvline(0, color="0.8", lw=0.5)
        ax.set_ylabel("−ΔW / peak")
        ax.legend(fontsize=7, loc="upper left")
    for ax in (ax_gate, ax_prop):
        ax.set_xlabel("error delay Δ / T")
    fig.suptitle(f"Weight change vs input–error delay (T = {format_time(T)}; points: Brian2, "
                 "lines: laws)", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def traces_block(sweep, params):
    """Put the recorded traces into a `neo.Block` (time from input onset, parameters annotated).

    Returns
    -------
    neo.Block
        One `neo.AnalogSignal` per circuit and variable (``ungated.-w``, ``gated.E``, …),
        dimensionless, with ``array_annotations`` ``variant``, ``delay_ms``, ``tau_pot_s``,
        ``tau_prop_ms`` per channel; block annotations hold the parameters, unit in the key.
    """
    import neo
    import quantities as pq

    from ctfa_brian.neo_io import protocol_annotations

    annotations = protocol_annotations(params, protocol=NAME,
                                       t_read_ms=float(sweep.t_read / ms))
    block = neo.Block(name="ctfa_brian overlap",
                      description="overlap protocol: W, E, input and error traces; "
                                  "time from input onset", **annotations)
    segment = neo.Segment(name="overlap")
    block.segments.append(segment)
    for key, trace in sweep.traces.items():
        t_ms = np.asarray(trace["t"] / ms)
        channels = trace["channels"]
        signal = neo.AnalogSignal(
            np.asarray(trace["values"], float).T, units=pq.dimensionless,
            sampling_period=float(params["record_dt"] / ms) * pq.ms,
            t_start=float(t_ms[0]) * pq.ms, name=key.replace(".w", ".minus_w"),
            array_annotations={
                "variant": np.array([c["variant"] for c in channels]),
                "delay_ms": np.array([float(c["delay"] / ms) for c in channels]),
                "tau_pot_s": np.array([float(c["tau_pot"] / second) for c in channels]),
                "tau_prop_ms": np.array([float(c["tau_prop"] / ms) for c in channels]),
            },
            circuit=key.split(".")[0], variable=trace["variable"],
        )
        segment.analogsignals.append(signal)
    block.check_relationships()
    return block


def run(params, out_dir):
    """Simulate the sweep and write ``table.csv``, ``overlap.png`` and ``traces.nix``.

    With ``variant = "spiking"``: Poisson input and error spikes into the package's spiking
    synapses (`ctfa_brian.protocols._spiking_synapse.overlap_spiking`), ``n_trials`` per delay;
    writes ``table.csv``, ``overlap.png`` and ``spikes.nix`` (one Segment per delay).

    Parameters
    ----------
    params : dict
        Validated parameters.
    out_dir : Path
        Existing output directory.

    Returns
    -------
    dict
        Deviations from each law (% of its peak), the gated ratios, the propagation summary,
        ``checks``, ``passed``, ``files`` and ``timings_s`` (see `_summary`).
    """
    from pathlib import Path

    from ctfa_brian.neo_io import neo_suffix, save_neo

    out_dir = Path(out_dir)
    if params["variant"] == "spiking":
        from ctfa_brian.protocols._spiking_report import run_overlap

        return run_overlap(params, out_dir, delays_of(params))
    sweep = simulate(params)
    results = _summary(sweep, params)
    start = time.perf_counter()
    files = {"table": write_table(sweep, out_dir / "table.csv"),
             "figure": plot(sweep, out_dir / "overlap.png"),
             "traces": save_neo(traces_block(sweep, params), out_dir / f"traces{neo_suffix()}")}
    results["files"] = {k: str(v) for k, v in files.items()}
    results["timings_s"] = {**sweep.timings, "write": time.perf_counter() - start}
    for entry in results["ungated"]:
        logger.debug(f"overlap: {entry['variant']} τ_pot/T = {entry['tau_pot_ratio']:g}: "
                    f"{entry['max_deviation_percent']:.3g} % of peak from {entry['law']}")
    return results
