"""CPU time per patient of remission's solver alone, for before/after runs on a shared machine.

Runs ``simulate_states`` on the solver workload of ``bench_sim.py`` (the seed-000 VEN arm,
194 days; default 2,000 patients) from the source tree ``ROOT`` (its ``src`` and
``benchmarks``), ``--calls`` times after one warm-up patient (the Numba compile or cache
load) and one untimed call of every patient (new output memory), and prints the
in-process CPU time (``time.process_time``) per patient: minimum and median over the calls,
and the steps per patient. Alternate two checkouts with ``benchmarks/ab_commands.py`` so
that a change in load hits both alike, e.g.::

    git worktree add /tmp/before <commit>
    python benchmarks/ab_commands.py --reps 4 \\
        'python benchmarks/sim_solver_cpu.py /tmp/before' 'python benchmarks/sim_solver_cpu.py .'

(``ab_commands`` prints each command's whole-process CPU; run the commands by hand to see
the per-patient figures.) Usage: ``python benchmarks/sim_solver_cpu.py ROOT [--patients N]
[--calls K]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path, help="source tree (holds src/ and benchmarks/)")
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--calls", type=int, default=3)
    a = ap.parse_args(argv)
    root = a.root.resolve()
    sys.path[:0] = [str(root / "src"), str(root / "benchmarks")]
    import bench_sim as b
    from remission.sim.solver import simulate_states

    p, s = b._patients(a.patients)
    simulate_states(b._one(p, 0), s)  # compile or load the kernel
    # one untimed full-size call: the first calls' output memory is new to the process and
    # costs system time that later calls do not pay (bench_sim.w_vector does the same)
    c = time.process_time()
    simulate_states(p, s)
    first = (time.process_time() - c) / a.patients * 1e3
    cpu, steps = [], 0.0
    for _ in range(a.calls):
        stats: dict[str, int] = {}
        c = time.process_time()
        simulate_states(p, s, stats=stats)
        cpu.append((time.process_time() - c) / a.patients * 1e3)
        steps = stats["steps"] / a.patients
    print(f"{root}: CPU ms/patient min {min(cpu):.4f} median {statistics.median(cpu):.4f} "
          f"({a.calls} calls of {a.patients:,} patients after an untimed one of {first:.4f}; "
          f"{steps:.1f} steps/patient)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
