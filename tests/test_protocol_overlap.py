"""The protocol runner (TOML, validation, ``ctfa run``) and the overlap protocol (§4 laws)."""

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
from ctfa_brian.protocols.laws.overlap import (
    GATED_EARLY_MAX,
    GATED_LATE_MIN,
    eq1_law,
    eq4_law,
    gated_law,
    propagated_law,
    triangle_law,
)
from ctfa_brian.protocols.overlap import simulate

OVERLAP_TOML = Path(__file__).resolve().parents[1] / "protocols" / "overlap.toml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
T = 100 * ms
RATIOS = (10.0, 40.0, 100.0)
TOLERANCE = 0.02


@pytest.fixture()
def numpy_target():
    """Run Brian2 with the numpy target, and give the previous target back afterwards."""
    previous = prefs.codegen.target
    select("numpy")
    yield
    prefs.codegen.target = previous


@pytest.fixture(scope="module")
def sweep():
    """The default overlap sweep at 13 delays (Δ/T = −1.5, −1.25, …, +1.5)."""
    previous = prefs.codegen.target
    select("numpy")
    config = configure("overlap", {"sample_time": "100 ms", "n_delays": 13})
    result = simulate(config.parameters)
    prefs.codegen.target = previous
    return result


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------
# The overlap laws against the Brian2 circuit
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio", RATIOS)
def test_eq1_curve_is_the_flat_triangle(sweep, ratio):
    curve = sweep.find("eq1", tau_pot=ratio * T)
    assert curve.deviation() <= TOLERANCE  # exact law, with τ_dec
    triangle = np.asarray(triangle_law(sweep.delays, T) / curve.tau_pot)  # eq. 5
    assert np.max(np.abs(curve.mean - triangle)) <= TOLERANCE * triangle.max()
    assert curve.mean[sweep.index(0 * ms)] == pytest.approx(float(T / curve.tau_pot),
                                                                rel=1e-3)


@pytest.mark.parametrize("ratio", RATIOS)
def test_filtered_curve_is_eq4(sweep, ratio):
    curve = sweep.find("filtered", tau_pot=ratio * T)
    assert curve.law_name == "eq4_law"
    assert curve.deviation() <= TOLERANCE
    law = np.asarray(eq4_law(sweep.delays, T, ratio * T) / (ratio * T))
    assert np.allclose(curve.law, law)


def test_eq4_up_weights_late_errors(sweep):
    curve = sweep.find("filtered", tau_pot=10 * T)
    late, early = sweep.index(50 * ms), sweep.index(-50 * ms)
    assert curve.mean[late] > 1.05 * curve.mean[early]  # skewed triangle (§4)
    flat = sweep.find("filtered", tau_pot=100 * T)
    assert flat.mean[late] / flat.mean[early] < curve.mean[late] / \
        curve.mean[early]


def test_gated_curve_is_asymmetric_and_matches_its_law(sweep):
    curve = sweep.find("gated")
    assert curve.tau_elig == 2 * T
    assert curve.deviation() <= TOLERANCE
    zero = curve.mean[sweep.index(0 * ms)]
    late = curve.mean[sweep.index(1.5 * T)]
    early = curve.mean[sweep.index(-1.5 * T)]
    assert zero > 0
    assert late >= GATED_LATE_MIN * zero
    assert abs(early) <= GATED_EARLY_MAX * zero
    assert (GATED_LATE_MIN, GATED_EARLY_MAX) == (0.2, 0.02)


def test_laws_against_quadrature():
    t = np.linspace(-0.3, 0.6, 900_001)
    T_s, tau_elig, tau_dec, t_read = 0.1, 0.2, 3.0, 0.55
    x = ((t >= 0) & (t < T_s)).astype(float)
    trace = np.where(t < 0, 0, np.where(t < T_s, 1 - np.exp(-t / tau_elig),
                                        (1 - np.exp(-T_s / tau_elig))
                                        * np.exp(-(t - T_s) / tau_elig)))
    decay = np.exp(-(t_read - t) / tau_dec)
    for d in (-0.15, -0.05, 0.0, 0.03, 0.1, 0.2, 0.3):
        err = ((t >= d) & (t < d + T_s)).astype(float)
        expected = np.trapezoid(trace * err * decay, t)
        got = float(gated_law(d * second, T_s * second, tau_elig * second, tau_dec * second,
                              t_read * second) / second)
        assert got == pytest.approx(expected, abs=1e-6)
        got = float(eq1_law(d * second, T_s * second, tau_dec * second, t_read * second) / second)
        assert got == pytest.approx(np.trapezoid(x * err * decay, t), abs=1e-6)
        kernel = np.exp(-(T_s - t) / 1.0) * (t <= T_s)
        got = float(eq4_law(d * second, T_s * second, 1 * second) / second)
        assert got == pytest.approx(np.trapezoid(x * err * kernel, t), abs=1e-6)
    delays = np.linspace(-0.15, 0.15, 7) * second
    triangle = np.asarray(triangle_law(delays, T) / second)
    assert np.allclose(eq1_law(delays, T) / second, triangle)
    assert np.allclose(propagated_law(delays, T, 0 * ms) / second, triangle)
    assert np.allclose(eq4_law(delays, T, 1e6 * second) / second, triangle, atol=1e-7)
    assert np.allclose(gated_law(delays, T, 1e-7 * second) / second, triangle, atol=1e-6)
    lagged = np.asarray(propagated_law(delays, T, 10 * ms) / second)
    assert np.allclose(lagged, lagged[::-1]) and lagged[3] < triangle[3]


def test_finite_propagation_shrinks_the_curve_symmetrically(sweep):
    direct = sweep.find("eq1", tau_pot=100 * T)
    fast = sweep.find("eq1", tau_pot=100 * T, tau_prop=10 * ms)
    slow = sweep.find("eq1", tau_pot=100 * T, tau_prop=30 * ms)
    zero = sweep.index(0 * ms)
    # the Δ = 0 change drops (by about τ_prop/T for one hop each way) ...
    assert slow.mean[zero] < fast.mean[zero] < direct.mean[zero]
    assert slow.mean[zero] / direct.mean[zero] == pytest.approx(0.7, abs=0.03)
    # ... but with the same lag on both paths the relative timing is unchanged: no shift
    assert np.argmax(slow.mean) == zero
    assert np.allclose(slow.mean, slow.mean[::-1], atol=0.01 * slow.mean.max())
    assert slow.deviation() < 0.05  # Euler neurons vs the exact quadrature


def test_error_lag_shifts_the_curve_to_early_errors(numpy_target):
    """An extra τ_prop on the error path delays the error: the best Δ becomes negative."""
    config = configure("overlap", {"sample_time": "100 ms", "n_delays": 25},
                       ["error_hops=2", "tau_props=[0ms, 30ms]", "dt=0.2ms"])
    result = simulate(config.parameters)
    direct = result.find("eq1", tau_pot=100 * T)
    lagged = result.find("eq1", tau_pot=100 * T, tau_prop=30 * ms)
    d = np.asarray(result.delays / ms)
    centroid = np.sum(d * lagged.mean) / np.sum(lagged.mean)
    assert np.sum(d * direct.mean) / np.sum(direct.mean) == pytest.approx(0, abs=0.5)
    assert -32 < centroid < -20  # ≈ −(error_hops − input_hops) τ_prop, clipped at ±1.5 T
    assert d[np.argmax(lagged.mean)] < 0
    assert lagged.mean[result.index(0 * ms)] < direct.mean[result.index(0 * ms)]


# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------
def test_the_shipped_file_is_valid_and_complete():
    config = load_protocol_file(OVERLAP_TOML)
    p = config.parameters
    assert config.name == "overlap" and "overlap" in available_protocols()
    assert p["sample_time"] == 100 * ms and p["tau_elig"] == 200 * ms
    assert p["tau_pot_ratios"] == RATIOS
    assert p["tau_props"] == (0 * ms, 10 * ms, 30 * ms)
    assert p["dt"] == 0.1 * ms and p["n_delays"] == 61
    table = format_parameters("overlap")
    docs = (OVERLAP_TOML.parents[1] / "docs" / "protocols" / "overlap.md").read_text()
    for key in p:
        assert f"`{key}`" in table and f"`{key}`" in docs


@pytest.mark.parametrize("text, key, fragment", [
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\ntau_potratio = 3\n',
     "tau_potratio", "valid keys: sample_time"),
    ('protocol = "overlap"\n[parameters]\nn_delays = 13\n', "sample_time", "missing required"),
    ('protocol = "overlap"\n[parameters]\nsample_time = 100\n', "sample_time", "no unit"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "5 mV"\n', "sample_time",
     "wrong dimension"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\ntau_elig = "-1 s"\n',
     "tau_elig", "must be > 0"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\ntau_props = ["0 ms", 10]\n',
     "tau_props[1]", "no unit"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\nn_delays = 12\n',
     "n_delays", "odd"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\ndt = "2 ms"\n', "dt",
     "too coarse"),
    ('protocol = "overlap"\n[parameters]\nsample_time = "100 ms"\ndevice = "gpu"\n', "device",
     "numpy"),
    ('protocol = "overlaps"\n', "overlaps", "known protocols: "),
    ('[parameters]\nsample_time = "100 ms"\n', "protocol", "missing key"),
])
def test_invalid_files_name_the_key(tmp_path, text, key, fragment):
    path = _write(tmp_path / "bad.toml", text)
    with pytest.raises(ValueError) as info:
        load_protocol_file(path)
    message = str(info.value)
    assert repr(key) in message or f"{key} =" in message, message
    assert fragment in message, message


def test_set_overrides(tmp_path):
    config = load_protocol_file(OVERLAP_TOML, ["tau_elig=1s", "n_delays=13",
                                               "tau_props=0ms,20ms", "tau_pot_ratios=[5, 50]"])
    p = config.parameters
    assert p["tau_elig"] == 1 * second and p["n_delays"] == 13
    assert p["tau_props"] == (0 * ms, 20 * ms) and p["tau_pot_ratios"] == (5.0, 50.0)
    assert config.overrides[0] == "tau_elig=1s"
    for bad, key in (("tau_elig=1", "tau_elig"), ("tau_elig=1 mV", "tau_elig"),
                     ("tau_eligg=1s", "tau_eligg"), ("n_delays", "key=value")):
        with pytest.raises(ValueError, match=key):
            load_protocol_file(OVERLAP_TOML, [bad])
    out = tmp_path / "never"
    with pytest.raises(ValueError, match="sample_time"):
        run_protocol(OVERLAP_TOML, out, overrides=["sample_time=0 ms"])
    with pytest.raises(ValueError, match="missing required parameter 'sample_time'"):
        run_protocol({"protocol": "overlap", "parameters": {"n_delays": 13}}, out)
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "no_unit", "bad_set", "bad_toml"])
def test_cli_run_rejects_bad_input(tmp_path, capsys, case):
    path = OVERLAP_TOML
    extra = []
    if case == "missing":
        path = tmp_path / "missing.toml"
    elif case == "no_unit":
        path = _write(tmp_path / "f.toml", 'protocol = "overlap"\n[parameters]\n'
                                           "sample_time = 100\n")
    elif case == "bad_set":
        extra = ["--set", "colour=blue"]
    else:
        path = _write(tmp_path / "f.toml", 'protocol = "overlap\n')
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out), *extra]) == 2
    assert capsys.readouterr().err.startswith("ctfa: error: ")
    assert not out.exists()


# ----------------------------------------------------------------------------------------
# End to end
# ----------------------------------------------------------------------------------------
def test_ctfa_run_end_to_end(tmp_path, capsys):
    out = tmp_path / "overlap"
    code = cli.main(["run", str(OVERLAP_TOML), "--out", str(out), "--set", "n_delays=13"])
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert {"results.json", "manifest.json", "table.csv", "overlap.png",
            f"traces{neo_suffix()}"} <= names
    assert (out / "overlap.png").read_bytes()[:8] == PNG_MAGIC

    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "ok" and results["passed"] is True
    assert all(results["checks"].values())
    ungated = {(e["variant"], e["tau_pot_ratio"]): e for e in results["ungated"]}
    assert set(ungated) == {(v, r) for v in ("eq1", "filtered") for r in RATIOS}
    assert all(e["max_deviation_percent"] <= 2 for e in ungated.values())
    assert all(ungated[("eq1", r)]["deviation_from_triangle_percent"] <= 2 for r in RATIOS)
    gated = results["gated"]
    assert gated["delay_late_ms"] == 150 and gated["delay_early_ms"] == -150
    assert gated["ratio_late"] >= 0.2 and abs(gated["ratio_early"]) <= 0.02
    assert gated["max_deviation_percent"] <= 2
    props = {e["tau_prop"]: e for e in results["propagation"]}
    assert props["30 ms"]["zero_delay_ratio"] < props["10 ms"]["zero_delay_ratio"] < 1

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["protocol"] == "overlap" and manifest["seed"] == 0
    assert manifest["parameters"]["sample_time"] == "100 ms"
    assert manifest["parameters"]["tau_elig"] == "200 ms"
    assert manifest["parameters"]["n_delays"] == 13
    assert manifest["overrides"] == ["n_delays=13"]
    assert manifest["command_line"][:2] == ["ctfa", "run"]
    assert {"ctfa_brian", "brian2", "numpy", "neo", "python"} <= set(manifest["versions"])
    again = configure("overlap", manifest["parameters"])  # the manifest is a valid input
    assert again.parameters["tau_props"] == (0 * ms, 10 * ms, 30 * ms)

    with open(out / "table.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"delay_ms", "variant", "tau_pot_s", "tau_prop_ms", "minus_dW_sim", "minus_dW_law",
            "normalised"} <= set(rows[0])
    assert len(rows) == 13 * (3 + 3 + 1 + 2)
    zero = [r for r in rows if r["variant"] == "eq1" and r["delay_ms"] == "0"
            and r["tau_prop_ms"] == "0"]
    assert len(zero) == 3 and all(float(r["normalised"]) == pytest.approx(1, abs=1e-3)
                                  for r in zero)

    block = load_neo(out / f"traces{neo_suffix()}")
    assert block.annotations["sample_time_ms"] == 100
    assert block.annotations["tau_dec_s"] == 1200
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert {"gated.minus_w", "gated.E", "ungated.minus_w"} <= set(signals)
    trace = signals["gated.E"]
    assert str(trace.sampling_period.units.dimensionality) == "ms"
    assert float(trace.t_start.rescale("ms")) == -150
    assert list(trace.array_annotations["delay_ms"]) == [-150, -50, 0, 50, 150]
    assert float(np.max(trace.magnitude)) == pytest.approx(1 - np.exp(-0.5), abs=0.01)
