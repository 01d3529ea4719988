"""Report figures of a raw-data study, bounded for large cohorts (captions say how)."""

from __future__ import annotations

import pandas as pd

from remission.analyses.raw.kinetics import Kinetics
from remission.analyses.raw.systems import CRS_VARIABLES, NEURO_VARIABLES, mask_unassessed
from remission.core.bundle import FigureItem
from remission.derive.criteria import SYSTEMS
from remission.derive.criteria.plot import anc_icaht_plot, grade_heatmap, grade_share_plot
from remission.kinetics.plot import cmax_by_grade_plot, spaghetti_plot

__all__ = ["MAX_HEATMAP_PATIENTS", "MAX_LINES", "figures"]

#: Above this many patients the heat-map becomes a daily grade-share chart and the ANC
#: plot shows median curves per ICAHT grade.
MAX_HEATMAP_PATIENTS = 60
#: Individual expansion curves drawn per response group at most.
MAX_LINES = 50


def _grade_figure(graded: pd.DataFrame, name: str, what: str, system: str) -> FigureItem:
    g = graded[graded["grade"].notna()]
    hot = g.loc[g["grade"] >= 1, "day"]
    last = int(max(30, hot.max() if len(hot) else 30))
    last = min(last, int(g["day"].max())) if len(g) else 30
    n = graded["patient_id"].nunique()
    label = SYSTEMS.get(system, system)
    title = f"{what} grade by day ({label})"
    if n <= MAX_HEATMAP_PATIENTS:
        fig = grade_heatmap(g.astype({"grade": float}), title=f"{what} grade by day",
                            days=(0, last))
        cap = (f"One row per patient ({n}), one column per day 0-{last}; colour = {what} "
               "grade derived from the raw observations of that day; white = no "
               f"{what}-relevant observation.")
    else:
        fig = grade_share_plot(g.astype({"grade": float}), title=f"{what} grade by day",
                               days=(0, last))
        cap = (f"{n} patients: more than {MAX_HEATMAP_PATIENTS}, so the per-patient heat-map "
               f"is aggregated into the share of patients graded that day at each {what} "
               f"grade (days 0-{last}).")
    return FigureItem(name, title, cap, "safety", fig)


def figures(out: dict[str, pd.DataFrame], daily: pd.DataFrame, nprefix: str,
            kin: Kinetics | None) -> list[FigureItem]:
    """Report figures of a raw-data study: grade heat-maps, ANC by ICAHT grade, kinetics.

    CRS and neurotoxicity grades by day (a heat-map up to :data:`MAX_HEATMAP_PATIENTS`
    patients, the daily grade shares above), drawn only when some day was assessed; ANC
    curves by early ICAHT grade when ANC was measured; CAR expansion by response and Cmax
    by CRS grade with kinetics. Each caption says what is drawn and how it was bounded.

    Parameters
    ----------
    out : dict of str to DataFrame
        Output of :func:`remission.derive.criteria.run.grade_all` (``crs_daily``,
        ``neuro_daily``, ``icaht``).
    daily : DataFrame
        Per patient-day observations.
    nprefix : str
        ``"icans"`` or ``"cres"`` (the neurotoxicity system's name in titles).
    kin : Kinetics or None
        From :func:`~remission.analyses.raw.kinetics.kinetics_results`.

    Returns
    -------
    list of FigureItem
        Name, title, caption, section and matplotlib Figure of each figure.

    Examples
    --------
    No neurotoxicity observation was made, so only the CRS heat-map is drawn; day 1 has no
    CRS observation and is white:

    >>> g = pd.DataFrame({"patient_id": "P1", "day": [0, 1], "grade": [1, 0],
    ...                   "system": "astct2019"})
    >>> n = g.assign(grade=0, system="icans_astct2019")
    >>> daily = pd.DataFrame({"patient_id": "P1", "day": [0, 1], "temperature": [38.4, None]})
    >>> items = figures({"crs_daily": g, "neuro_daily": n}, daily, "icans", None)
    >>> [i.name for i in items], items[0].caption.split(";")[0]
    (['fig.derived.crs_heatmap'], 'One row per patient (1), one column per day 0-0')
    """
    items = []
    for graded, variables, name, what in (
            (out["crs_daily"], CRS_VARIABLES, "fig.derived.crs_heatmap", "CRS"),
            (out["neuro_daily"], NEURO_VARIABLES, "fig.derived.neurotox_heatmap",
             nprefix.upper())):
        masked = mask_unassessed(graded, daily, variables)
        if masked["grade"].notna().any():
            items.append(_grade_figure(masked, name, what, str(graded["system"].iat[0])))
    if "anc" in daily.columns and daily["anc"].notna().any():
        n = daily.loc[daily["anc"].notna(), "patient_id"].nunique()
        big = n > MAX_HEATMAP_PATIENTS
        cap = ("ANC (×10⁹/L, log scale, lowest value per day) after infusion, coloured by "
               "early ICAHT grade (EHA/EBMT 2023); dashed lines at 500 and 100/µL, dotted line "
               "at day 30 (end of the early window).")
        if big:
            cap += (f" {n} patients: more than {MAX_HEATMAP_PATIENTS}, so one median curve "
                    "per ICAHT grade (over patients sampled that day) replaces the "
                    "individual curves.")
        items.append(FigureItem("fig.derived.anc_icaht", "Neutrophil recovery by ICAHT grade",
                                cap, "safety",
                                anc_icaht_plot(daily, out["icaht"],
                                               max_patients=MAX_HEATMAP_PATIENTS)))
    if kin is not None:
        items.extend(_kinetics_figures(kin))
    return items


def _kinetics_figures(kin: Kinetics) -> list[FigureItem]:
    resp = kin.exposures["responder"] if "responder" in kin.exposures else pd.Series(
        dtype="boolean")
    group = resp.map({True: "responder", False: "non-responder (NR)"}).astype(object)
    group = group.where(resp.notna(), "not evaluable (NE)")
    sizes = group.value_counts()
    capped = [f"{g} ({k})" for g, k in sizes.items() if k > MAX_LINES]
    cap = (f"CAR transgene ({kin.unit}, log scale) by derived best response (any response "
           "category vs NR; NE = not evaluable); thick lines = median per day over the "
           "patients sampled that day; zeros (below LLOQ) are not drawn.")
    if capped:
        cap += (f" At most {MAX_LINES} individual curves per group are drawn (first by "
                f"patient ID) for {', '.join(capped)}; medians use every patient.")
    items = [FigureItem("fig.kinetics.spaghetti", "CAR-T expansion by response", cap,
                        "kinetics", spaghetti_plot(kin.profiles, group, value=kin.variable,
                                                   unit=kin.unit, max_lines=MAX_LINES))]
    e = kin.exposures
    if "cmax" in e and e[["cmax", "crs_grade"]].notna().all(axis=1).any():
        items.append(FigureItem(
            "fig.kinetics.cmax_crs", "Peak expansion (Cmax) by derived CRS grade",
            (f"Cmax ({kin.unit}, log scale) per patient by derived maximum CRS grade; "
             "horizontal bars = medians. Patients without a quantifiable sample are not "
             "shown."), "kinetics",
            cmax_by_grade_plot(e[e["cmax"] > 0], exposure="cmax", grade="crs_grade",
                               unit=kin.unit)))
    return items
