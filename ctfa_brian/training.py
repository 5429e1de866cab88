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
import time
import uuid

import numpy as np
from brian2 import get_device, prefs
from brian2 import seed as brian_seed
from brian2.utils.logger import get_logger

from ctfa_brian import cuda, interrupts
from ctfa_brian import device as devices
from ctfa_brian.guard import BlowUpError
from ctfa_brian.locks import project_lock
from ctfa_brian.network import Recording, build_network
from ctfa_brian.network.replicas import check_replicas
from ctfa_brian.parameters import ModelParameters, Schedule, Training, check_seed
from ctfa_brian.results import TrainingResult, collect
from ctfa_brian.stimulus import make_presentation

__all__ = ["Trainer", "TrainingResult", "train"]

logger = get_logger(__name__)


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
    replicas : int
        K copies of the network in one simulation (standalone devices): `run_replicas` trains
        K seeds or parameter sets at once, each as a separate `run` would (to round-off).
    per_replica : sequence of str
        With replicas, the overrides that may differ between the runs of one simulation
        (``delay``, ``tau_pot_w``, ...; the seed always may); keep it to what varies: a
        per-replica time constant of the synapses costs a division per synapse and step.
    """

    def __init__(self, dataset, model=None, schedule=None, training=None, device=None,
                 directory=None, recording=None, report=None, threads=0, precision="float64",
                 replicas=1, per_replica=()):
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
        self.replicas = check_replicas(replicas)
        self.per_replica = tuple(sorted(per_replica)) if self.replicas > 1 else ()
        if self.replicas > 1 and not self.standalone:
            raise ValueError(f"replicas = {self.replicas} is not allowed on device {device!r}; "
                             "it needs a standalone device (ctfa_dense_standalone, "
                             "cpp_standalone, cuda_standalone)")
        if self.replicas > 1 and self.recording != Recording(dt=self.recording.dt):
            raise ValueError(f"replicas = {self.replicas} is not allowed with a recording; "
                             "record traces in a separate run (replicas = 1)")
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
        if self.replicas > 1:
            key += (("replicas", self.replicas, self.per_replica),)
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
                                      guard="standalone" if self.standalone else "runtime",
                                      replicas=self.replicas, per_replica=self.per_replica)
            self._presentation_cache = (self.training.seed, presentation)
            if self.standalone:
                self._net.run(report=self.report)
                os.makedirs(directory, exist_ok=True)
                with project_lock(os.path.join(directory, "ctfa_build.lock")):
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
        if self.replicas > 1:
            raise ValueError(f"this trainer runs {self.replicas} replicas at once; use "
                             "run_replicas([(seed, overrides), ...])")
        return self._run_standalone([(seed, overrides)])[0]

    def run_replicas(self, runs):
        """Train and evaluate up to ``replicas`` runs in one simulation.

        Parameters
        ----------
        runs : list of (int, dict)
            ``(seed, overrides)`` per run, the arguments of `run`; fewer runs than replicas
            leave the spare replicas repeating the first run (their results are dropped).

        Returns
        -------
        list of TrainingResult or BlowUpError
            One per run, in order: a replica that blew up is its `BlowUpError` (with
            ``partial``); the others are unaffected.
        """
        if not 1 <= len(runs) <= self.replicas:
            raise ValueError(f"give 1 to {self.replicas} runs (the trainer's replicas); got "
                             f"{len(runs)}")
        checked = []
        for seed, overrides in runs:
            self._check_overrides(overrides)
            checked.append((self.training.seed if seed is None else check_seed(seed),
                            dict(overrides)))
        for key in sorted({k for _, o in checked for k in o} - set(self.per_replica)):
            values = [o.get(key) for _, o in checked]
            if self.replicas > 1 and any(str(v) != str(values[0]) for v in values):
                raise ValueError(f"{key} differs between the replicas ({values}) but is "
                                 "shared in this trainer's network; build it with per_replica "
                                 f"including {key!r}")
        if not self.standalone:  # replicas = 1 only (checked in __init__)
            return [self._catch(self._run_runtime, *checked[0])]
        return self._run_standalone(checked, catch=True)

    @staticmethod
    def _catch(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BlowUpError as err:
            return err

    def _presentation_for(self, seed):
        cached_seed, presentation = self._presentation_cache
        if seed != cached_seed:
            presentation = self._presentation(seed)
            self._presentation_cache = (seed, presentation)
        return presentation

    def _run_standalone(self, runs, catch=False):
        self.build()
        padded = runs + [runs[0]] * (self.replicas - len(runs))
        presentations = [self._presentation_for(seed) for seed, _ in padded]
        # Pass every swept value on each run, so that nothing depends on what the (shared,
        # cached) project was compiled with.
        current = [{**self.model.run_constants(), "delay": self.schedule.delay, **overrides}
                   for _, overrides in padded]
        values = self._net.replica_values(presentations, [seed for seed, _ in padded], current)
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
        timings = {"build": self.build_time, "run": run_time}
        try:
            one = self.replicas == 1
            recordings = self._recordings() if one else None
            out = []
            for r, (seed, overrides) in enumerate(runs):
                args = (self._net, presentations[r], seed, overrides, timings, recordings,
                        None if one else r)
                out.append(self._catch(collect, *args) if catch else collect(*args))
            return out
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
        return collect(self._net, presentation, seed, overrides,
                       {"build": self.build_time, "run": run_time}, self._recordings())

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
