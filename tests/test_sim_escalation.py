"""3+3 and BOIN dose escalation: published boundaries, hand-traced paths, isotonic fit.

Oracles: Liu S, Yuan Y (J R Stat Soc C 2015;64:507, Table 1): BOIN boundaries for target
0.2 / 0.25 / 0.3 are 0.157/0.238, 0.197/0.298, 0.236/0.358; the 3+3 rules as written by
Le Tourneau et al. (J Natl Cancer Inst 2009;101:708), traced by hand below; isotonic
regression against scipy.optimize.isotonic_regression.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from remission.sim import load_design
from remission.sim.escalation import (
    boin,
    boin_boundaries,
    escalation_trials,
    isotonic,
    three_plus_three,
)

DESIGNS = Path(__file__).parents[1] / "examples" / "designs"


@pytest.mark.parametrize(("phi", "le", "ld"), [(0.2, 0.157, 0.238), (0.25, 0.197, 0.298),
                                               (0.3, 0.236, 0.358)])
def test_boin_boundaries_match_the_published_table(phi: float, le: float, ld: float) -> None:
    got = boin_boundaries(phi)  # the table prints 3 decimals (0.3585 as 0.358)
    assert abs(got[0] - le) < 1e-3 and abs(got[1] - ld) < 1e-3


def _mat(rows: list[str]) -> np.ndarray:
    """DLT matrix from strings of 0/1 per patient (one string per level)."""
    return np.array([[c == "1" for c in r.ljust(30, "0")] for r in rows])


def test_three_plus_three_paths_traced_by_hand() -> None:
    # level 0: 0/3 -> escalate; level 1: 1/3 -> 6, 1/6 -> escalate; level 2: 2/3 -> stop;
    # level 1 already has 6 with 1 DLT -> MTD = 1
    m = _mat(["0" * 30, "000100" + "0" * 24, "000000000110"])
    mtd, path = three_plus_three(m)
    assert mtd == 1
    assert [lv for lv, _ in path] == [0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    # first level too toxic: 2/3 -> no MTD
    assert three_plus_three(_mat(["110", "0", "0"]))[0] is None
    # stop at level 1 (2/3): level 0 had only 3 -> expanded to 6; 2/6 there -> no MTD
    m = _mat(["000" + "000110", "000110", "0"])
    mtd, path = three_plus_three(m)
    assert [lv for lv, _ in path] == [0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert mtd is None
    # all clean: top level expanded to 6 and selected
    mtd, path = three_plus_three(_mat(["0", "0", "0"]))
    assert mtd == 2 and len(path) == 12


def test_boin_follows_its_boundaries_and_eliminates_toxic_levels() -> None:
    # level 0 clean (0/3 <= 0.236: escalate), level 1 2/3 = 0.67 >= 0.358: de-escalate...
    m = _mat(["0" * 30, "0001" + "1" * 26, "1" * 30])
    mtd, path = boin(m, phi=0.3, n_max=12)
    assert [lv for lv, _ in path[:6]] == [0, 0, 0, 1, 1, 1]
    # level 1: DLTs in patients 3,4,5 -> 3/3, Pr(p > 0.3 | 3/3) = 1 - 0.7^4 = 0.76 < 0.95:
    # not eliminated, de-escalate
    assert path[6][0] == 0
    assert mtd == 0
    # everything toxic: 3/3 at level 0 gives Pr = 0.76, then 6/6 -> 1 - 0.7^7 = 0.918,
    # then 9/9 -> 1 - 0.7^10 = 0.972 > 0.95: eliminated, no MTD
    assert boin(_mat(["1" * 30, "1" * 30]), phi=0.3, n_max=30)[0] is None


def test_isotonic_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        p, w = rng.random(6), rng.integers(1, 7, 6).astype(float)
        np.testing.assert_allclose(isotonic(p, w), isotonic_regression(p, weights=w).x,
                                   atol=1e-12)


def test_escalation_trials_on_the_seed002_dose_levels() -> None:
    d = load_design(DESIGNS / "seed002_cll1_cart_dose_groups.toml")
    for rule in ("3+3", "boin"):
        r = escalation_trials(d, rule=rule, replicates=3, n_max=18, seed=1)
        t = r.table
        assert list(t.index) == ["A", "B", "C"]
        assert abs(t["selected_as_mtd"].sum() + r.params["no_mtd_share"] - 1.0) < 1e-12
        assert t["mean_patients"].sum() <= 18
        assert ((t["true_dlt_probability"] >= 0) & (t["true_dlt_probability"] <= 1)).all()
