"""Assembly of the spiking variant: the same layers, rules and stimulus as `CTFANetwork`, with
spiking neurons, spike traces and signed error spikes (`ctfa_brian.spiking_equations`).

`SpikingCTFANetwork` has the interface of `ctfa_brian.network.rate.CTFANetwork` (``run``,
``run_values``, ``weights``, ``readout_values``), so `ctfa_brian.training.Trainer`, the CLI and
the protocols run either variant; ``ModelParameters(variant="spiking")`` is the one switch.
Everything a sweep changes is still a ``(shared, constant)`` variable or a TimedArray — now
also ``max_rate``, ``tau_m`` and ``t_ref`` — so a standalone project is compiled once.

The prediction of a sample is read from the output population: the spike count of every output
neuron in the last ``readout_window`` of the sample (``readout="count"``, as rates: count /
(max_rate · window)), or its spike trace at the end of the sample (``readout="rate"``). Count
ties (e.g. two silent outputs) are broken by the trace.
"""

import numpy as np
from brian2 import EventMonitor, NeuronGroup, SpikeMonitor, StateMonitor, Synapses

from ctfa_brian import spiking_equations as seq
from ctfa_brian.equations import NEURON_ORDER
from ctfa_brian.network.rate import CTFANetwork, record_indices
from ctfa_brian.network.replicas import split_columns

__all__ = ["SpikingCTFANetwork"]

#: Weight of the trace in the count readout: breaks ties between equal counts only.
_TIE_BREAK = 1e-6


class SpikingCTFANetwork(CTFANetwork):
    """The Brian2 objects of one spiking continuous-time feedback-alignment network.

    Same parameters as `CTFANetwork`; ``model.variant`` must be ``"spiking"``. The input layer is
    signed (a ``neg`` event per neuron) when the presentation has negative inputs.
    """

    variant = "spiking"
    _softmax_sum = seq.SOFTMAX_SUM

    def __init__(self, sizes, model, schedule, presentation, seed=0, recording=None,
                 guard=None, replicas=1, per_replica=()):
        if model.variant != "spiking":
            raise ValueError(f"SpikingCTFANetwork builds the spiking variant; got "
                             f"variant = {model.variant!r}")
        self.signed_input = bool(np.min(presentation.x) < 0)
        self.period_steps = schedule.steps_per_period
        self.window = schedule.readout_window_for(model)
        self.window_steps = int(round(float(self.window / schedule.dt)))
        self.spike_monitors = {}
        self._seed = seed
        super().__init__(sizes, model, schedule, presentation, seed=seed, recording=recording,
                         guard=guard, replicas=replicas, per_replica=per_replica)

    # --- groups -------------------------------------------------------------------------
    def _make_input(self, presentation):
        eqs, threshold, reset, events, on_event = seq.input_neuron(self.model.neuron,
                                                                   self.signed_input)
        group = NeuronGroup(self.replicas * self.sizes[0], self._equations(eqs),
                            threshold=threshold, reset=reset or None, events=events,
                            method="euler", name="input", namespace=self.stim_ns,
                            dt=self.schedule.dt)
        for event, code in on_event.items():
            group.run_on_event(event, code)
        group.max_rate = self.model.max_rate
        if self.model.neuron == "lif":  # random phases: the encoders do not fire in synchrony
            # (those of the build's seed, in every replica and every run)
            rng = np.random.default_rng(self._seed)
            group.phi = np.tile(rng.uniform(0, 1, self.sizes[0]), self.replicas)
            if self.signed_input:
                group.phi_neg = np.tile(rng.uniform(0, 1, self.sizes[0]), self.replicas)
        return group

    def _make_layer(self, l, name, output, namespace):
        m = self.model
        eqs, threshold, reset, refractory = seq.layer_equations(
            m.neuron, m.activation, output=output, loss=m.loss, noise=m.noise > 0,
            error_spikes=m.error_spikes)
        _, events, on_event = seq.error_events(m.error_spikes)
        namespace = dict(namespace)
        if output:
            namespace.update(period_steps=self.period_steps, window_steps=self.window_steps)
        group = NeuronGroup(self.replicas * self.sizes[l], self._equations(eqs),
                            threshold=threshold, reset=reset, refractory=refractory,
                            events=events, method="euler", name=name, namespace=namespace,
                            order=NEURON_ORDER, dt=self.schedule.dt)
        # The error spikes of a step reach the trace eps before the synapses read it, as the
        # rate variant's Euler step has ε(t + dt) include the drive at t.
        for event, code in on_event.items():
            group.run_on_event(event, code, when="before_synapses")
        # Poisson draws from the state at the start of the step — the values the Euler step
        # integrates from; after the step's decay the traces are (1 − dt/τ_prop) lower
        poisson = [e for e in events if m.error_spikes == "poisson"]
        if m.neuron == "poisson":
            poisson.append("spike")
        for event in poisson:
            group.thresholder[event].when = "before_groups"
        return group

    def time_constant_views(self):
        views = super().time_constant_views()
        views["max_rate"].append(self.input.max_rate)
        return views

    # --- synapses -----------------------------------------------------------------------
    def _make_forward(self, l, pre, post):
        m = self.model
        gated = m.tau_elig is not None
        on_pre, on_post, on_event = seq.forward_pathways(
            gated=gated, eligibility=m.eligibility, signed_input=l == 1 and self.signed_input,
            tied=self.rule.tied and l > 1)
        eqs = seq.GATED_FORWARD_SYNAPSE if gated else seq.FORWARD_SYNAPSE
        return Synapses(pre, post, eqs, on_pre=on_pre, on_post=on_post or None,
                        on_event=on_event, name=f"W{l}", namespace={}, dt=self.schedule.dt)

    def _after_forward(self, syn):
        pass  # the trace E is advanced at the events themselves

    def _make_feedback(self, name, source, target):
        on_pre, on_post, on_event = seq.feedback_pathways(self.rule.plastic, self.model.kp_form)
        eqs = seq.FEEDBACK_PLASTIC if self.rule.plastic else seq.FEEDBACK_FIXED
        return Synapses(source, target, eqs, on_pre=on_pre, on_post=on_post or None,
                        on_event=on_event, name=name, namespace={}, dt=self.schedule.dt)

    # --- monitors -----------------------------------------------------------------------
    def _make_readout(self, period):
        # the monitor records at the start of a period (order 0) what the window of the
        # previous one counted; then the count restarts
        self.output.run_regularly("count = 0", dt=period, when="start", order=10,
                                  name="readout_reset")
        return StateMonitor(self.output, ["count", "z"], record=True, dt=period, when="start",
                            name="readout")

    def _extra_monitors(self, groups):
        allowed = [self.input, *self.layers]
        monitors = []
        for gname, idx in self.recording.spikes.items():
            group = self._lookup(groups, gname, allowed)
            counts_only = isinstance(idx, str) and idx == "count"
            indices = np.arange(group.N) if counts_only else record_indices(idx, group.N)
            events = ["spike"] + [e for e in ("neg", "err_pos", "err_neg") if e in group.events]
            # a contiguous range is monitored as a subgroup: the binary records nothing else
            first, last = int(indices.min()), int(indices.max()) + 1
            contiguous = len(indices) == last - first and np.all(np.diff(indices) == 1)
            source, offset = group, 0
            if contiguous and len(indices) < group.N:
                try:
                    source, offset = group[first:last], first
                except ValueError:  # a group with linked variables (the softmax output)
                    pass
            entry = {"indices": indices, "monitors": {}, "counts_only": counts_only,
                     "offset": offset}
            for event in events:
                if event == "spike":
                    mon = SpikeMonitor(source, record=not counts_only, name=f"spikes_{gname}")
                else:
                    mon = EventMonitor(source, event, record=not counts_only,
                                       name=f"{event}_{gname}")
                entry["monitors"][event] = mon
                monitors.append(mon)
            self.spike_monitors[gname] = entry
        return monitors

    def _guarded(self):
        guarded = [(g, ("I", "z", "eps", "b")) for g in self.layers]
        guarded += [(s, ("w",)) for s in self.forward]
        guarded += [(s, ("v",)) for s in self.feedback if self.rule.plastic]
        return guarded

    # --- results ------------------------------------------------------------------------
    def _weights(self, r):
        """Replica ``r``'s W, V and biases, with the passive decay each synapse has pending
        since its last update applied (decay is applied at the events)."""
        K = self.replicas
        out = {}
        for s in self.forward:
            w = np.split(np.asarray(s.w[:]) * _pending_decay(s, "post", "tau_dec_w"), K)[r]
            out[s.name] = w.reshape(s.source.N // K, s.target.N // K)
        for s in self.feedback:
            v = np.asarray(s.v[:])
            if self.rule.plastic:
                v = v * _pending_decay(s, "pre", "tau_dec_v")
            out[s.name] = np.split(v, K)[r].reshape(s.source.N // K, s.target.N // K).T
        for g in self.layers:
            out[f"b_{g.name}"] = np.split(np.asarray(g.b[:]), K)[r]
        return out

    def readout_values(self, replica=None):
        """What each sample is classified by, shape (n_periods, n_classes), in units of
        max_rate: count / (max_rate · window) (``readout="count"``, ties broken by the trace)
        or the output trace at the end of the sample (``readout="rate"``); of one replica
        (``replica``, required with replicas)."""
        r = self._replica(replica)
        z = split_columns(np.asarray(self.readout.z).T[1:self.n_periods + 1], self.replicas)[r]
        if self.model.readout == "rate":
            return z
        count = split_columns(np.asarray(self.readout.count).T[1:self.n_periods + 1],
                              self.replicas)[r]
        max_rate = np.atleast_1d(np.asarray(self.input.max_rate[:]))
        max_rate = max_rate[0] if max_rate.size == 1 else np.split(max_rate, self.replicas)[r][0]
        return count / float(max_rate * float(self.window)) + _TIE_BREAK * z

    def spikes(self):
        """Recorded events: ``{group: {event: {"i": ndarray, "t": Quantity}}}`` for the
        recorded indices (``Recording.spikes``); for a group recorded as ``"count"``:
        ``{group: {"counts": {event: ndarray (per neuron)}}}``."""
        out = {}
        for gname, entry in self.spike_monitors.items():
            if entry["counts_only"]:
                out[gname] = {"counts": {event: np.asarray(mon.count[:])
                                         for event, mon in entry["monitors"].items()}}
                continue
            keep = entry["indices"]
            out[gname] = {"indices": keep}
            for event, mon in entry["monitors"].items():
                i, t = np.asarray(mon.i[:]) + entry["offset"], mon.t[:]
                mask = np.isin(i, keep)
                out[gname][event] = {"i": i[mask], "t": t[mask]}
        return out


def _pending_decay(syn, side, tau_name):
    """exp(−(tp − tp_last)/τ_dec): the decay a synapse has not yet applied, with the τ_dec
    the run had (``tau_name`` of the post- or presynaptic group, per replica)."""
    tp = np.asarray(getattr(syn, f"tp_{side}")[:])
    last = np.asarray(syn.tp_last[:])
    group = syn.target if side == "post" else syn.source
    tau = np.asarray(getattr(group, tau_name)[:], dtype=float)
    if tau.size > 1:  # per replica: the value of each synapse's own neuron
        tau = tau[np.asarray(getattr(syn, "j" if side == "post" else "i")[:])]
    return np.exp(-(tp - last) / tau)

