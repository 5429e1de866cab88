"""Cells that share a structure, run as replicas of one simulation (``replicas = K``).

A *pack* is up to K cells of one structure (`ctfa_brian.cells.structure_key`): one compiled
project holds K copies of the network (`ctfa_brian.network.replicas`), and one run of its
binary trains them all. `plan_packs` cuts a sweep's cells into packs, `run_pack` runs one and
returns a row per cell, as `ctfa_brian.cells.run_cell` would.
"""

import math
import os
import time
import traceback

import numpy as np

from ctfa_brian import interrupts
from ctfa_brian.cells import (
    _CURRENT,
    CELL_DEFAULTS,
    _dataset,
    _result_row,
    _timing,
    _trainer,
    cell_id,
    parse_hidden,
    run_cell,
    structure_key,
)
from ctfa_brian.parameters import check_seed

__all__ = ["AUTO_SYNAPSES", "Pack", "check_replicas_option", "default_replicas", "packable",
           "plan_packs", "run_pack", "varying"]

#: ``replicas = "auto"``: pack cells until the simulation holds about this many synapses
#: (per device; `default_replicas`), at most `MAX_AUTO` replicas.
AUTO_SYNAPSES = {"cuda_standalone": 2_000_000, "cpu": 16_384}
MAX_AUTO = 64


class Pack(list):
    """Cells of one structure that run in one simulation of ``replicas`` copies (≥ the
    number of cells: the spare copies repeat the first cell); ``per_replica`` names the
    constants that differ between them (`ctfa_brian.network.replicas`)."""

    def __init__(self, cells, replicas, per_replica=()):
        super().__init__(cells)
        self.replicas = int(replicas)
        self.per_replica = tuple(sorted(per_replica))


def varying(cells):
    """The run constants (`ctfa_brian.cells._timing` overrides: ``delay``, ``tau_pot_w``,
    ...) whose values differ between ``cells``."""
    values = [_timing({**CELL_DEFAULTS, **c})[2] for c in cells]
    return tuple(sorted(k for k in values[0]
                        if any(str(v.get(k)) != str(values[0][k]) for v in values)))


def check_replicas_option(value):
    """``replicas`` as given by a user (an integer ≥ 1 or ``"auto"``) → int or ``"auto"``."""
    text = str(value).strip()
    if text == "auto":
        return "auto"
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1 or str(k) != text.lstrip("+"):
        raise ValueError(f"replicas = {value!r} is not allowed; give an integer ≥ 1 (cells of "
                         "one structure per simulation; 1: one simulation per cell) or 'auto'")
    return k


def synapses_of(cell):
    """The synapse count of ``cell``'s network (W and V, with the dataset's widths)."""
    ds = _dataset(cell)
    sizes = (ds.n_features, *parse_hidden(cell["hidden"]), ds.n_classes)
    forward = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * forward - sizes[0] * sizes[1]


def default_replicas(cell):
    """``replicas = "auto"`` for ``cell``'s structure: enough copies to fill the device
    (`AUTO_SYNAPSES`), a power of two, at most `MAX_AUTO`."""
    target = AUTO_SYNAPSES["cuda_standalone" if cell["device"] == "cuda_standalone" else "cpu"]
    k = 1
    while k < MAX_AUTO and k * synapses_of(cell) < target:
        k *= 2
    return k


def plan_packs(todo, replicas, workers=1):
    """``todo`` cut into packs: consecutive cells of one structure, up to ``replicas`` (an
    int, or ``"auto"``: `default_replicas`, and no fewer packs than ``workers`` where the
    structure has enough cells) each, as even as possible. Cells that cannot share a
    simulation (`packable`) are packs of one."""
    replicas = check_replicas_option(replicas)
    groups = {}
    for cell in todo:
        groups.setdefault(structure_key({**CELL_DEFAULTS, **cell}), []).append(cell)
    packs = []
    for members in groups.values():
        cell = {**CELL_DEFAULTS, **members[0]}
        if replicas == 1 or len(members) == 1 or not packable(cell):
            packs.extend(Pack([c], 1) for c in members)
            continue
        k = replicas
        if k == "auto":
            k = min(default_replicas(cell), max(1, math.ceil(len(members) / workers)))
        n = math.ceil(len(members) / min(k, len(members)))
        k = math.ceil(len(members) / n)  # n packs as even as possible, none padded much
        sizes = [len(members) // n + (i < len(members) % n) for i in range(n)]
        bounds = np.cumsum([0, *sizes])
        per = varying(members)
        packs.extend(Pack(members[a:b], k, per) for a, b in zip(bounds[:-1], bounds[1:]))
    return packs


def packable(cell):
    """Whether ``cell`` can share one simulation with other cells of its structure
    (`run_pack`): a network on a standalone device that records no traces."""
    from ctfa_brian import device as devices

    cell = {**CELL_DEFAULTS, **cell}
    return (cell["model"] != "discrete" and devices.is_standalone(cell["device"])
            and cell.get("record") != "traces")


def run_pack(cells, project_root=None, keep_traces=()):
    """Train ``cells`` (of one structure) as replicas of one simulation; return their rows.

    The compiled project holds ``cells.replicas`` copies of the network (a `Pack`; a plain
    list: one per cell); a pack with fewer cells leaves the spare copies repeating its first
    cell. Each row is the
    row `run_cell` returns for its cell (to round-off, `ctfa_brian.network.replicas`), with
    ``replicas`` (the cells that shared the simulation) and ``run_s`` its share of the
    simulation's run time. A cell that blows up is ``blown up`` alone; an error that stops the
    simulation fails every cell of the pack; one that a cell's own values raise fails that
    cell only.
    """
    import socket

    replicas = int(getattr(cells, "replicas", len(cells)))
    per_replica = getattr(cells, "per_replica", None)
    cells = [{**CELL_DEFAULTS, **c} for c in cells]
    if len(cells) == 1 and replicas == 1 or not packable(cells[0]):
        return [run_cell(c, project_root, keep_traces) for c in cells]
    keys = {structure_key(c) for c in cells}
    if len(keys) > 1 or len(cells) > replicas:
        raise ValueError(f"a pack holds up to {replicas} cells of one structure; got "
                         f"{len(cells)} cells of {len(keys)} structures")
    start = time.perf_counter()
    rows, runs = {}, []
    for k, cell in enumerate(cells):
        try:
            check_seed(int(cell["seed"]))
            runs.append((k, _timing(cell)[2]))
        except Exception as err:  # noqa: BLE001  (this cell's values: this cell fails)
            rows[k] = _failed(cell, err)
    if per_replica is None:  # a plain list: what its cells (those with valid values) vary
        per_replica = varying([cells[k] for k, _ in runs]) if runs else ()
    try:
        if runs:
            trainer, build = _trainer(cells[runs[0][0]], project_root, replicas, per_replica)
            results = trainer.run_replicas([(int(cells[k]["seed"]), o) for k, o in runs])
            for (k, overrides), result in zip(runs, results):
                row = _result_row(cells[k], overrides, result, build / len(runs))
                row.update(run_s=row["run_s"] / len(runs), replicas=len(runs))
                rows[k] = {"cell_id": cell_id(cells[k]), **cells[k], **row}
    except Exception as err:  # noqa: BLE001  (the simulation failed: every cell with it)
        _CURRENT.update(key=None, trainer=None)
        if interrupts.received() is not None:
            raise interrupts.Interrupted(interrupts.received()) from err
        for k, _ in runs:
            rows[k] = _failed(cells[k], err)
    wall = (time.perf_counter() - start) / len(cells)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return [{**rows[k], "wall_s": wall, "worker": worker} for k in range(len(cells))]


def _failed(cell, err):
    return {"cell_id": cell_id(cell), **cell, "status": "failed",
            "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(),
            "test_accuracy": np.nan, "train_accuracy": np.nan}
