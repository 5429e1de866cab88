"""``ctfa analyze FILE``: firing rates, ISI statistics and overlaps of a saved Neo file.

Only formats that cannot execute code are read: NIX (``.nix``) and NWB (``.nwb``); a pickle is
refused (unpickling runs whatever the file says), as are empty, truncated and corrupt files.
"""

import numpy as np
from brian2 import ms

from ctfa_brian.cli_commands.common import EXIT_OK, fail
from ctfa_brian.outdir import check_out

__all__ = ["main"]


def main(args, argv):
    """Run ``ctfa analyze``; return the exit status."""
    import quantities as pq

    from ctfa_brian.io import write_json, write_rows
    from ctfa_brian.neo_io import load_neo

    try:
        block = load_neo(args.file)
    except (FileNotFoundError, ValueError, ImportError) as err:
        return fail(err)
    trains = [st for seg in block.segments for st in seg.spiketrains]
    if not trains:
        return fail(f"{args.file!r} holds no spike trains (record a spiking run with --record "
                     "--variant spiking, or run a protocol with variant = \"spiking\")")
    try:
        out = check_out(args.out, "--out", need_bytes=2**20)
    except ValueError as err:
        return fail(err)
    from ctfa_brian.spike_analysis import summarize_segment

    def q(value):
        return None if value is None else float(value / ms) * pq.ms

    rows = []
    for segment in block.segments:
        if segment.spiketrains:
            rows.extend(summarize_segment(segment, q(args.t_start), q(args.t_stop)))
    out.mkdir(parents=True, exist_ok=True)
    write_rows(rows, out / "analysis.csv")
    write_json(out / "analysis.json", {
        "file": str(args.file), "rows": rows,
        "annotations": {k: str(v) for k, v in block.annotations.items()}})
    paths = _analysis_figures(block, out, args)
    print(f"analysed {len(trains)} spike trains in {len(block.segments)} segment(s)")
    for row in rows[:20]:
        extra = f", overlap {row['overlap_s']:.4g} s" if row["overlap_s"] is not None else ""
        cv = f", CV {row['cv']:.2f}" if row["cv"] is not None else ""
        print(f"  {row['segment']}: {row['population']} {row['event']}: {row['n_trains']} "
              f"trains, {row['mean_rate_hz']:.3g} Hz{cv}{extra}")
    for name, path in {"table": out / "analysis.csv", "summary": out / "analysis.json",
                       **paths}.items():
        print(f"  {name + ':':<11} {path}")
    return EXIT_OK


def _analysis_figures(block, out, args):
    """Raster and rates of the first segment's populations, over ``--show`` from --t-start."""
    import quantities as pq
    from matplotlib.figure import Figure

    from ctfa_brian.io import save_figure
    from ctfa_brian.plotting import plot_raster, plot_rates
    from ctfa_brian.spike_analysis import firing_rates, populations

    segment = next(seg for seg in block.segments if seg.spiketrains)
    groups = populations(segment)
    keys = sorted(groups)[:8]
    start = float(args.t_start / ms) if args.t_start is not None else \
        float(min(st.t_start.rescale(pq.ms).magnitude for st in segment.spiketrains))
    stop = start + float(args.show / ms)
    paths = {}
    for kind in ("raster", "rates"):
        fig = Figure(figsize=(9, 1.8 * len(keys) + 0.8), layout="constrained")
        axes = np.atleast_1d(fig.subplots(len(keys), 1, sharex=True))
        for ax, key in zip(axes, keys):
            trains = groups[key]
            if kind == "raster":
                plot_raster(trains, ax=ax, t_start=start * pq.ms, t_stop=stop * pq.ms)
            else:
                end = min(stop, float(trains[0].t_stop.rescale(pq.ms).magnitude))
                rates = firing_rates(trains, kernel_width=float(args.kernel_width / ms) * pq.ms,
                                     t_start=start * pq.ms, t_stop=end * pq.ms)
                plot_rates(rates, ax=ax)
            ax.set_title(f"{key[0]} ({key[1]})", fontsize=9)
        fig.suptitle(f"{segment.name}: {kind}", fontsize=10)
        paths[kind] = save_figure(fig, out / f"{kind}.png", dpi=110)
    return paths
