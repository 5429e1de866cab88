"""Learning rules as choices of the feedback pathway V and of how error is routed.

All rules share one forward plasticity (paper eq. 1, with the sign that descends the loss):

.. math::

    \\frac{dW_l}{dt} = -\\frac{W_l}{\\tau^W_{dec}}
                     - \\frac{z_{l-1}\\,\\epsilon_l^\\top}{\\tau^W_{pot}}

where ε_l are the error units of layer l. They differ in what drives the error units of a
hidden layer:

========== ============ ============================================================
rule       routing      feedback weights V
========== ============ ============================================================
sgd        layerwise    V ≡ W^T: the forward synapses of layer l+1 carry the error back
fa         layerwise    fixed random V (Lillicrap et al. 2016)
kp         layerwise    plastic V, the transpose of W's update (Kolen–Pollack)
dfa        direct       fixed random V from the output error (Nøkland 2016)
direct-kp  direct       plastic V from the output error (the paper's §5.1 network)
========== ============ ============================================================

Add a rule by adding a `Rule` to `RULES`; `ctfa_brian.network` reads only these fields.
"""

from dataclasses import dataclass

__all__ = ["RULES", "Rule", "get_rule"]


@dataclass(frozen=True)
class Rule:
    """What V is and where the error of a hidden layer comes from.

    Attributes
    ----------
    name : str
        Key used on the command line and in protocol files.
    routing : str
        ``layerwise`` (ε_l driven by V_{l+1} ε_{l+1}) or ``direct`` (ε_l driven by V_l ε_L).
    tied : bool
        Feedback reuses the forward weights (V ≡ W^T); no separate V synapses exist.
    plastic : bool
        V follows the Kolen–Pollack update; otherwise V is fixed.
    random_init : bool
        Draw V at random (fixed rules) rather than the paper's constant 0.1.
    """

    name: str
    routing: str
    tied: bool = False
    plastic: bool = False
    random_init: bool = True
    description: str = ""


#: Every rule by name: ``sgd``, ``fa``, ``kp``, ``dfa``, ``direct-kp``.
RULES = {
    r.name: r
    for r in (
        Rule("sgd", "layerwise", tied=True, random_init=False,
             description="backprop: error returns through the forward weights themselves"),
        Rule("fa", "layerwise", description="feedback alignment: fixed random feedback"),
        Rule("kp", "layerwise", plastic=True, random_init=False,
             description="Kolen–Pollack: feedback learns the transpose of W's update"),
        Rule("dfa", "direct", description="direct feedback alignment: output error broadcast"),
        Rule("direct-kp", "direct", plastic=True, random_init=False,
             description="direct routing with plastic feedback (paper §5.1)"),
    )
}


def get_rule(name):
    """Return the `Rule` called ``name`` or raise an error listing the valid names."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; choose one of: {', '.join(RULES)}") from None
