"""Compiled per-patient integrator: the model's right-hand side and adaptive
Dormand-Prince 5(4) steps, one patient at a time, in Numba.

Why: the vectorised NumPy solver spends its time in ~100 array operations per
right-hand-side evaluation and in stepping every patient at the pace of the slowest
one. Here each patient takes only the steps its own error test needs (per-patient error
control, as a per-patient ``solve_ivp`` would), and a right-hand side costs a few
hundred floating-point operations instead of a hundred NumPy calls.

:func:`rhs_one` is a transcription of :func:`remission.sim.model.rhs` (read that
function for the biology and its sources; a few terms are rearranged to save divisions and,
in remission, a logarithm and an exponential); ``tests/test_sim_solver.py``
checks that both give the same derivative to 1e-12 on random states of every product, so
a change to one without the other fails the suite. The drivers (drug concentrations)
are exact, as in :class:`remission.sim.pk.DriverModes`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
from scipy.integrate._ivp.rk import RK45 as _RK45

#: parameters read by the right-hand side, in the column order of the packed matrix
PARAMS = (
    "alc0", "anc_healthy", "antigen_decay", "antigen_density", "antigen_switch_gain",
    "antigen_up_ec50", "antigen_up_rate", "blin_ec50", "blin_et_burden", "blin_kill_max",
    "blin_neg_kill_fraction", "blin_t_half", "car_density_half", "car_density_hill",
    "car_et_capacity", "car_exhaustion", "car_kill_half", "car_memory_reactivation",
    "car_neg_kill_fraction", "car_stim_half", "effector_loss", "expansion", "hb_crowding",
    "hb_healthy", "hb_turnover", "homeostatic", "il6_baseline", "il6_blin", "il6_car",
    "il6_elim", "il6_prod_max", "kill_max", "ld_car_boost", "ld_hb_effect", "ld_lymph_kill",
    "ld_myelo_kill", "leuk_growth", "lymph_recovery", "memory_conversion", "memory_loss",
    "neut_crowding", "neut_gamma", "neut_mtt", "offtumour_kill", "offtumour_weight",
    "plt_crowding", "plt_gamma", "plt_healthy", "plt_mtt", "switch_neg_to_pos",
    "switch_pos_to_neg", "ven_ic50_pos", "ven_kill_max", "ven_myelo_slope",
    "ven_sensitivity_ratio", "marrow_capacity_cells", "ven_tolerance", "allo_recognition",
)
(ALC0, ANC_H, AG_DECAY, AG_DENS, AG_SWITCH, AG_UP_EC50, AG_UP_RATE, BL_EC50, BL_ET,
 BL_KMAX, BL_NEG, BL_THALF, CAR_DH, CAR_HILL, CAR_ETC, CAR_EXH, CAR_KH, CAR_REACT,
 CAR_NEG, CAR_SH, EF_LOSS, EXPAN, HB_CROWD, HB_H, HB_TURN, HOMEO, IL_BASE, IL_BLIN,
 IL_CAR, IL_ELIM, IL_PMAX, KMAX, LD_BOOST, LD_HB, LD_LY, LD_MY, L_GROW, LY_REC, MEM_CONV,
 MEM_LOSS, N_CROWD, N_GAMMA, N_MTT, OFF_KILL, OFF_W, P_CROWD, P_GAMMA, P_H, P_MTT,
 S_NP, S_PN, V_IC50, V_KMAX, V_MY, V_RATIO, CAP, V_TOL, ALLO) = range(len(PARAMS))
#: columns derived once per patient after the parameters (constant within a run)
(KH, LOG_ANC_H, LOG_P_H, KTR, KTP, V_IC50_NEG, INV_ALC0, INV_ETC, INV_ANC_H,
 INV_PMAX) = range(len(PARAMS), len(PARAMS) + 10)


def pack(p: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """Per-patient parameter matrix (n, len(PARAMS) + 10), C-contiguous (one row per
    patient): the parameters, then quantities derived from them alone.

    Parameters
    ----------
    p : Mapping
        Per-patient parameter arrays (or scalars, broadcast) holding every name of
        :data:`PARAMS`.
    n : int
        Number of patients.

    Returns
    -------
    numpy.ndarray
        Float matrix (n, ``len(PARAMS) + 10``): column ``j`` is ``p[PARAMS[j]]``; then
        ``K^h`` of recognition, log healthy ANC, log healthy platelets, the Friberg
        transit rates 4/MTT (neutrophils, platelets), the IC50 of the
        antigen-negative clone, and the reciprocals of ``alc0``, ``car_et_capacity``,
        ``anc_healthy`` and ``il6_prod_max`` (multiplications instead of divisions in
        :func:`rhs_one`).

    Raises
    ------
    KeyError
        When ``p`` lacks a name of :data:`PARAMS`.

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")
    >>> q = pack(p, 2)
    >>> q.shape, q.flags.c_contiguous, bool((q[:, PARAMS.index("alc0")] == p["alc0"]).all())
    ((2, 68), True, True)
    >>> bool(np.allclose(q[:, KTR], 4.0 / p["neut_mtt"]))
    True
    """
    cols = [np.broadcast_to(np.asarray(p[k], float), (n,)) for k in PARAMS]
    g = dict(zip(PARAMS, cols, strict=True))
    cols += [g["car_density_half"] ** g["car_density_hill"], np.log(g["anc_healthy"]),
             np.log(g["plt_healthy"]), 4.0 / g["neut_mtt"], 4.0 / g["plt_mtt"],
             g["ven_ic50_pos"] / g["ven_sensitivity_ratio"], 1.0 / g["alc0"],
             1.0 / g["car_et_capacity"], 1.0 / g["anc_healthy"], 1.0 / g["il6_prod_max"]]
    return np.ascontiguousarray(np.stack(cols, axis=1))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def rhs_one(y: np.ndarray, cv: float, cb: float, ld: float, q: np.ndarray, alive: float,
            dy: np.ndarray) -> None:  # pragma: no cover - compiled
    """Derivative of one patient's 19 states into ``dy`` (see model.rhs).

    Parameters
    ----------
    y : numpy.ndarray
        One patient's state (19,).
    cv : float
        Venetoclax concentration (mg/L).
    cb : float
        Blinatumomab concentration (pg/mL).
    ld : float
        Flu/Cy exposure (FC units).
    q : numpy.ndarray
        The patient's row of :func:`pack`.
    alive : float
        0 when the patient's leukaemia is extinct, else 1.
    dy : numpy.ndarray
        Output (19,), overwritten.

    Returns
    -------
    None

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")
    >>> from remission.sim.model import initial_state, rhs
    >>> y = initial_state(p)
    >>> want = rhs(y, np.full(2, 0.5), np.zeros(2), np.full(2, 0.2), p)[:, 1]
    >>> dy = np.empty(19)
    >>> rhs_one(np.ascontiguousarray(y[:, 1]), 0.5, 0.0, 0.2, pack(p, 2)[1], 1.0, dy)
    >>> bool(np.allclose(dy, want, rtol=1e-12, atol=1e-15))
    True
    """
    lpos = np.exp(y[0])
    lneg = np.exp(y[1])
    ltot = lpos + lneg
    a = y[2]
    e = y[3]
    m = y[4]
    t = y[5]
    pr = y[6]
    n_c = y[10]
    grow = q[L_GROW] * (1.0 - ltot)
    car_sat = e / (q[CAR_KH] + e)
    dens = a * q[AG_DENS]
    dh = dens * dens * dens if q[CAR_HILL] == 3.0 else dens ** q[CAR_HILL]  # 3: the default
    kh = q[KH]
    recog = dh * (1.0 + kh) / (dh + kh)
    kill_car = q[KMAX] * car_sat * recog
    kill_pos = kill_car
    kill_neg = q[CAR_NEG] * kill_car
    g = q[ALLO]  # donor-derived product: alloreactive recognition of both clones
    engaged = recog * lpos
    if g != 0.0:
        kill_allo = q[KMAX] * car_sat * g
        kill_pos = kill_pos + kill_allo
        kill_neg = kill_neg + kill_allo
        engaged = engaged + g * ltot
    if cv != 0.0:
        vt = q[V_TOL]
        tol = a * a * a if vt == 3.0 else (1.0 if vt == 0.0 else a ** vt)  # 3: the default
        kill_pos = kill_pos + q[V_KMAX] * cv / (q[V_IC50] * tol + cv)
        kill_neg = kill_neg + q[V_KMAX] * cv / (q[V_IC50_NEG] * tol + cv)
    occ_b = 0.0
    if cb != 0.0:
        occ_b = cb / (q[BL_EC50] + cb)
        kill_b = q[BL_KMAX] * occ_b * a * t / (q[BL_THALF] + t + q[BL_ET] * ltot)
        kill_pos = kill_pos + kill_b
        kill_neg = kill_neg + q[BL_NEG] * kill_b
    m_np = q[S_NP] * (1.0 + q[AG_SWITCH] * (a - 1.0))
    m_pn = q[S_PN]
    ratio = lneg / lpos
    dy[0] = (grow - kill_pos - m_pn + m_np * ratio) * alive
    dy[1] = (grow - kill_neg - m_np + m_pn / ratio) * alive
    dy[2] = -q[AG_DECAY] * (a - 1.0)
    if cv != 0.0:
        dy[2] += q[AG_UP_RATE] * cv / (q[AG_UP_EC50] + cv)

    target = engaged + q[OFF_W] * pr * q[INV_ANC_H]
    e_rel = e * q[INV_ETC]
    inv_den = 1.0 / (q[CAR_SH] + target + e_rel)
    stim = target * inv_den
    lymph_gap = max(0.0, 1.0 - t * q[INV_ALC0])
    boost = 1.0 + q[LD_BOOST] * lymph_gap
    fit = y[18]
    react = q[CAR_REACT] * stim * m * fit
    grow_e = q[EXPAN] * boost * stim * fit - q[EF_LOSS] - q[MEM_CONV]
    if q[HOMEO] != 0.0:
        grow_e += q[HOMEO] * lymph_gap / (1.0 + e_rel)
    dy[3] = grow_e * e + react
    dy[18] = -q[CAR_EXH] * stim * fit if e + m > 0.0 else 0.0  # no CAR cells: no exhaustion
    dy[4] = q[MEM_CONV] * e - react - q[MEM_LOSS] * m

    dy[5] = q[LY_REC] * (q[ALC0] - t) - q[LD_LY] * ld * t

    ktr = q[KTR]
    k_off = q[OFF_KILL] * car_sat
    kdrug = q[LD_MY] * ld + k_off
    if cv != 0.0:
        kdrug = kdrug + q[V_MY] * cv
    if ltot < 1e-4:  # log(1 - x) by its series (remission): error < x^5/5, below 1 ulp
        lspace = -ltot * (1.0 + ltot * (0.5 + ltot * (1.0 / 3.0 + ltot * 0.25)))
    else:
        lspace = np.log(max(1.0 - ltot, 1e-3))
    drive = np.exp(q[N_GAMMA] * (q[LOG_ANC_H] - np.log(n_c)) + q[N_CROWD] * lspace)
    dy[6] = ktr * pr * (drive - 1.0) - kdrug * pr
    dy[7] = ktr * (pr - y[7])
    dy[8] = ktr * (y[7] - y[8])
    dy[9] = ktr * (y[8] - y[9])
    dy[10] = ktr * (y[9] - n_c) - k_off * n_c

    # stimulation x tumour share of the target = engaged / (K_s + target + E/K_ET)
    prod = q[IL_CAR] * e * (engaged * inv_den)
    if cb != 0.0:
        prod = prod + q[IL_BLIN] * occ_b * t * lpos
    dy[11] = prod / (1.0 + prod * q[INV_PMAX]) - q[IL_ELIM] * (y[11] - q[IL_BASE])

    ktp = q[KTP]
    pp = y[12]
    plt = y[16]
    drive_p = np.exp(q[P_GAMMA] * (q[LOG_P_H] - np.log(plt)) + q[P_CROWD] * lspace)
    kdp = q[LD_MY] * ld
    if cv != 0.0:
        kdp = kdp + q[V_MY] * cv
    dy[12] = ktp * pp * (drive_p - 1.0) - kdp * pp
    dy[13] = ktp * (pp - y[13])
    dy[14] = ktp * (y[13] - y[14])
    dy[15] = ktp * (y[14] - y[15])
    dy[16] = ktp * (y[15] - plt)
    zc = q[HB_CROWD] * lspace
    if zc > -1e-4:  # exp by its series near 0 (remission): error < z^5/120, below 1 ulp
        crowd = 1.0 + zc * (1.0 + zc * (0.5 + zc * (1.0 / 6.0 + zc * (1.0 / 24.0))))
    else:
        crowd = np.exp(zc)
    prod_hb = q[HB_H] * crowd
    if ld != 0.0:
        prod_hb /= 1.0 + q[LD_HB] * ld
    dy[17] = q[HB_TURN] * (prod_hb - y[17])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _forcing(tau: float, coef: np.ndarray, lam: np.ndarray, v2: float, d3: float, kb: float,
             rate: float, vb: float, d4: float, kld: float) -> tuple[float, float, float]:
    """Exact (venetoclax mg/L, blinatumomab pg/mL, FC units) ``tau`` days into the day
    (the modal form of :class:`remission.sim.pk.DriverModes`)."""  # pragma: no cover
    cv = 0.0
    if coef[0] != 0.0 or coef[1] != 0.0 or coef[2] != 0.0:
        cv = (coef[0] * np.exp(lam[0] * tau) + coef[1] * np.exp(lam[1] * tau)
              + coef[2] * np.exp(lam[2] * tau)) / v2
    cb = 0.0
    if d3 != 0.0 or rate != 0.0:
        cb = (d3 * np.exp(-kb * tau) - rate * np.expm1(-kb * tau) / kb) / vb * 1000.0
    ld = d4 * np.exp(-kld * tau) if d4 != 0.0 else 0.0
    return cv, cb, ld


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _blin(tau: float, d3: float, kb: float, rate: float, vb: float) -> float:
    """Exact blinatumomab (pg/mL) ``tau`` days into the day (as :func:`_forcing`)."""
    return (d3 * np.exp(-kb * tau) - rate * np.expm1(-kb * tau) / kb) / vb * 1000.0


# Dormand & Prince 1980 (J Comput Appl Math 6:19), the tableau of scipy's RK45: nodes,
# stage coefficients, 5th-order weights, error weights (5th minus embedded 4th order)
C2, C3, C4, C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
A21 = 1 / 5
A31, A32 = 3 / 40, 9 / 40
A41, A42, A43 = 44 / 45, -56 / 15, 32 / 9
A51, A52, A53, A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
A61, A62, A63, A64, A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
B1, B3, B4, B5, B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
E1, E3, E4, E5, E6, E7 = (71 / 57600, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525,
                          -1 / 40)


# the 4th-order continuous extension of this pair (Shampine 1986, Math Comp 46:135; the
# "free" interpolant of scipy's RK45, whose table is used here): y(t + x h) =
# y + h sum_r x^(r+1) sum_j K_j P[j, r]
_P = np.ascontiguousarray(_RK45.P, dtype=np.float64)  # (7, 4)
#: states per patient (model.N_STATES, as a compile-time constant so that the kernel's loops
#: over the states have a fixed length)
NS = 19
#: a drug level below this is dropped for the rest of a step (see :func:`advance`)
NEGLIGIBLE = 1e-18


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _inv5(err: float) -> float:  # pragma: no cover - compiled
    """``err ** -0.2`` (the step-size factor of a 5(4) pair) as exp/log: cheaper than pow."""
    return np.exp(-0.2 * np.log(err))


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _powers(r: float) -> tuple[float, float, float, float, float]:  # pragma: no cover
    """``r`` to the powers 18, 27, 72, 80, 90: ``exp(lam c h)`` at the stage nodes
    c = 1/5, 3/10, 4/5, 8/9, 1 from the single exponential ``r = exp(lam h / 90)``."""
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    r9 = r8 * r
    r18 = r9 * r9
    r27 = r18 * r9
    r36 = r18 * r18
    r72 = r36 * r36
    return r18, r27, r72, r72 * r8, r72 * r18


@numba.njit(cache=True, nogil=True, error_model="numpy")
def advance(y: np.ndarray, t: np.ndarray, h: np.ndarray, hdose: np.ndarray,
            alive: np.ndarray, q: np.ndarray,
            tseg: np.ndarray, coef: np.ndarray, lam: np.ndarray, v2: np.ndarray,
            d3: np.ndarray, kb: np.ndarray, rate: np.ndarray, vb: np.ndarray, d4: np.ndarray,
            kld: np.ndarray, stop: np.ndarray, until: int, out: np.ndarray,
            trig: np.ndarray, inc: np.ndarray, transfuse: bool, rtol: float, atol: float,
            extinction: bool, stats: np.ndarray) -> None:  # pragma: no cover - compiled
    """Advance every patient (rows of ``y``, shape (n, 19)) from its time ``t`` until
    ``t >= until``, in place, never past its own next dose day ``stop``.

    Each patient takes its own adaptive Dormand-Prince 5(4) steps: the RMS over the 19
    states of ``err / (atol + rtol max(|y|, |y_new|))`` must be <= 1, else the step is
    retried shorter (Hairer, Norsett & Wanner, Solving ODEs I, II.4). Steps run across
    dose-free days: the state at every whole day a step passes is its continuous extension
    (:data:`_P`), written to ``out[patient, day, :19]`` (the state that day starts with,
    before any transfusion); steps end exactly on ``stop`` (doses are given there,
    outside). ``h`` carries each patient's step size to the next call; a step that starts
    at a dose (``t == tseg``) is at most ``hdose``, the first accepted step after the
    patient's previous dose (a quiet stretch's long step would be rejected at the dose).

    Forcing is exact, ``tau = t - tseg`` days after the patient's last dose (the modal
    form of :class:`remission.sim.pk.DriverModes`); inside a step, the exponentials at the
    stage nodes are powers of one exponential per mode (:func:`_powers`), and each mode's
    amplitude is carried from one accepted step to the next (times that step's
    exponential; recomputed from ``tau`` after a restart). Every mode
    decays, so a drug whose level at a step start is below :data:`NEGLIGIBLE` (mg/L,
    pg/mL, FC units: rates below ~1e-17/day) stays below it and is left out from then on.

    With ``transfuse``, a whole day whose Hb or platelets (columns 17, 16) are below the
    patient's trigger ``trig[i] = (Hb, PLT)`` gets ``inc[i]`` added that morning; the step
    is cut at that day and the patient restarts from it. With ``extinction``, leukaemia
    below one cell (``marrow_capacity_cells``) stops (``alive`` -> 0) at a step end.
    ``stats`` accumulates (steps, rejected steps).

    Parameters
    ----------
    y : numpy.ndarray
        States (n, 19), C-contiguous; advanced in place.
    t : numpy.ndarray
        Each patient's time (days from the schedule's first day), updated in place.
    h, hdose : numpy.ndarray
        Each patient's current step size, and its first accepted step after its last
        dose (days; ``inf`` before any), updated in place.
    alive : numpy.ndarray
        1.0 or 0.0 per patient (extinct leukaemia), updated in place.
    q : numpy.ndarray
        :func:`pack` matrix (n, ``len(PARAMS) + 10``).
    tseg : numpy.ndarray
        Time of each patient's last dose (the forcing's origin).
    coef, lam : numpy.ndarray
        Venetoclax modal coefficients at ``tseg`` and eigenvalues per patient (n, 3),
        from :class:`remission.sim.pk.DriverModes` after ``start``.
    v2, d3, kb, rate, vb, d4, kld : numpy.ndarray
        Per patient: venetoclax central volume (L); blinatumomab amount at ``tseg`` (ug),
        elimination rate (1/day), infusion rate (ug/day) and volume (L); Flu/Cy exposure
        at ``tseg`` (FC units) and its decay rate (1/day).
    stop : numpy.ndarray
        int64 (n,): each patient's next dose day (or the last day).
    until : int
        Advance every patient to at least this day.
    out : numpy.ndarray
        (n, n_days, >= 19): the states at whole days are written to ``[:, day, :19]``.
    trig, inc : numpy.ndarray
        (n, 2): transfusion triggers and increments (Hb g/dL, platelets 10^9/L).
    transfuse, extinction : bool
        Apply the transfusion rule; apply the one-cell extinction rule.
    rtol, atol : float
        Tolerances of the error test.
    stats : numpy.ndarray
        int64 (2,): steps and rejected steps, added to.

    Returns
    -------
    None

    References
    ----------
    Dormand JR, Prince PJ. J Comput Appl Math 1980;6:19-26; Shampine LF. Math Comp
    1986;46:135-50 (the continuous extension); Hairer E, Norsett SP, Wanner G. Solving
    Ordinary Differential Equations I, 2nd ed., Springer 1993, II.4 and II.6.

    Examples
    --------
    >>> from remission.sim.params import typical
    >>> from remission.sim.population import build_patients
    >>> _, p = build_patients(0, np.arange(2), {}, typical(), "car_t", "CLL1")

    Five untreated days in one call, exactly as
    :func:`remission.sim.solver.simulate_states` takes them (no dose, so the steps run
    across the days; days 1-4 come from the continuous extension):

    >>> from remission.sim.model import initial_state
    >>> from remission.sim.pk import DriverModes
    >>> from remission.sim.solver import ATOL, RTOL, Schedule, simulate_states
    >>> y = np.ascontiguousarray(initial_state(p).T)
    >>> m, z, stats = DriverModes(p), np.zeros(2), np.zeros(2, np.int64)
    >>> out = np.zeros((2, 6, 19))
    >>> advance(y, z.copy(), np.full(2, 0.1), np.full(2, np.inf), np.ones(2), pack(p, 2),
    ...         z, np.zeros((2, 3)), np.ascontiguousarray(m.lam.T), m.v2, z, m.kb, z, m.vb,
    ...         z, m.kld, np.full(2, 5), 5, out, np.zeros((2, 2)), np.zeros((2, 2)), False,
    ...         RTOL, ATOL, False, stats)
    >>> want = simulate_states(p, Schedule.empty(0, 5))
    >>> bool(np.array_equal(out[:, 1:, :].transpose(1, 2, 0), want[1:, :19]))
    True
    >>> bool(np.array_equal(y.T, want[5, :19]))
    True
    """
    n = y.shape[0]
    ns = NS
    if y.shape[1] != NS:
        raise ValueError("advance: y must have NS (19) states per row")
    k1 = np.empty(ns)
    k2 = np.empty(ns)
    k3 = np.empty(ns)
    k4 = np.empty(ns)
    k5 = np.empty(ns)
    k6 = np.empty(ns)
    k7 = np.empty(ns)
    yt = np.empty(ns)
    yn = np.empty(ns)
    yd = np.empty(ns)
    wd = np.empty(7)
    cvs = np.empty(6)
    cbs = np.empty(6)
    lds = np.empty(6)
    amp_v = np.zeros(3)
    end_v = np.ones(3)
    end_l = 1.0
    for i in range(n):
        ti = t[i]
        if ti >= until:
            continue
        yi = y[i]
        qi = q[i]
        ci = coef[i]
        li = lam[i]
        v2i, d3i, kbi, ri, vbi, d4i, kldi = v2[i], d3[i], kb[i], rate[i], vb[i], d4[i], kld[i]
        t0 = tseg[i]
        end = float(stop[i])
        hi = h[i]
        fresh = ti == t0
        if fresh:
            hi = min(hi, hdose[i])
        al = alive[i]
        ven_on = ci[0] != 0.0 or ci[1] != 0.0 or ci[2] != 0.0
        blin_on = d3i != 0.0 or ri != 0.0
        ld_on = d4i != 0.0
        cv, cb, ld = _forcing(ti - t0, ci, li, v2i, d3i, kbi, ri, vbi, d4i, kldi)
        rhs_one(yi, cv, cb, ld, qi, al, k1)
        # mode amplitudes at ti (venetoclax, Flu/Cy), carried from step to step: times the
        # step's exponential after each accepted step, recomputed after a restart
        for m in range(3):
            amp_v[m] = ci[m] * np.exp(li[m] * (ti - t0)) if ven_on else 0.0
        amp_l = d4i * np.exp(-kldi * (ti - t0)) if ld_on else 0.0
        while ti < until:
            hs = min(hi, end - ti)
            last = hs >= end - ti
            tn = end if last else ti + hs
            # drug levels at the five later stage nodes (index 1..5 = c 1/5 .. 1)
            tau = ti - t0
            for st in range(6):
                cvs[st] = 0.0
                cbs[st] = 0.0
                lds[st] = 0.0
            if ven_on:
                amp = 0.0
                for m in range(3):
                    a0 = amp_v[m]
                    amp += abs(a0)
                    p18, p27, p72, p80, p90 = _powers(np.exp(li[m] * hs / 90.0))
                    end_v[m] = p90
                    cvs[1] += a0 * p18
                    cvs[2] += a0 * p27
                    cvs[3] += a0 * p72
                    cvs[4] += a0 * p80
                    cvs[5] += a0 * p90
                if amp / v2i < NEGLIGIBLE:
                    ven_on = False
                    for st in range(6):
                        cvs[st] = 0.0
                else:
                    for st in range(1, 6):
                        cvs[st] /= v2i
            if ld_on:
                a0 = amp_l
                if a0 < NEGLIGIBLE:
                    ld_on = False
                else:
                    p18, p27, p72, p80, p90 = _powers(np.exp(-kldi * hs / 90.0))
                    end_l = p90
                    lds[1] = a0 * p18
                    lds[2] = a0 * p27
                    lds[3] = a0 * p72
                    lds[4] = a0 * p80
                    lds[5] = a0 * p90
            if blin_on:
                if ri == 0.0 and d3i * np.exp(-kbi * tau) / vbi * 1000.0 < NEGLIGIBLE:
                    blin_on = False
                else:
                    cbs[1] = _blin(tau + C2 * hs, d3i, kbi, ri, vbi)
                    cbs[2] = _blin(tau + C3 * hs, d3i, kbi, ri, vbi)
                    cbs[3] = _blin(tau + C4 * hs, d3i, kbi, ri, vbi)
                    cbs[4] = _blin(tau + C5 * hs, d3i, kbi, ri, vbi)
                    cbs[5] = _blin(tn - t0, d3i, kbi, ri, vbi)
            for s in range(ns):
                yt[s] = yi[s] + hs * (A21 * k1[s])
            rhs_one(yt, cvs[1], cbs[1], lds[1], qi, al, k2)
            for s in range(ns):
                yt[s] = yi[s] + hs * (A31 * k1[s] + A32 * k2[s])
            rhs_one(yt, cvs[2], cbs[2], lds[2], qi, al, k3)
            for s in range(ns):
                yt[s] = yi[s] + hs * (A41 * k1[s] + A42 * k2[s] + A43 * k3[s])
            rhs_one(yt, cvs[3], cbs[3], lds[3], qi, al, k4)
            for s in range(ns):
                yt[s] = yi[s] + hs * (A51 * k1[s] + A52 * k2[s] + A53 * k3[s] + A54 * k4[s])
            rhs_one(yt, cvs[4], cbs[4], lds[4], qi, al, k5)
            for s in range(ns):
                yt[s] = yi[s] + hs * (A61 * k1[s] + A62 * k2[s] + A63 * k3[s] + A64 * k4[s]
                                      + A65 * k5[s])
            rhs_one(yt, cvs[5], cbs[5], lds[5], qi, al, k6)
            for s in range(ns):
                yn[s] = yi[s] + hs * (B1 * k1[s] + B3 * k3[s] + B4 * k4[s] + B5 * k5[s]
                                      + B6 * k6[s])
            rhs_one(yn, cvs[5], cbs[5], lds[5], qi, al, k7)  # same time as stage 6 (c6 = 1)
            e2 = 0.0
            for s in range(ns):
                r = hs * (E1 * k1[s] + E3 * k3[s] + E4 * k4[s] + E5 * k5[s] + E6 * k6[s]
                          + E7 * k7[s]) / (atol + rtol * max(abs(yi[s]), abs(yn[s])))
                e2 += r * r
            err = np.sqrt(e2 / ns)
            stats[0] += 1
            if not err <= 1.0:  # also a nan from a failed trial stage
                stats[1] += 1
                fac = 0.2 if not np.isfinite(err) else min(0.9, max(0.1, 0.9 * _inv5(err)))
                hi = hs * fac
                if hi < 1e-12:
                    raise FloatingPointError("step size underflow")
                continue
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * _inv5(err)))
            if fresh:
                hdose[i] = hs
                fresh = False
            if not last or hs >= hi:  # a step clipped at a dose day does not set the next
                hi = hs * fac
            # whole days this step passes: continuous extension (or the step end itself)
            cut = -1.0
            for dday in range(int(np.floor(ti)) + 1, int(np.floor(tn)) + 1):
                if dday < tn:
                    # y(ti + x hs) = yi + hs sum_j K_j w_j(x), w_j(x) = sum_r x^(r+1) P[j, r]
                    x = (dday - ti) / hs
                    for j in range(7):
                        wd[j] = hs * x * (_P[j, 0] + x * (_P[j, 1] + x * (_P[j, 2]
                                                                          + x * _P[j, 3])))
                    for s in range(ns):
                        yd[s] = yi[s] + (wd[0] * k1[s] + wd[1] * k2[s] + wd[2] * k3[s]
                                         + wd[3] * k4[s] + wd[4] * k5[s] + wd[5] * k6[s]
                                         + wd[6] * k7[s])
                else:
                    for s in range(ns):
                        yd[s] = yn[s]
                for s in range(ns):
                    out[i, dday, s] = yd[s]
                if transfuse and (yd[17] < trig[i, 0] or yd[16] < trig[i, 1]):
                    if yd[17] < trig[i, 0]:
                        yd[17] += inc[i, 0]
                    if yd[16] < trig[i, 1]:
                        yd[16] += inc[i, 1]
                    cut = float(dday)
                    break
            if cut >= 0.0:
                ti = cut
                for s in range(ns):
                    yi[s] = yd[s]
            else:
                ti = tn
                for s in range(ns):
                    yi[s] = yn[s]
                    k1[s] = k7[s]
                for m in range(3):
                    amp_v[m] *= end_v[m]
                amp_l *= end_l
            if extinction and al != 0.0 and (np.exp(yi[0]) + np.exp(yi[1])) * qi[CAP] < 1.0:
                al = 0.0
                cut = ti
            if cut >= 0.0:  # restart: the derivative at the new state and time
                cv, cb, ld = _forcing(ti - t0, ci, li, v2i, d3i, kbi, ri, vbi, d4i, kldi)
                for m in range(3):
                    amp_v[m] = ci[m] * np.exp(li[m] * (ti - t0)) if ven_on else 0.0
                amp_l = d4i * np.exp(-kldi * (ti - t0)) if ld_on else 0.0
                rhs_one(yi, cv if ven_on else 0.0, cb if blin_on else 0.0,
                        ld if ld_on else 0.0, qi, al, k1)
            if ti >= end:
                break
        t[i] = ti
        h[i] = hi
        alive[i] = al
