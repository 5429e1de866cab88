"""The temporal-difference (plus − minus) error source of a learning network, as Brian2
equation strings (``ModelParameters(routing="td")``; rate variant, layerwise rules).

O'Reilly's scheme (GeneRec / XCAL: O'Reilly 1996; O'Reilly et al. 2012) inside the
continuous-time network. Every sample period is one theta cycle. In its **minus phase** (all
but the last ``plus_time``) the network runs forward from the input alone: its activity is the
prediction. In its **plus phase** the outcome arrives as activity: the output units are nudged
towards the target by ``−nudge · ∂L/∂z``, and the change travels down to every hidden layer
as activity, through the feedback weights V (V ≡ Wᵀ for ``sgd``, fixed random for ``fa``,
learnt for ``kp``). No neuron carries an error variable.

A neuron's activity is z + u. z is driven by its input and is what its forward synapses carry
up. u is what comes from above, σ'(a)·V(z + u)_above (at the output: the nudge), and lands on
the apical side: it is not passed forward (segregated dendrites: Guerguiev, Lillicrap &
Richards 2017; Sacramento et al. 2018). Each neuron's learning signal is the difference of a
fast and a slow trace of its own apical activity,

    τ_fast du_fast/dt = u − u_fast,   τ_slow du_slow/dt = u − u_slow,   d = u_fast − u_slow,

which the synapses consolidate only while the theta gate is open, the last ``gate_time`` of
the cycle: dW/dt = g(t) z_pre d_post / τ_pot (``eps = −d`` in the forward-synapse equation
that every routing shares, whose minus sign then ascends d: towards the outcome). Over a gate
that spans the plus phase, ∫ d dt ≈ (τ_slow − τ_fast)·Δ(z + u): the plus-phase change of the
neuron's apical activity, which at a hidden layer is σ'(a)·V·Δu_above, the error that the
rule's V carries back. The minus phase must be long against τ_slow, so that the traces have
settled on the prediction before the plus phase begins.

Two designs that did not work, measured (docs/td_network.md, "What did not work"): (1) the
outcome's change passed forward (u added to z): the plus-phase change of a hidden layer
returns to it through W and V with a loop gain of about σ'·‖V W‖, which learning drives past
1 (circles, 24 hidden, kp: blew up at τ_pot = 0.5 s, learnt nothing at 8 s). (2) the traces
taken of the whole activity z + u: while the gate is open, a weight change moves z, whose
change is itself read as a learning signal, a loop of gain ≈ ‖x‖²(τ_slow − τ_fast)/τ_pot
(digits, ‖x‖² ≈ 20: blew up at τ_pot = 0.5 and 1 s; circles, ‖x‖² ≈ 1, learnt: 0.972).
"""

from brian2 import Equations

from ctfa_brian import equations as eq

__all__ = ["TD_CONSTANTS", "TD_EPS", "TD_FEEDBACK_FIXED", "TD_FEEDBACK_PLASTIC",
           "TD_TIED_FEEDBACK", "td_feedback_plastic", "td_gate", "td_hidden_layer",
           "td_output_layer"]

#: Shared constants of a TD layer, beside those of every layer.
TD_CONSTANTS = ("tau_fast", "tau_slow", "plus_time", "gate_time", "nudge")

_TD_RATE = """
dz/dt = (-z + sigma_in)/tau_prop {noise_term} : 1
du/dt = (-u + apical)/tau_prop : 1  # what comes from above; not passed forward
du_fast/dt = (u - u_fast)/tau_fast : 1
du_slow/dt = (u - u_slow)/tau_slow : 1
eps : 1  # −(u_fast − u_slow) in the plus phase, written every step by TD_EPS
a : 1
a_in = a + b : 1
sigma_in = {sigma} : 1
dsigma_in = {dsigma} : 1
db/dt = -learn*(b/tau_dec_w + eps/tau_pot_w) : 1
learn : 1 (shared)  # the theta gate g: 1 in the last gate_time of a training cycle
train : 1 (shared)  # the plasticity of the schedule (stim_learn): 0 in frozen evaluation
plus : 1 (shared)  # 1 in the plus phase of a training cycle
tau_fast : second (shared, constant)
tau_slow : second (shared, constant)
plus_time : second (shared, constant)
gate_time : second (shared, constant)
nudge : 1 (shared, constant)
"""

#: Feedback synapse V of a TD network: it carries the activity z + u of the layer above
#: down (``m`` of the layer below); fixed (``fa``) or learnt as in Kolen–Pollack (``kp``,
#: V receives the transpose of W's update: the forward rate of the layer below times the
#: learning signal eps of the layer above).
TD_FEEDBACK_FIXED = Equations("""
v : 1 (constant)
m_post = v*(z_pre + u_pre) : 1 (summed)
""")
TD_FEEDBACK_PLASTIC = """
dv/dt = -learn_pre*(v/tau_dec_v_pre + {r}_post*eps_pre/tau_pot_v_pre) : 1 (clock-driven)
m_post = v*(z_pre + u_pre) : 1 (summed)
"""
#: ``sgd``: the forward synapses of layer l+1 carry its activity back to layer l (V ≡ Wᵀ).
TD_TIED_FEEDBACK = "m_pre = w*(z_post + u_post) : 1 (summed)"

#: Per-step code (``start`` slot, after the gate): the learning signal of a layer.
TD_EPS = "eps = -(u_fast - u_slow)*plus"

_PHASE = "(t - period*floor(t/period + 0.5*dt/period))"


def td_gate():
    """Per-step code for the shared ``train``, ``plus`` and ``learn`` (the theta gate) from
    the schedule's ``stim_learn`` and the time within the period (whole steps: a phase of
    ``plus_time`` lasts ``plus_time/dt`` steps)."""
    return ("train = stim_learn(t)\n"
            f"plus = train*int({_PHASE} >= period - plus_time - 0.5*dt)\n"
            f"learn = train*int({_PHASE} >= period - gate_time - 0.5*dt)")


def _td_equations(activation, noise):
    sigma, dsigma = eq.ACTIVATION_EXPRESSIONS[activation]
    return _TD_RATE.format(
        noise_term=eq._NOISE_TERM if noise else "",
        sigma=sigma.replace("X", "a_in"),
        dsigma=dsigma.replace("X", "a_in"),
    ) + eq._SHARED_CONSTANTS


def td_hidden_layer(activation, noise=False):
    """A hidden TD layer: ``m`` (summed from V) is V·(z + u) of the layer above, and u
    follows σ'(a)·m."""
    return Equations(_td_equations(activation, noise)
                     + "m : 1\napical = dsigma_in*m : 1\n")


def td_output_layer(loss, noise=False):
    """The output TD layer (linear): ``m`` = ∂L/∂z against the target ``y``; in the plus phase
    u follows ``−nudge·m``, towards the target."""
    return Equations(_td_equations("linear", noise) + eq._OUTPUT_ERRORS[loss]
                     + "apical = -nudge*plus*m : 1\ny : 1\ndelay : second (shared, constant)\n")


def td_feedback_plastic(kp_form):
    """Plastic TD feedback for ``kp_form`` ``transpose`` (z) or ``literal`` (a + b)."""
    return Equations(TD_FEEDBACK_PLASTIC.format(r="z" if kp_form == "transpose" else "a_in"))
