"""The spiking variant: it learns, it is the rate model in expectation, its inputs are checked.

Accuracy tests run on cpp_standalone (the issue's thresholds; measured values are in
docs/spiking.md). The expectation tests run short frozen or one-sample networks on the NumPy
runtime.
"""

import os

import numpy as np
import pytest
import quantities as pq
from brian2 import Hz, ms, second
from brian2.units.fundamentalunits import DimensionMismatchError

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
from ctfa_brian.analysis import feedback_angles
from ctfa_brian.neo_io import spiketrains_from_spikes
from ctfa_brian.network import Recording, SpikingCTFANetwork, build_network, initial_weights
from ctfa_brian.spike_analysis import firing_rates, select
from ctfa_brian.stimulus import Presentation

SPIKING = dict(variant="spiking", tau_pot_w=4 * second, tau_pot_v=4 * second)
CIRCLES = Schedule(sample_time=100 * ms, dt=0.5 * ms)


# ----------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("changes, fragment", [
    ({"activation": "tanh"}, "activation 'tanh' is not allowed in the spiking variant"),
    ({"activation": "sigmoid", "neuron": "lif"}, "choose one of: relu"),
    ({"neuron": "izhikevich"}, "unknown neuron 'izhikevich'; choose one of: lif, poisson"),
    ({"variant": "spikes"}, "unknown variant 'spikes'; choose one of: rate, spiking"),
    ({"readout": "last"}, "unknown readout 'last'; choose one of: count, rate"),
    ({"max_rate": 2000 * Hz}, "max_rate = 2000 Hz is not allowed; it must lie in 1–1000 Hz"),
    ({"tau_m": -1 * ms}, "tau_m = -1. ms is not allowed"),
])
def test_bad_spiking_parameters_name_the_parameter(changes, fragment):
    with pytest.raises(ValueError, match=None) as err:
        ModelParameters(**{**SPIKING, **changes})
    assert fragment in str(err.value)


def test_max_rate_needs_a_rate_unit():
    with pytest.raises(DimensionMismatchError, match="max_rate must be a rate"):
        ModelParameters(variant="spiking", max_rate=200)


def test_poisson_neurons_may_use_a_sigmoid():
    assert ModelParameters(variant="spiking", neuron="poisson", activation="sigmoid")


@pytest.mark.parametrize("schedule, model, fragment", [
    (Schedule(), {}, "dt = 1 ms is too coarse for max_rate = 200 Hz"),
    (Schedule(dt=0.5 * ms), {"tau_m": 2 * ms}, "too coarse for tau_m = 2. ms"),
    (Schedule(sample_time=100 * ms, dt=0.5 * ms), {"readout_window": 150 * ms},
     "readout_window = 150. ms is not allowed; it must be ≤ sample_time = 100. ms"),
    (Schedule(sample_time=100 * ms, dt=0.5 * ms), {"readout_window": 10.25 * ms},
     "not a whole number of steps"),
])
def test_schedule_is_checked_against_the_spiking_model(schedule, model, fragment):
    with pytest.raises(ValueError) as err:
        schedule.check_against(ModelParameters(**{**SPIKING, **model}))
    assert fragment in str(err.value)


def test_rate_variant_rejects_spike_recordings():
    ds = load_dataset("circles").subset(10, 5)
    trainer = Trainer(ds, ModelParameters(hidden=(4,)), Schedule(sample_time=50 * ms),
                      Training(epochs=1), device="numpy",
                      recording=Recording(spikes={"layer1": "all"}))
    with pytest.raises(ValueError, match="spikes can be recorded only in the spiking variant"):
        trainer.run()


def test_unknown_spike_recording_group_is_named():
    ds = load_dataset("circles").subset(10, 5)
    trainer = Trainer(ds, ModelParameters(hidden=(4,), **SPIKING), CIRCLES,
                      Training(epochs=1), device="numpy",
                      recording=Recording(spikes={"layer7": "all"}))
    with pytest.raises(ValueError, match="cannot record from 'layer7'; choose one of: input, "
                                         "layer1, output"):
        trainer.run()


def test_spiking_overrides_are_checked():
    ds = load_dataset("circles").subset(10, 5)
    trainer = Trainer(ds, ModelParameters(hidden=(4,), **SPIKING), CIRCLES, Training(epochs=1),
                      device="numpy")
    with pytest.raises(ValueError, match="too coarse for max_rate = 400 Hz"):
        trainer.run(max_rate=400 * Hz)
    with pytest.raises(ValueError, match="cannot override 'tau_x' per run; choose one of: .*"
                                         "max_rate, tau_m, t_ref"):
        trainer.run(tau_x=1 * ms)


# ----------------------------------------------------------------------------------------
# The spiking network is the rate model in expectation
# ----------------------------------------------------------------------------------------
def _frozen(n_samples, n_features, hold, seed=3):
    """A presentation of random inputs with plasticity off (learn = 0) for every period."""
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.uniform(0, 1, (n_samples, n_features)), np.zeros((1, n_features))])
    y = np.zeros((n_samples + 1, 3))
    return Presentation(x=x, y=y, learn=np.zeros(n_samples + 1),
                        labels=np.zeros(n_samples, dtype=int), blocks=())


@pytest.mark.parametrize("neuron", ["poisson", "lif"])
def test_elephant_rate_of_a_spiking_layer_matches_the_rate_model(neuron):
    """Same weights, same inputs, plasticity off: the elephant rate (10 ms Gaussian kernel) of
    the spiking hidden layer over the last 270 ms of each 400 ms sample, in units of max_rate
    (200 Hz), against the rate model's z at the end of the sample.

    Stated tolerances: Poisson neurons fire at max_rate·relu(a) with Poisson inputs — the mean
    difference within ±0.03 (measured +0.022: relu of a noisy drive is above relu of its mean),
    with the noise of a 270 ms estimate (mean |difference| < 0.15, correlation > 0.85). LIF
    neurons with integrate-and-fire inputs fire at f(a) ∈ [r a, r a + 1/(2 τ_m)]
    (docs/spiking.md): above the rate model by 0 to 1/(2 r τ_m) = 0.125 in every active
    neuron and sample (±0.03; measured 0.07–0.11), correlation > 0.98."""
    from brian2 import StateMonitor
    from brian2 import seed as brian_seed
    from brian2.devices.device import reinit_and_delete

    from ctfa_brian import device as devices

    devices.select("numpy")
    sizes, hold, n = (8, 30, 3), 400 * ms, 8
    schedule = Schedule(sample_time=hold, buffer_time=0 * ms, dt=0.5 * ms)
    presentation = _frozen(n, sizes[0], hold)
    rate = build_network(sizes, ModelParameters(hidden=(30,), loss="squared"), schedule,
                         presentation, seed=1)
    z_mon = StateMonitor(rate.layers[0], "z", record=True, dt=hold, when="start")
    rate.network.add(z_mon)
    rate.network.run(rate.duration, namespace={})
    z = np.asarray(z_mon.z).T[1:n + 1]  # end of each sample, (samples, neurons)
    reinit_and_delete()
    devices.select("numpy")
    model = ModelParameters(hidden=(30,), loss="squared", variant="spiking", neuron=neuron)
    brian_seed(0)
    spk = build_network(sizes, model, schedule, presentation, seed=1,
                        recording=Recording(spikes={"layer1": "all"}))
    assert isinstance(spk, SpikingCTFANetwork)
    spk.network.run(spk.duration, namespace={})
    trains = select(spiketrains_from_spikes(spk.spikes(), spk.duration), group="layer1",
                    event="spike")
    rates = firing_rates(trains, kernel_width=10 * pq.ms)
    t = rates.times.rescale(pq.s).magnitude
    est = np.array([[np.asarray(rates.magnitude[(t >= k * 0.4 + 0.1) & (t < (k + 1) * 0.4
                                                                         - 0.03), j]).mean()
                     for j in range(sizes[1])] for k in range(n)]) / 200.0
    active = z > 0.05
    assert active.sum() >= 50  # enough active neurons × samples to compare
    diff = est[active] - z[active]
    corr = np.corrcoef(est.ravel(), z.ravel())[0, 1]
    if neuron == "poisson":
        assert abs(np.mean(diff)) < 0.03
        assert np.mean(np.abs(diff)) < 0.15
        assert corr > 0.85
    else:
        bound = 1 / (2 * float(model.max_rate * model.tau_m))
        assert np.all(diff > -0.03) and np.all(diff < bound + 0.03)
        assert corr > 0.98
    assert np.mean(est[z == 0]) < 0.02  # silent where the drive is negative (on average)


def test_kp_feedback_receives_exactly_the_transpose_update():
    """V1 changes at the hidden spikes by the same amount as W2 at the same spikes: started
    V1 − V1(0) = W2 − W2(0) exactly (no passive decay here), whatever the noise."""
    ds = load_dataset("circles").subset(40, 10)
    model = ModelParameters(hidden=(6,), **{**SPIKING, "tau_dec_w": 1e9 * second,
                                            "tau_dec_v": 1e9 * second})
    trainer = Trainer(ds, model, CIRCLES, Training(epochs=1, evaluate="final"), device="numpy")
    w0, v0 = initial_weights((2, 6, 2), "kp", seed=0)
    result = trainer.run()
    w2_change = result.weights["W2"] - w0["W2"]
    v1_change = result.weights["V1"] - v0["V1"]
    assert np.abs(w2_change).max() > 1e-3  # it learned something
    np.testing.assert_allclose(v1_change, w2_change, atol=1e-3 * np.abs(w2_change).max())


# ----------------------------------------------------------------------------------------
# It learns (cpp_standalone)
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def circles_spiking(tmp_path_factory):
    ds = load_dataset("circles")
    model = ModelParameters(hidden=(24,), rule="kp", **SPIKING)
    trainer = Trainer(ds, model, CIRCLES, Training(epochs=10), device="cpp_standalone",
                      directory=str(tmp_path_factory.mktemp("spk_circles")))
    first = trainer.run(seed=0)
    # the same binary at half the rate (the device is reset after each test: run it here)
    binary = os.path.join(trainer.directory, "main")
    before = os.path.getmtime(binary)
    slower = trainer.run(seed=0, max_rate=100 * Hz)
    return trainer, first, slower, (before, os.path.getmtime(binary))


@pytest.mark.standalone
def test_spiking_kp_learns_circles(circles_spiking):
    """LIF neurons at up to 200 Hz, T = 100 ms, τ_pot = 4 s, 10 epochs, dt = 0.5 ms."""
    _, result, _, _ = circles_spiking
    assert result.test_accuracy >= 0.90
    assert result.test_balanced_accuracy >= 0.80  # not just the majority class (0.75)
    assert result.learning_curve[0]["test_accuracy"] < 0.8


@pytest.mark.standalone
def test_spiking_kp_feedback_aligns(circles_spiking):
    _, result, _, _ = circles_spiking
    assert feedback_angles(result.weights)["V1"] < 45  # from ~80°


@pytest.mark.standalone
def test_spiking_binary_reruns_with_a_new_rate_without_compiling(circles_spiking):
    _, first, slower, (before, after) = circles_spiking
    assert after == before
    window = 0.05  # half of T: the readout is count / (max_rate · window)
    counts = {r: np.mean(res.readout[:, :2]) * r * window for r, res in ((200, first),
                                                                     (100, slower))}
    assert counts[100] < 0.8 * counts[200]  # the new rate reached the binary


@pytest.mark.standalone
def test_spiking_kp_learns_digits(tmp_path_factory):
    """64-49-10, LIF at up to 200 Hz, T = 200 ms, τ_pot = 10 s, 4 epochs, dt = 0.5 ms."""
    model = ModelParameters(hidden=(49,), rule="kp", variant="spiking")
    trainer = Trainer(load_dataset("digits"), model,
                      Schedule(sample_time=200 * ms, dt=0.5 * ms), Training(epochs=4),
                      device="cpp_standalone",
                      directory=str(tmp_path_factory.mktemp("spk_digits")))
    result = trainer.run(seed=0)
    assert result.test_accuracy >= 0.85
    assert result.learning_curve[0]["test_accuracy"] < 0.3


@pytest.mark.standalone
@pytest.mark.long
@pytest.mark.parametrize("rule, neuron, minimum", [
    ("sgd", "lif", 0.9), ("fa", "lif", 0.85), ("dfa", "lif", 0.85), ("direct-kp", "lif", 0.85),
    ("kp", "poisson", 0.82)])
def test_every_rule_learns_circles_with_spikes(rule, neuron, minimum, tmp_path_factory):
    model = ModelParameters(hidden=(24,), rule=rule, neuron=neuron, **SPIKING)
    trainer = Trainer(load_dataset("circles"), model, CIRCLES, Training(epochs=10),
                      device="cpp_standalone", directory=str(tmp_path_factory.mktemp(rule)))
    result = trainer.run(seed=0)
    assert result.test_accuracy >= minimum
    assert result.test_balanced_accuracy >= 0.7  # measured 0.73 (fa, dfa), 0.74 (poisson)


@pytest.mark.standalone
@pytest.mark.long
def test_poisson_error_spikes_run_away_with_the_cross_entropy(tmp_path_factory):
    """The documented instability: with Poisson error spikes digits learns in the first epoch
    (≈ 0.85), then collapses to chance with the outputs' common mode run off (measured: every
    output silent after epoch 3); regular error spikes learn (test_spiking_kp_learns_digits)."""
    model = ModelParameters(hidden=(49,), variant="spiking", error_spikes="poisson")
    trainer = Trainer(load_dataset("digits"), model, Schedule(sample_time=200 * ms,
                                                              dt=0.5 * ms),
                      Training(epochs=4), device="cpp_standalone",
                      directory=str(tmp_path_factory.mktemp("poisson_errors")))
    result = trainer.run(seed=0)
    curve = [c["test_accuracy"] for c in result.learning_curve]
    assert max(curve) > 0.7 and result.test_accuracy < 0.2  # it learned, then lost it
    median = np.median(result.readout[-100:])
    assert median < 0.05 or median > 5  # all outputs silent, or all at one spike per step


@pytest.mark.parametrize("rule", ["sgd", "fa", "kp", "dfa", "direct-kp"])
def test_every_rule_routes_error_spikes_to_the_hidden_layer(rule):
    """Each rule's feedback pathway in spikes: hidden error units fire (their drive is the
    feedback of the output's error spikes), W1 changes, and V is fixed (fa, dfa), plastic
    (kp, direct-kp) or absent (sgd: the forward synapses carry the error back)."""
    from brian2 import seed as brian_seed

    brian_seed(1)
    ds = load_dataset("circles").subset(30, 10)
    model = ModelParameters(hidden=(6,), rule=rule, **SPIKING)
    recording = Recording(spikes={"layer1": "count"})
    trainer = Trainer(ds, model, CIRCLES, Training(epochs=1, evaluate="final"), device="numpy",
                      recording=recording)
    result = trainer.run()
    counts = result.spikes["layer1"]["counts"]
    assert counts["err_pos"].sum() + counts["err_neg"].sum() > 20
    w0, v0 = initial_weights((2, 6, 2), rule, seed=0)
    assert np.abs(result.weights["W1"] - w0["W1"]).max() > 1e-3
    if rule == "sgd":
        assert "V1" not in result.weights
    elif rule in ("fa", "dfa"):
        np.testing.assert_array_equal(result.weights["V1"], v0["V1"])
    else:
        assert np.abs(result.weights["V1"] - v0["V1"]).max() > 1e-3


@pytest.mark.parametrize("eligibility", ["pre", "hebbian"])
def test_a_short_eligibility_trace_follows_the_ungated_spiking_rule(eligibility):
    """τ_elig = 1 ms ≪ τ_prop: the gated spiking synapse (trace at presynaptic spikes,
    consolidated at the error spikes) changes W2 like the ungated one (presynaptic spikes ×
    error trace): the two changes point the same way (correlation > 0.8)."""
    from brian2 import seed as brian_seed

    ds = load_dataset("circles").subset(60, 10)
    changes = {}
    for tau_elig in ((None, 1 * ms) if eligibility == "pre" else (1 * ms,)):
        brian_seed(2)
        model = ModelParameters(hidden=(8,), tau_elig=tau_elig, eligibility=eligibility,
                                **SPIKING)
        result = Trainer(ds, model, CIRCLES, Training(epochs=1, evaluate="final"),
                         device="numpy").run()
        w0, _ = initial_weights((2, 8, 2), "kp", seed=0)
        changes[tau_elig is None] = (result.weights["W2"] - w0["W2"]).ravel()
    if eligibility == "pre":
        assert np.corrcoef(changes[True], changes[False])[0, 1] > 0.8
    else:  # the Hebbian trace is another rule: it learns, but not the same update
        assert np.abs(changes[False]).max() > 1e-4
