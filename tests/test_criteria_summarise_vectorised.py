"""``summarise_by_infusion`` (one vectorised pass) equals the per-window loop it
replaced, kept here as the brute-force oracle, on random graded days with ties,
several infusions per patient, windows without any graded day >= 1, and categorical
patient ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria._common import summarise_by_infusion


def loop_oracle(graded: pd.DataFrame, what: str) -> pd.DataFrame:
    g = graded.dropna(subset=["infusion"])
    rows = []
    for (pid, inf), sub in g.groupby(["patient_id", "infusion"], sort=True, observed=True):
        pos = sub[sub["grade"] >= 1]
        top = sub.sort_values(["grade", "day"], ascending=[False, True], kind="stable").iloc[0]
        inf_day = int(sub["infusion_day"].iloc[0])
        rows.append({
            "patient_id": pid, "infusion": int(inf), "infusion_day": inf_day,
            f"{what}_max_grade": int(top["grade"]),
            f"{what}_onset_day": int(pos["day"].min()) if len(pos) else pd.NA,
            "onset_days_after_infusion": int(pos["day"].min()) - inf_day if len(pos) else pd.NA,
            f"{what}_duration_days": len(pos),
            "rule": top["decided_by"], "system": top["system"]})
    out = pd.DataFrame(rows)
    for c in (f"{what}_onset_day", "onset_days_after_infusion"):
        if c in out:
            out[c] = out[c].astype("Int64")
    return out


def graded_days(seed: int, categorical: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(40):
        n_inf = int(rng.integers(1, 4))
        for inf in range(1, n_inf + 1):
            inf_day = 14 * (inf - 1)
            for day in range(inf_day, inf_day + int(rng.integers(1, 12))):
                grade = int(rng.choice([0, 0, 0, 1, 2, 3, 4])) if i % 7 else 0
                rows.append({"patient_id": f"P{i:03d}", "infusion": float(inf),
                             "infusion_day": inf_day, "day": day, "grade": grade,
                             "decided_by": f"rule{day % 3}", "system": "astct2019"})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    df.loc[df.index[:5], "infusion"] = np.nan  # days outside every window are ignored
    if categorical:
        df["patient_id"] = df["patient_id"].astype("category")
    return df


@pytest.mark.parametrize("categorical", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_vectorised_summary_equals_per_window_loop(seed: int, categorical: bool) -> None:
    g = graded_days(seed, categorical)
    got = summarise_by_infusion(g, "crs")
    want = loop_oracle(g, "crs")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)
    assert (got["crs_duration_days"] == 0).any()  # windows with no grade >= 1 are covered
    assert got["crs_onset_day"].isna().any()


def test_no_window_gives_empty_frame() -> None:
    g = graded_days(1, False).assign(infusion=np.nan)
    assert summarise_by_infusion(g, "crs").empty


@pytest.mark.parametrize("what", ["crs", "icans"])
def test_empty_and_non_empty_summaries_share_columns_and_dtypes(what: str) -> None:
    # one column list (infusion_summary_columns) for both branches: a table with nothing
    # graded has exactly the columns and dtypes of a graded one, in the same order
    full = summarise_by_infusion(graded_days(4, False), what)
    empty = summarise_by_infusion(graded_days(4, False).iloc[:0], what)
    no_window = summarise_by_infusion(graded_days(4, False).drop(columns="infusion"), what)
    assert len(full) > 0 and len(empty) == 0 and len(no_window) == 0
    assert list(empty.columns) == list(full.columns) == list(no_window.columns)
    assert empty.dtypes.astype(str).tolist() == full.dtypes.astype(str).tolist()
    assert no_window.dtypes.astype(str).tolist() == full.dtypes.astype(str).tolist()
