"""Cells per minute against the replica count K: K copies of a network in one simulation.

For circles (2-24-2) and digits (64-49-10), rule ``kp``, T = 100 ms, dt = 1 ms, one training
epoch over ``--n-train`` samples and a frozen test evaluation before and after, the script
compiles one project per K (not timed), then runs K cells (seeds 0 … K−1) per run of the
binary, ``--repeats`` times. It prints the run time per simulation, cells per minute,
synapse-steps per second (plastic W and V synapses × steps × K / run time) and the ratio
against K = 1 measured in the same run, and checks that every replica's readout equals that of
the K = 1 run of the same seed (to 1e-9).

Usage::

    python benchmarks/bench_replicas.py [--replicas 1,4,16,64] [--datasets circles,digits]
                                        [--device ctfa_dense_standalone] [--repeats 3]
"""

import argparse
import os
import tempfile
import time

import numpy as np
from brian2 import ms

from ctfa_brian import ModelParameters, Schedule, Trainer, Training
from ctfa_brian.cells import load_subset

HIDDEN = {"circles": (24,), "digits": (49,)}


def plastic_synapses(sizes):
    forward = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return forward + sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))  # W and layerwise V


MODEL = ModelParameters(rule="kp")


def overrides(seed, per_replica):
    """What cell ``seed`` changes besides its seed: Δ = 10 ms · seed (mod 100 ms), τ_pot
    (W and V) = τ_pot · (1 + 0.1 · seed)."""
    out = {}
    if "delay" in per_replica:
        out["delay"] = (10 * seed % 100) * ms
    if "tau_pot_w" in per_replica:
        out.update(tau_pot_w=MODEL.tau_pot_w * (1 + 0.1 * seed),
                   tau_pot_v=MODEL.tau_pot_v * (1 + 0.1 * seed))
    return out


def _trainer(dataset, n_train, n_test, device, **kwargs):
    return Trainer(load_subset(dataset, n_train, n_test), MODEL.replace(hidden=HIDDEN[dataset]),
                   Schedule(sample_time=100 * ms), Training(epochs=1, evals_per_epoch=1),
                   device=device, **kwargs)


def run(dataset, k, device, n_train, n_test, repeats, per_replica, reference=None):
    directory = tempfile.mkdtemp(prefix=f"bench_replicas_{dataset}_{k}_")
    trainer = _trainer(dataset, n_train, n_test, device, directory=directory, replicas=k,
                       per_replica=per_replica)
    schedule = trainer.schedule
    start = time.perf_counter()
    trainer.build()
    build = time.perf_counter() - start
    runs = [(seed, overrides(seed, per_replica)) for seed in range(k)]
    times, results = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        results = (trainer.run_replicas(runs) if k > 1
                   else [trainer.run(seed=0, **runs[0][1])])
        times.append(time.perf_counter() - start)
    steps = round(float(results[0].duration / schedule.dt))
    sizes = trainer.sizes
    worst = 0.0
    if reference is not None:
        for seed, result in enumerate(results):
            if seed in reference:
                worst = max(worst, float(np.max(np.abs(result.readout - reference[seed]))))
    return {"times": times, "build": build, "steps": steps, "sizes": sizes,
            "readouts": {seed: r.readout for seed, r in enumerate(results)}, "worst": worst,
            "accuracy": [r.test_accuracy for r in results]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="1,4,16,64")
    parser.add_argument("--datasets", default="circles,digits")
    parser.add_argument("--device", default="ctfa_dense_standalone")
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--per-replica", default="",
                        help="what the cells vary besides the seed: '' (seeds only), 'delay', "
                             "'delay,tau_pot' (τ_pot of W and V)")
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.replicas.split(",")]
    per_replica = tuple(n for n in args.per_replica.split(",") if n)
    if "tau_pot" in per_replica:
        per_replica = tuple(n for n in per_replica if n != "tau_pot") + ("tau_pot_v",
                                                                        "tau_pot_w")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; device "
          f"{args.device}; {args.n_train} training samples, T = 100 ms, dt = 1 ms; cells vary "
          f"the seed{''.join(', ' + n for n in per_replica)}")
    print(f"{'network':<16}{'K':>4}{'run s (min-max)':>20}{'cells/min':>12}{'syn-steps/s':>13}"
          f"{'vs K=1':>9}{'max |Δ readout|':>17}")
    for dataset in args.datasets.split(","):
        reference, base = None, None
        # K = 1 first: the reference readouts of seed 0, then of every seed K>1 runs
        k_ref = max(ks)
        trainer = _trainer(dataset, args.n_train, args.n_test, args.device)
        reference = {seed: trainer.run(seed=seed, **overrides(seed, per_replica)).readout
                     for seed in range(min(k_ref, 4))}  # separate runs of the first seeds
        for k in ks:
            r = run(dataset, k, args.device, args.n_train, args.n_test, args.repeats,
                    per_replica, reference)
            best = min(r["times"])
            cells_min = 60 * k / np.array(r["times"])
            syn_steps = plastic_synapses(r["sizes"]) * r["steps"] * k / np.array(r["times"])
            if base is None:
                base = 60 / np.array(r["times"])
            ratio = cells_min.max() / base.max()
            name = f"{dataset} {'-'.join(map(str, r['sizes']))}"
            print(f"{name:<16}{k:>4}{best:>9.3f} - {max(r['times']):<8.3f}"
                  f"{cells_min.min():>6.0f}-{cells_min.max():<6.0f}{syn_steps.max():>12.2e}"
                  f"{ratio:>8.2f}×{r['worst']:>16.1e}", flush=True)
            if r["worst"] > 1e-9:
                print(f"  FAIL: replicas differ from separate runs by {r['worst']:.1e}")


if __name__ == "__main__":
    main()
