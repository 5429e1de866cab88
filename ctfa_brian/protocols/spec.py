"""What a protocol parameter is: its kind, default, range and meaning, and how a value given
in a file or on the command line becomes a checked value with its unit.

`Parameter` is the spec of one key; `COMMON_PARAMETERS` are the keys every protocol takes. Every
error names the key as it is written in the file, the value and what is allowed.
"""

import math
import tomllib
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, ms, second
from brian2.units.fundamentalunits import have_same_dimensions

from ctfa_brian.device import RUNTIME_DEFAULT
from ctfa_brian.io import parse_quantity
from ctfa_brian.parameters import NEURONS, VARIANTS, format_time

__all__ = ["COMMON_PARAMETERS", "KINDS", "Parameter", "check_resolution",
           "check_spike_probability", "check_whole_steps", "parameters_to_jsonable",
           "spiking_parameters", "VARIANT_PARAMETERS"]

#: Kinds of parameter values: a time (string with a unit), a number, an integer, a string, or a
#: list of times, of numbers or of strings.
KINDS = ("time", "float", "int", "str", "times", "floats", "strs")


@dataclass(frozen=True)
class Parameter:
    """The spec of one protocol parameter.

    Parameters
    ----------
    kind : str
        One of `KINDS`: ``time`` (a Brian2 time, written ``"100 ms"`` in a file), ``float``,
        ``int``, ``str``, ``times`` (list of times), ``floats`` (list of numbers) or ``strs``
        (list of strings, each one of ``choices`` where given).
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
        Allowed values of a ``str`` parameter (of every element of a ``strs`` one).
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
    "device": Parameter("str", RUNTIME_DEFAULT, "Brian2 runtime device: numpy, cython or "
                        "runtime (Brian's own choice of target)",
                        choices=("numpy", "cython", "runtime")),
}


#: The one switch between the rate and the spiking variant of every network protocol (the
#: sweeps, the τ_pot and τ_elig sweeps, rate_vs_spiking); the single-synapse protocols have
#: their own (`spiking_parameters`).
VARIANT_PARAMETERS = {
    "variant": Parameter("str", "rate", "rate (the paper's model) or spiking (spiking neurons, "
                         "spike traces, signed error spikes; use dt ≤ 0.5 ms)",
                         choices=VARIANTS),
    "neuron": Parameter("str", "lif", "spiking variant: forward neurons (leaky integrate-and-"
                        "fire or rate-driven Poisson)", choices=NEURONS),
    "max_rate_hz": Parameter("float", 200.0, "spiking variant: the rate that stands for the "
                             "value 1, Hz", ge=1, le=1000),
}


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
    if spec.kind in ("times", "floats", "strs"):
        scalar_kind = {"times": "time", "floats": "float", "strs": "str"}[spec.kind]
        if isinstance(value, str):
            value = _split_list(value, name)
        elif isinstance(value, Quantity) and value.ndim == 1:
            value = list(value)
        if not isinstance(value, (list, tuple)):
            example = {"times": '["0 ms", "10 ms"]', "floats": "[10, 40]",
                       "strs": f'["{spec.choices[0] if spec.choices else "a"}"]'}[spec.kind]
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


def spiking_parameters(variant, max_rate_hz, max_rate, n_trials, trace):
    """``variant`` and the parameters of a single-synapse protocol's spiking variant; the
    strings say what the variants, the rate and the τ_prop trace are in this protocol."""
    return {
        "variant": Parameter("str", "rate", variant, choices=("rate", "spiking")),
        "max_rate_hz": Parameter("float", max_rate_hz, f"spiking: {max_rate}, Hz", gt=0,
                                 le=1000),
        "n_trials": Parameter("int", n_trials, "spiking: independent synapses (trials) per "
                              "delay", ge=2, le=100_000),
        "spike_tau_prop": Parameter("time", 10 * ms, f"spiking: τ_prop of the {trace}",
                                    gt=0 * ms),
    }


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


# ----------------------------------------------------------------------------------------
# Cross-parameter checks a protocol's ``check`` shares
# ----------------------------------------------------------------------------------------
def check_whole_steps(dt, **values):
    """Raise unless every ``key = value`` is a whole number of steps of ``dt``."""
    for key, value in values.items():
        steps = float(value / dt)
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise ValueError(f"{key} = {format_time(value)} is not a whole number of steps of "
                             f"dt = {format_time(dt)}; choose a multiple of dt")


def check_resolution(dt, key, value, steps, strict=True, name=None):
    """Raise unless ``dt < value/steps`` (``≤`` if not ``strict``); ``name`` is how the
    limit is written (default ``key``)."""
    if dt * steps < value or (not strict and dt * steps <= value):
        return
    raise ValueError(f"dt = {format_time(dt)} is too coarse for {key} = {format_time(value)}; "
                     f"it must be {'<' if strict else '≤'} {name or key}/{steps} "
                     f"(= {format_time(value / steps)})")


def check_spike_probability(dt, max_rate_hz, limit=0.1):
    """Raise unless a Poisson source at ``max_rate_hz`` fires with probability ≤ ``limit``
    per step of ``dt``."""
    p_max = max_rate_hz * float(dt / second)
    if p_max > limit:
        raise ValueError(f"dt = {format_time(dt)} is too coarse for max_rate_hz = "
                         f"{max_rate_hz:g}: a spike probability of {p_max:g} per step; it must "
                         f"be ≤ {limit:g} (dt ≤ {limit:g}/max_rate)")
