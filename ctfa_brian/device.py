"""The one place that chooses Brian2's device: runtime (cython or numpy), cpp_standalone, its
dense variant (`ctfa_brian.dense`, the default for networks) or brian2cuda's cuda_standalone
(configured by `ctfa_brian.cuda`).

Standalone projects are built once and run many times: everything a sweep changes (label
delay, time constants, data, sample order, initial weights) is a model variable or a TimedArray
whose values go in through ``run_args``, so `StandaloneSession.run` never recompiles.

Known trap: state that decays towards zero becomes subnormal, which slows the C++ code ~14×.
Brian compiles with ``-ffast-math`` but links without it, so the flush-to-zero start-up code is
not linked in; `select` adds ``-ffast-math`` to the link flags too (see the test
``test_standalone_flushes_subnormals``).
"""

import hashlib
import os
import shutil
import tempfile

from brian2 import get_device, prefs, set_device
from brian2.utils.logger import get_logger

__all__ = ["DEFAULT", "DEVICES", "NETWORK_DEVICES", "RUNTIME_DEFAULT", "cache_root",
           "default_project_dir", "is_standalone", "select"]

logger = get_logger(__name__)

#: The names as Brian2 uses them: ``runtime`` is its runtime device with the code generation
#: target it picks itself (``auto``: Cython where a compiler works, else NumPy); ``cython``
#: and ``numpy`` are the runtime device with that target; the others are standalone devices.
DEVICES = ("runtime", "cython", "numpy", "cpp_standalone", "ctfa_dense_standalone",
           "cuda_standalone")
#: The devices a network (a `Trainer`, a sweep cell) may run on.
NETWORK_DEVICES = ("cpp_standalone", "ctfa_dense_standalone", "cuda_standalone", "runtime",
                   "cython", "numpy")
#: The device of a network unless one is given (`Trainer`, ``ctfa train``, the sweeps): the
#: project is compiled once and every further run only starts the binary; the dense device
#: (`ctfa_brian.dense`) computes what cpp_standalone computes, 3.7–3.8× faster on digits.
DEFAULT = "ctfa_dense_standalone"
#: The device of the single-synapse protocols unless one is given: their circuits are small
#: and run once, so compiling would cost more than it saves.
RUNTIME_DEFAULT = "numpy"

_FAST_MATH = "-ffast-math"


def cache_root():
    """The package's cache directory: ``$CTFA_CACHE_DIR``, else the user cache directory of
    ``platformdirs`` (``$XDG_CACHE_HOME/ctfa_brian``, by default ``~/.cache/ctfa_brian``, on
    Linux; ``~/Library/Caches/ctfa_brian`` on macOS; ``%LOCALAPPDATA%\\ctfa_brian\\Cache`` on
    Windows)."""
    from platformdirs import user_cache_dir

    return os.environ.get("CTFA_CACHE_DIR") or user_cache_dir("ctfa_brian", appauthor=False)


def default_project_dir(key):
    """A cache directory for the standalone project identified by ``key`` (a string).

    Rebuilding an unchanged project in the same directory recompiles nothing (make sees the
    same sources), so repeated builds of one structure cost only code generation.
    """
    root = cache_root()
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = os.path.join(root, "standalone", digest)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:  # read-only home: fall back to a private temporary directory
        path = tempfile.mkdtemp(prefix="ctfa_brian_")
    return path


def is_standalone(name=None):
    """Whether ``name`` (or the active Brian device) is a standalone device."""
    name = name or get_device().__class__.__name__
    return "standalone" in name.lower()


def _run_command():
    """``./main`` in a session of its own (``setsid``, where there is one).

    Ctrl-C at a terminal signals the whole foreground process group; the binary would get
    SIGINT from the terminal and then again from `ctfa_brian.interrupts`, and Brian's binary
    dies at once on a second SIGINT, without writing its results. In its own session it gets
    exactly one, from this process, stops at the end of its step and writes everything.
    """
    setsid = shutil.which("setsid")
    return [setsid, "./main"] if setsid else "./main"


def select(name=DEFAULT, directory=None, threads=0, compute_capability=None):
    """Activate Brian2 device ``name``; the only function in the package that calls set_device.

    Parameters
    ----------
    name : str
        ``runtime`` (Brian's runtime device, target ``auto``), ``cython``, ``numpy`` (the
        runtime device with that target), ``cpp_standalone`` or ``cuda_standalone`` (needs the
        ``cuda`` extra).
    directory : str, optional
        Project directory for standalone devices.
    threads : int
        OpenMP threads for cpp_standalone (0: single-threaded, no OpenMP).
    compute_capability : float or str, optional
        cuda_standalone: the GPU's compute capability (e.g. 9.0); given, nothing detects a
        GPU, so a project can be built where there is none (`ctfa_brian.cuda.configure`;
        default ``$CTFA_COMPUTE_CAPABILITY``).
    """
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r}; choose one of: {', '.join(DEVICES)}")
    if name in ("runtime", "cython", "numpy"):
        prefs.codegen.target = "auto" if name == "runtime" else name
        set_device("runtime")
        return get_device()
    if name == "ctfa_dense_standalone":
        import ctfa_brian.dense  # noqa: F401  (registers the device)
    from ctfa_brian import cuda

    if name == "cuda_standalone":
        try:
            import brian2cuda  # noqa: F401  (registers the device)
        except ImportError as err:
            raise ImportError(
                "device 'cuda_standalone' needs brian2cuda (Python >= 3.12): pip install "
                "'ctfa_brian[cuda]'") from err
        cuda.configure(cache_root(), compute_capability)
    else:
        cuda.restore()
    link = [flag for flag in prefs.codegen.cpp.extra_link_args if flag != _FAST_MATH]
    # nvcc links cuda_standalone and refuses the flag (the GPU code flushes with
    # -use_fast_math; its host loop is not where the time goes)
    prefs.codegen.cpp.extra_link_args = link + ([] if name == "cuda_standalone"
                                                 else [_FAST_MATH])
    # Brian's default is an unbounded ``make -j``: every compiler at once, and with two sweep
    # workers twice that, on a machine with a few cores
    prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 1}"]
    prefs.devices.cpp_standalone.openmp_threads = int(threads)
    prefs.devices.cpp_standalone.run_cmd_unix = _run_command()
    current = get_device()
    if is_standalone(type(current).__name__):
        current.reinit()  # forget any earlier standalone project in this process
    set_device(name, build_on_run=False, directory=directory)
    return get_device()
