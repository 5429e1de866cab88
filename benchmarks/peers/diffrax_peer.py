"""The paper's own stack as a benchmark peer: the same ODEs in JAX, integrated by Diffrax.

This is `ctfa_brian.reference` written as a continuous vector field instead of a forward-Euler
loop: Tsit5 with an adaptive PID step-size controller (``rtol = 2e-3``, ``atol = 1e-5`` by
default), float64 throughout. Input and target are functions of time (the same raised-cosine
cross-fade as ``reference._blend``); the plasticity gate is constant within a period.

Every period is its own ``diffeqsolve`` from the start to the end of the period, so the solver
never steps across the gate's discontinuity (the input and target are continuous at period
boundaries; with ``buffer_time = 0`` they jump there, which is also a period boundary). The
periods run inside one jitted ``lax.scan``, so one compilation serves a whole run, and any run
with the same shapes (another seed, another sample order).

Needs the ``bench`` extra: ``pip install 'ctfa_brian[bench]'`` (``jax[cpu]`` and ``diffrax``).
"""

import time

import numpy as np

try:
    import diffrax
    import jax
    import jax.numpy as jnp
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the Diffrax peer needs jax and diffrax: pip install 'ctfa_brian[bench]' "
        "(or pip install 'jax[cpu]' diffrax)"
    ) from err

from ctfa_brian.network import initial_weights
from ctfa_brian.rules import get_rule

jax.config.update("jax_enable_x64", True)

__all__ = ["simulate"]

_ACTIVATIONS = {
    "relu": (lambda x: jnp.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype)),
    "tanh": (jnp.tanh, lambda x: 1 - jnp.tanh(x) ** 2),
    "sigmoid": (jax.nn.sigmoid, lambda x: jax.nn.sigmoid(x) * (1 - jax.nn.sigmoid(x))),
    "linear": (lambda x: x, jnp.ones_like),
}


def _blend(rows, k, t_local, period, buffer_time):
    """Cross-faded row at local time ``t_local`` of period ``k`` (as ``reference._blend``).

    ``t_local`` may leave ``[0, period]`` (a delayed target); the period index follows it.
    """
    shift = jnp.floor(t_local / period)
    kk = (k + shift).astype(jnp.int32)
    phase = t_local - shift * period
    last = rows.shape[0] - 1
    cur = rows[jnp.clip(kk, 0, last)]
    if buffer_time == 0:
        return cur
    prev = rows[jnp.clip(kk - 1, 0, last)]
    r = 0.5 * (1 + jnp.cos(jnp.pi * jnp.minimum(phase / buffer_time, 1.0)))
    return cur + (prev - cur) * r


def _vector_field(sizes, model, schedule):
    """``f(t, state, args)`` of the whole network; ``t`` is the time since the period began."""
    rule = get_rule(model.rule)
    period, buffer_time = float(schedule.period), float(schedule.buffer_time)
    delay = float(schedule.delay)
    tau = float(model.tau_prop)
    pot_w, dec_w = float(model.tau_pot_w), float(model.tau_dec_w)
    pot_v, dec_v = float(model.tau_pot_v), float(model.tau_dec_v)
    sig, dsig = _ACTIVATIONS[model.activation]
    L = len(sizes) - 1
    cross_entropy = model.loss == "cross_entropy"
    transpose = model.kp_form == "transpose"

    def f(t, state, args):
        k, g, x_rows, y_rows = args
        W, V, z, eps, b = state
        x = _blend(x_rows, k, t, period, buffer_time)
        y = _blend(y_rows, k, t - delay, period, buffer_time)
        pre = [x, *z[:-1]]
        a = [W[l].T @ pre[l] + b[l] for l in range(L)]
        m_out = (jax.nn.softmax(z[-1]) if cross_entropy else z[-1]) - y
        m = []
        for l in range(L - 1):
            if rule.tied:
                m.append(W[l + 1] @ eps[l + 1])
            elif rule.routing == "layerwise":
                m.append(V[l] @ eps[l + 1])
            else:
                m.append(V[l] @ eps[-1])
        m.append(m_out)
        dW = tuple(-g * (W[l] / dec_w + jnp.outer(pre[l], eps[l]) / pot_w) for l in range(L))
        dV = []
        if rule.plastic:
            for l in range(L - 1):
                src = eps[l + 1] if rule.routing == "layerwise" else eps[-1]
                r = z[l] if transpose else a[l]
                dV.append(-g * (V[l] / dec_v + jnp.outer(r, src) / pot_v))
        else:
            dV = [jnp.zeros_like(v) for v in V]
        dz, deps, db = [], [], []
        for l in range(L):
            act = sig(a[l]) if l < L - 1 else a[l]
            dact = dsig(a[l]) if l < L - 1 else 1.0
            dz.append((-z[l] + act) / tau)
            deps.append((-eps[l] + g * dact * m[l]) / tau)
            db.append(-g * (b[l] / dec_w + eps[l] / pot_w))
        return dW, tuple(dV), tuple(dz), tuple(deps), tuple(db)

    return f


def _initial_state(sizes, model, seed, weights=None):
    rule = get_rule(model.rule)
    ws, vs = weights if weights is not None else initial_weights(sizes, model.rule, seed,
                                                                  model.v_init)
    L = len(sizes) - 1
    W = tuple(jnp.asarray(ws[f"W{l}"]) for l in range(1, L + 1))
    V = tuple(jnp.asarray(vs[f"V{l}"]) for l in range(1, L)) if not rule.tied else ()
    zeros = tuple(jnp.zeros(d) for d in sizes[1:])
    return W, V, zeros, zeros, zeros


def make_runner(sizes, model, schedule, rtol=2e-3, atol=1e-5, max_steps=4096):
    """A jittable ``run(state0, x_rows, y_rows, gate) -> (state, readout, stats)``.

    ``gate`` has one entry per period to integrate; ``readout[k]`` is the output ``z`` at the
    end of period k; ``stats`` sums Diffrax's step counts over all periods.
    """
    term = diffrax.ODETerm(_vector_field(sizes, model, schedule))
    solver = diffrax.Tsit5()
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    period, dt0 = float(schedule.period), float(schedule.dt)

    def one_period(carry, inputs):
        state, stats = carry
        k, g, x_rows, y_rows = inputs
        sol = diffrax.diffeqsolve(term, solver, 0.0, period, dt0, state,
                                  args=(k, g, x_rows, y_rows),
                                  saveat=diffrax.SaveAt(t1=True),
                                  stepsize_controller=controller, max_steps=max_steps)
        new_state = jax.tree_util.tree_map(lambda leaf: leaf[-1], sol.ys)
        counts = jnp.stack([sol.stats["num_steps"], sol.stats["num_accepted_steps"],
                            sol.stats["num_rejected_steps"]]).astype(jnp.int64)
        return (new_state, stats + counts), new_state[2][-1]

    def run(state0, x_rows, y_rows, gate):
        n = gate.shape[0]

        def body(carry, kg):
            k, g = kg
            return one_period(carry, (k, g, x_rows, y_rows))

        (state, stats), readout = jax.lax.scan(
            body, (state0, jnp.zeros(3, dtype=jnp.int64)),
            (jnp.arange(n, dtype=jnp.int32), gate))
        return state, readout, stats

    return run


def simulate(sizes, model, schedule, presentation, seed=0, weights=None, rtol=2e-3, atol=1e-5,
             max_steps=4096, n_periods=None):
    """Integrate the network on ``presentation`` with Diffrax; same readout as the reference.

    Parameters
    ----------
    sizes, model, schedule, presentation, seed, weights
        As for `ctfa_brian.reference.simulate`.
    rtol, atol : float
        Tolerances of the PID step-size controller.
    max_steps : int
        Most solver steps within one period.
    n_periods : int, optional
        Integrate only the first ``n_periods`` periods (default: all of them).

    Returns
    -------
    dict
        ``readout`` (n_periods, n_classes), ``W``, ``V``, ``b`` (lists of arrays), ``periods``,
        ``steps``/``accepted_steps``/``rejected_steps`` (Diffrax's counts, summed over periods),
        ``compile_s`` (tracing and XLA compilation) and ``run_s`` (the compiled run).
    """
    n = presentation.n_periods if n_periods is None else int(n_periods)
    run = jax.jit(make_runner(sizes, model, schedule, rtol=rtol, atol=atol,
                              max_steps=max_steps))
    state0 = _initial_state(sizes, model, seed, weights)
    args = (state0, jnp.asarray(presentation.x), jnp.asarray(presentation.y),
            jnp.asarray(presentation.learn[:n]))
    start = time.perf_counter()
    compiled = run.lower(*args).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    state, readout, stats = jax.block_until_ready(compiled(*args))
    run_s = time.perf_counter() - start
    W, V, _, _, b = state
    stats = np.asarray(stats)
    return {
        "readout": np.asarray(readout),
        "W": [np.asarray(w) for w in W],
        "V": [np.asarray(v) for v in V],
        "b": [np.asarray(x) for x in b],
        "periods": n,
        "steps": int(stats[0]),
        "accepted_steps": int(stats[1]),
        "rejected_steps": int(stats[2]),
        "compile_s": compile_s,
        "run_s": run_s,
    }
