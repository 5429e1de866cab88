"""Spike trains as Neo: round trip through a file, elephant statistics with known answers,
and ``ctfa analyze`` on a saved run."""

import json

import neo
import numpy as np
import pytest
import quantities as pq
from brian2 import ms, second

from ctfa_brian import ModelParameters, Recording, Schedule, Trainer, Training, load_dataset
from ctfa_brian.cli import main
from ctfa_brian.neo_io import load_neo, recordings_to_neo, results_to_neo, save_neo
from ctfa_brian.plotting import plot_raster, plot_rates
from ctfa_brian.spike_analysis import (
    firing_rates,
    isi_statistics,
    mean_rates,
    overlap_correlation,
    select,
    summarize_segment,
)


def _poisson(rng, rate, start, stop, t_stop=1.0):
    n = rng.poisson(rate * (stop - start))
    return neo.SpikeTrain(np.sort(rng.uniform(start, stop, n)), units="s",
                          t_stop=t_stop * pq.s)


# ----------------------------------------------------------------------------------------
# elephant statistics with known answers
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [-0.15, -0.05, 0.0, 0.04, 0.12])
def test_overlap_correlation_is_the_triangle(delay):
    """Box input on [0.2, 0.3) s and box error Δ later, both Poisson at 200 Hz: C(0) estimates
    ∫ x e dt = (T − |Δ|)₊ with T = 100 ms; the whole C(τ) is the triangle shifted to τ = Δ."""
    rng = np.random.default_rng(1)
    r, T = 200.0, 0.1
    pre = [_poisson(rng, r, 0.2, 0.3) for _ in range(400)]
    err = [_poisson(rng, r, 0.2 + delay, 0.3 + delay) for _ in range(400)]
    lags, c = overlap_correlation(pre, err, rate=r * pq.Hz, bin_size=5 * pq.ms,
                                  max_lag=200 * pq.ms)
    assert c.units == pq.s and lags.units == pq.ms
    c0 = float(c[np.argmin(np.abs(lags.magnitude))].magnitude)
    assert c0 == pytest.approx(max(T - abs(delay), 0.0), abs=0.006)
    peak_lag = float(lags[np.argmax(c.magnitude)].rescale(pq.s).magnitude)
    assert peak_lag == pytest.approx(delay, abs=0.011)


def test_negative_error_spikes_count_with_a_minus_sign():
    rng = np.random.default_rng(2)
    pre = [_poisson(rng, 200, 0.2, 0.3) for _ in range(300)]
    neg = [_poisson(rng, 200, 0.2, 0.3) for _ in range(300)]
    silent = [neo.SpikeTrain([], units="s", t_stop=1 * pq.s) for _ in range(300)]
    lags, c = overlap_correlation(pre, silent, neg, rate=200 * pq.Hz, max_lag=5 * pq.ms,
                                  bin_size=5 * pq.ms)
    assert float(c[1].magnitude) == pytest.approx(-0.1, abs=0.008)


def test_isi_statistics_tell_poisson_from_regular():
    rng = np.random.default_rng(3)
    poisson = _poisson(rng, 50, 0, 20, t_stop=20)
    regular = neo.SpikeTrain(np.arange(0.01, 20, 0.02), units="s", t_stop=20 * pq.s)
    stats = isi_statistics([poisson, regular])
    assert stats["cv"][0] == pytest.approx(1.0, abs=0.1)
    assert stats["cv"][1] == pytest.approx(0.0, abs=1e-6)
    assert stats["mean_isi"][1].rescale(pq.ms).magnitude == pytest.approx(20.0)
    rates = mean_rates([poisson, regular])
    assert rates.units == pq.Hz
    assert rates[1].magnitude == pytest.approx(50.0, rel=0.01)
    assert rates[0].magnitude == pytest.approx(50.0, rel=0.1)


def test_too_few_spikes_give_nan_not_an_error():
    stats = isi_statistics([neo.SpikeTrain([0.1, 0.2], units="s", t_stop=1 * pq.s)])
    assert stats["n_spikes"][0] == 2 and np.isnan(stats["cv"][0])


def test_firing_rates_of_a_step():
    rng = np.random.default_rng(4)
    trains = [_poisson(rng, 100, 0.5, 1.0) for _ in range(200)]
    rate = firing_rates(trains, kernel_width=20 * pq.ms)
    assert rate.units == pq.Hz and rate.shape[1] == 200
    t = rate.times.rescale(pq.s).magnitude
    mean = rate.magnitude.mean(axis=1)
    assert mean[(t > 0.6) & (t < 0.9)].mean() == pytest.approx(100, rel=0.05)
    assert mean[(t > 0.1) & (t < 0.4)].mean() < 1


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="no spike trains given"):
        firing_rates([])
    with pytest.raises(TypeError, match=r"spiketrains\[0\] is a list, not a neo.SpikeTrain"):
        mean_rates([[0.1, 0.2]])
    st = neo.SpikeTrain([0.1], units="s", t_stop=1 * pq.s)
    with pytest.raises(ValueError, match="one train per trial; got 2, 1 and 2"):
        overlap_correlation([st, st], [st])


# ----------------------------------------------------------------------------------------
# A spiking run: its spikes and traces through a Neo file and back
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spiking_run():
    ds = load_dataset("circles").subset(30, 10)
    model = ModelParameters(hidden=(5,), variant="spiking", tau_pot_w=4 * second,
                            tau_pot_v=4 * second)
    recording = Recording({"layer1": [0, 1]}, {"W1": [0]}, dt=5 * ms,
                          spikes={"layer1": "all", "output": [1], "input": "all"})
    trainer = Trainer(ds, model, Schedule(sample_time=50 * ms, dt=0.5 * ms),
                      Training(epochs=1), device="numpy", recording=recording)
    return trainer, trainer.run()


@pytest.mark.parametrize("suffix", [".nix"])
def test_neo_round_trip_keeps_spike_times_signals_and_units(spiking_run, tmp_path, suffix):
    trainer, result = spiking_run
    block = recordings_to_neo(result, trainer.model, trainer.schedule, trainer.training,
                              recording=trainer.recording, dataset_name="circles")
    assert block.annotations["max_rate_hz"] == 200.0 and block.annotations["dt_ms"] == 0.5
    loaded = load_neo(save_neo(block, tmp_path / f"run{suffix}"))
    before, after = block.segments[0], loaded.segments[0]
    names = sorted(st.name for st in before.spiketrains)
    assert names == sorted(st.name for st in after.spiketrains)
    # every spike, every event: layer1 (5 neurons × spike/err_pos/err_neg), output[1] × 3,
    # input (2 × spike/neg)
    assert len(names) == 5 * 3 + 3 + 2 * 2
    assert "output.spike[1]" in names and "output.spike[0]" not in names
    by_name = {st.name: st for st in after.spiketrains}
    total = 0
    for st in before.spiketrains:
        back = by_name[st.name]
        assert back.units == pq.ms and back.t_stop == st.t_stop
        np.testing.assert_array_equal(back.magnitude, st.magnitude)
        assert back.annotations["event"] == st.annotations["event"]
        assert int(back.annotations["channel_index"]) == st.annotations["channel_index"]
        total += len(st)
    spikes = result.spikes["layer1"]["spike"]
    assert sum(len(by_name[f"layer1.spike[{k}]"]) for k in range(5)) == len(spikes["i"])
    assert total > 100
    signals = {s.name: s for s in after.analogsignals}
    assert set(signals) == {"layer1.z", "layer1.eps", "W1.w"}
    np.testing.assert_allclose(signals["layer1.z"].magnitude.T, result.recordings["layer1"]["z"])
    assert signals["layer1.z"].sampling_period.rescale(pq.ms) == 5 * pq.ms


def test_segments_per_condition_and_plots(spiking_run, tmp_path):
    trainer, result = spiking_run
    block = results_to_neo({"first": result, "again": result}, trainer.model)
    assert [s.name for s in block.segments] == ["first", "again"]
    hidden = select(block.segments[1], group="layer1", event="spike")
    assert [st.annotations["channel_index"] for st in hidden] == list(range(5))
    from matplotlib.figure import Figure

    ax = plot_raster(hidden, ax=Figure().subplots(), t_start=0 * pq.s, t_stop=1 * pq.s)
    assert len(ax.lines) == 5 and ax.get_xlim() == (0.0, 1.0)
    ax2 = plot_raster(result, group="layer1", event="err_pos", ax=Figure().subplots())
    assert ax2.get_ylabel() == "layer1 (err_pos) index"
    with pytest.raises(ValueError, match="no spikes recorded from 'layer9'"):
        plot_raster(result, group="layer9")
    rates = firing_rates(hidden, kernel_width=20 * pq.ms)
    ax3 = plot_rates(rates, label="layer1", scale=200 * pq.Hz, ax=Figure().subplots())
    assert len(ax3.lines) == 5 and ax3.get_ylabel() == "rate / 200 Hz"
    rows = summarize_segment(block.segments[0])
    populations = {(r["population"], r["event"]) for r in rows}
    assert ("layer1", "spike") in populations and ("input", "neg") in populations
    layer = next(r for r in rows if r["population"] == "layer1" and r["event"] == "spike")
    n = sum(len(st) for st in hidden)
    assert layer["n_spikes"] == n
    duration = float(result.duration / second)
    assert layer["mean_rate_hz"] == pytest.approx(n / 5 / duration, rel=1e-6)


def test_ctfa_analyze_reads_a_saved_run(spiking_run, tmp_path, capsys):
    trainer, result = spiking_run
    path = save_neo(recordings_to_neo(result, trainer.model), tmp_path / "recordings.nix")
    out = tmp_path / "analysis"
    assert main(["analyze", str(path), "--out", str(out), "--show", "1s"]) == 0
    summary = json.loads((out / "analysis.json").read_text())
    rows = {(r["population"], r["event"]): r for r in summary["rows"]}
    hidden = select(result.spikes and recordings_to_neo(result).segments[0], group="layer1",
                    event="spike")
    assert rows[("layer1", "spike")]["n_spikes"] == sum(len(st) for st in hidden)
    assert (out / "raster.png").stat().st_size > 1000 and (out / "rates.png").is_file()
    assert "layer1 spike" in capsys.readouterr().out


def test_ctfa_analyze_errors_are_clear(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.nix"), "--out", str(tmp_path / "o")]) == 2
    assert "no Neo file at" in capsys.readouterr().err
    empty = neo.Block()
    empty.segments.append(neo.Segment())
    path = save_neo(empty, tmp_path / "empty.nix")
    assert main(["analyze", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "holds no spike trains" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_ctfa_train_spiking_records_spikes_and_checks_input(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--dataset", "circles", "--n-train", "20", "--n-test", "10",
                 "--hidden", "5", "--epochs", "1", "--sample-time", "50ms", "--tau-pot", "4s",
                 "--variant", "spiking", "--device", "numpy", "--record", "--quiet",
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["variant"] == "spiking" and manifest["model"]["max_rate"] == "200 Hz"
    assert manifest["schedule"]["dt"] == "0.5 ms"  # the spiking default
    block = load_neo(out / "recordings.nix")
    names = {st.name for st in block.segments[0].spiketrains}
    assert {"input.spike[0]", "input.neg[1]", "layer1.spike[2]", "output.err_pos[1]"} <= names
    assert "layer1.spike[3]" not in names  # the first 3 neurons, as for the traces
    assert block.annotations["variant"] == "spiking"
    for args, fragment in (
            (["--activation", "tanh"], "activation 'tanh' is not allowed in the spiking variant"),
            (["--dt", "1ms"], "--dt = 1 ms is too coarse for --max-rate = 200 Hz"),
            (["--max-rate", "200"], "has no unit"),
            (["--max-rate", "200ms"], "wrong dimension")):
        bad = tmp_path / "bad"
        code = main(["train", "--dataset", "circles", "--variant", "spiking", "--device",
                     "numpy", "--out", str(bad), *args])
        assert code == 2 and not bad.exists()
        assert fragment in capsys.readouterr().err
