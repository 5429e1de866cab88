"""``ctfa run FILE``: check the protocol file and the output directory, then run it.

A sweep's directory may be given again to resume it (same protocol, same parameters but the
run options); any other directory holding results is refused unless ``--overwrite``. An
interrupted run keeps what finished (a sweep: its finished cells), writes ``results.json``
with status ``interrupted`` and exits with 130 (SIGINT) or 143 (SIGTERM).
"""

import sys
import time
from pathlib import Path

from brian2.units.fundamentalunits import DimensionMismatchError

from ctfa_brian.cli_commands.common import EXIT_OK, check_cuda_options, fail
from ctfa_brian.packs import check_replicas_option
from ctfa_brian.sweep import ShardFinished, parse_shard

__all__ = ["main", "same_sweep"]

#: Parameters that say how a sweep runs, not what it computes: they may change on resume (a
#: cell's name says which device computed it, the two standalone devices counting as one).
RUN_OPTIONS = ("workers", "scheduler", "retry_failed", "n_seeds", "device", "shard",
               "replicas")


def same_sweep(config):
    """A test for `ctfa_brian.outdir.check_out`: is a directory's manifest this same sweep?"""
    from ctfa_brian.protocols.spec import parameters_to_jsonable

    if not config.grid and "retry_failed" not in config.parameters:  # not a sweep
        return None
    mine = {k: v for k, v in parameters_to_jsonable(config.parameters).items()
            if k not in RUN_OPTIONS}

    def test(manifest):
        theirs = manifest.get("parameters", {})
        if manifest.get("protocol") != config.name or not isinstance(theirs, dict):
            return False
        return {k: v for k, v in theirs.items() if k not in RUN_OPTIONS} == mine

    return test


def _build_only(config):
    """``ctfa run FILE --build-only``: compile the projects of a grid sweep's structures."""
    from ctfa_brian import device as devices
    from ctfa_brian.cells import build_cell, structure_key
    from ctfa_brian.protocols import get_protocol
    from ctfa_brian.protocols._cells import cells_of

    if not hasattr(get_protocol(config.name), "GRID"):
        raise ValueError(f"--build-only is an option of the grid sweeps (delay_sweep, depth, "
                         f"noise, baselines), not of {config.name}")
    device = config.parameters["device"]
    if not devices.is_standalone(device):
        raise ValueError(f"--build-only needs a standalone device; device = {device!r} "
                         "compiles nothing ahead")
    from ctfa_brian.packs import plan_packs
    from ctfa_brian.sweep import check_workers

    firsts = {}
    cells = cells_of(dict(config.parameters), dict(config.grid))
    workers = check_workers(config.parameters.get("workers"))
    for pack in plan_packs(cells, config.parameters.get("replicas", "1"), workers):
        firsts.setdefault(structure_key(pack[0]), (pack[0], pack.replicas, pack.per_replica))
    start = time.perf_counter()
    for cell, replicas, per_replica in firsts.values():
        directory, built = build_cell(cell, replicas=replicas, per_replica=per_replica)
        print(f"{'built' if built else 'already built'}: {directory}")
    print(f"{len(firsts)} project(s) for {config.name} on {device} in "
          f"{time.perf_counter() - start:.1f} s; the same command without --build-only runs "
          "the cells")
    return EXIT_OK


def main(args, argv):
    """Run ``ctfa run``; return the exit status."""
    from ctfa_brian import interrupts
    from ctfa_brian.nwb_io import check_format
    from ctfa_brian.outdir import check_out, replacing
    from ctfa_brian.protocols import load_protocol_file, run_protocol

    overrides = list(args.overrides)
    for option, key in ((args.workers, "workers"), (args.scheduler, "scheduler"),
                        (args.shard, "shard"), (args.replicas, "replicas")):
        if option is not None:
            overrides.append(f"{key}={option}")
    if args.retry_failed:
        overrides.append("retry_failed=1")
    try:
        check_format(args.format)
        config = load_protocol_file(args.file, overrides, args.grid)
        check_cuda_options(args, config.parameters["device"])
        if "replicas" in config.parameters:
            check_replicas_option(config.parameters["replicas"])
        if parse_shard(config.parameters.get("shard", "")) and args.overwrite:
            raise ValueError("--shard with --overwrite is not allowed: one shard would move "
                             "the others' cells aside; empty --out once, then run the shards")
        if args.build_only:
            return _build_only(config)
        resume = same_sweep(config)
        out = check_out(args.out, "--out", overwrite=args.overwrite, same_run=resume,
                        need_bytes=2**20)
    except (ValueError, DimensionMismatchError, FileNotFoundError) as err:
        return fail(err)
    resuming = resume is not None and (out / "manifest.json").is_file() and not args.overwrite
    # shards share the directory: none of them moves the others' files aside
    sharded = bool(config.parameters.get("shard"))
    try:
        if resuming or sharded:  # the cells are the results; table and summary are rewritten
            results = run_protocol(config, out, argv=["ctfa", *argv],  # atomically
                                   neo_format=args.format)
        else:
            with replacing(out):
                results = run_protocol(config, out, argv=["ctfa", *argv],
                                       neo_format=args.format)
    except ShardFinished as done:
        print(f"protocol {config.name}: {done}")
        return EXIT_OK
    except interrupts.Interrupted as err:
        return _interrupted(err, out, config, argv)
    except KeyboardInterrupt:
        return _interrupted(interrupts.Interrupted(interrupts.received() or 2), out, config,
                            argv)
    checks = results.get("checks", {})
    failed = [name for name, ok in checks.items() if not ok]
    if "status_counts" in results:  # a sweep: how its cells ended
        state = "cells " + ", ".join(f"{n} {s}" for s, n in results["status_counts"].items())
    else:
        state = (f"{len(checks)} checks passed" if not failed
                 else f"failed checks: {', '.join(failed)}")
    print(f"protocol {config.name}: {state} ({results['timings_s']['total']:.1f} s)")
    for name, path in results["files"].items():
        print(f"  {name + ':':<11} {path}")
    return EXIT_OK


def _interrupted(err, out, config, argv):
    """Say what was kept; write results.json (status ``interrupted``) and the manifest."""
    from ctfa_brian import io
    from ctfa_brian.protocols.runner import protocol_manifest

    cells = Path(out) / "cells"
    done = len(list(cells.glob("*.json"))) if cells.is_dir() else 0
    if Path(out).is_dir():
        io.write_results(out, {"finished_cells": done}, protocol_manifest(config, ["ctfa", *argv]),
                         status="interrupted", message=str(err))
    print(f"ctfa: {err}; {done} finished cell(s) are kept in {cells}" if done
          else f"ctfa: {err}", file=sys.stderr)
    if done:
        print("ctfa: run the same command again to resume", file=sys.stderr)
    return err.exit_code
