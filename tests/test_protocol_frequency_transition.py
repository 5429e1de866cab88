"""The frequency_transition protocol: TD error source with a theta gate (25→50 LTP, 50→25 LTD)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms, prefs, second

from ctfa_brian import cli
from ctfa_brian.device import select
from ctfa_brian.neo_io import load_neo, neo_suffix, save_neo
from ctfa_brian.protocols import (
    available_protocols,
    configure,
    format_parameters,
    load_protocol_file,
)
from ctfa_brian.protocols.frequency_transition import simulate
from ctfa_brian.protocols.laws.theta import cycle_law
from ctfa_brian.protocols.transition_report import _summary, traces_block

TOML = Path(__file__).resolve().parents[1] / "protocols" / "frequency_transition.toml"
DOCS = TOML.parents[1] / "docs" / "protocols" / "frequency_transition.md"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
RISE, FALL, LOW, HIGH = (25.0, 50.0), (50.0, 25.0), (25.0, 25.0), (50.0, 50.0)
#: Poisson test size: 30 cycles × 250 trials keeps the s.e.m. of the 50→50 mean at ≈ 3 % of the
#: 25→50 mean, so the ±10 % flat check has a 3σ margin (20/20 seeds passed); seeded.
POISSON = ["mode=poisson", "n_cycles=30", "n_trials=250", "dt=0.5ms"]


def _simulate(overrides):
    previous = prefs.codegen.target
    select("numpy")
    config = configure("frequency_transition", {}, overrides)
    try:
        result = simulate(config.parameters)
    finally:
        prefs.codegen.target = previous
    return result, config.parameters


@pytest.fixture(scope="module")
def rates():
    """Rates mode, 20 cycles, 3 trials, dt = 0.5 ms."""
    return _simulate(["n_cycles=20", "n_trials=3", "dt=0.5ms"])


@pytest.fixture(scope="module")
def poisson():
    """Poisson mode, seed 0."""
    return _simulate(POISSON)


def _means(result):
    mean, sem = result.theta.mean, result.theta.sem
    mean_inv, sem_inv = result.invariant.mean, result.invariant.sem
    return ({c: (mean[k], sem[k]) for k, c in enumerate(result.conditions)},
            {c: (mean_inv[k], sem_inv[k]) for k, c in enumerate(result.conditions)})


# ----------------------------------------------------------------------------------------
# Rates mode
# ----------------------------------------------------------------------------------------
def test_rates_rise_gives_ltp_fall_ltd_flat_nothing(rates):
    result, params = rates
    gated, _ = _means(result)
    assert gated[RISE][0] > 0
    assert gated[FALL][0] < 0
    for flat in (LOW, HIGH):
        assert abs(gated[flat][0]) <= 0.1 * abs(gated[RISE][0])
        assert gated[flat][0] == 0  # constant drive from its steady state: m ≡ 0
    assert all(sem == 0 for _, sem in gated.values())  # trials are identical
    assert np.all(result.theta.trials == result.theta.trials[:, :1])
    # ΔW ∝ f2 (f2 − f1): the fall is exactly half the rise, with the opposite sign
    assert gated[FALL][0] / gated[RISE][0] == pytest.approx(-0.5, abs=1e-3)
    summary = _summary(result, params)
    assert summary["passed"] and summary["trials_identical"]
    assert set(summary["checks"]) == {"ltp_when_rate_rises", "ltd_when_rate_falls",
                                      "flat_within_tolerance", "matches_law",
                                      "time_invariant_rule_cannot_tell_direction"}


def test_rates_match_the_exact_law(rates):
    result, params = rates
    k = result.index(*RISE)
    law = params["n_cycles"] * cycle_law(*RISE, 100 * ms, 30 * ms, 10 * ms, 30 * ms, 150 * ms,
                                         10 * second)[0]
    assert result.theta.law[k] == pytest.approx(law)
    assert law == pytest.approx(0.0094115, rel=1e-4)  # 20 cycles at the default time constants
    for c in range(len(result.conditions)):  # forward Euler at dt = 0.5 ms: within 1 %
        assert result.theta.trials[c, 0] == pytest.approx(result.theta.law[c], rel=0.01, abs=1e-12)
        assert result.invariant.trials[c, 0] == pytest.approx(result.invariant.law[c], rel=0.01,
                                                          abs=1e-12)


def test_time_invariant_rule_cannot_tell_rise_from_fall(rates):
    """Without the theta gate 25→50 and 50→25 are the same signal shifted by half a cycle."""
    result, _ = rates
    _, invariant = _means(result)
    rise, fall = invariant[RISE][0], invariant[FALL][0]
    assert rise > 0 and fall > 0  # LTP for both directions
    assert fall == pytest.approx(rise, rel=1e-3)
    assert result.invariant.law[result.index(*RISE)] == pytest.approx(
        result.invariant.law[result.index(*FALL)], rel=1e-9)
    gated, _ = _means(result)
    assert np.sign(gated[RISE][0]) != np.sign(gated[FALL][0])  # the gate separates them


def test_cycle_law_scaling():
    """ΔW per cycle = K f2 (f2 − f1); the time-invariant rule K' (f2 − f1)²."""
    args = (100 * ms, 30 * ms, 10 * ms, 30 * ms, 150 * ms, 10 * second)
    base, base_inv = cycle_law(25, 50, *args)
    for f1, f2 in ((25, 75), (50, 25), (75, 25), (40, 60)):
        gated, invariant = cycle_law(f1, f2, *args)
        assert gated / base == pytest.approx(f2 * (f2 - f1) / (50 * 25), rel=1e-9)
        assert invariant / base_inv == pytest.approx((f2 - f1) ** 2 / 25 ** 2, rel=1e-9)
    assert cycle_law(30, 30, *args) == (0.0, 0.0)
    # a gate at the cycle's end with τ_fast < τ_slow: LTP for a rise at any time constants
    assert cycle_law(25, 50, 100 * ms, 20 * ms, 5 * ms, 20 * ms, 200 * ms, 1 * second)[0] > 0


def test_gate_and_phases_in_the_traces(rates):
    result, params = rates
    g = result.traces["g"]["values"][0]
    plus = result.traces["plus"]["values"][0]
    t = np.round(np.asarray(result.traces["g"]["t"] / ms), 6)
    assert t[0] == 0 and len(t) == 400  # two cycles at record_dt = 1 ms
    assert set(np.unique(g)) == {0.0, 1.0}
    assert np.all(plus[g == 1] == 1)  # the gate lies in the plus phase
    assert np.array_equal(g == 1, (t % 200) >= 170)  # last 30 ms of each cycle
    assert np.array_equal(plus == 1, (t % 200) >= 100)
    k = result.index(*RISE)
    m = result.traces["m"]["values"][k]
    assert np.all(m[g == 1] > 0)  # plus − minus > 0 in the gate for a rise
    assert np.all(result.traces["m"]["values"][result.index(*FALL)][g == 1] < 0)
    assert np.allclose(result.traces["x_in"]["values"][k][(t % 200) >= 101], 1.0)


# ----------------------------------------------------------------------------------------
# Poisson mode
# ----------------------------------------------------------------------------------------
def test_poisson_sign_pattern_and_flat_within_ten_percent(poisson):
    result, params = poisson
    gated, invariant = _means(result)
    rise = gated[RISE][0]
    assert rise > 0 and gated[FALL][0] < 0
    for flat in (LOW, HIGH):
        assert abs(gated[flat][0]) <= 0.1 * abs(rise)
    assert all(sem > 0 for _, sem in gated.values())
    # unbiased: every mean is within 3 s.e.m. (+ 2 % of the rise law) of the exact law
    for k, c in enumerate(result.conditions):
        allowed = 3 * gated[c][1] + 0.02 * abs(result.theta.law[result.index(*RISE)])
        assert abs(gated[c][0] - result.theta.law[k]) <= allowed, c
    # the time-invariant rule: equal for rise and fall within the noise
    spread = abs(invariant[RISE][0] - invariant[FALL][0])
    assert spread <= 3 * np.hypot(invariant[RISE][1], invariant[FALL][1])
    summary = _summary(result, params)
    assert summary["passed"], summary["checks"]
    assert summary["reference"] == "25->50"
    assert "flat check can fail" not in summary["note"]  # 30 × 250 = 7 500 is enough
    assert all(abs(c["deviation_from_law_in_sem"]) < 3 for c in summary["conditions"])
    small = _summary(result, {**params, "n_trials": 20})
    assert "flat check can fail by chance" in small["note"]


def test_poisson_is_seeded_and_traces_hold_spikes(poisson, tmp_path):
    result, params = poisson
    again, _ = _simulate(POISSON[:2] + ["n_trials=2", "dt=0.5ms"])
    assert again.theta.trials.shape == (4, 2)
    same, _ = _simulate(POISSON[:2] + ["n_trials=2", "dt=0.5ms"])
    assert np.array_equal(again.theta.trials, same.theta.trials)  # brian2.seed(seed)
    other, _ = _simulate(POISSON[:2] + ["n_trials=2", "dt=0.5ms", "seed=1"])
    assert not np.array_equal(again.theta.trials, other.theta.trials)
    block = load_neo(save_neo(traces_block(result, params), tmp_path / f"t{neo_suffix()}"))
    segment = block.segments[0]
    names = {s.name for s in segment.analogsignals}
    assert {"z", "z_fast", "z_slow", "m", "g", "w", "w_invariant"} <= names
    assert "x_in" not in names
    assert len(segment.spiketrains) == 4
    counts = [len(s) for s in segment.spiketrains]  # 2 cycles: ≈ 7.5 (25→50) … 10 (50→50)
    assert 0 < sum(counts) < 120
    assert block.annotations["mode"] == "poisson" and block.annotations["n_trials"] == 250


# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, key, fragment", [
    (["f1_hz=[25, 50]"], "f1_hz", "same length"),
    (["f1_hz=[25, 0, 25, 50]"], "f1_hz[1]", "must be > 0"),
    (["f2_hz=[50, -25, 25, 50]"], "f2_hz[1]", "must be > 0"),
    (["f1_hz=[25, 25]", "f2_hz=[50, 50]"], "f1_hz/f2_hz", "appears twice"),
    (["phase_duration=0 ms"], "phase_duration", "must be > 0"),
    (["phase_duration=100"], "phase_duration", "no unit"),
    (["phase_duration=100.1 ms"], "phase_duration", "whole number of steps"),
    (["gate_width=150 ms"], "gate_width", "≤ phase_duration"),
    (["dt=3 ms"], "dt", "tau_prop/5"),
    (["dt=1.5 ms", "tau_prop=20 ms", "tau_fast=40 ms"], "dt", "f_max·dt"),
    (["tau_fast=200 ms"], "tau_fast", "< tau_slow"),
    (["record_dt=20 ms"], "record_dt", "phase_duration/10"),
    (["mode=poisson", "n_trials=1"], "n_trials", "≥ 2"),
    (["mode=spikes"], "mode", "rates, poisson"),
    (["n_cycles=0"], "n_cycles", "must be ≥ 1"),
])
def test_invalid_parameters_name_the_key(overrides, key, fragment):
    with pytest.raises(ValueError) as info:
        configure("frequency_transition", {}, overrides)
    message = str(info.value)
    assert key in message, message
    assert fragment in message, message


def test_the_shipped_file_is_valid_and_documented():
    config = load_protocol_file(TOML)
    p = config.parameters
    assert "frequency_transition" in available_protocols()
    assert p["f1_hz"] == (25.0, 50.0, 25.0, 50.0) and p["f2_hz"] == (50.0, 25.0, 25.0, 50.0)
    assert p["phase_duration"] == 100 * ms and p["n_cycles"] == 100 and p["n_trials"] == 20
    assert p["tau_fast"] == 30 * ms and p["tau_slow"] == 150 * ms and p["dt"] == 0.2 * ms
    table = format_parameters("frequency_transition")
    docs = DOCS.read_text(encoding="utf-8")
    for key in p:
        assert f"`{key}`" in table and f"`{key}`" in docs
    assert "ctfa run protocols/frequency_transition.toml" in docs


# ----------------------------------------------------------------------------------------
# End to end
# ----------------------------------------------------------------------------------------
def test_ctfa_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "ft"
    code = cli.main(["run", str(TOML), "--out", str(out), "--set", "n_cycles=20"])
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "manifest.json", "table.csv", "frequency_transition.png",
            f"traces{neo_suffix()}"} <= names
    assert (out / "frequency_transition.png").read_bytes()[:8] == PNG_MAGIC

    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "ok" and results["passed"] is True
    assert all(results["checks"].values())
    conditions = {c["condition"]: c for c in results["conditions"]}
    assert list(conditions) == ["25->50", "50->25", "25->25", "50->50"]
    assert conditions["25->50"]["mean"] > 0 > conditions["50->25"]["mean"]
    assert conditions["25->50"]["mean"] == pytest.approx(conditions["25->50"]["law"], rel=0.005)
    assert all(c["sem"] == 0 for c in conditions.values())
    assert results["trials_identical"] and results["note"].startswith("rates mode is determ")
    swap = results["time_invariant"][0]
    assert swap["time_invariant_ratio"] == pytest.approx(1, abs=1e-3)

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["protocol"] == "frequency_transition" and manifest["seed"] == 0
    assert manifest["parameters"]["phase_duration"] == "100 ms"
    assert manifest["parameters"]["n_cycles"] == 20
    assert manifest["overrides"] == ["n_cycles=20"]
    again = configure("frequency_transition", manifest["parameters"])  # a valid input
    assert again.parameters["tau_slow"] == 150 * ms

    with open(out / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 20
    assert {"condition", "f1_hz", "f2_hz", "trial", "dw", "dw_law", "dw_invariant"} <= set(rows[0])
    assert rows[0]["condition"] == "25->50" and float(rows[0]["dw"]) > 0

    block = load_neo(out / f"traces{neo_suffix()}")
    assert block.annotations["phase_duration_ms"] == 100
    assert block.annotations["tau_pot_s"] == 10
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert {"z", "z_fast", "z_slow", "m", "g", "w", "w_invariant", "x_in"} <= set(signals)
    m = signals["m"]
    assert m.shape == (400, 4)
    assert list(m.array_annotations["condition"]) == ["25->50", "50->25", "25->25", "50->50"]
    assert str(m.sampling_period.units.dimensionality) == "ms"
