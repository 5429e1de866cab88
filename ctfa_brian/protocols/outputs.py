"""What the single-synapse protocols share around their circuits: one timed run, and what they
write (``table.csv``, a figure and a Neo file)."""

import time
from pathlib import Path

from ctfa_brian.io import write_rows

__all__ = ["run_timed", "save_outputs"]


def run_timed(name, objects, duration, start):
    """Run ``objects`` for ``duration`` in one Brian2 `Network` named ``name``; return its
    ``{"build", "run"}`` times in seconds (the build counted from ``start``)."""
    from brian2 import Network

    net = Network(*objects, name=name)
    built = time.perf_counter()
    net.run(duration, namespace={})
    return {"build": built - start, "run": time.perf_counter() - built}


def save_outputs(results, out_dir, timings, rows, figure, block, neo="traces"):
    """Write ``rows`` to ``table.csv``, the figure (``figure(out_dir)`` returns its path) and
    ``block`` to ``<neo>.nix`` (``.nwb`` or both, as the run's ``--format``:
    `ctfa_brian.neo_io.save_neo_formats`); put the paths under ``results["files"]`` and
    ``timings`` (with ``write``, the time this took) under ``results["timings_s"]``; return
    ``results``."""
    from ctfa_brian.neo_io import save_neo_formats

    out_dir = Path(out_dir)
    start = time.perf_counter()
    files = {"table": write_rows(rows, out_dir / "table.csv"), "figure": figure(out_dir),
             **save_neo_formats(block, out_dir / neo, neo)}
    results["files"] = {k: str(v) for k, v in files.items()}
    results["timings_s"] = {**timings, "write": time.perf_counter() - start}
    return results
