"""Alternate two or more shell commands and compare wall time and process-tree CPU time.

For before/after measurements of a cold command (e.g. ``remission report`` from two
checkouts) on a shared machine: repetition 1 runs A B, repetition 2 runs B A, and so on,
so that a change in load hits both alike. Each run's wall time is measured around the
process, its CPU time (user + sys) from ``os.wait4``, which includes every descendant the
command waited for (the report's figure process is reaped by the report). CPU time is far
less sensitive to the machine's load than wall time; both are printed with the 1-minute
load average. Exits 1 if any run exits non-zero.

Run: ``python benchmarks/ab_commands.py [--reps 6] 'COMMAND A' 'COMMAND B' ...``, e.g.
``python benchmarks/ab_commands.py 'cd /tmp/old && PYTHONPATH=src python -m
remission.cli report examples/cll1-post-hsct --out /tmp/a' 'PYTHONPATH=src python -m
remission.cli report examples/cll1-post-hsct --out /tmp/b'``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def run(commands: list[str], reps: int) -> tuple[dict[str, list[tuple[float, float]]], int]:
    """Run ``commands`` alternately ``reps`` times each.

    Parameters
    ----------
    commands : list of str
        Shell commands.
    reps : int
        Repetitions of each.

    Returns
    -------
    dict, int
        ``{command: [(wall s, CPU s), ...]}`` and the number of failed runs.

    Examples
    --------
    >>> res, failed = run(["true", "exit 3"], 2)
    >>> [len(v) for v in res.values()], failed
    ([2, 2], 2)
    """
    res: dict[str, list[tuple[float, float]]] = {c: [] for c in commands}
    failed = 0
    for i in range(reps):
        for c in commands if i % 2 == 0 else commands[::-1]:
            t = time.perf_counter()
            proc = subprocess.Popen(c, shell=True, stdout=subprocess.DEVNULL)
            _, status, ru = os.wait4(proc.pid, 0)
            res[c].append((time.perf_counter() - t, ru.ru_utime + ru.ru_stime))
            failed += os.waitstatus_to_exitcode(status) != 0
    return res, failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("commands", nargs="+")
    ap.add_argument("--reps", type=int, default=6)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    res, failed = run(a.commands, a.reps)
    for c, r in res.items():
        wall, cpu = [x[0] for x in r], [x[1] for x in r]
        print(f"wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}) | CPU "
              f"median {statistics.median(cpu):.3f} s (min {min(cpu):.3f}) | {c}")
    print(f"{a.reps} alternating runs each; 1-min load {load0:.1f} -> {os.getloadavg()[0]:.1f};"
          f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; failed runs: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
