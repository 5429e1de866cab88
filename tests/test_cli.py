"""The ``ctfa`` command line, run in-process on tiny problems with the numpy device."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms, second

from ctfa_brian import cli
from ctfa_brian.cli_commands import train as train_command
from ctfa_brian.guard import BlowUpError
from ctfa_brian.neo_io import load_neo, neo_suffix
from ctfa_brian.parameters import ModelParameters, Schedule
from ctfa_brian.training import Trainer, TrainingResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EPOCHS, EVALS = 2, 2


def _args(out, *extra):
    return ["train", "--dataset", "circles", "--n-train", "16", "--n-test", "8",
            "--hidden", "3", "--sample-time", "20ms", "--buffer-time", "2ms",
            "--device", "numpy", "--quiet", "--out", str(out), *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One small run shared by the tests that only read its files."""
    out = tmp_path_factory.mktemp("cli") / "run"
    code = cli.main(_args(out, "--epochs", str(EPOCHS), "--evals-per-epoch", str(EVALS),
                          "--seed", "5", "--tau-pot", "2s", "--rule", "fa"))
    return code, out


def test_train_succeeds_and_writes_files(trained):
    code, out = trained
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["learning_curve.png", "manifest.json",
                                                     "results.json"]


def test_results_json(trained):
    results = json.loads((trained[1] / "results.json").read_text())
    assert set(results) == {"status", "test_accuracy", "test_balanced_accuracy",
                            "train_accuracy", "learning_curve", "online_train_accuracy",
                            "saturated", "timings_s"}
    assert results["status"] == "ok"
    assert 0 <= results["test_accuracy"] <= 1
    assert 0.1 <= results["test_balanced_accuracy"] <= 1
    assert 0 <= results["train_accuracy"] <= 1
    curve = results["learning_curve"]
    assert len(curve) == EPOCHS * EVALS + 1
    assert [p["epoch"] for p in curve] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert all(0 <= p["test_accuracy"] <= 1 for p in curve)
    assert curve[-1]["test_accuracy"] == results["test_accuracy"]
    online = results["online_train_accuracy"]
    assert len(online) == EPOCHS * EVALS
    assert all(0 <= p["accuracy"] <= 1 for p in online)
    assert results["timings_s"]["run"] > 0


def test_manifest_json(trained):
    manifest = json.loads((trained[1] / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["dataset"] == "circles"
    assert manifest["device"] == "numpy"
    model, schedule = manifest["model"], manifest["schedule"]
    assert model["rule"] == "fa" and model["hidden"] == [3]
    assert model["tau_prop"] == "10 ms"  # the default, with its unit
    assert model["tau_prop"].endswith(" ms")
    assert model["tau_pot_w"] == "2 s"
    assert model["tau_pot_v"] == "2 s"  # --tau-pot-v defaults to --tau-pot
    assert schedule["sample_time"] == "20 ms"
    assert schedule["buffer_time"] == "2 ms"
    assert manifest["training"] == {"epochs": EPOCHS, "evals_per_epoch": EVALS, "seed": 5,
                                    "evaluate": "curve", "anneal_to": 0.25}
    assert manifest["extra"] == {"n_train": 16, "n_test": 8, "record": False, "sources": {
        "buffer_time": "--buffer-time", "epochs": "--epochs", "hidden": "--hidden",
        "sample_time": "--sample-time", "tau_pot_v": "--tau-pot", "tau_pot_w": "--tau-pot",
        "tau_dec_v": "preset (circles)", "tau_dec_w": "preset (circles)",
        "anneal_to": "preset (circles)"}}
    assert manifest["command_line"][:2] == ["ctfa", "train"]
    assert "--tau-pot" in manifest["command_line"]
    assert {"ctfa_brian", "brian2", "numpy", "neo", "python"} <= set(manifest["versions"])


def _prepared(*argv):
    args = cli.build_parser().parse_args(["train", "--out", "unused", *argv])
    trainer, _, sources = train_command.prepare(args)
    return trainer, sources


def test_dataset_presets_fill_what_the_user_did_not_give():
    from ctfa_brian.presets import PRESETS

    trainer, sources = _prepared("--dataset", "circles")
    preset = PRESETS["circles"]
    assert trainer.model.hidden == preset["hidden"]
    assert trainer.schedule.sample_time == preset["sample_time"]
    assert trainer.model.tau_pot_w == trainer.model.tau_pot_v == preset["tau_pot"]
    assert trainer.training.epochs == preset["epochs"]
    assert trainer.training.anneal_to == preset["anneal_to"]
    assert sources == {k: "preset (circles)" for k in ("hidden", "sample_time", "tau_pot_w",
                                                       "tau_pot_v", "tau_dec_w", "tau_dec_v",
                                                       "epochs", "anneal_to")}
    # an option the user gives always wins, and the manifest says so
    trainer, sources = _prepared("--dataset", "circles", "--sample-time", "50ms",
                                 "--epochs", "2", "--tau-pot-v", "3s")
    assert trainer.schedule.sample_time == 50 * ms and trainer.training.epochs == 2
    assert trainer.model.tau_pot_w == preset["tau_pot"] and trainer.model.tau_pot_v == 3 * second
    assert sources["sample_time"] == "--sample-time" and sources["epochs"] == "--epochs"
    assert sources["tau_pot_v"] == "--tau-pot-v" and sources["tau_pot_w"] == "preset (circles)"
    # every shipped data set has a preset
    assert {"circles", "digits", "mnist7"} <= set(PRESETS)
    trainer, sources = _prepared("--dataset", "mnist7", "--tau-dec", "10min")
    assert trainer.schedule.sample_time == PRESETS["mnist7"]["sample_time"]
    assert trainer.model.tau_dec_w == trainer.model.tau_dec_v == 600 * second
    assert sources["tau_dec_w"] == sources["tau_dec_v"] == "--tau-dec"


def test_learning_curve_png(trained):
    data = (trained[1] / "learning_curve.png").read_bytes()
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 100 and height > 100


def test_summary_printed(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(_args(out, "--epochs", "1", "--hidden", "2", "--delay", "-4ms",
                          "--tau-dec", "10min", "--tau-pot-v", "3s", "--record")) == 0
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert f"test accuracy {results['test_accuracy']:.3f}" in printed
    assert str(out / "results.json") in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["hidden"] == [3, 2]  # repeated --hidden: two layers
    assert manifest["schedule"]["delay"] == "-4 ms"  # negative value after a space
    assert manifest["model"]["tau_dec_w"] == manifest["model"]["tau_dec_v"] == "600 s"
    assert manifest["model"]["tau_pot_w"] == "8 s"  # the circles preset
    assert manifest["model"]["tau_pot_v"] == "3 s"
    # --record: first 3 neurons of each layer (output has 2), W and V synapses, at 1 ms
    path = out / f"recordings{neo_suffix()}"
    assert str(path) in printed
    block = load_neo(path)
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert sorted(signals) == ["V1.v", "V2.v", "W1.w", "W2.w", "W3.w", "layer1.eps",
                               "layer1.z", "layer2.eps", "layer2.z", "output.eps", "output.z"]
    assert signals["layer1.z"].shape[1] == 3
    assert signals["layer2.z"].shape[1] == 2
    assert signals["output.z"].shape[1] == 2
    assert float(signals["W1.w"].sampling_period.rescale("ms")) == pytest.approx(1.0)
    assert block.annotations["delay_ms"] == -4.0
    assert block.annotations["tau_dec_v_s"] == 600.0


@pytest.mark.parametrize("extra, fragment", [
    (["--rule", "nope"], "argument --rule: invalid choice: 'nope'"),
    (["--dataset", "nope"], "argument --dataset: invalid choice: 'nope'"),
    (["--sample-time", "50"], "'50' has no unit; write e.g. 50ms"),
    (["--sample-time", "50Hz"], "'50Hz' has the wrong dimension"),
    (["--tau-pot", "1ms"], "time constants out of order"),
    (["--dt", "10ms", "--buffer-time", "10ms"],
     "--dt = 10. ms is too coarse for --tau-prop = 10. ms"),
    (["--buffer-time", "30ms"], "--buffer-time"),
    (["--hidden", "0"], "hidden layer widths must be ≥ 1"),
    (["--epochs", "0"], "--epochs = 0 is not allowed"),
    (["--n-train", "100000"], "--n-train=100000"),
    (["--noise", "-1"], "--noise = -1.0 is not allowed"),
    (["--mnist-path", "/nonexistent"], "--mnist-path is only used with --dataset mnist7"),
    (["--dataset", "mnist7", "--mnist-path", "/nonexistent"], "does not exist"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra, fragment):
    out = tmp_path / "run"
    assert cli.main(_args(out, *extra)) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("ctfa: error: ")
    assert fragment in captured.err
    assert captured.out == ""
    assert not out.exists()


def test_out_must_not_be_a_file(tmp_path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    assert cli.main(_args(out)) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert out.read_text() == "x"


def test_missing_command_or_out(tmp_path, capsys):
    assert cli.main([]) == 2
    assert "ctfa: error: " in capsys.readouterr().err
    assert cli.main(["train", "--dataset", "circles"]) == 2
    assert "--out" in capsys.readouterr().err


def test_help_exits_0_and_shows_defaults(capsys):
    assert cli.main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    from ctfa_brian.presets import PRESETS

    model, schedule = ModelParameters(), Schedule()
    defaults = [cli._show(value) for value in (model.tau_prop, schedule.dt)]
    assert cli._show(1200 * second) == "20min" and cli._show(200 * ms) == "200ms"
    assert cli._show(-50 * ms) == "-50ms" and cli._show(2.5 * second) == "2.5s"
    for fragment in (*(f"default: {d}" for d in defaults), "default: digits",
                     "default: ctfa_dense_standalone", f"default: {model.rule}",
                     "--n-train", "--record"):
        assert fragment in text
    # the preset options show every data set's value
    flat = " ".join(text.split())
    for name, preset in PRESETS.items():
        assert f"digits {cli._show(PRESETS['digits']['tau_pot'])}" in flat
        assert f"{name} {cli._show(preset['sample_time'])}" in flat
    assert cli.main(["--help"]) == 0
    assert "train" in capsys.readouterr().out


def test_blow_up_writes_partial_results(tmp_path, capsys, monkeypatch):
    partial = TrainingResult(np.nan, np.nan, [{"epoch": 0.0, "test_accuracy": 0.5}], [],
                             weights={}, timings={"build": 0.1, "run": 0.2})

    def blow_up(self, seed=None, **overrides):
        raise BlowUpError("the simulation blew up: layer1.z became NaN", variable="layer1.z",
                          time=None, partial=partial)

    monkeypatch.setattr(Trainer, "run", blow_up)
    out = tmp_path / "run"
    assert cli.main(_args(out)) == 3
    captured = capsys.readouterr()
    assert "the simulation blew up: layer1.z became NaN" in captured.err
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "blown_up"
    assert results["message"] == "the simulation blew up: layer1.z became NaN"
    assert results["test_accuracy"] is None
    assert results["learning_curve"] == [{"epoch": 0.0, "test_accuracy": 0.5}]
    assert (out / "manifest.json").is_file()
    assert (out / "learning_curve.png").read_bytes()[:8] == PNG_MAGIC  # what finished


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_real_blow_up_exits_3(tmp_path, capsys):
    out = tmp_path / "run"
    # T / tau_pot = 18 with the squared loss: a per-sample step far beyond the LMS bound, so
    # the Euler loop diverges within one sample, before the once-per-sample weight bound acts
    # (the cross-entropy's errors are bounded and its logits clipped: it no longer reaches inf)
    code = cli.main(_args(out, "--epochs", "1", "--sample-time", "200ms", "--tau-pot", "11ms",
                          "--loss", "squared"))
    assert code == 3
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "blown_up"
    assert "NaN or infinite" in results["message"]
    assert results["train_accuracy"] is None
    assert "blew up" in capsys.readouterr().err


def test_python_dash_m(tmp_path):
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "ctfa_brian", "train", "--sample-time", "5"],
                          cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin",
                               "HOME": str(tmp_path)})
    assert proc.returncode == 2
    assert "ctfa: error: argument --sample-time: '5' has no unit" in proc.stderr
