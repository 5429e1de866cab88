"""Assembly only: layers → NeuronGroups, weights → Synapses, stimulus → TimedArrays, one Network.

`CTFANetwork` builds the Brian2 objects for one architecture and one presentation *shape*.
Everything a sweep changes — data and sample order (TimedArray values), initial weights, label
delay and the time constants (``(shared, constant)`` variables) — can be changed between runs
without rebuilding; `CTFANetwork.run_values` lists them for ``device.run(run_args=...)``.

Integration is forward Euler with one consistent order inside each step: summed variables
(drives a, modulatory m, softmax normaliser) from the state at t; then synapses (W, V) from the
state at t; then neurons from the drives computed at t. `ctfa_brian.reference` integrates the
same equations in NumPy in the same order.
"""

import logging

import numpy as np
from brian2 import (
    Network,
    NeuronGroup,
    StateMonitor,
    Subgroup,
    Synapses,
    TimedArray,
    linked_var,
    ms,
    second,
)

from ctfa_brian import equations as eq
from ctfa_brian.dense import mark_dense
from ctfa_brian.guard import nonfinite
from ctfa_brian.network.recording import Recording, initial_weights, record_indices
from ctfa_brian.network.replicas import (
    blocks,
    check_replicas,
    per_replica,
    split_columns,
    stack_presentations,
)
from ctfa_brian.rules import get_rule

__all__ = ["CTFANetwork", "Recording", "initial_weights", "record_indices"]



class _AlignedGridFilter(logging.Filter):
    """Drop Brian's "time grids not aligned" warning for periods that are whole numbers of dt.

    `Schedule` guarantees that the period is an integer number of steps; Brian's check compares
    floats (0.21 s / 1 ms = 210.00000000000003) and would warn on every such run.
    """

    def filter(self, record):
        return "time grids not aligned" not in record.getMessage()


def _quiet_aligned_grid_warning():
    log = logging.getLogger("brian2.input.timedarray")
    if not any(isinstance(f, _AlignedGridFilter) for f in log.filters):
        log.addFilter(_AlignedGridFilter())


def _all_to_all(syn, n_pre, n_post, gate=None, replicas=1):
    # replica r's synapse k = i * n_post + j (row-major matrices) is r * n_pre * n_post + k:
    # block-diagonal, one block per replica
    r, i, j = np.meshgrid(np.arange(replicas), np.arange(n_pre), np.arange(n_post),
                          indexing="ij")
    syn.connect(i=(r * n_pre + i).ravel(), j=(r * n_post + j).ravel())
    if not isinstance(syn.source, Subgroup) and not isinstance(syn.target, Subgroup):
        # the schedule (equations.py) puts nothing between the summed drive (order 0) and the
        # synapses' update (0.5) that the update reads: the dense device may fuse the two
        mark_dense(syn, n_pre, n_post, gate, fuse=True, blocks=replicas)


class CTFANetwork:
    """The Brian2 objects of one continuous-time feedback-alignment network.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``(d_0, d_1, ..., d_L)``: input, hidden layers, output.
    model : ctfa_brian.parameters.ModelParameters
    schedule : ctfa_brian.parameters.Schedule
    presentation : ctfa_brian.stimulus.Presentation
        Sets the shape of the stimulus TimedArrays (and their values for the first run).
    seed : int
        Initial weights (see `initial_weights`).
    recording : Recording, optional
        Extra traces to record.
    guard : str or None
        ``"standalone"`` compiles the blow-up check into the code, ``"runtime"`` adds a Python
        check, ``None`` none. With replicas the check is made on the final state, replica by
        replica (`find_nonfinite` on `guarded_of`): one replica's NaN does not stop the others.
    replicas : int
        K independent copies in one simulation (`ctfa_brian.network.replicas`); the
        presentation is replica 0's until `run_values` gives each its own.
    per_replica : sequence of str
        With replicas: the constants (keys of `time_constant_views`) that may differ between
        replicas; the others are shared, and `replica_values` refuses different values.
    """

    #: Which variant of the model this class builds.
    variant = "rate"
    #: The summed variable of the softmax normaliser.
    _softmax_sum = eq.SOFTMAX_SUM
    #: Per-step code of the plasticity gate of every layer.
    _gate_code = "learn = stim_learn(t)"
    #: What V carries down: the tied (sgd), fixed and plastic (by ``kp_form``) feedback.
    _tied_feedback = eq.TIED_FEEDBACK
    _fixed_feedback = eq.FEEDBACK_FIXED
    _plastic_feedback = staticmethod(eq.feedback_plastic)

    def __init__(self, sizes, model, schedule, presentation, seed=0, recording=None,
                 guard=None, replicas=1, per_replica=()):
        schedule.check_against(model)
        _quiet_aligned_grid_warning()
        self.sizes = tuple(int(s) for s in sizes)
        self.model, self.schedule = model, schedule
        self.rule = get_rule(model.rule)
        self.recording = recording or Recording()
        self.replicas = K = check_replicas(replicas)
        allowed = ("delay", *self._layer_constants())
        for name in per_replica:
            if name not in allowed:
                raise ValueError(f"per_replica = {name!r} is not allowed; choose from: "
                                 f"{', '.join(allowed)}")
        self.per_replica = tuple(sorted(per_replica)) if K > 1 else ()
        if K > 1 and self.recording != Recording(dt=self.recording.dt):
            raise ValueError("recording traces is not allowed with replicas > 1; record them in "
                             "a separate run (replicas = 1)")
        self.n_periods = presentation.n_periods
        period = schedule.period
        self.duration = (self.n_periods + 1) * period
        # --- stimulus ------------------------------------------------------------------
        x, y, learn = stack_presentations([presentation] * K)
        self.stim_x = TimedArray(x, dt=period, name="stim_x")
        self.stim_y = TimedArray(y, dt=period, name="stim_y")
        self.stim_learn = TimedArray(learn, dt=period, name="stim_learn")
        self.stim_ns = {"stim_x": self.stim_x, "stim_y": self.stim_y,
                        "stim_learn": self.stim_learn, "period": period,
                        "buffer_time": schedule.buffer_time}
        buffered = float(schedule.buffer_time) > 0
        self.input = self._make_input(presentation)
        self.input.run_regularly(eq.INPUT_BLEND if buffered else "z = stim_x(t, i)",
                                 when="start", name="input_blend")
        # --- layers --------------------------------------------------------------------
        self.layers = []
        n_layers = len(self.sizes) - 1
        for l in range(1, n_layers + 1):
            output = l == n_layers
            name = "output" if output else f"layer{l}"
            ns = self.stim_ns if output else {"stim_learn": self.stim_learn}
            group = self._make_layer(l, name, output, ns)
            for key, value in self._layer_constants().items():
                setattr(group, key, value)
            self.layers.append(group)
        self.output = self.layers[-1]
        self.output.run_regularly(eq.target_blend(buffered, self._gate_code), when="start",
                                  name="target_blend")
        for group in self.layers[:-1]:
            group.run_regularly(self._gate_code, when="start", name=f"{group.name}_gate")
        # --- synapses ------------------------------------------------------------------
        ws, vs = initial_weights(self.sizes, model.rule, seed, model.v_init)
        self.forward, self.feedback = [], []
        pre = self.input
        for l, post in enumerate(self.layers, start=1):
            syn = self._make_forward(l, pre, post)
            _all_to_all(syn, self.sizes[l - 1], self.sizes[l], gate="learn_post", replicas=K)
            syn.w = np.tile(ws[f"W{l}"].ravel(), K)
            self._after_forward(syn)
            self.forward.append(syn)
            pre = post
        for name, v0 in vs.items():
            l = int(name[1:])
            source = self.layers[l] if self.rule.routing == "layerwise" else self.output
            syn = self._make_feedback(name, source, self.layers[l - 1])
            _all_to_all(syn, source.N // K, self.layers[l - 1].N // K,
                        gate="learn_pre" if self.rule.plastic else None, replicas=K)
            syn.v = np.tile(v0.T.ravel(), K)  # stored (d_l, d_src); synapses run source-major
            self.feedback.append(syn)
        self._add_bounds(period)
        objects = [self.input, *self.layers, *self.forward, *self.feedback]
        if model.loss == "cross_entropy":
            # one normalising unit per replica
            self.normaliser = NeuronGroup(K, eq.NORMALISER, name="normaliser", namespace={},
                                          dt=schedule.dt, order=eq.NEURON_ORDER)
            self.softmax = Synapses(self.output, self.normaliser, self._softmax_sum,
                                    name="softmax", namespace={}, dt=schedule.dt)
            unit = np.arange(self.output.N) // self.sizes[-1]
            self.softmax.connect(i=np.arange(self.output.N), j=unit)
            self.output.expsum = linked_var(self.normaliser, "total", index=unit)
            self.output.shift = linked_var(self.normaliser, "shift", index=unit)
            self.normaliser.run_regularly(eq.SOFTMAX_SHIFT, when="end", name="softmax_shift")
            objects += [self.normaliser, self.softmax]
        self.output.delay = schedule.delay + schedule.label_offset(model)
        # --- monitors ------------------------------------------------------------------
        self.readout = self._make_readout(period)
        objects.append(self.readout)
        self.monitors = {}
        groups = {g.name: g for g in objects if hasattr(g, "name")}
        for gname, idx in self.recording.neurons.items():
            group = self._lookup(groups, gname, self.layers)
            self.monitors[gname] = StateMonitor(group, ["z", "eps"],
                                                record=record_indices(idx, group.N),
                                                dt=self.recording.dt, name=f"rec_{gname}")
        for sname, idx in self.recording.synapses.items():
            syn = self._lookup(groups, sname, self.forward + self.feedback)
            var = "w" if sname.startswith("W") else "v"
            self.monitors[sname] = StateMonitor(syn, var, record=record_indices(idx, len(syn)),
                                                dt=self.recording.dt, name=f"rec_{sname}")
        objects.extend(self.monitors.values())
        objects.extend(self._extra_monitors(groups))
        self.guarded = self._guarded()
        if guard == "standalone" and K == 1:  # replicas: checked per replica at the end
            self._add_standalone_guard(period)
        self.network = Network(objects, name="ctfa_network")
        if guard == "runtime":
            from ctfa_brian.guard import runtime_guard

            self.network.add(runtime_guard(self.network, self.guarded, period))

    def _add_bounds(self, period):
        """Clip W, plastic V and the biases to ±w_max at the end of every period."""
        for group in self.layers:
            group.run_regularly(eq.BOUND_BIAS, dt=period, when="end", name=f"{group.name}_bound")
        for syn in self.forward:
            syn.run_regularly(eq.BOUND_FORWARD, dt=period, when="end", name=f"{syn.name}_bound")
        if self.rule.plastic:
            for syn in self.feedback:
                syn.run_regularly(eq.BOUND_FEEDBACK, dt=period, when="end",
                                  name=f"{syn.name}_bound")

    # --- what the variants build differently ----------------------------------------------
    def _make_input(self, presentation):
        return NeuronGroup(self.replicas * self.sizes[0], eq.INPUT_NEURON, name="input",
                           namespace=self.stim_ns, dt=self.schedule.dt)

    def _equations(self, eqs):
        """``eqs`` as built: with replicas, the shared constants per replica."""
        return per_replica(eqs, self.per_replica, self.sizes[-1]) if self.replicas > 1 else eqs

    def _make_layer(self, l, name, output, namespace):
        noisy = self.model.noise > 0
        eqs = (eq.output_layer(self.model.loss, noise=noisy) if output
               else eq.hidden_layer(self.model.activation, noise=noisy))
        return NeuronGroup(self.replicas * self.sizes[l], self._equations(eqs), method="euler",
                           name=name, namespace=namespace, order=eq.NEURON_ORDER,
                           dt=self.schedule.dt)

    def _layer_constants(self):
        """Values of the layers' ``(shared, constant)`` variables (τ_elig exists in every
        layer, unused without a gate)."""
        return {"tau_elig": 1 * ms, **self.model.run_constants()}

    def _make_forward(self, l, pre, post):
        gated = self.model.tau_elig is not None
        eqs = eq.GATED_FORWARD_SYNAPSE if gated else eq.FORWARD_SYNAPSE
        if self.rule.tied and l > 1:
            eqs = eqs + eq.Equations(self._tied_feedback)
        return Synapses(pre, post, eqs, method="euler", name=f"W{l}", namespace={},
                        order=eq.SYNAPSE_ORDER, dt=self.schedule.dt)

    def _after_forward(self, syn):
        if self.model.tau_elig is not None:
            # after W's update (0.5), before the neurons (1): E(t+dt) from z(t)
            syn.run_regularly(eq.eligibility_update(self.model.eligibility), when="groups",
                              order=eq.TRACE_ORDER, name=f"{syn.name}_eligibility")

    def _make_feedback(self, name, source, target):
        eqs = (self._plastic_feedback(self.model.kp_form) if self.rule.plastic
               else self._fixed_feedback)
        return Synapses(source, target, eqs, method="euler", name=name, namespace={},
                        order=eq.SYNAPSE_ORDER, dt=self.schedule.dt)

    def _make_readout(self, period):
        return StateMonitor(self.output, "z", record=True, dt=period, when="start",
                            name="readout")

    def _extra_monitors(self, groups):
        if self.recording.spikes:
            raise ValueError("spikes can be recorded only in the spiking variant "
                             "(ModelParameters(variant='spiking')); the rate variant has none")
        return []

    def spikes(self):
        """Recorded spike events: none in the rate variant (see `SpikingCTFANetwork`)."""
        return {}

    def _guarded(self):
        guarded = [(g, ("z", "eps", "b")) for g in self.layers]
        guarded += [(s, ("w",)) for s in self.forward]
        guarded += [(s, ("v",)) for s in self.feedback if self.rule.plastic]
        return guarded

    def run(self, report=None, profile=False):
        """Simulate the whole presentation in one run (one compiled run on standalone).

        The gate g comes from the ``stim_learn`` TimedArray. (Switching the plasticity code off
        during evaluation blocks would need one ``run`` per block, and Brian2's standalone mode
        generates and compiles every code object again for every run.)
        """
        self.network.run(self.duration, namespace={}, report=report,
                         report_period=10 * second, profile=profile)

    @staticmethod
    def _lookup(groups, name, allowed):
        names = [g.name for g in allowed]
        if name not in names:
            raise ValueError(f"cannot record from {name!r}; choose one of: {', '.join(names)}")
        return groups[name]

    def _add_standalone_guard(self, period):
        for group, variables in self.guarded:
            code = "\n".join(f"{v} = {v} + nonfinite({v})" for v in variables)
            group.namespace["nonfinite"] = nonfinite
            group.run_regularly(code, dt=period, when="end", name=f"{group.name}_guard")

    # ------------------------------------------------------------------------------------
    def time_constant_views(self):
        """``{parameter name: [VariableView, ...]}`` for the swept time constants and delay."""
        views = {n: [getattr(g, n) for g in self.layers] for n in self._layer_constants()}
        views["delay"] = [self.output.delay]
        return views

    def run_values(self, presentation=None, seed=None, **overrides):
        """Values for ``device.run(run_args=...)``: new data, new seed, new constants.

        Parameters
        ----------
        presentation : Presentation, optional
            Must have the same shape as the one the network was built with.
        seed : int, optional
            New initial weights.
        **overrides : Quantity
            Any key of `time_constant_views` (e.g. ``delay=25*ms``, ``tau_pot_w=2*second``);
            ``delay`` is Δ from the schedule's ``delay_origin`` (`Schedule.label_offset` is
            added, with the ``tau_prop`` of the same call if it has one).

        With replicas, the arguments are lists with one entry per replica
        (`replica_values`).
        """
        if self.replicas > 1:
            raise ValueError(f"this network has {self.replicas} replicas; give one "
                             "presentation, seed and set of overrides per replica "
                             "(replica_values)")
        return self.replica_values([presentation], [seed], [overrides])

    def replica_values(self, presentations, seeds, overrides):
        """`run_values` of K replicas: lists of K presentations, seeds and override dicts
        (each dict with the same keys). A ``None`` presentation or seed keeps the values the
        network has (K = 1 only)."""
        K = self.replicas
        if not len(presentations) == len(seeds) == len(overrides) == K:
            raise ValueError(f"give {K} presentations, seeds and override sets (one per "
                             f"replica); got {len(presentations)}, {len(seeds)}, "
                             f"{len(overrides)}")
        values = {}
        if presentations[0] is not None:
            x, y, learn = stack_presentations(presentations)
            if x.shape != self.stim_x.values.shape:
                p = presentations[0]
                raise ValueError(
                    f"presentation has {p.n_periods} periods × {p.x.shape[1]} inputs but the "
                    f"network was built for {self.n_periods} × {self.sizes[0]}; build a new "
                    "network for a new shape"
                )
            values.update({self.stim_x: x, self.stim_y: y, self.stim_learn: learn})
        if seeds[0] is not None:
            drawn = [initial_weights(self.sizes, self.model.rule, s, self.model.v_init)
                     for s in seeds]
            for syn in self.forward:
                values[syn.w] = np.concatenate([ws[syn.name].ravel() for ws, _ in drawn])
            for syn in self.feedback:
                values[syn.v] = np.concatenate([vs[syn.name].T.ravel() for _, vs in drawn])
        views = self.time_constant_views()
        for key in overrides[0]:
            if key not in views:
                raise ValueError(
                    f"cannot change {key!r} between runs; choose one of: {', '.join(views)}"
                )
            if any(set(o) != set(overrides[0]) for o in overrides):
                raise ValueError("every replica must override the same parameters; got "
                                 f"{[sorted(o) for o in overrides]}")
            per = [o[key] for o in overrides]
            if key == "delay":  # Δ counts from the schedule's delay origin
                per = [v + self.schedule.label_offset(self.model, o.get("tau_prop"))
                       for v, o in zip(per, overrides)]
            if key not in self.per_replica and any(
                    not np.array_equal(np.asarray(v), np.asarray(per[0])) for v in per):
                raise ValueError(f"{key} differs between the replicas ({per}) but is shared "
                                 "in this network; build it with per_replica including "
                                 f"{key!r}")
            for view in views[key]:
                values[view] = (per[0] if key not in self.per_replica
                                else blocks(per, view.variable.size // K))
        return values

    def weights(self, replica=None):
        """Current W and V as matrices: ``{"W1": (d0, d1), ..., "V1": (d_l, d_src)}`` (of
        one replica: ``replica``, required with replicas)."""
        return self._weights(self._replica(replica))

    def _replica(self, replica):
        if replica is None:
            if self.replicas > 1:
                raise ValueError(f"this network has {self.replicas} replicas; say which one")
            return 0
        if not 0 <= replica < self.replicas:
            raise ValueError(f"replica = {replica!r} is not allowed; this network has replicas "
                             f"0 … {self.replicas - 1}")
        return int(replica)

    def _weights(self, r):
        K = self.replicas
        out = {}
        for s in self.forward:
            w = np.split(np.asarray(s.w[:]), K)[r]
            out[s.name] = w.reshape(s.source.N // K, s.target.N // K)
        for s in self.feedback:
            v = np.split(np.asarray(s.v[:]), K)[r]
            out[s.name] = v.reshape(s.source.N // K, s.target.N // K).T
        for g in self.layers:
            out[f"b_{g.name}"] = np.split(np.asarray(g.b[:]), K)[r]
        return out

    def readout_values(self, replica=None):
        """Output rates at the end of each period, shape (n_periods, n_classes) (of one
        replica: ``replica``, required with replicas)."""
        r = self._replica(replica)
        return split_columns(np.asarray(self.readout.z).T[1:self.n_periods + 1],
                             self.replicas)[r]

    def guarded_of(self, replica=None):
        """`guarded` restricted to one replica: ``[(name, {variable: values})]`` for
        `ctfa_brian.guard.find_nonfinite`."""
        r = self._replica(replica)
        return [(group.name, {v: np.split(np.asarray(getattr(group, v)[:]), self.replicas)[r]
                              for v in variables})
                for group, variables in self.guarded]
