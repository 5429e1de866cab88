"""Single synapses of the spiking variant, many trials at once: what the overlap and
eligibility-window protocols run with ``variant = "spiking"``.

Each synapse is the package's own spiking forward synapse
(`ctfa_brian.spiking_equations.forward_pathways`) from a Poisson presynaptic neuron (rate
r_max·x(t)) to a postsynaptic cell whose signed error unit fires Poisson ``err_pos`` /
``err_neg`` spikes at r_max·[±e(t)]₊; ``eps`` is their τ_prop trace. Trials are independent
synapses (one-to-one), delays and trials laid out delay-major: synapse k·n_trials + j is trial
j of delay k. The expected changes are the rate laws:

- ungated: W changes at presynaptic spikes by −g ε̂/(r_max τ_pot), so
  E[−ΔW] τ_pot = ∫ x(t) ε̂(t) dt with ε̂ the error filtered once by τ_prop;
- gated: E jumps by 1/(r_max τ_elig) at presynaptic spikes and W changes at the error spikes
  by ∓E/(r_max τ_pot), so E[−ΔW] τ_pot = ∫ E(t) e(t) dt with E = x filtered by τ_elig.
"""

import time
from dataclasses import dataclass, field

import numpy as np
from brian2 import EventMonitor, Hz, NeuronGroup, SpikeMonitor, Synapses, TimedArray, ms, second
from brian2 import seed as brian_seed

from ctfa_brian import spiking_equations as seq
from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.outputs import run_timed

__all__ = ["POST_CELL", "SpikingCurves", "dopamine_level", "filtered", "overlap_spiking",
           "spike_circuit", "spike_times", "window_spiking"]

#: What the spiking forward synapse reads from its postsynaptic cell, plus the error drive
#: ``e`` (an expression of t, set per protocol) and the error trace ``eps``.
POST_CELL = """
dI/dt = -I/tau_prop : 1
deps/dt = -eps/tau_prop : 1
dtp/dt = learn : second
err = {error} : 1
learn : 1 (shared, constant)
tau_prop : second (shared, constant)
tau_pot_w : second (constant)
tau_dec_w : second (shared, constant)
tau_elig : second (constant)
max_rate : Hz (shared, constant)
delay : second (constant)
"""

#: Presynaptic Poisson neuron at r_max·x(t) (``x`` an expression of t, set per protocol).
PRE_CELL = """
x = {drive} : 1
max_rate : Hz (shared, constant)
"""

_NO_DECAY = 1e12 * second


def spike_circuit(name, n, drive, error, namespace, dt, max_rate, tau_prop, gated=False,
                  extra_post="", monitor=True, extra_pre="", eligibility="pre"):
    """``n`` independent spiking synapses: (pre, post, synapses, monitors).

    Parameters
    ----------
    name : str
        Prefix of the Brian2 object names.
    n : int
        Number of synapses.
    drive, error : str
        Brian2 expressions of the presynaptic activity x(t) and the signed error e(t) (in units
        of r_max; the groups' variables and ``namespace`` may be used).
    namespace : dict
    dt, max_rate, tau_prop : Quantity
    gated : bool
        The eligibility-gated synapse (``tau_elig`` of the post cell sets its trace).
    extra_post : str
        More equations of the postsynaptic cell (e.g. a dopamine trace the error follows, or
        the postsynaptic activity ``y`` the ``pre_post`` trace reads).
    monitor : bool
        Record the spikes (presynaptic and both error events).
    extra_pre : str
        More equations of the presynaptic cell (e.g. a flag in ``drive``).
    eligibility : str
        What a presynaptic spike writes into E of a gated synapse
        (`ctfa_brian.spiking_equations.forward_pathways`).

    Returns
    -------
    tuple
        ``(pre, post, syn, {"pre": SpikeMonitor, "err_pos": EventMonitor,
        "err_neg": EventMonitor})`` (an empty dict without ``monitor``).
    """
    pre = NeuronGroup(n, PRE_CELL.format(drive=drive) + extra_pre,
                      threshold="rand() < max_rate*x*dt", namespace=namespace, dt=dt,
                      name=f"{name}_pre")
    _, events, on_event = seq.error_events("poisson")
    events = {k: v.replace("drive", "err") for k, v in events.items()}
    post = NeuronGroup(n, POST_CELL.format(error=error) + extra_post, events=events,
                       method="euler", namespace=namespace, dt=dt, name=f"{name}_post")
    for event, code in on_event.items():  # in eps before the synapses read it (as the
        post.run_on_event(event, code, when="before_synapses")  # Euler step of the rate trace)
    on_pre, on_post, on_event = seq.forward_pathways(gated=gated, eligibility=eligibility)
    syn = Synapses(pre, post, seq.GATED_FORWARD_SYNAPSE if gated else seq.FORWARD_SYNAPSE,
                   on_pre=on_pre, on_post=on_post or None, on_event=on_event,
                   namespace=namespace, dt=dt, name=f"{name}_W")
    syn.connect(j="i")
    for group in (pre, post):
        group.max_rate = max_rate
    post.tau_prop = tau_prop
    post.tau_dec_w = _NO_DECAY
    post.learn = 1
    monitors = {}
    if monitor:
        monitors = {"pre": SpikeMonitor(pre, name=f"{name}_pre_spikes"),
                    "err_pos": EventMonitor(post, "err_pos", name=f"{name}_err_pos"),
                    "err_neg": EventMonitor(post, "err_neg", name=f"{name}_err_neg")}
    return pre, post, syn, monitors


def spike_times(monitor, indices, t0=0 * second):
    """``[Quantity of spike times − t0]`` of ``indices`` from a Spike/EventMonitor."""
    trains = monitor.spike_trains() if hasattr(monitor, "spike_trains") else monitor.event_trains()
    return [trains[int(k)] - t0 for k in indices]


def filtered(signal, dt, tau):
    """``signal`` (time on the first axis) through τ dy/dt = −y + signal, forward Euler as the
    spike traces are: each step decays y and adds that step's spikes (y += (signal − y) dt/τ)
    before the synapses read it."""
    signal = np.asarray(signal, float)
    out = np.empty_like(signal)
    y = np.zeros(signal.shape[1:])
    k = float(dt / tau)
    for i in range(len(signal)):
        y = y + (signal[i] - y) * k
        out[i] = y
    return out


def dopamine_level(u, dt, tau_d):
    """The burst ``u`` (steps × delays) through the dopamine trace τ_d exactly as the rate
    protocol advances it (u held over each step; τ_d = 0: D = u)."""
    D = np.zeros_like(u)
    decay = float(np.exp(-dt / tau_d)) if float(tau_d) > 0 else 0.0
    level = np.zeros(u.shape[1])
    for i in range(len(u)):
        level = u[i] + (level - u[i]) * decay
        D[i] = level
    return D


@dataclass
class SpikingCurves:
    """What a spiking single-synapse sweep computed (one value per delay).

    Attributes
    ----------
    delays : Quantity
        Delays (on the dt grid).
    curves : dict
        ``{name: Curve}`` (trials: delays × trials): the weight change (its sign as the
        protocol reports it) of the ``ungated`` and ``gated`` synapse (window: ``tau_elig`` in
        its info), and for the overlap protocol the ``overlap`` C(0) from the spike trains'
        cross-correlation (seconds).
    spikes : dict
        ``{name: {"pre": [Quantity], "err_pos": [...], "err_neg": [...]}}``: spike times of
        trial 0 of every delay, from the protocol's time origin.
    t_stop : Quantity
        End of the recorded spike trains (same origin).
    t_start : Quantity
        Their start (the run's start: ≤ 0, before the input for errors that come early).
    max_rate : Quantity
    n_trials : int
    timings : dict
    """

    delays: object = None
    curves: dict = field(default_factory=dict)
    spikes: dict = field(default_factory=dict)
    t_stop: object = None
    max_rate: object = None
    n_trials: int = 0
    timings: dict = field(default_factory=dict)
    t_start: object = field(default_factory=lambda: 0 * second)


def _objects(circuits, monitors):
    return [*(o for c in circuits.values() for o in c),
            *(m for mons in monitors.values() for m in mons.values())]


def _trial_spikes(monitors, n_delays, n_trials, t0):
    first = [k * n_trials for k in range(n_delays)]
    return {name: spike_times(mon, first, t0) for name, mon in monitors.items()}


def overlap_spiking(params, delays):
    """The overlap protocol with spikes: −ΔW(Δ) of ungated and gated spiking synapses.

    Input x = 1 on [0, T) and error e = 1 on [Δ, Δ + T) as Poisson spike trains at
    ``max_rate_hz``; ``n_trials`` synapses per delay. Laws (−ΔW τ_pot): ungated
    ∫ x ε̂ dt with ε̂ the τ_prop-filtered error (`propagated_law` with no input hop and one
    error hop), gated the `gated_law`; and the cross-correlation of the first ``cch_trials``
    trials' spike trains at lag 0, whose law is (T − |Δ|)₊ (`triangle_law`).

    ``params`` are the protocol's, validated; ``delays`` on the dt grid. Returns
    `SpikingCurves`.
    """
    import neo
    import quantities as pq

    from ctfa_brian.protocols.laws.overlap import gated_law, propagated_law, triangle_law
    from ctfa_brian.spike_analysis import overlap_at_zero

    T, dt = params["sample_time"], params["dt"]
    n_d, n_tr = len(delays), params["n_trials"]
    n = n_d * n_tr
    rate = params["max_rate_hz"] * Hz
    tau_prop = params["spike_tau_prop"]
    tau_pot = params["tau_pot_ratios"][-1] * T
    d_s = np.asarray(delays / second)
    t_on = float(max(0.0, -d_s.min())) * second
    t_end = t_on + float(max(T / second, d_s.max() + float(T / second))) * second \
        + 10 * tau_prop
    window = "int(t >= {0} - 0.5*dt)*int(t < {0} + sample_time - 0.5*dt)"
    namespace = {"t_on": t_on, "sample_time": T}
    brian_seed(params["seed"])
    start = time.perf_counter()
    circuits, monitors = {}, {}
    for name, gated in (("ungated", False), ("gated", True)):
        pre, post, syn, mons = spike_circuit(f"ovs_{name}", n, window.format("t_on"),
                                             window.format("(t_on + delay)"), namespace, dt,
                                             rate, tau_prop, gated=gated)
        post.delay = np.repeat(d_s, n_tr) * second
        post.tau_pot_w = tau_pot
        post.tau_elig = params["tau_elig"]
        circuits[name] = (pre, post, syn)
        monitors[name] = mons
    timings = run_timed("overlap_spiking_network", _objects(circuits, monitors), t_end, start)

    curves = {}
    ungated_law = np.asarray(propagated_law(delays, T, tau_prop, input_hops=0, error_hops=1)
                             / tau_pot)
    gated_law_ = np.asarray(gated_law(delays, T, params["tau_elig"]) / tau_pot)
    for name, law in (("ungated", ungated_law), ("gated", gated_law_)):
        curves[name] = Curve(-np.asarray(circuits[name][2].w[:], float).reshape(n_d, n_tr), law)
    # the overlap quantity from the spike trains themselves (elephant), per delay
    n_cch = min(params["cch_trials"], n_tr)
    stop = float(t_end / second) * pq.s
    mons = monitors["ungated"]
    pre_trains, pos_trains = mons["pre"].spike_trains(), mons["err_pos"].event_trains()
    bin_size = params["cch_bin"] / ms * pq.ms
    c0 = np.zeros((n_d, n_cch))
    for k in range(n_d):
        for j in range(n_cch):
            i = k * n_tr + j
            pre = neo.SpikeTrain(np.asarray(pre_trains[i] / second), units="s", t_stop=stop)
            pos = neo.SpikeTrain(np.asarray(pos_trains[i] / second), units="s", t_stop=stop)
            c0[k, j] = float(overlap_at_zero(pre, pos, rate=rate / Hz * pq.Hz,
                                             bin_size=bin_size).magnitude)
    curves["overlap"] = Curve(c0, np.asarray(triangle_law(delays, T) / second))
    spikes = {name: _trial_spikes(mons, n_d, n_tr, t_on) for name, mons in monitors.items()}
    return SpikingCurves(delays, curves, spikes, t_end - t_on, rate, n_tr,
                         timings, -t_on)


def window_spiking(params, delays, taus):
    """The eligibility-window protocol with spikes: ΔW(d) of gated and ungated synapses.

    The pairing is a Poisson presynaptic train at ``max_rate_hz`` for ``pairing_duration``;
    the dopamine level D(t) (the burst's pulses through τ_d, as in the rate protocol) drives
    the postsynaptic modulatory population at r_max·D(t) (``err_neg`` spikes: a reward-like,
    potentiating signal). Laws: gated ∫ E D dt/τ_pot (`window_law`), ungated ∫ x D̂ dt/τ_pot
    with D̂ the τ_prop trace of the modulatory spikes' rate (computed on the step grid).

    ``params`` are the protocol's, validated; ``delays`` the burst delays from the pairing
    onset (on the dt grid); ``taus`` the τ_elig of the gated curves (the first is the
    protocol's). Returns `SpikingCurves` with ``ungated``, ``gated`` (first τ_elig) and
    ``gated_<k>`` for the others.
    """
    from ctfa_brian.protocols.laws.window import pulse_train, window_law

    dt, P = params["dt"], params["pairing_duration"]
    dt_s = float(dt / second)
    _, offsets, on, u = pulse_train(params)
    n_total, n_d = u.shape
    n_tr = params["n_trials"]
    tau_d = params["tau_dopamine"]
    # D exactly as the rate protocol advances it (held over a step), then the spike trace's
    # expected value through τ_prop (forward Euler, as the trace is integrated)
    D = dopamine_level(u, dt, tau_d)
    rate = params["max_rate_hz"] * Hz
    tau_prop = params["spike_tau_prop"]
    tau_pot = params["tau_pot"]
    namespace = {"t_on": on * dt, "pairing": P, "stim_D": TimedArray(D, dt=dt)}
    drive = "int(t >= t_on - 0.5*dt)*int(t < t_on + pairing - 0.5*dt)"
    # Hebbian: a presynaptic spike writes E by the postsynaptic activity y (the pairing's)
    writes = "pre_post" if params.get("eligibility", "pre") == "hebbian" else "pre"
    brian_seed(params["seed"])
    start = time.perf_counter()
    names = [("ungated", False, None)] + [
        ("gated" if k == 0 else f"gated_{k}", True, tau) for k, tau in enumerate(taus)]
    circuits, monitors = {}, {}
    for name, gated, tau in names:
        recorded = name in ("ungated", "gated")  # the τ_elig checks: weights only
        pre, post, syn, mons = spike_circuit(
            f"ews_{name}", n_d * n_tr, drive, "-stim_D(t, burst)", namespace, dt, rate,
            tau_prop, gated=gated, extra_post=f"burst : integer (constant)\ny = {drive} : 1\n",
            monitor=recorded, eligibility=writes if gated else "pre")
        post.burst = np.repeat(np.arange(n_d), n_tr)
        post.tau_pot_w = tau_pot
        post.tau_elig = tau if tau is not None else 1 * second
        circuits[name] = (pre, post, syn)
        if recorded:
            monitors[name] = mons
    timings = run_timed("window_spiking_network", _objects(circuits, monitors), n_total * dt,
                        start)

    schedule = {"pairing_duration": P, "burst_rate": params["burst_rate"],
                "burst_pulses": params["burst_pulses"], "pulse_width": params["pulse_width"],
                "tau_dopamine": tau_d, "offsets": offsets}
    x = np.zeros(n_total)
    x[on:on + int(round(float(P / dt)))] = 1.0
    d_hat = filtered(D, dt, tau_prop)
    ungated_law = (x[:, None] * d_hat).sum(axis=0) * dt_s / float(tau_pot / second)
    curves = {}
    for name, gated, tau in names:
        if gated:
            law = np.asarray(window_law(delays, tau, **schedule) / second) / float(tau_pot / second)
        else:
            law = ungated_law
        curves[name] = Curve(np.asarray(circuits[name][2].w[:], float).reshape(n_d, n_tr), law,
                             {"tau_elig": tau})
    spikes = {name: _trial_spikes(mons, n_d, n_tr, on * dt) for name, mons in monitors.items()}
    return SpikingCurves(delays, curves, spikes, (n_total - on) * dt, rate, n_tr,
                         timings, -on * dt)
