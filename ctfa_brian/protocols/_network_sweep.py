"""What the τ sweeps share: one time constant swept over networks on the grid engine.

A τ sweep (tau_pot_sweep, tau_elig_sweep) trains one network per dataset (and architecture)
for every value of one ratio and every seed. Each run is a sweep cell (`ctfa_brian.cells`) with
the ratio as a cell key, so the sweep runs on `ctfa_brian.sweep.run_sweep`: compiled once per
network, on local workers or Dask, resumable after Ctrl-C or ``kill -9``. Every cell records
the output and three W1 synapses (`ctfa_brian.cells.TRACES`: the same compiled project); the
first cell of each network keeps them, and ``traces.nix`` holds one Segment per network.
"""

from brian2 import ms, second

from ctfa_brian.cells import cell_id, parse_hidden
from ctfa_brian.protocols._cells import (
    CELL_PARAMETERS,
    SWEEP_DEVICE,
    SWEEP_OPTIONS,
    check_cells,
    grid_results,
    save_figure,
)
from ctfa_brian.protocols.spec import VARIANT_PARAMETERS, Parameter
from ctfa_brian.sweep import aggregate, expand_grid, run_sweep, write_table

__all__ = ["NETWORK_PARAMETERS", "SWEEP_DATASETS", "SWEEP_DEVICE", "check", "plot_sweep",
           "run_networks"]

#: Parameters every τ sweep takes.
NETWORK_PARAMETERS = {
    "datasets": Parameter("str", "digits,circles", "comma-separated datasets to sweep on"),
    "hidden": Parameter("str", "49", "hidden layers on digits and mnist7: widths separated by "
                        "commas; several architectures separated by ';' (\"49;49,32\")"),
    "hidden_circles": Parameter("int", 24, "width of the hidden layer on circles", ge=1),
    "rule": CELL_PARAMETERS["rule"],
    "sample_time": Parameter("time", 200 * ms, "T, how long each sample is held", gt=0 * ms),
    "tau_prop": CELL_PARAMETERS["tau_prop"],
    "tau_dec": Parameter("time", 1200 * second, "passive decay of W and V (7×7 MNIST: make it "
                         "long against an epoch, see ctfa_brian.presets)", gt=0 * ms),
    "epochs": CELL_PARAMETERS["epochs"],
    "n_train": CELL_PARAMETERS["n_train"],
    "n_test": CELL_PARAMETERS["n_test"],
    "dt": CELL_PARAMETERS["dt"],
    **VARIANT_PARAMETERS,
    **SWEEP_OPTIONS,
    "n_seeds": Parameter("int", 2, "seeds per cell (initial weights and sample order)", ge=1),
}

#: Datasets a τ sweep can use (offline, no path needed).
SWEEP_DATASETS = ("digits", "circles", "mnist7")


def _networks(params):
    """``[(label, dataset, hidden text), ...]``: one per dataset and architecture."""
    archs = [part for part in str(params["hidden"]).split(";") if part.strip()]
    if not archs or any(not parse_hidden(a) for a in archs):
        raise ValueError(f"hidden = {params['hidden']!r} is not allowed; give widths separated "
                         "by commas and architectures by ';', e.g. hidden = \"49;49,32\"")
    names = [d.strip() for d in params["datasets"].split(",") if d.strip()]
    if not names or any(n not in SWEEP_DATASETS for n in names):
        raise ValueError(f"datasets = {params['datasets']!r} is not allowed; give a "
                         f"comma-separated list of: {', '.join(SWEEP_DATASETS)}")
    out = []
    for name in names:
        for hidden in [str(params["hidden_circles"])] if name == "circles" else archs:
            hidden = ",".join(map(str, parse_hidden(hidden)))
            several = len(archs) > 1 and name != "circles"
            out.append((f"{name} {hidden.replace(',', '-')}" if several else name, name, hidden))
    return out


def _cells(params, axis, values, per_dataset, n_seeds=None):
    """``{label: cells}``: the cells of every network (``per_dataset(name)``: its own keys)."""
    seeds = range(params["seed"], params["seed"] + (n_seeds or params["n_seeds"]))
    out = {}
    for label, name, hidden in _networks(params):
        base = {k: p.default for k, p in CELL_PARAMETERS.items()}
        base.update({k: params[k] for k in base if k in params}, dataset=name, hidden=hidden,
                    device=params["device"], **per_dataset(name))
        out[label] = [dict(c, record="traces") for c in expand_grid(base, {axis: values}, seeds)]
    return out


def check(params, axis, values, per_dataset):
    """Every network's cells checked before anything is written; return ``params``."""
    cells = [c for cs in _cells(params, axis, values, per_dataset, 1).values() for c in cs]
    check_cells(cells, [], params["scheduler"])
    return params


def run_networks(params, axis, values, per_dataset, out_dir, figure, **plot):
    """Run (or resume) every network × value × seed; write table.csv, traces.nix and the
    figure ``figure`` (`plot_sweep` with ``plot``); return the protocol's results: ``summary``
    ``{label: [{axis, mean, std, n_ok}, ...]}`` over seeds, ``status_counts``, ``files``."""
    networks = _cells(params, axis, values, per_dataset)
    cells = [c for cs in networks.values() for c in cs]
    firsts = {label: cell_id(cs[0]) for label, cs in networks.items()}
    rows = run_sweep(cells, out_dir, workers=params["workers"],
                     scheduler=params["scheduler"] or None,
                     retry_failed=bool(params["retry_failed"]),
                     label_keys=["dataset", "hidden", axis], keep_traces=firsts.values(),
                     shard=params["shard"], replicas=params["replicas"])
    write_table(rows, out_dir / "table.csv")
    labels = [label for label, cs in networks.items() for _ in cs]  # rows follow the cells
    summary = {label: [{axis: e[axis], "mean": e["mean"], "std": e["std"], "n_ok": e["n_ok"]}
                       for e in aggregate([r for r, lab in zip(rows, labels) if lab == label],
                                          [axis])]
               for label in networks}
    files = {"figure": plot_sweep(out_dir / figure, summary, axis, **plot)}
    files.update(_write_traces(out_dir, rows, firsts))
    return grid_results(summary, rows, out_dir, **files)


def _write_traces(out_dir, rows, firsts):
    """One Segment per network (named by its label) from the kept cells' traces, written as
    the run's format; return ``{"traces": path}`` (and ``traces_nwb``), ``{}`` without any."""
    from ctfa_brian.neo_io import load_neo, save_neo_formats

    by_id = {r["cell_id"]: r for r in rows}
    block = None
    for label, cid in firsts.items():
        name = by_id[cid].get("traces")
        if not name or not (out_dir / "cells" / name).is_file():
            continue
        one = load_neo(out_dir / "cells" / name)
        one.segments[0].name = label
        if block is None:
            block = one
        else:
            block.segments.append(one.segments[0])
    return {} if block is None else save_neo_formats(block, out_dir / "traces", "traces")


def plot_sweep(path, summary, axis, xlabel, marks=(), title=""):
    """Accuracy (mean ± s.d. over seeds) against the swept ratio, log x axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    for name, entries in summary.items():
        x = [e[axis] for e in entries]
        line = ax.errorbar(x, [e["mean"] for e in entries], yerr=[e["std"] for e in entries],
                           marker="o", capsize=3, label=name)
        failed = [e[axis] for e in entries if e["n_ok"] == 0]
        if failed:  # every seed blew up: learning was unstable
            ax.plot(failed, [0.03] * len(failed), "x", ms=8, color=line[0].get_color(),
                    label=f"{name}: blew up")
    for value, text in marks:
        ax.axvline(value, color="0.6", ls=":", lw=1)
        ax.text(value, 0.02, text, rotation=90, va="bottom", ha="right", fontsize=8)
    ax.set(xscale="log", ylim=(0, 1), xlabel=xlabel, ylabel="test accuracy", title=title)
    ax.legend(loc="lower right")
    return save_figure(fig, path)

