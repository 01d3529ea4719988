"""Cellular kinetics and cytokines of a raw-data study, linked to derived CRS and response.

Uses :func:`remission.kinetics.nca` (PKNCA definitions), :func:`~remission.kinetics.
fit_stein` (Stein AM et al., CPT Pharmacometrics Syst Pharmacol 2019;8:285),
:func:`~remission.kinetics.biomarker_summary` and :func:`~remission.kinetics.associations`
(rank tests matching R; Mueller KT et al., Clin Cancer Res 2018;24:6175 for exposure
versus outcome).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from remission.kinetics import associations, biomarker_summary, fit_stein, nca
from remission.results import Result
from remission.vocab.vocabulary import VOCABULARY

__all__ = ["CYTOKINES", "Kinetics", "kinetics_results"]

CYTOKINES = ("il6", "ifng", "il10", "il2", "tnfa", "il1b", "ferritin", "crp")
_LLOQ_NOTE = ("no LLOQ in the study configuration: values of 0 are taken as below the "
              "limit of quantification, every positive value as quantifiable")


@dataclass
class Kinetics:
    """What the kinetics figures need: the profile table and the per-patient exposures."""

    variable: str
    unit: str
    profiles: pd.DataFrame  # patient_id, day, <variable>
    exposures: pd.DataFrame  # index patient_id: cmax, auc0_28, peak_il6, crs_grade, ...


def _responder_flag(best_response: pd.Series) -> pd.Series:
    """True for any derived response category, False for NR, NA for NE/not assessed."""
    b = best_response.astype(object)
    flag = pd.Series(pd.NA, index=b.index, dtype="boolean")
    flag[b.notna() & (b != "NE")] = True
    flag[b == "NR"] = False
    return flag


def kinetics_results(obs: pd.DataFrame, daily: pd.DataFrame, crs: pd.DataFrame,
                     best: pd.DataFrame, lloq: Mapping[str, float] | None = None
                     ) -> tuple[list[Result], Kinetics | None]:
    """Cellular kinetics of a raw-data study: NCA, Stein fits, cytokine peaks, associations.

    CAR transgene copies (copies/µg gDNA) are preferred to CAR cells (cells/µL); one value
    per day (the daily maximum). Cytokine baseline = last value on or before day 0, peak =
    highest value on days 1-30. Exposure–toxicity/response associations are tested when at
    least 3 patients have an exposure and a CRS grade.

    Parameters
    ----------
    obs : DataFrame
        Canonical observations (``patient_id, day, variable, value``).
    daily : DataFrame
        Per patient-day table (daily maxima of ``car_copies`` / ``car_cells``).
    crs : DataFrame
        Derived per-patient CRS table indexed by patient_id (``crs_max_grade, system``).
    best : DataFrame
        Derived best response indexed by patient_id (``best_response``).
    lloq : mapping of str to float, optional
        CAR variable -> the assay's lower limit of quantification (study.toml
        ``[kinetics] lloq``); without it zeros are taken as below the limit.

    Returns
    -------
    tuple of (list of Result, Kinetics or None)
        Results ``kinetics.nca``, ``kinetics.stein``, ``kinetics.biomarkers``,
        ``kinetics.associations`` (those the data allow), and the CAR profile with the
        exposures for the figures (None without CAR data).

    References
    ----------
    Stein AM, et al. CPT Pharmacometrics Syst Pharmacol 2019;8:285-295 (CAR-T kinetics
    model). Teachey DT, et al. Cancer Discov 2016;6:664-679 (cytokines and CRS).

    Examples
    --------
    IL-6 10 pg/mL on day 0 and 250 on day 3: peak fold change 250 / 10 = 25:

    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [0, 3, 7], "variable": "il6",
    ...                     "value": [10.0, 250.0, 40.0]})
    >>> crs = pd.DataFrame({"crs_max_grade": [2], "system": ["astct2019"]},
    ...                    index=pd.Index(["P1"], name="patient_id"))
    >>> best = pd.DataFrame({"best_response": ["CR"]}, index=crs.index)
    >>> res, kin = kinetics_results(obs, pd.DataFrame({"patient_id": ["P1"], "day": [0]}),
    ...                             crs, best)
    >>> [r.name for r in res], kin
    (['kinetics.biomarkers'], None)
    >>> res[0].table[["baseline", "peak", "peak_day", "fold_change"]].values.tolist()
    [[10.0, 250.0, 3, 25.0]]
    """
    results: list[Result] = []
    var = next((v for v in ("car_copies", "car_cells") if v in daily.columns
                and daily[v].notna().any()), None)
    cyt = [v for v in CYTOKINES if (obs["variable"] == v).any()]
    expo = pd.DataFrame(index=crs.index)
    kin = None
    if var is not None:
        unit = VOCABULARY[var].unit
        prof = daily.loc[daily[var].notna(), ["patient_id", "day", var]].copy()
        limit = float((lloq or {}).get(var, 0.0))
        k = nca(prof, value=var, lloq=limit, unit=unit, name="kinetics.nca")
        notes = (_LLOQ_NOTE,) if limit == 0.0 else ()
        k = replace(k, warnings=(*k.warnings, *notes),
                    params={**k.params, "variable": var, "lloq": limit})
        results.append(k)
        st = fit_stein(prof, value=var, name="kinetics.stein")
        results.append(replace(st, params={**st.params, "variable": var}))
        auc = next(c for c in k.table.columns if c.startswith("auc0_"))
        expo["cmax"] = k.table["cmax"]
        expo[auc] = k.table[auc]
        kin = Kinetics(var, unit, prof, expo)
    if cyt:
        b = biomarker_summary(obs, cyt)
        b["patient_id"] = b["patient_id"].astype(str)
        b.index = pd.Index([f"{p} | {v}" for p, v in zip(b["patient_id"], b["variable"],
                                                          strict=True)])
        results.append(Result(
            "kinetics.biomarkers", "Cytokines and inflammation markers: baseline and peak", b,
            ("Baseline = last value on or before day 0; peak = highest value on days 1-30 and "
             "its first day; fold change = peak / baseline."),
            rationale="Peak IL-6, IFN-γ and ferritin track CRS severity (Teachey 2016).",
            references=("Teachey DT et al., Cancer Discov 2016;6:664",),
            params={"variables": cyt, "peak_window": 30}, section="kinetics"))
        if "il6" in cyt:
            expo["peak_il6"] = b[b["variable"] == "il6"].set_index("patient_id")["peak"]
    exposures = list(expo.columns)
    if exposures:
        expo["crs_grade"] = crs["crs_max_grade"].astype(float)
        expo["responder"] = _responder_flag(best["best_response"].reindex(expo.index))
        if kin is not None:
            kin.exposures = expo
        ok = expo[exposures[0]].notna() & expo["crs_grade"].notna()
        if int(ok.sum()) >= 3:
            a = associations(expo.rename_axis("patient_id").reset_index(), exposures,
                             grade="crs_grade", responder="responder",
                             name="kinetics.associations")
            results.append(replace(
                a, method=a.method + " CRS grade = derived maximum grade (0-5); responder = "
                "any derived response category versus NR (NE excluded).",
                params={**a.params, "crs_system": str(crs["system"].dropna().iat[0])
                        if crs["system"].notna().any() else ""}))
    return results, kin
