"""Accuracies behind the acceptance tests, over several seeds (cpp_standalone).

Usage: ``python benchmarks/accuracy_table.py [--seeds 3] [--variant rate|spiking|both|deep]
[--out table.md]``. ``deep`` runs the presets (`ctfa_brian.presets`) of every data set at every
depth of the paper's tables: circles 24 / 24-24 / 24-24-24, digits 49 / 49-32, 7×7 MNIST
49 / 49-32, and prints the run time of each row. Each configuration is compiled once and run
for every seed (and every delay) through run_args. Prints a Markdown table: configuration,
mean ± s.d. of the final frozen test accuracy, and the single values. The spiking
configurations are the spiking variant's acceptance tests (tests/test_spiking.py): dt = 0.5 ms,
max_rate 200 Hz.
"""

import argparse
import tempfile
import time

import numpy as np
from brian2 import Hz, ms, second

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

SPIKING_CIRCLES = dict(schedule=Schedule(sample_time=100 * ms, dt=0.5 * ms), epochs=10,
                       tau=dict(tau_pot_w=4 * second, tau_pot_v=4 * second))
SPIKING_DIGITS = dict(schedule=Schedule(dt=0.5 * ms), epochs=4, tau={})
SPIKING = dict(variant="spiking", max_rate=200 * Hz)
SPIKING_CONFIGS = [
    ("circles", (24,), "kp", {**SPIKING_CIRCLES, "model": {**SPIKING, "neuron": "lif"}}, [0]),
    ("circles", (24,), "kp", {**SPIKING_CIRCLES, "model": {**SPIKING, "neuron": "poisson"}},
     [0]),
    ("circles", (24,), "kp", {**SPIKING_CIRCLES, "model": {**SPIKING, "loss": "squared"}}, [0]),
    ("digits", (49,), "kp", {**SPIKING_DIGITS, "model": {**SPIKING, "neuron": "lif"}}, [0]),
    ("digits", (49,), "kp", {**SPIKING_DIGITS, "model": {**SPIKING, "neuron": "poisson"}}, [0]),
    ("digits", (49,), "fa", {**SPIKING_DIGITS, "model": {**SPIKING, "neuron": "lif"}}, [0]),
    ("digits", (49,), "kp", {**SPIKING_DIGITS, "model": SPIKING}, [-0.25, 0.5, -1.0, 1.0]),
]


def _preset(name):
    from ctfa_brian.presets import PRESETS

    p = PRESETS[name]
    return dict(schedule=Schedule(sample_time=p["sample_time"]), epochs=p["epochs"],
                anneal_to=p["anneal_to"], tau=dict(tau_pot_w=p["tau_pot"], tau_pot_v=p["tau_pot"],
                         tau_dec_w=p["tau_dec"], tau_dec_v=p["tau_dec"]))


#: Every data set at its preset, at every depth of the paper's Tables 2–3.
DEEP_CONFIGS = [(name, hidden, "kp", _preset(name), [0])
                for name, archs in (("circles", ((24,), (24, 24), (24, 24, 24))),
                                    ("digits", ((49,), (49, 32))),
                                    ("mnist7", ((49,), (49, 32))))
                for hidden in archs]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--variant", choices=("rate", "spiking", "both", "deep"), default="rate")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = ["| dataset | hidden | rule | variant | T | τ_pot | epochs | Δ/T | test accuracy "
            "(mean ± s.d.) | per seed |", "|---|---|---|---|---|---|---|---|---|---|"]
    configs = {"rate": CONFIGS, "spiking": SPIKING_CONFIGS, "both": CONFIGS + SPIKING_CONFIGS,
               "deep": DEEP_CONFIGS}[args.variant]
    for name, hidden, rule, cfg, ratios in configs:
        ds = load_dataset(name)
        model = ModelParameters(hidden=hidden, rule=rule, **cfg["tau"], **cfg.get("model", {}))
        variant = (f"spiking {model.neuron}" + (f" {model.loss}" if model.loss != "cross_entropy"
                                                 else "")
                   if model.variant == "spiking" else "rate")
        schedule = cfg["schedule"]
        training = Training(epochs=cfg["epochs"], anneal_to=cfg.get("anneal_to", 1.0))
        trainer = Trainer(ds, model, schedule, training,
                          device="cpp_standalone", directory=tempfile.mkdtemp())
        start = time.perf_counter()
        for ratio in ratios:
            delay = ratio * schedule.sample_time
            acc = [trainer.run(seed=s, delay=delay).test_accuracy for s in range(args.seeds)]
            rows.append(f"| {name} | {'-'.join(map(str, hidden))} | {rule} | {variant} | "
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
