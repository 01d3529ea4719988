"""Clinical read-outs of simulated trajectories: response, CRS, cytopenia, death.

* Response from marrow blasts at each assessment day: CR if blasts < ``cr_blast_pct``
  (5 %, ELN 2022 Döhner Blood 2022;140:1345; NCCN as used by seed 002), MRD-negative if
  below ``mrd_threshold_pct`` (0.1 %, ELN MRD 2021 flow threshold); CRi if count
  recovery is required and ANC < 1.0 x10^9/L; PR if blasts fell by >= 50 % to 5-25 %.
* CRS grade: ordinal logistic on log peak IL-6 with cut-points ``crs_cut1..4`` (our
  calibrated assumption in the form suggested in models.md §4; Teachey 2016 Cancer
  Discov 6:664 shows peak IL-6 separates severe CRS). One uniform per patient makes the
  ordinal draw coherent: grade = #{k : u < P(grade >= k)}.
* Neutropenia and lymphopenia grades: CTCAE v5.0 thresholds on the nadir.
* Death: cumulative hazard on the daily trajectory (progression ~ blasts^2, infection
  while ANC < 0.5) against an Exp(1) draw, plus a chance of death after grade-4 CRS;
  all hazards are stated assumptions (docs/simulation.md).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit

RESPONSE_ORDER = ("MRD-CR", "MRD+CR", "CR", "CRi", "PR", "NR", "NE")
ANC_GRADES = ((2.0, 1), (1.5, 2), (1.0, 3), (0.5, 4))  # CTCAE v5: < LLN(2.0), 1.5, 1.0, 0.5
ALC_GRADES = ((1.0, 1), (0.8, 2), (0.5, 3), (0.2, 4))  # CTCAE v5: < LLN(1.0), 0.8, 0.5, 0.2


def classify_response(blasts: np.ndarray, base: np.ndarray, anc: np.ndarray,
                      trial: Mapping) -> np.ndarray:
    """Response category per patient at one assessment (arrays over patients)."""
    cr = blasts < trial["cr_blast_pct"]
    mrd_neg = blasts < trial["mrd_threshold_pct"]
    out = np.full(blasts.shape, "NR", dtype=object)
    out[(blasts <= 25.0) & (blasts <= 0.5 * base) & ~cr] = "PR"
    if trial["require_count_recovery"]:
        out[cr] = np.where(mrd_neg[cr], "MRD-CR", "MRD+CR")
        out[cr & (anc < 1.0)] = "CRi"
    else:
        out[cr] = np.where(mrd_neg[cr], "MRD-CR", "MRD+CR")
    return out


def grade_nadir(x: np.ndarray, grades: tuple[tuple[float, int], ...]) -> np.ndarray:
    """CTCAE grade of each value: the highest grade whose threshold it is below."""
    g = np.zeros(x.shape, dtype=int)
    for thr, k in grades:
        g[x < thr] = k
    return g


def crs_probabilities(il6_peak: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
    """P(grade >= k), k = 1..4, shape (4, n): logistic in log(IL-6 peak)."""
    lx = np.log(np.maximum(il6_peak, 1e-12))
    cuts = [p[f"crs_cut{k}"] for k in range(1, 5)]
    return np.stack([expit((lx - np.log(c)) / p["crs_scale"]) for c in cuts])


def crs_grade(il6_peak: np.ndarray, u: np.ndarray, p: Mapping[str, np.ndarray]) -> np.ndarray:
    return (u[None, :] < crs_probabilities(il6_peak, p)).sum(axis=0)


def death_day(days: np.ndarray, blasts: np.ndarray, anc: np.ndarray, u: np.ndarray,
              p: Mapping[str, np.ndarray]) -> np.ndarray:
    """First day (>= 0) the cumulative hazard exceeds -log(u); NaN if none."""
    post = days >= 0
    h = (p["hazard_baseline"] + p["hazard_progression"] * (blasts[post] / 100.0) ** 2
         + p["hazard_neutropenia"] * (anc[post] < 0.5))
    cum = np.cumsum(h, axis=0)
    hit = cum >= -np.log(u)[None, :]
    first = np.argmax(hit, axis=0)
    return np.where(hit.any(axis=0), days[post][first], np.nan)
