"""The theta-gate sweep's law map, ``law.csv`` and its two figures
(`ctfa_brian.protocols.theta_gate_sweep`). NumPy and Matplotlib; the law from
`ctfa_brian.protocols.laws.theta`.
"""

import numpy as np

from ctfa_brian.io import save_figure
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.laws.theta import (
    default_gate_phase,
    gate_kernels,
    pattern_edges,
    transition_ratio,
)

__all__ = ["law_map", "law_rows", "plot_law", "plot_sweep"]

#: The ratios f_low/f_high of the map run over [_R_MIN, _R_MAX].
_R_MIN, _R_MAX = 0.02, 0.98
#: Ratios at which `law_map` reports R at the default gate.
_REPORTED_RATIOS = (0.25, 0.5, 0.75)
#: Classes of the map: both signs as the protocol's headline, both reversed, or the same sign.
_CLASSES = {1: "holds", -1: "reversed", 0: "same_sign"}


def _classes(ratio, A, B):
    rise, fall = ratio * A + B, -(A + ratio * B)  # ∝ ΔW(low→high), ΔW(high→low)
    return np.where((rise > 0) & (fall < 0), 1, np.where((rise < 0) & (fall > 0), -1, 0))


def _intervals(edges):
    """Intervals [lo, hi) of gate phase where the pattern holds, from `pattern_edges`; one
    that wraps past 1 is split at 1 ≡ 0."""
    if not edges:
        return []
    opens = [p for p, kind in edges if kind == "opens"]
    closes = [p for p, kind in edges if kind == "closes"]
    out = []
    for lo in opens:
        hi = min([c for c in closes if c > lo], default=None)
        if hi is None:  # wraps
            out.append([lo, 1.0])
            if closes and min(closes) > 0:
                out.append([0.0, min(closes)])
        else:
            out.append([lo, hi])
    return sorted(out)


def law_map(params, args, ratio):
    """The law over gate phase × ratio, and at ``ratio`` = f_low/f_high.

    Returns
    -------
    dict
        ``phases`` (N), ``ratios`` (M), ``A``, ``B`` (N), ``R`` and ``classes`` (N × M: 1 the
        pattern holds, −1 reversed, 0 the same sign), ``ratio``, ``default`` (phase, A, B, R,
        pattern at the default gate), ``R_at_ratio`` (N) and ``summary`` (JSON-ready numbers).
    """
    n = params["law_phase_points"]
    phases = np.arange(n) / n
    ratios = np.linspace(_R_MIN, _R_MAX, params["law_ratio_points"])
    kernels = np.array([gate_kernels(*args, gate_phase=p) for p in phases])
    A, B = kernels[:, 0], kernels[:, 1]
    R = transition_ratio(ratios[None, :], A[:, None], B[:, None])
    classes = _classes(ratios[None, :], A[:, None], B[:, None])
    phase0 = default_gate_phase(params["phase_duration"], params["gate_width"])
    A0, B0 = gate_kernels(*args, gate_phase=phase0)
    R0 = float(transition_ratio(ratio, A0, B0))
    at_ratio = _classes(ratio, A, B)
    R_at = transition_ratio(ratio, A, B)
    edges = pattern_edges(ratio, *args, points=n)
    cycle_ms = 2 * float(params["phase_duration"]) * 1e3
    holds = at_ratio == 1
    summary = {
        "ratio": ratio, "default_gate_phase": phase0,
        "default_gate_start_ms": phase0 * cycle_ms,
        "ratio_at_default_gate": R0,
        "pattern_at_default_gate": bool(_classes(ratio, A0, B0) == 1),
        "ratio_at_default_gate_vs_f_ratio": {
            f"{r:g}": float(transition_ratio(r, A0, B0)) for r in _REPORTED_RATIOS},
        "pattern_edges": [{"gate_phase": p, "gate_start_ms": p * cycle_ms, "kind": kind}
                          for p, kind in edges],
        "pattern_holds_for_gate_phase": _intervals(edges),
        "holding_fraction_of_cycle": float(np.mean(holds)),
        "reversed_fraction_of_cycle": float(np.mean(at_ratio == -1)),
        "same_sign_fraction_of_cycle": float(np.mean(at_ratio == 0)),
        "holding_set_depends_on_f_ratio": bool(np.any(classes != classes[:, :1])),
        "ratio_range_where_pattern_holds": ([float(np.min(R_at[holds])),
                                             float(np.max(R_at[holds]))] if holds.any()
                                            else None),
    }
    return {"phases": phases, "ratios": ratios, "A": A, "B": B, "R": R, "classes": classes,
            "ratio": ratio, "R_at_ratio": R_at, "classes_at_ratio": at_ratio,
            "default": {"phase": phase0, "A": A0, "B": B0, "R": R0,
                        "pattern": summary["pattern_at_default_gate"]},
            "summary": summary}


def _per_cycle(law, params, A, B, ratio=None):
    """ΔW per cycle of the rise and the fall at ``ratio`` (default: f_low/f_high)."""
    r = law["ratio"] if ratio is None else ratio
    x_high = params["f_high_hz"] / params["f_ref_hz"]
    scale = x_high ** 2 * (1 - r) / 2
    return scale * (r * A + B), -scale * (A + r * B)


def law_rows(law, params):
    """One row per (gate phase, ratio) of the map: A, B, R, ΔW per cycle at f_high, class."""
    cycle_ms = 2 * float(params["phase_duration"]) * 1e3
    rows = []
    for i, phase in enumerate(law["phases"]):
        for j, r in enumerate(law["ratios"]):
            rise, fall = _per_cycle(law, params, law["A"][i], law["B"][i], r)
            rows.append({"gate_phase": f"{phase:.6g}", "gate_start_ms": f"{phase * cycle_ms:.6g}",
                         "f_ratio": f"{r:.6g}", "A": f"{law['A'][i]:.10g}",
                         "B": f"{law['B'][i]:.10g}", "ltd_ltp_ratio": f"{law['R'][i, j]:.10g}",
                         "dw_rise_per_cycle": f"{rise:.10g}",
                         "dw_fall_per_cycle": f"{fall:.10g}",
                         "pattern": _CLASSES[int(law["classes"][i, j])]})
    return rows


def _shade(ax, law, label=True):
    """Shade the gate phases where the pattern holds at f_low/f_high; dot the plus phase."""
    phases, holds = law["phases"], law["classes_at_ratio"] == 1
    step = phases[1] - phases[0]
    for k in np.flatnonzero(holds):
        ax.axvspan(phases[k] - step / 2, phases[k] + step / 2, color="C2", alpha=0.12, lw=0,
                   label="pattern holds (law)" if label and k == np.flatnonzero(holds)[0]
                   else None)
    ax.axvline(0.5, color="0.5", lw=0.7, ls=":")


def plot_law(law, params, path):
    """R against f_low/f_high, R and ΔW per cycle against the gate phase, and the 2-D map."""
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 8), layout="constrained")
    (ax_r, ax_phase), (ax_dw, ax_map) = fig.subplots(2, 2)
    ratios, r, default = law["ratios"], law["ratio"], law["default"]
    for phase in (default["phase"], 0.95, 0.4, 0.2):
        A, B = gate_kernels(*[params[k] for k in ("phase_duration", "gate_width", "tau_prop",
                                                  "tau_fast", "tau_slow", "tau_pot")],
                            gate_phase=phase)
        ax_r.plot(ratios, transition_ratio(ratios, A, B), lw=1.5,
                  label=f"gate opens at {phase:g} (default)" if phase == default["phase"]
                  else f"gate opens at {phase:g}")
    ax_r.plot(ratios, -ratios, "k:", lw=1, label="−r (gate in the plus phase)")
    ax_r.axhline(0, color="0.6", lw=0.5)
    ax_r.set(xlabel="f_low / f_high", ylabel="R = ΔW(high→low) / ΔW(low→high)", ylim=(-4, 0.5),
             title="LTD/LTP ratio against the frequency ratio")
    ax_r.legend(fontsize=7)
    phases = law["phases"]
    ax_phase.plot(phases, np.clip(law["R_at_ratio"], -6, 6), "k-", lw=1.3)
    _shade(ax_phase, law)
    ax_phase.set(xlabel="gate phase φ (gate opens at φ · cycle)", ylabel="R", ylim=(-4, 0.5),
                 title=f"R at f_low/f_high = {r:g} against the gate phase (clipped)")
    ax_phase.legend(fontsize=7, loc="lower left")
    rise, fall = _per_cycle(law, params, law["A"], law["B"])
    low, high = params["f_low_hz"], params["f_high_hz"]
    ax_dw.plot(phases, rise, "C3-", label=f"{low:g}→{high:g} Hz")
    ax_dw.plot(phases, fall, "C0-", label=f"{high:g}→{low:g} Hz")
    ax_dw.axhline(0, color="0.4", lw=0.6)
    _shade(ax_dw, law)
    ax_dw.set(xlabel="gate phase φ", ylabel="ΔW per cycle (law)",
              title="ΔW per cycle against the gate phase (minus | plus phase at 0.5)")
    ax_dw.legend(fontsize=7)
    cmap = ListedColormap(["C0", "0.85", "C2"])
    ax_map.pcolormesh(ratios, phases, law["classes"], cmap=cmap, vmin=-1.5, vmax=1.5,
                      shading="nearest")
    finite = np.where(np.isfinite(law["R"]), np.clip(law["R"], -8, 8), np.nan)
    lines = ax_map.contour(ratios, phases, finite, levels=[-3, -2, -1.5, -1, -0.75, -0.5, -0.25],
                           colors="k", linewidths=0.6)
    ax_map.clabel(lines, fontsize=6)
    ax_map.axhline(default["phase"], color="w", lw=1, ls="--")
    ax_map.set(xlabel="f_low / f_high", ylabel="gate phase φ",
               title="green: LTP rise + LTD fall; blue: reversed; lines: R")
    fig.suptitle(f"Theta-gate law: cycle {format_time(2 * params['phase_duration'])}, gate "
                 f"{format_time(params['gate_width'])}, τ_prop {format_time(params['tau_prop'])}"
                 f", τ_fast {format_time(params['tau_fast'])}, τ_slow "
                 f"{format_time(params['tau_slow'])}", fontsize=10)
    return save_figure(fig, path, dpi=110)


def plot_sweep(law, sweep, params, path):
    """ΔW after n_cycles and R against the gate phase: the law as lines, the simulation as
    points with s.e.m."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_dw, ax_r = fig.subplots(1, 2)
    n = params["n_cycles"]
    rise, fall = _per_cycle(law, params, law["A"], law["B"])
    phases = law["phases"]
    low, high = params["f_low_hz"], params["f_high_hz"]
    x = [e["gate_phase"] for e in sweep]
    for key, curve, colour, label in (("rise", rise, "C3", f"{low:g}→{high:g}"),
                                      ("fall", fall, "C0", f"{high:g}→{low:g}")):
        ax_dw.plot(phases, n * curve, "-", color=colour, lw=1.2, label=f"{label} Hz, law")
        ax_dw.errorbar(x, [e[f"{key}_mean"] for e in sweep], [e[f"{key}_sem"] for e in sweep],
                       fmt="o", color=colour, ms=5, capsize=3, label=f"{label} Hz, simulation")
    ax_dw.axhline(0, color="0.4", lw=0.6)
    _shade(ax_dw, law)
    ax_dw.set(xlabel="gate phase φ (gate opens at φ · cycle)", ylabel=f"ΔW after {n} cycles",
              title=f"{params['mode']} simulation against the law")
    ax_dw.legend(fontsize=7)
    ax_r.plot(phases, np.clip(law["R_at_ratio"], -6, 6), "k-", lw=1.2, label="law")
    ax_r.plot(x, [np.clip(e["ratio"], -6, 6) if e["ratio"] is not None else np.nan
                  for e in sweep], "ko", mfc="w", label="simulation")
    _shade(ax_r, law, label=False)
    ax_r.set(xlabel="gate phase φ", ylabel="R = ΔW(high→low) / ΔW(low→high)", ylim=(-4, 0.5),
             title=f"LTD/LTP ratio at f_low/f_high = {law['ratio']:g} (clipped)")
    ax_r.legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Gate position sweep: {len(sweep)} gate phases, n_trials = {params['n_trials']}, "
                 f"gate {format_time(params['gate_width'])}, cycle "
                 f"{format_time(2 * params['phase_duration'])}", fontsize=10)
    return save_figure(fig, path, dpi=110)
