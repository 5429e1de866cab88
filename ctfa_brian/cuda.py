"""brian2cuda's ``cuda_standalone``, configured for the installed CUDA through preferences.

The supported GPU stack is Python 3.12 + brian2 2.10.1 + brian2cuda 1.0b1 (the ``cuda`` extra,
with cuRAND from the ``nvidia-curand`` wheel). `configure` sets, without editing brian2cuda's
files:

- **C++17** for nvcc and for the host pass: CUDA 13's Thrust needs it. brian2cuda's makefile
  template passes ``-std=c++11`` first; nvcc takes the last ``-std`` it is given (with a
  warning), and the host flags (``codegen.cpp.extra_compile_args_gcc``, handed over through
  ``-Xcompiler``) are replaced by Brian's defaults with ``-std=c++17`` and without
  ``-march=native`` (a project built on a login node runs on the GPU node's CPU).
- **cuRAND** from the wheel (``nvidia/cu13`` or ``nvidia/cu12`` in site-packages): its headers
  and library directories, and a directory of the package's cache with ``libcurand.so`` linked
  to the wheel's ``libcurand.so.<N>`` (the template links ``-lcurand``; the wheel ships only the
  versioned name). The binary finds the library through its RUNPATH.
- **The GPU**: detected (brian2cuda calls ``nvidia-smi``), or, with a compute capability given
  (``--compute-capability 9.0``), no detection at all, so a project can be generated and
  compiled on a machine without one (``ctfa train --build-only``).

`restore` puts the host flags back when a later build in the same process uses another device.
"""

import glob
import os
import re
import shutil

from brian2 import prefs

__all__ = ["ENV_COMPUTE_CAPABILITY", "HOST_FLAGS", "check_compute_capability", "configure",
           "curand_dirs", "restore"]

#: The environment variable that carries ``--compute-capability`` to sweep workers.
ENV_COMPUTE_CAPABILITY = "CTFA_COMPUTE_CAPABILITY"
#: Brian's host flags for cpp_standalone, as C++17 and without ``-march=native``.
HOST_FLAGS = ["-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-std=c++17"]
_NVCC_FLAGS = ["-w", "-use_fast_math", "-std=c++17"]
_SAVED = {}


def check_compute_capability(value, option="--compute-capability"):
    """``value`` (``"9.0"``, 8.6) as a float, or a ValueError that names ``option``."""
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,2}\.\d", text) or not 3.5 <= float(text) < 20:
        raise ValueError(f"{option} = {value!r} is not allowed; give the GPU's compute "
                         "capability as major.minor, at least 3.5 (e.g. 9.0 for H100/H200, "
                         "8.0 for A100, 8.6 for RTX 30xx)")
    return float(text)


def curand_dirs():
    """``(include, lib)`` of the ``nvidia-curand`` wheel, or None where it is not installed."""
    try:
        import nvidia
    except ImportError:
        return None
    for root in getattr(nvidia, "__path__", []):
        for flavour in ("cu13", "cu12", "curand"):
            lib = os.path.join(root, flavour, "lib")
            if glob.glob(os.path.join(lib, "libcurand.so*")):
                return os.path.join(root, flavour, "include"), lib
    return None


def _cuda_path():
    for name in ("CUDA_PATH", "CUDA_HOME"):
        if os.environ.get(name):
            return os.environ[name]
    nvcc = shutil.which("nvcc")
    if nvcc:
        return os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))
    return "/usr/local/cuda" if os.path.isdir("/usr/local/cuda") else None


def _link_dir(lib, cache_dir):
    """A directory of the cache with ``libcurand.so`` → the wheel's versioned library."""
    (versioned,) = sorted(glob.glob(os.path.join(lib, "libcurand.so.*")))[-1:] or [None]
    if versioned is None or os.path.exists(os.path.join(lib, "libcurand.so")):
        return None
    link_dir = os.path.join(cache_dir, "cuda", "curand")
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "libcurand.so")
    if os.path.realpath(link) != os.path.realpath(versioned):
        tmp = f"{link}.{os.getpid()}"
        os.symlink(versioned, tmp)
        os.replace(tmp, link)  # atomic: concurrent workers see one link or the other
    return link_dir


def _add(pref_group, name, values):
    current = list(getattr(pref_group, name))
    setattr(pref_group, name, current + [v for v in values if v not in current])


def configure(cache_dir, compute_capability=None, gpu_id=None):
    """Set brian2cuda's and Brian's preferences for a cuda_standalone build (see the module).

    ``cache_dir`` is the package's cache (`ctfa_brian.device.cache_root`), which holds the
    cuRAND link. ``compute_capability`` (e.g. 9.0; default ``$CTFA_COMPUTE_CAPABILITY``)
    turns GPU detection off; without it brian2cuda detects the GPU and fails on a machine
    without one.
    """
    import brian2cuda  # noqa: F401  (registers the device and its preferences)

    backend = prefs.devices.cuda_standalone.cuda_backend
    if compute_capability is None and os.environ.get(ENV_COMPUTE_CAPABILITY):
        compute_capability = os.environ[ENV_COMPUTE_CAPABILITY]
    cuda_path = _cuda_path()
    if cuda_path is None:
        raise RuntimeError("device 'cuda_standalone' needs the CUDA toolkit (nvcc): none was "
                           "found in $CUDA_PATH, $CUDA_HOME, $PATH or /usr/local/cuda")
    backend.cuda_path = cuda_path
    if compute_capability is not None:
        backend.detect_gpus = False
        backend.compute_capability = check_compute_capability(compute_capability)
        backend.gpu_id = 0 if gpu_id is None else int(gpu_id)
    else:
        if shutil.which("nvidia-smi") is None:
            raise RuntimeError("device 'cuda_standalone' found no GPU (no nvidia-smi): give "
                               "--compute-capability (e.g. 9.0) to generate and compile the "
                               "project without one, and run it where a GPU is")
        backend.detect_gpus = True
        if gpu_id is not None:
            backend.gpu_id = int(gpu_id)
    # generate_makefile edits this list in place: set it afresh for every build
    backend.extra_compile_args_nvcc = list(_NVCC_FLAGS)
    cpp = prefs.codegen.cpp
    _SAVED.setdefault("extra_compile_args_gcc", list(cpp.extra_compile_args_gcc))
    cpp.extra_compile_args_gcc = list(HOST_FLAGS)
    dirs = curand_dirs()
    if dirs is not None:
        include, lib = dirs
        _add(cpp, "include_dirs", [include])
        _add(cpp, "library_dirs", [d for d in (_link_dir(lib, cache_dir), lib) if d])
        _add(cpp, "runtime_library_dirs", [lib])


def restore():
    """Brian's host flags as they were before `configure` (for a later non-CUDA build)."""
    if "extra_compile_args_gcc" in _SAVED:
        prefs.codegen.cpp.extra_compile_args_gcc = _SAVED.pop("extra_compile_args_gcc")
