r"""The spiking variant as Brian2 equation strings: the same rules with spikes and traces.

Every rate of the rate variant (`ctfa_brian.equations`) becomes a spike train whose
*trace* — each spike adds 1/(r_max τ_prop), the trace decays with τ_prop — has the rate model's
value in expectation: a neuron firing at r_max·σ has a trace that relaxes to σ, exactly as
τ_prop dz/dt = −z + σ. ``max_rate`` r_max is the rate that stands for the value 1.

Each layer l ≥ 1 is one `NeuronGroup` holding, per index i,

- a **forward neuron** that fires ``spike`` events: leaky integrate-and-fire (``lif``, the
  default) or a rate-driven Poisson neuron (``poisson``, intensity r_max·σ(a));
- its **signed error unit**, a pair of populations that fire ``err_pos`` and ``err_neg``
  events at r_max·[g σ'(a) m]₊ and r_max·[−g σ'(a) m]₊ (signed errors need two populations: a
  spike cannot be negative). ``eps`` is their trace, positive minus negative.

.. math::

    \tau_{prop}\,\dot I_l = -I_l + \sum_{\text{pre spikes}} \frac{w}{r_{max}}\,\delta(t-t_k)
    \qquad a_l = I_l + b_l \qquad (E[I_l] = W_l^\top z_{l-1})

    \text{spike rate} = r_{max}\,\sigma(a_l) \;\; (\texttt{poisson}), \qquad
    \tau_m \dot v_m = -v_m + 1 + r_{max}\tau_m a_l,\; v_m > 1 \to v_m = 0
    \;\; (\texttt{lif})

    \tau_{prop}\,\dot m_l = -m_l + \sum_{\text{error spikes above}}
        \pm\frac{v}{r_{max}}\,\delta(t - t_k) \qquad (E[m_l] = V_l\,\epsilon_{l+1})

    \Delta w = -g\,\frac{\epsilon_{post}}{r_{max}\,\tau_{pot}} \text{ at each presynaptic
    spike} \qquad (E[\dot W] = -g\, z_{pre}\,\epsilon_{post}^\top/\tau_{pot})

**LIF as a ReLU.** With the drive 1 + r_max τ_m a the LIF fires exactly when a > 0 (where the
ReLU's threshold is), at f(a) = 1/(τ_m ln(1 + 1/(r_max τ_m a))), which lies between r_max·a
and r_max·a + 1/(2 τ_m) (a soft knee near threshold, then parallel to the ReLU). Its error gate
is the ReLU's σ'(a) = 1[a > 0]; with refractoriness t_ref the curve bends below r_max·a at
high rates.

**Encoders.** With ``lif`` neurons the input neurons are non-leaky integrate-and-fire encoders
(a phase grows at r_max·[x]₊ and fires at 1): regular spikes at exactly that rate; with
``poisson`` neurons they are Poisson (noisier: on circles' two inputs it costs accuracy,
docs/spiking.md). The two halves of every error unit are such regular encoders by default
(``error_spikes="regular"``) or Poisson (``"poisson"``; unstable in networks, see
`error_events`).
Signed inputs fire ``spike`` at r_max·[x]₊ and ``neg`` at r_max·[−x]₊; the forward synapse
counts ``neg`` with a minus sign, so one weight serves both signs.

**Output error.** At the output, m = ẑ − y (``squared``: the output's spike trace against the
target rate y·r_max) or m = softmax(a) − y (``cross_entropy``: of the output *drive*, which is
the rate variant's linear output value — the rectified spike trace cannot be a softmax logit,
the winner would be driven up forever). The output error units are not gated by σ'.

**Plasticity is event-driven.** W changes at presynaptic spikes, reading the postsynaptic
error trace *before* the spike reaches the neuron (so the expected change is the rate rule's);
V (kp) changes at the spikes of the neuron it feeds, by the same amount as the W above it at
the same events (exactly the transpose update); the gated trace E jumps at presynaptic spikes
and W then changes at the postsynaptic error spikes by ∓E/(r_max τ_pot). The passive decay
W/τ_dec is applied exactly at each update from the *plastic time* ``tp`` (dtp/dt = g), so
frozen evaluation does not decay the weights. Biases stay continuous (a tonic input learning by
the same rule).
"""

from brian2 import Equations

from ctfa_brian.equations import _SHARED_CONSTANTS as SHARED_CONSTANTS
from ctfa_brian.equations import ACTIVATION_EXPRESSIONS

__all__ = ["SOFTMAX_SUM", "FEEDBACK_FIXED", "FEEDBACK_PLASTIC", "FORWARD_SYNAPSE",
           "GATED_FORWARD_SYNAPSE", "input_neuron", "SPIKING_ACTIVATIONS",
           "error_events", "feedback_pathways", "forward_pathways", "layer_equations"]

#: σ and σ' (Brian2 expressions of ``X``) that a spike rate can follow: non-negative ones.
SPIKING_ACTIVATIONS = {k: ACTIVATION_EXPRESSIONS[k] for k in ("relu", "sigmoid")}

#: Softmax normaliser of the spiking output: the sum of exp(a − shift) over the output neurons
#: (``shift``: the log-sum-exp one step behind, as in `ctfa_brian.equations.NORMALISER`).
SOFTMAX_SUM = "total_post = exp(clip(a_in_pre - shift_post, -700, 700)) : 1 (summed)"


#: Input layer: ``z`` (the cross-faded sample, written by ``INPUT_BLEND``) is the rate in units
#: of r_max. Its neurons fire at r_max [z]₊ (and, on their ``neg`` event, at r_max [−z]₊):
#: Poisson (``poisson``) or as non-leaky integrate-and-fire encoders (``lif``: a phase that
#: grows at r_max [z]₊ fires at 1 and restarts; regular spikes at exactly that rate).
_INPUT = {
    "poisson": ("", "rand() < max_rate*clip(z, 0, inf)*dt", "",
                "rand() < max_rate*clip(-z, 0, inf)*dt", ""),
    "lif": ("dphi/dt = max_rate*clip(z, 0, inf) : 1\n", "phi > 1", "phi -= 1",
            "phi_neg > 1", "phi_neg -= 1"),
}


def input_neuron(neuron, signed=False):
    """Equations, threshold, reset, events and event code of the input layer.

    Returns
    -------
    tuple
        ``(Equations, threshold, reset, events or None, {event: code})``.
    """
    eqs, threshold, reset, neg, neg_reset = _INPUT[neuron]
    text = "z : 1\nmax_rate : Hz (shared, constant)\n" + eqs
    if not signed:
        return Equations(text), threshold, reset, None, {}
    if neuron == "lif":
        text += "dphi_neg/dt = max_rate*clip(-z, 0, inf) : 1\n"
    return Equations(text), threshold, reset, {"neg": neg}, ({"neg": neg_reset} if neg_reset
                                                              else {})


_LAYER = """
dI/dt = -I/tau_prop {noise_term} : 1
dz/dt = -z/tau_prop : 1
deps/dt = -eps/tau_prop : 1
a_in = I + b : 1
sigma_in = {sigma} : 1
dsigma_in = {dsigma} : 1
drive = learn*{gate}*m : 1
db/dt = -learn*(b/tau_dec_w + eps/tau_pot_w) : 1
dtp/dt = learn : second
learn : 1 (shared)
max_rate : Hz (shared, constant)
""" + SHARED_CONSTANTS  # the rate variant's time constants and noise amplitude

_LIF = """
dvm/dt = (-vm + 1 + max_rate*tau_m*a_in)/tau_m : 1 (unless refractory)
tau_m : second (shared, constant)
t_ref : second (shared, constant)
"""

_HIDDEN_M = "dm/dt = -m/tau_prop : 1\n"

_OUTPUT_M = {
    "squared": "m = z - y : 1\n",
    # softmax of the output drive a (the rate variant's linear output value), not of the
    # rectified spike trace: with rates ≥ 0 the cross-entropy would drive the winner up forever
    "cross_entropy": ("m = exp(clip(a_in - shift, -700, 700))/expsum - ((1 - label_smoothing)*y + "
                      "label_smoothing/N) : 1\nexpsum : 1 (linked)\nshift : 1 (linked)\n"),
}

_OUTPUT_EXTRA = """
y : 1
delay : second (shared, constant)
count : 1
"""

_NOISE_TERM = "+ noise*xi/sqrt(tau_prop)"

#: Forward-neuron threshold, reset and refractoriness per neuron model. The reset adds the
#: spike to the neuron's own trace ``z``.
_SPIKE = {
    "poisson": ("rand() < max_rate*sigma_in*dt", "z += 1/(max_rate*tau_prop)", False),
    "lif": ("vm > 1", "vm = 0\nz += 1/(max_rate*tau_prop)", "t_ref"),
}


def layer_equations(neuron, activation, output=False, loss="cross_entropy", noise=False,
                    error_spikes="regular"):
    """Equations, threshold, reset and refractory period of one spiking layer.

    Parameters
    ----------
    neuron : str
        ``lif`` or ``poisson``.
    activation : str
        Key of `SPIKING_ACTIVATIONS` (the LIF takes ``relu`` only: its f–I curve is ReLU-like).
    output : bool
        The output layer (its modulatory input is ∂L/∂z against the target ``y``).
    loss : str
        ``cross_entropy`` or ``squared`` (output layer).
    noise : bool
        White noise on the synaptic drive I (amplitude ``noise``).
    error_spikes : str
        ``regular`` (integrate-and-fire encoders) or ``poisson`` error spikes (`error_events`).

    The output error units are driven by ∂L/∂z alone (no σ' gate), as the rate variant's
    linear output units are: a silent output that should fire still gets its error.

    Returns
    -------
    tuple
        ``(Equations, threshold, reset, refractory)``; refractory is ``False`` or the name of
        the variable that holds it.
    """
    sigma, dsigma = SPIKING_ACTIVATIONS[activation]
    gate = "1.0" if output else "dsigma_in"
    text = _LAYER.format(noise_term=_NOISE_TERM if noise else "",
                         sigma=sigma.replace("X", "a_in"), dsigma=dsigma.replace("X", "a_in"),
                         gate=gate)
    if neuron == "lif":
        text += _LIF
    text += (_OUTPUT_M[loss] + _OUTPUT_EXTRA) if output else _HIDDEN_M
    text += error_events(error_spikes)[0]
    threshold, reset, refractory = _SPIKE[neuron]
    if output:
        reset += "\ncount += 1.0*int(timestep(t, dt) % period_steps >= period_steps - window_steps)"
    return Equations(text), threshold, reset, refractory


def error_events(kind="regular"):
    """The signed error unit of a layer: its events and what each does to the trace ``eps``.

    ``regular``: both halves are non-leaky integrate-and-fire encoders of [±drive]₊ (a phase
    grows at r_max·[±drive]₊ and fires at 1). ``poisson``: both halves are Poisson at that
    rate — unbiased too, but in a network the noise of the error has no restoring force along
    directions the loss does not constrain (docs/spiking.md: with the cross-entropy the
    outputs' common mode random-walks, ReLU units are absorbed at zero on one side only, and
    digits learns for an epoch, then collapses to chance with every output silent).

    Returns
    -------
    tuple
        ``(extra equations text, events, {event: code})``.
    """
    plus = "eps += 1/(max_rate*tau_prop)"
    minus = "eps -= 1/(max_rate*tau_prop)"
    if kind == "poisson":
        events = {"err_pos": "rand() < max_rate*clip(drive, 0, inf)*dt",
                  "err_neg": "rand() < max_rate*clip(-drive, 0, inf)*dt"}
        return "", events, {"err_pos": plus, "err_neg": minus}
    eqs = ("dphi_pos/dt = max_rate*clip(drive, 0, inf) : 1\n"
           "dphi_neg/dt = max_rate*clip(-drive, 0, inf) : 1\n")
    events = {"err_pos": "phi_pos > 1", "err_neg": "phi_neg > 1"}
    return eqs, events, {"err_pos": plus + "\nphi_pos -= 1", "err_neg": minus + "\nphi_neg -= 1"}


# ----------------------------------------------------------------------------------------
# Synapses
# ----------------------------------------------------------------------------------------
#: Forward synapse: the weight and the plastic time of its last update.
FORWARD_SYNAPSE = Equations("""
w : 1
tp_last : second
""")

#: Eligibility-gated forward synapse: also the trace E and the time it was last advanced.
GATED_FORWARD_SYNAPSE = Equations("""
w : 1
tp_last : second
E : 1
t_elig : second
""")

_DECAY_W = "w = w*exp(-(tp_post - tp_last)/tau_dec_w_post)\ntp_last = tp_post\n"
_DELIVER = "I_post += {sign}w/(max_rate_pre*tau_prop_post)\n"
_LEARN_PRE = "w = w {op} learn_post*eps_post/(max_rate_pre*tau_pot_w_post)\n"
_ELIG_NOW = "exp(-(t - t_elig)/tau_elig_post)"
#: What a presynaptic spike writes into the trace E (times 1/(r_max τ_elig)); ``pre_post``:
#: the postsynaptic activity ``y_post`` a single-synapse protocol imposes (rate form as above).
_ELIG_DRIVE = {"pre": "1.0", "hebbian": "(sigma_in_post - z_post)", "pre_post": "y_post"}


def forward_pathways(gated=False, eligibility="pre", signed_input=False, tied=False):
    """``on_pre``, ``on_post`` and ``on_event`` of a forward synapse W.

    Parameters
    ----------
    gated : bool
        Eligibility-gated: presynaptic spikes write E, postsynaptic error spikes consolidate it.
    eligibility : str
        ``pre``, ``hebbian`` or ``pre_post`` (the postsynaptic activity ``y_post``): what a
        presynaptic spike writes into E.
    signed_input : bool
        The presynaptic group is a signed input with a ``neg`` event (counted with a minus
        sign in the drive and in the update).
    tied : bool
        sgd: the synapse also carries the error spikes of its target back to its source's
        modulatory input ``m`` (V ≡ Wᵀ).

    Returns
    -------
    tuple of dict
        ``(on_pre, on_post, on_event)``.
    """
    on_pre, on_post, on_event = {}, {}, {}
    signs = (("pre", "+", "-", "spike"),) + ((("neg", "-", "+", "neg"),) if signed_input else ())
    for name, sign, op, event in signs:
        if gated:
            code = (f"E = E*{_ELIG_NOW} {sign} {_ELIG_DRIVE[eligibility]}"
                    "/(max_rate_pre*tau_elig_post)\nt_elig = t\n")
        else:
            code = _DECAY_W + _LEARN_PRE.format(op=op)
        on_pre[name] = code + _DELIVER.format(sign="" if sign == "+" else "-")
        on_event[name] = event
    for name, sign, event in (("epos", "-", "err_pos"), ("eneg", "+", "err_neg")):
        code = ""
        if gated:
            code += (_DECAY_W + f"w = w {sign} learn_post*E*{_ELIG_NOW}"
                     "/(max_rate_post*tau_pot_w_post)\n")
        if tied:
            code += f"m_pre {'+' if sign == '-' else '-'}= w/(max_rate_post*tau_prop_pre)\n"
        if code:
            on_post[name] = code
            on_event[name] = event
    return on_pre, on_post, on_event


#: Fixed feedback synapse V (fa, dfa): source = error units above, target = layer below.
FEEDBACK_FIXED = Equations("v : 1 (constant)")

#: Plastic feedback V (kp, direct-kp), with the plastic time of its last update.
FEEDBACK_PLASTIC = Equations("""
v : 1
tp_last : second
""")

_DECAY_V = "v = v*exp(-(tp_pre - tp_last)/tau_dec_v_pre)\ntp_last = tp_pre\n"


def feedback_pathways(plastic=False, kp_form="transpose"):
    """``on_pre``, ``on_post`` and ``on_event`` of a feedback synapse V.

    The source's error spikes add ±v/r_max to the target's modulatory input m. Plastic V
    (``transpose``) changes at the target's forward spikes by −g ε_pre/(r_max τ_pot): the same
    events and the same amount as the forward synapse above it. ``literal`` (the paper's
    eq. 1) changes at the error spikes by ∓g a_post/(r_max τ_pot).
    """
    on_pre, on_post, on_event = {}, {}, {}
    for name, sign, op, event in (("epos", "+", "-", "err_pos"), ("eneg", "-", "+", "err_neg")):
        code = f"m_post {sign}= v/(max_rate_pre*tau_prop_post)\n"
        if plastic and kp_form == "literal":
            code += _DECAY_V + f"v = v {op} learn_pre*a_in_post/(max_rate_pre*tau_pot_v_pre)\n"
        on_pre[name] = code
        on_event[name] = event
    if plastic and kp_form == "transpose":
        on_post["fwd"] = _DECAY_V + "v = v - learn_pre*eps_pre/(max_rate_post*tau_pot_v_pre)\n"
        on_event["fwd"] = "spike"
    return on_pre, on_post, on_event
