"""The eligibility-window protocol's results: the summary against the law and the data,
table.csv, the figure and the Neo traces of a simulated
`Window` (`ctfa_brian.protocols.eligibility_window.simulate`).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Quantity, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian.io import save_figure
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.laws.window import (
    EARLY_MAX,
    FAR_MAX,
    FIT_TOLERANCE,
    LATE_MIN,
    LAW_TOLERANCE,
    WINDOW_SECONDS,
    YAGISHITA_ABSENT,
    YAGISHITA_SIGNIFICANT,
    YAGISHITA_WINDOW,
    _s,
    burst_duration,
    fit_tau_elig,
    read_measurements,
    window_law,
)
from ctfa_brian.protocols.window_controls import plot_controls, window_entry
from ctfa_brian.protocols.window_fit import fit_measurements

logger = get_logger(__name__)

#: The protocol these results belong to (its ``NAME``).
NAME = "eligibility_window"


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
    gated : list of Curve
        Simulated ΔW of the gated synapse at every delay, one curve per τ_elig (info
        ``tau_elig``), next to `window_law` / τ_pot.
    ungated : Curve
        The same for the ungated synapse (info ``tau_elig`` None).
    t_read : Quantity
        When W was read, from the pairing onset.
    traces : dict
        ``{name: {"t": Quantity (from pairing onset), "values": ndarray (channels, times),
        "delays": Quantity or None}}``: ``gated.E``, ``gated.w``, ``gated.D``, ``ungated.w``
        (every delay, main τ_elig) and ``pairing.x``.
    timings : dict
        ``build`` and ``run`` in seconds.
    controls : dict or None
        Yagishita's controls (`ctfa_brian.protocols.window_controls`): ``indices`` (of the
        control delays in ``delays``) and ``curves`` (``{condition: Curve}`` at those delays).
    """

    delays: Quantity
    offsets: np.ndarray
    tau_eligs: Quantity
    gated: list
    ungated: Curve
    t_read: Quantity
    traces: dict
    timings: dict
    controls: dict = None

    @property
    def peak(self):
        """Largest simulated gated ΔW of the main τ_elig over the delays."""
        return float(np.max(self.gated[0].mean))

    def index(self, delay):
        """Index of the delay equal to ``delay`` (within half a millisecond), else None."""
        d = np.asarray(self.delays / second)
        k = int(np.argmin(np.abs(d - _s(delay))))
        return k if abs(d[k] - _s(delay)) < 5e-4 else None

    def deviation(self):
        """Largest ``|simulation − law|`` over every curve, as a fraction of the gated peak."""
        peak = float(np.max(np.abs(self.gated[0].law)))
        return max(c.deviation(peak) for c in [*self.gated, self.ungated])


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


#: Bootstrap resamples of a data file's replicates (next to the profile-likelihood interval).
DATA_BOOTSTRAP = 200


def fit_data(params):
    """Read ``params["data"]`` and fit τ_elig to it with the protocol's schedule: the
    `~ctfa_brian.protocols.window_fit.WindowFit` (interval, identifiability, AICc), weighted by
    the file's ``sem`` or replicates (bootstrapped, seed ``params["seed"]``) if it has them."""
    data = read_measurements(params["data"])
    fit = fit_measurements(data, bootstrap=DATA_BOOTSTRAP, seed=params.get("seed", 0),
                           **_schedule(params))
    return data.delays, data.dw, fit


def _summary(window, params, data_fit=None):
    d_s = np.asarray(window.delays / second)
    peak = window.peak
    norm = peak if peak > 0 else float("nan")
    gated, ungated = window.gated[0].mean, window.ungated.mean
    per_delay = [{"delay_s": float(d), "gated": float(g), "ungated": float(u),
                  "gated_normalised": float(g / norm), "ungated_normalised": float(u / norm),
                  "gated_law": float(gl), "ungated_law": float(ul)}
                 for d, g, u, gl, ul in zip(d_s, gated, ungated, window.gated[0].law,
                                            window.ungated.law)]
    fits = []
    for c, tau in enumerate(window.tau_eligs):
        if np.max(window.gated[c].mean) <= 0:
            fits.append({"tau_elig_s": _s(tau), "fitted_s": None, "error_percent": None})
            continue
        fit = fit_tau_elig(window.delays, window.gated[c].mean, **_schedule(params))
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
    controls, control_checks = window_entry(params, window)
    checks.update(control_checks)
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
        "controls": controls,
        "checks": checks,
        "passed": all(checks.values()),
    }
    if data_fit is not None:
        delays, dw, fit = data_fit
        results["fit"]["data"] = {
            "file": str(Path(params["data"]).resolve()), **fit.summary(),
            "points": [{"delay_s": float(d), "dw": float(y), "fitted": float(m),
                        "sem": None if e is None else float(e)}
                       for d, y, m, e in zip(np.asarray(delays / second), dw, fit.model(delays),
                                             [None] * len(dw) if fit.sem is None else fit.sem)],
        }
    return results


def table_rows(window):
    """ΔW per variant, τ_elig and delay as rows of ``table.csv`` (units in the column names)."""
    norm = window.peak if window.peak > 0 else float("nan")
    rows = []
    curves = [("gated", tau, curve.mean, curve.law)
              for tau, curve in zip(window.tau_eligs, window.gated)]
    curves.insert(1, ("ungated", None, window.ungated.mean, window.ungated.law))
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
    return rows


def plot(window, params, path, data_fit=None):
    """Draw ΔW(d) (gated, ungated, Yagishita's delays), traces, the fit checks and the data."""
    from matplotlib.figure import Figure

    d = np.asarray(window.delays / second)
    schedule = _schedule(params)
    scale = _s(params["tau_pot"])
    fine = np.linspace(min(d.min(), 0.0) - 0.5, d.max() + 0.5, 801)
    peak = window.peak if window.peak > 0 else 1.0
    P = _s(params["pairing_duration"])
    fig = Figure(figsize=(14, 8), layout="constrained")
    axes = fig.subplot_mosaic([["win", "tr", "ctrl"], ["fit", "data", "ctrl"]],
                              width_ratios=[1, 1, 0.6])
    ax_win, ax_tr, ax_fit, ax_data = (axes[k] for k in ("win", "tr", "fit", "data"))
    if controls := window_entry(params, window)[0]:
        plot_controls(axes["ctrl"], controls)
    else:
        axes["ctrl"].set_axis_off()

    ax_win.axvspan(0, P, color="0.92", label="pairing")
    ax_win.axvspan(*YAGISHITA_WINDOW, ymax=0.04, color="C2", alpha=0.5,
                   label="Yagishita 2014: window 0.3–2 s")
    law = np.asarray(window_law(fine, params["tau_elig"], **schedule) / second) / scale
    ax_win.plot(fine, law / peak, "-", color="C3", lw=1,
                label=f"gated law, τ_elig = {format_time(params['tau_elig'])}")
    ax_win.plot(d, window.gated[0].mean / peak, "o", color="C3", mfc="none", label="gated (Brian2)")
    law_u = np.asarray(window_law(fine, 0 * second, **schedule) / second) / scale
    ax_win.plot(fine, law_u / peak, "--", color="C0", lw=1, label="ungated law (x D)")
    ax_win.plot(d, window.ungated.mean / peak, "s", color="C0", mfc="none", ms=4,
                label="ungated (Brian2)")
    top = max(1.0, float(np.max(window.ungated.mean / peak)))
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
        own = np.max(window.gated[c].mean)
        if own <= 0:
            continue
        fit = fit_tau_elig(window.delays, window.gated[c].mean, **schedule)
        line = ax_fit.plot(fine, fit.model(fine) / own, "-", lw=1,
                           label=f"τ_elig = {format_time(tau)}: fit {format_time(fit.tau_elig)}")[0]
        ax_fit.plot(d, window.gated[c].mean / own, "o", mfc="none", color=line.get_color())
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
        ax_data.errorbar(dd, dw, yerr=fit.sem, fmt="o", color="k", capsize=2,
                         label=f"data ({Path(params['data']).name})"
                         + (" ± s.e.m." if fit.sem is not None else ""))
        lo, hi = (("—" if v is None else format_time(v)) for v in fit.ci)
        ax_data.plot(span, fit.model(span), "-", color="C3",
                     label=f"fit: τ_elig = {format_time(fit.tau_elig)} (95 % CI {lo} – {hi}), "
                     f"R² = {fit.r_squared:.3f}; AICc best: {fit.comparison.get('best')}")
        if not fit.identifiable:
            ax_data.text(0.02, 0.02, "not identifiable: " + fit.warnings[0], fontsize=6,
                         color="C3", transform=ax_data.transAxes, wrap=True)
        ax_data.axhline(0, color="0.7", lw=0.5)
        ax_data.set_xlabel("burst onset d (s)")
        ax_data.set_ylabel("ΔW (data units)")
        ax_data.set_title("measured ΔW(d) and the fitted gated rule")
        ax_data.legend(fontsize=7)
    fig.suptitle("Eligibility window: ΔW vs delay of a modulatory burst after a 1 s pairing"
                 if abs(P - 1) < 1e-12 else "Eligibility window: ΔW vs burst delay", fontsize=10)
    return save_figure(fig, path, dpi=110)


def traces_block(window, params):
    """Put the recorded traces into a `neo.Block` (time from pairing onset).

    Returns
    -------
    neo.Block
        Dimensionless AnalogSignals ``gated.E``, ``gated.w``, ``gated.D``, ``ungated.w`` (one
        channel per delay, ``array_annotations`` ``delay_ms`` and ``variant``) and
        ``pairing.x``; the parameters as block annotations with the unit in the key.
    """
    from ctfa_brian.neo_io import protocol_block, trace_signal

    signals = []
    for key, trace in window.traces.items():
        values = np.asarray(trace["values"], float)
        channels = {"variant": np.array([key.split(".")[0]] * values.shape[0])}
        if trace["delays"] is not None:
            channels["delay_ms"] = np.asarray(trace["delays"] / ms, float)
        signals.append(trace_signal(key, values, trace["t"][0], params["record_dt"], channels,
                                    circuit=key.split(".")[0], variable=key.split(".")[1]))
    return protocol_block(NAME, params, "eligibility_window protocol: E, W, D and pairing "
                          "traces; time from pairing onset", signals, seconds=WINDOW_SECONDS,
                          t_read_ms=float(window.t_read / ms), delay_reference="pairing onset")
