"""Neo blocks as NWB files (``.nwb``, Neo's ``NWBIO``), and the choice of output format.

`save_nwb` writes a `neo.Block` with ``neo.io.NWBIO`` (pynwb: ``pip install
"ctfa_brian[nwb]"``) through a temporary file; `load_nwb` reads it back as the same Block.
NWBIO keeps the samples, spike times (in seconds), sampling rates and spike train names, but
not Neo's annotations (only the few block annotations that NWB has fields for, ``protocol``
among them), nor array annotations, nor empty segments, nor the order of signals; it reads
units back from their names (``ms`` as metres, ``dimensionless`` with a warning), and it
renames every signal ``"<segment> <signal> <i>"`` in the Block it is given. So the Block is
written from a copy, and what NWBIO drops goes, as JSON, into the file's ``notes``
(`NWB_NOTES_KEY`):

.. code-block:: python

    import json, pynwb

    with pynwb.NWBHDF5IO("recordings.nwb", "r") as io:
        nwb = io.read()
        params = json.loads(nwb.notes)["block"]["annotations"]     # delay_ms, tau_pot_w_s, ...
        spikes = nwb.units.to_dataframe()                          # spike_times in s, _name
        z = nwb.acquisition["run layer1.z 0"].data[:]              # (n_times, n_channels)

`load_nwb` restores names, units, annotations (units in the key, ``delay_ms``), array
annotations and the order of segments and signals from those notes; spike times come back in
their own unit (ms) to within rounding (NWB stores seconds).

`FORMATS` are what ``--format`` takes; `output_format` sets the format that protocol outputs
(`ctfa_brian.neo_io.save_neo_formats`) are written in for the duration of a run.
"""

import contextlib
import contextvars
import io
import json
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ctfa_brian.io import atomic_path

__all__ = ["FORMATS", "NWB_NOTES_KEY", "check_format", "current_format", "format_suffixes",
           "load_nwb", "output_format", "require_nwb", "save_nwb"]

#: The values of ``--format``: NIX only (the default), NWB only, or both.
FORMATS = ("nix", "nwb", "both")
#: The key of the JSON in an NWB file's ``notes`` that holds what NWBIO does not keep.
NWB_NOTES_KEY = "ctfa_neo"
_INSTALL = 'pip install "ctfa_brian[nwb]"'
_FORMAT = contextvars.ContextVar("ctfa_neo_format", default="nix")


def require_nwb(what="NWB files"):
    """Import pynwb and return Neo's NWBIO; raise ImportError saying how to install pynwb."""
    try:
        import pynwb  # noqa: F401
        from neo.io import NWBIO
    except ImportError as err:
        raise ImportError(f"{what} need pynwb, which is not installed ({err}); install it "
                          f"with {_INSTALL}") from None
    return NWBIO


def check_format(value, option="--format"):
    """Return ``value`` if it is one of `FORMATS` whose libraries are installed.

    Raises
    ------
    ValueError
        Not one of `FORMATS`, or ``nwb``/``both`` without pynwb (the message says how to
        install it); the message names ``option``.
    """
    if value not in FORMATS:
        raise ValueError(f"{option} {value!r} is not allowed; choose one of: "
                         f"{', '.join(FORMATS)}")
    if value != "nix":
        try:
            require_nwb(f"{option} {value}: NWB files")
        except ImportError as err:
            raise ValueError(str(err)) from None
    return value


def format_suffixes(value):
    """The file suffixes of the format ``value``: ``(".nix",)``, ``(".nwb",)`` or both."""
    return {"nix": (".nix",), "nwb": (".nwb",), "both": (".nix", ".nwb")}[check_format(value)]


@contextlib.contextmanager
def output_format(value):
    """Within the ``with`` block, `current_format` is ``value`` (checked, see `check_format`)."""
    token = _FORMAT.set(check_format(value))
    try:
        yield value
    finally:
        _FORMAT.reset(token)


def current_format():
    """The format set by `output_format` (``"nix"`` outside of one)."""
    return _FORMAT.get()


class _Drop(logging.Filter):
    def __init__(self, *starts):
        super().__init__()
        self.starts = starts

    def filter(self, record):
        return not str(record.msg).startswith(self.starts)


@contextlib.contextmanager
def _quiet():
    """Silence NWBIO's chatter: a root-logger warning per signal it renames, one per unit it
    cannot name, its deprecation warnings and what it prints before re-raising."""
    import warnings

    loggers = [(logging.getLogger(), _Drop("Warning signal name exists",
                                           "Warning event name exists")),
               (logging.getLogger("Neo"), _Drop("Can't handle unit"))]
    for logger, drop in loggers:
        logger.addFilter(drop)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"neo\.io")
            warnings.filterwarnings("ignore", "AnnotationSeries is deprecated")
            yield
    finally:
        for logger, drop in loggers:
            logger.removeFilter(drop)


def _plain(value):
    """``value`` as JSON can hold it (NumPy scalars and arrays, tuples, datetimes); without
    the ``nix_name`` that writing a NIX file of the same Block adds to its annotations."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if k != "nix_name"}
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _arrays(annotations):
    return {k: {"dtype": str(np.asarray(v).dtype), "values": _plain(np.asarray(v))}
            for k, v in annotations.items()}


def _unarrays(entries):
    return {k: np.asarray(e["values"], dtype=e["dtype"]) for k, e in entries.items()}


def _safe(name):
    """A name NWB can hold (no ``/``)."""
    return str(name).replace("/", "_")


def _meta(obj, nwb_name, **extra):
    """What NWBIO does not keep of the Neo object ``obj``, written under ``nwb_name``."""
    return {"nwb_name": nwb_name, "name": obj.name, "description": obj.description,
            "units": obj.dimensionality.string, "annotations": _plain(obj.annotations),
            "array_annotations": _arrays(obj.array_annotations), **extra}


def _copy(block):
    """A copy of ``block`` that NWBIO may rename, and the notes that restore the original."""
    import neo

    copy = neo.Block(name=_safe(block.name or "block"))
    segments, seen = [], set()
    for k, segment in enumerate(block.segments):
        seg_name = _safe(segment.name or f"segment{k}")
        if seg_name in seen:
            seg_name = f"{seg_name} #{k}"
        seen.add(seg_name)
        seg = neo.Segment(name=seg_name)
        entry = {"name": segment.name, "nwb_name": seg_name, "description": segment.description,
                 "annotations": _plain(segment.annotations), "signals": [], "spiketrains": [],
                 "events": [], "epochs": []}
        signals = [*segment.analogsignals, *segment.irregularlysampledsignals]
        for i, signal in enumerate(signals):  # NWBIO names them "<segment> <signal> <i>"
            name, time_units = _safe(signal.name or f"signal{i}"), signal.t_start.units
            regular = isinstance(signal, neo.AnalogSignal)
            meta = _meta(signal, f"{seg_name} {name} {i}", regular=regular,
                         time_units=time_units.dimensionality.string,
                         t_start=float(signal.t_start))
            if regular:
                meta["sampling_period"] = float(signal.sampling_period.rescale(time_units))
                seg.analogsignals.append(neo.AnalogSignal(
                    signal.magnitude, units=signal.units, t_start=signal.t_start,
                    sampling_period=signal.sampling_period, name=name))
            else:
                seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
                    signal.times, signal.magnitude, units=signal.units, name=name))
            entry["signals"].append(meta)
        for train in segment.spiketrains:  # rows of the units table, in this order
            entry["spiketrains"].append(_meta(train, train.name, t_start=float(train.t_start),
                                              t_stop=float(train.t_stop)))
            seg.spiketrains.append(neo.SpikeTrain(train.times, t_stop=train.t_stop,
                                                  t_start=train.t_start, name=train.name))
        for i, event in enumerate(segment.events):  # NWBIO: "<segment>  <event> <i>"
            name = _safe(event.name or f"event{i}")
            entry["events"].append(_meta(event, f"{seg_name}  {name} {i}"))
            seg.events.append(neo.Event(event.times, labels=event.labels, name=name))
        for i, epoch in enumerate(segment.epochs):  # one name per Epoch in the whole file
            name = f"{seg_name} {_safe(epoch.name or 'epoch')} {i}"
            entry["epochs"].append(_meta(epoch, name))
            seg.epochs.append(neo.Epoch(epoch.times, durations=epoch.durations,
                                        labels=epoch.labels, name=name))
        copy.segments.append(seg)
        segments.append(entry)
    copy.check_relationships()
    notes = {NWB_NOTES_KEY: 1, "block": {"name": block.name, "description": block.description,
                                         "annotations": _plain(block.annotations)},
             "segments": segments}
    return copy, notes


def save_nwb(block, path, session_start_time=None):
    """Write ``block`` to the NWB file ``path`` (Neo's NWBIO) through a temporary file.

    Parameters
    ----------
    block : neo.Block
        Left as it is (NWBIO writes a copy).
    path : str or Path
        A ``.nwb`` path.
    session_start_time : datetime, optional
        NWB's required start of the session; default ``block.rec_datetime``, else now (UTC).
        The file's ``identifier`` is a new UUID, its ``session_description`` the block's
        description, its ``protocol`` the block's ``protocol`` annotation, its ``notes`` the
        JSON that `load_nwb` restores the Block from.

    Returns
    -------
    Path
    """
    nwb_class = require_nwb()
    path = Path(path)
    copy, notes = _copy(block)
    start = session_start_time or block.rec_datetime or datetime.now(UTC)
    if start.tzinfo is None:
        start = start.astimezone()  # a naive time is local time
    copy.annotations.update(
        session_start_time=start, identifier=str(uuid.uuid4()),
        session_description=block.description or f"ctfa_brian {block.name or 'block'}",
        notes=json.dumps(notes))
    if isinstance(block.annotations.get("protocol"), str):
        copy.annotations["protocol"] = block.annotations["protocol"]
    with atomic_path(path) as tmp, _quiet():
        nwb_class(str(tmp), mode="w").write_block(copy)  # and validates it (pynwb)
    return path


def _kw(meta, units=None):
    import quantities as pq

    return dict(units=units or pq.Quantity(1.0, meta["units"]), name=meta["name"],
                description=meta["description"],
                array_annotations=_unarrays(meta["array_annotations"]))


def _add(objects, obj, meta):
    """Append ``obj`` to ``objects`` with the annotations of ``meta`` (set afterwards: an
    annotation may be named like an argument of the constructor)."""
    obj.annotations.update(meta["annotations"])
    objects.append(obj)


def _restored_segment(entry, old):
    """The Segment of ``entry`` (notes) from ``old`` (as NWBIO read it, or None)."""
    import neo
    import quantities as pq

    seg = neo.Segment(name=entry["name"], description=entry["description"])
    seg.annotations.update(entry["annotations"])
    old = old if old is not None else neo.Segment()
    read = {s.name: s for s in [*old.analogsignals, *old.irregularlysampledsignals,
                                *old.events, *old.epochs]}
    for meta in entry["signals"]:
        signal, time_units = read[meta["nwb_name"]], pq.Quantity(1.0, meta["time_units"])
        if meta["regular"]:
            _add(seg.analogsignals, neo.AnalogSignal(
                signal.magnitude, t_start=meta["t_start"] * time_units,
                sampling_period=meta["sampling_period"] * time_units, **_kw(meta)), meta)
        else:
            _add(seg.irregularlysampledsignals, neo.IrregularlySampledSignal(
                signal.times.rescale(time_units), signal.magnitude, **_kw(meta)), meta)
    if len(old.spiketrains) != len(entry["spiketrains"]):
        raise ValueError(f"segment {entry['name']!r} has {len(old.spiketrains)} spike trains, "
                         f"its notes {len(entry['spiketrains'])}")
    for train, meta in zip(old.spiketrains, entry["spiketrains"]):
        units = pq.Quantity(1.0, meta["units"])
        _add(seg.spiketrains, neo.SpikeTrain(
            train.rescale(units).magnitude, t_start=meta["t_start"] * units,
            t_stop=meta["t_stop"] * units, **_kw(meta, units)), meta)
    for meta in entry["events"]:
        event, units = read[meta["nwb_name"]], pq.Quantity(1.0, meta["units"])
        _add(seg.events, neo.Event(event.times.rescale(units),
                                   labels=np.asarray(event.labels).astype(str), **_kw(meta)),
             meta)
    for meta in entry["epochs"]:
        epoch, units = read[meta["nwb_name"]], pq.Quantity(1.0, meta["units"])
        labels = [np.ravel(label)[0] if np.size(label) else "" for label in epoch.labels]
        _add(seg.epochs, neo.Epoch(epoch.times.rescale(units),
                                   durations=epoch.durations.rescale(units),
                                   labels=np.asarray(labels).astype(str), **_kw(meta)), meta)
    return seg


def _restored(path, raw):
    """The Block of ``raw`` (as NWBIO read it) with what the notes of the file keep."""
    import neo

    try:
        notes = json.loads(raw.annotations.get("notes") or "")
    except ValueError:
        notes = None
    if not isinstance(notes, dict) or NWB_NOTES_KEY not in notes:
        return raw  # not written by ctfa: as NWBIO reads it
    info = notes["block"]
    block = neo.Block(name=info["name"], description=info["description"],
                      rec_datetime=raw.rec_datetime, file_origin=str(path))
    block.annotations.update(info["annotations"])
    by_name = {seg.name: seg for seg in raw.segments}
    for entry in notes["segments"]:
        block.segments.append(_restored_segment(entry, by_name.get(entry["nwb_name"])))
    block.check_relationships()
    return block


def load_nwb(path):
    """Read the Block that `save_nwb` wrote to ``path`` (any other NWB file: as NWBIO reads it).

    Errors (a truncated or corrupt file) are NWBIO's and pynwb's; `ctfa_brian.neo_io.load_neo`
    turns them into a ValueError naming the file.
    """
    reader = require_nwb()(str(path), mode="r")
    try:
        with _quiet():
            blocks = reader.read_all_blocks()
            raw = blocks[0] if blocks else None
            if raw is None:  # nothing but annotations: NWBIO makes no Block
                import neo

                raw = neo.Block(notes=getattr(reader._file, "notes", None),
                                rec_datetime=reader._file.session_start_time)
            return _restored(path, raw)
    finally:
        reader.close()
