"""Learning-curve and trace plots draw the data they are given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from brian2 import ms  # noqa: E402

from ctfa_brian.plotting import plot_learning_curve, plot_traces  # noqa: E402
from ctfa_brian.training import TrainingResult  # noqa: E402

SUMMARY = {
    "test_accuracy": 0.8,
    "train_accuracy": 0.85,
    "learning_curve": [{"epoch": 0.0, "test_accuracy": 0.3},
                       {"epoch": 0.5, "test_accuracy": 0.6},
                       {"epoch": 1.0, "test_accuracy": 0.8}],
    "online_train_accuracy": [{"epoch": 0.0, "accuracy": 0.4},
                              {"epoch": 0.5, "accuracy": 0.7}],
    "timings_s": {},
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_learning_curve_lines_and_data():
    fig, ax = plt.subplots()
    returned = plot_learning_curve(SUMMARY, ax=ax)
    assert returned is ax
    lines = ax.get_lines()
    assert len(lines) == 2
    test, online = lines
    np.testing.assert_array_equal(test.get_xdata(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(test.get_ydata(), [0.3, 0.6, 0.8])
    assert test.get_linestyle() == "-"
    # each online point sits at the end of its training chunk
    np.testing.assert_array_equal(online.get_xdata(), [0.5, 1.0])
    np.testing.assert_array_equal(online.get_ydata(), [0.4, 0.7])
    assert online.get_linestyle() == "--"
    assert online.get_color() == test.get_color()
    assert ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["test", "online train"]


def test_learning_curve_from_result_with_label_and_default_axes():
    result = TrainingResult(0.8, 0.85, SUMMARY["learning_curve"],
                            SUMMARY["online_train_accuracy"], weights={})
    ax = plot_learning_curve(result, label="kp")
    assert ax is plt.gca()
    assert [line.get_label() for line in ax.get_lines()] == ["kp", "kp (online train)"]
    plot_learning_curve({**SUMMARY, "online_train_accuracy": []}, ax=ax, label="fa")
    assert len(ax.get_lines()) == 3  # the second curve has no online accuracy


def test_learning_curve_reads_null_from_json():
    summary = {"learning_curve": [{"epoch": 0.0, "test_accuracy": 0.5},
                                  {"epoch": 1.0, "test_accuracy": None}],
               "online_train_accuracy": []}
    ax = plot_learning_curve(summary)
    assert len(ax.get_lines()) == 1
    ydata = ax.get_lines()[0].get_ydata()
    assert ydata[0] == 0.5 and np.isnan(ydata[1])


def test_learning_curve_rejects_other_types():
    with pytest.raises(TypeError, match="TrainingResult"):
        plot_learning_curve([0.1, 0.2])


def _recordings():
    t = np.arange(5) * ms + 10 * ms
    return {"layer1": {"t": t, "indices": np.array([0, 3]),
                       "z": np.array([[0.0, 1, 2, 3, 4], [5.0, 6, 7, 8, 9]]),
                       "eps": np.zeros((2, 5))}}


def test_traces_one_line_per_index_in_seconds():
    recordings = _recordings()
    fig, ax = plt.subplots()
    assert plot_traces(recordings, "layer1", "z", ax=ax) is ax
    lines = ax.get_lines()
    assert len(lines) == 2
    for line, row in zip(lines, recordings["layer1"]["z"]):
        np.testing.assert_allclose(line.get_xdata(), [0.010, 0.011, 0.012, 0.013, 0.014])
        np.testing.assert_array_equal(line.get_ydata(), row)
    assert [line.get_label() for line in lines] == ["layer1.z[0]", "layer1.z[3]"]
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "layer1.z"


def test_traces_accepts_a_result_and_rejects_unknown_names():
    result = TrainingResult(0.5, 0.5, [], [], weights={}, recordings=_recordings())
    ax = plot_traces(result, "layer1", "eps")
    assert len(ax.get_lines()) == 2
    with pytest.raises(ValueError, match="nothing recorded from 'W9'; recorded groups: layer1"):
        plot_traces(result, "W9", "w")
    with pytest.raises(ValueError, match="no recorded variable 'w'; recorded: z, eps"):
        plot_traces(result, "layer1", "w")
