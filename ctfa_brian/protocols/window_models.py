"""The models of ΔW(d) that the τ_elig fit compares, and the profiled criterion they share
(`~ctfa_brian.protocols.window_fit`).

The models, all fitted to ΔW(d) with free amplitudes (least squares in
closed form) and the protocol's schedule (pairing, burst, τ_d), L(d; τ) = `window_law`:

============== ================================== ==== =====================================
name           ΔW(d)                              k    meaning
============== ================================== ==== =====================================
``ungated``    A · L(d; 0)                        1    no trace: only the overlap of the
                                                       burst's dopamine with the pairing
``gated``      A · L(d; τ)                        2    one eligibility trace, τ_elig = τ
``double``     A₁ L(d; τ₁) + A₂ L(d; τ₂)          4    a trace that is a sum of two
                                                       exponentials (τ₁ < τ₂, A₁, A₂ ≥ 0)
============== ================================== ==== =====================================

**Model comparison.** AICc = −2 ln L̂ + 2K + 2K(K+1)/(n − K − 1) with K = k (σ known;
−2 ln L̂ = χ² up to a constant shared by the models) or K = k + 1 and −2 ln L̂ = n ln(S/n)
(σ estimated); None where n ≤ K + 1. Akaike weights exp(−Δ/2)/Σ exp(−Δ/2).
"""

import numpy as np
from brian2 import Quantity, second

from ctfa_brian.protocols.laws.window import FIT_BOUNDS, _law_seconds, _s, pulse_offsets

__all__ = ["LEVEL", "MODELS", "compare_models", "threshold"]

#: Confidence level of the interval.
LEVEL = 0.95
#: The models compared, with their number of fitted parameters k.
MODELS = {"ungated": 1, "gated": 2, "double": 4}
_GRID = 481
_DOUBLE_GRID = 41


def _seconds(values):
    return np.asarray(values / second if isinstance(values, Quantity) else values, float)


class _Profile:
    """The law at fixed delays on a log grid of τ (rows), and the profiled fit criterion."""

    def __init__(self, d, schedule, bounds=FIT_BOUNDS, n=_GRID):
        self.d, self.schedule = d, schedule
        self.grid = np.linspace(np.log(bounds[0]), np.log(bounds[1]), n)
        self.laws = np.array([self.law(np.exp(g)) for g in self.grid])

    def law(self, tau):
        return _law_seconds(self.d, float(tau), *self.schedule)

    @staticmethod
    def criterion(laws, y, w):
        """S = min_A Σ w (y − A L)² and the best A, for every row of ``laws`` (G, n) or one
        law (n,), and every row of ``y`` (R, n) or one ``y`` (n,)."""
        norm = (laws * laws) @ w
        cross = (y * w) @ laws.T
        total = np.sum(w * y * y, axis=-1)
        if np.ndim(y) > 1 and np.ndim(laws) > 1:
            total = total[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            amplitude = np.where(norm > 0, cross / norm, 0.0)
        return total - amplitude * cross, amplitude

    def exact(self, log_tau, y, w):
        law = self.law(np.exp(log_tau))
        norm = float(law * law @ w)
        amplitude = float((y * w) @ law) / norm if norm > 0 else 0.0
        return float(np.sum(w * (y - amplitude * law) ** 2)), amplitude


def threshold(s_min, n, known, level=LEVEL, dof=None):
    """The largest S(τ) inside the interval (see the module docstring); ``dof``: degrees of
    freedom of an estimated s.e.m. scale (None: known)."""
    from scipy.stats import chi2, f

    if known:
        return s_min + float(chi2.ppf(level, 1) if dof is None else f.ppf(level, 1, dof))
    return s_min * (1 + float(f.ppf(level, 1, n - 2)) / (n - 2))


def _schedule(pairing_duration, burst_rate, burst_pulses, pulse_width, tau_dopamine):
    return (_s(pairing_duration), pulse_offsets(burst_rate, burst_pulses), _s(pulse_width),
            _s(tau_dopamine))


def _aicc(s, n, k, known):
    K = k if known else k + 1
    if n - K - 1 <= 0:
        return None
    fit_term = s if known else n * np.log(max(s, 1e-300) / n)
    return float(fit_term + 2 * K + 2 * K * (K + 1) / (n - K - 1))


def _double(prof, y, w, s_single, single_log_tau):
    """Best A₁ L(τ₁) + A₂ L(τ₂) with A ≥ 0 over a log grid of τ₁ < τ₂, refined."""
    from scipy.optimize import minimize

    sub = np.linspace(0, prof.grid.size - 1, _DOUBLE_GRID).astype(int)
    grid, laws = prof.grid[sub], prof.laws[sub] * np.sqrt(w)
    ys = y * np.sqrt(w)
    gram, b = laws @ laws.T, laws @ ys

    def solve(pair_laws):
        m = pair_laws @ pair_laws.T
        det = m[0, 0] * m[1, 1] - m[0, 1] ** 2
        rhs = pair_laws @ ys
        if det <= 1e-12 * m[0, 0] * m[1, 1]:
            return np.inf, None
        a = np.array([m[1, 1] * rhs[0] - m[0, 1] * rhs[1], m[0, 0] * rhs[1] - m[0, 1] * rhs[0]])
        a /= det
        return (float(ys @ ys - a @ rhs), a) if np.all(a >= 0) else (np.inf, None)

    i, j = np.triu_indices(grid.size, 1)
    det = gram[i, i] * gram[j, j] - gram[i, j] ** 2
    ok = det > 1e-12 * gram[i, i] * gram[j, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        a1 = (gram[j, j] * b[i] - gram[i, j] * b[j]) / det
        a2 = (gram[i, i] * b[j] - gram[i, j] * b[i]) / det
    s = np.where(ok & (a1 >= 0) & (a2 >= 0), ys @ ys - a1 * b[i] - a2 * b[j], np.inf)
    best = (s_single, (single_log_tau, single_log_tau), None)
    if np.isfinite(s).any():
        k = int(np.argmin(s))

        def objective(g):
            g = np.clip(np.sort(g), prof.grid[0], prof.grid[-1])
            pair = np.array([prof.law(np.exp(g[0])), prof.law(np.exp(g[1]))]) * np.sqrt(w)
            return solve(pair)[0]

        start = np.array([grid[i[k]], grid[j[k]]])
        res = minimize(objective, start, method="Nelder-Mead",
                       options={"xatol": 1e-4, "fatol": 1e-12, "maxiter": 400})
        g = np.clip(np.sort(res.x), prof.grid[0], prof.grid[-1]) if res.fun <= s[k] else start
        value = min(res.fun, s[k])
        if value < best[0]:
            pair = np.array([prof.law(np.exp(g[0])), prof.law(np.exp(g[1]))]) * np.sqrt(w)
            best = (value, tuple(g), solve(pair)[1])
    return best


def compare_models(d, y, sigma, schedule, prof=None, single=None, sigma_label=None):
    """AICc of the ``ungated``, ``gated`` and ``double`` models (module docstring) for ΔW
    ``y`` at delays ``d`` (seconds), with s.e.m.s ``sigma`` or None; return a dict with
    ``models`` (per model: ``k``, ``criterion`` (χ² or residual sum of squares), ``aicc``,
    ``delta_aicc``, ``weight`` and its parameters), ``best`` and ``sigma`` (``sigma_label``:
    how σ was obtained; s.e.m.s, pooled or not, count as known here)."""
    known = sigma is not None
    w = 1 / np.asarray(sigma, float) ** 2 if known else np.ones_like(y)
    prof = prof or _Profile(d, schedule)
    if single is None:
        s_grid, _ = prof.criterion(prof.laws, y, w)
        single = (float(s_grid.min()), float(prof.grid[int(np.argmin(s_grid))]))
    ungated = _law_seconds(d, 0.0, *schedule)
    s_u, a_u = prof.criterion(ungated, y, w)
    s_g, log_tau = single
    s_d, (g1, g2), amps = _double(prof, y, w, s_g, log_tau)
    models = {
        "ungated": {"k": 1, "criterion": float(s_u), "amplitude": float(a_u)},
        "gated": {"k": 2, "criterion": float(s_g), "tau_elig_s": float(np.exp(log_tau))},
        "double": {"k": 4, "criterion": float(s_d), "tau_1_s": float(np.exp(g1)),
                   "tau_2_s": float(np.exp(g2)),
                   "amplitudes": None if amps is None else [float(a) for a in amps]},
    }
    for entry in models.values():
        entry["aicc"] = _aicc(entry["criterion"], y.size, entry["k"], known)
    scored = {k: m["aicc"] for k, m in models.items() if m["aicc"] is not None}
    low = min(scored.values()) if scored else None
    total = sum(np.exp(-(a - low) / 2) for a in scored.values()) if scored else 0
    for entry in models.values():
        a = entry["aicc"]
        entry["delta_aicc"] = None if a is None else float(a - low)
        entry["weight"] = None if a is None else float(np.exp(-(a - low) / 2) / total)
    label = sigma_label or ("s.e.m. known" if known else "residual variance")
    return {"criterion": "AICc", "sigma": label,
            "models": models, "best": min(scored, key=scored.get) if scored else None}
