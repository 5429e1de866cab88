"""Parameters of the continuous-time feedback-alignment model, with units and validation.

Defaults follow Table 1 of Bacvanski, Ziyin & Poggio, "Does feedback alignment work at
biological timescales?" (arXiv 2510.18808): tau_prop 2–30 ms, tau_pot 0.3–10 s, tau_dec minutes.

Every physical quantity is a Brian2 `Quantity`; every check raises a `ValueError` that names
the parameter, quotes the value and says what is allowed.
"""

from dataclasses import dataclass, field, fields, replace

import numpy as np

from brian2 import Hz, Quantity, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError, have_same_dimensions

__all__ = [
    "ACTIVATIONS",
    "DELAY_ORIGINS",
    "ELIGIBILITY_GATES",
    "ERROR_SPIKES",
    "EVALUATIONS",
    "KP_FORMS",
    "LOSSES",
    "NEURONS",
    "READOUTS",
    "VARIANTS",
    "ModelParameters",
    "Schedule",
    "Training",
    "check_seed",
    "check_time",
    "format_time",
    "to_jsonable",
]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
LOSSES = ("cross_entropy", "squared")
KP_FORMS = ("transpose", "literal")
ELIGIBILITY_GATES = ("pre", "hebbian")
EVALUATIONS = ("curve", "final")
DELAY_ORIGINS = ("output", "input")
VARIANTS = ("rate", "spiking")
NEURONS = ("lif", "poisson")
READOUTS = ("count", "rate")
ERROR_SPIKES = ("regular", "poisson")
#: Activations a spike rate can follow (non-negative), per neuron model of the spiking variant.
_ACTIVATIONS_OF_NEURON = {"poisson": ("relu", "sigmoid"), "lif": ("relu",)}

#: Below this ratio a "much smaller than" ordering is reported as a warning-worthy regime.
_MIN_DT_RATIO = 5
#: Largest spike probability per step of a spiking neuron at the value 1 (max_rate·dt).
_MAX_SPIKE_PROBABILITY = 0.1


def check_time(name, value, allow_zero=False, allow_negative=False):
    """Raise a clear error unless ``value`` is a time `Quantity` (and non-negative)."""
    if not isinstance(value, Quantity) or not have_same_dimensions(value, second):
        unit = getattr(value, "dim", None)
        raise DimensionMismatchError(
            f"{name} must be a time with a Brian2 unit (e.g. 50*ms), got {value!r}"
            + (f" with dimensions {unit}" if unit is not None else " (no unit)")
        )
    if not value.shape == ():
        raise ValueError(f"{name} must be a scalar time, got an array of shape {value.shape}")
    if allow_negative:
        return
    if float(value) < 0 or (float(value) == 0 and not allow_zero):
        allowed = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} = {value} is not allowed; it must be {allowed}")


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


@dataclass(frozen=True)
class ModelParameters:
    """The network and its time constants.

    Parameters
    ----------
    hidden : tuple of int
        Widths of the hidden layers (may be empty: a one-layer readout).
    rule : str
        One of ``sgd``, ``fa``, ``kp``, ``dfa``, ``direct-kp`` (see `ctfa_brian.rules`).
    activation : str
        Hidden nonlinearity σ: ``relu``, ``tanh``, ``sigmoid`` or ``linear``.
    loss : str
        ``cross_entropy`` (softmax over linear outputs) or ``squared``.
    tau_prop : Quantity
        Neuronal (and error-unit) relaxation time, default 10 ms (Table 1: 2–30 ms).
    tau_pot_w, tau_pot_v : Quantity
        Potentiation time constants of forward (W) and feedback (V) synapses, default 10 s
        (the paper's §5 value; Table 1: 0.3–10 s). The learning rate per sample is about
        T / tau_pot.
    tau_dec_w, tau_dec_v : Quantity
        Passive decay of W and V, default 20 min (Table 1: minutes to tens of minutes).
    label_smoothing : float
        α of the cross-entropy target (1 − α) y + α/K over K outputs (default 0.1; 0: the
        one-hot target). Cross-entropy against a one-hot target has no finite optimum: the
        logits of a learnt sample grow without bound, and in deep networks the weights with
        them until the learning loop is unstable (docs/model.md, "Stability"). With α > 0
        the optimum logit margin is ln((1 − α + α/K)/(α/K)) (4.5 at α = 0.1, K = 10).
        Ignored by the squared loss.
    noise : float
        Amplitude of the integration noise added to every rate neuron (dimensionless; the
        stationary standard deviation of z around its drive is ``noise / sqrt(2)``).
    kp_form : str
        ``transpose`` (default): V receives exactly the transpose of the W update of the layer
        above (Kolen–Pollack). ``literal``: the paper's eq. 1, with the receiving neuron's
        pre-activation in place of its rate.
    v_init : float or None
        Initial value of plastic feedback weights (paper: constant 0.1). ``None`` uses 0.1 for
        plastic rules; fixed rules (``fa``, ``dfa``) always draw random V.
    tau_elig : Quantity or None
        Eligibility gate of the forward synapses (``None``: no gate, the paper's eq. 1). With a
        gate, presynaptic activity writes a per-synapse trace τ_elig dE/dt = −E + z_pre and the
        modulatory drive consolidates it, dW/dt = −W/τ_dec − E ε_post/τ_pot: an error that
        arrives before the input finds no trace, one that arrives after it still counts. As
        τ_elig → 0 it reduces to the ungated rule.
    eligibility : str
        What writes the trace: ``pre`` (presynaptic rate, default) or ``hebbian`` (presynaptic
        rate × postsynaptic rate of change, τ_prop dz_post/dt).
    variant : str
        ``rate`` (default; the paper's model) or ``spiking``: the same rules with spiking
        neurons, spike traces in place of rates and signed error spikes
        (`ctfa_brian.spiking_equations`). The fields below apply to the spiking variant only.
    neuron : str
        Forward neurons of the spiking variant: ``lif`` (leaky integrate-and-fire, default,
        ReLU-like f–I curve) or ``poisson`` (rate-driven Poisson, intensity max_rate·σ(a)).
    max_rate : Quantity
        The firing rate that stands for the value 1 (default 200 Hz): a neuron at rate z of the
        rate variant fires at z·max_rate. Allowed 1–1000 Hz, and max_rate·dt ≤ 0.1 (dt ≤ 0.5 ms
        at 200 Hz).
    tau_m : Quantity
        Membrane time constant of the LIF neurons (default 20 ms; ≥ 5 dt).
    t_ref : Quantity
        Refractory period of the LIF neurons (default 0 ms).
    readout : str
        What the prediction is read from: ``count`` (default; spikes of each output neuron in
        the last ``readout_window`` of the sample) or ``rate`` (the output's spike trace at the
        end of the sample).
    readout_window : Quantity or None
        Counting window at the end of each sample (default None: half the sample time).
    error_spikes : str
        How the signed error units fire: ``regular`` (default; integrate-and-fire encoders of
        the error drive) or ``poisson``. Poisson error spikes are unbiased but make the
        network run away with the cross-entropy loss (docs/spiking.md).
    """

    hidden: tuple = (49,)
    rule: str = "kp"
    activation: str = "relu"
    loss: str = "cross_entropy"
    tau_prop: Quantity = field(default_factory=lambda: 10 * ms)
    tau_pot_w: Quantity = field(default_factory=lambda: 10 * second)
    tau_pot_v: Quantity = field(default_factory=lambda: 10 * second)
    tau_dec_w: Quantity = field(default_factory=lambda: 1200 * second)
    tau_dec_v: Quantity = field(default_factory=lambda: 1200 * second)
    noise: float = 0.0
    label_smoothing: float = 0.1
    kp_form: str = "transpose"
    v_init: float = None
    tau_elig: Quantity = None
    eligibility: str = "pre"
    variant: str = "rate"
    neuron: str = "lif"
    max_rate: Quantity = field(default_factory=lambda: 200 * Hz)
    tau_m: Quantity = field(default_factory=lambda: 20 * ms)
    t_ref: Quantity = field(default_factory=lambda: 0 * ms)
    readout: str = "count"
    readout_window: Quantity = None
    error_spikes: str = "regular"

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        self.validate()

    def validate(self):
        """Check units, choices and the ordering tau_prop < tau_pot < tau_dec."""
        from ctfa_brian.rules import RULES  # rules imports nothing from here at import time

        _choice("rule", self.rule, tuple(RULES))
        _choice("activation", self.activation, ACTIVATIONS)
        _choice("loss", self.loss, LOSSES)
        _choice("kp_form", self.kp_form, KP_FORMS)
        _choice("eligibility", self.eligibility, ELIGIBILITY_GATES)
        _choice("variant", self.variant, VARIANTS)
        _choice("neuron", self.neuron, NEURONS)
        _choice("readout", self.readout, READOUTS)
        _choice("error_spikes", self.error_spikes, ERROR_SPIKES)
        self._validate_spiking()
        if self.tau_elig is not None:
            check_time("tau_elig", self.tau_elig)
        for h in self.hidden:
            if h < 1:
                raise ValueError(f"hidden layer widths must be ≥ 1, got hidden={self.hidden}")
        for name in ("tau_prop", "tau_pot_w", "tau_pot_v", "tau_dec_w", "tau_dec_v"):
            check_time(name, getattr(self, name))
        if not (self.noise >= 0):
            raise ValueError(f"noise = {self.noise!r} is not allowed; it must be ≥ 0")
        if isinstance(self.label_smoothing, bool) or not isinstance(
                self.label_smoothing, (int, float)) or not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing = {self.label_smoothing!r} is not allowed; it "
                             "must be a number in [0, 1)")
        for pot, dec in (("tau_pot_w", "tau_dec_w"), ("tau_pot_v", "tau_dec_v")):
            if not self.tau_prop < getattr(self, pot):
                raise ValueError(
                    f"time constants out of order: tau_prop = {self.tau_prop} must be much "
                    f"smaller than {pot} = {getattr(self, pot)} (tau_prop ≪ tau_pot ≪ tau_dec)"
                )
            if not getattr(self, pot) < getattr(self, dec):
                raise ValueError(
                    f"time constants out of order: {pot} = {getattr(self, pot)} must be much "
                    f"smaller than {dec} = {getattr(self, dec)} (tau_prop ≪ tau_pot ≪ tau_dec)"
                )

    def _validate_spiking(self):
        if not isinstance(self.max_rate, Quantity) or not have_same_dimensions(self.max_rate, Hz):
            raise DimensionMismatchError(f"max_rate must be a rate with a Brian2 unit (e.g. "
                                         f"200*Hz), got {self.max_rate!r}")
        if not 1 * Hz <= self.max_rate <= 1000 * Hz:
            raise ValueError(f"max_rate = {float(self.max_rate):g} Hz is not allowed; it must "
                             "lie in 1–1000 Hz")
        check_time("tau_m", self.tau_m)
        check_time("t_ref", self.t_ref, allow_zero=True)
        if self.readout_window is not None:
            check_time("readout_window", self.readout_window)
        if self.variant != "spiking":
            return
        allowed = _ACTIVATIONS_OF_NEURON[self.neuron]
        if self.activation not in allowed:
            raise ValueError(f"activation {self.activation!r} is not allowed in the spiking "
                             f"variant with neuron = {self.neuron!r}: a spike rate cannot be "
                             f"negative; choose one of: {', '.join(allowed)}")

    def run_constants(self):
        """``{name: value}`` of every ``(shared, constant)`` model variable a built network
        takes per run (``run_args``): the time constants, the noise amplitude, τ_elig of a
        gated network and, in the spiking variant, ``max_rate`` (and ``tau_m``, ``t_ref`` for
        LIF neurons)."""
        out = {name: getattr(self, name) for name in
               ("tau_prop", "tau_pot_w", "tau_dec_w", "tau_pot_v", "tau_dec_v", "noise",
                "label_smoothing")}
        if self.tau_elig is not None:
            out["tau_elig"] = self.tau_elig
        if self.variant == "spiking":
            out["max_rate"] = self.max_rate
            if self.neuron == "lif":
                out.update(tau_m=self.tau_m, t_ref=self.t_ref)
        return out

    def replace(self, **changes):
        """Return a copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Schedule:
    """How samples are presented.

    Each sample occupies ``sample_time`` T: its first ``buffer_time`` is a raised-cosine
    cross-fade from the previous sample, after which the input is held. The output is read at
    the end of the sample, just before the next one begins. Input k is on [kT, (k+1)T), so a
    label delay of |Δ| ≥ T leaves no overlap between an input and its own label (up to the
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
        Integration step (default 1 ms); must be < tau_prop / 5.
    delay_origin : str
        Where Δ = 0 sits. ``output`` (default): when the input's forward response reaches the
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
    delay_origin: str = "output"

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
        ``model`` (``tau_prop`` if given) rounded to a whole dt, or 0 with
        ``delay_origin = "input"``."""
        if self.delay_origin == "input":
            return 0 * second
        tau = model.tau_prop if tau_prop is None else tau_prop
        return round(float((len(model.hidden) + 1) * tau / self.dt)) * self.dt

    def check_against(self, model):
        """Check dt against the model's fastest time constant (dt < tau_prop / 5) and, in the
        spiking variant, against the spike rates and the readout window."""
        if not self.dt * _MIN_DT_RATIO < model.tau_prop:
            raise ValueError(
                f"dt = {self.dt} is too coarse for tau_prop = {model.tau_prop}: the Euler "
                f"integration needs dt < tau_prop/{_MIN_DT_RATIO} "
                f"(= {model.tau_prop / _MIN_DT_RATIO})"
            )
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
    """

    epochs: int = 4
    evals_per_epoch: int = 1
    seed: int = 0
    evaluate: str = "curve"

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

    def replace(self, **changes):
        return replace(self, **changes)


def check_seed(seed, name="seed"):
    """Return ``seed`` as an int, or raise naming ``name`` unless it is an integer in [0, 2³²)
    (what NumPy's and Brian's generators take)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} = {seed!r} is not allowed; it must be an integer in "
                         f"[0, 2**32) = [0, {2**32 - 1}]")
    return int(seed)


def format_time(value):
    """Write a time as ``'50 ms'`` (below 1 s) or ``'2.5 s'``; `ctfa_brian.io` parses both."""
    seconds = float(value)
    if seconds != 0 and abs(seconds) < 1:
        return f"{seconds * 1e3:g} ms"
    return f"{seconds:g} s"


def to_jsonable(obj):
    """Turn a parameter dataclass into a dict of strings/numbers (quantities keep their unit)."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Quantity) and have_same_dimensions(value, second):
            out[f.name] = format_time(value)
        elif isinstance(value, Quantity) and have_same_dimensions(value, Hz):
            out[f.name] = f"{float(value):g} Hz"
        elif isinstance(value, Quantity):
            out[f.name] = str(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out

