"""The protocol files ship with the package: ``ctfa protocols``, ``ctfa protocols show NAME`` and
``ctfa run NAME`` from a directory that is not the repository."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ctfa_brian.protocols.config import SHIPPED, protocol_path, shipped_files

ROOT = Path(__file__).resolve().parents[1]


def _ctfa(*args, cwd):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "ctfa_brian", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=600)


def test_the_checkout_links_to_the_shipped_files():
    assert (ROOT / "protocols").resolve() == SHIPPED
    assert {"overlap", "delay_sweep", "tau_pot_sweep", "eligibility_window"} <= set(
        shipped_files())


def test_protocols_lists_every_shipped_file_with_a_line(tmp_path):
    run = _ctfa("protocols", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = {line.split()[0]: line for line in run.stdout.splitlines()[:len(shipped_files())]}
    assert set(lines) == set(shipped_files())
    assert "Weight change of one synapse" in lines["overlap"]


def test_show_prints_the_file_to_copy(tmp_path):
    run = _ctfa("protocols", "show", "overlap", cwd=tmp_path)
    assert run.returncode == 0
    assert run.stdout == (SHIPPED / "overlap.toml").read_text(encoding="utf-8")
    bad = _ctfa("protocols", "show", "overlapp", cwd=tmp_path)
    assert bad.returncode == 2
    assert "protocol file 'overlapp' not found" in bad.stderr and "overlap," in bad.stderr


def test_names_and_paths_resolve():
    assert protocol_path("overlap") == SHIPPED / "overlap.toml"
    assert protocol_path("overlap.toml") == SHIPPED / "overlap.toml"
    with pytest.raises(ValueError, match="'protocols/nope.toml' not found"):
        protocol_path("protocols/nope.toml")


def test_run_by_name_outside_the_repository(tmp_path):
    """The shipped file, its parameters changed with --set, run from an empty directory; then a
    copy made with ``show`` and edited, run as the user's own file."""
    run = _ctfa("run", "overlap", "--out", "o", "--set", "n_delays=5", "--set",
                "sample_time=100ms", "--set", "dt=0.5ms", cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    shown = _ctfa("protocols", "show", "overlap", cwd=tmp_path).stdout
    (tmp_path / "mine.toml").write_text(shown.replace("n_delays = 61", "n_delays = 5"))
    mine = _ctfa("run", "mine.toml", "--out", "m", "--set", "sample_time=100ms", "--set",
                 "dt=0.5ms", cwd=tmp_path)
    assert mine.returncode == 0, mine.stderr[-2000:]
    again = json.loads((tmp_path / "m" / "results.json").read_text())
    for key in ("ungated", "gated", "propagation", "checks"):
        assert again[key] == results[key], key
    assert results["n_delays"] == 5 and len(results["ungated"]) > 0
