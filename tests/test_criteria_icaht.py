"""EHA/EBMT ICAHT and engraftment (criteria.md §5, §10), hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria.icaht import (
    _episode_lengths,
    _interpolate_gaps,
    _late_window_end,
    early_icaht,
    engraftment,
    late_icaht,
)


def anc_daily(series: dict[str, dict[int, float]], var: str = "anc") -> pd.DataFrame:
    rows = [(p, d, v) for p, s in series.items() for d, v in s.items()]
    return pd.DataFrame(rows, columns=["patient_id", "day", var])


def course(low_days: range, low: float = 0.3, high: float = 2.0, last: int = 30):
    return {d: (low if d in low_days else high) for d in range(0, last + 1)}


@pytest.mark.parametrize("n_low,grade", [
    (0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (30, 3), (31, 4),
])
def test_early_grade_by_days_le500(n_low, grade):
    # episode from day 5 (the day 0-3 no-recovery rule does not apply); 30 days = days 0-29
    # with day 30 above 500/µL; 31 days = every day 0-30
    start = 0 if n_low >= 30 else 5
    d = anc_daily({"P1": course(range(start, start + n_low))})
    e = early_icaht(d)
    assert e["days_anc_le500"].iat[0] == n_low
    assert e["icaht_early_grade"].iat[0] == grade


@pytest.mark.parametrize("n_le100,grade", [(6, 2), (7, 3), (13, 3), (14, 4)])
def test_early_grade_by_days_le100(n_le100, grade):
    s = course(range(5, 15), low=0.3)  # >= 10 days <= 500 -> grade 2 from that row
    s.update({d: 0.3 for d in range(5, 5 + max(n_le100, 10))})
    for d in range(5, 5 + n_le100):
        s[d] = 0.05
    e = early_icaht(anc_daily({"P1": s}))
    assert e["days_anc_le100"].iat[0] == n_le100
    assert e["icaht_early_grade"].iat[0] == grade


@pytest.mark.parametrize("value,counts", [(0.5, True), (0.501, False)])
def test_anc_500_counts_as_neutropenic(value, counts):
    e = early_icaht(anc_daily({"P1": course(range(5, 12), low=value)}))
    assert (e["days_anc_le500"].iat[0] == 7) == counts


def test_joined_episodes_and_counting_readings():
    # 6 low, 2 high (non-stable recovery: joined), 6 low -> one 14-day episode
    joined = course(set(range(2, 8)) | set(range(10, 16)))
    # 6 low, 3 high (stable recovery), 6 low -> two 6-day episodes
    split = course(set(range(2, 8)) | set(range(11, 17)))
    d = anc_daily({"J": joined, "S": split})
    longest = early_icaht(d).set_index("patient_id")
    cum = early_icaht(d, counting="cumulative").set_index("patient_id")
    assert longest.loc["J", "days_anc_le500"] == 14 and longest.loc["J", "icaht_early_grade"] == 3
    assert longest.loc["S", "days_anc_le500"] == 6 and longest.loc["S", "icaht_early_grade"] == 1
    assert cum.loc["S", "days_anc_le500"] == 12 and cum.loc["S", "icaht_early_grade"] == 2
    assert set(cum["counting"]) == {"cumulative"}


def test_interpolation_maxgap_seven():
    m = np.array([[1.0] + [np.nan] * 7 + [9.0] + [np.nan] * 8 + [0.0]])
    out = _interpolate_gaps(m, 7)
    np.testing.assert_allclose(out[0, :9], np.arange(1.0, 10.0))  # 7-day gap filled linearly
    assert np.isnan(out[0, 9:17]).all()  # 8-day gap left missing
    lead = np.array([[np.nan, 2.0, np.nan, 4.0, np.nan]])
    np.testing.assert_allclose(_interpolate_gaps(lead, 7), [[np.nan, 2.0, 3.0, 4.0, np.nan]])


def test_long_gap_breaks_episode():
    s = course(range(5, 25))
    for d in range(10, 18):  # 8 missing days inside the episode: not interpolated
        del s[d]
    e = early_icaht(anc_daily({"P1": s}))
    assert e["days_anc_le500"].iat[0] == 7  # days 18-24 (days 5-9 = 5 days)
    s2 = course(range(5, 25))
    for d in range(10, 17):  # 7 missing days: interpolated between two low values
        del s2[d]
    assert early_icaht(anc_daily({"P2": s2}))["days_anc_le500"].iat[0] == 20


def test_no_recovery_from_day_0_to_3_is_grade_4():
    early_death = {d: 0.2 for d in range(2, 10)}  # died day 9, never recovered
    late_onset = {d: (0.2 if d >= 4 else 2.0) for d in range(0, 10)}
    e = early_icaht(anc_daily({"A": early_death, "B": late_onset})).set_index("patient_id")
    assert e.loc["A", "icaht_early_grade"] == 4
    assert e.loc["A", "rule"] == "onset d0-3, no recovery"
    assert e.loc["B", "icaht_early_grade"] == 1  # onset day 4: 6 days only


def test_episode_lengths_direct():
    st = np.array([[0.2, 0.2, 1.0, 1.0, 0.2, 1.0, 1.0, 1.0, 0.2]])
    longest, cum, never = _episode_lengths(st, 0.5)
    assert (longest[0], cum[0], never[0]) == (5, 6, False)


@pytest.mark.parametrize("values,grade,used", [
    ([1.6, 2.0], 0, 2.0), ([1.5, 1.5], 1, 1.5), ([1.4, 1.51], 0, 1.51),
    ([1.0, 0.9], 2, 1.0), ([1.01, 0.9], 1, 1.01), ([0.5, 0.3], 3, 0.5),
    ([0.51, 0.3], 2, 0.51), ([0.1, 0.05], 4, 0.1), ([0.11, 0.05], 3, 0.11),
    ([0.9], 2, 0.9),  # a single measurement is graded on its own
    ([0.05, 2.0, 2.0], 0, 2.0),  # one transient low value: second-lowest decides
])
def test_late_icaht_second_lowest(values, grade, used):
    d = anc_daily({"P1": {31 + 7 * k: v for k, v in enumerate(values)}})
    late = late_icaht(d)
    assert late["icaht_late_grade"].iat[0] == grade
    assert late["late_anc_used"].iat[0] == used


def test_late_window_end():
    d = anc_daily({"P1": {35: 0.05, 42: 0.05, 60: 2.0, 70: 2.0}})
    assert late_icaht(d)["icaht_late_grade"].iat[0] == 4
    end = pd.Series({"P1": 30})
    assert late_icaht(d, window_end=end)["icaht_late_grade"].isna().all()
    assert late_icaht(d, window_end=pd.Series({"P1": 50}))["late_n_anc"].iat[0] == 2


def test_engraftment_days():
    anc = {0: 1.0, 1: 0.3, 2: 0.2, 3: 0.6, 4: 0.7, 5: 0.3, 6: 0.5, 7: 0.6, 8: 0.8, 9: 1.0}
    plt = {0: 50, 1: 15, 2: 10, 3: 25, 4: 30, 5: 35, 6: 40, 7: 45, 8: 50, 9: 55, 10: 60,
           11: 60, 12: 60, 13: 60, 14: 60, 15: 60}
    tx = {2: 1.0, 5: 1.0}  # platelet transfusions (level index 1 = yes)
    d = (anc_daily({"P1": anc}).merge(anc_daily({"P1": plt}, "platelets"), how="outer")
         .merge(anc_daily({"P1": tx}, "platelet_transfusion"), how="outer"))
    e = engraftment(d).iloc[0]
    assert e["neutrophil_engraftment_day"] == 6  # 0.5, 0.6, 0.8: 0.5 counts (>=)
    # >= 20 from day 3, but transfusion on day 5 -> first 3-day run with none in the 7 days
    # before any of them starts on day 13 (days 13-15; last transfusion day 5)
    assert e["platelet_engraftment_day"] == 13
    # platelet threshold both sides: 19.9 does not count, 20 does
    plt2 = {0: 10, 1: 20, 2: 20, 3: 19.9, 4: 20, 5: 20, 6: 20}
    e2 = engraftment(anc_daily({"P3": plt2}, "platelets")).iloc[0]
    assert e2["platelet_engraftment_day"] == 4
    never = engraftment(anc_daily({"P2": {d: 2.0 for d in range(5)}})).iloc[0]
    assert pd.isna(never["neutrophil_engraftment_day"]) and never["neutrophil_never_below"]


def test_late_window_end_from_events_and_next_therapy():
    ev = pd.DataFrame({"patient_id": ["A", "A", "B", "C"], "day": [20, 60, 150, 45],
                       "event": ["response_assessment", "relapse", "death", "transplant"]})
    tx = pd.DataFrame({"patient_id": ["B", "D"], "agent": ["venetoclax", "Azacitidine"],
                       "start_day": [70, 40]})
    end = _late_window_end(ev, tx, next_therapy=("azacitidine", "venetoclax"))
    assert end.to_dict() == {"A": 60, "B": 70, "C": 45, "D": 40}
    assert _late_window_end(ev).to_dict() == {"A": 60, "B": 100, "C": 45}


# ---- next therapy closes the late window (issue 10). Rejeski et al., Blood 2023: late
# ICAHT is graded from day +31 to the earliest of day +100, progression/relapse, the next
# therapy (e.g. salvage chemotherapy, HMA + venetoclax, a second infusion, transplant),
# death or last follow-up.
def _late_obs():
    from remission.vocab.vocabulary import normalise_observations
    from tests.test_criteria_common import obs_frame

    rows = []
    for p in ("R", "L", "I", "T", "N"):
        rows += [(p, 35, "anc", 1.2), (p, 40, "anc", 1.4), (p, 60, "anc", 0.3),
                 (p, 70, "anc", 0.2)]
    return normalise_observations(obs_frame(rows))


def test_next_therapy_from_role_line_infusion_and_transplant_closes_late_window():
    from remission.derive.criteria import grade_all

    tx = pd.DataFrame({
        "patient_id": ["R", "R", "L", "L", "I", "I", "T", "N"],
        "agent": ["CLL1 CAR-T", "azacitidine", "CLL1 CAR-T", "FLAG-Ida", "CLL1 CAR-T",
                  "CLL1 CAR-T", "Haplo-HSCT", "fludarabine"],
        "start_day": [0, 45, 0, 50, 0, 55, 58, -5],
        "role": ["infusion", "salvage", "infusion", "", "infusion", "infusion", "", ""],
        "line": [3, 4, 3, 4, 3, 3, None, None]})
    out = grade_all(_late_obs(), treatments=tx, response=None, products=("CLL1 CAR-T",))
    ic = out["icaht"].set_index("patient_id")
    # R: salvage on day 45 -> ANC of days 35 and 40 only: second lowest 1.4 -> grade 1
    assert ic.loc["R", "late_window_end_day"] == 45 and ic.loc["R", "icaht_late_grade"] == 1
    assert "role salvage" in ic.loc["R", "late_window_closed_by"]
    # L: a higher line of therapy on day 50
    assert ic.loc["L", "late_window_end_day"] == 50 and "line 4" in ic.loc[
        "L", "late_window_closed_by"]
    # I: second infusion on day 55; T: transplant (drug vocabulary) on day 58
    assert ic.loc["I", "late_window_end_day"] == 55 and ic.loc["I", "icaht_late_grade"] == 1
    assert ic.loc["T", "late_window_end_day"] == 58 and "next therapy" in ic.loc[
        "T", "late_window_closed_by"]
    # N: nothing after day 30 -> day 100; second lowest of 1.2, 1.4, 0.3, 0.2 = 0.3 -> G3
    assert ic.loc["N", "late_window_closed_by"] == "day 100"
    assert ic.loc["N", "icaht_late_grade"] == 3


def test_next_therapy_event_closes_late_window():
    ev = pd.DataFrame({"patient_id": ["A"], "day": [50], "event": ["next_therapy"]})
    assert _late_window_end(ev).to_dict() == {"A": 50}


def test_platelet_transfusion_in_treatments_counts_for_engraftment():
    # CIBMTR platelet engraftment: first of 3 consecutive days >= 20 x10^9/L without a
    # platelet transfusion in the preceding 7 days. The transfusion on day 10 is recorded
    # in treatments.csv ("platelet concentrate"), not as an observation.
    from remission.derive.criteria import grade_all
    from remission.vocab.vocabulary import normalise_observations
    from tests.test_criteria_common import obs_frame

    rows = [("P1", d, "platelets", 10 if d < 9 else 40) for d in range(0, 25)]
    obs = normalise_observations(obs_frame(rows))
    tx = pd.DataFrame({"patient_id": ["P1"], "agent": ["platelet concentrate"],
                       "start_day": [10], "end_day": [10]})
    without = grade_all(obs, response=None)["engraftment"]
    with_tx = grade_all(obs, treatments=tx, response=None)["engraftment"]
    assert without["platelet_engraftment_day"].iat[0] == 9
    assert with_tx["platelet_engraftment_day"].iat[0] == 18  # day 10 + 7 transfusion-free
