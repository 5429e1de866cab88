"""Spiking against rate: the cost of the same network and run length on a standalone device.

Digits, 64-49-10, ``kp``, T = 200 ms, τ_pot = 10 s, the same presentation (sample order,
initial weights, evaluation blocks) for every peer, ``--epochs`` epochs:

``rate 1 ms``
    The rate variant at its default step (dt = 1 ms).
``rate 0.5 ms``
    The rate variant at the spiking variant's step.
``spiking lif`` / ``spiking poisson``
    The spiking variant, LIF (default) or Poisson neurons, max_rate 200 Hz, dt = 0.5 ms.

Reported per peer: compile and run wall time, simulated seconds per wall second, the final
test accuracy, and the work per wall second — synapse-steps/s for the rate variant (the 4116
plastic synapses integrated and summed every step) and **synapse events/s** for the spiking
variant (every spike times the synapses it reaches, per pathway: a forward spike updates and
drives its outgoing W and, for kp, the V that feeds it; an error spike drives its outgoing V),
counted from the run's own spike counts (``Recording(spikes={...: "count"})``). Then each
peer's speed relative to ``rate 1 ms``, measured in the same run.

Usage::

    python benchmarks/bench_spiking.py [--epochs 3] [--json out.json]
"""

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package, when run without PYTHONPATH

import brian2  # noqa: E402
from brian2 import ms, second  # noqa: E402

from ctfa_brian.datasets import load_dataset  # noqa: E402
from ctfa_brian.network import Recording  # noqa: E402
from ctfa_brian.parameters import ModelParameters, Schedule, Training  # noqa: E402
from ctfa_brian.training import Trainer  # noqa: E402

PEERS = {
    "rate 1 ms": ({"variant": "rate"}, 1 * ms),
    "rate 0.5 ms": ({"variant": "rate"}, 0.5 * ms),
    "spiking lif": ({"variant": "spiking", "neuron": "lif"}, 0.5 * ms),
    "spiking poisson": ({"variant": "spiking", "neuron": "poisson"}, 0.5 * ms),
}


def synapse_events(net, counts):
    """Σ over synapse pathways of (events of its trigger) × (synapses each event reaches)."""
    total = 0
    for syn in [*net.forward, *net.feedback]:
        for pathway in syn._pathways:
            group = pathway.source
            event = pathway.event
            fanout = len(syn) // group.N  # all-to-all
            n = counts.get(group.name, {}).get("counts", {}).get(event)
            if n is None:
                raise RuntimeError(f"no count of {group.name}.{event} for {syn.name}")
            total += int(n.sum()) * fanout
    return total


def run_peer(name, dataset, epochs, root, device):
    changes, dt = PEERS[name]
    model = ModelParameters(hidden=(49,), rule="kp", **changes)
    schedule = Schedule(sample_time=200 * ms, dt=dt)
    groups = ["input", "layer1", "output"]
    recording = (Recording(spikes={g: "count" for g in groups})
                 if changes["variant"] == "spiking" else None)
    trainer = Trainer(dataset, model, schedule, Training(epochs=epochs), device=device,
                      directory=tempfile.mkdtemp(prefix=name.replace(" ", "_"), dir=root),
                      recording=recording)
    start = time.perf_counter()
    trainer.build()
    compile_s = time.perf_counter() - start
    result = trainer.run(seed=0)
    run_s = result.timings["run"]
    simulated = float(result.duration / second)
    net = trainer.network
    row = {"peer": name, "dt_ms": float(dt / ms), "simulated_s": simulated,
           "compile_s": compile_s, "run_s": run_s, "sim_per_wall": simulated / run_s,
           "test_accuracy": result.test_accuracy}
    steps = simulated / float(dt / second)
    if changes["variant"] == "rate":
        n_syn = sum(len(s) for s in [*net.forward, *net.feedback])
        row.update(synapses=n_syn, work="synapse-steps/s", work_per_s=n_syn * steps / run_s)
    else:
        counts = result.spikes
        events = synapse_events(net, counts)
        spikes = {g: int(sum(c.sum() for c in counts[g]["counts"].values())) for g in groups}
        row.update(events=events, spikes=spikes, work="synapse events/s",
                   work_per_s=events / run_s)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--peers", default=",".join(PEERS),
                        help=f"comma-separated subset of: {', '.join(PEERS)}")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--device", default="ctfa_dense_standalone",
                        choices=("ctfa_dense_standalone", "cpp_standalone"),
                        help="standalone device of every peer (default: %(default)s)")
    args = parser.parse_args(argv)
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for p in peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p!r}; choose from: {', '.join(PEERS)}")
    dataset = load_dataset("digits")
    print(f"digits 64-49-10, kp, T = 200 ms, {args.epochs} epochs; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"Brian2 {brian2.__version__}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ctfa_bench_spiking_") as root:
        for name in peers:
            print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
            rows.append(run_peer(name, dataset, args.epochs, root, args.device))
    print()
    print(f"{'peer':<16} {'dt':>6} {'sim s':>8} {'compile s':>10} {'run s':>7} "
          f"{'sim/wall':>9} {'work/s':>10}  {'what':<18} {'test acc':>8}")
    for r in rows:
        print(f"{r['peer']:<16} {r['dt_ms']:>4g}ms {r['simulated_s']:>8.1f} "
              f"{r['compile_s']:>10.1f} {r['run_s']:>7.2f} {r['sim_per_wall']:>9.1f} "
              f"{r['work_per_s']:>10.3g}  {r['work']:<18} {r['test_accuracy']:>8.4f}")
    base = next((r for r in rows if r["peer"] == "rate 1 ms"), None)
    if base is not None:
        print("\nspeed relative to rate 1 ms (simulated s per wall s, same run length):")
        for r in rows:
            print(f"  {r['peer']:<16} {r['sim_per_wall'] / base['sim_per_wall']:6.2f}×")
    for r in rows:
        if "spikes" in r:
            per_s = {g: n / r["simulated_s"] for g, n in r["spikes"].items()}
            print(f"  {r['peer']}: {r['events']:.3g} synapse events; events per simulated s: "
                  + ", ".join(f"{g} {v:.3g}" for g, v in per_s.items()) + " (spikes/s)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
