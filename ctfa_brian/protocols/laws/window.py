"""The eligibility window of a burst pairing: the law, the τ_elig fit, measured data files and
the pulse train the circuit and the law share (NumPy only).

`window_law` is ΔW(d) of the gated rule for a burst of pulses at delay d after (or before) the
pairing onset; `fit_tau_elig` fits τ_elig (and a free amplitude) to ΔW(d); `read_data` reads
measured ΔW(d) (e.g. Yagishita et al. 2014, Fig. 1O) from a CSV file, and
`read_measurements` the same with its s.e.m. or replicates.
"""

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from brian2 import Quantity, ms, second

from ctfa_brian.checks import format_time

__all__ = ["DATA_DELAY_COLUMNS", "FitResult", "Measurements", "burst_duration", "fit_tau_elig",
           "pulse_offsets", "pulse_train", "read_data", "read_measurements", "window_law"]

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
#: Optional per-row standard error of ``dw`` (replicate columns are ``dw_1``, ``dw_2``, ...).
DATA_SEM_COLUMN = "sem"
#: Range of the τ_elig fit (seconds) and its grid.
FIT_BOUNDS = (0.01, 100.0)
_FIT_GRID = 161


def burst_duration(params):
    """Return the burst's duration, from the first pulse onset to the end of the last pulse."""
    return ((params["burst_pulses"] - 1) / params["burst_rate"]) * second + params["pulse_width"]


def _s(value):
    return float(value / second) if isinstance(value, Quantity) else float(value)


@dataclass
class Measurements:
    """Measured ΔW(d) read by `read_measurements`.

    Attributes
    ----------
    delays : Quantity
        One per row, in seconds.
    dw : ndarray
        The row's ``dw``, or the mean of its replicates.
    sem : ndarray or None
        Per-row standard error of ``dw``: the ``sem`` column, or the row's replicates' sample
        s.d. / √n (the fit pools the scatter over the rows instead); None when the file gives
        neither (the fit then uses the residual variance).
    replicates : ndarray or None
        Shape (rows, replicate columns), NaN where a cell is empty; None without replicates.
    path : str
    """

    delays: Quantity
    dw: np.ndarray
    sem: object = None
    replicates: object = None
    path: str = ""


def _replicate_columns(header):
    prefix = DATA_VALUE_COLUMN + "_"
    return [h for h in header if h.startswith(prefix) and h[len(prefix):].isdigit()]


def _cell(where, number, name, row, index, allow_empty=False):
    cell = row[index].strip() if index < len(row) else ""
    if not cell:
        if allow_empty:
            return float("nan")
        raise ValueError(f"{where}: line {number}: {name} is empty")
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{where}: line {number}: {name} = {cell!r} is not a number") from None
    if np.isnan(value):
        raise ValueError(f"{where}: line {number}: {name} is NaN")
    if not np.isfinite(value):
        raise ValueError(f"{where}: line {number}: {name} = {cell} is not finite")
    return value


def read_data(path):
    """Read measured ΔW(d) from a CSV file and check it; return ``(delays, dw)``.

    `read_measurements` reads the same files and also returns the s.e.m. or the replicates.
    """
    data = read_measurements(path)
    return data.delays, data.dw


def read_measurements(path):
    """Read measured ΔW(d), with its uncertainty if the file has one, from a CSV file.

    The file has a header line with a delay column, ``delay_s`` (seconds) or ``delay_ms``
    (milliseconds), measured from the pairing onset like the protocol's ``delays``, and ΔW in
    one of two forms (any unit: the fit has a free amplitude):

    - ``dw``, optionally with ``sem``, its standard error (> 0, same unit);
    - replicate columns ``dw_1``, ``dw_2``, ... (trials, spines or animals at that delay):
      ``dw`` is their mean and its s.e.m. their sample s.d. / √n. A cell may be empty (fewer
      replicates at that delay), but each row needs at least 2 values.

    Other columns, blank lines and lines starting with ``#`` are ignored.

    Returns
    -------
    Measurements

    Raises
    ------
    ValueError
        The file is missing or unreadable, lacks a delay column or ``dw`` (or has both delay
        columns, or ``dw`` and replicate columns, or ``sem`` with replicate columns), a cell
        is empty, not a number, NaN or infinite, a ``sem`` is not > 0, a row has fewer than 2
        replicates (the message gives the line, column and value), there are fewer than 3
        rows or 3 distinct delays, or no ``dw`` is positive. Every message starts with
        ``data file '<path>':``.
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
    reps = _replicate_columns(header)
    if DATA_VALUE_COLUMN not in header and not reps:
        raise ValueError(f"{where}: missing column 'dw' (or replicate columns 'dw_1', "
                         f"'dw_2', ...); the header is {','.join(header)!r}, expected e.g. "
                         "'delay_s,dw' or 'delay_s,dw,sem'")
    if DATA_VALUE_COLUMN in header and reps:
        raise ValueError(f"{where}: has both 'dw' and replicate columns {reps}; give one "
                         "(dw is the replicates' mean)")
    if reps and DATA_SEM_COLUMN in header:
        raise ValueError(f"{where}: has both 'sem' and replicate columns {reps}; give one "
                         "(the s.e.m. is computed from the replicates)")
    if len(reps) == 1:
        raise ValueError(f"{where}: has one replicate column {reps[0]!r}; replicates need at "
                         "least 2 (or name it 'dw')")
    delay_column = delay_columns[0]
    column = {name: header.index(name) for name in [delay_column, *reps]
              + [c for c in (DATA_VALUE_COLUMN, DATA_SEM_COLUMN) if c in header]}
    delays, values, sems, replicates = [], [], [], []
    for (number, _), row in zip(lines[1:], rows[1:]):
        delays.append(_cell(where, number, delay_column, row, column[delay_column])
                      * DATA_DELAY_COLUMNS[delay_column])
        if reps:
            got = np.array([_cell(where, number, r, row, column[r], True) for r in reps])
            count = int(np.sum(np.isfinite(got)))
            if count < 2:
                raise ValueError(f"{where}: line {number}: {count} replicate value(s) in "
                                 f"{reps}; each row needs at least 2")
            replicates.append(got)
            values.append(float(np.nanmean(got)))
            sems.append(float(np.nanstd(got, ddof=1) / np.sqrt(count)))
            continue
        values.append(_cell(where, number, DATA_VALUE_COLUMN, row, column[DATA_VALUE_COLUMN]))
        if DATA_SEM_COLUMN in column:
            sem = _cell(where, number, DATA_SEM_COLUMN, row, column[DATA_SEM_COLUMN])
            if not sem > 0:
                raise ValueError(f"{where}: line {number}: sem = {sem:g} is not > 0; give "
                                 "the standard error of dw (or drop the column)")
            sems.append(sem)
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
    if reps and not np.any(np.asarray(sems) > 0):
        raise ValueError(f"{where}: the replicates {reps} are equal at every delay: no "
                         "scatter to weight the fit by")
    return Measurements(np.asarray(delays, float) * second, values,
                        np.asarray(sems, float) if sems else None,
                        np.asarray(replicates, float) if reps else None, str(path))


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
