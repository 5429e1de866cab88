"""What a training run produced: `TrainingResult`, and `collect`, which reads it from a run
network (one replica at a time) and says whether the run finished, blew up or was stopped."""

import signal
from dataclasses import dataclass, field

import numpy as np
from brian2 import second
from brian2.utils.logger import get_logger

from ctfa_brian import interrupts
from ctfa_brian.guard import BlowUpError, find_nonfinite

__all__ = ["TrainingResult", "accuracies", "collect", "saturated_fractions"]

logger = get_logger(__name__)


@dataclass
class TrainingResult:
    """What one run produced.

    Attributes
    ----------
    test_accuracy, train_accuracy : float
        Frozen evaluation after the last epoch (NaN if the run stopped before it).
    learning_curve : list of dict
        ``{"epoch": float, "test_accuracy": float}`` for every test evaluation, the first one
        before any training.
    online_train_accuracy : list of dict
        ``{"epoch": float, "accuracy": float}``: fraction of training samples classified
        correctly at the end of their own presentation, while learning (optimistic: see docs).
    weights : dict of ndarray
        Final W (``W1``…), V (``V1``…) and biases (``b_layer1``…, ``b_output``).
    recordings : dict
        ``{group: {"t": Quantity, var: ndarray (n_indices, n_times), "indices": ndarray}}``.
    readout : ndarray
        Output rates at the end of every period, shape (n_periods, n_classes).
    test_confusion : ndarray or None
        Confusion matrix of the final frozen test evaluation, ``[true, predicted]`` counts.
    spikes : dict
        Spiking variant, groups in ``Recording.spikes``: ``{group: {"indices": ndarray,
        event: {"i": ndarray, "t": Quantity}}}`` for the events ``spike``, ``err_pos``,
        ``err_neg`` (and ``neg`` of a signed input).
    timings : dict
        Wall-clock seconds: ``build`` (code generation and compilation), ``run``.
    duration : Quantity or None
        Simulated time of the whole presentation.
    saturated : dict
        ``{name: fraction}`` of the W, V and biases that ended at the bound ±w_max (only the
        names with any): held there by a runaway of the learning loop or by a bound tighter
        than the weights need, see `ModelParameters.w_max`.
    overrides : dict
        What this run changed relative to the built network (seed, delay, ...).
    """

    test_accuracy: float
    train_accuracy: float
    learning_curve: list
    online_train_accuracy: list
    weights: dict
    recordings: dict = field(default_factory=dict)
    readout: np.ndarray = None
    test_confusion: np.ndarray = None
    spikes: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)
    duration: object = None
    saturated: dict = field(default_factory=dict)

    @property
    def test_balanced_accuracy(self):
        """Mean recall over classes of the final test evaluation (chance: 1 / n_classes,
        whatever the class balance); NaN if the run stopped before it."""
        if self.test_confusion is None:
            return float("nan")
        counts = self.test_confusion.sum(axis=1)
        seen = counts > 0
        return float(np.mean(np.diag(self.test_confusion)[seen] / counts[seen]))

    def summary(self):
        """The scalar results and the curves as plain JSON-able data."""
        return {
            "test_accuracy": self.test_accuracy,
            "test_balanced_accuracy": self.test_balanced_accuracy,
            "train_accuracy": self.train_accuracy,
            "learning_curve": self.learning_curve,
            "online_train_accuracy": self.online_train_accuracy,
            "saturated": self.saturated,
            "timings_s": self.timings,
        }


def saturated_fractions(weights, w_max):
    """``{name: fraction}`` of the entries of ``weights`` at ±w_max (names with any)."""
    out = {}
    for name, values in weights.items():
        values = np.abs(np.asarray(values))
        fraction = float(np.mean(values >= w_max * (1 - 1e-9))) if values.size else 0.0
        if fraction > 0:
            out[name] = round(fraction, 4)
    return out


def accuracies(presentation, readout, n_valid):
    """Test, train accuracy, learning curve, online accuracy and the final test confusion
    matrix of the blocks that finished within the first ``n_valid`` periods."""
    curve, online, final_test, final_train = [], [], np.nan, np.nan
    confusion = None
    for block in presentation.blocks:
        if block.stop > n_valid:
            break
        pred = np.argmax(readout[block.start:block.stop], axis=1)
        acc = float(np.mean(pred == presentation.labels[block.start:block.stop]))
        if block.kind == "train":
            online.append({"epoch": block.epoch, "accuracy": acc})
        elif block.split == "test":
            curve.append({"epoch": block.epoch, "test_accuracy": acc})
            final_test = acc
            n_classes = readout.shape[1]
            confusion = np.zeros((n_classes, n_classes), dtype=int)
            np.add.at(confusion, (presentation.labels[block.start:block.stop], pred), 1)
        else:
            final_train = acc
    return final_test, final_train, curve, online, confusion


def collect(net, presentation, seed, overrides, timings, recordings=None, replica=None):
    """The `TrainingResult` of replica ``replica`` (None: the only one) of the run ``net``.

    Raises
    ------
    BlowUpError
        A guarded state variable of this replica is NaN or infinite, or its readout stopped
        being finite; ``error.partial`` holds the result up to then.
    ctfa_brian.interrupts.Interrupted
        The run stopped early with every value finite (a signal).
    """
    readout = net.readout_values(replica)
    n_valid = len(readout)
    finite = np.all(np.isfinite(readout), axis=1)
    if not finite.all():
        n_valid = int(np.argmin(finite))
    test, train, curve, online, confusion = accuracies(presentation, readout, n_valid)
    result = TrainingResult(
        test, train, curve, online,
        test_confusion=confusion,
        weights=net.weights(replica),
        recordings=recordings or {},
        spikes=net.spikes() if replica is None else {},
        readout=readout,
        timings=dict(timings),
        overrides={"seed": seed, **{k: str(v) for k, v in overrides.items()}},
        duration=net.duration,
    )
    w_max = float(overrides.get("w_max", net.model.w_max))
    result.saturated = saturated_fractions(result.weights, w_max)
    if result.saturated:
        logger.warning(f"weights ended at the bound w_max = {w_max:g} (fraction per group: "
                       f"{result.saturated}): held there, by a runaway of the learning loop "
                       "or a bound tighter than the weights need (docs/model.md, "
                       "\"Stability\")")
    bad = find_nonfinite(net.guarded_of(replica))
    stopped_by = interrupts.received()
    if bad is None and finite.all() and n_valid < net.n_periods:
        # stopped early with every value finite: a signal, never a blow-up
        t_stop = float(net.output.clock.t[:])
        name = interrupts.signal_name(stopped_by) if stopped_by else "an outside stop"
        raise interrupts.Interrupted(
            stopped_by or signal.SIGINT, time=t_stop * second, partial=result,
            message=f"interrupted by {name} at t = {t_stop:.3f} s of "
                    f"{float(net.duration):.3f} s (period {n_valid} of {net.n_periods}); "
                    "what finished is kept")
    if bad is not None or n_valid < net.n_periods:
        group, var = bad or ("output", "z")
        # the end of the first period whose output was no longer finite (or the time the
        # guard stopped the run, if the output never was)
        t_stop = min((n_valid + 1) * float(net.schedule.period),
                     float(net.output.clock.t[:]))
        raise BlowUpError(
            f"the simulation blew up: {group}.{var} became NaN or infinite; stopped at "
            f"t = {t_stop:.3f} s of {float(net.duration):.3f} s (period "
            f"{n_valid} of {net.n_periods}). Recorded data up to then is in "
            "error.partial. Try a longer tau_pot (a smaller T/tau_pot), a smaller dt or "
            "less noise.",
            variable=f"{group}.{var}", time=t_stop * second, partial=result)
    return result
