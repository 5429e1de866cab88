"""Recordings as Neo objects: export, save and load.

Recorded traces go to a `neo.Block` (`recordings_to_neo` for a training run; `protocol_block`,
`trace_signal` and `spike_train` for the protocols), stored with Neo's ``NixIO`` (``.nix``)
or ``NWBIO`` (``.nwb``, `ctfa_brian.nwb_io`); pickles are refused. Brian2 quantities become
`quantities` objects only in this module.
Parameters are block annotations with the unit in the key (``delay_ms``, ``tau_pot_w_s``).
"""

from pathlib import Path

import numpy as np
from brian2 import Hz, Quantity, ms, second
from brian2.units.fundamentalunits import have_same_dimensions
from brian2.utils.logger import get_logger

from ctfa_brian.io import atomic_path

__all__ = ["load_neo", "neo_segment", "neo_suffix", "protocol_annotations", "protocol_block",
           "recordings_to_neo", "results_to_neo", "save_neo", "save_neo_formats",
           "segment_from_result", "spike_train", "spiketrains_from_spikes", "trace_signal"]

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
            if isinstance(value, Quantity) and have_same_dimensions(value, Hz):
                out[f"{f.name}_hz"] = float(value / Hz)
            elif isinstance(value, Quantity):
                unit, suffix = _annotation_unit(f.name)
                out[f"{f.name}_{suffix}"] = float(value / unit)
            elif isinstance(value, tuple):
                out[f.name] = ",".join(str(v) for v in value)
            elif isinstance(value, (bool, int, float, str)):
                out[f.name] = value
            else:
                out[f.name] = str(value)
    return out


def protocol_annotations(params, seconds=_SLOW_TIMES, **extra):
    """A protocol's parameters as Neo annotations, the unit in the key.

    Times whose key starts with one of ``seconds`` in seconds (``tau_pot_s``), other times in
    milliseconds (``dt_ms``), lists of times in milliseconds (``delays_ms``), lists of numbers
    as floats, lists of strings as such, ``None`` left out; ``extra`` (e.g.
    ``protocol=NAME``) first.
    """
    import ctfa_brian

    out = {"ctfa_brian_version": ctfa_brian.__version__, **extra}
    for key, value in params.items():
        if isinstance(value, Quantity):
            unit, suffix = (second, "s") if key.startswith(tuple(seconds)) else (ms, "ms")
            out[f"{key}_{suffix}"] = float(value / unit)
        elif isinstance(value, tuple) and value and isinstance(value[0], Quantity):
            out[f"{key}_ms"] = [float(v / ms) for v in value]
        elif isinstance(value, tuple) and value and isinstance(value[0], str):
            out[key] = [str(v) for v in value]
        elif isinstance(value, tuple):
            out[key] = [float(v) for v in value]
        elif value is not None:
            out[key] = value
    return out


def trace_signal(name, values, t_start, sampling_period, channels=None, **annotations):
    """One dimensionless `neo.AnalogSignal` named ``name``.

    ``values`` has shape (n_channels, n_times); ``t_start`` and ``sampling_period`` are Brian2
    times; ``channels`` are its ``array_annotations`` (one entry per channel); ``annotations``
    go on the signal.
    """
    import neo
    import quantities as pq

    return neo.AnalogSignal(np.asarray(values, float).T, units=pq.dimensionless,
                            sampling_period=float(sampling_period / ms) * pq.ms,
                            t_start=float(t_start / ms) * pq.ms, name=name,
                            array_annotations=dict(channels or {}), **annotations)


def spike_train(times, t_stop, name, t_start=0 * ms, **annotations):
    """A `neo.SpikeTrain` of the Brian2 ``times`` (in ms) up to ``t_stop``."""
    import neo
    import quantities as pq

    return neo.SpikeTrain(np.asarray(times / ms), units=pq.ms,
                          t_start=float(t_start / ms) * pq.ms,
                          t_stop=float(t_stop / ms) * pq.ms, name=name, **annotations)


def protocol_block(protocol, params, description, signals=(), spiketrains=(), segment=None,
                   seconds=_SLOW_TIMES, segments=None, name=None, **extra):
    """A protocol's `neo.Block` (named ``name``, default ``"ctfa_brian <protocol>"``).

    It holds ``segments`` (made with `segment`) or else one Segment (named ``segment``, default
    the protocol's name) with ``signals`` and ``spiketrains``; the block annotations come from
    `protocol_annotations` (``protocol=`` and ``extra`` first).
    """
    import neo

    block = neo.Block(name=name or f"ctfa_brian {protocol}", description=description,
                      **protocol_annotations(params, seconds=seconds, protocol=protocol,
                                             **extra))
    if segments is None:
        segments = [neo_segment(segment or protocol, signals, spiketrains)]
    block.segments.extend(segments)
    block.check_relationships()
    return block


def neo_segment(name, signals=(), spiketrains=(), **annotations):
    """A `neo.Segment` with ``signals`` (AnalogSignals) and ``spiketrains``."""
    import neo

    seg = neo.Segment(name=name, **annotations)
    seg.analogsignals.extend(signals)
    seg.spiketrains.extend(spiketrains)
    return seg


def _sampling_period(name, times, recording):
    if recording is not None:
        return float(recording.dt / ms)
    if len(times) >= 2:
        return float(np.median(np.diff(times))) * 1e3
    raise ValueError(f"cannot infer the sampling period of {name!r} from {len(times)} sample(s); "
                     "pass recording= (the Recording the run used)")


def _signals(recordings, recording):
    """AnalogSignals of ``recordings`` (see `recordings_to_neo`)."""
    import neo
    import quantities as pq

    out = []
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
            out.append(neo.AnalogSignal(
                data.T, units=pq.dimensionless, sampling_period=period_ms * pq.ms,
                t_start=t_start_ms * pq.ms, name=f"{group}.{var}",
                array_annotations={"channel_index": indices}, group=str(group),
                variable=str(var)))
    return out


def spiketrains_from_spikes(spikes, t_stop):
    """SpikeTrains of ``spikes`` (`TrainingResult.spikes`), one per group, event and neuron,
    from 0 to ``t_stop`` (a Brian2 time)."""
    import neo
    import quantities as pq

    out = []
    stop_ms = float(t_stop / ms)
    for group, entry in spikes.items():
        if "counts" in entry:  # counts only (Recording.spikes = "count"): no spike times
            continue
        for event, data in entry.items():
            if event == "indices":
                continue
            i = np.asarray(data["i"], dtype=int)
            t_ms = np.asarray(data["t"] / ms, dtype=float)
            order = np.lexsort((t_ms, i))  # by neuron, then time: one pass over the events
            i, t_ms = i[order], t_ms[order]
            for index in np.asarray(entry["indices"], dtype=int):
                lo, hi = np.searchsorted(i, [index, index + 1])
                times = t_ms[lo:hi]
                out.append(neo.SpikeTrain(
                    times, units=pq.ms, t_start=0 * pq.ms, t_stop=stop_ms * pq.ms,
                    name=f"{group}.{event}[{index}]", group=str(group), event=str(event),
                    channel_index=int(index)))
    return out


def spike_end(spikes, recordings=None, duration=None):
    """Where spike trains of ``spikes`` end: ``duration`` (the run's, when known), else 1 ms
    after the last spike or recorded sample."""
    if duration is not None:
        return duration
    last = [float(np.max(d["t"] / second)) for e in spikes.values() for k, d in e.items()
            if k not in ("indices", "counts") and len(d["t"])]
    last += [float(np.max(np.asarray(e["t"] / second))) for e in (recordings or {}).values()
             if len(e["t"])]
    return (max(last) if last else 0.0) * second + 1 * ms


def segment_from_result(result, name="run", recording=None, **annotations):
    """One `neo.Segment` with a run's traces (AnalogSignals) and spikes (SpikeTrains).

    Parameters
    ----------
    result : TrainingResult or dict
        A result (its ``recordings`` and, in the spiking variant, ``spikes``), or a
        recordings dict.
    name : str
        The segment's name (the condition).
    recording : Recording, optional
        Its ``dt`` is the traces' sampling period.
    **annotations
        Stored on the segment (units in the keys, e.g. ``delay_ms``).

    Returns
    -------
    neo.Segment
        AnalogSignals as in `recordings_to_neo`; one `neo.SpikeTrain` per group, event and
        recorded neuron, named ``"<group>.<event>[<index>]"`` (ms, from 0 to the end of the
        run), annotated ``group``, ``event`` (``spike``, ``err_pos``, ``err_neg``, ``neg``) and
        ``channel_index``.
    """
    import neo

    recordings = result if isinstance(result, dict) else result.recordings
    spikes = {} if isinstance(result, dict) else (getattr(result, "spikes", None) or {})
    segment = neo.Segment(name=name, **annotations)
    segment.analogsignals.extend(_signals(recordings, recording))
    if spikes:
        stop = spike_end(spikes, recordings, getattr(result, "duration", None))
        segment.spiketrains.extend(spiketrains_from_spikes(spikes, stop))
    return segment


def recordings_to_neo(result, model=None, schedule=None, training=None, recording=None,
                      dataset_name=None, device=None):
    """Put recorded traces (and spikes) into a `neo.Block` with one `neo.Segment`.

    Parameters
    ----------
    result : TrainingResult or dict
        A result with ``recordings`` (and ``spikes``, spiking variant), or the recordings
        dict itself: ``{group: {"t": Quantity, "indices": ndarray, var: ndarray (n_indices,
        n_times)}}``.
    model, schedule, training : optional
        Parameters stored in ``block.annotations`` as floats with the unit in the key
        (``tau_prop_ms``, ``tau_pot_w_s``, ``tau_dec_v_s``, ``sample_time_ms``, ``delay_ms``,
        ``dt_ms``, ``max_rate_hz``, …), strings and numbers as they are, ``hidden`` as a string
        (``"24,24"``; ``""`` for none).
    recording : Recording, optional
        Its ``dt`` is the sampling period; without it the period is taken from the times.
    dataset_name, device : str, optional
        Stored in ``block.annotations`` too.

    Returns
    -------
    neo.Block
        One `neo.AnalogSignal` per group and variable, named ``"<group>.<var>"``, of shape
        (n_times, n_indices), dimensionless, with ``array_annotations["channel_index"]`` the
        recorded indices and annotations ``group`` and ``variable``; in the spiking variant
        also the SpikeTrains of `segment_from_result`.
    """
    return results_to_neo({"run": result}, model, schedule, training, recording,
                          dataset_name, device)


def results_to_neo(results, model=None, schedule=None, training=None, recording=None,
                   dataset_name=None, device=None):
    """Like `recordings_to_neo`, with one `neo.Segment` per condition.

    Parameters
    ----------
    results : dict
        ``{condition name: TrainingResult}`` (e.g. ``{"rate": ..., "spiking": ...}``).
    model, schedule, training, recording, dataset_name, device
        As in `recordings_to_neo` (shared by all conditions; a condition's own differences
        belong in its name).

    Returns
    -------
    neo.Block
    """
    import neo

    import ctfa_brian

    annotations = {"ctfa_brian_version": ctfa_brian.__version__}
    annotations.update(_parameter_annotations(model, schedule, training))
    if recording is not None:
        annotations["recording_dt_ms"] = float(recording.dt / ms)
    if dataset_name is not None:
        annotations["dataset"] = str(dataset_name)
    if device is not None:
        annotations["device"] = str(device)
    single = len(results) == 1 and not isinstance(next(iter(results.values())), dict)
    if single:
        result = next(iter(results.values()))
        for key in ("test_accuracy", "train_accuracy"):
            annotations[key] = float(getattr(result, key))
    block = neo.Block(name="ctfa_brian", description="continuous-time feedback alignment run",
                      **annotations)
    for name, result in results.items():
        seg_annotations = {}
        if not isinstance(result, dict) and not single:
            seg_annotations = {"test_accuracy": float(result.test_accuracy)}
        block.segments.append(segment_from_result(result, name, recording, **seg_annotations))
    block.check_relationships()
    return block


def neo_suffix():
    """Return the suffix of the files `save_neo` writes by default: ``".nix"`` (NixIO)."""
    return ".nix"


def save_neo_formats(block, stem, key, fmt=None):
    """Write ``block`` to ``<stem>.nix``, ``<stem>.nwb`` or both, as ``fmt`` (one of
    `ctfa_brian.nwb_io.FORMATS`; default: the run's, `ctfa_brian.nwb_io.current_format`).

    Returns
    -------
    dict
        ``{key: path}`` of the first file and ``{key}_nwb`` for the NWB file of ``"both"``.
    """
    from ctfa_brian import nwb_io

    suffixes = nwb_io.format_suffixes(fmt or nwb_io.current_format())
    paths = [save_neo(block, Path(stem).with_name(Path(stem).name + s)) for s in suffixes]
    return {key: paths[0], **({f"{key}_nwb": paths[1]} if len(paths) > 1 else {})}


#: The first bytes of every HDF5 file (NIX and NWB files are ones).
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_KINDS = {".nix": "a NIX", ".nwb": "an NWB"}


def _neo_io_class(path):
    """NixIO for a ``.nix`` path, `ctfa_brian.nwb_io` for a ``.nwb`` one; anything else is
    refused, pickles above all (loading one runs whatever code it holds)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".pkl", ".pickle"):
        raise ValueError(f"{str(path)!r} is a pickle; ctfa does not read pickles, because "
                         "loading one runs whatever code it holds. Use a .nix or .nwb file "
                         "(ctfa writes recordings.nix, spikes.nix and traces.nix)")
    if suffix not in _KINDS:
        raise ValueError(f"{str(path)!r}: unknown Neo file type {suffix!r}; ctfa reads and "
                         "writes .nix (NixIO) and .nwb (NWB, Neo's NWBIO) files")
    if suffix == ".nwb":
        from ctfa_brian import nwb_io

        nwb_io.require_nwb(f"{str(path)!r}: .nwb files")
        return nwb_io
    try:
        import nixio  # noqa: F401
        from neo.io import NixIO
    except ImportError:
        raise ImportError(f"{str(path)!r}: .nix files need nixio (pip install nixio)") from None
    return NixIO


def save_neo(block, path):
    """Write ``block`` to ``path`` through a temporary file: a ``.nix`` file (NixIO) or a
    ``.nwb`` file (`ctfa_brian.nwb_io.save_nwb`).

    Returns
    -------
    Path
    """
    path = Path(path)
    io_class = _neo_io_class(path)
    if path.suffix.lower() == ".nwb":  # io_class is ctfa_brian.nwb_io
        return io_class.save_nwb(block, path)
    with atomic_path(path) as tmp:
        with io_class(tmp, mode="ow") as writer:
            writer.write_block(block)
    logger.debug(f"wrote {path} with {io_class.__name__}")
    return path


def load_neo(path):
    """Read the Block that `save_neo` wrote to ``path`` (a ``.nix`` or ``.nwb`` file).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not a ``.nix`` or ``.nwb`` path (a pickle is refused), an empty file, or one that is
        not a whole NIX (NWB) file (truncated, corrupt, another format); the message names
        the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no Neo file at {str(path)!r}")
    io_class = _neo_io_class(path)
    kind = _KINDS[path.suffix.lower()]  # "a NIX", "an NWB"
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise ValueError(f"{str(path)!r} is empty; expected {kind} file written by ctfa")
    if head != _HDF5_SIGNATURE:
        raise ValueError(f"{str(path)!r} is not {kind} file (it does not start with the HDF5 "
                         f"signature); expected a {path.suffix.lower()} file written by ctfa")
    try:
        if path.suffix.lower() == ".nwb":  # io_class is ctfa_brian.nwb_io
            return io_class.load_nwb(path)
        with io_class(str(path), mode="ro") as reader:
            return reader.read_block()
    except Exception as err:  # noqa: BLE001  (h5py, nixio, pynwb and hdmf raise many kinds)
        raise ValueError(f"{str(path)!r} cannot be read as {kind} file: it is truncated or "
                         f"corrupt ({type(err).__name__}: {err})") from None
