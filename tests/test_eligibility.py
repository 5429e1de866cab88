"""The eligibility gate: a per-synapse trace of presynaptic activity consolidated by error."""

import numpy as np
from brian2 import ms, second

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset


def test_short_trace_reduces_to_the_ungated_rule():
    """τ_elig = τ_prop/10: the same learning curve as eq. 1 without a gate."""
    ds = load_dataset("digits").subset(300, 150)
    schedule = Schedule(sample_time=100 * ms)
    kw = dict(hidden=(16,), tau_pot_w=2 * second, tau_pot_v=2 * second)
    # cpp_standalone: two short compilations instead of Cython compiling every code object
    plain = Trainer(ds, ModelParameters(**kw), schedule, Training(epochs=2),
                    device="cpp_standalone").run()
    gated = Trainer(ds, ModelParameters(tau_elig=1 * ms, **kw), schedule, Training(epochs=2),
                    device="cpp_standalone").run()
    assert plain.test_accuracy > plain.learning_curve[0]["test_accuracy"] + 0.3  # it learned
    curve = [p["test_accuracy"] for p in plain.learning_curve]
    gated_curve = [p["test_accuracy"] for p in gated.learning_curve]
    np.testing.assert_allclose(gated_curve, curve, atol=0.03)  # ... the same way
    assert np.abs(gated.weights["W1"] - plain.weights["W1"]).max() < 0.05
