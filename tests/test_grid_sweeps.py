"""The network-level sweep protocols on small grids: the shapes of paper Figs. 5–8, resume."""

import csv
import json
from pathlib import Path

import pytest

from ctfa_brian.cli import main

pytestmark = pytest.mark.standalone

PROTOCOLS = Path(__file__).resolve().parent.parent / "protocols"
# circles, one hidden layer of 24, T = 100 ms, 10 epochs: one compiled project shared by the
# delay, baseline and depth tests below (the project cache is per test session).
SMALL = ["--set", "n_seeds=1", "--workers", "2"]


def _rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def _compiled(cache):
    return sorted(p.parent.name for p in Path(cache, "sweeps").glob("*/ctfa_complete"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("project_cache")


@pytest.fixture
def shared_cache(cache, monkeypatch):
    monkeypatch.setenv("CTFA_CACHE_DIR", str(cache))
    return cache


def test_delay_sweep_learns_at_zero_delay_and_not_beyond_T_then_resumes(tmp_path,
                                                                        shared_cache):
    out = tmp_path / "delays"
    argv = ["run", str(PROTOCOLS / "delay_sweep_circles.toml"), "--out", str(out),
            "--grid", "hidden=[\"24\"]", "--grid", "delay_over_T=[0, 1.5]",
            "--grid", "sample_time=[\"100 ms\"]", "--set", "epochs=10",
            "--set", "tau_pot_over_T=40", "--set", "n_seeds=2"]
    assert main(argv) == 0
    rows = _rows(out / "table.csv")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    acc = {(float(r["delay_over_T"]), r["seed"]): float(r["test_accuracy"]) for r in rows}
    bal = {(float(r["delay_over_T"]), r["seed"]): float(r["test_balanced_accuracy"])
           for r in rows}
    for seed in ("0", "1"):
        assert acc[0.0, seed] >= 0.93
        # Δ = 1.5 T: no overlap of input and own error, nothing learnt. Circles is 75 % outer
        # ring, so a network that learnt nothing still scores the majority rate 0.75 —
        # plain accuracy can fall by at most 0.25; balanced accuracy (chance 0.5) shows it.
        assert acc[1.5, seed] <= 0.76
        assert bal[0.0, seed] - bal[1.5, seed] >= 0.3
    assert float(rows[2]["delay_ms"]) == 150.0
    assert len(_compiled(shared_cache)) == 1  # four runs, one compiled project
    assert (out / "delay_sweep.png").stat().st_size > 10_000
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"]["delay_over_T"] == [0.0, 1.5]
    assert manifest["grid"]["sample_time"] == ["100 ms"]

    # Run again: everything is finished, nothing is recomputed, the table is the same.
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")}
    assert main(argv) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (out / "cells").glob("*.json")} == stamps
    assert _rows(out / "table.csv") == rows
    results = json.loads((out / "results.json").read_text())
    assert results["timings_s"]["total"] < 20  # no build, no run


def test_both_delay_origins_share_one_compiled_project(tmp_path, shared_cache):
    """delay_origin and anneal_to go in through run_args: a grid over them compiles nothing
    new; the literal origin puts the label L·τ_prop ahead of the output's response."""
    out = tmp_path / "origins"
    argv = ["run", str(PROTOCOLS / "delay_sweep_circles.toml"), "--out", str(out),
            "--grid", "hidden=[\"24\"]", "--grid", "delay_over_T=[0.25]",
            "--grid", "sample_time=[\"100 ms\"]", "--grid", "delay_origin=[\"output\", \"input\"]",
            "--grid", "anneal_to=[1.0, 0.25]", "--set", "epochs=10",
            "--set", "tau_pot_over_T=40", "--set", "n_seeds=1", "--workers", "1"]
    before = _compiled(shared_cache)
    assert main(argv) == 0
    rows = _rows(out / "table.csv")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert {(r["delay_origin"], r["anneal_to"]) for r in rows} == {
        ("output", "1.0"), ("output", "0.25"), ("input", "1.0"), ("input", "0.25")}
    # after the delay test above (the same structure) nothing new; alone, one project
    assert len(set(_compiled(shared_cache)) - set(before)) == (0 if before else 1)
    acc = {(r["delay_origin"], r["anneal_to"]): float(r["test_accuracy"]) for r in rows}
    assert len(set(acc.values())) > 1  # the origin and the annealing change the run


def test_baselines_table_and_delay_ratio_curve(tmp_path, shared_cache):
    out = tmp_path / "baselines"
    assert main(["run", str(PROTOCOLS / "baselines.toml"), "--out", str(out),
                 "--grid", "hidden=[\"24\"]", "--grid", "delay_over_T=[0, 1]", *SMALL]) == 0
    rows = _rows(out / "table.csv")
    acc = {(r["model"], float(r["delay_over_T"])): float(r["test_accuracy"]) for r in rows}
    for model in ("continuous", "discrete"):
        assert acc[model, 0.0] >= 0.93  # paper Table 3: 0.947 and 0.827
        assert acc[model, 1.0] <= 0.76  # every label is the previous sample's: no learning
    table = (out / "table.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 24 |"))
    assert row.count("±") == 4  # train and test, discrete and continuous
    summary = _rows(out / "table_summary.csv")
    assert {r["model"] for r in summary} == {"continuous", "discrete"}
    assert (out / "baselines.png").exists()


def test_paper_tables_reports_frozen_and_online_accuracy_beside_the_paper(tmp_path,
                                                                          shared_cache):
    out = tmp_path / "tables"
    assert main(["run", str(PROTOCOLS / "paper_tables.toml"), "--out", str(out),
                 "--set", "tables=3", "--set", "circles_hidden=24;24,24", *SMALL]) == 0
    rows = {(r["hidden"], r["model"]): r for r in _rows(out / "table.csv")}
    assert len(rows) == 4 and {r["status"] for r in rows.values()} == {"ok"}
    for hidden in ("24", "24,24"):
        cont = rows[hidden, "continuous"]
        assert float(cont["sample_time_ms"]) == 200.0  # the circles preset
        assert float(cont["test_accuracy"]) >= 0.93  # paper Table 3: 0.947 and 0.968
        # at the end of training the online (while-learning) accuracy tells the same story
        assert abs(float(cont["online_train_accuracy"]) - float(cont["test_accuracy"])) < 0.05
        assert 0 < float(rows[hidden, "discrete"]["online_train_accuracy"]) <= 1
    table = (out / "table3.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 24 | continuous"))
    assert row.count("±") == 5  # frozen, online, test; the paper's train and test
    assert "0.9470 ± 0.0101" in row  # the paper's number beside ours
    summary = _rows(out / "table_summary.csv")
    assert {(r["table"], r["hidden"], r["model"]) for r in summary} == {
        ("3", h, m) for h in ("24", "24,24") for m in ("continuous", "discrete")}
    assert (out / "paper_tables.png").exists()
    assert not (out / "table2.md").exists()  # only the table asked for


def test_depth_reports_accuracy_and_an_angle_per_layer(tmp_path, shared_cache):
    out = tmp_path / "depth"
    assert main(["run", str(PROTOCOLS / "depth.toml"), "--out", str(out),
                 "--grid", "hidden=[\"24\", \"24,24\"]", *SMALL]) == 0
    rows = {r["hidden"]: r for r in _rows(out / "table.csv")}
    assert float(rows["24"]["test_accuracy"]) >= 0.93
    assert float(rows["24,24"]["test_accuracy"]) >= 0.9
    # Kolen–Pollack: every V_l has turned towards the W_{l+1} it stands in for (starts ~80°)
    assert float(rows["24"]["angle_layer1_deg"]) < 45
    assert float(rows["24,24"]["angle_layer1_deg"]) < 60
    assert float(rows["24,24"]["angle_layer2_deg"]) < 60
    assert rows["24"]["angle_layer2_deg"] == ""  # no second layer
    summary = json.loads((out / "results.json").read_text())["summary"]
    assert [len(e["angles_deg"]) for e in summary] == [1, 2]


def test_noise_protocol_small_noise_is_harmless(tmp_path, shared_cache):
    out = tmp_path / "noise"
    assert main(["run", str(PROTOCOLS / "noise.toml"), "--out", str(out),
                 "--set", "dataset=circles", "--set", "hidden=24",
                 "--set", "sample_time=100ms", "--set", "epochs=10",
                 "--set", "tau_pot_over_T=40", "--grid", "noise=[0, 0.1]", *SMALL]) == 0
    acc = {float(r["noise"]): float(r["test_accuracy"]) for r in _rows(out / "table.csv")}
    assert acc[0.0] >= 0.93 and acc[0.1] >= 0.9
    assert len(_compiled(shared_cache)) >= 2  # noise on is another structure


@pytest.mark.parametrize("extra, message", [
    (["--grid", "tau_pots=[1, 2]"], "grid over unknown parameter 'tau_pots'"),
    (["--grid", "delay_over_T=[]"], "grid delay_over_T = [] is empty"),
    (["--workers", "0"], "workers = 0 is not allowed"),
    (["--scheduler", "tcp://127.0.0.1:1"],
     "scheduler = 'tcp://127.0.0.1:1' is unreachable"),
    (["--grid", "sample_time=[\"5 ms\"]"],
     "grid sample_time[0] = 5 ms is not allowed; it must be > 10 ms"),
    (["--grid", "sample_time=[100]"], "has no unit"),
    (["--grid", "tau_prop=[\"1 ms\"]"], "dt = 1. ms is too coarse for tau_prop = 1. ms"),
])
def test_bad_sweeps_are_refused_before_any_cell_runs(tmp_path, capsys, extra, message):
    out = tmp_path / "bad"
    assert main(["run", str(PROTOCOLS / "delay_sweep.toml"), "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not out.exists()


def test_discrete_delay_outside_dithering_range_is_refused(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["run", str(PROTOCOLS / "baselines.toml"), "--out", str(out),
                 "--grid", "delay_over_T=[0, 1.5]"]) == 2
    assert "label dithering needs 0 ≤ delay_over_T ≤ 1" in capsys.readouterr().err
    assert not out.exists()


def test_grid_on_a_protocol_that_is_not_a_sweep_is_refused(tmp_path, capsys):
    assert main(["run", str(PROTOCOLS / "overlap.toml"), "--out", str(tmp_path / "x"),
                 "--grid", "delay_over_T=[0]"]) == 2
    assert "is not a sweep and takes no grid" in capsys.readouterr().err


def test_shards_fill_one_directory_and_the_last_assembles_the_unsharded_table(
        tmp_path, shared_cache, capsys, monkeypatch):
    args = ["run", str(PROTOCOLS / "delay_sweep.toml"), "--set", "dataset=circles",
            "--grid", "hidden=[\"24\"]", "--grid", "delay_over_T=[0, 0.5, 1.5]",
            "--grid", "sample_time=[\"100 ms\"]", "--set", "epochs=10",
            "--set", "tau_pot_over_T=40", "--set", "n_seeds=1", "--workers", "1"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main([*args, "--out", str(whole)]) == 0
    assert main([*args, "--out", str(parts), "--shard", "1/2"]) == 0
    assert "shard 1/2: ran 2 cells; 2 of 3 cells of the sweep are finished" in (
        capsys.readouterr().out)
    assert not (parts / "table.csv").exists() and (parts / "manifest.json").exists()
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")  # sbatch --array=1-2
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "1")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "2")
    assert main([*args, "--out", str(parts), "--shard", "slurm"]) == 0  # the last: assembles
    key = ("delay_over_T", "seed", "test_accuracy", "cell_id")
    assert ([[r[k] for k in key] for r in _rows(parts / "table.csv")]
            == [[r[k] for k in key] for r in _rows(whole / "table.csv")])
    assert main([*args, "--out", str(parts)]) == 0  # assembling again runs nothing
    assert "cells 3 ok" in capsys.readouterr().out
    for shard, message in (("3/2", "shard = '3/2' is not allowed"),
                           ("0/2", "shard = '0/2' is not allowed")):
        assert main([*args, "--out", str(tmp_path / "bad"), "--shard", shard]) == 2
        assert message in capsys.readouterr().err
    monkeypatch.delenv("SLURM_ARRAY_TASK_ID")
    assert main([*args, "--out", str(tmp_path / "bad"), "--shard", "slurm"]) == 2
    assert "needs $SLURM_ARRAY_TASK_ID" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
