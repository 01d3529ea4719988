"""``make bench``: run every benchmark, then one summary table; non-zero exit if any fails.

The harness benchmarks (survival, grading, lab, report, report_render, sim, fuzz, web,
singlecell) run their workloads side by side with their baselines (fuzz and web's load
test: against their contract), compare outputs and write ``build/bench/<name>.json``; every other
``bench_*.py`` (immunogenetics) runs as it is and only its exit status is used.

Sizes: by default every benchmark runs at its ``make bench`` size (:data:`MAKE_BENCH`),
meant to finish in under 5 minutes each on the idle 2-core development machine
(docs/performance.md, "make bench sizes", has the sizes and the durations measured so
far, on a loaded machine; the idle-machine durations are the quiet re-run's to confirm).
``--full`` runs each benchmark at its own default size instead (the sizes of the issues'
targets: single-cell at 2 x 50,000 cells x 20,000 genes takes far longer);
``--quick`` runs the smoke sizes. Other arguments are passed on to the harness
benchmarks (e.g. ``--reps 3``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESS = ["bench_survival.py", "bench_grading.py", "bench_lab.py", "bench_report.py",
           "bench_report_render.py", "bench_sim.py", "bench_fuzz.py", "bench_web.py",
           "bench_singlecell.py"]
# every other bench_*.py runs on its own timing code; only --quick is passed on to it
LEGACY = sorted(p.name for p in HERE.glob("bench_*.py") if p.name not in HARNESS)
# `make bench` sizes, meant for < 5 min each on the idle 2-core machine (durations measured
# under load in docs/performance.md); a benchmark not listed runs at its own default size
MAKE_BENCH: dict[str, list[str]] = {
    "bench_lab.py": ["--n", "500"],  # R nls(SSfpl) on 2,000 curves: ~80 s per repetition
    "bench_web.py": ["--seconds", "30"],  # load runs of 30 s instead of 120 s per backend
    "bench_sim.py": ["--trial-patients", "250"],  # Dask trial 2 x 250 instead of 2 x 500
    "bench_singlecell.py": ["--cells", "2000", "--genes", "800"],  # full: 2 x 50,000 x 20,000
}


def arguments(name: str, argv: list[str]) -> list[str]:
    """The command-line arguments ``name`` gets from ``run_all.py ARGV``.

    Parameters
    ----------
    name : str
        A benchmark script, e.g. ``"bench_lab.py"``.
    argv : list of str
        run_all's own arguments.

    Returns
    -------
    list of str
        ``--quick`` (smoke sizes) and ``--full`` (the script's own default sizes) replace
        the ``make bench`` size; every other argument is passed on to the harness
        benchmarks.

    Examples
    --------
    >>> arguments("bench_lab.py", [])
    ['--n', '500']
    >>> arguments("bench_lab.py", ["--full", "--reps", "3"])
    ['--reps', '3']
    >>> arguments("bench_immunogenetics.py", ["--quick", "--reps", "3"])
    ['--quick']
    """
    rest = [a for a in argv if a != "--full"]
    if name not in HARNESS:
        return [a for a in rest if a == "--quick"]
    if "--quick" in argv or "--full" in argv:
        return rest
    return [*MAKE_BENCH.get(name, []), *rest]


BUDGET_S = 300.0  # each benchmark at its `make bench` size: < 5 min on the idle machine


def timed_call(cmd: list[str]) -> tuple[int, float, float]:
    """Run ``cmd`` to the end; its exit status, wall time and CPU time.

    Parameters
    ----------
    cmd : list of str
        The command.

    Returns
    -------
    tuple of (int, float, float)
        Exit status, wall seconds, and CPU seconds (user + system) of the process and of
        every descendant it waited for (``os.wait4``), which, unlike the wall time, does
        not grow with other users' load.

    Examples
    --------
    >>> status, wall, cpu = timed_call([sys.executable, "-c", "import sys; sys.exit(3)"])
    >>> status, wall > 0, cpu > 0
    (3, True, True)
    """
    t = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, st, ru = os.wait4(proc.pid, 0)
    return os.waitstatus_to_exitcode(st), time.perf_counter() - t, ru.ru_utime + ru.ru_stime


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    status: dict[str, int] = {}
    times: dict[str, str] = {}
    for name in HARNESS + LEGACY:
        args = arguments(name, argv)
        print(f"\n=== {name} {' '.join(args)} ===", flush=True)
        load0 = os.getloadavg()[0]
        status[name], wall, cpu = timed_call([sys.executable, str(HERE / name), *args])
        over = wall > BUDGET_S and "--full" not in argv
        times[name] = (f"{wall:.0f} s wall{' (over the 5-min budget)' if over else ''}, "
                       f"{cpu:.0f} s CPU, 1-min load {load0:.1f} -> {os.getloadavg()[0]:.1f}")
        print(f"=== {name}: exit {status[name]}, {times[name]} ===", flush=True)
    print("\n=== summary ===")
    for name in HARNESS:
        rec_path = HERE.parent / "build" / "bench" / (name[6:-3] + ".json")
        if not rec_path.exists():
            print(f"{name}: no record")
            continue
        rec = json.loads(rec_path.read_text())
        for r in rec["rows"]:
            if "baseline" in r and not r.get("failed"):
                tgt = r.get("target_ratio")
                met = "" if tgt is None else (" (target met)" if r["target_met"]
                                              else f" (target <= {tgt:g} NOT met)")
                print(f"{r['workload']:<44} {r['subject_s']:8.3f} s vs {r['baseline']:<22}"
                      f"{r['baseline_s']:8.3f} s  ratio {r['ratio']:.3f}{met}  "
                      f"load {r['max_load1']:.1f}")
            elif "subject_s" in r:  # checked against a contract, no baseline
                print(f"{r['workload']:<44} {r['subject_s']:8.3f} s"
                      f"{'' if r['agree'] else ', outputs NOT as required'}")
            elif "limit_cpu_s" in r:
                print(f"{r['workload']:<44} {r['median_cpu_s']:8.3f} s CPU, "
                      f"{r['median_s']:.3f} s wall (CPU limit {r['limit_cpu_s']:g} s: "
                      f"{'PASS' if r['target_met'] else 'FAIL'}; load "
                      f"{max(x['load1'] for x in r['runs']):.1f})")
            elif "limit_s" in r:
                cpu = r.get("median_cpu_s")
                cpu_txt = "" if cpu is None else f", CPU {cpu:.3f} s"
                print(f"{r['workload']:<44} {r['median_s']:8.3f} s wall{cpu_txt} (limit "
                      f"{r['limit_s']:g} s: {'PASS' if r['target_met'] else 'FAIL'}; load "
                      f"{max(x['load1'] for x in r['runs']):.1f})")
    for name, st in status.items():
        print(f"{name}: {'ok' if st == 0 else f'FAILED (exit {st})'}; {times[name]}")
    return 0 if all(st == 0 for st in status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
