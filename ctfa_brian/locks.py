"""Locks for the compiled-project cache that also hold on a shared (network) filesystem.

Two processes that build the same standalone project — two workers of a sweep, two SLURM
array tasks on different nodes — take the project's lock first, so one builds while the other
waits and then reuses the build. Locks come from the ``filelock`` package:

- on a local disk, `filelock.FileLock` (``fcntl.flock``): the kernel releases it when its
  holder dies, however it dies;
- on a network filesystem (NFS, CIFS/SMB, Lustre, GPFS, BeeGFS, CephFS, sshfs), where
  ``flock`` is emulated, per host or absent, a soft lock, `filelock.SoftFileLease`: the lock
  is the exclusive creation of the lock file, which these filesystems make visible to every
  host. Its holder refreshes the file every `LEASE_DURATION`/3 from a thread while it holds
  it, so a holder that died (on any host, however it died) is taken over once its file has
  stood unchanged for `LEASE_DURATION`, as each waiter measures on its own clock (no clock
  agreement between hosts is needed). A lifetime-based soft lock would instead break a
  build that is merely slow.

``$CTFA_LOCK`` chooses by hand: ``auto`` (the default: by the filesystem of the lock file),
``soft`` or ``fcntl``.
"""

import os

from brian2.utils.logger import get_logger

__all__ = ["LEASE_DURATION", "LOCK_CHOICES", "NETWORK_FILESYSTEMS", "filesystem_type",
           "lock_kind", "project_lock"]

logger = get_logger(__name__)

#: Values of ``$CTFA_LOCK``.
LOCK_CHOICES = ("auto", "soft", "fcntl")
#: Filesystem types (``/proc/mounts``) on which ``auto`` takes a soft lock.
NETWORK_FILESYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs",
                                 "beegfs", "ceph", "fuse.ceph", "fuse.sshfs", "9p", "afs",
                                 "glusterfs", "fuse.glusterfs", "panfs", "wekafs"})
#: Seconds a soft lock's file must stand unrefreshed before a waiter takes it over.
LEASE_DURATION = 120.0


def _unescape(field):
    # /proc/mounts writes a space in a path as \040, a tab as \011, a backslash as \134
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def filesystem_type(path, mounts="/proc/self/mounts"):
    """The type (``"ext4"``, ``"nfs4"``, ...) of the filesystem that holds ``path``: that of
    the longest mount point above it in ``mounts``; ``None`` where that file cannot be read
    (not Linux)."""
    try:
        with open(mounts, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    path = os.path.realpath(path)
    best, kind = "", None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1]).rstrip("/") or "/"
        inside = path == point or path.startswith(point if point == "/" else point + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def lock_kind(path, choice=None):
    """``"soft"`` or ``"fcntl"``: the lock `project_lock` takes for ``path``.

    ``choice`` defaults to ``$CTFA_LOCK`` (else ``auto``); a value that is not one of
    `LOCK_CHOICES` raises ValueError naming it.
    """
    option = "CTFA_LOCK" if choice is None else "choice"
    choice = os.environ.get("CTFA_LOCK", "auto") if choice is None else choice
    value = str(choice).strip().lower()
    if value not in LOCK_CHOICES:
        raise ValueError(f"{option}={choice!r} is not allowed; choose one of "
                         f"{', '.join(LOCK_CHOICES)} (auto: a soft lock on a network "
                         "filesystem, fcntl elsewhere)")
    if value != "auto":
        return value
    where = os.path.dirname(os.path.abspath(path)) or "."
    kind = filesystem_type(where)
    return "soft" if kind in NETWORK_FILESYSTEMS else "fcntl"


def project_lock(path, timeout=-1, choice=None):
    """A lock on ``path`` (a ``.lock`` file), used as ``with project_lock(p): ...``.

    Parameters
    ----------
    path : str or Path
        The lock file; its directory must exist.
    timeout : float
        Seconds to wait before `filelock.Timeout` (negative: wait as long as it takes).
    choice : str, optional
        ``auto``, ``soft`` or ``fcntl``; default ``$CTFA_LOCK``, else ``auto``.
    """
    from filelock import FileLock, SoftFileLease

    kind = lock_kind(path, choice)
    if kind == "soft":
        logger.debug(f"soft lock (lease) {path}")
        return SoftFileLease(os.fspath(path), timeout=timeout, lease_duration=LEASE_DURATION)
    return FileLock(os.fspath(path), timeout=timeout)
