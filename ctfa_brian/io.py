"""Read quantities from text, write results and manifests (Neo export: `ctfa_brian.neo_io`).

Files are written atomically (to a temporary file in the same directory, then
``os.replace``), so a reader never sees a half-written ``results.json``.

Example
-------
>>> from ctfa_brian.io import parse_quantity
>>> parse_quantity("50ms")
50. * msecond
>>> parse_quantity("2min")
120. * second
"""

import json
import math
import os
import platform
import re
import sys
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from brian2 import Quantity, ms, second, usecond
from brian2.units.fundamentalunits import Unit, get_dimensions, have_same_dimensions
from brian2.utils.logger import get_logger

from ctfa_brian.parameters import to_jsonable

__all__ = ["atomic_path", "make_manifest", "parse_quantity", "provenance", "save_figure",
           "write_json", "write_results", "write_rows"]

logger = get_logger(__name__)

#: Unit names accepted for times; ``min`` is converted to 60 s (Brian2 has no minute unit).
_TIME_UNITS = {"us": usecond, "ms": ms, "s": second, "second": second, "min": 60 * second}

_QUANTITY_RE = re.compile(
    r"^\s*(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[^\s\d.+-]\S*)?\s*$"
)


# ----------------------------------------------------------------------------------------
# Parsing
# ----------------------------------------------------------------------------------------
def _example(unit):
    if have_same_dimensions(unit, second):
        return "50ms"
    return f"1{unit}" if isinstance(unit, Unit) else f"1 {get_dimensions(unit)}"


def _brian_unit(name):
    from brian2 import units

    found = getattr(units, name, None)
    return found if isinstance(found, Unit) else None


def _kind(unit):
    if have_same_dimensions(unit, second):
        return "a time"
    return f"a quantity with dimensions {get_dimensions(unit)}"


def parse_quantity(text, unit=second):
    """Parse ``text`` such as ``"50ms"``, ``"-25 ms"``, ``"2.5s"`` or ``"1e-3s"`` into a Quantity.

    Parameters
    ----------
    text : str
        A number followed by a unit, optionally separated by spaces. For times the units are
        ``us``, ``ms``, ``s``, ``second`` and ``min`` (60 s; Brian2 has no minute unit).
    unit : Unit or Quantity
        Any quantity with the expected dimension (default: a time). For dimensions other than
        time, any Brian2 unit name of that dimension is accepted (e.g. ``Hz``, ``mV``).

    Returns
    -------
    Quantity

    Raises
    ------
    ValueError
        If ``text`` is not a number with a unit, the unit is unknown, or it has the wrong
        dimension; the message quotes ``text`` and gives an example.
    """
    if isinstance(text, Quantity):
        if not np.all(np.isfinite(np.asarray(text))):
            raise ValueError(f"{text!r} is not finite; write e.g. {_example(unit)}")
        if not have_same_dimensions(text, unit):
            raise ValueError(f"{text!r} has dimensions {get_dimensions(text)}, expected "
                             f"{get_dimensions(unit)}; write e.g. {_example(unit)}")
        return text
    example = _example(unit)
    match = _QUANTITY_RE.match(str(text))
    if match is None:
        raise ValueError(f"cannot read {str(text)!r} as a number with a unit; write e.g. "
                         f"{example}")
    number, name = float(match["number"]), match["unit"]
    if not math.isfinite(number):
        raise ValueError(f"{str(text)!r} is not a finite number; write e.g. {example}")
    if name is None:
        raise ValueError(f"{str(text)!r} has no unit; write e.g. {example}")
    is_time = have_same_dimensions(unit, second)
    found = _TIME_UNITS.get(name) if is_time else _brian_unit(name)
    if found is None or not have_same_dimensions(found, unit):
        other = found if found is not None else _brian_unit(name)
        allowed = f" (units: {', '.join(_TIME_UNITS)})" if is_time else ""
        if other is not None and not have_same_dimensions(other, unit):
            raise ValueError(f"{str(text)!r} has the wrong dimension: {name} is not "
                             f"{_kind(unit)}; write e.g. {example}{allowed}")
        raise ValueError(f"{str(text)!r} has an unknown unit {name!r}; write e.g. "
                         f"{example}{allowed}")
    return number * found


# ----------------------------------------------------------------------------------------
# JSON results and manifest
# ----------------------------------------------------------------------------------------
def _plain(value):
    """Turn ``value`` into JSON data: NumPy to Python, Quantities to strings, NaN/inf to None."""
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    The temporary file has the same suffix as ``path`` and does not exist yet when yielded,
    so any writer (json, matplotlib, Neo) can create it. On an exception it is removed and
    ``path`` is left untouched. The result gets the usual permissions (``0o666 & ~umask``).

    Examples
    --------
    >>> with atomic_path("out/figure.png") as tmp:          # doctest: +SKIP
    ...     fig.savefig(tmp)
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_figure(fig, path, dpi=120):
    """Write the Matplotlib figure ``fig`` to ``path`` as PNG, atomically; return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return path


def write_json(path, data):
    """Write ``data`` as strict JSON (NaN as ``null``), atomically; return the Path."""
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)


def write_rows(rows, path):
    """Write ``rows`` (dicts with the same keys, in order) as a CSV table, atomically; ``None``
    becomes an empty cell. Returns the path."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def write_results(directory, result, manifest, status="ok", message=None):
    """Write ``results.json`` and ``manifest.json`` into ``directory`` (created if needed).

    Parameters
    ----------
    directory : str or Path
    result : TrainingResult or dict or None
        Its `~ctfa_brian.training.TrainingResult.summary` (test/train accuracy, learning curve,
        online train accuracy, timings) is written; a dict is taken as such a summary, ``None``
        writes NaN accuracies and empty curves.
    manifest : dict
        Written as it is (see `make_manifest`).
    status : str
        ``"ok"``, or what went wrong (the CLI writes ``"blown_up"``).
    message : str, optional
        Added as ``"message"`` (e.g. the error message).

    Returns
    -------
    dict
        ``{"results": Path, "manifest": Path}``.

    Notes
    -----
    NaN and infinite numbers are written as ``null`` so that the files are strict JSON.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if result is None:
        summary = {"test_accuracy": math.nan, "train_accuracy": math.nan, "learning_curve": [],
                   "online_train_accuracy": [], "timings_s": {}}
    elif isinstance(result, dict):
        summary = dict(result)
    else:
        summary = result.summary()
    payload = {"status": status, **summary}
    if message is not None:
        payload["message"] = str(message)
    paths = {"results": write_json(directory / "results.json", payload),
             "manifest": write_json(directory / "manifest.json", manifest)}
    logger.debug(f"wrote {paths['results']} and {paths['manifest']}")
    return paths


def _version(module_name):
    from importlib import import_module, metadata

    try:
        return metadata.version(module_name)
    except metadata.PackageNotFoundError:
        pass
    try:
        return getattr(import_module(module_name), "__version__", None)
    except ImportError:
        return None


def provenance(argv=None):
    """What every manifest ends with: ``versions`` (ctfa_brian, brian2, numpy, neo, python),
    ``platform``, ``timestamp_utc`` (ISO 8601) and ``command_line`` (default ``sys.argv``)."""
    import ctfa_brian

    versions = {"ctfa_brian": ctfa_brian.__version__, "brian2": _version("brian2"),
                "numpy": np.__version__, "neo": _version("neo"),
                "python": platform.python_version()}
    return {"versions": versions, "platform": platform.platform(),
            "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "command_line": list(sys.argv if argv is None else argv)}


def make_manifest(model, schedule, training, dataset_name, device, extra=None, argv=None):
    """Describe a run completely enough to repeat it.

    Parameters
    ----------
    model : ModelParameters
    schedule : Schedule
    training : Training
    dataset_name : str
    device : str
    extra : dict, optional
        Anything else worth keeping (stored under ``"extra"``).
    argv : list of str, optional
        The command line (default: ``sys.argv``).

    Returns
    -------
    dict
        ``model``, ``schedule``, ``training`` (quantities as strings with their unit, e.g.
        ``"200. ms"``), ``dataset``, ``device``, ``seed``, ``versions`` (ctfa_brian, brian2,
        numpy, neo, python), ``platform``, ``timestamp_utc`` (ISO 8601) and ``command_line``.
    """
    manifest = {"dataset": dataset_name, "device": device, "seed": int(training.seed),
                "model": to_jsonable(model), "schedule": to_jsonable(schedule),
                "training": to_jsonable(training), **provenance(argv)}
    if extra is not None:
        manifest["extra"] = _plain(extra)
    return manifest
