"""The network of one model: `build_network` picks the variant's class.

`ctfa_brian.network.rate.CTFANetwork` assembles the rate model (the paper's), and
`ctfa_brian.network.spiking.SpikingCTFANetwork` its spiking variant with the same interface
(``run``, ``run_values``, ``weights``, ``readout_values``); `Recording` says what to record.
"""

from ctfa_brian.network.rate import CTFANetwork, Recording, initial_weights, record_indices
from ctfa_brian.network.spiking import SpikingCTFANetwork
from ctfa_brian.network.td import TDNetwork

__all__ = ["CTFANetwork", "Recording", "SpikingCTFANetwork", "TDNetwork", "build_network",
           "initial_weights", "record_indices"]


def build_network(sizes, model, schedule, presentation, **kwargs):
    """The network of ``model.variant``: `CTFANetwork` (rate), `TDNetwork` (rate with
    ``routing="td"``) or `SpikingCTFANetwork` (spiking); same arguments."""
    if model.variant == "spiking":
        cls = SpikingCTFANetwork
    else:
        cls = TDNetwork if model.routing == "td" else CTFANetwork
    return cls(sizes, model, schedule, presentation, **kwargs)
