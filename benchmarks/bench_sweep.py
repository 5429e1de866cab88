"""The digits direct-routing heatmap (paper Fig. 5) as a sweep: compiled once per T vs naive.

Workload (the issue's): ``protocols/delay_sweep.toml`` — digits, 64-49-10, ``direct-kp``,
dt = 1 ms, 7 delays Δ/T ∈ {−1.5 … 1.5} × 5 sample times T ∈ {25, 50, 100, 200, 400} ms × 3 seeds,
three epochs each, one test evaluation at the end (the file's ``evaluate = "final"``): 105
training runs.

``sweep``
    ``ctfa run protocols/delay_sweep.toml`` through `ctfa_brian.protocols.run_protocol` with
    ``--workers`` processes, into a fresh project cache (so its five compilations, one per T,
    are paid and timed inside the total).
``naive``
    The same cells done the obvious way: every cell builds and compiles its own project in a
    fresh directory, then runs. Timing all 105 would take about an hour here, so by default it
    times ``--naive-cells`` of them (the first seed at Δ = 0 for every T — every T, since run
    time grows with T) and extrapolates to the whole grid: per cell, its T's measured
    compile + run time; divided by the same number of workers. ``--naive-cells 0`` skips it,
    ``--naive-cells all`` times all of them.

Printed: total wall time of the sweep, cells per minute, simulated seconds per wall second and
synapse-steps per second over all cells (plastic synapses 64·49 + 49·10 forward and 49·10
feedback, times the 1 ms steps simulated), the naive time (measured and extrapolated) and the
ratio, and whether the issue's target (full sweep under 10 minutes on this machine) was met —
reported, never asserted.

Usage::

    python benchmarks/bench_sweep.py [--workers 2] [--naive-cells 5] [--out DIR]
                                     [--json out.json] [--set epochs=1 ...]
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGET_S = 600.0
SYNAPSES = 64 * 49 + 49 * 10 + 49 * 10


def _simulated_seconds(row):
    """Simulated time of one cell: its periods (training and evaluation) times T."""
    from ctfa_brian import cells as cellmod
    from ctfa_brian.io import parse_quantity
    from ctfa_brian.stimulus import make_presentation

    curve = row["evaluate"] == "curve"
    presentation = make_presentation(cellmod._dataset(row), int(row["epochs"]), 1, 0,
                                     final_train_eval=curve, curve=curve)
    return presentation.n_periods * float(parse_quantity(row["sample_time"]))


def _naive_cell(cell, directory):
    """Build (compile) a fresh project for ``cell`` and run it; return (compile, run) s."""
    from ctfa_brian import cells as cellmod
    from ctfa_brian.guard import BlowUpError
    from ctfa_brian.parameters import Training
    from ctfa_brian.training import Trainer

    model, schedule, overrides = cellmod._timing(cell)
    training = Training(epochs=cell["epochs"], evaluate=cell["evaluate"])
    trainer = Trainer(cellmod._dataset(cell), model, schedule, training,
                      device="cpp_standalone", directory=str(directory))
    start = time.perf_counter()
    trainer.build()
    compiled = time.perf_counter() - start
    start = time.perf_counter()
    try:
        accuracy = trainer.run(seed=cell["seed"], **overrides).test_accuracy
    except BlowUpError:  # a result like any other (the sweep records it as "blown up")
        accuracy = float("nan")
    return compiled, time.perf_counter() - start, accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--naive-cells", default="5",
                        help="cells to time naively (default 5: one per T; 'all'; 0: skip)")
    parser.add_argument("--out", help="sweep output directory (default: a temporary one)")
    parser.add_argument("--json", help="write the numbers to this file")
    parser.add_argument("--set", action="append", default=[], dest="overrides",
                        help="override a protocol parameter, e.g. --set epochs=1")
    parser.add_argument("--grid", action="append", default=[],
                        help="override a grid axis, e.g. --grid sample_time=[50ms,100ms]")
    args = parser.parse_args(argv)

    import brian2

    import ctfa_brian
    from ctfa_brian.protocols import load_protocol_file, run_protocol
    from ctfa_brian.protocols._cells import cells_of

    scratch = Path(tempfile.mkdtemp(prefix="ctfa_bench_sweep_"))
    os.environ["CTFA_CACHE_DIR"] = str(scratch / "cache")  # cold: compilations are timed
    out = Path(args.out) if args.out else scratch / "sweep"
    config = load_protocol_file(HERE.parent / "protocols" / "delay_sweep.toml",
                                [*args.overrides, f"workers={args.workers}"], args.grid)
    cells = cells_of(config.parameters, config.grid)
    print(f"delay_sweep: {len(cells)} cells "
          f"({' × '.join(f'{len(v)} {k}' for k, v in config.grid.items())} × "
          f"{config.parameters['n_seeds']} seeds, {config.parameters['epochs']} epochs), "
          f"{args.workers} workers; brian2 {brian2.__version__}, ctfa_brian "
          f"{ctfa_brian.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores", flush=True)

    start = time.perf_counter()
    results = run_protocol(config, out, argv=["bench_sweep.py"])
    sweep_s = time.perf_counter() - start
    rows = [json.loads(p.read_text()) for p in (out / "cells").glob("*.json")]
    simulated = sum(_simulated_seconds(r) for r in rows)
    run_s = sum(r.get("run_s") or 0.0 for r in rows)
    build_s = sum(r.get("build_s") or 0.0 for r in rows)
    numbers = {
        "cells": len(cells), "workers": args.workers, "sweep_wall_s": sweep_s,
        "status_counts": results["status_counts"], "cell_run_s_total": run_s,
        "cell_build_s_total": build_s, "simulated_s": simulated,
        "simulated_s_per_wall_s": simulated / sweep_s,
        "synapse_steps_per_s": SYNAPSES * simulated / 1e-3 / sweep_s,
        "synapse_steps_per_s_per_run_s": SYNAPSES * simulated / 1e-3 / run_s if run_s else None,
    }
    print(f"sweep: {sweep_s:.0f} s wall ({sweep_s / 60:.1f} min) for {len(cells)} cells "
          f"= {len(cells) / sweep_s * 60:.1f} cells/min; {results['status_counts']}")
    print(f"  build (code generation, compilation, copies) summed over cells: {build_s:.0f} s;"
          f" binary runs summed: {run_s:.0f} s")
    print(f"  simulated {simulated:.0f} s = {numbers['simulated_s_per_wall_s']:.1f} simulated s "
          f"per wall s; {numbers['synapse_steps_per_s']:.2e} synapse-steps/s over the wall "
          f"time ({numbers['synapse_steps_per_s_per_run_s']:.2e} per second of binary run)")

    naive_n = len(cells) if args.naive_cells == "all" else int(args.naive_cells)
    if naive_n:
        by_T = {}
        for cell in cells:
            if float(cell["delay_over_T"]) == 0.0 and cell["seed"] == cells[0]["seed"]:
                by_T.setdefault(cell["sample_time"], cell)
        sample = list(by_T.values()) if naive_n < len(cells) else cells
        sample = sample[:naive_n] if naive_n < len(cells) else sample
        measured = {}
        naive_start = time.perf_counter()
        for k, cell in enumerate(sample):
            directory = scratch / f"naive_{k}"
            compiled, ran, acc = _naive_cell(cell, directory)
            shutil.rmtree(directory, ignore_errors=True)
            measured.setdefault(cell["sample_time"], []).append(compiled + ran)
            print(f"  naive cell T = {cell['sample_time']}, Δ/T = {cell['delay_over_T']}: "
                  f"compile {compiled:.1f} s + run {ran:.1f} s (test accuracy {acc:.3f})",
                  flush=True)
        naive_measured_s = time.perf_counter() - naive_start
        per_T = {t: sum(v) / len(v) for t, v in measured.items()}
        missing = [c for c in cells if c["sample_time"] not in per_T]
        if missing:
            print(f"  (no naive time for T = {sorted({c['sample_time'] for c in missing})}; "
                  "those cells are left out of the extrapolation)")
        serial = sum(per_T[c["sample_time"]] for c in cells if c["sample_time"] in per_T)
        naive_total = serial / args.workers
        numbers.update(naive_cells_timed=len(sample), naive_timed_s=naive_measured_s,
                       naive_per_T_s=per_T, naive_serial_s=serial,
                       naive_parallel_s=naive_total, speedup=naive_total / sweep_s)
        kind = "measured" if len(sample) == len(cells) else "extrapolated from the cells above"
        print(f"naive (compile per cell), {kind}: {serial / 60:.1f} min on one core, "
              f"{naive_total / 60:.1f} min on {args.workers} workers")
        print(f"ratio naive / sweep: {naive_total / sweep_s:.1f}×")
    met = sweep_s < TARGET_S
    print(f"target: full sweep under {TARGET_S / 60:.0f} min: "
          f"{'PASS' if met else 'FAIL'} ({sweep_s / 60:.1f} min)")
    numbers["target_met"] = met
    print(f"figure: {out / 'delay_sweep.png'}; table: {out / 'table.csv'}")
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2, default=str) + "\n")
    if not args.out:
        print(f"(scratch directory {scratch} kept for the figure; remove it when done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
