"""Run a protocol described by a TOML file: read, validate, simulate, write everything.

A *protocol* is a module in `ctfa_brian.protocols` with

- ``NAME`` : str, the name used in the TOML file (``protocol = "overlap"``);
- ``PARAMETERS`` : dict of `Parameter`, the spec of every key it accepts;
- ``run(params, out_dir) -> dict`` : simulate, write figures, ``table.csv`` and traces into
  ``out_dir`` and return the results;
- optionally ``check(params) -> dict`` : cross-parameter checks and dependent defaults, called
  after every single value has been validated.

A *sweep protocol* (see `ctfa_brian.protocols._cells`) also has ``GRID``, its default axes
``{key: [values]}``; a file's ``[grid]`` table and the command line's ``--grid key=[...]``
replace axes or add new ones, each value validated like the parameter of the same name. Its
``run`` and ``check`` take the validated grid as a further argument.

Every protocol also takes the `COMMON_PARAMETERS` ``seed`` and ``device``; a protocol that can
run on other devices (e.g. cpp_standalone, compiled once per sweep) declares its own ``DEVICE``
`Parameter`, which replaces the common one. Runtime targets are selected by the runner; a
standalone device is selected by the protocol's own `ctfa_brian.training.Trainer`.

A protocol file looks like this (times are strings with a unit):

.. code-block:: toml

    protocol = "overlap"

    [parameters]
    sample_time = "100 ms"
    tau_pot_ratios = [10, 40, 100]

`load_protocol_file` reads it, applies ``key=value`` overrides (the command line's ``--set``)
and validates everything before anything is written; `run_protocol` then writes
``results.json``, ``manifest.json`` and what the protocol itself writes.
"""

import importlib
import math
import pkgutil
import platform
import sys
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from brian2 import Quantity, prefs, second
from brian2.units.fundamentalunits import have_same_dimensions
from brian2.utils.logger import get_logger

from ctfa_brian.io import parse_quantity
from ctfa_brian.parameters import format_time

__all__ = [
    "COMMON_PARAMETERS",
    "KINDS",
    "Parameter",
    "ProtocolConfig",
    "available_protocols",
    "configure",
    "format_parameters",
    "get_protocol",
    "load_protocol_file",
    "parameters_to_jsonable",
    "protocol_manifest",
    "run_protocol",
]

logger = get_logger(__name__)

#: Kinds of parameter values: a time (string with a unit), a number, an integer, a string, or a
#: list of times or of numbers.
KINDS = ("time", "float", "int", "str", "times", "floats")

#: Top-level keys of a protocol file.
_FILE_KEYS = ("protocol", "parameters", "grid")

#: Modules in this package that are not protocols.
_NOT_PROTOCOLS = ("runner",)


@dataclass(frozen=True)
class Parameter:
    """The spec of one protocol parameter.

    Parameters
    ----------
    kind : str
        One of `KINDS`: ``time`` (a Brian2 time, written ``"100 ms"`` in a file), ``float``,
        ``int``, ``str``, ``times`` (list of times) or ``floats`` (list of numbers).
    default : object
        The default value (a `Quantity` for times, a tuple for lists). ``None`` with
        ``required=False`` means that the protocol fills it in from other parameters
        (``default_text`` says how).
    meaning : str
        One line saying what the parameter does.
    required : bool
        The file (or ``--set``) must give it.
    gt, ge, lt, le : number or Quantity, optional
        Allowed range (for lists: of every element).
    choices : tuple of str
        Allowed values of a ``str`` parameter.
    default_text : str, optional
        How a ``None`` default is filled in (e.g. ``"2 × sample_time"``).
    """

    kind: str
    default: object = None
    meaning: str = ""
    required: bool = False
    gt: object = None
    ge: object = None
    lt: object = None
    le: object = None
    choices: tuple = ()
    default_text: str = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}; choose one of: "
                             f"{', '.join(KINDS)}")

    def describe_default(self):
        """Return the default as it would be written in a protocol file."""
        if self.required:
            return "(required)"
        if self.default is None:
            return self.default_text or "none"
        return _show(self.default)

    def describe_range(self):
        """Return the allowed values in words (``"> 0 s"``, ``"numpy, cython"``)."""
        if self.choices:
            return ", ".join(self.choices)
        parts = [f"{op} {_show(bound)}" for op, bound in
                 ((">", self.gt), ("≥", self.ge), ("<", self.lt), ("≤", self.le))
                 if bound is not None]
        return ", ".join(parts) or "any"


#: Parameters that every protocol takes.
COMMON_PARAMETERS = {
    "seed": Parameter("int", 0, "seed of anything random (recorded in the manifest)", ge=0,
                      lt=2**32 - 1000),  # seed + n_seeds stays a NumPy seed
    "device": Parameter("str", "numpy", "Brian2 runtime code generation target",
                        choices=("numpy", "cython", "runtime")),
}


@dataclass(frozen=True)
class ProtocolConfig:
    """A validated protocol run: which protocol, and every parameter with its unit.

    Attributes
    ----------
    name : str
        The protocol's ``NAME``.
    parameters : dict
        Every parameter of the protocol (and `COMMON_PARAMETERS`), validated and completed:
        times are `Quantity`, lists are tuples.
    source : str or None
        The protocol file it was read from.
    overrides : tuple of str
        The ``key=value`` overrides that were applied.
    grid : dict
        For a sweep protocol (one with ``GRID``): ``{key: tuple of values}``, validated like
        the parameter of the same name; empty for other protocols.
    """

    name: str
    parameters: dict = field(default_factory=dict)
    source: str = None
    overrides: tuple = ()
    grid: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------------
# Protocol discovery
# ----------------------------------------------------------------------------------------
def available_protocols():
    """Return the names of the protocol modules in `ctfa_brian.protocols`, sorted."""
    import ctfa_brian.protocols as package

    return tuple(sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                        if not m.name.startswith("_") and m.name not in _NOT_PROTOCOLS))


def get_protocol(name):
    """Import and return the protocol module called ``name``.

    Raises
    ------
    ValueError
        If there is no such protocol; the message lists the known ones.
    """
    known = available_protocols()
    if not isinstance(name, str) or name not in known:
        raise ValueError(f"unknown protocol {name!r}; known protocols: {', '.join(known)}")
    module = importlib.import_module(f"ctfa_brian.protocols.{name}")
    for attribute in ("NAME", "PARAMETERS", "run"):
        if not hasattr(module, attribute):
            raise ValueError(f"protocol module {module.__name__} lacks {attribute}")
    return module


def _spec(module):
    clash = set(module.PARAMETERS) & set(COMMON_PARAMETERS)
    if clash:
        raise ValueError(f"protocol {module.NAME!r} redefines common parameter(s) "
                         f"{', '.join(sorted(clash))}")
    common = dict(COMMON_PARAMETERS)
    if hasattr(module, "DEVICE"):
        common["device"] = module.DEVICE
    return {**module.PARAMETERS, **common}


# ----------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------
def _show(value):
    """Write a value the way a protocol file would."""
    if isinstance(value, Quantity) and have_same_dimensions(value, second):
        return format_time(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return f"{value:g}"
    return str(value)


def _parse_override_value(text):
    """Read ``text`` as a TOML value (``13``, ``[10, 40]``, ``"1 s"``), else as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def _split_list(text, name="value"):
    """``"[1ms, 2ms]"`` or ``"10,20"`` (a list the command line gave) as a list of values, each
    read as TOML where it is one (``10`` → 10); an empty item is an error."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    parts = [part.strip() for part in inner.split(",")]
    if parts and not parts[-1] and len(parts) > 1:
        parts = parts[:-1]  # a trailing comma, as TOML allows
    if any(not part for part in parts):
        k = parts.index("")
        raise ValueError(f"{name} = {text!r} has an empty item at position {k}; separate the "
                         f"values by single commas, e.g. {name} = [10, 40]")
    out = []
    for part in parts:
        value = _parse_override_value(part)
        out.append(value.strip("\"'") if isinstance(value, str) else value)
    return out


def _scalar(name, kind, value):
    """Convert one value of kind ``time``/``float``/``int``/``str``; raise a ValueError."""
    if kind == "time":
        if isinstance(value, Quantity):
            try:
                return parse_quantity(value)
            except ValueError:
                raise ValueError(f"{name} = {value!r} is not a time; write a time with its "
                                 f"unit, e.g. {name} = \"100 ms\"") from None
        if isinstance(value, (bool, int, float)):
            raise ValueError(f"{name} = {value!r} has no unit; write a time with its unit as a "
                             f"string, e.g. {name} = \"{value} ms\" (units: us, ms, s, min)")
        if not isinstance(value, str):
            raise ValueError(f"{name} = {value!r} is not a time; write e.g. {name} = \"100 ms\"")
        try:
            return parse_quantity(value)
        except ValueError as err:
            raise ValueError(f"{name} = {value!r} is not a valid time: {err}") from None
    if kind == "float":
        if isinstance(value, Quantity):
            if not value.is_dimensionless:
                raise ValueError(f"{name} = {value!r} must be a plain number, not a quantity "
                                 "with a unit")
            value = float(value)
        if isinstance(value, bool):
            raise ValueError(f"{name} = {value!r} must be a number")
        if isinstance(value, str):
            raise ValueError(f"{name} = {value!r} is a string, not a number; write it without "
                             f"quotes, e.g. {name} = 0.5")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} = {value!r} must be a number (no unit)") from None
        if not math.isfinite(number):
            raise ValueError(f"{name} = {value!r} must be a finite number")
        return number
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(f"{name} = {value!r} must be an integer")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, str):
            raise ValueError(f"{name} = {value!r} is a string, not an integer; write it "
                             f"without quotes, e.g. {name} = 3")
        raise ValueError(f"{name} = {value!r} must be an integer")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # e.g. hidden = 49 on the command line
    if not isinstance(value, str):
        raise ValueError(f"{name} = {value!r} must be a string")
    return value


def _check_range(name, spec, value):
    shown = _show(value)
    if spec.choices and value not in spec.choices:
        raise ValueError(f"{name} = {value!r} is not allowed; choose one of: "
                         f"{', '.join(spec.choices)}")
    for op, bound, ok in ((">", spec.gt, lambda v, b: v > b), ("≥", spec.ge, lambda v, b: v >= b),
                          ("<", spec.lt, lambda v, b: v < b), ("≤", spec.le, lambda v, b: v <= b)):
        if bound is not None and not ok(value, bound):
            raise ValueError(f"{name} = {shown} is not allowed; it must be {op} {_show(bound)}")


def _convert(name, spec, value):
    """Validate one parameter value against its spec; return it with units (lists as tuples)."""
    if spec.kind in ("times", "floats"):
        scalar_kind = "time" if spec.kind == "times" else "float"
        if isinstance(value, str):
            value = _split_list(value, name)
        elif isinstance(value, Quantity) and value.ndim == 1:
            value = list(value)
        if not isinstance(value, (list, tuple)):
            example = '["0 ms", "10 ms"]' if spec.kind == "times" else "[10, 40]"
            raise ValueError(f"{name} = {value!r} must be a list, e.g. {name} = {example}")
        if not value:
            raise ValueError(f"{name} is empty; give at least one value")
        items = []
        for k, item in enumerate(value):
            converted = _scalar(f"{name}[{k}]", scalar_kind, item)
            _check_range(f"{name}[{k}]", spec, converted)
            items.append(converted)
        return tuple(items)
    converted = _scalar(name, spec.kind, value)
    _check_range(name, spec, converted)
    return converted


# ----------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------
def _split_override(item):
    if not isinstance(item, str) or "=" not in item:
        raise ValueError(f"--set expects key=value (e.g. --set tau_elig=1s), got {item!r}")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ValueError(f"--set expects key=value (e.g. --set tau_elig=1s), got {item!r}")
    return key, _parse_override_value(text)


def _grid_value(text, name="grid"):
    value = _parse_override_value(text)
    if isinstance(value, str):
        return _split_list(value, name)
    return value if isinstance(value, list) else [value]


def _configure_grid(module, spec, grid, grid_overrides):
    """Merge a sweep protocol's default grid, the file's ``[grid]`` and ``--grid`` items."""
    given = dict(grid or {})
    for item in grid_overrides:
        if not isinstance(item, str) or "=" not in item:
            raise ValueError(f"--grid expects key=[values] (e.g. --grid "
                             f"delay_over_T=[-1,0,1]), got {item!r}")
        key, text = item.split("=", 1)
        given[key.strip()] = _grid_value(text, f"--grid {key.strip()}")
    if not hasattr(module, "GRID"):
        if given:
            raise ValueError(f"protocol {module.NAME!r} is not a sweep and takes no grid "
                             f"(got grid keys: {', '.join(sorted(given))})")
        return {}
    allowed = tuple(getattr(module, "GRID_KEYS", spec))
    merged = dict(module.GRID)
    for key, values in given.items():
        if key not in allowed:
            raise ValueError(f"grid over unknown parameter {key!r} for protocol "
                             f"{module.NAME!r}; a grid can vary: {', '.join(allowed)}")
        if isinstance(values, str):
            values = _split_list(values, f"grid {key}")
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid {key} = {values!r} is empty or not a list; give at least "
                             f"one value, e.g. {key} = [...]")
        merged[key] = values
    out = {}
    for key, values in merged.items():
        entry = spec[key]
        items = []
        for k, value in enumerate(values):
            converted = _scalar(f"grid {key}[{k}]", entry.kind, value)
            _check_range(f"grid {key}[{k}]", entry, converted)
            items.append(converted)
        out[key] = tuple(items)
    return out


def configure(name, parameters=None, overrides=(), source=None, grid=None, grid_overrides=()):
    """Validate ``parameters`` (and ``key=value`` overrides) for protocol ``name``.

    Parameters
    ----------
    name : str
        A protocol name (see `available_protocols`).
    parameters : dict, optional
        Values as a protocol file gives them (times as ``"100 ms"``) or as Python values
        (times as `Quantity`). Missing keys take their defaults.
    overrides : iterable of str
        ``"key=value"`` strings applied after ``parameters``; the value is read as a TOML
        value where it is one (``13``, ``[10, 40]``) and as a string otherwise (``1s``).
    source : str, optional
        Where the parameters came from (kept in the manifest).
    grid : dict, optional
        For a sweep protocol: ``{key: [values]}`` replacing the protocol's default axes.
    grid_overrides : iterable of str
        ``"key=[values]"`` strings (the command line's ``--grid``) applied after ``grid``.

    Returns
    -------
    ProtocolConfig

    Raises
    ------
    ValueError
        Unknown protocol, unknown key (the message lists the valid keys), missing required key,
        a time without a unit or with a unit of another dimension, a value out of range, or a
        violated cross-parameter check. Every message names the key and quotes the value.
    """
    module = get_protocol(name)
    spec = _spec(module)
    given = dict(parameters or {})
    overrides = tuple(overrides)
    set_keys = set()
    for item in overrides:
        key, value = _split_override(item)
        given[key] = value
        set_keys.add(key)
    unknown = sorted(set(given) - set(spec))
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for protocol {name!r}"
                         + (f" (also: {', '.join(unknown[1:])})" if len(unknown) > 1 else "")
                         + f"; valid keys: {', '.join(spec)}")
    values = {}
    for key, entry in spec.items():
        if key in given:
            values[key] = _convert(key, entry, given[key])
        elif entry.required:
            raise ValueError(f"missing required parameter {key!r} for protocol {name!r} "
                             f"({entry.meaning})")
        else:
            values[key] = entry.default
    # a key fixed under [parameters] and swept in the same file's [grid] is ambiguous; a
    # --grid on the command line replaces the file's fixed value (as it replaces an axis)
    file_keys = set(parameters or {}) & set(grid or {})
    grid = _configure_grid(module, spec, grid, tuple(grid_overrides))
    for key in grid:
        if key in set_keys:
            raise ValueError(f"--set {key}=... sets a parameter that is a grid axis of this "
                             f"sweep ({key} = {list(map(_show, grid[key]))}), and the grid "
                             f"would win; use --grid {key}=[...] to run other values of it")
        if key in file_keys:
            raise ValueError(f"{key} is both a parameter and a grid axis of this sweep; give "
                             f"it in one place: [grid] {key} = [...] to sweep it, or only "
                             "under [parameters] (and not in [grid]) to fix it")
    if hasattr(module, "check"):
        values = (module.check(dict(values), grid) if hasattr(module, "GRID")
                  else module.check(dict(values)))
    return ProtocolConfig(name=module.NAME, parameters=values, source=source,
                          overrides=overrides + tuple(f"grid {g}" for g in grid_overrides),
                          grid=grid)


def load_protocol_file(path, overrides=(), grid_overrides=()):
    """Read and validate a protocol file (TOML) and ``key=value`` overrides.

    Parameters
    ----------
    path : str or Path
        A TOML file with ``protocol = "NAME"`` and a ``[parameters]`` table.
    overrides : iterable of str
        ``"key=value"`` strings (the command line's ``--set``), applied after the file.
    grid_overrides : iterable of str
        ``"key=[values]"`` strings (the command line's ``--grid``), for sweep protocols.

    Returns
    -------
    ProtocolConfig

    Raises
    ------
    ValueError
        The file is missing or not valid TOML, lacks ``protocol``, has unknown top-level keys,
        or any parameter is invalid (see `configure`).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"protocol file {str(path)!r} not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a valid TOML file: {err}") from None
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise ValueError(f"{str(path)!r}: unknown top-level key {unknown[0]!r}; a protocol file "
                         f"has only {', '.join(_FILE_KEYS)} (parameters go in [parameters])")
    if "protocol" not in data:
        raise ValueError(f"{str(path)!r}: missing key 'protocol' (e.g. protocol = \"overlap\"); "
                         f"known protocols: {', '.join(available_protocols())}")
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise ValueError(f"{str(path)!r}: 'parameters' must be a table ([parameters])")
    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise ValueError(f"{str(path)!r}: 'grid' must be a table ([grid])")
    return configure(data["protocol"], parameters, overrides, source=str(path), grid=grid,
                     grid_overrides=grid_overrides)


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------
def parameters_to_jsonable(parameters):
    """Return ``parameters`` with times as strings with their unit (``"100 ms"``)."""
    out = {}
    for key, value in parameters.items():
        if isinstance(value, Quantity):
            out[key] = _show(value)
        elif isinstance(value, tuple):
            out[key] = [_show(v) if isinstance(v, Quantity) else v for v in value]
        else:
            out[key] = value
    return out


def _version(module_name):
    from importlib import metadata

    try:
        return metadata.version(module_name)
    except metadata.PackageNotFoundError:
        return None


def protocol_manifest(config, argv=None):
    """Describe a protocol run completely enough to repeat it.

    Returns
    -------
    dict
        ``protocol``, ``source`` (the file), ``overrides``, ``parameters`` (times as strings
        with their unit), ``seed``, ``device``, ``versions`` (ctfa_brian, brian2, numpy, neo,
        python), ``platform``, ``timestamp_utc`` and ``command_line``.
    """
    import ctfa_brian

    return {
        "protocol": config.name,
        "source": config.source,
        "overrides": list(config.overrides),
        "parameters": parameters_to_jsonable(config.parameters),
        "grid": parameters_to_jsonable(config.grid),
        "seed": int(config.parameters["seed"]),
        "device": config.parameters["device"],
        "versions": {
            "ctfa_brian": ctfa_brian.__version__,
            "brian2": _version("brian2"),
            "numpy": np.__version__,
            "neo": _version("neo"),
            "python": platform.python_version(),
        },
        "platform": platform.platform(),
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "command_line": list(sys.argv if argv is None else argv),
    }


def run_protocol(path_or_params, out_dir, overrides=(), argv=None):
    """Validate a protocol run, then simulate it and write everything into ``out_dir``.

    Parameters
    ----------
    path_or_params : str, Path, dict or ProtocolConfig
        A protocol file; or a dict ``{"protocol": NAME, "parameters": {...}}``; or an
        already validated `ProtocolConfig`.
    out_dir : str or Path
        Output directory, created only after everything has been validated.
    overrides : iterable of str
        ``"key=value"`` overrides (not allowed with a `ProtocolConfig`).
    argv : list of str, optional
        The command line for the manifest (default: ``sys.argv``).

    Returns
    -------
    dict
        What the protocol returned, plus ``files`` (paths of everything written) and
        ``timings_s``; the same is in ``results.json``.

    Raises
    ------
    ValueError
        Invalid input (see `load_protocol_file`); nothing is written then.
    """
    from ctfa_brian import io
    from ctfa_brian.device import select

    if isinstance(path_or_params, ProtocolConfig):
        if tuple(overrides):
            raise ValueError("overrides cannot be applied to a ProtocolConfig; pass the file "
                             "or the parameter dict instead")
        config = path_or_params
    elif isinstance(path_or_params, dict):
        data = dict(path_or_params)
        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown or "protocol" not in data:
            raise ValueError(f"expected {{'protocol': NAME, 'parameters': {{...}}}}, got keys "
                             f"{sorted(data)}")
        config = configure(data["protocol"], data.get("parameters", {}), overrides,
                           grid=data.get("grid"))
    else:
        config = load_protocol_file(path_or_params, overrides)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output directory {str(out)!r} exists and is not a directory")
    module = get_protocol(config.name)
    manifest = protocol_manifest(config, argv)
    previous_target = prefs.codegen.target
    if config.parameters["device"] in ("numpy", "cython", "runtime"):
        select(config.parameters["device"])
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        if hasattr(module, "GRID"):
            results = dict(module.run(dict(config.parameters), out, dict(config.grid)))
        else:
            results = dict(module.run(dict(config.parameters), out))
    finally:
        prefs.codegen.target = previous_target
    timings = dict(results.get("timings_s", {}))
    timings["total"] = time.perf_counter() - start
    results["timings_s"] = timings
    files = {key: str(path) for key, path in results.get("files", {}).items()}
    files.update({"results": str(out / "results.json"), "manifest": str(out / "manifest.json")})
    results["files"] = files
    io.write_results(out, results, manifest)
    logger.debug(f"protocol {config.name!r}: wrote {len(files)} files to {out}")
    return results


def format_parameters(name):
    """Return the parameter spec of protocol ``name`` as a Markdown table."""
    spec = _spec(get_protocol(name))
    lines = ["| key | kind | default | allowed | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, entry in spec.items():
        lines.append(f"| `{key}` | {entry.kind} | `{entry.describe_default()}` | "
                     f"{entry.describe_range()} | {entry.meaning} |")
    return "\n".join(lines)
