"""Where learning is stable: digits, one and two hidden layers, against τ_pot/T (docs/model.md).

For every τ_pot/T and every combination of the two remedies — label smoothing (a restoring
force on the logits) and the label delay counted from the output's response (no mismatched
error while the output still shows the previous sample) — without the weight bound, and with
all three (the defaults: w_max = 10), train once (kp, T = 200 ms, 3
epochs, final frozen test accuracy) and mark runs that blew up. One compiled project per
architecture: the smoothing and the delay go in through ``run_args``.

    python benchmarks/stability_map.py --out docs/stability.png        # ~15 min on 2 cores

Prints one line per run and writes the figure and ``stability.csv`` beside it.
"""

import argparse
import csv
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np

RATIOS = (2, 5, 10, 20, 50, 100)
#: No bound on the weights (ModelParameters.w_max).
UNBOUNDED = 1e300
#: (label, label_smoothing, label delay counted from the input's onset instead of the output,
#: w_max)
REMEDIES = (("one-hot, Δ from input onset", 0.0, True, UNBOUNDED),
            ("smoothing 0.1, Δ from input onset", 0.1, True, UNBOUNDED),
            ("one-hot, Δ from output response", 0.0, False, UNBOUNDED),
            ("smoothing 0.1, Δ from output, no bound", 0.1, False, UNBOUNDED),
            ("smoothing, Δ from output, w_max 10 (default)", 0.1, False, 10.0))


def _run_architecture(args):
    hidden, epochs = args
    from brian2 import ms

    from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
    from ctfa_brian.guard import BlowUpError

    T = 200 * ms
    model = ModelParameters(hidden=hidden, rule="kp")
    schedule = Schedule(sample_time=T)
    trainer = Trainer(load_dataset("digits"), model, schedule,
                      Training(epochs=epochs, evaluate="final"), device="cpp_standalone")
    offset = schedule.label_offset(model)
    rows = []
    for label, smoothing, from_input, w_max in REMEDIES:
        for ratio in RATIOS:
            tau = ratio * T
            try:
                r = trainer.run(tau_pot_w=tau, tau_pot_v=tau, label_smoothing=smoothing,
                                w_max=w_max, delay=-offset if from_input else 0 * ms)
                status, acc = "ok", r.test_accuracy
                zmax = float(np.max(np.abs(r.readout)))
            except BlowUpError as err:
                status, acc, zmax = "blown up", float("nan"), float("nan")
                print(f"  {err.variable} at {float(err.time):.0f} s", flush=True)
            row = {"hidden": "-".join(map(str, hidden)), "remedy": label,
                   "tau_pot_over_T": ratio, "status": status, "test_accuracy": acc,
                   "max_abs_output": zmax}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def _plot(rows, path):
    from matplotlib.figure import Figure

    archs = list(dict.fromkeys(r["hidden"] for r in rows))
    fig = Figure(figsize=(5.2 * len(archs), 3.8), layout="constrained")
    for ax, arch in zip(np.atleast_1d(fig.subplots(1, len(archs), sharey=True)), archs):
        for k, (label, *_) in enumerate(REMEDIES):
            sel = [r for r in rows if r["hidden"] == arch and r["remedy"] == label]
            x = [r["tau_pot_over_T"] for r in sel]
            y = [r["test_accuracy"] for r in sel]
            line, = ax.plot(x, y, marker="o", label=label)
            blown = [r["tau_pot_over_T"] for r in sel if r["status"] != "ok"]
            ax.plot(blown, [0.02 + 0.03 * k] * len(blown), "x", color=line.get_color(), ms=9,
                    mew=2)
        ax.set(xscale="log", xlabel="τ_pot / T", title=f"digits 64-{arch}-10, kp, T = 200 ms",
               ylim=(0, 1))
        ax.axvline(40, color="grey", lw=0.8, ls=":")
    ax.legend(fontsize=7, loc="center right")
    fig.axes[0].set_ylabel("frozen test accuracy (× = blew up)")
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="stability.png", help="figure path")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    out = Path(args.out)
    jobs = [((49,), args.epochs), ((49, 32), args.epochs)]
    with mp.get_context("spawn").Pool(2) as pool:
        rows = [r for part in pool.map(_run_architecture, jobs) for r in part]
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _plot(rows, out)
    print(f"wrote {out} and {out.with_suffix('.csv')}")


if __name__ == "__main__":
    main()
