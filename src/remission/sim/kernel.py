"""Compiled per-patient integrator: the model's right-hand side and adaptive
Dormand-Prince 5(4) steps, eight patients side by side, in Numba.

Why: the vectorised NumPy solver spends its time in ~100 array operations per
right-hand-side evaluation and in stepping every patient at the pace of the slowest
one. Here each patient takes only the steps its own error test needs (per-patient error
control, as a per-patient ``solve_ivp`` would), and a right-hand side costs a few
hundred floating-point operations instead of a hundred NumPy calls. :func:`advance`
steps :data:`LANES` patients side by side, each with its own step size, error test and
dose days, and evaluates their right-hand sides together (:func:`rhs_lanes`: one loop over
the lanes with no branch and no call, which LLVM compiles to SIMD instructions; ``exp`` and
``log`` are the branch-free :func:`vexp` / :func:`vlog`, within 2 ulp of the C library's).
A lane's arithmetic never involves another lane and nothing is reassociated or
contracted (no fast-math), so a patient's numbers do not depend on its neighbours.

:func:`rhs_lanes` is a transcription of :func:`remission.sim.model.rhs` (read that
function for the biology and its sources; a few terms are rearranged to save divisions and,
in remission, a logarithm and an exponential); ``tests/test_sim_solver.py``
checks that both give the same derivative to 1e-12 on random states of every product
(:func:`rhs_one`: one patient in every lane; and a different patient in each lane), so
a change to one without the other fails the suite. The drivers (drug concentrations)
are exact, as in :class:`remission.sim.pk.DriverModes`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba import types
from numba.extending import intrinsic
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
    """Derivative of one patient's 19 states into ``dy`` (see model.rhs), by
    :func:`rhs_lanes` with the patient in every lane (for tests and single calls; the
    solver calls :func:`rhs_lanes` on eight patients at once).

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
    L = LANES
    nq = q.shape[0]
    w = np.zeros(N_ROWS * L)
    ql = np.empty(nq * L)
    for ln in range(L):
        for s in range(NS):
            w[(R_IN + s) * L + ln] = y[s]
        for j in range(nq):
            ql[j * L + ln] = q[j]
        w[R_CV * L + ln] = cv
        w[R_CB * L + ln] = cb
        w[R_LD * L + ln] = ld
        w[R_AL * L + ln] = alive
    # the lane count from an array's length, not the constant: a constant trip count
    # lets LLVM unroll the lane loop into scalar code (and compile for a minute)
    rhs_lanes(w, ql, (dy.shape[0] // NS) * L, q[CAR_HILL] != 3.0 or q[V_TOL] != 3.0)
    for s in range(NS):
        dy[s] = w[(R_OUT + s) * L]


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


# ---------------------------------------------------------------------------------------
# Eight patients side by side. Each patient keeps its own step size, error test and dose
# days (nothing is shared between lanes but the loop); the right-hand side and the stage
# sums are written as one loop over the lanes, which LLVM turns into SIMD instructions.
# Every operation is element-wise over the lanes and none is reassociated or contracted
# (no fast-math), so a patient's numbers do not depend on its neighbours or on its lane.

#: lanes stepped together (patients per SIMD group)
LANES = 8
# rows of the lane work array (each LANES wide): state, right-hand-side input, forcing and
# alive flag of the right-hand side, its output, the seven stages, the new state, the
# step sizes, the error sums, and the two generic powers (see :func:`rhs_lanes`)
R_Y, R_IN, R_CV, R_CB, R_LD, R_AL, R_OUT = 0, 19, 38, 39, 40, 41, 42
R_K, R_YN, R_H, R_E2, R_PW, R_HX, R_TMP = 61, 213, 232, 233, 234, 236, 255
#: rows of the lane work array
N_ROWS = 274
#: numbers in a block of 19 rows (a state of every lane)
NL = 19 * LANES

_LN2_HI = 6.93147180369123816490e-01  # ln 2 in two parts (Cody & Waite 1980): the high
_LN2_LO = 1.90821492927058770002e-10  # part has trailing zero bits, so k * _LN2_HI is exact
_INV_LN2 = 1.4426950408889634
_ROUND = 6755399441055744.0  # 1.5 * 2**52: x + _ROUND rounds x to an integer in the low bits


@intrinsic
def _bits(typingctx, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The IEEE-754 bits of a float64 as an int64 (a bit cast, no conversion)."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], llvm_ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, x):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    """The float64 whose IEEE-754 bits are the int64 ``x`` (a bit cast)."""
    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], llvm_ir.DoubleType())
    return types.float64(types.int64), codegen


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def vexp(x: float) -> float:  # pragma: no cover - compiled
    """``exp(x)`` without branches or calls, so that a loop over lanes vectorises.

    Range reduction ``x = k ln2 + r``, ``|r| <= ln2 / 2`` (``ln 2`` in two parts, Cody &
    Waite), then the degree-13 Taylor polynomial of ``exp(r)`` (truncation below 2e-17
    relative) and the scale ``2**k`` built from its bits in two factors (so that results
    down to the subnormal range are right). Within 2 ulp of the C library's ``exp``
    (tests/test_sim_solver.py); 0 below -745.2, inf above 709.79, nan for nan.

    Parameters
    ----------
    x : float
        The argument.

    Returns
    -------
    float
        ``exp(x)``.

    References
    ----------
    Cody WJ, Waite W. Software Manual for the Elementary Functions. Prentice-Hall 1980.

    Examples
    --------
    >>> import math
    >>> abs(vexp(1.0) / math.e - 1.0) < 3e-16, vexp(-800.0), vexp(0.0)
    (True, 0.0, 1.0)
    """
    xc = min(max(x, -746.0), 710.0)
    kk = xc * _INV_LN2 + _ROUND
    k = kk - _ROUND
    r = (xc - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    ki = _bits(kk) - _bits(_ROUND)
    k1 = ki >> 1
    res = p * _from_bits((k1 + 1023) << 52) * _from_bits((ki - k1 + 1023) << 52)
    res = 0.0 if x < -745.2 else res
    res = np.inf if x > 709.79 else res
    return res if x == x else x


@numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
def vlog(x: float) -> float:  # pragma: no cover - compiled
    """``log(x)`` without branches or calls, so that a loop over lanes vectorises.

    ``x = 2**e m`` with ``m`` in [sqrt(1/2), sqrt(2)) from the bits (subnormals scaled by
    2**54 first), then ``log m = 2 atanh(s)``, ``s = (m - 1) / (m + 1)``, by its series to
    ``s**21`` (truncation below 3e-17), and ``e ln 2`` in two parts. Within 2 ulp of the
    C library's ``log`` (tests/test_sim_solver.py); -inf at 0, nan below 0 or for nan,
    inf at inf.

    Parameters
    ----------
    x : float
        The argument.

    Returns
    -------
    float
        ``log(x)``.

    Examples
    --------
    >>> import math
    >>> abs(vlog(10.0) - math.log(10.0)) < 3e-16, vlog(0.0), vlog(1.0)
    (True, -inf, 0.0)
    """
    tiny = x < 2.2250738585072014e-308
    xs = x * 18014398509481984.0 if tiny else x  # 2**54
    b = _bits(xs)
    m = _from_bits((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    # the biased exponent as a float through its bits (no int-to-float conversion)
    e = _from_bits(((b >> 52) & 0x7FF) | 0x4330000000000000) \
        - (4503599627370496.0 + (1077.0 if tiny else 1023.0))
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    res = e * _LN2_HI + ((2.0 * s + 2.0 * s * s2 * p) + e * _LN2_LO)
    res = -np.inf if x == 0.0 else res
    res = np.inf if x == np.inf else res
    return np.nan if (x < 0.0 or x != x) else res


@numba.njit(cache=True, nogil=True, error_model="numpy")
def rhs_lanes(w: np.ndarray, q: np.ndarray, nl: int, generic: bool) -> None:
    """Derivatives of ``nl`` lanes at once (see model.rhs): one loop over the lanes, no
    branches and no calls in it (``x if c else y`` are selects), so that it vectorises.

    Reads the states from rows :data:`R_IN` of the lane work array ``w`` (row ``r``,
    lane ``ln`` at ``w[r * LANES + ln]``), the venetoclax (mg/L), blinatumomab (pg/mL), Flu/Cy
    (FC units) levels and the alive flag from rows :data:`R_CV` .. :data:`R_AL`, and writes
    the 19 derivatives to rows :data:`R_OUT`. All rows are at fixed offsets of one array,
    which is what lets LLVM prove the lanes independent and vectorise without run-time
    overlap checks. ``exp``/``log`` are :func:`vexp` / :func:`vlog`. A drug that is 0 adds
    exactly nothing (its terms are selected away, as the branches of the scalar form did).
    With ``generic`` (a patient whose ``car_density_hill`` or ``ven_tolerance`` is not the
    default 3) the powers are taken first by ``**`` in a separate loop.

    Parameters
    ----------
    w : numpy.ndarray
        Lane work array, ``N_ROWS * LANES`` floats.
    q : numpy.ndarray
        Parameters of the lanes' patients: ``q[j * LANES + ln]`` is column ``j`` of
        :func:`pack` for lane ``ln``.
    nl : int
        Lanes to compute (pass it at run time: a constant lets LLVM unroll the loop into
        scalar code).
    generic : bool
        Some lane has a non-default Hill or tolerance exponent.

    Returns
    -------
    None

    Examples
    --------
    See :func:`rhs_one`, which puts one patient in every lane.
    """
    L = LANES
    if generic:
        for ln in range(nl):
            a = w[(R_IN + 2) * L + ln]
            hill = q[CAR_HILL * L + ln]
            w[R_PW * L + ln] = (a * q[AG_DENS * L + ln]) ** hill if hill != 3.0 else 0.0
            vt = q[V_TOL * L + ln]
            w[(R_PW + 1) * L + ln] = (1.0 if vt == 0.0 else a ** vt) if vt != 3.0 else 0.0
    for ln in range(nl):
        lpos = vexp(w[R_IN * L + ln])
        lneg = vexp(w[(R_IN + 1) * L + ln])
        ltot = lpos + lneg
        a = w[(R_IN + 2) * L + ln]
        e = w[(R_IN + 3) * L + ln]
        m = w[(R_IN + 4) * L + ln]
        t = w[(R_IN + 5) * L + ln]
        pr = w[(R_IN + 6) * L + ln]
        n_c = w[(R_IN + 10) * L + ln]
        cv = w[R_CV * L + ln]
        cb = w[R_CB * L + ln]
        ld = w[R_LD * L + ln]
        alive = w[R_AL * L + ln]
        grow = q[L_GROW * L + ln] * (1.0 - ltot)
        car_sat = e / (q[CAR_KH * L + ln] + e)
        dens = a * q[AG_DENS * L + ln]
        dh = dens * dens * dens if q[CAR_HILL * L + ln] == 3.0 else w[R_PW * L + ln]
        kh = q[KH * L + ln]
        recog = dh * (1.0 + kh) / (dh + kh)
        kill_car = q[KMAX * L + ln] * car_sat * recog
        g = q[ALLO * L + ln]  # donor-derived product: alloreactive recognition of both clones
        kill_allo = q[KMAX * L + ln] * car_sat * g
        engaged = recog * lpos
        engaged = engaged + g * ltot if g != 0.0 else engaged
        tol = a * a * a if q[V_TOL * L + ln] == 3.0 else w[(R_PW + 1) * L + ln]
        vk = q[V_KMAX * L + ln] * cv
        kv_pos = vk / (q[V_IC50 * L + ln] * tol + cv)
        kv_neg = vk / (q[V_IC50_NEG * L + ln] * tol + cv)
        kill_pos = kill_car + kill_allo if g != 0.0 else kill_car
        kill_pos = kill_pos + kv_pos if cv != 0.0 else kill_pos
        kill_neg = q[CAR_NEG * L + ln] * kill_car
        kill_neg = kill_neg + kill_allo if g != 0.0 else kill_neg
        kill_neg = kill_neg + kv_neg if cv != 0.0 else kill_neg
        occ = cb / (q[BL_EC50 * L + ln] + cb)
        kill_b = q[BL_KMAX * L + ln] * occ * a * t / (q[BL_THALF * L + ln] + t
                                                     + q[BL_ET * L + ln] * ltot)
        occ_b = occ if cb != 0.0 else 0.0
        kill_pos = kill_pos + kill_b if cb != 0.0 else kill_pos
        kill_neg = kill_neg + q[BL_NEG * L + ln] * kill_b if cb != 0.0 else kill_neg
        m_np = q[S_NP * L + ln] * (1.0 + q[AG_SWITCH * L + ln] * (a - 1.0))
        m_pn = q[S_PN * L + ln]
        ratio = lneg / lpos
        w[R_OUT * L + ln] = (grow - kill_pos - m_pn + m_np * ratio) * alive
        w[(R_OUT + 1) * L + ln] = (grow - kill_neg - m_np + m_pn / ratio) * alive
        d2 = -q[AG_DECAY * L + ln] * (a - 1.0)
        up = q[AG_UP_RATE * L + ln] * cv / (q[AG_UP_EC50 * L + ln] + cv)
        w[(R_OUT + 2) * L + ln] = d2 + up if cv != 0.0 else d2

        target = engaged + q[OFF_W * L + ln] * pr * q[INV_ANC_H * L + ln]
        e_rel = e * q[INV_ETC * L + ln]
        inv_den = 1.0 / (q[CAR_SH * L + ln] + target + e_rel)
        stim = target * inv_den
        lymph_gap = max(0.0, 1.0 - t * q[INV_ALC0 * L + ln])
        boost = 1.0 + q[LD_BOOST * L + ln] * lymph_gap
        fit = w[(R_IN + 18) * L + ln]
        react = q[CAR_REACT * L + ln] * stim * m * fit
        grow_e = q[EXPAN * L + ln] * boost * stim * fit - q[EF_LOSS * L + ln] \
            - q[MEM_CONV * L + ln]
        homeo = q[HOMEO * L + ln]
        grow_e = grow_e + homeo * lymph_gap / (1.0 + e_rel) if homeo != 0.0 else grow_e
        w[(R_OUT + 3) * L + ln] = grow_e * e + react
        w[(R_OUT + 18) * L + ln] = -q[CAR_EXH * L + ln] * stim * fit if e + m > 0.0 else 0.0
        w[(R_OUT + 4) * L + ln] = q[MEM_CONV * L + ln] * e - react - q[MEM_LOSS * L + ln] * m

        w[(R_OUT + 5) * L + ln] = q[LY_REC * L + ln] * (q[ALC0 * L + ln] - t) \
            - q[LD_LY * L + ln] * ld * t

        ktr = q[KTR * L + ln]
        k_off = q[OFF_KILL * L + ln] * car_sat
        kdrug = q[LD_MY * L + ln] * ld + k_off
        kdrug = kdrug + q[V_MY * L + ln] * cv if cv != 0.0 else kdrug
        # log(1 - x) by its series below 1e-4 (remission): error < x^5/5, below 1 ulp
        ls_series = -ltot * (1.0 + ltot * (0.5 + ltot * (1.0 / 3.0 + ltot * 0.25)))
        ls_log = vlog(max(1.0 - ltot, 1e-3))
        lspace = ls_series if ltot < 1e-4 else ls_log
        drive = vexp(q[N_GAMMA * L + ln] * (q[LOG_ANC_H * L + ln] - vlog(n_c))
                     + q[N_CROWD * L + ln] * lspace)
        w[(R_OUT + 6) * L + ln] = ktr * pr * (drive - 1.0) - kdrug * pr
        w[(R_OUT + 7) * L + ln] = ktr * (pr - w[(R_IN + 7) * L + ln])
        w[(R_OUT + 8) * L + ln] = ktr * (w[(R_IN + 7) * L + ln] - w[(R_IN + 8) * L + ln])
        w[(R_OUT + 9) * L + ln] = ktr * (w[(R_IN + 8) * L + ln] - w[(R_IN + 9) * L + ln])
        w[(R_OUT + 10) * L + ln] = ktr * (w[(R_IN + 9) * L + ln] - n_c) - k_off * n_c

        # stimulation x tumour share of the target = engaged / (K_s + target + E/K_ET)
        prod = q[IL_CAR * L + ln] * e * (engaged * inv_den)
        prod = prod + q[IL_BLIN * L + ln] * occ_b * t * lpos if cb != 0.0 else prod
        w[(R_OUT + 11) * L + ln] = prod / (1.0 + prod * q[INV_PMAX * L + ln]) \
            - q[IL_ELIM * L + ln] * (w[(R_IN + 11) * L + ln] - q[IL_BASE * L + ln])

        ktp = q[KTP * L + ln]
        pp = w[(R_IN + 12) * L + ln]
        plt = w[(R_IN + 16) * L + ln]
        drive_p = vexp(q[P_GAMMA * L + ln] * (q[LOG_P_H * L + ln] - vlog(plt))
                       + q[P_CROWD * L + ln] * lspace)
        kdp = q[LD_MY * L + ln] * ld
        kdp = kdp + q[V_MY * L + ln] * cv if cv != 0.0 else kdp
        w[(R_OUT + 12) * L + ln] = ktp * pp * (drive_p - 1.0) - kdp * pp
        w[(R_OUT + 13) * L + ln] = ktp * (pp - w[(R_IN + 13) * L + ln])
        w[(R_OUT + 14) * L + ln] = ktp * (w[(R_IN + 13) * L + ln] - w[(R_IN + 14) * L + ln])
        w[(R_OUT + 15) * L + ln] = ktp * (w[(R_IN + 14) * L + ln] - w[(R_IN + 15) * L + ln])
        w[(R_OUT + 16) * L + ln] = ktp * (w[(R_IN + 15) * L + ln] - plt)
        zc = q[HB_CROWD * L + ln] * lspace
        # exp by its series near 0 (remission): error < z^5/120, below 1 ulp
        c_series = 1.0 + zc * (1.0 + zc * (0.5 + zc * (1.0 / 6.0 + zc * (1.0 / 24.0))))
        crowd = c_series if zc > -1e-4 else vexp(zc)
        prod_hb = q[HB_H * L + ln] * crowd
        prod_hb = prod_hb / (1.0 + q[LD_HB * L + ln] * ld) if ld != 0.0 else prod_hb
        w[(R_OUT + 17) * L + ln] = q[HB_TURN * L + ln] * (prod_hb - w[(R_IN + 17) * L + ln])


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _rhs_to(w: np.ndarray, q: np.ndarray, nl: int, generic: bool, f: np.ndarray, node: int,
            dst: int) -> None:  # pragma: no cover - compiled
    """Right-hand side of rows :data:`R_IN` with the drug levels of stage node ``node``
    (``f[0..2, node, lane]``) into the rows from ``dst`` (a stage)."""
    L = LANES
    for ln in range(nl):
        w[R_CV * L + ln] = f[0, node, ln]
        w[R_CB * L + ln] = f[1, node, ln]
        w[R_LD * L + ln] = f[2, node, ln]
    rhs_lanes(w, q, nl, generic)
    base = dst * L
    for x in range(NL):
        w[base + x] = w[R_OUT * L + x]


@numba.njit(cache=True, nogil=True, error_model="numpy")
def advance(y: np.ndarray, t: np.ndarray, h: np.ndarray, hdose: np.ndarray,
            alive: np.ndarray, q: np.ndarray,
            tseg: np.ndarray, coef: np.ndarray, lam: np.ndarray, v2: np.ndarray,
            d3: np.ndarray, kb: np.ndarray, rate: np.ndarray, vb: np.ndarray, d4: np.ndarray,
            kld: np.ndarray, stop: np.ndarray, until: int, out: np.ndarray,
            trig: np.ndarray, inc: np.ndarray, transfuse: bool, rtol: float, atol: float,
            extinction: bool, stats: np.ndarray, lanes: int) -> None:  # pragma: no cover
    """Advance every patient (rows of ``y``, shape (n, 19)) whose time ``t`` is before
    ``until`` to its own next dose day ``stop``, in place (the others are left as they are).

    Each patient takes its own adaptive Dormand-Prince 5(4) steps: the RMS over the 19
    states of ``err / (atol + rtol max(|y|, |y_new|))`` must be <= 1, else the step is
    retried shorter (Hairer, Norsett & Wanner, Solving ODEs I, II.4). Steps run across
    dose-free days: the state at every whole day a step passes is its continuous extension
    (:data:`_P`), written to ``out[patient, day, :19]`` (the state that day starts with,
    before any transfusion); steps end exactly on ``stop`` (doses are given there,
    outside). ``h`` carries each patient's step size to the next call; a step that starts
    at a dose (``t == tseg``) is at most ``hdose``, the first accepted step after the
    patient's previous dose (a quiet stretch's long step would be rejected at the dose).

    Patients are stepped ``lanes`` (:data:`LANES`) at a time, side by side: every lane
    takes one trial step of its own size per round, the right-hand side of all lanes is
    one vectorised call (:func:`rhs_lanes`), and a lane whose patient is done takes the
    next patient. A lane's arithmetic never involves another lane, and a patient leaves
    its lane only at its own dose days (a reload mid-segment would recompute its drug
    levels and first stage, which can differ in the last bits from the carried ones), so
    a patient's trajectory is bit-identical whatever its neighbours and their schedules
    (tested).

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
        Advance the patients whose ``t`` is below this day (each to its ``stop``, which
        is at least this day in the solver); a patient never stops at ``until`` itself
        unless it is its ``stop``, so its steps do not depend on other patients' days.
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
    lanes : int
        Patients stepped side by side, 1 .. :data:`LANES` (:data:`LANES` in the solver;
        passed at run time so that the lane loops stay vector loops).

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
    ...         RTOL, ATOL, False, stats, LANES)
    >>> want = simulate_states(p, Schedule.empty(0, 5))
    >>> bool(np.array_equal(out[:, 1:, :].transpose(1, 2, 0), want[1:, :19]))
    True
    >>> bool(np.array_equal(y.T, want[5, :19]))
    True
    """
    n = y.shape[0]
    ns = NS
    L = LANES
    if y.shape[1] != NS:
        raise ValueError("advance: y must have NS (19) states per row")
    nl = lanes
    nq = q.shape[1]
    # the stages' nodes (c6 = c7 = 1) and rows; last: a (re)start derivative, into the
    # scratch rows after K_7
    nodes = np.array([1, 2, 3, 4, 5, 5, 0])
    dsts = np.array([R_K + ns, R_K + 2 * ns, R_K + 3 * ns, R_K + 4 * ns, R_K + 5 * ns,
                     R_K + 6 * ns, R_K + 7 * ns])
    generic = q.shape[0] < 0  # a bool variable (not a literal)
    for i in range(n):
        if q[i, CAR_HILL] != 3.0 or q[i, V_TOL] != 3.0:
            generic = True
    w = np.zeros(N_ROWS * L)
    ql = np.ones(nq * L)
    f = np.zeros((3, 6, L))  # drug levels at the stage nodes (venetoclax, blin, Flu/Cy)
    fk = np.zeros((3, L))  # drug levels for a lane's (re)start derivative
    pid = np.full(L, -1, np.int64)
    lt = np.zeros(L)
    lt0 = np.zeros(L)
    # flat (mode, lane) arrays: the lane loops over them run to the run-time ``nl`` and
    # vectorise (a constant trip count of 8 is unrolled into scalar code)
    rates = np.zeros(4 * L)  # venetoclax eigenvalues, -Flu/Cy decay, per lane
    ex = np.ones(4 * L)  # exp(rate * h / 90) per lane
    g = np.zeros(L)  # 0.9 err**-0.2 per lane
    lend = np.zeros(L)
    lh = np.zeros(L)
    lhs = np.zeros(L)
    ltn = np.zeros(L)
    llast = np.zeros(L, np.bool_)
    lfresh = np.zeros(L, np.bool_)
    lven = np.zeros(L, np.bool_)
    lblin = np.zeros(L, np.bool_)
    lld = np.zeros(L, np.bool_)
    need = np.zeros(L, np.bool_)
    amp_v = np.zeros((3, L))
    end_v = np.ones((3, L))
    amp_l = np.zeros(L)
    end_l = np.ones(L)
    wd = np.empty(7)
    yd = np.empty(ns)
    nxt = 0
    active = 0
    for ln in range(nl):  # fill the lanes
        while nxt < n and t[nxt] >= until:
            nxt += 1
        if nxt < n:
            _load(nxt, ln, y, t, h, hdose, alive, q, tseg, coef, lam, v2, d3, kb, rate, vb, d4,
                  kld, stop, w, ql, nq, pid, lt, lt0, lend, lh, lfresh, lven, lblin, lld,
                  amp_v, amp_l, fk, need)
            for m in range(3):
                rates[m * L + ln] = lam[nxt, m]
            rates[3 * L + ln] = -kld[nxt]
            nxt += 1
            active += 1
    while active > 0:
        # derivative at the start of lanes that (re)start: one call for all of them
        anyneed = False
        for ln in range(nl):
            anyneed = anyneed or need[ln]
        if anyneed:
            for x in range(NL):
                w[R_IN * L + x] = w[R_Y * L + x]
            for ln in range(L):
                f[0, 0, ln] = fk[0, ln]
                f[1, 0, ln] = fk[1, ln]
                f[2, 0, ln] = fk[2, ln]
            _rhs_to(w, ql, nl, generic, f, nodes[6], dsts[6])
            for ln in range(nl):
                if need[ln]:
                    for s in range(ns):
                        w[(R_K + s) * L + ln] = w[(R_K + 7 * ns + s) * L + ln]
                    need[ln] = False
        # each lane's trial step: its size and the exact drug levels at its stage nodes
        for ln in range(nl):
            if pid[ln] < 0:
                w[R_H * L + ln] = 0.0
                continue
            ti = lt[ln]
            end = lend[ln]
            hs = min(lh[ln], end - ti)
            last = hs >= end - ti
            lhs[ln] = hs
            llast[ln] = last
            ltn[ln] = end if last else ti + hs
            w[R_H * L + ln] = hs
        # the one exponential per drug mode of each lane's step (vectorised)
        for m in range(4):
            for ln in range(nl):
                ex[m * L + ln] = vexp(rates[m * L + ln] * w[R_H * L + ln] / 90.0)
        for ln in range(nl):
            for st in range(6):
                f[0, st, ln] = 0.0
                f[1, st, ln] = 0.0
                f[2, st, ln] = 0.0
            if pid[ln] < 0:
                continue
            i = pid[ln]
            ti = lt[ln]
            t0 = lt0[ln]
            hs = lhs[ln]
            tn = ltn[ln]
            tau = ti - t0
            if lven[ln]:
                amp = 0.0
                v2i = v2[i]
                for m in range(3):
                    a0 = amp_v[m, ln]
                    amp += abs(a0)
                    p18, p27, p72, p80, p90 = _powers(ex[m * L + ln])
                    end_v[m, ln] = p90
                    f[0, 1, ln] += a0 * p18
                    f[0, 2, ln] += a0 * p27
                    f[0, 3, ln] += a0 * p72
                    f[0, 4, ln] += a0 * p80
                    f[0, 5, ln] += a0 * p90
                if amp / v2i < NEGLIGIBLE:
                    lven[ln] = False
                    for st in range(6):
                        f[0, st, ln] = 0.0
                else:
                    for st in range(1, 6):
                        f[0, st, ln] /= v2i
            if lld[ln]:
                a0 = amp_l[ln]
                if a0 < NEGLIGIBLE:
                    lld[ln] = False
                else:
                    p18, p27, p72, p80, p90 = _powers(ex[3 * L + ln])
                    end_l[ln] = p90
                    f[2, 1, ln] = a0 * p18
                    f[2, 2, ln] = a0 * p27
                    f[2, 3, ln] = a0 * p72
                    f[2, 4, ln] = a0 * p80
                    f[2, 5, ln] = a0 * p90
            if lblin[ln]:
                d3i, kbi, ri, vbi = d3[i], kb[i], rate[i], vb[i]
                if ri == 0.0 and d3i * np.exp(-kbi * tau) / vbi * 1000.0 < NEGLIGIBLE:
                    lblin[ln] = False
                else:
                    f[1, 1, ln] = _blin(tau + C2 * hs, d3i, kbi, ri, vbi)
                    f[1, 2, ln] = _blin(tau + C3 * hs, d3i, kbi, ri, vbi)
                    f[1, 3, ln] = _blin(tau + C4 * hs, d3i, kbi, ri, vbi)
                    f[1, 4, ln] = _blin(tau + C5 * hs, d3i, kbi, ri, vbi)
                    f[1, 5, ln] = _blin(tn - t0, d3i, kbi, ri, vbi)
        # the stages of every lane together, each lane with its own step size (rows of
        # R_HX). The loops run over the flat (state, lane) block of NL = 19 * LANES
        # numbers: fixed offsets in one array, so they vectorise without checks. One
        # call site of the right-hand side (stage 0: the derivative of lanes that
        # (re)start, before the step's set-up; then stages 2..7).
        for s in range(ns):
            for ln in range(L):
                w[(R_HX + s) * L + ln] = w[R_H * L + ln]
        # offsets of the blocks (constants): state, stage input, step sizes, K_1..K_7
        oy, oi, oh, on = R_Y * L, R_IN * L, R_HX * L, R_YN * L
        k0, k1, k2, k3, k4, k5, k6 = (R_K * L, R_K * L + NL, R_K * L + 2 * NL,
                                      R_K * L + 3 * NL, R_K * L + 4 * NL, R_K * L + 5 * NL,
                                      R_K * L + 6 * NL)
        for stg in range(1, 7):
            if stg == 1:
                for x in range(NL):
                    w[oi + x] = w[oy + x] + w[oh + x] * (A21 * w[k0 + x])
            elif stg == 2:
                for x in range(NL):
                    w[oi + x] = w[oy + x] + w[oh + x] * (A31 * w[k0 + x] + A32 * w[k1 + x])
            elif stg == 3:
                for x in range(NL):
                    w[oi + x] = w[oy + x] + w[oh + x] * (A41 * w[k0 + x] + A42 * w[k1 + x]
                                                         + A43 * w[k2 + x])
            elif stg == 4:
                for x in range(NL):
                    w[oi + x] = w[oy + x] + w[oh + x] * (A51 * w[k0 + x] + A52 * w[k1 + x]
                                                         + A53 * w[k2 + x] + A54 * w[k3 + x])
            elif stg == 5:
                for x in range(NL):
                    w[oi + x] = w[oy + x] + w[oh + x] * (A61 * w[k0 + x] + A62 * w[k1 + x]
                                                         + A63 * w[k2 + x] + A64 * w[k3 + x]
                                                         + A65 * w[k4 + x])
            else:
                for x in range(NL):
                    v = w[oy + x] + w[oh + x] * (B1 * w[k0 + x] + B3 * w[k2 + x]
                                                 + B4 * w[k3 + x] + B5 * w[k4 + x]
                                                 + B6 * w[k5 + x])
                    w[on + x] = v
                    w[oi + x] = v
            _rhs_to(w, ql, nl, generic, f, nodes[stg - 1], dsts[stg - 1])
        for x in range(NL):
            r = w[oh + x] * (E1 * w[k0 + x] + E3 * w[k2 + x] + E4 * w[k3 + x] + E5 * w[k4 + x]
                             + E6 * w[k5 + x] + E7 * w[k6 + x]) / (
                atol + rtol * max(abs(w[oy + x]), abs(w[on + x])))
            w[R_TMP * L + x] = r * r
        for ln in range(nl):
            e2 = 0.0
            for s in range(ns):
                e2 += w[(R_TMP + s) * L + ln]
            w[R_E2 * L + ln] = e2
        for ln in range(nl):  # the step-size factor 0.9 err**-0.2 of every lane (vectorised)
            g[ln] = 0.9 * vexp(-0.2 * vlog(np.sqrt(w[R_E2 * L + ln] / ns)))
        # each lane: accept or reject, days passed, transfusions, extinction, next patient
        for ln in range(nl):
            i = pid[ln]
            if i < 0:
                continue
            hs = lhs[ln]
            ti = lt[ln]
            tn = ltn[ln]
            hi = lh[ln]
            err = np.sqrt(w[R_E2 * L + ln] / ns)
            stats[0] += 1
            if not err <= 1.0:  # also a nan from a failed trial stage
                stats[1] += 1
                fac = 0.2 if not np.isfinite(err) else min(0.9, max(0.1, g[ln]))
                hi = hs * fac
                if hi < 1e-12:
                    raise FloatingPointError("step size underflow")
                lh[ln] = hi
                continue
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, g[ln]))
            if lfresh[ln]:
                hdose[i] = hs
                lfresh[ln] = False
            if not llast[ln] or hs >= hi:  # a step clipped at a dose day does not set the next
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
                        yd[s] = w[(R_Y + s) * L + ln] + (
                            wd[0] * w[(R_K + s) * L + ln] + wd[1] * w[(R_K + ns + s) * L + ln]
                            + wd[2] * w[(R_K + 2 * ns + s) * L + ln]
                            + wd[3] * w[(R_K + 3 * ns + s) * L + ln]
                            + wd[4] * w[(R_K + 4 * ns + s) * L + ln]
                            + wd[5] * w[(R_K + 5 * ns + s) * L + ln]
                            + wd[6] * w[(R_K + 6 * ns + s) * L + ln])
                else:
                    for s in range(ns):
                        yd[s] = w[(R_YN + s) * L + ln]
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
                    w[(R_Y + s) * L + ln] = yd[s]
            else:
                ti = tn
                for s in range(ns):
                    w[(R_Y + s) * L + ln] = w[(R_YN + s) * L + ln]
                    w[(R_K + s) * L + ln] = w[(R_K + 6 * ns + s) * L + ln]
                for m in range(3):
                    amp_v[m, ln] *= end_v[m, ln]
                amp_l[ln] *= end_l[ln]
            al = w[R_AL * L + ln]
            if extinction and al != 0.0 and (np.exp(w[R_Y * L + ln]) + np.exp(
                    w[(R_Y + 1) * L + ln])) * q[i, CAP] < 1.0:
                al = 0.0
                w[R_AL * L + ln] = 0.0
                cut = ti
            lt[ln] = ti
            lh[ln] = hi
            if cut >= 0.0:  # restart: the derivative at the new state and time
                t0 = lt0[ln]
                cv, cb, ld = _forcing(ti - t0, coef[i], lam[i], v2[i], d3[i], kb[i], rate[i],
                                      vb[i], d4[i], kld[i])
                for m in range(3):
                    amp_v[m, ln] = coef[i, m] * np.exp(lam[i, m] * (ti - t0)) if lven[ln] \
                        else 0.0
                amp_l[ln] = d4[i] * np.exp(-kld[i] * (ti - t0)) if lld[ln] else 0.0
                fk[0, ln] = cv if lven[ln] else 0.0
                fk[1, ln] = cb if lblin[ln] else 0.0
                fk[2, ln] = ld if lld[ln] else 0.0
                need[ln] = True
            # done only at its own next dose day (or the last day): a patient never stops at
            # another patient's dose day (``until``), since a reload recomputes the drug
            # levels, amplitudes and first stage from ``tau`` instead of carrying them, and
            # those can differ in the last bits, which made a patient's trajectory depend on
            # the other schedules of its batch
            if ti >= lend[ln]:  # this patient is done: the lane takes the next
                t[i] = ti
                h[i] = hi
                alive[i] = al
                for s in range(ns):
                    y[i, s] = w[(R_Y + s) * L + ln]
                pid[ln] = -1
                need[ln] = False
                active -= 1
                while nxt < n and t[nxt] >= until:
                    nxt += 1
                if nxt < n:
                    _load(nxt, ln, y, t, h, hdose, alive, q, tseg, coef, lam, v2, d3, kb, rate,
                          vb, d4, kld, stop, w, ql, nq, pid, lt, lt0, lend, lh, lfresh, lven,
                          lblin, lld, amp_v, amp_l, fk, need)
                    for m in range(3):
                        rates[m * L + ln] = lam[nxt, m]
                    rates[3 * L + ln] = -kld[nxt]
                    nxt += 1
                    active += 1


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _load(i: int, ln: int, y: np.ndarray, t: np.ndarray, h: np.ndarray, hdose: np.ndarray,
          alive: np.ndarray, q: np.ndarray, tseg: np.ndarray, coef: np.ndarray,
          lam: np.ndarray, v2: np.ndarray, d3: np.ndarray, kb: np.ndarray, rate: np.ndarray,
          vb: np.ndarray, d4: np.ndarray, kld: np.ndarray, stop: np.ndarray, w: np.ndarray,
          ql: np.ndarray, nq: int, pid: np.ndarray, lt: np.ndarray, lt0: np.ndarray,
          lend: np.ndarray, lh: np.ndarray, lfresh: np.ndarray, lven: np.ndarray,
          lblin: np.ndarray, lld: np.ndarray, amp_v: np.ndarray, amp_l: np.ndarray,
          fk: np.ndarray, need: np.ndarray) -> None:  # pragma: no cover - compiled
    """Put patient ``i`` in lane ``ln`` of :func:`advance` (state, parameters, step size,
    drugs on, mode amplitudes, and the drug levels of its first derivative)."""
    L = LANES
    pid[ln] = i
    for s in range(NS):
        w[(R_Y + s) * L + ln] = y[i, s]
    for j in range(nq):
        ql[j * L + ln] = q[i, j]
    ti = t[i]
    t0 = tseg[i]
    lt[ln] = ti
    lt0[ln] = t0
    lend[ln] = float(stop[i])
    hi = h[i]
    fresh = ti == t0
    if fresh:
        hi = min(hi, hdose[i])
    lh[ln] = hi
    lfresh[ln] = fresh
    w[R_AL * L + ln] = alive[i]
    ci = coef[i]
    lven[ln] = ci[0] != 0.0 or ci[1] != 0.0 or ci[2] != 0.0
    lblin[ln] = d3[i] != 0.0 or rate[i] != 0.0
    lld[ln] = d4[i] != 0.0
    cv, cb, ld = _forcing(ti - t0, ci, lam[i], v2[i], d3[i], kb[i], rate[i], vb[i], d4[i],
                          kld[i])
    fk[0, ln] = cv
    fk[1, ln] = cb
    fk[2, ln] = ld
    for m in range(3):
        amp_v[m, ln] = ci[m] * np.exp(lam[i, m] * (ti - t0)) if lven[ln] else 0.0
    amp_l[ln] = d4[i] * np.exp(-kld[i] * (ti - t0)) if lld[ln] else 0.0
    need[ln] = True
