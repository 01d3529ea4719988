"""Recorded versus derived grades/responses: every disagreement, with the deciding rule."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from remission.derive.criteria._common import SYSTEMS
from remission.results import Result

__all__ = ["compare_recorded"]


def _norm(x: pd.Series) -> pd.Series:
    num = pd.to_numeric(x, errors="coerce")
    text = x.astype(str).str.strip()
    # a blank or whitespace-only cell is not a recorded value (CSV text columns keep "")
    return num.map(lambda v: f"{v:g}" if pd.notna(v) else None).where(num.notna(), text).where(
        x.notna() & text.ne(""), None)


def compare_recorded(
    recorded: pd.DataFrame,
    derived: pd.DataFrame,
    *,
    keys: Sequence[str] = ("patient_id",),
    recorded_value: str = "value",
    derived_value: str = "grade",
    rule: str = "rule",
    what: str = "grade",
    name: str = "derive.compare",
    extra: Sequence[str] = (),
) -> Result:
    """Compare a recorded value (e.g. ``crs_grade`` in patients.csv) with the derived one.

    Rows of the Result table are the disagreements (keys joined with " | "): recorded,
    derived, the rule that decided the derived value and the system that produced it.
    A key present on only one side, or a missing or blank value on one side, is a
    disagreement ("not derived" / "not recorded").
    Numbers compare as numbers (``2`` equals ``2.0``), categories as trimmed text.

    Parameters
    ----------
    recorded : DataFrame
        The recorded values with the ``keys`` columns and ``recorded_value``.
    derived : DataFrame
        The derived values with the ``keys`` columns, ``derived_value`` and optionally
        ``rule`` and ``system``.
    keys : sequence of str, default ("patient_id",)
        Columns identifying a comparison (e.g. patient, or patient and day).
    recorded_value, derived_value : str
        The compared columns of each side (default ``"value"`` and ``"grade"``).
    rule : str, default "rule"
        Column of ``derived`` naming what decided the value (renamed ``rule``).
    what : str, default "grade"
        What is compared, for the title and method.
    name : str, default "derive.compare"
        Name of the Result.
    extra : sequence of str, default ()
        Further derived columns carried into the table (e.g. the day of the maximum grade).

    Returns
    -------
    Result
        Table of disagreements with ``recorded, derived, rule, system, status`` (``status``
        = ``disagree``, ``not derived`` or ``not recorded``); ``params`` holds
        ``n_compared, n_agree, n_disagree, systems``; a warning when no key is on both
        sides.

    Examples
    --------
    P1 agrees (2 and 2.0), P2 disagrees, P3 was not derived, P4 not recorded:

    >>> rec = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "value": [2, "3", 1]})
    >>> der = pd.DataFrame({"patient_id": ["P1", "P2", "P4"], "grade": [2.0, 2, 1],
    ...                     "rule": ["hypotension", "hypoxia", "fever"], "system": "astct2019"})
    >>> r = compare_recorded(rec, der)
    >>> r.table["status"].to_dict()
    {'P2': 'disagree', 'P3': 'not derived', 'P4': 'not recorded'}
    >>> r.params["n_compared"], r.params["n_agree"]
    (2, 1)
    """
    keys = list(keys)
    r = recorded[[*keys, recorded_value]].rename(columns={recorded_value: "recorded"})
    dcols = [*keys, derived_value] + [c for c in (rule, "system", *extra)
                                      if c in derived.columns]
    d = derived[dcols].rename(columns={derived_value: "derived", rule: "rule"})
    m = r.merge(d, on=keys, how="outer", indicator=True)
    rec, der = _norm(m["recorded"]), _norm(m["derived"])
    status = np.select(
        [m["_merge"].eq("left_only") | der.isna(), m["_merge"].eq("right_only") | rec.isna(),
         rec != der],
        ["not derived", "not recorded", "disagree"], "agree")
    m["status"] = status
    compared = int((m["_merge"] == "both").sum())
    agree = int((status == "agree").sum())
    bad = m[status != "agree"].drop(columns="_merge").reset_index(drop=True)
    bad = bad.sort_values(keys, kind="stable")
    bad.index = [" | ".join(str(v) for v in row) for row in bad[keys].itertuples(index=False)]
    systems = sorted(set(d.get("system", pd.Series(dtype=object)).dropna()))
    warnings = []
    if compared == 0:
        warnings.append("no key present in both the recorded and the derived table")
    return Result(
        name=name,
        title=f"Recorded vs derived {what}: {len(bad)} disagreement(s) of {len(m)}",
        table=bad,
        method=(f"Recorded {what} compared with the value derived from raw observations "
                f"({', '.join(SYSTEMS.get(s, s) for s in systems) or 'system not recorded'}); "
                "each disagreement lists the rule that decided the derived value."),
        rationale="Published or case-report-form values are re-derived from raw data.",
        warnings=tuple(warnings),
        references=tuple(SYSTEMS.get(s, s) for s in systems),
        params={"keys": keys, "n_compared": compared, "n_agree": agree,
                "n_disagree": len(bad), "systems": systems},
        section="safety",
    )
