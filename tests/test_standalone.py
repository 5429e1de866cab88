"""cpp_standalone: subnormal flushing, compile once / run many, and agreement with runtime."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, ms, prefs, second
from brian2 import device as brian_device
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from ctfa_brian import (
    BlowUpError,
    ModelParameters,
    Schedule,
    Trainer,
    Training,
    from_arrays,
    load_dataset,
)
from ctfa_brian import device as devices

pytestmark = pytest.mark.standalone


def _decayed_value(directory):
    """v(t) of dv/dt = -v/τ after 720 τ: e^-720 ≈ 1e-313 is subnormal unless flushed."""
    group = NeuronGroup(4, "dv/dt = -v/(1*ms) : 1", method="exact", dt=0.1 * ms,
                        namespace={})
    group.v = 1
    net = Network(group)
    net.run(720 * ms, namespace={})
    brian_device.build(run=True, directory=directory)
    return np.asarray(group.v[:])


def test_standalone_flushes_subnormals(tmp_path):
    devices.select("cpp_standalone", directory=str(tmp_path / "flush"))
    assert "-ffast-math" in prefs.codegen.cpp.extra_link_args
    flushed = _decayed_value(str(tmp_path / "flush"))
    assert np.all(flushed == 0.0)


@pytest.mark.long
def test_without_the_link_flag_subnormals_are_kept(tmp_path):
    """The control of `test_standalone_flushes_subnormals` (behind ``long``: in the default
    parallel run it has found the value flushed even without the flag, alone it never did)."""
    # built in a fresh interpreter, so that no preference another test set can leak in
    script = (f"import sys, numpy as np; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
              "from brian2 import prefs\nfrom ctfa_brian import device as devices\n"
              "import test_standalone as t\n"
              f"devices.select('cpp_standalone', directory={str(tmp_path / 'plain')!r})\n"
              "prefs.codegen.cpp.extra_link_args = [a for a in "
              "prefs.codegen.cpp.extra_link_args if a != '-ffast-math']\n"
              f"print(repr(t._decayed_value({str(tmp_path / 'plain')!r}).tolist()))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    kept = np.array(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert np.all((kept > 0) & (kept < np.finfo(float).tiny))


@pytest.fixture(scope="module")
def circles_runs(tmp_path_factory):
    """One standalone build, five runs; plus the first run again on the runtime device."""
    ds = load_dataset("digits").subset(400, 200)
    model = ModelParameters(hidden=(20,), tau_pot_w=4 * second, tau_pot_v=4 * second)
    schedule = Schedule(sample_time=100 * ms)
    training = Training(epochs=2)
    trainer = Trainer(ds, model, schedule, training, device="cpp_standalone",
                      directory=str(tmp_path_factory.mktemp("circles")))
    builds = []
    original = CPPStandaloneDevice.build

    def counting_build(self, *args, **kwargs):
        builds.append(kwargs)
        return original(self, *args, **kwargs)

    CPPStandaloneDevice.build = counting_build
    try:
        runs = {
            "first": trainer.run(),
            "delay": trainer.run(delay=200 * ms),
            "seed": trainer.run(seed=5),
            "tau": trainer.run(tau_pot_w=40 * second, tau_pot_v=40 * second),
            "again": trainer.run(),
        }
    finally:
        CPPStandaloneDevice.build = original
    runtime = Trainer(ds, model, schedule, training, device="runtime").run()
    return {"runs": runs, "builds": builds, "runtime": runtime, "trainer": trainer}


def test_one_build_serves_every_run(circles_runs):
    assert len(circles_runs["builds"]) == 1
    runs = circles_runs["runs"]
    # the same arguments reproduce the same run exactly
    np.testing.assert_array_equal(runs["first"].readout, runs["again"].readout)
    # each run_arg really changed the run
    for key in ("delay", "seed", "tau"):
        assert not np.allclose(runs[key].weights["W1"], runs["first"].weights["W1"]), key
    assert runs["first"].test_accuracy > 0.65  # 400 samples, 2 epochs: 0.69 measured
    assert runs["first"].test_accuracy > runs["delay"].test_accuracy + 0.3


def test_standalone_and_runtime_agree(circles_runs):
    standalone, runtime = circles_runs["runs"]["first"], circles_runs["runtime"]
    assert standalone.test_accuracy == runtime.test_accuracy
    assert standalone.train_accuracy == runtime.train_accuracy
    assert standalone.learning_curve == runtime.learning_curve
    # before any learning the two integrations agree to rounding error (fast-math reorders
    # sums, and learning amplifies such differences later)
    n0 = 200  # the evaluation before training
    np.testing.assert_allclose(standalone.readout[:n0], runtime.readout[:n0], atol=1e-9)
    assert np.abs(standalone.readout - runtime.readout).max() < 0.05


def _exploding_trainer(device):
    c = load_dataset("circles").subset(100, 50)
    ds = from_arrays(c.x_train * 10, c.y_train, c.x_test * 10, c.y_test)
    model = ModelParameters(hidden=(8,), loss="squared", tau_pot_w=20 * ms, tau_pot_v=20 * ms)
    return Trainer(ds, model, Schedule(sample_time=50 * ms, buffer_time=5 * ms),
                   Training(epochs=2, evals_per_epoch=2), device=device)


@pytest.mark.parametrize("device", ["cpp_standalone", "runtime"])
def test_blow_up_stops_and_keeps_what_finished(device, tmp_path):
    trainer = _exploding_trainer(device)
    if device == "cpp_standalone":
        trainer.directory = str(tmp_path)
    with pytest.raises(BlowUpError, match=r"layer1\.\w+ became NaN or infinite; stopped at "
                                          r"t = \d+\.\d+ s of 27\.550 s") as info:
        trainer.run()
    err = info.value
    assert err.variable.startswith("layer1.")
    assert 0 * second < err.time < 27 * second  # stopped early, not at the end
    partial = err.partial
    # the evaluation before training finished and is kept
    assert len(partial.learning_curve) == 1
    assert partial.learning_curve[0]["epoch"] == 0.0
    assert np.isfinite(partial.readout[:50]).all()
    assert partial.test_accuracy == partial.learning_curve[0]["test_accuracy"]
    assert np.isnan(partial.train_accuracy)  # the final training-set evaluation never ran
