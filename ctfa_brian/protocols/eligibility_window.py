"""The eligibility-window protocol: ΔW of a paired synapse vs the delay of a modulatory burst.

This mimics Yagishita et al. 2014 (Science 345:1616, Fig. 1I–O): a spine receives a 1 s
pre/post pairing (glutamate uncaging + spikes) and a dopamine burst (optogenetic, 30 Hz × 10
pulses) at a delay d *after the onset of the pairing*; the spine enlarged only for 0.3 s ≲ d ≲
2 s (significant at +0.6 s and +1 s, absent at −1 s and +5 s). The package's eligibility gate
(`ctfa_brian.equations.GATED_FORWARD_SYNAPSE` with `~ctfa_brian.equations.eligibility_update`
``("pre")``) with τ_elig = 1 s and a dopamine trace τ_d = 200 ms (Izhikevich 2007) shows this
window; the ungated synapse (`~ctfa_brian.equations.FORWARD_SYNAPSE`) only sees the overlap.

**Reference point.** d is measured from the pairing **onset** to the burst onset, as in
Yagishita's Fig. 1K–M ("… s after STDP onset"): d = 0 means that burst and pairing start
together, d = 1 s (with the default 1 s pairing) that the burst starts as the pairing ends.
Delays measured from the end of the pairing are d − ``pairing_duration`` here.

One synapse per delay (and per τ_elig), all in one Brian2 `Network` and one ``run``:

.. math::

    x(t) = \\mathbb{1}[0 \\le t < P]
    \\qquad u(t) = \\sum_{k=0}^{n-1} \\mathbb{1}[d + k/r \\le t < d + k/r + w]

    \\tau_{elig}\\,\\dot E = -E + x \\qquad \\tau_d\\,\\dot D = -D + u

    \\dot W_{gated} = E\\,D/\\tau_{pot} \\qquad \\dot W_{ungated} = x\\,D/\\tau_{pot}

with P = ``pairing_duration``, r = ``burst_rate``, n = ``burst_pulses``, w = ``pulse_width``
(τ_d = 0: D = u, the pulses act directly). The burst is a reward-like, *positive* modulator:
in the model's sign convention (dW/dt = −E ε/τ_pot, ε the error) it is the error ε = −D, so
ΔW > 0 is potentiation. W has no passive decay here (τ_dec = 10¹² s). W is read at
``trial_duration`` after the pairing onset, when D has decayed (checked).

**Law.** E = x ∗ h_elig and D = u ∗ h_d with h_τ(t) = e^{−t/τ}/τ (t ≥ 0), so
ΔW τ_pot = ∫ E D dt = ∬ x(a) u(b) C(a − b) da db with the two-sided kernel

.. math::

    C(s) = \\frac{1}{\\tau_{elig} + \\tau_d}
           \\begin{cases} e^{-s/\\tau_d} & s \\ge 0 \\\\ e^{s/\\tau_{elig}} & s < 0 \\end{cases}

(s < 0: the pulse comes after the input, seen through the eligibility trace; s ≥ 0: the input
comes after the pulse, seen through the dopamine trace). For boxes [a₀, a₁) and [b₀, b₁) the
double integral is G(a₁−b₀) − G(a₀−b₀) − G(a₁−b₁) + G(a₀−b₁) with G'' = C:

.. math::

    G(s) = \\frac{\\tau_d\\,\\varphi_{\\tau_d}(s)\\,[s \\ge 0]
                 + \\tau_{elig}\\,\\varphi_{\\tau_{elig}}(-s)\\,[s < 0]}{\\tau_{elig} + \\tau_d},
    \\qquad \\varphi_\\tau(s) = s - \\tau\\,(1 - e^{-s/\\tau})

summed over the n pulses (`window_law`; exact, and the ungated rule is τ_elig = 0).
`fit_tau_elig` fits A · law(d; τ_elig) to a ΔW(d) curve: the amplitude A in closed form
(least squares), τ_elig by a log-spaced grid search refined by a bounded 1-D minimisation.
"""

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    Quantity,
    StateMonitor,
    Synapses,
    TimedArray,
    ms,
    second,
)
from brian2.utils.logger import get_logger

from ctfa_brian import equations as eq
from ctfa_brian.io import atomic_path
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.runner import Parameter

__all__ = [
    "DATA_DELAY_COLUMNS",
    "FitResult",
    "NAME",
    "PARAMETERS",
    "Window",
    "burst_duration",
    "check",
    "fit_data",
    "fit_tau_elig",
    "plot",
    "pulse_offsets",
    "pulse_train",
    "read_data",
    "run",
    "simulate",
    "traces_block",
    "window_law",
    "write_table",
]

logger = get_logger(__name__)

NAME = "eligibility_window"

_DEFAULT_DELAYS = tuple(v * second for v in (-2, -1, 0, 0.3, 0.6, 1, 2, 5))

PARAMETERS = {
    "pairing_duration": Parameter("time", 1 * second, "P: pre/post pairing, x = 1 on [0, P)",
                                  gt=0 * ms),
    "delays": Parameter("times", _DEFAULT_DELAYS,
                        "burst onset d, measured from the pairing ONSET (d = 0: both start "
                        "together)"),
    "burst_rate": Parameter("float", 30.0, "pulse rate of the modulatory burst, in Hz",
                            gt=0, le=10000),
    "burst_pulses": Parameter("int", 10, "number of pulses in the burst", ge=1, le=100000),
    "pulse_width": Parameter("time", 5 * ms, "duration of one pulse (u = 1 during it)",
                             gt=0 * ms),
    "tau_elig": Parameter("time", 1 * second, "eligibility trace τ_elig of the gated synapse",
                          gt=0 * ms),
    "tau_dopamine": Parameter("time", 200 * ms, "dopamine trace τ_d the pulses pass through "
                              "(0: the pulses drive W directly)", ge=0 * ms),
    "tau_pot": Parameter("time", 1 * second, "dW/dt = E D/τ_pot (sets the scale of ΔW only)",
                         gt=0 * ms),
    "trial_duration": Parameter("time", 8 * second, "W is read this long after the pairing "
                                "onset; every burst and its dopamine tail must end before",
                                gt=0 * ms),
    "tau_elig_checks": Parameter("times", (0.3 * second, 1 * second, 3 * second),
                                 "gated curves also simulated (same run) and fitted back: the "
                                 "fit's self-check", gt=0 * ms),
    "data": Parameter("str", "", "CSV of measured ΔW(d) to fit τ_elig to (columns delay_s,dw "
                      "or delay_ms,dw); empty: none"),
    "dt": Parameter("time", 1 * ms, "integration step (≤ pulse_width, ≤ τ_d/10; P and "
                    "pulse_width whole multiples of it)", gt=0 * ms),
    "record_dt": Parameter("time", 10 * ms, "sampling period of the saved traces", gt=0 * ms),
    "variant": Parameter("str", "rate", "rate: one synapse per delay; spiking: Poisson pairing "
                         "spikes and modulatory spikes at max_rate·D(t) into the package's "
                         "spiking synapses, n_trials per delay", choices=("rate", "spiking")),
    "max_rate_hz": Parameter("float", 100.0, "spiking: presynaptic rate during the pairing "
                             "(x = 1) and the modulatory rate at D = 1, Hz", gt=0, le=1000),
    "n_trials": Parameter("int", 200, "spiking: independent synapses (trials) per delay",
                          ge=2, le=100_000),
    "spike_tau_prop": Parameter("time", 10 * ms, "spiking: τ_prop of the modulatory trace the "
                                "ungated synapse reads", gt=0 * ms),
}

#: The issue's thresholds, as fractions of the gated peak (τ_elig = 1 s): potentiation at
#: +0.6 s and +1 s (≥ LATE_MIN), none at −1 s (≤ EARLY_MAX), less than FAR_MAX at +5 s.
LATE_MIN, EARLY_MAX, FAR_MAX = 0.3, 0.02, 0.2
#: Largest relative error of a fitted τ_elig in the self-check.
FIT_TOLERANCE = 0.10
#: Largest |simulation − law| as a fraction of the peak.
LAW_TOLERANCE = 0.01
#: Yagishita et al. 2014, Fig. 1O: delays (s) with significant spine enlargement, and without.
YAGISHITA_SIGNIFICANT = (0.6, 1.0)
YAGISHITA_ABSENT = (-1.0, 5.0)
YAGISHITA_WINDOW = (0.3, 2.0)
#: Parameters stored in seconds in the Neo annotations (``pairing_duration_s``, ...).
WINDOW_SECONDS = ("tau_pot", "trial_duration", "pairing_duration")
#: Columns of a data file: one delay column (unit in the name) and ``dw``.
DATA_DELAY_COLUMNS = {"delay_s": 1.0, "delay_ms": 1e-3}
DATA_VALUE_COLUMN = "dw"
#: Range of the τ_elig fit (seconds) and its grid.
FIT_BOUNDS = (0.01, 100.0)
_FIT_GRID = 161
#: The dopamine trace must have decayed for this many τ_d before W is read.
_TAIL_TAUS = 10
_MAX_STEPS = 5_000_000
#: Passive decay of W: none in this protocol (the synapse equations need a value).
_NO_DECAY = 1e12 * second
# Scheduling inside the 'groups' slot, as in `ctfa_brian.network` and the overlap protocol:
# W from the state at t (0.5), then the trace E (0.75), then the dopamine trace D (1).
_SYNAPSE_ORDER, _TRACE_ORDER, _NEURON_ORDER = 0.5, 0.75, 1


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def _s(value):
    return float(value / second) if isinstance(value, Quantity) else float(value)


def _steps(value, dt):
    return float(value / dt)


def _whole(name, value, dt):
    steps = _steps(value, dt)
    if abs(steps - round(steps)) > 1e-6:
        raise ValueError(f"{name} = {format_time(value)} is not a whole number of steps of "
                         f"dt = {format_time(dt)}; choose a multiple of dt")
    return int(round(steps))


def burst_duration(params):
    """Return the burst's duration, from the first pulse onset to the end of the last pulse."""
    return ((params["burst_pulses"] - 1) / params["burst_rate"]) * second + params["pulse_width"]


def check(params):
    """Check the schedule and the data file before anything is written.

    Raises
    ------
    ValueError
        An impossible schedule: a pulse as long as the gap between pulse onsets
        (``pulse_width`` ≥ 1/``burst_rate``); a burst that does not fit between its onset and
        the read-out (``delays[k]`` + burst + 10 ``tau_dopamine`` > ``trial_duration``); a
        read-out before the pairing ends. ``dt`` too coarse or not dividing ``pairing_duration``
        / ``pulse_width``; two delays on the same step; too many steps. A ``data`` file that
        is missing, lacks a column, holds a non-number or NaN, or has fewer than 3 points
        (see `read_data`). Every message names the key(s).
    """
    dt, P = params["dt"], params["pairing_duration"]
    rate, pulses, width = params["burst_rate"], params["burst_pulses"], params["pulse_width"]
    tau_d, T_trial = params["tau_dopamine"], params["trial_duration"]
    period = second / rate
    if pulses > 1 and not width < period:
        raise ValueError(f"impossible schedule: pulse_width = {format_time(width)} is not "
                         f"shorter than the gap between pulse onsets, 1/burst_rate = "
                         f"{format_time(period)} (burst_rate = {rate:g} Hz): the pulses would "
                         "merge; shorten pulse_width or lower burst_rate")
    if not dt <= width:
        raise ValueError(f"dt = {format_time(dt)} is too coarse for pulse_width = "
                         f"{format_time(width)}; it must be ≤ pulse_width")
    if float(tau_d) > 0 and not dt * 10 <= tau_d:
        raise ValueError(f"dt = {format_time(dt)} is too coarse for tau_dopamine = "
                         f"{format_time(tau_d)}; it must be ≤ tau_dopamine/10 "
                         f"(= {format_time(tau_d / 10)})")
    _whole("pulse_width", width, dt)
    _whole("pairing_duration", P, dt)
    if params["record_dt"] < dt:
        raise ValueError(f"record_dt = {format_time(params['record_dt'])} is shorter than "
                         f"dt = {format_time(dt)}; it must be ≥ dt")
    if T_trial < P:
        raise ValueError(f"trial_duration = {format_time(T_trial)} ends before the pairing "
                         f"(pairing_duration = {format_time(P)}); W is read after the pairing")
    burst = burst_duration(params)
    tail = _TAIL_TAUS * tau_d
    k = int(np.argmax([_s(d) for d in params["delays"]]))  # the latest burst
    d = params["delays"][k]
    if d + burst + tail > T_trial:
        gap = T_trial - d
        left = (f"leaves {format_time(gap)} after its onset" if float(gap) > 0
                else "ends before its onset")
        raise ValueError(
            f"impossible schedule: the burst at delays[{k}] = {format_time(d)} is longer "
            f"than the gap to the read-out: it lasts {format_time(burst)} (burst_pulses = "
            f"{pulses} at burst_rate = {rate:g} Hz, pulse_width = {format_time(width)})"
            + (f" and its dopamine trace needs {_TAIL_TAUS} × tau_dopamine = "
               f"{format_time(tail)} more" if float(tail) else "")
            + f", but trial_duration = {format_time(T_trial)} {left}; raise "
            f"trial_duration to ≥ "
            f"{format_time(d + burst + tail)} or drop that delay")
    steps = np.round(np.asarray([_steps(d, dt) for d in params["delays"]])).astype(int)
    if len(set(steps.tolist())) < len(steps):
        raise ValueError(f"delays = {[format_time(d) for d in params['delays']]} has two delays "
                         f"on the same step of dt = {format_time(dt)}; remove the duplicate")
    start = min(0.0, min(_s(d) for d in params["delays"]))
    n_steps = (_s(T_trial) - start) / _s(dt)
    if n_steps > _MAX_STEPS:
        raise ValueError(f"trial_duration = {format_time(T_trial)} from the earliest delay is "
                         f"{n_steps:.3g} steps of dt = {format_time(dt)} (at most "
                         f"{_MAX_STEPS:.0e}); raise dt or shorten the schedule")
    if params["variant"] == "spiking":
        p_max = params["max_rate_hz"] * _s(dt)
        if p_max > 0.1:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for max_rate_hz = "
                             f"{params['max_rate_hz']:g}: a spike probability of {p_max:g} per "
                             "step; it must be ≤ 0.1 (dt ≤ 0.1/max_rate)")
        if not dt * 5 < params["spike_tau_prop"]:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for spike_tau_prop = "
                             f"{format_time(params['spike_tau_prop'])}; it must be < "
                             "spike_tau_prop/5")
        if params["data"]:
            raise ValueError("data: fitting measured ΔW(d) is done by the rate variant "
                             "(variant = 'rate'); the spiking variant has no fit")
    if params["data"]:
        read_data(params["data"])
    return params


# ----------------------------------------------------------------------------------------
# Data files
# ----------------------------------------------------------------------------------------
def read_data(path):
    """Read measured ΔW(d) from a CSV file and check it.

    The file has a header line with a delay column, ``delay_s`` (seconds) or ``delay_ms``
    (milliseconds), measured from the pairing onset like the protocol's ``delays``, and a
    ``dw`` column (any unit: the fit has a free amplitude). Other columns, blank lines and
    lines starting with ``#`` are ignored.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    delays : Quantity
        One per row, in seconds.
    dw : ndarray

    Raises
    ------
    ValueError
        The file is missing or unreadable, lacks a delay column or ``dw`` (or has both delay
        columns), a cell is empty, not a number, NaN or infinite (the message gives the line),
        there are fewer than 3 rows or 3 distinct delays, or no ``dw`` is positive. Every
        message starts with ``data file '<path>':``.
    """
    where = f"data file {str(path)!r}"
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{where}: no such file (key 'data')")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{where}: cannot be read as UTF-8 text: {err}") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ValueError(f"{where}: is empty; expected a header line 'delay_s,dw' and rows")
    rows = list(csv.reader([line for _, line in lines]))
    header = [h.strip() for h in rows[0]]
    delay_columns = [c for c in DATA_DELAY_COLUMNS if c in header]
    if not delay_columns:
        raise ValueError(f"{where}: missing column 'delay_s' (or 'delay_ms'); the header is "
                         f"{','.join(header)!r}, expected e.g. 'delay_s,dw'")
    if len(delay_columns) > 1:
        raise ValueError(f"{where}: has both 'delay_s' and 'delay_ms'; keep one")
    if DATA_VALUE_COLUMN not in header:
        raise ValueError(f"{where}: missing column 'dw'; the header is {','.join(header)!r}, "
                         "expected e.g. 'delay_s,dw'")
    delay_column = delay_columns[0]
    columns = {name: header.index(name) for name in (delay_column, DATA_VALUE_COLUMN)}
    delays, values = [], []
    for (number, _), row in zip(lines[1:], rows[1:]):
        parsed = {}
        for name, index in columns.items():
            cell = row[index].strip() if index < len(row) else ""
            if not cell:
                raise ValueError(f"{where}: line {number}: {name} is empty")
            try:
                value = float(cell)
            except ValueError:
                raise ValueError(f"{where}: line {number}: {name} = {cell!r} is not a "
                                 "number") from None
            if np.isnan(value):
                raise ValueError(f"{where}: line {number}: {name} is NaN")
            if not np.isfinite(value):
                raise ValueError(f"{where}: line {number}: {name} = {cell} is not finite")
            parsed[name] = value
        delays.append(parsed[delay_column] * DATA_DELAY_COLUMNS[delay_column])
        values.append(parsed[DATA_VALUE_COLUMN])
    if len(values) < 3:
        raise ValueError(f"{where}: has {len(values)} data row(s); the fit of τ_elig and an "
                         "amplitude needs at least 3")
    if len(set(delays)) < 3:
        raise ValueError(f"{where}: has only {len(set(delays))} distinct delay(s); the fit "
                         "needs at least 3")
    values = np.asarray(values, float)
    if not np.any(values > 0):
        raise ValueError(f"{where}: no dw is positive; the fit expects potentiation "
                         "(dw > 0) somewhere in the window")
    return np.asarray(delays, float) * second, values


# ----------------------------------------------------------------------------------------
# Law and fit
# ----------------------------------------------------------------------------------------
def _phi(s, tau):
    """s − τ (1 − e^{−s/τ}) for s ≥ 0 (s itself for τ = 0)."""
    if tau == 0:
        return s
    return s + tau * np.expm1(-s / tau)


def _antiderivative(s, tau_e, tau_d):
    """G with G'' = C (the two-sided kernel); |s|/2 when both traces are off (C = δ)."""
    if tau_e + tau_d == 0:
        return 0.5 * np.abs(s)
    pos, neg = np.maximum(s, 0.0), np.maximum(-s, 0.0)
    return (tau_d * _phi(pos, tau_d) + tau_e * _phi(neg, tau_e)) / (tau_e + tau_d)


def pulse_offsets(burst_rate, burst_pulses, dt=None):
    """Pulse onsets from the burst onset, in seconds (rounded to the dt grid if dt is given)."""
    offsets = np.arange(burst_pulses) / float(burst_rate)
    if dt is not None:
        step = _s(dt)
        offsets = np.round(offsets / step) * step
    return offsets


def _law_seconds(d, tau_e, P, offsets, width, tau_d):
    d = np.atleast_1d(np.asarray(d, float))[:, None]
    b0 = d + np.asarray(offsets, float)[None, :]
    b1 = b0 + width

    def G(s):
        return _antiderivative(s, tau_e, tau_d)

    return np.sum(G(P - b0) - G(-b0) - G(P - b1) + G(-b1), axis=1)


def window_law(delays, tau_elig, pairing_duration=1 * second, burst_rate=30.0, burst_pulses=10,
               pulse_width=5 * ms, tau_dopamine=200 * ms, offsets=None):
    """Return ∫ E D dt (= ΔW τ_pot) for bursts at ``delays``, exactly.

    Parameters
    ----------
    delays : Quantity
        Burst onsets, from the pairing onset.
    tau_elig : Quantity
        Eligibility trace; ``0 * second`` gives the ungated rule (∫ x D dt).
    pairing_duration, pulse_width, tau_dopamine : Quantity
        As the protocol's parameters (τ_d = 0: the pulses drive W directly).
    burst_rate : float
        In Hz.
    burst_pulses : int
    offsets : array, optional
        Pulse onsets from the burst onset in seconds (default k/burst_rate; the simulation
        passes them rounded to its dt grid).

    Returns
    -------
    Quantity
        In seconds, shape of ``delays``; ΔW of the protocol's synapse is this / τ_pot.
    """
    offsets = pulse_offsets(burst_rate, burst_pulses) if offsets is None else offsets
    d = np.asarray(delays / second if isinstance(delays, Quantity) else delays, float)
    out = _law_seconds(d.ravel(), _s(tau_elig), _s(pairing_duration), offsets, _s(pulse_width),
                       _s(tau_dopamine))
    return out.reshape(d.shape) * second


@dataclass
class FitResult:
    """A fit of A · `window_law` (d; τ_elig) to ΔW(d).

    Attributes
    ----------
    tau_elig : Quantity
        The fitted eligibility time constant.
    amplitude : float
        A, in ΔW per second of the law (1/τ_pot for the protocol's own curves).
    rmse : float
        Root-mean-square residual, in the units of ΔW.
    r_squared : float
        1 − SS_res/SS_tot (NaN if every ΔW is equal).
    n_points : int
    at_bound : bool
        The best τ_elig lies at an end of the fitted range: the data do not constrain it.
    model : callable
        ``model(delays)`` → fitted ΔW (ndarray) at any delays.
    """

    tau_elig: Quantity
    amplitude: float
    rmse: float
    r_squared: float
    n_points: int
    at_bound: bool
    model: object = field(default=None, repr=False)

    def summary(self):
        """Return the fit as JSON-ready numbers."""
        return {"tau_elig_s": _s(self.tau_elig), "tau_elig": format_time(self.tau_elig),
                "amplitude_per_s": self.amplitude,
                "tau_pot_equivalent_s": (1 / self.amplitude if self.amplitude > 0 else None),
                "rmse": self.rmse, "r_squared": self.r_squared, "n_points": self.n_points,
                "at_bound": self.at_bound}


def fit_tau_elig(delays, dw, pairing_duration=1 * second, burst_rate=30.0, burst_pulses=10,
                 pulse_width=5 * ms, tau_dopamine=200 * ms, bounds=FIT_BOUNDS):
    """Fit τ_elig (and an amplitude) of the gated rule's ΔW(d) curve to ``dw``.

    The model is A · `window_law` (d; τ_elig) with the schedule given here. For every τ_elig
    the best A is the least-squares one, A = Σ L y / Σ L²; τ_elig is chosen on a log-spaced
    grid over ``bounds`` and refined by a bounded 1-D minimisation (Brent) of the residual
    sum of squares in log τ_elig.

    Parameters
    ----------
    delays : Quantity or array of seconds
        Burst onsets from the pairing onset.
    dw : array
        ΔW at those delays (any scale).
    pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine
        The schedule, as the protocol's parameters.
    bounds : (float, float)
        Range of τ_elig in seconds.

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        Fewer than 3 points, NaN, or shapes that differ.
    """
    from scipy.optimize import minimize_scalar

    d = np.asarray(delays / second if isinstance(delays, Quantity) else delays, float).ravel()
    y = np.asarray(dw, float).ravel()
    if d.shape != y.shape:
        raise ValueError(f"delays ({d.size}) and dw ({y.size}) differ in length")
    if y.size < 3 or not (np.all(np.isfinite(d)) and np.all(np.isfinite(y))):
        raise ValueError("fit_tau_elig needs at least 3 finite (delay, dw) points")
    offsets = pulse_offsets(burst_rate, burst_pulses)
    schedule = (_s(pairing_duration), offsets, _s(pulse_width), _s(tau_dopamine))

    def solve(log_tau):
        law = _law_seconds(d, float(np.exp(log_tau)), *schedule)
        norm = float(law @ law)
        amplitude = float(law @ y) / norm if norm > 0 else 0.0
        return float(np.sum((y - amplitude * law) ** 2)), amplitude

    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    grid = np.linspace(lo, hi, _FIT_GRID)
    sse = np.array([solve(g)[0] for g in grid])
    best = int(np.argmin(sse))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    refined = minimize_scalar(lambda g: solve(g)[0], bounds=(left, right), method="bounded",
                              options={"xatol": 1e-7})
    log_tau = float(refined.x) if refined.fun <= sse[best] else float(grid[best])
    residual, amplitude = solve(log_tau)
    tau = float(np.exp(log_tau))
    total = float(np.sum((y - y.mean()) ** 2))
    step = grid[1] - grid[0]

    def model(at):
        at_s = np.asarray(at / second if isinstance(at, Quantity) else at, float)
        return amplitude * _law_seconds(at_s.ravel(), tau, *schedule).reshape(at_s.shape)

    return FitResult(tau * second, amplitude, float(np.sqrt(residual / y.size)),
                     1 - residual / total if total > 0 else float("nan"), int(y.size),
                     bool(log_tau - lo < step or hi - log_tau < step), model)


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
@dataclass
class Window:
    """Everything `simulate` computed.

    Attributes
    ----------
    delays : Quantity
        Burst onsets from the pairing onset, on the dt grid, shape (n_delays,).
    offsets : ndarray
        Pulse onsets from the burst onset in seconds, on the dt grid.
    tau_eligs : Quantity
        τ_elig of the gated curves; the first is the protocol's ``tau_elig``.
    gated : ndarray
        Simulated ΔW, shape (len(tau_eligs), n_delays).
    gated_law : ndarray
        `window_law` / τ_pot at the same points.
    ungated, ungated_law : ndarray
        Shape (n_delays,).
    t_read : Quantity
        When W was read, from the pairing onset.
    traces : dict
        ``{name: {"t": Quantity (from pairing onset), "values": ndarray (channels, times),
        "delays": Quantity or None}}``: ``gated.E``, ``gated.w``, ``gated.D``, ``ungated.w``
        (every delay, main τ_elig) and ``pairing.x``.
    timings : dict
        ``build`` and ``run`` in seconds.
    """

    delays: Quantity
    offsets: np.ndarray
    tau_eligs: Quantity
    gated: np.ndarray
    gated_law: np.ndarray
    ungated: np.ndarray
    ungated_law: np.ndarray
    t_read: Quantity
    traces: dict
    timings: dict

    @property
    def peak(self):
        """Largest simulated gated ΔW of the main τ_elig over the delays."""
        return float(np.max(self.gated[0]))

    def index(self, delay):
        """Index of the delay equal to ``delay`` (within half a millisecond), else None."""
        d = np.asarray(self.delays / second)
        k = int(np.argmin(np.abs(d - _s(delay))))
        return k if abs(d[k] - _s(delay)) < 5e-4 else None

    def deviation(self):
        """Largest |simulation − law| over every curve, as a fraction of the gated peak."""
        worst = max(np.max(np.abs(self.gated - self.gated_law)),
                    np.max(np.abs(self.ungated - self.ungated_law)))
        return float(worst / np.max(np.abs(self.gated_law[0])))


def _tau_list(params):
    main = params["tau_elig"]
    taus = [main] + [t for t in params["tau_elig_checks"] if abs(_s(t) - _s(main)) > 1e-12]
    unique = []
    for tau in taus:
        if all(abs(_s(tau) - _s(u)) > 1e-12 for u in unique):
            unique.append(tau)
    return unique


def _modulator_equations(tau_d):
    drive = "D = u : 1\n" if float(tau_d) == 0 else "D : 1\n"
    return ("u = stim_u(t, burst) : 1\n" + drive + """eps = -D : 1
a : 1
learn : 1 (constant)
burst : integer (constant)
tau_pot_w : second (constant)
tau_dec_w : second (constant)
tau_elig : second (constant)
""")


def _modulator(name, n, burst, params, namespace, tau_elig=None):
    dt, tau_d = params["dt"], params["tau_dopamine"]
    group = NeuronGroup(n, _modulator_equations(tau_d), namespace=namespace, dt=dt,
                        order=_NEURON_ORDER, name=name)
    if float(tau_d) > 0:  # exact for u held over one step
        group.run_regularly("D = u + (D - u)*exp(-dt/tau_d)", when="groups",
                            order=_NEURON_ORDER, name=f"{name}_dopamine")
    group.burst = burst
    group.learn = 1
    group.tau_pot_w = params["tau_pot"]
    group.tau_dec_w = _NO_DECAY
    group.tau_elig = params["tau_elig"] if tau_elig is None else tau_elig
    return group


def pulse_train(params):
    """The burst of every delay on the step grid.

    Returns
    -------
    tuple
        ``(d_steps, offsets, on_steps, u)``: the delays in steps, the pulse onsets within a
        burst (seconds), the pairing onset in steps (so that every burst starts at t ≥ 0) and
        u, shape (steps, delays): 1 during a pulse.
    """
    dt = params["dt"]
    dt_s = _s(dt)
    d_steps = np.round(np.asarray([_s(d) for d in params["delays"]]) / dt_s).astype(int)
    offsets = pulse_offsets(params["burst_rate"], params["burst_pulses"], dt)
    off_steps = np.round(offsets / dt_s).astype(int)
    width_steps = int(round(_s(params["pulse_width"]) / dt_s))
    on_steps = max(0, -int(d_steps.min()))
    n_total = on_steps + int(round(_s(params["trial_duration"]) / dt_s))
    u = np.zeros((n_total, len(d_steps)))
    for k, ds in enumerate(d_steps):
        for o in off_steps:
            first = on_steps + ds + o
            u[first:first + width_steps, k] += 1.0
    return d_steps, offsets, on_steps, u


def simulate(params):
    """Simulate every synapse (gated per τ_elig and delay, ungated per delay) in one run.

    Parameters
    ----------
    params : dict
        Validated parameters (see `PARAMETERS` and `check`).

    Returns
    -------
    Window
    """
    dt, P = params["dt"], params["pairing_duration"]
    d_steps, offsets, on_steps, u = pulse_train(params)
    n_total, n = u.shape
    taus = _tau_list(params)
    n_tau = len(taus)
    namespace = {"t_on": on_steps * dt, "pairing": P, "tau_d": params["tau_dopamine"],
                 "stim_u": TimedArray(u, dt=dt)}

    start = time.perf_counter()
    pairing = NeuronGroup(1, "z = int(t >= t_on - 0.5*dt)*int(t < t_on + pairing - 0.5*dt) : 1",
                          namespace=namespace, dt=dt, order=_NEURON_ORDER, name="ew_pairing")
    g_post = _modulator("ew_gated_modulator", n_tau * n, np.tile(np.arange(n), n_tau), params,
                        namespace, np.repeat([_s(t) for t in taus], n) * second)
    u_post = _modulator("ew_ungated_modulator", n, np.arange(n), params, namespace)
    g_syn = Synapses(pairing, g_post, eq.GATED_FORWARD_SYNAPSE, method="euler",
                     namespace=namespace, dt=dt, order=_SYNAPSE_ORDER, name="ew_gated_W")
    g_syn.connect(i=np.zeros(n_tau * n, dtype=int), j=np.arange(n_tau * n))
    # after W's update, before the modulator: E(t + dt) from x(t), exactly
    g_syn.run_regularly(eq.eligibility_update("pre"), when="groups", order=_TRACE_ORDER,
                        name="ew_eligibility")
    u_syn = Synapses(pairing, u_post, eq.FORWARD_SYNAPSE, method="euler", namespace=namespace,
                     dt=dt, order=_SYNAPSE_ORDER, name="ew_ungated_W")
    u_syn.connect(i=np.zeros(n, dtype=int), j=np.arange(n))
    rec = {"dt": params["record_dt"], "when": "start"}
    main = list(range(n))  # the first τ_elig is the protocol's
    monitors = {
        "gated.E": StateMonitor(g_syn, "E", record=main, **rec),
        "gated.w": StateMonitor(g_syn, "w", record=main, **rec),
        "gated.D": StateMonitor(g_post, "D", record=main, **rec),
        "ungated.w": StateMonitor(u_syn, "w", record=main, **rec),
        "pairing.x": StateMonitor(pairing, "z", record=[0], **rec),
    }
    net = Network(pairing, g_post, u_post, g_syn, u_syn, *monitors.values(),
                  name="eligibility_window_network")
    built = time.perf_counter()
    logger.debug(f"eligibility_window: {len(g_syn) + len(u_syn)} synapses, {n_total} steps of "
                 f"{format_time(dt)}")
    net.run(n_total * dt, namespace={})
    finished = time.perf_counter()
    gated = np.asarray(g_syn.w[:], float).reshape(n_tau, n)
    ungated = np.asarray(u_syn.w[:], float)

    delays = d_steps * dt
    schedule = {"pairing_duration": P, "burst_rate": params["burst_rate"],
                "burst_pulses": params["burst_pulses"], "pulse_width": params["pulse_width"],
                "tau_dopamine": params["tau_dopamine"], "offsets": offsets}
    scale = _s(params["tau_pot"])
    gated_law = np.array([np.asarray(window_law(delays, tau, **schedule) / second) / scale
                          for tau in taus])
    ungated_law = np.asarray(window_law(delays, 0 * second, **schedule) / second) / scale
    traces = {}
    for key, monitor in monitors.items():
        var = key.split(".")[1]
        traces[key] = {"t": monitor.t - on_steps * dt,
                       "values": np.array(getattr(monitor, "z" if var == "x" else var), float),
                       "delays": None if key == "pairing.x" else delays}
    return Window(delays, offsets, np.array([_s(t) for t in taus]) * second, gated, gated_law,
                  ungated, ungated_law, n_total * dt - on_steps * dt, traces,
                  {"build": built - start, "run": finished - built})


# ----------------------------------------------------------------------------------------
# Results, table, figure, traces
# ----------------------------------------------------------------------------------------
def _schedule(params):
    return {"pairing_duration": params["pairing_duration"], "burst_rate": params["burst_rate"],
            "burst_pulses": params["burst_pulses"], "pulse_width": params["pulse_width"],
            "tau_dopamine": params["tau_dopamine"]}


def _law_peak(window, params):
    """Delay and normalised height of the gated law's maximum over a fine grid of delays."""
    d = np.asarray(window.delays / second)
    fine = np.arange(min(d.min(), 0.0) - 0.5, d.max() + 1.0, 0.005)
    law = np.asarray(window_law(fine, params["tau_elig"], **_schedule(params)) / second)
    law /= _s(params["tau_pot"])
    k = int(np.argmax(law))
    return float(fine[k]), float(law[k] / window.peak)


def fit_data(params):
    """Read ``params["data"]`` and fit τ_elig to it with the protocol's schedule."""
    delays, dw = read_data(params["data"])
    return delays, dw, fit_tau_elig(delays, dw, **_schedule(params))


def _summary(window, params, data_fit=None):
    d_s = np.asarray(window.delays / second)
    peak = window.peak
    norm = peak if peak > 0 else float("nan")
    gated, ungated = window.gated[0], window.ungated
    per_delay = [{"delay_s": float(d), "gated": float(g), "ungated": float(u),
                  "gated_normalised": float(g / norm), "ungated_normalised": float(u / norm),
                  "gated_law": float(gl), "ungated_law": float(ul)}
                 for d, g, u, gl, ul in zip(d_s, gated, ungated, window.gated_law[0],
                                            window.ungated_law)]
    fits = []
    for c, tau in enumerate(window.tau_eligs):
        if np.max(window.gated[c]) <= 0:
            fits.append({"tau_elig_s": _s(tau), "fitted_s": None, "error_percent": None})
            continue
        fit = fit_tau_elig(window.delays, window.gated[c], **_schedule(params))
        fits.append({"tau_elig_s": _s(tau), "fitted_s": _s(fit.tau_elig),
                     "error_percent": 100 * (_s(fit.tau_elig) / _s(tau) - 1),
                     "tau_pot_equivalent_s": fit.summary()["tau_pot_equivalent_s"],
                     "r_squared": fit.r_squared, "at_bound": fit.at_bound})
    targets = {}
    for label, delay, expected in (("-1 s", -1.0, f"none: |ΔW| ≤ {EARLY_MAX:g} × peak"),
                                   ("+0.6 s", 0.6, f"potentiation: ΔW ≥ {LATE_MIN:g} × peak"),
                                   ("+1 s", 1.0, f"potentiation: ΔW ≥ {LATE_MIN:g} × peak"),
                                   ("+5 s", 5.0, f"weak: ΔW < {FAR_MAX:g} × peak")):
        k = window.index(delay * second)
        if k is None:
            continue
        ratio = float(gated[k] / norm)
        ok = (abs(ratio) <= EARLY_MAX if delay < 0 else
              ratio < FAR_MAX if delay > 2 else ratio >= LATE_MIN)
        targets[label] = {"delay_s": delay, "gated_normalised": ratio,
                          "ungated_normalised": float(ungated[k] / norm),
                          "expected": expected, "ok": bool(ok)}
    after = d_s >= _s(params["pairing_duration"])
    law_peak_delay, law_peak = _law_peak(window, params)
    deviation = window.deviation()
    checks = {f"gated {label}: {entry['expected']}": entry["ok"]
              for label, entry in targets.items()}
    if np.any(after):
        checks["ungated: no ΔW for bursts after the pairing"] = bool(
            np.max(np.abs(ungated[after])) <= EARLY_MAX * peak)
    checks[f"fit recovers every simulated τ_elig within {100 * FIT_TOLERANCE:g} %"] = bool(
        all(f["error_percent"] is not None and abs(f["error_percent"]) <= 100 * FIT_TOLERANCE
            for f in fits))
    checks[f"simulation within {100 * LAW_TOLERANCE:g} % of window_law"] = bool(
        deviation <= LAW_TOLERANCE)
    results = {
        "protocol": NAME,
        "delay_reference": "pairing onset (d = 0: burst and pairing start together)",
        "sign": "ΔW > 0 is potentiation: dW/dt = E D/tau_pot (gated), x D/tau_pot (ungated)",
        "tau_elig": format_time(params["tau_elig"]),
        "tau_dopamine": format_time(params["tau_dopamine"]),
        "burst_duration": format_time(burst_duration(params)),
        "t_read": format_time(window.t_read),
        "delays_s": [float(d) for d in d_s],
        "peak": peak,
        "peak_delay_s": float(d_s[int(np.argmax(gated))]),
        "law_peak_delay_s": law_peak_delay,
        "law_peak_normalised": law_peak,
        "ratio_5s": targets.get("+5 s", {}).get("gated_normalised"),
        "per_delay": per_delay,
        "yagishita": targets,
        "max_deviation_percent": 100 * deviation,
        "fit": {"simulated": fits, "data": None},
        "checks": checks,
        "passed": all(checks.values()),
    }
    if data_fit is not None:
        delays, dw, fit = data_fit
        results["fit"]["data"] = {
            "file": str(Path(params["data"]).resolve()), **fit.summary(),
            "points": [{"delay_s": float(d), "dw": float(y), "fitted": float(m)}
                       for d, y, m in zip(np.asarray(delays / second), dw, fit.model(delays))],
        }
    return results


def write_table(window, path):
    """Write ΔW per variant, τ_elig and delay (CSV; units in the column names)."""
    norm = window.peak if window.peak > 0 else float("nan")
    rows = []
    curves = [("gated", tau, window.gated[c], window.gated_law[c])
              for c, tau in enumerate(window.tau_eligs)]
    curves.insert(1, ("ungated", None, window.ungated, window.ungated_law))
    for c, (variant, tau, dw, law) in enumerate(curves):
        own = np.max(dw) if np.max(dw) > 0 else float("nan")
        for k, delay in enumerate(window.delays):
            rows.append({
                "delay_s": f"{_s(delay):.6g}",
                "variant": variant,
                "tau_elig_s": "" if tau is None else f"{_s(tau):.6g}",
                "main": "1" if c <= 1 else "0",
                "dw": f"{dw[k]:.10g}",
                "dw_normalised": f"{dw[k] / (norm if c <= 1 else own):.8g}",
                "dw_law": f"{law[k]:.10g}",
            })
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def plot(window, params, path, data_fit=None):
    """Draw ΔW(d) (gated, ungated, Yagishita's delays), traces, the fit checks and the data."""
    from matplotlib.figure import Figure

    d = np.asarray(window.delays / second)
    schedule = _schedule(params)
    scale = _s(params["tau_pot"])
    fine = np.linspace(min(d.min(), 0.0) - 0.5, d.max() + 0.5, 801)
    peak = window.peak if window.peak > 0 else 1.0
    P = _s(params["pairing_duration"])
    fig = Figure(figsize=(11, 8), layout="constrained")
    (ax_win, ax_tr), (ax_fit, ax_data) = fig.subplots(2, 2)

    ax_win.axvspan(0, P, color="0.92", label="pairing")
    ax_win.axvspan(*YAGISHITA_WINDOW, ymax=0.04, color="C2", alpha=0.5,
                   label="Yagishita 2014: window 0.3–2 s")
    law = np.asarray(window_law(fine, params["tau_elig"], **schedule) / second) / scale
    ax_win.plot(fine, law / peak, "-", color="C3", lw=1,
                label=f"gated law, τ_elig = {format_time(params['tau_elig'])}")
    ax_win.plot(d, window.gated[0] / peak, "o", color="C3", mfc="none", label="gated (Brian2)")
    law_u = np.asarray(window_law(fine, 0 * second, **schedule) / second) / scale
    ax_win.plot(fine, law_u / peak, "--", color="C0", lw=1, label="ungated law (x D)")
    ax_win.plot(d, window.ungated / peak, "s", color="C0", mfc="none", ms=4,
                label="ungated (Brian2)")
    top = max(1.0, float(np.max(window.ungated / peak)))
    for x in YAGISHITA_SIGNIFICANT:
        ax_win.plot([x], [1.08 * top], "*", color="C2", ms=11)
    for x in YAGISHITA_ABSENT:
        ax_win.plot([x], [1.08 * top], "x", color="0.3", ms=7)
    ax_win.plot([], [], "*", color="C2", label="significant (+0.6, +1 s)")
    ax_win.plot([], [], "x", color="0.3", label="absent (−1, +5 s)")
    ax_win.axhline(0, color="0.7", lw=0.5)
    ax_win.set_xlabel("burst onset d from pairing onset (s)")
    ax_win.set_ylabel("ΔW / gated peak")
    ax_win.set_title(f"{params['burst_pulses']} pulses at {params['burst_rate']:g} Hz through "
                     f"τ_d = {format_time(params['tau_dopamine'])}")
    ax_win.legend(fontsize=7, loc="upper right")

    t = np.asarray(window.traces["gated.E"]["t"] / second)
    picks = [k for k in (window.index(-1 * second), window.index(1 * second),
                         window.index(5 * second)) if k is not None] or [int(np.argmax(d))]
    ax_tr.plot(t, window.traces["pairing.x"]["values"][0], color="0.6", lw=1, label="x (pairing)")
    ax_tr.plot(t, window.traces["gated.E"]["values"][0], color="C3", lw=1.5, label="E")
    for j, k in enumerate(picks):
        D = window.traces["gated.D"]["values"][k]
        W = window.traces["gated.w"]["values"][k]
        ax_tr.plot(t, D / max(np.max(D), 1e-12), color=f"C{j + 4}", lw=0.8,
                   label=f"D / max, d = {d[k]:g} s")
        ax_tr.plot(t, W / peak, color=f"C{j + 4}", lw=1.5, ls="--",
                   label=f"W / peak, d = {d[k]:g} s")
    ax_tr.set_xlabel("time from pairing onset (s)")
    ax_tr.set_title("traces (gated synapse)")
    ax_tr.legend(fontsize=7, loc="upper right")

    for c, tau in enumerate(window.tau_eligs):
        own = np.max(window.gated[c])
        if own <= 0:
            continue
        fit = fit_tau_elig(window.delays, window.gated[c], **schedule)
        line = ax_fit.plot(fine, fit.model(fine) / own, "-", lw=1,
                           label=f"τ_elig = {format_time(tau)}: fit {format_time(fit.tau_elig)}")[0]
        ax_fit.plot(d, window.gated[c] / own, "o", mfc="none", color=line.get_color())
    ax_fit.axvspan(0, P, color="0.92")
    ax_fit.set_xlabel("burst onset d (s)")
    ax_fit.set_ylabel("ΔW / own peak")
    ax_fit.set_title("fit of τ_elig to simulated curves")
    ax_fit.legend(fontsize=7)

    if data_fit is None:
        ax_data.text(0.5, 0.5, "no data given\n(--set data=FILE.csv, columns delay_s,dw)",
                     ha="center", va="center", transform=ax_data.transAxes, color="0.4")
        ax_data.set_axis_off()
    else:
        delays, dw, fit = data_fit
        dd = np.asarray(delays / second)
        span = np.linspace(min(dd.min(), 0.0) - 0.5, dd.max() + 0.5, 801)
        ax_data.axvspan(0, P, color="0.92")
        ax_data.plot(dd, dw, "o", color="k", label=f"data ({Path(params['data']).name})")
        ax_data.plot(span, fit.model(span), "-", color="C3",
                     label=f"fit: τ_elig = {format_time(fit.tau_elig)}, R² = {fit.r_squared:.3f}")
        ax_data.axhline(0, color="0.7", lw=0.5)
        ax_data.set_xlabel("burst onset d (s)")
        ax_data.set_ylabel("ΔW (data units)")
        ax_data.set_title("measured ΔW(d) and the fitted gated rule")
        ax_data.legend(fontsize=7)
    fig.suptitle("Eligibility window: ΔW vs delay of a modulatory burst after a 1 s pairing"
                 if abs(P - 1) < 1e-12 else "Eligibility window: ΔW vs burst delay", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def traces_block(window, params):
    """Put the recorded traces into a `neo.Block` (time from pairing onset).

    Returns
    -------
    neo.Block
        Dimensionless AnalogSignals ``gated.E``, ``gated.w``, ``gated.D``, ``ungated.w`` (one
        channel per delay, ``array_annotations`` ``delay_ms`` and ``variant``) and
        ``pairing.x``; the parameters as block annotations with the unit in the key.
    """
    import neo
    import quantities as pq

    from ctfa_brian.neo_io import protocol_annotations

    annotations = protocol_annotations(params, seconds=WINDOW_SECONDS, protocol=NAME,
                                       t_read_ms=float(window.t_read / ms),
                                       delay_reference="pairing onset")
    block = neo.Block(name="ctfa_brian eligibility_window",
                      description="eligibility_window protocol: E, W, D and pairing traces; "
                                  "time from pairing onset", **annotations)
    segment = neo.Segment(name="eligibility_window")
    block.segments.append(segment)
    for key, trace in window.traces.items():
        t_ms = np.asarray(trace["t"] / ms)
        values = np.asarray(trace["values"], float)
        channels = {"variant": np.array([key.split(".")[0]] * values.shape[0])}
        if trace["delays"] is not None:
            channels["delay_ms"] = np.asarray(trace["delays"] / ms, float)
        signal = neo.AnalogSignal(values.T, units=pq.dimensionless,
                                  sampling_period=float(params["record_dt"] / ms) * pq.ms,
                                  t_start=float(t_ms[0]) * pq.ms, name=key,
                                  array_annotations=channels, circuit=key.split(".")[0],
                                  variable=key.split(".")[1])
        segment.analogsignals.append(signal)
    block.check_relationships()
    return block


def run(params, out_dir):
    """Simulate, fit, and write ``table.csv``, ``eligibility_window.png`` and ``traces.nix``.

    With ``variant = "spiking"``: Poisson pairing spikes and modulatory spikes into the
    package's spiking synapses, ``n_trials`` per delay
    (`ctfa_brian.protocols._spiking_synapse.window_spiking`); writes ``table.csv``,
    ``eligibility_window.png`` and ``spikes.nix`` (one Segment per delay).

    Parameters
    ----------
    params : dict
        Validated parameters.
    out_dir : Path
        Existing output directory.

    Returns
    -------
    dict
        ΔW at every delay (``per_delay``), the Yagishita delays (``yagishita``), ``ratio_5s``,
        the fits (``fit.simulated``, ``fit.data``), ``checks``, ``passed``, ``files``,
        ``timings_s``.
    """
    from ctfa_brian.neo_io import neo_suffix, save_neo

    out_dir = Path(out_dir)
    if params["variant"] == "spiking":
        from ctfa_brian.protocols._spiking_report import run_window

        delays = pulse_train(params)[0] * params["dt"]  # on the step grid
        return run_window(params, out_dir, delays, _tau_list(params))
    window = simulate(params)
    start = time.perf_counter()
    data_fit = fit_data(params) if params["data"] else None
    results = _summary(window, params, data_fit)
    fitted = time.perf_counter()
    files = {"table": write_table(window, out_dir / "table.csv"),
             "figure": plot(window, params, out_dir / "eligibility_window.png", data_fit),
             "traces": save_neo(traces_block(window, params), out_dir / f"traces{neo_suffix()}")}
    results["files"] = {k: str(v) for k, v in files.items()}
    results["timings_s"] = {**window.timings, "fit": fitted - start,
                            "write": time.perf_counter() - fitted}
    logger.debug(f"eligibility_window: peak at {results['peak_delay_s']:g} s, ratio at +5 s "
                 f"{results['ratio_5s']}")
    return results
