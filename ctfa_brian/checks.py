"""Checks and formats shared by the parameter classes: times with units, choices, seeds.

Every check raises an error that names the parameter, quotes the value and says what is
allowed.
"""

from dataclasses import fields

import numpy as np
from brian2 import Hz, Quantity, second
from brian2.units.fundamentalunits import DimensionMismatchError, have_same_dimensions

__all__ = ["check_choice", "check_number", "check_seed", "check_time", "format_time",
           "to_jsonable"]


def check_time(name, value, allow_zero=False, allow_negative=False):
    """Raise a clear error unless ``value`` is a time `Quantity` (and non-negative)."""
    if not isinstance(value, Quantity) or not have_same_dimensions(value, second):
        unit = getattr(value, "dim", None)
        raise DimensionMismatchError(
            f"{name} must be a time with a Brian2 unit (e.g. 50*ms), got {value!r}"
            + (f" with dimensions {unit}" if unit is not None else " (no unit)")
        )
    if not value.shape == ():
        raise ValueError(f"{name} must be a scalar time, got an array of shape {value.shape}")
    if allow_negative:
        return
    if float(value) < 0 or (float(value) == 0 and not allow_zero):
        allowed = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{name} = {value} is not allowed; it must be {allowed}")


def check_choice(name, value, choices):
    """Raise a `ValueError` listing ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")


def check_number(name, value, ok, allowed):
    """Raise naming ``name`` unless ``value`` is a real number (not a bool) with ``ok(value)``;
    ``allowed`` says which (``"a number in [0, 1)"``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
        raise ValueError(f"{name} = {value!r} is not allowed; it must be {allowed}")


def check_seed(seed, name="seed"):
    """Return ``seed`` as an int, or raise naming ``name`` unless it is an integer in [0, 2³²)
    (what NumPy's and Brian's generators take)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"{name} = {seed!r} is not allowed; it must be an integer in "
                         f"[0, 2**32) = [0, {2**32 - 1}]")
    return int(seed)


def format_time(value):
    """Write a time as ``'50 ms'`` (below 1 s) or ``'2.5 s'``; `ctfa_brian.io` parses both."""
    seconds = float(value)
    if seconds != 0 and abs(seconds) < 1:
        return f"{seconds * 1e3:g} ms"
    return f"{seconds:g} s"


def to_jsonable(obj):
    """Turn a parameter dataclass into a dict of strings/numbers (quantities keep their unit)."""
    out = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, Quantity) and have_same_dimensions(value, second):
            out[f.name] = format_time(value)
        elif isinstance(value, Quantity) and have_same_dimensions(value, Hz):
            out[f.name] = f"{float(value):g} Hz"
        elif isinstance(value, Quantity):
            out[f.name] = str(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out
