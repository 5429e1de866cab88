"""How samples are presented (`Schedule`) and how long training lasts (`Training`)."""

from dataclasses import dataclass, field, replace

from brian2 import Quantity, ms, second

from ctfa_brian.checks import check_choice as _choice
from ctfa_brian.checks import check_number, check_seed, check_time, format_time

__all__ = ["DELAY_ORIGINS", "EVALUATIONS", "Schedule", "Training"]

#: Values of `Training.evaluate`.
EVALUATIONS = ("curve", "final")
#: Values of `Schedule.delay_origin`.
DELAY_ORIGINS = ("auto", "output", "input")
#: Below this ratio a "much smaller than" ordering is reported as a warning-worthy regime.
_MIN_DT_RATIO = 5
#: The rate variant's forward Euler step may be as long as tau_prop / 2: at each data set's
#: preset the final test accuracy at dt = tau_prop/2 is within 0.22 points of dt = 0.1 ms
#: (digits, circles; docs/model.md, "The integration step"), and the neurons' Euler step is
#: stable up to 2 tau_prop.
_MAX_DT_OVER_TAU_PROP = 0.5
#: Largest spike probability per step of a spiking neuron at the value 1 (max_rate·dt).
_MAX_SPIKE_PROBABILITY = 0.1


@dataclass(frozen=True)
class Schedule:
    """How samples are presented.

    Each sample occupies ``sample_time`` T: its first ``buffer_time`` is a raised-cosine
    cross-fade from the previous sample, after which the input is held. The output is read at
    the end of the sample, just before the next one begins. Input k is on [kT, (k+1)T), so a
    label delay of ``|Δ| ≥ T`` leaves no overlap between an input and its own label (up to the
    propagation lag of a few tau_prop). The label reaches the output
    error units ``delay`` later than its input (negative: early).

    Parameters
    ----------
    sample_time : Quantity
        T, how long each sample is held (default 200 ms, so tau_prop/T = 0.05: deeper
        networks need a small ratio, see docs/model.md).
    buffer_time : Quantity
        Length of the smooth transition between samples (default 10 ms, may be 0).
    delay : Quantity
        Δ, label delay relative to the input (default 0 ms; negative means early).
    dt : Quantity
        Integration step (default 1 ms); at most tau_prop / 2 (see `_MAX_DT_OVER_TAU_PROP`).
    delay_origin : str
        Where Δ = 0 sits. ``auto`` (default): ``output`` in the rate variant, ``input`` in the
        spiking variant (measured, docs/spiking.md: its signed error spikes reach the synapses
        later than the rate model's error, and a label at the input's onset learns better —
        circles, seed 0: kp 0.944 → 0.972, dfa 0.796 → 0.872). ``output``: when the input's
        forward response reaches the
        output, L·tau_prop after its onset in a network of L layers above the input (one
        relaxation per layer; rounded to a whole dt), so that at Δ = 0 the output error
        compares each sample's own response with its own label. ``input``: at the input's
        onset (the paper's literal Δ): for the first L·tau_prop of every sample the output
        still shows the previous sample while the label is already the new one, an error that
        grows with depth and with the logits (docs/model.md, "Stability").
    """

    sample_time: Quantity = field(default_factory=lambda: 200 * ms)
    buffer_time: Quantity = field(default_factory=lambda: 10 * ms)
    delay: Quantity = field(default_factory=lambda: 0 * ms)
    dt: Quantity = field(default_factory=lambda: 1 * ms)
    delay_origin: str = "auto"

    def __post_init__(self):
        _choice("delay_origin", self.delay_origin, DELAY_ORIGINS)
        check_time("sample_time", self.sample_time)
        check_time("buffer_time", self.buffer_time, allow_zero=True)
        check_time("delay", self.delay, allow_negative=True)
        check_time("dt", self.dt)
        if self.buffer_time >= self.sample_time:
            raise ValueError(
                f"buffer_time = {self.buffer_time} must be shorter than "
                f"sample_time = {self.sample_time}"
            )
        for name in ("sample_time", "buffer_time", "delay"):
            steps = float(getattr(self, name) / self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(
                    f"{name} = {getattr(self, name)} is not a whole number of steps of "
                    f"dt = {self.dt}; choose a multiple of dt"
                )

    @property
    def period(self):
        """Length of one presentation (the sample time; the buffer is its first part)."""
        return self.sample_time

    @property
    def steps_per_period(self):
        return int(round(float(self.period / self.dt)))

    def label_offset(self, model, tau_prop=None):
        """How much later than Δ the label reaches the output: the forward lag L·τ_prop of
        ``model`` (``tau_prop`` if given) rounded to a whole dt, or 0 where Δ counts from the
        input's onset (`origin_for`)."""
        if self.origin_for(model) == "input":
            return 0 * second
        tau = model.tau_prop if tau_prop is None else tau_prop
        return round(float((len(model.hidden) + 1) * tau / self.dt)) * self.dt

    def origin_for(self, model):
        """``delay_origin`` with ``auto`` resolved for ``model``'s variant."""
        if self.delay_origin != "auto":
            return self.delay_origin
        return "input" if model.variant == "spiking" else "output"

    def check_against(self, model):
        """Check dt against the model's fastest time constant (dt ≤ tau_prop / 2) and, in the
        spiking variant, against the spike rates and the readout window."""
        if not self.dt <= model.tau_prop * _MAX_DT_OVER_TAU_PROP * (1 + 1e-9):
            raise ValueError(
                f"dt = {self.dt} is too coarse for tau_prop = {model.tau_prop}: the Euler "
                f"integration needs dt ≤ tau_prop/2 (= {model.tau_prop / 2})"
            )
        if model.routing == "td":
            self._check_td(model)
        if model.variant != "spiking":
            return
        if float(model.max_rate * self.dt) > _MAX_SPIKE_PROBABILITY:
            raise ValueError(
                f"dt = {format_time(self.dt)} is too coarse for max_rate = "
                f"{float(model.max_rate):g} Hz: a neuron at the value 1 must spike with "
                f"probability ≤ {_MAX_SPIKE_PROBABILITY:g} per step (max_rate·dt = "
                f"{float(model.max_rate * self.dt):g}); use dt ≤ "
                f"{format_time(_MAX_SPIKE_PROBABILITY / model.max_rate)} or a lower max_rate"
            )
        if model.neuron == "lif" and not self.dt * _MIN_DT_RATIO <= model.tau_m:
            raise ValueError(f"dt = {self.dt} is too coarse for tau_m = {model.tau_m}; the "
                             f"LIF membrane needs dt ≤ tau_m/{_MIN_DT_RATIO}")
        window = self.readout_window_for(model)
        if window > self.sample_time:
            raise ValueError(f"readout_window = {window} is not allowed; it must be ≤ "
                             f"sample_time = {self.sample_time}")
        steps = float(window / self.dt)
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"readout_window = {window} is not a whole number of steps of "
                             f"dt = {self.dt}; choose a multiple of dt")

    def _check_td(self, model):
        """The plus phase and the gate of ``routing="td"``: whole steps, inside the sample
        and after its cross-fade."""
        if not self.dt <= model.tau_fast * _MAX_DT_OVER_TAU_PROP * (1 + 1e-9):
            raise ValueError(f"dt = {format_time(self.dt)} is too coarse for tau_fast = "
                             f"{format_time(model.tau_fast)}: routing = 'td' needs dt ≤ "
                             "tau_fast/2")
        for name in ("plus_time", "gate_time"):
            steps = float(getattr(model, name) / self.dt)
            if abs(steps - round(steps)) > 1e-6:
                raise ValueError(f"{name} = {format_time(getattr(model, name))} is not a whole "
                                 f"number of steps of dt = {format_time(self.dt)}")
        if not model.plus_time < self.sample_time - self.buffer_time:
            raise ValueError(f"plus_time = {format_time(model.plus_time)} is not allowed with "
                             f"sample_time = {format_time(self.sample_time)}: the minus phase "
                             "(the sample before the plus phase) must last longer than the "
                             f"cross-fade buffer_time = {format_time(self.buffer_time)}")

    def readout_window_for(self, model):
        """The spiking readout window: ``model.readout_window`` or half the sample time
        (rounded down to a whole dt)."""
        if model.readout_window is not None:
            return model.readout_window
        return int(round(float(self.sample_time / self.dt)) // 2) * self.dt

    def replace(self, **changes):
        return replace(self, **changes)


@dataclass(frozen=True)
class Training:
    """How long to train and how often to evaluate.

    Parameters
    ----------
    epochs : int
        Passes over the training set (sample order reshuffled each epoch).
    evals_per_epoch : int
        Frozen evaluations of the test set per epoch (plus one before training).
    seed : int
        Seeds weight initialisation, sample order and the integration noise.
    evaluate : str
        ``"curve"`` (default): the learning curve — a test evaluation before training and
        ``evals_per_epoch`` per epoch — and a final frozen pass over the training set.
        ``"final"``: only one test evaluation, after the last epoch (no learning curve, no
        train accuracy): the same training for about 40 % less simulated time, for sweeps
        that need the final test accuracy only.
    anneal_to : float
        Plasticity at the end of training (default 1: none). Over the last epoch the gate g
        falls linearly, sample by sample, from 1 to ``anneal_to`` (0 < anneal_to ≤ 1); g scales
        the error units' drive and the plasticity together, so the step of the output layer
        falls as g². The last samples then move the weights less, and the frozen network is
        not the noisy last iterate of a constant step (on 7×7 MNIST 49-32 its test accuracy
        swung 0.88–0.93 between quarter epochs; docs/results.md, Table 2).
    """

    epochs: int = 4
    evals_per_epoch: int = 1
    seed: int = 0
    evaluate: str = "curve"
    anneal_to: float = 1.0

    def __post_init__(self):
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"epochs = {self.epochs!r} is not allowed; it must be an integer ≥ 1")
        if int(self.evals_per_epoch) != self.evals_per_epoch or self.evals_per_epoch < 1:
            raise ValueError(
                f"evals_per_epoch = {self.evals_per_epoch!r} is not allowed; it must be an "
                "integer ≥ 1"
            )
        _choice("evaluate", self.evaluate, EVALUATIONS)
        check_seed(self.seed)
        check_number("anneal_to", self.anneal_to, lambda v: 0 < v <= 1,
                     "a number in (0, 1] (1: no annealing)")

    def replace(self, **changes):
        return replace(self, **changes)
