"""Accuracies behind the acceptance tests, over several seeds (cpp_standalone).

Usage: ``python benchmarks/accuracy_table.py [--seeds 3] [--out table.md]``. Each configuration
is compiled once and run for every seed (and every delay) through run_args. Prints a Markdown
table: configuration, mean ± s.d. of the final frozen test accuracy, and the single values.
"""

import argparse
import tempfile
import time

import numpy as np
from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset

CIRCLES = dict(schedule=Schedule(sample_time=100 * ms), epochs=10,
               tau=dict(tau_pot_w=4 * second, tau_pot_v=4 * second))
CONFIGS = [
    ("circles", (24,), "kp", CIRCLES, [0]),
    ("circles", (24, 24), "kp", CIRCLES, [0]),
    ("digits", (49,), "kp", dict(schedule=Schedule(), epochs=4, tau={}), [0]),
    ("digits", (49,), "fa", dict(schedule=Schedule(), epochs=4, tau={}), [0]),
    ("digits", (49,), "dfa", dict(schedule=Schedule(), epochs=4, tau={}), [0]),
    ("digits", (49,), "kp", dict(schedule=Schedule(), epochs=5,
                                 tau=dict(tau_pot_w=20 * second, tau_pot_v=20 * second)),
     [0, -0.25, 0.5, -1.0, 1.0]),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = ["| dataset | hidden | rule | T | τ_pot | epochs | Δ/T | test accuracy (mean ± s.d.) "
            "| per seed |", "|---|---|---|---|---|---|---|---|---|"]
    for name, hidden, rule, cfg, ratios in CONFIGS:
        ds = load_dataset(name)
        model = ModelParameters(hidden=hidden, rule=rule, **cfg["tau"])
        schedule = cfg["schedule"]
        trainer = Trainer(ds, model, schedule, Training(epochs=cfg["epochs"]),
                          device="cpp_standalone", directory=tempfile.mkdtemp())
        start = time.perf_counter()
        for ratio in ratios:
            delay = ratio * schedule.sample_time
            acc = [trainer.run(seed=s, delay=delay).test_accuracy for s in range(args.seeds)]
            rows.append(f"| {name} | {'-'.join(map(str, hidden))} | {rule} | "
                        f"{schedule.sample_time} | {model.tau_pot_w} | {cfg['epochs']} | "
                        f"{ratio:+.2f} | {np.mean(acc):.3f} ± {np.std(acc):.3f} | "
                        f"{', '.join(f'{a:.3f}' for a in acc)} |")
            print(rows[-1], flush=True)
        print(f"   ({time.perf_counter() - start:.0f} s with build)", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
