"""The overlap protocol's results: the summary against the laws, table.csv, the figure and the
Neo traces of a `Sweep` (`ctfa_brian.protocols.overlap.simulate`).
"""

from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian.io import save_figure
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.laws.overlap import (
    GATED_EARLY_MAX,
    GATED_LATE_MIN,
    eq4_law,
    gated_law,
    triangle_law,
)

logger = get_logger(__name__)

#: The protocol these results belong to (its ``NAME``).
NAME = "overlap"


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
        One trial each; info ``variant`` (``eq1``, ``filtered``, ``gated``), ``tau_pot``,
        ``tau_prop`` (0 ms: input and error drive the synapse directly), ``tau_elig`` (gated
        only, else None) and ``law_name``; the mean is −ΔW at each delay.
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
                 "max_deviation_percent": 100 * curve.deviation(),
                 "peak_delay_ms": float(d_ms[np.argmax(curve.mean)])}
        if curve.variant == "eq1":
            triangle = np.asarray(triangle_law(sweep.delays, T) / curve.tau_pot)
            entry["deviation_from_triangle_percent"] = float(
                100 * np.max(np.abs(curve.mean - triangle)) / np.max(triangle))
        ungated.append(entry)
    g = sweep.find("gated")
    gated = {"tau_elig": format_time(g.tau_elig), "tau_pot": format_time(g.tau_pot),
             "law": g.law_name, "max_deviation_percent": 100 * g.deviation(),
             "delay_late_ms": float(d_ms[late]), "delay_early_ms": float(d_ms[early]),
             "ratio_late": float(g.mean[late] / g.mean[zero]),
             "ratio_early": float(g.mean[early] / g.mean[zero]) + 0.0,
             "law_ratio_late": float(g.law[late] / g.law[zero]),
             "peak_delay_ms": float(d_ms[np.argmax(g.mean)])}
    propagation = []
    direct = [c for c in sweep.curves if c.variant == "eq1" and float(c.tau_prop) == 0]
    reference = direct[-1]
    for curve in [reference] + [c for c in sweep.curves if float(c.tau_prop) > 0]:
        weights = np.clip(curve.mean, 0, None)
        propagation.append({
            "tau_prop": format_time(curve.tau_prop),
            "input_hops": params["input_hops"] if float(curve.tau_prop) else 0,
            "error_hops": params["error_hops"] if float(curve.tau_prop) else 0,
            "zero_delay_ratio": float(curve.mean[zero] / reference.mean[zero]),
            "peak_ratio": float(curve.mean.max() / reference.mean.max()),
            "peak_delay_ms": float(d_ms[np.argmax(curve.mean)]),
            "centroid_ms": float(np.sum(d_ms * weights) / np.sum(weights)),
            "max_deviation_percent": 100 * curve.deviation(),
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


def table_rows(sweep):
    """Every curve as rows of ``table.csv`` (units in the column names)."""
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
                "minus_dW_sim": f"{curve.mean[k]:.10g}",
                "minus_dW_law": f"{curve.law[k]:.10g}",
                "normalised": f"{curve.mean[k] / peak:.8g}",
            })
    return rows


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
        ax_eq1.plot(x, curve.mean / peak, markers[k % 5], ms=4, mfc="none",
                    label=f"sim, τ_pot/T = {ratio:g} (dev {100 * curve.deviation():.2g} %)")
    ax_eq1.plot(xf, np.asarray(triangle_law(fine, T) / T), "k-", lw=1,
                label="(T − |Δ|)₊ / T  (eq. 5)")
    ax_eq1.set_title("eq. 1 as written (fast propagation)")
    for k, curve in enumerate(c for c in ungated if c.variant == "filtered"):
        peak = curve.law.max()
        ratio = float(curve.tau_pot / T)
        line = ax_filt.plot(xf, np.asarray(eq4_law(fine, T, curve.tau_pot) / curve.tau_pot)
                            / peak, "-", lw=1, label=f"eq. 4, τ_pot/T = {ratio:g}")[0]
        ax_filt.plot(x, curve.mean / peak, markers[k % 5], ms=4, mfc="none",
                     color=line.get_color(), label=f"sim (dev {100 * curve.deviation():.2g} %)")
    ax_filt.set_title("potentiation low-pass filtered with τ_pot, read at T")
    g = sweep.find("gated")
    peak = g.law.max()
    ax_gate.plot(xf, np.asarray(gated_law(fine, T, g.tau_elig, None, None) / g.tau_pot) / peak,
                 "-", color="C3", lw=1, label="gated_law")
    ax_gate.plot(x, g.mean / peak, "o", ms=4, mfc="none", color="C3",
                 label=f"sim (dev {100 * g.deviation():.2g} %)")
    tri = np.asarray(triangle_law(fine, T) / T)
    ax_gate.plot(xf, tri * tri.max() ** -1, ":", color="0.5", lw=1, label="ungated (T − |Δ|)₊")
    ax_gate.set_title(f"eligibility-gated, τ_elig = {format_time(g.tau_elig)}")
    ref = [c for c in sweep.curves if c.variant == "eq1" and float(c.tau_prop) == 0][-1]
    peak = ref.law.max()
    ax_prop.plot(x, ref.mean / peak, "k-", lw=1, label="τ_prop = 0 (direct)")
    for k, curve in enumerate(c for c in sweep.curves if float(c.tau_prop) > 0):
        line = ax_prop.plot(x, curve.law / peak, "-", lw=1, color=f"C{k + 1}",
                            label=f"τ_prop = {format_time(curve.tau_prop)}")[0]
        ax_prop.plot(x, curve.mean / peak, markers[(k + 1) % 5], ms=3, mfc="none",
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
    return save_figure(fig, path, dpi=110)


def traces_block(sweep, params):
    """Put the recorded traces into a `neo.Block` (time from input onset, parameters annotated).

    Returns
    -------
    neo.Block
        One `neo.AnalogSignal` per circuit and variable (``ungated.-w``, ``gated.E``, …),
        dimensionless, with ``array_annotations`` ``variant``, ``delay_ms``, ``tau_pot_s``,
        ``tau_prop_ms`` per channel; block annotations hold the parameters, unit in the key.
    """
    from ctfa_brian.neo_io import protocol_block, trace_signal

    signals = []
    for key, trace in sweep.traces.items():
        channels = trace["channels"]
        signals.append(trace_signal(
            key.replace(".w", ".minus_w"), trace["values"], trace["t"][0], params["record_dt"],
            channels={
                "variant": np.array([c["variant"] for c in channels]),
                "delay_ms": np.array([float(c["delay"] / ms) for c in channels]),
                "tau_pot_s": np.array([float(c["tau_pot"] / second) for c in channels]),
                "tau_prop_ms": np.array([float(c["tau_prop"] / ms) for c in channels]),
            },
            circuit=key.split(".")[0], variable=trace["variable"]))
    return protocol_block(NAME, params, "overlap protocol: W, E, input and error traces; "
                          "time from input onset", signals, t_read_ms=float(sweep.t_read / ms))
