"""Command-line interface: ``ctfa train ...`` (also ``python -m ctfa_brian train ...``).

Quantities are written with their unit (``--sample-time 200ms --tau-pot 10s --delay -50ms``,
units ``us``, ``ms``, ``s``, ``second``, ``min``); see `ctfa_brian.io.parse_quantity`. Every
input is checked before anything is written: a bad value prints ``ctfa: error: <message>``
and exits with status 2. A run that blows up (NaN/inf) writes what finished to
``results.json`` with ``"status": "blown_up"`` and exits with status 3.

Example
-------
.. code-block:: console

    $ ctfa train --dataset circles --rule kp --hidden 24 --epochs 3 --out runs/kp
"""

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from brian2 import ms, second
from brian2.units.fundamentalunits import DimensionMismatchError

__all__ = ["build_parser", "main"]

#: Exit statuses.
EXIT_OK, EXIT_USAGE, EXIT_BLOWN_UP, EXIT_INTERRUPTED = 0, 2, 3, 130

#: Options that take a time; ``--delay -50ms`` is rewritten to ``--delay=-50ms`` for argparse.
_TIME_OPTIONS = {
    "--sample-time": ("schedule", "sample_time"),
    "--buffer-time": ("schedule", "buffer_time"),
    "--delay": ("schedule", "delay"),
    "--dt": ("schedule", "dt"),
    "--tau-prop": ("model", "tau_prop"),
    "--tau-pot": ("model", "tau_pot_w"),
    "--tau-pot-v": ("model", "tau_pot_v"),
    "--tau-dec": ("model", "tau_dec_w"),
    "--tau-elig": ("model", "tau_elig"),
    "--tau-m": ("model", "tau_m"),
    "--t-ref": ("model", "t_ref"),
    "--readout-window": ("model", "readout_window"),
}

_NEGATIVE_VALUE = re.compile(r"^-\.?\d")

#: Neurons and synapses recorded per group with ``--record``, and the sampling period.
_RECORD_FIRST = 3
_RECORD_DT = 1 * ms
#: Default step of the spiking variant (max_rate · dt ≤ 0.1 at the default 200 Hz).
_SPIKING_DT = 0.5 * ms


class _UsageError(Exception):
    """Raised instead of argparse's ``SystemExit`` so that `main` can return 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(message)


def _time(text):
    from ctfa_brian.io import parse_quantity

    try:
        return parse_quantity(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _rate(text):
    from brian2 import Hz

    from ctfa_brian.io import parse_quantity

    try:
        return parse_quantity(text, unit=Hz)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _show(value):
    """Write a time the way the command line reads it: ``200ms``, ``10s``, ``20min``."""
    seconds = float(value / second)
    if seconds and seconds % 60 == 0:
        return f"{seconds / 60:g}min"
    if abs(seconds) >= 1:
        return f"{seconds:g}s"
    return f"{round(seconds * 1e3, 9):g}ms"


def _presets(key):
    """``"per data set: circles 200ms, digits 200ms, ..."`` for the help of a preset option."""
    from ctfa_brian.presets import PRESETS

    def text(value):
        if isinstance(value, tuple):
            return " ".join(map(str, value))
        return _show(value) if hasattr(value, "dim") else str(value)

    return "per data set, " + ", ".join(f"{name} {text(p[key])}" for name, p in PRESETS.items())


def build_parser():
    """Return the `argparse.ArgumentParser` of the ``ctfa`` command."""
    import ctfa_brian
    from ctfa_brian.datasets import DATASETS
    from ctfa_brian.device import DEVICES
    from ctfa_brian.parameters import (
        ACTIVATIONS,
        DELAY_ORIGINS,
        ELIGIBILITY_GATES,
        ERROR_SPIKES,
        KP_FORMS,
        LOSSES,
        NEURONS,
        READOUTS,
        VARIANTS,
        ModelParameters,
        Schedule,
        Training,
    )
    from ctfa_brian.rules import RULES

    model, schedule, training = ModelParameters(), Schedule(), Training()
    parser = _Parser(prog="ctfa", description="Continuous-time feedback alignment in Brian2.")
    parser.add_argument("--version", action="version",
                        version=f"ctfa_brian {ctfa_brian.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train and evaluate one network",
        description="Train one network online and evaluate it; write results.json, "
                    "manifest.json and learning_curve.png (and recordings with --record) "
                    "to --out. Times need a unit (us, ms, s, min): 200ms, 10s, -50ms, 20min.",
    )
    data = train.add_argument_group("data")
    data.add_argument("--dataset", choices=DATASETS, default="digits",
                      help="dataset (default: %(default)s)")
    data.add_argument("--mnist-path", metavar="DIR",
                      help="--dataset mnist7 only: read MNIST from the four IDX files in DIR "
                           "(optionally .gz) instead of the 7x7 MNIST shipped with the package")
    data.add_argument("--n-train", type=int, metavar="N",
                      help="use only the first N training samples (default: all)")
    data.add_argument("--n-test", type=int, metavar="N",
                      help="use only the first N test samples (default: all)")

    net = train.add_argument_group("network")
    net.add_argument("--rule", choices=tuple(RULES), default=model.rule,
                     help="learning rule (default: %(default)s)")
    net.add_argument("--hidden", type=int, action="append", metavar="N",
                     help="width of a hidden layer; repeat for more layers "
                          f"(--hidden 24 --hidden 24; default: {_presets('hidden')})")
    net.add_argument("--activation", choices=ACTIVATIONS, default=model.activation,
                     help="hidden nonlinearity (default: %(default)s)")
    net.add_argument("--loss", choices=LOSSES, default=model.loss,
                     help="loss (default: %(default)s)")
    net.add_argument("--label-smoothing", type=float, default=model.label_smoothing,
                     metavar="X", help="cross-entropy target (1-X) y + X/K: gives the logits a "
                                       "finite optimum (default: %(default)s; 0: one-hot)")
    net.add_argument("--kp-form", choices=KP_FORMS, default=model.kp_form,
                     help="Kolen-Pollack feedback update (default: %(default)s)")
    net.add_argument("--eligibility", choices=ELIGIBILITY_GATES, default=model.eligibility,
                     help="what writes the eligibility trace (with --tau-elig): the "
                          "presynaptic rate, or rate × postsynaptic change (default: "
                          "%(default)s)")
    net.add_argument("--noise", type=float, default=model.noise, metavar="X",
                     help="integration noise amplitude, dimensionless (default: %(default)s)")

    spiking = train.add_argument_group(
        "spiking variant", "the same rules with spiking neurons, spike traces and signed "
                           "error spikes (docs/spiking.md); use a dt of 0.5 ms or less")
    spiking.add_argument("--variant", choices=VARIANTS, default=model.variant,
                         help="rate (the paper's model) or spiking (default: %(default)s)")
    spiking.add_argument("--neuron", choices=NEURONS, default=model.neuron,
                         help="forward neurons of the spiking variant: leaky integrate-and-"
                              "fire or rate-driven Poisson (default: %(default)s)")
    spiking.add_argument("--max-rate", type=_rate, metavar="RATE",
                         help=f"rate that stands for the value 1, e.g. 200Hz (default: "
                              f"{float(model.max_rate):g}Hz)")
    spiking.add_argument("--tau-m", type=_time, metavar="TIME",
                         help=f"LIF membrane time constant (default: {_show(model.tau_m)})")
    spiking.add_argument("--t-ref", type=_time, metavar="TIME",
                         help=f"LIF refractory period (default: {_show(model.t_ref)})")
    spiking.add_argument("--error-spikes", choices=ERROR_SPIKES, default=model.error_spikes,
                         help="how the signed error units fire: regular (integrate-and-fire "
                              "encoders) or poisson (default: %(default)s)")
    spiking.add_argument("--readout", choices=READOUTS, default=model.readout,
                         help="prediction from the output spike count in the readout window "
                              "or from the output spike trace (default: %(default)s)")
    spiking.add_argument("--readout-window", type=_time, metavar="TIME",
                         help="counting window at the end of each sample (default: half the "
                              "sample time)")

    times = train.add_argument_group("time constants and schedule (with units)")
    times.add_argument("--tau-prop", type=_time, metavar="TIME",
                       help=f"neuronal time constant (default: {_show(model.tau_prop)})")
    times.add_argument("--tau-pot", type=_time, metavar="TIME",
                       help=f"potentiation time constant of W (default: {_presets('tau_pot')})")
    times.add_argument("--tau-pot-v", type=_time, metavar="TIME",
                       help="potentiation time constant of V (default: same as --tau-pot)")
    times.add_argument("--tau-dec", type=_time, metavar="TIME",
                       help=f"passive decay of W and V (default: {_presets('tau_dec')})")
    times.add_argument("--tau-elig", type=_time, metavar="TIME",
                       help="eligibility gate of the forward synapses: presynaptic activity "
                            "writes a trace with this time constant, the error consolidates it "
                            "(default: no gate)")
    times.add_argument("--sample-time", type=_time, metavar="TIME",
                       help="how long each sample is held "
                            f"(default: {_presets('sample_time')})")
    times.add_argument("--buffer-time", type=_time, metavar="TIME",
                       help=f"cross-fade between samples (default: {_show(schedule.buffer_time)})")
    times.add_argument("--delay", type=_time, metavar="TIME",
                       help=f"label delay, negative = early (default: {_show(schedule.delay)})")
    times.add_argument("--delay-origin", choices=DELAY_ORIGINS, default=schedule.delay_origin,
                       help="where --delay 0 sits: when the input's response reaches the "
                            "output (L x tau-prop after its onset) or at the input's onset "
                            "(the paper's literal delay) (default: %(default)s)")
    times.add_argument("--dt", type=_time, metavar="TIME",
                       help=f"integration step (default: {_show(schedule.dt)}; "
                            f"{_show(_SPIKING_DT)} with --variant spiking)")

    run = train.add_argument_group("training and output")
    run.add_argument("--epochs", type=int, metavar="N",
                     help=f"passes over the training set (default: {_presets('epochs')})")
    run.add_argument("--evals-per-epoch", type=int, default=training.evals_per_epoch,
                     metavar="N",
                     help="test evaluations per epoch (default: %(default)s)")
    run.add_argument("--seed", type=int, default=training.seed, metavar="N",
                     help="seed of weights, sample order and noise (default: %(default)s)")
    run.add_argument("--device", choices=DEVICES, default="cpp_standalone",
                     help="Brian2 device (default: %(default)s)")
    run.add_argument("--record", action="store_true",
                     help=f"record the first {_RECORD_FIRST} neurons (z, eps) of every layer "
                          f"and synapses of every W and V every {_show(_RECORD_DT)} (spiking "
                          "variant: and every spike of those neurons and of the first inputs) and "
                          "save them as a Neo file (recordings.nix, or .pkl without nixio)")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory")
    run.add_argument("--quiet", action="store_true", help="no progress report")
    train.set_defaults(func=_train)

    protocol = commands.add_parser(
        "run", help="run a protocol file (protocols/NAME.toml)",
        description="Run the protocol described by a TOML file (protocol = \"NAME\" and a "
                    "[parameters] table; see docs/protocols/README.md) and write results.json, "
                    "manifest.json, table.csv, figures and traces to --out. Everything is "
                    "checked before anything is written.",
    )
    protocol.add_argument("file", metavar="FILE", help="protocol file, e.g. "
                                                       "protocols/overlap.toml")
    protocol.add_argument("--out", required=True, metavar="DIR", help="output directory")
    protocol.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                          dest="overrides",
                          help="override a parameter of the file, e.g. --set tau_elig=1s or "
                               "--set n_delays=13 (repeatable; times need a unit)")
    sweep = protocol.add_argument_group(
        "sweeps", "for sweep protocols (delay_sweep, depth, noise, baselines, network_tau_pot): "
                  "running the same command again resumes; finished cells are not rerun")
    sweep.add_argument("--grid", action="append", default=[], metavar="KEY=[VALUES]",
                       dest="grid", help="replace or add a grid axis, e.g. --grid "
                                         "delay_over_T=[-1,0,1] or --grid sample_time=50ms,100ms")
    sweep.add_argument("--workers", metavar="N", help="local worker processes (default: all "
                                                      "cores; 1 runs in this process)")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run the cells on a Dask cluster, e.g. tcp://10.0.0.5:8786")
    sweep.add_argument("--retry-failed", action="store_true",
                       help="run cells that failed in an earlier attempt again")
    protocol.set_defaults(func=_run_protocol)

    analyze = commands.add_parser(
        "analyze", help="analyse the spikes of a saved Neo file (recordings.nix, spikes.nix)",
        description="Load a Neo file written by ctfa (recordings.nix of a spiking run, spikes.nix "
                    "or traces.nix of a protocol) and compute, per segment and population, "
                    "firing rates, ISI statistics (CV) and, for a protocol's synapses, the "
                    "input-error overlap C(0), with elephant; write analysis.csv, "
                    "analysis.json, raster.png and rates.png to --out.")
    analyze.add_argument("file", metavar="FILE", help="a .nix (or .pkl) file written by ctfa")
    analyze.add_argument("--out", required=True, metavar="DIR", help="output directory")
    analyze.add_argument("--t-start", type=_time, metavar="TIME",
                         help="start of the analysed interval (default: each train's start)")
    analyze.add_argument("--t-stop", type=_time, metavar="TIME",
                         help="end of the analysed interval (default: each train's end)")
    analyze.add_argument("--kernel-width", type=_time, default=20 * ms, metavar="TIME",
                         help="Gaussian kernel of the rate estimate (default: 20ms)")
    analyze.add_argument("--show", type=_time, default=2 * second, metavar="TIME",
                         help="length of the raster and rate plots from --t-start "
                              "(default: 2s)")
    analyze.set_defaults(func=_analyze)
    return parser


def _join_negative_values(argv):
    """Rewrite ``--delay -50ms`` as ``--delay=-50ms`` (argparse takes -50ms for an option)."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in _TIME_OPTIONS and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
        else:
            out.append(arg)
            i += 1
    return out


def _fail(message):
    print(f"ctfa: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _recording(sizes, rule_name, spiking=False):
    """Record the first few neurons of every layer and synapses of every W and V (and, in the
    spiking variant, every spike)."""
    from ctfa_brian.network import Recording
    from ctfa_brian.rules import get_rule

    rule = get_rule(rule_name)
    n_layers = len(sizes) - 1
    neurons, synapses = {}, {}
    for l in range(1, n_layers + 1):
        name = "output" if l == n_layers else f"layer{l}"
        neurons[name] = list(range(min(_RECORD_FIRST, sizes[l])))
        synapses[f"W{l}"] = list(range(min(_RECORD_FIRST, sizes[l - 1] * sizes[l])))
    if not rule.tied:
        for l in range(1, n_layers):
            source = sizes[l + 1] if rule.routing == "layerwise" else sizes[-1]
            synapses[f"V{l}"] = list(range(min(_RECORD_FIRST, sizes[l] * source)))
    spikes = {}
    if spiking:  # the same first neurons, and the inputs
        spikes = {"input": list(range(min(_RECORD_FIRST, sizes[0]))), **neurons}
    return Recording(neurons, synapses, dt=_RECORD_DT, spikes=spikes)


def _prepare(args):
    """Build and check everything a run needs; raise ValueError & co. on bad input."""
    from ctfa_brian.datasets import load_dataset
    from ctfa_brian.parameters import ModelParameters, Schedule, Training
    from ctfa_brian.presets import merge
    from ctfa_brian.training import Trainer

    model_kw, schedule_kw, given = {}, {}, {}
    for option, (target, name) in _TIME_OPTIONS.items():
        value = getattr(args, option[2:].replace("-", "_"))
        if value is not None:
            (model_kw if target == "model" else schedule_kw)[name] = value
            given[name] = option
    # the data set's preset under what the user gave (which always wins)
    preset, sources = merge(args.dataset, {
        "hidden": tuple(args.hidden) if args.hidden is not None else None,
        "hidden_option": "--hidden", "sample_time": args.sample_time,
        "sample_time_option": "--sample-time", "tau_pot": args.tau_pot,
        "tau_pot_option": "--tau-pot", "tau_dec": args.tau_dec, "tau_dec_option": "--tau-dec",
        "epochs": args.epochs, "epochs_option": "--epochs"})
    if "hidden" in preset:
        model_kw["hidden"] = preset["hidden"]
    if "sample_time" in preset:
        schedule_kw["sample_time"] = preset["sample_time"]
    if "tau_pot" in preset:
        model_kw["tau_pot_w"] = preset["tau_pot"]
        if args.tau_pot_v is None:
            model_kw["tau_pot_v"] = preset["tau_pot"]
            sources["tau_pot_v"] = sources["tau_pot"]
    if "tau_dec" in preset:
        model_kw["tau_dec_w"] = model_kw["tau_dec_v"] = preset["tau_dec"]
        sources["tau_dec_v"] = sources["tau_dec"]
    # what the user gave, what the preset gave; everything else is the package default
    renamed = {"tau_pot": "tau_pot_w", "tau_dec": "tau_dec_w"}
    sources = {**given, **{renamed.get(k, k): v for k, v in sources.items()}}
    if args.max_rate is not None:
        model_kw["max_rate"] = args.max_rate
    if args.variant == "spiking" and args.dt is None:
        schedule_kw["dt"] = _SPIKING_DT
    model = ModelParameters(rule=args.rule, activation=args.activation, loss=args.loss,
                            kp_form=args.kp_form, noise=args.noise,
                            label_smoothing=args.label_smoothing,
                            eligibility=args.eligibility, variant=args.variant,
                            neuron=args.neuron, readout=args.readout,
                            error_spikes=args.error_spikes, **model_kw)
    schedule = Schedule(delay_origin=args.delay_origin, **schedule_kw)
    schedule.check_against(model)
    training = Training(evals_per_epoch=args.evals_per_epoch, seed=args.seed,
                        **({"epochs": preset["epochs"]} if "epochs" in preset else {}))
    if args.dataset == "mnist7":
        dataset = load_dataset("mnist7", path=args.mnist_path)  # None: the shipped 7x7 MNIST
    else:
        if args.mnist_path is not None:
            raise ValueError(f"--mnist-path is only used with --dataset mnist7, not with "
                             f"--dataset {args.dataset}")
        dataset = load_dataset(args.dataset)
    if args.n_train is not None or args.n_test is not None:
        dataset = dataset.subset(n_train=args.n_train, n_test=args.n_test)
    if args.device == "cuda_standalone":
        try:
            import brian2cuda  # noqa: F401
        except ImportError:
            raise ValueError("--device cuda_standalone needs brian2cuda: "
                             "pip install 'ctfa_brian[cuda]'") from None
    sizes = (dataset.n_features, *model.hidden, dataset.n_classes)
    recording = (_recording(sizes, model.rule, model.variant == "spiking") if args.record
                 else None)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} exists and is not a directory")
    trainer = Trainer(dataset, model, schedule, training, device=args.device,
                      recording=recording, report=None if args.quiet else "text")
    return trainer, out, sources


def _save(out, trainer, result, manifest, status="ok", message=None):
    """Write results, manifest, the learning curve and the recordings; return the paths."""
    from ctfa_brian import io, neo_io

    paths = io.write_results(out, result, manifest, status=status, message=message)
    if result is None:
        return paths
    if result.learning_curve:
        paths["plot"] = _plot(out / "learning_curve.png", result, finished=status == "ok")
    if result.recordings:
        block = neo_io.recordings_to_neo(result, trainer.model, trainer.schedule,
                                         trainer.training, recording=trainer.recording,
                                         dataset_name=trainer.dataset.name,
                                         device=trainer.device_name)
        paths["recordings"] = neo_io.save_neo(block, out / f"recordings{neo_io.neo_suffix()}")
    return paths


def _plot(path, result, finished=True):
    from matplotlib.figure import Figure

    from ctfa_brian.io import atomic_path
    from ctfa_brian.plotting import plot_learning_curve

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = plot_learning_curve(result, ax=fig.subplots())
    ax.set_title(f"test accuracy {result.test_accuracy:.3f}" if finished
                 else "stopped early (blew up)")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    return path


def _train(args, argv):
    from ctfa_brian import io
    from ctfa_brian.guard import BlowUpError

    try:
        trainer, out, sources = _prepare(args)
    except (ValueError, DimensionMismatchError, FileNotFoundError) as err:
        return _fail(err)
    extra = {"n_train": len(trainer.dataset.y_train), "n_test": len(trainer.dataset.y_test),
             "record": bool(args.record),
             "sources": {k: sources[k] for k in sorted(sources)}}
    manifest = io.make_manifest(trainer.model, trainer.schedule, trainer.training,
                                trainer.dataset.name, trainer.device_name, extra=extra,
                                argv=["ctfa", *argv])
    try:
        result = trainer.run()
    except BlowUpError as err:
        paths = _save(out, trainer, err.partial, manifest, status="blown_up", message=str(err))
        print(f"ctfa: {err}", file=sys.stderr)
        print(f"partial results: {paths['results']}")
        return EXIT_BLOWN_UP
    paths = _save(out, trainer, result, manifest)
    timings = result.timings
    print(f"test accuracy {result.test_accuracy:.3f}, train accuracy "
          f"{result.train_accuracy:.3f} ({trainer.dataset.name}, {trainer.model.rule}, "
          f"{trainer.model.variant}, {trainer.training.epochs} epoch(s); "
          f"build {timings.get('build', 0):.1f} s, run {timings.get('run', 0):.1f} s)")
    for name, path in paths.items():
        print(f"  {name + ':':<11} {path}")
    return EXIT_OK


def _run_protocol(args, argv):
    from ctfa_brian.protocols import load_protocol_file, run_protocol

    overrides = list(args.overrides)
    for option, key in ((args.workers, "workers"), (args.scheduler, "scheduler")):
        if option is not None:
            overrides.append(f"{key}={option}")
    if args.retry_failed:
        overrides.append("retry_failed=1")
    try:
        config = load_protocol_file(args.file, overrides, args.grid)
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {str(out)!r} exists and is not a directory")
    except (ValueError, DimensionMismatchError) as err:
        return _fail(err)
    try:
        results = run_protocol(config, out, argv=["ctfa", *argv])
    except KeyboardInterrupt:
        done = len(list((out / "cells").glob("*.json"))) if (out / "cells").is_dir() else 0
        print(f"ctfa: interrupted; {done} finished cell(s) are kept in {out / 'cells'}"
              if done else "ctfa: interrupted", file=sys.stderr)
        if done:
            print("ctfa: run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
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


def _analyze(args, argv):
    import quantities as pq

    from ctfa_brian.io import _write_json, write_rows
    from ctfa_brian.neo_io import load_neo

    try:
        block = load_neo(args.file)
    except (FileNotFoundError, ValueError, ImportError) as err:
        return _fail(err)
    trains = [st for seg in block.segments for st in seg.spiketrains]
    if not trains:
        return _fail(f"{args.file!r} holds no spike trains (record a spiking run with --record "
                     "--variant spiking, or run a protocol with variant = \"spiking\")")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"--out {str(out)!r} exists and is not a directory")
    from ctfa_brian.spike_analysis import summarize_segment

    def q(value):
        return None if value is None else float(value / ms) * pq.ms

    rows = []
    for segment in block.segments:
        if segment.spiketrains:
            rows.extend(summarize_segment(segment, q(args.t_start), q(args.t_stop)))
    out.mkdir(parents=True, exist_ok=True)
    write_rows(rows, out / "analysis.csv")
    _write_json(out / "analysis.json", {
        "file": str(args.file), "rows": rows,
        "annotations": {k: str(v) for k, v in block.annotations.items()}})
    paths = _analysis_figures(block, out, args)
    print(f"analysed {len(trains)} spike trains in {len(block.segments)} segment(s)")
    for row in rows[:20]:
        extra = f", overlap {row['overlap_s']:.4g} s" if row["overlap_s"] is not None else ""
        cv = f", CV {row['cv']:.2f}" if row["cv"] is not None else ""
        print(f"  {row['segment']}: {row['population']} {row['event']}: {row['n_trains']} "
              f"trains, {row['mean_rate_hz']:.3g} Hz{cv}{extra}")
    for name, path in {"table": out / "analysis.csv", "summary": out / "analysis.json",
                       **paths}.items():
        print(f"  {name + ':':<11} {path}")
    return EXIT_OK


def _analysis_figures(block, out, args):
    """Raster and rates of the first segment's populations, over ``--show`` from --t-start."""
    import quantities as pq
    from matplotlib.figure import Figure

    from ctfa_brian.io import atomic_path
    from ctfa_brian.plotting import plot_raster, plot_rates
    from ctfa_brian.spike_analysis import firing_rates, populations

    segment = next(seg for seg in block.segments if seg.spiketrains)
    groups = populations(segment)
    keys = sorted(groups)[:8]
    start = float(args.t_start / ms) if args.t_start is not None else \
        float(min(st.t_start.rescale(pq.ms).magnitude for st in segment.spiketrains))
    stop = start + float(args.show / ms)
    paths = {}
    for kind in ("raster", "rates"):
        fig = Figure(figsize=(9, 1.8 * len(keys) + 0.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(len(keys), 1, sharex=True))
        for ax, key in zip(axes, keys):
            trains = groups[key]
            if kind == "raster":
                plot_raster(trains, ax=ax, t_start=start * pq.ms, t_stop=stop * pq.ms)
            else:
                end = min(stop, float(trains[0].t_stop.rescale(pq.ms).magnitude))
                rates = firing_rates(trains, kernel_width=float(args.kernel_width / ms) * pq.ms,
                                     t_start=start * pq.ms, t_stop=end * pq.ms)
                plot_rates(rates, ax=ax)
            ax.set_title(f"{key[0]} ({key[1]})", fontsize=9)
        fig.suptitle(f"{segment.name}: {kind}", fontsize=10)
        with atomic_path(out / f"{kind}.png") as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        paths[kind] = out / f"{kind}.png"
    return paths


def main(argv=None):
    """Run the ``ctfa`` command with ``argv`` (default: ``sys.argv[1:]``); return the status.

    Returns
    -------
    int
        0 on success, 2 for bad input (nothing written), 3 if the simulation blew up, 130
        if a protocol run was interrupted (Ctrl-C; a sweep keeps its finished cells).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(_join_negative_values(argv))
    except _UsageError as err:
        return _fail(err)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    return args.func(args, argv)


if __name__ == "__main__":
    sys.exit(main())
