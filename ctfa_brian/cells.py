"""One cell of a network sweep: train one network (or its discrete baseline) and report numbers.

A *cell* is a flat dict of plain values — every parameter of one training run, times as
strings with their unit (``"200 ms"``) — so that it pickles, hashes and travels to a Dask
worker unchanged. `run_cell` trains it and returns a flat row of results.

Compile once, run many: cells that share a `structure_key` (everything that changes the
generated code: dataset, layer sizes, rule, sample time, dt, epochs, whether there is noise)
share one compiled cpp_standalone project, built once under a file lock in the project cache
(`ctfa_brian.device.default_project_dir`). Each worker process runs it from its own copy of the
compiled project (so that no process rewrites files another one is running from); everything a
cell changes within a structure — Δ, τ_pot, τ_prop, τ_dec, noise amplitude, seed — goes in
through ``run_args``.
"""

import atexit
import gc
import hashlib
import json
import os
import shutil
import tempfile
import time
import traceback

import numpy as np

from ctfa_brian import interrupts
from ctfa_brian.io import parse_quantity
from ctfa_brian.locks import project_lock
from ctfa_brian.parameters import format_time

__all__ = ["CELL_DEFAULTS", "CELL_KEYS", "STRUCTURE_KEYS", "TIME_KEYS", "build_cell", "cell_id",
           "load_subset", "parse_hidden", "run_cell", "structure_key"]

#: Every key of a cell, in table order.
CELL_KEYS = ("model", "variant", "neuron", "max_rate_hz", "dataset", "hidden", "rule",
             "activation", "loss", "epochs", "evaluate", "n_train", "n_test", "sample_time",
             "delay_over_T", "delay_origin", "tau_pot_over_T", "tau_prop", "tau_dec", "noise",
             "tau_elig_over_T", "eligibility", "anneal_to", "dt", "device", "seed")

#: Keys added after the first sweeps were run, with their defaults: a cell at these values
#: keeps the name (`cell_id`) it had before they existed.
#: ``record = "traces"`` (not a table column) records `TRACES` in every run of the cell's
#: structure; `run_cell` hands them back for the cells named in its ``keep_traces``.
_LATER = {"delay_origin": "auto", "anneal_to": 1.0, "tau_elig_over_T": 0.0,
          "eligibility": "pre", "record": ""}

#: Values of the keys a cell may leave out (the rate variant, and `_LATER`).
CELL_DEFAULTS = {"variant": "rate", "neuron": "lif", "max_rate_hz": 200.0, **_LATER}

#: Keys whose values are times (strings with a unit in a cell).
TIME_KEYS = ("sample_time", "tau_prop", "tau_dec", "dt")

#: Keys that change the compiled code (or, for `_TRAINER_ONLY`, the `Trainer` that runs it);
#: the others go in through ``run_args``.
STRUCTURE_KEYS = ("model", "variant", "neuron", "dataset", "hidden", "rule", "activation",
                  "loss", "epochs", "evaluate", "n_train", "n_test", "sample_time", "dt",
                  "device", "delay_origin", "anneal_to", "eligibility", "record")
_TRAINER_ONLY = ("delay_origin", "anneal_to")

#: What a cell with ``record = "traces"`` records: every output unit and three forward
#: synapses of the first layer, every 10 ms (keyword arguments of `Recording`).
TRACES = {"neurons": {"output": "all"}, "synapses": {"W1": [0, 1, 2]}, "dt_ms": 10.0}

# Per process: the trainer of the structure this process ran last (a standalone device holds
# one project at a time), and the datasets it has loaded.
_CURRENT = {"key": None, "trainer": None}
_DATASETS = {}


def parse_hidden(text):
    """``"49,32"`` → ``(49, 32)``; ``""`` or ``"0"`` → ``()`` (no hidden layer)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"hidden = {text!r} is not allowed; give layer widths separated by "
                         "commas, e.g. hidden = \"49,32\"") from None
    if sizes == (0,):
        return ()
    if any(s < 1 for s in sizes):
        raise ValueError(f"hidden = {text!r} is not allowed; every width must be ≥ 1")
    return sizes


#: Devices that compute the same numbers (to round-off): a cell's name is the same on both.
_SAME_AS = {"ctfa_dense_standalone": "cpp_standalone"}


def _canonical(cell):
    # keys that came later than the others are left out at their defaults, so that the cells
    # of earlier sweeps keep their names (and resume)
    keys = [k for k in sorted(cell) if not (k in _LATER and cell[k] == _LATER[k])]
    named = {k: cell[k] for k in keys}
    if "device" in named:
        named["device"] = _SAME_AS.get(named["device"], named["device"])
    return json.dumps(named, sort_keys=True, default=str)


def cell_id(cell):
    """A short stable name for ``cell`` (a hash of all its values): its file name on disk."""
    return hashlib.sha1(_canonical(cell).encode()).hexdigest()[:16]


def structure_key(cell):
    """What the compiled project of ``cell`` depends on (cells with equal keys share one)."""
    key = {k: cell.get(k, CELL_DEFAULTS.get(k)) for k in STRUCTURE_KEYS}
    key["noisy"] = float(cell["noise"]) > 0
    if float(cell.get("tau_elig_over_T", 0.0)) > 0:  # the gate is code; τ_elig a run_arg
        key["gated"] = True
    return json.dumps(key, sort_keys=True)


def _quantity(cell, key):
    return parse_quantity(cell[key])


def load_subset(name, n_train=0, n_test=0):
    """Dataset ``name`` with its first ``n_train`` / ``n_test`` samples (0, or more than there
    are: all)."""
    from ctfa_brian.datasets import load_dataset

    ds = load_dataset(name)
    return ds.subset(min(n_train or len(ds.y_train), len(ds.y_train)),
                     min(n_test or len(ds.y_test), len(ds.y_test)))


def _dataset(cell):
    key = (cell["dataset"], int(cell["n_train"]), int(cell["n_test"]))
    if key not in _DATASETS:
        _DATASETS[key] = load_subset(*key)
    return _DATASETS[key]


def _timing(cell):
    """The model, schedule and per-run overrides of ``cell`` (Δ rounded to a whole dt)."""
    from brian2 import Hz

    from ctfa_brian.parameters import ModelParameters, Schedule

    T, dt = _quantity(cell, "sample_time"), _quantity(cell, "dt")
    tau_pot = float(cell["tau_pot_over_T"]) * T
    delay = round(float(cell["delay_over_T"]) * float(T / dt)) * dt
    tau_dec = _quantity(cell, "tau_dec")
    elig = float(cell.get("tau_elig_over_T", 0.0))
    model = ModelParameters(hidden=parse_hidden(cell["hidden"]), rule=cell["rule"],
                            activation=cell["activation"], loss=cell["loss"],
                            tau_prop=_quantity(cell, "tau_prop"), tau_pot_w=tau_pot,
                            tau_pot_v=tau_pot, tau_dec_w=tau_dec, tau_dec_v=tau_dec,
                            noise=float(cell["noise"]), variant=cell.get("variant", "rate"),
                            neuron=cell.get("neuron", "lif"),
                            max_rate=float(cell.get("max_rate_hz", 200.0)) * Hz,
                            tau_elig=elig * T if elig > 0 else None,
                            eligibility=cell.get("eligibility", "pre"))
    schedule = Schedule(sample_time=T, dt=dt, delay=delay,
                        delay_origin=cell.get("delay_origin", "auto"))
    schedule.check_against(model)
    overrides = {"delay": delay, "tau_pot_w": tau_pot, "tau_pot_v": tau_pot,
                 "tau_prop": model.tau_prop, "tau_dec_w": tau_dec, "tau_dec_v": tau_dec}
    if model.noise > 0:
        overrides["noise"] = model.noise
    if model.tau_elig is not None:
        overrides["tau_elig"] = model.tau_elig
    if model.variant == "spiking":
        overrides["max_rate"] = model.max_rate
    return model, schedule, overrides


def _private_copy(shared):
    """This process's copy of a compiled project (sources, objects, binary; no results).

    Time stamps are kept, so make finds everything up to date; the copy lives in the temporary
    directory and is removed when the process exits.
    """
    private = os.path.join(tempfile.gettempdir(), f"ctfa_brian-{os.getuid()}",
                           f"{os.path.basename(shared)}-p{os.getpid()}")
    if os.path.isdir(private):
        return private
    os.makedirs(os.path.dirname(private), exist_ok=True)
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    tmp = f"{private}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(shared, tmp, ignore=shutil.ignore_patterns("results*", "*.lock"))
    os.replace(tmp, private)
    return private


def _release():
    """Forget the standalone project of this process and free its objects (and their names)."""
    from brian2 import get_device

    from ctfa_brian import device as devices

    current = get_device()
    if devices.is_standalone(type(current).__name__):
        current.reinit()  # the device holds the code objects until then
    gc.collect()


def _shared_project(cell, key, project_root, recording, replicas=1, per_replica=()):
    """``(directory, built)``: the compiled project of ``cell``'s structure (with
    ``replicas`` copies of the network), shared by the sweep's processes, and whether this
    call compiled it."""
    from ctfa_brian import cuda
    from ctfa_brian import device as devices
    from ctfa_brian.training import Trainer

    model, schedule, _ = _timing(cell)
    training = _training(cell)
    # the same code whatever delay_origin and anneal_to: one compiled project; the keys
    # added later name the projects of earlier sweeps unchanged at their defaults
    code = {k: v for k, v in json.loads(key).items()
            if k not in _TRAINER_ONLY and not (k in _LATER and v == _LATER[k])}
    if cell["device"] == "cuda_standalone":  # compiled for one GPU
        code["compute_capability"] = os.environ.get(cuda.ENV_COMPUTE_CAPABILITY, "detected")
    if replicas > 1:
        code.update(replicas=replicas, per_replica=sorted(per_replica))
    digest = hashlib.sha1(json.dumps(code, sort_keys=True).encode()).hexdigest()[:16]
    root = project_root or os.path.join(devices.cache_root(), "sweeps")
    shared = os.path.join(root, digest)
    os.makedirs(root, exist_ok=True)
    with project_lock(shared + ".lock"):
        if os.path.exists(os.path.join(shared, "ctfa_complete")):
            return shared, False
        Trainer(_dataset(cell), model, schedule, training, device=cell["device"],
                directory=shared, recording=recording, replicas=replicas,
                per_replica=per_replica).build()
        open(os.path.join(shared, "ctfa_complete"), "w").close()
        _release()  # the names again, for the copy the caller makes
    return shared, True


def build_cell(cell, project_root=None, replicas=1, per_replica=()):
    """Compile the standalone project of ``cell``'s structure into the sweep's cache (what
    `run_cell`, or `run_pack` with ``replicas``, would build first) without running
    anything; return ``(directory, built)``.

    For ``ctfa run ... --build-only``: prepare a sweep on a machine without its GPU.
    """
    cell = {**CELL_DEFAULTS, **cell}
    return _shared_project(cell, structure_key(cell), project_root, _recording(cell), replicas,
                           per_replica)


def _training(cell):
    from ctfa_brian.parameters import Training

    return Training(epochs=int(cell["epochs"]), evaluate=cell["evaluate"],
                    anneal_to=float(cell.get("anneal_to", 1.0)))


def _recording(cell):
    if cell.get("record") != "traces":
        return None
    from brian2 import ms

    from ctfa_brian.network import Recording

    return Recording(TRACES["neurons"], TRACES["synapses"], dt=TRACES["dt_ms"] * ms)


def _trainer(cell, project_root, replicas=1, per_replica=()):
    """The trainer for ``cell``'s structure in this process (built once per structure)."""
    from ctfa_brian import device as devices
    from ctfa_brian.training import Trainer

    key = structure_key(cell) + (f" x{replicas} {sorted(per_replica)}" if replicas > 1 else "")
    if _CURRENT["key"] == key:
        return _CURRENT["trainer"], 0.0
    # Free the Brian objects of the previous structure first: objects still alive keep their
    # names, the new ones would get a suffix (W1_stateupdater_codeobject_1, ...), and changed
    # file names mean a full recompilation of the project copy.
    _CURRENT.update(key=None, trainer=None)
    _release()
    model, schedule, _ = _timing(cell)
    training = _training(cell)
    recording = _recording(cell)
    directory = None
    start = time.perf_counter()
    if devices.is_standalone(cell["device"]):
        directory = _private_copy(_shared_project(cell, structure_key(cell), project_root,
                                                  recording, replicas, per_replica)[0])
    trainer = Trainer(_dataset(cell), model, schedule, training, device=cell["device"],
                      directory=directory, recording=recording, replicas=replicas,
                      per_replica=per_replica)
    if trainer.standalone:
        trainer.build()  # code generation only: make finds the copied objects up to date
    _CURRENT.update(key=key, trainer=trainer)
    return trainer, time.perf_counter() - start


def _angles(weights, n_hidden):
    """Angle (degrees) between V_l and the W_{l+1} it stands in for, per hidden layer.

    NaN where the two do not have the same shape (direct routing below the last hidden layer).
    """
    from ctfa_brian.analysis import feedback_angles

    angles = feedback_angles(weights)
    return {f"angle_layer{layer}_deg": angles.get(f"V{layer}", np.nan)
            for layer in range(1, n_hidden + 1)}


def _last_online(online):
    """The online train accuracy of the last epoch (read at the end of each sample while
    learning; the paper's Fig. 3 "train accuracy"), NaN if none."""
    if not online:
        return np.nan
    last = int(online[-1]["epoch"])
    return float(np.mean([o["accuracy"] for o in online if int(o["epoch"]) == last]))


def _traces(cell, trainer, result):
    """The Neo Block of ``result``'s recordings, annotated with ``cell``'s own values."""
    from ctfa_brian.neo_io import recordings_to_neo

    model, schedule, _ = _timing(cell)
    return recordings_to_neo(result, model, schedule, trainer.training,
                             recording=trainer.recording, dataset_name=cell["dataset"],
                             device=trainer.device_name)


def _run_continuous(cell, project_root, keep_traces):
    from ctfa_brian.guard import BlowUpError

    trainer, build = _trainer(cell, project_root)
    _, _, overrides = _timing(cell)
    try:
        result = trainer.run(seed=int(cell["seed"]), **overrides)
    except BlowUpError as err:
        result = err
    row = _result_row(cell, overrides, result, build)
    if trainer.recording is not None and cell_id(cell) in keep_traces:
        row["_neo"] = _traces(cell, trainer, getattr(result, "partial", result))
    return row


def _result_row(cell, overrides, result, build):
    """The results of ``cell``: its `TrainingResult`, or the `BlowUpError` of its run."""
    from ctfa_brian.guard import BlowUpError

    row = {"delay_ms": float(overrides["delay"]) * 1e3, "build_s": build}
    if isinstance(result, BlowUpError):
        # learning was unstable: no final accuracy (the curve and traces up to then are kept)
        err, result = result, result.partial
        row.update(status="blown up", error=f"{err.variable} became NaN or infinite at "
                                            f"t = {format_time(err.time)}",
                   test_accuracy=np.nan, train_accuracy=np.nan, test_balanced_accuracy=np.nan)
    else:
        row.update(status="ok", error="", test_accuracy=result.test_accuracy,
                   train_accuracy=result.train_accuracy,
                   online_train_accuracy=_last_online(result.online_train_accuracy),
                   test_balanced_accuracy=result.test_balanced_accuracy,
                   saturated=max(result.saturated.values(), default=0.0))
    row.update(run_s=result.timings.get("run", np.nan),
               learning_curve=[c["test_accuracy"] for c in result.learning_curve],
               **_angles(result.weights, len(parse_hidden(cell["hidden"]))))
    return row


def _run_discrete(cell):
    from ctfa_brian.baselines import train_discrete

    start = time.perf_counter()
    ds = _dataset(cell)
    result = train_discrete(ds, parse_hidden(cell["hidden"]), int(cell["epochs"]),
                            seed=int(cell["seed"]), delay_ratio=float(cell["delay_over_T"]),
                            loss=cell["loss"])
    z = ds.x_test
    n = len(parse_hidden(cell["hidden"])) + 1
    for layer in range(1, n + 1):
        z = z @ result.weights[f"W{layer}"] + result.weights[f"b{layer}"]
        z = z if layer == n else np.maximum(z, 0.0)
    pred = np.argmax(z, axis=1)
    recall = [np.mean(pred[ds.y_test == c] == c) for c in np.unique(ds.y_test)]
    return {"status": "ok", "error": "", "test_accuracy": result.test_accuracy,
            "train_accuracy": result.train_accuracy, "delay_ms": np.nan,
            "online_train_accuracy": _last_online(result.online_train_accuracy),
            "test_balanced_accuracy": float(np.mean(recall)),
            "learning_curve": [c["test_accuracy"] for c in result.learning_curve],
            "build_s": 0.0, "run_s": time.perf_counter() - start}


def run_cell(cell, project_root=None, keep_traces=()):
    """Train ``cell`` and return its row: the cell's values plus the results.

    Never raises for a failing cell: an exception is returned as ``status = "failed"`` with
    the error and its traceback, so that one bad cell does not stop a sweep.

    Parameters
    ----------
    cell : dict
        Every key of `CELL_KEYS`; times as strings with a unit.
    project_root : str, optional
        Where the compiled projects of standalone cells live (default: the project cache,
        ``$CTFA_CACHE_DIR`` or ``~/.cache/ctfa_brian``).
    keep_traces : collection of str
        Cell ids whose recorded traces (a cell with ``record = "traces"``) come back in the
        row, as a `neo.Block` under ``_neo`` (`ctfa_brian.sweep.run_sweep` saves it beside
        the cell's file).

    Returns
    -------
    dict
        ``cell_id``, the cell's values, ``status`` (``ok``, ``blown up`` or ``failed``),
        ``error``, ``test_accuracy``, ``train_accuracy`` (frozen), ``online_train_accuracy``
        (the last epoch's, see `_last_online`), ``delay_ms`` (Δ as run, a whole
        number of dt), ``saturated`` (largest fraction of a group at ±w_max), per-layer
        ``angle_layerK_deg``, ``learning_curve``, ``build_s``,
        ``run_s``, ``wall_s``, ``worker`` (host:pid).
    """
    import socket

    start = time.perf_counter()
    row = {"cell_id": cell_id(cell), **cell}
    try:
        if cell["model"] == "discrete":
            row.update(_run_discrete(cell))
        else:
            row.update(_run_continuous(cell, project_root, keep_traces))
    except Exception as err:  # noqa: BLE001  (a failed cell is a result, not a crash)
        _CURRENT.update(key=None, trainer=None)
        if interrupts.received() is not None:  # it failed because it was stopped
            raise interrupts.Interrupted(interrupts.received()) from err
        row.update(status="failed", error=f"{type(err).__name__}: {err}",
                   traceback=traceback.format_exc(), test_accuracy=np.nan,
                   train_accuracy=np.nan)
    row["wall_s"] = time.perf_counter() - start
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row

