"""The subnormal-float trap in cpp_standalone, and what the package's link flag does about it.

A state that decays toward zero (here dv/dt = -v/tau from v = 1) passes through the subnormal
range (|v| < 2.2e-308) and, multiplied by a factor < 1 every step, stays there: the smallest
subnormal times 0.905 rounds back to itself. Every arithmetic operation on a subnormal costs
on x86 about a hundred cycles unless the CPU flushes subnormals to zero (FTZ/DAZ).

Brian compiles standalone code with ``-ffast-math`` but links without it, so GCC does not link
``crtfastmath.o``, the start-up code that switches FTZ/DAZ on. `ctfa_brian.device.select` adds
``-ffast-math`` to ``prefs.codegen.cpp.extra_link_args``. This script builds the same network
twice, in two fresh project directories: with the package's flags, and with that link flag
removed, and prints the run times and their ratio.

Usage::

    python benchmarks/bench_subnormal.py [--neurons 10000] [--duration 2] [--dt 0.1]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # without PYTHONPATH too

import brian2  # noqa: E402
from brian2 import Network, NeuronGroup, ms, prefs, second  # noqa: E402

from ctfa_brian import device as devices  # noqa: E402

FAST_MATH = "-ffast-math"


def build_and_run(n, duration, dt, link_fast_math):
    """Build and run the decaying group in a fresh directory; return timings and the state."""
    directory = tempfile.mkdtemp(prefix="ctfa_bench_subnormal_")
    try:
        devices.select("cpp_standalone", directory=directory)  # adds -ffast-math to link args
        if not link_fast_math:
            prefs.codegen.cpp.extra_link_args = [
                a for a in prefs.codegen.cpp.extra_link_args if a != FAST_MATH
            ]
        link_args = list(prefs.codegen.cpp.extra_link_args)
        group = NeuronGroup(n, "dv/dt = -v/(1*ms) : 1", method="exact", dt=dt * ms,
                            name="decay")
        group.v = 1.0
        net = Network(group)
        net.run(duration * second, namespace={})
        device = brian2.get_device()
        start = time.perf_counter()
        device.build(run=False, directory=directory)
        compile_s = time.perf_counter() - start
        start = time.perf_counter()
        device.run(directory=directory, with_output=False)
        run_s = time.perf_counter() - start
        v = np.asarray(group.v[:])
        tiny = np.finfo(np.float64).tiny
        subnormal = int(np.count_nonzero((v != 0) & (np.abs(v) < tiny)))
        return {"link_args": link_args, "compile_s": compile_s, "run_s": run_s,
                "subnormal_at_end": subnormal, "zero_at_end": int(np.count_nonzero(v == 0))}
    finally:
        brian2.device.reinit()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--neurons", type=int, default=10_000)
    p.add_argument("--duration", type=float, default=2.0, help="simulated seconds")
    p.add_argument("--dt", type=float, default=0.1, help="time step in ms")
    args = p.parse_args(argv)
    saved = list(prefs.codegen.cpp.extra_link_args)
    steps = int(round(args.duration * 1e3 / args.dt))
    print(f"{args.neurons} neurons, dv/dt = -v/(1 ms) from v = 1, {args.duration:g} s at "
          f"dt = {args.dt:g} ms ({steps} steps); v leaves the normal range after "
          "ln(1/2.2e-308) × 1 ms ≈ 708 ms")
    results = {}
    for label, link in (("package default (link -ffast-math)", True),
                        ("without the -ffast-math link flag", False)):
        prefs.codegen.cpp.extra_link_args = list(saved)
        results[label] = r = build_and_run(args.neurons, args.duration, args.dt, link)
        print(f"  {label:36s} run {r['run_s']:7.3f} s   compile {r['compile_s']:5.1f} s   "
              f"at the end: {r['subnormal_at_end']} subnormal, {r['zero_at_end']} zero   "
              f"(link args {r['link_args']})", flush=True)
    prefs.codegen.cpp.extra_link_args = saved
    fast, slow = (r["run_s"] for r in results.values())
    print(f"ratio: without / with the flag = {slow / fast:.1f}× "
          f"({args.neurons * steps / fast:.3g} vs {args.neurons * steps / slow:.3g} "
          "neuron-steps/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
