"""Network-level sweeps: τ_pot/T (paper Fig. 7) and τ_elig/T, compiled once per dataset."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from ctfa_brian.cli import main
from ctfa_brian.protocols import run_protocol

pytestmark = pytest.mark.standalone

PROTOCOLS = Path(__file__).resolve().parent.parent / "protocols"


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture
def count_builds(monkeypatch):
    builds = []
    original = CPPStandaloneDevice.build

    def counting(self, *args, **kwargs):
        builds.append(kwargs.get("directory"))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CPPStandaloneDevice, "build", counting)
    return builds


def test_tau_pot_sweep_unstable_near_T_robust_beyond_40(tmp_path, count_builds):
    out = tmp_path / "tau_pot"
    results = run_protocol(PROTOCOLS / "tau_pot_sweep.toml", out, overrides=[
        "datasets=digits", "tau_pot_ratios=2,50", "n_seeds=2", "epochs=2"])
    assert len(count_builds) == 1  # four runs, one compiled project
    rows = _rows(out / "table.csv")
    assert [r["tau_pot_over_T"] for r in rows] == ["2.0", "2.0", "50.0", "50.0"]
    fast = [r for r in rows if r["tau_pot_over_T"] == "2.0"]
    slow = [float(r["test_accuracy"]) for r in rows if r["tau_pot_over_T"] == "50.0"]
    # τ_pot ~ T: the per-sample step T/τ_pot is too large and the network blows up
    assert all(r["status"].startswith("blown up") for r in fast)
    assert min(slow) >= 0.85
    summary = results["summary"]["digits"]
    assert summary[0]["n_ok"] == 0 and summary[1]["n_ok"] == 2
    for name in ("table.csv", "tau_pot_sweep.png", "results.json", "manifest.json"):
        assert (out / name).exists()
    assert any(out.glob("traces.*"))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parameters"]["sample_time"] == "200 ms"


def test_tau_elig_sweep_short_trace_learns_long_trace_does_not(tmp_path, count_builds):
    out = tmp_path / "tau_elig"
    assert main(["run", str(PROTOCOLS / "tau_elig_sweep.toml"), "--out", str(out),
                 "--set", "datasets=digits", "--set", "tau_elig_ratios=0.05,5",
                 "--set", "n_seeds=1", "--set", "epochs=2"]) == 0
    assert len(count_builds) == 1
    acc = {r["tau_elig_over_T"]: float(r["test_accuracy"]) for r in _rows(out / "table.csv")}
    assert acc["0.05"] >= 0.85  # a short trace is the ungated rule
    assert acc["5.0"] <= 0.2 or np.isnan(acc["5.0"])  # the trace mixes many samples


def test_sweep_rejects_bad_values_before_writing(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["run", str(PROTOCOLS / "tau_pot_sweep.toml"), "--out", str(out),
                 "--set", "tau_pot_ratios=0.5,10"]) == 2
    assert "tau_pot_ratios" in capsys.readouterr().err
    assert not out.exists()
    assert main(["run", str(PROTOCOLS / "tau_elig_sweep.toml"), "--out", str(out),
                 "--set", "device=gpu"]) == 2
    assert "device" in capsys.readouterr().err
    assert main(["run", str(PROTOCOLS / "tau_elig_sweep.toml"), "--out", str(out),
                 "--set", "datasets=digits,cifar"]) == 2
    assert "datasets = 'digits,cifar' is not allowed" in capsys.readouterr().err
    assert not out.exists()
