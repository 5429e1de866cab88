"""ctfa_brian: continuous-time feedback alignment in Brian2.

Networks whose neurons and synapses learn and infer at the same time under one set of ODEs
(Bacvanski, Ziyin & Poggio, arXiv 2510.18808): SGD, FA, DFA and Kolen–Pollack as limits of one
heterosynaptic rule, at biological timescales — as rate networks or, with
``ModelParameters(variant="spiking")``, as spiking networks.
"""

from ctfa_brian.datasets import DATASETS, Dataset, from_arrays, load_dataset
from ctfa_brian.guard import BlowUpError
from ctfa_brian.network import CTFANetwork, Recording, SpikingCTFANetwork, build_network
from ctfa_brian.parameters import ModelParameters, Schedule, Training
from ctfa_brian.rules import RULES, get_rule
from ctfa_brian.training import Trainer, TrainingResult, train

__version__ = "0.1.0"

__all__ = ["DATASETS", "RULES", "BlowUpError", "CTFANetwork", "Dataset", "ModelParameters",
           "Recording", "Schedule", "SpikingCTFANetwork", "Trainer", "Training",
           "TrainingResult", "build_network", "from_arrays", "get_rule", "load_dataset",
           "train"]
