"""Fast stand-ins for `ctfa_brian.cells.run_cell`, importable by worker processes.

They test the sweep machinery (parallelism, resume, crashes, Dask) in seconds; the real
network cells are tested in test_grid_sweeps.py.
"""

import os
import time

from ctfa_brian.cells import cell_id


def _log(cell):
    path = os.environ.get("CTFA_TEST_LOG")
    if path:
        with open(path, "a") as f:
            f.write(cell_id(cell) + "\n")


def accuracy_task(cell, project_root=None):
    """A deterministic 'accuracy' from the cell's values (so tables can be compared)."""
    _log(cell)
    time.sleep(float(os.environ.get("CTFA_TEST_SLEEP", "0")))
    acc = max(0.0, 1.0 - abs(float(cell["delay_over_T"]))) * 0.9 + 0.01 * int(cell["seed"])
    return {"cell_id": cell_id(cell), **cell, "status": "ok", "error": "",
            "test_accuracy": acc, "train_accuracy": acc, "worker": str(os.getpid())}


def failing_task(cell, project_root=None):
    """Raises for Δ/T = 0.5 (an exception inside a cell)."""
    if float(cell["delay_over_T"]) == 0.5:
        raise RuntimeError("this cell cannot be computed")
    return accuracy_task(cell, project_root)


def crashing_task(cell, project_root=None):
    """Kills its own worker process for Δ/T = 0.5 (a hard crash)."""
    if float(cell["delay_over_T"]) == 0.5:
        os._exit(9)
    return accuracy_task(cell, project_root)
