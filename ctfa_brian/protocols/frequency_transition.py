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

    g(t) = 1 \\text{ if } (t - 2P\\varphi_g) \\bmod 2P < w_g, \\text{ else } 0

with P = ``phase_duration``, w_g = ``gate_width`` and φ_g = ``gate_phase``, where the gate
opens as a fraction of the cycle (default 1 − w_g/(2P): the gate closes at the cycle's end;
``theta_gate_sweep`` moves it through the cycle). In Poisson mode z is the τ_prop trace of
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

import time

import numpy as np
from brian2 import (
    Hz,
    Network,
    NeuronGroup,
    PoissonGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    TimedArray,
    ms,
    second,
)
from brian2 import seed as brian_seed
from brian2.utils.logger import get_logger

from ctfa_brian import equations as eq
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.laws.theta import cycle_law, default_gate_phase
from ctfa_brian.protocols.outputs import save_outputs
from ctfa_brian.protocols.spec import Parameter, check_resolution, check_whole_steps
from ctfa_brian.protocols.td_circuits import (
    PRE_RATE,
    RATE_SYNAPSE,
    SPIKE_ON_PRE,
    SPIKE_SYNAPSE,
    TD_SOURCE,
    TD_SOURCE_SPIKING,
    TD_SPIKING_RESET,
    TD_SPIKING_THRESHOLD,
)
from ctfa_brian.protocols.transition_report import (
    NAME,
    Transition,
    _summary,
    plot,
    table_rows,
    traces_block,
)

__all__ = ["NAME", "PARAMETERS", "check", "conditions", "gate_start", "run", "simulate"]

logger = get_logger(__name__)


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
    "gate_phase": Parameter("float", None, "where the gate opens, as a fraction of the theta "
                            "cycle 2 P (0: start of the minus phase, 0.5: start of the plus "
                            "phase; a gate past the cycle's end wraps into the next one)", ge=0,
                            lt=1, default_text="1 − gate_width/(2 phase_duration): the gate "
                            "closes at the cycle's end"),
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
#: Cycles of traces kept (the last ones of the run).
_RECORD_CYCLES = 2

# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def conditions(params):
    """Return the (f1, f2) pairs in Hz, as floats, in the order given."""
    return list(zip(params["f1_hz"], params["f2_hz"]))


def _steps(value, dt):
    return float(value / dt)


def gate_start(params, phase):
    """Return the step of the cycle at which a gate at ``phase`` opens, or raise a ValueError
    naming ``gate_phase`` unless that is a whole number of steps of dt."""
    start = phase * 2 * params["phase_duration"]
    steps = _steps(start, params["dt"])
    if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
        cycle_steps = int(round(_steps(2 * params["phase_duration"], params["dt"])))
        raise ValueError(f"gate_phase = {phase:g} is not allowed: the gate would open at "
                         f"{format_time(start)}, not a whole number of steps of dt = "
                         f"{format_time(params['dt'])}; gate_phase must be a multiple of "
                         f"1/{cycle_steps} (dt over the cycle 2·phase_duration), in [0, 1)")
    return int(round(steps))


def check(params):
    """Fill in ``mode`` from ``variant`` and ``gate_phase`` from the gate width, and check the
    parameters against each other.

    Raises
    ------
    ValueError
        ``f1_hz`` and ``f2_hz`` of different lengths or a repeated condition;
        ``tau_fast`` ≥ ``tau_slow``; ``gate_width`` > ``phase_duration``; ``dt`` not
        < τ_prop/5 or < τ_fast/5, or f_max·dt > 0.05 (dt ≪ 1/f_max); ``phase_duration``,
        ``gate_width``, ``record_dt`` or the gate's start (``gate_phase``) not a whole number
        of steps; ``record_dt`` >
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
                         f"must be ≤ phase_duration (= {format_time(P)}), so that the gate at "
                         "the cycle's end lies in the plus phase")
    for key in ("tau_prop", "tau_fast"):
        check_resolution(dt, key, params[key], _MIN_STEPS_TAU)
    f_max = max(max(f1), max(f2))
    if f_max * float(dt / second) > _MAX_RATE_DT:
        largest = format_time(_MAX_RATE_DT / f_max * second)
        raise ValueError(f"dt = {format_time(dt)} is too coarse for the highest frequency "
                         f"{f_max:g} Hz (f1_hz/f2_hz); dt must be ≪ 1/f_max: f_max·dt ≤ "
                         f"{_MAX_RATE_DT:g}, i.e. dt ≤ {largest}")
    check_whole_steps(dt, **{k: params[k] for k in ("phase_duration", "gate_width",
                                                    "record_dt")})
    if params["gate_phase"] is None:
        params["gate_phase"] = default_gate_phase(P, params["gate_width"])
    gate_start(params, params["gate_phase"])
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
def _laws(params, phases):
    """``[(gated, time-invariant)]`` expected ΔW over n_cycles, phase-major like `simulate`."""
    f_ref = params["f_ref_hz"]
    args = [params[k] for k in ("phase_duration", "gate_width", "tau_prop", "tau_fast",
                                "tau_slow", "tau_pot")]
    return [tuple(params["n_cycles"] * v
                  for v in cycle_law(a, b, *args, f_ref=f_ref, gate_phase=phase))
            for phase in phases for a, b in conditions(params)]


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def _rate_table(params, n_trials, n_gates=1):
    """(phases, synapses) rates in Hz: synapse (p·n_cond + c)·n_trials + k has condition c's
    f1, f2 (p: the gate position)."""
    pairs = np.tile(np.asarray(conditions(params), dtype=float), (n_gates, 1))
    per_synapse = np.repeat(pairs, n_trials, axis=0)  # (n, 2)
    n_phases = 2 * (params["warmup_cycles"] + params["n_cycles"])
    return np.tile(per_synapse.T, (n_phases // 2, 1))  # rows: f1, f2, f1, f2, ...


def simulate(params, gate_phases=None):
    """Simulate every condition × trial of the validated ``params`` in one Brian2 `Network`;
    compute the laws; return a `Transition`.

    ``gate_phases`` (a list of phases in [0, 1), each a whole number of steps: `gate_start`)
    puts every condition × trial at each of those gate positions in the same network, instead
    of at ``params["gate_phase"]``; the curves' rows are then phase-major (phase p, condition
    c: row p·n_conditions + c) and the traces are those of the first phase.
    """
    dt, P = params["dt"], params["phase_duration"]
    pairs = conditions(params)
    phases = tuple(gate_phases) if gate_phases is not None else (params["gate_phase"],)
    starts = [gate_start(params, phase) for phase in phases]
    n_cond, n_trials = len(pairs), params["n_trials"]
    n_rows = len(phases) * n_cond
    n = n_rows * n_trials
    cycle = 2 * P
    f_ref = params["f_ref_hz"] * Hz
    table = _rate_table(params, n_trials, len(phases))
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
        pre = NeuronGroup(n, PRE_RATE, namespace=namespace, dt=dt, order=eq.NEURON_ORDER,
                          name="ft_pre")
    if spiking:
        post = NeuronGroup(n, TD_SOURCE_SPIKING, threshold=TD_SPIKING_THRESHOLD,
                           reset=TD_SPIKING_RESET, method="euler", namespace=namespace, dt=dt,
                           order=eq.NEURON_ORDER, name="ft_post")
        # Mirror the Euler step of the rate equations: spike from z at the start of the step
        # (after the step's decay its mean is (1 − dt/τ_prop) lower), and add the spike to
        # the traces before the presynaptic spikes of the step read m (as the rate cell's
        # z_fast, z_slow already hold z(t) when W reads them). Either one-step offset biases
        # the time-invariant rule by O(dt (1/τ_fast − 1/τ_slow)) per cycle.
        post.thresholder["spike"].when = "before_groups"
        post.resetter["spike"].when = "before_synapses"
    else:
        post = NeuronGroup(n, TD_SOURCE, method="euler", namespace=namespace, dt=dt,
                           order=eq.NEURON_ORDER, name="ft_post")
    if poisson:
        syn = Synapses(pre, post, SPIKE_SYNAPSE, on_pre=SPIKE_ON_PRE, namespace=namespace,
                       dt=dt, name="ft_W")
    else:
        syn = Synapses(pre, post, RATE_SYNAPSE, method="euler", namespace=namespace, dt=dt,
                       order=eq.SYNAPSE_ORDER, name="ft_W")
    syn.connect(j="i")
    # start on the cycle mean: flat conditions are in their steady state from t = 0
    post.z = post.z_fast = post.z_slow = np.repeat([(a + b) / 2 for a, b in pairs] * len(phases),
                                                   n_trials) / params["f_ref_hz"]
    post.gate_start = np.repeat(starts, n_cond * n_trials)
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

    laws = np.asarray(_laws(params, phases))
    theta = Curve(np.asarray(syn.w[:], dtype=float).reshape(n_rows, n_trials), laws[:, 0])
    invariant = Curve(np.asarray(syn.w_invariant[:], dtype=float).reshape(n_rows, n_trials),
                      laws[:, 1])
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
    return Transition(pairs, params["mode"], theta, invariant, traces, spikes, t_record,
                      {"build": built - start, "run": finished - built}, post_spikes, phases)


def run(params, out_dir):
    """Simulate, then write ``table.csv``, ``frequency_transition.png`` and ``traces.nix``.

    ``params`` are validated and ``out_dir`` exists. Returns mean and s.e.m. of ΔW per condition
    (gated and time-invariant) with the exact law, the swapped-pair comparison of the
    time-invariant rule, ``checks``, ``passed``, ``files`` and ``timings_s`` (see `_summary`).
    """
    result = simulate(params)
    results = save_outputs(_summary(result, params), out_dir, result.timings,
                           table_rows(result),
                           lambda out: plot(result, params, out / "frequency_transition.png"),
                           traces_block(result, params))
    for entry in results["conditions"]:
        logger.debug(f"frequency_transition: {entry['condition']} Hz: ΔW = {entry['mean']:.4g} "
                     f"± {entry['sem']:.2g} (law {entry['law']:.4g})")
    return results
