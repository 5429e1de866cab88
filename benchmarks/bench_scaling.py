"""Synapse-steps per second against network size: the dense device, cpp_standalone, Diffrax.

Random inputs (uniform [0, 1), random labels), rule ``kp``, dt = 1 ms, T = 200 ms, one epoch
over ``--n-train`` samples with a frozen test evaluation before and after; sizes from 4·10³ to
8·10⁵ plastic synapses (W and V), the 784-input networks included. For every size the peers run
the same presentation from the same seed (`bench_digits.bench_standalone`,
`bench_digits.bench_diffrax`), and the script prints synapse-steps per second per core and the
ratios measured in the same run, with the issue's targets: ≥ 2·10⁹ synapse-steps/s per core
(float64) and ≥ 3× Diffrax at every size.

Usage::

    python benchmarks/bench_scaling.py [--sizes 64-49-10,784-1024-10]
                                       [--peers dense,standalone,diffrax]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_digits as bd  # noqa: E402  (the peers and the row format)

from ctfa_brian import ModelParameters, Schedule, Training, from_arrays  # noqa: E402
from ctfa_brian.stimulus import make_presentation  # noqa: E402

SIZES = ("64-49-10", "64-256-10", "784-49-10", "64-1024-10", "784-256-10", "784-1024-10")
PEERS = ("dense", "standalone", "diffrax")
TARGET_SYN_STEPS = 2e9
TARGET_VS_DIFFRAX = 3.0


class Setup:
    """What `bench_digits`' peers need, for random data of the given layer sizes."""

    def __init__(self, sizes, n_train, n_test, seed=0):
        rng = np.random.default_rng(seed)
        n_in, *hidden, n_out = sizes
        self.dataset = from_arrays(rng.random((n_train, n_in)), rng.integers(0, n_out, n_train),
                                   rng.random((n_test, n_in)), rng.integers(0, n_out, n_test),
                                   n_classes=n_out, name="random")
        self.model = ModelParameters(hidden=tuple(hidden), rule="kp")
        self.schedule = Schedule()
        self.training = Training(epochs=1, evals_per_epoch=1, seed=seed)
        self.seed = seed
        self.sizes = tuple(sizes)
        self.presentation = make_presentation(self.dataset, 1, 1, seed)
        self.n_periods = self.presentation.n_periods
        self.spp = self.schedule.steps_per_period
        self.period_s = float(self.schedule.period)
        self.dt_s = float(self.schedule.dt)


def run_size(sizes, peers, n_train, n_test):
    setup = Setup(sizes, n_train, n_test)
    rows = {}
    for peer in peers:
        start = time.perf_counter()
        cpu0 = bd._cpu_seconds()
        if peer == "diffrax":
            new = bd.bench_diffrax(setup)
        else:
            device = "ctfa_dense_standalone" if peer == "dense" else "cpp_standalone"
            new = bd.bench_standalone(setup, None, name=peer, device=device)
        wall, cpu = time.perf_counter() - start, bd._cpu_seconds() - cpu0
        rows[peer] = dict(new[0], cores_used=cpu / wall)
    return setup, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default=",".join(SIZES), help="layer sizes, e.g. 64-49-10,...")
    p.add_argument("--peers", default=",".join(PEERS), help=f"subset of {','.join(PEERS)}")
    p.add_argument("--n-train", type=int, default=0, help="training samples (one epoch; "
                   "default: about 10⁷ / synapses, at least 60, so that every size runs long "
                   "enough to time)")
    p.add_argument("--n-test", type=int, default=20, help="test samples")
    args = p.parse_args(argv)
    peers = [s for s in args.peers.split(",") if s]
    env = bd.environment()
    print(f"machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, Brian2 "
          f"{env['brian2']}; kp, dt = 1 ms, one epoch\n", flush=True)
    results = []
    for text in args.sizes.split(","):
        sizes = tuple(int(s) for s in text.split("-"))
        fwd, fb = bd.synapse_count(sizes)
        n_train = args.n_train or max(60, int(1e7 / (fwd + fb)))
        print(f"[{time.strftime('%H:%M:%S')}] {text}: {fwd + fb} synapses, {n_train} training "
              "samples ...", flush=True)
        setup, rows = run_size(sizes, peers, n_train, args.n_test)
        results.append((text, fwd + fb, rows))
        for peer, r in rows.items():
            print(f"  {peer:10s} run {r['run_s']:7.2f} s  {r['synapse_steps_per_s']:.3g} "
                  f"syn-steps/s  ({r['cores_used']:.2f} cores busy)  test acc "
                  f"{r['test_accuracy']:.4f}", flush=True)
    print("\nsize            synapses  dense syn-steps/s/core  dense/standalone  dense/diffrax")
    targets = []
    for text, n, rows in results:
        dense = rows.get("dense")
        if dense is None:
            continue
        per_core = dense["synapse_steps_per_s"]  # one thread
        vs_sa = (dense["sim_s_per_wall_s"] / rows["standalone"]["sim_s_per_wall_s"]
                 if "standalone" in rows else float("nan"))
        vs_dx = (dense["sim_s_per_wall_s"] / rows["diffrax"]["sim_s_per_wall_s"]
                 if "diffrax" in rows else float("nan"))
        print(f"{text:15s} {n:9d}  {per_core:22.3g}  {vs_sa:16.2f}  {vs_dx:13.2f}")
        targets.append(bd._target(f"{text}: dense ≥ {TARGET_SYN_STEPS:.0e} synapse-steps/s per "
                                  "core", per_core, TARGET_SYN_STEPS, " syn-steps/s"))
        if np.isfinite(vs_dx):
            targets.append(bd._target(f"{text}: dense ≥ {TARGET_VS_DIFFRAX:g}× Diffrax", vs_dx,
                                      TARGET_VS_DIFFRAX, "×"))
    print("\ntargets:")
    for line in targets:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
