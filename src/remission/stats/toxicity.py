"""Toxicity tables: CRS and neurotoxicity grade distributions, the AE table, engraftment/GVHD."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from remission.results import Result
from remission.stats.contingency import choose_test, cochran_armitage, exact_trend
from remission.stats.descriptive import summarise_continuous
from remission.stats.groups import by_group, cohort_levels, row_key
from remission.vocab import ctcae_terms


def grade_distribution(adsl: pd.DataFrame, col: str, name: str, title: str, system: str,
                       ordered: bool = False) -> Result:
    """Patients by maximum grade, plus any grade (>= 1) and grade >= 3, overall and per
    cohort (e.g. CRS or ICANS); grade >= 3 compared across cohorts.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL: one row per patient with ``COHORT``, ``COHORTN`` and the grade column.
    col : str
        Column of each patient's maximum grade (integer; blank = not graded, left out of
        the denominator).
    name, title : str
        Name and title of the Result.
    system : str
        The grading system, named in the method text (e.g. "ASTCT 2019").
    ordered : bool, default False
        Cohorts are ordered dose levels: add the Cochran–Armitage and exact trend tests of
        grade >= 3.

    Returns
    -------
    remission.results.Result
        Rows ``"grade k | group"``, ``"any grade | group"``, ``"grade >= 3 | group"`` with
        ``n``, ``N``, ``pct``; the grade >= 3 test, its p-value and why it was chosen are
        in ``params``.

    Examples
    --------
    Grade >= 3 in 0 of 4 (low) vs 2 of 4 (high): Fisher's exact p = 0.4285714 (R 4.2.2
    ``fisher.test(matrix(c(0, 4, 2, 2), 2))$p.value``):

    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"COHORT": ["low"] * 4 + ["high"] * 4,
    ...                      "COHORTN": [1] * 4 + [2] * 4, "CRSGR": [0, 1, 1, 2, 1, 2, 3, 3]})
    >>> r = grade_distribution(adsl, "CRSGR", "safety.crs", "CRS", "ASTCT 2019")
    >>> [int(v) for v in r.table.loc["grade >= 3 | Overall", ["n", "N"]]]
    [2, 8]
    >>> r.params["grade>=3 test"], round(r.params["grade>=3 p"], 7)
    ("Fisher's exact", 0.4285714)
    """
    rows = {}
    g_all = adsl[col].dropna().astype(int)
    top = int(g_all.max()) if len(g_all) else 0
    for g, sub in by_group(adsl):
        grades = sub[col].dropna().astype(int)
        denom = len(grades)
        items = [(f"grade {k}", grades == k) for k in range(0, max(top, 1) + 1)]
        items += [("any grade", grades >= 1), ("grade >= 3", grades >= 3)]
        for label, mask in items:
            k = int(mask.sum())
            rows[row_key(label, g)] = {"grade": label, "group": g, "n": k, "N": denom,
                                       "pct": 100 * k / denom if denom else math.nan}
    table = pd.DataFrame.from_dict(rows, orient="index")
    levels = cohort_levels(adsl)
    method = f"Patients by maximum grade ({system})."
    params: dict[str, object] = {"system": system}
    if len(levels) > 1:
        sev = [(adsl.loc[adsl["COHORT"] == lv, col].dropna().astype(int) >= 3) for lv in levels]
        succ = np.array([int(s.sum()) for s in sev])
        tot = np.array([len(s) for s in sev])
        test, p, why = choose_test(np.vstack([succ, tot - succ]))
        params.update({"grade>=3 test": test, "grade>=3 p": p, "grade>=3 rationale": why})
        method += f" Grade >= 3 across groups: {test} ({why})."
        if ordered:
            _chi, p_ca = cochran_armitage(succ, tot)
            params.update({"grade>=3 trend p (Cochran-Armitage)": p_ca,
                           "grade>=3 exact trend p": exact_trend(succ, tot)})
            method += " Trend across ordered dose groups: Cochran-Armitage and exact trend test."
    return Result(name, title, table, method, "", (), (), params, "safety",
                  display={"rows": "grade", "columns": "group", "cell": "n_pct"})


def ae_table_from_summary(summary: pd.DataFrame, n_patients: int) -> Result:
    """A published adverse-event table (counts of patients) as a Result, with percentages
    of all treated patients and each term's CTCAE v5.0 term.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per term: ``term`` and any of ``any_grade``, ``worst_grade_3``,
        ``worst_grade_4``, ``worst_grade_5`` (patients; blank = not reported).
    n_patients : int
        Treated patients (the denominator).

    Returns
    -------
    remission.results.Result
        ``safety.ae_table``: per term ``ctcae_term`` (blank when the term cannot be
        coded), ``N``, each count with its ``_pct``, and ``grade_3_plus`` (the sum of the
        reported worst grades 3-5).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"term": ["Neutropenia", "Febrile neutropenia"],
    ...                   "any_grade": [10, 4], "worst_grade_3": [3, 4],
    ...                   "worst_grade_4": [6, 0]})
    >>> t = ae_table_from_summary(s, 20).table
    >>> print(t[["ctcae_term", "any_grade_pct", "grade_3_plus"]].to_string())
                                         ctcae_term  any_grade_pct  grade_3_plus
    Neutropenia          Neutrophil count decreased           50.0             9
    Febrile neutropenia         Febrile neutropenia           20.0             4
    """
    rows = {}
    for _, r in summary.iterrows():
        term = str(r["term"])
        t = ctcae_terms.lookup(term)
        rec: dict[str, object] = {"term": term, "ctcae_term": t.term if t else "",
                                  "N": n_patients}
        for col in ("any_grade", "worst_grade_3", "worst_grade_4", "worst_grade_5"):
            if col in summary.columns:
                v = r[col]
                rec[col] = None if pd.isna(v) else int(v)
                rec[f"{col}_pct"] = None if pd.isna(v) else 100 * int(v) / n_patients
        worst = [rec.get(c) for c in ("worst_grade_3", "worst_grade_4", "worst_grade_5")]
        if any(w is not None for w in worst):
            rec["grade_3_plus"] = sum(w for w in worst if w is not None)
            rec["grade_3_plus_pct"] = 100 * rec["grade_3_plus"] / n_patients
        rows[term] = rec
    return Result(
        "safety.ae_table", "Adverse events (as reported; patients with each event)",
        pd.DataFrame.from_dict(rows, orient="index"),
        "Counts of patients with each adverse event, any grade and by worst grade, as reported "
        f"by the study; percentages of all {n_patients} treated patients.",
        "Reported summary table: individual AE records were not provided, so worst grades cannot "
        "be re-derived; internal consistency is checked in the audit.",
        section="safety")


def ae_table_from_records(adae: pd.DataFrame, n_patients: int) -> Result:
    """Adverse-event table computed from ADAE: patients with each term, any grade and by
    worst grade.

    Parameters
    ----------
    adae : pandas.DataFrame
        One row per patient and term with the patient's worst grade of it: ``AEDECOD``
        (term) and ``ATOXGRH`` (grade 1-5).
    n_patients : int
        Treated patients (the denominator).

    Returns
    -------
    remission.results.Result
        ``safety.ae_table``: per term ``N``, ``any_grade``, ``grade_3_plus``,
        ``worst_grade_3``, ``worst_grade_4``, ``worst_grade_5``, each with its ``_pct``.

    Examples
    --------
    >>> import pandas as pd
    >>> adae = pd.DataFrame({"USUBJID": ["1", "2", "2", "3"],
    ...                      "AEDECOD": ["Fatigue", "Fatigue", "Sepsis", "Fatigue"],
    ...                      "ATOXGRH": [1, 3, 4, 2]})
    >>> t = ae_table_from_records(adae, 5).table
    >>> print(t[["any_grade", "any_grade_pct", "grade_3_plus", "worst_grade_4"]].to_string())
             any_grade  any_grade_pct  grade_3_plus  worst_grade_4
    Fatigue          3           60.0             1              0
    Sepsis           1           20.0             1              1
    """
    rows = {}
    for term, sub in adae.groupby("AEDECOD", sort=True):
        g = sub["ATOXGRH"].astype(int)
        rows[str(term)] = {"term": term, "N": n_patients, "any_grade": len(sub),
                           "grade_3_plus": int((g >= 3).sum()),
                           "worst_grade_3": int((g == 3).sum()),
                           "worst_grade_4": int((g == 4).sum()),
                           "worst_grade_5": int((g == 5).sum())}
    table = pd.DataFrame.from_dict(rows, orient="index")
    for col in ("any_grade", "grade_3_plus", "worst_grade_3", "worst_grade_4", "worst_grade_5"):
        if col in table:
            table[f"{col}_pct"] = 100 * table[col] / n_patients
    return Result("safety.ae_table", "Adverse events (worst grade per patient and term)", table,
                  f"Patients with each CTCAE v5.0 term by worst grade; N = {n_patients}.",
                  section="safety")


def engraftment_gvhd(adsl: pd.DataFrame) -> Result | None:
    """Transplant after CAR-T, engraftment days and GVHD grades.

    Parameters
    ----------
    adsl : pandas.DataFrame
        ADSL with any of ``TRANSFL`` (``"Y"`` = transplanted after CAR-T),
        ``neutrophil_engraftment_day``, ``platelet_engraftment_day``,
        ``acute_gvhd_grade`` (0-4) and ``chronic_gvhd_grade`` (0-3).

    Returns
    -------
    remission.results.Result or None
        ``safety.transplant``: transplants among all patients; engraftment days as median
        (range) among patients with a recorded day; GVHD grades among patients with a
        recorded grade. None when ADSL has neither ``TRANSFL`` nor engraftment columns.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({"TRANSFL": ["Y", "N", "Y", "N"],
    ...                      "neutrophil_engraftment_day": [14, None, 18, None],
    ...                      "acute_gvhd_grade": [0, None, 2, None]})
    >>> t = engraftment_gvhd(adsl).table
    >>> print(t.loc[["transplant after CAR-T", "neutrophil engraftment day",
    ...              "acute gvhd grade >= 1"], ["n", "N", "median"]].to_string())
                                n  N  median
    transplant after CAR-T      2  4     NaN
    neutrophil engraftment day  2  4    16.0
    acute gvhd grade >= 1       1  2     NaN
    """
    cols = [c for c in ("neutrophil_engraftment_day", "platelet_engraftment_day") if c in adsl]
    if "TRANSFL" not in adsl and not cols:
        return None
    rows: dict[str, dict[str, object]] = {}
    n = len(adsl)
    tx = adsl[adsl["TRANSFL"] == "Y"] if "TRANSFL" in adsl else adsl.iloc[0:0]
    rows["transplant after CAR-T"] = {"n": len(tx), "N": n, "pct": 100 * len(tx) / n}
    for c in cols:
        eng = adsl[c].dropna()
        s = summarise_continuous(eng.astype(float))
        rows[f"{c.replace('_', ' ')}"] = {"n": int(s["n"]), "N": n, "pct": 100 * s["n"] / n,
                                          "median": s["median"], "min": s["min"],
                                          "max": s["max"]}
    for c, top in (("acute_gvhd_grade", 4), ("chronic_gvhd_grade", 3)):
        if c in adsl:
            g = adsl[c].dropna().astype(int)
            for k in range(0, top + 1):
                rows[f"{c.replace('_', ' ')} = {k}"] = {"n": int((g == k).sum()), "N": len(g),
                                                        "pct": 100 * (g == k).mean()
                                                        if len(g) else math.nan}
            rows[f"{c.replace('_', ' ')} >= 1"] = {"n": int((g >= 1).sum()), "N": len(g),
                                                   "pct": 100 * (g >= 1).mean()
                                                   if len(g) else math.nan}
    return Result("safety.transplant", "Transplant after CAR-T, engraftment and GVHD",
                  pd.DataFrame.from_dict(rows, orient="index"),
                  "Counts among all treated patients; engraftment days as median (range) among "
                  "patients with a recorded engraftment day; GVHD grades among patients with a "
                  "recorded grade.", section="safety")
