"""Command-line interface: ``ctfa train ...`` (also ``python -m ctfa_brian train ...``).

Quantities are written with their unit (``--sample-time 200ms --tau-pot 10s --delay -50ms``,
units ``us``, ``ms``, ``s``, ``second``, ``min``); see `ctfa_brian.io.parse_quantity`. Every
input is checked before anything is written: a bad value prints ``ctfa: error: <message>``
and exits with status 2. A run that blows up (NaN/inf) writes what finished to
``results.json`` with ``"status": "blown_up"`` and exits with status 3; one stopped by
SIGINT/SIGTERM writes what finished with ``"status": "interrupted"`` and exits with 130/143.
An unexpected error prints ``ctfa: internal error`` and the traceback and exits with 1. The
table of every error and its message is docs/errors.md. Each subcommand lives in
`ctfa_brian.cli_commands`.

Example
-------
.. code-block:: console

    $ ctfa train --dataset circles --rule kp --hidden 24 --epochs 3 --out runs/kp
"""

import argparse
import importlib
import math
import re
import sys
import traceback

from brian2 import ms, second

from ctfa_brian.cli_commands.common import (
    EXIT_FAILED,
    EXIT_OK,
    RECORD_DT,
    RECORD_FIRST,
    SPIKING_DT,
    TIME_OPTIONS,
    fail,
    show,
)

__all__ = ["build_parser", "main"]

_NEGATIVE_VALUE = re.compile(r"^-\.?\d")
_show = show  # the name the tests and older code use
_TIME_OPTIONS = TIME_OPTIONS


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


def _step(text):
    """``--dt``: a time, or ``auto`` (`ctfa_brian.presets.auto_dt`)."""
    return "auto" if text.strip() == "auto" else _time(text)


def _finite(text):
    """A finite float (argparse's ``float`` takes nan and inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _rate(text):
    from brian2 import Hz

    from ctfa_brian.io import parse_quantity

    try:
        return parse_quantity(text, unit=Hz)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


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
    from ctfa_brian.device import DEFAULT, DEVICES
    from ctfa_brian.nwb_io import FORMATS as NEO_FORMATS
    from ctfa_brian.parameters import (
        ACTIVATIONS,
        DELAY_ORIGINS,
        ELIGIBILITY_GATES,
        ERROR_SPIKES,
        KP_FORMS,
        LOSSES,
        NEURONS,
        READOUTS,
        ROUTINGS,
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
    net.add_argument("--label-smoothing", type=_finite, default=model.label_smoothing,
                     metavar="X", help="cross-entropy target (1-X) y + X/K: gives the logits a "
                                       "finite optimum (default: %(default)s; 0: one-hot)")
    net.add_argument("--w-max", type=_finite, default=model.w_max, metavar="X",
                     help="bound on every |W|, |V| and bias, applied once per sample: stops a "
                          "runaway where synapses saturate (default: %(default)s)")
    net.add_argument("--kp-form", choices=KP_FORMS, default=model.kp_form,
                     help="Kolen-Pollack feedback update (default: %(default)s)")
    net.add_argument("--eligibility", choices=ELIGIBILITY_GATES, default=model.eligibility,
                     help="what writes the eligibility trace (with --tau-elig): the "
                          "presynaptic rate, or rate × postsynaptic change (default: "
                          "%(default)s)")
    net.add_argument("--noise", type=_finite, default=model.noise, metavar="X",
                     help="integration noise amplitude, dimensionless (default: %(default)s)")

    td = train.add_argument_group(
        "temporal-difference source", "--routing td: each neuron learns from the plus − minus "
        "difference of its own (apical) activity in a theta cycle (docs/td_network.md)")
    td.add_argument("--routing", choices=ROUTINGS, default=None,
                    help="td: O'Reilly's plus − minus scheme in place of error units (rules "
                         "sgd, fa, kp; default: the rule's error units)")
    td.add_argument("--tau-fast", type=_time, metavar="TIME",
                    help=f"fast trace (default: {_show(model.tau_fast)})")
    td.add_argument("--tau-slow", type=_time, metavar="TIME",
                    help=f"slow trace (default: {_show(model.tau_slow)})")
    td.add_argument("--plus-time", type=_time, metavar="TIME",
                    help=f"plus phase at the end of each sample (default: "
                         f"{_show(model.plus_time)})")
    td.add_argument("--gate-time", type=_time, metavar="TIME",
                    help=f"theta gate at the end of each sample (default: "
                         f"{_show(model.gate_time)})")
    td.add_argument("--nudge", type=_finite, default=model.nudge, metavar="X",
                    help="strength of the outcome in the plus phase (default: %(default)s)")

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
                            "output (L x tau-prop after its onset), at the input's onset "
                            "(the paper's literal delay), or auto: output for the rate "
                            "variant, input for the spiking one (default: %(default)s)")
    times.add_argument("--dt", type=_step, metavar="TIME",
                       help=f"integration step, at most tau-prop/2 (default: "
                            f"{_show(schedule.dt)}; {_show(SPIKING_DT)} with --variant "
                            "spiking); auto: the data set's measured step (5 ms on circles, "
                            "digits, mnist7: within 1 point of 0.1 ms), capped at tau-prop/2")

    run = train.add_argument_group("training and output")
    run.add_argument("--epochs", type=int, metavar="N",
                     help=f"passes over the training set (default: {_presets('epochs')})")
    run.add_argument("--anneal-to", type=_finite, metavar="X",
                     help="plasticity at the end of training: the gate falls linearly from 1 "
                          "to X over the last epoch (1: none; default: "
                          f"{_presets('anneal_to')})")
    run.add_argument("--evals-per-epoch", type=int, default=training.evals_per_epoch,
                     metavar="N",
                     help="test evaluations per epoch (default: %(default)s)")
    run.add_argument("--seed", type=int, default=training.seed, metavar="N",
                     help="seed of weights, sample order and noise (default: %(default)s)")
    run.add_argument("--device", choices=DEVICES, default=DEFAULT,
                     help="Brian2 device (default: %(default)s)")
    run.add_argument("--compute-capability", metavar="X.Y",
                     help="--device cuda_standalone: the GPU's compute capability (e.g. 9.0); "
                          "given, no GPU is looked for, so the project can be generated and "
                          "compiled where there is none (see --build-only)")
    run.add_argument("--build-only", action="store_true",
                     help="generate and compile the standalone project, then stop (prepare on "
                          "a login node; the same command without --build-only runs it)")
    run.add_argument("--precision", choices=("float64", "float32"), default="float64",
                     help="type of the state variables on a standalone device (default: "
                          "%(default)s; float32: up to 1.45x faster on large networks)")
    run.add_argument("--record", action="store_true",
                     help=f"record the first {RECORD_FIRST} neurons (z, eps) of every layer "
                          f"and synapses of every W and V every {_show(RECORD_DT)} (spiking "
                          "variant: and every spike of those neurons and of the first inputs) and "
                          "save them as a Neo file (recordings.nix; see --format)")
    run.add_argument("--format", choices=NEO_FORMATS,
                     help="with --record: the recordings as NIX (recordings.nix), NWB "
                          "(recordings.nwb, needs pip install \"ctfa_brian[nwb]\") or both "
                          "(default: nix)")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory (refused "
                     "if it holds another run's results, unless --overwrite)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace the results already in --out (the old ones are removed "
                          "once the new ones are written)")
    run.add_argument("--quiet", action="store_true", help="no progress report")
    train.set_defaults(command_module="train")

    protocol = commands.add_parser(
        "run", help="run a protocol: a shipped one by name (ctfa protocols) or a .toml file",
        description="Run the protocol described by a TOML file (protocol = \"NAME\" and a "
                    "[parameters] table; see docs/protocols/README.md) and write results.json, "
                    "manifest.json, table.csv, figures and traces to --out. Everything is "
                    "checked before anything is written.",
    )
    protocol.add_argument("file", metavar="FILE", help="protocol file, e.g. my_overlap.toml, "
                                                       "or a shipped protocol's name, e.g. "
                                                       "overlap (ctfa protocols lists them)")
    protocol.add_argument("--out", required=True, metavar="DIR",
                          help="output directory (a sweep's own directory resumes it; one "
                               "holding other results is refused unless --overwrite)")
    protocol.add_argument("--overwrite", action="store_true",
                          help="replace the results already in --out (for a sweep: compute "
                               "every cell again)")
    protocol.add_argument("--format", choices=NEO_FORMATS, default="nix",
                          help="the protocol's traces and spikes (traces.nix, spikes.nix, "
                               "recordings.nix) as NIX, NWB (.nwb, needs pip install "
                               "\"ctfa_brian[nwb]\") or both (default: %(default)s)")
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
    sweep.add_argument("--compute-capability", metavar="X.Y",
                       help="with device = cuda_standalone: the GPU's compute capability "
                            "(e.g. 9.0), so that no GPU is looked for while building")
    sweep.add_argument("--shard", metavar="I/N",
                       help="run cells I, I+N, I+2N, ... only, into the same --out (one "
                            "cluster job each, at the same time or not); 'slurm': I and N from "
                            "$SLURM_ARRAY_TASK_ID/_COUNT. The last shard, or a run without "
                            "--shard, writes the table")
    sweep.add_argument("--replicas", metavar="K",
                       help="cells of one structure per simulation: K copies of the network in "
                            "one run of the binary, each cell's results its own (standalone "
                            "devices); 'auto': as many as fill the device; default 1")
    sweep.add_argument("--build-only", action="store_true",
                       help="compile every structure's standalone project into the cache, run "
                            "no cell, write nothing to --out (prepare on a login node; the "
                            "same command without --build-only runs the sweep)")
    sweep.add_argument("--retry-failed", action="store_true",
                       help="run cells that failed in an earlier attempt again")
    protocol.set_defaults(command_module="protocol")

    catalogue = commands.add_parser(
        "protocols", help="list the protocol files installed with the package, or print one",
        description="Without arguments: every shipped protocol file, one line each. With "
                    "'show NAME': the file itself, to copy and edit (ctfa protocols show "
                    "overlap > my_overlap.toml; ctfa run my_overlap.toml --out DIR).")
    catalogue.add_argument("action", nargs="?", choices=["show"], help="show: print a file")
    catalogue.add_argument("name", nargs="?", metavar="NAME", help="a shipped protocol")
    catalogue.set_defaults(command_module="catalogue")

    analyze = commands.add_parser(
        "analyze", help="analyse the spikes of a saved Neo file (recordings.nix, spikes.nwb)",
        description="Load a Neo file written by ctfa (.nix or .nwb: recordings of a spiking "
                    "run, spikes or traces of a protocol) and compute, per segment and "
                    "population, firing rates, ISI statistics (CV) and, for a protocol's "
                    "synapses, the input-error overlap C(0), with elephant; write analysis.csv, "
                    "analysis.json, raster.png and rates.png to --out.")
    analyze.add_argument("file", metavar="FILE", help="a .nix or .nwb file written by ctfa "
                                                        "(pickles are refused: they can run "
                                                        "code)")
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
    analyze.set_defaults(command_module="analyze")
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


def main(argv=None):
    """Run the ``ctfa`` command with ``argv`` (default: ``sys.argv[1:]``); return the status.

    Returns
    -------
    int
        0 on success, 1 for an internal error (a bug: the traceback is printed), 2 for bad
        input (nothing written), 3 if the simulation blew up, 130 (SIGINT) or 143 (SIGTERM) if
        the run was interrupted (what finished is kept and marked ``interrupted``).
    """
    from ctfa_brian import interrupts

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(_join_negative_values(argv))
    except _UsageError as err:
        return fail(err)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    command = importlib.import_module(f"ctfa_brian.cli_commands.{args.command_module}")
    with interrupts.handle_signals():
        try:
            return command.main(args, argv)
        except KeyboardInterrupt as err:  # before or after a run: nothing half-written
            signum = getattr(err, "signum", None) or interrupts.received() or 2
            print(f"ctfa: interrupted by {interrupts.signal_name(signum)}", file=sys.stderr)
            return interrupts.exit_code(signum)
        except Exception:  # noqa: BLE001  (a bug: say so, without Brian's banner)
            print("ctfa: internal error (please report it with the command line and this "
                  "traceback):", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
