"""Virtual patients: covariates and log-normal inter-individual variability.

Reproducibility rule: patient ``i`` of a trial draws every random number it will ever
use (covariates, IIV, CRS and death draws) from its own stream
``numpy.random.SeedSequence(seed, spawn_key=(i,))``, except two child streams kept apart
so that adding them moved no existing number: bedside noise
(:func:`remission.sim.bedside.noise`) and, only in designs that give a hypomethylating
agent, the HMA sensitivity (:func:`hma_draws`). Results therefore do not depend
on how patients are split into chunks or workers. Arms share patient streams (patient
``i`` of every arm uses stream ``i``): a common-random-numbers design in which the
arms differ only by treatment and by the arm's covariate distribution.

Covariate distributions default to the seed studies' tables (models.md §8) and are set
per design. BSA by Mosteller (N Engl J Med 1987;317:1098).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import expit, logit

from .params import IIV_NAMES, PARAMETERS

#: covariates drawn from normals, in stream order
COVARIATES: tuple[str, ...] = ("age", "weight_kg", "height_cm", "baseline_blasts_pct",
                               "antigen_positive_pct", "anc_healthy", "alc0")
N_UNIFORM = 4  # sex, CRS grade, death, death after grade-4 CRS
DISTRIBUTIONS = ("normal", "lognormal", "logitnormal", "fixed")

DEFAULT_POPULATION: dict[str, Any] = {
    "female_fraction": 0.5,
    "age": {"dist": "normal", "mean": 45.0, "sd": 15.0, "min": 18.0, "max": 80.0},
    "weight_kg": {"dist": "lognormal", "median": 65.0, "cv": 0.2, "min": 30.0, "max": 150.0},
    "height_cm": {"dist": "normal", "mean": 166.0, "sd": 9.0, "min": 130.0, "max": 200.0},
    "baseline_blasts_pct": {"dist": "logitnormal", "median": 30.0, "sd": 1.2,
                            "min": 1.0, "max": 95.0},
    "antigen_positive_pct": {"dist": "logitnormal", "median": 90.0, "sd": 1.0,
                             "min": 30.0, "max": 99.9},
    # ANC the marrow would produce without leukaemia (10^9/L): sets baseline ANC with burden
    "anc_healthy": {"dist": "lognormal", "median": 2.5, "cv": 0.5, "min": 0.3, "max": 10.0},
    "alc0": {"dist": "lognormal", "median": 1.0, "cv": 0.5, "min": 0.1, "max": 5.0},
    # platelets / haemoglobin the marrow would produce without leukaemia
    "plt_healthy": {"dist": "lognormal", "median": 250.0, "cv": 0.3, "min": 80.0,
                    "max": 600.0},
    "hb_healthy": {"dist": "normal", "mean": 13.5, "sd": 1.3, "min": 9.0, "max": 17.5},
    "sbp0": {"dist": "normal", "mean": 122.0, "sd": 12.0, "min": 95.0, "max": 170.0},
}
#: covariates drawn after the original block (so earlier draws keep their stream place)
EXTRA_COVARIATES: tuple[str, ...] = ("plt_healthy", "hb_healthy", "sbp0")
N_EXTRA_UNIFORM = 2  # ICANS draw, CRS organ-support domain
#: default eligibility (ELN 2022 active disease: >= 5 % marrow blasts); designs may add
DEFAULT_ELIGIBILITY: dict[str, dict[str, float]] = {"baseline_blasts_pct": {"min": 5.0}}
MAX_ATTEMPTS = 200
#: spawn-key tag of the patient-level HMA sensitivity stream: patient ``i`` (screening
#: attempt ``a``) reads ``SeedSequence(seed, spawn_key=(i, HMA_KEY))`` (``a`` = 0) or
#: ``(i, HMA_KEY, a)``; no other stream has these keys (patients ``(i,)`` / ``(i, a)`` with
#: ``a`` <= :data:`MAX_ATTEMPTS`, bedside noise ``(i, 1_000_003)``)
HMA_KEY = 1_000_033

#: off-tumour expression of the target antigen on normal myeloid cells (assumption):
#: CLL-1 on neutrophils/monocytes (Bakker 2004 Cancer Res 64:8443), CD123 on basophils,
#: pDC and some progenitors (weaker), CD19 none (B-lineage only).
OFFTUMOUR_FACTOR = {"CLL1": 1.0, "CD123": 0.3, "CD19": 0.0}


def _stream(seed: int, i: int, attempt: int) -> np.random.Generator:
    key = (int(i),) if attempt == 0 else (int(i), int(attempt))
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def patient_draws(seed: int, indices: np.ndarray, attempts: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(normals (n, k + 1 + extra), uniforms (n, N_UNIFORM + extra)) per patient stream.

    Draw order inside a stream: the original covariates and IIV normals, the original
    uniforms, the antigen-density normal, then the later covariates
    (:data:`EXTRA_COVARIATES`) and uniforms; adding draws at the end leaves earlier
    draws unchanged. ``attempts`` selects a patient's redraw (eligibility screening):
    attempt 0 is stream ``(seed, i)``, attempt ``a`` stream ``(seed, (i, a))``.

    Parameters
    ----------
    seed : int
        The trial's seed.
    indices : numpy.ndarray
        Patient indices ``i`` (n,).
    attempts : numpy.ndarray, optional
        Screening attempt per patient (n,); default all 0.

    Returns
    -------
    tuple of numpy.ndarray
        Standard normals, shape (n, ``len(COVARIATES) + len(IIV_NAMES) + 1 +
        len(EXTRA_COVARIATES)``), and uniforms on [0, 1), shape (n, ``N_UNIFORM +
        N_EXTRA_UNIFORM``).

    Examples
    --------
    >>> import numpy as np

    A patient's draws do not depend on which other patients are drawn with it:

    >>> z, u = patient_draws(7, np.array([0, 1]))
    >>> z1, u1 = patient_draws(7, np.array([1]))
    >>> z.shape, u.shape, bool((z[1] == z1[0]).all() and (u[1] == u1[0]).all())
    ((2, 38), (2, 6), True)
    """
    k = len(COVARIATES) + len(IIV_NAMES)
    ke = len(EXTRA_COVARIATES)
    z = np.empty((len(indices), k + 1 + ke))
    u = np.empty((len(indices), N_UNIFORM + N_EXTRA_UNIFORM))
    att = np.zeros(len(indices), int) if attempts is None else attempts
    for j, i in enumerate(indices):
        g = _stream(seed, int(i), int(att[j]))
        z[j, :k] = g.standard_normal(k)
        u[j, :N_UNIFORM] = g.random(N_UNIFORM)
        z[j, k:] = g.standard_normal(1 + ke)
        u[j, N_UNIFORM:] = g.random(N_EXTRA_UNIFORM)
    return z, u


def hma_draws(seed: int, indices: np.ndarray, attempts: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """(uniform, standard normal) per patient from the patient's own HMA stream.

    The stream is separate from the patient's main stream (:func:`patient_draws`), so
    drawing it changes no other number of any virtual patient: a design without a
    hypomethylating agent never draws it and its patients are the same bytes as before
    the HMA sensitivity existed (``tests/test_sim_hma_sensitivity.py``).

    Parameters
    ----------
    seed : int
        The trial's seed.
    indices : numpy.ndarray
        Patient indices ``i`` (n,).
    attempts : numpy.ndarray, optional
        The enrolled screening attempt per patient (n,), as in :func:`patient_draws`;
        default all 0.

    Returns
    -------
    tuple of numpy.ndarray
        Uniforms on [0, 1) (class draw) and standard normals (within-class spread),
        each (n,). Stream ``SeedSequence(seed, spawn_key=(i, HMA_KEY))`` for attempt 0,
        ``(i, HMA_KEY, a)`` for attempt ``a``.

    Examples
    --------
    >>> import numpy as np
    >>> u, z = hma_draws(7, np.array([0, 1]))
    >>> u1, z1 = hma_draws(7, np.array([1]))
    >>> bool(u[1] == u1[0] and z[1] == z1[0]), bool(u[0] != u[1])
    (True, True)
    """
    att = np.zeros(len(indices), int) if attempts is None else attempts
    u = np.empty(len(indices))
    z = np.empty(len(indices))
    for j, i in enumerate(indices):
        key = (int(i), HMA_KEY) if att[j] == 0 else (int(i), HMA_KEY, int(att[j]))
        g = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
        u[j] = g.random()
        z[j] = g.standard_normal()
    return u, z


def hma_sensitivity(u: np.ndarray, z: np.ndarray, values: Mapping[str, float]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient multiplier of ``hma_kill``: a sensitive / resistant mixture.

    A patient is HMA-sensitive when ``u < hma_sensitive_fraction``; a resistant
    patient's leukaemia is killed at ``hma_resistant_ratio`` times the sensitive rate.
    Within each class the kill is log-normal with CV ``hma_kill_cv`` (median 1;
    0 = none). Sources and fitted values: :data:`remission.sim.params.PARAMETERS`,
    docs/simulation.md (*Patient-level HMA sensitivity*).

    Parameters
    ----------
    u : numpy.ndarray
        Uniforms (n,) (:func:`hma_draws`).
    z : numpy.ndarray
        Standard normals (n,).
    values : Mapping
        ``hma_sensitive_fraction``, ``hma_resistant_ratio`` and ``hma_kill_cv``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(multiplier, sensitive)``: float (n,) and bool (n,).

    Examples
    --------
    >>> import numpy as np
    >>> m, s = hma_sensitivity(np.array([0.1, 0.9]), np.zeros(2),
    ...     {"hma_sensitive_fraction": 0.3, "hma_resistant_ratio": 0.25, "hma_kill_cv": 0.0})
    >>> m.tolist(), s.tolist()
    ([1.0, 0.25], [True, False])
    """
    sensitive = u < values["hma_sensitive_fraction"]
    omega = np.sqrt(np.log1p(values["hma_kill_cv"] ** 2))
    m = np.where(sensitive, 1.0, values["hma_resistant_ratio"]) * np.exp(omega * z)
    return m, sensitive


def eligible(cov: Mapping[str, np.ndarray], rules: Mapping[str, Mapping[str, float]]
             ) -> np.ndarray:
    """Patients meeting every eligibility rule (inclusive ``min``/``max`` per covariate).

    Parameters
    ----------
    cov : Mapping
        Covariate name -> array (n,).
    rules : Mapping
        Covariate name -> ``{"min": x, "max": y}`` (either bound optional, both
        inclusive).

    Returns
    -------
    numpy.ndarray
        Boolean (n,): True where every rule holds (all True without rules).

    Raises
    ------
    KeyError
        When a rule names a covariate not in ``cov``.

    Examples
    --------
    >>> import numpy as np
    >>> cov = {"baseline_blasts_pct": np.array([4.9, 5.0, 60.0]), "age": np.array([30, 70, 81])}
    >>> eligible(cov, {"baseline_blasts_pct": {"min": 5.0}, "age": {"max": 80}}).tolist()
    [False, True, False]
    """
    ok = np.ones(len(next(iter(cov.values()))), dtype=bool)
    for name, r in rules.items():
        x = cov[name]
        if "min" in r:
            ok &= x >= r["min"]
        if "max" in r:
            ok &= x <= r["max"]
    return ok


def _covariate(spec: Mapping[str, Any], z: np.ndarray) -> np.ndarray:
    dist = spec["dist"]
    if dist == "normal":
        x = spec["mean"] + spec["sd"] * z
    elif dist == "lognormal":
        x = spec["median"] * np.exp(np.sqrt(np.log1p(spec["cv"] ** 2)) * z)
    elif dist == "logitnormal":
        x = 100.0 * expit(logit(spec["median"] / 100.0) + spec["sd"] * z)
    else:  # fixed
        x = np.full_like(z, float(spec["value"]))
    return np.clip(x, spec.get("min", -np.inf), spec.get("max", np.inf))


def build_patients(seed: int, indices: np.ndarray, population: Mapping[str, Any],
                   values: Mapping[str, float], product: str, antigen: str,
                   eligibility: Mapping[str, Mapping[str, float]] | None = None,
                   hma: bool = False, donor_derived: bool = False
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Covariates and per-patient parameter arrays for patients ``indices``.

    ``values`` are typical parameter values (with design overrides); ``product`` is
    ``"car_t"``, ``"car_nk"`` or ``"none"``; ``antigen`` the arm's target antigen;
    ``eligibility`` maps covariates to ``{min, max}`` (default
    :data:`DEFAULT_ELIGIBILITY`): ineligible candidates are redrawn from the patient's
    next stream; ``hma`` draws the patient-level HMA sensitivity from the patient's HMA
    stream (:func:`hma_draws`, :func:`hma_sensitivity`), which scales ``hma_kill``.
    Returns ``(covariates, params)``, both dicts of arrays of length ``len(indices)``.

    Parameters
    ----------
    seed : int
        The trial's seed (patient ``i`` uses stream ``(seed, i)``).
    indices : numpy.ndarray
        Patient indices (n,).
    population : Mapping
        Covariate distributions overriding :data:`DEFAULT_POPULATION` (each
        ``{"dist": "normal" | "lognormal" | "logitnormal" | "fixed", ...}``, clipped to
        ``min``/``max``) and ``female_fraction``.
    values : Mapping
        Typical parameter values (:func:`remission.sim.params.typical`, with design
        overrides); parameters with IIV get a log-normal draw around them.
    product : str
        ``"car_t"``, ``"car_nk"`` or ``"none"``: which effector parameters apply.
    antigen : str
        ``"CLL1"``, ``"CD123"`` or ``"CD19"``: sets the off-tumour factor
        (:data:`OFFTUMOUR_FACTOR`).
    eligibility : Mapping, optional
        Covariate -> ``{"min", "max"}`` (inclusive); default :data:`DEFAULT_ELIGIBILITY`.
    hma : bool, default False
        Draw the HMA sensitivity (a trial does when any arm gives azacitidine or
        decitabine). Without it ``hma_kill`` is the typical value for everyone and no
        HMA stream is read.
    donor_derived : bool, default False
        The CAR-T product is made from the allo-HSCT donor's T cells (a ``car_t``
        component with ``source = "donor"``): its antigen-independent (alloreactive)
        recognition ``allo_recognition`` is ``car_allo_recognition``; 0 otherwise (no
        random draw depends on it).

    Returns
    -------
    tuple of dict
        ``(covariates, params)``: covariates (age, weight_kg, height_cm, bsa_m2 by
        Mosteller, sex ``"F"``/``"M"``, baseline_blasts_pct, antigen_positive_pct,
        antigen_density_rel, screening_attempts, the per-patient uniforms ``u_*``, with
        ``hma`` also hma_sensitivity and hma_sensitive ...)
        and parameter arrays (every name of ``values`` plus ``b0``, ``pos0`` and the
        product-specific ``expansion``, ``kill_max`` ...), each of length n.

    Raises
    ------
    ValueError
        When fewer than 1 in :data:`MAX_ATTEMPTS` candidates meet the eligibility rules.

    References
    ----------
    Mosteller RD. Simplified calculation of body-surface area. N Engl J Med
    1987;317:1098.

    Examples
    --------
    >>> import numpy as np
    >>> from remission.sim.params import typical
    >>> cov, p = build_patients(0, np.arange(3), {}, typical(), "car_t", "CLL1")

    Every patient meets the default rule (>= 5 % marrow blasts); BSA is Mosteller's
    ``sqrt(height x weight / 3600)``; a CD19 CAR has no off-tumour (myeloid) kill:

    >>> bool((cov["baseline_blasts_pct"] >= 5).all()), p["b0"].shape
    (True, (3,))
    >>> bool(np.allclose(cov["bsa_m2"], np.sqrt(cov["height_cm"] * cov["weight_kg"] / 3600)))
    True
    >>> build_patients(0, np.arange(3), {}, typical(), "car_t", "CD19")[1]["offtumour_kill"]
    array([0., 0., 0.])
    """
    pop = {**DEFAULT_POPULATION, **population}
    rules = DEFAULT_ELIGIBILITY if eligibility is None else eligibility
    attempts = np.zeros(len(indices), int)
    z, u = patient_draws(seed, indices)
    k0 = len(COVARIATES) + len(IIV_NAMES) + 1

    def covariates(z: np.ndarray) -> dict[str, np.ndarray]:
        c = {name: _covariate(pop[name], z[:, j]) for j, name in enumerate(COVARIATES)}
        for j, name in enumerate(EXTRA_COVARIATES):
            c[name] = _covariate(pop[name], z[:, k0 + j])
        return c

    cov = covariates(z)
    # eligibility: a screen-failed candidate is replaced by the patient's next candidate
    # (its own stream), as a trial screens until it enrols the planned number
    bad = ~eligible(cov, rules)
    while bad.any():
        if attempts.max() >= MAX_ATTEMPTS:
            raise ValueError(f"fewer than 1 in {MAX_ATTEMPTS} virtual candidates meet the "
                             "eligibility rules: widen the population or the rules")
        attempts[bad] += 1
        zb, ub = patient_draws(seed, indices[bad], attempts[bad])
        z[bad], u[bad] = zb, ub
        cov = covariates(z)
        bad = ~eligible(cov, rules)
    cov["screening_attempts"] = attempts
    cov["sex"] = np.where(u[:, 0] < pop["female_fraction"], "F", "M")
    cov["bsa_m2"] = np.sqrt(cov["height_cm"] * cov["weight_kg"] / 3600.0)
    cov["u_crs"] = u[:, 1]
    cov["u_death"] = u[:, 2]
    cov["u_crs_death"] = u[:, 3]
    cov["u_icans"] = u[:, N_UNIFORM]
    cov["u_domain"] = u[:, N_UNIFORM + 1]

    n = len(indices)
    p: dict[str, np.ndarray] = {k: np.full(n, float(v)) for k, v in values.items()}
    off = len(COVARIATES)
    for j, name in enumerate(IIV_NAMES):
        omega = np.sqrt(np.log1p(PARAMETERS[name].cv ** 2))
        p[name] = p[name] * np.exp(omega * z[:, off + j])
    p["blin_cl"] = p["blin_cl"] * (cov["bsa_m2"] / 1.876) ** p["blin_cl_bsa_exp"]
    # target-antigen density per blast relative to the typical patient (log-normal,
    # median 1): low-density leukaemias escape CAR killing (Liu C 2023 eLife; models.md §5)
    dens_omega = np.sqrt(np.log1p(p["antigen_density_cv"] ** 2))
    cov["antigen_density_rel"] = np.exp(dens_omega * z[:, k0 - 1])
    p["antigen_density"] = cov["antigen_density_rel"]
    if hma:  # own stream: no draw of the main stream moves (see hma_draws)
        mult, sens = hma_sensitivity(*hma_draws(seed, indices, attempts), values)
        cov["hma_sensitivity"] = mult
        cov["hma_sensitive"] = sens
        p["hma_kill"] = p["hma_kill"] * mult
    p["b0"] = cov["baseline_blasts_pct"] / 100.0
    p["pos0"] = np.clip(cov["antigen_positive_pct"] / 100.0, 1e-6, 1.0 - 1e-6)
    p["anc_healthy"] = cov["anc_healthy"]
    p["alc0"] = cov["alc0"]
    p["plt_healthy"] = cov["plt_healthy"]
    p["hb_healthy"] = cov["hb_healthy"]
    p["weight_kg"] = cov["weight_kg"]
    prefix = "nk" if product == "car_nk" else "car"
    p["expansion"] = p[f"{prefix}_expansion"]
    p["effector_loss"] = p[f"{prefix}_effector_loss"]
    p["kill_max"] = p[f"{prefix}_kill_max"]
    p["resting_fraction"] = p[f"{prefix}_resting_fraction"]
    p["homeostatic"] = p[f"{prefix}_homeostatic"]
    # CAR-NK make less IL-6 per activated cell than CAR-T (params: nk_il6_factor)
    if product == "car_nk":
        p["il6_car"] = p["il6_car"] * p["nk_il6_factor"]
    # resting (not yet primed) CAR-NK cells die as active ones do; T cells persist as memory
    p["memory_loss"] = p["nk_effector_loss"] if product == "car_nk" else p["car_memory_loss"]
    # NK cells have no memory compartment (seed 004: short persistence)
    p["memory_conversion"] = p["car_memory_conversion"] * (0.0 if product == "car_nk" else 1.0)
    # donor-derived CAR-T after allo-HSCT: the donor T cells' own receptors recognise
    # recipient (leukaemic) cells whatever their CAR-antigen density (graft-versus-
    # leukaemia); an autologous product, CAR-NK or no product: none
    allo = donor_derived and product == "car_t"
    p["allo_recognition"] = p["car_allo_recognition"] * (1.0 if allo else 0.0)
    fac = OFFTUMOUR_FACTOR.get(antigen, 0.0) if product != "none" else 0.0
    p["offtumour_weight"] = p["car_offtumour_weight"] * fac
    p["offtumour_kill"] = p["car_offtumour_kill"] * fac
    return cov, p
