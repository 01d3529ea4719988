"""Cytopenia after infusion from raw blood counts: CTCAE v5.0 worst grades, ICAHT, engraftment.

Grades come from :func:`remission.derive.criteria.grade_labs` (CTCAE v5.0, NCI 2017),
:func:`~remission.derive.criteria.grade_febrile_neutropenia`,
:func:`~remission.derive.criteria.grade_icaht` (Rejeski K et al., Blood 2023;142:865) and
:func:`~remission.derive.criteria.engraftment`; this module tabulates them per patient
and by cohort.
"""

from __future__ import annotations

import pandas as pd

from remission.analyses.raw.systems import Systems
from remission.derive.criteria import SYSTEMS
from remission.results import Result
from remission.stats.groups import by_group, row_key

__all__ = ["LAB_VARIABLES", "cytopenia_result", "cytopenia_summary", "cytopenia_table"]

#: CTCAE variables tabulated (canonical names) and their short labels.
LAB_VARIABLES = {"anc": "ANC", "platelets": "PLT", "hemoglobin": "Hb"}


def cytopenia_table(out: dict[str, pd.DataFrame], ids: pd.Index,
                    cohort: pd.Series) -> pd.DataFrame:
    """One row per patient: worst CTCAE grade and nadir (day >= 0) of ANC, platelets and
    haemoglobin, febrile neutropenia, early/late ICAHT and engraftment days.

    Counts before day 0 are not post-infusion cytopenia: their worst grade is reported
    apart as ``*_baseline_worst_grade`` (NA without a pre-infusion count), with
    ``*_worse_than_baseline`` = the post-infusion worst grade exceeds it (NA when either
    is missing), so cytopenia already present during a lead-in is not read as
    infusion-related and is not pooled with it.

    Parameters
    ----------
    out : dict of str to DataFrame
        Output of :func:`remission.derive.criteria.run.grade_all`: ``labs``
        (:func:`~remission.derive.criteria.grade_labs`), ``febrile_neutropenia``,
        ``icaht`` and ``engraftment``.
    ids : Index
        The patients (rows of the table, in this order).
    cohort : Series
        patient_id -> cohort name.

    Returns
    -------
    DataFrame
        Indexed by patient_id: ``cohort``; per variable ``{v}_n, {v}_nadir`` (×10⁹/L or
        g/dL), ``{v}_worst_grade, {v}_baseline_worst_grade, {v}_worse_than_baseline``;
        ``febrile_neutropenia`` (bool) and its first day; the ICAHT columns and
        ``icaht_rule``; ``neutrophil_engraftment_day, platelet_engraftment_day``.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 2017. Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    P1's grade-3 ANC on day -3 (a lead-in) is baseline; from day 0 the nadir is 0.3 with
    grade 4, worse than baseline:

    >>> out = {"labs": pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [-3, 5, 9, 5],
    ...                              "variable": "anc", "value": [0.8, 0.3, 1.2, 1.6],
    ...                              "grade": [3, 4, 2, 0]}),
    ...        "febrile_neutropenia": pd.DataFrame({"patient_id": ["P1"], "day": [6]}),
    ...        "icaht": pd.DataFrame({"patient_id": ["P1", "P2"], "rule": ["", ""],
    ...                               "icaht_early_grade": [1, 0],
    ...                               "icaht_late_grade": [pd.NA, pd.NA]}),
    ...        "engraftment": pd.DataFrame({"patient_id": ["P1", "P2"],
    ...                                     "neutrophil_engraftment_day": [9, pd.NA],
    ...                                     "platelet_engraftment_day": [pd.NA, pd.NA]})}
    >>> t = cytopenia_table(out, pd.Index(["P1", "P2"]), pd.Series({"P1": "A", "P2": "A"}))
    >>> t.loc[["P1"], ["anc_nadir", "anc_worst_grade", "anc_baseline_worst_grade",
    ...                "anc_worse_than_baseline", "febrile_neutropenia_day"]].values.tolist()
    [[0.3, 4, 3, True, 6]]
    """
    all_labs = out["labs"]
    all_labs = all_labs[all_labs["variable"].isin(list(LAB_VARIABLES))]
    labs = all_labs[all_labs["day"] >= 0]
    base = all_labs[all_labs["day"] < 0]
    t = pd.DataFrame(index=pd.Index(ids, name="patient_id"))
    t["cohort"] = cohort.reindex(ids)
    for var in LAB_VARIABLES:
        v = labs[labs["variable"] == var]
        grp = v.groupby(v["patient_id"].astype(str))
        t[f"{var}_n"] = grp["value"].count().reindex(ids).fillna(0).astype("Int64")
        t[f"{var}_nadir"] = grp["value"].min().reindex(ids)
        t[f"{var}_worst_grade"] = grp["grade"].max().reindex(ids).astype("Int64")
    for var in LAB_VARIABLES:  # before day 0 (e.g. a venetoclax lead-in): baseline, apart
        b = base[base["variable"] == var]
        bgrp = b.groupby(b["patient_id"].astype(str))
        bg = bgrp["grade"].max().reindex(ids).astype("Int64")
        t[f"{var}_baseline_worst_grade"] = bg
        t[f"{var}_worse_than_baseline"] = (t[f"{var}_worst_grade"] > bg).astype("boolean")
    fn = out["febrile_neutropenia"]
    fn = fn[fn["day"] >= 0]
    first_fn = fn.groupby(fn["patient_id"].astype(str))["day"].min()
    t["febrile_neutropenia"] = t.index.isin(first_fn.index)
    t["febrile_neutropenia_day"] = first_fn.reindex(ids).astype("Int64")
    ic = out["icaht"].assign(patient_id=lambda d: d["patient_id"].astype(str))
    ic = ic.set_index("patient_id").reindex(ids)
    for c in ("icaht_early_grade", "days_anc_le500", "days_anc_le100", "icaht_late_grade",
              "late_anc_used", "late_window_end_day", "late_window_closed_by"):
        if c in ic.columns:
            t[c] = ic[c]
    t["icaht_rule"] = ic["rule"]
    eg = out["engraftment"].assign(patient_id=lambda d: d["patient_id"].astype(str))
    eg = eg.set_index("patient_id").reindex(ids)
    for c in ("neutrophil_engraftment_day", "platelet_engraftment_day"):
        t[c] = eg[c].astype("Int64")
    return t


def cytopenia_result(table: pd.DataFrame, systems: Systems, have_lln: bool = False) -> Result:
    """The per-patient cytopenia table as the ``derived.cytopenia`` Result.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`cytopenia_table`.
    systems : Systems
        The systems used (:func:`~remission.analyses.raw.systems.resolve_systems`); its
        cytopenia notes become warnings.
    have_lln : bool, default False
        Whether study.toml gives the site's lower limits of normal; without them a warning
        says grade 1 cannot be told from grade 0.

    Returns
    -------
    Result
        Name ``derived.cytopenia``, section ``safety``, with method, rationale, warnings
        and the CTCAE v5.0 and ICAHT 2023 references.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 2017. Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    >>> from remission.analyses.raw.systems import resolve_systems
    >>> out = {"labs": pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [-3, 5, 9, 5],
    ...                              "variable": "anc", "value": [0.8, 0.3, 1.2, 1.6],
    ...                              "grade": [3, 4, 2, 0]}),
    ...        "febrile_neutropenia": pd.DataFrame({"patient_id": ["P1"], "day": [6]}),
    ...        "icaht": pd.DataFrame({"patient_id": ["P1", "P2"], "rule": ["", ""],
    ...                               "icaht_early_grade": [1, 0],
    ...                               "icaht_late_grade": [pd.NA, pd.NA]}),
    ...        "engraftment": pd.DataFrame({"patient_id": ["P1", "P2"],
    ...                                     "neutrophil_engraftment_day": [9, pd.NA],
    ...                                     "platelet_engraftment_day": [pd.NA, pd.NA]})}
    >>> t = cytopenia_table(out, pd.Index(["P1", "P2"]), pd.Series({"P1": "A", "P2": "A"}))
    >>> r = cytopenia_result(t, resolve_systems({"cytopenia": "icaht_2023"}))
    >>> r.name, r.warnings[0].split(" (")[0]
    ('derived.cytopenia', "CTCAE grade 1 needs the site's lower limit of normal")
    >>> cytopenia_result(t, resolve_systems({"cytopenia": "icaht_2023"}), have_lln=True).warnings
    ()
    """
    warnings = [n for n in systems.notes if n.startswith("cytopenia")]
    if not have_lln:
        no_lln = "value above the grade-2 bound is NA (grade 0 or 1 without the site's LLN)"
        warnings.append(f"CTCAE grade 1 needs the site's lower limit of normal ([labs] lln in "
                        f"study.toml): {no_lln}")
    return Result(
        "derived.cytopenia", "Cytopenia after infusion per patient, derived", table,
        ("Worst CTCAE v5.0 grade and nadir from day 0 of neutrophils (ANC), platelets and "
         "haemoglobin (lowest value per day), with the worst grade before day 0 reported "
         "apart as baseline; febrile neutropenia (ANC < 1.0 with T > 38.3 °C "
         "or >= 38.0 °C for > 1 h, the ANC from the fever day or the day before or after); "
         "early (days 0-30) and late (day 31 to the end of the window: day 100, relapse, "
         "next therapy, death or last contact, named per patient) ICAHT 2023 grade; "
         "neutrophil (3 days ANC >= 0.5) and platelet (3 days >= 20 without transfusion) "
         "engraftment days."),
        rationale="Prolonged cytopenia is the commonest late toxicity of CAR-T (ICAHT 2023).",
        warnings=tuple(warnings),
        references=(SYSTEMS["ctcae_v5"], SYSTEMS["icaht_2023"]),
        params={"system": systems.cytopenia, "ctcae": "ctcae_v5", "icaht_counting": "longest"},
        section="safety")


def _items(t: pd.DataFrame) -> list[tuple[str, pd.Series, pd.Series]]:
    """(label, evaluable mask, event mask) for each count of the summary."""
    items = []
    for var, lab in LAB_VARIABLES.items():
        g, ok = t[f"{var}_worst_grade"], t[f"{var}_n"] > 0
        items.append((f"{lab} grade >= 3", ok, (g >= 3).fillna(False)))
        if var != "hemoglobin":  # anaemia grade 4 is clinical, never derived
            items.append((f"{lab} grade 4", ok, (g == 4).fillna(False)))
        bgr = t[f"{var}_baseline_worst_grade"]
        if bgr.notna().any():
            items.append((f"{lab} grade >= 3 at baseline (before day 0)", bgr.notna(),
                          (bgr >= 3).fillna(False)))
    ok = t["anc_n"] > 0
    items.append(("febrile neutropenia", ok, t["febrile_neutropenia"]))
    for when in ("early", "late"):
        g = t[f"icaht_{when}_grade"].astype("Float64")
        items.append((f"ICAHT {when} grade >= 3", g.notna(), (g >= 3).fillna(False)))
    return items


def cytopenia_summary(table: pd.DataFrame, adsl: pd.DataFrame) -> Result:
    """Patients with grade >= 3 / grade 4 cytopenia, febrile neutropenia and ICAHT >= 3, by group.

    Denominators are the patients with the measurement (late ICAHT: patients with an ANC in
    the late window); anaemia grade 4 is clinical and never counted; baseline (before day
    0) grade >= 3 rows appear when a pre-infusion count exists.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`cytopenia_table`.
    adsl : DataFrame
        ADSL (``USUBJID, COHORT, COHORTN``).

    Returns
    -------
    Result
        ``derived.cytopenia_summary``: rows ``"{measure} | {group}"`` with ``measure,
        group, n, N, pct``.

    References
    ----------
    National Cancer Institute. CTCAE v5.0, 2017. Rejeski K, et al. Blood 2023;142:865-877.

    Examples
    --------
    >>> out = {"labs": pd.DataFrame({"patient_id": ["P1", "P1", "P1", "P2"], "day": [-3, 5, 9, 5],
    ...                              "variable": "anc", "value": [0.8, 0.3, 1.2, 1.6],
    ...                              "grade": [3, 4, 2, 0]}),
    ...        "febrile_neutropenia": pd.DataFrame({"patient_id": ["P1"], "day": [6]}),
    ...        "icaht": pd.DataFrame({"patient_id": ["P1", "P2"], "rule": ["", ""],
    ...                               "icaht_early_grade": [1, 0],
    ...                               "icaht_late_grade": [pd.NA, pd.NA]}),
    ...        "engraftment": pd.DataFrame({"patient_id": ["P1", "P2"],
    ...                                     "neutrophil_engraftment_day": [9, pd.NA],
    ...                                     "platelet_engraftment_day": [pd.NA, pd.NA]})}
    >>> t = cytopenia_table(out, pd.Index(["P1", "P2"]), pd.Series({"P1": "A", "P2": "A"}))
    >>> adsl = pd.DataFrame({"USUBJID": ["P1", "P2"], "COHORT": "A", "COHORTN": 1})
    >>> s = cytopenia_summary(t, adsl).table
    >>> s.loc[["ANC grade 4 | Overall"], ["n", "N", "pct"]].values.tolist()
    [[1.0, 2.0, 50.0]]
    >>> s.loc[["ANC grade >= 3 at baseline (before day 0) | Overall"], "N"].tolist()
    [1]
    """
    a = adsl[["USUBJID", "COHORT", "COHORTN"]].copy()
    a = a.join(table.drop(columns="cohort"), on=a["USUBJID"].astype(str).rename("patient_id"))
    rows = {}
    for g, sub in by_group(a):
        for label, ok, event in _items(sub):
            n_ok = int(ok.astype(bool).sum())
            k = int((event.astype(bool) & ok.astype(bool)).sum())
            rows[row_key(label, g)] = {"measure": label, "group": g, "n": k, "N": n_ok,
                                       "pct": 100 * k / n_ok if n_ok else float("nan")}
    return Result(
        "derived.cytopenia_summary", "Derived cytopenia after infusion by group",
        pd.DataFrame.from_dict(rows, orient="index"),
        ("Patients with CTCAE v5.0 grade >= 3 and grade 4 neutropenia, thrombocytopenia and "
         "grade >= 3 anaemia from day 0, febrile neutropenia, and early/late ICAHT grade >= 3; "
         "denominator = patients with the measurement (late ICAHT: patients with an ANC in "
         "the late window)."),
        references=(SYSTEMS["ctcae_v5"], SYSTEMS["icaht_2023"]), section="safety",
        display={"rows": "measure", "columns": "group", "cell": "n_pct"})
