"""Sweeps on clusters: a shard (``--shard I/N``, or a SLURM array job's task) runs every N-th of
a sweep's distinct cells into the sweep's one directory; `ctfa_brian.sweep.run_sweep` takes
it as ``shard``."""

import os
import re

__all__ = ["ShardFinished", "parse_shard"]


class ShardFinished(Exception):
    """A shard (``shard = "I/N"``) ran its cells while others of the sweep are still to run:
    nothing is assembled; the run without a shard (or the last shard) writes the table."""

    def __init__(self, shard, ran, finished, total):
        self.shard, self.ran, self.finished, self.total = shard, ran, finished, total
        super().__init__(f"shard {shard[0]}/{shard[1]}: ran {ran} cells; {finished} of {total} "
                         "cells of the sweep are finished; run the same command without "
                         "--shard (or let the other shards finish) to assemble the table")


def parse_shard(text, environ=None):
    """``(I, N)`` of ``shard = "I/N"`` (1 ≤ I ≤ N), or from a SLURM array job's variables for
    ``"slurm"``; None for ``""``. A ValueError names the value and what is allowed."""
    text = str(text).strip()
    if not text:
        return None
    env = os.environ if environ is None else environ
    if text == "slurm":
        try:
            task, count = int(env["SLURM_ARRAY_TASK_ID"]), int(env["SLURM_ARRAY_TASK_COUNT"])
            first = int(env.get("SLURM_ARRAY_TASK_MIN", 0 if task == 0 else 1))
        except (KeyError, ValueError):
            raise ValueError("shard = 'slurm' needs $SLURM_ARRAY_TASK_ID and "
                             "$SLURM_ARRAY_TASK_COUNT (set in a SLURM array job, sbatch "
                             "--array); outside one give shard = 'I/N'") from None
        text = f"{task - first + 1}/{count}"
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"shard = {text!r} is not allowed; give I/N with 1 <= I <= N (this "
                         "run takes cells I, I+N, I+2N, ...), or 'slurm'")
    return int(match[1]), int(match[2])
