"""Experiment design for τ_elig: how wide will the 95 % interval of the fit be?

`design` simulates the measurement: for the true τ_elig, ΔW(d) = `window_law` at the candidate
delays plus Gaussian noise of s.d. ``noise`` × (the law's peak) per trial, averaged over
``trials`` trials at each delay (s.e.m. = noise · peak / √trials, known to the fit), and fits
each synthetic data set as `~ctfa_brian.protocols.window_fit.fit_window` does (profile
likelihood, χ² with known s.e.m.). All repeats are fitted at once on the fit's log grid of τ,
with the interval's ends interpolated between grid points (grid step 1.9 %). `trials_needed`
finds the fewest trials per delay that measure τ_elig to ±``target``.
"""

from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, second

from ctfa_brian.protocols.laws.window import FIT_BOUNDS, _law_seconds, _s
from ctfa_brian.protocols.window_fit import MIN_BEYOND_PEAK
from ctfa_brian.protocols.window_models import LEVEL, _Profile, _schedule, threshold

__all__ = ["TRIAL_CANDIDATES", "Design", "design", "trials_needed"]

#: Trials per delay tried by `trials_needed`.
TRIAL_CANDIDATES = (1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 80, 100, 150, 200, 300, 500, 1000)


@dataclass
class Design:
    """The expected outcome of a τ_elig measurement (`design`).

    Attributes
    ----------
    tau_elig : Quantity
        The true value simulated.
    delays : Quantity
    trials : ndarray
        Trials per delay.
    noise : float
        Per-trial s.d. of ΔW as a fraction of the law's peak ΔW.
    repeats : int
    half_width : float
        Median over repeats of the interval's relative half-width (hi − lo)/(2 τ_elig).
    half_width_90 : float
        Its 90th percentile.
    within : float
        Fraction of repeats whose interval lies inside τ_elig · (1 ± ``target``).
    coverage : float
        Fraction of repeats whose interval contains τ_elig (≈ 0.95 when the fit is right).
    unbounded : float
        Fraction of repeats whose interval reaches an end of the fit range.
    beyond_peak : int
        Distinct delays after the true curve's peak (< 2: the fit warns).
    target : float
    """

    tau_elig: Quantity
    delays: Quantity
    trials: np.ndarray
    noise: float
    repeats: int
    half_width: float
    half_width_90: float
    within: float
    coverage: float
    unbounded: float
    beyond_peak: int
    target: float

    @property
    def meets_target(self):
        """The median interval is within ±``target`` and few are unbounded."""
        return bool(self.half_width <= self.target and self.unbounded <= 1 - LEVEL)

    def summary(self):
        """Return the design as JSON-ready numbers."""
        return {"tau_elig_s": _s(self.tau_elig),
                "delays_s": [float(d) for d in np.asarray(self.delays / second)],
                "trials": [int(t) for t in self.trials], "noise": self.noise,
                "repeats": self.repeats, "half_width": self.half_width,
                "half_width_90": self.half_width_90, "within": self.within,
                "coverage": self.coverage, "unbounded": self.unbounded,
                "beyond_peak": self.beyond_peak, "target": self.target,
                "meets_target": self.meets_target}


def _crossing(s, limit, k, step, grid):
    """log τ where s crosses limit between grid[k] (inside) and grid[k + step] (outside)."""
    a, b = s[k], s[k + step]
    frac = np.clip((limit - a) / np.where(b > a, b - a, 1.0), 0.0, 1.0)
    return grid[k] + step * frac * (grid[1] - grid[0])


def design(delays, trials, noise, tau_elig, repeats=200, seed=0, target=0.2,
           pairing_duration=1 * second, burst_rate=30.0, burst_pulses=10, pulse_width=5 * ms,
           tau_dopamine=200 * ms, bounds=FIT_BOUNDS):
    """Return the expected 95 % interval of τ_elig for a planned measurement.

    Parameters
    ----------
    delays : Quantity
        Candidate burst onsets from the pairing onset.
    trials : int or sequence of int
        Trials (spines, animals) averaged at each delay.
    noise : float
        Per-trial s.d. of ΔW as a fraction of the peak ΔW (0.1: 10 %).
    tau_elig : Quantity
        The τ_elig to simulate.
    repeats : int
        Synthetic experiments (at most 1000).
    seed : int
    target : float
        Relative precision asked for (0.2: ±20 %).
    pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine, bounds
        The schedule and fit range, as `~ctfa_brian.protocols.window_fit.fit_window`.

    Returns
    -------
    Design
    """
    d = np.asarray(delays / second if isinstance(delays, Quantity) else delays, float).ravel()
    n_trials = np.broadcast_to(np.asarray(trials, float), d.shape).astype(float)
    if d.size < 2 or np.unique(d).size != d.size:
        raise ValueError(f"delays: need at least 2 distinct delays, got {list(d)}")
    if not np.all(n_trials >= 1):
        raise ValueError(f"trials = {trials!r}: every delay needs at least 1 trial")
    if not noise > 0:
        raise ValueError(f"noise = {noise!r} must be > 0 (a fraction of the peak ΔW)")
    if not 1 <= repeats <= 1000:
        raise ValueError(f"repeats = {repeats!r} must be in 1–1000")
    tau = _s(tau_elig)
    schedule = _schedule(pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine)
    prof = _Profile(d, schedule, bounds)
    grid = prof.grid
    fine = np.linspace(min(d.min(), 0.0), max(d.max(), schedule[0]) + 5 * tau, 4001)
    fine_law = _law_seconds(fine, tau, *schedule)
    peak, peak_delay = float(fine_law.max()), float(fine[int(np.argmax(fine_law))])
    sem = noise * peak / np.sqrt(n_trials)
    rng = np.random.default_rng(seed)
    y = prof.law(tau)[None, :] + sem[None, :] * rng.standard_normal((repeats, d.size))
    s, _ = prof.criterion(prof.laws, y, 1 / sem ** 2)
    k = np.argmin(s, axis=1)
    s_min = s[np.arange(repeats), k]
    inner = (k > 0) & (k < grid.size - 1)
    kk = np.clip(k, 1, grid.size - 2)
    a, b, c = (s[np.arange(repeats), kk + o] for o in (-1, 0, 1))
    curve = a - 2 * b + c
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = b - (c - a) ** 2 / (8 * curve)
    s_min = np.where(inner & (curve > 0), np.minimum(vertex, s_min), s_min)
    limit = threshold(s_min, d.size, True)
    lo, hi = np.empty(repeats), np.empty(repeats)
    for r in range(repeats):
        row = s[r].copy()
        row[k[r]] = min(row[k[r]], s_min[r])
        inside = np.flatnonzero(row <= limit[r])
        first, last = int(inside[0]), int(inside[-1])
        lo[r] = grid[0] if first == 0 else _crossing(row, limit[r], first, -1, grid)
        hi[r] = grid[-1] if last == grid.size - 1 else _crossing(row, limit[r], last, 1, grid)
    unbounded = (lo <= grid[0]) | (hi >= grid[-1])
    width = (np.exp(hi) - np.exp(lo)) / (2 * tau)
    log_tau = np.log(tau)
    return Design(tau * second, d * second, n_trials, float(noise), int(repeats),
                  float(np.median(width)), float(np.percentile(width, 90)),
                  float(np.mean((np.exp(lo) >= tau * (1 - target))
                                & (np.exp(hi) <= tau * (1 + target)))),
                  float(np.mean((lo <= log_tau) & (log_tau <= hi))), float(np.mean(unbounded)),
                  int(np.unique(d[d > peak_delay + 1e-9]).size), float(target))


def trials_needed(delays, noise, tau_elig, target=0.2, candidates=TRIAL_CANDIDATES, **options):
    """The fewest trials per delay (of ``candidates``) whose `design` meets ±``target``, and
    that `Design`; ``(None, last Design)`` when none does. ``options`` go to `design`."""
    result = None
    for n in candidates:
        result = design(delays, n, noise, tau_elig, target=target, **options)
        if result.meets_target and result.beyond_peak >= MIN_BEYOND_PEAK:
            return n, result
    return None, result
