"""cuda_standalone: the options' errors (everywhere), code generation + nvcc compile without a
GPU (``-m cuda_build``: needs brian2cuda, i.e. Python ≥ 3.12, and nvcc), and agreement with
cpp_standalone on a GPU (``-m cuda``)."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ctfa_brian.cuda import check_compute_capability

ROOT = Path(__file__).resolve().parents[1]
HAVE_BRIAN2CUDA = importlib.util.find_spec("brian2cuda") is not None
needs_nvcc = pytest.mark.skipif(not (HAVE_BRIAN2CUDA and shutil.which("nvcc")),
                                reason="needs brian2cuda (Python >= 3.12) and nvcc")


def _ctfa(*args, cache, cwd=None):
    env = {**os.environ, "CTFA_CACHE_DIR": str(cache), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "ctfa_brian", *args], capture_output=True,
                          text=True, env=env, cwd=cwd or ROOT, timeout=1200)


def test_compute_capability_is_checked():
    assert check_compute_capability("9.0") == 9.0
    assert check_compute_capability(8.6) == 8.6
    for bad in ("95", "sm_90", "2.0", "9"):
        with pytest.raises(ValueError, match=rf"--compute-capability = '{bad}' is not allowed"):
            check_compute_capability(bad)


def test_cuda_options_give_clear_errors(tmp_path):
    run = _ctfa("train", "--dataset", "circles", "--compute-capability", "9.0", "--out",
                str(tmp_path / "o"), cache=tmp_path / "cache")
    assert run.returncode == 2
    assert ("--compute-capability is an option of --device cuda_standalone, not of "
            "ctfa_dense_standalone" in run.stderr)
    run = _ctfa("train", "--dataset", "circles", "--device", "numpy", "--build-only", "--out",
                str(tmp_path / "o"), cache=tmp_path / "cache")
    assert run.returncode == 2 and "--build-only is not allowed with --device numpy" in run.stderr
    if not HAVE_BRIAN2CUDA:
        run = _ctfa("train", "--dataset", "circles", "--device", "cuda_standalone", "--out",
                    str(tmp_path / "o"), cache=tmp_path / "cache")
        assert run.returncode == 2
        assert "needs brian2cuda (Python >= 3.12)" in run.stderr
    assert not (tmp_path / "o").exists()


def _check_project(project):
    assert (project / "main").is_file() and os.access(project / "main", os.X_OK)
    makefile = (project / "makefile").read_text()
    assert "-std=c++17" in makefile and "-arch=sm_90" in makefile
    assert "-march=native" not in makefile  # built on one machine, run on another's CPU
    if shutil.which("readelf"):
        dynamic = subprocess.run(["readelf", "-d", str(project / "main")], capture_output=True,
                                 text=True).stdout
        assert "libcurand.so" in dynamic and "RUNPATH" in dynamic


@pytest.mark.cuda_build
@needs_nvcc
def test_digits_network_compiles_for_a_gpu_without_one(tmp_path):
    out = tmp_path / "digits"
    run = _ctfa("train", "--dataset", "digits", "--device", "cuda_standalone",
                "--compute-capability", "9.0", "--build-only", "--out", str(out),
                cache=tmp_path / "cache")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "built (64, 49, 10) on cuda_standalone" in run.stdout
    (project,) = (tmp_path / "cache" / "standalone").iterdir()
    _check_project(project)
    assert any("W1_summed_variable" in p.name for p in (project / "code_objects").glob("*.cu"))
    assert not out.exists()  # --build-only writes no results


@pytest.mark.cuda_build
@needs_nvcc
def test_a_sweep_compiles_for_a_gpu_without_one(tmp_path):
    args = ["run", "protocols/delay_sweep.toml", "--out", str(tmp_path / "sweep"),
            "--set", "device=cuda_standalone", "--grid", "sample_time=[200ms]",
            "--compute-capability", "9.0", "--build-only"]
    run = _ctfa(*args, cache=tmp_path / "cache")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "1 project(s) for delay_sweep on cuda_standalone" in run.stdout
    (project,) = [p for p in (tmp_path / "cache" / "sweeps").iterdir() if p.is_dir()]
    _check_project(project)
    again = _ctfa(*args, cache=tmp_path / "cache")
    assert "already built" in again.stdout  # the sweep finds it: nothing recompiles


@pytest.mark.cuda
@pytest.mark.skipif(not (HAVE_BRIAN2CUDA and shutil.which("nvidia-smi")), reason="needs a GPU")
def test_cuda_agrees_with_cpp_standalone(tmp_path):
    """Summed variables use atomics on the GPU (another order of the sums): readouts agree to
    1e-6, weights to 1e-6 relative, accuracies within one test sample."""
    from brian2 import ms, second

    from ctfa_brian import ModelParameters, Schedule, Trainer, Training, load_dataset

    ds = load_dataset("circles").subset(200, 100)
    model = ModelParameters(hidden=(24,), tau_pot_w=2 * second, tau_pot_v=2 * second)
    runs = {}
    for device in ("cpp_standalone", "cuda_standalone"):
        trainer = Trainer(ds, model, Schedule(sample_time=100 * ms), Training(epochs=2),
                          device=device, directory=str(tmp_path / device))
        runs[device] = trainer.run(seed=1)
    cpp, gpu = runs["cpp_standalone"], runs["cuda_standalone"]
    np.testing.assert_allclose(gpu.readout, cpp.readout, atol=1e-6)
    for key in cpp.weights:
        np.testing.assert_allclose(gpu.weights[key], cpp.weights[key], rtol=1e-6, atol=1e-9)
    assert abs(gpu.test_accuracy - cpp.test_accuracy) <= 1 / 100
