"""Benchmark of the in-silico trial engine (remission.sim).

Measures, in one run on this machine:

1. Throughput (virtual patients/s, 180 simulated days after a 13-day venetoclax +
   Flu/Cy lead-in, CLL1 CAR-T) of the vectorised solver (exact PK + RK4) against the
   loop a competent user would write (:func:`fair_loop`): one ``solve_ivp`` (LSODA) per
   patient with a scalar right-hand side in Python floats, restarted only at doses,
   rtol 1e-6, which matches the vectorised solver's error on the disease states. The
   accuracy of both against ``solve_ivp`` DOP853 at rtol 1e-10 (max relative error over
   the 19 disease states and every day) is printed; the run exits 1 if either exceeds
   1e-3. (The earlier baseline -- the vectorised right-hand side on length-1 arrays,
   restarted every day -- overstated the speed-up ~20-fold and is no longer used.)
   R deSolve as a peer is not implemented.
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
from remission.sim.solver import simulate_reference, simulate_states

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


def scalar_rhs_factory(pi: dict) -> callable:
    """The model's right-hand side written for one patient with Python floats (what a
    competent user would write for a per-patient ``solve_ivp`` loop): 19 disease states
    + 5 driver states (venetoclax depot/central/peripheral, blinatumomab, Flu/Cy)."""
    from math import exp, log

    q = {k: float(v[0]) for k, v in pi.items()}
    ka, cl, v2, qq, v3 = (q[k] for k in ("ven_ka", "ven_cl", "ven_v2", "ven_q", "ven_v3"))
    kb, vb, kld = q["blin_cl"] / q["blin_v"], q["blin_v"], q["ld_decay"]
    dh_half = q["car_density_half"] ** q["car_density_hill"]

    def f(_t: float, x: np.ndarray, rate: float) -> list[float]:
        (lp, ln, a, e, m, t, pr, tr1, tr2, tr3, nc, il, pp, pt1, pt2, pt3, plt, hb, fit,
         d0, d1, d2, d3, d4) = x.tolist()
        cv, cb, ld = d1 / v2, d3 / vb * 1000.0, d4
        lpos, lneg = exp(lp), exp(ln)
        ltot = lpos + lneg
        grow = q["leuk_growth"] * (1.0 - ltot)
        car_sat = e / (q["car_kill_half"] + e)
        dh = (a * q["antigen_density"]) ** q["car_density_hill"]
        recog = dh * (1.0 + dh_half) / (dh + dh_half)
        kill_car = q["kill_max"] * car_sat * recog
        ven = q["ven_kill_max"] * cv
        kill_pos = kill_car + ven / (q["ven_ic50_pos"] + cv)
        kill_neg = q["car_neg_kill_fraction"] * kill_car + ven / (
            q["ven_ic50_pos"] / q["ven_sensitivity_ratio"] + cv)
        occ = cb / (q["blin_ec50"] + cb)
        kill_b = q["blin_kill_max"] * occ * a * t / (q["blin_t_half"] + t
                                                      + q["blin_et_burden"] * ltot)
        kill_pos += kill_b
        kill_neg += q["blin_neg_kill_fraction"] * kill_b
        m_np = q["switch_neg_to_pos"] * (1.0 + q["antigen_switch_gain"] * (a - 1.0))
        m_pn = q["switch_pos_to_neg"]
        ratio = lneg / lpos
        target = recog * lpos + q["offtumour_weight"] * pr / q["anc_healthy"]
        stim = target / (q["car_stim_half"] + target + e / q["car_et_capacity"])
        boost = 1.0 + q["ld_car_boost"] * max(0.0, 1.0 - t / q["alc0"])
        react = q["car_memory_reactivation"] * stim * m * fit
        ktr = 4.0 / q["neut_mtt"]
        k_off = q["offtumour_kill"] * car_sat
        kdrug = q["ld_myelo_kill"] * ld + k_off + q["ven_myelo_slope"] * cv
        space = max(1.0 - ltot, 1e-3)
        drive = exp(q["neut_gamma"] * log(q["anc_healthy"] / nc)
                    + q["neut_crowding"] * log(space))
        prod = q["il6_car"] * e * stim * recog * lpos / max(target, 1e-300) \
            + q["il6_blin"] * occ * t * lpos
        ktp = 4.0 / q["plt_mtt"]
        drive_p = exp(q["plt_gamma"] * log(q["plt_healthy"] / plt)
                      + q["plt_crowding"] * log(space))
        kdp = q["ld_myelo_kill"] * ld + q["ven_myelo_slope"] * cv
        prod_hb = q["hb_healthy"] * space ** q["hb_crowding"] / (1.0 + q["ld_hb_effect"] * ld)
        return [
            grow - kill_pos - m_pn + m_np * ratio,
            grow - kill_neg - m_np + m_pn / ratio,
            -q["antigen_decay"] * (a - 1.0) + q["antigen_up_rate"] * cv / (
                q["antigen_up_ec50"] + cv),
            (q["expansion"] * boost * stim * fit - q["effector_loss"]
             - q["memory_conversion"]) * e + react,
            q["memory_conversion"] * e - react - q["car_memory_loss"] * m,
            q["lymph_recovery"] * (q["alc0"] - t) - q["ld_lymph_kill"] * ld * t,
            ktr * pr * (drive - 1.0) - kdrug * pr,
            ktr * (pr - tr1), ktr * (tr1 - tr2), ktr * (tr2 - tr3),
            ktr * (tr3 - nc) - k_off * nc,
            prod / (1.0 + prod / q["il6_prod_max"]) - q["il6_elim"] * (il - q["il6_baseline"]),
            ktp * pp * (drive_p - 1.0) - kdp * pp,
            ktp * (pp - pt1), ktp * (pt1 - pt2), ktp * (pt2 - pt3), ktp * (pt3 - plt),
            q["hb_turnover"] * (prod_hb - hb),
            -q["car_exhaustion"] * stim * fit,
            -ka * d0, ka * d0 - (cl + qq) / v2 * d1 + qq / v3 * d2, qq / v2 * d1 - qq / v3 * d2,
            rate - kb * d3, -kld * d4,
        ]

    return f


def fair_loop(pi: dict, s, rtol: float, method: str = "LSODA") -> np.ndarray:
    """Per-patient solve_ivp with the scalar RHS, restarted only where a dose is given
    (venetoclax, Flu/Cy, cells, or a blinatumomab rate change); states at every day."""
    from scipy.integrate import solve_ivp

    from remission.sim.model import EF, N_STATES, initial_state
    from remission.sim.pk import ven_bioavailable_dose
    from remission.sim.solver import BLOOD_UL_PER_KG

    f = scalar_rhs_factory(pi)
    x = np.concatenate([initial_state(pi)[:, 0], np.zeros(5)])
    ndays = len(s.days)
    dose_day = (s.ven_mg > 0) | (s.fc_units > 0) | (s.car_per_kg > 0) | (s.car_cells > 0)
    dose_day[1:] |= s.blin_ug_day[1:] != s.blin_ug_day[:-1]
    dose_day[0] = True
    starts = [int(i) for i in np.flatnonzero(dose_day) if i < ndays - 1]
    out = np.empty((ndays, N_STATES + 5))
    out[0] = x
    w = float(pi["weight_kg"][0])
    for k, i in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else ndays - 1
        if s.ven_mg[i] > 0:
            x[N_STATES] += float(ven_bioavailable_dose(np.array([s.ven_mg[i]]), pi)[0])
        x[N_STATES + 4] += s.fc_units[i]
        x[EF] += (s.car_per_kg[i] + s.car_cells[i] / w) * float(pi["car_blood_fraction"][0]) \
            / BLOOD_UL_PER_KG
        sol = solve_ivp(f, (i, stop), x, method=method, rtol=rtol, atol=1e-12 * 0 + 1e-14,
                        t_eval=np.arange(i, stop + 1), args=(float(s.blin_ug_day[i]),))
        out[i + 1:stop + 1] = sol.y[:, 1:].T
        x = sol.y[:, -1].copy()
    return out


DISEASE = slice(0, 19)  # disease/effector/toxicity states (drivers excluded)


def bench_fair(n_vec: int, n_loop: int, n_acc: int, rtol: float) -> list[tuple[str, str]]:
    """Vectorised solver vs the fair per-patient loop; accuracy on the disease states."""
    p, s = _patients(max(n_vec, n_loop, n_acc))
    pv = {k: v[:n_vec] for k, v in p.items()}
    t0 = time.perf_counter()
    simulate_states(pv, s)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n_loop):
        fair_loop(_one(p, i), s, rtol)
    t_loop = time.perf_counter() - t0
    e_vec = e_loop = 0.0
    for i in range(n_acc):
        pi = _one(p, i)
        ref = simulate_reference(pi, s, method="DOP853", rtol=1e-10, atol=1e-20)[:, DISEASE]
        e_vec = max(e_vec, _rel_err(simulate_states(pi, s)[:, DISEASE, 0], ref))
        e_loop = max(e_loop, _rel_err(fair_loop(pi, s, rtol)[:, DISEASE], ref))
    r_vec, r_loop = n_vec / t_vec, n_loop / t_loop
    return [
        (f"fair loop: scalar RHS, LSODA rtol {rtol:g}, restarts at doses, {n_loop} pts",
         f"{t_loop:.2f} s = {r_loop:,.2f} pts/s"),
        (f"vectorised (no transfusions), {n_vec} patients", f"{t_vec:.2f} s = {r_vec:,.0f} pts/s"),
        ("speed-up vs fair loop", f"{r_vec / r_loop:,.1f}x"),
        (f"disease-state max rel. error vs DOP853 1e-10 ({n_acc} pts): vectorised",
         f"{e_vec:.2e}"),
        (f"disease-state max rel. error vs DOP853 1e-10 ({n_acc} pts): fair loop",
         f"{e_loop:.2e}"),
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


def bench_robust(sizes: tuple[int, ...]) -> int:
    """simulate -> validate -> report for every shipped design at each size per arm;
    prints wall times and the recorded-vs-derived disagreements; 1 on any failure."""
    import tempfile

    from remission.pipeline import analyse, bundle_for
    from remission.report import write_report
    from remission.sim import cli_simulate
    from remission.study import load_study

    failed = 0
    for design in sorted(DESIGN.parent.glob("*.toml")):
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    t0 = time.perf_counter()
                    out = cli_simulate(design, Path(tmp) / "s", n=n, workers=0)
                    t1 = time.perf_counter()
                    study = load_study(out)
                    audit = analyse(study, figures=False).results["audit.recorded_vs_derived"]
                    write_report(bundle_for(out), Path(tmp) / "r")
                    t2 = time.perf_counter()
                    bad = audit.params["n_disagree"]
                    failed += bad > 0
                    print(f"{design.stem:40s} n/arm {n:5d} | {study.n:5d} patients | simulate "
                          f"{t1 - t0:6.1f} s | validate+report {t2 - t1:6.1f} s | "
                          f"disagreements {bad}", flush=True)
                except Exception as exc:  # report every failure, keep going
                    failed += 1
                    print(f"{design.stem:40s} n/arm {n:5d} | FAILED: {exc!r}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small smoke run (seconds)")
    g.add_argument("--full", action="store_true", help="include 1,000,000 patients on 2 workers")
    g.add_argument("--robust", type=int, nargs="+", metavar="N",
                   help="simulate -> validate -> report every shipped design at N per arm")
    args = ap.parse_args(argv)
    if args.robust:
        return bench_robust(tuple(args.robust))
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
    rows = bench_fair(n_vec, n_loop, n_acc, rtol=1e-6)
    for k, v in rows:
        emit(k, v)
    errs = {k: float(v) for k, v in rows if "max rel. error" in k}
    bad = [k for k, v in errs.items() if not v < 1e-3]
    if bad:  # outputs disagree with the DOP853 reference: the comparison is void
        print("DISAGREEMENT: " + "; ".join(bad), file=sys.stderr)
        return 1
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
