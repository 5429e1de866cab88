"""The protocols in the spiking variant: overlap, eligibility window, frequency transitions,
and the rate-versus-spiking comparison."""

import csv
import json

import numpy as np
import pytest

from ctfa_brian.cli import main
from ctfa_brian.neo_io import load_neo
from ctfa_brian.protocols import configure, run_protocol

OVERLAP = {"protocol": "overlap", "parameters": {
    "sample_time": "100 ms", "n_delays": 13, "variant": "spiking", "n_trials": 150,
    "dt": "0.5 ms", "cch_trials": 30, "device": "numpy"}}


@pytest.fixture(scope="module")
def overlap_spiking(tmp_path_factory):
    out = tmp_path_factory.mktemp("overlap_spiking")
    return out, run_protocol(OVERLAP, out)


def test_spiking_overlap_follows_the_laws(overlap_spiking):
    """Trial means of −ΔW (ungated, gated) and the spike trains' C(0) sit on their laws."""
    _, results = overlap_spiking
    assert results["passed"], results["checks"]
    curves = results["curves"]
    for name in ("ungated", "gated", "overlap"):
        assert curves[name]["max_deviation_sem"] < 4
    ungated = curves["ungated"]["per_delay"]
    zero = next(e for e in ungated if e["delay_over_T"] == 0)
    far = [e for e in ungated if abs(e["delay_over_T"]) > 1.2]
    assert zero["mean"] > 10 * zero["sem"]  # a clear change where input and error overlap
    assert all(abs(e["mean"]) < 0.02 * zero["mean"] for e in far)  # none without overlap
    overlap = {e["delay_over_T"]: e for e in curves["overlap"]["per_delay"]}
    assert overlap[0.0]["mean"] == pytest.approx(0.1, abs=0.01)  # (T − |Δ|)₊ at Δ = 0, s
    assert overlap[0.5]["mean"] == pytest.approx(0.05, abs=0.01)


def test_spiking_overlap_files(overlap_spiking):
    out, results = overlap_spiking
    block = load_neo(results["files"]["spikes"])
    assert len(block.segments) == 13  # one Segment per condition (delay)
    segment = block.segments[6]
    assert segment.annotations["delay_ms"] == 0.0
    pre = [st for st in segment.spiketrains if st.annotations["population"] == "pre"]
    errors = [st for st in segment.spiketrains if st.annotations["event"] == "err_pos"]
    assert len(pre) == 2 and len(errors) == 2  # ungated and gated circuit, trial 0
    assert block.annotations["variant"] == "spiking" and block.annotations["n_trials"] == 150
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13 * (150 + 150 + 30)
    assert {r["curve"] for r in rows} == {"ungated", "gated", "overlap"}


def test_spiking_eligibility_window(tmp_path):
    """The spiking gated synapse shows Yagishita's window: potentiation at +0.6 s and +1 s
    (significant, ≥ 0.3 of the peak), none at −1 s, weak at +5 s; means on the law."""
    results = run_protocol({"protocol": "eligibility_window", "parameters": {
        "variant": "spiking", "n_trials": 150, "tau_elig_checks": ["1 s"],
        "device": "numpy"}}, tmp_path)
    assert results["passed"], results["checks"]
    y = results["yagishita"]
    assert y["+0.6 s"]["gated_normalised"] > 0.8 and y["+1 s"]["gated_normalised"] > 0.6
    assert y["+0.6 s"]["gated_normalised"] > 10 * y["+0.6 s"]["sem_normalised"]
    assert abs(y["-1 s"]["gated_normalised"]) < 0.02
    assert y["+5 s"]["gated_normalised"] < 0.05
    assert 0.3 <= results["peak_delay_s"] <= 1.0
    assert len(load_neo(results["files"]["spikes"]).segments) == 8


def test_spiking_frequency_transition_sign_pattern(tmp_path):
    """Poisson presynaptic spikes and a spiking postsynaptic cell whose own spikes make the TD
    traces: 25→50 LTP, 50→25 LTD, flat conditions within 10 % of the 25→50 change."""
    results = run_protocol({"protocol": "frequency_transition", "parameters": {
        "variant": "spiking", "n_cycles": 30, "n_trials": 400, "dt": "0.5 ms",
        "device": "numpy"}}, tmp_path)
    assert results["mode"] == "spiking"
    checks = results["checks"]
    assert checks["ltp_when_rate_rises"] and checks["ltd_when_rate_falls"]
    assert checks["flat_within_tolerance"] and checks["matches_law"]
    by = {c["condition"]: c for c in results["conditions"]}
    assert by["25->50"]["mean"] > 5 * by["25->50"]["sem"]
    assert by["50->25"]["mean"] < -5 * by["50->25"]["sem"]
    block = load_neo(results["files"]["traces"])
    post = [st for st in block.segments[0].spiketrains
            if st.annotations.get("population") == "post"]
    assert len(post) == 4 and all(len(st) > 0 for st in post)


@pytest.mark.parametrize("protocol, parameters, fragment", [
    ("frequency_transition", {"variant": "spiking", "mode": "poisson"},
     "mode = 'poisson' does not go with variant = 'spiking'"),
    ("frequency_transition", {"mode": "spiking"},
     "mode = 'spiking' does not go with variant = 'rate'"),
    ("overlap", {"sample_time": "100 ms", "variant": "spiking", "max_rate_hz": 2000,
                 "dt": "0.1 ms"}, "max_rate_hz = 2000 is not allowed"),
    ("overlap", {"sample_time": "100 ms", "variant": "spiking", "max_rate_hz": 800,
                 "dt": "0.5 ms"}, "dt = 0.5 ms is too coarse for max_rate_hz = 800"),
    ("overlap", {"sample_time": "100 ms", "variant": "spiking", "cch_bin": "50 ms"},
     "cch_bin = 50 ms is not allowed"),
    ("eligibility_window", {"variant": "spiking", "data": "x.csv"},
     "the spiking variant has no fit"),
    ("eligibility_window", {"variant": "spiking", "max_rate_hz": 500},
     "dt = 1 ms is too coarse for max_rate_hz = 500"),
    ("rate_vs_spiking", {"hidden": "24,x"}, "hidden = '24,x' is not allowed"),
    ("rate_vs_spiking", {"dt": "1 ms"}, "dt = 1 ms is too coarse for max_rate = 200 Hz"),
    ("rate_vs_spiking", {"n_delays": 20}, "n_delays = 20 is not allowed; it must be odd"),
    ("tau_pot_sweep", {"variant": "spiking"}, "dt = 1 ms is too coarse for max_rate = 200 Hz"),
    ("delay_sweep", {"variant": "spiking"}, "dt = 1 ms is too coarse for max_rate = 200 Hz"),
])
def test_bad_spiking_protocol_input_is_named(protocol, parameters, fragment, tmp_path):
    with pytest.raises(ValueError) as err:
        configure(protocol, parameters)
    assert fragment in str(err.value)


def test_ctfa_run_spiking_bad_input_writes_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "protocols/overlap.toml", "--out", str(out), "--set", "variant=spiking",
                 "--set", "max_rate_hz=900", "--set", "dt=0.5ms"])
    assert code == 2 and not out.exists()
    assert "too coarse for max_rate_hz = 900" in capsys.readouterr().err


@pytest.mark.standalone
def test_rate_vs_spiking_side_by_side(tmp_path):
    """Same network, data, Δ and T in both variants (small: circles, 6 epochs, one seed)."""
    out = tmp_path / "rvs"
    code = main(["run", "protocols/rate_vs_spiking.toml", "--out", str(out),
                 "--set", "epochs=6",
                 "--set", "n_seeds=1", "--set", "n_delays=9", "--set", "overlap_trials=60",
                 "--set", "window_trials=80"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    acc = results["accuracy"]
    assert acc["rate"]["mean"] > 0.9 and acc["spiking"]["mean"] > 0.85
    assert results["accuracy_gap_rate_minus_spiking"] == pytest.approx(
        acc["rate"]["mean"] - acc["spiking"]["mean"])
    assert results["checks"]["spiking overlap within 2 % of the law + 4 s.e.m."]
    assert results["window"]["spiking"]["peak_delay_s"] == pytest.approx(0.6)
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    panels = {(r["panel"], r["variant"]) for r in rows}
    for panel in ("learning_curve", "final_test_accuracy", "overlap_minus_dW", "window_dW"):
        assert (panel, "rate") in panels and (panel, "spiking") in panels
    assert sum(1 for r in rows if r["panel"] == "overlap_minus_dW") == 2 * 9
    block = load_neo(out / "recordings.nix")
    assert [s.annotations["variant"] for s in block.segments] == ["rate", "spiking"]
    assert not block.segments[0].spiketrains
    assert len(block.segments[1].spiketrains) > 0
    spiking_z = [s for s in block.segments[1].analogsignals if s.name == "layer1.z"][0]
    assert np.isfinite(spiking_z.magnitude).all()
    assert (out / "rate_vs_spiking.png").stat().st_size > 10_000


@pytest.mark.long  # 69 s; rate_vs_spiking runs both variants in the default run
@pytest.mark.standalone
def test_a_sweep_runs_both_variants_by_one_switch(tmp_path, monkeypatch):
    """``--grid variant=[rate,spiking]``: the delay sweep on circles in both variants (one
    compiled project each); both learn at Δ = 0 and neither at Δ = 1.5 T."""
    from pathlib import Path

    monkeypatch.setenv("CTFA_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "sweep"
    argv = ["run", "protocols/delay_sweep_circles.toml", "--out", str(out),
            "--grid", 'hidden=["24"]', "--grid", "delay_over_T=[0, 1.5]",
            "--grid", 'sample_time=["100 ms"]', "--grid", "variant=[rate,spiking]",
            "--set", "epochs=10", "--set", "tau_pot_over_T=40", "--set", "n_seeds=1",
            "--set", "dt=0.5ms", "--workers", "1"]
    assert main(argv) == 0
    with open(out / "table.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    acc = {(r["variant"], float(r["delay_over_T"])): float(r["test_accuracy"]) for r in rows}
    bal = {(r["variant"], float(r["delay_over_T"])): float(r["test_balanced_accuracy"])
           for r in rows}
    assert acc["rate", 0.0] >= 0.93 and acc["spiking", 0.0] >= 0.88
    for variant in ("rate", "spiking"):
        assert acc[variant, 1.5] <= 0.76
        assert bal[variant, 0.0] - bal[variant, 1.5] >= 0.25
    compiled = list(Path(tmp_path, "cache", "sweeps").glob("*/ctfa_complete"))
    assert len(compiled) == 2  # one project per variant, both delays through run_args
