"""Brian2's integration agrees with an independent NumPy integration of the same ODEs."""

import numpy as np
import pytest
from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
from ctfa_brian.network import initial_weights
from ctfa_brian.reference import simulate
from ctfa_brian.stimulus import make_presentation

CASES = [
    ("kp", (8,), "cross_entropy", "relu", 10 * ms, {}),
    ("sgd", (6, 5), "squared", "tanh", -20 * ms, {}),
    ("fa", (6, 5), "cross_entropy", "sigmoid", 0 * ms, {}),
    ("dfa", (6, 5), "squared", "relu", 30 * ms, {}),
    ("direct-kp", (7, 4), "cross_entropy", "relu", 0 * ms, {}),
    ("kp", (6,), "cross_entropy", "relu", 20 * ms, {"tau_elig": 40 * ms}),
    ("fa", (5, 4), "squared", "tanh", -10 * ms,
     {"tau_elig": 25 * ms, "eligibility": "hebbian"}),
]


@pytest.mark.parametrize("rule,hidden,loss,activation,delay,gate", CASES)
def test_brian_matches_numpy(rule, hidden, loss, activation, delay, gate):
    ds = load_dataset("circles").subset(30, 15)
    model = ModelParameters(hidden=hidden, rule=rule, loss=loss, activation=activation,
                            tau_pot_w=0.5 * second, tau_pot_v=0.5 * second, **gate)
    schedule = Schedule(sample_time=50 * ms, buffer_time=5 * ms, delay=delay)
    result = Trainer(ds, model, schedule, Training(epochs=1), device="numpy").run(seed=3)
    ref = simulate((2, *hidden, 2), model, schedule, make_presentation(ds, 1, 1, 3), seed=3)
    # learning happened (weights moved well beyond the tolerance) ...
    w0 = initial_weights((2, *hidden, 2), rule, 3)[0]["W1"]
    assert np.abs(ref["W"][0] - w0).max() > 1e-3
    # ... and both integrations agree on every readout and every weight
    np.testing.assert_allclose(result.readout, ref["readout"], atol=1e-10)
    for l, w in enumerate(ref["W"], start=1):
        np.testing.assert_allclose(result.weights[f"W{l}"], w, atol=1e-10)
    for l, v in enumerate(ref["V"], start=1):
        np.testing.assert_allclose(result.weights[f"V{l}"], v, atol=1e-10)


def test_cython_runtime_matches_numpy():
    ds = load_dataset("circles").subset(30, 15)
    model = ModelParameters(hidden=(5,), tau_pot_w=0.5 * second, tau_pot_v=0.5 * second)
    schedule = Schedule(sample_time=50 * ms, buffer_time=5 * ms)
    result = Trainer(ds, model, schedule, Training(epochs=1), device="runtime").run()
    ref = simulate((2, 5, 2), model, schedule, make_presentation(ds, 1, 1, 0), seed=0)
    np.testing.assert_allclose(result.readout, ref["readout"], atol=1e-9)


def test_logits_far_beyond_exp_overflow_stay_finite_and_match_numpy():
    """The softmax subtracts a running log-sum-exp: logits of ~1000 (exp overflows at 710)
    give the same finite error as the NumPy reference's max-subtracted softmax."""
    ds = load_dataset("circles").subset(20, 10)
    model = ModelParameters(hidden=(4,), tau_pot_w=50 * second, tau_pot_v=50 * second,
                            w_max=1e3)
    schedule = Schedule(sample_time=50 * ms, buffer_time=5 * ms)
    ws, vs = initial_weights((2, 4, 2), "kp", 1)
    ws = {"W1": np.abs(ws["W1"]) * 60, "W2": ws["W2"] * 60}  # logits near a thousand
    trainer = Trainer(ds, model, schedule, Training(epochs=1), device="numpy")
    presentation = make_presentation(ds, 1, 1, 1)
    ref = simulate((2, 4, 2), model, schedule, presentation, weights=(ws, vs))
    assert np.abs(ref["readout"]).max() > 710  # exp(z) alone would overflow
    import ctfa_brian.network.rate as network

    original = network.initial_weights
    network.initial_weights = lambda *args, **kwargs: (ws, vs)
    try:
        result = trainer.run(seed=1)
    finally:
        network.initial_weights = original
    assert np.all(np.isfinite(result.readout))
    np.testing.assert_allclose(result.readout, ref["readout"], rtol=1e-9)


def test_label_offset_is_the_forward_lag_and_reaches_the_network():
    from ctfa_brian.network import CTFANetwork

    model = ModelParameters(hidden=(4, 3), tau_prop=7 * ms)
    schedule = Schedule(sample_time=50 * ms, delay=5 * ms)
    assert schedule.label_offset(model) == 21 * ms  # three layers above the input
    assert schedule.label_offset(model, tau_prop=2.4 * ms) == 7 * ms  # rounded to dt
    assert Schedule(delay_origin="input").label_offset(model) == 0 * ms
    ds = load_dataset("circles").subset(10, 5)
    net = CTFANetwork((2, 4, 3, 2), model, schedule, make_presentation(ds, 1, 1, 0))
    assert float(net.output.delay[:]) == pytest.approx(0.026)
    values = net.run_values(delay=-10 * ms, tau_prop=5 * ms)
    assert float(values[net.output.delay]) == pytest.approx(0.005)  # −10 ms + 3 × 5 ms


def test_bound_and_annealed_gate_match_numpy():
    """A tight bound (w_max = 0.3, reached during training) and a gate annealed to 0.2 over
    the last epoch integrate the same in Brian2 and in NumPy; the bound is reported."""
    ds = load_dataset("circles").subset(30, 15)
    model = ModelParameters(hidden=(6,), tau_pot_w=0.2 * second, tau_pot_v=0.2 * second,
                            w_max=0.3)
    schedule = Schedule(sample_time=50 * ms, buffer_time=5 * ms)
    training = Training(epochs=2, anneal_to=0.2)
    result = Trainer(ds, model, schedule, training, device="numpy").run(seed=2)
    presentation = make_presentation(ds, 2, 1, 2, anneal_to=0.2)
    ramp = presentation.learn[presentation.blocks[3].start:presentation.blocks[3].stop]
    assert ramp[0] == 1.0 and ramp[-1] == pytest.approx(0.2) and np.all(np.diff(ramp) < 0)
    ref = simulate((2, 6, 2), model, schedule, presentation, seed=2)
    np.testing.assert_allclose(result.readout, ref["readout"], atol=1e-10)
    for l, w in enumerate(ref["W"], start=1):
        np.testing.assert_allclose(result.weights[f"W{l}"], w, atol=1e-10)
    assert np.abs(result.weights["W1"]).max() == pytest.approx(0.3)
    assert result.saturated["W1"] > 0
    assert result.summary()["saturated"] == result.saturated
