"""Synapse-steps per second on cuda_standalone against network size and replica count K, the
cuda/cpp ratio, and the paper's 105-cell delay heatmap on one GPU (target: under a minute).

For every size (random inputs and labels, rule ``kp``, dt = 1 ms, T = 200 ms, one epoch; the
`bench_scaling` setup) and every K, the script compiles one project (not timed), then runs K
cells (seeds 0 … K−1) per run of the binary, ``--repeats`` times, and prints the run time,
synapse-steps per second (plastic synapses × steps × K / run time) and the ratio against the
CPU peer (``--cpu-peer``, the dense device on one core, K = 1) measured in the same run.
``--heatmap`` then times the shipped ``delay_sweep`` (105 cells) with ``--replicas auto``:
``--build-only`` (compilation) and the run of the cells, separately.

It needs a GPU for ``--device cuda_standalone`` (the Python 3.12 stack with the ``cuda``
extra, docs/devices.md). ``--device ctfa_dense_standalone`` runs the same script on the CPU, to
check it without one.

Usage::

    python benchmarks/bench_gpu.py [--sizes 64-49-10,784-256-10,784-1024-10]
                                   [--replicas 1,4,16,64] [--heatmap] [--device ...]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_digits as bd  # noqa: E402  (synapse counts, the environment line)
from bench_scaling import Setup  # noqa: E402

from ctfa_brian import Trainer  # noqa: E402

SIZES = ("64-49-10", "784-256-10", "784-1024-10")
TARGET_HEATMAP_S = 60.0


def time_runs(setup, device, k, repeats):
    """``(run times, synapse-steps per run)`` of ``k`` replicas of ``setup`` on ``device``."""
    directory = tempfile.mkdtemp(prefix=f"bench_gpu_{k}_")
    trainer = Trainer(setup.dataset, setup.model, setup.schedule, setup.training, device=device,
                      directory=directory, replicas=k)
    trainer.build()
    runs = [(seed, {}) for seed in range(k)]
    times, results = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        results = trainer.run_replicas(runs) if k > 1 else [trainer.run(seed=0)]
        times.append(time.perf_counter() - start)
    fwd, fb = bd.synapse_count(setup.sizes)
    steps = round(float(results[0].duration / setup.schedule.dt))
    return np.array(times), (fwd + fb) * steps * k


def heatmap(device):
    """Seconds to compile (``--build-only``) and to run the shipped 105-cell delay sweep."""
    out = tempfile.mkdtemp(prefix="bench_gpu_heatmap_")
    cache = tempfile.mkdtemp(prefix="bench_gpu_cache_")
    env = {**os.environ, "CTFA_CACHE_DIR": cache}
    base = [sys.executable, "-m", "ctfa_brian", "run", "delay_sweep", "--out",
            f"{out}/sweep", "--set", f"device={device}", "--replicas", "auto"]
    timings = {}
    for name, extra in (("compile", ["--build-only"]), ("run", [])):
        start = time.perf_counter()
        subprocess.run(base + extra, check=True, env=env, stdout=subprocess.DEVNULL)
        timings[name] = time.perf_counter() - start
    return timings


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=",".join(SIZES))
    p.add_argument("--replicas", default="1,4,16,64")
    p.add_argument("--device", default="cuda_standalone")
    p.add_argument("--cpu-peer", default="ctfa_dense_standalone",
                   help="the CPU device of the ratio ('' for none)")
    p.add_argument("--n-train", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--heatmap", action="store_true",
                   help="also time the shipped 105-cell delay_sweep with --replicas auto")
    args = p.parse_args(argv)
    env = bd.environment()
    print(f"machine: {env['cpu']}, {env['cores']} cores, load {os.getloadavg()[0]:.2f}; "
          f"Python {env['python']}, Brian2 {env['brian2']}; device {args.device}; kp, "
          "dt = 1 ms, T = 200 ms, one epoch", flush=True)
    ks = [int(k) for k in args.replicas.split(",")]
    print(f"{'size':<14}{'K':>4}{'run s (min-max)':>20}{'syn-steps/s':>13}"
          f"{'vs cpu K=1':>12}")
    for text in args.sizes.split(","):
        setup = Setup(tuple(int(s) for s in text.split("-")), args.n_train, 20)
        cpu = None
        if args.cpu_peer:
            times, work = time_runs(setup, args.cpu_peer, 1, args.repeats)
            cpu = work / times.min()
            print(f"{text:<14}{1:>4}{times.min():>9.3f} - {times.max():<8.3f}{cpu:>13.3g}"
                  f"{'(cpu)':>12}", flush=True)
        for k in ks:
            times, work = time_runs(setup, args.device, k, args.repeats)
            rate = work / times.min()
            ratio = f"{rate / cpu:.2f}×" if cpu else "-"
            print(f"{text:<14}{k:>4}{times.min():>9.3f} - {times.max():<8.3f}{rate:>13.3g}"
                  f"{ratio:>12}", flush=True)
    if args.heatmap:
        t = heatmap(args.device)
        verdict = "PASS" if t["run"] < TARGET_HEATMAP_S else "FAIL"
        print(f"\ndelay_sweep, 105 cells, --replicas auto: compile {t['compile']:.1f} s, run "
              f"{t['run']:.1f} s (target < {TARGET_HEATMAP_S:.0f} s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
