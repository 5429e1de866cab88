"""The rate and the spiking variant side by side: learning, the overlap law, the window.

Users compare rate and spiking versions of the same rule. This protocol runs, in both variants
and with the same parameters,

1. **training**: the same network (dataset, hidden layers, rule, loss), the same data and
   sample order, the same label delay Δ and sample time T, ``n_seeds`` seeds each — learning
   curves and final frozen test accuracies (`ctfa_brian.training.Trainer`, one compiled project
   per variant on cpp_standalone);
2. **the overlap law** (paper §4): −ΔW of one synapse against the input–error delay, input on
   [0, T) and error on [Δ, Δ + T), both reaching the synapse through one τ_prop stage on the
   error path — the rate synapse of the overlap protocol, and the spiking synapse with Poisson
   spikes averaged over ``overlap_trials`` (both against `overlap.propagated_law`);
3. **the eligibility window** (Yagishita et al. 2014): ΔW of the gated synapse against the
   delay of a dopamine burst after a 1 s pairing — the rate synapse and the spiking one
   averaged over ``window_trials`` (both against `eligibility_window.window_law`).

It writes one figure (``rate_vs_spiking.png``, the three comparisons and the accuracies), one
table (``table.csv``: panel, variant, x, y, its s.e.m. and the law) and the recordings of the
first seed of each variant as Neo (``recordings.nix``: one Segment per variant, traces and, for
the spiking variant, spikes).
"""

import time
from pathlib import Path

import numpy as np
from brian2 import Hz, ms, second

from ctfa_brian import device as devices
from ctfa_brian.io import write_rows
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols._cells import save_figure
from ctfa_brian.protocols.spec import VARIANT_PARAMETERS, Parameter

__all__ = ["DEVICE", "NAME", "PARAMETERS", "check", "run"]

NAME = "rate_vs_spiking"

DEVICE = Parameter("str", devices.DEFAULT, "Brian2 device of the training runs",
                   choices=devices.NETWORK_DEVICES)

PARAMETERS = {
    "dataset": Parameter("str", "circles", "dataset (offline)", choices=("circles", "digits")),
    "hidden": Parameter("str", "24", "hidden layer widths, comma-separated"),
    "rule": Parameter("str", "kp", "learning rule", choices=("sgd", "fa", "kp", "dfa",
                                                             "direct-kp")),
    "loss": Parameter("str", "cross_entropy", "output loss", choices=("cross_entropy",
                                                                       "squared")),
    "epochs": Parameter("int", 10, "training epochs", ge=1),
    "n_train": Parameter("int", 0, "use the first N training samples (0: all)", ge=0),
    "n_test": Parameter("int", 0, "use the first N test samples (0: all)", ge=0),
    "sample_time": Parameter("time", 100 * ms, "T, how long each sample is held (and the "
                             "overlap protocol's window)", gt=10 * ms),
    "delay_over_T": Parameter("float", 0.0, "label delay Δ / T of the training runs",
                              ge=-10.0, le=10.0),
    "tau_pot_over_T": Parameter("float", 40.0, "τ_pot / T of W and V (training and the "
                                "overlap synapse)", gt=1.0),
    "tau_prop": Parameter("time", 10 * ms, "neuronal time constant (and the error path's "
                          "stage of the overlap synapse)", gt=0 * ms),
    "dt": Parameter("time", 0.5 * ms, "integration step of both variants", gt=0 * ms),
    "n_seeds": Parameter("int", 2, "training seeds per variant", ge=1),
    "neuron": VARIANT_PARAMETERS["neuron"],
    "max_rate_hz": VARIANT_PARAMETERS["max_rate_hz"],
    "n_delays": Parameter("int", 21, "overlap: delays from −1.5 T to +1.5 T (odd)", ge=3),
    "overlap_trials": Parameter("int", 100, "overlap: spiking trials per delay", ge=2),
    "window_rate_hz": Parameter("float", 100.0, "window: presynaptic and modulatory rate of "
                                "the spiking synapse, Hz", gt=0, le=1000),
    "window_trials": Parameter("int", 200, "window: spiking trials per delay", ge=2),
    "synapse_device": Parameter("str", "numpy", "runtime code generation of the single-synapse "
                                "runs (numpy: no compilation; cython compiles once per "
                                "parameter set)", choices=("numpy", "cython")),
}

#: Parameters of the single-synapse runs that are not the protocols' defaults.
_OVERLAP_FIXED = {"max_delay_ratio": 1.5, "input_hops": 0, "error_hops": 1}


def _hidden(params):
    from ctfa_brian.cells import parse_hidden

    return parse_hidden(params["hidden"])


def _models(params):
    """The rate and the spiking `ModelParameters` and the shared `Schedule`."""
    from ctfa_brian.parameters import ModelParameters, Schedule

    T, dt = params["sample_time"], params["dt"]
    tau_pot = params["tau_pot_over_T"] * T
    delay = round(params["delay_over_T"] * float(T / dt)) * dt
    common = {"hidden": _hidden(params), "rule": params["rule"], "loss": params["loss"],
              "tau_prop": params["tau_prop"], "tau_pot_w": tau_pot, "tau_pot_v": tau_pot}
    rate = ModelParameters(**common)
    spiking = ModelParameters(**common, variant="spiking", neuron=params["neuron"],
                              max_rate=params["max_rate_hz"] * Hz)
    schedule = Schedule(sample_time=T, dt=dt, delay=delay)
    for model in (rate, spiking):
        schedule.check_against(model)
    return rate, spiking, schedule


def _synapse_configs(params):
    """Validated parameters of the overlap and eligibility-window runs (both variants)."""
    from ctfa_brian.protocols.config import configure

    T = params["sample_time"]
    device = params["synapse_device"]
    overlap = configure("overlap", {
        **_OVERLAP_FIXED, "sample_time": T, "n_delays": params["n_delays"],
        "tau_pot_ratios": [params["tau_pot_over_T"]],
        "tau_props": [0 * ms, params["tau_prop"]], "dt": min(params["dt"], T / 200),
        "variant": "spiking", "max_rate_hz": params["max_rate_hz"],
        "n_trials": params["overlap_trials"], "spike_tau_prop": params["tau_prop"],
        "seed": params["seed"], "device": device}).parameters
    window = configure("eligibility_window", {
        "variant": "spiking", "max_rate_hz": params["window_rate_hz"],
        "n_trials": params["window_trials"], "spike_tau_prop": params["tau_prop"],
        "seed": params["seed"], "device": device}).parameters
    return overlap, window


def check(params):
    """Build both models and both synapse configurations before anything runs.

    Raises
    ------
    ValueError
        A bad ``hidden``; a τ ordering or a dt the models reject (dt against τ_prop, and
        against max_rate in the spiking variant); an even ``n_delays``; anything the overlap
        or eligibility-window protocol rejects with these values (the message names the key).
    """
    _models(params)
    try:
        _synapse_configs(params)
    except ValueError as err:
        raise ValueError(f"the single-synapse part: {err}") from None
    return params


# ----------------------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------------------
def _train(params, out_dir):
    from ctfa_brian.cells import load_subset
    from ctfa_brian.guard import BlowUpError
    from ctfa_brian.network import Recording
    from ctfa_brian.parameters import Training
    from ctfa_brian.training import Trainer

    rate, spiking, schedule = _models(params)
    ds = load_subset(params["dataset"], params["n_train"], params["n_test"])
    out = {}
    for name, model in (("rate", rate), ("spiking", spiking)):
        layers = [f"layer{k}" for k in range(1, len(model.hidden) + 1)] + ["output"]
        recording = Recording({g: list(range(min(3, n))) for g, n in
                               zip(layers, [*model.hidden, ds.n_classes])}, {}, dt=10 * ms,
                              spikes={g: "all" for g in layers} if name == "spiking" else {})
        trainer = Trainer(ds, model, schedule, Training(epochs=params["epochs"],
                                                        seed=params["seed"]),
                          device=params["device"], recording=recording,
                          directory=(str(out_dir / "build" / name)
                                     if "standalone" in params["device"] else None))
        runs = []
        for seed in range(params["seed"], params["seed"] + params["n_seeds"]):
            try:
                runs.append(trainer.run(seed=seed))
            except BlowUpError as err:
                runs.append(err.partial)
        out[name] = {"trainer": trainer, "runs": runs}
    return out


def _accuracy(runs):
    acc = np.array([r.test_accuracy for r in runs], float)
    bal = np.array([r.test_balanced_accuracy for r in runs], float)
    ok = acc[np.isfinite(acc)]
    return {"mean": float(ok.mean()) if ok.size else None,
            "std": float(ok.std()) if ok.size else None,
            "per_seed": [None if not np.isfinite(a) else float(a) for a in acc],
            "balanced_mean": float(np.nanmean(bal)) if np.isfinite(bal).any() else None,
            "n_blown_up": int(np.sum(~np.isfinite(acc)))}


def _curve(runs):
    """Mean learning curve over the seeds that finished: (epochs, mean, std)."""
    curves = [r.learning_curve for r in runs if np.isfinite(r.test_accuracy)]
    if not curves:
        return np.array([]), np.array([]), np.array([])
    epochs = np.array([c["epoch"] for c in curves[0]], float)
    values = np.array([[c["test_accuracy"] for c in curve] for curve in curves], float)
    return epochs, values.mean(axis=0), values.std(axis=0)


def _synapses(params):
    """Overlap and window curves of both variants, against their laws."""
    from ctfa_brian.device import select
    from ctfa_brian.protocols import eligibility_window as ew
    from ctfa_brian.protocols import overlap as ov
    from ctfa_brian.protocols._spiking_synapse import overlap_spiking, window_spiking

    overlap_params, window_params = _synapse_configs(params)
    select(overlap_params["device"])
    delays = ov.delays_of(overlap_params)
    sweep = ov.simulate(overlap_params)
    rate_curve = sweep.find("eq1", params["tau_pot_over_T"] * params["sample_time"],
                            params["tau_prop"])
    spiking = overlap_spiking(overlap_params, delays)
    overlap = {"delays": delays, "rate": rate_curve, "spiking": spiking.curves["ungated"]}
    window = ew.simulate(window_params)
    tau = window_params["tau_elig"]
    spiking_window = window_spiking(window_params, window.delays, [tau])
    windows = {"delays": window.delays, "rate": window.gated[0],
               "spiking": spiking_window.curves["gated"]}
    timings = {"overlap_rate": sweep.timings["run"], "overlap_spiking": spiking.timings["run"],
               "window_rate": window.timings["run"],
               "window_spiking": spiking_window.timings["run"]}
    return overlap, windows, timings


# ----------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------
def _deviation(curve):
    """Largest |mean − law| as % of the law's peak and in s.e.m. (None without trials)."""
    return {"max_deviation_percent": 100 * curve.deviation(),
            "max_deviation_sem": curve.deviation_sem()}


def _summary(params, training, overlap, windows):
    from ctfa_brian.protocols.curve import SEM_ALLOWANCE
    from ctfa_brian.protocols.laws.window import EARLY_MAX, LATE_MIN

    acc = {name: _accuracy(entry["runs"]) for name, entry in training.items()}
    gap = (None if acc["rate"]["mean"] is None or acc["spiking"]["mean"] is None
           else acc["rate"]["mean"] - acc["spiking"]["mean"])
    d_win = np.asarray(windows["delays"] / second)
    window = {}
    for name in ("rate", "spiking"):
        c = windows[name]
        peak = float(np.max(c.mean))
        at = {f"{d:+g} s": float(c.mean[int(np.argmin(np.abs(d_win - d)))] / peak)
              for d in (-1.0, 0.6, 1.0, 5.0) if np.min(np.abs(d_win - d)) < 1e-9}
        window[name] = {"normalised": at, "peak_delay_s": float(d_win[int(np.argmax(c.mean))]),
                        **_deviation(c)}
    over = {name: {**_deviation(overlap[name]),
                   "peak_delay_over_T": float(np.asarray(overlap["delays"] / params[
                       "sample_time"])[int(np.argmax(overlap[name].mean))])}
            for name in ("rate", "spiking")}
    chance = 1.0 / (2 if params["dataset"] == "circles" else 10)
    checks = {
        "both variants learn (balanced accuracy ≥ chance + 0.25)": all(
            a["balanced_mean"] is not None and a["balanced_mean"] >= chance + 0.25
            for a in acc.values()),
        "rate overlap within 2 % of the law": over["rate"]["max_deviation_percent"] <= 2.0,
        f"spiking overlap within 2 % of the law + {SEM_ALLOWANCE:g} s.e.m.":
            overlap["spiking"].agrees(0.02, float(np.max(overlap["spiking"].law)))[0],
    }
    for name in ("rate", "spiking"):
        n = window[name]["normalised"]
        if {"-1 s", "+0.6 s", "+1 s"} <= set(n):
            checks[f"{name} window: +0.6 s and +1 s ≥ {LATE_MIN:g} of the peak, −1 s ≤ "
                   f"{EARLY_MAX:g}"] = bool(n["+0.6 s"] >= LATE_MIN and n["+1 s"] >= LATE_MIN
                                            and abs(n["-1 s"]) <= EARLY_MAX + 0.01)
    return {
        "protocol": NAME,
        "dataset": params["dataset"], "hidden": params["hidden"], "rule": params["rule"],
        "neuron": params["neuron"], "max_rate_hz": params["max_rate_hz"],
        "sample_time": format_time(params["sample_time"]),
        "delay": format_time(training["rate"]["trainer"].schedule.delay),
        "dt": format_time(params["dt"]),
        "accuracy": acc,
        "accuracy_gap_rate_minus_spiking": gap,
        "overlap": over, "window": window,
        "checks": {k: bool(v) for k, v in checks.items()},
        "passed": all(checks.values()),
    }


def _rows(params, training, overlap, windows):
    rows = []
    for name, entry in training.items():
        epochs, mean, std = _curve(entry["runs"])
        for e, m, s in zip(epochs, mean, std):
            rows.append({"panel": "learning_curve", "variant": name, "x_name": "epoch",
                         "x": f"{e:.6g}", "y": f"{m:.6g}", "y_spread": f"{s:.6g}",
                         "spread": "s.d. over seeds", "law": ""})
        acc = _accuracy(entry["runs"])
        rows.append({"panel": "final_test_accuracy", "variant": name, "x_name": "",
                     "x": "", "y": "" if acc["mean"] is None else f"{acc['mean']:.6g}",
                     "y_spread": "" if acc["std"] is None else f"{acc['std']:.6g}",
                     "spread": "s.d. over seeds", "law": ""})
    T = params["sample_time"]
    for panel, data, x_name, x_of in (
            ("overlap_minus_dW", overlap, "delay_over_T", lambda d: float(d / T)),
            ("window_dW", windows, "delay_s", lambda d: float(d / second))):
        for name in ("rate", "spiking"):
            c = data[name]
            for k, d in enumerate(data["delays"]):
                rows.append({"panel": panel, "variant": name, "x_name": x_name,
                             "x": f"{x_of(d):.6g}", "y": f"{c.mean[k]:.8g}",
                             "y_spread": f"{c.sem[k]:.4g}",
                             "spread": "s.e.m. over trials" if name == "spiking" else "none",
                             "law": f"{c.law[k]:.8g}"})
    return rows


def _figure(params, training, overlap, windows, path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    (ax_curve, ax_acc), (ax_over, ax_win) = fig.subplots(2, 2)
    colours = {"rate": "C0", "spiking": "C3"}
    for name, entry in training.items():
        epochs, mean, std = _curve(entry["runs"])
        if len(epochs):
            ax_curve.errorbar(epochs, mean, yerr=std, marker="o", capsize=3,
                              color=colours[name], label=name)
    ax_curve.set(ylim=(0, 1), xlabel="epoch", ylabel="test accuracy (frozen)",
                 title=f"learning curves, {params['dataset']} {params['hidden']} "
                       f"{params['rule']} (mean ± s.d., {params['n_seeds']} seeds)")
    ax_curve.legend(loc="lower right")
    names = list(training)
    accs = [_accuracy(training[n]["runs"]) for n in names]
    ax_acc.bar(range(len(names)), [a["mean"] or 0 for a in accs],
               yerr=[a["std"] or 0 for a in accs], color=[colours[n] for n in names],
               capsize=5)
    for k, a in enumerate(accs):
        ax_acc.text(k, (a["mean"] or 0) + 0.02, "n/a" if a["mean"] is None
                    else f"{a['mean']:.3f}", ha="center")
    ax_acc.set_xticks(range(len(names)), names)
    ax_acc.set(ylim=(0, 1.1), ylabel="final test accuracy",
               title=f"T = {format_time(params['sample_time'])}, Δ/T = "
                     f"{params['delay_over_T']:g}, dt = {format_time(params['dt'])}")
    T = params["sample_time"]
    for ax, data, x_of, xlabel, title in (
            (ax_over, overlap, lambda d: np.asarray(d / T), "error delay Δ / T",
             "overlap law: −ΔW of one synapse (error through one τ_prop stage)"),
            (ax_win, windows, lambda d: np.asarray(d / second),
             "burst delay from pairing onset (s)", "eligibility window (gated synapse)")):
        x = x_of(data["delays"])
        peak = float(np.max(data["rate"].law))
        ax.plot(x, data["rate"].law / peak, "k-", lw=1, label="law")
        ax.plot(x, data["rate"].mean / peak, "s", mfc="none", color=colours["rate"],
                label="rate")
        ax.errorbar(x, data["spiking"].mean / peak, yerr=data["spiking"].sem / peak,
                    fmt="o", ms=4, mfc="none", capsize=2, color=colours["spiking"],
                    label="spiking (mean ± s.e.m.)")
        ax.axhline(0, color="0.8", lw=0.5)
        ax.set(xlabel=xlabel, ylabel="ΔW / law's peak", title=title)
        ax.title.set_fontsize(9)
        ax.legend(fontsize=8)
    fig.suptitle(f"rate vs spiking ({params['neuron']} neurons, max rate "
                 f"{params['max_rate_hz']:g} Hz)", fontsize=11)
    return save_figure(fig, path)


def run(params, out_dir):
    """Run both variants' training and single-synapse parts; write figure, table, Neo.

    Returns
    -------
    dict
        ``accuracy`` (per variant: mean, s.d., per seed, balanced), the gap
        ``accuracy_gap_rate_minus_spiking``, ``overlap`` and ``window`` (deviations from the
        laws, normalised window values at Yagishita's delays), ``checks``, ``passed``,
        ``files``, ``timings_s``.
    """
    from ctfa_brian.neo_io import results_to_neo, save_neo_formats

    out_dir = Path(out_dir)
    start = time.perf_counter()
    overlap, windows, timings = _synapses(params)
    synapses = time.perf_counter()
    training = _train(params, out_dir)
    trained = time.perf_counter()
    results = _summary(params, training, overlap, windows)
    table = write_rows(_rows(params, training, overlap, windows), out_dir / "table.csv")
    figure = _figure(params, training, overlap, windows, out_dir / "rate_vs_spiking.png")
    first = training["rate"]["trainer"]
    block = results_to_neo({name: entry["runs"][0] for name, entry in training.items()},
                           first.model, first.schedule, first.training,
                           recording=first.recording, dataset_name=params["dataset"],
                           device=params["device"])
    block.annotations["variant"] = "rate and spiking (one Segment each)"
    for key in ("neuron", "max_rate_hz", "tau_m_ms", "t_ref_ms", "readout"):
        block.annotations.pop(key, None)  # the spiking variant's: on its Segment
    spiking_model = training["spiking"]["trainer"].model
    for segment, name in zip(block.segments, training):
        segment.annotations["variant"] = name
        if name == "spiking":
            segment.annotations.update(neuron=spiking_model.neuron,
                                       max_rate_hz=float(spiking_model.max_rate / Hz),
                                       tau_m_ms=float(spiking_model.tau_m / ms))
    neo_paths = save_neo_formats(block, out_dir / "recordings", "recordings")
    results["files"] = {"table": str(table), "figure": str(figure),
                        **{k: str(v) for k, v in neo_paths.items()}}
    results["timings_s"] = {**timings, "synapses": synapses - start,
                            "training": trained - synapses,
                            "write": time.perf_counter() - trained}
    return results
