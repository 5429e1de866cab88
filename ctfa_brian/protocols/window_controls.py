"""Yagishita's controls for the eligibility-window protocol: which factor each condition
removes, which delays they are run at, their laws, checks, rows and bar panel, and their
spiking circuit.

Yagishita et al. 2014 (Science 345:1616, Fig. 1) saw spine enlargement only with the pairing
(glutamate uncaging **with** postsynaptic spikes) **and** dopamine after it; the pairing alone,
dopamine alone, and uncaging with dopamine but without the postsynaptic spikes gave none. A
condition switches three factors on or off — presynaptic activity x (uncaging), postsynaptic
activity y (the spikes) and the dopamine burst u:

============== === === === ==================================================
condition       x   y   u   expected
============== === === === ==================================================
paired          1   1   1   the window (the protocol's main curve)
pairing_only    1   1   0   none: no dopamine, D = 0
dopamine_only   0   0   1   none: no input writes a trace
no_post         1   0   1   none with the Hebbian pre × post trace (E = 0);
                            as paired with the ``pre`` trace (it ignores y)
============== === === === ==================================================

Each control is run at the delays where the paired synapse is potentiated (`control_indices`)
and reported as a fraction of the paired ΔW at the same delay (check: ≤ `CONTROL_MAX`).
"""

import time

import numpy as np
from brian2 import Hz, second
from brian2 import seed as brian_seed

from ctfa_brian.protocols.curve import Curve
from ctfa_brian.protocols.laws.window import YAGISHITA_SIGNIFICANT, window_law

__all__ = ["CONDITIONS", "CONTROL_MAX", "check_conditions", "control_indices", "control_law",
           "control_rows", "controls_of", "controls_spiking", "gate", "plot_controls",
           "summarise", "window_entry"]

#: Condition → (presynaptic x, postsynaptic y, dopamine u) on (1) or off (0), and what it is.
CONDITIONS = {
    "paired": ((1, 1, 1), "pairing (pre + post) and the dopamine burst"),
    "pairing_only": ((1, 1, 0), "pairing without dopamine"),
    "dopamine_only": ((0, 0, 1), "dopamine burst without pairing"),
    "no_post": ((1, 0, 1), "presynaptic activity and dopamine, postsynaptic activity blocked"),
}
#: Largest absolute ΔW of a control, as a fraction of the paired ΔW at the same delay.
CONTROL_MAX = 0.05


def gate(params):
    """The package's eligibility drive for the protocol's ``eligibility`` (``hebbian``: the
    ``pre_post`` drive x · y, `ctfa_brian.equations.ELIGIBILITY_DRIVES`)."""
    return "pre_post" if params["eligibility"] == "hebbian" else "pre"


def check_conditions(conditions):
    """Raise unless ``conditions`` holds ``paired`` (the reference) and no name twice."""
    if "paired" not in conditions:
        raise ValueError(f"conditions = {list(conditions)} lacks 'paired': the controls are "
                         "measured as fractions of the paired change; add 'paired' (allowed: "
                         f"{', '.join(CONDITIONS)})")
    twice = sorted({c for c in conditions if list(conditions).count(c) > 1})
    if twice:
        raise ValueError(f"conditions = {list(conditions)} names {', '.join(twice)} twice; "
                         "give each condition once")


def controls_of(params):
    """The control conditions to run (``conditions`` without ``paired``), in order."""
    return [c for c in params["conditions"] if c != "paired"]


def control_indices(delays, law):
    """Indices of the delays the controls run at: Yagishita's significant delays (+0.6 s, +1 s)
    among ``delays``, else the delay where the paired ``law`` is largest."""
    d = np.asarray(delays / second)
    ks = [int(k) for x in YAGISHITA_SIGNIFICANT for k in np.flatnonzero(np.abs(d - x) < 5e-4)]
    return ks or [int(np.argmax(law))]


def control_law(name, eligibility, paired_law):
    """The law of condition ``name``: the paired law where every factor the trace and the
    consolidation read is on, else 0 (``pre`` trace: y is not read)."""
    x, y, u = CONDITIONS[name][0]
    return paired_law * x * u * (y if eligibility == "hebbian" else 1)


def summarise(params, delays, paired, curves):
    """The ``controls`` entry of ``results.json`` and its checks.

    ``delays`` are the control delays (Quantity), ``paired`` the paired `Curve` restricted to
    them, ``curves`` ``{condition: Curve}`` at the same delays. Returns ``(entry, checks)``.
    """
    d = np.asarray(delays / second)
    ref = np.where(paired.mean > 0, paired.mean, np.nan)
    at = ", ".join(f"{x:+g} s" for x in d)
    entry = {"eligibility": params["eligibility"], "delays_s": [float(x) for x in d],
             "max_fraction": CONTROL_MAX,
             "paired": [{"delay_s": float(x), "dw": float(m), "sem": float(s)}
                        for x, m, s in zip(d, paired.mean, paired.sem)],
             "conditions": {}}
    checks = {}
    for name, curve in curves.items():
        fraction, sem = curve.mean / ref, curve.sem / ref
        ok = bool(np.all(np.abs(fraction) <= CONTROL_MAX))
        expected = f"no potentiation: |ΔW| ≤ {CONTROL_MAX:g} × paired ΔW"
        entry["conditions"][name] = {
            "what": CONDITIONS[name][1], "factors_xyu": list(CONDITIONS[name][0]),
            "expected": expected, "ok": ok,
            "max_abs_fraction": float(np.nanmax(np.abs(fraction))) if np.any(ref > 0) else None,
            "per_delay": [{"delay_s": float(x), "dw": float(m), "sem": float(s),
                           "law": float(w), "fraction": float(f), "sem_fraction": float(e)}
                          for x, m, s, w, f, e in zip(d, curve.mean, curve.sem, curve.law,
                                                      fraction, sem)]}
        checks[f"control {name} ({CONDITIONS[name][1]}) at {at}: {expected}"] = ok
    return entry, checks


def window_entry(params, window):
    """`summarise` for a rate `~ctfa_brian.protocols.window_report.Window` (its ``controls``);
    ``(None, {})`` without controls."""
    controls = getattr(window, "controls", None)
    if not controls or not controls["curves"]:
        return None, {}
    ks = controls["indices"]
    paired = Curve(window.gated[0].mean[ks], window.gated[0].law[ks])
    return summarise(params, window.delays[ks], paired, controls["curves"])


def control_rows(entry):
    """Rows of the rate ``table.csv`` for the controls (``variant`` = the condition,
    ``dw_normalised`` = the fraction of the paired ΔW at the same delay)."""
    return [{"delay_s": f"{p['delay_s']:.6g}", "variant": name, "tau_elig_s": "", "main": "1",
             "dw": f"{p['dw']:.10g}", "dw_normalised": f"{p['fraction']:.8g}",
             "dw_law": f"{p['law']:.10g}"}
            for name, cond in entry["conditions"].items() for p in cond["per_delay"]]


def plot_controls(ax, entry):
    """Bars of ΔW / paired ΔW per condition and control delay, the ≤ 5 % limit; the Axes."""
    d = entry["delays_s"]
    names = ["paired", *entry["conditions"]]
    width = 0.8 / len(d)
    for j, x in enumerate(d):
        values = [1.0] + [entry["conditions"][n]["per_delay"][j]["fraction"]
                          for n in names[1:]]
        errors = [0.0] + [entry["conditions"][n]["per_delay"][j]["sem_fraction"]
                          for n in names[1:]]
        pos = np.arange(len(names)) + (j - (len(d) - 1) / 2) * width
        ax.bar(pos, values, width, yerr=errors, capsize=2, color=f"C{j + 1}",
               label=f"d = {x:+g} s")
        for p, v in zip(pos[1:], values[1:]):
            ax.text(p, max(v, 0) + 0.02, f"{100 * v:.1f} %", ha="center", fontsize=6,
                    rotation=90)
    ax.axhline(CONTROL_MAX, color="C3", ls=":", lw=1, label=f"limit {100 * CONTROL_MAX:g} %")
    ax.set_xticks(range(len(names)), [n.replace("_", "\n") for n in names], fontsize=8)
    ax.set_ylabel("ΔW / paired ΔW")
    ax.set_title(f"Yagishita's controls (trace: {entry['eligibility']})", fontsize=9)
    ax.legend(fontsize=7)
    return ax


def controls_spiking(params, delays, ks):
    """The controls with spikes: one gated circuit (protocol's τ_elig), ``n_trials`` synapses
    per control and delay, in a run of its own after the paired one (so the paired spike
    trains are those of a run without controls). Returns ``({condition: Curve}, timings)``.
    """
    from brian2 import TimedArray

    from ctfa_brian.protocols._spiking_synapse import dopamine_level, spike_circuit
    from ctfa_brian.protocols.laws.window import burst_duration, pulse_train
    from ctfa_brian.protocols.outputs import run_timed

    names = controls_of(params)
    dt, P = params["dt"], params["pairing_duration"]
    _, offsets, on, u = pulse_train(params)
    n_tr, n_k = params["n_trials"], len(ks)
    per = n_k * n_tr
    D = dopamine_level(u, dt, params["tau_dopamine"])
    box = "int(t >= t_on - 0.5*dt)*int(t < t_on + pairing - 0.5*dt)"
    namespace = {"t_on": on * dt, "pairing": P, "stim_D": TimedArray(D, dt=dt)}
    brian_seed(params["seed"] + 1)
    start = time.perf_counter()
    pre, post, syn, _ = spike_circuit(
        "ews_controls", len(names) * per, f"pre_on*{box}", "-dopamine_on*stim_D(t, burst)",
        namespace, dt, params["max_rate_hz"] * Hz, params["spike_tau_prop"], gated=True,
        extra_post=("burst : integer (constant)\npost_on : 1 (constant)\n"
                    f"dopamine_on : 1 (constant)\ny = post_on*{box} : 1\n"),
        monitor=False, extra_pre="pre_on : 1 (constant)\n", eligibility=gate(params))
    flags = np.repeat(np.array([CONDITIONS[n][0] for n in names], float), per, axis=0)
    pre.pre_on, post.post_on, post.dopamine_on = flags[:, 0], flags[:, 1], flags[:, 2]
    post.burst = np.tile(np.repeat(ks, n_tr), len(names))
    post.tau_pot_w = params["tau_pot"]
    post.tau_elig = params["tau_elig"]
    tail = 10 * params["tau_dopamine"]
    stop = on * dt + max(P, float(np.max(delays[ks] / second)) * second
                         + burst_duration(params) + tail)
    timings = run_timed("window_controls_network", [pre, post, syn], stop, start)
    schedule = {"pairing_duration": P, "burst_rate": params["burst_rate"],
                "burst_pulses": params["burst_pulses"], "pulse_width": params["pulse_width"],
                "tau_dopamine": params["tau_dopamine"], "offsets": offsets}
    law = np.asarray(window_law(delays[ks], params["tau_elig"], **schedule) / second) \
        / float(params["tau_pot"] / second)
    w = np.asarray(syn.w[:], float).reshape(len(names), n_k, n_tr)
    curves = {n: Curve(w[c], control_law(n, params["eligibility"], law),
                       {"tau_elig": params["tau_elig"]}) for c, n in enumerate(names)}
    return curves, {f"controls_{k}": v for k, v in timings.items()}

