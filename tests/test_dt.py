"""The integration step: dt ≤ τ_prop/2, and ``--dt auto`` within a point of dt = 0.1 ms."""

import pytest
from brian2 import ms

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
from ctfa_brian.presets import AUTO_DT_TOLERANCE, PRESETS, auto_dt

pytestmark = pytest.mark.standalone


def test_auto_dt_is_the_measured_step_capped_and_on_the_grid():
    assert auto_dt("digits", 10 * ms, 200 * ms, 10 * ms) == 5 * ms
    assert auto_dt("digits", 4 * ms, 200 * ms, 10 * ms) == 2 * ms  # τ_prop/2
    assert auto_dt("digits", 10 * ms, 202 * ms, 10 * ms) == 2 * ms  # T a whole number of steps
    assert auto_dt("mine", 10 * ms, 200 * ms, 10 * ms) == 1 * ms  # no measurement: 1 ms


def _accuracies(name, dts, n_train=None, seed=0):
    p = PRESETS[name]
    ds = load_dataset(name)
    if n_train:
        ds = ds.subset(n_train, len(ds.y_test))
    model = ModelParameters(hidden=p["hidden"], tau_pot_w=p["tau_pot"], tau_pot_v=p["tau_pot"],
                            tau_dec_w=p["tau_dec"], tau_dec_v=p["tau_dec"])
    out = {}
    for dt in dts:
        trainer = Trainer(ds, model, Schedule(sample_time=p["sample_time"], dt=dt),
                          Training(epochs=p["epochs"], anneal_to=p["anneal_to"]),
                          device="ctfa_dense_standalone")
        out[float(dt)] = trainer.run(seed=seed).test_accuracy
    return out


def test_auto_step_on_circles_matches_a_fine_step():
    fine, auto = 0.1 * ms, auto_dt("circles", 10 * ms, 200 * ms, 10 * ms)
    acc = _accuracies("circles", (fine, auto))
    assert acc[float(fine)] > 0.95
    assert abs(acc[float(auto)] - acc[float(fine)]) * 100 <= AUTO_DT_TOLERANCE


@pytest.mark.long
@pytest.mark.parametrize("name", ["digits", "circles"])
@pytest.mark.parametrize("seed", [0, 1])
def test_auto_step_matches_a_fine_step_at_the_preset(name, seed):
    fine, auto = 0.1 * ms, auto_dt(name, 10 * ms, PRESETS[name]["sample_time"], 10 * ms)
    acc = _accuracies(name, (fine, auto), seed=seed)
    assert abs(acc[float(auto)] - acc[float(fine)]) * 100 <= AUTO_DT_TOLERANCE
