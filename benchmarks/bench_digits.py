"""Digits, 64-49-10, ``kp``, dt = 1 ms: Brian2 ``cpp_standalone`` against its peers.

One run measures, on the same presentation (same seed, same sample order, same initial weights):

``standalone``
    `Trainer` on ``cpp_standalone`` (one thread). Code generation + compilation (into a fresh
    project directory, so a true cold compile) is timed apart from the run; a second seed is
    then run on the same binary to show that a sweep pays the compilation once.
``dense``
    The same on ``ctfa_dense_standalone`` (`ctfa_brian.dense`): dense loops for the all-to-all
    projections and no per-step ``std::clock``; same numbers as ``standalone``.
``cython``
    `Trainer` on Brian's runtime device with Cython code generation. Cython compilation (into a
    fresh cache) is timed apart, by a zero-length run of the same objects.
``numpy``
    `ctfa_brian.reference.simulate`: a plain NumPy forward-Euler loop of the same equations.
``diffrax``
    The paper's stack: the same ODEs in JAX (float64), Tsit5 + PID controller (rtol 2e-3,
    atol 1e-5), one jitted scan of per-period solves (``benchmarks/peers/diffrax_peer.py``;
    needs the ``bench`` extra).

Reported per peer: compile and run wall time, simulated seconds per wall second, synapse-steps
per second (the 4116 plastic synapses W1, W2, V1 times the 1 ms steps simulated, over the run
time) and the final test/train accuracy; then the speed ratios of ``standalone`` to each peer,
the accuracy differences and whether the issue's targets are met (reported, never asserted).

Usage::

    python benchmarks/bench_digits.py [--epochs 3] [--peers standalone,dense,numpy,diffrax]
                                      [--json out.json]
"""

import argparse
import dataclasses
import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package, when run without PYTHONPATH
sys.path.insert(0, str(HERE))  # the peers

import brian2  # noqa: E402
from brian2 import prefs, second  # noqa: E402

import ctfa_brian  # noqa: E402
from ctfa_brian import device as devices  # noqa: E402
from ctfa_brian.datasets import load_dataset  # noqa: E402
from ctfa_brian.network import CTFANetwork  # noqa: E402
from ctfa_brian.parameters import ModelParameters, Schedule, Training  # noqa: E402
from ctfa_brian.reference import simulate as numpy_simulate  # noqa: E402
from ctfa_brian.results import accuracies as trainer_accuracies  # noqa: E402
from ctfa_brian.stimulus import Presentation, make_presentation  # noqa: E402
from ctfa_brian.training import Trainer  # noqa: E402

PEERS = ("standalone", "dense", "dense-auto", "standalone-2t", "cython", "numpy", "diffrax")
#: standalone-2t (OpenMP, 2 threads) is opt-in: on these tiny per-step loops it was 4× slower.
DEFAULT_PEERS = ("standalone", "dense", "dense-auto", "cython", "numpy", "diffrax")
RTOL, ATOL = 2e-3, 1e-5

#: Issue targets.
TARGET_VS_NUMPY = 8.0
TARGET_VS_DIFFRAX = 3.0
#: The dense device (ctfa_dense_standalone, one thread) against Diffrax at dt = 1 ms.
TARGET_DENSE_VS_DIFFRAX = 5.0
#: The same at the step ``--dt auto`` picks (`ctfa_brian.presets.auto_dt`), within ±1 point.
TARGET_AUTO_VS_DIFFRAX = 15.0
TARGET_SYN_STEPS = 3e8
#: "Equal accuracy": the final test accuracy no more than this many percentage points below
#: the peer's (a higher accuracy is not a failure).
EQUAL_ACCURACY_PP = 1.0


def synapse_count(sizes):
    """Plastic synapses integrated every step: forward W_l and (kp, layerwise) feedback V_l.

    The softmax normaliser (an all-to-all summed variable over the outputs, 10·10 here) is
    not counted.
    """
    forward = sum(sizes[l - 1] * sizes[l] for l in range(1, len(sizes)))
    feedback = sum(sizes[l] * sizes[l + 1] for l in range(1, len(sizes) - 1))
    return forward, feedback


def truncate(presentation, n):
    """The first ``n`` periods of ``presentation`` (plus a blank trailing period)."""
    x, y, learn = (a[:n + 1].copy() for a in (presentation.x, presentation.y,
                                              presentation.learn))
    x[n], y[n], learn[n] = 0.0, 0.0, 0.0
    blocks = tuple(b for b in presentation.blocks if b.stop <= n)
    return Presentation(x=x, y=y, learn=learn, labels=presentation.labels[:n].copy(),
                        blocks=blocks)


def accuracies(presentation, readout):
    """Final test and train accuracy, exactly as `Trainer` computes them."""
    test, train, *_ = trainer_accuracies(presentation, readout, len(readout))
    return test, train


class Setup:
    """The benchmark's dataset, parameters and presentation."""

    def __init__(self, epochs, seed):
        self.dataset = load_dataset("digits")
        self.model = ModelParameters(hidden=(49,), rule="kp")
        self.schedule = Schedule()
        self.training = Training(epochs=epochs, evals_per_epoch=1, seed=seed)
        self.seed = seed
        ds = self.dataset
        self.sizes = (ds.n_features, *self.model.hidden, ds.n_classes)
        self.presentation = make_presentation(ds, epochs, 1, seed)
        self.n_periods = self.presentation.n_periods
        self.spp = self.schedule.steps_per_period
        self.period_s = float(self.schedule.period)
        self.dt_s = float(self.schedule.dt)


def row(peer, ran, setup, steps, compile_s, run_s, test, train, **extra):
    fwd, fb = synapse_count(setup.sizes)
    return {
        "peer": peer,
        "ran": ran,
        "steps": int(steps),
        "simulated_s": steps * setup.dt_s,
        "compile_s": compile_s,
        "run_s": run_s,
        "sim_s_per_wall_s": steps * setup.dt_s / run_s,
        "synapse_steps_per_s": (fwd + fb) * steps / run_s,
        "test_accuracy": test,
        "train_accuracy": train,
        **extra,
    }


# -------------------------------------------------------------------------------------------
# peers


def bench_standalone(setup, second_seed, directory=None, keep=False, threads=0,
                     name="standalone", device="cpp_standalone"):
    fresh = directory is None
    if fresh:
        directory = tempfile.mkdtemp(prefix="ctfa_bench_standalone_")
    # devices.select adds -ffast-math to the link flags; restore them afterwards, or the Cython
    # peer would link the flush-to-zero start-up code into this process too.
    link_args = list(prefs.codegen.cpp.extra_link_args)
    try:
        trainer = Trainer(setup.dataset, setup.model, setup.schedule, setup.training,
                          device=device, directory=directory, threads=threads)
        start = time.perf_counter()
        trainer.build()
        compile_s = time.perf_counter() - start
        binary = os.path.join(directory, "main")
        stamp = os.stat(binary).st_mtime_ns
        result = trainer.run()
        steps = (trainer.network.n_periods + 1) * setup.spp
        threads = prefs.devices.cpp_standalone.openmp_threads
        ran = (f"Brian2 {device}, {threads or 1} thread, Euler dt = 1 ms, "
               f"{setup.n_periods} + 1 periods, seed {setup.seed}; compile = object creation + "
               f"code generation + {'cold ' if fresh else ''}compilation (trainer.build())")
        rows = [row(name, ran, setup, steps, compile_s, result.timings["run"],
                    result.test_accuracy, result.train_accuracy, readout=result.readout,
                    directory=directory, fresh_directory=fresh)]
        if second_seed is not None:
            res2 = trainer.run(seed=second_seed)
            rebuilt = os.stat(binary).st_mtime_ns != stamp
            ran2 = (f"the same binary, seed {second_seed} (new weights and sample order via "
                    f"run_args); binary {'REBUILT' if rebuilt else 'not rebuilt'}")
            rows.append(row(f"standalone seed {second_seed}", ran2, setup, steps, 0.0,
                            res2.timings["run"], res2.test_accuracy, res2.train_accuracy,
                            rebuilt=rebuilt))
        return rows
    finally:
        brian2.device.reinit()
        prefs.codegen.cpp.extra_link_args = link_args
        if fresh and not keep:
            shutil.rmtree(directory, ignore_errors=True)


def profile_standalone(setup):
    """Per-code-object time of the standalone binary (Brian's ``profile=True``), seconds.

    A separate diagnostic build and run (profiling adds a clock read around every code object
    in every step), not used for the table.
    """
    directory = tempfile.mkdtemp(prefix="ctfa_bench_profile_")
    link_args = list(prefs.codegen.cpp.extra_link_args)
    try:
        devices.select("cpp_standalone", directory=directory)
        net = CTFANetwork(setup.sizes, setup.model, setup.schedule, setup.presentation,
                          seed=setup.seed, guard="standalone")
        net.run(profile=True)
        start = time.perf_counter()
        brian2.get_device().build(run=True, directory=directory, with_output=False)
        wall = time.perf_counter() - start
        info = [(name, float(t)) for name, t in net.network.profiling_info]
        return info, wall
    finally:
        brian2.device.reinit()
        prefs.codegen.cpp.extra_link_args = link_args
        shutil.rmtree(directory, ignore_errors=True)


def bench_cython(setup, fraction=1.0, keep=False):
    gc.collect()  # objects of an earlier peer would make Brian rename the clocks
    cache = tempfile.mkdtemp(prefix="ctfa_bench_cython_")
    old_cache = prefs.codegen.runtime.cython.cache_dir
    prefs.codegen.runtime.cython.cache_dir = cache
    n = setup.n_periods if fraction >= 1 else max(1, int(round(fraction * setup.n_periods)))
    presentation = setup.presentation if n == setup.n_periods else truncate(setup.presentation,
                                                                            n)

    class BenchTrainer(Trainer):
        def _presentation(self, seed):
            assert seed == setup.seed
            return presentation

    try:
        devices.select("runtime")
        # Compilation: the same objects, run for zero time, into an empty Cython cache.
        net = CTFANetwork(setup.sizes, setup.model, setup.schedule, presentation,
                          seed=setup.seed, guard="runtime")
        start = time.perf_counter()
        net.network.run(0 * second, namespace={})
        compile_s = time.perf_counter() - start
        del net
        gc.collect()  # a live old network would make Brian rename the clocks: a cache miss
        # What a warm cache still costs at the start of every run (included in run_s).
        net = CTFANetwork(setup.sizes, setup.model, setup.schedule, presentation,
                          seed=setup.seed, guard="runtime")
        start = time.perf_counter()
        net.network.run(0 * second, namespace={})
        warm_codegen_s = time.perf_counter() - start
        del net
        gc.collect()
        trainer = BenchTrainer(setup.dataset, setup.model, setup.schedule, setup.training,
                               device="runtime")
        result = trainer.run()
        steps = (n + 1) * setup.spp
        part = "all" if n == setup.n_periods else f"the first {n} of {setup.n_periods}"
        ran = (f"Brian2 runtime (Cython), Euler dt = 1 ms, {part} periods + 1, "
               f"seed {setup.seed}; compile = cold Cython compilation (0-s run); run includes "
               f"{warm_codegen_s:.1f} s of code generation with a warm cache")
        test, train = result.test_accuracy, result.train_accuracy
        if n < setup.n_periods:
            test = train = float("nan")  # the final evaluations were not run
        return [row("cython", ran, setup, steps, compile_s, result.timings["run"], test, train,
                    readout=result.readout, periods=n, warm_codegen_s=warm_codegen_s)]
    finally:
        prefs.codegen.runtime.cython.cache_dir = old_cache
        if not keep:
            shutil.rmtree(cache, ignore_errors=True)


def bench_numpy(setup):
    start = time.perf_counter()
    out = numpy_simulate(setup.sizes, setup.model, setup.schedule, setup.presentation,
                         seed=setup.seed)
    run_s = time.perf_counter() - start
    test, train = accuracies(setup.presentation, out["readout"])
    ran = (f"ctfa_brian.reference.simulate: NumPy forward Euler dt = 1 ms, "
           f"{setup.n_periods} + 1 periods, seed {setup.seed}")
    return [row("numpy", ran, setup, out["steps"], 0.0, run_s, test, train,
                readout=out["readout"])]


def bench_diffrax(setup):
    try:
        from peers import diffrax_peer
    except ImportError as err:
        raise PeerSkipped(f"{err}") from None
    out = diffrax_peer.simulate(setup.sizes, setup.model, setup.schedule, setup.presentation,
                                seed=setup.seed, rtol=RTOL, atol=ATOL)
    test, train = accuracies(setup.presentation, out["readout"])
    steps = out["periods"] * setup.spp  # the equivalent 1 ms grid
    ran = (f"JAX {diffrax_peer.jax.__version__} + Diffrax {diffrax_peer.diffrax.__version__}, "
           f"float64, Tsit5 + PIDController(rtol={RTOL:g}, atol={ATOL:g}), one diffeqsolve per "
           f"period in a jitted lax.scan, {out['periods']} periods, seed {setup.seed}; "
           f"{out['accepted_steps']} accepted + {out['rejected_steps']} rejected steps "
           f"({out['accepted_steps'] / out['periods']:.1f} accepted per period); "
           "compile = jit tracing + XLA compilation")
    return [row("diffrax", ran, setup, steps, out["compile_s"], out["run_s"], test, train,
                readout=out["readout"], accepted_steps=out["accepted_steps"],
                rejected_steps=out["rejected_steps"], solver_steps=out["steps"])]


def bench_dense_auto(setup):
    """The dense device at the step ``--dt auto`` picks for digits (same presentation)."""
    from ctfa_brian.presets import auto_dt

    auto = dataclasses.replace(setup.schedule, dt=auto_dt(
        "digits", setup.model.tau_prop, setup.schedule.sample_time, setup.schedule.buffer_time))
    coarse = Setup.__new__(Setup)
    coarse.__dict__.update(setup.__dict__, schedule=auto, spp=auto.steps_per_period,
                           dt_s=float(auto.dt))
    rows = bench_standalone(coarse, None, name="dense-auto", device="ctfa_dense_standalone")
    rows[0]["ran"] = rows[0]["ran"].replace("dt = 1 ms", f"dt = {float(auto.dt) * 1e3:g} ms "
                                            "(--dt auto)")
    return rows


class PeerSkipped(Exception):
    pass


# -------------------------------------------------------------------------------------------
# report


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    return format(value, spec)


def table(rows):
    head = ("peer", "sim s", "compile s", "run s", "sim s/wall s", "syn-steps/s", "test acc",
            "train acc")
    body = [(r["peer"], _fmt(r["simulated_s"], ".1f"), _fmt(r["compile_s"], ".1f"),
             _fmt(r["run_s"], ".1f"), _fmt(r["sim_s_per_wall_s"], ".2f"),
             _fmt(r["synapse_steps_per_s"], ".3g"), _fmt(r["test_accuracy"], ".4f"),
             _fmt(r["train_accuracy"], ".4f")) for r in rows]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]

    def fmt(line):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(line, widths)))

    rule = "-" * len(fmt(head))
    return "\n".join([fmt(head), rule, *map(fmt, body), rule])


def comparisons(rows):
    by = {r["peer"]: r for r in rows}
    sa = by.get("standalone")
    ratios, targets = {}, []
    if sa is None:
        return ratios, ["standalone was not run: no ratios, no targets"]
    for name in ("cython", "numpy", "diffrax"):
        if name in by:
            peer = by[name]
            diff = sa["test_accuracy"] - peer["test_accuracy"]
            ratios[name] = {
                "speed": sa["sim_s_per_wall_s"] / peer["sim_s_per_wall_s"],
                "test_accuracy_diff_pp": 100 * diff,
                "max_abs_readout_diff": (
                    float(np.max(np.abs(sa["readout"] - peer["readout"])))
                    if peer["readout"].shape == sa["readout"].shape else None),
            }
    if "numpy" in ratios:
        r = ratios["numpy"]["speed"]
        targets.append(_target(f"standalone ≥ {TARGET_VS_NUMPY:g}× NumPy integrator", r,
                               TARGET_VS_NUMPY, "×"))
    if "diffrax" in by and "standalone-2t" in by:
        mt, peer = by["standalone-2t"], by["diffrax"]
        r = mt["sim_s_per_wall_s"] / peer["sim_s_per_wall_s"]
        d = 100 * (mt["test_accuracy"] - peer["test_accuracy"])
        equal = d >= -EQUAL_ACCURACY_PP
        targets.append(_target(
            f"standalone, 2 threads (as JAX, which uses {peer.get('cores_used', 0):.1f} cores) "
            f"≥ {TARGET_VS_DIFFRAX:g}× Diffrax at equal accuracy", r, TARGET_VS_DIFFRAX, "×",
            ok=equal) + f"; test accuracy differs by {d:+.2f} pp")
    if "diffrax" in ratios:
        r = ratios["diffrax"]["speed"]
        d = ratios["diffrax"]["test_accuracy_diff_pp"]
        equal = d >= -EQUAL_ACCURACY_PP
        line = _target(f"standalone, 1 thread ≥ {TARGET_VS_DIFFRAX:g}× Diffrax at equal "
                       "accuracy", r,
                       TARGET_VS_DIFFRAX, "×", ok=equal)
        targets.append(line + f"; test accuracy differs by {d:+.2f} pp "
                              f"({'not' if equal else 'more than'} {EQUAL_ACCURACY_PP:g} pp below)")
    if "dense" in by:
        dense = by["dense"]
        ratios["dense_vs_standalone"] = {
            "speed": dense["sim_s_per_wall_s"] / sa["sim_s_per_wall_s"],
            "max_abs_readout_diff": float(np.max(np.abs(dense["readout"] - sa["readout"])))}
        if "diffrax" in by:
            peer = by["diffrax"]
            r = dense["sim_s_per_wall_s"] / peer["sim_s_per_wall_s"]
            d = 100 * (dense["test_accuracy"] - peer["test_accuracy"])
            equal = d >= -EQUAL_ACCURACY_PP
            ratios["dense_vs_diffrax"] = {"speed": r, "test_accuracy_diff_pp": d}
            targets.append(_target(
                f"dense device, 1 thread ≥ {TARGET_DENSE_VS_DIFFRAX:g}× Diffrax at dt = 1 ms and "
                "equal accuracy", r, TARGET_DENSE_VS_DIFFRAX, "×", ok=equal)
                + f"; test accuracy differs by {d:+.2f} pp")
        if "dense-auto" in by and "diffrax" in by:
            coarse, peer = by["dense-auto"], by["diffrax"]
            r = coarse["sim_s_per_wall_s"] / peer["sim_s_per_wall_s"]
            d = 100 * (coarse["test_accuracy"] - dense["test_accuracy"])
            ratios["dense_auto_vs_diffrax"] = {
                "speed": r, "test_accuracy_diff_pp": 100 * (coarse["test_accuracy"]
                                                            - peer["test_accuracy"])}
            targets.append(_target(
                f"dense device at the auto step ≥ {TARGET_AUTO_VS_DIFFRAX:g}× Diffrax within "
                "±1 point of dt = 1 ms", r, TARGET_AUTO_VS_DIFFRAX, "×",
                ok=abs(d) <= EQUAL_ACCURACY_PP) + f"; test accuracy {d:+.2f} pp from dt = 1 ms")
        targets.append(f"dense device = cpp_standalone: readouts differ by at most "
                       f"{ratios['dense_vs_standalone']['max_abs_readout_diff']:.2g}, "
                       f"{ratios['dense_vs_standalone']['speed']:.2f}× its speed")
    targets.append(_target(f"standalone ≥ {TARGET_SYN_STEPS:.0e} synapse-steps/s on one core",
                           sa["synapse_steps_per_s"], TARGET_SYN_STEPS, " syn-steps/s"))
    second = [r for r in rows if r["peer"].startswith("standalone seed")]
    if second:
        s = second[0]
        ok = not s["rebuilt"]
        targets.append(f"{'PASS' if ok else 'FAIL'}  compile paid once per sweep: compile "
                       f"{sa['compile_s']:.1f} s once; second seed ran the same binary "
                       f"({'rebuilt!' if s['rebuilt'] else 'not rebuilt'}) in {s['run_s']:.1f} s")
    return ratios, targets


def _target(text, value, goal, unit, ok=True):
    met = value >= goal and ok
    if value >= goal:
        margin = f"{value / goal:.2f}× the target"
    else:
        margin = f"short by {goal / value:.2f}× ({100 * (1 - value / goal):.0f} % below)"
    return f"{'PASS' if met else 'FAIL'}  {text}: {value:.3g}{unit} ({margin})"


def _cpu_seconds():
    """CPU time of this process and its finished children (the standalone binary), seconds."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def environment():
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")),
                       platform.processor())
    except OSError:
        cpu = platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "brian2": brian2.__version__, "numpy": np.__version__,
            "ctfa_brian": ctfa_brian.__version__}


# -------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--peers", default=",".join(DEFAULT_PEERS),
                   help=f"comma-separated subset of {','.join(PEERS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--second-seed", type=int, default=1,
                   help="standalone: run this seed on the same binary (-1: skip)")
    p.add_argument("--runtime-epochs-fraction", type=float, default=1.0,
                   help="cython: simulate only this fraction of the periods (default all); "
                        "speed stays comparable, accuracies are then n/a")
    p.add_argument("--standalone-dir", default=None,
                   help="standalone project directory (default: a fresh temporary one, so the "
                        "compilation is cold; an existing built project rebuilds cheaply)")
    p.add_argument("--profile", action="store_true",
                   help="also build and run a profiled standalone binary and print the time of "
                        "each code object (a separate run, not in the table)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--json", default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    peers = [s.strip() for s in args.peers.split(",") if s.strip()]
    for name in peers:
        if name not in PEERS:
            p.error(f"unknown peer {name!r}; choose from {', '.join(PEERS)}")

    setup = Setup(args.epochs, args.seed)
    fwd, fb = synapse_count(setup.sizes)
    env = environment()
    print(f"digits {'-'.join(map(str, setup.sizes))}, rule kp, dt = {setup.schedule.dt}, "
          f"T = {setup.schedule.sample_time}, buffer = {setup.schedule.buffer_time}, "
          f"{args.epochs} epochs: {setup.n_periods} periods of {setup.period_s * 1e3:g} ms "
          f"(+1 blank) = {(setup.n_periods + 1) * setup.period_s:.1f} s simulated, "
          f"{(setup.n_periods + 1) * setup.spp} steps")
    print(f"synapses counted: {fwd} forward (W1 + W2) + {fb} feedback (V1) = {fwd + fb} "
          f"(softmax normaliser, {setup.sizes[-1] ** 2}, not counted)")
    print(f"machine: {env['cpu']}, {env['cores']} cores; Python {env['python']}, "
          f"Brian2 {env['brian2']}, NumPy {env['numpy']}\n", flush=True)

    rows, skipped = [], {}
    runners = {
        "standalone": lambda: bench_standalone(
            setup, None if args.second_seed < 0 else args.second_seed, args.standalone_dir,
            args.keep),
        "dense": lambda: bench_standalone(setup, None, None, args.keep, name="dense",
                                          device="ctfa_dense_standalone"),
        "dense-auto": lambda: bench_dense_auto(setup),
        "standalone-2t": lambda: bench_standalone(setup, None, None, args.keep, threads=2,
                                                  name="standalone-2t"),
        "cython": lambda: bench_cython(setup, args.runtime_epochs_fraction, args.keep),
        "numpy": lambda: bench_numpy(setup),
        "diffrax": lambda: bench_diffrax(setup),
    }
    for name in peers:
        print(f"[{time.strftime('%H:%M:%S')}] running {name} ...", flush=True)
        start = time.perf_counter()
        cpu0 = _cpu_seconds()
        try:
            new = runners[name]()
        except PeerSkipped as err:
            skipped[name] = str(err)
            print(f"  SKIPPED {name}: {err}\n  (install the bench extra: "
                  "pip install 'ctfa_brian[bench]')", flush=True)
            continue
        except Exception as err:  # report and go on with the other peers
            skipped[name] = f"failed: {type(err).__name__}: {err}"
            traceback.print_exc()
            print(f"  FAILED {name}: {err}", flush=True)
            continue
        wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu0
        for r in new:
            r["cores_used"] = cpu / wall  # mean busy cores over the whole peer (incl. compile)
        rows.extend(new)
        print(f"  done in {wall:.1f} s ({cpu / wall:.2f} cores busy on average)", flush=True)

    ratios, targets = comparisons(rows)
    print()
    print(table(rows))
    print("\nwhat each peer ran:")
    for r in rows:
        print(f"  {r['peer']}: {r['ran']}")
    for name, why in skipped.items():
        print(f"  {name}: not run ({why})")
    if ratios:
        print("\nspeed ratios (simulated s per wall s) and accuracy differences (final test):")
        for name, r in ratios.items():
            readout = ("" if r.get("max_abs_readout_diff") is None
                       else f", max |Δ readout| {r['max_abs_readout_diff']:.2g}")
            accuracy = ("" if "test_accuracy_diff_pp" not in r
                        else f", accuracy {r['test_accuracy_diff_pp']:+.2f} pp")
            label = name if "_vs_" in name else f"standalone vs {name}"
            print(f"  {label:24s} {r['speed']:8.2f}× faster{accuracy}{readout}")
    print("\ntargets:")
    for line in targets:
        print(f"  {line}")

    profile = None
    if args.profile:
        print(f"\n[{time.strftime('%H:%M:%S')}] profiling standalone (separate build) ...",
              flush=True)
        info, wall = profile_standalone(setup)
        total = sum(t for _, t in info)
        profile = {"build_and_run_wall_s": wall, "code_objects_s": dict(info)}
        print(f"standalone per-code-object time (profile=True; sum {total:.2f} s):")
        for name, t in info[:15]:
            print(f"  {name:50s} {t:8.3f} s  {100 * t / total:5.1f} %")

    if args.json:
        out = {
            "config": {"dataset": "digits", "sizes": list(setup.sizes), "rule": "kp",
                       "epochs": args.epochs, "seed": args.seed, "dt_s": setup.dt_s,
                       "period_s": setup.period_s, "periods": setup.n_periods,
                       "synapses_counted": fwd + fb, "rtol": RTOL, "atol": ATOL},
            "environment": env,
            "peers": [{k: v for k, v in r.items() if k != "readout"} for r in rows],
            "skipped": skipped,
            "ratios": ratios,
            "targets": targets,
            "standalone_profile": profile,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=_jsonable)
        print(f"\nwrote {args.json}")
    return 0


def _jsonable(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
