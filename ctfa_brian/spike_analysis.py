"""Numbers from spike trains, with elephant: rates, ISI statistics, the input–error overlap.

Every function takes `neo` objects (`neo.SpikeTrain`, lists of them, a `neo.Segment`) and
returns `quantities` (or neo signals, which are quantities); nothing here imports the network
or a Brian2 device, so it works on saved data (`ctfa_brian.neo_io.load_neo`).

The spike trains `ctfa_brian.neo_io` writes carry annotations ``group`` (``input``,
``layer1``, …, ``output``, or a protocol's population), ``event`` (``spike``, ``err_pos``,
``err_neg``, ``neg``) and ``channel_index`` (the neuron); `select` picks them by those.

Example
-------
>>> from ctfa_brian.neo_io import load_neo
>>> from ctfa_brian.spike_analysis import firing_rates, select
>>> block = load_neo("runs/spiking/recordings.nix")                      # doctest: +SKIP
>>> hidden = select(block.segments[0], group="layer1", event="spike")    # doctest: +SKIP
>>> rates = firing_rates(hidden, kernel_width=20 * pq.ms)                # doctest: +SKIP
"""

import numpy as np
import quantities as pq

__all__ = ["firing_rates", "isi_statistics", "mean_rates", "overlap_at_zero",
           "overlap_correlation", "populations", "select", "summarize_segment"]


def select(segment_or_trains, **annotations):
    """The spike trains of ``segment_or_trains`` whose annotations equal ``annotations``.

    Parameters
    ----------
    segment_or_trains : neo.Segment or list of neo.SpikeTrain
    **annotations
        E.g. ``group="layer1", event="spike"``.

    Returns
    -------
    list of neo.SpikeTrain
        In the stored order (by ``channel_index`` for the package's own files).
    """
    trains = getattr(segment_or_trains, "spiketrains", segment_or_trains)
    out = [st for st in trains
           if all(st.annotations.get(k) == v for k, v in annotations.items())]
    return sorted(out, key=lambda st: st.annotations.get("channel_index", 0))


def _trains(spiketrains):
    import neo

    if isinstance(spiketrains, neo.SpikeTrain):
        return [spiketrains]
    trains = list(spiketrains)
    if not trains:
        raise ValueError("no spike trains given; select some first (e.g. select(segment, "
                         "group='layer1', event='spike'))")
    for k, st in enumerate(trains):
        if not isinstance(st, neo.SpikeTrain):
            raise TypeError(f"spiketrains[{k}] is a {type(st).__name__}, not a neo.SpikeTrain")
    return trains


def firing_rates(spiketrains, sampling_period=1 * pq.ms, kernel_width=20 * pq.ms,
                 t_start=None, t_stop=None):
    """Instantaneous firing rates (elephant's ``instantaneous_rate``, Gaussian kernel).

    Parameters
    ----------
    spiketrains : neo.SpikeTrain or list of neo.SpikeTrain
        All with the same ``t_start`` and ``t_stop``.
    sampling_period, kernel_width : quantities.Quantity
        Time step of the estimate and the kernel's standard deviation.
    t_start, t_stop : quantities.Quantity, optional
        Restrict the estimate to this interval.

    Returns
    -------
    neo.AnalogSignal
        In Hz, one channel per spike train.
    """
    from elephant import kernels
    from elephant.statistics import instantaneous_rate

    trains = _trains(spiketrains)
    kw = {}
    if t_start is not None:
        kw["t_start"] = t_start
    if t_stop is not None:
        kw["t_stop"] = t_stop
    rate = instantaneous_rate(trains, sampling_period=sampling_period,
                              kernel=kernels.GaussianKernel(kernel_width), **kw)
    return rate.rescale(pq.Hz)


def mean_rates(spiketrains, t_start=None, t_stop=None):
    """Mean firing rate of every train over [t_start, t_stop) (default: its whole span), Hz."""
    from elephant.statistics import mean_firing_rate

    trains = _trains(spiketrains)
    rates = [mean_firing_rate(st, t_start=t_start, t_stop=t_stop).rescale(pq.Hz).magnitude
             for st in trains]
    return np.asarray(rates, float) * pq.Hz


def isi_statistics(spiketrains):
    """Mean inter-spike interval and its coefficient of variation, per train.

    Returns
    -------
    dict
        ``mean_isi`` (ms; NaN with fewer than 2 spikes), ``cv`` (dimensionless; NaN with fewer
        than 3 spikes: one interval has no spread), ``n_spikes``.
    """
    from elephant.statistics import cv, isi

    trains = _trains(spiketrains)
    mean_isi, cvs, counts = [], [], []
    for st in trains:
        intervals = isi(st).rescale(pq.ms).magnitude if len(st) >= 2 else np.array([])
        mean_isi.append(intervals.mean() if len(intervals) else np.nan)
        cvs.append(float(cv(intervals)) if len(intervals) >= 2 else np.nan)
        counts.append(len(st))
    return {"mean_isi": np.asarray(mean_isi) * pq.ms,
            "cv": np.asarray(cvs) * pq.dimensionless,
            "n_spikes": np.asarray(counts)}


def overlap_correlation(pre, error_pos, error_neg=None, rate=200 * pq.Hz, bin_size=1 * pq.ms,
                        max_lag=100 * pq.ms):
    """Cross-correlation C(τ) = ∫ x(t) e(t + τ) dt of presynaptic activity and error.

    This is the paper's overlap quantity at a synapse: with the input and the error each a
    spike train at r·x(t) and r·[±e(t)]₊, the cross-correlation histogram (elephant's
    ``cross_correlation_histogram``) of pre against positive minus negative error spikes,
    divided by r² · bin, estimates ∫ x(t) e(t + τ) dt. At τ = 0 it is ∫ x e dt, the integral
    that the heterosynaptic rule turns into a weight change (for a box input and error of
    length T, Δ apart: ``(T − |Δ|)₊``). Trials (lists of equal length) are averaged.

    Parameters
    ----------
    pre, error_pos : neo.SpikeTrain or list of neo.SpikeTrain
        Presynaptic and positive-error spike trains (one per trial).
    error_neg : neo.SpikeTrain or list, optional
        Negative-error spike trains (counted with a minus sign).
    rate : quantities.Quantity
        r: the rate that stands for the value 1.
    bin_size, max_lag : quantities.Quantity

    Returns
    -------
    tuple of quantities.Quantity
        ``(lags, C)``: lags τ (ms, positive: the error comes after the input) and C(τ) in
        seconds.
    """
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram

    pre = _trains(pre)
    pos = _trains(error_pos)
    neg = _trains(error_neg) if error_neg is not None else [None] * len(pre)
    if not len(pre) == len(pos) == len(neg):
        raise ValueError(f"pre, error_pos and error_neg need one train per trial; got "
                         f"{len(pre)}, {len(pos)} and {len(neg)}")
    n_lags = int(round(float((max_lag / bin_size).simplified)))
    total = np.zeros(2 * n_lags + 1)

    def binned(train, start, stop):
        return BinnedSpikeTrain(train.time_slice(start, stop), bin_size=bin_size, tolerance=None)

    for x, ep, en in zip(pre, pos, neg):
        # a whole number of bins from the common start (no rounding of the bin count)
        start = x.t_start
        n_bins = int(np.floor(float(((x.t_stop - start) / bin_size).simplified) + 1e-9))
        stop = start + n_bins * bin_size.rescale(start.units)
        bx = binned(x, start, stop)
        for train, sign in ((ep, 1.0), (en, -1.0)):
            if train is None or len(train) == 0 or len(x) == 0:
                continue
            cch, _ = cross_correlation_histogram(bx, binned(train, start, stop),
                                                 window=[-n_lags, n_lags])
            total += sign * np.asarray(cch.magnitude).ravel()
    r = float(rate.rescale(pq.Hz).magnitude)
    b = float(bin_size.rescale(pq.s).magnitude)
    lags = np.arange(-n_lags, n_lags + 1) * float(bin_size.rescale(pq.ms).magnitude) * pq.ms
    return lags, total / (len(pre) * r * r * b) * pq.s


def overlap_at_zero(pre, error_pos, error_neg=None, rate=200 * pq.Hz, bin_size=5 * pq.ms):
    """C(0) = ∫ x e dt: the central bin (width ``bin_size``) of `overlap_correlation`, s."""
    lags, corr = overlap_correlation(pre, error_pos, error_neg, rate=rate, bin_size=bin_size,
                                     max_lag=bin_size)
    return corr[int(np.argmin(np.abs(lags.magnitude)))]


def _population(st):
    a = st.annotations
    group = a.get("group") or a.get("circuit") or a.get("population") or "spikes"
    if a.get("circuit") and a.get("population"):
        group = f"{a['circuit']}.{a['population']}"
    return str(group), str(a.get("event", "spike"))


def populations(segment, t_start=None, t_stop=None):
    """``{(population, event): [trains]}`` of ``segment``, each train cut to
    [t_start, t_stop) where given. The population is the ``group`` annotation (runs) or
    ``circuit.population`` (protocols), the event ``spike``, ``err_pos``, ``err_neg``, ``neg``.
    """
    out = {}
    for st in segment.spiketrains:
        if t_start is not None or t_stop is not None:
            st = st.time_slice(t_start, t_stop)
        out.setdefault(_population(st), []).append(st)
    return out


def summarize_segment(segment, t_start=None, t_stop=None):
    """Per-population statistics of every spike train of ``segment`` (`populations`).

    With ``t_start``/``t_stop`` every train is cut to that interval first. Where a protocol's
    circuit holds one presynaptic (``population="pre"``) and error trains (``err_pos``,
    ``err_neg``), its C(0) (`overlap_at_zero`, 5 ms bin, the rate from ``max_rate_hz``) is
    added to the presynaptic row.

    Returns
    -------
    list of dict
        One row per population and event: ``segment``, ``population``, ``event``,
        ``n_trains``, ``n_spikes``, ``mean_rate_hz`` (mean over trains), ``mean_isi_ms`` and
        ``cv`` (means over trains that have them), and ``overlap_s`` (or None).
    """
    groups = populations(segment, t_start, t_stop)
    rows = []
    for (population, event), trains in sorted(groups.items()):
        rates = mean_rates(trains)
        stats = isi_statistics(trains)
        isi_ms = stats["mean_isi"].magnitude
        cvs = stats["cv"].magnitude
        overlap = None
        circuit = population[:-len(".pre")] if population.endswith(".pre") else None
        errors = {e: groups.get((f"{circuit}.error", e)) for e in ("err_pos", "err_neg")}
        if circuit and len(trains) == 1 and errors["err_pos"]:
            rate = float(trains[0].annotations.get("max_rate_hz", 200.0)) * pq.Hz
            overlap = float(overlap_at_zero(trains[0], errors["err_pos"][0],
                                            (errors["err_neg"] or [None])[0], rate).magnitude)
        rows.append({
            "segment": segment.name, "population": population, "event": event,
            "n_trains": len(trains), "n_spikes": int(stats["n_spikes"].sum()),
            "mean_rate_hz": float(np.mean(rates.magnitude)),
            "mean_isi_ms": float(np.nanmean(isi_ms)) if np.isfinite(isi_ms).any() else None,
            "cv": float(np.nanmean(cvs)) if np.isfinite(cvs).any() else None,
            "overlap_s": overlap,
        })
    return rows
