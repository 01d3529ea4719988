"""Infusion windows (issue 10, "Infusion window").

ASTCT 2019 (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638) defines CRS as
"a supraphysiologic response following any immune therapy that results in the activation
or engagement of endogenous or infused T cells and/or other immune effector cells", and
ICANS likewise as a disorder "following any immune therapy ...": neither can be graded
from observations made before the cells were given.
"""

from __future__ import annotations

import pandas as pd
import pytest

from remission.derive.criteria import grade_all, grade_crs, grade_neurotoxicity
from remission.derive.criteria.infusions import infusion_days
from remission.vocab.vocabulary import normalise_observations
from tests.test_criteria_common import daily_from, obs_frame


def test_fever_and_vasopressor_before_day0_give_no_crs_grade():
    # day -2: febrile (infection during lymphodepletion) on norepinephrine -> would be
    # ASTCT grade 3 if it were CRS; it is before the infusion, so no grade at all
    daily = daily_from([("P1", -2, "temperature", 38.9), ("P1", -2, "norepinephrine", 8),
                        ("P1", 1, "temperature", 37.0)])
    g = grade_crs(daily, "astct2019")
    assert list(g["day"]) == [1] and list(g["grade"]) == [0]
    assert g.attrs["excluded"] and "before the first cell infusion" in g.attrs["excluded"][0]


def test_low_ice_before_day0_gives_no_icans_grade():
    daily = daily_from([("P1", -2, "ice_score", 2), ("P1", 0, "ice_score", 10)])
    g = grade_neurotoxicity(daily, "icans_astct2019")
    assert list(g["day"]) == [0] and g["grade"].max() == 0


def test_each_grade_names_its_infusion_window():
    # CAR-NK given on day 0 and again on day 14 (treatments.csv, role infusion); a CD34+
    # boost on day 40 (events.csv). CRS after the second dose belongs to infusion 2.
    tx = pd.DataFrame({"patient_id": ["P1", "P1", "P2"],
                       "agent": ["CD123 CAR-NK", "CD123 CAR-NK", "CD123 CAR-NK"],
                       "start_day": [0, 14, 0], "role": ["infusion", "infusion", "infusion"]})
    ev = pd.DataFrame({"patient_id": ["P1"], "day": [40], "event": ["stem_cell_boost"]})
    inf = infusion_days(["P1", "P2"], tx, ev)
    assert inf[["patient_id", "infusion", "day"]].values.tolist() == [
        ["P1", 1, 0], ["P1", 2, 14], ["P1", 3, 40], ["P2", 1, 0]]
    daily = daily_from([("P1", 2, "temperature", 38.4), ("P1", 15, "temperature", 38.2),
                        ("P1", 15, "hypotension", "yes"), ("P1", 41, "temperature", 37.0),
                        ("P2", 3, "temperature", 37.1)])
    g = grade_crs(daily, "astct2019", tx, ev, infusions=inf).set_index(["patient_id", "day"])
    assert g.loc[("P1", 2), ["grade", "infusion", "infusion_day"]].tolist() == [1, 1, 0]
    assert g.loc[("P1", 15), ["grade", "infusion", "infusion_day"]].tolist() == [2, 2, 14]
    assert g.loc[("P1", 41), ["infusion", "infusion_day"]].tolist() == [3, 40]
    assert g.loc[("P2", 3), ["infusion", "infusion_day"]].tolist() == [1, 0]


def test_product_named_in_study_opens_a_window_and_summary_per_window():
    tx = pd.DataFrame({"patient_id": ["P1", "P1"], "agent": ["SYN CAR-NK", "SYN CAR-NK"],
                       "start_day": [0, 7]})
    rows = [("P1", 1, "temperature", 38.3), ("P1", 8, "temperature", 38.1),
            ("P1", 9, "temperature", 38.5), ("P1", 9, "oxygen_device", "facemask"),
            ("P1", -1, "temperature", 39.0)]
    obs = normalise_observations(obs_frame(rows))
    out = grade_all(obs, treatments=tx, response=None, products=("SYN CAR-NK",))
    s = out["crs_by_infusion"].set_index("infusion")
    assert s.loc[1, "crs_max_grade"] == 1 and s.loc[1, "crs_onset_day"] == 1
    assert s.loc[2, "crs_max_grade"] == 3 and s.loc[2, "crs_onset_day"] == 8
    assert s.loc[2, "onset_days_after_infusion"] == 1 and s.loc[2, "crs_duration_days"] == 2
    assert out["crs"]["crs_onset_day"].iloc[0] == 1  # the day -1 fever is not CRS onset


def test_precomputed_infusions_give_the_same_grades_and_are_used():
    # grade_all(infusions=...) lets a caller that grades one patient many times (live
    # grading in remission web) compute the windows once; same tables -> same output.
    tx = pd.DataFrame({"patient_id": ["P1", "P1"], "agent": ["SYN CAR-NK", "SYN CAR-NK"],
                       "start_day": [0, 7]})
    rows = [("P1", 1, "temperature", 38.3), ("P1", 8, "temperature", 38.1),
            ("P1", 9, "temperature", 38.5), ("P1", 9, "oxygen_device", "facemask")]
    obs = normalise_observations(obs_frame(rows))
    kw = dict(treatments=tx, response=None, products=("SYN CAR-NK",), summaries=False)
    plain = grade_all(obs, **kw)
    inf = infusion_days(["P1"], tx, None, ("SYN CAR-NK",))
    given = grade_all(obs, infusions=inf, **kw)
    for k in ("daily", "crs_daily", "neuro_daily", "labs", "febrile_neutropenia"):
        pd.testing.assert_frame_equal(plain[k], given[k])
    # the argument is what is used: with day 0 only, day 9 belongs to window 1
    only0 = grade_all(obs, infusions=inf[inf["day"] == 0].reset_index(drop=True), **kw)
    d9 = only0["crs_daily"].set_index("day").loc[9]
    assert (int(d9["infusion"]), int(d9["infusion_day"])) == (1, 0)
    assert int(plain["crs_daily"].set_index("day").loc[9, "infusion"]) == 2


def test_cytopenia_before_day0_is_baseline_not_post_infusion():
    # venetoclax lead-in: ANC 0.3 (CTCAE v5.0 grade 4, < 0.5) on day -3; after infusion
    # the nadir is 0.7 (grade 3, < 1.0-0.5). Post-infusion worst grade stays 3; the
    # lead-in grade 4 is reported as baseline.
    from remission.analyses.raw import cytopenia as raw_cytopenia

    rows = [("P1", -3, "anc", 0.3), ("P1", 2, "anc", 0.7), ("P1", 5, "anc", 1.2),
            ("P2", -3, "anc", 1.6), ("P2", 4, "anc", 0.4)]
    obs = normalise_observations(obs_frame(rows))
    out = grade_all(obs, response=None, lln={"anc": 1.8})
    ids = pd.Index(["P1", "P2"])
    t = raw_cytopenia.cytopenia_table(out, ids, pd.Series(["A", "A"], index=ids))
    assert t.loc["P1", "anc_worst_grade"] == 3 and t.loc["P1", "anc_baseline_worst_grade"] == 4
    assert not t.loc["P1", "anc_worse_than_baseline"]
    assert t.loc["P2", "anc_baseline_worst_grade"] == 1 and t.loc["P2", "anc_worst_grade"] == 4
    assert t.loc["P2", "anc_worse_than_baseline"]


def test_study_with_second_infusion_salvage_and_attribution_end_to_end(tmp_path):
    """Through the study loader and the report's derivation: a second infusion gets its own
    window Result, a salvage closes late ICAHT, attributed fevers are listed."""
    import shutil
    from pathlib import Path

    from remission.analyses.raw import analyse_raw
    from remission.derive.adsl import derive_adsl
    from remission.study import load_study

    dst = tmp_path / "s"
    shutil.copytree(Path(__file__).parents[1] / "examples" / "synthetic-cart-raw", dst)
    tx = pd.read_csv(dst / "treatments.csv")
    tx["role"] = ""
    tx.loc[len(tx)] = ["P003", "SYN CAR-T", 14, 14, 1.0, "cells", "infusion"]
    tx.loc[len(tx)] = ["P004", "Vidaza", 40, 46, 75.0, "mg/m2", "salvage"]
    tx.to_csv(dst / "treatments.csv", index=False)
    ob = pd.read_csv(dst / "observations.csv")
    ob["attributed_to"] = ""
    hot = ob.index[(ob["variable"] == "temperature")
                   & (pd.to_numeric(ob["value"], errors="coerce") >= 38)][:2]
    ob.loc[hot, "attributed_to"] = "line infection"
    ob.to_csv(dst / "observations.csv", index=False)
    study = load_study(dst)
    assert study.warnings == []  # every agent readable (Vidaza = azacitidine)
    results, _ = analyse_raw(study, derive_adsl(study), figures=False)
    by = {r.name: r for r in results}
    win = by["derived.crs_by_infusion"].table
    p3 = win[win["patient_id"] == "P003"]
    assert p3["infusion_day"].tolist() == [0, 14]
    assert p3["infusion_source"].iat[1] == "treatments.csv: SYN CAR-T"
    cyto = by["derived.cytopenia"].table
    assert cyto.loc["P004", "late_window_end_day"] == 40
    assert "Vidaza (role salvage)" in cyto.loc["P004", "late_window_closed_by"]
    assert any("(line infection)" in w for w in by["derived.crs"].warnings)


@pytest.mark.parametrize("few_rows", [256, -1], ids=["row-by-row", "vectorised"])
def test_annotate_windows_equals_merge_asof_on_random_tables(monkeypatch, few_rows):
    """annotate_windows (row by row on a few rows, else one searchsorted on patient/day
    keys) against pandas' merge_asof by patient, backward (the library's statement of
    "latest infusion on or before the day"), on random tables: negative days, several
    infusions, patients without any; both ways of window_arrays."""
    import numpy as np
    import pandas as pd

    from remission.derive.criteria import infusions
    from remission.derive.criteria.infusions import annotate_windows

    monkeypatch.setattr(infusions, "_FEW_ROWS", few_rows)

    rng = np.random.default_rng(7)
    for _ in range(30):
        pids = [f"P{i}" for i in range(rng.integers(1, 8))]
        graded = pd.DataFrame({"patient_id": rng.choice(pids, 60),
                               "day": rng.integers(-10, 60, 60), "grade": 1})
        inf = pd.DataFrame({"patient_id": rng.choice(pids[:max(1, len(pids) - 1)], 6),
                            "day": rng.integers(-3, 50, 6)}).drop_duplicates(
            ["patient_id", "day"]).sort_values(["patient_id", "day"])
        inf["infusion"] = inf.groupby("patient_id").cumcount() + 1
        got = annotate_windows(graded, inf)
        left = graded.assign(_pos=np.arange(len(graded))).sort_values("day")
        right = inf.assign(infusion_day=inf["day"]).sort_values("day")
        m = pd.merge_asof(left, right, on="day", by="patient_id",
                          direction="backward").sort_values("_pos")
        absent = ~graded["patient_id"].isin(set(inf["patient_id"])).to_numpy() & (
            graded["day"].to_numpy() >= 0)
        want_inf = np.where(absent, 1, m["infusion"].to_numpy())
        want_day = np.where(absent, 0, m["infusion_day"].to_numpy())
        assert got["infusion"].dtype == "Int64"
        np.testing.assert_array_equal(got["infusion"].to_numpy(dtype=float, na_value=np.nan),
                                      want_inf.astype(float))
        np.testing.assert_array_equal(
            got["infusion_day"].to_numpy(dtype=float, na_value=np.nan),
            want_day.astype(float))


def test_window_arrays_row_by_row_equals_vectorised_on_random_tables(monkeypatch):
    """The few-row lookup of window_arrays gives the vectorised one's arrays exactly:
    integer and text patient IDs read as text, tied infusion days (the last row in table
    order wins), unsorted infusion tables, patients absent from them, negative days."""
    import numpy as np

    from remission.derive.criteria import infusions
    from remission.derive.criteria.infusions import window_arrays

    rng = np.random.default_rng(11)
    for _ in range(60):
        pids = [f"P{i}" for i in range(rng.integers(1, 6))] + [7, "7"]
        n = int(rng.integers(0, 40))
        pid = [pids[k] for k in rng.integers(0, len(pids), n)]
        day = rng.integers(-10, 60, n)
        m = int(rng.integers(1, 8))
        inf = pd.DataFrame({"patient_id": [pids[k] for k in rng.integers(0, len(pids), m)],
                            "infusion": rng.integers(1, 4, m),
                            "day": rng.integers(-3, 50, m)})
        for ids in (pid, pd.Series(pid, dtype=object)):
            monkeypatch.setattr(infusions, "_FEW_ROWS", 256)
            few = window_arrays(ids, day, inf)
            monkeypatch.setattr(infusions, "_FEW_ROWS", -1)
            vec = window_arrays(ids, day, inf)
            for a, b in zip(few, vec, strict=True):
                assert a.dtype == b.dtype
                np.testing.assert_array_equal(a, b)
