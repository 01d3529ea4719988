"""Internal-consistency checks of reported tables: impossibilities, whatever the data say.

* a CTCAE v5.0 grade the term does not define (Fatigue stops at grade 3; Sepsis has no
  grade 1-2), after coding the verbatim term as a coder would
  (:func:`~remission.vocab.ctcae_terms.map_term`: "Pseudomonal sepsis" -> Sepsis,
  "Thrombocytopnia" -> Platelet count decreased), the coding and its confidence shown;
* counts exceeding the number of patients, or worst-grade counts exceeding any-grade;
* a reported percentage that is not n/N at its printed rounding.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from remission.audit.claims import AGREES, CANNOT, DISAGREES, agrees_at_rounding
from remission.vocab import ctcae_terms

GRADE_COLS = {"worst_grade_3": 3, "worst_grade_4": 4, "worst_grade_5": 5}


def check_ae_summary(summary: pd.DataFrame, n_patients: int) -> dict[str, dict[str, Any]]:
    """Check a published adverse-event table for internal consistency: every reported
    grade exists for its CTCAE v5.0 term, counts do not exceed the patients treated, and
    worst grades 3-5 do not exceed "any grade"; "Any ..." rows against the terms.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per term: ``term``, ``any_grade`` and any of ``worst_grade_3``,
        ``worst_grade_4``, ``worst_grade_5`` (patients); rows whose term starts with
        "Any " are totals.
    n_patients : int
        Treated patients.

    Returns
    -------
    dict
        Check name -> ``source``, ``text``, ``verdict`` ("agrees", "disagrees", "cannot
        be checked") and ``why``, as :func:`remission.audit.claims.evaluate` rows.

    Examples
    --------
    CTCAE v5.0 Sepsis has grades 4 and 5 only, so a worst grade 3 cannot be:

    >>> import pandas as pd
    >>> s = pd.DataFrame({"term": ["Sepsis", "Fatigue"], "any_grade": [3, 5],
    ...                   "worst_grade_3": [1, 1], "worst_grade_4": [1, 0],
    ...                   "worst_grade_5": [0, 0]})
    >>> for k, v in check_ae_summary(s, 20).items():
    ...     print(k, "->", v["verdict"])
    AE table: Sepsis: grade 3 -> disagrees
    AE table: Sepsis: grade < 3 -> disagrees
    AE table: Fatigue -> agrees
    """
    rows: dict[str, dict[str, Any]] = {}
    any_rows = summary[summary["term"].str.lower().str.startswith("any ")]
    terms = summary.drop(any_rows.index)
    for _, r in any_rows.iterrows():
        rows[f"AE table: {r['term']}"] = _check_any_severe(r, terms, n_patients)
    for _, r in terms.iterrows():
        term = str(r["term"])
        m = ctcae_terms.map_term(term)
        t = m.term
        counts = {c: (None if pd.isna(r.get(c)) else int(r[c]))
                  for c in ("any_grade", *GRADE_COLS) if c in summary.columns}
        if t is None:
            rows[f"AE table: {term}: CTCAE term"] = _row(
                "Table of adverse events", f"term '{term}'", CANNOT,
                f"not found in {ctcae_terms.VERSION}, neither as a term, a listed synonym, an "
                "organism- or site-qualified infection nor a close spelling: its grades "
                "cannot be checked")
        else:
            mapped = _mapping_text(m)
            if m.how in ("qualified infection", "spelling"):
                rows[f"AE table: {term}: coded as"] = _row(
                    "Table of adverse events", f"term '{term}'", AGREES,
                    f"coded to {ctcae_terms.VERSION} '{t.term}'{mapped}; grades checked "
                    "against that term")
            for col, grade in GRADE_COLS.items():
                k = counts.get(col)
                if k and not t.allows(grade):
                    rows[f"AE table: {term}: grade {grade}"] = _row(
                        "Table of adverse events", f"{k} patients with worst grade {grade}",
                        DISAGREES,
                        f"{ctcae_terms.VERSION} defines {t.grades_text()} for '{t.term}'"
                        f"{mapped}: grade {grade} does not exist, so these {k} patients "
                        "cannot have been graded by CTCAE v5.0")
            below = _below_grade3(counts)
            if below and t.min_grade >= 3:
                has5 = "worst_grade_5" in counts and counts["worst_grade_5"] is not None
                why = (f"{below} of {counts['any_grade']} patients have a worst grade below 3 "
                       f"(any grade minus the grade 3-5 counts), but {ctcae_terms.VERSION} "
                       f"defines {t.grades_text()} for '{t.term}'{mapped}")
                if has5:
                    rows[f"AE table: {term}: grade < 3"] = _row(
                        "Table of adverse events", f"{below} patients with worst grade 1-2",
                        DISAGREES, why + ": grades 1-2 do not exist")
                else:
                    rows[f"AE table: {term}: grade < 3"] = _row(
                        "Table of adverse events", f"{below} patients with worst grade 1-2 "
                        "or 5", CANNOT, why + ": possible only if all of them died of it "
                        "(grade 5), for which the table has no column")
        for col, k in counts.items():
            if k is not None and k > n_patients:
                rows[f"AE table: {term}: {col} > N"] = _row(
                    "Table of adverse events", f"{col} = {k}", DISAGREES,
                    f"count exceeds the {n_patients} patients treated")
        any_g = counts.get("any_grade")
        worst = sum(v for c, v in counts.items() if c in GRADE_COLS and v)
        if any_g is not None and worst > any_g:
            rows[f"AE table: {term}: worst grades > any grade"] = _row(
                "Table of adverse events", f"any grade {any_g}, worst grade 3+4+5 {worst}",
                DISAGREES, "more patients with a worst grade >= 3 than with the event at all")
        checks = [k for k in rows if k.startswith(f"AE table: {term}:")
                  and not k.endswith(": coded as")]
        if t is not None and not checks:
            rows[f"AE table: {term}"] = _row(
                "Table of adverse events", _counts_text(counts), AGREES,
                f"possible: every reported grade exists for '{t.term}'{_mapping_text(m)} in "
                f"{ctcae_terms.VERSION}, counts <= {n_patients}, worst grades <= any grade")
    return rows


def _mapping_text(m: ctcae_terms.Mapping) -> str:
    """'' for an exact term; else how the verbatim term was coded, with its confidence."""
    if m.how == "exact":
        return ""
    if m.how == "synonym":
        return f" (written '{m.verbatim}', a listed synonym)"
    return f" (written '{m.verbatim}': {m.how}, confidence {m.confidence:.2f}; {m.note})"


def _below_grade3(counts: dict[str, int | None]) -> int:
    """Patients whose worst grade is below 3: any grade minus the grade 3-5 counts."""
    any_g = counts.get("any_grade")
    if any_g is None:
        return 0
    return max(any_g - sum(v for c, v in counts.items() if c in GRADE_COLS and v), 0)


def _counts_text(counts: dict[str, int | None]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v is not None)


def _check_any_severe(r: pd.Series, terms: pd.DataFrame, n: int) -> dict[str, Any]:
    """'Any grade >= 3 AE' must lie between the largest per-term grade >= 3 count and N."""
    reported = None if pd.isna(r.get("any_grade")) else int(r["any_grade"])
    severe = terms[[c for c in GRADE_COLS if c in terms.columns]].fillna(0).sum(axis=1)
    lo = int(severe.max()) if len(severe) else 0
    hi = min(n, int(severe.sum()))
    text = f"{r['term']}: {reported}"
    if reported is None:
        return _row("Table of adverse events", text, CANNOT, "no count printed")
    if lo <= reported <= hi:
        return _row("Table of adverse events", text, AGREES,
                    f"possible: between the largest single-term count of worst grade >= 3 ({lo}) "
                    f"and {hi}")
    return _row("Table of adverse events", text, DISAGREES,
                f"impossible: must lie between {lo} (largest single-term count of worst grade "
                f">= 3) and {hi}")


def check_percentage(n: int, denom: int, printed_pct: Any) -> tuple[str, str]:
    """Is ``printed_pct`` equal to n/denom at its printed rounding?

    Parameters
    ----------
    n : int
        Numerator (patients with the event).
    denom : int
        Denominator.
    printed_pct : str or number
        The percentage as printed.

    Returns
    -------
    tuple of str
        ``(verdict, why)``.

    Examples
    --------
    >>> check_percentage(7, 12, "58.3")
    ('agrees', '7/12 = 58.33%')
    >>> check_percentage(7, 12, 60)
    ('disagrees', '7/12 = 58.33%, printed 60%')
    """
    if denom <= 0:
        return CANNOT, "denominator is zero"
    value = 100 * n / denom
    if agrees_at_rounding(value, printed_pct):
        return AGREES, f"{n}/{denom} = {value:.4g}%"
    return DISAGREES, f"{n}/{denom} = {value:.4g}%, printed {printed_pct}%"


def _row(source: str, text: str, verdict: str, why: str) -> dict[str, Any]:
    return {"source": source, "text": text, "reported": None, "recomputed": None,
            "difference": None, "verdict": verdict, "why": why}
