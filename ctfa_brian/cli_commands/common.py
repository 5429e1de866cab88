"""What the subcommands share: exit statuses, the option names users type, error output."""

import re
import sys

from brian2 import ms, second

__all__ = ["EXIT_BLOWN_UP", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
           "OPTION_NAMES", "TIME_OPTIONS", "as_typed", "fail", "show"]

#: Exit statuses (an interrupted run exits with 128 + the signal: 130 SIGINT, 143 SIGTERM).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BLOWN_UP, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: Options that take a time; ``--delay -50ms`` is rewritten to ``--delay=-50ms`` for argparse.
TIME_OPTIONS = {
    "--sample-time": ("schedule", "sample_time"),
    "--buffer-time": ("schedule", "buffer_time"),
    "--delay": ("schedule", "delay"),
    "--dt": ("schedule", "dt"),
    "--tau-prop": ("model", "tau_prop"),
    "--tau-pot": ("model", "tau_pot_w"),
    "--tau-pot-v": ("model", "tau_pot_v"),
    "--tau-dec": ("model", "tau_dec_w"),
    "--tau-elig": ("model", "tau_elig"),
    "--tau-m": ("model", "tau_m"),
    "--t-ref": ("model", "t_ref"),
    "--readout-window": ("model", "readout_window"),
}

#: The parameter names of the library, as the ``ctfa train`` options that set them.
OPTION_NAMES = {
    **{name: option for option, (_, name) in TIME_OPTIONS.items()},
    "tau_dec_v": "--tau-dec", "label_smoothing": "--label-smoothing", "noise": "--noise",
    "n_train": "--n-train", "n_test": "--n-test", "evals_per_epoch": "--evals-per-epoch",
    "epochs": "--epochs", "max_rate": "--max-rate", "hidden": "--hidden", "seed": "--seed",
    "kp_form": "--kp-form", "eligibility": "--eligibility", "delay_origin": "--delay-origin",
    "w_max": "--w-max", "anneal_to": "--anneal-to",
}
_NAMES = re.compile(r"(?<![\w\-·])(" + "|".join(sorted(OPTION_NAMES, key=len, reverse=True))
                    + r")(?=\s*=)")


def as_typed(message):
    """``message`` with the library's parameter names (``tau_pot_w = 0 s``) replaced by the
    options users type (``--tau-pot = 0 s``)."""
    return _NAMES.sub(lambda m: OPTION_NAMES[m.group(1)], str(message))


def fail(message, code=EXIT_USAGE):
    """Print ``ctfa: error: message`` to stderr and return ``code``."""
    print(f"ctfa: error: {message}", file=sys.stderr)
    return code


def show(value):
    """Write a time the way the command line reads it: ``200ms``, ``10s``, ``20min``."""
    seconds = float(value / second)
    if seconds and seconds % 60 == 0:
        return f"{seconds / 60:g}min"
    if abs(seconds) >= 1:
        return f"{seconds:g}s"
    return f"{round(seconds * 1e3, 9):g}ms"


#: Neurons and synapses recorded per group with ``--record``, and the sampling period.
RECORD_FIRST = 3
RECORD_DT = 1 * ms
#: Default step of the spiking variant (max_rate · dt ≤ 0.1 at the default 200 Hz).
SPIKING_DT = 0.5 * ms
