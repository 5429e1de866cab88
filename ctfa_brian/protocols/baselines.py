"""The continuous-time network against a discrete-time MLP (paper Tables 2–3 and Fig. 8).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, Appendix C): an MLP of the same hidden sizes,
trained by backprop with Adam (lr 1e-3), batch size 1, on the same samples in the same order
(`ctfa_brian.baselines`), next to the continuous-time layerwise network. Tables 2 and 3: train
and test accuracy, mean ± s.d. over seeds, at Δ = 0. Fig. 8: accuracy against the delay ratio
Δ/T — the continuous network with its label delayed by Δ, the discrete one with *label
dithering* (p of every q samples learn from the previous sample's label, p/q ≈ Δ/T).

Grid axes: ``model`` (continuous, discrete), ``hidden`` and ``delay_over_T`` (0 ≤ Δ/T ≤ 1).
Writes ``table.md`` and ``table_summary.csv`` (the tables), ``table.csv`` (every cell and seed)
and ``baselines.png`` (Fig. 8, one panel per architecture).
"""

import csv

import numpy as np
from brian2 import ms

from ctfa_brian.protocols import _cells
from ctfa_brian.sweep import aggregate

__all__ = ["DEVICE", "GRID", "NAME", "PARAMETERS", "check", "run", "write_tables"]

NAME = "baselines"
DEVICE = _cells.SWEEP_DEVICE
PARAMETERS = _cells.sweep_parameters(dataset="circles", hidden="24", rule="kp", epochs=10,
                              tau_pot_over_T=40.0, sample_time=100 * ms)

#: Default axes: both models, one to three hidden layers of 24, five delay ratios.
GRID = {
    "model": ("continuous", "discrete"),
    "hidden": ("24", "24,24", "24,24,24"),
    "delay_over_T": (0.0, 0.25, 0.5, 0.75, 1.0),
}


def check(params, grid):
    """``model`` must be an axis; discrete cells need 0 ≤ Δ/T ≤ 1 (`check_grid`)."""
    return _cells.check_sweep(params, grid, NAME, ("model",),
                       example='model = ["continuous", "discrete"]', continuous_only=False)


def _fmt(mean, std):
    return "–" if not np.isfinite(mean) else f"{mean:.4f} ± {std:.4f}"


def write_tables(out_dir, summary, delay):
    """Tables 2/3: train and test accuracy per architecture and model at Δ/T = ``delay``."""
    at = [e for e in summary if float(e.get("delay_over_T", 0.0)) == delay]
    archs = list(dict.fromkeys(e["hidden"] for e in at))
    by = {(e["hidden"], e["model"]): e for e in at}
    lines = [f"Accuracy (mean ± s.d. over seeds) at Δ/T = {delay:g}", "",
             "| hidden | train, discrete | train, continuous | test, discrete | "
             "test, continuous |", "|---|---|---|---|---|"]
    with open(out_dir / "table_summary.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["hidden", "model", "delay_over_T", "n", "train_mean", "train_std",
                         "test_mean", "test_std"])
        for arch in archs:
            cols = []
            for key in ("train", "test"):
                for model in ("discrete", "continuous"):
                    e = by.get((arch, model))
                    cols.append(_fmt(e[f"{key}_mean" if key == "train" else "mean"],
                                     e["train_std" if key == "train" else "std"])
                                if e else "–")
            lines.append(f"| {arch} | " + " | ".join(cols) + " |")
            for model in ("discrete", "continuous"):
                e = by.get((arch, model))
                if e:
                    writer.writerow([arch, model, delay, e["n"], e["train_mean"],
                                     e["train_std"], e["mean"], e["std"]])
    (out_dir / "table.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_dir / "table.md", out_dir / "table_summary.csv"


def _plot(path, summary, grid, title):
    from matplotlib.figure import Figure

    archs = list(dict.fromkeys(e["hidden"] for e in summary))
    fig = Figure(figsize=(3.4 * len(archs) + 0.6, 3.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(archs), sharey=True))
    for ax, arch in zip(axes, archs):
        entries = [e for e in summary if e["hidden"] == arch]
        if "delay_over_T" in grid:
            _cells.plot_lines(ax, entries, "delay_over_T", ["model"])
            ax.set_xlabel("delay ratio Δ / T")
        else:
            for e in entries:
                ax.bar(e["model"], e["mean"], yerr=e["std"], capsize=3)
        ax.set(title=f"hidden {arch}", ylim=(0, 1))
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("test accuracy")
    fig.suptitle(title, fontsize=9)
    return _cells.save_figure(fig, path)


def run(params, out_dir, grid):
    """Run (or resume) the sweep; write the tables and baselines.png."""
    rows = _cells.run_grid(params, grid, out_dir)
    keys = [k for k in grid]
    summary = aggregate(rows, keys)
    for entry in summary:
        entry.setdefault("hidden", params["hidden"])
        entry.setdefault("delay_over_T", params["delay_over_T"])
    delays = [float(d) for d in grid.get("delay_over_T", (params["delay_over_T"],))]
    table, table_csv = write_tables(out_dir, summary, min(delays, key=abs))
    title = (f"{params['dataset']}: continuous ({params['rule']}, T = "
             f"{params['sample_time'] / ms:g} ms) vs discrete MLP (Adam 1e-3, batch 1)")
    figure = _plot(out_dir / "baselines.png", summary, grid, title)
    return _cells.grid_results(summary, rows, out_dir, summary_table=table, summary_csv=table_csv,
                        figure=figure)
