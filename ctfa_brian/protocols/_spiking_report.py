"""What the overlap and eligibility-window protocols write in the spiking variant.

`run_overlap` and `run_window` simulate (`ctfa_brian.protocols._spiking_synapse`), check the
trial means against the laws, and write ``table.csv`` (one row per curve, delay and trial), a
figure, and the spike trains as Neo (``spikes.nix``: **one `neo.Segment` per delay** — the
condition — with the presynaptic and error spike trains of trial 0 of every circuit,
annotations ``circuit``, ``population``, ``event``, parameters on the block with the unit in the
key).
"""


import numpy as np
from brian2 import ms, second

from ctfa_brian.io import save_figure
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols._spiking_synapse import SpikingCurves, overlap_spiking, window_spiking
from ctfa_brian.protocols.curve import SEM_ALLOWANCE
from ctfa_brian.protocols.outputs import save_outputs

__all__ = ["run_overlap", "run_window", "spikes_block"]

def spikes_block(result, params, protocol, seconds=("tau_pot", "tau_dec")):
    """The trial-0 spike trains of every delay as a `neo.Block`, one Segment per delay."""
    from ctfa_brian.neo_io import neo_segment, protocol_block, spike_train

    stop, begin = result.t_stop, result.t_start
    segments = []
    for k, delay in enumerate(result.delays):
        trains = []
        for circuit, per_event in result.spikes.items():
            for event, per_delay in per_event.items():
                times = per_delay[k]
                times = times[(times >= begin) & (times <= stop)]
                trains.append(spike_train(
                    times, stop, f"{circuit}.{event}", t_start=begin, circuit=circuit,
                    population="pre" if event == "pre" else "error",
                    event="spike" if event == "pre" else event, delay_ms=float(delay / ms),
                    max_rate_hz=float(result.max_rate / (1 / second)), trial=0))
        segments.append(neo_segment(f"delay {float(delay / ms):g} ms", spiketrains=trains,
                                    delay_ms=float(delay / ms)))
    return protocol_block(protocol, params, f"{protocol} protocol, spiking variant: "
                          "presynaptic and error spike trains of trial 0 per delay; time from "
                          "input onset", seconds=seconds, segments=segments,
                          name=f"ctfa_brian {protocol} (spiking)", variant="spiking")


def _per_delay(x_name, x, curve):
    return [{x_name: float(v), "mean": float(m), "sem": float(s), "law": float(w)}
            for v, m, s, w in zip(x, curve.mean, curve.sem, curve.law)]


def _table(result, x_name, x_of, quantity):
    rows = []
    for name, curve in result.curves.items():
        mean, sem = curve.mean, curve.sem
        for k, delay in enumerate(result.delays):
            for j in range(curve.n_trials):
                rows.append({x_name: f"{x_of(delay):.6g}", "curve": name, "trial": j,
                             quantity: f"{curve.trials[k, j]:.10g}",
                             f"{quantity}_mean": f"{mean[k]:.10g}",
                             f"{quantity}_sem": f"{sem[k]:.6g}",
                             f"{quantity}_law": f"{curve.law[k]:.10g}"})
    return rows


# ----------------------------------------------------------------------------------------
# Overlap
# ----------------------------------------------------------------------------------------
def _overlap_summary(result, params):
    from ctfa_brian.protocols.laws.overlap import GATED_EARLY_MAX, GATED_LATE_MIN

    T = params["sample_time"]
    d = np.asarray(result.delays / T)
    zero, late, early = int(np.argmin(np.abs(d))), len(d) - 1, 0
    tol = params["tolerance"]
    entries, checks = {}, {}
    for name, curve in result.curves.items():
        peak = float(np.max(curve.law))
        ok, worst = curve.agrees(tol, peak)
        entries[name] = {
            "law": {"ungated": "propagated_law (no input hop, one error hop of τ_prop)",
                    "gated": "gated_law", "overlap": "triangle_law (T − |Δ|)₊"}[name],
            "peak_law": peak, "max_deviation_sem": worst,
            "max_deviation_percent": 100 * curve.deviation(peak),
            "per_delay": _per_delay("delay_over_T", d, curve)}
        checks[f"{name}: trial mean within {100 * tol:g} % of the law's peak + "
               f"{SEM_ALLOWANCE:g} s.e.m."] = ok
    mean, sem = result.curves["gated"].mean, result.curves["gated"].sem
    ratio_late = float(mean[late] / mean[zero])
    ratio_early = float(mean[early] / mean[zero])
    sem_late = float(sem[late] / mean[zero])
    sem_early = float(sem[early] / mean[zero])
    entries["gated"].update(ratio_late=ratio_late, ratio_early=ratio_early)
    checks[f"gated: error after the input keeps ≥ {GATED_LATE_MIN:g} of the Δ = 0 change"] = \
        bool(ratio_late + SEM_ALLOWANCE * sem_late >= GATED_LATE_MIN)
    checks[f"gated: error before the input: ≤ {GATED_EARLY_MAX:g} of it"] = \
        bool(abs(ratio_early) <= GATED_EARLY_MAX + SEM_ALLOWANCE * sem_early)
    return {
        "protocol": "overlap", "variant": "spiking",
        "sign": "values are -ΔW (dW/dt = -x e/tau_pot in expectation); overlap is C(0) = "
                "∫ x e dt from the spike trains' cross-correlation (elephant), in seconds",
        "sample_time": format_time(T), "max_rate_hz": params["max_rate_hz"],
        "n_trials": params["n_trials"], "cch_trials": result.curves["overlap"].n_trials,
        "tau_pot": format_time(params["tau_pot_ratios"][-1] * T),
        "spike_tau_prop": format_time(params["spike_tau_prop"]),
        "curves": entries, "checks": checks, "passed": all(checks.values()),
    }


def _overlap_figure(result, params):
    """The three spiking curves, trial mean ± s.e.m. on their laws."""
    from matplotlib.figure import Figure

    T = params["sample_time"]
    x = np.asarray(result.delays / T)
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True)
    titles = {"ungated": "ungated: −ΔW τ_pot (s)", "gated":
              f"gated, τ_elig = {format_time(params['tau_elig'])}: −ΔW τ_pot (s)",
              "overlap": "C(0) = ∫ x e dt from the spike trains (s)"}
    scale = {"ungated": float(params["tau_pot_ratios"][-1] * T / second),
             "gated": float(params["tau_pot_ratios"][-1] * T / second), "overlap": 1.0}
    for ax, name in zip(axes, ("ungated", "gated", "overlap")):
        c, s = result.curves[name], scale[name]
        ax.plot(x, c.law * s, "k-", lw=1, label="law (expected value)")
        ax.errorbar(x, c.mean * s, yerr=c.sem * s, fmt="o", ms=3, mfc="none",
                    capsize=2, label=f"spiking, mean ± s.e.m. ({c.n_trials} trials)")
        ax.axhline(0, color="0.8", lw=0.5)
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel("error delay Δ / T")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Overlap with spikes (Poisson at {params['max_rate_hz']:g} Hz, "
                 f"T = {format_time(T)})", fontsize=10)
    return fig


def run_overlap(params, out_dir, delays):
    """The overlap protocol's spiking variant: simulate, check, write; return the results."""
    result = overlap_spiking(params, delays)
    results = _overlap_summary(result, params)
    rows = _table(result, "delay_ms", lambda d: float(d / ms), "minus_dW")
    fig = _overlap_figure(result, params)
    return save_outputs(results, out_dir, result.timings, rows,
                        lambda out: save_figure(fig, out / "overlap.png"),
                        spikes_block(result, params, "overlap"), neo="spikes")


# ----------------------------------------------------------------------------------------
# Eligibility window
# ----------------------------------------------------------------------------------------
def _window_summary(result, params):
    from ctfa_brian.protocols.laws.window import EARLY_MAX, FAR_MAX, LATE_MIN

    d = np.asarray(result.delays / second)
    g = result.curves["gated"]
    peak = float(np.max(g.mean))
    law_peak = float(np.max(g.law))
    tol = 0.02
    checks, curves = {}, {}
    for name, curve in result.curves.items():
        ok, worst = curve.agrees(tol)
        curves[name] = {"tau_elig": (format_time(curve.tau_elig) if curve.tau_elig
                                     is not None else None), "max_deviation_sem": worst,
                        "per_delay": _per_delay("delay_s", d, curve)}
        checks[f"{name}: trial mean within {100 * tol:g} % of its law's peak + "
               f"{SEM_ALLOWANCE:g} s.e.m."] = ok
    targets = {}
    for label, delay in (("-1 s", -1.0), ("+0.6 s", 0.6), ("+1 s", 1.0), ("+5 s", 5.0)):
        hits = np.flatnonzero(np.abs(d - delay) < 1e-9)
        if not len(hits):
            continue
        k = int(hits[0])
        ratio, sem = float(g.mean[k] / peak), float(g.sem[k] / peak)
        if delay < 0:
            expected, ok = f"none: |ΔW| ≤ {EARLY_MAX:g} × peak", abs(ratio) <= EARLY_MAX + \
                SEM_ALLOWANCE * sem
        elif delay > 2:
            expected, ok = f"weak: ΔW < {FAR_MAX:g} × peak", ratio < FAR_MAX + \
                SEM_ALLOWANCE * sem
        else:  # potentiation, and significantly above zero
            expected = f"potentiation: ΔW ≥ {LATE_MIN:g} × peak, > 0 by {SEM_ALLOWANCE:g} s.e.m."
            ok = ratio >= LATE_MIN and ratio > SEM_ALLOWANCE * sem
        targets[label] = {"delay_s": delay, "gated_normalised": ratio, "sem_normalised": sem,
                          "expected": expected, "ok": bool(ok)}
        checks[f"gated {label}: {expected}"] = bool(ok)
    return {
        "protocol": "eligibility_window", "variant": "spiking",
        "delay_reference": "pairing onset (d = 0: burst and pairing start together)",
        "sign": "ΔW > 0 is potentiation (the burst is a reward-like modulator: err_neg spikes "
                "at max_rate · D(t))",
        "max_rate_hz": params["max_rate_hz"], "n_trials": params["n_trials"],
        "tau_elig": format_time(params["tau_elig"]),
        "peak": peak, "law_peak": law_peak,
        "peak_delay_s": float(d[int(np.argmax(g.mean))]),
        "yagishita": targets, "curves": curves,
        "checks": checks, "passed": all(checks.values()),
    }


def _window_figure(result, params, controls=None):
    """ΔW(d) of every spiking curve, trial mean ± s.e.m. on its law, Yagishita's delays; the
    controls' bars beside it."""
    from matplotlib.figure import Figure

    from ctfa_brian.protocols.laws.window import (
        YAGISHITA_ABSENT,
        YAGISHITA_SIGNIFICANT,
        YAGISHITA_WINDOW,
    )
    from ctfa_brian.protocols.window_controls import plot_controls

    d = np.asarray(result.delays / second)
    peak = float(np.max(result.curves["gated"].law))
    fig = Figure(figsize=(11 if controls else 7, 4.2), layout="constrained")
    if controls:
        ax, ax_ctrl = fig.subplots(1, 2, width_ratios=[1.6, 1])
        plot_controls(ax_ctrl, controls)
    else:
        ax = fig.subplots()
    ax.axvspan(*YAGISHITA_WINDOW, color="C2", alpha=0.1, label="Yagishita window")
    for k, (name, c) in enumerate(result.curves.items()):
        label = name if c.tau_elig is None else f"gated, τ_elig = {format_time(c.tau_elig)}"
        line = ax.plot(d, c.law / peak, "-", lw=1, color=f"C{k}")[0]
        ax.errorbar(d, c.mean / peak, yerr=c.sem / peak, fmt="o", ms=4, mfc="none",
                    capsize=2, color=line.get_color(), label=f"{label} (lines: law)")
    for x in YAGISHITA_SIGNIFICANT:
        ax.axvline(x, color="C2", ls=":", lw=1)
    for x in YAGISHITA_ABSENT:
        ax.axvline(x, color="0.6", ls=":", lw=1)
    ax.axhline(0, color="0.8", lw=0.5)
    ax.set_xlabel("burst delay from pairing onset (s)")
    ax.set_ylabel("ΔW / gated law's peak")
    ax.set_title(f"Eligibility window with spikes (Poisson at {params['max_rate_hz']:g} "
                 f"Hz, {params['n_trials']} trials per delay)", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def _window_controls(result, params, delays):
    """Yagishita's controls in their own run: ``(entry or None, checks, timings, rows)``."""
    from ctfa_brian.protocols.curve import Curve
    from ctfa_brian.protocols.window_controls import (
        control_indices,
        controls_of,
        controls_spiking,
        summarise,
    )

    if not controls_of(params):
        return None, {}, {}, []
    g = result.curves["gated"]
    ks = control_indices(delays, g.law)
    curves, timings = controls_spiking(params, delays, ks)
    entry, checks = summarise(params, delays[ks], Curve(g.trials[ks], g.law[ks]), curves)
    rows = _table(SpikingCurves(delays[ks], curves), "delay_s", lambda d: float(d / second), "dW")
    return entry, checks, timings, rows


def run_window(params, out_dir, delays, taus):
    """The eligibility-window protocol's spiking variant: simulate, check, write."""
    result = window_spiking(params, delays, taus)
    results = _window_summary(result, params)
    controls, checks, timings, control_rows = _window_controls(result, params, delays)
    results["checks"].update(checks)
    results["passed"] = all(results["checks"].values())
    results["controls"] = controls
    rows = _table(result, "delay_s", lambda d: float(d / second), "dW")
    rows += control_rows
    from ctfa_brian.protocols.laws.window import WINDOW_SECONDS

    fig = _window_figure(result, params, controls)
    return save_outputs(results, out_dir, {**result.timings, **timings}, rows,
                        lambda out: save_figure(fig, out / "eligibility_window.png"),
                        spikes_block(result, params, "eligibility_window", WINDOW_SECONDS),
                        neo="spikes")
