"""Bad input gets a clear error that names the parameter, the value and what is allowed."""

import pytest
from brian2 import DimensionMismatchError, ms, mV, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, get_rule, load_dataset
from ctfa_brian.network import Recording


def test_unknown_rule_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown rule 'bp'; choose one of: sgd, fa, kp, dfa"):
        ModelParameters(rule="bp")
    with pytest.raises(ValueError, match="direct-kp"):
        get_rule("nope")


@pytest.mark.parametrize("name,value", [("activation", "softplus"), ("loss", "hinge"),
                                        ("kp_form", "mirror")])
def test_unknown_choices(name, value):
    with pytest.raises(ValueError, match=f"unknown {name} '{value}'; choose one of"):
        ModelParameters(**{name: value})


def test_time_constant_ordering_is_checked():
    with pytest.raises(ValueError, match=r"tau_prop = 20\. ms must be much smaller than "
                                         r"tau_pot_w = 10\. ms"):
        ModelParameters(tau_prop=20 * ms, tau_pot_w=10 * ms)
    with pytest.raises(ValueError, match=r"tau_pot_v = 30\. s must be much smaller than "
                                         r"tau_dec_v = 20\. s"):
        ModelParameters(tau_pot_v=30 * second, tau_dec_v=20 * second)


def test_units_are_required():
    with pytest.raises(DimensionMismatchError, match="tau_prop must be a time"):
        ModelParameters(tau_prop=0.01)
    with pytest.raises(DimensionMismatchError, match="sample_time must be a time"):
        Schedule(sample_time=5 * mV)


@pytest.mark.parametrize("kwargs,message", [
    ({"sample_time": -50 * ms}, r"sample_time = -50\. ms is not allowed; it must be > 0"),
    ({"dt": 0 * ms}, r"dt = 0\. s is not allowed; it must be > 0"),
    ({"buffer_time": -1 * ms}, r"buffer_time = -1\. ms is not allowed; it must be ≥ 0"),
    ({"buffer_time": 300 * ms}, r"buffer_time = 300\. ms must be shorter than sample_time"),
    ({"delay": 0.5 * ms}, r"delay = 0\.5 ms is not a whole number of steps of dt = 1\. ms"),
])
def test_schedule_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)


def test_negative_delay_is_allowed():
    assert Schedule(delay=-50 * ms).delay == -50 * ms


def test_dt_too_coarse_for_tau_prop():
    with pytest.raises(ValueError, match=r"dt = 6\. ms is too coarse for tau_prop = 10\. ms.*"
                                         r"dt ≤ tau_prop/2"):
        Schedule(dt=6 * ms, buffer_time=6 * ms, sample_time=204 * ms).check_against(
            ModelParameters())
    Schedule(dt=5 * ms, buffer_time=5 * ms).check_against(ModelParameters())  # tau_prop/2 is
    with pytest.raises(ValueError, match="too coarse"):  # allowed, a step above it is not
        Trainer(load_dataset("circles"), ModelParameters(tau_prop=1.9 * ms), Schedule())


@pytest.mark.parametrize("kwargs", [{"epochs": 0}, {"epochs": 1.5}, {"evals_per_epoch": 0}])
def test_training_errors(kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=f"{name} = .* is not allowed"):
        Training(**kwargs)


def test_unknown_device_and_override():
    ds = load_dataset("circles").subset(20, 10)
    with pytest.raises(ValueError, match="unknown device 'gpu'; choose one of: runtime"):
        Trainer(ds, device="gpu")
    trainer = Trainer(ds, ModelParameters(hidden=(3,)), Schedule(sample_time=50 * ms),
                      Training(epochs=1), device="numpy")
    with pytest.raises(ValueError, match="cannot override 'hidden' per run; choose one of: "
                                         "delay"):
        trainer.run(hidden=(5,))
    with pytest.raises(ValueError, match="time constants out of order"):
        trainer.run(tau_pot_w=5 * ms)


def test_recording_of_unknown_group():
    ds = load_dataset("circles").subset(20, 10)
    trainer = Trainer(ds, ModelParameters(hidden=(3,)), Schedule(sample_time=50 * ms),
                      Training(epochs=1), device="numpy",
                      recording=Recording({"layer7": [0]}))
    with pytest.raises(ValueError, match="cannot record from 'layer7'; choose one of: layer1, "
                                         "output"):
        trainer.run()


@pytest.mark.parametrize("value", [-0.1, 1.0, "0.1", True, float("nan")])
def test_label_smoothing_must_be_a_number_in_0_1(value):
    with pytest.raises(ValueError, match=r"label_smoothing = .* must be a number in \[0, 1\)"):
        ModelParameters(label_smoothing=value)


def test_delay_origin_choices():
    with pytest.raises(ValueError, match="unknown delay_origin 'onset'; choose one of: auto, "
                                         "output, input"):
        Schedule(delay_origin="onset")


def test_auto_delay_origin_is_output_for_rates_and_input_for_spikes():
    rate, spiking = ModelParameters(hidden=(4,)), ModelParameters(hidden=(4,), variant="spiking")
    schedule = Schedule(sample_time=50 * ms, dt=0.5 * ms)
    assert schedule.delay_origin == "auto"
    assert schedule.origin_for(rate) == "output" and schedule.label_offset(rate) == 20 * ms
    assert schedule.origin_for(spiking) == "input" and schedule.label_offset(spiking) == 0 * ms
    assert Schedule(delay_origin="output").label_offset(spiking) == 20 * ms
