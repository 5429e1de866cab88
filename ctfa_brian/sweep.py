"""Run many cells — on local cores or a Dask cluster — once each, resumable, into one table.

A sweep is a list of cells (`ctfa_brian.cells`): every combination of the grid values, for
every seed. `run_sweep`

- skips every cell whose result is already in ``DIR/cells/`` (so running the same command again
  after Ctrl-C, ``kill -9`` or a crash resumes and recomputes nothing that finished);
- runs the rest in parallel: in this process (``workers=1``), on local worker processes
  (``workers=N``), or on a Dask distributed cluster (``scheduler="tcp://host:8786"``); cells of
  one compiled structure go out together, so each worker compiles or copies a project once;
- writes each finished cell atomically to ``DIR/cells/<cell_id>.json`` as it finishes; a cell
  that fails is recorded with its error and does not stop the others;
- shows a progress bar with cells done, ETA and the current best and worst cell.

`write_table` then writes the tidy table: one row per cell and seed, every parameter a column
with its unit in the column name (``sample_time_ms``).

Example
-------
>>> from ctfa_brian.sweep import expand_grid, run_sweep, write_table     # doctest: +SKIP
>>> cells = expand_grid(base, {"delay_over_T": [0, 0.5, 1.5]}, seeds=[0, 1])  # doctest: +SKIP
>>> rows = run_sweep(cells, "runs/delays", workers=2)                    # doctest: +SKIP
>>> write_table(rows, "runs/delays/table.csv")                           # doctest: +SKIP
"""

import csv
import functools
import itertools
import json
import math
import os
import signal
import socket
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from brian2 import Quantity
from brian2.utils.logger import get_logger

from ctfa_brian import interrupts
from ctfa_brian.cells import CELL_DEFAULTS, CELL_KEYS, TIME_KEYS, cell_id, run_cell, structure_key
from ctfa_brian.io import atomic_path, parse_quantity, write_json
from ctfa_brian.parameters import format_time
from ctfa_brian.shards import ShardFinished, parse_shard
from ctfa_brian.sweep_backends import dask_rows, inline_rows, local_rows

__all__ = ["FINISHED", "ShardFinished", "aggregate", "check_scheduler", "check_workers",
           "expand_grid", "load_finished", "parse_shard", "run_sweep", "write_table"]

logger = get_logger(__name__)

#: Statuses of a finished cell (not rerun on resume); ``failed`` cells are rerun only with
#: ``retry_failed``.
FINISHED = ("ok", "blown up", "failed")

_RESULT_COLUMNS = ("status", "test_accuracy", "test_balanced_accuracy", "train_accuracy",
                   "online_train_accuracy", "delay_ms", "saturated")
_TAIL_COLUMNS = ("build_s", "run_s", "wall_s", "worker", "error")


# ----------------------------------------------------------------------------------------
# Cells
# ----------------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, Quantity):
        return format_time(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def expand_grid(base, grid, seeds):
    """Every combination of ``grid`` over ``base``, for every seed, as a list of cells.

    Parameters
    ----------
    base : dict
        A value for every key of `ctfa_brian.cells.CELL_KEYS` except ``seed`` (times as
        `Quantity` or as strings with a unit); the variant keys may be left out
        (`ctfa_brian.cells.CELL_DEFAULTS`: the rate variant).
    grid : dict
        ``{key: [values]}``; the first key varies slowest. Keys must be cell keys.
    seeds : sequence of int

    Returns
    -------
    list of dict
        Cells with plain values (times as strings like ``"200 ms"``).

    Raises
    ------
    ValueError
        A grid key that is not a cell key (the message lists them), an empty value list, or
        no seeds.
    """
    valid = [k for k in CELL_KEYS if k != "seed"]
    for key, values in grid.items():
        if key not in valid:
            raise ValueError(f"grid over unknown parameter {key!r}; a grid can vary: "
                             f"{', '.join(valid)} (seeds: n_seeds)")
        if isinstance(values, (str, bytes)) or not len(values):
            raise ValueError(f"grid {key} = {values!r} is empty or not a list; give at least "
                             f"one value, e.g. grid {key} = [...]")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("no seeds: n_seeds must be ≥ 1")
    base = {**CELL_DEFAULTS, **base}
    missing = [k for k in valid if k not in base and k not in grid]
    if missing:
        raise ValueError(f"sweep base lacks {', '.join(missing)}")
    cells = []
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        for seed in seeds:
            cell = {k: _plain(base[k]) for k in valid if k not in grid}
            cell.update({k: _plain(v) for k, v in zip(keys, combo)})
            cell["seed"] = seed
            cells.append({k: cell[k] for k in CELL_KEYS})
    return cells


# ----------------------------------------------------------------------------------------
# Checks (before anything runs)
# ----------------------------------------------------------------------------------------
def check_workers(workers):
    """Return the worker count (``None``: all cores) or raise naming ``workers``."""
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers = {workers!r} is not allowed; it must be an integer ≥ 1 "
                         f"(default: all {os.cpu_count()} cores)")
    return int(workers)


def check_scheduler(address, timeout=5.0):
    """Raise a ValueError unless a Dask scheduler answers at ``address`` (``tcp://host:port``).

    Only opens and closes a TCP connection (no Dask import), so it is cheap enough to run while
    validating a protocol file.
    """
    parsed = urlparse(address if "://" in address else f"tcp://{address}")
    if parsed.scheme not in ("tcp", "tls") or not parsed.hostname or not parsed.port:
        raise ValueError(f"scheduler = {address!r} is not a scheduler address; write "
                         "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786)")
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as err:
        raise ValueError(f"scheduler = {address!r} is unreachable ({err}); start a Dask "
                         "scheduler there (dask scheduler) or leave scheduler empty to run "
                         "on local cores") from None
    return address


# ----------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------
def _cell_path(out_dir, cid):
    return Path(out_dir) / "cells" / f"{cid}.json"


def load_finished(out_dir, cells, retry_failed=False):
    """``{cell_id: row}`` of the cells in ``cells`` whose results are already in ``out_dir``."""
    done = {}
    for cell in cells:
        cid = cell_id(cell)
        path = _cell_path(out_dir, cid)
        if not path.is_file():
            continue
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            logger.warn(f"{path}: not a readable cell file ({type(err).__name__}); computing "
                        "this cell again", once=False)
            continue
        if isinstance(row, dict):  # a cell written before some keys existed
            row = {**CELL_DEFAULTS, **row}
        problem = _malformed(row, cid)
        if problem:
            logger.warn(f"{path}: {problem}; computing this cell again", once=False)
            continue
        if row["status"] in FINISHED and not (retry_failed and row["status"] == "failed"):
            done[cid] = _restore(row)
    return done


def _malformed(row, cid):
    """Why ``row`` is not a finished cell of ``cid`` (``""`` if it is one)."""
    if not isinstance(row, dict):
        return "not a cell (a JSON object was expected)"
    if row.get("cell_id") != cid:
        return f"written for another cell ({row.get('cell_id')!r})"
    missing = [k for k in (*CELL_KEYS, "status", "test_accuracy") if k not in row]
    if missing:
        return f"lacks {', '.join(missing)}"
    if row["status"] not in FINISHED:
        return f"has status {row['status']!r}, not one of {', '.join(FINISHED)}"
    acc = row["test_accuracy"]
    if acc is not None and not isinstance(acc, (int, float)):
        return f"test_accuracy {acc!r} is not a number"
    return ""


def _restore(row):
    return {k: (np.nan if v is None and k in _RESULT_COLUMNS else v) for k, v in row.items()}


def _save(out_dir, row):
    """Write ``row`` (and, first, the traces it carries) to ``out_dir/cells``."""
    block = row.pop("_neo", None)
    if block is not None:
        from ctfa_brian.neo_io import neo_suffix, save_neo

        path = _cell_path(out_dir, row["cell_id"]).with_suffix(f".traces{neo_suffix()}")
        row["traces"] = save_neo(block, path).name
    write_json(_cell_path(out_dir, row["cell_id"]), row)


# ----------------------------------------------------------------------------------------
# Execution
# ----------------------------------------------------------------------------------------
def _describe(cell, keys):
    return " ".join(f"{k}={cell[k]}" for k in keys) or cell_id(cell)


def run_sweep(cells, out_dir, workers=None, scheduler=None, retry_failed=False, progress=True,
              project_root=None, task=None, label_keys=None, keep_traces=(), shard="",
              replicas=1):
    """Run every cell of ``cells`` not already finished in ``out_dir``; return all rows.

    Parameters
    ----------
    cells : list of dict
        From `expand_grid`.
    out_dir : str or Path
        Results go to ``out_dir/cells/<cell_id>.json``, one file per cell, written atomically.
    workers : int, optional
        Local worker processes (default: all cores; 1 runs in this process).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:port``); cells then run on its workers.
    retry_failed : bool
        Run cells that failed (an exception, a dead worker) in an earlier attempt again.
    progress : bool
        Show a progress bar (cells done, ETA, best and worst cell so far).
    project_root : str, optional
        Where compiled standalone projects go (default: the project cache).
    task : callable(cell, project_root) -> dict, optional
        What runs one cell (default `ctfa_brian.cells.run_cell`; must be importable by name
        for worker processes).
    label_keys : sequence of str, optional
        The keys that tell cells apart in the progress bar (default: those that vary).
    keep_traces : collection of str
        Ids of cells (with ``record = "traces"``) whose traces are saved, as
        ``cells/<cell_id>.traces.nix``, named in their row under ``traces``.
    shard : str
        ``"I/N"`` (or ``"slurm"``, `parse_shard`): run only cells I, I+N, ... of the sweep's
        distinct cells, into the same ``out_dir``; shards may run at once (one file per cell).
    replicas : int or "auto"
        Cells of one structure per simulation (`ctfa_brian.packs`): K copies of the network
        in one run of the binary, each cell's results its own; ``"auto"`` fills the device
        (`ctfa_brian.packs.default_replicas`). 1 (the default): one simulation per cell.

    Returns
    -------
    list of dict
        One row per cell, in the order of ``cells``.

    Raises
    ------
    ShardFinished
        With a shard, when other cells of the sweep are not finished yet.
    """
    from ctfa_brian.packs import check_replicas_option, plan_packs, run_pack

    replicas = check_replicas_option(replicas)
    if replicas != 1 and task is not None:
        raise ValueError(f"replicas = {replicas!r} runs cells with ctfa_brian.packs.run_pack; "
                         "a sweep with its own task takes replicas = 1")
    task = task or (run_cell if replicas == 1 else run_pack)
    if keep_traces:
        task = functools.partial(task, keep_traces=frozenset(keep_traces))
    workers = check_workers(workers)
    if scheduler:
        check_scheduler(scheduler)
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    ids = [cell_id(c) for c in cells]
    unique = list({cid: c for cid, c in zip(ids, cells)}.values())
    done = load_finished(out, unique, retry_failed)
    todo = [c for c in unique if cell_id(c) not in done]
    shard = parse_shard(shard)
    if shard is not None:
        mine = {cell_id(c) for k, c in enumerate(unique) if k % shard[1] == shard[0] - 1}
        todo = [c for c in todo if cell_id(c) in mine]
    # Longest cells first (fewer idle workers at the end), one structure after another (each
    # compiled or copied once per worker).
    todo.sort(key=lambda c: (-float(parse_quantity(c["sample_time"])) * int(c["epochs"]),
                             structure_key(c)))
    if label_keys is None:
        label_keys = [k for k in CELL_KEYS if len({str(c[k]) for c in cells}) > 1]
    if done:
        logger.info(f"resuming: {len(done)} of {len(unique)} cells already finished in {out}")
    items = todo if replicas == 1 else plan_packs(todo, replicas, workers)
    if scheduler:
        rows = dask_rows(items, task, project_root, scheduler)
    elif workers == 1 or len(items) <= 1:
        rows = inline_rows(items, task, project_root)
    else:
        rows = local_rows(items, task, project_root, workers)
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(unique), initial=len(done), unit="cell", desc="sweep",
                   dynamic_ncols=True)
    best = worst = None
    try:
        for item in rows:
            for row in item if isinstance(item, list) else [item]:
                _save(out, row)
                done[row["cell_id"]] = row
                best, worst = _extremes(row, label_keys, best, worst)
                if bar is not None:
                    if best is not None:
                        bar.set_postfix_str(f"best {best[0]:.3f} ({best[1]}) | worst "
                                            f"{worst[0]:.3f} ({worst[1]})", refresh=False)
                    bar.update(1)
    except KeyboardInterrupt as err:  # the cells in flight are not saved: a resume runs them
        if bar is not None:
            bar.close()
        signum = getattr(err, "signum", None) or interrupts.received() or signal.SIGINT
        raise interrupts.Interrupted(
            signum, message=f"interrupted by {interrupts.signal_name(signum)}: "
                            f"{len(done)} of {len(unique)} cells finished") from None
    if bar is not None:
        bar.close()
    if shard is not None:
        done = load_finished(out, unique, retry_failed=False)  # the other shards' cells too
        if len(done) < len(unique):
            raise ShardFinished(shard, len(todo), len(done), len(unique))
    return [done[cid] for cid in ids]


def _extremes(row, label_keys, best, worst):
    acc = row.get("test_accuracy")
    if acc is not None and np.isfinite(acc):
        label = _describe(row, label_keys)
        if best is None or acc > best[0]:
            best = (acc, label)
        if worst is None or acc < worst[0]:
            worst = (acc, label)
    return best, worst


# ----------------------------------------------------------------------------------------
# Tables
# ----------------------------------------------------------------------------------------
def _column(key):
    return f"{key}_ms" if key in TIME_KEYS else key


def _value(key, value):
    if key in TIME_KEYS:
        return float(parse_quantity(value)) * 1e3
    return value


def write_table(rows, path):
    """Write the tidy table: one row per cell and seed, every parameter a column.

    Times are in milliseconds with the unit in the column name (``sample_time_ms``); the
    results follow (``status``, ``test_accuracy``, ``test_balanced_accuracy`` (mean recall
    over classes), ``train_accuracy`` (frozen), ``online_train_accuracy`` (last epoch, while
    learning), ``delay_ms`` — Δ as run, ``saturated`` (the largest fraction of a W, V or bias
    group that ended at ±w_max; 0: none), per-layer ``angle_layerK_deg``), then timings, the
    worker and the error of a failed cell.
    """
    angles = sorted({k for r in rows for k in r if k.startswith("angle_layer")})
    header = ["cell_id", *[_column(k) for k in CELL_KEYS], *_RESULT_COLUMNS, *angles,
              *_TAIL_COLUMNS]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in rows:
            values = [r["cell_id"], *[_value(k, r[k]) for k in CELL_KEYS]]
            values += [r.get(k, "") for k in (*_RESULT_COLUMNS, *angles, *_TAIL_COLUMNS)]
            writer.writerow(["" if isinstance(v, float) and math.isnan(v) else v
                             for v in values])
    return Path(path)


def aggregate(rows, keys):
    """Mean, std and count of test accuracy over seeds for every combination of ``keys``.

    Returns
    -------
    list of dict
        ``{**{key: value}, "mean", "std", "n", "n_ok", "balanced_mean", "train_mean",
        "train_std", "online_mean", "online_std"}`` (online: the last epoch's online train
        accuracy, where the rows have it) in the
        order the combinations first appear; cells that blew up or failed count in ``n`` only
        (their accuracy is taken as missing, and ``mean`` is NaN if none finished).
    """
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    def column(members, key, finite_acc=False):
        values = np.array([m.get(key, np.nan) for m in members], dtype=float)
        keep = np.isfinite(values)
        if finite_acc:  # the online accuracy of runs that finished
            keep &= np.isfinite(np.array([m["test_accuracy"] for m in members], dtype=float))
        return values[keep]

    def stat(values, fn):
        return float(fn(values)) if values.size else np.nan

    out = []
    for combo, members in groups.items():
        ok, train = column(members, "test_accuracy"), column(members, "train_accuracy")
        online = column(members, "online_train_accuracy", finite_acc=True)
        out.append({**dict(zip(keys, combo)), "n": len(members), "n_ok": int(ok.size),
                    "mean": stat(ok, np.mean), "std": stat(ok, np.std),
                    "balanced_mean": stat(column(members, "test_balanced_accuracy"), np.mean),
                    "train_mean": stat(train, np.mean), "train_std": stat(train, np.std),
                    "online_mean": stat(online, np.mean), "online_std": stat(online, np.std)})
    return out
