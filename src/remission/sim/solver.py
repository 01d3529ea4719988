"""Solver: exact drug drivers + per-patient adaptive Dormand-Prince 5(4), compiled.

Why this scheme (timings in docs/performance.md, from ``benchmarks/bench_sim.py``):
the only stiff rates of the model are linear pharmacokinetics (venetoclax distribution
alpha ~ 11/day, blinatumomab k ~ 8.9/day, venetoclax ka 3.83/day), and those are
independent of the disease state. They are solved exactly: a per-patient eigen-
decomposition of the venetoclax rate matrix gives the concentration at any time after a
dose (:class:`remission.sim.pk.DriverModes`), and the day-to-day driver state uses the
matrix exponential (:class:`remission.sim.pk.DriverPropagator`). What remains has rates
<= ~2.5/day, so an explicit method is limited by accuracy, not stability. Each patient
then takes its own adaptive Dormand-Prince 5(4) steps with its own error test
(:func:`remission.sim.kernel.advance`, Numba), as a per-patient ``solve_ivp`` would,
but without Python in the loop, so a patient takes many steps during a venetoclax
lead-in and few once the disease is quiet. Eight patients are stepped side by side, each
with its own step size and error test, their right-hand sides evaluated together by SIMD
instructions (:func:`remission.sim.kernel.rhs_lanes`). At the default ``rtol`` (:data:`RTOL`) every
state agrees with ``solve_ivp`` (DOP853, rtol 1e-10) to within 2e-6 relative (asserted
by tests/test_sim_solver.py).

Doses are given at the start of integer days (all schedules in the designs are daily).
A patient's steps end on its own dose days only and run across the days between them;
the state at each whole day comes from the method's continuous extension, and a
morning transfusion cuts the step at that day. Every operation is per patient, so a
patient's trajectory is bit-identical in any batch (tested).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from . import kernel
from .model import HB, LN, LP, N_STATES, PLT, hma_pulse, infuse, initial_state, observables, rhs
from .pk import N_DRIVERS, DriverModes, DriverPropagator, driver_rhs, ven_bioavailable_dose

BLOOD_UL_PER_KG = 70_000.0  # 70 mL/kg blood volume


@dataclass(frozen=True)
class Schedule:
    """Per-day dosing of one arm; index 0 is ``first_day`` (may be negative).

    Arrays have one entry per day from ``first_day`` to ``last_day`` inclusive.
    ``car_per_kg`` are cells/kg; ``car_cells`` flat cell numbers (converted by weight).
    ``hma_units`` are hypomethylating-agent units (:data:`remission.sim.pk.HMA_UNITS_PER_MG_M2`;
    None = no HMA), applied as a pulse at the day start (:func:`remission.sim.model.hma_pulse`).
    """

    first_day: int
    last_day: int
    ven_mg: np.ndarray
    blin_ug_day: np.ndarray
    fc_units: np.ndarray
    car_per_kg: np.ndarray
    car_cells: np.ndarray
    hma_units: np.ndarray | None = None

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.first_day, self.last_day + 1)

    @staticmethod
    def empty(first_day: int, last_day: int) -> Schedule:
        k = last_day - first_day + 1
        z = np.zeros(k)
        return Schedule(first_day, last_day, z.copy(), z.copy(), z.copy(), z.copy(), z.copy(),
                        z.copy())


def _dose_rows(s: Schedule, arm: np.ndarray | None, i: int, n: int,
               p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Per-patient doses of day index ``i``: (ven mg, FC units, CAR cells/uL, blin ug/day).

    Schedule arrays are 1-D (one arm) or 2-D (arms x days) with ``arm`` giving each
    patient's row, so patients of several arms integrate in one state array.
    """

    def row(a: np.ndarray) -> np.ndarray:
        if a.ndim == 1:
            return np.full(n, a[i])
        return a[arm, i]

    per_kg = row(s.car_per_kg) + row(s.car_cells) / p["weight_kg"]
    return (row(s.ven_mg), row(s.fc_units),
            per_kg * p["car_blood_fraction"] / BLOOD_UL_PER_KG, row(s.blin_ug_day))


def _row(a: np.ndarray, arm: np.ndarray | None, i: int, n: int) -> np.ndarray:
    """Day ``i`` of a schedule array (1-D: one arm; 2-D: arms x days) per patient."""
    return np.full(n, a[i]) if a.ndim == 1 else a[arm, i]


#: default tolerances of the per-patient error control (disease states; drivers are exact).
#: Chosen at matched accuracy: over 8 seed-000 patients (venetoclax lead-in, Flu/Cy, CLL1
#: CAR-T, 194 days) every patient's worst relative error on the 19 disease states against
#: DOP853 (rtol 1e-10) is 1.8-9x smaller than that of the fair per-patient LSODA loop at
#: rtol 1e-6, and the worst over the 8 (4.2e-6) is below that of the former default
#: rtol 2e-8 / atol 1e-11 (6.1e-6), with ~15 % fewer steps (benchmarks/bench_sim.py;
#: docs/simulation.md, *Solver*).
RTOL, ATOL = 5e-8, 1e-12


def transfusions(y: np.ndarray, p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(red-cell, platelet) transfusion given today: morning count below its trigger.

    Parameters
    ----------
    y : numpy.ndarray
        The state (:data:`remission.sim.model.N_STATES`, n) at the start of the day.
    p : Mapping
        ``hb_transfusion_trigger`` (g/dL; 7, restrictive, Carson 2016 AABB) and
        ``plt_transfusion_trigger`` (10^9/L; 10, prophylactic, Kaufman 2015 AABB).

    Returns
    -------
    tuple of numpy.ndarray
        Boolean (n,) arrays: red cells given, platelets given (strictly below the trigger).

    References
    ----------
    Carson JL et al. JAMA 2016;316:2025-35; Kaufman RM et al. Ann Intern Med
    2015;162:205-13.

    Examples
    --------
    Haemoglobin 6.9 and 7.0 g/dL, platelets 10 and 9 x10^9/L:

    >>> y = np.zeros((N_STATES, 2)); y[HB] = [6.9, 7.0]; y[PLT] = [10.0, 9.0]
    >>> rbc, plt = transfusions(y, {"hb_transfusion_trigger": 7.0,
    ...                             "plt_transfusion_trigger": 10.0})
    >>> rbc.tolist(), plt.tolist()
    ([True, False], [False, True])
    """
    return y[HB] < p["hb_transfusion_trigger"], y[PLT] < p["plt_transfusion_trigger"]


def _breaks(s: Schedule) -> np.ndarray:
    """Days on which the integration must stop (rows: arms, or one row): the first and last
    day, and every day with a dose (venetoclax, Flu/Cy, cells, HMA) or a new blinatumomab
    rate."""
    def rows(x: np.ndarray) -> np.ndarray:
        return np.atleast_2d(np.asarray(x, float))

    blin = rows(s.blin_ug_day)
    brk = (rows(s.ven_mg) != 0) | (rows(s.fc_units) != 0) | (rows(s.car_per_kg) != 0) \
        | (rows(s.car_cells) != 0)
    if s.hma_units is not None:
        brk = brk | (rows(s.hma_units) != 0)
    brk = np.broadcast_to(brk, np.broadcast_shapes(brk.shape, blin.shape)).copy()
    brk[:, 1:] |= blin[:, 1:] != blin[:, :-1]
    brk[:, 0] = brk[:, -1] = True
    return brk


def _integrate(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None,
               extinction: bool, transfuse: bool = True, rtol: float = RTOL,
               atol: float = ATOL, stats: dict[str, int] | None = None) -> np.ndarray:
    """Core loop: each patient integrates from one of its own dose days to the next with
    adaptive Dormand-Prince 5(4) steps (:func:`remission.sim.kernel.advance`, compiled,
    per-patient error control, eight patients side by side), across dose-free days; daily
    states come from the continuous extension.

    Returns the state at the start of every day, before that day's transfusion and doses,
    then the driver state (before that day's doses), shape (n_days, 19 + 5, n) (a view of
    a patient-major array, which the kernel fills one patient at a time). Drivers are exact
    (:class:`remission.sim.pk.DriverPropagator`) and do not depend on the disease states.
    Python only loops over the days on which some patient of the batch is dosed; a patient
    never stops at another patient's dose day, so its trajectory is the same in any batch.
    """
    y0 = initial_state(p)
    n = y0.shape[1]
    ndays = len(s.days)
    last = ndays - 1
    brk = _breaks(s)
    row = np.zeros(n, np.int64) if brk.shape[0] == 1 else np.asarray(arm, np.int64)
    # next own break after each day, per schedule row
    nxt = np.full(brk.shape, last, np.int64)
    for r in range(brk.shape[0]):
        days = np.flatnonzero(brk[r])
        pos = np.searchsorted(days, np.arange(ndays), side="right")
        nxt[r] = days[np.minimum(pos, len(days) - 1)]
    full = np.empty((n, ndays, N_STATES + N_DRIVERS))
    full[:, 0, :N_STATES] = y0.T
    yt = np.ascontiguousarray(y0.T)  # (n, 19): one patient per row for the kernel
    y = yt.T  # (19, n) view of the same memory
    day = DriverPropagator(p, 1.0)
    modes = DriverModes(p)
    union = np.flatnonzero(brk.any(axis=0))
    dosed: dict[int, tuple[np.ndarray, ...]] = {}
    d = np.zeros((N_DRIVERS, n))
    drivers = np.empty((ndays, N_DRIVERS, n))
    rate = np.zeros(n)
    for i in range(ndays):  # exact drivers, every day; doses at day starts
        drivers[i] = d
        if i == last:
            break
        # a day that is no row's break has no dose and the blinatumomab rate of the day
        # before (_breaks), so only the propagation is left
        if brk[:, i].any():
            ven, fc, car, rate = _dose_rows(s, arm, i, n, p)
            d = d.copy()
            if ven.any():
                d[0] += ven_bioavailable_dose(ven, p)
            d[4] += fc
            hma = (_row(s.hma_units, arm, i, n) if s.hma_units is not None
                   else np.zeros(n))
            dosed[i] = (d.copy(), car, rate, hma)
        d = day.step(d, rate)
    full[:, :, N_STATES:] = drivers.transpose(2, 0, 1)
    q = kernel.pack(p, n)
    lam = np.ascontiguousarray(modes.lam.T)
    trig = np.ascontiguousarray(np.stack([np.broadcast_to(p["hb_transfusion_trigger"], (n,)),
                                          np.broadcast_to(p["plt_transfusion_trigger"], (n,))],
                                         axis=1), dtype=float)
    inc = np.ascontiguousarray(np.stack([
        np.broadcast_to(p["hb_transfusion_increment"], (n,)),
        np.broadcast_to(p["plt_transfusion_increment"], (n,))], axis=1), dtype=float)
    if transfuse and ndays > 1:  # supportive care on day 0 (later days: in the kernel)
        rbc, plt = transfusions(y, p)
        y[HB] += np.where(rbc, inc[:, 0], 0.0)
        y[PLT] += np.where(plt, inc[:, 1], 0.0)
    t = np.zeros(n)
    tseg = np.zeros(n)
    stop = np.zeros(n, np.int64)
    coef = np.zeros((n, 3))
    d3, d4, rate_now = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n)
    h = np.full(n, 0.1)
    hdose = np.full(n, np.inf)
    counts = np.zeros(2, np.int64)
    for j, b in enumerate(union[:-1]):
        dpost, car, rate, hma = dosed[int(b)]
        own = brk[row, b]  # patients whose dose day this is (they stand exactly at b)
        infuse(y, np.where(own, car, 0.0), p)
        if hma.any():  # hypomethylating agent: a pulse at the dose (model.hma_pulse)
            hma_pulse(y, np.where(own, hma, 0.0), p)
        modes.start(dpost, rate)
        if modes.any_ven:
            coef[own] = modes.coef.T[own]
        else:
            coef[own] = 0.0
        d3[own], d4[own], rate_now[own] = dpost[3][own], dpost[4][own], rate[own]
        tseg[own] = float(b)
        stop[own] = nxt[row[own], b]
        kernel.advance(yt, t, h, hdose, alive, q, tseg, coef, lam, modes.v2, d3, modes.kb, rate_now,
                       modes.vb, d4, modes.kld, stop, int(union[j + 1]), full, trig, inc,
                       transfuse, rtol, atol, extinction, counts, kernel.LANES)
    if stats is not None:
        stats["steps"] = stats.get("steps", 0) + int(counts[0])
        stats["rejected"] = stats.get("rejected", 0) + int(counts[1])
    return full.transpose(1, 2, 0)


def simulate(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None = None,
             extinction: bool = True, rtol: float = RTOL, atol: float = ATOL
             ) -> dict[str, np.ndarray]:
    """Integrate all patients in ``p`` through ``s``; return daily observables.

    Returns a dict of arrays shaped (n_days, n) sampled at the start of each day,
    before that day's doses (trough), plus ``"day"`` (n_days,). Leukaemia below one
    cell in the marrow (``marrow_capacity_cells``) is extinct when ``extinction``.

    Parameters
    ----------
    p : Mapping
        Per-patient parameter arrays (:func:`remission.sim.population.build_patients`).
    s : Schedule
        Daily doses; one arm (1-D arrays) or several (arms x days, with ``arm``).
    arm : numpy.ndarray, optional
        Each patient's row of a multi-arm schedule (n,).
    extinction : bool, default True
        Stop leukaemia below one cell (patients then stay leukaemia-free).
    rtol, atol : float
        Tolerances of each patient's error control (disease states; drivers are exact).

    Returns
    -------
    dict of str to numpy.ndarray
        The observables of :func:`remission.sim.model.observables` plus
        ``venetoclax_mg_l``, ``blinatumomab_pg_ml``, ``rbc_transfusion`` and
        ``platelet_transfusion`` (0/1), each (n_days, n), and ``"day"`` (n_days,).

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")

    Untreated for three days, the leukaemia grows; day 0 is the baseline:

    >>> out = simulate(p, Schedule.empty(0, 3))
    >>> out["day"].tolist(), out["marrow_blasts_pct"].shape
    ([0.0, 1.0, 2.0, 3.0], (4, 2))
    >>> bool((np.diff(out["marrow_blasts_pct"], axis=0) > 0).all())
    True
    """
    rec: dict[str, list[np.ndarray]] = {}
    full = _integrate(p, s, arm, extinction, rtol=rtol, atol=atol)
    v2, vb = np.asarray(p["ven_v2"], float), np.asarray(p["blin_v"], float)
    for x in full:
        y, d = x[:N_STATES], x[N_STATES:]
        rbc, plt = transfusions(y, p)
        obs = observables(y, p) | {"venetoclax_mg_l": d[1] / v2,
                                   "blinatumomab_pg_ml": d[3] / vb * 1000.0,
                                   "rbc_transfusion": rbc.astype(float),
                                   "platelet_transfusion": plt.astype(float)}
        for k, v in obs.items():
            rec.setdefault(k, []).append(v)
    out = {k: np.stack(v) for k, v in rec.items()}
    out["day"] = s.days.astype(float)
    return out


def simulate_states(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None = None,
                    rtol: float = RTOL, atol: float = ATOL,
                    stats: dict[str, int] | None = None, transfuse: bool = False
                    ) -> np.ndarray:
    """Full states incl. drivers, (n_days, N_STATES + 5, n), without extinction.

    Used to compare every state with :func:`simulate_reference`. ``stats``, if given,
    receives the number of patient-steps and rejected patient-steps. With ``transfuse``,
    morning counts below their triggers are transfused (as in :func:`simulate`).

    Parameters
    ----------
    p : Mapping
        Per-patient parameter arrays.
    s : Schedule
        Daily doses.
    arm : numpy.ndarray, optional
        Each patient's row of a multi-arm schedule.
    rtol, atol : float
        Tolerances of each patient's error control.
    stats : dict, optional
        Receives (adds to) ``"steps"`` and ``"rejected"``.
    transfuse : bool, default False
        Apply the morning transfusion rule (:func:`transfusions`).

    Returns
    -------
    numpy.ndarray
        Shape (n_days, N_STATES + 5, n): the 19 model states then the 5 drivers
        (venetoclax depot, central, peripheral mg; blinatumomab ug; FC units), at the
        start of each day, before that day's transfusion and doses (a view of a
        patient-major array). No extinction is applied.

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")
    >>> stats = {}
    >>> simulate_states(p, Schedule.empty(0, 2), stats=stats).shape, stats["steps"] > 0
    ((3, 24, 2), True)
    """
    return _integrate(p, s, arm, False, transfuse=transfuse, rtol=rtol, atol=atol,
                      stats=stats)


def simulate_reference(p: Mapping[str, np.ndarray], s: Schedule, method: str = "Radau",
                       rtol: float = 1e-10, atol: float = 1e-12, transfuse: bool = False
                       ) -> np.ndarray:
    """One patient (arrays of length 1) with ``solve_ivp``: drivers as ODE states.

    Integrates day by day (doses and transfusions are discontinuities at day starts) and
    returns the full state (incl. drivers) at the start of every day, before that day's
    transfusion and doses, shape (n_days, N_STATES + 5). With ``transfuse``, a morning Hb or
    platelet count below its trigger gets the increment. Leukaemia extinction is not
    applied (the reference checks the ODE, not the event rule).

    Parameters
    ----------
    p : Mapping
        Parameter arrays of one patient (length 1).
    s : Schedule
        Daily doses of one arm (1-D arrays).
    method : str, default "Radau"
        A ``scipy.integrate.solve_ivp`` method.
    rtol, atol : float
        Its tolerances.
    transfuse : bool, default False
        Apply the morning transfusion rule, as :func:`simulate_states` does with it.

    Returns
    -------
    numpy.ndarray
        Shape (n_days, N_STATES + 5), as one patient of :func:`simulate_states`.

    Raises
    ------
    RuntimeError
        When ``solve_ivp`` fails (its message).

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p1 = build_patients(0, np.arange(1), {}, typical(), "car_t", "CLL1")
    >>> s = Schedule.empty(0, 2)
    >>> ref = simulate_reference(p1, s)
    >>> got = simulate_states(p1, s)[:, :, 0]
    >>> ref.shape, bool(np.allclose(got, ref, rtol=1e-6, atol=1e-12))
    ((3, 24), True)
    """
    y0 = initial_state(p)[:, 0]
    x = np.concatenate([y0, np.zeros(N_DRIVERS)])
    v2, vb = float(p["ven_v2"][0]), float(p["blin_v"][0])
    out = [x.copy()]
    nfev = 0
    for i in range(len(s.days) - 1):
        if transfuse:
            if x[HB] < p["hb_transfusion_trigger"][0]:
                x[HB] += p["hb_transfusion_increment"][0]
            if x[PLT] < p["plt_transfusion_trigger"][0]:
                x[PLT] += p["plt_transfusion_increment"][0]
        if s.ven_mg[i] > 0:
            x[N_STATES] += ven_bioavailable_dose(np.array([s.ven_mg[i]]), p)[0]
        x[N_STATES + 4] += s.fc_units[i]
        x_state = x[:N_STATES, None]  # a view: infuse writes into x
        infuse(x_state, _dose_rows(s, None, i, 1, p)[2], p)
        if s.hma_units is not None and s.hma_units[i] != 0:
            hma_pulse(x_state, np.array([s.hma_units[i]]), p)
        rate = np.array([s.blin_ug_day[i]])

        def f(_t: float, xx: np.ndarray, rate: np.ndarray = rate) -> np.ndarray:
            yy = xx[:N_STATES, None]
            dd = xx[N_STATES:, None]
            cv, cb, ld = dd[1] / v2, dd[3] / vb * 1000.0, dd[4]
            return np.concatenate([rhs(yy, cv, cb, ld, p)[:, 0],
                                   driver_rhs(dd, rate, p)[:, 0]])

        sol = solve_ivp(f, (0.0, 1.0), x, method=method, rtol=rtol, atol=atol)
        if not sol.success:
            raise RuntimeError(sol.message)
        nfev += sol.nfev
        x = sol.y[:, -1].copy()
        out.append(x.copy())
    res = np.stack(out)
    simulate_reference.last_nfev = nfev  # type: ignore[attr-defined]
    return res


__all__ = ["LN", "LP", "Schedule", "simulate", "simulate_reference", "simulate_states"]
