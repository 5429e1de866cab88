"""Accuracy over label delay Δ × sample time T (paper Figs. 5 and 6).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, §5.1–5.2): with the label delayed by Δ, an input
and its own error overlap for ``T − |Δ|``, so learning is robust while ``|Δ| < T``, fails where
``|Δ| ≳ T``, and has a transition band in between. Layerwise routing adds a propagation lag of
about τ_prop per hop each way, so deeper layerwise networks need a longer T.

The default file (``protocols/delay_sweep.toml``) is Fig. 5: direct routing on digits, one
hidden layer of 49 (add ``hidden = ["49", "49,32"]`` to the grid for both panels);
``protocols/delay_sweep_circles.toml`` is Fig. 6: layerwise routing on circles with one, two and
three hidden layers of 24. Each heatmap cell is the mean over ``n_seeds`` seeds (the table keeps
every seed); one panel per value of every other grid axis. Every cell is a compiled-once,
resumable sweep cell (see `ctfa_brian.sweep`).
"""

import numpy as np
from brian2 import ms

from ctfa_brian.io import parse_quantity
from ctfa_brian.protocols import _cells
from ctfa_brian.sweep import aggregate

__all__ = ["DEVICE", "GRID", "NAME", "PARAMETERS", "check", "plot_heatmaps", "run"]

NAME = "delay_sweep"
DEVICE = _cells.SWEEP_DEVICE
PARAMETERS = _cells.sweep_parameters(rule="direct-kp", evaluate="final")

#: Default axes: Δ/T × T.
GRID = {
    "delay_over_T": (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5),
    "sample_time": ("25 ms", "50 ms", "100 ms", "200 ms", "400 ms"),
}

#: Axes the heatmap needs.
_AXES = ("delay_over_T", "sample_time")


def check(params, grid):
    """Both heatmap axes must be in the grid; every cell must be a valid run."""
    return _cells.check_sweep(params, grid, NAME, _AXES)


def _panels(summary, grid):
    others = [k for k in grid if k not in _AXES]
    panels = {}
    for entry in summary:
        key = tuple((k, entry[k]) for k in others)
        panels.setdefault(key, []).append(entry)
    return panels


def plot_heatmaps(path, summary, grid, title=""):
    """Heatmaps of mean accuracy: Δ/T across, T down, one panel per other grid value.

    Each cell shows mean ± s.d. over the seeds that finished; grey: every seed blew up
    (unstable learning); dotted lines mark ``|Δ| = T``.
    """
    import matplotlib
    from matplotlib.figure import Figure

    panels = _panels(summary, grid)
    ratios = sorted({float(e["delay_over_T"]) for e in summary})
    times = sorted({e["sample_time"] for e in summary}, key=lambda t: float(parse_quantity(t)))
    fig = Figure(figsize=(1.0 + 0.75 * len(ratios) * len(panels) + 1.2,
                          1.6 + 0.5 * len(times)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    image = None
    for ax, (key, entries) in zip(axes, panels.items()):
        grid_mean = np.full((len(times), len(ratios)), np.nan)
        grid_std = np.full_like(grid_mean, np.nan)
        for e in entries:
            i, j = times.index(e["sample_time"]), ratios.index(float(e["delay_over_T"]))
            grid_mean[i, j], grid_std[i, j] = e["mean"], e["std"]
        cmap = matplotlib.colormaps["viridis"].with_extremes(bad="0.8")
        image = ax.imshow(np.ma.masked_invalid(grid_mean), vmin=0, vmax=1, cmap=cmap,
                          origin="lower", aspect="auto")
        for i in range(len(times)):
            for j in range(len(ratios)):
                failed = np.isnan(grid_mean[i, j])
                text = ("blew\nup" if failed
                        else f"{grid_mean[i, j]:.2f}\n±{grid_std[i, j]:.2f}")
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5,
                        color="black" if failed or grid_mean[i, j] > 0.6 else "white")
        for r in (-1.0, 1.0):  # |Δ| = T, in data coordinates between the columns
            x = np.interp(r, ratios, np.arange(len(ratios)), left=np.nan, right=np.nan)
            if np.isfinite(x):
                ax.axvline(x, color="red", ls=":", lw=1.5)
        ax.set_xticks(range(len(ratios)), [f"{r:g}" for r in ratios])
        ax.set_yticks(range(len(times)), times)
        ax.set_xlabel("Δ / T")
        ax.set_title(", ".join(f"{k} = {v}" for k, v in key), fontsize=9)
    axes[0].set_ylabel("sample time T")
    fig.colorbar(image, ax=list(axes), label="test accuracy", shrink=0.9)
    if title:
        fig.suptitle(title + "   (dotted: |Δ| = T)", fontsize=9)
    return _cells.save_figure(fig, path)


def summarise(rows, grid):
    """Mean ± s.d. over seeds for every grid combination (see `ctfa_brian.sweep.aggregate`)."""
    return aggregate(rows, list(grid))


def run(params, out_dir, grid):
    """Run (or resume) the sweep; write table.csv, delay_sweep.png and the summary."""
    rows = _cells.run_grid(params, grid, out_dir)
    summary = summarise(rows, grid)
    hidden = "" if "hidden" in grid else f"hidden {params['hidden']}, "
    title = (f"{params['dataset']}, {params['rule']}, {hidden}"
             f"τ_prop = {params['tau_prop'] / ms:g} ms, τ_pot = {params['tau_pot_over_T']:g} T, "
             f"{params['epochs']} epochs, {params['n_seeds']} seed(s)")
    figure = plot_heatmaps(out_dir / "delay_sweep.png", summary, grid, title=title)
    return _cells.grid_results(summary, rows, out_dir, figure=figure)
