"""A sweep protocol of your own: test accuracy against the neuronal time constant τ_prop.

Every forward and backward hop of the network adds about τ_prop of lag, so with T fixed a
slower neuron leaves less of each sample for learning (docs/model.md, "Choosing T and
τ_pot"). A grid over the cell key ``tau_prop`` (and anything else of the cell parameters, e.g.
``hidden``) on the package's sweep engine: compiled once per structure, parallel (``--workers``),
resumable after an interrupt or ``kill -9``. Writes ``table.csv`` and ``tau_prop_sweep.png``;
see docs/adding_a_protocol.md.

    ctfa run examples/protocols/tau_prop_sweep.toml --out runs/tau_prop --workers 2
"""

from brian2 import ms

from ctfa_brian.io import parse_quantity, save_figure
from ctfa_brian.protocols._cells import (
    SWEEP_DEVICE,
    check_sweep,
    grid_results,
    plot_lines,
    run_grid,
    sweep_parameters,
)
from ctfa_brian.sweep import aggregate

NAME = "tau_prop_sweep"
DEVICE = SWEEP_DEVICE
PARAMETERS = sweep_parameters(evaluate="final")

#: Default axis: τ_prop.
GRID = {"tau_prop": ("10 ms", "20 ms", "40 ms", "80 ms")}


def check(params, grid):
    """``tau_prop`` must be an axis; every cell must be a valid run (dt < τ_prop/5, ...)."""
    return check_sweep(params, grid, NAME, ("tau_prop",), example='tau_prop = ["10 ms", "40 ms"]')


def run(params, out_dir, grid):
    """Run (or resume) the sweep; write table.csv and tau_prop_sweep.png."""
    from matplotlib.figure import Figure

    rows = run_grid(params, grid, out_dir)
    summary = aggregate(rows, list(grid))
    others = [k for k in grid if k != "tau_prop"]
    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    plot_lines(ax, summary, "tau_prop", others, x_of=lambda v: float(parse_quantity(v) / ms))
    ax.set(xlabel="τ_prop (ms)", ylabel="test accuracy", ylim=(0, 1),
           title=f"{params['dataset']}, {params['rule']}, hidden {params['hidden']}, "
                 f"T = {params['sample_time'] / ms:g} ms")
    if others:
        ax.legend()
    figure = save_figure(fig, out_dir / "tau_prop_sweep.png")
    return grid_results(summary, rows, out_dir, figure=figure)
