"""The eligibility-window protocol: ΔW of a paired synapse vs the delay of a modulatory burst.

This mimics Yagishita et al. 2014 (Science 345:1616, Fig. 1I–O): a spine receives a 1 s
pre/post pairing (glutamate uncaging + spikes) and a dopamine burst (optogenetic, 30 Hz × 10
pulses) at a delay d *after the onset of the pairing*; the spine enlarged only for 0.3 s ≲ d ≲
2 s (significant at +0.6 s and +1 s, absent at −1 s and +5 s). The package's eligibility gate
(`ctfa_brian.equations.GATED_FORWARD_SYNAPSE` with `~ctfa_brian.equations.eligibility_update`
``("pre")``) with τ_elig = 1 s and a dopamine trace τ_d = 200 ms (Izhikevich 2007) shows this
window; the ungated synapse (`~ctfa_brian.equations.FORWARD_SYNAPSE`) only sees the overlap.

**Reference point.** d is measured from the pairing **onset** to the burst onset, as in
Yagishita's Fig. 1K–M ("… s after STDP onset"): d = 0 means that burst and pairing start
together, d = 1 s (with the default 1 s pairing) that the burst starts as the pairing ends.
Delays measured from the end of the pairing are d − ``pairing_duration`` here.

One synapse per delay (and per τ_elig), all in one Brian2 `Network` and one ``run``:

.. math::

    x(t) = \\mathbb{1}[0 \\le t < P]
    \\qquad u(t) = \\sum_{k=0}^{n-1} \\mathbb{1}[d + k/r \\le t < d + k/r + w]

    \\tau_{elig}\\,\\dot E = -E + x \\qquad \\tau_d\\,\\dot D = -D + u

    \\dot W_{gated} = E\\,D/\\tau_{pot} \\qquad \\dot W_{ungated} = x\\,D/\\tau_{pot}

with P = ``pairing_duration``, r = ``burst_rate``, n = ``burst_pulses``, w = ``pulse_width``
(τ_d = 0: D = u, the pulses act directly). The burst is a reward-like, *positive* modulator:
in the model's sign convention (dW/dt = −E ε/τ_pot, ε the error) it is the error ε = −D, so
ΔW > 0 is potentiation. W has no passive decay here (τ_dec = 10¹² s). W is read at
``trial_duration`` after the pairing onset, when D has decayed (checked).

**Law.** E = x ∗ h_elig and D = u ∗ h_d with h_τ(t) = e^{−t/τ}/τ (t ≥ 0), so
ΔW τ_pot = ∫ E D dt = ∬ x(a) u(b) C(a − b) da db with the two-sided kernel

.. math::

    C(s) = \\frac{1}{\\tau_{elig} + \\tau_d}
           \\begin{cases} e^{-s/\\tau_d} & s \\ge 0 \\\\ e^{s/\\tau_{elig}} & s < 0 \\end{cases}

(s < 0: the pulse comes after the input, seen through the eligibility trace; s ≥ 0: the input
comes after the pulse, seen through the dopamine trace). For boxes [a₀, a₁) and [b₀, b₁) the
double integral is G(a₁−b₀) − G(a₀−b₀) − G(a₁−b₁) + G(a₀−b₁) with G'' = C:

.. math::

    G(s) = \\frac{\\tau_d\\,\\varphi_{\\tau_d}(s)\\,[s \\ge 0]
                 + \\tau_{elig}\\,\\varphi_{\\tau_{elig}}(-s)\\,[s < 0]}{\\tau_{elig} + \\tau_d},
    \\qquad \\varphi_\\tau(s) = s - \\tau\\,(1 - e^{-s/\\tau})

summed over the n pulses (`window_law`; exact, and the ungated rule is τ_elig = 0).
`fit_tau_elig` fits A · law(d; τ_elig) to a ΔW(d) curve: the amplitude A in closed form
(least squares), τ_elig by a log-spaced grid search refined by a bounded 1-D minimisation.
"""

import time

import numpy as np
from brian2 import NeuronGroup, StateMonitor, Synapses, TimedArray, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian import equations as eq
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.laws.window import _s, burst_duration, pulse_train, read_data, window_law
from ctfa_brian.protocols.outputs import run_timed, save_outputs
from ctfa_brian.protocols.spec import (
    Parameter,
    check_resolution,
    check_spike_probability,
    check_whole_steps,
    spiking_parameters,
)
from ctfa_brian.protocols.window_controls import (
    CONDITIONS,
    check_conditions,
    control_indices,
    control_law,
    control_rows,
    controls_of,
    gate,
)
from ctfa_brian.protocols.window_report import (
    NAME,
    Window,
    _summary,
    fit_data,
    plot,
    table_rows,
    traces_block,
)

__all__ = ["NAME", "PARAMETERS", "check", "run", "simulate"]

logger = get_logger(__name__)


_DEFAULT_DELAYS = tuple(v * second for v in (-2, -1, 0, 0.3, 0.6, 1, 2, 5))

PARAMETERS = {
    "pairing_duration": Parameter("time", 1 * second, "P: pre/post pairing, x = 1 on [0, P)",
                                  gt=0 * ms),
    "delays": Parameter("times", _DEFAULT_DELAYS,
                        "burst onset d, measured from the pairing ONSET (d = 0: both start "
                        "together)"),
    "burst_rate": Parameter("float", 30.0, "pulse rate of the modulatory burst, in Hz",
                            gt=0, le=10000),
    "burst_pulses": Parameter("int", 10, "number of pulses in the burst", ge=1, le=100000),
    "pulse_width": Parameter("time", 5 * ms, "duration of one pulse (u = 1 during it)",
                             gt=0 * ms),
    "tau_elig": Parameter("time", 1 * second, "eligibility trace τ_elig of the gated synapse",
                          gt=0 * ms),
    "tau_dopamine": Parameter("time", 200 * ms, "dopamine trace τ_d the pulses pass through "
                              "(0: the pulses drive W directly)", ge=0 * ms),
    "tau_pot": Parameter("time", 1 * second, "dW/dt = E D/τ_pot (sets the scale of ΔW only)",
                         gt=0 * ms),
    "trial_duration": Parameter("time", 8 * second, "W is read this long after the pairing "
                                "onset; every burst and its dopamine tail must end before",
                                gt=0 * ms),
    "tau_elig_checks": Parameter("times", (0.3 * second, 1 * second, 3 * second),
                                 "gated curves also simulated (same run) and fitted back: the "
                                 "fit's self-check", gt=0 * ms),
    "eligibility": Parameter("str", "hebbian", "what writes the trace: hebbian (x·y, the "
                             "pairing's presynaptic x times its postsynaptic activity y, as "
                             "Yagishita's pairing needed both) or pre (x alone)",
                             choices=("hebbian", "pre")),
    "conditions": Parameter("strs", tuple(CONDITIONS), "paired (the window) and Yagishita's "
                            "controls, each checked ≤ 5 % of paired at +0.6 s and +1 s",
                            choices=tuple(CONDITIONS)),
    "data": Parameter("str", "", "CSV of measured ΔW(d) to fit τ_elig to (columns delay_s,dw "
                      "or delay_ms,dw); empty: none"),
    "dt": Parameter("time", 1 * ms, "integration step (≤ pulse_width, ≤ τ_d/10; P and "
                    "pulse_width whole multiples of it)", gt=0 * ms),
    "record_dt": Parameter("time", 10 * ms, "sampling period of the saved traces", gt=0 * ms),
    **spiking_parameters("rate: one synapse per delay; spiking: Poisson pairing spikes and "
                         "modulatory spikes at max_rate·D(t) into the package's spiking "
                         "synapses, n_trials per delay", 100.0, "presynaptic rate during the "
                         "pairing (x = 1) and the modulatory rate at D = 1", 200,
                         "modulatory trace the ungated synapse reads"),
}

#: The dopamine trace must have decayed for this many τ_d before W is read.
_TAIL_TAUS = 10
_MAX_STEPS = 5_000_000
#: Passive decay of W: none in this protocol (the synapse equations need a value).
_NO_DECAY = 1e12 * second


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def check(params):
    """Check the schedule and the data file before anything is written.

    Raises
    ------
    ValueError
        An impossible schedule: a pulse as long as the gap between pulse onsets
        (``pulse_width`` ≥ 1/``burst_rate``); a burst that does not fit between its onset and
        the read-out (``delays[k]`` + burst + 10 ``tau_dopamine`` > ``trial_duration``); a
        read-out before the pairing ends. ``dt`` too coarse or not dividing ``pairing_duration``
        / ``pulse_width``; two delays on the same step; too many steps. A ``data`` file that
        is missing, lacks a column, holds a non-number or NaN, or has fewer than 3 points
        (see `read_data`). Every message names the key(s).
    """
    dt, P = params["dt"], params["pairing_duration"]
    rate, pulses, width = params["burst_rate"], params["burst_pulses"], params["pulse_width"]
    tau_d, T_trial = params["tau_dopamine"], params["trial_duration"]
    period = second / rate
    if pulses > 1 and not width < period:
        raise ValueError(f"impossible schedule: pulse_width = {format_time(width)} is not "
                         f"shorter than the gap between pulse onsets, 1/burst_rate = "
                         f"{format_time(period)} (burst_rate = {rate:g} Hz): the pulses would "
                         "merge; shorten pulse_width or lower burst_rate")
    check_resolution(dt, "pulse_width", width, 1, strict=False)
    if float(tau_d) > 0:
        check_resolution(dt, "tau_dopamine", tau_d, 10, strict=False)
    check_whole_steps(dt, pulse_width=width, pairing_duration=P)
    if params["record_dt"] < dt:
        raise ValueError(f"record_dt = {format_time(params['record_dt'])} is shorter than "
                         f"dt = {format_time(dt)}; it must be ≥ dt")
    if T_trial < P:
        raise ValueError(f"trial_duration = {format_time(T_trial)} ends before the pairing "
                         f"(pairing_duration = {format_time(P)}); W is read after the pairing")
    burst = burst_duration(params)
    tail = _TAIL_TAUS * tau_d
    k = int(np.argmax([_s(d) for d in params["delays"]]))  # the latest burst
    d = params["delays"][k]
    if d + burst + tail > T_trial:
        gap = T_trial - d
        left = (f"leaves {format_time(gap)} after its onset" if float(gap) > 0
                else "ends before its onset")
        raise ValueError(
            f"impossible schedule: the burst at delays[{k}] = {format_time(d)} is longer "
            f"than the gap to the read-out: it lasts {format_time(burst)} (burst_pulses = "
            f"{pulses} at burst_rate = {rate:g} Hz, pulse_width = {format_time(width)})"
            + (f" and its dopamine trace needs {_TAIL_TAUS} × tau_dopamine = "
               f"{format_time(tail)} more" if float(tail) else "")
            + f", but trial_duration = {format_time(T_trial)} {left}; raise "
            f"trial_duration to ≥ "
            f"{format_time(d + burst + tail)} or drop that delay")
    steps = np.round(np.asarray([float(d / dt) for d in params["delays"]])).astype(int)
    if len(set(steps.tolist())) < len(steps):
        raise ValueError(f"delays = {[format_time(d) for d in params['delays']]} has two delays "
                         f"on the same step of dt = {format_time(dt)}; remove the duplicate")
    start = min(0.0, min(_s(d) for d in params["delays"]))
    n_steps = (_s(T_trial) - start) / _s(dt)
    if n_steps > _MAX_STEPS:
        raise ValueError(f"trial_duration = {format_time(T_trial)} from the earliest delay is "
                         f"{n_steps:.3g} steps of dt = {format_time(dt)} (at most "
                         f"{_MAX_STEPS:.0e}); raise dt or shorten the schedule")
    if params["variant"] == "spiking":
        check_spike_probability(dt, params["max_rate_hz"])
        check_resolution(dt, "spike_tau_prop", params["spike_tau_prop"], 5)
        if params["data"]:
            raise ValueError("data: fitting measured ΔW(d) is done by the rate variant "
                             "(variant = 'rate'); the spiking variant has no fit")
    if params["data"]:
        read_data(params["data"])
    check_conditions(params["conditions"])
    return params


def _tau_list(params):
    main = params["tau_elig"]
    taus = [main] + [t for t in params["tau_elig_checks"] if abs(_s(t) - _s(main)) > 1e-12]
    unique = []
    for tau in taus:
        if all(abs(_s(tau) - _s(u)) > 1e-12 for u in unique):
            unique.append(tau)
    return unique


def _modulator_equations(tau_d):
    drive = "D = u : 1\n" if float(tau_d) == 0 else "D : 1\n"
    return ("u = dopamine_on*stim_u(t, burst) : 1\n" + drive + """eps = -D : 1
y = post_on*int(t >= t_on - 0.5*dt)*int(t < t_on + pairing - 0.5*dt) : 1
post_on : 1 (constant)
dopamine_on : 1 (constant)
a : 1
learn : 1 (constant)
burst : integer (constant)
tau_pot_w : second (constant)
tau_dec_w : second (constant)
tau_elig : second (constant)
""")


def _modulator(name, n, burst, params, namespace, tau_elig=None):
    dt, tau_d = params["dt"], params["tau_dopamine"]
    group = NeuronGroup(n, _modulator_equations(tau_d), namespace=namespace, dt=dt,
                        order=eq.NEURON_ORDER, name=name)
    if float(tau_d) > 0:  # exact for u held over one step
        group.run_regularly("D = u + (D - u)*exp(-dt/tau_d)", when="groups",
                            order=eq.NEURON_ORDER, name=f"{name}_dopamine")
    group.burst = burst
    group.post_on = 1
    group.dopamine_on = 1
    group.learn = 1
    group.tau_pot_w = params["tau_pot"]
    group.tau_dec_w = _NO_DECAY
    group.tau_elig = params["tau_elig"] if tau_elig is None else tau_elig
    return group


def simulate(params):
    """Simulate every synapse (gated per τ_elig and delay, ungated per delay, gated per
    control condition and control delay) in one run of the validated ``params``; return a
    `Window`."""
    dt, P = params["dt"], params["pairing_duration"]
    d_steps, offsets, on_steps, u = pulse_train(params)
    n_total, n = u.shape
    taus = _tau_list(params)
    n_tau = len(taus)
    namespace = {"t_on": on_steps * dt, "pairing": P, "tau_d": params["tau_dopamine"],
                 "stim_u": TimedArray(u, dt=dt)}
    delays = d_steps * dt
    schedule = {"pairing_duration": P, "burst_rate": params["burst_rate"],
                "burst_pulses": params["burst_pulses"], "pulse_width": params["pulse_width"],
                "tau_dopamine": params["tau_dopamine"], "offsets": offsets}
    scale = _s(params["tau_pot"])
    law = np.asarray(window_law(delays, taus[0], **schedule) / second) / scale

    start = time.perf_counter()
    # neuron 0: the pairing's presynaptic activity x; neuron 1: none (dopamine_only)
    pairing = NeuronGroup(2, "z = pre_on*int(t >= t_on - 0.5*dt)*int(t < t_on + pairing - "
                          "0.5*dt) : 1\npre_on : 1 (constant)", namespace=namespace, dt=dt,
                          order=eq.NEURON_ORDER, name="ew_pairing")
    pairing.pre_on = [1, 0]
    g_post = _modulator("ew_gated_modulator", n_tau * n, np.tile(np.arange(n), n_tau), params,
                        namespace, np.repeat([_s(t) for t in taus], n) * second)
    u_post = _modulator("ew_ungated_modulator", n, np.arange(n), params, namespace)
    g_syn = Synapses(pairing, g_post, eq.GATED_FORWARD_SYNAPSE, method="euler",
                     namespace=namespace, dt=dt, order=eq.SYNAPSE_ORDER, name="ew_gated_W")
    g_syn.connect(i=np.zeros(n_tau * n, dtype=int), j=np.arange(n_tau * n))
    # after W's update, before the modulator: E(t + dt) from x(t), exactly
    g_syn.run_regularly(eq.eligibility_update(gate(params)), when="groups",
                        order=eq.TRACE_ORDER, name="ew_eligibility")
    u_syn = Synapses(pairing, u_post, eq.FORWARD_SYNAPSE, method="euler", namespace=namespace,
                     dt=dt, order=eq.SYNAPSE_ORDER, name="ew_ungated_W")
    u_syn.connect(i=np.zeros(n, dtype=int), j=np.arange(n))
    rec = {"dt": params["record_dt"], "when": "start"}
    main = list(range(n))  # the first τ_elig is the protocol's
    monitors = {
        "gated.E": StateMonitor(g_syn, "E", record=main, **rec),
        "gated.w": StateMonitor(g_syn, "w", record=main, **rec),
        "gated.D": StateMonitor(g_post, "D", record=main, **rec),
        "ungated.w": StateMonitor(u_syn, "w", record=main, **rec),
        "pairing.x": StateMonitor(pairing, "z", record=[0], **rec),
    }
    names, ks = controls_of(params), control_indices(delays, law)
    controls = _controls(names, ks, pairing, params, namespace)
    logger.debug(f"eligibility_window: {len(g_syn) + len(u_syn)} synapses, {n_total} steps of "
                 f"{format_time(dt)}")
    timings = run_timed("eligibility_window_network", [pairing, g_post, u_post, g_syn, u_syn,
                                                       *controls, *monitors.values()],
                        n_total * dt, start)
    gated_dw = np.asarray(g_syn.w[:], float).reshape(n_tau, n)
    control_dw = np.asarray(controls[1].w[:], float).reshape(len(names), len(ks)) if names \
        else np.zeros((0, len(ks)))
    gated = [Curve(gated_dw[c], np.asarray(window_law(delays, tau, **schedule) / second) / scale,
                   {"tau_elig": tau}) for c, tau in enumerate(taus)]
    ungated = Curve(np.asarray(u_syn.w[:], float),
                    np.asarray(window_law(delays, 0 * second, **schedule) / second) / scale,
                    {"tau_elig": None})
    traces = {}
    for key, monitor in monitors.items():
        var = key.split(".")[1]
        traces[key] = {"t": monitor.t - on_steps * dt,
                       "values": np.array(getattr(monitor, "z" if var == "x" else var), float),
                       "delays": None if key == "pairing.x" else delays}
    window = Window(delays, offsets, np.array([_s(t) for t in taus]) * second, gated, ungated,
                    n_total * dt - on_steps * dt, traces, timings)
    window.controls = {"indices": ks, "curves": {
        name: Curve(control_dw[c], control_law(name, params["eligibility"], law[ks]))
        for c, name in enumerate(names)}}
    return window


def _controls(names, ks, pairing, params, namespace):
    """The control synapses: gated (protocol's τ_elig), one per condition and control delay,
    fed by the pairing's neuron 0 (x on) or 1 (x off); ``(modulator, synapses)`` or ``()``."""
    if not names:
        return ()
    flags = np.repeat(np.array([CONDITIONS[n][0] for n in names], float), len(ks), axis=0)
    post = _modulator("ew_control_modulator", len(flags), np.tile(ks, len(names)), params,
                      namespace)
    post.post_on, post.dopamine_on = flags[:, 1], flags[:, 2]
    syn = Synapses(pairing, post, eq.GATED_FORWARD_SYNAPSE, method="euler",
                   namespace=namespace, dt=params["dt"], order=eq.SYNAPSE_ORDER,
                   name="ew_control_W")
    syn.connect(i=np.where(flags[:, 0] > 0, 0, 1), j=np.arange(len(flags)))
    syn.run_regularly(eq.eligibility_update(gate(params)), when="groups", order=eq.TRACE_ORDER,
                      name="ew_control_eligibility")
    return post, syn


def run(params, out_dir):
    """Simulate, fit, and write ``table.csv``, ``eligibility_window.png`` and ``traces.nix``.

    With ``variant = "spiking"``: Poisson pairing spikes and modulatory spikes into the
    package's spiking synapses, ``n_trials`` per delay
    (`ctfa_brian.protocols._spiking_synapse.window_spiking`); writes ``table.csv``,
    ``eligibility_window.png`` and ``spikes.nix`` (one Segment per delay).

    ``params`` are validated and ``out_dir`` exists. Returns ΔW at every delay (``per_delay``),
    the Yagishita delays (``yagishita``), ``ratio_5s``, the fits (``fit.simulated``,
    ``fit.data``), ``checks``, ``passed``, ``files``, ``timings_s``.
    """
    if params["variant"] == "spiking":
        from ctfa_brian.protocols._spiking_report import run_window

        delays = pulse_train(params)[0] * params["dt"]  # on the step grid
        return run_window(params, out_dir, delays, _tau_list(params))
    window = simulate(params)
    start = time.perf_counter()
    data_fit = fit_data(params) if params["data"] else None
    results = _summary(window, params, data_fit)
    results = save_outputs(results, out_dir, {**window.timings, "fit": time.perf_counter() - start},
                           table_rows(window) + (control_rows(results["controls"])
                                                 if results["controls"] else []),
                           lambda out: plot(window, params, out / "eligibility_window.png",
                                            data_fit),
                           traces_block(window, params))
    logger.debug(f"eligibility_window: peak at {results['peak_delay_s']:g} s, ratio at +5 s "
                 f"{results['ratio_5s']}")
    return results
