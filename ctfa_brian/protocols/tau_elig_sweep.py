"""Accuracy against the eligibility-trace time constant τ_elig/T of the gated rule.

The eligibility gate (paper §4, last paragraph; `docs/model.md`) lets presynaptic activity
write a per-synapse trace that the error consolidates. A trace much shorter than the sample
time T reduces to the ungated rule; a trace much longer than T mixes the inputs of earlier
samples into the update for the current error (like a label delay), and learning degrades.
This sweep measures where.

One gated network per dataset is compiled once; τ_elig is a ``(shared, constant)`` variable of
the layers passed through ``run_args`` for every ratio and seed.
"""

from brian2 import ms, second

from ctfa_brian.neo_io import neo_suffix
from ctfa_brian.parameters import ModelParameters
from ctfa_brian.protocols import _network_sweep
from ctfa_brian.protocols._network_sweep import (
    NETWORK_PARAMETERS,
    SWEEP_DEVICE,
    plot_sweep,
    summarise,
    sweep,
    write_table,
    write_traces,
)
from ctfa_brian.protocols._variant import model_fields
from ctfa_brian.protocols.spec import Parameter

__all__ = ["DEVICE", "NAME", "PARAMETERS", "check", "run"]

NAME = "tau_elig_sweep"
DEVICE = SWEEP_DEVICE

PARAMETERS = {
    **NETWORK_PARAMETERS,
    "tau_elig_ratios": Parameter("floats", (0.05, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0),
                                 "τ_elig / T values to sweep", gt=0.0),
    "eligibility": Parameter("str", "pre", "what writes the trace", choices=("pre", "hebbian")),
    "tau_pot": Parameter("time", 10 * second, "potentiation time constant of W and V on digits",
                         gt=0 * ms),
    "tau_pot_circles": Parameter("time", 2 * second, "the same on circles (2 inputs: a small "
                                 "drive, so a larger step per sample is stable)", gt=0 * ms),
}


def _model(params, dataset, hidden):
    tau_pot = params["tau_pot_circles"] if dataset == "circles" else params["tau_pot"]
    return ModelParameters(hidden=hidden, rule=params["rule"], tau_prop=params["tau_prop"],
                           tau_pot_w=tau_pot, tau_pot_v=tau_pot,
                           tau_dec_w=params["tau_dec"], tau_dec_v=params["tau_dec"],
                           tau_elig=params["tau_elig_ratios"][0] * params["sample_time"],
                           eligibility=params["eligibility"], **model_fields(params))


def check(params):
    """The network sweep's checks, with every network's model built."""
    return _network_sweep.check(params, _model)


def run(params, out_dir):
    """Train for every dataset × τ_elig/T × seed; write table.csv and tau_elig_sweep.png."""
    T = params["sample_time"]
    rows, examples = sweep(params, params["tau_elig_ratios"], _model,
                           lambda ratio: {"tau_elig": ratio * T}, out_dir / "build")
    summary = summarise(rows)
    write_table(out_dir / "table.csv", rows, "tau_elig_over_T")
    traces = write_traces(out_dir / f"traces{neo_suffix()}", examples)
    plot_sweep(out_dir / "tau_elig_sweep.png", summary, "τ_elig / T", marks=[(1, "τ_elig = T")],
               title=f"gated {params['rule']}, T = {T}")
    return {
        "summary": {name: [{"tau_elig_over_T": v, "mean": m, "std": s, "n_ok": n}
                           for v, m, s, n in entries] for name, entries in summary.items()},
        "rows": rows,
        "files": {"table": out_dir / "table.csv", "figure": out_dir / "tau_elig_sweep.png",
                  "traces": traces},
    }
