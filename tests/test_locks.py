"""The project lock: fcntl on a local disk, a soft lock on a network filesystem or by choice."""

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time

import pytest
from filelock import FileLock, SoftFileLease, Timeout

from ctfa_brian.locks import filesystem_type, lock_kind, project_lock

MOUNTS = """\
sysfs /sys sysfs rw 0 0
/dev/sda1 / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,vers=4.2 0 0
server:/scratch /home/me/scratch\\040space lustre rw 0 0
tmpfs /tmp tmpfs rw 0 0
"""


def test_filesystem_type_takes_the_longest_mount_point(tmp_path):
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert filesystem_type("/home/me/runs", mounts) == "nfs4"
    assert filesystem_type("/home/me/scratch space/x", mounts) == "lustre"
    assert filesystem_type("/homework", mounts) == "ext4"  # not under /home
    assert filesystem_type("/tmp", mounts) == "tmpfs"
    assert filesystem_type("/x", tmp_path / "absent") is None


def test_auto_is_soft_on_nfs_and_fcntl_on_a_local_disk(tmp_path, monkeypatch):
    from ctfa_brian import locks

    monkeypatch.delenv("CTFA_LOCK", raising=False)
    monkeypatch.setattr(locks, "filesystem_type", lambda path: "nfs4")
    assert lock_kind(tmp_path / "a.lock") == "soft"
    assert isinstance(project_lock(tmp_path / "a.lock"), SoftFileLease)
    monkeypatch.setattr(locks, "filesystem_type", lambda path: "ext4")
    assert lock_kind(tmp_path / "a.lock") == "fcntl"
    assert isinstance(project_lock(tmp_path / "a.lock"), FileLock)


def test_ctfa_lock_chooses_and_a_bad_value_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CTFA_LOCK", "Soft")
    assert isinstance(project_lock(tmp_path / "a.lock"), SoftFileLease)
    monkeypatch.setenv("CTFA_LOCK", "fcntl")
    assert isinstance(project_lock(tmp_path / "a.lock"), FileLock)
    monkeypatch.setenv("CTFA_LOCK", "nfs")
    with pytest.raises(ValueError, match=r"CTFA_LOCK='nfs' is not allowed; choose one of "
                                         r"auto, soft, fcntl"):
        project_lock(tmp_path / "a.lock")


def _hold(path, log, kind):
    with project_lock(path, choice=kind):
        with open(log, "a") as f:
            f.write(f"start {time.monotonic()}\n")
        time.sleep(0.3)
        with open(log, "a") as f:
            f.write(f"end {time.monotonic()}\n")


@pytest.mark.parametrize("kind", ["soft", "fcntl"])
def test_two_processes_never_hold_it_together(tmp_path, kind):
    log = tmp_path / "log"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hold, args=(tmp_path / "p.lock", log, kind)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    events = [line.split()[0] for line in log.read_text().splitlines()]
    assert events == ["start", "end"] * 3  # strictly one holder at a time


@contextlib.contextmanager
def _holder(lock, lease=None):
    """A process that takes the soft lock ``lock`` and keeps it (``lease``: its
    LEASE_DURATION); yields it once it holds the lock, kills it at the end."""
    setup = f"locks.LEASE_DURATION = {lease!r}; " if lease else ""
    code = (f"import time; from ctfa_brian import locks; {setup}\n"
            f"l = locks.project_lock({str(lock)!r}, choice='soft'); l.acquire()\n"
            "print('held', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()


def test_a_soft_lock_of_a_killed_holder_is_reclaimed(tmp_path):
    lock = tmp_path / "k.lock"
    with _holder(lock) as holder:
        with pytest.raises(Timeout):
            project_lock(lock, timeout=0.2, choice="soft").acquire()
        os.kill(holder.pid, signal.SIGKILL)  # no release: the file stays behind
        holder.wait(10)
        assert lock.exists()
        start = time.monotonic()
        with project_lock(lock, timeout=10, choice="soft"):
            pass
        assert time.monotonic() - start < 5


def test_a_soft_lock_whose_holder_stopped_refreshing_is_taken_over(tmp_path, monkeypatch):
    # a holder that is alive but frozen (as one on a lost node looks from here): its lease
    # file stops changing and a waiter takes over after LEASE_DURATION
    from ctfa_brian import locks

    monkeypatch.setattr(locks, "LEASE_DURATION", 1.0)
    lock = tmp_path / "s.lock"
    with _holder(lock, lease=1.0) as holder:
        time.sleep(1.5)
        with pytest.raises(Timeout):  # refreshed: still held after more than one lease
            project_lock(lock, timeout=0.2, choice="soft").acquire()
        os.kill(holder.pid, signal.SIGSTOP)
        start = time.monotonic()
        with project_lock(lock, timeout=20, choice="soft"):
            waited = time.monotonic() - start
        assert 0.5 < waited < 10, waited
