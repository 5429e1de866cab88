"""The model as Brian2 equation strings (rate variant, paper eq. 1). No groups are built here.

Each layer l ≥ 1 is one `NeuronGroup` that holds, per index i, a rate neuron ``z`` and its
error unit ``eps`` (a one-to-one pairing of two populations). Forward synapses W carry
``z`` up and learn; feedback synapses V carry ``eps`` down.

.. math::

    \\tau_{prop}\\,\\dot z_l = -z_l + \\sigma(a_l + b_l) + \\text{noise}

    \\tau_{prop}\\,\\dot \\epsilon_l = -\\epsilon_l + g(t)\\,\\sigma'(a_l + b_l)\\, m_l

    \\dot W_l = -g(t)\\left(\\frac{W_l}{\\tau^W_{dec}}
              + \\frac{z_{l-1}\\epsilon_l^\\top}{\\tau^W_{pot}}\\right)

with a_l = W_l^T z_{l-1} (a summed variable), m_l the modulatory drive (V ε from above, or the
output error ∂L/∂z_L at the output layer) and g(t) ∈ [0, 1] the plasticity gate: 0 during
frozen evaluation, where the error is clamped to zero and W, V stop changing; 1 while
training, falling towards ``Training.anneal_to`` over the last epoch.
The bias b is the weight from a unit of constant rate 1, learned by the same rule.

Signs: with e = z_L − y both the W and the V updates carry a minus sign, so the dynamics
descend the loss.
"""

from brian2 import Equations

__all__ = ["NEURON_ORDER", "SYNAPSE_ORDER", "TRACE_ORDER", "ACTIVATION_EXPRESSIONS",
           "FEEDBACK_FIXED", "FEEDBACK_PLASTIC", "ELIGIBILITY_DRIVES",
           "FORWARD_SYNAPSE", "GATED_FORWARD_SYNAPSE", "INPUT_BLEND", "INPUT_NEURON",
           "NORMALISER", "SOFTMAX_SHIFT", "SOFTMAX_SUM", "TIED_FEEDBACK",
           "eligibility_update", "hidden_layer", "output_layer", "target_blend"]

#: The order of one step inside Brian's 'groups' slot, for every circuit of the package:
#: summed variables update at (target order − 1) = 0 (Brian's rule), synapses (W, V) at 0.5,
#: eligibility traces at 0.75, neurons at 1 — so every derivative is taken from the state at t
#: (forward Euler in one consistent order; `ctfa_brian.reference` follows it).
SYNAPSE_ORDER = 0.5
TRACE_ORDER = 0.75
NEURON_ORDER = 1

#: σ(x) and σ'(x) as Brian2 expressions of the placeholder ``X``.
ACTIVATION_EXPRESSIONS = {
    "relu": ("X*int(X > 0)", "1.0*int(X > 0)"),
    "tanh": ("tanh(X)", "1 - tanh(X)**2"),
    "sigmoid": ("1/(1 + exp(-X))", "exp(-X)/(1 + exp(-X))**2"),
    "linear": ("X", "1.0"),
}

#: Input layer: the rate is written every step by `INPUT_BLEND` from a 2-D TimedArray.
INPUT_NEURON = Equations("""
z : 1
""")

#: Raised-cosine cross-fade from the previous sample (row k-1) to the current one (row k).
#: ``phase`` is the time since the period began; the ramp is over after ``buffer_time``.
INPUT_BLEND = (
    "z = stim_x(t, i) + (stim_x(t - period, i) - stim_x(t, i)) * "
    "0.5*(1 + cos(pi*clip((t - period*floor(t/period + 0.5*dt/period))/buffer_time, 0, 1)))"
)

_RATE = """
dz/dt = (-z + sigma_in)/tau_prop {noise_term} : 1
deps/dt = (-eps + learn*dsigma_in*m)/tau_prop : 1
a : 1
a_in = a + b : 1
sigma_in = {sigma} : 1
dsigma_in = {dsigma} : 1
db/dt = -learn*(b/tau_dec_w + eps/tau_pot_w) : 1
learn : 1 (shared)  # the plasticity gate g, written every step from stim_learn
"""

_NOISE_TERM = "+ noise*xi/sqrt(tau_prop)"

_SHARED_CONSTANTS = """
tau_prop : second (shared, constant)
tau_pot_w : second (shared, constant)
tau_dec_w : second (shared, constant)
tau_pot_v : second (shared, constant)
tau_dec_v : second (shared, constant)
tau_elig : second (shared, constant)
noise : 1 (shared, constant)
label_smoothing : 1 (shared, constant)
w_max : 1 (shared, constant)
"""


def _rate_equations(activation, noise):
    sigma, dsigma = ACTIVATION_EXPRESSIONS[activation]
    return _RATE.format(
        noise_term=_NOISE_TERM if noise else "",
        sigma=sigma.replace("X", "a_in"),
        dsigma=dsigma.replace("X", "a_in"),
    ) + _SHARED_CONSTANTS


def hidden_layer(activation, noise=False):
    """Equations of a hidden layer; ``m`` is summed from the feedback synapses.

    Parameters
    ----------
    activation : str
        Key of `ACTIVATION_EXPRESSIONS`.
    noise : bool
        Include the white-noise term (amplitude set by the ``noise`` variable).
    """
    return Equations(_rate_equations(activation, noise) + "m : 1\n")


_OUTPUT_ERRORS = {
    # e = ∂L/∂z_L for L = ½‖z − y‖²
    "squared": "m = z - y : 1\n",
    # e = softmax(z) − y for the cross-entropy of softmax(z); expsum = Σ exp(z − shift) is
    # summed over the outputs, shift is the log-sum-exp of the step before (see NORMALISER)
    # against the smoothed target (1 − α) y + α/K (Szegedy et al. 2016), whose finite optimum
    # gives the logits a restoring force (α = label_smoothing, K = N output units)
    "cross_entropy": ("m = exp(clip(z - shift, -700, 700))/expsum - ((1 - label_smoothing)*y"
                      " + label_smoothing/N) : 1\nexpsum : 1 (linked)\nshift : 1 (linked)\n"),
}


def output_layer(loss, activation="linear", noise=False):
    """Equations of the output layer: its error units are driven by ∂L/∂z_L against ``y``.

    ``y`` is the (delayed) target, written every step by `target_blend`.
    """
    return Equations(
        _rate_equations(activation, noise) + _OUTPUT_ERRORS[loss]
        + "y : 1\ndelay : second (shared, constant)\n"
    )


def target_blend(buffer, gate="learn = stim_learn(t)"):
    """Code that writes the plasticity gate (``gate``) and the target delayed by ``delay``
    (same cross-fade as the input)."""
    fade = (
        " + (stim_y(t - delay - period, i) - stim_y(t - delay, i)) * 0.5*(1 + cos(pi*clip("
        "(t - delay - period*floor((t - delay)/period + 0.5*dt/period))/buffer_time, 0, 1)))"
    )
    return f"{gate}\ny = stim_y(t - delay, i)" + (fade if buffer else "")


#: Softmax normaliser: a one-unit group that sums exp(z − shift) over the outputs (the output
#: layer links its ``expsum`` to ``total`` and its ``shift`` to ``shift``). ``shift`` follows
#: the log-sum-exp of the outputs one step behind (`SOFTMAX_SHIFT`, run at the end of every
#: step), so exp never overflows however large the logits grow: the numerically stable
#: softmax, exp(z − c)/Σ exp(z − c) for a running c, which equals exp(z)/Σ exp(z). The
#: exponent is clipped to ±700 (e^700 ≈ 10³⁰⁴): should the logits jump by more than that
#: within one step, the step's softmax is that of the clipped values (still a distribution,
#: never inf/inf) and ``shift`` catches up at the end of the step.
NORMALISER = Equations("""
total : 1
shift : 1
""")
SOFTMAX_SUM = "total_post = exp(clip(z_pre - shift_post, -700, 700)) : 1 (summed)"
SOFTMAX_SHIFT = "shift = shift + log(total)"

#: Forward synapse W from layer l-1 to layer l; its time constants are those of the layer it
#: drives (so one value per layer serves W and the bias).
FORWARD_SYNAPSE = Equations("""
dw/dt = -learn_post*(w/tau_dec_w_post + z_pre*eps_post/tau_pot_w_post) : 1 (clock-driven)
a_post = w*z_pre : 1 (summed)
""")

#: Eligibility-gated forward synapse: the presynaptic rate writes a per-synapse trace E, and
#: the modulatory drive of the postsynaptic neuron consolidates E into W (not z_pre itself).
#: E is advanced by `eligibility_update` (exact for a rate held over one step).
GATED_FORWARD_SYNAPSE = Equations("""
dw/dt = -learn_post*(w/tau_dec_w_post + E*eps_post/tau_pot_w_post) : 1 (clock-driven)
a_post = w*z_pre : 1 (summed)
E : 1
""")

#: What writes the trace: the presynaptic rate, or (``hebbian``) the presynaptic rate times
#: the postsynaptic rate of change, τ_prop dz_post/dt = σ(a_post) − z_post, or (``pre_post``,
#: single-synapse protocols whose postsynaptic activity is imposed, e.g. Yagishita's pairing)
#: the presynaptic rate times the postsynaptic activity ``y_post``.
ELIGIBILITY_DRIVES = {
    "pre": "z_pre",
    "hebbian": "z_pre*(sigma_in_post - z_post)",
    "pre_post": "z_pre*y_post",
}


def eligibility_update(gate):
    """Per-step code for τ_elig dE/dt = −E + drive: E relaxes toward the drive exactly."""
    drive = ELIGIBILITY_DRIVES[gate]
    return f"E = {drive} + (E - {drive})*exp(-dt/tau_elig_post)"


#: SGD: the forward synapses of layer l+1 also carry ε_{l+1} back to layer l (V ≡ W^T).
TIED_FEEDBACK = "m_pre = w*eps_post : 1 (summed)"

#: Fixed feedback synapse V (fa, dfa): source = error units above, target = layer below.
FEEDBACK_FIXED = Equations("""
v : 1 (constant)
m_post = v*eps_pre : 1 (summed)
""")

#: Plastic feedback V (kp, direct-kp). ``r_post`` is z (Kolen–Pollack transpose form) or the
#: pre-activation a + b (the paper's literal eq. 1). Time constants: those of the source layer.
FEEDBACK_PLASTIC = """
dv/dt = -learn_pre*(v/tau_dec_v_pre + {r}_post*eps_pre/tau_pot_v_pre) : 1 (clock-driven)
m_post = v*eps_pre : 1 (summed)
"""


#: Hard bounds on synaptic efficacy (and on the bias): W, V and b are clipped to ±w_max once
#: every sample period. A learning loop whose objective keeps improving with the gain (a
#: label that can only be met by answering faster, docs/model.md "Stability") makes W and V
#: grow exponentially; the bound stops them where a synapse saturates, so the network stays
#: finite and shows what it learnt (chance) instead of NaN. Trained weights stay far inside it.
BOUND_FORWARD = "w = clip(w, -w_max_post, w_max_post)"
BOUND_FEEDBACK = "v = clip(v, -w_max_pre, w_max_pre)"
BOUND_BIAS = "b = clip(b, -w_max, w_max)"


def feedback_plastic(kp_form):
    """Equations of plastic V for ``kp_form`` ``transpose`` (uses z) or ``literal`` (a + b)."""
    return Equations(FEEDBACK_PLASTIC.format(r="z" if kp_form == "transpose" else "a_in"))
