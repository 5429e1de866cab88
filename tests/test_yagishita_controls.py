"""Yagishita's controls in the eligibility_window protocol: pairing alone, dopamine alone and
pairing without postsynaptic activity give ≤ 5 % of the paired change (rate and spiking)."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from brian2 import prefs, second

from ctfa_brian.device import select
from ctfa_brian.protocols import load_protocol_file, run_protocol
from ctfa_brian.protocols.eligibility_window import simulate
from ctfa_brian.protocols.window_controls import CONDITIONS, CONTROL_MAX
from ctfa_brian.protocols.window_report import _summary

ROOT = Path(__file__).resolve().parents[1]
TOML = ROOT / "protocols" / "eligibility_window.toml"
CONTROLS = ("pairing_only", "dopamine_only", "no_post")
#: A short schedule: the two significant delays (+0.6 s, +1 s) and an early one; W read at 4 s.
SHORT = ["delays=[-1 s, 0.6 s, 1 s]", "trial_duration=4 s", "tau_elig_checks=[1 s]"]


def _rate(overrides=()):
    previous = prefs.codegen.target
    select("numpy")
    params = load_protocol_file(TOML, [*SHORT, *overrides]).parameters
    try:
        window = simulate(params)
    finally:
        prefs.codegen.target = previous
    return params, window, _summary(window, params)


def test_defaults_are_yagishitas_conditions_with_the_hebbian_trace():
    params = load_protocol_file(TOML).parameters
    assert params["eligibility"] == "hebbian"
    assert params["conditions"] == ("paired", *CONTROLS) == tuple(CONDITIONS)
    assert CONTROL_MAX == 0.05


def test_rate_controls_give_no_potentiation_and_paired_is_unchanged():
    params, window, results = _rate()
    controls = results["controls"]
    assert controls["delays_s"] == [0.6, 1.0] and controls["eligibility"] == "hebbian"
    # the paired change is the one test_protocol_eligibility_window asserts: the window
    d = list(np.asarray(window.delays / second))
    paired = {e["delay_s"]: e["dw"] for e in controls["paired"]}
    assert paired[0.6] == window.gated[0].mean[d.index(0.6)] > 0
    assert paired[0.6] / window.peak == 1.0 and paired[1.0] / window.peak > 0.8
    assert paired[0.6] == pytest.approx(0.0275726061, rel=1e-8)  # tests/data reference
    for name in CONTROLS:
        entry = controls["conditions"][name]
        assert entry["ok"] is True and entry["max_abs_fraction"] <= CONTROL_MAX
        assert [p["fraction"] for p in entry["per_delay"]] == [0.0, 0.0]  # exactly: a factor is 0
    assert results["passed"] and sum("control " in k for k in results["checks"]) == 3


def test_the_pre_only_trace_fails_the_no_post_control():
    """A trace written by x alone ignores the postsynaptic factor: with postsynaptic activity
    blocked it potentiates as much as the pairing — Yagishita's control rules it out."""
    _, _, results = _rate(["eligibility=pre"])
    no_post = results["controls"]["conditions"]["no_post"]
    assert no_post["max_abs_fraction"] == pytest.approx(1.0, abs=1e-12)
    assert no_post["ok"] is False and results["passed"] is False
    assert results["controls"]["conditions"]["pairing_only"]["ok"] is True
    assert results["yagishita"]["+0.6 s"]["ok"]  # the paired window itself is the same


def test_conditions_select_the_controls():
    _, window, results = _rate(["conditions=[paired, no_post]"])
    assert list(window.controls["curves"]) == ["no_post"]
    assert list(results["controls"]["conditions"]) == ["no_post"]
    _, window, results = _rate(["conditions=paired"])
    assert results["controls"] is None and not any("control" in k for k in results["checks"])


@pytest.mark.parametrize("value, fragment", [
    ("[paired, no_dopamine]", "conditions[1] = 'no_dopamine' is not allowed; choose one of: "
                              "paired, pairing_only, dopamine_only, no_post"),
    ("[pairing_only, no_post]", "lacks 'paired'"),
    ("[paired, no_post, no_post]", "names no_post twice"),
    ("[]", "conditions is empty"),
])
def test_bad_conditions_name_the_parameter(tmp_path, value, fragment):
    with pytest.raises(ValueError) as info:
        load_protocol_file(TOML, [f"conditions={value}"])
    assert fragment in str(info.value) and "conditions" in str(info.value), str(info.value)
    with pytest.raises(ValueError, match="eligibility = 'both' is not allowed"):
        load_protocol_file(TOML, ["eligibility=both"])
    out = tmp_path / "out"
    with pytest.raises(ValueError):
        run_protocol(TOML, out, overrides=[f"conditions={value}"])
    assert not out.exists()


def test_spiking_controls_give_no_potentiation(tmp_path):
    """Spikes: the same conditions in a run of their own; the paired spike trains (and ΔW)
    are those of a run without controls."""
    out = tmp_path / "spiking"
    results = run_protocol(TOML, out, overrides=[*SHORT, "variant=spiking", "n_trials=40",
                                                 "device=numpy"])
    controls = results["controls"]
    assert results["passed"], results["checks"]
    paired = {e["delay_s"]: e for e in controls["paired"]}
    assert paired[0.6]["dw"] > 5 * paired[0.6]["sem"] > 0  # the paired change is significant
    for name in CONTROLS:
        entry = controls["conditions"][name]
        assert entry["ok"] and entry["max_abs_fraction"] <= CONTROL_MAX
    assert "controls_run" in results["timings_s"]
    with open(out / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["curve"] for r in rows} >= set(CONTROLS)
    assert sum(r["curve"] == "no_post" for r in rows) == 2 * 40
    saved = json.loads((out / "results.json").read_text())
    assert saved["controls"]["conditions"]["no_post"]["ok"] is True


def test_spiking_pre_only_trace_fails_no_post(tmp_path):
    results = run_protocol(TOML, tmp_path / "pre", overrides=[
        *SHORT, "variant=spiking", "n_trials=20", "eligibility=pre", "device=numpy",
        "conditions=[paired, no_post]"])
    fraction = results["controls"]["conditions"]["no_post"]["max_abs_fraction"]
    assert 0.5 < fraction < 2 and results["passed"] is False


def test_rate_figure_and_table_have_the_controls(tmp_path):
    out = tmp_path / "rate"
    results = run_protocol(TOML, out, overrides=[*SHORT, "device=numpy"])
    assert results["passed"] and (out / "eligibility_window.png").stat().st_size > 0
    with open(out / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    controls = [r for r in rows if r["variant"] in CONTROLS]
    assert len(controls) == 3 * 2 and all(float(r["dw"]) == 0 for r in controls)
    assert len(rows) == 2 * 3 + len(controls)  # gated + ungated per delay, as before
