"""Which protocols exist, and a protocol run from a file: read, apply ``--set`` and
``--grid``, validate everything before anything is written (`load_protocol_file`,
`configure`).

The registry (`PROTOCOLS`) is explicit: a new protocol module is added there by name.
"""

import importlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ctfa_brian.protocols.spec import (
    COMMON_PARAMETERS,
    _check_range,
    _convert,
    _parse_override_value,
    _scalar,
    _show,
    _split_list,
)

__all__ = ["PROTOCOLS", "SHIPPED", "ProtocolConfig", "available_protocols", "configure",
           "get_protocol", "load_protocol_file", "protocol_path", "shipped_files"]

#: The protocol files installed with the package (``ctfa protocols`` lists them); a checkout's
#: ``protocols/`` is a link to this directory.
SHIPPED = Path(__file__).resolve().parent / "files"


def shipped_files():
    """``{name: path}`` of the protocol files installed with the package, by file stem."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.toml"))}


def protocol_path(name_or_path):
    """The file ``name_or_path`` names: an existing path, else a shipped protocol's name
    (``overlap``, ``delay_sweep_circles``); a ValueError lists the shipped ones otherwise."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_files()
    stem = path.stem if path.suffix == ".toml" and len(path.parts) == 1 else str(name_or_path)
    if stem in shipped and len(path.parts) == 1:
        return shipped[stem]
    raise ValueError(f"protocol file {str(name_or_path)!r} not found; give a path to a .toml "
                     f"file or the name of a shipped protocol: {', '.join(shipped)} "
                     "(ctfa protocols lists them)")

#: Every protocol, by the name a file gives (``protocol = "overlap"``), and its module.
PROTOCOLS = {name: f"ctfa_brian.protocols.{name}" for name in (
    "baselines", "delay_sweep", "depth", "eligibility_window", "frequency_transition", "noise",
    "overlap", "paper_tables", "rate_vs_spiking", "tau_elig_sweep", "tau_pot_sweep",
    "theta_gate_sweep")}

#: Top-level keys of a protocol file.
_FILE_KEYS = ("protocol", "parameters", "grid")


@dataclass(frozen=True)
class ProtocolConfig:
    """A validated protocol run: which protocol, and every parameter with its unit.

    Attributes
    ----------
    name : str
        The protocol's ``NAME`` (for one of your own: its file or module, as given).
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


def available_protocols():
    """Return the names of the protocols (`PROTOCOLS`), sorted."""
    return tuple(sorted(PROTOCOLS))


def get_protocol(name):
    """Import and return the protocol module called ``name``.

    ``name`` is a key of `PROTOCOLS`; or the path of a Python file of your own (``….py``; a
    protocol file's relative path counts from the file's folder); or an importable module
    (``mylab.protocols.pairing``). See docs/adding_a_protocol.md.

    Raises
    ------
    ValueError
        If there is no such protocol (the message lists the known ones) or the module lacks
        ``NAME``, ``PARAMETERS`` or ``run``.
    """
    known = available_protocols()
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown protocol {name!r}; known protocols: {', '.join(known)}")
    if name in PROTOCOLS:
        module = importlib.import_module(PROTOCOLS[name])
    elif name.endswith(".py"):
        module = _load_file(name, known)
    elif "." in name:
        try:
            module = importlib.import_module(name)
        except ImportError as err:
            raise ValueError(f"protocol {name!r} cannot be imported ({err}); known "
                             f"protocols: {', '.join(known)}") from None
    else:
        raise ValueError(f"unknown protocol {name!r}; known protocols: {', '.join(known)} "
                         "(or the path of a .py file, or an importable module)")
    for attribute in ("NAME", "PARAMETERS", "run"):
        if not hasattr(module, attribute):
            raise ValueError(f"protocol module {module.__name__} lacks {attribute}")
    return module


def _load_file(path, known):
    """The protocol module in the Python file ``path`` (loaded once per process)."""
    import importlib.util
    import sys

    path = Path(path).resolve()
    if not path.is_file():
        raise ValueError(f"protocol {str(path)!r}: no such file; known protocols: "
                         f"{', '.join(known)}")
    key = f"ctfa_user_protocol_{abs(hash(str(path)))}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        try:
            spec.loader.exec_module(module)
        except Exception:
            del sys.modules[key]
            raise
    return sys.modules[key]


def _spec(module):
    clash = set(module.PARAMETERS) & set(COMMON_PARAMETERS)
    if clash:
        raise ValueError(f"protocol {module.NAME!r} redefines common parameter(s) "
                         f"{', '.join(sorted(clash))}")
    common = dict(COMMON_PARAMETERS)
    if hasattr(module, "DEVICE"):
        common["device"] = module.DEVICE
    return {**module.PARAMETERS, **common}


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
    # a registered protocol by its NAME; one of your own by where it is (file or module)
    return ProtocolConfig(name=module.NAME if name in PROTOCOLS else name, parameters=values,
                          source=source,
                          overrides=overrides + tuple(f"grid {g}" for g in grid_overrides),
                          grid=grid)


def load_protocol_file(path, overrides=(), grid_overrides=()):
    """`configure` the protocol of the TOML file ``path`` (or of the shipped file that
    `protocol_path` finds by name; ``protocol = "NAME"``, a
    ``[parameters]`` table, a ``[grid]`` for a sweep) with the command line's ``--set``
    (``overrides``) and ``--grid`` (``grid_overrides``); return the `ProtocolConfig`.

    Raises a ValueError where the file is missing or not valid TOML, lacks ``protocol``, has
    unknown top-level keys, or any parameter is invalid (see `configure`).
    """
    path = protocol_path(path)
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
    name = data["protocol"]
    if isinstance(name, str) and name.endswith(".py"):  # a file of your own, next to this one
        name = str((path.parent / name).resolve())
    return configure(name, parameters, overrides, source=str(path), grid=grid,
                     grid_overrides=grid_overrides)
