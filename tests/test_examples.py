"""Every example runs as a script and shows what it promises."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


def _numbers_after(text, marker):
    return [float(line.split(marker)[1].split()[0]) for line in text.splitlines()
            if marker in line]


def _check_train_circles(out):
    curve = eval(out.split("test accuracy by epoch:")[1].splitlines()[0])  # a printed list
    assert curve[-1] > curve[0]
    assert _numbers_after(out, "(degrees):")[0] < 90


def _check_label_delay(out):
    acc = _numbers_after(out, "test accuracy ")
    assert len(acc) == 3
    assert acc[0] > acc[-1] + 0.3  # Δ = 0 learns, Δ = T does not


def _check_spiking_circles(out, cwd):
    curve = eval(out.split("test accuracy by epoch:")[1].splitlines()[0])
    assert curve[-1] > 0.85 and curve[-1] > curve[0] + 0.1
    rate = _numbers_after(out, "mean rate (Hz):")[0]
    assert 1 < rate < 400  # spiking, below the 1-per-step limit of 2 kHz
    assert 0 < _numbers_after(out, "switches): ")[0] < 6  # bursty: samples switch units
    assert (cwd / "spiking_raster.png").stat().st_size > 5000


CHECKS = {"train_circles.py": _check_train_circles, "label_delay.py": _check_label_delay,
          "spiking_circles.py": _check_spiking_circles}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example(path, tmp_path):
    assert path.name in CHECKS, f"add a check for the new example {path.name}"
    env = dict(os.environ, MPLBACKEND="Agg", CTFA_CACHE_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    check = CHECKS[path.name]
    if check.__code__.co_argcount == 2:
        check(proc.stdout, tmp_path)
    else:
        check(proc.stdout)
