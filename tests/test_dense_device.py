"""The dense device (``ctfa_dense_standalone``) computes what cpp_standalone computes.

Its loops for all-to-all projections read the synapse's pre- and postsynaptic indices from the
loop counters instead of the index arrays, and its network loop drops the per-step
``std::clock``; the expressions are Brian2's own, so weights, readouts and accuracies equal the
stock device's to round-off.
"""

import numpy as np
import pytest
from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset
from ctfa_brian.dense import dense_code

pytestmark = pytest.mark.standalone


def _both(tmp_path, hidden, rule, tau_elig=None, dataset="circles", n=120):
    ds = load_dataset(dataset).subset(n, 60)
    model = ModelParameters(hidden=hidden, rule=rule, tau_pot_w=2 * second,
                            tau_pot_v=2 * second, tau_elig=tau_elig)
    schedule = Schedule(sample_time=100 * ms, dt=1 * ms)
    results = {}
    for device in ("cpp_standalone", "ctfa_dense_standalone"):
        trainer = Trainer(ds, model, schedule, Training(epochs=2), device=device,
                          directory=str(tmp_path / device))
        results[device] = trainer.run(seed=3)
    return results["cpp_standalone"], results["ctfa_dense_standalone"]


def _assert_same(stock, dense):
    assert stock.weights.keys() == dense.weights.keys()
    for key in stock.weights:  # W, V and the biases
        np.testing.assert_allclose(dense.weights[key], stock.weights[key], rtol=1e-9,
                                   atol=1e-12, err_msg=key)
    np.testing.assert_allclose(dense.readout, stock.readout, rtol=1e-9, atol=1e-12)
    assert dense.test_accuracy == stock.test_accuracy
    assert dense.train_accuracy == stock.train_accuracy
    assert np.any(stock.weights["W1"] != 0)


def test_dense_code_reads_the_indices_from_the_loop():
    code = ("const int32_t _presynaptic_idx = _ptr_array_W1__synaptic_pre[_idx];\n"
            "const int32_t _postsynaptic_idx = _ptr_array_W1__synaptic_post[_idx];\n"
            "const double w = _ptr_array_W1_w[_idx];")
    assert dense_code(code).splitlines() == [
        "const int32_t _presynaptic_idx = _i;", "const int32_t _postsynaptic_idx = _j;",
        "const double w = _ptr_array_W1_w[_idx];"]


def test_dense_device_equals_cpp_standalone_gated_two_layers(tmp_path):
    """Two hidden layers, plastic feedback (kp), the eligibility gate, biases."""
    stock, dense = _both(tmp_path, (8, 6), "kp", tau_elig=20 * ms)
    _assert_same(stock, dense)
    project = tmp_path / "ctfa_dense_standalone"
    codes = project / "code_objects"
    for syn, target, gate in (("W2", "a_post", "learn_post"), ("V1", "m_post", "learn_pre")):
        # one pass per projection: the summed drive from the old weights, then their update
        source = next(codes.glob(f"{syn}_summed_variable_{target}_codeobject*.cpp")).read_text()
        assert "dense: synapse k = i * n_post + j" in source
        assert "the summed drive and w's update in one pass" in source
        assert f"_frozen = ({gate} == 0.0);" in source  # frozen periods only sum
        update = next(codes.glob(f"{syn}_stateupdater_codeobject*.cpp")).read_text()
        assert "runs in the summed variable's loop (fused)" in update
        assert f"_ptr_array_{syn}_{syn[0].lower()}[_idx] =" not in update
    network = next(project.glob("**/network.cpp")).read_text()
    assert "std::clock()" not in network.replace("not std::clock() every step", "")


@pytest.mark.long
@pytest.mark.parametrize("rule", ["sgd", "fa", "kp", "dfa", "direct-kp"])
@pytest.mark.parametrize("hidden", [(8,), (8, 6, 5)])
def test_dense_device_equals_cpp_standalone_every_rule(tmp_path, rule, hidden):
    _assert_same(*_both(tmp_path, hidden, rule))


def test_float32_keeps_the_accuracy(tmp_path):
    ds = load_dataset("circles").subset(300, 100)
    model = ModelParameters(hidden=(24,), tau_pot_w=2 * second, tau_pot_v=2 * second)
    runs = {}
    for precision in ("float64", "float32"):
        trainer = Trainer(ds, model, Schedule(sample_time=100 * ms), Training(epochs=3),
                          directory=str(tmp_path / precision), precision=precision)
        runs[precision] = trainer.run(seed=2)
    assert runs["float32"].weights["W1"].dtype == np.float32
    assert runs["float64"].weights["W1"].dtype == np.float64
    assert abs(runs["float32"].test_accuracy - runs["float64"].test_accuracy) <= 0.02
    np.testing.assert_allclose(runs["float32"].readout, runs["float64"].readout, atol=0.05)
    with pytest.raises(ValueError, match="precision = 'float32' is not allowed on device"):
        Trainer(ds, model, device="numpy", precision="float32")
