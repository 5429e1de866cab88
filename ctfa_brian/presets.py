"""Settings per data set: what the docs recommend for training a network on each one.

`ctfa train --dataset NAME` starts from these and lets every option given on the command line
win; the manifest records where each value came from (`merge`). Python users pass them on
themselves::

    from ctfa_brian.presets import PRESETS
    p = PRESETS["circles"]
    ModelParameters(hidden=p["hidden"], tau_pot_w=p["tau_pot"], tau_pot_v=p["tau_pot"])

The values are measured (docs/results.md, "Per data set"): T long enough against τ_prop for
the default depth, τ_pot/T = 40–50 (the paper's Fig. 7 threshold is ≈ 40), and enough epochs
for the frozen test accuracy to level off.
"""

from brian2 import ms, second

__all__ = ["AUTO_DT_TOLERANCE", "PRESETS", "auto_dt", "merge"]

#: ``{data set: {setting: value}}``; settings are ``hidden``, ``sample_time``, ``tau_pot``
#: (W and V), ``tau_dec`` (W and V), ``epochs``, ``anneal_to`` (`Training.anneal_to`) and
#: ``dt_auto`` (the step of ``--dt auto``, `auto_dt`).
#: 7×7 MNIST has 60 000 training samples: one epoch at T = 100 ms lasts 6000 s, five times the
#: default τ_dec of 20 min, and the passive decay then forgets what the samples taught: one
#: hidden layer reaches 0.862 with τ_dec = 20 min, 0.896 with 60 min, 0.917 with 10⁵ s
#: (docs/results.md, Paper Tables 2 and 3), so its preset keeps the decay negligible over the
#: run (10⁵ s ≈ 28 h, beyond the paper's Table 1 "minutes to tens of minutes", which assumes
#: runs of that length). Two epochs, not one: after one, 49-32 reached 0.882 on one seed of
#: three (0.918, 0.916, 0.882); after two, 0.923 on that seed (and 49: 0.917 → 0.929 on seed
#: 0). Every preset anneals the gate to 0.25 over the last epoch: with a constant gate the
#: frozen test accuracy of 7×7 MNIST 49-32 (seed 0) swung 0.88–0.93 between quarter epochs
#: and ended at 0.887; annealed, 0.934–0.937 over 3 seeds. Digits 49-32 (5 seeds): 0.924–0.949
#: → 0.960–0.967; digits 49: 0.938–0.956 → 0.962–0.964; circles 24-24-24: 0.936–0.992 →
#: 0.996 on 3 seeds (docs/results.md, "Per data set"). MNIST-1D and Yin-Yang (docs/results.md,
#: "MNIST-1D and Yin-Yang"): τ_pot from a scan at 20 epochs, 4 s for MNIST-1D (0.5–8 s: test
#: 0.34–0.59), 0.5 s for Yin-Yang (0.25–8 s: 0.79–0.92; it underfits, train ≈ test, so the
#: faster learning wins, τ_pot/T = 2.5), whose accuracy still rose from 20 to 40 epochs.
PRESETS = {
    "circles": {"hidden": (24,), "sample_time": 200 * ms, "tau_pot": 8 * second,
                "tau_dec": 1200 * second, "epochs": 10, "anneal_to": 0.25, "dt_auto": 5 * ms},
    "digits": {"hidden": (49,), "sample_time": 200 * ms, "tau_pot": 4 * second,
               "tau_dec": 1200 * second, "epochs": 4, "anneal_to": 0.25, "dt_auto": 5 * ms},
    "mnist7": {"hidden": (49,), "sample_time": 100 * ms, "tau_pot": 5 * second,
               "tau_dec": 1e5 * second, "epochs": 2, "anneal_to": 0.25, "dt_auto": 5 * ms},
    "mnist1d": {"hidden": (100,), "sample_time": 200 * ms, "tau_pot": 4 * second,
                "tau_dec": 1200 * second, "epochs": 20, "anneal_to": 0.25, "dt_auto": 5 * ms},
    "yinyang": {"hidden": (120,), "sample_time": 200 * ms, "tau_pot": 0.5 * second,
                "tau_dec": 1200 * second, "epochs": 40, "anneal_to": 0.25, "dt_auto": 5 * ms},
}

#: ``--dt auto``: the largest step whose final test accuracy stays within `AUTO_DT_TOLERANCE`
#: points of dt = 0.1 ms at the data set's preset (two seeds, forward Euler, rate variant;
#: docs/model.md, "The integration step"): 5 ms = τ_prop/2 on all three (digits ≤ 0.22 points,
#: circles ≤ 0.40, 7×7 MNIST ≤ 0.40 on a 6000-sample epoch). Without a preset: 1 ms.
AUTO_DT_TOLERANCE = 1.0
_AUTO_STEPS = (5, 4, 2.5, 2, 1, 0.5, 0.25, 0.2, 0.1)


def auto_dt(dataset, tau_prop, sample_time, buffer_time):
    """``--dt auto``: the data set's measured step (`PRESETS` ``dt_auto``, else 1 ms), capped at
    ``tau_prop``/2 and lowered until ``sample_time`` and ``buffer_time`` are whole numbers of
    steps."""
    cap = min(PRESETS.get(dataset, {}).get("dt_auto", 1 * ms), tau_prop / 2)
    for step in _AUTO_STEPS:
        dt = step * ms
        if dt <= cap * (1 + 1e-9) and all(
                abs(float(t / dt) - round(float(t / dt))) < 1e-9 for t in (sample_time,
                                                                         buffer_time)):
            return dt
    return 0.1 * ms


def merge(dataset, given):
    """The settings of a run on ``dataset``: ``given`` (not None) over the preset.

    Parameters
    ----------
    dataset : str
        A key of `PRESETS` (others have no preset: only ``given`` counts).
    given : dict
        ``{setting: value or None}`` as the user gave them, keyed like `PRESETS`, plus
        ``{setting + "_option": option text}`` naming the option for the manifest.

    Returns
    -------
    values : dict
        ``{setting: value}`` of every setting that has a value.
    sources : dict
        ``{setting: "--option" or "preset (dataset)"}``.
    """
    preset = PRESETS.get(dataset, {})
    values, sources = {}, {}
    for key in {*(k for k in preset if k != "dt_auto"),
                *(k for k in given if not k.endswith("_option"))}:
        value = given.get(key)
        if value is not None:
            values[key], sources[key] = value, given.get(f"{key}_option", "given")
        elif key in preset:
            values[key], sources[key] = preset[key], f"preset ({dataset})"
    return values, sources
