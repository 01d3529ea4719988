"""Hypomethylating-agent calibration targets and the check that can fail.

The HMA model (:func:`remission.sim.model.hma_pulse`, parameters ``hma_kill``,
``hma_kill_cv`` and ``hma_myelo_kill``; the patient-level sensitivity
:func:`remission.sim.population.hma_sensitivity`) is calibrated to the composite
complete remission (CR + CRi; under ELN 2022 the CR, CRh and CRi families) and the
median time to first response of azacitidine alone and with venetoclax in a
VIALE-A-like design (``tests/data/sim/viale_a_like.toml``, shipped parameters); the
azacitidine + venetoclax rate is also the target of the venetoclax tolerance exponent
``ven_tolerance``. :func:`check_targets` compares simulated rates with the exact
(Clopper-Pearson) 95 % intervals of the published counts and the median first-response
day with the published median's assessment day; it fails when the HMA effect is scaled
by 0.3 or 3, its between-patient spread removed, or the tolerance scaled by 0 or 2
(tests/test_sim_hma.py, benchmarks/sim_hma/calibrate_hma.py).

Published counts (composite CR, best response during treatment):

* VIALE-A, DiNardo CD et al. N Engl J Med 2020;383:617-29: azacitidine + venetoclax
  190/286 (66.4 %), azacitidine + placebo 41/145 (28.3 %); median time to first
  response 1.3 vs 2.8 months.
* Time to first composite CR (median, responders): 1.3 months with venetoclax, 2.8
  months with placebo (VIALE-A, same paper). The simulated design assesses the marrow
  every 28 days, so its median can only be an assessment day; the check asks for the
  assessment day nearest the published median (:data:`VIALE_A_FIRST_RESPONSE_MONTHS`,
  :func:`first_response_days`).
* AML-001, Dombret H et al. Blood 2015;126:291-9: azacitidine 67/241 (27.8 %) in AML
  with > 30 % blasts, age >= 65 (agrees with the VIALE-A control arm; not a second fit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pandas as pd
from scipy.stats import binomtest

from .design import Design
from .trial import response_lists, run_trial

#: arm name in the VIALE-A-like design -> (responders, patients, source)
VIALE_A_TARGETS: Mapping[str, tuple[int, int, str]] = {
    "aza": (41, 145, "VIALE-A azacitidine + placebo, DiNardo NEJM 2020;383:617"),
    "aza+ven": (190, 286, "VIALE-A azacitidine + venetoclax, DiNardo NEJM 2020;383:617"),
}

#: arm -> published median time to first composite CR (months), VIALE-A
VIALE_A_FIRST_RESPONSE_MONTHS: Mapping[str, float] = {"aza": 2.8, "aza+ven": 1.3}
#: days per month (365.25 / 12), to turn a published median in months into days
DAYS_PER_MONTH = 30.4375


def first_response_days(events: pd.DataFrame, patients: pd.DataFrame) -> pd.DataFrame:
    """Per arm: median day of the first composite CR among patients who had one.

    Parameters
    ----------
    events : pandas.DataFrame
        Simulated events (``patient_id``, ``event``, ``day``, ``value``): the
        ``response_assessment`` rows, as derived by the ELN 2022 engine.
    patients : pandas.DataFrame
        Simulated patients (``patient_id``, ``arm``).

    Returns
    -------
    pandas.DataFrame
        Index ``arm``; ``responders`` (patients with a composite CR) and
        ``median_first_day``: the lower median of their first such assessment day (an
        assessment day itself, never a mean of two), NaN without responders.

    Examples
    --------
    >>> ev = pd.DataFrame({"patient_id": ["a-1", "a-1", "a-2", "a-3"],
    ...                    "event": "response_assessment", "day": [28, 56, 56, 28],
    ...                    "value": ["CR", "CR", "CRi", "NR"]})
    >>> pts = pd.DataFrame({"patient_id": ["a-1", "a-2", "a-3"], "arm": "a"})
    >>> first_response_days(ev, pts).loc["a"].astype(int).tolist()
    [2, 28]
    """
    comp = response_lists("eln2022")["complete"]
    ra = events[(events["event"] == "response_assessment") & events["value"].isin(comp)]
    first = ra.groupby("patient_id")["day"].min()
    arm = patients.set_index("patient_id")["arm"]
    g = first.groupby(arm.reindex(first.index).to_numpy())
    out = pd.DataFrame({"responders": g.size(),
                        "median_first_day": g.quantile(0.5, interpolation="lower")})
    return out.reindex(arm.unique()).fillna({"responders": 0}).rename_axis("arm")


def nearest_assessment_day(months: float, assessment_days: Sequence[int]) -> int:
    """The assessment day nearest a published median given in months.

    Parameters
    ----------
    months : float
        Published median (months of 365.25 / 12 days).
    assessment_days : Sequence of int
        The design's marrow assessment days.

    Returns
    -------
    int
        The nearest day (the earlier on a tie).

    Examples
    --------
    VIALE-A's 1.3 and 2.8 months (39.6 and 85.2 days) on 28-day marrows:

    >>> [nearest_assessment_day(m, [28, 56, 84, 112]) for m in (1.3, 2.8)]
    [28, 84]
    """
    d = months * DAYS_PER_MONTH
    return int(min(assessment_days, key=lambda a: (abs(a - d), a)))


def composite_cr_rates(patients: pd.DataFrame) -> pd.DataFrame:
    """Per arm: patients, composite CR (CR/CRh/CRi, any MRD) as best response, its rate.

    Parameters
    ----------
    patients : pandas.DataFrame
        Simulated patients (``arm``, ``best_response`` as derived by the ELN 2022 engine).

    Returns
    -------
    pandas.DataFrame
        Index ``arm``; columns ``n``, ``responders`` and ``rate``.

    Examples
    --------
    >>> pts = pd.DataFrame({"arm": ["a", "a", "b"], "best_response": ["CRi", "MLFS", "NR"]})
    >>> composite_cr_rates(pts)["rate"].tolist()
    [0.5, 0.0]
    """
    cr = patients["best_response"].isin(response_lists("eln2022")["complete"])
    g = cr.groupby(patients["arm"])
    return pd.DataFrame({"n": g.size(), "responders": g.sum().astype(int),
                         "rate": g.mean()})


def check_targets(design: Design, n: int, seed: int, hma_scale: float = 1.0,
                  arms: tuple[str, ...] | None = None,
                  targets: Mapping[str, tuple[int, int, str]] = VIALE_A_TARGETS,
                  first_response_months: Mapping[str, float] = VIALE_A_FIRST_RESPONSE_MONTHS
                  ) -> pd.DataFrame:
    """Simulate ``design`` and compare each target arm's composite CR with the exact 95 %
    interval of its published count.

    Parameters
    ----------
    design : Design
        A design whose arm names are keys of ``targets`` (the VIALE-A-like design).
    n : int
        Patients per arm.
    seed : int
        The trial's seed.
    hma_scale : float, default 1.0
        Multiplies ``hma_kill`` (the HMA effect); 0.3 and 3 must fail the check.
    arms : tuple of str, optional
        Only these arms (default: every arm of the design).
    targets : Mapping
        Arm -> (responders, patients, source).
    first_response_months : Mapping
        Arm -> published median time to first composite CR (months).

    Returns
    -------
    pandas.DataFrame
        One row per simulated arm: ``n``, ``responders``, ``rate``, and for target arms
        ``target``, ``lo``, ``hi`` (Clopper-Pearson 95 %) and ``inside``;
        ``first_response_day`` (:func:`first_response_days`) and, for arms with a
        published median, ``first_response_target_day``
        (:func:`nearest_assessment_day`) and ``timing_ok`` (equal).

    Examples
    --------
    The exact interval of 41/145 (VIALE-A control arm):

    >>> ci = binomtest(41, 145).proportion_ci(0.95, "exact")
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.2112, 0.3635)
    """
    from .params import PARAMETERS

    kill = {**{"hma_kill": PARAMETERS["hma_kill"].value}, **design.parameters}["hma_kill"]
    d = dataclasses.replace(
        design, parameters={**design.parameters, "hma_kill": kill * hma_scale},
        arms=tuple(a for a in design.arms if arms is None or a.name in arms))
    res = run_trial(d, n=n, seed=seed, workers=0, observations=False)
    out = composite_cr_rates(res.patients)
    out["first_response_day"] = first_response_days(res.events, res.patients)[
        "median_first_day"].reindex(out.index)
    for arm, (k, m, _src) in targets.items():
        if arm in out.index:
            ci = binomtest(k, m).proportion_ci(0.95, "exact")
            out.loc[arm, ["target", "lo", "hi"]] = [k / m, ci.low, ci.high]
            months = first_response_months.get(arm)
            if months is not None:
                out.loc[arm, "first_response_target_day"] = nearest_assessment_day(
                    months, design.trial["assessment_days"])
    if "lo" in out:
        inside = (out["rate"] >= out["lo"]) & (out["rate"] <= out["hi"])
        out["inside"] = inside.astype(object).where(out["lo"].notna(), None)
    if "first_response_target_day" in out:
        tgt = out["first_response_target_day"]
        out["timing_ok"] = (out["first_response_day"] == tgt).astype(object).where(
            tgt.notna(), None)
    return out
