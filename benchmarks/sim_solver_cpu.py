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
the per-patient figures.) With ``--two-arms`` the workload is instead both arms of the
shipped seed-000 design (``N`` patients each, drawn as ``remission simulate`` draws them),
simulated together: arms with different dose days share the kernel's lanes. Usage:
``python benchmarks/sim_solver_cpu.py ROOT [--patients N] [--calls K] [--two-arms]``.
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
    ap.add_argument("--two-arms", action="store_true",
                    help="both arms of the seed-000 design, simulated together")
    a = ap.parse_args(argv)
    root = a.root.resolve()
    sys.path[:0] = [str(root / "src"), str(root / "benchmarks")]
    import bench_sim as b
    from remission.sim.solver import simulate_states

    if a.two_arms:
        p, s, arm = _two_arms(a.patients)
    else:
        (p, s), arm = b._patients(a.patients), None
    n = len(next(iter(p.values())))
    simulate_states({k: v[:1] for k, v in p.items()}, s,
                    None if arm is None else arm[:1])  # compile or load the kernel
    # one untimed full-size call: the first calls' output memory is new to the process and
    # costs system time that later calls do not pay (bench_sim.w_vector does the same)
    c = time.process_time()
    simulate_states(p, s, arm)
    first = (time.process_time() - c) / n * 1e3
    cpu, steps = [], 0.0
    for _ in range(a.calls):
        stats: dict[str, int] = {}
        c = time.process_time()
        simulate_states(p, s, arm, stats=stats)
        cpu.append((time.process_time() - c) / n * 1e3)
        steps = stats["steps"] / n
    what = "two arms of seed 000, " if a.two_arms else ""
    print(f"{root}: {what}CPU ms/patient min {min(cpu):.4f} median {statistics.median(cpu):.4f} "
          f"({a.calls} calls of {n:,} patients after an untimed one of {first:.4f}; "
          f"{steps:.1f} steps/patient)")
    return 0


def _two_arms(n: int):
    """Both arms of the shipped seed-000 design, ``n`` patients each (numbers 0.. of arm 0,
    then arm 1's), their stacked schedule and the arm of each patient."""
    import numpy as np

    from remission.sim.design import DESIGN_DIR, load_design
    from remission.sim.params import typical
    from remission.sim.population import build_patients

    d = load_design(DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml")
    ps, arms = [], []
    for i, arm in enumerate(d.arms):
        _, q = build_patients(0, np.arange(i * n, (i + 1) * n),
                              {**d.population, **arm.population},
                              typical({**d.parameters, **arm.parameters}), arm.product,
                              d.antigen, d.eligibility, hma=d.gives_hma,
                              donor_derived=arm.donor_derived)
        ps.append(q)
        arms.append(np.full(n, i))
    p = {k: np.concatenate([np.broadcast_to(q[k], (n,)) for q in ps]) for k in ps[0]}
    return p, d.stacked_schedule(), np.concatenate(arms)


if __name__ == "__main__":
    sys.exit(main())
