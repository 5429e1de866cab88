"""Parameters of the continuous-time feedback-alignment model, with units and validation.

Defaults follow Table 1 of Bacvanski, Ziyin & Poggio, "Does feedback alignment work at
biological timescales?" (arXiv 2510.18808): tau_prop 2–30 ms, tau_pot 0.3–10 s, tau_dec minutes.

Every physical quantity is a Brian2 `Quantity`; every check raises a `ValueError` that names
the parameter, quotes the value and says what is allowed.
"""

from dataclasses import dataclass, field, replace

from brian2 import Hz, Quantity, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError, have_same_dimensions

from ctfa_brian.checks import check_choice as _choice
from ctfa_brian.checks import check_number, check_seed, check_time, format_time, to_jsonable
from ctfa_brian.schedule import DELAY_ORIGINS, EVALUATIONS, Schedule, Training

__all__ = ["ACTIVATIONS", "DELAY_ORIGINS", "ELIGIBILITY_GATES", "ERROR_SPIKES", "EVALUATIONS",
           "KP_FORMS", "LOSSES", "NEURONS", "READOUTS", "ROUTINGS", "TD_RULES", "VARIANTS",
           "ModelParameters", "Schedule", "Training", "check_seed", "check_time", "format_time",
           "to_jsonable"]

#: Values of ``ModelParameters.activation``.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
#: Values of ``ModelParameters.loss``.
LOSSES = ("cross_entropy", "squared")
#: Values of ``ModelParameters.kp_form``.
KP_FORMS = ("transpose", "literal")
#: Values of ``ModelParameters.eligibility``.
ELIGIBILITY_GATES = ("pre", "hebbian")
#: Values of ``ModelParameters.routing`` besides None (the rule's own error source).
ROUTINGS = ("td",)
#: Rules that ``routing="td"`` takes (its outcome reaches each hidden layer from the one above).
TD_RULES = ("sgd", "fa", "kp")
#: Values of ``ModelParameters.variant``.
VARIANTS = ("rate", "spiking")
#: Values of ``ModelParameters.neuron``.
NEURONS = ("lif", "poisson")
#: Values of ``ModelParameters.readout``.
READOUTS = ("count", "rate")
#: Values of ``ModelParameters.error_spikes``.
ERROR_SPIKES = ("regular", "poisson")
#: Activations a spike rate can follow (non-negative), per neuron model of the spiking variant.
_ACTIVATIONS_OF_NEURON = {"poisson": ("relu", "sigmoid"), "lif": ("relu",)}


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
    w_max : float
        Hard bound on every synaptic efficacy and bias, ``|W|, |V|, |b| ≤ w_max`` (default 10,
        ten times the largest weight of any trained network in docs/results.md): applied once
        per sample period, it stops a runaway of W and V where synapses saturate
        (docs/model.md, "Stability"). A huge value (1e300) removes the bound.
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
    routing : str or None
        ``None`` (default): the error source of the rule (error units, layerwise or direct).
        ``td``: the temporal-difference source, O'Reilly's plus − minus scheme
        (`ctfa_brian.td_equations`): each sample period is a theta cycle whose last
        ``plus_time`` is the plus phase (the outcome nudges the output by ``nudge``·∂L/∂z and
        reaches the hidden layers through V), and each neuron learns from the fast − slow
        difference of its own activity (``tau_fast``, ``tau_slow``) in the last ``gate_time``
        of the cycle. Rate variant, rules ``sgd``, ``fa`` and ``kp``, without ``tau_elig``.
    tau_fast, tau_slow : Quantity
        The two traces of ``routing="td"`` (defaults 5 ms and 30 ms; τ_fast < τ_slow).
    plus_time, gate_time : Quantity
        ``routing="td"``: the plus phase and the theta gate at the end of every sample period
        (defaults 50 ms and 50 ms: the gate spans the plus phase; gate_time ≤ plus_time <
        sample_time − buffer_time).
    nudge : float
        ``routing="td"``: the strength of the outcome in the plus phase (default 1; > 0).
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
    w_max: float = 10.0
    kp_form: str = "transpose"
    v_init: float = None
    tau_elig: Quantity = None
    eligibility: str = "pre"
    routing: str = None
    tau_fast: Quantity = field(default_factory=lambda: 5 * ms)
    tau_slow: Quantity = field(default_factory=lambda: 30 * ms)
    plus_time: Quantity = field(default_factory=lambda: 50 * ms)
    gate_time: Quantity = field(default_factory=lambda: 50 * ms)
    nudge: float = 1.0
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

        for name, choices in (("rule", tuple(RULES)), ("activation", ACTIVATIONS),
                              ("loss", LOSSES), ("kp_form", KP_FORMS),
                              ("eligibility", ELIGIBILITY_GATES), ("variant", VARIANTS),
                              ("neuron", NEURONS), ("readout", READOUTS),
                              ("error_spikes", ERROR_SPIKES)):
            _choice(name, getattr(self, name), choices)
        self._validate_spiking()
        self._validate_routing()
        if self.tau_elig is not None:
            check_time("tau_elig", self.tau_elig)
        for h in self.hidden:
            if h < 1:
                raise ValueError(f"hidden layer widths must be ≥ 1, got hidden={self.hidden}")
        for name in ("tau_prop", "tau_pot_w", "tau_pot_v", "tau_dec_w", "tau_dec_v"):
            check_time(name, getattr(self, name))
        if not (self.noise >= 0):
            raise ValueError(f"noise = {self.noise!r} is not allowed; it must be ≥ 0")
        check_number("label_smoothing", self.label_smoothing, lambda v: 0 <= v < 1,
                     "a number in [0, 1)")
        check_number("w_max", self.w_max, lambda v: 0 < v < float("inf"), "a finite number > 0")
        for fast, slow in (("tau_prop", "tau_pot_w"), ("tau_pot_w", "tau_dec_w"),
                           ("tau_prop", "tau_pot_v"), ("tau_pot_v", "tau_dec_v")):
            if not getattr(self, fast) < getattr(self, slow):
                raise ValueError(
                    f"time constants out of order: {fast} = {getattr(self, fast)} must be much "
                    f"smaller than {slow} = {getattr(self, slow)} (tau_prop ≪ tau_pot ≪ tau_dec)")

    def _validate_routing(self):
        if self.routing is None:
            return
        _choice("routing", self.routing, ROUTINGS)
        for name in ("tau_fast", "tau_slow", "plus_time", "gate_time"):
            check_time(name, getattr(self, name))
        check_number("nudge", self.nudge, lambda v: 0 < v < float("inf"), "a finite number > 0")
        if not self.tau_fast < self.tau_slow:
            raise ValueError(f"tau_fast = {format_time(self.tau_fast)} must be shorter than "
                             f"tau_slow = {format_time(self.tau_slow)} (routing = 'td')")
        if not self.gate_time <= self.plus_time:
            raise ValueError(f"gate_time = {format_time(self.gate_time)} must be ≤ plus_time = "
                             f"{format_time(self.plus_time)}: the gate closes the plus phase")
        for name, bad, why in (("variant", self.variant != "rate", "the rate variant"),
                               ("rule", self.rule not in TD_RULES,
                                f"a layerwise rule ({', '.join(TD_RULES)})"),
                               ("tau_elig", self.tau_elig is not None, "no eligibility gate")):
            if bad:
                raise ValueError(f"routing = 'td' is not allowed with {name} = "
                                 f"{getattr(self, name)!r}; it needs {why}")

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
                "label_smoothing", "w_max")}
        if self.tau_elig is not None:
            out["tau_elig"] = self.tau_elig
        if self.routing == "td":
            out.update({name: getattr(self, name) for name in
                        ("tau_fast", "tau_slow", "plus_time", "gate_time", "nudge")})
        if self.variant == "spiking":
            out["max_rate"] = self.max_rate
            if self.neuron == "lif":
                out.update(tau_m=self.tau_m, t_ref=self.t_ref)
        return out

    def replace(self, **changes):
        """Return a copy with ``changes`` applied (and validated)."""
        return replace(self, **changes)
