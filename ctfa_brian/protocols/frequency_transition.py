"""The frequency-transition protocol: plasticity from a temporal difference over a theta cycle.

The experiment of Jang, Flores, O'Reilly & Zito (2026), the slice test of O'Reilly's theory
that the neocortex learns from an error carried *in time* by the same cells: each 200 ms theta
cycle is a minus phase (first 100 ms, the prediction) and a plus phase (second 100 ms, the
outcome), and the learning signal is plus − minus. Presynaptic stimulation at f1 for 100 ms
then f2 for 100 ms, repeated: 25→50 Hz gives LTP, 50→25 Hz gives LTD, and a flat 25→25 or
50→50 Hz profile gives no net change — the synapse follows the temporal derivative of activity,
not co-activity.

**The temporal-difference error source.** A cell's modulatory signal is the difference between
a fast and a slow trace of its own activity, so one cell carries both prediction (the slow
trace still holds the minus phase) and outcome (the fast trace has caught up with the plus
phase). Presynaptic activity x(t) = f(t)/f_ref (``mode = "rates"``) or the spike train
s(t)/f_ref (``mode = "poisson"``: a Dirac pulse per spike) drives

.. math::

    \\tau_{prop}\\,\\dot z = -z + x(t)

    \\tau_{fast}\\,\\dot z_{fast} = z - z_{fast}, \\qquad
    \\tau_{slow}\\,\\dot z_{slow} = z - z_{slow}, \\qquad m = z_{fast} - z_{slow}

    \\dot W = g(t)\\, x(t)\\, m(t) / \\tau_{pot}

    g(t) = 1 \\text{ if } (t \\bmod 2P) \\ge 2P - w_g, \\text{ else } 0

with P = ``phase_duration`` and w_g = ``gate_width``. In Poisson mode z is the τ_prop trace of
the spike train (each spike adds 1/(f_ref τ_prop), so E[z] is the rates-mode z) and each spike
adds g m/(f_ref τ_pot) to W with m *before* the spike reaches z: m depends only on earlier
spikes, so E[ΔW] is exactly the rates-mode ΔW (a pre trace in place of the spike would correlate
with m through z and bias every condition, flat ones included). The drive does not depend on W
(open loop: the slice's test pathway, read out afterwards). Sign: m = plus − minus is the
negative of the model's error ε = z − y, so dW/dt = +x m/τ_pot is the model's −x ε/τ_pot.

**Why a theta gate.** Without it (g ≡ 1: the *time-invariant* rule, simulated alongside as
``w_invariant``) the rule cannot tell 25→50 from 50→25: the two square waves are the same
periodic signal shifted by half a cycle, and the integral of a periodic function over whole
cycles does not depend on the shift; in the periodic state m has zero mean, so that rule gives
ΔW ∝ ∫ (x − x̄) m dt ∝ (f2 − f1)² — LTP for both directions. The phase of the theta rhythm must
enter. We gate consolidation to the last ``gate_width`` of each cycle — the end of the plus
phase, where O'Reilly evaluates plus − minus: there z_fast (τ_fast ≪ P) has followed the plus
phase and z_slow (τ_slow ≈ the cycle) still mostly holds the minus phase, so m ≈ plus − minus.
We chose this over comparing explicit plus- and minus-phase averages per cycle because it keeps
the rule one local continuous-time ODE using the model's existing plasticity gate g(t)
(docs/model.md): the traces *are* the running averages, and no sample-and-hold of the minus
phase across 100 ms is needed.

**Law.** The circuit is linear with piecewise-constant input, so the periodic state and the
change per cycle follow exactly from matrix exponentials (`cycle_law`). By linearity m is
proportional to f2 − f1 and in the gate x = f2/f_ref, hence ΔW per cycle is
K f2 (f2 − f1)/f_ref² with K > 0 set by the time constants: 25→50 gives LTP, 50→25 LTD of
exactly half that size, flat conditions zero. The time-invariant rule gives K' (f2 − f1)²/f_ref²
for both directions.

**Spiking variant** (``variant = "spiking"``, ``mode = "spiking"``): the postsynaptic cell
spikes too, Poisson at f_ref·z, and its own spikes write z_fast and z_slow (each adds
1/(f_ref τ)); E[ΔW] is the same law (`TD_SOURCE_SPIKING`).

Every synapse — each condition × trial — is simulated in one Brian2 `Network` (runtime
device). The first ``warmup_cycles`` cycles let the traces settle into the periodic state
(plasticity off); then W (and ``w_invariant``) start from 0 for ``n_cycles`` cycles.
"""

import csv
import time
from dataclasses import dataclass

import numpy as np
from brian2 import (
    Equations,
    Hz,
    Network,
    NeuronGroup,
    PoissonGroup,
    Quantity,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    TimedArray,
    ms,
    second,
)
from brian2 import seed as brian_seed
from brian2.utils.logger import get_logger

from ctfa_brian.io import atomic_path
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.runner import Parameter

__all__ = [
    "NAME",
    "PARAMETERS",
    "PRE_RATE",
    "RATE_SYNAPSE",
    "SPIKE_ON_PRE",
    "SPIKE_SYNAPSE",
    "TD_SOURCE",
    "TD_SOURCE_SPIKING",
    "Transition",
    "check",
    "conditions",
    "cycle_law",
    "plot",
    "run",
    "simulate",
    "traces_block",
    "write_table",
]

logger = get_logger(__name__)

NAME = "frequency_transition"

PARAMETERS = {
    "variant": Parameter("str", "rate", "rate: a rate cell (mode rates or poisson); spiking: "
                         "Poisson presynaptic spikes and a spiking postsynaptic cell whose spikes "
                         "write the TD traces (mode spiking)", choices=("rate", "spiking")),
    "mode": Parameter("str", None, "rates: the rate f(t); poisson: Poisson presynaptic spikes "
                      "at f(t), rate cell; spiking: Poisson pre spikes and a Poisson-spiking "
                      "cell at f_ref·z whose spike traces are z_fast and z_slow",
                      choices=("rates", "poisson", "spiking"),
                      default_text="rates (variant rate), spiking (variant spiking)"),
    "f1_hz": Parameter("floats", (25.0, 50.0, 25.0, 50.0),
                       "minus-phase (first half-cycle) frequency of each condition, Hz", gt=0),
    "f2_hz": Parameter("floats", (50.0, 25.0, 25.0, 50.0),
                       "plus-phase (second half-cycle) frequency of each condition, Hz", gt=0),
    "f_ref_hz": Parameter("float", 50.0, "reference frequency: activity x = f / f_ref", gt=0),
    "phase_duration": Parameter("time", 100 * ms, "P: minus and plus phase each; the theta "
                                "cycle is 2 P", gt=0 * ms),
    "n_cycles": Parameter("int", 100, "theta cycles with plasticity on", ge=1, le=100_000),
    "warmup_cycles": Parameter("int", 5, "cycles before plasticity starts (traces settle into "
                               "the periodic state)", ge=0, le=1000),
    "n_trials": Parameter("int", 20, "independent trials (synapses) per condition", ge=1,
                          le=100_000),
    "tau_prop": Parameter("time", 10 * ms, "postsynaptic activity z: rate neuron / spike trace",
                          gt=0 * ms),
    "tau_fast": Parameter("time", 30 * ms, "fast trace z_fast of z (the outcome, plus phase)",
                          gt=0 * ms),
    "tau_slow": Parameter("time", 150 * ms, "slow trace z_slow of z (the prediction, minus "
                          "phase)", gt=0 * ms),
    "tau_pot": Parameter("time", 10 * second, "potentiation time constant of W", gt=0 * ms),
    "gate_width": Parameter("time", 30 * ms, "consolidation window g = 1 at the end of each "
                            "cycle (≤ phase_duration)", gt=0 * ms),
    "dt": Parameter("time", 0.2 * ms, "integration step (< τ_prop/5, < τ_fast/5, "
                    "f_max·dt ≤ 0.05)", gt=0 * ms),
    "record_dt": Parameter("time", 1 * ms, "sampling period of the saved traces (last two "
                           "cycles)", gt=0 * ms),
    "flat_tolerance": Parameter("float", 0.1, "flat conditions (f1 = f2) must stay within this "
                                "fraction of the reference |ΔW| (25→50)", gt=0, lt=1),
    "law_tolerance": Parameter("float", 0.02, "allowed deviation of a mean from the exact law, "
                               "as a fraction of the reference law (plus 3 s.e.m.)", gt=0, lt=1),
}

#: Smallest τ_prop/dt and τ_fast/dt; largest spike probability f_max·dt per step.
_MIN_STEPS_TAU, _MAX_RATE_DT = 5, 0.05
#: Schedule inside the 'groups' slot, as in `ctfa_brian.network`: the summed drive (order 0,
#: set by Brian), synapses (W from the state at t) at 0.5, neurons at 1.
_SYNAPSE_ORDER, _NEURON_ORDER = 0.5, 1
#: Cycles of traces kept (the last ones of the run).
_RECORD_CYCLES = 2
#: Poisson n_cycles × n_trials that keeps the flat check ≈ 3 s.e.m. inside ±10 % (at 50 Hz the
#: per-cycle s.d. of ΔW is ≈ 2.7 × the 25→50 mean).
_POISSON_SIZE = 7500

# ----------------------------------------------------------------------------------------
# Equations (module-level constants; the package's equations.py is not changed)
# ----------------------------------------------------------------------------------------
#: Presynaptic rate neuron (``mode = "rates"``): x = f(t)/f_ref from a (time × synapse)
#: TimedArray ``rate_table`` that switches every phase.
PRE_RATE = Equations("""
x = rate_table(t, i)/f_ref : 1
""")

#: Postsynaptic cell with its temporal-difference error source. ``x_in`` is the summed rate
#: drive (rates mode; 0 in Poisson mode, where spikes add to z directly). ``g`` is the theta
#: gate: 1 in the last ``gate_steps`` of every ``cycle_steps``-step cycle (whole steps, so the
#: gate edges are exact). ``plus`` marks the plus phase (for the traces only).
TD_SOURCE = Equations("""
dz/dt = (x_in - z)/tau_prop : 1
dz_fast/dt = (z - z_fast)/tau_fast : 1
dz_slow/dt = (z - z_slow)/tau_slow : 1
m = z_fast - z_slow : 1
g = 1.0*int(timestep(t, dt) % cycle_steps >= cycle_steps - gate_steps) : 1
plus = 1.0*int(timestep(t, dt) % cycle_steps >= phase_steps) : 1
x_in : 1
""")

#: Spiking postsynaptic cell (``mode = "spiking"``): z (the trace of the presynaptic spikes, as
#: in Poisson mode) is the cell's drive; it fires Poisson spikes at f_ref·z, and each of its
#: spikes adds 1/(f_ref τ) to the fast and the slow trace, so E[z_fast], E[z_slow] follow the
#: rate equations of `TD_SOURCE`. m = z_fast − z_slow is now made of the cell's own spikes.
TD_SOURCE_SPIKING = Equations("""
dz/dt = (x_in - z)/tau_prop : 1
dz_fast/dt = -z_fast/tau_fast : 1
dz_slow/dt = -z_slow/tau_slow : 1
m = z_fast - z_slow : 1
g = 1.0*int(timestep(t, dt) % cycle_steps >= cycle_steps - gate_steps) : 1
plus = 1.0*int(timestep(t, dt) % cycle_steps >= phase_steps) : 1
x_in : 1
""")
#: Threshold and reset of the spiking postsynaptic cell. Its thresholder runs before the state
#: update and its reset before the synapses (`simulate`): E[spikes] = f_ref z dt with the z
#: the Euler step of `TD_SOURCE` uses, in the traces when the synapse reads m.
TD_SPIKING_THRESHOLD = "rand() < f_ref*clip(z, 0, inf)*dt"
TD_SPIKING_RESET = "z_fast += 1/(f_ref*tau_fast)\nz_slow += 1/(f_ref*tau_slow)"

#: Rate synapse: the gated rule W and, for comparison, the time-invariant rule (g ≡ 1).
RATE_SYNAPSE = Equations("""
dw/dt = g_post*x_pre*m_post/tau_pot : 1 (clock-driven)
dw_invariant/dt = x_pre*m_post/tau_pot : 1 (clock-driven)
x_in_post = x_pre : 1 (summed)
""")

#: Spike synapse (``mode = "poisson"``): W changes at each presynaptic spike (a Dirac pulse of
#: area 1/f_ref in x), with m read before the spike reaches z (`SPIKE_ON_PRE`).
SPIKE_SYNAPSE = Equations("""
w : 1
w_invariant : 1
""")

#: On each presynaptic spike: consolidate with the current m, then add the spike to z.
SPIKE_ON_PRE = """
w += g_post*m_post/(f_ref*tau_pot)
w_invariant += m_post/(f_ref*tau_pot)
z_post += 1/(f_ref*tau_prop)
"""


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def conditions(params):
    """Return the (f1, f2) pairs in Hz, as floats, in the order given."""
    return list(zip(params["f1_hz"], params["f2_hz"]))


def _steps(value, dt):
    return float(value / dt)


def _is_multiple(value, dt):
    steps = _steps(value, dt)
    return abs(steps - round(steps)) <= 1e-6 * max(1.0, steps)


def check(params):
    """Fill in ``mode`` from ``variant`` and check the parameters against each other.

    Raises
    ------
    ValueError
        ``f1_hz`` and ``f2_hz`` of different lengths or a repeated condition;
        ``tau_fast`` ≥ ``tau_slow``; ``gate_width`` > ``phase_duration``; ``dt`` not
        < τ_prop/5 or < τ_fast/5, or f_max·dt > 0.05 (dt ≪ 1/f_max); ``phase_duration``,
        ``gate_width`` or ``record_dt`` not a whole number of steps; ``record_dt`` >
        ``phase_duration``/10; ``n_trials`` < 2 in Poisson mode. Every message names the key.
    """
    if params["mode"] is None:
        params["mode"] = "spiking" if params["variant"] == "spiking" else "rates"
    if (params["mode"] == "spiking") != (params["variant"] == "spiking"):
        raise ValueError(f"mode = {params['mode']!r} does not go with variant = "
                         f"{params['variant']!r}; the spiking variant is mode 'spiking' "
                         "(leave mode out), the rate variant is mode 'rates' or 'poisson'")
    f1, f2, dt = params["f1_hz"], params["f2_hz"], params["dt"]
    P = params["phase_duration"]
    if len(f1) != len(f2):
        raise ValueError(f"f1_hz has {len(f1)} values and f2_hz has {len(f2)}; give one f1 and "
                         "one f2 per condition (same length)")
    seen = set()
    for a, b in zip(f1, f2):
        if (a, b) in seen:
            raise ValueError(f"f1_hz/f2_hz: the condition {a:g}→{b:g} Hz appears twice; list "
                             "each condition once (n_trials sets the repeats)")
        seen.add((a, b))
    if not params["tau_fast"] < params["tau_slow"]:
        raise ValueError(f"tau_fast = {format_time(params['tau_fast'])} is not allowed; it must "
                         f"be < tau_slow (= {format_time(params['tau_slow'])}), else "
                         "m = z_fast − z_slow has the wrong sign")
    if params["gate_width"] > P:
        raise ValueError(f"gate_width = {format_time(params['gate_width'])} is not allowed; it "
                         f"must be ≤ phase_duration (= {format_time(P)}) so that the gate lies "
                         "in the plus phase")
    for key in ("tau_prop", "tau_fast"):
        if not dt * _MIN_STEPS_TAU < params[key]:
            raise ValueError(f"dt = {format_time(dt)} is too coarse for {key} = "
                             f"{format_time(params[key])}; it must be < {key}/{_MIN_STEPS_TAU} "
                             f"(= {format_time(params[key] / _MIN_STEPS_TAU)})")
    f_max = max(max(f1), max(f2))
    if f_max * float(dt / second) > _MAX_RATE_DT:
        largest = format_time(_MAX_RATE_DT / f_max * second)
        raise ValueError(f"dt = {format_time(dt)} is too coarse for the highest frequency "
                         f"{f_max:g} Hz (f1_hz/f2_hz); dt must be ≪ 1/f_max: f_max·dt ≤ "
                         f"{_MAX_RATE_DT:g}, i.e. dt ≤ {largest}")
    for key in ("phase_duration", "gate_width", "record_dt"):
        if not _is_multiple(params[key], dt):
            raise ValueError(f"{key} = {format_time(params[key])} is not a whole number of "
                             f"steps of dt = {format_time(dt)}; choose a multiple of dt")
    if params["record_dt"] > P / 10:
        raise ValueError(f"record_dt = {format_time(params['record_dt'])} is too coarse; it "
                         f"must be ≤ phase_duration/10 (= {format_time(P / 10)})")
    if params["mode"] != "rates" and params["n_trials"] < 2:
        raise ValueError(f"n_trials = {params['n_trials']} is not allowed in {params['mode']} "
                         "mode; it must be ≥ 2 for a standard error")
    return params


# ----------------------------------------------------------------------------------------
# Law
# ----------------------------------------------------------------------------------------
def _seconds(value):
    return float(value / second) if isinstance(value, Quantity) else float(value)


def cycle_law(f1, f2, phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot,
              f_ref=50.0):
    """Return the exact ΔW per cycle in the periodic state: (gated, time-invariant).

    The state (z, z_fast, z_slow, W, W_invariant) obeys a linear ODE with constant input on
    each piece of the cycle (minus phase; plus phase before the gate; the gate), so one cycle
    is a product of matrix exponentials Φ. The periodic state solves s₀ = Φ s₀ (first three
    components); ΔW is what Φ adds to W from there. This is the continuous-time rates-mode
    change and also the expected Poisson-mode change.

    Parameters
    ----------
    f1, f2 : float
        Minus- and plus-phase frequency (Hz).
    phase_duration, gate_width, tau_prop, tau_fast, tau_slow, tau_pot : Quantity
    f_ref : float
        Reference frequency (Hz): x = f / f_ref.

    Returns
    -------
    tuple of float
        (ΔW per cycle with the theta gate, ΔW per cycle with g ≡ 1).
    """
    from scipy.linalg import expm

    if f1 == f2:  # constant drive from its steady state: m ≡ 0
        return 0.0, 0.0
    P, gw = _seconds(phase_duration), _seconds(gate_width)
    tp, tf, ts, tpot = (_seconds(v) for v in (tau_prop, tau_fast, tau_slow, tau_pot))

    def generator(x, g):
        A = np.zeros((6, 6))  # z, z_fast, z_slow, W, W_invariant, 1
        A[0, 0], A[0, 5] = -1 / tp, x / tp
        A[1, 0], A[1, 1] = 1 / tf, -1 / tf
        A[2, 0], A[2, 2] = 1 / ts, -1 / ts
        A[3, 1], A[3, 2] = g * x / tpot, -g * x / tpot
        A[4, 1], A[4, 2] = x / tpot, -x / tpot
        return A

    x1, x2 = f1 / f_ref, f2 / f_ref
    phi = (expm(generator(x2, 1.0) * gw) @ expm(generator(x2, 0.0) * (P - gw))
           @ expm(generator(x1, 0.0) * P))
    start = np.linalg.solve(np.eye(3) - phi[:3, :3], phi[:3, 5])
    end = phi @ np.r_[start, 0.0, 0.0, 1.0]
    return float(end[3]), float(end[4])


def _laws(params):
    f_ref = params["f_ref_hz"]
    args = [params[k] for k in ("phase_duration", "gate_width", "tau_prop", "tau_fast",
                                "tau_slow", "tau_pot")]
    return [tuple(params["n_cycles"] * v for v in cycle_law(a, b, *args, f_ref=f_ref))
            for a, b in conditions(params)]


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
@dataclass
class Transition:
    """Everything `simulate` computed.

    Attributes
    ----------
    conditions : list of tuple
        (f1, f2) in Hz.
    mode : str
    dw, dw_invariant : ndarray
        ΔW over ``n_cycles`` with the theta gate and with g ≡ 1, shape (conditions, trials).
    law, law_invariant : ndarray
        The exact expected ΔW (`cycle_law` × n_cycles), one per condition.
    traces : dict
        ``{variable: {"t": Quantity (from the first recorded cycle start), "values":
        ndarray (conditions, times)}}`` for trial 0 of each condition, last two cycles.
    spikes : list of Quantity or None
        Poisson and spiking modes: presynaptic spike times (same time origin) per condition,
        trial 0.
    t_record : Quantity
        Simulation time at which the recorded cycles start.
    timings : dict
        ``build`` and ``run`` in seconds.
    post_spikes : list of Quantity or None
        Spiking mode: the postsynaptic cell's spike times per condition, trial 0.
    """

    conditions: list
    mode: str
    dw: np.ndarray
    dw_invariant: np.ndarray
    law: np.ndarray
    law_invariant: np.ndarray
    traces: dict
    spikes: list
    t_record: Quantity
    timings: dict
    post_spikes: list = None

    def index(self, f1, f2):
        """Return the index of condition (f1, f2)."""
        return self.conditions.index((float(f1), float(f2)))


def _rate_table(params, n_trials):
    """(phases, synapses) rates in Hz: synapse c·n_trials + k has condition c's f1, f2."""
    pairs = np.asarray(conditions(params), dtype=float)
    per_synapse = np.repeat(pairs, n_trials, axis=0)  # (n, 2)
    n_phases = 2 * (params["warmup_cycles"] + params["n_cycles"])
    return np.tile(per_synapse.T, (n_phases // 2, 1))  # rows: f1, f2, f1, f2, ...


def simulate(params):
    """Simulate every condition × trial in one Brian2 `Network`; compute the laws.

    Parameters
    ----------
    params : dict
        Validated parameters (see `PARAMETERS` and `check`).

    Returns
    -------
    Transition
    """
    dt, P = params["dt"], params["phase_duration"]
    pairs = conditions(params)
    n_cond, n_trials = len(pairs), params["n_trials"]
    n = n_cond * n_trials
    cycle = 2 * P
    f_ref = params["f_ref_hz"] * Hz
    table = _rate_table(params, n_trials)
    namespace = {
        "rate_table": TimedArray(table * Hz, dt=P),
        "f_ref": f_ref,
        "tau_prop": params["tau_prop"], "tau_fast": params["tau_fast"],
        "tau_slow": params["tau_slow"], "tau_pot": params["tau_pot"],
        "cycle_steps": int(round(_steps(cycle, dt))),
        "phase_steps": int(round(_steps(P, dt))),
        "gate_steps": int(round(_steps(params["gate_width"], dt))),
    }
    poisson = params["mode"] in ("poisson", "spiking")
    spiking = params["mode"] == "spiking"
    brian_seed(params["seed"])

    start = time.perf_counter()
    if poisson:
        pre = PoissonGroup(n, rates="rate_table(t, i)", namespace=namespace, dt=dt,
                           name="ft_pre")
    else:
        pre = NeuronGroup(n, PRE_RATE, namespace=namespace, dt=dt, order=_NEURON_ORDER,
                          name="ft_pre")
    if spiking:
        post = NeuronGroup(n, TD_SOURCE_SPIKING, threshold=TD_SPIKING_THRESHOLD,
                           reset=TD_SPIKING_RESET, method="euler", namespace=namespace, dt=dt,
                           order=_NEURON_ORDER, name="ft_post")
        # Mirror the Euler step of the rate equations: spike from z at the start of the step
        # (after the step's decay its mean is (1 − dt/τ_prop) lower), and add the spike to
        # the traces before the presynaptic spikes of the step read m (as the rate cell's
        # z_fast, z_slow already hold z(t) when W reads them). Either one-step offset biases
        # the time-invariant rule by O(dt (1/τ_fast − 1/τ_slow)) per cycle.
        post.thresholder["spike"].when = "before_groups"
        post.resetter["spike"].when = "before_synapses"
    else:
        post = NeuronGroup(n, TD_SOURCE, method="euler", namespace=namespace, dt=dt,
                           order=_NEURON_ORDER, name="ft_post")
    if poisson:
        syn = Synapses(pre, post, SPIKE_SYNAPSE, on_pre=SPIKE_ON_PRE, namespace=namespace,
                       dt=dt, name="ft_W")
    else:
        syn = Synapses(pre, post, RATE_SYNAPSE, method="euler", namespace=namespace, dt=dt,
                       order=_SYNAPSE_ORDER, name="ft_W")
    syn.connect(j="i")
    # start on the cycle mean: flat conditions are in their steady state from t = 0
    post.z = post.z_fast = post.z_slow = np.repeat([(a + b) / 2 for a, b in pairs],
                                                   n_trials) / params["f_ref_hz"]
    record = [c * n_trials for c in range(n_cond)]  # trial 0 of each condition
    rec = {"dt": params["record_dt"], "when": "start"}
    monitors = {
        "post": StateMonitor(post, ["z", "z_fast", "z_slow", "m", "g", "plus", "x_in"],
                             record=record, **rec, name="ft_post_monitor"),
        "syn": StateMonitor(syn, ["w", "w_invariant"], record=record, **rec,
                            name="ft_W_monitor"),
    }
    if poisson:
        monitors["spikes"] = SpikeMonitor(pre, name="ft_spike_monitor")
    if spiking:
        monitors["post_spikes"] = SpikeMonitor(post, name="ft_post_spike_monitor")
    for monitor in monitors.values():
        monitor.active = False
    net = Network(pre, post, syn, *monitors.values(), name="frequency_transition_network")
    built = time.perf_counter()
    logger.debug(f"frequency_transition: {n} synapses ({params['mode']}), "
                 f"{params['warmup_cycles'] + params['n_cycles']} cycles of {format_time(cycle)}")
    if params["warmup_cycles"]:
        net.run(params["warmup_cycles"] * cycle, namespace={})
    syn.w = 0
    syn.w_invariant = 0
    n_record = min(_RECORD_CYCLES, params["n_cycles"])
    if params["n_cycles"] > n_record:
        net.run((params["n_cycles"] - n_record) * cycle, namespace={})
    t_record = net.t
    for monitor in monitors.values():
        monitor.active = True
    net.run(n_record * cycle, namespace={})
    finished = time.perf_counter()

    dw = np.asarray(syn.w[:], dtype=float).reshape(n_cond, n_trials)
    dw_inv = np.asarray(syn.w_invariant[:], dtype=float).reshape(n_cond, n_trials)
    laws = np.asarray(_laws(params))
    traces = {}
    post_mon, syn_mon = monitors["post"], monitors["syn"]
    for var in ("z", "z_fast", "z_slow", "m", "g", "plus", "x_in"):
        traces[var] = {"t": post_mon.t - t_record,
                       "values": np.asarray(getattr(post_mon, var), dtype=float)}
    for var in ("w", "w_invariant"):
        traces[var] = {"t": syn_mon.t - t_record,
                       "values": np.asarray(getattr(syn_mon, var), dtype=float)}
    if poisson:
        traces.pop("x_in")  # always 0: spikes reach z directly
        trains = monitors["spikes"].spike_trains()
        spikes = [trains[k] - t_record for k in record]
    else:
        spikes = None
    post_spikes = None
    if spiking:
        trains = monitors["post_spikes"].spike_trains()
        post_spikes = [trains[k] - t_record for k in record]
    return Transition(pairs, params["mode"], dw, dw_inv, laws[:, 0], laws[:, 1], traces, spikes,
                      t_record, {"build": built - start, "run": finished - built}, post_spikes)


# ----------------------------------------------------------------------------------------
# Results, table, figure, traces
# ----------------------------------------------------------------------------------------
def _label(f1, f2):
    return f"{f1:g}->{f2:g}"


def _stats(values):
    """Mean and s.e.m. over trials (last axis); the s.e.m. is exactly 0 for identical trials."""
    n = values.shape[-1]
    mean = values.mean(axis=-1)
    if n < 2:
        return mean, np.zeros_like(mean)
    identical = np.all(values == values[..., :1], axis=-1)
    mean = np.where(identical, values[..., 0], mean)
    return mean, np.where(identical, 0.0, values.std(axis=-1, ddof=1) / np.sqrt(n))


def _reference(pairs, values):
    """Index of the reference condition: the rising one (f2 > f1) with the largest |value|."""
    rising = [k for k, (a, b) in enumerate(pairs) if b > a]
    pool = rising or [k for k, (a, b) in enumerate(pairs) if a != b]
    if not pool:
        return None
    return max(pool, key=lambda k: abs(values[k]))


def _note(params):
    if params["mode"] == "rates":
        return "rates mode is deterministic: every trial is identical and the s.e.m. is 0"
    note = (f"{params['mode']} mode: mean ± s.e.m. over independent trials (seeded)"
            + ("; the TD traces are made of the postsynaptic cell's own spikes"
               if params["mode"] == "spiking" else ""))
    size = params["n_cycles"] * params["n_trials"]
    if size < _POISSON_SIZE:
        note += (f"; n_cycles × n_trials = {size} < {_POISSON_SIZE}: the s.e.m. of a 50→50 "
                 "mean is then more than ~3 % of the 25→50 mean and the ±10 % flat check can "
                 "fail by chance (docs/protocols/frequency_transition.md)")
    return note


def _summary(result, params):
    pairs = result.conditions
    mean, sem = _stats(result.dw)
    mean_inv, sem_inv = _stats(result.dw_invariant)
    n_cycles = params["n_cycles"]
    ref = _reference(pairs, result.law)
    ref_mag = abs(mean[ref]) if ref is not None else None
    ref_law = abs(result.law[ref]) if ref is not None else None
    tol_flat, tol_law = params["flat_tolerance"], params["law_tolerance"]
    per_condition = []
    for k, (a, b) in enumerate(pairs):
        entry = {
            "condition": _label(a, b), "f1_hz": a, "f2_hz": b,
            "direction": "rise" if b > a else "fall" if b < a else "flat",
            "mean": float(mean[k]), "sem": float(sem[k]),
            "law": float(result.law[k]),
            "mean_per_cycle": float(mean[k] / n_cycles),
            "time_invariant_mean": float(mean_inv[k]), "time_invariant_sem": float(sem_inv[k]),
            "time_invariant_law": float(result.law_invariant[k]),
        }
        if ref_mag:
            entry["relative_to_reference"] = float(mean[k] / ref_mag)
        entry["deviation_from_law_in_sem"] = (float((mean[k] - result.law[k]) / sem[k])
                                              if sem[k] > 0 else None)
        per_condition.append(entry)
    checks = {}
    rise = [e for e in per_condition if e["direction"] == "rise"]
    fall = [e for e in per_condition if e["direction"] == "fall"]
    flat = [e for e in per_condition if e["direction"] == "flat"]
    if rise:
        checks["ltp_when_rate_rises"] = all(e["mean"] > 0 for e in rise)
    if fall:
        checks["ltd_when_rate_falls"] = all(e["mean"] < 0 for e in fall)
    if flat and ref_mag:
        checks["flat_within_tolerance"] = all(abs(e["mean"]) <= tol_flat * ref_mag
                                              for e in flat)
    if ref_law:
        checks["matches_law"] = all(abs(e["mean"] - e["law"]) <= tol_law * ref_law + 3 * e["sem"]
                                    for e in per_condition)
    swaps = []
    for k, (a, b) in enumerate(pairs):
        if a < b and (b, a) in pairs:
            j = pairs.index((b, a))
            spread = abs(mean_inv[k] - mean_inv[j])
            allowed = (tol_law * max(abs(mean_inv[k]), abs(mean_inv[j]))
                       + 3 * float(np.hypot(sem_inv[k], sem_inv[j])))
            swaps.append({
                "rise": _label(a, b), "fall": _label(b, a),
                "gated_rise": float(mean[k]), "gated_fall": float(mean[j]),
                "time_invariant_rise": float(mean_inv[k]),
                "time_invariant_fall": float(mean_inv[j]),
                "time_invariant_ratio": float(mean_inv[j] / mean_inv[k]) if mean_inv[k] else None,
                "time_invariant_same": bool(spread <= allowed
                                            and np.sign(mean_inv[k]) == np.sign(mean_inv[j])),
            })
    if swaps:
        checks["time_invariant_rule_cannot_tell_direction"] = all(s["time_invariant_same"]
                                                                  for s in swaps)
    checks = {k: bool(v) for k, v in checks.items()}
    return {
        "protocol": NAME,
        "mode": params["mode"],
        "n_trials": params["n_trials"],
        "n_cycles": n_cycles,
        "trials_identical": params["mode"] == "rates",
        "note": _note(params),
        "sign": "ΔW > 0 is LTP; dW/dt = g(t) x m / tau_pot with m = z_fast - z_slow "
                "(plus - minus); the time-invariant rule has g ≡ 1",
        "cycle": format_time(2 * params["phase_duration"]),
        "reference": _label(*pairs[ref]) if ref is not None else None,
        "flat_tolerance_percent": 100 * tol_flat,
        "conditions": per_condition,
        "time_invariant": swaps,
        "checks": checks,
        "passed": all(checks.values()),
    }


def write_table(result, path):
    """Write one row per condition and trial (CSV; ΔW dimensionless, law = expected ΔW)."""
    fields = ["condition", "f1_hz", "f2_hz", "mode", "trial", "dw", "dw_law", "dw_invariant",
              "dw_invariant_law"]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for c, (a, b) in enumerate(result.conditions):
            for k in range(result.dw.shape[1]):
                writer.writerow({
                    "condition": _label(a, b), "f1_hz": f"{a:g}", "f2_hz": f"{b:g}",
                    "mode": result.mode, "trial": k,
                    "dw": f"{result.dw[c, k]:.10g}", "dw_law": f"{result.law[c]:.10g}",
                    "dw_invariant": f"{result.dw_invariant[c, k]:.10g}",
                    "dw_invariant_law": f"{result.law_invariant[c]:.10g}",
                })
    return path


def plot(result, params, path):
    """Bars of mean ± s.e.m. per condition (gated and time-invariant) and example traces."""
    from matplotlib.figure import Figure

    pairs = result.conditions
    labels = [f"{a:g}→{b:g}" for a, b in pairs]
    mean, sem = _stats(result.dw)
    mean_inv, sem_inv = _stats(result.dw_invariant)
    fig = Figure(figsize=(11, 8), layout="constrained")
    grid = fig.add_gridspec(2, 2)
    ax_gated, ax_inv = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    x = np.arange(len(pairs))
    colours = ["C3" if b > a else "C0" if b < a else "0.6" for a, b in pairs]
    for ax, m, s, law, title in (
            (ax_gated, mean, sem, result.law, "theta-gated TD rule (gate at the cycle's end)"),
            (ax_inv, mean_inv, sem_inv, result.law_invariant, "time-invariant rule (g ≡ 1)")):
        ax.bar(x, m, yerr=s, color=colours, capsize=4, label="simulation, mean ± s.e.m.")
        ax.plot(x, law, "k_", ms=22, mew=2, label="exact law (expected ΔW)")
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_xticks(x, labels)
        ax.set_xlabel("f1 → f2 (Hz), minus → plus phase")
        ax.set_ylabel(f"ΔW after {params['n_cycles']} cycles")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    ref = _reference(pairs, result.law)
    if ref is not None:
        band = params["flat_tolerance"] * abs(mean[ref])
        ax_gated.axhspan(-band, band, color="0.9", zorder=0,
                         label=f"±{100 * params['flat_tolerance']:g} % of {labels[ref]}")
        ax_gated.legend(fontsize=7)
    examples = [k for k, (a, b) in enumerate(pairs) if a != b][:2] or [0]
    P_ms = float(params["phase_duration"] / ms)
    gw_ms = float(params["gate_width"] / ms)
    for col, k in enumerate(examples):
        ax = fig.add_subplot(grid[1, col])
        t = np.asarray(result.traces["z"]["t"] / ms)
        for var, style in (("z", "-"), ("z_fast", "-"), ("z_slow", "-"), ("m", "--")):
            ax.plot(t, result.traces[var]["values"][k], style, lw=1.2, label=var)
        cycle_ms = 2 * P_ms
        n_shown = int(round((t[-1] + float(params["record_dt"] / ms)) / cycle_ms))
        for c in range(n_shown):
            ax.axvspan((c + 1) * cycle_ms - gw_ms, (c + 1) * cycle_ms, color="C2", alpha=0.15,
                       label="gate g = 1" if c == 0 else None)
            ax.axvline(c * cycle_ms + P_ms, color="0.7", lw=0.6, ls=":")
        if result.spikes is not None:
            s = np.asarray(result.spikes[k] / ms)
            ax.plot(s, np.full_like(s, -0.25), "|", color="k", ms=6, label="pre spikes")
        if result.post_spikes is not None:
            s = np.asarray(result.post_spikes[k] / ms)
            ax.plot(s, np.full_like(s, -0.45), "|", color="C4", ms=6, label="post spikes")
        ax.axhline(0, color="0.8", lw=0.5)
        a, b = pairs[k]
        ax.set_title(f"{a:g}→{b:g} Hz, trial 0: minus | plus phase (last cycles)", fontsize=10)
        ax.set_xlabel("time from the start of the recorded cycles (ms)")
        ax.set_ylabel("activity (f / f_ref)")
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.3 * (high - low))  # room for the legend
        ax.legend(fontsize=7, ncol=6, loc="upper left")
    fig.suptitle(f"Frequency transitions over a {format_time(2 * params['phase_duration'])} "
                 f"theta cycle ({result.mode}; {params['n_trials']} trials; τ_fast = "
                 f"{format_time(params['tau_fast'])}, τ_slow = {format_time(params['tau_slow'])}"
                 f", gate {format_time(params['gate_width'])})", fontsize=10)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return path


def traces_block(result, params):
    """Put the recorded traces into a `neo.Block`.

    Returns
    -------
    neo.Block
        One dimensionless `neo.AnalogSignal` per variable (``z``, ``z_fast``, ``z_slow``,
        ``m``, ``g``, ``plus``, ``w``, ``w_invariant``, and ``x_in`` in rates mode), one
        channel per condition (trial 0), time from the start of the last two cycles; channel
        annotations ``condition``, ``f1_hz``, ``f2_hz``. Poisson mode adds one `neo.SpikeTrain`
        of presynaptic spikes per condition. Block annotations hold the parameters, unit in the
        key (``phase_duration_ms``, ``tau_pot_s``).
    """
    import neo
    import quantities as pq

    from ctfa_brian.neo_io import protocol_annotations

    annotations = protocol_annotations(params, protocol=NAME,
                                       t_record_ms=float(result.t_record / ms))
    block = neo.Block(name="ctfa_brian frequency_transition",
                      description="frequency_transition protocol: TD source and weight traces "
                                  "over the last two theta cycles (trial 0 of each condition)",
                      **annotations)
    segment = neo.Segment(name="frequency_transition")
    block.segments.append(segment)
    pairs = result.conditions
    channel_annotations = {"condition": np.array([_label(a, b) for a, b in pairs]),
                           "f1_hz": np.array([a for a, _ in pairs], dtype=float),
                           "f2_hz": np.array([b for _, b in pairs], dtype=float)}
    for var, trace in result.traces.items():
        t_ms = np.asarray(trace["t"] / ms)
        segment.analogsignals.append(neo.AnalogSignal(
            np.asarray(trace["values"], float).T, units=pq.dimensionless,
            sampling_period=float(params["record_dt"] / ms) * pq.ms,
            t_start=float(t_ms[0]) * pq.ms, name=var,
            array_annotations=dict(channel_annotations), variable=var))
    if result.spikes is not None:
        t_stop = float(len(result.traces["z"]["t"]) * params["record_dt"] / ms)
        for (a, b), spikes in zip(pairs, result.spikes):
            segment.spiketrains.append(neo.SpikeTrain(
                np.asarray(spikes / ms), units=pq.ms, t_start=0 * pq.ms, t_stop=t_stop * pq.ms,
                name=f"pre {_label(a, b)}", condition=_label(a, b), f1_hz=a, f2_hz=b,
                population="pre"))
    for (a, b), spikes in zip(pairs, result.post_spikes or ()):
        segment.spiketrains.append(neo.SpikeTrain(
            np.asarray(spikes / ms), units=pq.ms, t_start=0 * pq.ms, t_stop=t_stop * pq.ms,
            name=f"post {_label(a, b)}", condition=_label(a, b), f1_hz=a, f2_hz=b,
            population="post"))
    block.check_relationships()
    return block


def run(params, out_dir):
    """Simulate, then write ``table.csv``, ``frequency_transition.png`` and ``traces.nix``.

    Parameters
    ----------
    params : dict
        Validated parameters.
    out_dir : Path
        Existing output directory.

    Returns
    -------
    dict
        Mean and s.e.m. of ΔW per condition (gated and time-invariant) with the exact law,
        the swapped-pair comparison of the time-invariant rule, ``checks``, ``passed``,
        ``files`` and ``timings_s`` (see `_summary`).
    """
    from pathlib import Path

    from ctfa_brian.neo_io import neo_suffix, save_neo

    out_dir = Path(out_dir)
    result = simulate(params)
    results = _summary(result, params)
    start = time.perf_counter()
    files = {"table": write_table(result, out_dir / "table.csv"),
             "figure": plot(result, params, out_dir / "frequency_transition.png"),
             "traces": save_neo(traces_block(result, params), out_dir / f"traces{neo_suffix()}")}
    results["files"] = {k: str(v) for k, v in files.items()}
    results["timings_s"] = {**result.timings, "write": time.perf_counter() - start}
    for entry in results["conditions"]:
        logger.debug(f"frequency_transition: {entry['condition']} Hz: ΔW = {entry['mean']:.4g} "
                     f"± {entry['sem']:.2g} (law {entry['law']:.4g})")
    return results
