"""Benchmark of the in-silico trial engine (remission.sim).

Measures, in one run on this machine:

1. Throughput (virtual patients/s, 180 simulated days after a 13-day venetoclax +
   Flu/Cy lead-in, CLL1 CAR-T) of the vectorised solver (exact PK + RK4) against a
   per-patient ``scipy.integrate.solve_ivp`` loop (LSODA, rtol 1e-6, atol 1e-12) of the
   same model, and the accuracy of both against ``solve_ivp`` DOP853 at rtol 1e-10
   (max relative error over every state and day).
2. A full trial design (seed 000, two arms) through Dask LocalCluster with 1 and 2
   workers: wall time, patients/s, scaling, and peak resident memory of the client and
   all worker processes (psutil, sampled every 0.2 s).

Usage: ``python benchmarks/bench_sim.py [--quick | --full]``. ``--full`` runs 1,000,000
virtual patients through the design on 2 workers.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

from remission.sim import load_design, run_trial
from remission.sim.params import typical
from remission.sim.population import build_patients
from remission.sim.solver import simulate, simulate_reference, simulate_states

DESIGN = Path(__file__).resolve().parents[1] / "examples" / "designs" / \
    "seed000_ven_leadin_cll1_cart.toml"


class PeakRSS:
    """Peak summed RSS of this process and its children while the block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRSS:
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def _patients(n: int, seed: int = 0):
    d = load_design(DESIGN)
    arm = d.arms[0]  # VEN lead-in + Flu/Cy + CLL1 CAR-T
    _, p = build_patients(seed, np.arange(n), d.population, typical(d.parameters),
                          arm.product, d.antigen)
    return p, arm.schedule


def _one(p: dict, i: int) -> dict:
    return {k: v[i:i + 1] for k, v in p.items()}


def _rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    scale = np.abs(ref).max(axis=0)
    floor = np.maximum(np.abs(ref), 1e-12 * scale + 1e-300)
    return float((np.abs(got - ref) / floor).max())


def bench_solver(n_vec: int, n_loop: int, n_acc: int) -> list[tuple[str, str]]:
    p, s = _patients(max(n_vec, n_loop, n_acc))
    pv = {k: v[:n_vec] for k, v in p.items()}
    t0 = time.perf_counter()
    simulate(pv, s)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_loop):
        simulate_reference(_one(p, i), s, method="LSODA", rtol=1e-6, atol=1e-12)
    t_loop = time.perf_counter() - t0
    err_vec, err_lsoda = 0.0, 0.0
    for i in range(n_acc):
        pi = _one(p, i)
        ref = simulate_reference(pi, s, method="DOP853", rtol=1e-10, atol=1e-20)
        err_vec = max(err_vec, _rel_err(simulate_states(pi, s)[:, :, 0], ref))
        lsoda = simulate_reference(pi, s, method="LSODA", rtol=1e-6, atol=1e-12)
        err_lsoda = max(err_lsoda, _rel_err(lsoda, ref))
    days = len(s.days) - 1
    r_vec, r_loop = n_vec / t_vec, n_loop / t_loop
    return [
        ("simulated days per patient", f"{days} (180 after day 0)"),
        (f"vectorised RK4+exact PK, {n_vec} patients", f"{t_vec:.2f} s = {r_vec:,.0f} pts/s"),
        (f"solve_ivp LSODA rtol 1e-6 loop, {n_loop} patients",
         f"{t_loop:.2f} s = {r_loop:,.1f} pts/s"),
        ("speed-up (vectorised / LSODA loop)", f"{r_vec / r_loop:,.0f}x"),
        (f"max rel. error vs DOP853 rtol 1e-10 ({n_acc} pts): vectorised", f"{err_vec:.2e}"),
        (f"max rel. error vs DOP853 rtol 1e-10 ({n_acc} pts): LSODA 1e-6", f"{err_lsoda:.2e}"),
    ]


def bench_trial(n_per_arm: int, workers: int, chunk: int) -> tuple[float, float, int]:
    d = load_design(DESIGN)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        res = run_trial(d, n=n_per_arm, seed=0, workers=workers, chunk_size=chunk,
                        observations=False, progress=False)
        wall = time.perf_counter() - t0
    n = len(res.patients)
    return wall, n / wall, mem.peak


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    g.add_argument("--full", action="store_true", help="include 1,000,000 patients on 2 workers")
    args = ap.parse_args(argv)
    if args.quick:
        n_vec, n_loop, n_acc, trial_n, chunk = 100, 1, 1, 10, 5
    else:
        n_vec, n_loop, n_acc, trial_n, chunk = 20_000, 20, 3, 20_000, 5_000
    width = 64
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-+-{'-' * 40}", flush=True)

    def emit(k: str, v: str) -> None:  # rows are printed as measured (long runs)
        print(f"{k.ljust(width)} | {v}", flush=True)

    emit("machine", f"{psutil.cpu_count()} CPUs, "
                    f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM, "
                    f"load avg {psutil.getloadavg()[0]:.2f}")
    for k, v in bench_solver(n_vec, n_loop, n_acc):
        emit(k, v)
    runs = [(trial_n, 2)] if args.quick else [(trial_n, 1), (trial_n, 2)]
    if args.full:
        runs.append((500_000, 2))
    base = None
    for n_arm, w in runs:
        wall, rate, peak = bench_trial(n_arm, w, chunk)
        if base is None:
            base = rate
        emit(f"Dask trial seed000, {2 * n_arm:,} patients, {w} worker(s)",
             f"{wall:.1f} s = {rate:,.0f} pts/s ({rate / base:.2f}x of 1 worker), "
             f"peak RSS {peak / 2**20:,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
