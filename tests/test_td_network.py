"""The temporal-difference network (``routing="td"``): its plus − minus signals, that it
learns, and what it refuses."""

import numpy as np
import pytest
from brian2 import StateMonitor, ms, prefs, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
from ctfa_brian.network import TDNetwork, build_network
from ctfa_brian.stimulus import make_presentation


@pytest.fixture(scope="module")
def cycle():
    """Two training cycles of a 2-24-2 fa network (fixed random V) on circles (NumPy
    runtime), every step of the output and of the hidden layer recorded."""
    prefs.codegen.target = "numpy"
    data = load_dataset("circles").subset(20, 10)
    model = ModelParameters(hidden=(24,), rule="fa", routing="td", tau_pot_w=2 * second,
                            tau_pot_v=2 * second)
    presentation = make_presentation(data, 1, 1, 0, final_train_eval=False, curve=False)
    net = build_network((2, 24, 2), model, Schedule(sample_time=200 * ms, dt=1 * ms),
                        presentation, seed=0)
    out = StateMonitor(net.output, ["z", "u", "eps", "m", "plus", "learn"], record=True)
    hid = StateMonitor(net.layers[0], ["z", "u", "eps", "dsigma_in"], record=True)
    net.network.add(out, hid)
    net.network.run(400 * ms)
    return net, out, hid


def test_td_routing_builds_the_td_network(cycle):
    assert isinstance(cycle[0], TDNetwork)


def test_minus_phase_has_no_learning_signal_and_plus_phase_follows_the_outcome(cycle):
    _, out, hid = cycle
    minus = slice(20, 150)  # after the cross-fade, before the plus phase (steps of 1 ms)
    assert (out.plus[0][minus] == 0).all() and (out.learn[0][minus] == 0).all()
    assert np.abs(out.eps[:, minus]).max() == 0 and np.abs(hid.eps[:, minus]).max() == 0
    plus = slice(151, 200)
    assert (out.plus[0][plus] == 1).all() and (out.learn[0][plus] == 1).all()  # gate = plus
    # the output's apical activity follows −nudge·∂L/∂z (u relaxes with τ_prop = 10 ms)
    np.testing.assert_allclose(out.u[:, 199], -out.m[:, 199], rtol=0.02)
    # the learning signal eps = −(u_fast − u_slow) has the sign of the error ∂L/∂z
    assert (np.sign(out.eps[:, 170]) == np.sign(out.m[:, 170])).all()
    assert np.abs(out.eps[:, 170]).min() > 0.1
    # the forward rate is not moved by the outcome (it is not passed forward)
    assert np.abs(out.z[:, 199] - out.z[:, 149]).max() < 0.01


def test_a_hidden_unit_receives_the_change_of_the_layer_above_through_v(cycle):
    net, out, hid = cycle
    v = np.asarray(net.feedback[0].v[:]).reshape(2, 24)  # source-major: (output, hidden)
    change = (out.z + out.u)[:, 199] - (out.z + out.u)[:, 149]  # the outcome, at the output
    expected = hid.dsigma_in[:, 199] * (v.T @ change)
    got = hid.u[:, 199] - hid.u[:, 149]
    active = hid.dsigma_in[:, 199] > 0
    assert active.sum() >= 5 and np.abs(expected[active]).max() > 0.05
    np.testing.assert_allclose(got[active], expected[active], rtol=0.05,
                               atol=0.02 * np.abs(expected).max())
    assert (got[~active] == 0).all()  # σ'(a) = 0: a silent ReLU unit hears nothing


def test_td_network_learns_circles(tmp_path):
    model = ModelParameters(hidden=(24,), rule="kp", routing="td", tau_pot_w=1 * second,
                            tau_pot_v=1 * second)
    trainer = Trainer(load_dataset("circles"), model, Schedule(sample_time=200 * ms, dt=1 * ms),
                      Training(epochs=10, anneal_to=0.25, seed=0),
                      device="ctfa_dense_standalone", directory=str(tmp_path))
    result = trainer.run(seed=0)
    assert result.test_accuracy >= 0.90, result.test_accuracy  # measured 0.992 (majority 0.75)


@pytest.mark.parametrize("changes, pattern", [
    (dict(routing="tdd"), r"routing"),
    (dict(routing="td", rule="dfa"), r"routing = 'td' is not allowed with rule = 'dfa'"),
    (dict(routing="td", variant="spiking"), r"routing = 'td' is not allowed with variant"),
    (dict(routing="td", tau_elig=1 * second), r"routing = 'td' is not allowed with tau_elig"),
    (dict(routing="td", tau_fast=30 * ms), r"tau_fast = 30 ms must be shorter than tau_slow"),
    (dict(routing="td", gate_time=60 * ms), r"gate_time = 60 ms must be ≤ plus_time = 50 ms"),
    (dict(routing="td", nudge=0.0), r"nudge"),
])
def test_bad_td_parameters_are_named(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        ModelParameters(**changes)


@pytest.mark.parametrize("schedule, pattern", [
    (dict(sample_time=50 * ms), r"plus_time = 50 ms is not allowed with sample_time = 50 ms"),
    (dict(dt=5 * ms), r"dt = 5 ms is too coarse for tau_fast = 5 ms"),
    (dict(dt=2 * ms, sample_time=200 * ms), None),
])
def test_the_schedule_must_hold_the_plus_phase(schedule, pattern):
    model = ModelParameters(routing="td")
    if pattern is None:
        Schedule(**schedule).check_against(model)
        return
    with pytest.raises(ValueError, match=pattern):
        Schedule(**schedule).check_against(model)
