"""Accuracy against the eligibility-trace time constant τ_elig/T of the gated rule.

The eligibility gate (paper §4, last paragraph; `docs/model.md`) lets presynaptic activity
write a per-synapse trace that the error consolidates. A trace much shorter than the sample
time T reduces to the ungated rule; a trace much longer than T mixes the inputs of earlier
samples into the update for the current error (like a label delay), and learning degrades.
This sweep measures where.

One gated network per dataset is compiled once; τ_elig (cell key ``tau_elig_over_T``) goes in
through ``run_args`` for every ratio and seed; the cells run on local workers or Dask and
resume (`ctfa_brian.protocols._network_sweep`).
"""

from brian2 import ms, second

from ctfa_brian.protocols import _network_sweep as networks
from ctfa_brian.protocols.spec import Parameter

__all__ = ["DEVICE", "NAME", "PARAMETERS", "check", "run"]

NAME = "tau_elig_sweep"
DEVICE = networks.SWEEP_DEVICE

PARAMETERS = {
    **networks.NETWORK_PARAMETERS,
    "tau_elig_ratios": Parameter("floats", (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0),
                                 "τ_elig / T values to sweep", gt=0.0),
    "eligibility": Parameter("str", "pre", "what writes the trace", choices=("pre", "hebbian")),
    "tau_pot": Parameter("time", 10 * second, "potentiation time constant of W and V on digits",
                         gt=0 * ms),
    "tau_pot_circles": Parameter("time", 2 * second, "the same on circles (2 inputs: a small "
                                 "drive, so a larger step per sample is stable)", gt=0 * ms),
}

_AXIS = "tau_elig_over_T"


def _per_dataset(params):
    def keys(name):
        tau_pot = params["tau_pot_circles"] if name == "circles" else params["tau_pot"]
        return {"tau_pot_over_T": float(tau_pot / params["sample_time"])}

    return keys


def check(params):
    """Every network's cells must be valid runs."""
    return networks.check(params, _AXIS, params["tau_elig_ratios"], _per_dataset(params))


def run(params, out_dir):
    """Train for every dataset × τ_elig/T × seed; write table.csv, traces and tau_elig_sweep.png."""
    return networks.run_networks(params, _AXIS, params["tau_elig_ratios"], _per_dataset(params),
                                 out_dir, "tau_elig_sweep.png", xlabel="τ_elig / T",
                                 marks=[(1, "τ_elig = T")],
                                 title=f"gated {params['rule']}, T = {params['sample_time']}")
