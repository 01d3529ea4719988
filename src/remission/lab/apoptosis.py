"""Apoptosis by annexin V / PI flow cytometry: percentages and group comparisons.

Quadrants (Vermes et al. 1995): annexin V-/PI- viable, annexin V+/PI- early apoptotic,
annexin V+/PI+ late apoptotic, annexin V-/PI+ necrotic/debris. Percent apoptosis is
``100 * (early + late) / total``, the convention of most published AML venetoclax work.

Tests, chosen by design:
- two groups: Welch's t test (R ``t.test``), or Student's with ``equal_var``;
- three or more groups: one-way ANOVA (R ``aov``), then Dunnett's many-to-one comparisons
  against the control (``scipy.stats.dunnett``; multivariate-t probabilities computed by
  randomised quasi-Monte Carlo, seeded, accurate to about 1e-4) when a control is named,
  otherwise Tukey's HSD (``scipy.stats.tukey_hsd``, as R ``TukeyHSD``);
- dose x time designs: two-way ANOVA with interaction, sequential (type I) sums of squares
  as R ``aov`` (identical to type II/III when the design is balanced; a warning says when
  it is not).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.stats.anova import anova_lm

from remission.errors import ProblemLog
from remission.lab._common import REF_WELCH, SECTION, fmt_key, new_figure, table
from remission.results import Result

__all__ = [
    "apoptosis_results",
    "compare_groups",
    "percent_apoptosis",
    "plot_apoptosis",
    "two_way_anova",
]

QUADRANTS = ("q_viable", "q_early", "q_late", "q_necrotic")
REF_VERMES = (
    "Vermes I et al. A novel assay for apoptosis. Flow cytometric detection of "
    "phosphatidylserine expression on early apoptotic cells using fluorescein labelled "
    "Annexin V. J Immunol Methods 1995;184:39-51."
)
REF_TUKEY = "Tukey JW. Comparing individual means in the analysis of variance. Biometrics 1949."
REF_DUNNETT = (
    "Dunnett CW. A multiple comparison procedure for comparing several treatments with a "
    "control. J Am Stat Assoc 1955;50:1096-1121."
)
REF_ANOVA = "Chambers JM, Hastie TJ. Statistical Models in S. Wadsworth 1992 (aov, type I SS)."


def _fmt(v: object) -> str:
    return f"{v:g}" if isinstance(v, float | int | np.floating | np.integer) else str(v)


def percent_apoptosis(df: pd.DataFrame) -> pd.DataFrame:
    """Add quadrant percentages and percent apoptosis (early + late) to a quadrant table.

    Parameters
    ----------
    df : DataFrame
        Event counts per sample: ``q_viable, q_early, q_late, q_necrotic`` (as
        :func:`remission.lab.formats.read_flow_quadrants` returns).

    Returns
    -------
    DataFrame
        A copy with ``total`` (events), ``pct_viable, pct_early, pct_late`` and
        ``pct_apoptotic`` = 100 (early + late) / total.

    References
    ----------
    Vermes I, et al. J Immunol Methods 1995;184:39-51.

    Examples
    --------
    s3: (300 + 150) / 1000 events = 45 % apoptotic:

    >>> df = pd.DataFrame({"sample": ["s1", "s2", "s3", "s4"],
    ...                    "group": ["ctl", "ctl", "ven", "ven"],
    ...                    "q_viable": [900, 880, 500, 520], "q_early": [50, 60, 300, 280],
    ...                    "q_late": [40, 50, 150, 160], "q_necrotic": [10, 10, 50, 40]})
    >>> percent_apoptosis(df)[["total", "pct_early", "pct_apoptotic"]].values.tolist()
    [[1000.0, 5.0, 9.0], [1000.0, 6.0, 11.0], [1000.0, 30.0, 45.0], [1000.0, 28.0, 44.0]]
    """
    out = df.copy()
    tot = out[list(QUADRANTS)].sum(axis=1)
    out["total"] = tot
    out["pct_viable"] = 100 * out["q_viable"] / tot
    out["pct_early"] = 100 * out["q_early"] / tot
    out["pct_late"] = 100 * out["q_late"] / tot
    out["pct_apoptotic"] = 100 * (out["q_early"] + out["q_late"]) / tot
    return out


def _checked_groups(values: Sequence[float], groups: Sequence[str], label: str
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``(values as float, group labels as text)`` of :func:`compare_groups`, or every
    problem at once: lengths that differ, a value that is text, a missing group label
    (NumPy made it the group ``'None'``). A missing value stays NaN, as before.

    Examples
    --------
    >>> from remission.errors import InputError
    >>> try:
    ...     _checked_groups([1, "x", 3], ["a", None, "b"], "")
    ... except InputError as e:
    ...     print([(p.row, p.column) for p in e.problems])
    [(3, 'value'), (3, 'group')]
    """
    source = f"{label or 'values'} by group"
    raw_v = pd.Series(np.asarray(values, dtype=object).ravel())
    raw_g = pd.Series(np.asarray(groups, dtype=object).ravel())
    log = ProblemLog()
    v = pd.to_numeric(raw_v, errors="coerce")
    for i in np.flatnonzero((v.isna() & raw_v.notna()).to_numpy()):
        log.add(source, "value is not a number", row=int(i) + 2, column="value",
                value=raw_v.iloc[i], expected="a number")
    if len(raw_v) != len(raw_g):
        log.add(source, f"{len(raw_v)} values but {len(raw_g)} group labels",
                column="group", expected="one group label per value")
    else:
        for i in np.flatnonzero(raw_g.isna().to_numpy()):
            log.add(source, "group is missing", row=int(i) + 2, column="group",
                    expected="a group label")
    log.raise_if_any()
    return v.to_numpy(float), raw_g.astype(str).to_numpy()


def compare_groups(values: Sequence[float], groups: Sequence[str], control: str | None = None,
                   equal_var: bool = False, seed: int = 20261123, conf: float = 0.95,
                   label: str = "") -> tuple[list[dict], list[str], str]:
    """Compare a measurement across groups with the test the design calls for.

    Two groups: Welch's (default) or Student's t test of the second minus the first (the
    control). Three or more: one-way ANOVA, then Dunnett's comparisons against ``control``
    (seeded quasi-Monte Carlo p-values) or, without a control, Tukey's HSD.

    Parameters
    ----------
    values : sequence of float
        One value per replicate.
    groups : sequence of str
        The group of each value.
    control : str, optional
        The control group (first in comparisons; Dunnett's reference).
    equal_var : bool, default False
        Student's instead of Welch's t test (two groups).
    seed : int, default 20261123
        Seed of Dunnett's multivariate-t integration.
    conf : float, default 0.95
        Confidence level of the intervals.
    label : str, default ""
        Prefix of the row keys and warnings.

    Returns
    -------
    tuple of (list of dict, list of str, str)
        Rows (``key, comparison, test, estimate, lower, upper, statistic, df, p``, and
        ``df2`` for the ANOVA row), warnings (a group with fewer than 2 values: no test),
        and a sentence naming the method.

    Raises
    ------
    remission.errors.InputError
        Values and groups of different lengths, every value that is text and every
        missing group label (a missing value is kept, NaN).

    References
    ----------
    Welch BL. Biometrika 1947;34:28-35. Dunnett CW. J Am Stat Assoc 1955;50:1096-1121.
    Tukey JW. Biometrics 1949;5:99-114.

    Examples
    --------
    R ``TukeyHSD(aov(y ~ g))`` on these 3 × 3 values gives F = 77.79 (p = 5.12e-05) and
    ven - ctl = 11 (5.588073, 16.41193), p adj = 0.0019099:

    >>> y = [10, 12, 11, 20, 22, 24, 30, 33, 36]
    >>> g = ["ctl"] * 3 + ["ven"] * 3 + ["aza"] * 3
    >>> rows, warns, method = compare_groups(y, g)
    >>> round(rows[0]["statistic"], 2), rows[1]["comparison"], rows[1]["estimate"]
    (77.79, 'ven - ctl', 11.0)
    >>> round(rows[1]["lower"], 5), round(rows[1]["p"], 7), method
    (5.58807, 0.0019099, "one-way ANOVA followed by Tukey's HSD for all pairs.")

    R ``t.test(c(20, 22, 24), c(10, 12, 11))`` gives t = 8.520563, df = 2.941176:

    >>> r = compare_groups(y[:6], g[:6], control="ctl")[0][0]
    >>> r["test"], round(r["statistic"], 6), round(r["df"], 6)
    ("Welch's t test", 8.520563, 2.941176)
    """
    v, g = _checked_groups(values, groups, label)
    levels = list(pd.unique(g))
    if control is not None and control in levels:
        levels.remove(control)
        levels.insert(0, control)
    samples = [v[g == k] for k in levels]
    warns = []
    rows: list[dict] = []
    if any(s.size < 2 for s in samples):
        warns.append(f"{label}: a group has fewer than 2 replicates; no test")
        return rows, warns, ""
    if len(levels) == 2:
        tt = stats.ttest_ind(samples[1], samples[0], equal_var=equal_var)
        ci = tt.confidence_interval(conf)
        name = "Student's t test" if equal_var else "Welch's t test"
        rows.append({"key": fmt_key(label, f"{levels[1]} - {levels[0]}"), "comparison":
                     f"{levels[1]} - {levels[0]}", "test": name,
                     "estimate": float(samples[1].mean() - samples[0].mean()),
                     "lower": float(ci.low), "upper": float(ci.high),
                     "statistic": float(tt.statistic), "df": float(tt.df),
                     "p": float(tt.pvalue)})
        return rows, warns, f"{name} (difference in means with {conf:.0%} CI)."
    f = stats.f_oneway(*samples)
    k, n = len(levels), v.size
    rows.append({"key": fmt_key(label, "ANOVA"), "comparison": "all groups equal",
                 "test": "one-way ANOVA", "estimate": np.nan, "lower": np.nan,
                 "upper": np.nan, "statistic": float(f.statistic), "df": float(k - 1),
                 "df2": float(n - k), "p": float(f.pvalue)})
    if control is not None and control in levels:
        d = stats.dunnett(*samples[1:], control=samples[0], rng=np.random.default_rng(seed))
        ci = d.confidence_interval(conf)
        for i, lev in enumerate(levels[1:]):
            rows.append({"key": fmt_key(label, f"{lev} - {control}"),
                         "comparison": f"{lev} - {control}", "test": "Dunnett",
                         "estimate": float(samples[i + 1].mean() - samples[0].mean()),
                         "lower": float(ci.low[i]), "upper": float(ci.high[i]),
                         "statistic": float(d.statistic[i]), "df": float(n - k),
                         "p": float(d.pvalue[i])})
        post = "Dunnett's many-to-one comparisons against the control"
    else:
        tk = stats.tukey_hsd(*samples)
        ci = tk.confidence_interval(conf)
        for i in range(k):
            for j in range(i + 1, k):
                rows.append({"key": fmt_key(label, f"{levels[j]} - {levels[i]}"),
                             "comparison": f"{levels[j]} - {levels[i]}", "test": "Tukey HSD",
                             "estimate": float(samples[j].mean() - samples[i].mean()),
                             "lower": float(-ci.high[i, j]), "upper": float(-ci.low[i, j]),
                             "statistic": float(-tk.statistic[i, j]), "df": float(n - k),
                             "p": float(tk.pvalue[i, j])})
        post = "Tukey's HSD for all pairs"
    return rows, warns, f"one-way ANOVA followed by {post}."


def two_way_anova(df: pd.DataFrame, response: str, a: str, b: str) -> tuple[pd.DataFrame,
                                                                               bool]:
    """Sequential (type I) two-way ANOVA with interaction, as R ``aov(y ~ a * b)``.

    Parameters
    ----------
    df : DataFrame
        The data; rows with a missing value in the three columns are dropped.
    response : str
        The response column.
    a, b : str
        The two factors (read as categories), entered in this order.

    Returns
    -------
    tuple of (DataFrame, bool)
        The ANOVA table (rows ``a, b, a:b, Residuals``; columns ``df, sum_sq, mean_sq,
        F, p``) and whether the design is balanced (type I = type II/III sums of squares
        only then).

    References
    ----------
    Chambers JM, Hastie TJ. Statistical Models in S. Wadsworth 1992 (aov, type I SS).

    Examples
    --------
    R ``summary(aov(y ~ A * B))`` gives sums of squares 450, 72, 50, 14 and interaction
    p = 0.019442:

    >>> d = pd.DataFrame({"y": [10, 12, 20, 22, 11, 13, 30, 34],
    ...                   "A": ["ctl", "ctl", "ven", "ven"] * 2, "B": ["24"] * 4 + ["48"] * 4})
    >>> tab, balanced = two_way_anova(d, "y", "A", "B")
    >>> tab["sum_sq"].round(6).tolist(), round(float(tab.loc["A:B", "p"]), 6), balanced
    ([450.0, 72.0, 50.0, 14.0], 0.019442, True)
    """
    d = df[[response, a, b]].dropna().copy()
    d["_A"] = d[a].astype(str)
    d["_B"] = d[b].astype(str)
    d["_y"] = d[response].astype(float)
    fit = smf.ols("_y ~ C(_A) * C(_B)", data=d).fit()
    tab = anova_lm(fit, typ=1)
    tab.index = [a, b, f"{a}:{b}", "Residuals"]
    counts = d.groupby(["_A", "_B"]).size()
    balanced = counts.nunique() == 1 and len(counts) == d["_A"].nunique() * d["_B"].nunique()
    return tab.rename(columns={"sum_sq": "sum_sq", "mean_sq": "mean_sq", "PR(>F)": "p"}), \
        bool(balanced)


def apoptosis_results(df: pd.DataFrame, control: str | None = None, equal_var: bool = False,
                      seed: int = 20261123) -> list[Result]:
    """Percent apoptosis per sample, group summaries and the tests the design calls for.

    Tests within each stratum of ``drug``, ``dose``, ``time_h`` (when present) by
    :func:`compare_groups`; a two-way ANOVA of group × the varying factor when there is one.

    Parameters
    ----------
    df : DataFrame
        Quadrant counts per sample (:func:`remission.lab.formats.read_flow_quadrants`).
    control : str, optional
        Control group (Dunnett's reference; first in two-group differences).
    equal_var : bool, default False
        Student's instead of Welch's t test.
    seed : int, default 20261123
        Seed of Dunnett's p-values.

    Returns
    -------
    list of Result
        ``lab.apoptosis.samples``, ``lab.apoptosis.summary`` (n, mean, SD, SEM of
        percent apoptosis per group), ``lab.apoptosis.tests`` and, with a dose/time
        factor, the two-way ANOVA(s).

    References
    ----------
    Vermes I, et al. J Immunol Methods 1995;184:39-51. Welch BL. Biometrika 1947;34:28-35.

    Examples
    --------
    ctl 9 % and 11 %, ven 45 % and 44 %; R ``t.test(c(45, 44), c(9, 11))`` gives t =
    30.857738, p = 0.004798:

    >>> df = pd.DataFrame({"sample": ["s1", "s2", "s3", "s4"],
    ...                    "group": ["ctl", "ctl", "ven", "ven"],
    ...                    "q_viable": [900, 880, 500, 520], "q_early": [50, 60, 300, 280],
    ...                    "q_late": [40, 50, 150, 160], "q_necrotic": [10, 10, 50, 40]})
    >>> res = apoptosis_results(df, control="ctl")
    >>> [r.name for r in res]
    ['lab.apoptosis.samples', 'lab.apoptosis.summary', 'lab.apoptosis.tests']
    >>> t = res[2].table.loc["all | ven - ctl"]
    >>> float(t["estimate"]), round(float(t["statistic"]), 6), round(float(t["p"]), 6)
    (34.5, 30.857738, 0.004798)
    """
    p = percent_apoptosis(df)
    by = [c for c in ("drug", "dose", "time_h") if c in p and p[c].nunique() > 1]
    per = p.assign(key=p["sample"].astype(str)).set_index("key")
    keep = [c for c in ("group", *by, "total", "pct_viable", "pct_early", "pct_late",
                        "pct_apoptotic") if c in per]
    out = [Result(name="lab.apoptosis.samples", title="Annexin V/PI per sample",
                  table=per[keep], method="Percent of events per quadrant; apoptosis = "
                  "early (annexin V+/PI-) + late (annexin V+/PI+).",
                  references=(REF_VERMES,), section=SECTION)]
    strata = [c for c in ("drug", "dose", "time_h") if c in p]
    summ, tests, warns, methods = [], [], [], set()
    grouped = p.groupby(strata, sort=False) if strata else [((), p)]
    for key, sub in grouped:
        key = key if isinstance(key, tuple) else (key,)
        label = " ".join(f"{s}={_fmt(k)}" for s, k in zip(strata, key, strict=True)) or "all"
        for grp, s2 in sub.groupby("group", sort=False):
            x = s2["pct_apoptotic"]
            summ.append({"key": fmt_key(label, grp), "stratum": label, "group": grp,
                         "n": x.size, "mean_pct_apoptotic": x.mean(),
                         "sd": x.std(ddof=1), "sem": x.std(ddof=1) / np.sqrt(x.size)})
        if sub["group"].nunique() >= 2:
            rows, w, m = compare_groups(sub["pct_apoptotic"], sub["group"], control,
                                        equal_var, seed, label=label)
            tests += rows
            warns += w
            if m:
                methods.add(m)
    out.append(Result(name="lab.apoptosis.summary", title="Percent apoptosis by group",
                      table=table(summ), method="Mean, SD and SEM of percent apoptosis "
                      "(biological replicates) per group within each condition.",
                      section=SECTION))
    if tests:
        out.append(Result(
            name="lab.apoptosis.tests", title="Apoptosis: group comparisons",
            table=table(tests), method=" ".join(sorted(methods)),
            rationale="Two groups: Welch's t test (no equal-variance assumption). More: "
            "ANOVA with a multiplicity-adjusted post hoc test (Dunnett against a named "
            "control, otherwise Tukey).", warnings=tuple(warns),
            references=(REF_WELCH, REF_TUKEY, REF_DUNNETT, REF_ANOVA),
            params={"control": control, "equal_var": equal_var, "seed": seed},
            section=SECTION))
    factors = [c for c in ("dose", "time_h") if c in p and p[c].nunique() > 1]
    if len(factors) == 1 and p["group"].nunique() > 1:
        # e.g. knock-down x venetoclax dose: the interaction asks whether the knock-down
        # changes the dose effect (sensitisation), not only the baseline
        tab, balanced = two_way_anova(p, "pct_apoptotic", "group", factors[0])
        tab = tab.copy()
        tab.index = [str(i) for i in tab.index]
        out.append(Result(
            name="lab.apoptosis.anova2", title=f"Two-way ANOVA, group x {factors[0]}",
            table=tab, method=f"Two-way ANOVA of percent apoptosis on group x {factors[0]} "
            "(factors, with interaction), sequential sums of squares (R aov).",
            rationale="A significant interaction means the groups respond differently to "
            f"{factors[0]}, e.g. sensitisation by the knock-down.",
            warnings=() if balanced else ("unbalanced design: type I sums of squares "
                                          "depend on factor order",),
            references=(REF_ANOVA,), section=SECTION))
    if len(factors) == 2:
        for grp, sub in p.groupby("group", sort=False):
            tab, balanced = two_way_anova(sub, "pct_apoptotic", *factors)
            tab = tab.copy()
            tab.index = [fmt_key(grp, i) for i in tab.index]
            out.append(Result(
                name=f"lab.apoptosis.anova2.{grp}", title=f"Two-way ANOVA, {grp}",
                table=tab, method=f"Two-way ANOVA of percent apoptosis on {factors[0]} x "
                f"{factors[1]} (factors, with interaction), sequential sums of squares.",
                warnings=() if balanced else ("unbalanced design: type I sums of squares "
                                              "depend on factor order",),
                references=(REF_ANOVA,), section=SECTION))
    return out


def plot_apoptosis(df: pd.DataFrame, name: str = "lab.apoptosis.percent") -> Figure:
    """Dot plot of percent apoptosis per group (and condition) with mean bars.

    Parameters
    ----------
    df : DataFrame
        Quadrant counts per sample (optional ``drug, dose, time_h`` make conditions).
    name : str, default "lab.apoptosis.percent"
        Figure name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes: a bar (mean) and points (samples) per group and condition.

    Examples
    --------
    >>> df = pd.DataFrame({"sample": ["s1", "s2", "s3", "s4"],
    ...                    "group": ["ctl", "ctl", "ven", "ven"],
    ...                    "q_viable": [900, 880, 500, 520], "q_early": [50, 60, 300, 280],
    ...                    "q_late": [40, 50, 150, 160], "q_necrotic": [10, 10, 50, 40]})
    >>> ax = plot_apoptosis(df).axes[0]
    >>> [round(float(p.get_height()), 1) for p in ax.patches], ax.get_ylabel()
    ([10.0, 44.5], '% apoptotic (annexin V+)')
    """
    p = percent_apoptosis(df)
    strata = [c for c in ("drug", "dose", "time_h") if c in p and p[c].nunique() > 1]
    p["_x"] = p[strata].astype(str).agg(" ".join, axis=1) if strata else ""
    conds = list(pd.unique(p["_x"]))
    groups = list(pd.unique(p["group"]))
    fig = new_figure(name, width=max(4.0, 1.2 * len(conds) * len(groups)), height=3.8)
    ax = fig.subplots()
    w = 0.8 / len(groups)
    for j, grp in enumerate(groups):
        for i, c in enumerate(conds):
            v = p.loc[(p["group"] == grp) & (p["_x"] == c), "pct_apoptotic"]
            x = i + (j - (len(groups) - 1) / 2) * w
            ax.bar(x, v.mean(), width=w * 0.9, color=f"C{j}", alpha=0.4,
                   label=grp if i == 0 else None)
            ax.scatter(np.full(v.size, x), v, color=f"C{j}", zorder=3, s=14)
    ax.set_xticks(range(len(conds)), conds)
    ax.set_ylabel("% apoptotic (annexin V+)")
    ax.legend()
    return fig
