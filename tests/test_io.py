"""Quantity parsing, results/manifest files and the Neo export of recordings."""

import json
import math
import os
import sys
from datetime import datetime

import numpy as np
import pytest
import quantities as pq
from brian2 import Hz, ms, second, us
from brian2.units.fundamentalunits import have_same_dimensions

import ctfa_brian
from ctfa_brian.datasets import load_dataset
from ctfa_brian.io import atomic_path, make_manifest, parse_quantity, write_results
from ctfa_brian.neo_io import load_neo, neo_suffix, recordings_to_neo, save_neo
from ctfa_brian.network import Recording
from ctfa_brian.parameters import ModelParameters, Schedule, Training, format_time
from ctfa_brian.training import Trainer, TrainingResult


def _suffixes():
    return [".nix"]


# ----------------------------------------------------------------------------------------
# parse_quantity
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("50ms", 50 * ms),
    ("2.5s", 2.5 * second),
    ("-25ms", -25 * ms),
    ("20min", 1200 * second),
    ("1e-3s", 1 * ms),
    ("0.5 ms", 0.5 * ms),
    ("  10us ", 10 * us),
    ("3 second", 3 * second),
    (".5s", 500 * ms),
    ("+1E2ms", 100 * ms),
])
def test_parse_quantity_reads_times(text, expected):
    value = parse_quantity(text)
    assert have_same_dimensions(value, second)
    assert float(value) == pytest.approx(float(expected), rel=1e-12, abs=0)


def test_parse_quantity_other_dimension():
    assert float(parse_quantity("5 kHz", unit=Hz)) == pytest.approx(5000.0)
    with pytest.raises(ValueError, match="'5ms' has the wrong dimension"):
        parse_quantity("5ms", unit=Hz)


def test_parse_quantity_passes_quantities_through():
    assert parse_quantity(30 * ms) == 30 * ms
    with pytest.raises(ValueError, match="dimensions"):
        parse_quantity(3 * Hz)


@pytest.mark.parametrize("text, fragment", [
    ("50", "'50' has no unit; write e.g. 50ms"),
    ("-3.5", "'-3.5' has no unit"),
    ("50Hz", "'50Hz' has the wrong dimension: Hz is not a time"),
    ("50 mV", "'50 mV' has the wrong dimension"),
    ("5 parsec", "'5 parsec' has an unknown unit 'parsec'"),
    ("5msecond", "unknown unit 'msecond'"),
    ("ms", "cannot read 'ms' as a number with a unit"),
    ("fifty ms", "cannot read 'fifty ms'"),
    ("", "cannot read ''"),
])
def test_parse_quantity_errors_quote_the_text(text, fragment):
    with pytest.raises(ValueError) as info:
        parse_quantity(text)
    message = str(info.value)
    assert fragment in message
    assert "e.g. 50ms" in message


def test_parse_quantity_lists_time_units_for_unknown_units():
    with pytest.raises(ValueError, match=r"units: us, ms, s, second, min"):
        parse_quantity("4 h")


# ----------------------------------------------------------------------------------------
# results.json / manifest.json
# ----------------------------------------------------------------------------------------
def _fake_recordings(n_times=6, t0=2 * ms, dt=0.5 * ms):
    rng = np.random.default_rng(1)
    t = t0 + np.arange(n_times) * dt
    return {
        "layer1": {"t": t, "indices": np.array([0, 2, 5]),
                   "z": rng.normal(size=(3, n_times)), "eps": rng.normal(size=(3, n_times))},
        "W1": {"t": t, "indices": np.array([1, 4]), "w": rng.normal(size=(2, n_times))},
    }


def _fake_result(recordings=None, test=0.75):
    return TrainingResult(
        test_accuracy=test,
        train_accuracy=np.float64(0.8),
        learning_curve=[{"epoch": 0.0, "test_accuracy": 0.5},
                        {"epoch": 1.0, "test_accuracy": test}],
        online_train_accuracy=[{"epoch": 0.0, "accuracy": 0.6}],
        weights={"W1": np.zeros((2, 3))},
        recordings=recordings or {},
        readout=np.zeros((4, 2)),
        test_confusion=np.array([[3, 1], [0, 4]]),  # recalls 0.75 and 1
        timings={"build": 0.25, "run": np.float64(1.5)},
    )


def test_write_results_writes_both_files(tmp_path):
    directory = tmp_path / "nested" / "run"
    manifest = {"seed": 3, "model": {"tau_prop": "10 ms"}}
    paths = write_results(directory, _fake_result(), manifest)
    assert paths == {"results": directory / "results.json",
                     "manifest": directory / "manifest.json"}
    assert sorted(os.listdir(directory)) == ["manifest.json", "results.json"]  # no temp files
    results = json.loads(paths["results"].read_text())
    assert results == {
        "status": "ok",
        "test_accuracy": 0.75,
        "test_balanced_accuracy": 0.875,
        "train_accuracy": 0.8,
        "learning_curve": [{"epoch": 0.0, "test_accuracy": 0.5},
                           {"epoch": 1.0, "test_accuracy": 0.75}],
        "online_train_accuracy": [{"epoch": 0.0, "accuracy": 0.6}],
        "saturated": {},
        "timings_s": {"build": 0.25, "run": 1.5},
    }
    assert json.loads(paths["manifest"].read_text()) == manifest


def test_write_results_nan_is_null_and_status_message(tmp_path):
    paths = write_results(tmp_path, _fake_result(test=math.nan), {}, status="blown_up",
                          message="it blew up")
    text = paths["results"].read_text()
    assert "NaN" not in text
    results = json.loads(text)
    assert results["test_accuracy"] is None
    assert results["learning_curve"][1]["test_accuracy"] is None
    assert results["status"] == "blown_up"
    assert results["message"] == "it blew up"


def test_write_results_without_result(tmp_path):
    paths = write_results(tmp_path, None, {"a": 1}, status="blown_up")
    results = json.loads(paths["results"].read_text())
    assert results["test_accuracy"] is None and results["learning_curve"] == []


def test_write_results_overwrites_atomically(tmp_path):
    write_results(tmp_path, _fake_result(test=0.1), {})
    write_results(tmp_path, _fake_result(test=0.9), {})
    assert json.loads((tmp_path / "results.json").read_text())["test_accuracy"] == 0.9
    assert sorted(os.listdir(tmp_path)) == ["manifest.json", "results.json"]


def test_atomic_path_leaves_target_alone_on_error(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        with open(tmp, "w") as fh:
            fh.write("new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["file.txt"]


def test_make_manifest_has_units_versions_and_command_line():
    model = ModelParameters(hidden=(24, 12), rule="fa", tau_pot_w=2 * second)
    schedule = Schedule(sample_time=100 * ms, delay=-20 * ms)
    manifest = make_manifest(model, schedule, Training(epochs=2, seed=7), "circles", "numpy",
                             extra={"n_train": np.int64(40)}, argv=["ctfa", "train"])
    assert manifest["dataset"] == "circles"
    assert manifest["device"] == "numpy"
    assert manifest["seed"] == 7
    assert manifest["model"]["hidden"] == [24, 12]
    assert manifest["model"]["rule"] == "fa"
    assert manifest["model"]["tau_prop"] == format_time(model.tau_prop) == "10 ms"
    assert manifest["model"]["tau_prop"].endswith(" ms")
    assert manifest["model"]["tau_pot_w"] == "2 s"
    assert manifest["schedule"]["sample_time"] == "100 ms"
    assert manifest["schedule"]["delay"] == "-20 ms"
    assert manifest["training"] == {"epochs": 2, "evals_per_epoch": 1, "seed": 7,
                                    "evaluate": "curve", "anneal_to": 1.0}
    versions = manifest["versions"]
    assert set(versions) == {"ctfa_brian", "brian2", "numpy", "neo", "python"}
    assert versions["ctfa_brian"] == ctfa_brian.__version__
    assert versions["numpy"] == np.__version__
    assert all(isinstance(v, str) and v for v in versions.values())
    assert manifest["platform"]
    assert datetime.fromisoformat(manifest["timestamp_utc"]).utcoffset().total_seconds() == 0
    assert manifest["command_line"] == ["ctfa", "train"]
    assert manifest["extra"] == {"n_train": 40}
    json.dumps(manifest, allow_nan=False)  # plain JSON data throughout


def test_make_manifest_defaults_to_sys_argv(monkeypatch):
    monkeypatch.setattr("sys.argv", ["prog", "--x"])
    manifest = make_manifest(ModelParameters(), Schedule(), Training(), "digits", "runtime")
    assert manifest["command_line"] == ["prog", "--x"]
    assert "extra" not in manifest


# ----------------------------------------------------------------------------------------
# Neo
# ----------------------------------------------------------------------------------------
def test_recordings_to_neo_signals_and_annotations():
    recordings = _fake_recordings()
    model = ModelParameters(hidden=(3,), tau_pot_v=5 * second)
    schedule = Schedule(sample_time=50 * ms, delay=-5 * ms)
    block = recordings_to_neo(_fake_result(recordings), model, schedule, Training(seed=4),
                              recording=Recording(dt=0.5 * ms), dataset_name="circles",
                              device="numpy")
    assert len(block.segments) == 1
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert sorted(signals) == ["W1.w", "layer1.eps", "layer1.z"]
    for name, signal in signals.items():
        group, var = name.split(".")
        data = recordings[group][var]
        assert signal.shape == data.T.shape
        assert signal.units == pq.dimensionless
        assert signal.sampling_period.rescale(pq.ms).magnitude == pytest.approx(0.5)
        assert signal.t_start.rescale(pq.ms).magnitude == pytest.approx(2.0)
        np.testing.assert_allclose(signal.times.rescale(pq.s).magnitude,
                                   np.asarray(recordings[group]["t"] / second))
        np.testing.assert_array_equal(signal.magnitude, data.T)
        np.testing.assert_array_equal(signal.array_annotations["channel_index"],
                                      recordings[group]["indices"])
        assert signal.annotations["group"] == group
        assert signal.annotations["variable"] == var
    ann = block.annotations
    assert ann["tau_prop_ms"] == float(model.tau_prop / ms)
    assert ann["tau_pot_w_s"] == float(model.tau_pot_w / second)
    assert ann["tau_pot_v_s"] == 5.0
    assert ann["tau_dec_w_s"] == float(model.tau_dec_w / second)
    assert ann["tau_dec_v_s"] == float(model.tau_dec_v / second)
    assert ann["sample_time_ms"] == 50.0
    assert ann["buffer_time_ms"] == float(schedule.buffer_time / ms)
    assert ann["delay_ms"] == -5.0
    assert ann["dt_ms"] == float(schedule.dt / ms)
    assert ann["recording_dt_ms"] == 0.5
    assert ann["hidden"] == "3"
    assert ann["rule"] == "kp" and ann["seed"] == 4
    assert ann["dataset"] == "circles" and ann["device"] == "numpy"
    assert ann["test_accuracy"] == 0.75
    assert not any(isinstance(v, type(ms)) for v in ann.values())
    assert "tau_prop" not in ann and "v_init" not in ann  # unit in every key; None left out


def test_recordings_to_neo_infers_sampling_period_from_times():
    block = recordings_to_neo(_fake_recordings(dt=2 * ms))
    for signal in block.segments[0].analogsignals:
        assert signal.sampling_period.rescale(pq.ms).magnitude == pytest.approx(2.0)
    with pytest.raises(ValueError, match="sampling period"):
        recordings_to_neo(_fake_recordings(n_times=1))


def test_recordings_to_neo_checks_shapes():
    recordings = _fake_recordings()
    recordings["W1"]["w"] = recordings["W1"]["w"][:, :-1]
    with pytest.raises(ValueError, match=r"W1\.w has shape \(2, 5\)"):
        recordings_to_neo(recordings)


@pytest.mark.parametrize("suffix", _suffixes())
def test_neo_round_trip(tmp_path, suffix):
    recordings = _fake_recordings()
    block = recordings_to_neo(_fake_result(recordings), ModelParameters(hidden=(3,)),
                              Schedule(), Training(), recording=Recording(dt=0.5 * ms))
    path = save_neo(block, tmp_path / f"rec{suffix}")
    assert path == tmp_path / f"rec{suffix}"
    assert os.listdir(tmp_path) == [f"rec{suffix}"]
    loaded = load_neo(path)
    assert len(loaded.segments) == 1
    signals = {s.name: s for s in loaded.segments[0].analogsignals}
    assert sorted(signals) == ["W1.w", "layer1.eps", "layer1.z"]
    for original in block.segments[0].analogsignals:
        signal = signals[original.name]
        np.testing.assert_array_equal(signal.magnitude, original.magnitude)
        assert signal.units == pq.dimensionless
        np.testing.assert_allclose(signal.times.rescale(pq.ms).magnitude,
                                   original.times.rescale(pq.ms).magnitude)
        assert signal.sampling_period.rescale(pq.ms).magnitude == pytest.approx(0.5)
        np.testing.assert_array_equal(signal.array_annotations["channel_index"],
                                      original.array_annotations["channel_index"])
    for key in ("tau_prop_ms", "tau_pot_w_s", "sample_time_ms", "delay_ms", "rule", "hidden"):
        assert loaded.annotations[key] == block.annotations[key]


def test_neo_suffix_and_bad_extensions(tmp_path):
    assert neo_suffix() == ".nix"
    block = recordings_to_neo(_fake_recordings())
    with pytest.raises(ValueError, match="unknown Neo file type '.h5'"):
        save_neo(block, tmp_path / "rec.h5")
    with pytest.raises(FileNotFoundError, match="no Neo file"):
        load_neo(tmp_path / "missing.nix")
    with pytest.raises(ValueError, match="does not read pickles"):
        save_neo(block, tmp_path / "rec.pkl")


def test_real_run_exports_to_neo(tmp_path):
    recording = Recording.first(2, layers=("layer1", "output"), synapses=("W1",))
    model, schedule, training = (ModelParameters(hidden=(4,)),
                                 Schedule(sample_time=50 * ms, buffer_time=5 * ms),
                                 Training(epochs=1))
    trainer = Trainer(load_dataset("circles").subset(40, 20), model, schedule, training,
                      device="numpy", recording=recording)
    result = trainer.run()
    assert 0 <= result.test_accuracy <= 1
    block = recordings_to_neo(result, model, schedule, training, recording=recording)
    signals = {s.name: s for s in block.segments[0].analogsignals}
    assert sorted(signals) == ["W1.w", "layer1.eps", "layer1.z", "output.eps", "output.z"]
    n_times = len(result.recordings["layer1"]["t"])
    # the whole run at the recording's 1 ms: 40 train + 2 x 20 test + 40 train-eval periods
    assert trainer.network.n_periods == 40 + 20 + 20 + 40
    assert n_times == int(round(float(trainer.network.duration / recording.dt)))
    for name, signal in signals.items():
        group, var = name.split(".")
        entry = result.recordings[group]
        assert signal.shape == (n_times, 2)
        np.testing.assert_array_equal(signal.magnitude, entry[var].T)
        np.testing.assert_allclose(signal.times.rescale(pq.s).magnitude,
                                   np.asarray(entry["t"] / second), atol=1e-12)
        np.testing.assert_array_equal(signal.array_annotations["channel_index"], [0, 1])
    assert np.ptp(signals["W1.w"].magnitude[:, 0]) > 0  # the weight did learn
    path = save_neo(block, tmp_path / f"run{neo_suffix()}")
    loaded = {s.name: s for s in load_neo(path).segments[0].analogsignals}
    np.testing.assert_array_equal(loaded["output.z"].magnitude,
                                  result.recordings["output"]["z"].T)


def test_without_nixio_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "nixio", None)  # import nixio fails
    block = recordings_to_neo(_fake_recordings())
    with pytest.raises(ImportError, match="need nixio"):
        save_neo(block, tmp_path / "rec.nix")
    assert os.listdir(tmp_path) == []
