"""Fixed-step solver (exact PK + RK4) against scipy solve_ivp at rtol 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from remission.sim.params import typical
from remission.sim.pk import DriverPropagator, ven_bioavailable_dose
from remission.sim.population import build_patients
from remission.sim.solver import Schedule, simulate_reference, simulate_states


def _schedule(kind: str, last_day: int = 35) -> Schedule:
    s = Schedule.empty(-13, last_day)

    def i(d: int) -> int:
        return d - s.first_day

    if kind in ("cart", "nk"):
        for d in range(-12, -5):
            s.ven_mg[i(d)] = 400.0
        for d in (-5, -4, -3):
            s.fc_units[i(d)] = 1.0
        if kind == "cart":
            s.car_per_kg[i(0)] = 1.0e6
        else:
            for d in (0, 7, 14):
                s.car_cells[i(d)] = 1.2e9
    else:
        for d in range(-7, 0):
            s.ven_mg[i(d)] = 400.0
        for d in range(0, 28):
            s.blin_ug_day[i(d)] = 9.0 if d < 7 else 28.0
    return s


@pytest.mark.parametrize(("kind", "product", "antigen", "pid"), [
    ("cart", "car_t", "CLL1", 3),
    ("nk", "car_nk", "CD123", 11),
    ("blin", "none", "CD19", 5),
])
def test_rk4_matches_solve_ivp_every_state(kind: str, product: str, antigen: str,
                                           pid: int) -> None:
    _, p = build_patients(7, np.array([pid]), {}, typical(), product, antigen)
    s = _schedule(kind)
    ref = simulate_reference(p, s, method="DOP853", rtol=1e-10, atol=1e-20)
    got = simulate_states(p, s)[:, :, 0]
    assert got.shape == ref.shape
    scale = np.abs(ref).max(axis=0)
    # every state within 1e-4 relative; states that are identically ~0 (e.g. CAR cells
    # before infusion, drug after washout below 1e-12 of its peak) compared absolutely
    floor = np.maximum(np.abs(ref), 1e-12 * scale + 1e-300)
    rel = (np.abs(got - ref) / floor).max(axis=0)
    assert rel.max() < 1e-4, dict(enumerate(rel))


def test_venetoclax_steady_state_matches_models_md_check() -> None:
    """Dave 2019 typical, 400 mg QD: Cmax,ss 1.45 mg/L, Cmin,ss 0.34 mg/L (models.md §2.1)."""
    p = {k: np.array([v]) for k, v in typical().items()}
    h = 1.0 / 240.0
    prop = DriverPropagator(p, h)
    d = np.zeros((5, 1))
    conc = []
    for _day in range(10):
        d[0] += ven_bioavailable_dose(np.array([400.0]), p)
        for _ in range(240):
            d = prop.step(d, np.zeros(1))
            conc.append(prop.concentrations(d)[0][0])
    last = np.array(conc[-240:])
    assert last.max() == pytest.approx(1.45, abs=0.01)
    assert last.min() == pytest.approx(0.34, abs=0.01)
    assert np.argmax(last) * h * 24 == pytest.approx(4.8, abs=0.2)  # Tmax ~4.8 h


def test_blinatumomab_css_is_rate_over_clearance() -> None:
    """Clements 2020 typical: Css = rate/CL = 169 pg/mL at 9 ug/day (models.md §3.1)."""
    p = {k: np.array([v]) for k, v in typical().items()}
    prop = DriverPropagator(p, 0.5)
    d = np.zeros((5, 1))
    for _ in range(20):
        d = prop.step(d, np.array([9.0]))
    assert prop.concentrations(d)[1][0] == pytest.approx(9.0 / 53.28 * 1000.0, rel=1e-9)
    assert prop.concentrations(d)[1][0] == pytest.approx(169, abs=0.5)


def test_expm_batch_matches_scipy_expm() -> None:
    import scipy.linalg

    from remission.sim.pk import expm_batch, ven_matrix

    _, p = build_patients(0, np.arange(300), {}, typical(), "car_t", "CLL1")
    m = ven_matrix(p)
    for h in (1.0 / 160.0, 0.05, 1.0, 10.0):
        got = expm_batch(m * h)
        ref = scipy.linalg.expm(m * h)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    # one matrix alone gives the same bits as inside a batch
    assert np.array_equal(expm_batch(m[7:8] * 0.05)[0], expm_batch(m * 0.05)[7])
