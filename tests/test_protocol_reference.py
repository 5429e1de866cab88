"""Small runs of every single-synapse protocol against results kept from before the refactor.

``tests/data/protocol_reference/*.json`` are the ``results.json`` (timings and paths left out)
of these runs at commit 96f7498, before the protocols got one result type (`Curve`), one
writer and the shared checks; the same runs must give the same numbers now.
"""

import json
import math
from pathlib import Path

import pytest

from ctfa_brian.protocols import run_protocol

REFERENCE = Path(__file__).resolve().parent / "data" / "protocol_reference"

RUNS = {
    "overlap": {"n_delays": 13, "sample_time": "100 ms", "device": "numpy"},
    "eligibility_window": {"device": "numpy", "tau_elig_checks": ["1 s"]},
    "frequency_transition": {"n_cycles": 10, "device": "numpy"},
    "frequency_transition_poisson": {"mode": "poisson", "n_cycles": 10, "n_trials": 20,
                                     "device": "numpy"},
}
SPIKING = {
    "overlap_spiking": {"sample_time": "100 ms", "n_delays": 9, "variant": "spiking",
                        "n_trials": 40, "dt": "0.5 ms", "cch_trials": 10, "device": "numpy"},
    "eligibility_window_spiking": {"variant": "spiking", "n_trials": 30,
                                   "tau_elig_checks": ["1 s"], "device": "numpy"},
    "frequency_transition_spiking": {"variant": "spiking", "n_cycles": 5, "n_trials": 20,
                                     "dt": "0.5 ms", "device": "numpy"},
}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()
                if k not in ("timings_s", "files", "timestamp_utc")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _same(new, old, where="results"):
    if isinstance(old, dict):
        assert isinstance(new, dict) and set(new) == set(old), where
        for key in old:
            _same(new[key], old[key], f"{where}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), where
        for k, (a, b) in enumerate(zip(new, old)):
            _same(a, b, f"{where}[{k}]")
    elif isinstance(old, float) and not isinstance(new, bool):
        assert math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-12), (where, new, old)
    else:
        assert new == old, (where, new, old)


def _check(name, params, tmp_path):
    protocol = name.replace("_spiking", "").replace("_poisson", "")
    run_protocol({"protocol": protocol, "parameters": params}, tmp_path / name)
    new = _strip(json.loads((tmp_path / name / "results.json").read_text()))
    _same(new, json.loads((REFERENCE / f"{name}.json").read_text()))


@pytest.mark.parametrize("name", list(RUNS))
def test_protocol_results_are_those_from_before_the_refactor(name, tmp_path):
    _check(name, RUNS[name], tmp_path)


@pytest.mark.long
@pytest.mark.parametrize("name", list(SPIKING))
def test_spiking_protocol_results_are_those_from_before_the_refactor(name, tmp_path):
    _check(name, SPIKING[name], tmp_path)
