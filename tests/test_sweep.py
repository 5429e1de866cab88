"""The sweep runner: grid, parallel workers, atomic per-cell files, resume, crashes, Dask."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import sweep_tasks

from ctfa_brian.cells import CELL_KEYS, cell_id
from ctfa_brian.sweep import (
    aggregate,
    check_scheduler,
    check_workers,
    expand_grid,
    load_finished,
    run_sweep,
    write_table,
)

HERE = Path(__file__).resolve().parent

BASE = {"model": "continuous", "dataset": "circles", "hidden": "24", "rule": "kp",
        "activation": "relu", "loss": "cross_entropy", "epochs": 2, "evaluate": "curve",
        "n_train": 0, "n_test": 0,
        "sample_time": "100 ms", "delay_over_T": 0.0, "tau_pot_over_T": 40.0,
        "tau_prop": "10 ms", "tau_dec": "20 min", "noise": 0.0, "dt": "1 ms",
        "device": "numpy"}
DELAYS = [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]


def _cells(delays=DELAYS, seeds=(0, 1)):
    return expand_grid(BASE, {"delay_over_T": delays}, seeds)


def _table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    for r in rows:  # timing and worker columns differ between runs
        for key in ("build_s", "run_s", "wall_s", "worker"):
            r.pop(key, None)
    return rows


def test_expand_grid_is_every_combination_for_every_seed():
    cells = expand_grid(BASE, {"delay_over_T": [0, 1], "sample_time": ["50 ms", "100 ms"]},
                        seeds=[3, 4, 5])
    assert len(cells) == 2 * 2 * 3
    assert [tuple(c) for c in cells][0] == CELL_KEYS
    assert {(c["delay_over_T"], c["sample_time"], c["seed"]) for c in cells} == {
        (d, t, s) for d in (0, 1) for t in ("50 ms", "100 ms") for s in (3, 4, 5)}
    assert len({cell_id(c) for c in cells}) == 12  # distinct cells, distinct files


def test_bad_grid_workers_and_scheduler_are_refused():
    with pytest.raises(ValueError, match="grid over unknown parameter 'tau_pots'"):
        expand_grid(BASE, {"tau_pots": [1, 2]}, [0])
    with pytest.raises(ValueError, match="grid delay_over_T = \\[\\] is empty"):
        expand_grid(BASE, {"delay_over_T": []}, [0])
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=f"workers = {bad!r} is not allowed"):
            check_workers(bad)
    assert check_workers(None) == os.cpu_count()
    with pytest.raises(ValueError, match="scheduler = 'tcp://127.0.0.1:1' is unreachable"):
        check_scheduler("tcp://127.0.0.1:1", timeout=2)
    with pytest.raises(ValueError, match="is not a scheduler address"):
        check_scheduler("http://")


def test_parallel_sweep_writes_every_cell_and_a_tidy_table(tmp_path, monkeypatch):
    monkeypatch.setenv("CTFA_TEST_SLEEP", "0.3")  # long enough for both workers to start
    cells = _cells()
    rows = run_sweep(cells, tmp_path, workers=2, progress=False, task=sweep_tasks.accuracy_task)
    assert [r["cell_id"] for r in rows] == [cell_id(c) for c in cells]
    assert len({r["worker"] for r in rows}) == 2  # both worker processes took cells
    assert len(list((tmp_path / "cells").glob("*.json"))) == len(cells)
    write_table(rows, tmp_path / "table.csv")
    table = _table(tmp_path / "table.csv")
    assert len(table) == 14
    assert {"sample_time_ms", "tau_prop_ms", "dt_ms", "tau_dec_ms", "delay_over_T", "seed",
            "test_accuracy", "status"} <= set(table[0])
    assert table[0]["sample_time_ms"] == "100.0" and table[0]["tau_dec_ms"] == "1200000.0"
    summary = aggregate(rows, ["delay_over_T"])
    assert [e["n"] for e in summary] == [2] * 7
    zero = next(e for e in summary if e["delay_over_T"] == 0.0)
    assert zero["mean"] == pytest.approx(0.905) and zero["std"] == pytest.approx(0.005)


def test_failed_cell_is_recorded_and_does_not_stop_the_others(tmp_path):
    rows = run_sweep(_cells(), tmp_path, workers=2, progress=False,
                     task=sweep_tasks.failing_task)
    failed = [r for r in rows if r["status"] == "failed"]
    assert {r["delay_over_T"] for r in failed} == {0.5} and len(failed) == 2
    assert "RuntimeError: this cell cannot be computed" in failed[0]["error"]
    assert sum(r["status"] == "ok" for r in rows) == 12
    # A failed cell counts as finished (not rerun) unless asked to retry it
    assert len(load_finished(tmp_path, _cells())) == 14
    assert len(load_finished(tmp_path, _cells(), retry_failed=True)) == 12
    rows = run_sweep(_cells(), tmp_path, workers=1, progress=False, retry_failed=True,
                     task=sweep_tasks.accuracy_task)
    assert all(r["status"] == "ok" for r in rows)


def test_a_cell_that_kills_its_worker_is_isolated_and_recorded(tmp_path):
    cells = _cells(delays=[0.0, 0.5, 1.0], seeds=(0, 1))
    rows = run_sweep(cells, tmp_path, workers=2, progress=False, task=sweep_tasks.crashing_task)
    status = {(r["delay_over_T"], r["seed"]): r["status"] for r in rows}
    assert status == {(d, s): "failed" if d == 0.5 else "ok" for d in (0.0, 0.5, 1.0)
                      for s in (0, 1)}
    assert "worker process died" in next(r for r in rows if r["status"] == "failed")["error"]


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import sweep_tasks
from test_sweep import _cells
from ctfa_brian.sweep import run_sweep, write_table
rows = run_sweep(_cells(), {out!r}, workers=2, progress=False, task=sweep_tasks.accuracy_task)
write_table(rows, {out!r} + "/table.csv")
"""


def _driver(out, log, sleep):
    env = {**os.environ, "CTFA_TEST_LOG": str(log), "CTFA_TEST_SLEEP": str(sleep)}
    code = _DRIVER.format(tests=str(HERE), out=str(out))
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)


def test_resume_after_kill_9_recomputes_nothing_that_finished(tmp_path):
    reference = tmp_path / "reference"
    assert _driver(reference, tmp_path / "ref.log", 0).wait(timeout=120) == 0

    out, log = tmp_path / "killed", tmp_path / "killed.log"
    proc = _driver(out, log, 0.4)
    deadline = time.time() + 120
    def finished_cells():  # not the temporary file of a write that the kill cut short
        return {p.stem for p in (out / "cells").glob("*.json") if not p.name.startswith(".")}

    while len(finished_cells()) < 4 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, mid-sweep
    proc.wait()
    finished = finished_cells()
    assert 4 <= len(finished) < 14
    assert not (out / "table.csv").exists()

    assert _driver(out, log, 0).wait(timeout=120) == 0
    computed = log.read_text().split()
    # every cell computed at least once, and no finished cell computed twice
    counts = {cid: computed.count(cid) for cid in set(computed)}
    assert set(counts) == {cell_id(c) for c in _cells()}
    assert all(counts[cid] == 1 for cid in finished)
    assert _table(out / "table.csv") == _table(reference / "table.csv")


def test_dask_local_cluster_runs_the_same_cells(tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        cells = _cells(delays=[0.0, 1.5])
        rows = run_sweep(cells, tmp_path / "dask", scheduler=cluster.scheduler_address,
                         progress=False, task=sweep_tasks.accuracy_task)
        local = run_sweep(cells, tmp_path / "local", workers=1, progress=False,
                          task=sweep_tasks.accuracy_task)
        assert [r["test_accuracy"] for r in rows] == [r["test_accuracy"] for r in local]
        assert {r["worker"] for r in rows} != {str(os.getpid())}  # ran in the cluster
        # resuming against the cluster: nothing left to do
        again = run_sweep(cells, tmp_path / "dask", scheduler=cluster.scheduler_address,
                          progress=False, task=sweep_tasks.failing_task)
        assert [r["test_accuracy"] for r in again] == [r["test_accuracy"] for r in rows]
    finally:
        cluster.close()
    assert np.isfinite([r["test_accuracy"] for r in rows]).all()


def test_final_evaluation_keeps_the_training_order_and_drops_the_curve():
    from ctfa_brian.datasets import load_dataset
    from ctfa_brian.stimulus import make_presentation

    ds = load_dataset("circles")
    curve = make_presentation(ds, 3, 1, seed=4)
    final = make_presentation(ds, 3, 1, seed=4, final_train_eval=False, curve=False)
    kinds = [(b.kind, b.split) for b in final.blocks]
    assert kinds == [("train", "train")] * 3 + [("eval", "test")]
    train = [b.indices for b in curve.blocks if b.kind == "train"]
    assert all(np.array_equal(a, b.indices) for a, b in zip(train, final.blocks[:3]))
    n_train, n_test = len(ds.y_train), len(ds.y_test)
    assert final.n_periods == 3 * n_train + n_test
    assert curve.n_periods == 3 * n_train + 4 * n_test + n_train
