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
    return num.map(lambda v: f"{v:g}" if pd.notna(v) else None).where(num.notna(), text).where(
        x.notna(), None)


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
    A key present on only one side is a disagreement ("not derived" / "not recorded").
    Numbers compare as numbers (``2`` equals ``2.0``), categories as trimmed text.
    ``extra`` names further derived columns carried into the table (e.g. the day of the
    maximum grade).
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
