"""τ_elig with uncertainty: a weighted fit of the eligibility window, its 95 % interval by
profile likelihood, identifiability checks and a model comparison by AICc.

The model is A · L(d; τ) with L = `window_law` and the protocol's schedule (pairing, burst,
τ_d); `~ctfa_brian.protocols.window_models` defines the models it is compared with.

**Noise model.** ΔWᵢ = model(dᵢ) + εᵢ, εᵢ ~ N(0, σᵢ²), and the fit minimises
χ² = Σ (ΔWᵢ − model)²/σᵢ² over the parameters. Three cases:

- a per-point s.e.m. is given: σᵢ = sem, taken as known;
- replicates: ΔWᵢ is their mean, σᵢ = s/√nᵢ with s² the within-delay variance pooled over
  every delay (ν = Σ (nᵢ − 1) degrees of freedom; one scatter for all delays);
- neither: σ is one unknown constant, estimated from the residuals (n − 2 degrees of freedom).

**Interval (profile likelihood).** For every τ the amplitude is profiled out (its best value
in closed form), giving S(τ) = min_A χ² (or the residual sum of squares). The 95 % interval
is every τ with S(τ) ≤ S_min + χ²₁(0.95) = S_min + 3.84 (s.e.m. known), S(τ) ≤ S_min +
F₁,ᵥ(0.95) (pooled replicates: s estimated with ν degrees of freedom) or S(τ) ≤ S_min
(1 + F₁,ₙ₋₂(0.95)/(n − 2)) (σ from the residuals) — the F-forms of the profile interval are
exact for a linear model (Bates & Watts 1988, §6.1). The interval spans the outermost such τ on a
log grid over `FIT_BOUNDS`; an end that reaches a bound is reported as None (unbounded).
Optionally ``bootstrap`` resamples the replicates of every delay (with replacement) and
reports the percentile interval of the refitted τ_elig next to it.

**Model comparison** by AICc: `~ctfa_brian.protocols.window_models.compare_models`.
"""

from dataclasses import dataclass, field

import numpy as np
from brian2 import Quantity, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.laws.window import FIT_BOUNDS, FitResult, _law_seconds, _s
from ctfa_brian.protocols.window_models import (
    LEVEL,
    _Profile,
    _schedule,
    _seconds,
    compare_models,
    threshold,
)

__all__ = ["CI_METHOD", "LEVEL", "WindowFit", "compare_models", "fit_measurements", "fit_window"]

logger = get_logger(__name__)

#: How the interval is computed (stated in every result).
CI_METHOD = "profile likelihood"
#: Fewer distinct delays than this after the fitted curve's peak: τ_elig is not pinned down.
MIN_BEYOND_PEAK = 2


def _edges(s, limit):
    """Grid indices of the outermost points with s ≤ limit (the interval's hull)."""
    inside = np.flatnonzero(s <= limit)
    return int(inside[0]), int(inside[-1])


@dataclass
class WindowFit(FitResult):
    """A `FitResult` with its uncertainty (`fit_window`).

    Attributes
    ----------
    ci : (Quantity or None, Quantity or None)
        The 95 % interval of τ_elig; None for an end that reaches the fit range (unbounded).
    ci_method : str
        ``"profile likelihood (χ², s.e.m. known)"``, ``"... (F, pooled replicate variance,
        ν = …)"`` or ``"... (F, residual variance)"``.
    weighted : bool
        The fit used per-point s.e.m.s.
    identifiable : bool
        False when the delays (and noise) cannot pin τ_elig down; ``warnings`` says why.
    warnings : list of str
        Every diagnostic, identifiability and goodness of fit (also logged as warnings).
    beyond_peak : int
        Distinct delays after the fitted curve's peak (at ``peak_delay``).
    peak_delay : Quantity
    chi2 : float or None
        χ² at the best fit (with s.e.m.s), with ``chi2_p`` its upper-tail probability (with
        replicates: of the lack-of-fit F test).
    comparison : dict
        `compare_models` of the same data.
    bootstrap_ci : (Quantity, Quantity) or None
        Percentile interval of a bootstrap over replicates, when asked for.
    sem : ndarray or None
        The per-point s.e.m.s the fit used (given, or from the replicates).
    """

    ci: tuple = (None, None)
    ci_method: str = CI_METHOD
    weighted: bool = False
    identifiable: bool = True
    warnings: list = field(default_factory=list)
    beyond_peak: int = 0
    peak_delay: Quantity = None
    chi2: object = None
    chi2_p: object = None
    comparison: dict = field(default_factory=dict)
    bootstrap_ci: object = None
    sem: object = None

    def summary(self):
        """Return the fit as JSON-ready numbers (`FitResult.summary` and the uncertainty)."""
        lo, hi = self.ci
        out = super().summary()
        out.update({
            "tau_elig_ci_s": [None if lo is None else _s(lo), None if hi is None else _s(hi)],
            "ci_level": LEVEL, "ci_method": self.ci_method, "weighted": self.weighted,
            "identifiable": self.identifiable, "warnings": list(self.warnings),
            "delays_beyond_peak": self.beyond_peak, "peak_delay_s": _s(self.peak_delay),
            "chi2": self.chi2, "chi2_p": self.chi2_p, "model_comparison": self.comparison,
            "bootstrap_ci_s": (None if self.bootstrap_ci is None
                               else [_s(v) for v in self.bootstrap_ci]),
        })
        return out


def _inputs(delays, dw, sem):
    d = _seconds(delays).ravel()
    y = np.asarray(dw, float).ravel()
    if d.shape != y.shape:
        raise ValueError(f"delays ({d.size}) and dw ({y.size}) differ in length")
    if not (np.all(np.isfinite(d)) and np.all(np.isfinite(y))):
        raise ValueError("delays and dw must be finite")
    if sem is None:
        if y.size < 3:
            raise ValueError(f"fit_window needs at least 3 points without s.e.m.s, got {y.size}")
        return d, y, None
    sigma = np.broadcast_to(np.asarray(sem, float), y.shape).astype(float)
    if not np.all(np.isfinite(sigma) & (sigma > 0)):
        k = int(np.argmin(np.where(np.isfinite(sigma), sigma, -np.inf)))
        raise ValueError(f"sem[{k}] = {sigma[k]!r}: every s.e.m. must be finite and > 0")
    if y.size < 2:
        raise ValueError(f"fit_window needs at least 2 points, got {y.size}")
    return d, y, sigma


def fit_window(delays, dw, sem=None, replicates=None, pairing_duration=1 * second,
               burst_rate=30.0, burst_pulses=10, pulse_width=5 * ms, tau_dopamine=200 * ms,
               bounds=FIT_BOUNDS, bootstrap=0, seed=0, compare=True, warn=True):
    """Fit τ_elig with its 95 % interval, identifiability checks and model comparison.

    Parameters
    ----------
    delays : Quantity
        Burst onsets from the pairing onset.
    dw : array
        ΔW at those delays (any scale); with ``replicates``, may be None (their mean).
    sem : array or float, optional
        Standard error of each ``dw``; None: the residual variance (see the module).
    replicates : array, optional
        Shape (points, replicates), NaN for a missing one: ``dw`` is their mean and ``sem``
        s/√n with s their pooled within-delay s.d.; ``bootstrap`` may resample them.
    pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine
        The schedule, as the protocol's parameters.
    bounds : (float, float)
        Range of τ_elig in seconds.
    bootstrap : int
        Number of bootstrap resamples of ``replicates`` (0: none).
    seed : int
        Of the bootstrap.
    compare : bool
        Also run `compare_models`.
    warn : bool
        Log every diagnostic with Brian2's logger (``warn``).

    Returns
    -------
    WindowFit

    Raises
    ------
    ValueError
        Too few points (3 without s.e.m., 2 with), a non-finite value, an s.e.m. ≤ 0,
        ``bootstrap`` without ``replicates``, or lengths that differ.
    """
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import chi2 as chi2_dist
    from scipy.stats import f as f_dist

    dof = None
    if replicates is not None:
        reps = np.asarray(replicates, float)
        count = np.sum(np.isfinite(reps), axis=1)
        dw = np.nanmean(reps, axis=1) if dw is None else dw
        dof = int(np.sum(count - 1))
        pooled = float(np.sqrt(np.nansum((reps - np.nanmean(reps, axis=1)[:, None]) ** 2) / dof))
        if not (dof > 0 and pooled > 0):
            raise ValueError("replicates: no scatter within any delay (need ≥ 2 differing "
                             "values at some delay)")
        sem = pooled / np.sqrt(count)
    elif bootstrap:
        raise ValueError("bootstrap needs replicates (columns dw_1, dw_2, ...)")
    d, y, sigma = _inputs(delays, dw, sem)
    known = sigma is not None
    w = 1 / sigma ** 2 if known else np.ones_like(y)
    schedule = _schedule(pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine)
    prof = _Profile(d, schedule, bounds)
    s_grid, _ = prof.criterion(prof.laws, y, w)
    best = int(np.argmin(s_grid))
    grid = prof.grid
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    refined = minimize_scalar(lambda g: prof.exact(g, y, w)[0], bounds=(left, right),
                              method="bounded", options={"xatol": 1e-7})
    log_tau = float(refined.x) if refined.fun <= s_grid[best] else float(grid[best])
    s_min, amplitude = prof.exact(log_tau, y, w)
    s_min = max(s_min, 1e-300)
    limit = threshold(s_min, y.size, known, dof=dof)
    inside = s_grid.copy()
    inside[best] = s_min  # the best fit is inside even where the grid is too coarse to see it
    lo_k, hi_k = _edges(inside, limit)

    def edge(k, step):
        """The interval's end between grid[k] (inside) and grid[k + step] (outside)."""
        if not 0 <= k + step < grid.size:
            return None  # the interval reaches the fit range: unbounded on this side
        inner = grid[k] if s_grid[k] <= limit else log_tau
        outer = grid[k + step]
        try:
            root = brentq(lambda g: prof.exact(g, y, w)[0] - limit, *sorted((inner, outer)))
        except ValueError:  # no sign change (the best fit sits on the grid point)
            root = inner
        return float(np.exp(root)) * second

    ci = (edge(lo_k, -1), edge(hi_k, +1))
    tau = float(np.exp(log_tau))
    step = grid[1] - grid[0]
    at_bound = bool(log_tau - grid[0] < step or grid[-1] - log_tau < step)
    fine = np.linspace(min(d.min(), 0.0), max(d.max(), schedule[0]) + 5 * tau, 4001)
    peak = float(fine[int(np.argmax(amplitude * _law_seconds(fine, tau, *schedule)))])
    beyond = int(np.unique(d[d > peak + 1e-9]).size)

    notes = []
    rng = f"{format_time(bounds[0] * second)}–{format_time(bounds[1] * second)}"
    if ci[0] is None and ci[1] is None:
        notes.append(f"the profile is flat: no τ_elig in {rng} is excluded at "
                     f"{100 * LEVEL:g} %; these delays cannot measure τ_elig")
    elif ci[1] is None:
        notes.append(f"the {100 * LEVEL:g} % interval of τ_elig has no upper end within {rng}: "
                     "the data set only a lower limit")
    elif ci[0] is None:
        notes.append(f"the {100 * LEVEL:g} % interval of τ_elig has no lower end within {rng}: "
                     "the data set only an upper limit")
    if at_bound:
        notes.append(f"the best τ_elig = {format_time(tau * second)} lies at an end of {rng}")
    if beyond < MIN_BEYOND_PEAK:
        notes.append(f"only {beyond} delay(s) after the fitted peak (d = {peak:.3g} s); the "
                     f"decay after the peak sets τ_elig: measure at ≥ {MIN_BEYOND_PEAK} delays "
                     "beyond it (e.g. 2 s and 4 s)")
    identifiable = not notes
    chi2_value = chi2_p = None
    if known:
        chi2_value = float(s_min)
        if y.size > 2:
            chi2_p = float(chi2_dist.sf(s_min, y.size - 2) if dof is None
                           else f_dist.sf(s_min / (y.size - 2), y.size - 2, dof))
            if chi2_p < 1e-3:
                notes.append(f"χ² = {s_min:.3g} for {y.size - 2} degrees of freedom (p = "
                             f"{chi2_p:.2g}): the scatter exceeds the s.e.m.s, so the model "
                             "misfits or the s.e.m.s are too small; the interval is too narrow")
    boot = None
    if bootstrap:
        boot = _bootstrap(prof, np.asarray(replicates, float), int(bootstrap), seed)
    total = float(np.sum((y - y.mean()) ** 2))
    residual = float(np.sum((y - amplitude * prof.law(tau)) ** 2))

    def model(at):
        at_s = _seconds(at)
        return amplitude * _law_seconds(at_s.ravel(), tau, *schedule).reshape(at_s.shape)

    method = CI_METHOD + (" (F, residual variance)" if not known else " (χ², s.e.m. known)"
                          if dof is None else f" (F, pooled replicate variance, ν = {dof})")
    comparison = (compare_models(d, y, sigma, schedule, prof, (s_min, log_tau),
                                 None if dof is None else f"pooled replicate s.e.m., ν = {dof}")
                  if compare else {})
    result = WindowFit(tau * second, amplitude, float(np.sqrt(residual / y.size)),
                       1 - residual / total if total > 0 else float("nan"), int(y.size),
                       at_bound, model, ci, method, known, identifiable, notes, beyond,
                       peak * second, chi2_value, chi2_p, comparison, boot, sigma)
    if warn:
        for note in notes:
            logger.warn(f"τ_elig fit: {note}", once=False)
    return result


def fit_measurements(data, bootstrap=0, seed=0, warn=True, **schedule):
    """`fit_window` of a `~ctfa_brian.protocols.laws.window.Measurements` (its s.e.m. or
    replicates if the file had them)."""
    reps = data.replicates
    return fit_window(data.delays, data.dw, sem=data.sem if reps is None else None,
                      replicates=reps, bootstrap=bootstrap if reps is not None else 0, seed=seed,
                      warn=warn, **schedule)


def _bootstrap(prof, reps, n, seed):
    rng = np.random.default_rng(seed)
    taus = np.empty(n)
    rows = [r[np.isfinite(r)] for r in reps]
    counts = np.array([r.size for r in rows], float)  # pooled scatter: w ∝ n
    for b in range(n):
        y = np.array([rng.choice(r, r.size).mean() for r in rows])
        taus[b] = prof.grid[int(np.argmin(prof.criterion(prof.laws, y, counts)[0]))]
    lo, hi = np.percentile(np.exp(taus), [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return float(lo) * second, float(hi) * second
