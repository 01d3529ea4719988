"""Reconstruct the 2×2 tables behind a reported comparison of two proportions.

Given printed percentages (with their printed precision), optional group sizes or
counts and a printed P value, list every integer table ``x1/n1 vs x2/n2`` consistent
with the rounding, compute the P value of each candidate test on each table, and say
which tests reproduce the printed P at its printed precision. This tells a reader
whether a published P is attainable and which test the authors most likely used.

Tests: Pearson chi-square without and with Yates' correction (R ``chisq.test``),
Fisher's exact (R ``fisher.test``) and Fisher mid-P (probability of tables less likely
than the observed one plus half that of tables as likely, ties within R's 1e-7 relative
tolerance; Lancaster 1961, Agresti 2013 §1.4.5).

References
----------
Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9 (consistency checks).
Lancaster HO. J Am Stat Assoc 1961;56:223-34 (mid-P).
Yates F. Suppl J R Stat Soc 1934;1:217-35.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
from scipy import stats

from remission.results import Result
from remission.stats.contingency import fisher_exact, pearson_chi2

TESTS = ("pearson", "yates", "fisher", "midp")
TEST_NAMES = {"pearson": "Pearson chi-square (no correction)",
              "yates": "Pearson chi-square with Yates' correction",
              "fisher": "Fisher's exact (two-sided)", "midp": "Fisher mid-P (two-sided)"}


@dataclass(frozen=True)
class Printed:
    """A printed number: value, decimals shown and an optional inequality (``<``, ``>``)."""

    value: float
    decimals: int
    relation: str = "="

    @classmethod
    def parse(cls, v: float | int | str) -> Printed:
        s = str(v).strip().replace("%", "").replace(" ", "")
        rel = "="
        for r in ("<=", ">=", "<", ">", "="):
            if s.startswith(r):
                rel, s = r, s[len(r):]
                break
        if s.lower().startswith("p"):
            s = s[1:].lstrip("=<>")
        d = Decimal(s)
        return cls(float(d), max(0, -int(d.as_tuple().exponent)), rel)

    def half_width(self) -> float:
        return 0.5 * 10.0 ** (-self.decimals)

    def matches(self, x: float, tol: float = 1e-9) -> bool:
        """Does the exact value ``x`` print as this number (either rounding of a half)?"""
        if self.relation in ("<", "<="):
            return x < self.value + tol if self.relation == "<=" else x < self.value
        if self.relation in (">", ">="):
            return x > self.value - tol if self.relation == ">=" else x > self.value
        return abs(x - self.value) <= self.half_width() + tol


def counts_matching(pct: Printed, n: int) -> list[int]:
    """Every count ``x`` in ``0..n`` whose percentage ``100 x / n`` prints as ``pct``.

    Parameters
    ----------
    pct : Printed
        The printed percentage (value and decimals).
    n : int
        The denominator.

    Returns
    -------
    list of int
        The counts, ascending (empty when none prints as ``pct``).

    Examples
    --------
    >>> counts_matching(Printed(33.3, 1), 9)
    [3]
    """
    lo = math.ceil((pct.value - pct.half_width()) * n / 100 - 1e-9)
    hi = math.floor((pct.value + pct.half_width()) * n / 100 + 1e-9)
    return [x for x in range(max(lo, 0), min(hi, n) + 1) if pct.matches(100 * x / n)]


def table_pvalues(x1: int, n1: int, x2: int, n2: int) -> dict[str, float]:
    """P values of the four candidate tests for ``[[x1, n1-x1], [x2, n2-x2]]``: Pearson
    chi-square without and with Yates' correction, Fisher's exact test and the mid-p
    version of Fisher's test.

    Parameters
    ----------
    x1, n1 : int
        Events and patients of the first group.
    x2, n2 : int
        Events and patients of the second group.

    Returns
    -------
    dict
        ``pearson``, ``yates`` (NaN when a column of the table is empty), ``fisher`` and
        ``midp``.

    Examples
    --------
    7/10 vs 2/10; R 4.2.2 ``chisq.test(m, correct = FALSE)``: 0.02461876, ``chisq.test(m)``:
    0.0721982, ``fisher.test(m)``: 0.06977852 for ``m = matrix(c(7, 2, 3, 8), 2)``:

    >>> {k: round(v, 7) for k, v in table_pvalues(7, 10, 2, 10).items()}
    {'pearson': 0.0246188, 'yates': 0.0721982, 'fisher': 0.0697785, 'midp': 0.037628}
    """
    t = np.array([[x1, n1 - x1], [x2, n2 - x2]])
    out = {"pearson": math.nan, "yates": math.nan}
    if (t.sum(0) > 0).all():
        out["pearson"] = pearson_chi2(t, correct=False)[2]
        out["yates"] = pearson_chi2(t, correct=True)[2]
    out["fisher"] = fisher_exact(t)
    m = x1 + x2
    support = np.arange(max(0, m - n2), min(m, n1) + 1)
    pr = stats.hypergeom.pmf(support, n1 + n2, m, n1)
    pobs = float(stats.hypergeom.pmf(x1, n1 + n2, m, n1))
    tie = np.abs(pr - pobs) <= pobs * 1e-7
    out["midp"] = float(pr[(pr < pobs) & ~tie].sum() + 0.5 * pr[tie].sum())
    return out


def reconstruct_two_proportions(
    pct1: float | str, pct2: float | str, reported_p: float | str | None = None, *,
    n1: int | None = None, n2: int | None = None, x1: int | None = None,
    x2: int | None = None, n1_max: int = 100, n2_max: int = 100, label: str = "comparison",
    source: str = "", name: str | None = None,
) -> Result:
    """Every table consistent with the printed percentages and which tests give the P.

    Rows are ``"x1/n1 vs x2/n2"``; columns hold the counts, each test's P and
    ``reproduces`` (the tests whose P prints as ``reported_p``). ``n1_max``/``n2_max``
    bound the search when group sizes are not printed.

    Parameters
    ----------
    pct1, pct2 : float or str
        The printed percentages (strings keep their decimals).
    reported_p : float or str, optional
        The printed P value.
    n1, n2, x1, x2 : int, optional
        Group sizes and counts where the paper prints them.
    n1_max, n2_max : int, default 100
        Largest group sizes searched when ``n1``/``n2`` are not given.
    label, source, name : str
        Labels of the Result.

    Returns
    -------
    remission.results.Result
        One row per consistent table with ``x1, n1, x2, n2``, the exact percentages,
        ``p_pearson``, ``p_yates``, ``p_fisher``, ``p_midp`` and ``reproduces``.

    Examples
    --------
    70.0 % vs 20.0 %, P = 0.070, groups of at most 12: only 7/10 vs 2/10 with Fisher's
    exact test gives it (:func:`table_pvalues`):

    >>> t = reconstruct_two_proportions("70.0", "20.0", "0.070", n1_max=12, n2_max=12).table
    >>> t["reproduces"].to_dict()
    {'7/10 vs 1/5': '', '7/10 vs 2/10': 'fisher'}
    """
    p1, p2 = Printed.parse(pct1), Printed.parse(pct2)
    rp = None if reported_p is None else Printed.parse(reported_p)
    n1s = [n1] if n1 else range(1, n1_max + 1)
    n2s = [n2] if n2 else range(1, n2_max + 1)
    c1 = [(x, n) for n in n1s for x in ([x1] if x1 is not None else counts_matching(p1, n))
          if p1.matches(100 * x / n)]
    c2 = [(x, n) for n in n2s for x in ([x2] if x2 is not None else counts_matching(p2, n))
          if p2.matches(100 * x / n)]
    rows, keys = [], []
    for a, m in c1:
        for b, k in c2:
            pv = table_pvalues(a, m, b, k)
            rep = [] if rp is None else [t for t in TESTS
                                         if not math.isnan(pv[t]) and rp.matches(pv[t])]
            keys.append(f"{a}/{m} vs {b}/{k}")
            rows.append({"x1": a, "n1": m, "x2": b, "n2": k, "pct1": 100 * a / m,
                         "pct2": 100 * b / k, **{f"p_{t}": pv[t] for t in TESTS},
                         "reproduces": ", ".join(rep)})
    cols = ["x1", "n1", "x2", "n2", "pct1", "pct2", *[f"p_{t}" for t in TESTS], "reproduces"]
    table = pd.DataFrame(rows, index=keys, columns=cols)
    hits = table[table["reproduces"] != ""] if len(table) else table
    warns = []
    if not len(table):
        warns.append("no integer table is consistent with the printed percentages")
    elif rp is not None and not len(hits):
        warns.append(f"none of the {len(table)} consistent tables reproduces P = "
                     f"{reported_p} with any of: " + ", ".join(TEST_NAMES.values()))
    for key, r in hits.iterrows():
        exp = np.outer([r["n1"], r["n2"]], [r["x1"] + r["x2"], r["n1"] + r["n2"] - r["x1"]
                                            - r["x2"]]) / (r["n1"] + r["n2"])
        if "pearson" in r["reproduces"] and exp.min() < 5:
            warns.append(f"{key}: the P is reproduced by the uncorrected chi-square although "
                         f"the smallest expected count is {exp.min():.2f} < 5 (Cochran's "
                         "rule calls for an exact test)")
    found = sorted({t for r in hits["reproduces"] for t in r.split(", ") if t}) if len(
        hits) else []
    rationale = (f"{len(table)} table(s) consistent with {pct1}% vs {pct2}%"
                 + (f" (n = {n1} vs {n2})" if n1 and n2 else
                    f" (group sizes searched up to {n1_max} and {n2_max})")
                 + (f"; {len(hits)} reproduce P = {reported_p}" if rp is not None else
                    "; no P printed, consistency of the percentages only")
                 + (f" by: {', '.join(TEST_NAMES[t] for t in found)}." if found else "."))
    return Result(
        name=name or f"evidence.{_slug(label)}", title=f"Reconstruction: {label}", table=table,
        method=("Enumerated integer 2×2 tables consistent with the printed percentages at "
                "their printed precision; computed Pearson (with/without Yates), Fisher and "
                "mid-P tests on each and compared with the printed P at its precision."),
        rationale=rationale, warnings=tuple(warns), section="audit",
        references=("Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-9.",
                    "Lancaster HO. J Am Stat Assoc 1961;56:223-34.",
                    *((source,) if source else ())),
        params={"label": label, "pct1": str(pct1), "pct2": str(pct2),
                "reported_p": None if reported_p is None else str(reported_p),
                "n1": n1, "n2": n2, "x1": x1, "x2": x2,
                "tests_reproducing": found},
    )


def _slug(s: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "_" for ch in s)
    return "_".join(p for p in out.split("_") if p) or "comparison"
