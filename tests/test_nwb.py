"""NWB output beside NIX: a real spiking run's recordings through ``.nwb`` (Neo's NWBIO), read
back by pynwb and by `load_neo`; ``--format`` on ``ctfa train`` and ``ctfa run``; ``ctfa
analyze`` on an NWB file; the errors."""

import json
import sys

import numpy as np
import pytest
import quantities as pq
from brian2 import ms, second

from ctfa_brian import ModelParameters, Recording, Schedule, Trainer, Training, load_dataset
from ctfa_brian.cli import main
from ctfa_brian.neo_io import load_neo, recordings_to_neo, save_neo, save_neo_formats
from ctfa_brian.nwb_io import NWB_NOTES_KEY, check_format, current_format, output_format

pynwb = pytest.importorskip("pynwb")

TRAIN = ["train", "--dataset", "circles", "--n-train", "20", "--n-test", "10", "--hidden", "5",
         "--epochs", "1", "--sample-time", "50ms", "--tau-pot", "4s", "--variant", "spiking",
         "--device", "numpy", "--record", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A short spiking run (every spike of layer1 and the inputs, output[1]; traces every
    5 ms) and its recordings saved as both recordings.nix and recordings.nwb."""
    model = ModelParameters(hidden=(5,), variant="spiking", tau_pot_w=4 * second,
                            tau_pot_v=4 * second)
    recording = Recording({"layer1": [0, 1]}, {"W1": [0]}, dt=5 * ms,
                          spikes={"layer1": "all", "output": [1], "input": "all"})
    trainer = Trainer(load_dataset("circles").subset(30, 10), model,
                      Schedule(sample_time=50 * ms, dt=0.5 * ms, delay=-4 * ms),
                      Training(epochs=1), device="numpy", recording=recording)
    result = trainer.run()
    block = recordings_to_neo(result, trainer.model, trainer.schedule, trainer.training,
                              recording=trainer.recording, dataset_name="circles")
    out = tmp_path_factory.mktemp("nwb")
    paths = save_neo_formats(block, out / "recordings", "recordings", "both")
    assert paths == {"recordings": out / "recordings.nix",
                     "recordings_nwb": out / "recordings.nwb"}
    return result, block, paths["recordings"], paths["recordings_nwb"]


def _spikes(result, group, event, index):
    data = result.spikes[group][event]
    return np.sort(np.asarray(data["t"] / second)[np.asarray(data["i"]) == index])


def test_pynwb_reads_the_spike_times_and_signals_of_the_run(run):
    result, block, _, nwb = run
    with pynwb.NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        units = f.units.to_dataframe()
        by_name = dict(zip(units["_name"], units["spike_times"]))
        assert len(by_name) == 5 * 3 + 3 + 2 * 2 == len(block.segments[0].spiketrains)
        total = 0
        for group, event, index in [("layer1", e, k) for e in ("spike", "err_pos", "err_neg")
                                    for k in range(5)] + [("input", "spike", 0),
                                                          ("input", "neg", 1),
                                                          ("output", "spike", 1)]:
            expected = _spikes(result, group, event, index)  # the Brian2 monitor, in s
            got = np.asarray(by_name[f"{group}.{event}[{index}]"])
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
            total += len(got)
        assert total > 100
        assert len(by_name["layer1.spike[0]"]) + sum(
            len(by_name[f"layer1.spike[{k}]"]) for k in range(1, 5)) == \
            len(result.spikes["layer1"]["spike"]["i"])
        stop = float(result.duration / second)
        np.testing.assert_allclose(np.asarray(units["obs_intervals"].iloc[0]), [[0, stop]])
        signals = {name.split(" ")[1]: ts for name, ts in f.acquisition.items()}
        assert set(signals) == {"layer1.z", "layer1.eps", "W1.w"}
        for name, ts in signals.items():
            group, var = name.split(".")
            entry = result.recordings[group]
            np.testing.assert_array_equal(ts.data[:], np.asarray(entry[var]).T)
            assert ts.unit == "dimensionless" and ts.rate == pytest.approx(200.0)  # 5 ms
            assert ts.starting_time == pytest.approx(float(entry["t"][0] / second))
        notes = json.loads(f.notes)
        assert notes[NWB_NOTES_KEY] == 1
        params = notes["block"]["annotations"]
        assert params["delay_ms"] == -4.0 and params["tau_pot_w_s"] == 4.0
        assert params["max_rate_hz"] == 200.0 and params["dt_ms"] == 0.5
        assert f.session_start_time.tzinfo is not None and len(f.identifier) == 36
        assert f.session_description == "continuous-time feedback alignment run"


def test_load_neo_round_trip_keeps_units_and_annotations(run):
    result, block, nix, nwb = run
    assert [s.name for s in block.segments[0].analogsignals] == \
        ["layer1.z", "layer1.eps", "W1.w"]  # NWBIO wrote a copy: the names are untouched
    back, from_nix = load_neo(nwb), load_neo(nix)
    def without(annotations):  # NixIO adds nix_name to what it writes and reads
        return {k: v for k, v in annotations.items() if k != "nix_name"}

    assert back.annotations == without(block.annotations) == without(from_nix.annotations)
    assert back.annotations["delay_ms"] == -4.0 and back.annotations["tau_pot_v_s"] == 4.0
    assert back.name == block.name and back.description == block.description
    before, after = block.segments[0], back.segments[0]
    assert after.name == "run" and after.annotations == without(before.annotations)
    assert [s.name for s in after.analogsignals] == [s.name for s in before.analogsignals]
    for old, new in zip(before.analogsignals, after.analogsignals):
        np.testing.assert_array_equal(new.magnitude, old.magnitude)
        assert new.units == pq.dimensionless and new.t_start == old.t_start
        assert new.t_start.units == pq.ms and new.sampling_period == 5 * pq.ms
        assert new.annotations == without(old.annotations)  # group, variable
        np.testing.assert_array_equal(new.array_annotations["channel_index"],
                                      old.array_annotations["channel_index"])
    assert [st.name for st in after.spiketrains] == [st.name for st in before.spiketrains]
    for old, new in zip(before.spiketrains, after.spiketrains):
        assert new.units == pq.ms and new.t_start == old.t_start and new.t_stop == old.t_stop
        np.testing.assert_allclose(new.magnitude, old.magnitude, rtol=1e-13, atol=0)
        assert new.annotations == without(old.annotations)  # group, event, channel_index
    third = next(st for st in after.spiketrains if st.name == "layer1.spike[2]")
    np.testing.assert_allclose(third.magnitude, _spikes(result, "layer1", "spike", 2) * 1e3,
                               rtol=1e-12)


def test_ctfa_train_format_both_and_analyze_agree(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "--format", "both", "--out", str(out)]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert f"recordings: {out / 'recordings.nix'}" in printed
    assert f"recordings_nwb: {out / 'recordings.nwb'}" in printed
    assert json.loads((out / "manifest.json").read_text())["extra"]["format"] == "both"
    summaries = {}
    for suffix in ("nix", "nwb"):
        dest = tmp_path / f"analysis_{suffix}"
        assert main(["analyze", str(out / f"recordings.{suffix}"), "--out", str(dest),
                     "--show", "1s"]) == 0
        summaries[suffix] = json.loads((dest / "analysis.json").read_text())
        assert (dest / "raster.png").stat().st_size > 1000
    nix, nwb = summaries["nix"]["rows"], summaries["nwb"]["rows"]
    assert len(nix) == len(nwb) > 5 and sum(r["n_spikes"] for r in nix) > 100
    for a, b in zip(nix, nwb):
        assert set(a) == set(b)
        for key, value in a.items():
            if isinstance(value, float):  # spike times went through seconds: 1e-16 apart
                assert b[key] == pytest.approx(value, rel=1e-12), key
            else:
                assert b[key] == value, key
    assert summaries["nwb"]["annotations"]["variant"] == "spiking"


def test_ctfa_run_format_nwb_writes_the_protocols_traces(tmp_path, capsys):
    out = tmp_path / "overlap"
    assert main(["run", "overlap", "--out", str(out), "--format", "both",
                 "--set", "n_delays=3", "--set", "device=numpy"]) == 0, capsys.readouterr().err
    results = json.loads((out / "results.json").read_text())
    assert results["files"]["traces_nwb"] == str(out / "traces.nwb")
    assert json.loads((out / "manifest.json").read_text())["format"] == "both"
    nix, nwb = load_neo(out / "traces.nix"), load_neo(out / "traces.nwb")
    assert nwb.annotations["protocol"] == "overlap" and nwb.annotations["sample_time_ms"] > 0
    assert nwb.annotations == {k: v for k, v in nix.annotations.items() if k != "nix_name"}
    a, b = nix.segments[0].analogsignals, nwb.segments[0].analogsignals
    assert [s.name for s in a] == [s.name for s in b] and len(a) > 2
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.magnitude, y.magnitude)
        assert x.t_start == y.t_start and x.sampling_period == y.sampling_period
        assert set(x.array_annotations) == set(y.array_annotations)
    with pynwb.NWBHDF5IO(str(out / "traces.nwb"), "r") as io:
        assert io.read().protocol == "overlap"
    only = tmp_path / "only"
    assert main(["run", "overlap", "--out", str(only), "--format", "nwb",
                 "--set", "n_delays=3", "--set", "device=numpy"]) == 0
    assert (only / "traces.nwb").is_file() and not (only / "traces.nix").exists()


@pytest.mark.parametrize("argv", [[*TRAIN, "--format", "hdf5"],
                                  ["run", "overlap", "--format", "hdf5"]])
def test_bad_format_is_refused(tmp_path, capsys, argv):
    out = tmp_path / "out"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "argument --format: invalid choice: 'hdf5'" in err
    assert "'nix', 'nwb', 'both'" in err and not out.exists()
    with pytest.raises(ValueError, match="--format 'xml' is not allowed; choose one of: nix, "
                                         "nwb, both"):
        check_format("xml")


def test_format_without_record_is_refused(tmp_path, capsys):
    argv = [a for a in TRAIN if a != "--record"]
    assert main([*argv, "--format", "nwb", "--out", str(tmp_path / "o")]) == 2
    assert "--format nwb is the format of the recordings; add --record" in \
        capsys.readouterr().err


def test_without_pynwb_nwb_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch, run):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb fails
    for argv in ([*TRAIN, "--format", "nwb"], ["run", "overlap", "--format", "both"]):
        assert main([*argv, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "need pynwb" in err and 'pip install "ctfa_brian[nwb]"' in err, err
        assert not (tmp_path / "o").exists()
    with pytest.raises(ImportError, match=r'pip install "ctfa_brian\[nwb\]"'):
        save_neo(run[1], tmp_path / "x.nwb")
    assert list(tmp_path.iterdir()) == []
    assert check_format("nix") == "nix"  # NIX needs no pynwb
    assert load_neo(save_neo(run[1], tmp_path / "x.nix")).segments[0].spiketrains


def test_damaged_nwb_files_are_refused_with_their_name(run, tmp_path, capsys):
    data = run[3].read_bytes()
    (tmp_path / "truncated.nwb").write_bytes(data[:1024])
    (tmp_path / "half.nwb").write_bytes(data[:len(data) // 2])
    (tmp_path / "nix.nwb").write_bytes(run[2].read_bytes())  # HDF5, but not NWB
    for name in ("truncated.nwb", "half.nwb", "nix.nwb"):
        path = tmp_path / name
        with pytest.raises(ValueError, match=f"'{path}' cannot be read as an NWB file: it is "
                                             "truncated or corrupt"):
            load_neo(path)
    (tmp_path / "empty.nwb").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty; expected an NWB file"):
        load_neo(tmp_path / "empty.nwb")
    (tmp_path / "text.nwb").write_text("not HDF5\n")
    with pytest.raises(ValueError, match="is not an NWB file"):
        load_neo(tmp_path / "text.nwb")
    with pytest.raises(ValueError, match=r"unknown Neo file type '.h5'; ctfa reads and writes "
                                         r"\.nix \(NixIO\) and \.nwb"):
        save_neo(run[1], tmp_path / "x.h5")
    assert main(["analyze", str(tmp_path / "truncated.nwb"), "--out", str(tmp_path / "a")]) == 2
    assert "truncated.nwb' cannot be read as an NWB file" in capsys.readouterr().err


def test_output_format_sets_what_save_neo_formats_writes(run, tmp_path):
    block = run[1]
    assert current_format() == "nix"
    with output_format("nwb"):
        assert current_format() == "nwb"
        assert save_neo_formats(block, tmp_path / "t", "traces") == {
            "traces": tmp_path / "t.nwb"}
    assert current_format() == "nix"
    assert save_neo_formats(block, tmp_path / "u", "traces") == {"traces": tmp_path / "u.nix"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.nwb", "u.nix"]
