"""Ctrl-C and SIGTERM: stop the simulation at the end of its step, keep what finished, say so.

Inside `handle_signals` (the ``ctfa`` command installs it; so does every sweep worker) the
first SIGINT or SIGTERM

- during a simulation stops it at the end of the current step, the way Brian's own Ctrl-C
  handler does (``Network._globally_stopped``); a standalone binary running as a child of this
  process is sent SIGINT, so it stops at the end of its step and still writes its monitors;
  the run then raises `Interrupted` with what was recorded (never a blow-up: a blow-up is
  reported only where a value is actually NaN or infinite);
- at any other time raises `Interrupted` at once.

A second signal while the first is being handled raises at once, as Brian does.

`Interrupted` is a `KeyboardInterrupt`, so ``except Exception`` (a sweep cell that fails)
does not swallow it.
"""

import os
import signal
from contextlib import contextmanager

__all__ = ["Interrupted", "exit_code", "handle_signals", "received", "signal_name",
           "stop_children"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_state = {"signum": None, "depth": 0}


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; ``partial`` holds what finished before (or ``None``)."""

    def __init__(self, signum=signal.SIGINT, time=None, partial=None, message=None):
        self.signum = int(signum)
        self.time = time
        self.partial = partial
        name = signal.Signals(self.signum).name
        where = "" if time is None else f" at t = {float(time):.3f} s"
        super().__init__(message or f"interrupted by {name}{where}")

    def __reduce__(self):  # across processes (a sweep worker's cell), without the partial
        return (Interrupted, (self.signum, self.time, None, str(self)))

    @property
    def exit_code(self):
        """128 + the signal number: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


def exit_code(signum):
    """The exit status of a process stopped by ``signum`` (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + int(signum)


def signal_name(signum):
    """``"SIGINT"`` for 2."""
    try:
        return signal.Signals(int(signum)).name
    except ValueError:
        return f"signal {signum}"


def received():
    """The signal number received inside `handle_signals` (``None`` if none)."""
    return _state["signum"]


def _children():
    """PIDs of this process's children (Linux ``/proc``; empty elsewhere)."""
    me, pids = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me):
            pids.append(int(entry))
    return pids


def stop_children(sig=signal.SIGINT):
    """Send ``sig`` to every child process (standalone binaries stop at the end of a step)."""
    for pid in _children():
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _handler(signum, frame):  # noqa: ARG001
    from brian2 import Network

    first = _state["signum"] is None
    if first:
        _state["signum"] = signum
    if first and Network._globally_running:
        Network._globally_stopped = True  # a runtime run stops at the end of this step
        stop_children(signal.SIGINT)      # a standalone binary does the same and writes
        return
    stop_children(signal.SIGINT)
    raise Interrupted(_state["signum"])


@contextmanager
def handle_signals():
    """Within this block SIGINT and SIGTERM stop runs cleanly (see the module docstring).

    Only in the main thread (signals cannot be handled elsewhere); nested uses share one
    handler. The received signal is forgotten when the outermost block is left.
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = None
    if _state["depth"] == 0:
        previous = {s: signal.signal(s, _handler) for s in _SIGNALS}
        _state["signum"] = None
    _state["depth"] += 1
    try:
        yield
    finally:
        _state["depth"] -= 1
        if previous is not None:
            for s, handler in previous.items():
                signal.signal(s, handler)
            _state["signum"] = None
