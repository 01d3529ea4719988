"""Linear drug "drivers": venetoclax, blinatumomab and lymphodepletion exposure.

All three are linear ODEs independent of the disease state, so they are propagated
*exactly* (matrix exponential / closed form) instead of being integrated; the
pharmacodynamic layer then sees the exact concentration at every Runge-Kutta stage.
This is the exponential-integrator half of the solver and removes the only stiff rates
of the model (blinatumomab k = CL/V ~ 8.9/day, venetoclax ka 3.83/day).

Sources
-------
* Venetoclax: 2-compartment, first-order absorption, Dave N et al. Clin Transl Sci
  2019;12:625-632 (typical values via nlmixr2lib ``Dave_2019_venetoclax``), relative F
  x (DOSE/400)^-0.178; log-normal IIV on CL (39.5 %) and V2 (46.7 %) from Zhao Y et
  al. Drug Des Devel Ther 2024;18:1771.
* Blinatumomab: 1-compartment, continuous infusion, Clements JD et al. Clin
  Pharmacokinet 2020;59:463-474: CL = 2.22 L/h x (BSA/1.876)^0.620, V = 5.98 L.
* Lymphodepletion (fludarabine/cyclophosphamide): an exposure in "FC units" (1 unit =
  30 mg/m^2 fludarabine + 500 mg/m^2 cyclophosphamide, Jin 2022 / seed 002 regimen),
  first-order decay; doses are given in mg by BSA and converted back per m^2 because
  exposure (dose/CL) scales with BSA. Our assumption, stated in docs/simulation.md.
* Hypomethylating agents (azacitidine, decitabine): no driver state. Their plasma
  half-lives are under an hour, so a dosing day is a pulse in "HMA units"
  (:data:`HMA_UNITS_PER_MG_M2`) applied by :func:`remission.sim.model.hma_pulse`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: driver rows: venetoclax depot, central, peripheral (mg); blinatumomab (ug); FC units
N_DRIVERS = 5
FLU_REF_MG_M2 = 30.0
CY_REF_MG_M2 = 500.0
#: hypomethylating agents: label doses (mg/m^2 per day) and days of a 28-day cycle:
#: azacitidine 75 mg/m^2 days 1-7 (Vidaza label; VIALE-A, DiNardo NEJM 2020;383:617),
#: decitabine 20 mg/m^2 days 1-5 (Dacogen label; DiNardo Blood 2019;133:7).
HMA_LABEL: dict[str, tuple[float, tuple[int, ...]]] = {
    "azacitidine": (75.0, (1, 2, 3, 4, 5, 6, 7)),
    "decitabine": (20.0, (1, 2, 3, 4, 5)),
}
HMA_CYCLE_DAYS = 28
#: HMA units per mg/m^2. One unit is one day of azacitidine at 75 mg/m^2; a decitabine
#: label day is 7/5 units, so one label cycle of either drug is 7 units. Assumption:
#: the two label cycles are equipotent (similar CR+CRi with either partner of
#: venetoclax, DiNardo Blood 2019;133:7); the effect is linear in dose.
HMA_UNITS_PER_MG_M2: dict[str, float] = {
    "azacitidine": 1.0 / 75.0,
    "decitabine": (7.0 / 5.0) / 20.0,
}


def ven_matrix(p: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-patient 3x3 rate matrix of the venetoclax 2-compartment model, shape (n,3,3).

    Rows and columns are depot, central and peripheral amounts (mg); ``dA/dt = K A``:
    absorption ``ka`` from the depot, elimination ``CL/V2`` and distribution ``Q/V2``,
    ``Q/V3`` (Dave et al. Clin Transl Sci 2019;12:625-632; see the module docstring).

    Parameters
    ----------
    p : Mapping
        Per-patient arrays (length n) of ``ven_ka`` (1/day), ``ven_cl`` (L/day),
        ``ven_v2`` (L), ``ven_q`` (L/day) and ``ven_v3`` (L).

    Returns
    -------
    numpy.ndarray
        ``K``, shape (n, 3, 3).

    Examples
    --------
    >>> p = {"ven_ka": [3.83], "ven_cl": [449.0], "ven_v2": [99.0], "ven_q": [130.0],
    ...      "ven_v3": [147.0]}
    >>> k = ven_matrix(p)[0]

    Absorption conserves mass (column 0 sums to 0); the central column loses CL/V2:

    >>> k.shape, float(k[:, 0].sum()), round(float(k[:, 1].sum()), 6) == round(-449 / 99, 6)
    ((3, 3), 0.0, True)
    """
    ka, cl, v2, q, v3 = (np.asarray(p[k], float) for k in
                         ("ven_ka", "ven_cl", "ven_v2", "ven_q", "ven_v3"))
    n = ka.shape[0]
    k = np.zeros((n, 3, 3))
    k[:, 0, 0] = -ka
    k[:, 1, 0] = ka
    k[:, 1, 1] = -(cl + q) / v2
    k[:, 1, 2] = q / v3
    k[:, 2, 1] = q / v2
    k[:, 2, 2] = -q / v3
    return k


def expm_batch(m: np.ndarray, order: int = 16) -> np.ndarray:
    """Matrix exponential of a stack of small matrices (n, k, k).

    Scaling and squaring with a Taylor polynomial (Moler & Van Loan, SIAM Rev
    2003;45:3, method 3): each matrix is scaled by its own 2^-s so that its 1-norm is
    <= 1/2 (truncation error < 1e-19 at order 16), then squared s times. The scaling is
    chosen per matrix, so a patient's result does not depend on which other patients
    share the batch. ``scipy.linalg.expm`` agrees to ~1e-15 (tests/test_sim_solver.py);
    it takes one matrix at a time, this function the whole stack at once.

    Parameters
    ----------
    m : numpy.ndarray
        Matrices, shape (n, k, k).
    order : int, default 16
        Degree of the Taylor polynomial.

    Returns
    -------
    numpy.ndarray
        ``exp(m[i])`` for every i, shape (n, k, k).

    References
    ----------
    Moler C, Van Loan C. Nineteen dubious ways to compute the exponential of a matrix,
    twenty-five years later. SIAM Rev 2003;45:3-49.

    Examples
    --------
    A nilpotent matrix (exp = I + N) and a diagonal one (exp of the diagonal):

    >>> import numpy as np
    >>> m = np.array([[[0.0, 1.0], [0.0, 0.0]], [[np.log(2), 0.0], [0.0, -np.log(2)]]])
    >>> expm_batch(m).round(12).tolist()
    [[[1.0, 1.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 0.5]]]
    """
    m = np.asarray(m, float)
    norm = np.abs(m).sum(axis=-2).max(axis=-1)
    s = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300) / 0.5))).astype(int)
    a = m / (2.0 ** s)[:, None, None]
    eye = np.broadcast_to(np.eye(m.shape[-1]), m.shape)
    out = eye.copy()
    term = eye.copy()
    for j in range(1, order + 1):
        term = term @ a / j
        out = out + term
    for k in range(int(s.max(initial=0))):
        sq = s > k
        out[sq] = out[sq] @ out[sq]
    return out


def blin_k(p: Mapping[str, np.ndarray]) -> np.ndarray:
    """Blinatumomab elimination rate constant CL/V (1/day); CL already BSA-scaled.

    Parameters
    ----------
    p : Mapping
        Per-patient arrays of ``blin_cl`` (L/day, already scaled by BSA as in Clements et
        al. Clin Pharmacokinet 2020;59:463-474) and ``blin_v`` (L).

    Returns
    -------
    numpy.ndarray
        ``blin_cl / blin_v`` (1/day), one per patient.

    Examples
    --------
    Typical values (CL 2.22 L/h = 53.28 L/day, V 5.98 L): a half-life of about 1.9 h.

    >>> k = blin_k({"blin_cl": [53.28], "blin_v": [5.98]})
    >>> round(float(k[0]), 3), round(float(24 * np.log(2) / k[0]), 2)
    (8.91, 1.87)
    """
    return np.asarray(p["blin_cl"], float) / np.asarray(p["blin_v"], float)


class DriverPropagator:
    """Exact propagation of the driver state over a fixed interval ``h`` (days)."""

    def __init__(self, p: Mapping[str, np.ndarray], h: float) -> None:
        self.phi_ven = np.ascontiguousarray(
            np.moveaxis(expm_batch(ven_matrix(p) * h), 0, -1))  # (3,3,n)
        kb = blin_k(p)
        self.e_blin = np.exp(-kb * h)
        self.g_blin = -np.expm1(-kb * h) / kb  # integral of exp(-k s) over [0,h]
        self.e_ld = np.exp(-np.asarray(p["ld_decay"], float) * h)
        self.v2 = np.asarray(p["ven_v2"], float)
        self.vb = np.asarray(p["blin_v"], float)

    def step(self, d: np.ndarray, blin_rate: np.ndarray) -> np.ndarray:
        """Advance drivers ``d`` (5,n) by h with blinatumomab infusion ``blin_rate`` ug/day."""
        out = np.empty_like(d)
        # the three rows at once: (f[i, 0] d0 + f[i, 1] d1) + f[i, 2] d2, element by
        # element in that order (as three separate sums would give)
        t = self.phi_ven * d[None, :3]
        np.add(t[:, 0], t[:, 1], out=out[:3])
        out[:3] += t[:, 2]
        out[3] = d[3] * self.e_blin + blin_rate * self.g_blin
        out[4] = d[4] * self.e_ld
        return out

    def concentrations(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(venetoclax mg/L, blinatumomab pg/mL, FC exposure units)."""
        return d[1] / self.v2, d[3] / self.vb * 1000.0, d[4]


def driver_rhs(d: np.ndarray, blin_rate: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
    """The same driver model as an ODE right-hand side (for the solve_ivp reference).

    Parameters
    ----------
    d : numpy.ndarray
        Driver state (5, n): venetoclax depot, central and peripheral amounts (mg),
        blinatumomab amount (ug) and Flu/Cy exposure (FC units).
    blin_rate : numpy.ndarray
        Blinatumomab infusion rate (ug/day), shape (n,).
    p : Mapping
        Per-patient arrays of the venetoclax parameters (as :func:`ven_matrix`),
        ``blin_cl``, ``blin_v`` and ``ld_decay`` (1/day).

    Returns
    -------
    numpy.ndarray
        ``dd/dt``, shape (5, n), per day.

    Examples
    --------
    100 mg in the depot moves to the central compartment at ka = 3.83/day; an infusion of
    28 ug/day enters the empty blinatumomab compartment at that rate:

    >>> p = {"ven_ka": [3.83], "ven_cl": [449.0], "ven_v2": [99.0], "ven_q": [130.0],
    ...      "ven_v3": [147.0], "blin_cl": [53.28], "blin_v": [5.98], "ld_decay": [1.0]}
    >>> d = np.zeros((5, 1)); d[0] = 100.0
    >>> driver_rhs(d, np.array([28.0]), p)[:, 0].round(6).tolist()
    [-383.0, 383.0, 0.0, 28.0, -0.0]
    """
    ka, cl, v2, q, v3 = (np.asarray(p[k], float) for k in
                         ("ven_ka", "ven_cl", "ven_v2", "ven_q", "ven_v3"))
    out = np.empty_like(d)
    out[0] = -ka * d[0]
    out[1] = ka * d[0] - (cl + q) / v2 * d[1] + q / v3 * d[2]
    out[2] = q / v2 * d[1] - q / v3 * d[2]
    out[3] = blin_rate - blin_k(p) * d[3]
    out[4] = -np.asarray(p["ld_decay"], float) * d[4]
    return out


def ven_bioavailable_dose(dose_mg: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
    """Dose reaching the depot: dose x F_rel x (dose/400)^-0.178 (Dave 2019).

    Parameters
    ----------
    dose_mg : numpy.ndarray
        Oral dose given (mg); 0 means no dose.
    p : Mapping
        ``ven_dose_exponent`` (-0.178) and ``ven_rel_f`` (relative bioavailability, 1 for
        the low-fat meal reference); scalars or per-patient arrays.

    Returns
    -------
    numpy.ndarray
        The amount entering the depot (mg); 0 where no dose is given.

    References
    ----------
    Dave N et al. Clin Transl Sci 2019;12:625-632 (relative F x (DOSE/400)^-0.178).

    Examples
    --------
    At the 400 mg reference dose F is 1; at 100 mg, 0.25^-0.178 = exp(0.178 ln 4) = 1.2799:

    >>> p = {"ven_dose_exponent": -0.178, "ven_rel_f": 1.0}
    >>> ven_bioavailable_dose(np.array([400.0, 100.0, 0.0]), p).round(2).tolist()
    [400.0, 127.99, 0.0]
    """
    dose = np.asarray(dose_mg, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(dose > 0, (np.maximum(dose, 1e-12) / 400.0) ** p["ven_dose_exponent"], 0.0)
    return dose * f * p["ven_rel_f"]


def fc_units(flu_mg: np.ndarray, cy_mg: np.ndarray, bsa: np.ndarray) -> np.ndarray:
    """Flu/Cy exposure units from mg given (mg = mg/m^2 x BSA): mean of the two ratios.

    One unit is 30 mg/m^2 fludarabine with 500 mg/m^2 cyclophosphamide (the seed 002
    regimen); the exposure model is our assumption (docs/simulation.md).

    Parameters
    ----------
    flu_mg : numpy.ndarray
        Fludarabine given (mg).
    cy_mg : numpy.ndarray
        Cyclophosphamide given (mg).
    bsa : numpy.ndarray
        Body-surface area (m^2), > 0.

    Returns
    -------
    numpy.ndarray
        ``(flu/BSA/30 + cy/BSA/500) / 2``.

    Examples
    --------
    The reference regimen at BSA 1.8 m^2 is one unit; fludarabine alone is half of one:

    >>> fc_units(np.array([54.0, 54.0]), np.array([900.0, 0.0]), np.array([1.8, 1.8])).tolist()
    [1.0, 0.5]
    """
    return 0.5 * (flu_mg / bsa / FLU_REF_MG_M2 + cy_mg / bsa / CY_REF_MG_M2)


class DriverModes:
    """Exact driver concentrations at any time inside a day, per patient.

    The venetoclax rate matrix ``K`` of each patient is diagonalised once,
    ``K = V diag(lam) V^-1`` (its eigenvalues -ka, -alpha, -beta are real, negative and,
    for continuous random parameters, distinct), so the central amount ``tau`` days after
    a day start with driver state ``d`` is ``sum_k V[1,k] (V^-1 d)_k exp(lam_k tau)``:
    three exponentials per patient, at any ``tau``, as an adaptive step needs.
    Blinatumomab (constant infusion) and the Flu/Cy exposure are closed forms. The state
    at the day end uses :class:`DriverPropagator` (``expm_batch``), so the modal form is
    only used inside a day; they agree to ~1e-14 (tests/test_sim_solver.py).
    """

    def __init__(self, p: Mapping[str, np.ndarray]) -> None:
        lam, vec = np.linalg.eig(ven_matrix(p))
        self.lam = np.ascontiguousarray(lam.real.T)  # (3, n)
        self.vec = vec.real  # (n, 3, 3)
        self.inv = np.linalg.inv(self.vec)
        self.kb = blin_k(p)
        self.kld = np.asarray(p["ld_decay"], float)
        self.v2 = np.asarray(p["ven_v2"], float)
        self.vb = np.asarray(p["blin_v"], float)
        self.coef = np.zeros_like(self.lam)
        self.d3 = self.d4 = self.rate = np.zeros_like(self.kb)
        self.any_ven = self.any_blin = False

    def subset(self, idx: np.ndarray) -> DriverModes:
        """The same forcing for patients ``idx`` only (a started copy)."""
        out = object.__new__(DriverModes)
        for k, v in vars(self).items():
            setattr(out, k, v[..., idx] if isinstance(v, np.ndarray) and v.ndim >= 1
                    and k not in ("vec", "inv") else v)
        out.vec, out.inv = self.vec[idx], self.inv[idx]
        return out

    def start(self, d: np.ndarray, blin_rate: np.ndarray) -> None:
        """Set the driver state ``d`` (5, n) at the start of a day and its infusion rate."""
        self.any_ven = bool(d[:3].any())
        if self.any_ven:
            # elementwise (not einsum/BLAS, whose summation order can depend on the batch
            # size): a patient's coefficients are the same bits in any batch
            w = self.inv
            modal = np.stack([w[:, k, 0] * d[0] + w[:, k, 1] * d[1] + w[:, k, 2] * d[2]
                              for k in range(3)])
            self.coef = self.vec[:, 1, :].T * modal  # (3, n): central amount per mode
        self.d3, self.d4, self.rate = d[3], d[4], blin_rate
        self.any_blin = bool(d[3].any() or np.any(blin_rate))

    def concentrations(self, tau: np.ndarray | float
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(venetoclax mg/L, blinatumomab pg/mL, FC units) ``tau`` days after the start."""
        if self.any_ven:
            cv = (self.coef * np.exp(self.lam * tau)).sum(axis=0) / self.v2
        else:
            cv = np.zeros_like(self.v2)
        if self.any_blin:
            e = np.exp(-self.kb * tau)
            cb = (self.d3 * e - self.rate * np.expm1(-self.kb * tau) / self.kb) / self.vb * 1000.0
        else:
            cb = np.zeros_like(self.vb)
        return cv, cb, self.d4 * np.exp(-self.kld * tau)
