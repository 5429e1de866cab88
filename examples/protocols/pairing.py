"""A single-synapse protocol of your own: one pairing of an input and an error window.

A presynaptic rate x is 1 for a window T; the postsynaptic error e is 1 for a window T that
starts Δ later. The synapse follows the paper's eq. 1 without decay, dW/dt = −x e / τ_pot, so
ΔW · τ_pot = −(T − |Δ|)₊: the triangle law (`ctfa_brian.protocols.laws.overlap.triangle_law`).
One synapse per delay, all in one `Synapses` object, one run. Writes ``table.csv``,
``pairing.png`` and ``traces.nix``; see docs/adding_a_protocol.md.

    ctfa run examples/protocols/pairing.toml --out runs/pairing
"""

import numpy as np
from brian2 import Network, NeuronGroup, StateMonitor, Synapses, TimedArray, ms, second

from ctfa_brian.io import save_figure, write_rows
from ctfa_brian.neo_io import protocol_block, save_neo_formats, trace_signal
from ctfa_brian.protocols.laws.overlap import triangle_law
from ctfa_brian.protocols.spec import Parameter

NAME = "pairing"

PARAMETERS = {
    "sample_time": Parameter("time", 100 * ms, "T, the length of both windows", gt=0 * ms),
    "max_delay_over_T": Parameter("float", 1.5, "delays from −r T to +r T", gt=0.0, le=5.0),
    "n_delays": Parameter("int", 13, "number of delays", ge=2, le=1001),
    "tau_pot": Parameter("time", 10 * second, "potentiation time constant", gt=0 * ms),
    "dt": Parameter("time", 0.1 * ms, "integration step", gt=0 * ms),
    "tolerance": Parameter("float", 0.01, "allowed |simulation − law|, a fraction of the peak",
                           gt=0.0, lt=1.0),
}


def check(params):
    """T must be a whole number of steps, and long against dt (the windows are sampled)."""
    steps = float(params["sample_time"] / params["dt"])
    if abs(steps - round(steps)) > 1e-6 or steps < 20:
        raise ValueError(f"sample_time = {params['sample_time']} is not allowed; it must be a "
                         f"whole number of at least 20 steps of dt = {params['dt']}")
    return params


def delays_of(params):
    """The delays, rounded to whole steps."""
    r, T, dt = params["max_delay_over_T"], params["sample_time"], params["dt"]
    ratios = np.linspace(-r, r, params["n_delays"])
    return np.round(ratios * float(T / dt)) * dt


def simulate(params):
    """ΔW of every delay, and the traces of the synapse at Δ = the first delay."""
    T, dt, delays = params["sample_time"], params["dt"], delays_of(params)
    start = max(0 * ms, -delays.min())  # every window starts at t ≥ 0
    duration = start + T + delays.max() + 5 * dt
    steps = int(round(float(duration / dt)))
    t = np.arange(steps) * float(dt)
    on = lambda t0: ((t >= float(t0)) & (t < float(t0 + T))).astype(float)  # noqa: E731
    rates = TimedArray(np.stack([on(start + d) for d in delays], axis=1), dt=dt, name="err")
    x = TimedArray(on(start), dt=dt, name="x_in")
    pre = NeuronGroup(1, "z : 1", namespace={"x_in": x}, dt=dt, name="pre")
    pre.run_regularly("z = x_in(t)", when="start", name="pre_rate")
    post = NeuronGroup(len(delays), "eps : 1", namespace={"err": rates}, dt=dt, name="post")
    post.run_regularly("eps = err(t, i)", when="start", name="post_error")
    syn = Synapses(pre, post, "dw/dt = -z_pre*eps_post/tau_pot : 1 (clock-driven)",
                   namespace={"tau_pot": params["tau_pot"]}, method="euler", dt=dt,
                   name="pairing")
    syn.connect()
    monitor = StateMonitor(syn, "w", record=[0], dt=1 * ms, name="trace")
    Network(pre, post, syn, monitor).run(steps * dt, namespace={})
    return {"delays": delays, "dw": np.asarray(syn.w[:]), "t": monitor.t[:],
            "w": np.asarray(monitor.w[0])}


def run(params, out_dir):
    """Simulate, compare with the law, write the table, the figure and the traces."""
    from matplotlib.figure import Figure

    result = simulate(params)
    T, tau = params["sample_time"], params["tau_pot"]
    law = -np.asarray(triangle_law(result["delays"], T) / second) / float(tau) + 0.0
    peak = float(np.abs(law).max())
    deviation = float(np.abs(result["dw"] - law).max() / peak)
    rows = [{"delay_ms": float(d / ms), "dw": f"{w:.10g}", "dw_law": f"{v:.10g}"}
            for d, w, v in zip(result["delays"], result["dw"], law)]
    table = write_rows(rows, out_dir / "table.csv")
    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    x = np.asarray(result["delays"] / T)
    ax.plot(x, -law * float(tau), "-", label="law (T − |Δ|)₊")
    ax.plot(x, -result["dw"] * float(tau), "o", label="Brian2")
    ax.set(xlabel="Δ / T", ylabel="−ΔW · τ_pot (s)", title="one pairing per delay")
    ax.legend()
    figure = save_figure(fig, out_dir / "pairing.png")
    w = trace_signal("w", result["w"][None, :], result["t"][0], 1 * ms,
                     delay_ms=float(result["delays"][0] / ms))
    block = protocol_block(NAME, params, "one synapse, the first delay: W", [w])
    traces = save_neo_formats(block, out_dir / "traces", "traces")  # as ctfa run --format
    return {"max_deviation_of_peak": deviation, "passed": deviation <= params["tolerance"],
            "files": {"table": table, "figure": figure, **traces}}
