"""Virtual patients: covariates and log-normal inter-individual variability.

Reproducibility rule: patient ``i`` of a trial draws every random number it will ever
use (covariates, IIV, CRS and death draws) from its own stream
``numpy.random.SeedSequence(seed, spawn_key=(i,))``. Results therefore do not depend
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
}

#: off-tumour expression of the target antigen on normal myeloid cells (assumption):
#: CLL-1 on neutrophils/monocytes (Bakker 2004 Cancer Res 64:8443), CD123 on basophils,
#: pDC and some progenitors (weaker), CD19 none (B-lineage only).
OFFTUMOUR_FACTOR = {"CLL1": 1.0, "CD123": 0.3, "CD19": 0.0}


def patient_draws(seed: int, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normals (n, k + 1), uniforms (n, N_UNIFORM)) from each patient's own stream.

    The last normal (antigen density) is drawn after the uniforms, so that adding it
    left every earlier draw of a patient unchanged.
    """
    k = len(COVARIATES) + len(IIV_NAMES)
    z = np.empty((len(indices), k + 1))
    u = np.empty((len(indices), N_UNIFORM))
    for j, i in enumerate(indices):
        g = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i),)))
        z[j, :k] = g.standard_normal(k)
        u[j] = g.random(N_UNIFORM)
        z[j, k] = g.standard_normal()
    return z, u


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
                   values: Mapping[str, float], product: str, antigen: str
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Covariates and per-patient parameter arrays for patients ``indices``.

    ``values`` are typical parameter values (with design overrides); ``product`` is
    ``"car_t"``, ``"car_nk"`` or ``"none"``; ``antigen`` the arm's target antigen.
    Returns ``(covariates, params)``, both dicts of arrays of length ``len(indices)``.
    """
    z, u = patient_draws(seed, indices)
    pop = {**DEFAULT_POPULATION, **population}
    cov: dict[str, np.ndarray] = {}
    for j, name in enumerate(COVARIATES):
        cov[name] = _covariate(pop[name], z[:, j])
    cov["sex"] = np.where(u[:, 0] < pop["female_fraction"], "F", "M")
    cov["bsa_m2"] = np.sqrt(cov["height_cm"] * cov["weight_kg"] / 3600.0)
    cov["u_crs"] = u[:, 1]
    cov["u_death"] = u[:, 2]
    cov["u_crs_death"] = u[:, 3]

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
    cov["antigen_density_rel"] = np.exp(dens_omega * z[:, -1])
    p["antigen_density"] = cov["antigen_density_rel"]
    p["b0"] = cov["baseline_blasts_pct"] / 100.0
    p["pos0"] = np.clip(cov["antigen_positive_pct"] / 100.0, 1e-6, 1.0 - 1e-6)
    p["anc_healthy"] = cov["anc_healthy"]
    p["alc0"] = cov["alc0"]
    p["weight_kg"] = cov["weight_kg"]
    prefix = "nk" if product == "car_nk" else "car"
    p["expansion"] = p[f"{prefix}_expansion"]
    p["effector_loss"] = p[f"{prefix}_effector_loss"]
    p["kill_max"] = p[f"{prefix}_kill_max"]
    # NK cells have no memory compartment (seed 004: short persistence)
    p["memory_conversion"] = p["car_memory_conversion"] * (0.0 if product == "car_nk" else 1.0)
    fac = OFFTUMOUR_FACTOR.get(antigen, 0.0) if product != "none" else 0.0
    p["offtumour_weight"] = p["car_offtumour_weight"] * fac
    p["offtumour_kill"] = p["car_offtumour_kill"] * fac
    return cov, p
