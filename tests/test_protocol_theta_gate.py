"""Where the theta gate sits: the law's LTD/LTP ratio over f_low/f_high and the gate phase, its
sign pattern, and the simulation at a sweep of gate positions (protocol theta_gate_sweep)."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms, prefs, second

from ctfa_brian import cli
from ctfa_brian.device import select
from ctfa_brian.protocols import configure, format_parameters, load_protocol_file
from ctfa_brian.protocols.frequency_transition import simulate
from ctfa_brian.protocols.laws.theta import (
    cycle_law,
    default_gate_phase,
    gate_kernels,
    pattern_edges,
    sign_pattern,
    transition_ratio,
)

ROOT = Path(__file__).resolve().parents[1]
TOML = ROOT / "protocols" / "theta_gate_sweep.toml"
DOCS = ROOT / "docs" / "protocols" / "frequency_transition.md"
#: P, gate width, τ_prop, τ_fast, τ_slow, τ_pot: the frequency_transition defaults.
ARGS = (100 * ms, 30 * ms, 10 * ms, 30 * ms, 150 * ms, 10 * second)
WIDE = (100 * ms, 100 * ms, 10 * ms, 30 * ms, 150 * ms, 10 * second)


# ----------------------------------------------------------------------------------------
# The law
# ----------------------------------------------------------------------------------------
def test_default_gate_is_the_old_law_and_gives_minus_r():
    assert default_gate_phase(100 * ms, 30 * ms) == pytest.approx(0.85)
    assert cycle_law(25, 50, *ARGS) == cycle_law(25, 50, *ARGS, gate_phase=0.85)
    assert cycle_law(25, 50, *ARGS)[0] == pytest.approx(0.0094115 / 20, rel=1e-4)
    A, B = gate_kernels(*ARGS)
    assert A == 0 and B > 0  # the gate lies wholly in the plus phase
    ratios = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    assert np.allclose(transition_ratio(ratios, A, B), -ratios, rtol=1e-12)
    assert np.all(sign_pattern(ratios, A, B))


@pytest.mark.parametrize("phase", [0.0, 0.2, 0.45, 0.6, 0.95])
def test_the_closed_form_ratio_is_the_direct_law(phase):
    A, B = gate_kernels(*ARGS, gate_phase=phase)
    for low, high in ((25, 50), (10, 40), (30, 45)):
        rise = cycle_law(low, high, *ARGS, gate_phase=phase)[0]
        fall = cycle_law(high, low, *ARGS, gate_phase=phase)[0]
        x_low, x_high = low / 50, high / 50
        assert rise == pytest.approx((x_high - x_low) / 2 * (x_low * A + x_high * B), rel=1e-9)
        assert fall / rise == pytest.approx(transition_ratio(low / high, A, B), rel=1e-9)
    shifted = gate_kernels(*ARGS, gate_phase=(phase + 0.5) % 1)  # μ(t + P) = −μ(t)
    assert shifted[1] == pytest.approx(-A, abs=1e-15) and shifted[0] == pytest.approx(-B,
                                                                                 abs=1e-15)


def test_the_sign_pattern_flips_where_the_law_says():
    # the gate in the minus phase: reversed (rise LTD, fall LTP) with R = −1/r
    A, B = gate_kernels(*ARGS, gate_phase=0.2)
    assert B == 0 and A < 0
    assert transition_ratio(0.5, A, B) == pytest.approx(-2.0, rel=1e-12)
    assert cycle_law(25, 50, *ARGS, gate_phase=0.2)[0] < 0 < cycle_law(50, 25, *ARGS,
                                                                       gate_phase=0.2)[0]
    # at the defaults the pattern holds for a gate opening in [0.5523, 1) ∪ [0, 0.0523):
    # the edges are where ∫ μ over a gate wholly inside one phase changes sign, for every r
    for r in (0.1, 0.5, 0.9):
        edges = pattern_edges(r, *ARGS, points=100)
        assert [kind for _, kind in edges] == ["closes", "opens"]
        assert edges[0][0] == pytest.approx(0.052259, abs=1e-5)
        assert edges[1][0] == pytest.approx(0.552259, abs=1e-5)
    for phase, holds in ((0.0, True), (0.04, True), (0.06, False), (0.3, False), (0.45, False),
                         (0.55, False), (0.56, True), (0.95, True)):
        assert bool(sign_pattern(0.5, *gate_kernels(*ARGS, gate_phase=phase))) is holds, phase
    # a 100 ms gate straddles the phases while its integral crosses zero: the edges move with r
    opens = {r: pattern_edges(r, *WIDE, points=100) for r in (0.1, 0.5, 0.9)}
    assert opens[0.5][0] == (pytest.approx(0.42569, abs=1e-4), "opens")
    assert opens[0.5][1] == (pytest.approx(0.85066, abs=1e-4), "closes")
    assert opens[0.1][0][0] > opens[0.5][0][0] > opens[0.9][0][0]


@pytest.mark.parametrize("phase", [1.0, -0.1, 1.5, math.nan])
def test_cycle_law_refuses_a_gate_phase_outside_the_cycle(phase):
    with pytest.raises(ValueError, match=r"gate_phase = .* is not allowed; it must be in \[0, "
                                         r"1\)"):
        cycle_law(25, 50, *ARGS, gate_phase=phase)
    with pytest.raises(ValueError, match="gate_width = 250 ms is not allowed"):
        cycle_law(25, 50, 100 * ms, 250 * ms, *ARGS[2:])


# ----------------------------------------------------------------------------------------
# The simulation against the law
# ----------------------------------------------------------------------------------------
def _simulate(overrides, gate_phases=None):
    previous = prefs.codegen.target
    select("numpy")
    params = configure("frequency_transition", {}, overrides).parameters
    try:
        return simulate(params, gate_phases=gate_phases), params
    finally:
        prefs.codegen.target = previous


def test_simulation_matches_the_law_at_five_gate_positions():
    phases = [0.0, 0.2, 0.4, 0.7, 0.95]
    result, params = _simulate(["f1_hz=[25, 50]", "f2_hz=[50, 25]", "n_cycles=10",
                                "n_trials=1", "dt=0.5ms"], gate_phases=phases)
    assert result.gate_phases == tuple(phases) and result.theta.trials.shape == (10, 1)
    reference = abs(10 * cycle_law(25, 50, *ARGS)[0])
    for p, phase in enumerate(phases):
        for c, (f1, f2) in enumerate(((25, 50), (50, 25))):
            law = 10 * cycle_law(f1, f2, *ARGS, gate_phase=phase)[0]
            got = result.theta.trials[2 * p + c, 0]
            assert result.theta.law[2 * p + c] == pytest.approx(law, rel=1e-12)
            # forward Euler at dt = 0.5 ms: within 2 % of the reference (the protocol's
            # law_tolerance; 1.2 % measured, at a gate that opens where the rate switches)
            assert abs(got - law) <= 0.02 * reference, (phase, f1, f2)
            assert np.sign(got) == np.sign(law)
    rise, fall = result.theta.trials[0::2, 0], result.theta.trials[1::2, 0]
    assert list(rise > 0) == [True, False, False, True, True]  # the law's pattern by position
    assert np.all(np.sign(fall) == -np.sign(rise))
    assert fall[1] / rise[1] == pytest.approx(-2.0, rel=2e-3)  # minus phase: −1/r
    assert fall[3] / rise[3] == pytest.approx(-0.5, rel=2e-3)  # plus phase: −r


def test_the_gate_phase_moves_the_gate_in_the_traces():
    result, params = _simulate(["gate_phase=0.95", "n_cycles=4", "n_trials=1", "dt=0.5ms"])
    assert params["gate_phase"] == 0.95
    t = np.round(np.asarray(result.traces["g"]["t"] / ms), 6)
    g = result.traces["g"]["values"][0]
    assert np.array_equal(g == 1, ((t % 200) >= 190) | ((t % 200) < 20))  # wraps
    # LTP for 25→50 and LTD for 50→25 still, but the LTD is now the larger one (law −1.099)
    k, j = result.index(25, 50), result.index(50, 25)
    mean = result.theta.mean
    assert mean[k] > 0 > mean[j]
    assert mean[j] / mean[k] == pytest.approx(-1.0988, rel=1e-2)  # dt = 0.5 ms


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("protocol, overrides, key, fragment", [
    ("frequency_transition", ["gate_phase=1"], "gate_phase = 1", "must be < 1"),
    ("frequency_transition", ["gate_phase=-0.2"], "gate_phase = -0.2", "must be ≥ 0"),
    ("frequency_transition", ["gate_phase=0.3333"], "gate_phase = 0.3333",
     "whole number of steps"),
    ("theta_gate_sweep", ["gate_phases=[0.1, 1.2]"], "gate_phases[1] = 1.2", "must be < 1"),
    ("theta_gate_sweep", ["gate_phases=[0.1, 0.1]"], "gate_phases", "repeats"),
    ("theta_gate_sweep", ["gate_phases=[0, 0.3333]"], "gate_phases[1] = 0.3333",
     "multiple of 1/1000"),
    ("theta_gate_sweep", ["f_high_hz=20"], "f_high_hz = 20", "> f_low_hz"),
    ("theta_gate_sweep", ["law_phase_points=2"], "law_phase_points = 2", "≥ 8"),
    ("theta_gate_sweep", ["gate_width=150ms"], "gate_width", "≤ phase_duration"),
])
def test_bad_gate_values_name_the_key_value_and_limit(protocol, overrides, key, fragment):
    with pytest.raises(ValueError) as info:
        configure(protocol, {}, overrides)
    message = str(info.value)
    assert key in message and fragment in message, message


def test_the_shipped_file_is_valid_and_documented():
    p = load_protocol_file(TOML).parameters
    assert p["gate_phases"] == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 0.95)
    assert p["mode"] == "rates" and p["n_trials"] == 1 and p["dt"] == 0.2 * ms
    docs = DOCS.read_text(encoding="utf-8")
    table = format_parameters("theta_gate_sweep")
    for key in ("f_low_hz", "f_high_hz", "gate_phases", "law_phase_points", "law_ratio_points"):
        assert f"`{key}`" in table and f"`{key}`" in docs
    assert "ctfa run protocols/theta_gate_sweep.toml" in docs
    assert "theta_law.png" in docs and "theta_gate_sweep.png" in docs


def test_ctfa_run_theta_gate_sweep(tmp_path, capsys):
    out = tmp_path / "tgs"
    code = cli.main(["run", str(TOML), "--out", str(out), "--set", "n_cycles=10", "--set",
                     "dt=0.5ms", "--set", "gate_phases=[0.0, 0.45, 0.85]", "--set",
                     "law_phase_points=40", "--set", "law_ratio_points=5"])
    assert code == 0, capsys.readouterr().err
    for name in ("theta_law.png", "theta_gate_sweep.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    assert results["passed"] and set(results["checks"]) == {
        "law_pattern_at_default_gate", "matches_law", "sign_as_law_says"}
    law = results["law"]
    assert law["ratio_at_default_gate"] == pytest.approx(-0.5, rel=1e-9)
    assert law["ratio_at_default_gate_vs_f_ratio"]["0.25"] == pytest.approx(-0.25, rel=1e-9)
    assert law["holding_fraction_of_cycle"] == 0.5 and not law["holding_set_depends_on_f_ratio"]
    assert [e["kind"] for e in law["pattern_edges"]] == ["closes", "opens"]
    assert law["pattern_edges"][1]["gate_start_ms"] == pytest.approx(110.45, abs=0.01)
    sweep = {e["gate_phase"]: e for e in results["sweep"]}
    assert sweep[0.85]["pattern_simulated"] and sweep[0.0]["pattern_simulated"]
    assert not sweep[0.45]["pattern_law"] and not sweep[0.45]["pattern_simulated"]
    assert sweep[0.85]["ratio"] == pytest.approx(-0.5, rel=2e-3)
    assert all(e["max_deviation_percent_of_reference"] < 2 for e in results["sweep"])
    with open(out / "law.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40 * 5
    assert {r["pattern"] for r in rows} == {"holds", "reversed"}
    with open(out / "table.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3 * 2


def test_poisson_gate_sweep_agrees_with_the_law(tmp_path):
    out = tmp_path / "tgs-poisson"
    code = cli.main(["run", str(TOML), "--out", str(out), "--set", "mode=poisson", "--set",
                     "n_trials=250", "--set", "n_cycles=30", "--set", "dt=0.5ms", "--set",
                     "gate_phases=[0.2, 0.7, 0.95]", "--set", "law_phase_points=40"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["passed"], results["checks"]
    signs = [(e["rise_mean"] > 0, e["fall_mean"] < 0) for e in results["sweep"]]
    assert signs == [(False, False), (True, True), (True, True)]
