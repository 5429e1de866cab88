"""Accuracy and per-layer feedback alignment against depth, at fixed Δ and T (paper §5.2).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, §4–5.2): with layerwise routing every forward and
backward hop adds about τ_prop of lag, so at a fixed T and Δ the early layers of a deeper
network see their error later and learn less; Kolen–Pollack feedback V_l aligns with the W_{l+1}
it stands in for. This protocol trains networks of increasing depth (grid axis ``hidden``) and
reports test accuracy and, for every hidden layer, the angle between V_l and W_{l+1} at the end
(0°: exact weight transport; 90°: unrelated).
"""

import numpy as np
from brian2 import ms

from ctfa_brian.cells import parse_hidden
from ctfa_brian.protocols import _cells
from ctfa_brian.sweep import aggregate

__all__ = ["DEVICE", "GRID", "NAME", "PARAMETERS", "check", "run", "summarise"]

NAME = "depth"
DEVICE = _cells.SWEEP_DEVICE
PARAMETERS = _cells.sweep_parameters(dataset="circles", hidden="24", rule="kp", epochs=10,
                              tau_pot_over_T=40.0, sample_time=100 * ms)

#: Default axis: one, two and three hidden layers of 24.
GRID = {"hidden": ("24", "24,24", "24,24,24")}


def check(params, grid):
    """``hidden`` must be an axis; every cell must be a valid run."""
    return _cells.check_sweep(params, grid, NAME, ("hidden",), example='hidden = ["24", "24,24"]')


def summarise(rows, grid):
    """Accuracy (mean ± s.d.) and the mean angle of every layer, per grid combination."""
    summary = aggregate(rows, list(grid))
    for entry in summary:
        members = [r for r in rows if all(r[k] == entry[k] for k in grid)]
        entry["depth"] = len(parse_hidden(entry["hidden"]))
        entry["angles_deg"] = []
        for layer in range(1, entry["depth"] + 1):
            values = np.array([m.get(f"angle_layer{layer}_deg", np.nan) for m in members],
                              dtype=float)
            values = values[np.isfinite(values)]
            entry["angles_deg"].append(float(values.mean()) if values.size else float("nan"))
    return summary


def _plot(path, summary, title):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 3.6), layout="constrained")
    ax_acc, ax_angle = fig.subplots(1, 2)
    entries = sorted(summary, key=lambda e: e["depth"])
    depths = [e["depth"] for e in entries]
    ax_acc.errorbar(depths, [e["mean"] for e in entries], yerr=[e["std"] for e in entries],
                    marker="o", capsize=3, label="test accuracy")
    ax_acc.plot(depths, [e["balanced_mean"] for e in entries], "s--", label="balanced")
    ax_acc.set(xlabel="hidden layers", ylabel="accuracy", ylim=(0, 1), xticks=depths)
    ax_acc.legend(loc="lower left")
    for e in entries:
        ax_angle.plot(range(1, e["depth"] + 1), e["angles_deg"], "o-",
                      label=f"{e['depth']} hidden ({e['hidden']})")
    ax_angle.axhline(90, color="0.6", ls=":", lw=1)
    ax_angle.set(xlabel="layer l", ylabel="∠(V_l, W_{l+1}) [deg]", ylim=(0, 95),
                 xticks=range(1, max(depths) + 1))
    ax_angle.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _cells.save_figure(fig, path)


def run(params, out_dir, grid):
    """Run (or resume) the sweep; write table.csv and depth.png."""
    rows = _cells.run_grid(params, grid, out_dir)
    summary = summarise(rows, grid)
    title = (f"{params['dataset']}, {params['rule']}, T = {params['sample_time'] / ms:g} ms, "
             f"Δ/T = {params['delay_over_T']:g}, τ_prop = {params['tau_prop'] / ms:g} ms")
    figure = _plot(out_dir / "depth.png", summary, title)
    return _cells.grid_results(summary, rows, out_dir, figure=figure)
