"""Every refused input of docs/errors.md, and runs that stop: signals, kill -9, a full disk.

The table in docs/errors.md is the list of cases: each row is run (after ``ctfa``) in this
process and must exit with its status, print its words and leave ``--out`` as it was.
"""

import gzip
import hashlib
import json
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from ctfa_brian import cli

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (\d+) \| `([^`]*)` \| (\d+) \| `([^`]*)` \|\s*$")


def _rows():
    rows = []
    for line in (ROOT / "docs" / "errors.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((int(match[1]), match[2], int(match[3]), match[4]))
    return rows


ROWS = _rows()


def test_the_table_has_at_least_80_cases_numbered_in_order():
    assert len(ROWS) >= 80
    assert [r[0] for r in ROWS] == list(range(1, len(ROWS) + 1))


def _idx(magic, shape, data=b""):
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in shape)
    return header + data


class _Hostile:
    """Unpickling this creates a file: the proof that a pickle was (not) loaded."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A directory holding every file the table's commands name."""
    base = tmp_path_factory.mktemp("bad_inputs")
    files = base / "files"
    files.mkdir()
    shutil.copytree(ROOT / "protocols", base / "protocols")
    (base / "AFILE").write_text("not a directory\n")
    (base / "EMPTYDIR").mkdir()
    results = base / "RESULTS"
    results.mkdir()
    (results / "manifest.json").write_text(json.dumps(
        {"command_line": ["ctfa", "train", "--out", "RESULTS"]}))
    (results / "results.json").write_text(json.dumps({"status": "ok", "test_accuracy": 0.9}))
    (results / "learning_curve.png").write_bytes(b"\x89PNG old figure")
    images = _idx(0x803, (2, 28, 28), bytes(2 * 28 * 28))
    labels = _idx(0x801, (2,), bytes([1, 2]))
    names = {"train-images-idx3-ubyte": images, "train-labels-idx1-ubyte": labels,
             "t10k-images-idx3-ubyte": images, "t10k-labels-idx1-ubyte": labels}
    for kind in ("mnist_truncated", "mnist_empty", "mnist_magic", "mnist_short"):
        (files / kind).mkdir()
    for name, data in names.items():
        packed = gzip.compress(data)
        (files / "mnist_truncated" / f"{name}.gz").write_bytes(packed[:len(packed) // 2])
        (files / "mnist_empty" / name).write_bytes(b"")
        (files / "mnist_magic" / name).write_bytes(labels if "images" in name else data)
        (files / "mnist_short" / name).write_bytes(images[:40] if "images" in name else data)
    (files / "empty.toml").write_text("")
    (files / "garbage.toml").write_text("protocol = [unclosed\n")
    (files / "unknown_protocol.toml").write_text('protocol = "nope"\n')
    (files / "string_number.toml").write_text(
        'protocol = "delay_sweep"\n[parameters]\ntau_pot_over_T = "50"\n')
    (files / "string_int.toml").write_text(
        'protocol = "delay_sweep"\n[parameters]\nn_seeds = "3"\n')
    (files / "param_and_grid.toml").write_text(
        'protocol = "delay_sweep"\n[parameters]\nsample_time = "100 ms"\n'
        '[grid]\nsample_time = ["50 ms"]\ndelay_over_T = [0]\n')
    (files / "recordings.pkl").write_bytes(pickle.dumps(_Hostile(base / "PWNED")))
    (files / "empty.nix").write_bytes(b"")
    (files / "text.nix").write_text("hello, not HDF5\n")
    (files / "table.csv").write_text("a,b\n1,2\n")
    import neo
    import quantities as pq

    from ctfa_brian.neo_io import save_neo

    block = neo.Block(name="b")
    segment = neo.Segment(name="s")
    segment.spiketrains.append(neo.SpikeTrain([1, 2, 3] * pq.ms, t_stop=10 * pq.ms))
    block.segments.append(segment)
    real = save_neo(block, base / "real.nix")
    (files / "truncated.nix").write_bytes(real.read_bytes()[:1024])
    (files / "empty.nwb").write_bytes(b"")
    real_nwb = save_neo(block, base / "real.nwb")
    (files / "truncated.nwb").write_bytes(real_nwb.read_bytes()[:1024])
    return base


def _state(path):
    """What is at ``path``: nothing, a file's bytes, or a directory's names and bytes."""
    path = Path(path)
    if not path.exists():
        return None
    if path.is_file():
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return {p.relative_to(path).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest()
                                             if p.is_file() else "dir")
            for p in sorted(path.rglob("*"))}


@pytest.mark.parametrize("number, command, code, words", ROWS, ids=[f"row{r[0]}" for r in ROWS])
def test_refused_input(place, monkeypatch, capsys, number, command, code, words):
    monkeypatch.chdir(place)
    argv = shlex.split(command)
    out = argv[argv.index("--out") + 1] if "--out" in argv else None
    before = _state(place / out) if out else None
    assert cli.main(argv) == code, capsys.readouterr().err
    err = capsys.readouterr().err
    assert err.startswith("ctfa: error: "), err
    assert words in err, err
    if out:
        assert _state(place / out) == before, f"--out {out} changed"
    assert not (place / "PWNED").exists(), "a pickle was loaded"
    assert not (place / "OUT").exists()


def test_an_error_prints_no_brian_banner_and_leaves_no_files_in_tmp(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "-m", "ctfa_brian", "train", "--out",
                           str(tmp_path / "out"), "--tau-pot", "0s"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    assert "--tau-pot = 0. s is not allowed" in proc.stderr
    assert "Brian 2 encountered an unexpected error" not in proc.stderr
    assert [p.name for p in tmp.iterdir() if p.name.startswith("brian_")] == []
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------
# Runs that stop: real signals to real runs
# ----------------------------------------------------------------------------------------
def _start(argv, log):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "ctfa_brian", *argv], stdout=log,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_for(predicate, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def _finish(proc, timeout=120):
    try:
        return proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("device, sig, code", [("numpy", signal.SIGINT, 130),
                                               ("cpp_standalone", signal.SIGTERM, 143)])
def test_a_signal_stops_train_cleanly_and_keeps_what_finished(tmp_path, device, sig, code):
    out, log_path = tmp_path / "run", tmp_path / "log.txt"
    with open(log_path, "w") as log:
        proc = _start(["train", "--dataset", "circles", "--hidden", "4", "--epochs", "60",
                       "--device", device, "--out", str(out)], log)
        # stop it once it has simulated for a while
        assert _wait_for(lambda: "simulated in" in log_path.read_text(), 240, proc), \
            log_path.read_text()
        time.sleep(1.0)
        proc.send_signal(sig)
        assert _finish(proc) == code, log_path.read_text()
    text = log_path.read_text()
    assert f"interrupted by {signal.Signals(sig).name} at t = " in text
    assert "blew up" not in text
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "interrupted"
    assert "what finished is kept" in results["message"]
    assert (out / "manifest.json").is_file()


def _sweep_argv(out):
    return ["run", str(ROOT / "protocols" / "delay_sweep.toml"), "--out", str(out),
            "--set", "dataset=circles", "--set", "device=numpy", "--set", "n_train=200",
            "--set", "n_test=40", "--set", "epochs=2", "--set", "hidden=4",
            "--set", "n_seeds=2", "--grid", "sample_time=[50ms]",
            "--grid", "delay_over_T=[0,0.5,1,-0.5,-1,1.5]", "--workers", "2"]


def _cell_files(cells):
    """The finished cell files: not the hidden temporary file a cell is being written to."""
    return [p for p in cells.glob("*.json") if not p.name.startswith(".")]


def test_an_interrupted_sweep_keeps_its_cells_and_resumes_exactly_the_others(tmp_path):
    out, log_path = tmp_path / "sweep", tmp_path / "log.txt"
    cells = out / "cells"
    with open(log_path, "w") as log:
        proc = _start(_sweep_argv(out), log)
        assert _wait_for(lambda: cells.is_dir() and len(_cell_files(cells)) >= 2,
                         300, proc), log_path.read_text()
        proc.send_signal(signal.SIGINT)
        assert _finish(proc) == 130, log_path.read_text()
    kept = {p.name: p.read_bytes() for p in _cell_files(cells)}
    assert 2 <= len(kept) < 12
    assert all(json.loads(b)["status"] == "ok" for b in kept.values())
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "interrupted" and results["finished_cells"] == len(kept)
    assert "run the same command again to resume" in log_path.read_text()
    with open(log_path, "w") as log:
        assert _finish(_start(_sweep_argv(out), log), 300) == 0, log_path.read_text()
    after = {p.name: p.read_bytes() for p in _cell_files(cells)}
    assert not list(cells.glob(".*"))  # no temporary file left behind
    assert len(after) == 12
    # the cells that had finished were not computed again (their files are the same bytes);
    # every other cell was computed once, now
    assert all(after[name] == data for name, data in kept.items())
    assert json.loads((out / "results.json").read_text())["status_counts"] == {"ok": 12}


_KILL_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
import sweep_tasks
from test_sweep import _cells
from ctfa_brian.sweep import run_sweep
run_sweep(_cells(), {out!r}, workers=2, progress=False, task=sweep_tasks.accuracy_task)
"""


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[-1].split()[1] == str(pid):
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_kill_9_of_the_driver_takes_its_workers_with_it(tmp_path):
    env = {**os.environ, "CTFA_TEST_SLEEP": "30"}
    code = _KILL_DRIVER.format(tests=str(Path(__file__).parent), out=str(tmp_path / "s"))
    driver = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        assert _wait_for(lambda: len([c for c in _children(driver.pid) if "spawn_main" in
                                      Path(f"/proc/{c}/cmdline").read_text(errors="replace")])
                         >= 2, 60)
        time.sleep(3)  # the workers have imported and started their first cells
        workers = [c for c in _children(driver.pid)
                   if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")]
        driver.kill()
        driver.wait()
        killed = time.time()
        assert _wait_for(lambda: not any(_alive(w) for w in workers), 5.0), \
            f"workers {workers} outlived their driver by 5 s"
        assert time.time() - killed <= 5.0
    finally:
        for pid in _children(driver.pid):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------------
# A full disk
# ----------------------------------------------------------------------------------------
@pytest.fixture
def small_disk():
    """A 4 MB tmpfs, where this test may mount one (root with CAP_SYS_ADMIN)."""
    mount = Path(tempfile.mkdtemp(prefix="ctfa_tmpfs_"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or proc.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
        mount.rmdir()


def _fill(disk, leave):
    free = shutil.disk_usage(disk).free
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


def test_a_full_disk_is_refused_before_the_run_and_old_results_stay(small_disk, capsys):
    out = small_disk / "run"
    out.mkdir()
    (out / "results.json").write_text('{"status": "ok", "test_accuracy": 0.9}')
    (out / "manifest.json").write_text('{"command_line": ["ctfa", "train"]}')
    _fill(small_disk, 200_000)
    before = _state(out)
    assert cli.main(["train", "--dataset", "circles", "--epochs", "1", "--device", "numpy",
                     "--record", "--out", str(out), "--overwrite"]) == 2
    assert "free; free some room or choose another place" in capsys.readouterr().err
    assert _state(out) == before


def test_a_write_that_fills_the_disk_puts_the_old_results_back(small_disk):
    from ctfa_brian.outdir import replacing

    out = small_disk / "run"
    out.mkdir()
    (out / "results.json").write_text('{"status": "ok", "test_accuracy": 0.9}')
    (out / "learning_curve.png").write_bytes(b"old figure")
    (out / "notes.txt").write_text("the user's own file\n")
    before = _state(out)
    _fill(small_disk, 0)
    with pytest.raises(OSError) as info:
        with replacing(out):
            with open(out / "results.json", "wb") as f:  # the new results, too big
                f.write(b"x" * 10_000_000)
                f.flush()
    assert info.value.errno == 28  # ENOSPC
    assert _state(out) == before
