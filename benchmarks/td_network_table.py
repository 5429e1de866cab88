"""The temporal-difference network against kp with error units, in one table.

Usage: ``python benchmarks/td_network_table.py [--seeds 3] [--out table.md]``. Circles (one
hidden layer of 24, 10 epochs) and digits (49, 4 epochs), T = 200 ms, dt = 1 ms,
ctfa_dense_standalone, the gate annealed to 0.25 over the last epoch: kp with its error units
at the data set's preset τ_pot (circles 8 s, digits 4 s), and ``routing="td"`` with the rules
sgd, fa and kp at τ_pot = 1 s (the plus phase, 50 ms of each 200 ms cycle, carries the whole
learning signal, so the same τ_pot learns less per sample than error units that are active the
whole sample). Each configuration is compiled once and run for every seed (the seed draws the
initial weights and the sample order). Prints a Markdown table: mean ± s.d. of the final
frozen test accuracy, the single values, the frozen train accuracy and the run time.
"""

import argparse
import tempfile
import time

import numpy as np
from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset

DATASETS = {"circles": dict(hidden=(24,), epochs=10, tau_pot=8 * second),
            "digits": dict(hidden=(49,), epochs=4, tau_pot=4 * second)}
TD_TAU_POT = 1 * second
#: (label, model keywords, τ_pot or None for the data set's)
CONFIGS = [("kp, error units", dict(rule="kp"), None),
           ("td, sgd (V ≡ Wᵀ)", dict(rule="sgd", routing="td"), TD_TAU_POT),
           ("td, fa (fixed V)", dict(rule="fa", routing="td"), TD_TAU_POT),
           ("td, kp (learnt V)", dict(rule="kp", routing="td"), TD_TAU_POT)]


def run(seeds, device="ctfa_dense_standalone"):
    rows = []
    for name, spec in DATASETS.items():
        data = load_dataset(name)
        for label, kw, tau_pot in CONFIGS:
            tau = tau_pot or spec["tau_pot"]
            model = ModelParameters(hidden=spec["hidden"], tau_pot_w=tau, tau_pot_v=tau, **kw)
            training = Training(epochs=spec["epochs"], anneal_to=0.25, seed=0)
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                trainer = Trainer(data, model, Schedule(sample_time=200 * ms, dt=1 * ms),
                                  training, device=device, directory=tmp)
                results = [trainer.run(seed=s) for s in seeds]
            rows.append((name, label, float(tau / second), results,
                         time.perf_counter() - start))
    return rows


def table(rows):
    lines = ["| dataset | network | τ_pot | test (mean ± s.d.) | per seed | train (mean) | wall |",
             "|---|---|---|---|---|---|---|"]
    for name, label, tau, results, wall in rows:
        test = np.array([r.test_accuracy for r in results])
        train = np.array([r.train_accuracy for r in results])
        per_seed = ", ".join(f"{a:.3f}" for a in test)
        lines.append(f"| {name} | {label} | {tau:g} s | {test.mean():.3f} ± {test.std():.3f} | "
                     f"{per_seed} | {train.mean():.3f} | {wall:.0f} s |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", help="also write the table to this file")
    args = parser.parse_args()
    start = time.perf_counter()
    text = table(run(list(range(args.seeds))))
    print(text)
    print(f"\n{time.perf_counter() - start:.0f} s wall")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
