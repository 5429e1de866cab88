"""The paper's Tables 2 and 3: continuous-time layerwise networks against discrete MLPs.

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, Appendix C): Table 2 is 7×7 MNIST with one and
two hidden layers (49; 49-32), Table 3 the circles with one to three (24; 24-24; 24-24-24);
the continuous network (kp, layerwise) beside an MLP of the same sizes trained by backprop with
Adam (lr 1e-3, batch 1) on the same samples in the same order; train and test accuracy, mean
± s.d. over 3 seeds. Each data set runs at its preset (`ctfa_brian.presets`: T, τ_pot,
epochs). Train accuracy is reported twice, because the paper's word covers two numbers:
*frozen* (the whole training set evaluated with plasticity off after the last epoch) and
*online* (the fraction of the last epoch's samples classified correctly at the end of their
own presentation, while learning: the paper's Fig. 3 moving average).

All cells run on the sweep runner in one resumable directory. Writes ``table2.md``,
``table3.md`` (with the paper's numbers beside), ``table_summary.csv``, ``table.csv`` (every
cell and seed) and ``paper_tables.png``.
"""

import csv

import numpy as np

from ctfa_brian.presets import PRESETS
from ctfa_brian.protocols._cells import (
    CELL_PARAMETERS,
    SWEEP_DEVICE,
    SWEEP_OPTIONS,
    cells_of,
    check_grid,
    grid_results,
    save_figure,
)
from ctfa_brian.protocols.spec import Parameter
from ctfa_brian.sweep import aggregate, run_sweep, write_table

__all__ = ["DEVICE", "GRID", "GRID_KEYS", "NAME", "PAPER", "PARAMETERS", "check", "run"]

NAME = "paper_tables"
DEVICE = SWEEP_DEVICE

#: The tables: number → (data set, parameter holding its architectures).
TABLES = {"2": ("mnist7", "mnist7_hidden"), "3": ("circles", "circles_hidden")}

#: The paper's numbers: (table, hidden, model) → (train, train s.d., test, test s.d.).
PAPER = {
    ("2", "49", "discrete"): (0.8750, 0.0054, 0.8634, 0.0056),
    ("2", "49", "continuous"): (0.9318, 0.0028, 0.9209, 0.0011),
    ("2", "49,32", "discrete"): (0.8758, 0.0220, 0.8673, 0.0259),
    ("2", "49,32", "continuous"): (0.9318, 0.0032, 0.8919, 0.0050),
    ("3", "24", "discrete"): (0.8318, 0.0276, 0.8272, 0.0282),
    ("3", "24", "continuous"): (0.9241, 0.0133, 0.9470, 0.0101),
    ("3", "24,24", "discrete"): (0.9520, 0.0076, 0.9485, 0.0066),
    ("3", "24,24", "continuous"): (0.9657, 0.0082, 0.9683, 0.0109),
    ("3", "24,24,24", "discrete"): (0.9322, 0.0300, 0.9312, 0.0218),
    ("3", "24,24,24", "continuous"): (0.9494, 0.0588, 0.9568, 0.0452),
}

PARAMETERS = {
    "tables": Parameter("str", "2,3", "which tables: 2 (7×7 MNIST), 3 (circles), or both"),
    "mnist7_hidden": Parameter("str", "49;49,32", "Table 2 architectures, ';'-separated"),
    "circles_hidden": Parameter("str", "24;24,24;24,24,24", "Table 3 architectures"),
    "model": CELL_PARAMETERS["model"],
    "rule": CELL_PARAMETERS["rule"],
    "epochs": Parameter("int", 0, "training epochs (0: each data set's preset)", ge=0),
    "n_train": CELL_PARAMETERS["n_train"],
    "n_test": CELL_PARAMETERS["n_test"],
    **SWEEP_OPTIONS,
}

#: Default axis: both models (a grid over ``model`` only; the architectures are parameters).
GRID = {"model": ("continuous", "discrete")}
GRID_KEYS = ("model",)


def _tables(params):
    chosen = [t.strip() for t in params["tables"].split(",") if t.strip()]
    bad = [t for t in chosen if t not in TABLES]
    if bad or not chosen:
        raise ValueError(f"tables = {params['tables']!r} is not allowed; give 2, 3 or 2,3")
    return chosen


def _cells(params, grid):
    """Every cell of every chosen table, with the data set's preset settings."""
    cells = []
    for table in _tables(params):
        dataset, hidden_key = TABLES[table]
        preset = PRESETS[dataset]
        base = {k: p.default for k, p in CELL_PARAMETERS.items()}
        base.update(dataset=dataset, rule=params["rule"], n_train=params["n_train"],
                    n_test=params["n_test"], sample_time=preset["sample_time"],
                    tau_pot_over_T=float(preset["tau_pot"] / preset["sample_time"]),
                    tau_dec=preset["tau_dec"],
                    epochs=params["epochs"] or preset["epochs"], evaluate="curve",
                    anneal_to=preset["anneal_to"],
                    device=params["device"], seed=params["seed"], n_seeds=params["n_seeds"])
        archs = [h.strip() for h in params[hidden_key].split(";") if h.strip()]
        cells.append((table, base, {"model": grid["model"], "hidden": tuple(archs)}))
    return cells


def check(params, grid):
    """Tables 2 and/or 3; every cell must be a valid run."""
    for _, base, table_grid in _cells(params, grid):
        check_grid({**base, "scheduler": params["scheduler"]}, table_grid)
    return params


def _fmt(mean, std):
    return "–" if not np.isfinite(mean) else f"{mean:.4f} ± {std:.4f}"


def _write_tables(out_dir, summaries):
    paths = {}
    with open(out_dir / "table_summary.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["table", "dataset", "hidden", "model", "n", "n_ok", "frozen_train_mean",
                         "frozen_train_std", "online_train_mean", "online_train_std",
                         "test_mean", "test_std", "paper_train", "paper_test"])
        for table, summary in summaries.items():
            dataset = TABLES[table][0]
            lines = [f"Table {table} ({dataset}): accuracy, mean ± s.d. over seeds (the "
                     "paper's in the last two columns). Frozen train: the training set with "
                     "plasticity off after the last epoch; online train: the last epoch, read "
                     "at the end of each sample while learning.", "",
                     "| hidden | model | frozen train | online train | test | paper train "
                     "| paper test |", "|---|---|---|---|---|---|---|"]
            for e in summary:
                paper = PAPER.get((table, e["hidden"], e["model"]))
                ptrain, ptest = (_fmt(paper[0], paper[1]), _fmt(paper[2], paper[3])) \
                    if paper else ("–", "–")
                lines.append(f"| {e['hidden']} | {e['model']} | "
                             f"{_fmt(e['train_mean'], e['train_std'])} | "
                             f"{_fmt(e['online_mean'], e['online_std'])} | "
                             f"{_fmt(e['mean'], e['std'])} | {ptrain} | {ptest} |")
                writer.writerow([table, dataset, e["hidden"], e["model"], e["n"], e["n_ok"],
                                 e["train_mean"], e["train_std"], e["online_mean"],
                                 e["online_std"], e["mean"], e["std"],
                                 paper[0] if paper else "", paper[2] if paper else ""])
            path = out_dir / f"table{table}.md"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths[f"table{table}"] = path
    paths["summary_csv"] = out_dir / "table_summary.csv"
    return paths


def _plot(path, summaries):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(summaries) + 0.5, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(summaries)))
    for ax, (table, summary) in zip(axes, summaries.items()):
        archs = list(dict.fromkeys(e["hidden"] for e in summary))
        for k, model in enumerate(("continuous", "discrete")):
            entries = {e["hidden"]: e for e in summary if e["model"] == model}
            x = np.arange(len(archs)) + (k - 0.5) * 0.38
            ax.bar(x, [entries[a]["mean"] if a in entries else np.nan for a in archs],
                   width=0.36, yerr=[entries[a]["std"] if a in entries else 0 for a in archs],
                   capsize=3, label=model)
            paper = [PAPER.get((table, a, model), (np.nan,) * 4)[2] for a in archs]
            ax.plot(x, paper, "k_", markersize=16, mew=2,
                    label="paper" if k == 0 else None)
        ax.set_xticks(np.arange(len(archs)), archs)
        ax.set(title=f"Table {table}: {TABLES[table][0]}", xlabel="hidden layers",
               ylabel="test accuracy", ylim=(0.5, 1))
        ax.legend(fontsize=8, loc="lower left")
    return save_figure(fig, path)


def run(params, out_dir, grid):
    """Run (or resume) every table's cells in one sweep; write the tables and the figure."""
    blocks = _cells(params, grid)
    cells, tables_of = [], {}
    for table, base, table_grid in blocks:
        for cell in cells_of(base, table_grid):
            tables_of[(cell["dataset"], cell["hidden"])] = table
            cells.append(cell)
    rows = run_sweep(cells, out_dir, workers=params["workers"],
                     scheduler=params["scheduler"] or None,
                     retry_failed=bool(params["retry_failed"]),
                     label_keys=["dataset", "hidden", "model"], shard=params["shard"],
                     replicas=params["replicas"])
    write_table(rows, out_dir / "table.csv")
    summaries = {}
    for entry in aggregate(rows, ["dataset", "hidden", "model"]):
        summaries.setdefault(tables_of[(entry["dataset"], entry["hidden"])], []).append(entry)
    summaries = {t: summaries[t] for t in sorted(summaries)}
    files = _write_tables(out_dir, summaries)
    files["figure"] = _plot(out_dir / "paper_tables.png", summaries)
    return grid_results([dict(e, table=t) for t, s in summaries.items() for e in s], rows,
                        out_dir, **files)
