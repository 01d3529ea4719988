"""Session 13's power condition over three fresh streams (benchmarks/sim_donor/README.md,
"Session 13", the rule landed before any run on streams 10, 14, 15 and 17):
``benchmarks/sim_donor/power_streams.py`` on hand-made counts, at each threshold, and
the false-positive range against a brute-force binomial sum."""

from __future__ import annotations

import importlib.util
import sys
from math import comb
from pathlib import Path

DONOR = Path(__file__).parents[1] / "benchmarks" / "sim_donor"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, DONOR / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


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
