"""One result type for the single-synapse protocols: a response over trials next to its law.

Every single-synapse protocol, rate or spiking, measures the same kind of thing — ΔW at each
delay or condition, over independent trials (one, for a deterministic rate synapse) — and
compares it with an analytic law (`ctfa_brian.protocols.laws`). `Curve` holds one such
measurement with its law; the protocols' results (`overlap_report.Sweep`,
`window_report.Window`, `transition_report.Transition`, `_spiking_synapse.SpikingCurves`) are
curves plus what else each recorded (traces, spikes, delays, timings). NumPy only.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SEM_ALLOWANCE", "Curve"]

#: A trial mean agrees with its law within this many standard errors (plus the tolerance).
SEM_ALLOWANCE = 4.0


@dataclass
class Curve:
    """A response at each point (a delay, a condition) over trials, next to its law.

    Attributes
    ----------
    trials : ndarray
        Shape (n_points, n_trials); a 1-D array is one trial (a deterministic rate synapse).
    law : ndarray
        The law's expected value at each point, shape (n_points,).
    info : dict
        What the curve is (``variant``, ``tau_pot``, ``tau_elig``, ``law_name``, ...); each
        entry also reads as an attribute (``curve.variant``).
    """

    trials: np.ndarray
    law: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        trials = np.asarray(self.trials, float)
        self.trials = trials[:, None] if trials.ndim == 1 else trials
        self.law = np.asarray(self.law, float)

    def __getattr__(self, name):
        try:
            return self.__dict__["info"][name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no {name!r}") from None

    @property
    def n_trials(self):
        return self.trials.shape[1]

    @property
    def _identical(self):
        return np.all(self.trials == self.trials[:, :1], axis=1)

    @property
    def mean(self):
        """Mean over trials (exactly the value where every trial is the same; one trial: that
        trial, as it is)."""
        if self.n_trials == 1:
            return self.trials[:, 0]
        return np.where(self._identical, self.trials[:, 0] + 0.0, self.trials.mean(axis=1))

    @property
    def sem(self):
        """Standard error of the mean over trials (exactly 0 for identical trials)."""
        if self.n_trials < 2:
            return np.zeros(len(self.trials))
        sem = self.trials.std(axis=1, ddof=1) / np.sqrt(self.n_trials)
        return np.where(self._identical, 0.0, sem)

    def deviation(self, peak=None):
        """Largest ``|mean − law|`` as a fraction of ``peak`` (default: the law's largest
        ``|value|``)."""
        peak = float(np.max(np.abs(self.law))) if peak is None else peak
        return float(np.max(np.abs(self.mean - self.law)) / peak)

    def deviation_sem(self):
        """Largest ``|mean − law|`` in standard errors (None for a curve without spread)."""
        sem = self.sem
        diff = np.abs(self.mean - self.law)
        return float(np.max(diff[sem > 0] / sem[sem > 0])) if np.any(sem > 0) else None

    def agrees(self, tolerance, peak=None):
        """Whether every ``|mean − law|`` ≤ tolerance · peak + `SEM_ALLOWANCE` · s.e.m., and the
        worst excess in standard errors (``peak`` default: the law's largest ``|value|``)."""
        peak = float(np.max(np.abs(self.law))) if peak is None else peak
        sem = self.sem
        excess = np.abs(self.mean - self.law) - tolerance * peak
        worst = float(np.max(excess / np.where(sem > 0, sem, np.inf)))
        return bool(np.all(excess <= SEM_ALLOWANCE * sem)), worst
