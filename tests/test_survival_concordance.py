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


def _brute_force(t, e, x):
    """O(n^2) enumeration of R's pair rules (survival vignette "Concordance")."""
    import numpy as np

    n = len(t)
    n_as, d_as = np.zeros(n), np.zeros(n)
    conc = disc = tiex = tiey = 0
    for i in range(n):
        for j in range(n):
            if i == j or not e[i]:
                continue
            if t[i] == t[j] and e[j]:
                tiey += i < j
                continue
            if t[i] < t[j] or (t[i] == t[j] and not e[j]):  # comparable, i failed first
                d_as[i] += 1
                d_as[j] += 1
                if x[i] > x[j]:
                    conc += 1
                    n_as[i] += 1
                    n_as[j] += 1
                elif x[i] == x[j]:
                    tiex += 1
                    n_as[i] += 0.5
                    n_as[j] += 0.5
                else:
                    disc += 1
    c = (conc + tiex / 2) / (conc + disc + tiex)
    se = np.sqrt(np.sum((n_as - c * d_as) ** 2)) / (conc + disc + tiex)
    return c, se, {"concordant": conc, "discordant": disc, "tied.x": tiex, "tied.y": tiey}


@pytest.mark.parametrize("seed", range(40))
def test_vectorised_counting_equals_brute_force(seed: int) -> None:
    # heavy ties in time, score and censoring at event times; sizes cross the powers
    # of two the merge counting splits at
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 70))
    t = rng.integers(1, 8, n).astype(float)
    e = rng.integers(0, 2, n)
    e[0] = 1
    x = rng.integers(0, 5, n).astype(float)
    c, se, counts = concordance(t, e, x)
    bc, bse, bcounts = _brute_force(t, e, x)
    assert counts == bcounts
    assert c == pytest.approx(bc, rel=1e-14)
    assert se == pytest.approx(bse, rel=1e-12)


def test_work_grows_as_n_log_n() -> None:
    # 8x the subjects must cost far less than 64x the time (O(n^2) would)
    import time

    import numpy as np

    def cost(n: int) -> float:
        rng = np.random.default_rng(1)
        t, e, x = rng.integers(1, 500, n).astype(float), rng.integers(0, 2, n), rng.normal(
            size=n)
        best = np.inf
        for _ in range(7):  # best of 7: robust to a loaded CI machine
            t0 = time.perf_counter()
            concordance(t, e, x)
            best = min(best, time.perf_counter() - t0)
        return best

    assert cost(40_000) / cost(5_000) < 24


@pytest.mark.parametrize("seed", range(15))
def test_compiled_kernel_equals_brute_force(seed: int, monkeypatch) -> None:
    # large strata use the compiled Fenwick kernel: force it on small tied data
    import numpy as np

    from remission.stats.survival import concordance as cm

    monkeypatch.setattr(cm, "COMPILED_FROM", 0)
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 60))
    t = rng.integers(1, 7, n).astype(float)
    e = rng.integers(0, 2, n)
    e[-1] = 1
    x = rng.integers(0, 4, n).astype(float)
    s = rng.integers(0, 2, n)
    for strata in (None, s):
        c, se, counts = concordance(t, e, x, strata)
        cm.COMPILED_FROM = 10**9
        c2, se2, counts2 = concordance(t, e, x, strata)
        cm.COMPILED_FROM = 0
        assert counts == counts2
        assert c == pytest.approx(c2, rel=1e-14, nan_ok=True)
        assert se == pytest.approx(se2, rel=1e-12, nan_ok=True)
    c, se, counts = concordance(t, e, x)
    if counts:  # some comparable pair (else C is undefined: NaN, no counts)
        bc, bse, bcounts = _brute_force(t, e, x)
        assert counts == bcounts and c == pytest.approx(bc, rel=1e-14)
        assert se == pytest.approx(bse, rel=1e-12)
