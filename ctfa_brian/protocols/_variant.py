"""The one switch between the rate and the spiking variant, as protocol parameters.

Every network protocol (the sweeps, the τ_pot and τ_elig sweeps, rate_vs_spiking) takes
`VARIANT_PARAMETERS`; `model_fields` turns them into `ctfa_brian.parameters.ModelParameters`
fields. The single-synapse protocols (overlap, eligibility_window, frequency_transition) have
their own ``variant`` parameter.
"""

from brian2 import Hz

from ctfa_brian.parameters import NEURONS, VARIANTS
from ctfa_brian.protocols.spec import Parameter

__all__ = ["VARIANT_PARAMETERS", "model_fields"]

VARIANT_PARAMETERS = {
    "variant": Parameter("str", "rate", "rate (the paper's model) or spiking (spiking neurons, "
                         "spike traces, signed error spikes; use dt ≤ 0.5 ms)",
                         choices=VARIANTS),
    "neuron": Parameter("str", "lif", "spiking variant: forward neurons (leaky integrate-and-"
                        "fire or rate-driven Poisson)", choices=NEURONS),
    "max_rate_hz": Parameter("float", 200.0, "spiking variant: the rate that stands for the "
                             "value 1, Hz", ge=1, le=1000),
}


def model_fields(params):
    """``{"variant", "neuron", "max_rate"}`` for `ModelParameters` from protocol ``params``."""
    return {"variant": params["variant"], "neuron": params["neuron"],
            "max_rate": params["max_rate_hz"] * Hz}
