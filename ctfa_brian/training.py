"""Train and evaluate a network online, on any device, and collect the results.

`Trainer` builds the Brian2 objects once. On ``cpp_standalone`` it compiles the project once
(`Trainer.build`) and every `Trainer.run` — with a new seed, a new label delay, new time
constants — only runs the binary with new ``run_args``. On the runtime devices each run builds
fresh objects (Brian's Cython cache makes that cheap).

Example
-------
>>> from brian2 import ms
>>> from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
>>> trainer = Trainer(load_dataset("circles"), ModelParameters(hidden=(24,)),
...                   Schedule(sample_time=100*ms), Training(epochs=3))     # doctest: +SKIP
>>> result = trainer.run()                                                # doctest: +SKIP
>>> result.test_accuracy                                                  # doctest: +SKIP
"""

import os
import shutil
import signal
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
from brian2 import get_device, prefs, second
from brian2 import seed as brian_seed
from brian2.utils.filelock import FileLock
from brian2.utils.logger import get_logger

from ctfa_brian import cuda, interrupts
from ctfa_brian import device as devices
from ctfa_brian.guard import BlowUpError, find_nonfinite
from ctfa_brian.network import Recording, build_network
from ctfa_brian.parameters import ModelParameters, Schedule, Training, check_seed
from ctfa_brian.stimulus import make_presentation

__all__ = ["Trainer", "TrainingResult", "train"]

logger = get_logger(__name__)


@dataclass
class TrainingResult:
    """What one run produced.

    Attributes
    ----------
    test_accuracy, train_accuracy : float
        Frozen evaluation after the last epoch (NaN if the run stopped before it).
    learning_curve : list of dict
        ``{"epoch": float, "test_accuracy": float}`` for every test evaluation, the first one
        before any training.
    online_train_accuracy : list of dict
        ``{"epoch": float, "accuracy": float}``: fraction of training samples classified
        correctly at the end of their own presentation, while learning (optimistic: see docs).
    weights : dict of ndarray
        Final W (``W1``…), V (``V1``…) and biases (``b_layer1``…, ``b_output``).
    recordings : dict
        ``{group: {"t": Quantity, var: ndarray (n_indices, n_times), "indices": ndarray}}``.
    readout : ndarray
        Output rates at the end of every period, shape (n_periods, n_classes).
    test_confusion : ndarray or None
        Confusion matrix of the final frozen test evaluation, ``[true, predicted]`` counts.
    spikes : dict
        Spiking variant, groups in ``Recording.spikes``: ``{group: {"indices": ndarray,
        event: {"i": ndarray, "t": Quantity}}}`` for the events ``spike``, ``err_pos``,
        ``err_neg`` (and ``neg`` of a signed input).
    timings : dict
        Wall-clock seconds: ``build`` (code generation and compilation), ``run``.
    duration : Quantity or None
        Simulated time of the whole presentation.
    saturated : dict
        ``{name: fraction}`` of the W, V and biases that ended at the bound ±w_max (only the
        names with any): held there by a runaway of the learning loop or by a bound tighter
        than the weights need, see `ModelParameters.w_max`.
    overrides : dict
        What this run changed relative to the built network (seed, delay, ...).
    """

    test_accuracy: float
    train_accuracy: float
    learning_curve: list
    online_train_accuracy: list
    weights: dict
    recordings: dict = field(default_factory=dict)
    readout: np.ndarray = None
    test_confusion: np.ndarray = None
    spikes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    duration: object = None
    saturated: dict = field(default_factory=dict)

    @property
    def test_balanced_accuracy(self):
        """Mean recall over classes of the final test evaluation (chance: 1 / n_classes,
        whatever the class balance); NaN if the run stopped before it."""
        if self.test_confusion is None:
            return float("nan")
        counts = self.test_confusion.sum(axis=1)
        seen = counts > 0
        return float(np.mean(np.diag(self.test_confusion)[seen] / counts[seen]))

    def summary(self):
        """The scalar results and the curves as plain JSON-able data."""
        return {
            "test_accuracy": self.test_accuracy,
            "test_balanced_accuracy": self.test_balanced_accuracy,
            "train_accuracy": self.train_accuracy,
            "learning_curve": self.learning_curve,
            "online_train_accuracy": self.online_train_accuracy,
            "saturated": self.saturated,
            "timings_s": self.timings,
        }


def _saturated(weights, w_max):
    """``{name: fraction}`` of the entries of ``weights`` at ±w_max (names with any)."""
    out = {}
    for name, values in weights.items():
        values = np.abs(np.asarray(values))
        fraction = float(np.mean(values >= w_max * (1 - 1e-9))) if values.size else 0.0
        if fraction > 0:
            out[name] = round(fraction, 4)
    return out


def _accuracies(presentation, readout, n_valid):
    """Test, train accuracy, learning curve, online accuracy and the final test confusion
    matrix of the blocks that finished within the first ``n_valid`` periods."""
    curve, online, final_test, final_train = [], [], np.nan, np.nan
    confusion = None
    for block in presentation.blocks:
        if block.stop > n_valid:
            break
        pred = np.argmax(readout[block.start:block.stop], axis=1)
        acc = float(np.mean(pred == presentation.labels[block.start:block.stop]))
        if block.kind == "train":
            online.append({"epoch": block.epoch, "accuracy": acc})
        elif block.split == "test":
            curve.append({"epoch": block.epoch, "test_accuracy": acc})
            final_test = acc
            n_classes = readout.shape[1]
            confusion = np.zeros((n_classes, n_classes), dtype=int)
            np.add.at(confusion, (presentation.labels[block.start:block.stop], pred), 1)
        else:
            final_train = acc
    return final_test, final_train, curve, online, confusion


class Trainer:
    """Build a network for ``dataset`` once and run it, possibly many times.

    Parameters
    ----------
    dataset : ctfa_brian.datasets.Dataset
    model : ModelParameters
    schedule : Schedule
    training : Training
    device : str, optional
        One of `ctfa_brian.device.NETWORK_DEVICES` (Brian2's names: ``runtime`` picks its own
        code generation target); default `ctfa_brian.device.DEFAULT`,
        ``ctfa_dense_standalone``.
    directory : str, optional
        Standalone project directory (default: a cache directory keyed by the structure).
    recording : Recording, optional
        Traces to record (z, ε of chosen neurons; w, v of chosen synapses).
    report : str, optional
        Brian2 progress report during the run (``"text"`` or ``"stdout"``); on standalone
        devices it is compiled in and the binary's output is shown.
    threads : int
        OpenMP threads for cpp_standalone (0, the default: one thread, no OpenMP).
    precision : str
        ``float64`` (the default) or ``float32``: the type of every state variable (Brian2's
        ``core.default_float_dtype`` while the objects are built; standalone devices only). On
        784-1024-10 float32 ran 1.45× faster with readouts within 2·10⁻⁴ of float64; on digits
        1.07× faster with the same accuracy (docs/devices.md).
    """

    def __init__(self, dataset, model=None, schedule=None, training=None, device=None,
                 directory=None, recording=None, report=None, threads=0, precision="float64"):
        self.dataset = dataset
        self.model = model or ModelParameters()
        self.schedule = schedule or Schedule()
        self.training = training or Training()
        self.schedule.check_against(self.model)
        device = devices.DEFAULT if device is None else device
        self.device_name = device
        self.recording = recording or Recording()
        self.report = report
        self.threads = int(threads)
        self.sizes = (dataset.n_features, *self.model.hidden, dataset.n_classes)
        self.standalone = devices.is_standalone(device)
        if precision not in ("float64", "float32"):
            raise ValueError(f"precision = {precision!r} is not allowed; choose one of: "
                             "float64, float32")
        if precision == "float32" and not self.standalone:
            raise ValueError(f"precision = 'float32' is not allowed on device {device!r}; it "
                             "needs a standalone device (ctfa_dense_standalone, cpp_standalone)")
        self.precision = precision
        self.directory = directory
        self._net = None
        self._built = False
        self.build_time = 0.0
        if device not in devices.DEVICES:
            raise ValueError(f"unknown device {device!r}; choose one of: "
                             f"{', '.join(devices.DEVICES)}")

    # ------------------------------------------------------------------------------------
    def _presentation(self, seed):
        t = self.training
        curve = t.evaluate == "curve"
        return make_presentation(self.dataset, t.epochs, t.evals_per_epoch, seed,
                                 final_train_eval=curve, curve=curve, anneal_to=t.anneal_to)

    def _structure_key(self, presentation):
        m, s = self.model, self.schedule
        key = (self.sizes, m.rule, m.activation, m.loss, m.kp_form, m.noise > 0,
               m.tau_elig is not None, m.eligibility,
               str(s.period), str(s.buffer_time), str(s.dt), presentation.n_periods,
               self.recording, self.device_name, self.threads, self.precision)
        if self.device_name == "cuda_standalone":  # the code is compiled for one GPU
            key += (os.environ.get(cuda.ENV_COMPUTE_CAPABILITY, "detected"),)
        if m.variant == "spiking":  # what changes the spiking code (not the swept constants)
            key += (m.variant, m.neuron, m.readout, m.error_spikes, str(s.readout_window_for(m)),
                    bool(np.min(presentation.x) < 0))
        return repr(key)

    def build(self):
        """Create the Brian2 objects and, on a standalone device, compile the project."""
        if self._built:
            return self
        presentation = self._presentation(self.training.seed)
        directory = self.directory
        if self.standalone and directory is None:
            directory = devices.default_project_dir(self._structure_key(presentation))
        devices.select(self.device_name, directory=directory, threads=self.threads)
        brian_seed(self.training.seed)
        start = time.perf_counter()
        default_dtype = prefs.core.default_float_dtype
        prefs.core.default_float_dtype = np.dtype(self.precision).type
        try:
            self._net = build_network(self.sizes, self.model, self.schedule, presentation,
                                      seed=self.training.seed, recording=self.recording,
                                      guard="standalone" if self.standalone else "runtime")
            self._presentation_cache = (self.training.seed, presentation)
            if self.standalone:
                self._net.run(report=self.report)
                os.makedirs(directory, exist_ok=True)
                with FileLock(os.path.join(directory, "ctfa_build.lock")):
                    get_device().build(run=False, directory=directory)
                self.directory = directory
        finally:
            prefs.core.default_float_dtype = default_dtype
        self.build_time = time.perf_counter() - start
        self._built = True
        logger.debug(f"built {self.sizes} on {self.device_name} in {self.build_time:.1f} s")
        return self

    def run(self, seed=None, **overrides):
        """Train and evaluate once; return a `TrainingResult`.

        Parameters
        ----------
        seed : int, optional
            Seeds initial weights and sample order (default: ``training.seed``).
        **overrides
            Changes that need no rebuild: ``delay``, ``tau_pot_w``, ``tau_pot_v``,
            ``tau_dec_w``, ``tau_dec_v``, ``tau_prop``, ``noise``, in a gated network
            ``tau_elig`` and in the spiking variant ``max_rate`` (and ``tau_m``, ``t_ref`` for
            LIF neurons) (Quantities with units).

        Raises
        ------
        BlowUpError
            A state variable became NaN/inf; the message names it and the time, and
            ``error.partial`` holds the result of everything that finished before.
        """
        seed = self.training.seed if seed is None else check_seed(seed)
        self._check_overrides(overrides)
        if not self.standalone:
            return self._run_runtime(seed, overrides)
        self.build()
        cached_seed, presentation = self._presentation_cache
        if seed != cached_seed:
            presentation = self._presentation(seed)
            self._presentation_cache = (seed, presentation)
        # Pass every swept value on each run, so that nothing depends on what the (shared,
        # cached) project was compiled with.
        current = {**self.model.run_constants(), "delay": self.schedule.delay, **overrides}
        values = self._net.run_values(presentation=presentation, seed=seed, **current)
        results = f"results_{uuid.uuid4().hex[:12]}"
        start = time.perf_counter()
        try:
            get_device().run(directory=self.directory, results_directory=results,
                             with_output=bool(self.report), run_args=values)
        except RuntimeError:
            if interrupts.received() is None:
                raise
            shutil.rmtree(os.path.join(self.directory, results), ignore_errors=True)
            raise interrupts.Interrupted(interrupts.received()) from None
        run_time = time.perf_counter() - start
        self._forget_monitor_sizes()
        try:
            return self._collect(presentation, seed, overrides, run_time)
        finally:
            shutil.rmtree(os.path.join(self.directory, results), ignore_errors=True)

    def _forget_monitor_sizes(self):
        """Let Brian read every monitor's length from this run's files.

        Brian's standalone device remembers the shape of a 2-D monitor array from the first
        read; a run that was stopped early (blow-up) records fewer samples than the next one.
        """
        for mon in [self._net.readout, *self._net.monitors.values()]:
            for var in mon.variables.values():
                size = getattr(var, "size", None)
                if isinstance(size, tuple) and len(size) == 2:
                    var.size = (0, size[1])

    def _check_overrides(self, overrides):
        # tau_elig and noise are refused below with a reason where the build has no gate/noise
        allowed = ("delay", "tau_elig", "noise",
                   *(k for k in self.model.run_constants() if k not in ("tau_elig", "noise")))
        for key in overrides:
            if key not in allowed:
                raise ValueError(f"cannot override {key!r} per run; choose one of: "
                                 f"{', '.join(allowed)}")
        model_changes = {k: v for k, v in overrides.items() if k != "delay"}
        model = self.model.replace(**model_changes)  # validates ordering and units
        schedule = self.schedule.replace(delay=overrides.get("delay", self.schedule.delay))
        schedule.check_against(model)
        if (model.tau_elig is None) != (self.model.tau_elig is None):
            raise ValueError("tau_elig can be changed between runs only in a network built with "
                             "an eligibility gate; adding or removing the gate changes the "
                             "equations (build anew)")
        if (model.noise > 0) != (self.model.noise > 0):
            raise ValueError("noise can be changed between runs only between positive values; "
                             "switching it on or off changes the equations (build anew)")
        return model, schedule

    def _run_runtime(self, seed, overrides):
        model, schedule = self._check_overrides(overrides)
        devices.select(self.device_name)
        brian_seed(seed)
        presentation = self._presentation(seed)
        start = time.perf_counter()
        self._net = build_network(self.sizes, model, schedule, presentation, seed=seed,
                                  recording=self.recording, guard="runtime")
        build = time.perf_counter() - start
        start = time.perf_counter()
        self._net.run(report=self.report)
        run_time = time.perf_counter() - start
        self.build_time = build
        return self._collect(presentation, seed, overrides, run_time)

    def _collect(self, presentation, seed, overrides, run_time):
        net = self._net
        readout = net.readout_values()
        n_valid = len(readout)
        finite = np.all(np.isfinite(readout), axis=1)
        if not finite.all():
            n_valid = int(np.argmin(finite))
        test, train, curve, online, confusion = _accuracies(presentation, readout, n_valid)
        result = TrainingResult(
            test, train, curve, online,
            test_confusion=confusion,
            weights=net.weights(),
            recordings=self._recordings(),
            spikes=net.spikes(),
            readout=readout,
            timings={"build": self.build_time, "run": run_time},
            overrides={"seed": seed, **{k: str(v) for k, v in overrides.items()}},
            duration=net.duration,
        )
        w_max = float(overrides.get("w_max", net.model.w_max))
        result.saturated = _saturated(result.weights, w_max)
        if result.saturated:
            logger.warning(f"weights ended at the bound w_max = {w_max:g} (fraction per group: "
                           f"{result.saturated}): held there, by a runaway of the learning loop "
                           "or a bound tighter than the weights need (docs/model.md, "
                           "\"Stability\")")
        bad = find_nonfinite(net.guarded)
        stopped_by = interrupts.received()
        if bad is None and finite.all() and n_valid < net.n_periods:
            # stopped early with every value finite: a signal, never a blow-up
            t_stop = float(net.output.clock.t[:])
            name = interrupts.signal_name(stopped_by) if stopped_by else "an outside stop"
            raise interrupts.Interrupted(
                stopped_by or signal.SIGINT, time=t_stop * second, partial=result,
                message=f"interrupted by {name} at t = {t_stop:.3f} s of "
                        f"{float(net.duration):.3f} s (period {n_valid} of {net.n_periods}); "
                        "what finished is kept")
        if bad is not None or n_valid < net.n_periods:
            group, var = bad or ("output", "z")
            # the end of the first period whose output was no longer finite (or the time the
            # guard stopped the run, if the output never was)
            t_stop = min((n_valid + 1) * float(net.schedule.period),
                         float(net.output.clock.t[:]))
            raise BlowUpError(
                f"the simulation blew up: {group}.{var} became NaN or infinite; stopped at "
                f"t = {t_stop:.3f} s of {float(net.duration):.3f} s (period "
                f"{n_valid} of {net.n_periods}). Recorded data up to then is in "
                "error.partial. Try a longer tau_pot (a smaller T/tau_pot), a smaller dt or "
                "less noise.",
                variable=f"{group}.{var}", time=t_stop * second, partial=result)
        return result

    def _recordings(self):
        out = {}
        for name, mon in self._net.monitors.items():
            entry = {"t": mon.t[:], "indices": np.asarray(mon.record)}
            for var in mon.record_variables:
                entry[var] = np.asarray(getattr(mon, var))
            out[name] = entry
        return out

    @property
    def network(self):
        """The `CTFANetwork` of the last build/run."""
        return self._net


def train(dataset, model=None, schedule=None, training=None, device=None, recording=None):
    """Build, train and evaluate once (shortcut for ``Trainer(...).run()``)."""
    return Trainer(dataset, model, schedule, training, device, recording=recording).run()
