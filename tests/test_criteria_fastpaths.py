"""The fast paths of the vectorised engines give the hand-computed answers.

Covers the shortcuts added for speed (issue 3): categorical patient codes reused in
category order with unobserved categories, string and categorical keys giving the same
table, min/max folding of duplicates in the compiled scatter, the compiled ICAHT
interpolation and episode kernels against a plain-Python statement of the rules,
patient rows found without a string search, and CTCAE grades by counting the bounds
crossed. Expected values are
worked out by hand from the rules (criteria.md; CTCAE v5.0; Rejeski 2023).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from remission.derive.criteria import ctcae_grade, daily_features, early_icaht
from remission.derive.criteria.daily import column, with_variables

METHODS = ("auto", "dense", "sorted")


def _obs(rows):
    return pd.DataFrame(rows, columns=["patient_id", "day", "variable", "value", "category"])


@pytest.mark.parametrize("method", METHODS)
def test_categorical_ids_keep_category_order_and_drop_unobserved(method):
    obs = _obs([
        ("P1", 2, "anc", 0.9, None),
        ("P2", 0, "temperature", 37.0, None),
        ("P1", 2, "anc", 0.4, None),          # duplicate: ANC takes the day's minimum
        ("P2", 0, "temperature", 39.1, None),  # duplicate: temperature takes the maximum
        ("P1", 2, "anc", np.nan, None),       # missing value ignored
        ("P2", 0, "temperature", 38.2, None),
        ("P1", 5, "temperature", np.nan, None),  # a day with only missing values: no row
        ("P2", 1, "oxygen_device", np.nan, "cpap"),
        ("P2", 1, "oxygen_device", np.nan, "nasal_cannula"),  # worst device kept
    ]).astype({"patient_id": pd.CategoricalDtype(["P3", "P2", "P1"]),
               "variable": "category", "category": "category"})
    d = daily_features(obs, method)
    assert list(d["patient_id"]) == ["P2", "P2", "P1"]  # category order, P3 never observed
    assert list(d["day"]) == [0, 1, 2]
    assert d["temperature"].iat[0] == 39.1
    assert d["anc"].iat[2] == 0.4
    assert d["oxygen_device"].iat[1] == 7  # cpap: level 7 (room_air 0 ... cpap 7)
    assert d["patient_id"].dtype == object
    assert "sbp" not in d.columns and np.isnan(column(d, "sbp")).all()  # never observed
    assert list(d.columns) == ["patient_id", "day", "temperature", "oxygen_device", "anc",
                               "fever_sustained"]  # observed variables, vocabulary order
    assert list(with_variables(d, ["sbp", "anc"]).columns[-1:]) == ["sbp"]
    with pytest.raises(KeyError, match="sodium"):
        column(d, "sodium")


def test_grouped_sorted_table_without_duplicates():
    obs = _obs([("A", d, "anc", v, None) for d, v in [(0, 1.0), (1, 0.2), (3, 0.7)]]
               + [("A", d, "temperature", v, None) for d, v in [(0, 38.5), (3, 36.9)]]
               + [("B", 0, "temperature", 40.0, None)])
    obs = obs.sort_values(["variable", "patient_id", "day"], kind="stable")
    d = daily_features(obs, "dense").set_index(["patient_id", "day"])
    assert d.loc[("A", 1), "anc"] == 0.2 and d.loc[("A", 3), "anc"] == 0.7
    assert d.loc[("A", 0), "temperature"] == 38.5 and d.loc[("B", 0), "temperature"] == 40.0
    assert np.isnan(d.loc[("A", 1), "temperature"]) and len(d) == 4


@pytest.mark.parametrize("method", METHODS)
def test_string_and_categorical_keys_give_the_same_table(method):
    rng = np.random.default_rng(5)
    n = 400
    obs = _obs({"patient_id": rng.choice(["C", "A", "B"], n), "day": rng.integers(-2, 9, n),
                "variable": rng.choice(["anc", "temperature", "oxygen_device",
                                        "consciousness"], n),
                "value": np.round(rng.normal(5, 3, n), 1), "category": None})
    dev, cons = obs["variable"].eq("oxygen_device"), obs["variable"].eq("consciousness")
    obs.loc[dev, "category"] = rng.choice(["cpap", "room_air", "facemask"], dev.sum())
    obs.loc[cons, "category"] = rng.choice(["alert", "unarousable"], cons.sum())
    obs.loc[dev | cons, "value"] = np.nan
    obs.loc[rng.random(n) < 0.1, "value"] = np.nan
    a = daily_features(obs, method)
    b = daily_features(obs.astype({"patient_id": "category", "variable": "category",
                                   "category": "category"}), method)
    pd.testing.assert_frame_equal(a, b)
    ref = daily_features(obs, "sorted")
    pd.testing.assert_frame_equal(a, ref)
    # hand check of one cell: the lowest ANC of the day
    anc = obs[obs["variable"].eq("anc") & obs["value"].notna()]
    low = anc.groupby(["patient_id", "day"])["value"].min()
    got = a.set_index(["patient_id", "day"])["anc"].dropna()
    pd.testing.assert_series_equal(got.sort_index(), low.rename("anc").sort_index())


def test_unknown_or_missing_variable_is_named():
    obs = _obs([("A", 0, "anc", 1.0, None), ("A", 0, "sodium", 140.0, None),
                ("A", 1, None, 2.0, None)])
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['None', 'sodium'\]"):
        daily_features(obs)
    cat = obs.iloc[:2].astype({"variable": pd.CategoricalDtype(["anc", "sodium", "zzz"])})
    with pytest.raises(ValueError, match="sodium"):
        daily_features(cat)
    # an unknown category that no row uses is not an error
    ok = obs.iloc[:1].astype({"variable": pd.CategoricalDtype(["anc", "zzz"])})
    assert daily_features(ok)["anc"].tolist() == [1.0]


def test_early_icaht_rows_in_any_order():
    # B: ANC 0.3 on days 0-9 then 2.0 -> 10 days <= 500/µL -> grade 2; A: never low -> 0
    rows = [("B", d, 0.3 if d <= 9 else 2.0) for d in range(31)]
    rows += [("A", d, 3.0) for d in range(31)]
    daily = pd.DataFrame(rows, columns=["patient_id", "day", "anc"])
    daily = daily.sample(frac=1.0, random_state=3).reset_index(drop=True)
    e = early_icaht(daily)
    assert list(e["patient_id"]) == ["A", "B"]
    assert list(e["icaht_early_grade"]) == [0, 2]
    assert list(e["days_anc_le500"]) == [0, 10]


def test_ctcae_bound_counting_at_the_boundaries():
    x = np.array([1.5, 1.49, 1.0, 0.999, 0.5, 0.49, 0.0, np.nan])
    # CTCAE v5.0 neutrophils: <1.5-1.0 = 2, <1.0-0.5 = 3, <0.5 = 4; >= 1.5 needs the LLN
    np.testing.assert_array_equal(ctcae_grade(x, "anc", None),
                                  [np.nan, 2, 2, 3, 3, 4, 4, np.nan])
    np.testing.assert_array_equal(ctcae_grade(np.array([2.0, 1.6, 1.5, 1.4]), "anc", 2.0),
                                  [0, 1, 1, 2])
    np.testing.assert_array_equal(ctcae_grade(np.array([10.0, 9.9, 8.0, 7.9]), "hemoglobin",
                                              None), [np.nan, 2, 2, 3])


def _py_interpolate(row, maxgap):
    out = list(row)
    known = [j for j, v in enumerate(row) if v == v]
    for a, b in itertools.pairwise(known):
        if 1 < b - a <= maxgap + 1:
            for k in range(a + 1, b):
                out[k] = row[a] + (row[b] - row[a]) * (k - a) / (b - a)
    return out


def _py_episodes(row, thr, join_gap):
    state = [None if v != v else bool(v <= thr) for v in row]
    runs = []
    for j, s in enumerate(state):
        if runs and runs[-1][0] == s:
            runs[-1][2] += 1
        else:
            runs.append([s, j, 1])
    for i in range(1, len(runs) - 1):
        if runs[i][0] is False and runs[i][2] <= join_gap and runs[i - 1][0] is True \
                and runs[i + 1][0] is True:
            runs[i][0] = True
    eps = []
    for s, start, length in runs:
        if s is True and eps and eps[-1][0] + eps[-1][1] == start:
            eps[-1][1] += length
        elif s is True:
            eps.append([start, length])
    last = max((j for j, s in enumerate(state) if s is not None), default=-1)
    return (max((e[1] for e in eps), default=0), sum(e[1] for e in eps),
            any(e[0] <= 3 and e[0] + e[1] - 1 == last for e in eps))


def test_icaht_kernels_match_a_plain_statement_of_the_rules():
    from remission.derive.criteria.icaht import _episode_lengths, _interpolate_gaps

    rng = np.random.default_rng(11)
    for _ in range(60):
        n, w = int(rng.integers(1, 20)), int(rng.integers(1, 35))
        m = np.round(rng.uniform(0, 1.2, (n, w)), 2)
        m[rng.random((n, w)) < rng.uniform(0, 0.7)] = np.nan
        for maxgap in (0, 2, 7):
            got = _interpolate_gaps(m, maxgap)
            want = np.array([_py_interpolate(list(r), maxgap) for r in m])
            np.testing.assert_array_equal(got, want)
        for thr, join_gap in ((0.5, 2), (0.1, 2), (0.5, 0), (0.3, 4)):
            longest, cum, never = _episode_lengths(m, thr, join_gap)
            want = [_py_episodes(list(r), thr, join_gap) for r in m]
            assert longest.tolist() == [x[0] for x in want]
            assert cum.tolist() == [x[1] for x in want]
            assert never.tolist() == [x[2] for x in want]


def test_graders_accept_an_empty_table_and_very_short_follow_up():
    from remission.derive.criteria import grade_crs, grade_labs, grade_neurotoxicity
    from remission.derive.criteria.icaht import engraftment, late_icaht

    d = daily_features(_obs([]).astype({"day": np.int64, "value": float}))
    assert early_icaht(d).empty and engraftment(d).empty and late_icaht(d).empty
    assert grade_crs(d, "astct2019").empty and grade_neurotoxicity(d, "icans_astct2019").empty
    assert grade_labs(d).empty
    # two days of follow-up: no run of 3 days is possible, so no engraftment day
    short = pd.DataFrame({"patient_id": ["A", "A"], "day": [0, 1], "anc": [0.3, 0.9]})
    e = engraftment(short)
    assert e["neutrophil_engraftment_day"].isna().all() and not e["neutrophil_never_below"][0]


def _waiver_plain(daily_rows, tx_rows, agents):
    """ASTCT 2019 fever waiver as the rule reads, patient by patient (plain Python): the
    first start of an anti-cytokine agent (earliest day, then earliest clock time; a
    start without a day or time counts as the earliest, file order on ties), kept when
    the patient had fever >= 38.0 °C on a day >= 0 on or before that day."""
    out = {}
    for pid in sorted({r["patient_id"] for r in tx_rows}):
        starts = []
        for i, r in enumerate(tx_rows):
            if r["patient_id"] != pid or r["agent"] not in agents:
                continue
            h, _, m = r["time"].partition(":")
            ok = h.isdigit() and m.isdigit() and len(m) == 2 and int(h) < 24 and int(m) < 60
            day = float(r["start_day"]) if r["start_day"] != "" else None
            starts.append(((day is not None, day or 0.0), (ok, 60 * int(h) + int(m) if ok
                                                            else 0), i, day,
                           60.0 * int(h) + int(m) if ok else None))
        if not starts:
            continue
        _, _, _, day, minute = min(starts)
        fevers = [r["day"] for r in daily_rows if r["patient_id"] == pid
                  and r["temperature"] is not None and r["temperature"] >= 38.0
                  and r["day"] >= 0]
        if day is not None and any(f <= day for f in fevers):
            out[pid] = (day, minute)
    return out


def test_waiver_start_matches_a_plain_statement_of_the_rule():
    import random

    from remission.derive.criteria.crs import ANTICYTOKINE, _waiver_start

    rnd = random.Random(7)
    agents = ["tocilizumab", "dexamethasone", "paracetamol", "norepinephrine"]
    seen = 0
    for _ in range(70):
        pids = [f"P{i}" for i in range(rnd.randint(1, 4))]
        tx_rows = [{"patient_id": rnd.choice(pids), "agent": rnd.choice(agents),
                    "start_day": rnd.choice(["", "-1", "0", "2", "3", "3"]),
                    "time": rnd.choice(["", "08:00", "23:59", "7:05", "00:00"])}
                   for _ in range(rnd.randint(1, 6))]
        daily_rows = [{"patient_id": p, "day": d,
                       "temperature": rnd.choice([None, 37.0, 38.0, 39.5])}
                      for p in pids for d in range(-2, 6) if rnd.random() < 0.7]
        if not daily_rows:
            continue
        tx = pd.DataFrame(tx_rows)
        tx["start_day"] = pd.to_numeric(tx["start_day"])
        daily = pd.DataFrame(daily_rows).astype({"patient_id": "category",
                                                 "temperature": float})
        got = _waiver_start(daily, tx, ANTICYTOKINE, True)
        want = _waiver_plain(daily_rows, tx_rows, ANTICYTOKINE)
        assert {p: (d, None if np.isnan(m) else m) for p, d, m in
                zip(got.index, got["day"], got["minute"], strict=True)} == want
        seen += len(want)
    assert seen > 20


def test_febrile_neutropenia_pairing_matches_a_plain_statement_of_the_rule():
    import random

    from remission.derive.criteria.ctcae import grade_febrile_neutropenia

    rnd = random.Random(11)
    seen = 0
    for window in (0, 1, 2):
        for _ in range(25):
            rows = [{"patient_id": p, "day": d,
                     "temperature": rnd.choice([np.nan, 37.0, 38.1, 38.4, 39.5]),
                     "anc": rnd.choice([np.nan, 0.2, 0.99, 1.0, 3.0]),
                     "fever_sustained": rnd.random() < 0.2}
                    for p in ("P1", "P2", "P3") for d in range(-3, 9) if rnd.random() < 0.6]
            daily = pd.DataFrame(rows)
            want = []
            # CTCAE v5.0: ANC < 1.0 with T > 38.3 °C or >= 38.0 °C sustained > 1 h; the
            # nearest day with ANC < 1.0 within the window: same day, +1, -1, +2, -2 ...
            low = {(r["patient_id"], r["day"]): r["anc"] for r in rows if r["anc"] < 1.0}
            for r in rows:
                if not (r["temperature"] > 38.3 or r["fever_sustained"]):
                    continue
                for k in [0] + [s * j for j in range(1, window + 1) for s in (1, -1)]:
                    if (r["patient_id"], r["day"] + k) in low:
                        want.append((r["patient_id"], r["day"], low[(r["patient_id"],
                                                                     r["day"] + k)],
                                     r["day"] + k))
                        break
            got = grade_febrile_neutropenia(daily, window_days=window)
            assert list(zip(got["patient_id"], got["day"], got["anc"], got["anc_day"],
                            strict=True)) == want
            seen += len(want)
    assert seen > 40
