"""benchmarks/bench_sim.py at tiny size: the vectorised solver and the per-patient
solve_ivp loop (and R deSolve, when installed) match DOP853 at rtol 1e-10, the Dask trial
streamed to Parquet gives the same bytes with 1 and 2 workers within 4 GB per process,
and a wrong output makes the benchmark fail."""

from __future__ import annotations

import re
import shutil

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_sim_solver_quick_agrees() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "solver")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    want = {"vectorised solver states vs DOP853 1e-10",
            "solve_ivp loop (LSODA 1e-6) states vs DOP853 1e-10",
            "vectorised solver at least as accurate as the loop"}
    if shutil.which("Rscript"):  # the R deSolve peer runs whenever R is installed
        want |= {"R deSolve (lsoda 1e-6) states vs DOP853 1e-10",
                 "vectorised solver vs R deSolve states"}
    assert keys == want
    assert all(c["diff"] < 1e-3 for c in rec["checks"])
    # the CPU ratio is the median over every alternating run (2 in --quick), not the last
    acc = next(c for c in rec["checks"] if c["key"].endswith("as accurate as the loop"))
    assert re.search(r"paired by alternating run: median \d+x over 2 runs", acc["detail"])
    # the speed-up on the same patients: every pair of both processes (4 each), spread shown
    assert re.search(r"loop / remission: median \d+x \(IQR \d+-\d+x, range \d+-\d+x; "
                     r"8 values\)", proc.stdout), proc.stdout[-3000:]


def test_bench_sim_fails_on_wrong_states() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "solver", "--reps", "1", "--no-r",
                          perturb="states")
    assert_perturbation_fails(proc, rec, "vectorised solver")


def test_bench_sim_trial_same_patients_with_1_and_2_workers() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "trial", "--reps", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    assert [c["key"] for c in rec["checks"]] == [
        "Parquet parts (2 workers vs 1), byte for byte",
        "peak memory of every process < 4 GB (2 workers)",
        "peak memory of every process < 4 GB (1 worker)",
        "main process flat from 10% to 100% of the chunks (2 workers)",
        "main process flat from 10% to 100% of the chunks (1 worker)"]
    assert all(c["ok"] for c in rec["checks"])
    # the memory of the main process, the scheduler and each worker is printed
    detail = rec["checks"][1]["detail"]
    assert "workers " in detail and "main " in detail and "scheduler " in detail
