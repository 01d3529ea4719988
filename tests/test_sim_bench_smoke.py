"""benchmarks/bench_sim.py at tiny size: the vectorised solver and the per-patient
solve_ivp loop both match DOP853 at rtol 1e-10, the Dask trial gives the same patients
with 1 and 2 workers, and a wrong output makes the benchmark fail."""

from __future__ import annotations

from tests.benchsmoke import assert_agrees, assert_perturbation_fails, run_bench


def test_bench_sim_solver_quick_agrees() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "solver")
    assert_agrees(proc, rec)
    keys = {c["key"] for c in rec["checks"]}
    assert keys == {"vectorised solver states vs DOP853 1e-10",
                    "solve_ivp loop (LSODA 1e-6) states vs DOP853 1e-10"}
    assert all(c["diff"] < 1e-3 for c in rec["checks"])


def test_bench_sim_fails_on_wrong_states() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "solver", "--reps", "1",
                          perturb="states")
    assert_perturbation_fails(proc, rec, "vectorised solver")


def test_bench_sim_trial_same_patients_with_1_and_2_workers() -> None:
    proc, rec = run_bench("bench_sim.py", "--only", "trial", "--reps", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert rec["status"] == 0 and not rec["errors"]
    assert [c["key"] for c in rec["checks"]] == ["patients (2 workers vs 1)"]
    assert rec["checks"][0]["ok"]
