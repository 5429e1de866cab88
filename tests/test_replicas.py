"""Replicas: K copies of a network in one simulation equal K separate runs; packs of sweep cells."""

import csv
import json

import numpy as np
import pytest
from brian2 import ms

from ctfa_brian import ModelParameters, Schedule, Trainer, Training, from_arrays, load_dataset
from ctfa_brian.cells import CELL_DEFAULTS, cell_id, load_subset
from ctfa_brian.guard import BlowUpError
from ctfa_brian.network import Recording
from ctfa_brian.packs import check_replicas_option, plan_packs, run_pack, varying
from ctfa_brian.sweep import expand_grid, run_sweep

DENSE = "ctfa_dense_standalone"


def _setup(rule="kp", variant="rate", hidden=(8,)):
    model = ModelParameters(hidden=hidden, rule=rule, variant=variant)
    dt = 0.5 * ms if variant == "spiking" else 1 * ms
    return (load_subset("circles", 60, 40), model, Schedule(sample_time=50 * ms, dt=dt),
            Training(epochs=2))


def _runs(model):
    """Three cells of one structure: other seeds, other Δ, one with another τ_pot."""
    slow = {"tau_pot_w": model.tau_pot_w * 2, "tau_pot_v": model.tau_pot_v * 2}
    return [(0, {"delay": 0 * ms, "tau_pot_w": model.tau_pot_w, "tau_pot_v": model.tau_pot_v}),
            (1, {"delay": 10 * ms, **slow}),
            (2, {"delay": 20 * ms, "tau_pot_w": model.tau_pot_w,
                 "tau_pot_v": model.tau_pot_v})]


def _assert_replicas_equal_separate_runs(tmp_path, device=DENSE, **setup):
    ds, model, schedule, training = _setup(**setup)
    runs = _runs(model)
    single = Trainer(ds, model, schedule, training, device=device, directory=str(tmp_path / "1"))
    separate = [single.run(seed=seed, **o) for seed, o in runs]
    batched = Trainer(ds, model, schedule, training, device=device, directory=str(tmp_path / "3"),
                      replicas=3, per_replica=("delay", "tau_pot_v", "tau_pot_w"))
    together = batched.run_replicas(runs)
    for a, b in zip(separate, together):
        assert b.overrides == a.overrides
        np.testing.assert_allclose(b.readout, a.readout, rtol=1e-9, atol=1e-12)
        assert set(b.weights) == set(a.weights)
        for name in a.weights:
            np.testing.assert_allclose(b.weights[name], a.weights[name], rtol=1e-9, atol=1e-12)
        assert (b.test_accuracy, b.train_accuracy, b.learning_curve) == (
            a.test_accuracy, a.train_accuracy, a.learning_curve)
    # the three really differ: the replicas are not copies of one run
    assert len({r.readout.tobytes() for r in together}) == 3


def test_replicas_equal_separate_runs_kp(tmp_path):
    _assert_replicas_equal_separate_runs(tmp_path)


@pytest.mark.long
@pytest.mark.parametrize("rule,hidden", [("sgd", (8, 6)), ("fa", (8,)), ("dfa", (8, 6)),
                                         ("direct-kp", (8, 6)), ("kp", (8, 6))])
@pytest.mark.parametrize("device", [DENSE, "cpp_standalone"])
def test_replicas_equal_separate_runs_every_rule(tmp_path, rule, hidden, device):
    _assert_replicas_equal_separate_runs(tmp_path, device, rule=rule, hidden=hidden)


@pytest.mark.long
@pytest.mark.parametrize("rule", ["kp", "fa", "sgd"])
def test_spiking_replicas_equal_separate_runs(tmp_path, rule):
    _assert_replicas_equal_separate_runs(tmp_path, rule=rule, variant="spiking")


def test_one_replica_blows_up_alone(tmp_path):
    c = load_dataset("circles").subset(100, 50)
    ds = from_arrays(c.x_train * 10, c.y_train, c.x_test * 10, c.y_test)
    model = ModelParameters(hidden=(8,), loss="squared")
    schedule = Schedule(sample_time=50 * ms, buffer_time=5 * ms)
    training = Training(epochs=2, evals_per_epoch=2)
    fast = {"tau_pot_w": 20 * ms, "tau_pot_v": 20 * ms}  # a step T/τ_pot of 2.5: it blows up
    slow = {"tau_pot_w": model.tau_pot_w, "tau_pot_v": model.tau_pot_v}
    batched = Trainer(ds, model, schedule, training, device=DENSE, directory=str(tmp_path / "2"),
                      replicas=2, per_replica=("tau_pot_v", "tau_pot_w"))
    blown, fine = batched.run_replicas([(0, fast), (1, slow)])
    single = Trainer(ds, model, schedule, training, device=DENSE, directory=str(tmp_path / "1"))
    with pytest.raises(BlowUpError) as info:
        single.run(seed=0, **fast)
    # the replica that blew up says what a separate run says: the variable and the period
    assert isinstance(blown, BlowUpError)
    assert (blown.variable, blown.time) == (info.value.variable, info.value.time)
    assert str(blown) == str(info.value)
    assert len(blown.partial.learning_curve) == 1  # the evaluation before training is kept
    # the other replica ran to its end, as if alone
    alone = single.run(seed=1, **slow)
    assert np.isfinite(fine.readout).all()
    np.testing.assert_allclose(fine.readout, alone.readout, rtol=1e-9, atol=1e-12)
    assert fine.test_accuracy == alone.test_accuracy


def test_bad_replica_options_are_refused_before_anything_runs(tmp_path):
    ds, model, schedule, training = _setup()
    for value in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match=f"replicas = {value!r} is not allowed"):
            Trainer(ds, model, schedule, training, device=DENSE, replicas=value)
    with pytest.raises(ValueError, match="replicas = 2 is not allowed on device 'numpy'"):
        Trainer(ds, model, schedule, training, device="numpy", replicas=2)
    with pytest.raises(ValueError, match="replicas = 2 is not allowed with a recording"):
        Trainer(ds, model, schedule, training, device=DENSE, replicas=2,
                recording=Recording.first(2, layers=("output",)))
    for text in ("0", "x", "1.5", ""):
        with pytest.raises(ValueError, match=f"replicas = {text!r} is not allowed; give an "
                                             "integer ≥ 1"):
            check_replicas_option(text)
    assert check_replicas_option("auto") == "auto" and check_replicas_option(" 4") == 4
    trainer = Trainer(ds, model, schedule, training, device=DENSE, replicas=2,
                      directory=str(tmp_path / "p"))
    with pytest.raises(ValueError, match="give 1 to 2 runs"):
        trainer.run_replicas([(0, {})] * 3)
    with pytest.raises(ValueError, match="use run_replicas"):
        trainer.run()
    # a constant that differs between replicas must be built per replica
    with pytest.raises(ValueError, match=r"delay differs between the replicas .* build it with "
                                         "per_replica including 'delay'"):
        trainer.run_replicas([(0, {"delay": 0 * ms}), (1, {"delay": 10 * ms})])
    assert not (tmp_path / "p").exists()  # nothing was built


BASE = {"model": "continuous", "dataset": "circles", "hidden": "8", "rule": "kp",
        "activation": "relu", "loss": "cross_entropy", "epochs": 2, "evaluate": "curve",
        "n_train": 60, "n_test": 40, "sample_time": "50 ms", "delay_over_T": 0.0,
        "tau_pot_over_T": 40.0, "tau_prop": "10 ms", "tau_dec": "20 min", "noise": 0.0,
        "dt": "1 ms", "device": DENSE}


def _table(path):
    with open(path) as f:
        return [{k: r[k] for k in ("cell_id", "delay_over_T", "seed", "status", "test_accuracy",
                                   "train_accuracy", "online_train_accuracy")}
                for r in csv.DictReader(f)]


def test_packs_cut_one_structure_evenly_and_name_what_varies():
    cells = expand_grid(BASE, {"delay_over_T": [0, 0.5, 1.0]}, [0, 1, 2])
    other = expand_grid({**BASE, "hidden": "6"}, {"delay_over_T": [0]}, [0])
    packs = plan_packs(cells + other, 4)
    assert [len(p) for p in packs] == [3, 3, 3, 1]  # 9 cells in 3 even packs, not 4 + 4 + 1
    assert [p.replicas for p in packs] == [3, 3, 3, 1]
    assert packs[0].per_replica == ("delay",)  # the seed is always per replica
    assert sorted(cell_id(c) for p in packs for c in p) == sorted(map(cell_id, cells + other))
    assert varying(expand_grid(BASE, {"tau_pot_over_T": [20, 40]}, [0])) == (
        "tau_pot_v", "tau_pot_w")
    assert [len(p) for p in plan_packs(cells, "auto", workers=2)] == [5, 4]  # both workers
    assert [len(p) for p in plan_packs(cells, 1)] == [1] * 9
    traced = [{**c, "record": "traces"} for c in expand_grid(BASE, {}, [0, 1])]
    assert [len(p) for p in plan_packs(traced, 4)] == [1, 1]  # traces: one simulation each


def test_a_sweep_in_packs_equals_the_sweep_cell_by_cell_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setenv("CTFA_CACHE_DIR", str(tmp_path / "cache"))
    cells = expand_grid(BASE, {"delay_over_T": [0, 0.5, 1.5]}, [0, 1])
    one = run_sweep(cells, tmp_path / "one", workers=1, progress=False)
    packed = run_sweep(cells, tmp_path / "packed", workers=1, progress=False, replicas=4)
    key = ("cell_id", "status", "test_accuracy", "train_accuracy", "learning_curve")
    assert [[r[k] for k in key] for r in packed] == [[r[k] for k in key] for r in one]
    assert [r["replicas"] for r in packed] == [3] * 6  # two simulations of three cells
    # resume: a lost cell is computed again, in a pack of one, and alone
    lost = tmp_path / "packed" / "cells" / f"{cell_id(cells[4])}.json"
    kept = {p.name: p.read_bytes() for p in (tmp_path / "packed" / "cells").glob("*.json")
            if p != lost}
    lost.unlink()
    again = run_sweep(cells, tmp_path / "packed", workers=1, progress=False, replicas=4)
    assert [[r[k] for k in key] for r in again] == [[r[k] for k in key] for r in one]
    assert all((tmp_path / "packed" / "cells" / name).read_bytes() == data
               for name, data in kept.items())
    assert json.loads(lost.read_text())["status"] == "ok"


def test_a_cell_whose_values_fail_fails_alone_in_its_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("CTFA_CACHE_DIR", str(tmp_path / "cache"))
    good = expand_grid(BASE, {"delay_over_T": [0]}, [0, 1])
    bad = {**good[1], "seed": -1}  # refused by the trainer, as in a run of its own
    rows = run_pack([{**CELL_DEFAULTS, **c} for c in (good[0], bad)])
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "seed" in rows[1]["error"]
