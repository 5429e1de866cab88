"""The overlap protocol: the weight change of one synapse as a function of the error delay Δ.

This is the experiment behind §4 of Bacvanski, Ziyin & Poggio (arXiv 2510.18808), eqs. 2–5:
a presynaptic rate x(t) = 1 on [0, T) (else 0) and an error (modulatory) drive e(t) = 1 on
[Δ, Δ + T), Δ swept from −1.5 T to +1.5 T. Every synapse of the sweep is simulated at once in one
Brian2 `Network`: synapse k has its own delay Δ_k (and time constants), so one ``run`` computes
every curve. The synapses are the package's own forward synapses
(`ctfa_brian.equations.FORWARD_SYNAPSE`, `~ctfa_brian.equations.GATED_FORWARD_SYNAPSE` with
`~ctfa_brian.equations.eligibility_update`), so the sign is the model's:

.. math::  dW/dt = -W/\\tau_{dec} - x\\,e/\\tau_{pot}

and this module reports **−ΔW** (positive where input and error coincide). Curves:

``eq1``
    Eq. 1 as written, read once all activity is over (at ``t_read``). Exact law, with
    τ_dec: −ΔW = (τ_dec/τ_pot) e^{−(t_read − t₁)/τ_dec} (1 − e^{−L/τ_dec}) (`eq1_law`), which
    is the flat triangle ``(T − |Δ|)₊/τ_pot`` (eq. 5, `triangle_law`) up to O(T/τ_dec).
``filtered``
    Potentiation low-pass filtered with τ_pot: τ_pot dP/dt = −P − x e — eq. 1 with
    τ_dec = τ_pot — read at the end of the input window, t = T. Since x = 0 outside [0, T),
    −P(T) = (1/τ_pot) ∫₀ᵀ x e k(t) dt with k(t) = e^{−(T − t)/τ_pot}: exactly the paper's eq. 4
    (`eq4_law`) divided by τ_pot.
``gated``
    Eligibility gate (τ_elig dE/dt = −E + x, dW/dt = −W/τ_dec − E e/τ_pot), read at
    ``t_read``; law `gated_law` (E is a piecewise exponential, integrated in closed form).
propagation (``eq1`` with τ_prop > 0)
    Input and error each pass through ``input_hops`` / ``error_hops`` rate neurons
    τ_prop dz/dt = −z + drive (the model's own neurons with a linear σ, forward Euler) before
    they meet at the synapse; law `propagated_law` (exact integrand, numerical quadrature).
    Equal hops smooth the curve symmetrically (the Δ = 0 change shrinks, the peak stays at 0);
    extra hops on the error path delay the error and move the curve to negative Δ.

The fast-propagation limit of the paper (input and error drive the synapse directly) is
τ_prop = 0: the eq1, filtered and gated curves use it.
"""

import time
from dataclasses import dataclass

import numpy as np
from brian2 import Network, NeuronGroup, Quantity, StateMonitor, Synapses, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian import equations as eq
from ctfa_brian.parameters import format_time
from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.laws.overlap import TAIL, eq1_law, eq4_law, gated_law, propagated_law
from ctfa_brian.protocols.outputs import save_outputs
from ctfa_brian.protocols.overlap_report import (
    NAME,
    Sweep,
    _summary,
    plot,
    table_rows,
    traces_block,
)
from ctfa_brian.protocols.spec import (
    Parameter,
    check_resolution,
    check_spike_probability,
    check_whole_steps,
    spiking_parameters,
)

__all__ = ["NAME", "PARAMETERS", "check", "delays_of", "run", "simulate"]

logger = get_logger(__name__)


PARAMETERS = {
    "sample_time": Parameter("time", None, "T: input on [0, T), error on [Δ, Δ + T)",
                             required=True, gt=0 * ms),
    "max_delay_ratio": Parameter("float", 1.5, "Δ is swept over [−r T, +r T]", gt=0, le=5),
    "n_delays": Parameter("int", 61, "number of Δ values (odd, so that Δ = 0 is one of them)",
                          ge=3, le=2001),
    "tau_pot_ratios": Parameter("floats", (10.0, 40.0, 100.0),
                                "τ_pot/T of the ungated curves (eq1 and filtered)", gt=0),
    "tau_dec": Parameter("time", 1200 * second, "passive decay of W (eq1, gated, propagation)",
                         gt=0 * ms),
    "tau_elig": Parameter("time", None, "eligibility-trace time constant of the gated curve",
                          gt=0 * ms, default_text="2 × sample_time"),
    "tau_props": Parameter("times", (0 * ms, 10 * ms, 30 * ms),
                           "propagation time constants shown bending the eq1 curve (0: direct)",
                           ge=0 * ms),
    "input_hops": Parameter("int", 1, "rate neurons (τ_prop each) between input and synapse",
                            ge=0, le=4),
    "error_hops": Parameter("int", 1, "rate neurons (τ_prop each) between error and synapse",
                            ge=0, le=4),
    "dt": Parameter("time", 0.1 * ms, "integration step (< T/100 and < τ_prop/5)", gt=0 * ms),
    "record_dt": Parameter("time", 1 * ms, "sampling period of the saved traces", gt=0 * ms),
    "tolerance": Parameter("float", 0.02, "allowed deviation from a law, as a fraction of its "
                           "peak (the ungated and gated checks)", gt=0, lt=1),
    **spiking_parameters("rate: the curves above; spiking: Poisson input and error spikes into "
                         "the package's spiking synapses, n_trials per delay", 200.0,
                         "the rate that stands for x = 1 and e = 1", 100,
                         "error trace the synapse reads"),
    "cch_trials": Parameter("int", 20, "spiking: trials per delay whose spike trains give the "
                            "cross-correlation C(0) = ∫ x e dt (elephant)", ge=2),
    "cch_bin": Parameter("time", 5 * ms, "spiking: bin of that cross-correlation (C(0) is its "
                         "central bin)", gt=0 * ms),
}

#: Smallest T/dt and τ_prop/dt.
_MIN_STEPS_T, _MIN_STEPS_PROP = 100, 5


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
def check(params):
    """Fill in ``tau_elig`` (2 T) and check the parameters against each other.

    Raises
    ------
    ValueError
        ``n_delays`` even; ``dt`` not < T/100, not < τ_prop/5 for a nonzero τ_prop, or T not a
        whole number of steps; Δ values closer than dt; τ_prop > 0 with no hop.
    """
    T, dt = params["sample_time"], params["dt"]
    if params["tau_elig"] is None:
        params["tau_elig"] = 2 * T
    if params["n_delays"] % 2 == 0:
        raise ValueError(f"n_delays = {params['n_delays']} is not allowed; it must be odd so "
                         "that Δ = 0 is one of the delays")
    check_resolution(dt, "sample_time", T, _MIN_STEPS_T)
    check_whole_steps(dt, sample_time=T)
    spacing = 2 * params["max_delay_ratio"] * T / (params["n_delays"] - 1)
    if spacing < dt:
        raise ValueError(f"n_delays = {params['n_delays']} puts the delays "
                         f"{format_time(spacing)} apart, closer than dt = {format_time(dt)}; "
                         "use fewer delays or a smaller dt")
    if params["variant"] == "spiking":
        check_spike_probability(dt, params["max_rate_hz"])
        if params["cch_bin"] < dt or params["cch_bin"] > T / 10:
            raise ValueError(f"cch_bin = {format_time(params['cch_bin'])} is not allowed; it "
                             f"must lie between dt = {format_time(dt)} and sample_time/10 = "
                             f"{format_time(T / 10)}")
        check_resolution(dt, "spike_tau_prop", params["spike_tau_prop"], _MIN_STEPS_PROP)
    for k, tau_prop in enumerate(params["tau_props"]):
        if float(tau_prop) > 0:
            check_resolution(dt, f"tau_props[{k}]", tau_prop, _MIN_STEPS_PROP, name="tau_prop")
    if any(float(tp) > 0 for tp in params["tau_props"]) and \
            params["input_hops"] + params["error_hops"] == 0:
        raise ValueError("input_hops = 0 and error_hops = 0 leave the nonzero tau_props "
                         "without effect; set at least one hop")
    return params


# ----------------------------------------------------------------------------------------
# Simulation
# ----------------------------------------------------------------------------------------
def delays_of(params):
    """The protocol's delays Δ, on the dt grid."""
    T, dt = params["sample_time"], params["dt"]
    step_s = float(dt / second)
    return np.round(np.linspace(-1, 1, params["n_delays"]) * params["max_delay_ratio"]
                    * float(T / second) / step_s) * step_s * second


def _window(start):
    """1 on [start, start + sample_time), sampled at the steps (edges on the dt grid)."""
    return f"int(t >= {start} - 0.5*dt)*int(t < {start} + sample_time - 0.5*dt)"


def _chain(out, drive, start, hops):
    """A step drive and ``hops`` rate neurons τ_prop dz/dt = −z + drive; ``out`` reaches W."""
    lines = [f"{drive} = {_window(start)} : 1"]
    previous = drive
    for k in range(1, hops + 1):
        lines.append(f"d{out}{k}/dt = (-{out}{k} + {previous})/tau_lp : 1")
        previous = f"{out}{k}"
    # direct = 1: the drive reaches the synapse as it is (the fast-propagation limit)
    lines.append(f"{out} = direct*{drive} + (1 - direct)*{previous} : 1" if hops
                 else f"{out} = {drive} : 1")
    lines += ["tau_lp : second (constant)", "direct : 1 (constant)"]
    return "\n".join(lines)


#: What the forward synapse equations read from the postsynaptic side, plus the delay.
_POST_VARIABLES = """
a : 1
learn : 1 (constant)
delay : second (constant)
tau_pot_w : second (constant)
tau_dec_w : second (constant)
tau_elig : second (constant)
"""


def _circuit(name, configs, delays, namespace, dt, input_hops, error_hops, tau_elig):
    """Presynaptic and postsynaptic groups and one-to-one synapses, config-major."""
    n_delays = len(delays)
    n = len(configs) * n_delays
    pre = NeuronGroup(n, _chain("z", "x", "t_on", input_hops), method="euler",
                      namespace=namespace, dt=dt, order=eq.NEURON_ORDER, name=f"{name}_input")
    post = NeuronGroup(n, _chain("eps", "err", "t_on + delay", error_hops) + _POST_VARIABLES,
                       method="euler", namespace=namespace, dt=dt, order=eq.NEURON_ORDER,
                       name=f"{name}_error")
    gated = name == "gated"
    syn = Synapses(pre, post, eq.GATED_FORWARD_SYNAPSE if gated else eq.FORWARD_SYNAPSE,
                   method="euler", namespace=namespace, dt=dt, order=eq.SYNAPSE_ORDER,
                   name=f"{name}_W")
    syn.connect(j="i")
    if gated:  # after W's update, before the neurons: E(t + dt) from z(t), exactly
        syn.run_regularly(eq.eligibility_update("pre"), when="groups", order=eq.TRACE_ORDER,
                          name=f"{name}_eligibility")
    tau_prop = np.repeat([float(c.tau_prop / second) for c in configs], n_delays)
    direct = (tau_prop == 0).astype(float)
    for group in (pre, post):
        group.direct = direct
        group.tau_lp = np.where(direct > 0, 1.0, tau_prop) * second  # unused where direct
    post.delay = np.tile(np.asarray(delays / second), len(configs)) * second
    post.learn = 1
    post.tau_pot_w = np.repeat([float(c.tau_pot / second) for c in configs], n_delays) * second
    post.tau_dec_w = np.repeat([float(c.tau_dec / second) for c in configs], n_delays) * second
    post.tau_elig = tau_elig
    return pre, post, syn


@dataclass(frozen=True)
class _Config:
    variant: str
    tau_pot: Quantity
    tau_dec: Quantity
    tau_prop: Quantity


def _trace_indices(delays, T, max_ratio):
    wanted = np.array([-max_ratio, -0.5, 0.0, 0.5, max_ratio]) * float(T / second)
    d = np.asarray(delays / second)
    return sorted({int(np.argmin(np.abs(d - w))) for w in wanted})


def simulate(params):
    """Simulate every curve in one Brian2 `Network` and compute the laws; return a `Sweep`.

    ``params`` are validated (`PARAMETERS`; ``tau_elig`` filled in by `check`).
    """
    T, dt = params["sample_time"], params["dt"]
    n = params["n_delays"]
    delays = delays_of(params)
    t_on = float(np.max(np.asarray(delays / second))) * second  # error of the earliest Δ at 0
    tau_pots = [r * T for r in params["tau_pot_ratios"]]
    tau_main = tau_pots[-1]
    props = [tp for tp in params["tau_props"] if float(tp) > 0]
    ungated = ([_Config("eq1", tp, params["tau_dec"], 0 * ms) for tp in tau_pots]
               + [_Config("filtered", tp, tp, 0 * ms) for tp in tau_pots]
               + [_Config("eq1", tau_main, params["tau_dec"], tp) for tp in props])
    gated = [_Config("gated", tau_main, params["tau_dec"], 0 * ms)]
    hops = max(params["input_hops"], params["error_hops"])
    tail = TAIL * max(props) * hops if props else 0 * ms
    n_read_filtered = int(round(float((t_on + T) / dt)))
    n_total = int(round(float((2 * t_on + T + tail) / dt)))
    namespace = {"t_on": t_on, "sample_time": T}

    start = time.perf_counter()
    u_pre, u_post, u_syn = _circuit("ungated", ungated, delays, namespace, dt,
                                    params["input_hops"], params["error_hops"], params["tau_elig"])
    g_pre, g_post, g_syn = _circuit("gated", gated, delays, namespace, dt, 0, 0,
                                    params["tau_elig"])
    picks = _trace_indices(delays, T, params["max_delay_ratio"])
    zero = n // 2
    main_eq1 = len(tau_pots) - 1  # eq1 at the largest τ_pot, direct
    u_record = [main_eq1 * n + k for k in picks]
    u_record += [(2 * len(tau_pots) + c) * n + zero for c in range(len(props))]
    rec = {"dt": params["record_dt"], "when": "start"}
    monitors = {
        "ungated.w": StateMonitor(u_syn, "w", record=u_record, **rec),
        "ungated.z": StateMonitor(u_pre, "z", record=u_record, **rec),
        "ungated.eps": StateMonitor(u_post, "eps", record=u_record, **rec),
        "gated.w": StateMonitor(g_syn, "w", record=picks, **rec),
        "gated.E": StateMonitor(g_syn, "E", record=picks, **rec),
        "gated.z": StateMonitor(g_pre, "z", record=picks, **rec),
        "gated.eps": StateMonitor(g_post, "eps", record=picks, **rec),
    }
    net = Network(u_pre, u_post, u_syn, g_pre, g_post, g_syn, *monitors.values(),
                  name="overlap_network")
    built = time.perf_counter()
    logger.debug(f"overlap: {len(u_syn) + len(g_syn)} synapses, {n_total} steps of "
                f"{format_time(dt)}")
    net.run(n_read_filtered * dt, namespace={})
    at_T = -np.asarray(u_syn.w[:]).reshape(len(ungated), n)
    net.run((n_total - n_read_filtered) * dt, namespace={})
    at_end = -np.asarray(u_syn.w[:]).reshape(len(ungated), n)
    gated_end = -np.asarray(g_syn.w[:]).reshape(len(gated), n)
    finished = time.perf_counter()
    t_read = n_total * dt - t_on

    curves = []
    for c, config in enumerate(ungated + gated):
        if config.variant == "filtered":
            law, name, sim = eq4_law(delays, T, config.tau_pot), "eq4_law", at_T[c]
        elif config.variant == "gated":
            law = gated_law(delays, T, params["tau_elig"], config.tau_dec, t_read)
            name, sim = "gated_law", gated_end[0]
        elif float(config.tau_prop) > 0:
            law = propagated_law(delays, T, config.tau_prop, params["input_hops"],
                                 params["error_hops"], config.tau_dec, t_read)
            name, sim = "propagated_law", at_end[c]
        else:
            law, name, sim = eq1_law(delays, T, config.tau_dec, t_read), "eq1_law", at_end[c]
        curves.append(Curve(np.asarray(sim, float) + 0.0,
                            np.asarray(law / config.tau_pot, float) + 0.0,
                            {"variant": config.variant, "tau_pot": config.tau_pot,
                             "tau_prop": config.tau_prop, "law_name": name,
                             "tau_elig": params["tau_elig"] if config.variant == "gated"
                             else None}))

    channels = {"ungated": [ungated[i // n] for i in u_record], "gated": [gated[0]] * len(picks)}
    channel_delays = {"ungated": [delays[i % n] for i in u_record],
                      "gated": [delays[i] for i in picks]}
    traces = {}
    for key, monitor in monitors.items():
        circuit, var = key.split(".")
        values = np.array(getattr(monitor, var), dtype=float)
        traces[key] = {
            "t": monitor.t - t_on,
            "values": -values if var == "w" else values,
            "variable": "-w" if var == "w" else var,
            "channels": [{"variant": cfg.variant, "delay": d, "tau_pot": cfg.tau_pot,
                          "tau_prop": cfg.tau_prop}
                         for cfg, d in zip(channels[circuit], channel_delays[circuit])],
        }
    timings = {"build": built - start, "run": finished - built}
    logger.debug(f"overlap: ran in {timings['run']:.1f} s")
    return Sweep(delays, T, t_read, curves, traces, timings,
                 (params["input_hops"], params["error_hops"]))


def run(params, out_dir):
    """Simulate the sweep and write ``table.csv``, ``overlap.png`` and ``traces.nix``.

    With ``variant = "spiking"``: Poisson input and error spikes into the package's spiking
    synapses (`ctfa_brian.protocols._spiking_synapse.overlap_spiking`), ``n_trials`` per delay;
    writes ``table.csv``, ``overlap.png`` and ``spikes.nix`` (one Segment per delay).

    ``params`` are validated and ``out_dir`` exists. Returns deviations from each law (% of its
    peak), the gated ratios, the propagation summary, ``checks``, ``passed``, ``files`` and
    ``timings_s`` (see `_summary`).
    """
    if params["variant"] == "spiking":
        from ctfa_brian.protocols._spiking_report import run_overlap

        return run_overlap(params, out_dir, delays_of(params))
    sweep = simulate(params)
    results = save_outputs(_summary(sweep, params), out_dir, sweep.timings, table_rows(sweep),
                           lambda out: plot(sweep, out / "overlap.png"),
                           traces_block(sweep, params))
    for entry in results["ungated"]:
        logger.debug(f"overlap: {entry['variant']} τ_pot/T = {entry['tau_pot_ratio']:g}: "
                    f"{entry['max_deviation_percent']:.3g} % of peak from {entry['law']}")
    return results
