"""Session 13's power condition over three fresh streams (benchmarks/sim_donor/README.md,
"Session 13", the rule landed before any run on streams 10, 14, 15 and 17):
``benchmarks/sim_donor/power_streams.py`` on hand-made counts, at each threshold, and
the false-positive range against a brute-force binomial sum."""

from __future__ import annotations

from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from tests.benchsmoke import load_script

DONOR = Path(__file__).parents[1] / "benchmarks" / "sim_donor"


def _load(name: str):
    return load_script(f"benchmarks/sim_donor/{name}.py")


ps = _load("power_streams")


def _cdf(n: int, p: float) -> list[float]:
    """P(X <= k) for k = 0 .. n, summed term by term from the binomial formula."""
    out, acc = [], 0.0
    for i in range(n + 1):
        acc += comb(n, i) * p**i * (1 - p) ** (n - i)
        out.append(acc)
    return out


def test_false_positive_range_is_the_central_binomial_95_range() -> None:
    """The rule's text: 20 to 41 of 600 (and session 11's 4-16 of 200). Brute force: the
    lower end is the smallest k with P(X <= k) >= 0.025, the upper the smallest k with
    P(X <= k) >= 0.975."""
    assert ps.fp_range(600) == (20, 41)
    assert ps.fp_range(200) == (4, 16)
    for n in (200, 600):
        cdf = _cdf(n, 0.05)
        lo = min(k for k in range(n) if cdf[k] >= 0.025)
        hi = min(k for k in range(n) if cdf[k] >= 0.975)
        assert ps.fp_range(n) == (lo, hi)


def test_caught_is_hits_at_most_5_of_101() -> None:
    assert ps.caught(5) and not ps.caught(6)
    assert ps.caught(1) and not ps.caught(101)


def _counts(values: dict[str, int], check: str = "002") -> dict[tuple[str, str], int]:
    return {(check, k): v for k, v in values.items()}


FP_OK = {"002": (30, 600), "002 + 004": (30, 600)}


def test_condition_a_one_stream_may_be_lost_not_two() -> None:
    s = _counts({"il6_car x3": 2, "car_exhaustion x0.3": 1})
    assert not any(ps.condition(s, _counts({"il6_car x3": 1, "car_exhaustion x0.3": 1}),
                                FP_OK, 3).values())
    v = ps.condition(s, _counts({"il6_car x3": 0, "car_exhaustion x0.3": 1}), FP_OK, 3)
    assert v["a"] and not v["b"] and not v["c"] and not v["d"]


def test_condition_b_a_sure_detection_keeps_two_of_three() -> None:
    s = _counts({"il6_car x3": 3})
    assert not any(ps.condition(s, _counts({"il6_car x3": 2}), FP_OK, 3).values())
    v = ps.condition(s, _counts({"il6_car x3": 1}), FP_OK, 3)
    assert v["b"] and v["a"]  # 1 < 3 - 1 breaks (a) as well
    # (b) without (a): S 2 of 3 is not "caught on every stream"
    assert not ps.condition(_counts({"il6_car x3": 2}), _counts({"il6_car x3": 1}),
                            FP_OK, 3)["b"]


def test_condition_c_at_most_two_lost_in_total() -> None:
    keys = ["car_kill_max x0.3", "il6_car x0.3", "il6_car x3", "car_exhaustion x0.3"]
    s = {**_counts(dict.fromkeys(keys, 2)), **_counts(dict.fromkeys(keys, 2), "002 + 004")}
    c = dict(s)
    c[("002", "il6_car x0.3")] = 1
    c[("002 + 004", "il6_car x3")] = 1
    assert not any(ps.condition(s, c, FP_OK, 3).values())  # 16 vs 14: allowed
    c[("002", "car_exhaustion x0.3")] = 1
    v = ps.condition(s, c, FP_OK, 3)
    assert v["c"] == ["C_total 13 < S_total 16 - 2"] and not v["a"] and not v["b"]


def test_condition_d_each_set_within_20_to_41_of_600() -> None:
    s = _counts({"il6_car x3": 1})
    for fp, bad in ((19, True), (20, False), (41, False), (42, True)):
        v = ps.condition(s, s, {"002": (30, 600), "002 + 004": (fp, 600)}, 3)
        assert bool(v["d"]) is bad, fp


# --- the committed session-13 files (README, "Session 13", step 2) ---------------------

#: the candidate, and the values shipped before session 13 (the S files were made then)
POINT = {"antigen_density_cv": 1.6, "car_allo_recognition": 0.1}
PRE_SESSION13 = {"antigen_density_cv": 0.839, "car_allo_recognition": 0.0}
STREAMS = (10, 14, 15)


def _files(kind: str) -> list[pd.DataFrame]:
    return [pd.read_csv(DONOR / f"cal4_power_{kind}_stream{s}.csv", comment="#")
            for s in STREAMS]


def test_committed_power_counts_and_verdict() -> None:
    """Streams caught of 3 per perturbation, at the earlier shipped values (S) and at
    the candidate (C), from the committed summaries (without the fresh rows, which only
    enter (d)): every expansion, kill and IL-6 x 0.3 error caught on all three streams
    at both; IL-6 x 3 on 2 of 3 for seed 002 at both and 3 -> 2 for 002 + 004;
    exhaustion x 0.3 never; exhaustion x 3 on 1 of 3 for seed 002 at both. Totals 36
    and 35: the condition holds (false positives 28 and 25 of 600 at C,
    ``cal4_power_streams.txt``)."""
    counts = {}
    for kind, frames in (("S", _files("S")), ("C", _files("C"))):
        for studies in ps.CHECK_SETS:
            name = " + ".join(studies)
            for f in frames:
                hits, _, _ = ps.hits_table(f[f["case"] != "fresh"], studies, fresh=False)
                for case, h in hits.items():
                    if case != "point":
                        key = (kind, name, case)
                        counts[key] = counts.get(key, 0) + ps.caught(h)
    sure = {f"{k} x{f}" for k in ("car_expansion", "car_kill_max") for f in ("0.3", "3")}
    for kind in "SC":
        for name in ("002", "002 + 004"):
            assert all(counts[(kind, name, c)] == 3 for c in sure | {"il6_car x0.3"})
            assert counts[(kind, name, "car_exhaustion x0.3")] == 0
    assert counts[("S", "002", "il6_car x3")] == counts[("C", "002", "il6_car x3")] == 2
    assert counts[("S", "002 + 004", "il6_car x3")] == 3
    assert counts[("C", "002 + 004", "il6_car x3")] == 2
    assert counts[("S", "002", "car_exhaustion x3")] == 1
    assert counts[("C", "002", "car_exhaustion x3")] == 1
    assert counts[("S", "002 + 004", "car_exhaustion x3")] == 0
    s = {k[1:]: v for k, v in counts.items() if k[0] == "S"}
    c = {k[1:]: v for k, v in counts.items() if k[0] == "C"}
    assert (sum(s.values()), sum(c.values())) == (36, 35)
    v = ps.condition(s, c, {"002": (28, 600), "002 + 004": (25, 600)}, 3)
    assert not any(v.values()), v


def test_committed_power_rows_are_what_the_model_simulates() -> None:
    """Trial 0 of the candidate's file on stream 10 (the point itself) and trial 1 of the
    S file's il6_car x3 case on stream 14, re-simulated now, equal the committed rows."""
    from remission.sim.calibrate import particle_targets
    from remission.sim.params import PARAMETERS

    c10 = _files("C")[0]
    live = particle_targets([POINT], ("002", "004"), seed=10)
    row = c10[(c10["case"] == "shipped") & (c10["trial"] == 0)]
    np.testing.assert_allclose(live.to_numpy(), row[live.columns].to_numpy(), rtol=1e-12)
    s14 = _files("S")[1]
    high = {**PRE_SESSION13, "il6_car": 3 * PARAMETERS["il6_car"].value}
    live = particle_targets([PRE_SESSION13, high], ("002", "004"), seed=14).iloc[[1]]
    row = s14[(s14["case"] == "il6_car x3") & (s14["trial"] == 1)]
    np.testing.assert_allclose(live.to_numpy(), row[live.columns].to_numpy(), rtol=1e-12)
