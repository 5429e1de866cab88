"""The rate network whose error source is the temporal difference of each neuron's own
activity (``ModelParameters(routing="td")``; the equations and the scheme:
`ctfa_brian.td_equations`).

Everything else is the rate network's (`CTFANetwork`): the stimulus, the forward synapses W,
the rule's V (``sgd``: V ≡ Wᵀ, ``fa``: fixed random, ``kp``: plastic), the softmax, the
readout, the bounds, replicas. The layers differ, the gate every layer writes, and what V
carries down: the activity of the layer above, not an error.
"""

from brian2 import NeuronGroup, Synapses

from ctfa_brian import equations as eq
from ctfa_brian import td_equations as td
from ctfa_brian.network.rate import CTFANetwork

__all__ = ["TDNetwork"]


class TDNetwork(CTFANetwork):
    """`CTFANetwork` with plus − minus layers (`ctfa_brian.td_equations`)."""

    _gate_code = td.td_gate()

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

    def _make_forward(self, l, pre, post):
        eqs = eq.FORWARD_SYNAPSE
        if self.rule.tied and l > 1:
            eqs = eqs + eq.Equations(td.TD_TIED_FEEDBACK)
        return Synapses(pre, post, eqs, method="euler", name=f"W{l}", namespace={},
                        order=eq.SYNAPSE_ORDER, dt=self.schedule.dt)

    def _make_feedback(self, name, source, target):
        eqs = (td.td_feedback_plastic(self.model.kp_form) if self.rule.plastic
               else td.TD_FEEDBACK_FIXED)
        return Synapses(source, target, eqs, method="euler", name=name, namespace={},
                        order=eq.SYNAPSE_ORDER, dt=self.schedule.dt)
