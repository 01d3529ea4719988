"""Fixed-step integrator: exact drivers + classical RK4 on the disease layer.

Why this scheme (measured, see ``benchmarks/bench_sim.py`` and docs/simulation.md):
the only stiff rates of the model are linear pharmacokinetics (blinatumomab k ~ 8.9/day,
venetoclax ka 3.83/day), and those are independent of the disease state. They are
propagated exactly with a per-patient matrix exponential (an exponential integrator
for the linear part), so every RK4 stage sees the exact concentration. What remains
has rates <= ~10/day; classical RK4 with h = 1/10 day (1/80 day on days when venetoclax or
blinatumomab input changes within hours, see :func:`fast_days`) is then accurate to
< 3e-5 relative on every state against ``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-10;
tests/test_sim_solver.py) and runs as a handful of NumPy array operations per stage over
all patients at once.

Doses are given at the start of integer days (all schedules in the designs are daily),
so they fall exactly on step boundaries and need no event location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .model import HB, LN, LP, N_STATES, PLT, infuse, initial_state, observables, rhs
from .pk import N_DRIVERS, DriverPropagator, driver_rhs, ven_bioavailable_dose

BLOOD_UL_PER_KG = 70_000.0  # 70 mL/kg blood volume


@dataclass(frozen=True)
class Schedule:
    """Per-day dosing of one arm; index 0 is ``first_day`` (may be negative).

    Arrays have one entry per day from ``first_day`` to ``last_day`` inclusive.
    ``car_per_kg`` are cells/kg; ``car_cells`` flat cell numbers (converted by weight).
    """

    first_day: int
    last_day: int
    ven_mg: np.ndarray
    blin_ug_day: np.ndarray
    fc_units: np.ndarray
    car_per_kg: np.ndarray
    car_cells: np.ndarray

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.first_day, self.last_day + 1)

    @staticmethod
    def empty(first_day: int, last_day: int) -> Schedule:
        k = last_day - first_day + 1
        z = np.zeros(k)
        return Schedule(first_day, last_day, z.copy(), z.copy(), z.copy(), z.copy(), z.copy())


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


def fast_days(s: Schedule) -> np.ndarray:
    """Days whose drug input varies within hours: a venetoclax dose that day or the day
    before (absorption t1/2 ~4 h, distribution t1/2 2.7 h) or a blinatumomab rate change
    (k ~ 8.9/day). The disease forcing is steep there, so those days get finer steps."""
    ven = np.atleast_2d(s.ven_mg) > 0
    blin = np.atleast_2d(s.blin_ug_day)
    fast = ven.any(axis=0)
    fast[1:] |= ven[:, :-1].any(axis=0)
    fast[1:] |= (blin[:, 1:] != blin[:, :-1]).any(axis=0)
    fast[0] |= (blin[:, 0] != 0).any()
    return fast


def transfusions(y: np.ndarray, p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(red-cell, platelet) transfusion given today: morning count below its trigger."""
    return y[HB] < p["hb_transfusion_trigger"], y[PLT] < p["plt_transfusion_trigger"]


def _integrate(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None,
               steps_per_day: int, extinction: bool, record, refine: int = 8,
               transfuse: bool = True) -> None:
    """Core loop: doses at day starts, then RK4 steps with exact drivers.

    Each day takes ``steps_per_day`` steps, or ``refine`` times as many on
    :func:`fast_days`. ``record(i, y, d, half)`` is called at the start of every day,
    before its doses.
    """
    y = initial_state(p)
    n = y.shape[1]
    d = np.zeros((N_DRIVERS, n))
    props = {k: (1.0 / k, DriverPropagator(p, 0.5 / k))
             for k in {steps_per_day, steps_per_day * refine}}
    fast = fast_days(s)
    alive: np.ndarray | float = np.ones(n) if extinction else 1.0
    cap = np.asarray(p["marrow_capacity_cells"], float)
    last = len(s.days) - 1
    for i in range(last + 1):
        record(i, y, d, props[steps_per_day][1])
        if i == last:
            break
        if transfuse:  # supportive care: morning count below trigger -> transfused
            rbc, plt = transfusions(y, p)
            y[HB] += np.where(rbc, p["hb_transfusion_increment"], 0.0)
            y[PLT] += np.where(plt, p["plt_transfusion_increment"], 0.0)
        ven, fc, car, rate = _dose_rows(s, arm, i, n, p)
        if ven.any():
            d[0] += ven_bioavailable_dose(ven, p)
        d[4] += fc
        infuse(y, car, p)
        k_steps = steps_per_day * (refine if fast[i] else 1)
        h, half = props[k_steps]
        for _ in range(k_steps):
            d_mid = half.step(d, rate)
            d_end = half.step(d_mid, rate)
            c0, cm, c1 = (half.concentrations(x) for x in (d, d_mid, d_end))
            k1 = rhs(y, *c0, p, alive)
            k2 = rhs(y + (0.5 * h) * k1, *cm, p, alive)
            k3 = rhs(y + (0.5 * h) * k2, *cm, p, alive)
            k4 = rhs(y + h * k3, *c1, p, alive)
            y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            d = d_end
            if extinction:
                gone = (np.exp(y[LP]) + np.exp(y[LN])) * cap < 1.0
                if gone.any():
                    alive = np.where(gone, 0.0, alive)


def simulate(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None = None,
             steps_per_day: int = 10, extinction: bool = True) -> dict[str, np.ndarray]:
    """Integrate all patients in ``p`` through ``s``; return daily observables.

    Returns a dict of arrays shaped (n_days, n) sampled at the start of each day,
    before that day's doses (trough), plus ``"day"`` (n_days,). Leukaemia below one
    cell in the marrow (``marrow_capacity_cells``) is extinct when ``extinction``.
    """
    rec: dict[str, list[np.ndarray]] = {}

    def record(_i: int, y: np.ndarray, d: np.ndarray, half: DriverPropagator) -> None:
        cv, cb, _ = half.concentrations(d)
        rbc, plt = transfusions(y, p)
        obs = observables(y, p) | {"venetoclax_mg_l": cv, "blinatumomab_pg_ml": cb,
                                   "rbc_transfusion": rbc.astype(float),
                                   "platelet_transfusion": plt.astype(float)}
        for k, v in obs.items():
            rec.setdefault(k, []).append(v)

    _integrate(p, s, arm, steps_per_day, extinction, record)
    out = {k: np.stack(v) for k, v in rec.items()}
    out["day"] = s.days.astype(float)
    return out


def simulate_states(p: Mapping[str, np.ndarray], s: Schedule, arm: np.ndarray | None = None,
                    steps_per_day: int = 10, refine: int = 8) -> np.ndarray:
    """Full states incl. drivers, (n_days, N_STATES + 5, n), without extinction.

    Used to compare every state with :func:`simulate_reference`.
    """
    out: list[np.ndarray] = []
    _integrate(p, s, arm, steps_per_day, False,
               lambda _i, y, d, _h: out.append(np.concatenate([y, d])), refine,
               transfuse=False)
    return np.stack(out)


def simulate_reference(p: Mapping[str, np.ndarray], s: Schedule, method: str = "Radau",
                       rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """One patient (arrays of length 1) with ``solve_ivp``: drivers as ODE states.

    Integrates day by day (doses are discontinuities at day starts) and returns the full
    state (incl. drivers) at the start of every day, shape (n_days, N_STATES + 5). Leukaemia
    extinction is not applied (the reference checks the ODE, not the event rule).
    """
    y0 = initial_state(p)[:, 0]
    x = np.concatenate([y0, np.zeros(N_DRIVERS)])
    v2, vb = float(p["ven_v2"][0]), float(p["blin_v"][0])
    out = [x.copy()]
    nfev = 0
    for i in range(len(s.days) - 1):
        if s.ven_mg[i] > 0:
            x[N_STATES] += ven_bioavailable_dose(np.array([s.ven_mg[i]]), p)[0]
        x[N_STATES + 4] += s.fc_units[i]
        x_state = x[:N_STATES, None]  # a view: infuse writes into x
        infuse(x_state, _dose_rows(s, None, i, 1, p)[2], p)
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
