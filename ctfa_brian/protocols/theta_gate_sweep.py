"""Where the theta gate sits decides the sign: the frequency-transition law over the gate's
position and the ratio f_low/f_high, and the simulation at a sweep of gate positions.

In the frequency-transition protocol (Jang, Flores, O'Reilly & Zito 2026; O'Reilly's
temporal-difference theory) ΔW is consolidated only while the theta gate g(t) is open, and
whether a f_low→f_high cycle gives LTP or LTD is set by *where* in the cycle that gate sits.
The law (`ctfa_brian.protocols.laws.theta`) gives, for a gate opening at the fraction φ of
the cycle,

.. math::

    \\Delta W_{cycle}(f_1 \\to f_2) = \\frac{x_2 - x_1}{2}\\,\\big(x_1 A(\\varphi)
    + x_2 B(\\varphi)\\big), \\qquad
    R(r, \\varphi) = \\frac{\\Delta W(f_{high} \\to f_{low})}{\\Delta W(f_{low} \\to f_{high})}
    = -\\frac{A + r B}{r A + B}, \\quad r = f_{low}/f_{high}

with A, B the integrals of the unit square-wave response of m = z_fast − z_slow over the part
of the gate in the minus and in the plus phase. This protocol

1. maps R and the sign pattern (LTP for low→high *and* LTD for high→low) over
   ``law_phase_points`` gate phases × ``law_ratio_points`` ratios r in [0.02, 0.98], finds the
   phases where the pattern starts and stops at r = f_low/f_high (``law.csv``,
   ``theta_law.png``), and
2. simulates f_low→f_high and f_high→f_low at every gate phase of ``gate_phases`` in one
   Brian2 `Network` (`ctfa_brian.protocols.frequency_transition.simulate`; rates, Poisson or
   spiking, as that protocol) and compares ΔW with the law (``table.csv``,
   ``theta_gate_sweep.png``): every mean within ``law_tolerance`` × the law at the default
   gate (1 − w_g/2P) plus 3 s.e.m., and the sign of the law wherever the law is outside that
   band.
"""

import numpy as np
from brian2.utils.logger import get_logger

from ctfa_brian.io import write_rows
from ctfa_brian.protocols import frequency_transition as ft
from ctfa_brian.protocols.laws.theta import cycle_law, default_gate_phase
from ctfa_brian.protocols.spec import Parameter
from ctfa_brian.protocols.theta_gate_report import law_map, law_rows, plot_law, plot_sweep

__all__ = ["NAME", "PARAMETERS", "check", "run"]

logger = get_logger(__name__)

NAME = "theta_gate_sweep"

#: The frequency-transition parameters this protocol shares (its own conditions and gate
#: positions replace f1_hz, f2_hz and gate_phase; the flat conditions are that protocol's).
_SHARED = [k for k in ft.PARAMETERS if k not in ("f1_hz", "f2_hz", "gate_phase",
                                                   "flat_tolerance")]
PARAMETERS = {
    "f_low_hz": Parameter("float", 25.0, "the lower frequency, Hz: conditions f_low→f_high "
                          "(rise) and f_high→f_low (fall)", gt=0),
    "f_high_hz": Parameter("float", 50.0, "the higher frequency, Hz (> f_low_hz)", gt=0),
    "gate_phases": Parameter("floats", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 0.95),
                             "simulated gate positions: where the gate opens, as a fraction of "
                             "the theta cycle 2 P (each a whole number of steps of dt)", ge=0,
                             lt=1),
    "law_phase_points": Parameter("int", 200, "gate phases k/N of the law's map", ge=8,
                                  le=5000),
    "law_ratio_points": Parameter("int", 49, "ratios f_low/f_high in [0.02, 0.98] of the law's "
                                  "map", ge=2, le=1000),
    **{k: ft.PARAMETERS[k] for k in _SHARED},
}


def check(params):
    """Check the sweep's own keys, then everything as `frequency_transition.check` does.

    Raises
    ------
    ValueError
        ``f_high_hz`` ≤ ``f_low_hz``; a repeated gate phase or one that is not a whole number of
        steps (``gate_phases[k]``); anything `frequency_transition.check` refuses.
    """
    low, high = params["f_low_hz"], params["f_high_hz"]
    if not high > low:
        raise ValueError(f"f_high_hz = {high:g} is not allowed; it must be > f_low_hz "
                         f"(= {low:g}): the sweep compares f_low→f_high with f_high→f_low")
    phases = params["gate_phases"]
    if len(set(phases)) != len(phases):
        raise ValueError(f"gate_phases = {list(phases)} repeats a value; list each gate "
                         "position once")
    inner = {**params, "f1_hz": (low, high), "f2_hz": (high, low), "gate_phase": None,
             "flat_tolerance": 0.1}
    ft.check(inner)
    for k, phase in enumerate(phases):
        try:
            ft.gate_start(inner, phase)
        except ValueError as err:
            raise ValueError(str(err).replace("gate_phase =", f"gate_phases[{k}] =", 1)) from None
    params["mode"] = inner["mode"]
    return params


def _inner(params):
    return {**params, "f1_hz": (params["f_low_hz"], params["f_high_hz"]),
            "f2_hz": (params["f_high_hz"], params["f_low_hz"]),
            "gate_phase": default_gate_phase(params["phase_duration"], params["gate_width"]),
            "flat_tolerance": 0.1}


def _law_args(params):
    return [params[k] for k in ("phase_duration", "gate_width", "tau_prop", "tau_fast",
                                "tau_slow", "tau_pot")]


def _sweep(result, params, reference):
    """Per gate phase: rise and fall mean ± s.e.m. against the law, the ratio and the signs."""
    tol = params["law_tolerance"] * reference
    mean, sem, law = result.theta.mean, result.theta.sem, result.theta.law
    out = []
    for p, phase in enumerate(result.gate_phases):
        rise, fall = 2 * p, 2 * p + 1
        entry = {"gate_phase": float(phase),
                 "gate_start_ms": float(phase * 2 * float(params["phase_duration"]) * 1e3),
                 "rise_mean": float(mean[rise]), "rise_sem": float(sem[rise]),
                 "rise_law": float(law[rise]), "fall_mean": float(mean[fall]),
                 "fall_sem": float(sem[fall]), "fall_law": float(law[fall])}
        entry["ratio"] = float(mean[fall] / mean[rise]) if mean[rise] else None
        entry["ratio_law"] = float(law[fall] / law[rise]) if law[rise] else None
        entry["pattern_law"] = bool(law[rise] > 0 > law[fall])
        entry["pattern_simulated"] = bool(mean[rise] > 0 > mean[fall])
        entry["within_tolerance"] = bool(all(abs(mean[k] - law[k]) <= tol + 3 * sem[k]
                                             for k in (rise, fall)))
        entry["sign_as_law"] = bool(all(np.sign(mean[k]) == np.sign(law[k])
                                        for k in (rise, fall) if abs(law[k]) > tol + 3 * sem[k]))
        entry["max_deviation_percent_of_reference"] = float(
            100 * max(abs(mean[k] - law[k]) for k in (rise, fall)) / reference)
        out.append(entry)
    return out


def _rows(result, params):
    labels = [f"{params['f_low_hz']:g}->{params['f_high_hz']:g}",
              f"{params['f_high_hz']:g}->{params['f_low_hz']:g}"]
    return [{"gate_phase": f"{phase:g}", "condition": labels[c], "mode": result.mode,
             "trial": k, "dw": f"{result.theta.trials[2 * p + c, k]:.10g}",
             "dw_law": f"{result.theta.law[2 * p + c]:.10g}"}
            for p, phase in enumerate(result.gate_phases) for c in range(2)
            for k in range(result.theta.n_trials)]


def run(params, out_dir):
    """Compute the law's map, simulate the gate sweep; write ``law.csv``, ``theta_law.png``,
    ``table.csv`` and ``theta_gate_sweep.png``; return the summary (``law``, ``sweep``,
    ``checks``, ``passed``, ``files``, ``timings_s``)."""
    import time

    from ctfa_brian.parameters import format_time

    start = time.perf_counter()
    args = _law_args(params)
    ratio = params["f_low_hz"] / params["f_high_hz"]
    law = law_map(params, args, ratio)
    law_done = time.perf_counter()
    inner = _inner(params)
    result = ft.simulate(inner, gate_phases=params["gate_phases"])
    reference = abs(params["n_cycles"] * cycle_law(params["f_low_hz"], params["f_high_hz"],
                                                   *args, f_ref=params["f_ref_hz"])[0])
    sweep = _sweep(result, params, reference)
    written = time.perf_counter()
    files = {"law_table": write_rows(law_rows(law, params), out_dir / "law.csv"),
             "law_figure": plot_law(law, params, out_dir / "theta_law.png"),
             "table": write_rows(_rows(result, params), out_dir / "table.csv"),
             "figure": plot_sweep(law, sweep, params, out_dir / "theta_gate_sweep.png")}
    checks = {
        "law_pattern_at_default_gate": bool(law["default"]["pattern"]),
        "matches_law": all(e["within_tolerance"] for e in sweep),
        "sign_as_law_says": all(e["sign_as_law"] for e in sweep),
    }
    for e in sweep:
        logger.debug(f"theta_gate_sweep: gate at {e['gate_phase']:g}: rise {e['rise_mean']:.4g} "
                     f"(law {e['rise_law']:.4g}), fall {e['fall_mean']:.4g} "
                     f"(law {e['fall_law']:.4g})")
    return {
        "protocol": NAME, "mode": params["mode"], "n_cycles": params["n_cycles"],
        "n_trials": params["n_trials"], "cycle": format_time(2 * params["phase_duration"]),
        "conditions": [f"{params['f_low_hz']:g}->{params['f_high_hz']:g}",
                       f"{params['f_high_hz']:g}->{params['f_low_hz']:g}"],
        "ratio_definition": "R = ΔW(f_high→f_low) / ΔW(f_low→f_high), signed; the pattern is "
                            "ΔW(f_low→f_high) > 0 and ΔW(f_high→f_low) < 0",
        "reference_law": reference,
        "tolerance": f"|mean − law| ≤ {params['law_tolerance']:g} × reference_law + 3 s.e.m.",
        "law": law["summary"], "sweep": sweep, "checks": checks,
        "passed": all(checks.values()), "files": {k: str(v) for k, v in files.items()},
        "timings_s": {"law": law_done - start, **result.timings,
                      "write": time.perf_counter() - written},
    }
