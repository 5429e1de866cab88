"""Accuracy against the potentiation time constant τ_pot/T (paper Fig. 7).

Bacvanski, Ziyin & Poggio (arXiv 2510.18808, §5.3, Fig. 7): learning is unstable when τ_pot is
comparable to the presentation window T and robust once τ_pot/T ≳ 40 — potentiation must
outlast the stimulus by an order of magnitude. The per-sample learning rate is about T/τ_pot.

One network per dataset (one hidden layer, layerwise routing by default) is compiled once and
trained for every ratio and seed; τ_pot of W and V is a ``(shared, constant)`` variable passed
through ``run_args``. Runs that blow up (NaN) are recorded as failed.
"""

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

NAME = "tau_pot_sweep"
DEVICE = SWEEP_DEVICE

PARAMETERS = {
    **NETWORK_PARAMETERS,
    "tau_pot_ratios": Parameter("floats", (2.0, 5.0, 10.0, 20.0, 50.0, 100.0),
                                "τ_pot / T values to sweep (W and V together)", gt=1.0),
}


def _model(params, dataset, hidden):  # τ_pot itself is set per run from the ratio
    tau_pot = params["tau_pot_ratios"][0] * params["sample_time"]
    return ModelParameters(hidden=hidden, rule=params["rule"], tau_prop=params["tau_prop"],
                           tau_pot_w=tau_pot, tau_pot_v=tau_pot,
                           tau_dec_w=params["tau_dec"], tau_dec_v=params["tau_dec"],
                           **model_fields(params))


def check(params):
    """The network sweep's checks, with every network's model built."""
    return _network_sweep.check(params, _model)


def run(params, out_dir):
    """Train for every dataset × τ_pot/T × seed; write table.csv and tau_pot_sweep.png."""
    T = params["sample_time"]

    def overrides(ratio):
        return {"tau_pot_w": ratio * T, "tau_pot_v": ratio * T}

    rows, examples = sweep(params, params["tau_pot_ratios"], _model, overrides,
                             out_dir / "build")
    summary = summarise(rows)
    write_table(out_dir / "table.csv", rows, "tau_pot_over_T")
    traces = write_traces(out_dir / f"traces{neo_suffix()}", examples)
    plot_sweep(out_dir / "tau_pot_sweep.png", summary, "τ_pot / T", marks=[(40, "τ_pot/T = 40")],
               title=f"T = {T}")
    return {
        "summary": {name: [{"tau_pot_over_T": v, "mean": m, "std": s, "n_ok": n}
                           for v, m, s, n in entries] for name, entries in summary.items()},
        "rows": rows,
        "files": {"table": out_dir / "table.csv", "figure": out_dir / "tau_pot_sweep.png",
                  "traces": traces},
    }
