"""What every sweep protocol shares: the parameters of one cell, the checks, the run.

A sweep protocol (delay_sweep, depth, noise, baselines, network_tau_pot) is a grid over the
parameters of one training run (`CELL_PARAMETERS`): its file's ``[parameters]`` give the values
every cell shares, its ``[grid]`` the axes. `run_grid` expands the grid, runs it with
`ctfa_brian.sweep.run_sweep` (compiled once per structure, parallel, resumable) and writes
``table.csv``.
"""

from brian2 import ms, second

from ctfa_brian.cells import CELL_KEYS, _timing, parse_hidden
from ctfa_brian.device import DEFAULT, NETWORK_DEVICES
from ctfa_brian.io import save_figure
from ctfa_brian.protocols.spec import VARIANT_PARAMETERS, Parameter
from ctfa_brian.sweep import check_scheduler, expand_grid, run_sweep, write_table

__all__ = ["CELL_PARAMETERS", "SWEEP_DEVICE", "SWEEP_OPTIONS", "cells_of", "check_cells",
           "check_grid", "check_sweep", "grid_results", "plot_lines", "run_grid", "save_figure",
           "status_counts", "sweep_parameters"]

_RULES = ("sgd", "fa", "kp", "dfa", "direct-kp")

#: The parameters of one cell (one training run); any of them can be a grid axis.
CELL_PARAMETERS = {
    "model": Parameter("str", "continuous", "the continuous-time network or its discrete-time "
                       "baseline (NumPy MLP, Adam, batch 1, same sample order)",
                       choices=("continuous", "discrete")),
    **VARIANT_PARAMETERS,
    "dataset": Parameter("str", "digits", "dataset (offline)",
                         choices=("digits", "circles", "mnist7")),
    "hidden": Parameter("str", "49", "hidden layer widths, comma-separated (\"49,32\")"),
    "rule": Parameter("str", "kp", "learning rule (direct routing: dfa, direct-kp)",
                      choices=_RULES),
    "activation": Parameter("str", "relu", "hidden nonlinearity",
                            choices=("relu", "tanh", "sigmoid", "linear")),
    "loss": Parameter("str", "cross_entropy", "output loss",
                      choices=("cross_entropy", "squared")),
    "epochs": Parameter("int", 3, "training epochs per run", ge=1),
    "evaluate": Parameter("str", "curve", "curve: test evaluation before training and after "
                          "every epoch, then the training set; final: one test evaluation at "
                          "the end (≈40 % less simulated time; no train accuracy)",
                          choices=("curve", "final")),
    "n_train": Parameter("int", 0, "use the first N training samples (0: all)", ge=0),
    "n_test": Parameter("int", 0, "use the first N test samples (0: all)", ge=0),
    "sample_time": Parameter("time", 200 * ms, "T, how long each sample is held",
                             gt=10 * ms),
    "delay_over_T": Parameter("float", 0.0, "label delay Δ as a fraction of T (negative: "
                              "early; rounded to a whole dt; beyond ±1 no input meets its "
                              "own label)", ge=-10.0, le=10.0),
    "delay_origin": Parameter("str", "auto", "where Δ = 0 sits: output (when the input's "
                              "response reaches the output, L·τ_prop after its onset), input "
                              "(at its onset: the paper's literal Δ), or auto (output for the "
                              "rate variant, input for the spiking one)",
                              choices=("auto", "output", "input")),
    "tau_pot_over_T": Parameter("float", 50.0, "τ_pot / T for W and V (per-sample learning "
                                "rate ≈ T/τ_pot)", gt=1.0),
    "tau_prop": Parameter("time", 10 * ms, "neuronal time constant", gt=0 * ms),
    "tau_dec": Parameter("time", 1200 * second, "passive decay of W and V", gt=0 * ms),
    "noise": Parameter("float", 0.0, "integration-noise amplitude (dimensionless)", ge=0.0),
    "tau_elig_over_T": Parameter("float", 0.0, "τ_elig / T of the eligibility gate on the "
                                 "forward synapses (0: no gate, the ungated rule)", ge=0.0),
    "eligibility": Parameter("str", "pre", "what writes the gate's trace",
                             choices=("pre", "hebbian")),
    "anneal_to": Parameter("float", 1.0, "plasticity at the end of training: the gate falls "
                           "linearly from 1 to anneal_to over the last epoch (1: none)",
                           gt=0.0, le=1.0),
    "dt": Parameter("time", 1 * ms, "integration step", gt=0 * ms),
}

#: How a sweep runs (not part of any cell, so not part of its identity).
SWEEP_OPTIONS = {
    "n_seeds": Parameter("int", 3, "seeds per cell (initial weights and sample order): "
                         "seed, seed+1, ...", ge=1),
    "workers": Parameter("int", None, "local worker processes (1: in this process)", ge=1,
                         default_text="all cores"),
    "scheduler": Parameter("str", "", "Dask scheduler address (tcp://host:port); empty: run "
                           "on local cores"),
    "retry_failed": Parameter("int", 0, "1: run cells that failed before again", ge=0, le=1),
    "shard": Parameter("str", "", "I/N: run cells I, I+N, ... only, into the same directory "
                       "(a cluster job each); 'slurm': I and N from the array job; empty: all"),
    "replicas": Parameter("str", "1", "cells of one structure per simulation (K copies of the "
                          "network in one run; results per cell); 'auto': fill the device"),
}

#: Devices a sweep can run its cells on.
SWEEP_DEVICE = Parameter("str", DEFAULT, "Brian2 device (cpp_standalone compiles "
                         "once per structure for the whole sweep)",
                         choices=NETWORK_DEVICES)


def sweep_parameters(**defaults):
    """`CELL_PARAMETERS` and `SWEEP_OPTIONS` with the given defaults changed."""
    from dataclasses import replace

    spec = {**CELL_PARAMETERS, **SWEEP_OPTIONS}
    for key, value in defaults.items():
        spec[key] = replace(spec[key], default=value)
    return spec


def cells_of(params, grid):
    """Every cell of the sweep ``params`` × ``grid`` (seeds from ``seed`` and ``n_seeds``)."""
    base = {k: params[k] for k in CELL_KEYS if k not in ("seed",)}
    seeds = range(params["seed"], params["seed"] + params["n_seeds"])
    return expand_grid(base, grid, seeds)


def check_sweep(params, grid, name, axes, example="", continuous_only=True):
    """A sweep protocol's checks: its required grid ``axes``, continuous cells only (unless
    ``continuous_only`` is False), then `check_grid`."""
    for axis in axes:
        if axis not in grid:
            raise ValueError(f"grid {axis} is missing; {name} sweeps {' and '.join(axes)}"
                             + (f", e.g. {example}" if example else ""))
    if continuous_only and (params["model"] != "continuous" or "model" in grid):
        raise ValueError(f"model = 'discrete' is not allowed in {name}; the discrete-time "
                         "baseline is the baselines protocol")
    return check_grid(params, grid)


def _estimate(cell):
    """The cell's model and schedule, and its memory checked against the machine."""
    from ctfa_brian.cells import _dataset
    from ctfa_brian.resources import check_resources, estimate
    from ctfa_brian.rules import get_rule

    model, schedule, _ = _timing(cell)
    data = _dataset(cell)
    rule = get_rule(model.rule)
    sizes = (data.n_features, *model.hidden, data.n_classes)
    evals = 1 if cell.get("evaluate", "curve") == "curve" else 0
    est = estimate(sizes, len(data.y_train), len(data.y_test), int(cell["epochs"]), evals,
                   float(schedule.period), float(schedule.dt),
                   standalone=str(cell["device"]).endswith("standalone"),
                   routing=rule.routing, tied=rule.tied)
    check_resources(est, "a cell", "epochs, hidden or n_train")


def check_grid(params, grid):
    """Check every distinct cell of the sweep before anything runs; return ``params``.

    Builds each cell's model and schedule (so that a τ ordering violated by one grid value,
    a dt too coarse for τ_prop, a bad ``hidden`` are reported with the cell that has them), checks
    discrete cells' delays, and that the Dask scheduler, if one is given, answers.
    """
    check_cells(cells_of({**params, "n_seeds": 1}, grid), list(grid), params["scheduler"])
    return params


def check_cells(cells, keys, scheduler=""):
    """`check_grid` for a list of ``cells``; an error names the cell by its ``keys``."""
    for cell in cells:
        where = ", ".join(f"{k} = {cell[k]}" for k in keys)
        try:
            parse_hidden(cell["hidden"])
            if cell["model"] == "discrete":
                if cell["variant"] != "rate":
                    raise ValueError(f"variant = {cell['variant']!r} is not allowed for the "
                                     "discrete baseline (model = 'discrete'); it has no "
                                     "spiking version")
                if not 0 <= float(cell["delay_over_T"]) <= 1:
                    raise ValueError(f"delay_over_T = {cell['delay_over_T']} is not allowed "
                                     "for the discrete baseline; label dithering needs "
                                     "0 ≤ delay_over_T ≤ 1")
            else:
                _estimate(cell)
        except ValueError as err:
            raise ValueError(f"grid cell ({where}): {err}" if where else str(err)) from None
    if scheduler:
        check_scheduler(scheduler)


def run_grid(params, grid, out_dir):
    """Run the sweep (resuming what is in ``out_dir``) and write ``out_dir/table.csv``.

    Returns
    -------
    rows : list of dict
        One per cell and seed (see `ctfa_brian.cells.run_cell`).
    """
    cells = cells_of(params, grid)
    rows = run_sweep(cells, out_dir, workers=params["workers"],
                     scheduler=params["scheduler"] or None,
                     retry_failed=bool(params["retry_failed"]), label_keys=list(grid),
                     shard=params["shard"], replicas=params["replicas"])
    write_table(rows, out_dir / "table.csv")
    return rows


def grid_results(summary, rows, out_dir, **files):
    """What a sweep protocol returns: its ``summary``, the status counts of ``rows`` and
    ``files`` (``table.csv`` and ``cells/`` of ``out_dir`` first, then ``files``)."""
    return {"summary": summary, "status_counts": status_counts(rows),
            "files": {"table": out_dir / "table.csv", **files, "cells": out_dir / "cells"}}


def status_counts(rows):
    """``{status: count}`` over ``rows``."""
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def plot_lines(ax, summary, x_key, series_keys=(), x_of=float, y_key="mean", err_key="std",
               label_prefix=""):
    """Mean ± s.d. of ``summary`` entries against ``x_key``, one line per ``series_keys``."""
    series = {}
    for entry in summary:
        series.setdefault(tuple(entry[k] for k in series_keys), []).append(entry)
    for key, entries in series.items():
        entries = sorted(entries, key=lambda e: x_of(e[x_key]))
        label = label_prefix + ", ".join(f"{k} = {v}" for k, v in zip(series_keys, key))
        ax.errorbar([x_of(e[x_key]) for e in entries], [e[y_key] for e in entries],
                    yerr=[e[err_key] for e in entries] if err_key else None, marker="o",
                    capsize=3, label=label or None)
    return ax


