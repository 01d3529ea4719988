"""Harrell's C and its infinitesimal-jackknife SE against R survival::concordance."""

from __future__ import annotations

import pytest

from remission.stats.survival.concordance import concordance
from tests.rlive import run_r

T = [1, 2, 2, 3, 3, 4, 5, 5, 6.0]
E = [1, 1, 0, 1, 1, 0, 1, 1, 0]
X = [3, 2, 2, 1, 2, 1, 0, 1, 0.0]


@pytest.mark.r
def test_tied_times_and_scores_match_r() -> None:
    r = run_r("""library(survival)
      f <- concordance(Surv(t, e) ~ x, data = data.frame(t = t, e = e, x = x), reverse = TRUE)
      out <- list(c = unname(f$concordance), se = sqrt(unname(f$var)),
                  n = unname(f$count[1:4]))""", t=T, e=E, x=X)
    c, se, counts = concordance(T, E, X)
    assert c == pytest.approx(r["c"], rel=1e-12)
    assert se == pytest.approx(r["se"], rel=1e-10)
    assert list(counts.values()) == r["n"]


def test_hand_counts() -> None:
    # 20 concordant, 5 tied on score (one with a subject censored at the event time)
    c, _, counts = concordance(T, E, X)
    assert counts == {"concordant": 20, "discordant": 0, "tied.x": 5, "tied.y": 2}
    assert c == pytest.approx(22.5 / 25)
