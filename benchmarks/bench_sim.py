"""Benchmark of the in-silico trial engine (remission.sim), on the shared harness.

Sides alternate (median of the repetitions), outputs are compared, and the run exits
non-zero on a disagreement or a failure (``benchmarks/harness.py``).

1. ``solver``: remission's solver (exact modal PK + compiled per-patient adaptive
   Dormand-Prince 5(4) across dose-free days with its continuous extension, at the
   trials' default tolerance ``remission.sim.solver.RTOL``; ``simulate_states``) against
   the loop
   a competent user would write (:func:`fair_loop`): one ``solve_ivp`` (LSODA) per patient
   with a scalar right-hand side in Python floats, restarted only at doses, rtol 1e-6
   (CLL1 CAR-T after a 13-day venetoclax + Flu/Cy lead-in, 180 days). Times are **CPU
   seconds per patient** (``time.process_time``; less sensitive to a shared machine's load
   than wall time), so the ratio is the inverse of the speed-up. The headline speed-up
   (``SPEED-UP ON THE SAME ... PATIENTS``) is taken on the same patients for both sides:
   the loop's ``n_loop`` patients are spread evenly over remission's ``n_vec``
   (:func:`sample`), and its process times remission on those patients (repeated to
   ``tile``) and the loop on them alternately, :data:`PAIRS` times
   (:func:`interleaved_pairs`); every pair of every repetition gives a ratio, printed
   with its median, quartiles and range, and with both sides' CPU per patient, the
   loop's right-hand-side calls and remission's steps. One-off costs are excluded from
   both sides and printed: the loop's first ``solve_ivp`` call, the kernel's compile or
   cache load, and remission's first call at full size (whose output memory is new to
   the process). Remission's own process also times the whole population
   (:data:`VEC_CALLS` calls). Compared: the 19 disease states on every day of ``n_acc``
   of the loop's timed patients (:func:`acc_patients`), from both sides, against
   ``solve_ivp`` DOP853 at rtol 1e-10, computed by the harness itself: the maximum
   relative error of each side must be below 1e-3, and remission's must not exceed the
   loop's (the speed-up is only claimed at matched accuracy).
2. ``trial``: a full trial design (seed 000, two arms) streamed to Parquet
   (``stream_trial``: each Dask worker simulates a chunk and writes its part files) with
   2 workers against 1 worker: wall time, and the peak memory of the main process and
   of every worker (each must stay below 4 GB). Compared: every Parquet part file is
   byte-identical (the same seed gives the same trial whatever the number of workers).
   ``--scale N ...`` runs the streamed trial at several sizes with 1 and 2 workers and
   prints the memory slope of every process and the scaling.

The solver workload has a third side when ``Rscript`` is present (``--no-r`` leaves it
out): the same model written in R (``benchmarks/r/sim_desolve.R``, every state including
the drugs integrated by deSolve's ``lsoda`` at rtol 1e-6, restarted only at doses, an R
function as right-hand side as in the deSolve vignettes), timed inside R on the
:func:`acc_patients`. Its states are compared with DOP853 like the others, and directly
with remission's (max relative difference < 1e-3).

Peak memory is the harness's VmHWM of the side's main process; Dask worker processes
are not included.

Usage: ``python benchmarks/bench_sim.py [--quick] [--reps R] [--patients N]
[--trial-patients N]`` (defaults: 2,000 vectorised patients, 24 loop patients of which 8
checked for accuracy, 500 per arm in the trial; ``--full`` 20,000 / 48 / 20,000).
``--robust N ...`` runs simulate -> validate -> report on every shipped design instead;
``--robust-check FOLDER ...`` runs validate -> report on simulated study folders already
written. Both exit 1 on an error,
on a recorded value that disagrees with the report's derivation, and when nothing was
compared.
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402
from remission.sim import load_design  # noqa: E402
from remission.sim.params import typical  # noqa: E402
from remission.sim.population import build_patients  # noqa: E402
from remission.sim.solver import RTOL as SOLVER_RTOL  # noqa: E402
from remission.sim.solver import simulate_reference, simulate_states  # noqa: E402
from remission.sim.trial import STREAM_CHUNK  # noqa: E402

DESIGN = Path(__file__).resolve().parents[1] / "examples" / "designs" / \
    "seed000_ven_leadin_cll1_cart.toml"


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
        ic50 = q["ven_ic50_pos"] * a ** q["ven_tolerance"]
        kill_pos = kill_car + ven / (ic50 + cv)
        kill_neg = q["car_neg_kill_fraction"] * kill_car + ven / (
            ic50 / q["ven_sensitivity_ratio"] + cv)
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
            (q["expansion"] * boost * stim * fit
             + q["homeostatic"] * max(0.0, 1.0 - t / q["alc0"])
             / (1.0 + e / q["car_et_capacity"]) - q["effector_loss"]
             - q["memory_conversion"]) * e + react,
            q["memory_conversion"] * e - react - q["memory_loss"] * m,
            q["lymph_recovery"] * (q["alc0"] - t) - q["ld_lymph_kill"] * ld * t,
            ktr * pr * (drive - 1.0) - kdrug * pr,
            ktr * (pr - tr1), ktr * (tr1 - tr2), ktr * (tr2 - tr3),
            ktr * (tr3 - nc) - k_off * nc,
            prod / (1.0 + prod / q["il6_prod_max"]) - q["il6_elim"] * (il - q["il6_baseline"]),
            ktp * pp * (drive_p - 1.0) - kdp * pp,
            ktp * (pp - pt1), ktp * (pt1 - pt2), ktp * (pt2 - pt3), ktp * (pt3 - plt),
            q["hb_turnover"] * (prod_hb - hb),
            -q["car_exhaustion"] * stim * fit if e + m > 0.0 else 0.0,
            -ka * d0, ka * d0 - (cl + qq) / v2 * d1 + qq / v3 * d2, qq / v2 * d1 - qq / v3 * d2,
            rate - kb * d3, -kld * d4,
        ]

    return f


def fair_loop(pi: dict, s, rtol: float, method: str = "LSODA",
              stats: dict | None = None) -> np.ndarray:
    """Per-patient solve_ivp with the scalar RHS, restarted only where a dose is given
    (venetoclax, Flu/Cy, cells, or a blinatumomab rate change); states at every day.
    ``stats``, if given, receives (adds to) ``"nfev"``, the right-hand-side calls."""
    from scipy.integrate import solve_ivp

    from remission.sim.model import EF, MEM, N_STATES, initial_state
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
        cells = (s.car_per_kg[i] + s.car_cells[i] / w) * float(pi["car_blood_fraction"][0]) \
            / BLOOD_UL_PER_KG
        rest = float(pi["resting_fraction"][0])
        x[EF] += (1.0 - rest) * cells
        x[MEM] += rest * cells
        sol = solve_ivp(f, (i, stop), x, method=method, rtol=rtol, atol=1e-14,
                        t_eval=np.arange(i, stop + 1), args=(float(s.blin_ug_day[i]),))
        out[i + 1:stop + 1] = sol.y[:, 1:].T
        x = sol.y[:, -1].copy()
        if stats is not None:
            stats["nfev"] = stats.get("nfev", 0) + int(sol.nfev)
    return out


DISEASE = slice(0, 19)  # disease/effector/toxicity states (drivers excluded)
RTOL = RTOL_LOOP = 1e-6  # the loop's solve_ivp (and R's lsoda) tolerance


def _spec(data: str) -> dict:
    return json.loads(Path(data).read_text())


R_SIM = HERE / "r" / "sim_desolve.R"
R_NAME = "R deSolve (lsoda 1e-6)"


def write_r_inputs(spec_path: Path, n: int, n_r: int, n_acc: int, rtol: float = RTOL_LOOP,
                   method: str = "lsoda", p: dict | None = None, s=None) -> None:
    """Inputs of ``benchmarks/r/sim_desolve.R``: the spec JSON it reads, one CSV of the
    patients' parameters (remission's names) and one of the arm's daily schedule."""
    import pandas as pd

    if p is None:
        p, s = _patients(n)
    stem = spec_path.with_suffix("")
    pd.DataFrame({k: np.broadcast_to(np.asarray(v, float), (n,)) for k, v in p.items()}) \
        .to_csv(f"{stem}-params.csv", index=False, float_format="%.17g")
    pd.DataFrame({"day": s.days, "ven_mg": s.ven_mg, "fc_units": s.fc_units,
                  "car_per_kg": s.car_per_kg, "car_cells": s.car_cells,
                  "blin_ug_day": s.blin_ug_day}).to_csv(f"{stem}-schedule.csv", index=False,
                                                        float_format="%.17g")
    spec = json.loads(spec_path.read_text()) if spec_path.exists() else {}
    spec.update({"params_csv": f"{stem}-params.csv", "schedule_csv": f"{stem}-schedule.csv",
                 "n_r": n_r, "n_acc": n_acc, "method": method, "rtol": rtol, "atol": 1e-14})
    spec_path.write_text(json.dumps(spec))


def sample(n_vec: int, n_loop: int) -> np.ndarray:
    """The patients the loop is timed on: ``n_loop`` of remission's ``n_vec``, spread
    evenly (first and last included), so that both sides' CPU per patient can be taken
    on the same patients (a patient's parameters depend on its number only).

    Examples
    --------
    >>> sample(2000, 8).tolist()
    [0, 285, 571, 857, 1142, 1428, 1714, 1999]
    >>> sample(100, 1).tolist()
    [0]
    """
    return np.unique(np.linspace(0, n_vec - 1, n_loop).round().astype(int))


def acc_patients(spec: dict) -> np.ndarray:
    """The ``n_acc`` patients whose states are checked against DOP853 (and R): spread
    evenly over the loop's timed :func:`sample` (all of it when ``n_acc >= n_loop``).

    Examples
    --------
    >>> acc_patients({"n_vec": 2000, "n_loop": 24, "n_acc": 4}).tolist()
    [0, 609, 1304, 1999]
    """
    idx = sample(spec["n_vec"], spec["n_loop"])
    return idx[np.unique(np.linspace(0, len(idx) - 1, min(spec["n_acc"], len(idx)))
                         .round().astype(int))]


def _subset(p: dict, idx: np.ndarray) -> dict:
    return {k: np.asarray(v)[idx] for k, v in p.items()}


def _cpu_call(fn: callable) -> tuple[float, float]:
    """(user, system) CPU seconds of this process while ``fn()`` runs."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    fn()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime


#: remission's calls of the whole population in its own process (median and min printed)
VEC_CALLS = 3
#: interleaved (remission, loop) pairs on the same patients in the loop's process
PAIRS = 4


def w_vector(data: str, out: str) -> None:
    """Subject: the vectorised solver on ``n_vec`` patients; CPU seconds per patient
    (median of :data:`VEC_CALLS` calls after one warm-up patient; the wall time is in the
    output)."""
    spec = _spec(data)
    p, s = _patients(spec["n_vec"])
    t0 = time.perf_counter()
    simulate_states(_one(p, 0), s)  # compiles the kernel, or loads it from Numba's cache
    jit = time.perf_counter() - t0
    # the first full-size calls take the output's memory (~37 kB per patient) from pages
    # the process never touched, at a system-time cost (on this VM ~0.07-0.1 ms per
    # patient, twice) that later calls do not pay: one untimed full-size call, its user
    # and system CPU printed
    first_full = _cpu_call(lambda: simulate_states(p, s))
    walls, cpus = [], []
    for _ in range(VEC_CALLS):
        stats: dict[str, int] = {}
        c0, t0 = time.process_time(), time.perf_counter()
        x = simulate_states(p, s, stats=stats)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    states = np.moveaxis(x[:, DISEASE, acc_patients(spec)], -1, 0)  # patients x days x states
    hz.emit(out, {"states": states, "first_call_s": jit, "rtol": SOLVER_RTOL,
                  "first_full_user_s": first_full[0] / spec["n_vec"],
                  "first_full_sys_s": first_full[1] / spec["n_vec"],
                  "cpu_per_patient_s": statistics.median(cpus) / spec["n_vec"],
                  "cpu_per_patient_min_s": min(cpus) / spec["n_vec"],
                  "cpu_per_patient_calls_s": [c / spec["n_vec"] for c in cpus],
                  "wall_per_patient_s": statistics.median(walls) / spec["n_vec"],
                  "steps_per_patient": stats["steps"] / spec["n_vec"],
                  "rejected_per_patient": stats["rejected"] / spec["n_vec"]},
            statistics.median(cpus) / spec["n_vec"])


def interleaved_pairs(spec: dict) -> dict:
    """CPU time per patient of both sides on the same patients (:func:`sample`), taken in
    one process, alternately: :data:`PAIRS` times remission on the sample (repeated to
    at least ``tile`` patients, so that its clock reads a measurable time) and the loop on
    the sample, in the order AB, BA, AB, ... (so that a drift of the machine's speed
    hits both alike). Before the pairs, one untimed call of each side (the loop's first
    ``solve_ivp`` and the kernel's cache load), timed separately.

    Returns the per-pair CPU ms per patient of each side, their ratios, the warm-up
    times, the loop's right-hand-side calls and remission's steps per patient of the
    sample, and the loop's states of the :func:`acc_patients`.
    """
    idx = sample(spec["n_vec"], spec["n_loop"])
    p, s = _patients(spec["n_vec"])
    ps = _subset(p, idx)
    k = len(idx)
    copies = max(1, -(-spec["tile"] // k))
    tile = _subset(ps, np.tile(np.arange(k), copies))  # neighbours in the lanes differ
    c0 = time.process_time()
    fair_loop(_one(ps, 0), s, RTOL)  # the loop's first call (not timed below)
    loop_first = time.process_time() - c0
    c0 = time.process_time()
    simulate_states(_one(ps, 0), s)  # the kernel's compile or cache load (not timed below)
    mine_first = time.process_time() - c0
    # one untimed call at the tile's size: its memory's first touch (see w_vector)
    first_full = _cpu_call(lambda: simulate_states(tile, s))
    mine, loop, states = [], [], None
    steps, nfev = 0.0, 0.0
    for r in range(PAIRS):
        for side in (("mine", "loop") if r % 2 == 0 else ("loop", "mine")):
            if side == "mine":
                st: dict[str, int] = {}
                c0 = time.process_time()
                simulate_states(tile, s, stats=st)
                mine.append((time.process_time() - c0) / (k * copies))
                steps = st["steps"] / (k * copies)
            else:
                st = {}
                c0 = time.process_time()
                got = [fair_loop(_one(ps, i), s, RTOL, stats=st) for i in range(k)]
                loop.append((time.process_time() - c0) / k)
                nfev = st["nfev"] / k
                states = np.stack([got[int(j)][:, DISEASE]
                                   for j in np.searchsorted(idx, acc_patients(spec))])
    return {"pair_mine_cpu_s": mine, "pair_loop_cpu_s": loop,
            "pair_ratios": [b / a for a, b in zip(mine, loop, strict=True)],
            "loop_first_call_cpu_s": loop_first, "mine_first_call_cpu_s": mine_first,
            "mine_first_tile_user_s": first_full[0] / (k * copies),
            "mine_first_tile_sys_s": first_full[1] / (k * copies),
            "loop_nfev_per_patient": nfev, "sample_steps_per_patient": steps,
            "sample": [int(i) for i in idx], "states": states}


def w_loop(data: str, out: str) -> None:
    """Baseline: the fair per-patient solve_ivp loop on the ``n_loop`` patients of
    :func:`sample`, interleaved with remission on the same patients
    (:func:`interleaved_pairs`); seconds per patient (median of the passes)."""
    res = interleaved_pairs(_spec(data))
    # the process also runs remission, so its figure is the loop's CPU per patient
    # (median of the passes), not the process's wall time
    cpu = statistics.median(res["pair_loop_cpu_s"])
    hz.emit(out, {**res, "cpu_per_patient_s": cpu}, cpu)


def paired_ratios(o: dict) -> list[float]:
    """Loop / remission CPU per patient on the same patients, one ratio per interleaved
    pair, over every alternating repetition of the loop's process
    (:func:`interleaved_pairs`).

    Examples
    --------
    >>> paired_ratios({"_reps": {"solve_ivp loop (LSODA 1e-6)": [
    ...     {"pair_ratios": [100.0, 120.0]}, {"pair_ratios": [90.0]}]}})
    [100.0, 120.0, 90.0]
    """
    reps = o.get("_reps", {}).get("solve_ivp loop (LSODA 1e-6)", [])
    return [float(x) for r in reps for x in r.get("pair_ratios", [])]


def spread(xs: list[float], fmt: str = ".0f", unit: str = "x") -> str:
    """``median M (IQR a-b, range c-d; n values)`` of ``xs``.

    Examples
    --------
    >>> spread([100.0, 120.0, 90.0, 150.0, 110.0])
    'median 110x (IQR 100-120x, range 90-150x; 5 values)'
    """
    q1, _, q3 = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 \
        else (xs[0], 0, xs[0])
    return (f"median {statistics.median(xs):{fmt}}{unit} (IQR {q1:{fmt}}-{q3:{fmt}}{unit}, "
            f"range {min(xs):{fmt}}-{max(xs):{fmt}}{unit}; {len(xs)} values)")


def cpu_ratios(o: dict) -> list[float]:
    """Loop / remission CPU time per patient, one ratio per alternating repetition (the
    two processes: remission on all ``n_vec`` patients, the loop on its sample).

    Examples
    --------
    >>> cpu_ratios({"_reps": {"vectorised solver": [{"cpu_per_patient_s": 0.001}] * 2,
    ...     "solve_ivp loop (LSODA 1e-6)": [{"cpu_per_patient_s": 0.1},
    ...                                     {"cpu_per_patient_s": 0.05}]}})
    [100.0, 50.0]
    """
    reps = o.get("_reps", {})
    mine = [r.get("cpu_per_patient_s") for r in reps.get("vectorised solver", [])]
    loop = [r.get("cpu_per_patient_s") for r in reps.get("solve_ivp loop (LSODA 1e-6)", [])]
    return [b / a for a, b in zip(mine, loop, strict=False) if a and b]


def compare_solver(o: dict, data: Path) -> list[hz.Check]:
    """Both sides' disease states against solve_ivp DOP853 at rtol 1e-10 (max rel. error
    < 1e-3 each), computed here, independently of either side."""
    spec = _spec(str(data))
    p, s = _patients(spec["n_vec"])
    acc = acc_patients(spec)
    ref = np.stack([simulate_reference(_one(p, i), s, method="DOP853", rtol=1e-10,
                                       atol=1e-20)[:, DISEASE] for i in acc])
    checks = []
    errs: dict[str, float] = {}
    names = [n for n in ("vectorised solver", "solve_ivp loop (LSODA 1e-6)", R_NAME) if n in o]
    for name in names:
        got = np.asarray(o[name]["states"], float)
        if got.shape != ref.shape:
            checks.append(hz.Check(f"{name} vs DOP853", False, float("inf"),
                                   f"shape {got.shape} vs {ref.shape}"))
            continue
        err = max(_rel_err(got[i], ref[i]) for i in range(len(ref)))
        extra = ""
        if "cpu_per_patient_s" in o[name]:
            extra = f"; CPU {1e3 * float(o[name]['cpu_per_patient_s']):.3f} ms/patient"
        if "first_call_s" in o[name]:
            extra += (f"; rtol {float(o[name]['rtol']):g}; first call (Numba compile or cache "
                      f"load, not timed) {float(o[name]['first_call_s']):.2f} s; "
                      f"{float(o[name]['steps_per_patient']):.0f} steps/patient "
                      f"({float(o[name]['rejected_per_patient']):.0f} rejected)")
        checks.append(hz.Check(f"{name} states vs DOP853 1e-10", err < 1e-3, err,
                               f"max relative error over {len(ref)} patients x "
                               f"{ref.shape[1]} days x 19 states; limit 1e-3{extra}"))
        errs[name] = err
    mine, loop = errs.get("vectorised solver"), errs.get("solve_ivp loop (LSODA 1e-6)")
    if mine is not None and loop is not None:  # the speed-up is only fair at matched accuracy
        cpu = ""
        ratios = cpu_ratios(o)
        if ratios:
            cpu = (f"; CPU time per patient, loop / remission, paired by alternating run: "
                   f"median {statistics.median(ratios):.0f}x over {len(ratios)} runs "
                   f"(range {min(ratios):.0f}-{max(ratios):.0f}x)")
        checks.append(hz.Check("vectorised solver at least as accurate as the loop",
                               mine <= loop, max(0.0, mine - loop),
                               f"max relative error remission {mine:.2g} vs loop {loop:.2g} "
                               f"over the same {len(ref)} patients (ratio {mine / loop:.2g}; "
                               f"must be <= 1){cpu}"))
    pairs = paired_ratios(o)
    if pairs:
        print(same_patients_summary(o, pairs, spec["n_vec"]), flush=True)
    if R_NAME in o:  # the two implementations of the model, directly
        a = np.asarray(o["vectorised solver"]["states"], float)
        b = np.asarray(o[R_NAME]["states"], float)
        if a.shape == b.shape:
            diff = max(_rel_err(a[i], b[i]) for i in range(len(a)))
            checks.append(hz.Check("vectorised solver vs R deSolve states", diff < 1e-3, diff,
                                   "max relative difference, every state and day; limit 1e-3"))
        else:
            checks.append(hz.Check("vectorised solver vs R deSolve states", False,
                                   float("inf"), f"shape {a.shape} vs {b.shape}"))
    return checks


def same_patients_summary(o: dict, pairs: list[float], n_vec: int) -> str:
    """The speed-up on the same patients (:func:`interleaved_pairs`, every repetition):
    both sides' CPU per patient, the ratio's median and spread, the one-off first calls
    and the work per patient, with the 1-minute load average."""
    import os

    reps = o.get("_reps", {})
    lp = reps.get("solve_ivp loop (LSODA 1e-6)", [])
    mine = [x * 1e3 for r in lp for x in r.get("pair_mine_cpu_s", [])]
    loop = [x * 1e3 for r in lp for x in r.get("pair_loop_cpu_s", [])]
    vec = [r["cpu_per_patient_s"] * 1e3 for r in reps.get("vectorised solver", [])
           if r.get("cpu_per_patient_s")]
    last = o["solve_ivp loop (LSODA 1e-6)"]
    lines = [
        f"SPEED-UP ON THE SAME {len(last['sample'])} PATIENTS (spread evenly over the "
        f"{n_vec:,} drawn: numbers {', '.join(map(str, last['sample'][:3]))}, ..., "
        f"{last['sample'][-1]}), "
        f"CPU time, remission and the loop interleaved in one process, {len(pairs)} pairs "
        f"over {len(lp)} processes:",
        f"  loop / remission: {spread(pairs)}; target >= 100x: "
        f"{'met' if statistics.median(pairs) >= 100 else 'NOT met'} by the median, "
        f"{sum(x >= 100 for x in pairs)} of {len(pairs)} pairs >= 100x",
        f"  remission CPU ms/patient: {spread(mine, '.3f', '')}; "
        f"{float(last['sample_steps_per_patient']):.1f} steps/patient",
        f"  loop CPU ms/patient: {spread(loop, '.1f', '')}; "
        f"{float(last['loop_nfev_per_patient']):.0f} right-hand-side calls/patient "
        f"({1e3 * statistics.median(loop) / float(last['loop_nfev_per_patient']):.1f} us "
        "each)",
        f"  first calls, not in the above (last process): loop "
        f"{1e3 * float(last['loop_first_call_cpu_s']):.0f} ms CPU, remission (kernel cache "
        f"load or compile) {1e3 * float(last['mine_first_call_cpu_s']):.0f} ms CPU, then "
        f"remission's first call at the tile's size (new memory) "
        f"{1e3 * float(last['mine_first_tile_user_s']):.3f} ms/patient user + "
        f"{1e3 * float(last['mine_first_tile_sys_s']):.3f} system",
    ]
    if vec:
        vs = reps["vectorised solver"]
        calls = [[1e3 * r["cpu_per_patient_calls_s"][j] for r in vs
                  if len(r.get("cpu_per_patient_calls_s", [])) > j] for j in range(VEC_CALLS)]
        steps = o["vectorised solver"].get("steps_per_patient", float("nan"))
        lines.append(f"  remission on all {n_vec:,} patients, own process, median of "
                     f"{VEC_CALLS} calls: CPU ms/patient {spread(vec, '.3f', '')}; "
                     f"{float(steps):.1f} steps/patient; by call: " + ", ".join(
                         f"{j + 1}: median {statistics.median(c):.3f}" for j, c in
                         enumerate(calls) if c)
                     + "; its untimed first full-size call (new memory): median "
                     f"{1e3 * statistics.median(r['first_full_user_s'] for r in vs):.3f} "
                     f"user + {1e3 * statistics.median(r['first_full_sys_s'] for r in vs):.3f}"
                     " system")
    lines.append(f"  1-min load now {os.getloadavg()[0]:.1f}")
    return "\n".join(lines)


def _trial(data: str, out: str, workers: int) -> None:
    """Stream the trial to Parquet (``stream_trial``) with ``workers`` Dask workers; the
    output is each part file's SHA-256 and the peak memory of every process."""
    import hashlib
    import shutil

    from remission.sim.trial import stream_trial

    spec = _spec(data)
    folder = Path(out).parent / f"stream-{workers}w"
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    res = stream_trial(DESIGN, folder, n=spec["n_arm"], seed=0, workers=workers,
                       chunk_size=spec["chunk"])
    secs = time.perf_counter() - t0
    files = {str(f.relative_to(folder)): hashlib.sha256(f.read_bytes()).hexdigest()
             for f in sorted(folder.rglob("*.parquet"))}
    hz.emit(out, {"files": files, "rows": res.rows,
                  "worker_peak_mb": sorted(res.worker_peak_mb.values()),
                  "main_peak_mb": res.main_peak_mb,
                  "scheduler_peak_mb": res.scheduler_peak_mb,
                  "scheduler_in_main": res.scheduler_pid == res.main_pid,
                  "main_rss_mb": res.main_rss_mb}, secs)
    shutil.rmtree(folder, ignore_errors=True)


def w_trial2(data: str, out: str) -> None:
    _trial(data, out, 2)


def w_trial1(data: str, out: str) -> None:
    _trial(data, out, 1)


LIMIT_MB = 4096.0  # every process of a streamed trial must stay below 4 GB
GROWTH_MB = 50.0  # the main process may not grow more between 10% and 100% of the chunks


def compare_trial(o: dict) -> list[hz.Check]:
    a, b = o["Dask, 2 workers"], o["Dask, 1 worker"]
    same = a["files"] == b["files"] and len(a["files"]) > 0
    checks = [hz.Check("Parquet parts (2 workers vs 1), byte for byte", same,
                       0.0 if same else 1.0,
                       f"{len(a['files'])} part files; rows {a['rows']}")]
    for name, side in (("2 workers", a), ("1 worker", b)):
        peaks = [float(side["main_peak_mb"]), float(side["scheduler_peak_mb"]),
                 *map(float, side["worker_peak_mb"])]
        where = " (LocalCluster: in the main process)" if side["scheduler_in_main"] else ""
        checks.append(hz.Check(f"peak memory of every process < 4 GB ({name})",
                               max(peaks) < LIMIT_MB, max(peaks),
                               "MB: main " + f"{peaks[0]:.0f}, scheduler {peaks[1]:.0f}{where}"
                               ", workers " + ", ".join(f"{x:.0f}" for x in peaks[2:])))
    for name, side in (("2 workers", a), ("1 worker", b)):
        rss = side["main_rss_mb"]
        grow = float(rss["100%"]) - float(rss["10%"])
        checks.append(hz.Check(f"main process flat from 10% to 100% of the chunks ({name})",
                               grow <= GROWTH_MB, max(grow, 0.0),
                               f"current RSS {float(rss['10%']):.0f} -> "
                               f"{float(rss['100%']):.0f} MB; limit +{GROWTH_MB:.0f} MB "
                               "(benchmarks/bench_sim_stream.py checks it at large sizes)"))
    return checks


def bench_scale(sizes: tuple[int, ...], workers: tuple[int, ...], chunk: int) -> int:
    """Memory slope and worker scaling of the streamed trial: for each size (patients per
    arm, two arms) and number of workers, wall time, patients/s and the peak memory of
    the main process and of every worker. Exit 1 if any process reaches 4 GB or the
    main process grows by more than 50 MB between the smallest and largest size."""
    import shutil
    import tempfile

    from remission.sim.trial import stream_trial

    print(f"{'patients':>9} {'workers':>7} {'wall s':>8} {'patients/s':>10} "
          f"{'main MB':>8}  workers' peak MB", flush=True)
    main_by_size: dict[int, float] = {}
    failed = 0
    for w in workers:
        for n in sizes:
            tmp = Path(tempfile.mkdtemp(prefix="bench-sim-scale-"))
            try:
                t0 = time.perf_counter()
                r = stream_trial(DESIGN, tmp / "t", n=n, seed=0, workers=w, chunk_size=chunk)
                secs = time.perf_counter() - t0
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            peaks = sorted(r.worker_peak_mb.values())
            failed += max([r.main_peak_mb, *peaks]) >= LIMIT_MB
            main_by_size[n] = max(main_by_size.get(n, 0.0), r.main_peak_mb)
            print(f"{r.patients:>9,} {w:>7} {secs:>8.1f} {r.patients / secs:>10.1f} "
                  f"{r.main_peak_mb:>8.0f}  " + ", ".join(f"{x:.0f}" for x in peaks),
                  flush=True)
    growth = main_by_size[max(sizes)] - main_by_size[min(sizes)]
    print(f"main-process peak growth from {2 * min(sizes):,} to {2 * max(sizes):,} patients: "
          f"{growth:+.0f} MB (limit +50 MB)")
    failed += growth > 50.0
    return 1 if failed else 0


WORKERS = {"vector": w_vector, "loop": w_loop, "trial1": w_trial1, "trial2": w_trial2}


def audit_counts(results) -> dict:
    """What the recorded-vs-derived audit of one analysed study compared.

    ``results`` maps Result names to Results (``Analysis.results``). Returns
    ``n_disagree``, ``n_compared`` (recorded values compared, all columns) and
    ``not_compared`` (the audit's "not compared" warnings). A study whose patients.csv
    records no grade or response has no audit: nothing compared."""
    name = "audit.recorded_vs_derived"
    if name not in results:
        return {"n_disagree": 0, "n_compared": 0,
                "not_compared": ["no recorded CRS/ICANS grade or best response: no audit"]}
    audit = results[name]
    return {"n_disagree": int(audit.params["n_disagree"]),
            "n_compared": sum(int(v["n_compared"]) for v in audit.params["compared"].values()),
            "not_compared": [w for w in audit.warnings if "not compared" in w]}


def robust_failures(rec: dict, rc: int = 0) -> list[str]:
    """Why one design-size of ``--robust`` failed (empty when it passed).

    ``rec`` is :func:`robust_one`'s record (or one with ``error``), ``rc`` its process's
    exit status. Fails on an error or a non-zero exit, on any recorded value that
    disagrees with what the report derives, and when nothing was compared (a
    recorded-vs-derived check that compares nothing cannot fail)."""
    if "error" in rec or rc != 0:
        return [f"error (exit {rc}): {rec.get('error', '')}"]
    why = []
    if rec["n_disagree"] > 0:
        why.append(f"{rec['n_disagree']} recorded value(s) disagree with the report")
    if rec["n_compared"] == 0:
        why.append("nothing compared")
    return why


def check_study(folder: Path, report_dir: Path) -> dict:
    """validate + report of a written study folder, as ``remission report`` does.

    The folder is read and validated (:func:`remission.study.load_study`), analysed with
    figures and audited once (:func:`remission.pipeline.build_bundle`) and the report
    written to ``report_dir``; returns the study's patients, the audit's
    :func:`audit_counts` and the report's file names."""
    from remission.pipeline import build_bundle
    from remission.report import write_report

    analysis, bundle = build_bundle(folder)
    counts = audit_counts(analysis.results)
    write_report(bundle, report_dir)
    return {"patients": int(analysis.study.n), **counts,
            "report_files": sorted(f.name for f in report_dir.iterdir())}


def robust_one(design: str, n: str, out: str) -> None:
    """One design at ``n`` per arm, in this process: simulate -> validate -> report, as
    ``remission simulate`` then ``remission report`` do (:func:`check_study`); writes a
    JSON line to ``out``."""
    import os
    import tempfile
    import traceback

    def cpu() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    rec: dict = {"design": Path(design).stem, "n": int(n)}
    try:
        from remission.sim import cli_simulate

        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), cpu()
            folder = cli_simulate(design, Path(tmp) / "s", n=int(n), workers=0)
            t1, c1 = time.perf_counter(), cpu()
            checked = check_study(folder, Path(tmp) / "r")
            t2, c2 = time.perf_counter(), cpu()
            rec.update(sim_wall=t1 - t0, sim_cpu=c1 - c0, report_wall=t2 - t1,
                       report_cpu=c2 - c1, **checked)
    except Exception as exc:  # reported by the parent, which keeps going
        rec["error"] = f"{exc!r}\n{traceback.format_exc()}"
    Path(out).write_text(json.dumps(rec))


def bench_robust(sizes: tuple[int, ...], jobs: int = 1) -> int:
    """simulate -> validate -> report for every shipped design at each size per arm, each
    in a fresh process (:func:`robust_one`), ``jobs`` at a time; prints wall and CPU times
    of both steps, the process tree's CPU time and peak memory (``os.wait4``: the largest
    resident set of the process or any child it reaped) and the recorded-vs-derived
    disagreements; 1 on any failure (:func:`robust_failures`)."""
    import os
    import subprocess
    import tempfile

    failed = 0
    me = Path(__file__).resolve()
    todo = [(n, d) for n in sizes for d in sorted(DESIGN.parent.glob("*.toml"))]
    print(f"{'design':40s} {'n/arm':>5} {'patients':>8} | {'simulate':>14} | "
          f"{'validate+report':>15} | {'tree CPU':>8} {'peak MB':>7} | disagree "
          f"({jobs} at a time)", flush=True)
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        running: dict[int, tuple] = {}
        while todo or running:
            while todo and len(running) < jobs:
                n, design = todo.pop(0)
                out = Path(tmp) / f"{design.stem}-{n}.json"
                proc = subprocess.Popen([sys.executable, str(me), "--robust-one", str(design),
                                         str(n), str(out)])
                running[proc.pid] = (proc, n, design, out, time.perf_counter())
            pid, status, ru = os.wait4(-1, 0)
            if pid not in running:
                continue
            proc, n, design, out, t0 = running.pop(pid)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall, rc = time.perf_counter() - t0, proc.returncode
            rec = json.loads(out.read_text()) if out.exists() else {"error": f"exit {rc}"}
            tree_cpu, peak = ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024
            why = robust_failures(rec, rc)
            failed += bool(why)
            if "error" in rec or rc != 0:
                print(f"{design.stem:40s} {n:5d} | FAILED (exit {rc}, wall {wall:.1f} s, "
                      f"peak {peak:.0f} MB): {rec.get('error', '')}", flush=True)
                continue
            print(f"{rec['design']:40s} {n:5d} {rec['patients']:8d} | {rec['sim_wall']:5.1f} s "
                  f"CPU {rec['sim_cpu']:5.1f} | {rec['report_wall']:5.1f} s CPU "
                  f"{rec['report_cpu']:5.1f} | {tree_cpu:8.1f} {peak:7.0f} | "
                  f"{rec['n_disagree']} of {rec['n_compared']}"
                  + "".join(f"; {w}" for w in rec["not_compared"])
                  + "".join(f"; FAILED: {w}" for w in why), flush=True)
    print(f"{'FAILED' if failed else 'ok'}: {failed} failing design-size(s); wall "
          f"{time.perf_counter() - t_all:.0f} s; 1-min load {os.getloadavg()[0]:.1f}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    return 1 if failed else 0


def judge_studies(records: dict[str, dict]) -> int:
    """Print one line per checked study (its :func:`check_study` record, or one with
    ``error``) and the verdict; 1 if any fails (:func:`robust_failures`), else 0."""
    failed = 0
    for folder, rec in records.items():
        why = robust_failures(rec)
        failed += bool(why)
        counts = ("" if "error" in rec else
                  f"{rec['n_disagree']} disagree of {rec['n_compared']} compared"
                  + "".join(f"; {w}" for w in rec["not_compared"]))
        print(f"{folder}: {counts}" + "".join(f"; FAILED: {w}" for w in why), flush=True)
    print(f"{'FAILED' if failed else 'ok'}: {failed} failing folder(s)", flush=True)
    return 1 if failed else 0


def robust_check(folders: list[str]) -> int:
    """validate -> report of simulated study folders already written (e.g. a large run of
    ``remission simulate``), judged as ``--robust`` judges its own (:func:`check_study`,
    :func:`judge_studies`); 1 if any fails."""
    import tempfile
    import traceback

    records = {}
    for folder in folders:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                records[folder] = check_study(Path(folder), Path(tmp) / "r")
            except Exception as exc:
                records[folder] = {"error": f"{exc!r}\n{traceback.format_exc()}"}
    return judge_studies(records)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hz.worker_call(argv, WORKERS):
        return 0
    if argv and argv[0] == "--robust-one":
        robust_one(*argv[1:4])
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true",
                    help="20,000 vectorised / 48 loop patients, 20,000 per trial arm")
    ap.add_argument("--patients", type=int, default=None, help="vectorised solver patients")
    ap.add_argument("--loop-patients", type=int, default=None, help="solve_ivp loop patients")
    ap.add_argument("--trial-patients", type=int, default=None, help="trial patients per arm")
    ap.add_argument("--no-r", action="store_true", help="leave out the R deSolve side")
    ap.add_argument("--scale", type=int, nargs="+", metavar="N",
                    help="streamed trial at N patients per arm (two arms), 1 and 2 workers: "
                         "memory of every process and scaling (not on the harness)")
    ap.add_argument("--scale-chunk", type=int, default=STREAM_CHUNK,
                    help=f"patients per chunk with --scale (default {STREAM_CHUNK})")
    ap.add_argument("--robust", type=int, nargs="+", metavar="N",
                    help="simulate -> validate -> report every shipped design at N per arm")
    ap.add_argument("--jobs", type=int, default=1,
                    help="with --robust: designs run at the same time (default 1)")
    ap.add_argument("--robust-check", nargs="+", metavar="FOLDER",
                    help="validate -> report simulated study folders already written and "
                         "judge them as --robust does")
    a = ap.parse_args(argv)
    if a.robust_check:
        return robust_check(a.robust_check)
    if a.robust:
        return bench_robust(tuple(a.robust), a.jobs)
    if a.scale:
        return bench_scale(tuple(a.scale), (1, 2), a.scale_chunk)
    if a.quick:
        n_vec, n_loop, n_acc, n_arm, chunk, tile = 100, 1, 1, 10, 5, 100
    elif a.full:
        n_vec, n_loop, n_acc, n_arm, chunk, tile = 20_000, 48, 8, 20_000, 5_000, 2_000
    else:
        n_vec, n_loop, n_acc, n_arm, chunk, tile = 2_000, 24, 8, 500, 250, 1_000
    n_vec = a.patients or n_vec
    n_loop = a.loop_patients or n_loop
    n_arm = a.trial_patients or n_arm
    reps = a.reps or (2 if a.quick else 5)
    ddir = hz.OUT_DIR / "data"
    ddir.mkdir(parents=True, exist_ok=True)
    solver = ddir / f"sim-solver-{n_vec}-{n_loop}.json"
    n_acc = min(n_acc, n_loop)  # accuracy on the loop's timed patients (sample)
    solver.write_text(json.dumps({"n_vec": n_vec, "n_loop": n_loop, "n_acc": n_acc,
                                  "tile": tile}))
    import shutil

    with_r = shutil.which("Rscript") is not None and not a.no_r
    if with_r:
        # R's per-patient loop is ~50x slower than the Python one: time it on n_acc patients
        p, s = _patients(n_vec)
        write_r_inputs(solver, n_acc, n_acc, n_acc, s=s,
                       p=_subset(p, acc_patients({"n_vec": n_vec, "n_loop": n_loop,
                                                  "n_acc": n_acc})))
    else:
        print("R deSolve side skipped: " + ("--no-r" if a.no_r else "Rscript not found"))
    trial = ddir / f"sim-trial-{n_arm}.json"
    trial.write_text(json.dumps({"n_arm": n_arm, "chunk": chunk}))
    me = Path(__file__).resolve()
    wl = [hz.Workload(f"solver, per patient ({n_vec:,} vs {n_loop} patients)", solver,
                      [hz.python_side("vectorised solver", me, "vector", ".pkl"),
                       hz.python_side("solve_ivp loop (LSODA 1e-6)", me, "loop", ".pkl")]
                      + ([hz.r_side(R_NAME, R_SIM)] if with_r else []),
                      functools.partial(compare_solver, data=solver),
                      note="CPU seconds per patient; accuracy vs DOP853 1e-10"),
          hz.Workload(f"trial seed000, {2 * n_arm:,} patients", trial,
                      [hz.python_side("Dask, 2 workers", me, "trial2", ".pkl"),
                       hz.python_side("Dask, 1 worker", me, "trial1", ".pkl")],
                      compare_trial, note="Dask LocalCluster, streamed to Parquet")]
    return hz.run_all("sim", wl, a, reps, argv,
                      {"n_vec": n_vec, "n_loop": n_loop, "n_acc": n_acc, "n_arm": n_arm,
                       "reps": reps})


if __name__ == "__main__":
    sys.exit(main())
