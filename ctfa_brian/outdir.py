"""The output directory: checked before any simulation; old results replaced atomically.

`check_out` runs before anything is simulated or written. It refuses

- an empty name, a path through a file, a directory that cannot be written (read-only
  filesystem, no permission, immutable: tested by creating and removing a probe file, which is
  what catches them all, for root as well);
- a directory that already holds another run's results (a ``manifest.json``, ``results.json``
  or ``cells/`` written by ctfa), unless ``overwrite`` or, for a sweep, it is the same sweep
  (then the run resumes);
- a filesystem with less free room than the run is estimated to write.

`replacing` then moves the old results aside while the new ones are written and removes them
only once everything is written; if writing fails (a full disk, a crash in a writer), the new
partial files are removed and the old ones come back whole.
"""

import json
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

__all__ = ["MARKERS", "check_out", "format_bytes", "replacing"]

#: What tells that a directory holds ctfa results.
MARKERS = ("manifest.json", "results.json", "cells")
#: What `ctfa train` writes (protocols list theirs in results.json's ``files``).
_TRAIN_FILES = ("learning_curve.png", "recordings.nix", "recordings.nwb", "recordings.pkl",
                "table.csv")
#: Room kept free beyond the estimate (metadata, figures).
_MARGIN = 2 * 2**20


def format_bytes(n):
    """``"1.5 MB"``."""
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} bytes"


def _existing_ancestor(path):
    path = Path(os.path.abspath(path))
    while not path.exists():
        path = path.parent
    return path


def _probe(directory, option, shown):
    try:
        fd, name = tempfile.mkstemp(prefix=".ctfa_probe_", dir=directory)
        os.close(fd)
        os.remove(name)
    except OSError as err:
        reason = err.strerror or str(err)
        raise ValueError(f"{option} {shown!r} cannot be written: {reason} in "
                         f"{str(directory)!r}; choose a directory you can write") from None


def _previous_manifest(path):
    try:
        return json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _describe(manifest):
    if not isinstance(manifest, dict):
        return "results of another run"
    what = manifest.get("protocol") or manifest.get("command")
    argv = manifest.get("command_line")
    if isinstance(argv, list) and argv:
        return f"the results of `{' '.join(map(str, argv))}`"
    return f"the results of another run ({what})" if what else "results of another run"


def check_out(path, option="--out", overwrite=False, same_run=None, need_bytes=0):
    """Raise ValueError unless ``path`` can take this run's results; return it as a Path.

    Parameters
    ----------
    path : str or Path
    option : str
        How the user named it (for the messages).
    overwrite : bool
        Old results may be replaced (`replacing` moves them aside first).
    same_run : callable(manifest) -> bool, optional
        True if the directory's manifest is that of this same run (a sweep resuming).
    need_bytes : int
        Estimated size of what the run will write.
    """
    shown = str(path)
    if not shown.strip():
        raise ValueError(f"{option} {shown!r} is empty; give a directory, e.g. {option} "
                         "runs/first")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{option} {shown!r} exists and is not a directory")
    ancestor = _existing_ancestor(out)
    if not ancestor.is_dir():
        raise ValueError(f"{option} {shown!r} cannot be created: {str(ancestor)!r} is a file, "
                         "not a directory")
    _probe(ancestor, option, shown)
    if out.is_dir() and any((out / m).exists() for m in MARKERS):
        manifest = _previous_manifest(out)
        if not overwrite and not (same_run is not None and manifest is not None
                                  and same_run(manifest)):
            hint = "--overwrite to replace them" if option.startswith("--") else \
                "overwrite=True to replace them"
            raise ValueError(f"{option} {shown!r} already holds {_describe(manifest)}; choose "
                             f"another directory, or pass {hint}")
    free = shutil.disk_usage(ancestor).free
    if need_bytes + _MARGIN > free:
        raise ValueError(f"{option} {shown!r}: the run will write about "
                         f"{format_bytes(need_bytes + _MARGIN)} but its filesystem has "
                         f"{format_bytes(free)} free; free some room or choose another place")
    return out


@contextmanager
def replacing(out):
    """Move ctfa's files in ``out`` aside; restore them if the block raises, else delete them.

    Everything the block writes into ``out`` replaces the old files; a failure (an exception:
    a full disk, a writer that crashed) removes what the block wrote and puts the old results
    back. An interrupt (`KeyboardInterrupt`, SIGINT/SIGTERM) keeps what the block wrote
    (what finished) and drops the old results, as a finished run would.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in out.iterdir()}
    old = [p for p in out.iterdir() if p.name in _owned(out)]
    aside = out / f".ctfa_previous_{uuid.uuid4().hex[:8]}"
    if old:
        aside.mkdir()
        for p in old:
            os.replace(p, aside / p.name)
    try:
        yield out
    except KeyboardInterrupt:  # interrupted: what finished is the new result
        if old:
            shutil.rmtree(aside, ignore_errors=True)
        raise
    except BaseException:
        for p in out.iterdir():
            if p != aside and (p.name not in before or p.name in {q.name for q in old}):
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    p.unlink(missing_ok=True)
        if old:
            for p in old:
                os.replace(aside / p.name, out / p.name)
            aside.rmdir()
        raise
    if old:
        shutil.rmtree(aside, ignore_errors=True)


def _owned(out):
    """Names in ``out`` that ctfa wrote: the markers and every file a results.json lists."""
    names = set(MARKERS)
    try:
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        files = results.get("files", {}) if isinstance(results, dict) else {}
        for value in files.values() if isinstance(files, dict) else ():
            p = Path(str(value))
            if p.parent.resolve() == out.resolve():
                names.add(p.name)
    except (OSError, ValueError):
        pass
    names.update(_TRAIN_FILES)
    return names
