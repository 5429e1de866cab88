"""What a run will need, estimated before it starts: memory, run time, bytes written.

`estimate` counts what a training run holds (the presentation: one row of input and target
per period; the weights; the readout and the recordings) and how much work it does
(synapse-steps), and `check_resources` refuses a run whose memory exceeds what the machine has
and warns about one that would take more than an hour. The rates are conservative figures from
``benchmarks/`` (docs/results.md: 4–9·10⁸ synapse-steps/s on one core in cpp_standalone, about
nine times fewer with NumPy), so the time is an upper estimate on an idle machine.
"""

import os
from dataclasses import dataclass

from brian2.utils.logger import get_logger

__all__ = ["Estimate", "available_memory", "check_resources", "estimate", "format_duration"]

logger = get_logger(__name__)

#: Synapse-steps per second assumed for the estimate, per device family.
_RATE = {"standalone": 3e8, "runtime": 3e7}
#: Bytes held per presentation value (the array, Brian's copy of it, the run_args file).
_BYTES_PER_VALUE = 8 * 3
#: Bytes per synapse (weights, indices, pre/post state of every variable, several copies).
_BYTES_PER_SYNAPSE = 200
#: Warn past this run time (seconds).
WARN_AFTER_S = 3600.0


@dataclass(frozen=True)
class Estimate:
    """Memory (bytes), run time (s, upper estimate), bytes written, synapse-steps."""

    memory: float
    run_time: float
    written: float
    synapse_steps: float
    periods: int


def format_duration(seconds):
    """``"3.2 h"``, ``"12 min"``, ``"40 s"``."""
    if seconds >= 86400 * 365:
        return f"{seconds / (86400 * 365):.3g} years"
    if seconds >= 86400:
        return f"{seconds / 86400:.3g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.2g} h"
    if seconds >= 60:
        return f"{seconds / 60:.2g} min"
    return f"{seconds:.2g} s"


def available_memory():
    """Bytes of memory this machine can still give (``MemAvailable``; total RAM elsewhere)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return float("inf")


def _synapses(sizes, routing="layerwise", tied=False):
    forward = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    if tied or len(sizes) < 3:
        return forward
    if routing == "direct":
        feedback = sum(h * sizes[-1] for h in sizes[1:-1])
    else:
        feedback = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))
    return forward + feedback


def estimate(sizes, n_train, n_test, epochs, evals_per_epoch, period, dt, standalone=True,
             recorded_values_per_step=0.0, record_every_steps=1, routing="layerwise",
             tied=False):
    """Estimate a training run (``period`` and ``dt`` in seconds, floats)."""
    periods = float(epochs) * (n_train + evals_per_epoch * n_test) + n_train + n_test
    n_features, n_classes = sizes[0], sizes[-1]
    steps = periods * period / dt
    synapses = _synapses(sizes, routing, tied)
    neurons = sum(sizes)
    presentation = periods * (n_features + n_classes + 2) * _BYTES_PER_VALUE
    readout = periods * n_classes * 8 * 2
    recorded = steps / max(record_every_steps, 1) * recorded_values_per_step * 8
    memory = presentation + readout + synapses * _BYTES_PER_SYNAPSE + 2 * recorded + 5e7
    rate = _RATE["standalone" if standalone else "runtime"]
    work = steps * (synapses + 4 * neurons)
    return Estimate(memory=memory, run_time=work / rate, written=readout / 2 + recorded + 1e5,
                    synapse_steps=steps * synapses, periods=int(min(periods, 2**62)))


def check_resources(est, what="the run", options="--epochs, --hidden or --n-train"):
    """Raise ValueError if ``est`` needs more memory than is available; warn past an hour."""
    from ctfa_brian.outdir import format_bytes

    free = available_memory()
    if est.memory > free:
        raise ValueError(f"{what} would need about {format_bytes(est.memory)} of memory "
                         f"({est.periods:.3g} sample periods, {est.synapse_steps:.3g} "
                         f"synapse-steps) but this machine has {format_bytes(free)} available; "
                         f"make {options} smaller")
    if est.run_time > WARN_AFTER_S:
        logger.warn(f"{what} will take about {format_duration(est.run_time)} "
                    f"({est.synapse_steps:.3g} synapse-steps); make {options} smaller "
                    "for a quicker run", once=False)
    return est
