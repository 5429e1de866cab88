"""Shared machinery of the network-level sweeps: one build per dataset, many runs.

A sweep trains the same network on a learning task for every value of one time constant (and
every seed). Everything it changes is a ``(shared, constant)`` variable passed through
``run_args``, so on cpp_standalone the project is compiled once per dataset for the whole sweep.
"""

import csv

import numpy as np
from brian2 import ms, second

from ctfa_brian.device import DEFAULT, NETWORK_DEVICES
from ctfa_brian.guard import BlowUpError
from ctfa_brian.network import Recording
from ctfa_brian.parameters import Schedule, Training, format_time
from ctfa_brian.protocols._variant import VARIANT_PARAMETERS
from ctfa_brian.protocols.spec import Parameter
from ctfa_brian.training import Trainer

__all__ = ["NETWORK_PARAMETERS", "SWEEP_DATASETS", "SWEEP_DEVICE", "check", "plot_sweep",
           "summarise", "sweep", "write_traces", "write_table"]

#: Parameters every network sweep takes.
NETWORK_PARAMETERS = {
    "datasets": Parameter("str", "digits,circles", "comma-separated datasets to sweep on"),
    "hidden": Parameter("str", "49", "hidden layers on digits and mnist7: widths separated by "
                        "commas; "
                        "several architectures separated by ';' (\"49;49,32\")"),
    "hidden_circles": Parameter("int", 24, "width of the hidden layer on circles", ge=1),
    "rule": Parameter("str", "kp", "learning rule",
                      choices=("sgd", "fa", "kp", "dfa", "direct-kp")),
    "sample_time": Parameter("time", 200 * ms, "T, how long each sample is held", gt=0 * ms),
    "tau_prop": Parameter("time", 10 * ms, "neuronal time constant", gt=0 * ms),
    "tau_dec": Parameter("time", 1200 * second, "passive decay of W and V (7×7 MNIST: make it "
                         "long against an epoch, see ctfa_brian.presets)", gt=0 * ms),
    "epochs": Parameter("int", 3, "training epochs per run", ge=1),
    "n_seeds": Parameter("int", 2, "seeds per cell (initial weights and sample order)", ge=1),
    "n_train": Parameter("int", 0, "use the first N training samples (0: all)", ge=0),
    "n_test": Parameter("int", 0, "use the first N test samples (0: all)", ge=0),
    "dt": Parameter("time", 1 * ms, "integration step", gt=0 * ms),
    **VARIANT_PARAMETERS,
}

#: Devices a network sweep can run on.
SWEEP_DEVICE = Parameter("str", DEFAULT, "Brian2 device (cpp_standalone compiles once per "
                         "dataset for the whole sweep)", choices=NETWORK_DEVICES)


#: Datasets a network sweep can use (offline, no path needed).
SWEEP_DATASETS = ("digits", "circles", "mnist7")


def architectures(text):
    """``"49;49,32"`` → ``[(49,), (49, 32)]``; raise a ValueError naming ``hidden``."""
    from ctfa_brian.cells import parse_hidden

    archs = [parse_hidden(part) for part in str(text).split(";") if part.strip()]
    if not archs or any(not a for a in archs):
        raise ValueError(f"hidden = {text!r} is not allowed; give widths separated by commas "
                         "and architectures by ';', e.g. hidden = \"49;49,32\"")
    return archs


def _label(name, hidden, several):
    return f"{name} {'-'.join(map(str, hidden))}" if several else name


def check(params, build_model=None):
    """Cross-parameter checks of a network sweep (before anything is written).

    With ``build_model`` (the protocol's model builder) every network's model is built and
    its schedule checked against it (τ ordering, dt against τ_prop and, in the spiking
    variant, against max_rate).
    """
    archs = architectures(params["hidden"])
    names = [d.strip() for d in params["datasets"].split(",") if d.strip()]
    bad = [n for n in names if n not in SWEEP_DATASETS]
    if not names or bad:
        raise ValueError(f"datasets = {params['datasets']!r} is not allowed; give a "
                         f"comma-separated list of: {', '.join(SWEEP_DATASETS)}")
    if not params["dt"] * 5 < params["tau_prop"]:
        raise ValueError(f"dt = {params['dt']} is too coarse for tau_prop = "
                         f"{params['tau_prop']}; it must be < tau_prop/5")
    if build_model is not None:
        schedule = Schedule(sample_time=params["sample_time"], dt=params["dt"])
        for name in names:
            for hidden in ([(params["hidden_circles"],)] if name == "circles" else archs):
                schedule.check_against(build_model(params, name, hidden))
    return params


def _dataset(name, params):
    from ctfa_brian.cells import load_subset

    return load_subset(name, params["n_train"], params["n_test"])


def sweep(params, values, build_model, run_overrides, directory):
    """Train for every dataset × value × seed; return rows and the first run per dataset.

    Parameters
    ----------
    params : dict
        The validated protocol parameters.
    values : sequence
        The swept values (ratios).
    build_model : callable(params, dataset name, hidden tuple) -> ModelParameters
        The model the project is built with (its structure is shared by all values).
    run_overrides : callable(value) -> dict
        ``Trainer.run`` overrides for one value (Quantities).
    directory : Path
        Where the standalone projects go (one per dataset and architecture).
    """
    rows, recordings = [], {}
    schedule = Schedule(sample_time=params["sample_time"], dt=params["dt"])
    digits_archs = architectures(params["hidden"])
    networks = [(name, hidden, len(digits_archs) > 1 and name != "circles")
                for name in [d.strip() for d in params["datasets"].split(",") if d.strip()]
                for hidden in ([(params["hidden_circles"],)] if name == "circles"
                               else digits_archs)]
    for name, hidden, several in networks:
        ds = _dataset(name, params)
        label = _label(name, hidden, several)
        model = build_model(params, name, hidden)
        recording = Recording({"output": "all"}, {"W1": [0, 1, 2]}, dt=10 * ms)
        trainer = Trainer(ds, model, schedule, Training(epochs=params["epochs"]),
                          device=params["device"],
                          directory=str(directory / label.replace(" ", "_")),
                          recording=recording)
        for value in values:
            for seed in range(params["seed"], params["seed"] + params["n_seeds"]):
                row = {"dataset": label, "hidden": ",".join(map(str, hidden)),
                       "value": float(value), "seed": seed}
                try:
                    result = trainer.run(seed=seed, **run_overrides(value))
                    row.update(test_accuracy=result.test_accuracy,
                               train_accuracy=result.train_accuracy, status="ok")
                    recordings.setdefault(label, (trainer, result))
                except BlowUpError as err:
                    row.update(test_accuracy=float("nan"), train_accuracy=float("nan"),
                               status=f"blown up: {err.variable} at "
                                      f"{format_time(err.time)}")
                rows.append(row)
    return rows, recordings


def summarise(rows):
    """``{dataset: [(value, mean, std, n_ok), ...]}`` over seeds (blow-ups count as failed)."""
    out = {}
    for name in dict.fromkeys(r["dataset"] for r in rows):
        entries = []
        for value in dict.fromkeys(r["value"] for r in rows if r["dataset"] == name):
            acc = np.array([r["test_accuracy"] for r in rows
                            if r["dataset"] == name and r["value"] == value])
            ok = acc[np.isfinite(acc)]
            entries.append((value, float(ok.mean()) if ok.size else float("nan"),
                            float(ok.std()) if ok.size else float("nan"), int(ok.size)))
        out[name] = entries
    return out


def write_table(path, rows, value_column):
    """Write one row per dataset × value × seed; the swept value under ``value_column``."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "hidden", value_column, "seed", "test_accuracy",
                         "train_accuracy", "status"])
        for r in rows:
            writer.writerow([r["dataset"], r["hidden"], r["value"], r["seed"],
                             r["test_accuracy"], r["train_accuracy"], r["status"]])


def plot_sweep(path, summary, xlabel, marks=(), title=""):
    """Accuracy (mean ± s.d. over seeds) against the swept ratio, log x axis."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 3.8), layout="constrained")
    ax = fig.subplots()
    for name, entries in summary.items():
        x = [e[0] for e in entries]
        line = ax.errorbar(x, [e[1] for e in entries], yerr=[e[2] for e in entries], marker="o",
                           capsize=3, label=name)
        failed = [e[0] for e in entries if e[3] == 0]
        if failed:  # every seed blew up: learning was unstable
            ax.plot(failed, [0.03] * len(failed), "x", ms=8, color=line[0].get_color(),
                    label=f"{name}: blew up")
    for value, text in marks:
        ax.axvline(value, color="0.6", ls=":", lw=1)
        ax.text(value, 0.02, text, rotation=90, va="bottom", ha="right", fontsize=8)
    ax.set(xscale="log", ylim=(0, 1), xlabel=xlabel, ylabel="test accuracy", title=title)
    ax.legend(loc="lower right")
    fig.savefig(path, dpi=120)
    return path


def write_traces(path, examples):
    """Save the recorded traces of the first run on each dataset, one neo Segment each."""
    from ctfa_brian.neo_io import recordings_to_neo, save_neo

    block = None
    for name, (trainer, result) in examples.items():
        one = recordings_to_neo(result, trainer.model, trainer.schedule, trainer.training,
                                recording=trainer.recording, dataset_name=name,
                                device=trainer.device_name)
        one.segments[0].name = name
        if block is None:
            block = one
        else:
            block.segments.append(one.segments[0])
    if block is not None:
        save_neo(block, path)
    return path
