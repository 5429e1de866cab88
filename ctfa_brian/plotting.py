"""Plot learning curves and recorded traces (matplotlib, brian2tools style).

Every function takes the data and an optional ``ax`` and returns the `matplotlib.axes.Axes` it
drew on; without ``ax`` it draws on ``matplotlib.pyplot.gca()``. matplotlib is imported only
when a function is called.

Example
-------
>>> from ctfa_brian.plotting import plot_learning_curve
>>> ax = plot_learning_curve(result, label="kp")                 # doctest: +SKIP
>>> ax.figure.savefig("learning_curve.png")                      # doctest: +SKIP
"""

import math

import numpy as np
from brian2 import Quantity, second

__all__ = ["plot_learning_curve", "plot_traces"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _number(value):
    return math.nan if value is None else float(value)


def _summary(result_or_summary):
    if isinstance(result_or_summary, dict):
        return result_or_summary
    if hasattr(result_or_summary, "summary"):
        return result_or_summary.summary()
    raise TypeError(f"expected a TrainingResult or its summary dict, got "
                    f"{type(result_or_summary).__name__}")


def plot_learning_curve(result_or_summary, ax=None, label=None):
    """Plot test accuracy against epoch and the online training accuracy (dashed).

    Parameters
    ----------
    result_or_summary : TrainingResult or dict
        A result, its ``summary()`` or the contents of a ``results.json``.
    ax : matplotlib.axes.Axes, optional
    label : str, optional
        Legend label of the test curve; the online curve gets ``"<label> (online train)"``.

    Returns
    -------
    matplotlib.axes.Axes
        With one line for the test accuracy (markers at each evaluation, the first before any
        training) and, if there is any, a dashed line in the same colour for the online
        training accuracy, each point placed at the end of its training chunk (the epoch of
        the test evaluation that follows it). The y axis spans 0 to 1.
    """
    ax = _axes(ax)
    summary = _summary(result_or_summary)
    curve = summary.get("learning_curve") or []
    online = summary.get("online_train_accuracy") or []
    epochs = np.array([_number(p["epoch"]) for p in curve])
    test = np.array([_number(p["test_accuracy"]) for p in curve])
    (line,) = ax.plot(epochs, test, marker="o", label=label or "test")
    if online:
        ends = np.sort(epochs)
        x = []
        for point in online:
            start = _number(point["epoch"])
            later = ends[ends > start]
            x.append(later[0] if len(later) else start)
        ax.plot(x, [_number(p["accuracy"]) for p in online], linestyle="--",
                color=line.get_color(),
                label=f"{label} (online train)" if label else "online train")
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.legend(loc="lower right")
    return ax


def plot_traces(recordings, group, var, ax=None):
    """Plot the recorded traces of ``group.var`` against time in seconds, one line per index.

    Parameters
    ----------
    recordings : dict or TrainingResult
        ``{group: {"t": Quantity, "indices": ndarray, var: ndarray (n_indices, n_times)}}``
        (`TrainingResult.recordings`).
    group : str
        E.g. ``"layer1"``, ``"output"``, ``"W1"``.
    var : str
        E.g. ``"z"``, ``"eps"``, ``"w"``, ``"v"``.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line per recorded index, labelled ``"<group>.<var>[<index>]"``.
    """
    if hasattr(recordings, "recordings"):
        recordings = recordings.recordings
    if group not in recordings:
        raise ValueError(f"nothing recorded from {group!r}; recorded groups: "
                         f"{', '.join(recordings) or 'none'}")
    entry = recordings[group]
    variables = [k for k in entry if k not in ("t", "indices")]
    if var not in variables:
        raise ValueError(f"{group!r} has no recorded variable {var!r}; recorded: "
                         f"{', '.join(variables)}")
    ax = _axes(ax)
    t = entry["t"]
    times = np.asarray(t / second if isinstance(t, Quantity) else t, dtype=float)
    values = np.asarray(entry[var], dtype=float)
    for index, trace in zip(np.asarray(entry["indices"]), values):
        ax.plot(times, trace, label=f"{group}.{var}[{index}]")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"{group}.{var}")
    return ax
