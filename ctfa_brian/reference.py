"""An independent NumPy integration of the same ODEs (the test oracle and benchmark peer).

It uses matrices instead of Brian2 objects and follows the same forward-Euler step order as
`ctfa_brian.network`: inputs and targets at t; drives a = W^T z, modulatory m and the softmax
normaliser from the state at t; then W, V; then z, ε, b. With ``noise = 0`` the two agree to
rounding error (see ``tests/test_reference.py``).
"""

import numpy as np

from ctfa_brian.activations import ACTIVATIONS
from ctfa_brian.network import initial_weights
from ctfa_brian.rules import get_rule

__all__ = ["simulate"]


def _blend(rows, n, spp, buffer_steps):
    """Cross-faded row of ``rows`` at step ``n`` (raised cosine over the buffer)."""
    k = n // spp
    cur = rows[min(max(k, 0), len(rows) - 1)]
    if buffer_steps == 0:
        return cur
    prev = rows[min(max(k - 1, 0), len(rows) - 1)]
    r = 0.5 * (1 + np.cos(np.pi * min((n % spp) / buffer_steps, 1.0)))
    return cur + (prev - cur) * r


def simulate(sizes, model, schedule, presentation, seed=0, weights=None):
    """Integrate the network on ``presentation``; return readout and final weights.

    Parameters
    ----------
    sizes, model, schedule, presentation, seed
        As for `ctfa_brian.network.CTFANetwork`.
    weights : tuple of dict, optional
        Initial ``(W, V)`` as returned by `initial_weights` (default: drawn from ``seed``).

    Returns
    -------
    dict
        ``readout`` (n_periods, n_classes) output rates at the end of each period, ``W``, ``V``
        and ``b`` (lists of arrays), ``steps`` (number of Euler steps).
    """
    rule = get_rule(model.rule)
    dt = float(schedule.dt)
    spp = schedule.steps_per_period
    buffer_steps = int(round(float(schedule.buffer_time / schedule.dt)))
    delay_steps = int(round(float((schedule.delay + schedule.label_offset(model))
                                  / schedule.dt)))
    tau = float(model.tau_prop)
    pot_w, dec_w = float(model.tau_pot_w), float(model.tau_dec_w)
    pot_v, dec_v = float(model.tau_pot_v), float(model.tau_dec_v)
    sig, dsig = ACTIVATIONS[model.activation]
    ws, vs = weights if weights is not None else initial_weights(sizes, model.rule, seed,
                                                                  model.v_init)
    L = len(sizes) - 1
    W = [ws[f"W{l}"].copy() for l in range(1, L + 1)]
    V = [vs[f"V{l}"].copy() for l in range(1, L)] if not rule.tied else []
    gated = model.tau_elig is not None
    trace_decay = np.exp(-dt / float(model.tau_elig)) if gated else 0.0
    E = [np.zeros_like(w) for w in W]
    z = [np.zeros(d) for d in sizes[1:]]
    eps = [np.zeros(d) for d in sizes[1:]]
    b = [np.zeros(d) for d in sizes[1:]]
    n_periods = presentation.n_periods
    n_steps = (n_periods + 1) * spp
    readout = np.zeros((n_periods, sizes[-1]))
    x_rows, y_rows, gate = presentation.x, presentation.y, presentation.learn
    for n in range(n_steps):
        if n % spp == 0 and n > 0:
            readout[n // spp - 1] = z[-1]
        g = gate[min(n // spp, len(gate) - 1)]
        x = _blend(x_rows, n, spp, buffer_steps)
        y = _blend(y_rows, n - delay_steps, spp, buffer_steps)
        # summed variables from the state at t
        pre = [x] + z[:-1]
        a = [W[l].T @ pre[l] + b[l] for l in range(L)]
        if model.loss == "cross_entropy":
            ez = np.exp(z[-1] - np.max(z[-1]))  # the stable softmax (Brian: running log-sum-exp)
            alpha = model.label_smoothing
            m_out = ez / ez.sum() - ((1 - alpha) * y + alpha / len(y))
        else:
            m_out = z[-1] - y
        m = []
        for l in range(L - 1):
            if rule.tied:
                m.append(W[l + 1] @ eps[l + 1])
            elif rule.routing == "layerwise":
                m.append(V[l] @ eps[l + 1])
            else:
                m.append(V[l] @ eps[-1])
        m.append(m_out)
        # synapses
        if g:
            for l in range(L):
                drive = E[l] if gated else pre[l][:, None]
                W[l] -= dt * g * (W[l] / dec_w + drive * eps[l][None, :] / pot_w)
            if rule.plastic:
                for l in range(L - 1):
                    src = eps[l + 1] if rule.routing == "layerwise" else eps[-1]
                    r = z[l] if model.kp_form == "transpose" else a[l]
                    V[l] -= dt * g * (V[l] / dec_v + np.outer(r, src) / pot_v)
        # eligibility traces relax toward their drive (exactly over one step)
        if gated:
            for l in range(L):
                if model.eligibility == "hebbian":
                    post = (sig(a[l]) if l < L - 1 else a[l]) - z[l]
                    target = np.outer(pre[l], post)
                else:
                    target = pre[l][:, None]
                E[l] = target + (E[l] - target) * trace_decay
        # neurons
        for l in range(L):
            act = sig(a[l]) if l < L - 1 else a[l]
            dact = dsig(a[l]) if l < L - 1 else 1.0
            z_new = z[l] + dt * (-z[l] + act) / tau
            eps_new = eps[l] + dt * (-eps[l] + g * dact * m[l]) / tau
            b[l] = b[l] - dt * g * (b[l] / dec_w + eps[l] / pot_w)
            z[l], eps[l] = z_new, eps_new
        if n % spp == 0:  # the bounds, at the end of a step that starts a period
            bound = model.w_max
            W = [np.clip(w, -bound, bound) for w in W]
            b = [np.clip(v, -bound, bound) for v in b]
            if rule.plastic:
                V = [np.clip(v, -bound, bound) for v in V]
    return {"readout": readout, "W": W, "V": V, "b": b, "steps": n_steps}
