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
