"""What the subcommands share: exit statuses, the option names users type, error output."""

import re
import sys

from brian2 import ms, second

__all__ = ["EXIT_BLOWN_UP", "EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE",
           "OPTION_NAMES", "TIME_OPTIONS", "as_typed", "check_cuda_options", "fail", "show"]

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
    "--tau-fast": ("model", "tau_fast"),
    "--tau-slow": ("model", "tau_slow"),
    "--plus-time": ("model", "plus_time"),
    "--gate-time": ("model", "gate_time"),
}

#: The parameter names of the library, as the ``ctfa train`` options that set them.
OPTION_NAMES = {
    **{name: option for option, (_, name) in TIME_OPTIONS.items()},
    "tau_dec_v": "--tau-dec", "label_smoothing": "--label-smoothing", "noise": "--noise",
    "n_train": "--n-train", "n_test": "--n-test", "evals_per_epoch": "--evals-per-epoch",
    "epochs": "--epochs", "max_rate": "--max-rate", "hidden": "--hidden", "seed": "--seed",
    "kp_form": "--kp-form", "eligibility": "--eligibility", "delay_origin": "--delay-origin",
    "w_max": "--w-max", "anneal_to": "--anneal-to", "routing": "--routing", "nudge": "--nudge",
}
_NAMES = re.compile(r"(?<![\w\-·])(" + "|".join(sorted(OPTION_NAMES, key=len, reverse=True))
                    + r")(?=\s*=)")


def as_typed(message):
    """``message`` with the library's parameter names (``tau_pot_w = 0 s``) replaced by the
    options users type (``--tau-pot = 0 s``)."""
    return _NAMES.sub(lambda m: OPTION_NAMES[m.group(1)], str(message))


def check_cuda_options(args, device=None):
    """Check ``--compute-capability`` against the device (``args.device`` unless given) and
    hand it to this process and its sweep workers (``$CTFA_COMPUTE_CAPABILITY``)."""
    import os

    from ctfa_brian import cuda

    device = device or getattr(args, "device", None)
    value = getattr(args, "compute_capability", None)
    if device == "cuda_standalone":
        try:
            import brian2cuda  # noqa: F401
        except ImportError:
            raise ValueError("device cuda_standalone needs brian2cuda (Python >= 3.12): "
                             "pip install 'ctfa_brian[cuda]'") from None
    if value is None:
        return
    if device != "cuda_standalone":
        raise ValueError(f"--compute-capability is an option of --device cuda_standalone, "
                         f"not of {device}; leave it out")
    os.environ[cuda.ENV_COMPUTE_CAPABILITY] = str(cuda.check_compute_capability(value))


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
