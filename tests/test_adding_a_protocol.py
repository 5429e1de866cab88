"""docs/adding_a_protocol.md: the two example protocols of your own run as the page says."""

import json
from pathlib import Path

import pytest

from ctfa_brian.cli import main
from ctfa_brian.protocols import load_protocol_file, run_protocol

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "protocols"
DOC = Path(__file__).resolve().parents[1] / "docs" / "adding_a_protocol.md"


def _lines(path):
    return len(path.read_text(encoding="utf-8").splitlines())


def test_the_examples_are_as_short_as_the_page_says():
    assert _lines(EXAMPLES / "pairing.py") < 150
    assert _lines(EXAMPLES / "tau_prop_sweep.py") < 80
    text = DOC.read_text(encoding="utf-8")
    for name in ("pairing.py", "tau_prop_sweep.py"):
        assert f"examples/protocols/{name}" in text


def test_a_single_synapse_protocol_of_your_own_matches_its_law(tmp_path):
    out = tmp_path / "pairing"
    assert main(["run", str(EXAMPLES / "pairing.toml"), "--out", str(out),
                 "--set", "n_delays=7", "--set", "dt=0.5ms"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["passed"] and results["max_deviation_of_peak"] < 1e-9
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["protocol"] == str(EXAMPLES / "pairing.py")
    rows = (out / "table.csv").read_text().splitlines()
    assert rows[0] == "delay_ms,dw,dw_law" and len(rows) == 8
    assert (out / "pairing.png").stat().st_size > 0 and any(out.glob("traces.*"))


@pytest.mark.standalone
def test_a_sweep_of_your_own_runs_on_the_engine_and_resumes(tmp_path):
    out = tmp_path / "tau_prop"
    overrides = ["epochs=5", "n_seeds=1", "workers=1"]
    config = load_protocol_file(EXAMPLES / "tau_prop_sweep.toml", overrides,
                                grid_overrides=['tau_prop=["10 ms", "80 ms"]'])
    results = run_protocol(config, out)
    accuracy = {e["tau_prop"]: e["mean"] for e in results["summary"]}
    # a slow neuron leaves no time to learn within T = 100 ms: the class prior (0.752)
    assert accuracy["10 ms"] >= 0.9 and accuracy["80 ms"] <= 0.8
    cells = sorted(out.glob("cells/*.json"))
    stamps = [c.stat().st_mtime_ns for c in cells]
    assert len(cells) == 2
    run_protocol(config, out)  # the same command again: both cells are read back, not rerun
    assert [c.stat().st_mtime_ns for c in cells] == stamps


def test_a_missing_or_incomplete_protocol_of_your_own_is_refused(tmp_path, capsys):
    missing = tmp_path / "missing.toml"
    missing.write_text('protocol = "nowhere.py"\n')
    assert main(["run", str(missing), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "nowhere.py" in err and "no such file" in err
    (tmp_path / "half.py").write_text("NAME = 'half'\n")
    half = tmp_path / "half.toml"
    half.write_text('protocol = "half.py"\n')
    assert main(["run", str(half), "--out", str(tmp_path / "o")]) == 2
    assert "lacks PARAMETERS" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
