"""Fixed-step integrator: exact drivers + classical RK4 on the disease layer.

Why this scheme (measured, see ``benchmarks/bench_sim.py`` and docs/simulation.md):
the only stiff rates of the model are linear pharmacokinetics (blinatumomab k ~ 8.9/day,
venetoclax ka 3.83/day), and those are independent of the disease state. They are
propagated exactly with a per-patient matrix exponential (an exponential integrator
for the linear part), so every RK4 stage sees the exact concentration. What remains
has rates <= ~3/day; classical RK4 with h = 1/20 day is then accurate to ~1e-6 relative
against ``scipy.integrate.solve_ivp`` (Radau, rtol 1e-10) and runs as a handful of
NumPy array operations per stage over all patients at once.

Doses are given at the start of integer days (all schedules in the designs are daily),
so they fall exactly on step boundaries and need no event location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from .model import LN, LP, N_STATES, initial_state, observables, rhs
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


def _car_dose_ul(s: Schedule, i: int, p: Mapping[str, np.ndarray]) -> np.ndarray:
    per_kg = s.car_per_kg[i] + s.car_cells[i] / p["weight_kg"]
    return per_kg * p["car_blood_fraction"] / BLOOD_UL_PER_KG


def simulate(p: Mapping[str, np.ndarray], s: Schedule, steps_per_day: int = 20,
             extinction: bool = True) -> dict[str, np.ndarray]:
    """Integrate all patients in ``p`` through ``s``; return daily observables.

    Returns a dict of arrays shaped (n_days, n) sampled at the start of each day,
    before that day's doses (trough), plus ``"day"`` (n_days,). Leukaemia below one
    cell in the marrow (``marrow_capacity_cells``) is extinct when ``extinction``.
    """
    h = 1.0 / steps_per_day
    y = initial_state(p)
    n = y.shape[1]
    d = np.zeros((N_DRIVERS, n))
    half = DriverPropagator(p, h / 2.0)
    alive = np.ones(n)
    cap = np.asarray(p["marrow_capacity_cells"], float)
    rec: dict[str, list[np.ndarray]] = {}
    extra = {"venetoclax_mg_l": None, "blinatumomab_pg_ml": None}
    for i, _day in enumerate(s.days):
        obs = observables(y, p)
        cv, cb, _ = half.concentrations(d)
        extra["venetoclax_mg_l"], extra["blinatumomab_pg_ml"] = cv, cb
        for k, v in (obs | extra).items():
            rec.setdefault(k, []).append(v)
        if i == len(s.days) - 1:
            break
        if s.ven_mg[i] > 0:
            d[0] += ven_bioavailable_dose(np.full(n, s.ven_mg[i]), p)
        d[4] += s.fc_units[i]
        if s.car_per_kg[i] > 0 or s.car_cells[i] > 0:
            y[3] += _car_dose_ul(s, i, p)
        rate = np.full(n, s.blin_ug_day[i])
        for _ in range(steps_per_day):
            d_mid = half.step(d, rate)
            d_end = half.step(d_mid, rate)
            c0 = half.concentrations(d)
            cm = half.concentrations(d_mid)
            c1 = half.concentrations(d_end)
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
    out = {k: np.stack(v) for k, v in rec.items()}
    out["day"] = s.days.astype(float)
    return out


def simulate_reference(p: Mapping[str, np.ndarray], s: Schedule, method: str = "Radau",
                       rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """One patient (arrays of length 1) with ``solve_ivp``: drivers as ODE states.

    Integrates day by day (doses are discontinuities at day starts) and returns the full
    state (incl. drivers) at the start of every day, shape (n_days, 12 + 5). Leukaemia
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
        if s.car_per_kg[i] > 0 or s.car_cells[i] > 0:
            x[3] += _car_dose_ul(s, i, p)[0]
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


def simulate_states(p: Mapping[str, np.ndarray], s: Schedule,
                    steps_per_day: int = 20) -> np.ndarray:
    """Fixed-step solver returning full states (n_days, 12 + 5, n) without extinction.

    Used to compare every state with :func:`simulate_reference`.
    """
    h = 1.0 / steps_per_day
    y = initial_state(p)
    n = y.shape[1]
    d = np.zeros((N_DRIVERS, n))
    half = DriverPropagator(p, h / 2.0)
    out = [np.concatenate([y, d])]
    for i in range(len(s.days) - 1):
        if s.ven_mg[i] > 0:
            d[0] += ven_bioavailable_dose(np.full(n, s.ven_mg[i]), p)
        d[4] += s.fc_units[i]
        if s.car_per_kg[i] > 0 or s.car_cells[i] > 0:
            y[3] += _car_dose_ul(s, i, p)
        rate = np.full(n, s.blin_ug_day[i])
        for _ in range(steps_per_day):
            d_mid = half.step(d, rate)
            d_end = half.step(d_mid, rate)
            c0, cm, c1 = (half.concentrations(x) for x in (d, d_mid, d_end))
            k1 = rhs(y, *c0, p)
            k2 = rhs(y + (0.5 * h) * k1, *cm, p)
            k3 = rhs(y + (0.5 * h) * k2, *cm, p)
            k4 = rhs(y + h * k3, *c1, p)
            y = y + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
            d = d_end
        out.append(np.concatenate([y, d]))
    return np.stack(out)


__all__ = ["LN", "LP", "Schedule", "simulate", "simulate_reference", "simulate_states"]
