"""Recordings as Neo objects: export, save and load.

Recorded traces go to a `neo.Block` (`recordings_to_neo`), stored with Neo's ``NixIO`` when
`nixio <https://pypi.org/project/nixio/>`_ is installed (``.nix``) and with ``PickleIO``
otherwise (``.pkl``). Brian2 quantities become `quantities` objects only in this module.
Parameters are block annotations with the unit in the key (``delay_ms``, ``tau_pot_w_s``).
"""

from pathlib import Path

import numpy as np
from brian2 import Quantity, ms, second
from brian2.utils.logger import get_logger

from ctfa_brian.io import atomic_path

__all__ = ["load_neo", "neo_suffix", "recordings_to_neo", "save_neo"]

logger = get_logger(__name__)

#: Units in which parameters are stored as Neo annotations (the unit is part of the key).
_SLOW_TIMES = ("tau_pot", "tau_dec")


def _annotation_unit(name):
    return (second, "s") if name.startswith(_SLOW_TIMES) else (ms, "ms")


def _parameter_annotations(*parameter_sets):
    """Flatten parameter dataclasses into ``{key: float/int/str/list}``, units in the keys."""
    from dataclasses import fields

    out = {}
    for params in parameter_sets:
        if params is None:
            continue
        for f in fields(params):
            value = getattr(params, f.name)
            if value is None:
                continue
            if isinstance(value, Quantity):
                unit, suffix = _annotation_unit(f.name)
                out[f"{f.name}_{suffix}"] = float(value / unit)
            elif isinstance(value, tuple):
                out[f.name] = ",".join(str(v) for v in value)
            elif isinstance(value, (bool, int, float, str)):
                out[f.name] = value
            else:
                out[f.name] = str(value)
    return out


def _sampling_period(name, times, recording):
    if recording is not None:
        return float(recording.dt / ms)
    if len(times) >= 2:
        return float(np.median(np.diff(times))) * 1e3
    raise ValueError(f"cannot infer the sampling period of {name!r} from {len(times)} sample(s); "
                     "pass recording= (the Recording the run used)")


def recordings_to_neo(result, model=None, schedule=None, training=None, recording=None,
                      dataset_name=None, device=None):
    """Put recorded traces into a `neo.Block` with one `neo.Segment`.

    Parameters
    ----------
    result : TrainingResult or dict
        A result with ``recordings``, or the recordings dict itself:
        ``{group: {"t": Quantity, "indices": ndarray, var: ndarray (n_indices, n_times)}}``.
    model, schedule, training : optional
        Parameters stored in ``block.annotations`` as floats with the unit in the key
        (``tau_prop_ms``, ``tau_pot_w_s``, ``tau_dec_v_s``, ``sample_time_ms``, ``delay_ms``,
        ``dt_ms``, …), strings and numbers as they are, ``hidden`` as a string (``"24,24"``;
        ``""`` for none).
    recording : Recording, optional
        Its ``dt`` is the sampling period; without it the period is taken from the times.
    dataset_name, device : str, optional
        Stored in ``block.annotations`` too.

    Returns
    -------
    neo.Block
        One `neo.AnalogSignal` per group and variable, named ``"<group>.<var>"``, of shape
        (n_times, n_indices), dimensionless, with ``array_annotations["channel_index"]`` the
        recorded indices and annotations ``group`` and ``variable``.
    """
    import neo
    import quantities as pq

    import ctfa_brian

    recordings = result if isinstance(result, dict) else result.recordings
    annotations = {"ctfa_brian_version": ctfa_brian.__version__}
    annotations.update(_parameter_annotations(model, schedule, training))
    if recording is not None:
        annotations["recording_dt_ms"] = float(recording.dt / ms)
    if dataset_name is not None:
        annotations["dataset"] = str(dataset_name)
    if device is not None:
        annotations["device"] = str(device)
    if not isinstance(result, dict):
        for key in ("test_accuracy", "train_accuracy"):
            annotations[key] = float(getattr(result, key))
    block = neo.Block(name="ctfa_brian", description="continuous-time feedback alignment run",
                      **annotations)
    segment = neo.Segment(name="run")
    block.segments.append(segment)
    for group, entry in recordings.items():
        t = entry["t"]
        times = np.asarray(t / second if isinstance(t, Quantity) else t, dtype=float)
        indices = np.asarray(entry["indices"], dtype=int)
        period_ms = _sampling_period(group, times, recording)
        t_start_ms = times[0] * 1e3 if len(times) else 0.0
        for var, values in entry.items():
            if var in ("t", "indices"):
                continue
            if isinstance(values, Quantity) and not values.is_dimensionless:
                raise ValueError(f"{group}.{var} has dimensions {values.dim}; only "
                                 "dimensionless traces can be exported")
            data = np.asarray(values, dtype=float)
            if data.shape != (len(indices), len(times)):
                raise ValueError(f"{group}.{var} has shape {data.shape}, expected "
                                 f"(n_indices, n_times) = ({len(indices)}, {len(times)})")
            signal = neo.AnalogSignal(
                data.T, units=pq.dimensionless, sampling_period=period_ms * pq.ms,
                t_start=t_start_ms * pq.ms, name=f"{group}.{var}",
                array_annotations={"channel_index": indices}, group=str(group),
                variable=str(var),
            )
            segment.analogsignals.append(signal)
    block.check_relationships()
    return block


def neo_suffix():
    """Return the suffix for `save_neo`: ``".nix"`` if nixio is installed, else ``".pkl"``."""
    try:
        import nixio  # noqa: F401
    except ImportError:
        return ".pkl"
    return ".nix"


def _neo_io_class(path):
    from neo.io import NixIO, PickleIO

    suffix = Path(path).suffix.lower()
    if suffix == ".nix":
        try:
            import nixio  # noqa: F401
        except ImportError:
            raise ImportError(f"{str(path)!r}: writing .nix files needs nixio (pip install "
                              "nixio); or use a .pkl path") from None
        return NixIO
    if suffix in (".pkl", ".pickle"):
        return PickleIO
    raise ValueError(f"{str(path)!r}: unknown Neo file type {suffix!r}; use .nix (NixIO) or "
                     ".pkl (PickleIO)")


def save_neo(block, path):
    """Write ``block`` to ``path`` (``.nix``: NixIO, ``.pkl``: PickleIO), atomically.

    Returns
    -------
    Path
    """
    path = Path(path)
    io_class = _neo_io_class(path)
    with atomic_path(path) as tmp:
        if io_class.__name__ == "NixIO":
            with io_class(tmp, mode="ow") as writer:
                writer.write_block(block)
        else:
            io_class(tmp).write_block(block)
    logger.debug(f"wrote {path} with {io_class.__name__}")
    return path


def load_neo(path):
    """Read the Block that `save_neo` wrote to ``path`` (chosen by extension, like `save_neo`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Neo file at {str(path)!r}")
    io_class = _neo_io_class(path)
    if io_class.__name__ == "NixIO":
        with io_class(str(path), mode="ro") as reader:
            return reader.read_block()
    return io_class(str(path)).read_block()
