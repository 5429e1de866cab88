"""``ctfa train``: check every input, then train one network and write its results.

Everything is checked before anything is simulated or written: the options (named as typed),
the output directory (`ctfa_brian.outdir.check_out`), the memory and time the run needs
(`ctfa_brian.resources`). A run that blows up writes what finished with status ``blown_up``
(exit 3); one stopped by SIGINT/SIGTERM writes what finished with status ``interrupted``
(exit 130/143). Old results in ``--out`` (with ``--overwrite``) are replaced only once the new
ones are whole.
"""

import sys

from brian2.units.fundamentalunits import DimensionMismatchError

from ctfa_brian.cli_commands.common import (
    EXIT_BLOWN_UP,
    EXIT_OK,
    RECORD_DT,
    RECORD_FIRST,
    SPIKING_DT,
    TIME_OPTIONS,
    as_typed,
    check_cuda_options,
    fail,
)

__all__ = ["main", "prepare"]

#: Largest delay, in sample times: beyond |Δ| = T no input meets its own label.
MAX_DELAY_OVER_T = 10


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
        neurons[name] = list(range(min(RECORD_FIRST, sizes[l])))
        synapses[f"W{l}"] = list(range(min(RECORD_FIRST, sizes[l - 1] * sizes[l])))
    if not rule.tied:
        for l in range(1, n_layers):
            source = sizes[l + 1] if rule.routing == "layerwise" else sizes[-1]
            synapses[f"V{l}"] = list(range(min(RECORD_FIRST, sizes[l] * source)))
    spikes = {}
    if spiking:  # the same first neurons, and the inputs
        spikes = {"input": list(range(min(RECORD_FIRST, sizes[0]))), **neurons}
    return Recording(neurons, synapses, dt=RECORD_DT, spikes=spikes)


def _parameters(args):
    """ModelParameters, Schedule, Training and where each value came from."""
    from ctfa_brian.parameters import ModelParameters, Schedule, Training
    from ctfa_brian.presets import merge

    model_kw, schedule_kw, given = {}, {}, {}
    for option, (target, name) in TIME_OPTIONS.items():
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
        "epochs": args.epochs, "epochs_option": "--epochs", "anneal_to": args.anneal_to,
        "anneal_to_option": "--anneal-to"})
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
    if args.variant == "spiking" and args.dt in (None, "auto"):
        schedule_kw["dt"] = SPIKING_DT
    elif args.dt == "auto":
        from ctfa_brian.presets import auto_dt
        from ctfa_brian.schedule import Schedule as _defaults

        fastest = model_kw.get("tau_prop", ModelParameters().tau_prop)
        if args.routing == "td":  # its fast trace needs dt ≤ tau_fast/2 as well
            fastest = min(fastest, model_kw.get("tau_fast", ModelParameters().tau_fast))
        schedule_kw["dt"] = auto_dt(args.dataset, fastest,
                                    schedule_kw.get("sample_time", _defaults().sample_time),
                                    schedule_kw.get("buffer_time", _defaults().buffer_time))
    model = ModelParameters(rule=args.rule, activation=args.activation, loss=args.loss,
                            kp_form=args.kp_form, noise=args.noise,
                            label_smoothing=args.label_smoothing, w_max=args.w_max,
                            eligibility=args.eligibility, variant=args.variant,
                            neuron=args.neuron, readout=args.readout,
                            error_spikes=args.error_spikes, routing=args.routing,
                            nudge=args.nudge, **model_kw)
    schedule = Schedule(delay_origin=args.delay_origin, **schedule_kw)
    schedule.check_against(model)
    training = Training(evals_per_epoch=args.evals_per_epoch, seed=args.seed,
                        **{k: preset[k] for k in ("epochs", "anneal_to") if k in preset})
    return model, schedule, training, sources


def _dataset(args):
    from ctfa_brian.datasets import load_dataset

    if args.dataset == "mnist7":
        dataset = load_dataset("mnist7", path=args.mnist_path)  # None: the shipped 7x7 MNIST
    else:
        if args.mnist_path is not None:
            raise ValueError(f"--mnist-path is only used with --dataset mnist7, not with "
                             f"--dataset {args.dataset}")
        dataset = load_dataset(args.dataset)
    if args.n_train is not None or args.n_test is not None:
        dataset = dataset.subset(n_train=args.n_train, n_test=args.n_test)
    return dataset


def _check_delay(schedule):
    T = schedule.sample_time
    if abs(schedule.delay) > MAX_DELAY_OVER_T * T:
        raise ValueError(f"--delay {float(schedule.delay):g}s is not allowed with --sample-time "
                         f"{float(T) * 1e3:g}ms; it must lie within ±{MAX_DELAY_OVER_T} sample "
                         f"times (±{MAX_DELAY_OVER_T * float(T):g}s): beyond ±1 sample time no "
                         "input meets its own label already")


def _estimate(sizes, dataset, model, schedule, training, standalone, recording):
    from ctfa_brian.resources import check_resources, estimate
    from ctfa_brian.rules import get_rule

    rule = get_rule(model.rule)
    recorded = 0.0
    if recording is not None:
        recorded = 2 * sum(map(len, recording.neurons.values())) + \
            sum(map(len, recording.synapses.values()))
    every = max(int(round(float(RECORD_DT / schedule.dt))), 1)
    est = estimate(sizes, len(dataset.y_train), len(dataset.y_test), training.epochs,
                   training.evals_per_epoch, float(schedule.period), float(schedule.dt),
                   standalone=standalone, recorded_values_per_step=recorded,
                   record_every_steps=every, routing=rule.routing, tied=rule.tied)
    return check_resources(est, "this run", "--epochs, --hidden or --n-train")


def prepare(args):
    """Build and check everything a run needs; raise ValueError & co. on bad input.

    Returns ``(trainer, out, sources)``; nothing has been written.
    """
    from ctfa_brian.nwb_io import check_format
    from ctfa_brian.outdir import check_out
    from ctfa_brian.training import Trainer

    if args.format is not None:
        if not args.record:
            raise ValueError(f"--format {args.format} is the format of the recordings; add "
                             "--record, or leave --format out")
        check_format(args.format)
    if args.variant != "spiking":
        given = [option for option, value in (("--max-rate", args.max_rate),
                                              ("--tau-m", args.tau_m), ("--t-ref", args.t_ref),
                                              ("--readout-window", args.readout_window))
                 if value is not None]
        if given:
            raise ValueError(f"{given[0]} is an option of the spiking variant; add --variant "
                             "spiking, or leave it out (the rate model has no spikes)")
    model, schedule, training, sources = _parameters(args)
    _check_delay(schedule)
    dataset = _dataset(args)
    check_cuda_options(args)
    if args.build_only and not args.device.endswith("standalone"):
        raise ValueError(f"--build-only is not allowed with --device {args.device}; it needs "
                         "a standalone device (ctfa_dense_standalone, cpp_standalone, "
                         "cuda_standalone)")
    sizes = (dataset.n_features, *model.hidden, dataset.n_classes)
    recording = (_recording(sizes, model.rule, model.variant == "spiking") if args.record
                 else None)
    est = _estimate(sizes, dataset, model, schedule, training,
                    args.device.endswith("standalone"), recording)
    if args.precision == "float32" and not args.device.endswith("standalone"):
        raise ValueError(f"--precision float32 is not allowed with --device {args.device}; it "
                         "needs a standalone device (ctfa_dense_standalone, cpp_standalone)")
    out = check_out(args.out, "--out", overwrite=getattr(args, "overwrite", False),
                    need_bytes=est.written)
    trainer = Trainer(dataset, model, schedule, training, device=args.device,
                      precision=args.precision,
                      recording=recording, report=None if args.quiet else "text")
    return trainer, out, sources


def _save(out, trainer, result, manifest, status="ok", message=None, neo_format="nix"):
    """Write results, manifest, the learning curve and the recordings (``recordings.nix``,
    ``.nwb`` or both, as ``neo_format``); return the paths.

    The recordings and the figure go first and results.json last, each through a temporary
    file, so that a results.json always describes files that are whole.
    """
    from datetime import datetime

    from ctfa_brian import io, neo_io

    paths = {}
    if result is not None and result.recordings:
        block = neo_io.recordings_to_neo(result, trainer.model, trainer.schedule,
                                         trainer.training, recording=trainer.recording,
                                         dataset_name=trainer.dataset.name,
                                         device=trainer.device_name)
        block.rec_datetime = datetime.fromisoformat(manifest["timestamp_utc"])  # the start
        paths.update(neo_io.save_neo_formats(block, out / "recordings", "recordings",
                                             neo_format))
    if result is not None and result.learning_curve:
        paths["plot"] = _plot(out / "learning_curve.png", result, status)
    return {**io.write_results(out, result, manifest, status=status, message=message), **paths}


def _plot(path, result, status="ok"):
    from matplotlib.figure import Figure

    from ctfa_brian.io import save_figure
    from ctfa_brian.plotting import plot_learning_curve

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = plot_learning_curve(result, ax=fig.subplots())
    titles = {"ok": f"test accuracy {result.test_accuracy:.3f}",
              "blown_up": "stopped early (blew up)", "interrupted": "stopped early (interrupted)"}
    ax.set_title(titles.get(status, status))
    return save_figure(fig, path, dpi=120)


def main(args, argv):
    """Run ``ctfa train``; return the exit status."""
    from ctfa_brian import interrupts, io
    from ctfa_brian.guard import BlowUpError
    from ctfa_brian.outdir import replacing

    try:
        trainer, out, sources = prepare(args)
    except (ValueError, DimensionMismatchError, FileNotFoundError) as err:
        return fail(as_typed(err))
    extra = {"n_train": len(trainer.dataset.y_train), "n_test": len(trainer.dataset.y_test),
             "record": bool(args.record),
             "sources": {k: sources[k] for k in sorted(sources)}}
    if args.format is not None:
        extra["format"] = args.format
    manifest = io.make_manifest(trainer.model, trainer.schedule, trainer.training,
                                trainer.dataset.name, trainer.device_name, extra=extra,
                                argv=["ctfa", *argv])
    if args.build_only:
        trainer.build()
        print(f"built {trainer.sizes} on {trainer.device_name} in {trainer.build_time:.1f} s: "
              f"{trainer.directory}\n  the same command without --build-only runs it (the "
              "project is found again by its structure; nothing recompiles)")
        return EXIT_OK
    status, message, code = "ok", None, EXIT_OK
    try:
        result = trainer.run()
    except BlowUpError as err:
        result, status, message, code = err.partial, "blown_up", str(err), EXIT_BLOWN_UP
    except interrupts.Interrupted as err:
        result, status, message, code = err.partial, "interrupted", str(err), err.exit_code
    with replacing(out):
        paths = _save(out, trainer, result, manifest, status=status, message=message,
                      neo_format=args.format or "nix")
    if status != "ok":
        print(f"ctfa: {message}", file=sys.stderr)
        print(f"partial results: {paths['results']}")
        return code
    timings = result.timings
    print(f"test accuracy {result.test_accuracy:.3f}, train accuracy "
          f"{result.train_accuracy:.3f} ({trainer.dataset.name}, {trainer.model.rule}, "
          f"{trainer.model.variant}, {trainer.training.epochs} epoch(s); "
          f"build {timings.get('build', 0):.1f} s, run {timings.get('run', 0):.1f} s)")
    for name, path in paths.items():
        print(f"  {name + ':':<11} {path}")
    return EXIT_OK

