"""The solver (exact PK + compiled per-patient adaptive Dormand-Prince 5(4)) against
scipy solve_ivp at rtol 1e-10; its compiled right-hand side against the model's NumPy one;
the modal driver forcing against the matrix exponential."""

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
def test_solver_matches_solve_ivp_every_state(kind: str, product: str, antigen: str,
                                              pid: int) -> None:
    _, p = build_patients(7, np.array([pid]), {}, typical(), product, antigen)
    s = _schedule(kind)
    ref = simulate_reference(p, s, method="DOP853", rtol=1e-10, atol=1e-20)
    got = simulate_states(p, s)[:, :, 0]
    assert got.shape == ref.shape
    scale = np.abs(ref).max(axis=0)
    # every state within 2e-6 relative (measured: <= 3.2e-7 at the default rtol 2e-8,
    # <= 1.5e-7 at 1e-8);
    # states that are identically ~0 (e.g. CAR cells before infusion, drug after washout
    # below 1e-12 of its peak) compared absolutely. The bound is tight enough that a 3e-5
    # change of one Runge-Kutta weight (B3) fails every case (5e-5 .. 2e-4), which the
    # former 1e-4 bound let through.
    floor = np.maximum(np.abs(ref), 1e-12 * scale + 1e-300)
    rel = (np.abs(got - ref) / floor).max(axis=0)
    assert rel.max() < 2e-6, dict(enumerate(rel))


def test_transfusions_match_solve_ivp_with_the_same_rule() -> None:
    """Transfusions are discontinuities inside the compiled solver's multi-day steps (the
    step is cut at the transfused morning). With triggers raised so that Hb and platelets
    are transfused on many days, every state still equals solve_ivp (DOP853, rtol 1e-10,
    transfusing by the same morning rule) to 2e-6, and the transfused days are the same."""
    from remission.sim.model import HB, PLT

    _, p = build_patients(7, np.array([3]), {}, typical(), "car_t", "CLL1")
    p = dict(p)
    # untransfused, Hb dips to 13.26 g/dL (days -1..0) and platelets to 73 (day 9)
    p.update(hb_transfusion_trigger=np.array([13.45]), hb_transfusion_increment=np.array([0.05]),
             plt_transfusion_trigger=np.array([100.0]),
             plt_transfusion_increment=np.array([5.0]))
    s = _schedule("cart", 20)
    ref = simulate_reference(p, s, method="DOP853", rtol=1e-10, atol=1e-20, transfuse=True)
    got = simulate_states(p, s, transfuse=True)[:, :, 0]
    for col, trig in ((HB, 13.45), (PLT, 100.0)):
        below = ref[:, col] < trig
        assert below.sum() >= 3  # transfused on several days
        assert np.min(np.abs(ref[:, col] - trig) / trig) > 1e-4  # no day on the threshold
        np.testing.assert_array_equal(got[:, col] < trig, below)
    scale = np.abs(ref).max(axis=0)
    floor = np.maximum(np.abs(ref), 1e-12 * scale + 1e-300)
    rel = (np.abs(got - ref) / floor).max(axis=0)
    assert rel.max() < 2e-6, dict(enumerate(rel))
    untransfused = simulate_states(p, s)[:, :, 0]
    assert untransfused[:, PLT].min() < ref[:, PLT].min() - 5.0  # the rule changed the course


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


@pytest.mark.parametrize(("product", "antigen", "donor"),
                         [("car_t", "CLL1", False), ("car_nk", "CD123", False),
                          ("none", "CD19", False), ("car_t", "CLL1", True)])
def test_compiled_rhs_equals_model_rhs(product: str, antigen: str, donor: bool) -> None:
    """kernel.rhs_one is a transcription of model.rhs: same derivative on random states
    (drugs present and absent, effectors from 0 to 1e4/uL, leukaemia from 1e-12 to 0.9,
    extinct and not), to 1e-12 relative. Half the states have the leukaemia log-uniform
    (burden below 1e-4 in ~90 of the 400), where the kernel takes log(1 - x) and the Hb
    crowding exponential by their series. ``donor``: a donor-derived CAR-T product with
    alloreactive recognition 0.4 (kill of both clones, stimulation and IL-6)."""
    from remission.sim import kernel
    from remission.sim.model import N_STATES, initial_state, rhs

    n = 400
    _, p = build_patients(3, np.arange(n), {}, typical({"car_allo_recognition": 0.4}),
                          product, antigen, donor_derived=donor)
    assert (p["allo_recognition"] == (0.4 if donor else 0.0)).all()
    rng = np.random.default_rng(5)
    y = initial_state(p) * rng.uniform(0.2, 3.0, (N_STATES, n))
    y[0] = np.log(rng.uniform(1e-12, 0.6, n))
    y[1] = np.log(rng.uniform(1e-12, 0.3, n))
    low = rng.uniform(size=n) > 0.5  # remission: log-uniform burden
    y[0, low] = np.log(10 ** rng.uniform(-12, -0.3, low.sum()))
    y[1, low] = np.log(10 ** rng.uniform(-12, -0.6, low.sum()))
    assert ((np.exp(y[0]) + np.exp(y[1])) < 1e-4).sum() > n // 8
    y[3] = 10 ** rng.uniform(-6, 4, n) * (rng.uniform(size=n) > 0.1)
    y[4] = 10 ** rng.uniform(-6, 3, n)
    y[18] = rng.uniform(0.0, 1.0, n)
    cv = np.where(rng.uniform(size=n) > 0.5, rng.uniform(0, 3, n), 0.0)
    cb = np.where(rng.uniform(size=n) > 0.5, rng.uniform(0, 900, n), 0.0)
    ld = np.where(rng.uniform(size=n) > 0.5, rng.uniform(0, 3, n), 0.0)
    alive = (rng.uniform(size=n) > 0.2).astype(float)
    ref = rhs(y, cv, cb, ld, p, alive)
    q = kernel.pack(p, n)
    got = np.empty((n, N_STATES))
    yt = np.ascontiguousarray(y.T)
    for i in range(n):
        kernel.rhs_one(yt[i], cv[i], cb[i], ld[i], q[i], alive[i], got[i])
    np.testing.assert_allclose(got.T, ref, rtol=1e-12, atol=1e-300)


def test_modal_forcing_matches_matrix_exponential() -> None:
    """DriverModes (eigen-decomposition, any time in the day) equals the expm propagator
    for venetoclax, blinatumomab and Flu/Cy, doses of several past days included."""
    from remission.sim.pk import DriverModes

    _, p = build_patients(1, np.arange(200), {}, typical(), "car_t", "CLL1")
    rng = np.random.default_rng(2)
    d = np.abs(rng.normal(size=(5, 200))) * np.array([[100.0], [50.0], [80.0], [20.0], [1.0]])
    rate = rng.uniform(0, 28, 200)
    modes = DriverModes(p)
    modes.start(d, rate)
    for tau in (0.0, 0.013, 0.37, 1.0):
        want = DriverPropagator(p, tau).concentrations(DriverPropagator(p, tau).step(d, rate)) \
            if tau > 0 else DriverPropagator(p, 1.0).concentrations(d)
        got = modes.concentrations(tau)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-11, atol=1e-14)


def test_result_of_a_patient_does_not_depend_on_the_batch() -> None:
    """Per-patient error control: a patient's trajectory is bit-identical alone and in a
    batch of very different patients (what makes trials independent of chunking)."""
    _, p = build_patients(4, np.arange(30), {}, typical(), "car_t", "CLL1")
    s = _schedule("cart", 60)
    stats: dict[str, int] = {}
    whole = simulate_states(p, s, stats=stats)
    one = simulate_states({k: v[12:13] for k, v in p.items()}, s)
    assert np.array_equal(whole[:, :, 12], one[:, :, 0])
    # steps are the patient's own: about 2 per day on average, far fewer than a fixed grid
    assert 0 < stats["rejected"] < stats["steps"] < 30 * 73 * 8


def test_compiled_rhs_follows_ieee_like_numpy_on_underflowed_clone() -> None:
    """A trial stage of a large step can push a log-clone below exp's range (L- = 0, so
    L+/L- divides by zero). The compiled right-hand side must then give inf/nan as NumPy
    does -- the step is rejected and retried shorter -- not raise ZeroDivisionError
    (which crashed a 100-per-arm seed-003 trial before error_model="numpy")."""
    from remission.sim import kernel
    from remission.sim.model import N_STATES, initial_state, rhs

    _, p = build_patients(3, np.arange(2), {}, typical(), "none", "CD19")
    y = initial_state(p)
    y[1] = -800.0  # exp(-800) == 0.0
    with np.errstate(all="ignore"):
        ref = rhs(y, np.zeros(2), np.full(2, 100.0), np.zeros(2), p, np.ones(2))
    got = np.empty(N_STATES)
    kernel.rhs_one(np.ascontiguousarray(y[:, 0]), 0.0, 100.0, 0.0, kernel.pack(p, 2)[0], 1.0,
                   got)
    assert not np.isfinite(got[1]) and not np.isfinite(ref[1, 0])
    np.testing.assert_allclose(got[2:], ref[2:, 0], rtol=1e-12)


@pytest.mark.parametrize(("stream", "overrides"), [
    (8, {}),
    (8, {"antigen_density_cv": 2.0}),
    (1, {}),
])
def test_a_patient_is_bit_identical_whatever_its_neighbours_in_the_lanes(
        stream: int, overrides: dict[str, float]) -> None:
    """The kernel steps LANES patients side by side (kernel.advance). Each lane keeps its
    own step size, error test, dose days, restarts and transfusions, so a patient's whole
    trajectory must be bit-identical alone, among neighbours of another product with
    other doses (a multi-arm schedule), and in any lane (positions 0, 5, 8, 13 of the
    batch). Seen red when a restart overwrote the stage K1 of every lane instead of only
    the lanes that restart. The CAR-T patient's own dose days are -12 .. 0 and 45; its
    CAR-NK neighbours are also dosed on days 7 and 14, where the patient must not leave its
    lane: a reload there recomputed its drug levels and first stage from the time since
    its dose instead of carrying them, ~1e-15 apart (red before the fix for stream 8 at
    ``antigen_density_cv`` 2.0 from day 9 on, and for stream 1 at the shipped
    parameters; stream 8 at the shipped parameters happened to round alike)."""
    from remission.sim import kernel

    n = 3 * kernel.LANES
    s = _schedule("cart", 45)
    nk = _schedule("nk", 45)
    two = Schedule(s.first_day, s.last_day, *(np.stack([getattr(s, k), getattr(nk, k)])
                                              for k in ("ven_mg", "blin_ug_day", "fc_units",
                                                        "car_per_kg", "car_cells")),
                   hma_units=None)
    _, p = build_patients(stream, np.arange(n), {}, typical(overrides), "car_t", "CLL1")
    p = {k: np.broadcast_to(np.asarray(v, float), (n,)).copy() for k, v in p.items()}
    arm = np.arange(n) % 2  # neighbours alternate between the two arms
    arm[[0, 5, 8, 13]] = 0
    for k in p:  # patients 0, 5, 8 and 13 are one patient; the others differ
        p[k][[5, 8, 13]] = p[k][0]
    p["car_density_hill"][1] = 2.5  # a neighbour on the generic power path
    stats: dict[str, int] = {}
    whole = simulate_states(p, two, arm, stats=stats, transfuse=True)
    alone = simulate_states({k: v[:1] for k, v in p.items()}, s, transfuse=True)[:, :, 0]
    for i in (0, 5, 8, 13):
        assert np.array_equal(whole[:, :, i], alone), i
    assert not np.array_equal(whole[:, :, 2], alone)  # the neighbours do differ
    assert stats["rejected"] > 0  # lanes were rejected and restarted around the patient


def test_lanes_right_hand_side_is_model_rhs_in_every_lane() -> None:
    """rhs_lanes with a different patient in every lane (three products, drugs on and
    off, extinct and not, non-default Hill and tolerance exponents on some lanes) gives
    each lane model.rhs of its own patient to 1e-12."""
    from remission.sim import kernel
    from remission.sim.model import N_STATES, initial_state, rhs

    L = kernel.LANES
    rng = np.random.default_rng(11)
    for product, antigen in (("car_t", "CLL1"), ("car_nk", "CD123"), ("none", "CD19")):
        _, p = build_patients(2, np.arange(L), {}, typical(), product, antigen)
        p = {k: np.broadcast_to(np.asarray(v, float), (L,)).copy() for k, v in p.items()}
        p["car_density_hill"][[1, 4]] = (2.5, 1.0)
        p["ven_tolerance"][[2, 4, 6]] = (0.0, 1.7, 3.0)
        y = initial_state(p) * rng.uniform(0.3, 2.0, (N_STATES, L))
        y[0] = np.log(rng.uniform(1e-9, 0.5, L))
        y[1] = np.log(rng.uniform(1e-9, 0.3, L))
        y[3] = 10 ** rng.uniform(-3, 3, L)
        cv = np.where(np.arange(L) % 2 == 0, rng.uniform(0.1, 2, L), 0.0)
        cb = np.where(np.arange(L) % 3 == 0, rng.uniform(10, 500, L), 0.0)
        ld = np.where(np.arange(L) % 4 < 2, rng.uniform(0.1, 2, L), 0.0)
        alive = np.where(np.arange(L) == 7, 0.0, 1.0)
        w = np.zeros(kernel.N_ROWS * L)
        w[kernel.R_IN * L:(kernel.R_IN + N_STATES) * L] = y.ravel()
        for row, v in ((kernel.R_CV, cv), (kernel.R_CB, cb), (kernel.R_LD, ld),
                       (kernel.R_AL, alive)):
            w[row * L:(row + 1) * L] = v
        q = np.ascontiguousarray(kernel.pack(p, L).T).ravel()
        kernel.rhs_lanes(w, q, L, True)
        got = w[kernel.R_OUT * L:(kernel.R_OUT + N_STATES) * L].reshape(N_STATES, L)
        np.testing.assert_allclose(got, rhs(y, cv, cb, ld, p, alive), rtol=1e-12,
                                   atol=1e-300)


def test_branch_free_exp_and_log_are_within_two_ulp_of_numpy() -> None:
    """kernel.vexp / vlog (the vectorisable exp and log of the right-hand side) against
    NumPy over the whole double range, subnormal results and arguments, and the special
    values (0, inf, nan, negative arguments of log, overflow and underflow of exp)."""
    from remission.sim import kernel

    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(-745, 709.7, 4000), rng.uniform(-3, 3, 4000),
                         rng.uniform(-745.1, -708, 500)])
    with np.errstate(all="ignore"):
        for x in xs:
            want = np.exp(x)
            assert abs(kernel.vexp(x) - want) <= 2 * np.spacing(want), x
        ys = np.concatenate([np.exp(rng.uniform(-700, 700, 4000)), rng.uniform(0.5, 2, 2000),
                             [5e-324, 1e-310, 2.2250738585072014e-308, 1.7e308]])
        for y in ys:
            want = np.log(y)
            assert abs(kernel.vlog(y) - want) <= 2 * np.spacing(abs(want)) + 1e-300, y
        for x, want in ((0.0, 1.0), (-800.0, 0.0), (710.0, np.inf), (-np.inf, 0.0),
                        (np.inf, np.inf)):
            assert kernel.vexp(x) == want, x
        assert np.isnan(kernel.vexp(np.nan))
        assert kernel.vlog(0.0) == -np.inf and kernel.vlog(np.inf) == np.inf
        assert kernel.vlog(1.0) == 0.0
        assert np.isnan(kernel.vlog(-1.0)) and np.isnan(kernel.vlog(np.nan))
