"""The rate network whose error source is the temporal difference of each neuron's own
activity (``ModelParameters(routing="td")``; the equations and the scheme:
`ctfa_brian.td_equations`).

Everything else is the rate network's (`CTFANetwork`): the stimulus, the forward synapses W,
the rule's V (``sgd``: V ≡ Wᵀ, ``fa``: fixed random, ``kp``: plastic), the softmax, the
readout, the bounds, replicas. The layers differ, the gate every layer writes, and what V
carries down: the activity of the layer above, not an error.
"""

from brian2 import NeuronGroup

from ctfa_brian import equations as eq
from ctfa_brian import td_equations as td
from ctfa_brian.network.rate import CTFANetwork

__all__ = ["TDNetwork"]


class TDNetwork(CTFANetwork):
    """`CTFANetwork` with plus − minus layers (`ctfa_brian.td_equations`)."""

    _gate_code = td.td_gate()
    _tied_feedback = td.TD_TIED_FEEDBACK
    _fixed_feedback = td.TD_FEEDBACK_FIXED
    _plastic_feedback = staticmethod(td.td_feedback_plastic)

    def _make_layer(self, l, name, output, namespace):
        noisy = self.model.noise > 0
        eqs = (td.td_output_layer(self.model.loss, noise=noisy) if output
               else td.td_hidden_layer(self.model.activation, noise=noisy))
        # every layer reads the period (its gate is a phase of the cycle)
        group = NeuronGroup(self.replicas * self.sizes[l], self._equations(eqs), method="euler",
                            name=name, namespace=self.stim_ns, order=eq.NEURON_ORDER,
                            dt=self.schedule.dt)
        # after the gate (order 0 in the same slot): eps(t) from the traces and plus(t)
        group.run_regularly(td.TD_EPS, when="start", order=1, name=f"{name}_td_source")
        return group
