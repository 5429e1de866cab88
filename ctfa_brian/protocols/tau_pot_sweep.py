"""Accuracy against the potentiation time constant τ_pot/T (paper Fig. 7).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, §5.3, Fig. 7): learning is unstable when τ_pot is
comparable to the presentation window T and robust once τ_pot/T ≳ 40 — potentiation must
outlast the stimulus by an order of magnitude. The per-sample learning rate is about T/τ_pot.

One network per dataset (one hidden layer, layerwise routing by default) is compiled once and
trained for every ratio and seed (cell key ``tau_pot_over_T``, a ``run_args`` value); the cells
run on local workers or Dask and resume (`ctfa_brian.protocols._network_sweep`). Runs that
blow up (NaN) are recorded as such.
"""

from ctfa_brian.protocols import _network_sweep as networks
from ctfa_brian.protocols.spec import Parameter

__all__ = ["DEVICE", "NAME", "PARAMETERS", "check", "run"]

NAME = "tau_pot_sweep"
DEVICE = networks.SWEEP_DEVICE

PARAMETERS = {
    **networks.NETWORK_PARAMETERS,
    "tau_pot_ratios": Parameter("floats", (2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
                                "τ_pot / T values to sweep (W and V together)", gt=1.0),
}

_AXIS = "tau_pot_over_T"


def check(params):
    """Every network's cells must be valid runs."""
    return networks.check(params, _AXIS, params["tau_pot_ratios"], lambda name: {})


def run(params, out_dir):
    """Train for every dataset × τ_pot/T × seed; write table.csv, traces and tau_pot_sweep.png."""
    return networks.run_networks(params, _AXIS, params["tau_pot_ratios"], lambda name: {},
                                 out_dir, "tau_pot_sweep.png", xlabel="τ_pot / T",
                                 marks=[(40, "τ_pot/T = 40")],
                                 title=f"T = {params['sample_time']}")
