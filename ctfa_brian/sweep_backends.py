"""Where a sweep's cells run: in this process, on local worker processes, on a Dask cluster.

Each backend is a generator of finished rows: one per task, or a list of rows for a task that
is a pack of cells (`ctfa_brian.packs.Pack`, run by `ctfa_brian.packs.run_pack`). Interrupts
(`ctfa_brian.interrupts`):

- a cell that is interrupted is never yielded, so it is not saved and a resume recomputes it;
- on SIGINT/SIGTERM the driver sends SIGINT to every local worker (each stops its simulation
  at the end of the step), keeps the rows that finished meanwhile and raises `Interrupted`;
- every local worker dies with its driver, however the driver ends (``kill -9`` too): the
  kernel sends it SIGTERM (``PR_SET_PDEATHSIG``), on which it stops its own simulation and
  exits.
"""

import ctypes
import os
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import numpy as np
from brian2.utils.logger import get_logger

from ctfa_brian import interrupts
from ctfa_brian.cells import cell_id

__all__ = ["crash_row", "dask_rows", "inline_rows", "local_rows"]

logger = get_logger(__name__)

_PR_SET_PDEATHSIG = 1
#: How long the driver waits for interrupted workers to stop (s).
_STOP_WAIT = 30.0


def crash_row(cell, message):
    """The row of a cell whose worker failed (an exception, a dead process); the list of rows
    of a pack."""
    if isinstance(cell, list):
        return [crash_row(c, message) for c in cell]
    return {"cell_id": cell_id(cell), **cell, "status": "failed", "error": message,
            "test_accuracy": np.nan, "train_accuracy": np.nan, "wall_s": np.nan}


def _worker_exit(signum, frame):  # noqa: ARG001
    """SIGTERM in a worker (its driver died, or the pool is torn down): stop and exit."""
    interrupts.stop_children(signal.SIGINT)
    os._exit(interrupts.exit_code(signum))


def _worker_interrupt(signum, frame):
    """SIGINT in a worker: the first stops the cell (`ctfa_brian.interrupts`); later ones are
    ignored, because a terminal's Ctrl-C and the driver both send one, and a second raise
    could land while the worker sends its result back (the driver SIGTERMs a worker that
    does not stop)."""
    if interrupts.received() is not None:
        return
    interrupts._handler(signum, frame)


def worker_init():
    """Run in every local worker: die with the driver; SIGINT interrupts the cell."""
    import brian2  # noqa: F401  (it installs its own SIGINT handler on import: replace that)

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the worker notices at its next task
        pass
    signal.signal(signal.SIGTERM, _worker_exit)
    signal.signal(signal.SIGINT, _worker_interrupt)
    if os.getppid() == 1:  # the driver died before the signal was armed
        os._exit(interrupts.exit_code(signal.SIGTERM))


def guarded(task, cell, project_root):
    """Run ``task`` in a worker unless the worker was interrupted already (then the queued
    cell is not started: `Interrupted`)."""
    if interrupts.received() is not None:
        raise interrupts.Interrupted(interrupts.received())
    return task(cell, project_root)


def inline_rows(todo, task, project_root):
    """Run ``todo`` one after the other in this process."""
    for cell in todo:
        yield task(cell, project_root)


def _interrupt_pool(pool, futures, signum):
    """SIGINT to every worker; yield the rows that still finished; raise `Interrupted`."""
    for process in list(getattr(pool, "_processes", {}).values()):
        try:
            os.kill(process.pid, signal.SIGINT)
        except (OSError, AttributeError):
            pass
    done, not_done = wait(list(futures), timeout=_STOP_WAIT)
    if not_done:  # a worker that did not stop: SIGTERM (it stops its binary and exits)
        for process in list(getattr(pool, "_processes", {}).values()):
            try:
                process.terminate()
            except (OSError, AttributeError):
                pass
    for future in done:
        try:
            row = future.result()
        except BaseException:  # noqa: BLE001  (interrupted or failed while stopping)
            continue
        finished = [r for r in (row if isinstance(row, list) else [row])
                    if r.get("status") in ("ok", "blown up")]
        if finished:
            yield finished
    pool.shutdown(wait=False, cancel_futures=True)
    raise interrupts.Interrupted(signum)


def local_rows(todo, task, project_root, workers):
    """Run ``todo`` on a pool of spawned processes; yield rows as they finish.

    If a worker process dies (killed, out of memory), the pool breaks: the cells that were in
    flight are run again, one at a time, so that a cell that kills its worker is identified
    and recorded as failed while the others finish.
    """
    context = get_context("spawn")
    pending = list(todo)
    suspects = []
    while pending or suspects:
        if suspects:  # one at a time: a crash now is this cell's
            cell = suspects.pop(0)
            with ProcessPoolExecutor(1, mp_context=context, initializer=worker_init) as pool:
                try:
                    yield pool.submit(guarded, task, cell, project_root).result()
                except BrokenProcessPool:
                    yield crash_row(cell, "the worker process died while running this cell "
                                          "(killed or out of memory)")
            continue
        pool = ProcessPoolExecutor(min(workers, len(pending)), mp_context=context,
                                   initializer=worker_init)
        futures = {}
        queue = list(pending)
        try:
            while queue and len(futures) < 2 * workers:
                cell = queue.pop(0)
                futures[pool.submit(guarded, task, cell, project_root)] = cell
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    cell = futures.pop(future)
                    try:
                        row = future.result()
                    except BrokenProcessPool:
                        futures[future] = cell
                        raise
                    except KeyboardInterrupt:  # the worker was interrupted
                        futures[future] = cell
                        raise
                    except Exception as err:  # noqa: BLE001  (a task that raised)
                        row = crash_row(cell, f"{type(err).__name__}: {err}")
                    pending.remove(cell)
                    yield row
                    if queue:
                        nxt = queue.pop(0)
                        futures[pool.submit(guarded, task, nxt, project_root)] = nxt
        except BrokenProcessPool:
            if interrupts.received() is not None:  # the workers died of the interrupt
                raise interrupts.Interrupted(interrupts.received()) from None
            in_flight = list(futures.values())
            logger.warn(f"a sweep worker died; running its {len(in_flight)} cell(s) again "
                        "one at a time", once=False)
            for cell in in_flight:
                pending.remove(cell)
            for item in in_flight:  # a pack's cells one by one, in the pack's project
                suspects.extend(_split(item))
        except KeyboardInterrupt as err:
            signum = getattr(err, "signum", None) or interrupts.received() or signal.SIGINT
            yield from _interrupt_pool(pool, list(futures), signum)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _split(item):
    if isinstance(item, list) and len(item) > 1:
        return [type(item)([cell], item.replicas, item.per_replica) for cell in item]
    return [item]


def _key(item):
    return cell_id(item[0] if isinstance(item, list) else item)


def dask_rows(todo, task, project_root, scheduler):
    """Run ``todo`` on the Dask cluster at ``scheduler``; yield rows as they finish.

    On an interrupt the cells still on the cluster are cancelled and `Interrupted` is raised.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError(f"scheduler = {scheduler!r} needs dask.distributed: pip install "
                         "'ctfa_brian[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise ValueError(f"scheduler = {scheduler!r} is unreachable: {err}") from None
    futures = {}
    try:
        futures = {client.submit(task, cell, project_root, pure=False,
                                 key=f"ctfa-cell-{_key(cell)}-{time.time_ns()}"): cell
                   for cell in todo}
        for future in as_completed(futures):
            cell = futures[future]
            try:
                yield future.result()
            except KeyboardInterrupt:
                raise
            except Exception as err:  # noqa: BLE001  (KilledWorker, lost connection, ...)
                yield crash_row(cell, f"{type(err).__name__}: {err}")
    except KeyboardInterrupt as err:
        client.cancel(list(futures))
        raise interrupts.Interrupted(getattr(err, "signum", None) or interrupts.received()
                                     or signal.SIGINT) from None
    finally:
        client.close()
