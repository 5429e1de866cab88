"""Accuracy against integration-noise amplitude (the paper's robustness claim, §1 and §6).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808): the continuous-time networks "stably learn at
biological timescales, even under temporal mismatches and integration noise". Every rate neuron
gets ``noise`` × white noise in its τ_prop dynamics (stationary s.d. of z around its drive:
noise/√2). This protocol trains the same network for every amplitude (grid axis ``noise``) and
seed and plots test accuracy against it. All positive amplitudes share one compiled project
(the amplitude goes in through ``run_args``); noise = 0 is a second one.
"""

from brian2 import ms

from ctfa_brian.protocols import _cells
from ctfa_brian.sweep import aggregate

__all__ = ["DEVICE", "GRID", "NAME", "PARAMETERS", "check", "run"]

NAME = "noise"
DEVICE = _cells.SWEEP_DEVICE
PARAMETERS = _cells.sweep_parameters(evaluate="final")

#: Default axis: noise amplitudes.
GRID = {"noise": (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)}


def check(params, grid):
    """``noise`` must be an axis; every cell must be a valid run."""
    return _cells.check_sweep(params, grid, NAME, ("noise",), example="noise = [0, 0.1, 0.5]")


def run(params, out_dir, grid):
    """Run (or resume) the sweep; write table.csv and noise.png."""
    from matplotlib.figure import Figure

    rows = _cells.run_grid(params, grid, out_dir)
    summary = aggregate(rows, list(grid))
    others = [k for k in grid if k != "noise"]
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    _cells.plot_lines(ax, summary, "noise", others)
    ax.set(xlabel="integration-noise amplitude", ylabel="test accuracy", ylim=(0, 1),
           title=f"{params['dataset']}, {params['rule']}, hidden {params['hidden']}, "
                 f"T = {params['sample_time'] / ms:g} ms")
    positive = sorted(g for g in grid["noise"] if g > 0)
    if positive and positive[-1] / positive[0] > 10:  # linear near 0, logarithmic above
        ax.set_xscale("symlog", linthresh=positive[0], linscale=0.5)
        ax.set_xlim(0, positive[-1] * 1.3)
        ax.set_xticks([0, *positive], ["0", *[f"{g:g}" for g in positive]])
    if others:
        ax.legend()
    figure = _cells.save_figure(fig, out_dir / "noise.png")
    return _cells.grid_results(summary, rows, out_dir, figure=figure)
