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
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: driver rows: venetoclax depot, central, peripheral (mg); blinatumomab (ug); FC units
N_DRIVERS = 5
FLU_REF_MG_M2 = 30.0
CY_REF_MG_M2 = 500.0


def ven_matrix(p: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per-patient 3x3 rate matrix of the venetoclax 2-compartment model, shape (n,3,3)."""
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
    share the batch. scipy.linalg.expm gives the same to ~1e-15 (tested) but is much
    slower on many 3x3 matrices (it loops over the stack).
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
    """Blinatumomab elimination rate constant CL/V (1/day); CL already BSA-scaled."""
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
        f = self.phi_ven
        for i in range(3):
            out[i] = f[i, 0] * d[0] + f[i, 1] * d[1] + f[i, 2] * d[2]
        out[3] = d[3] * self.e_blin + blin_rate * self.g_blin
        out[4] = d[4] * self.e_ld
        return out

    def concentrations(self, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(venetoclax mg/L, blinatumomab pg/mL, FC exposure units)."""
        return d[1] / self.v2, d[3] / self.vb * 1000.0, d[4]


def driver_rhs(d: np.ndarray, blin_rate: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
    """The same driver model as an ODE right-hand side (for the solve_ivp reference)."""
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
    """Dose reaching the depot: dose x F_rel x (dose/400)^-0.178 (Dave 2019)."""
    dose = np.asarray(dose_mg, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(dose > 0, (np.maximum(dose, 1e-12) / 400.0) ** p["ven_dose_exponent"], 0.0)
    return dose * f * p["ven_rel_f"]


def fc_units(flu_mg: np.ndarray, cy_mg: np.ndarray, bsa: np.ndarray) -> np.ndarray:
    """Flu/Cy exposure units from mg given (mg = mg/m^2 x BSA): mean of the two ratios."""
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
