#!/usr/bin/env python
"""Print how many trials per delay a lab needs to measure τ_elig to ±20 % (markdown table).

Usage::

    python scripts/tau_elig_design.py [--repeats 200] [--seed 0] [--target 0.2]

For every candidate set of delays, true τ_elig and per-trial noise (s.d. of ΔW as a fraction
of the peak ΔW) it runs `ctfa_brian.protocols.window_design.trials_needed`: the fewest trials
per delay (of `TRIAL_CANDIDATES`) whose simulated 95 % profile-likelihood interval has a median
half-width ≤ target, and prints it with that interval's median half-width. The schedule is the
protocol's default (1 s pairing, 10 pulses at 30 Hz, 5 ms, τ_d = 200 ms).
"""

import argparse
import time

from brian2 import second

from ctfa_brian.protocols.window_design import trials_needed

DESIGNS = {
    "Yagishita: −1, 0.6, 1, 5 s": (-1, 0.6, 1, 5),
    "6 delays: −1, 0, 0.6, 1, 2, 5 s": (-1, 0, 0.6, 1, 2, 5),
    "protocol: −2, −1, 0, 0.3, 0.6, 1, 2, 5 s": (-2, -1, 0, 0.3, 0.6, 1, 2, 5),
    "tail: −1, 0, 0.6, 1, 1.5, 2, 3, 4, 6, 8 s": (-1, 0, 0.6, 1, 1.5, 2, 3, 4, 6, 8),
}
TAUS = (0.5, 1.5, 4.0)
NOISES = (0.3, 1.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=0.2)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    head = [f"τ = {t:g} s, noise {100 * n:g} %" for n in NOISES for t in TAUS]
    print("| delays | " + " | ".join(head) + " |")
    print("| --- |" + " --- |" * len(head))
    for label, delays in DESIGNS.items():
        cells = []
        for noise in NOISES:
            for tau in TAUS:
                n, result = trials_needed(delays * second, noise, tau * second, args.target,
                                          repeats=args.repeats, seed=args.seed)
                cells.append(f"> {result.trials[0]:g}" if n is None
                             else f"{n} (±{100 * result.half_width:.0f} %)")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\ntrials per delay for a median 95 % interval within ±{100 * args.target:g} % "
          f"({args.repeats} simulated experiments each, seed {args.seed}; "
          f"{time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
