"""The eligibility_window protocol: Yagishita's window, the ungated control, the τ_elig fit."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms, prefs, second

from ctfa_brian import cli
from ctfa_brian.device import select
from ctfa_brian.neo_io import load_neo, neo_suffix
from ctfa_brian.protocols import (
    available_protocols,
    configure,
    format_parameters,
    load_protocol_file,
    run_protocol,
)
from ctfa_brian.protocols.eligibility_window import simulate
from ctfa_brian.protocols.laws.window import (
    EARLY_MAX,
    FAR_MAX,
    LATE_MIN,
    fit_tau_elig,
    read_data,
    window_law,
)
from ctfa_brian.protocols.window_report import _summary

ROOT = Path(__file__).resolve().parents[1]
TOML = ROOT / "protocols" / "eligibility_window.toml"
DOCS = ROOT / "docs" / "protocols" / "eligibility_window.md"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DELAYS = (-2, -1, 0, 0.3, 0.6, 1, 2, 5)


@pytest.fixture(scope="module")
def window():
    """The shipped protocol, simulated once (numpy): τ_elig = 1 s plus 0.3 s and 3 s."""
    previous = prefs.codegen.target
    select("numpy")
    params = load_protocol_file(TOML).parameters
    result = simulate(params)
    prefs.codegen.target = previous
    return params, result


def _gated(window, delay, c=0):
    return window.gated[c].mean[window.index(delay * second)]


def _ungated(window, delay):
    return window.ungated.mean[window.index(delay * second)]


# ----------------------------------------------------------------------------------------
# The window (τ_elig = 1 s, τ_d = 200 ms, 30 Hz × 10 after a 1 s pairing)
# ----------------------------------------------------------------------------------------
def test_gated_rule_has_yagishitas_window(window):
    params, w = window
    assert params["tau_elig"] == 1 * second and params["tau_dopamine"] == 200 * ms
    assert list(np.asarray(w.delays / second)) == pytest.approx(DELAYS)
    peak = w.peak
    assert peak > 0 and peak == pytest.approx(np.max(w.gated[0].mean))
    assert _gated(w, 0.6) >= LATE_MIN * peak  # significant in Yagishita 2014
    assert _gated(w, 1.0) >= LATE_MIN * peak
    assert _gated(w, 0.6) / peak > 0.95 and _gated(w, 1.0) / peak > 0.8  # clearly, near peak
    assert abs(_gated(w, -1.0)) <= EARLY_MAX * peak  # absent
    assert _gated(w, 5.0) < FAR_MAX * peak  # absent
    assert _gated(w, 5.0) / peak < 0.02
    assert (LATE_MIN, EARLY_MAX, FAR_MAX) == (0.3, 0.02, 0.2)
    d = np.asarray(w.delays / second)
    assert 0.3 <= d[np.argmax(w.gated[0].mean)] <= 1.0  # the peak lies in 0.3–1 s
    # causal: a burst at d = +1 s (as the pairing ends) beats one at d = 0 (as it starts)
    assert _gated(w, 1.0) > 1.5 * _gated(w, 0.0)


def test_ungated_rule_has_no_window(window):
    _, w = window
    # the ungated rule sees only overlap: nothing from a burst after the pairing ...
    for delay in (1.0, 2.0, 5.0):
        assert abs(_ungated(w, delay)) <= 1e-12
        assert _gated(w, delay) > 0
    # ... and no preference for late bursts: it is largest when burst and pairing start together
    d = np.asarray(w.delays / second)
    assert d[np.argmax(w.ungated.mean)] == 0
    assert _ungated(w, 0.0) > _ungated(w, 0.3) > _ungated(w, 0.6)
    assert _ungated(w, 1.0) / _ungated(w, 0.0) < 1e-9 < _gated(w, 1.0) / _gated(w, 0.0) - 1


def test_simulation_matches_the_law(window):
    _, w = window
    assert w.deviation() <= 0.01
    assert [c.mean.shape for c in w.gated] == [(len(DELAYS),)] * 3
    assert list(np.asarray(w.tau_eligs / second)) == [1.0, 0.3, 3.0]


def test_law_against_quadrature():
    from scipy.signal import lfilter

    step = 1e-5
    t = np.arange(-3.0, 10.0, step)
    x = ((t >= 0) & (t < 1.0)).astype(float)
    for tau_e, tau_d in ((1.0, 0.2), (0.3, 0.05), (3.0, 0.0), (0.0, 0.2)):
        def trace(signal, tau):
            if tau == 0:
                return signal
            a = np.exp(-step / tau)  # exact for a signal held over each step
            return lfilter([1 - a], [1, -a], signal)

        E = trace(x, tau_e)
        for d in (-1.0, -0.2, 0.0, 0.45, 1.0, 2.5):
            u = np.zeros_like(t)
            for k in range(10):
                u[(t >= d + k / 30) & (t < d + k / 30 + 0.005)] = 1
            expected = np.sum(E * trace(u, tau_d)) * step
            got = float(window_law(d * second, tau_e * second, tau_dopamine=tau_d * second)
                        / second)
            assert got == pytest.approx(expected, abs=2e-6)


# ----------------------------------------------------------------------------------------
# The fit
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("c, tau", [(0, 1.0), (1, 0.3), (2, 3.0)])
def test_fit_recovers_simulated_tau_elig(window, c, tau):
    params, w = window
    assert float(w.tau_eligs[c] / second) == tau
    fit = fit_tau_elig(w.delays, w.gated[c].mean, pairing_duration=params["pairing_duration"],
                       burst_rate=params["burst_rate"], burst_pulses=params["burst_pulses"],
                       pulse_width=params["pulse_width"], tau_dopamine=params["tau_dopamine"])
    assert float(fit.tau_elig / second) == pytest.approx(tau, rel=0.10)
    assert float(fit.tau_elig / second) == pytest.approx(tau, rel=0.01)  # in fact much closer
    assert 1 / fit.amplitude == pytest.approx(float(params["tau_pot"] / second), rel=0.02)
    assert not fit.at_bound and fit.r_squared > 0.999


def test_fit_with_noise_and_without_dopamine_trace():
    rng = np.random.default_rng(0)
    delays = np.array(DELAYS) * second
    for tau in (0.3, 1.0, 3.0):
        clean = np.asarray(window_law(delays, tau * second, tau_dopamine=0 * ms) / second)
        noisy = clean * (1 + 0.02 * rng.standard_normal(clean.size))
        fit = fit_tau_elig(delays, noisy, tau_dopamine=0 * ms)
        assert float(fit.tau_elig / second) == pytest.approx(tau, rel=0.10)
    with pytest.raises(ValueError, match="at least 3"):
        fit_tau_elig([0.0, 1.0], [1.0, 0.5])


def test_summary_reports_the_numbers(window):
    params, w = window
    results = _summary(w, params)
    assert results["passed"] is True and all(results["checks"].values())
    assert results["delay_reference"].startswith("pairing onset")
    assert results["ratio_5s"] < FAR_MAX
    assert set(results["yagishita"]) == {"-1 s", "+0.6 s", "+1 s", "+5 s"}
    fits = {f["tau_elig_s"]: f for f in results["fit"]["simulated"]}
    assert set(fits) == {0.3, 1.0, 3.0}
    assert all(abs(f["error_percent"]) <= 10 for f in fits.values())


# ----------------------------------------------------------------------------------------
# Validation: impossible schedules and bad data files, nothing written
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, keys", [
    (["pulse_width=40ms"], ("pulse_width", "burst_rate", "impossible schedule")),
    (["trial_duration=5.5s"], ("delays[7]", "trial_duration", "impossible schedule")),
    (["burst_pulses=200"], ("delays[7]", "burst_pulses", "trial_duration")),
    (["dt=30ms"], ("dt", "pulse_width")),
    (["pairing_duration=1.0005s"], ("pairing_duration", "whole number")),
    (["delays=[0.3s, 0.3s]"], ("delays", "same step")),
    (["tau_elig=0s"], ("tau_elig", "must be > 0")),
    (["delays=[1, 2]"], ("delays[0]", "no unit")),
])
def test_bad_schedules_name_the_key_and_write_nothing(tmp_path, capsys, overrides, keys):
    with pytest.raises(ValueError) as info:
        load_protocol_file(TOML, overrides)
    for key in keys:
        assert key in str(info.value), str(info.value)
    out = tmp_path / "out"
    extra = [item for o in overrides for item in ("--set", o)]
    assert cli.main(["run", str(TOML), "--out", str(out), *extra]) == 2
    assert capsys.readouterr().err.startswith("ctfa: error: ")
    assert not out.exists()


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, fragment", [
    ("delay,dw\n0,1\n1,2\n2,1\n", "missing column 'delay_s' (or 'delay_ms')"),
    ("delay_s,weight\n0,1\n1,2\n2,1\n", "missing column 'dw'"),
    ("delay_s,delay_ms,dw\n0,0,1\n1,1000,2\n2,2000,1\n", "both 'delay_s' and 'delay_ms'"),
    ("delay_s,dw\n0,1\n1,nan\n2,1\n", "line 3: dw is NaN"),
    ("delay_s,dw\n0,1\n1,big\n2,1\n", "line 3: dw = 'big' is not a number"),
    ("delay_s,dw\n0,1\n,2\n2,1\n", "line 3: delay_s is empty"),
    ("delay_s,dw\n0,1\n1,2\n", "2 data row(s)"),
    ("delay_s,dw\n0,1\n0,2\n1,1\n", "2 distinct delay(s)"),
    ("delay_s,dw\n0,-1\n1,0\n2,-1\n", "no dw is positive"),
    ("", "is empty"),
])
def test_bad_data_files_are_rejected_before_writing(tmp_path, text, fragment):
    path = _csv(tmp_path / "bad.csv", text)
    with pytest.raises(ValueError) as info:
        read_data(path)
    message = str(info.value)
    assert message.startswith(f"data file {str(path)!r}") and fragment in message, message
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="bad.csv"):
        run_protocol(TOML, out, overrides=[f"data={path}"])
    assert not out.exists()
    missing = tmp_path / "missing.csv"
    with pytest.raises(ValueError, match="missing.csv.*no such file"):
        run_protocol(TOML, out, overrides=[f"data={missing}"])
    assert not out.exists()


def test_the_shipped_file_is_valid_and_documented():
    config = load_protocol_file(TOML)
    p = config.parameters
    assert config.name == "eligibility_window" and "eligibility_window" in available_protocols()
    assert p["delays"] == tuple(d * second for d in DELAYS)
    assert p["burst_rate"] == 30 and p["burst_pulses"] == 10 and p["pulse_width"] == 5 * ms
    assert p["pairing_duration"] == 1 * second and p["data"] == ""
    table = format_parameters("eligibility_window")
    docs = DOCS.read_text(encoding="utf-8")
    for key in p:
        assert f"`{key}`" in table and f"`{key}`" in docs


# ----------------------------------------------------------------------------------------
# End to end, with measured data
# ----------------------------------------------------------------------------------------
def test_ctfa_run_with_data_end_to_end(tmp_path, capsys):
    delays_ms = np.array([-1000, 0, 300, 600, 1000, 2000, 3000, 5000])
    law = np.asarray(window_law(delays_ms * ms, 500 * ms) / second)
    data = tmp_path / "measured.csv"
    with open(data, "w", newline="", encoding="utf-8") as fh:
        fh.write("# spine volume change, arbitrary units\n")
        writer = csv.writer(fh)
        writer.writerow(["delay_ms", "dw", "n_spines"])
        writer.writerows([d, f"{40 * v:.12g}", 10] for d, v in zip(delays_ms, law))
    out = tmp_path / "ew"
    code = cli.main(["run", str(TOML), "--out", str(out), "--set", f"data={data}",
                     "--set", "tau_elig_checks=[1 s]"])
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "manifest.json", "table.csv", "eligibility_window.png",
            f"traces{neo_suffix()}"} <= names
    assert (out / "eligibility_window.png").read_bytes()[:8] == PNG_MAGIC

    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "ok" and results["passed"] is True
    fit = results["fit"]["data"]
    assert fit["file"] == str(data.resolve()) and fit["n_points"] == 8
    assert fit["tau_elig_s"] == pytest.approx(0.5, rel=0.01)
    assert fit["amplitude_per_s"] == pytest.approx(40, rel=0.01)
    assert len(fit["points"]) == 8 and fit["r_squared"] > 0.999
    per_delay = {e["delay_s"]: e for e in results["per_delay"]}
    assert per_delay[0.6]["gated_normalised"] >= 0.3 and per_delay[1.0]["gated"] > 0
    assert abs(per_delay[-1.0]["gated_normalised"]) <= 0.02
    assert results["ratio_5s"] < 0.2
    assert [f["tau_elig_s"] for f in results["fit"]["simulated"]] == [1.0]

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["data"] == str(data)
    assert manifest["parameters"]["delays"][0] == "-2 s"
    configure("eligibility_window", manifest["parameters"])  # the manifest is a valid input

    with open(out / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"delay_s", "variant", "dw", "dw_normalised"} <= set(rows[0])
    assert len(rows) == 2 * len(DELAYS) + 3 * 2  # gated, ungated; 3 controls at +0.6, +1 s
    gated = {float(r["delay_s"]): float(r["dw_normalised"]) for r in rows
             if r["variant"] == "gated"}
    assert max(gated.values()) == pytest.approx(1.0)

    block = load_neo(out / f"traces{neo_suffix()}")
    assert block.annotations["tau_elig_ms"] == 1000
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert {"gated.E", "gated.w", "gated.D", "ungated.w", "pairing.x"} <= set(signals)
    E = signals["gated.E"]
    assert float(E.t_start.rescale("ms")) == -2000
    assert list(E.array_annotations["delay_ms"]) == pytest.approx([1000 * d for d in DELAYS])
    assert float(np.max(E.magnitude)) == pytest.approx(1 - np.exp(-1), abs=0.01)
