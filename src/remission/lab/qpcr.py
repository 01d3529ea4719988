"""Relative quantification of qPCR: 2^-ddCt and efficiency-corrected Pfaffl ratios.

Per sample, technical replicates are averaged (arithmetic mean of Ct); replicates with an
SD above ``sd_threshold`` (default 0.3 cycles, a common acceptance limit) are flagged,
and the most extreme replicate of each triplicate or larger set is tested with Grubbs'
two-sided test, reported when it is significant and the SD exceeds the threshold (with
n = 3 Grubbs alone fires whenever two wells nearly coincide). Flagged, never removed:
removing wells is the analyst's decision.

With several reference genes the normaliser is their geometric mean quantity (Vandesompele
et al. 2002), i.e. the arithmetic mean of their (efficiency-weighted) Ct. For amplification
efficiency ``E`` (fold per cycle, 2 = 100%) the log2 relative expression of a target in
a sample is::

    y = mean_r(Ct_r * log2 E_r) - Ct_t * log2 E_t

which equals ``-dCt`` when every ``E = 2`` (Livak & Schmittgen 2001) and gives the Pfaffl
(2001) ratio, generalised to several references as in qBase (Hellemans et al. 2007),
when efficiencies are supplied. The fold change of a group against the control group is
``2^(mean y_group - mean y_control)`` = ``2^-ddCt``; statistics are on the log scale
(dCt), by Welch's t test by default (R ``t.test``), or Student's with ``equal_var``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from remission.lab._common import REF_WELCH, SECTION, fmt_key, new_figure, table
from remission.results import Result

__all__ = [
    "grubbs_critical",
    "grubbs_statistic",
    "plot_qpcr",
    "qpcr_results",
    "relative_expression",
    "summarise_replicates",
]

REF_LIVAK = (
    "Livak KJ, Schmittgen TD. Analysis of relative gene expression data using real-time "
    "quantitative PCR and the 2^-ddCT method. Methods 2001;25:402-408."
)
REF_PFAFFL = (
    "Pfaffl MW. A new mathematical model for relative quantification in real-time RT-PCR. "
    "Nucleic Acids Res 2001;29:e45."
)
REF_VANDESOMPELE = (
    "Vandesompele J et al. Accurate normalization of real-time quantitative RT-PCR data by "
    "geometric averaging of multiple internal control genes. Genome Biol 2002;3:research0034."
)
REF_HELLEMANS = (
    "Hellemans J et al. qBase relative quantification framework and software for management "
    "and automated analysis of real-time quantitative PCR data. Genome Biol 2007;8:R19."
)
REF_GRUBBS = (
    "Grubbs FE. Procedures for detecting outlying observations in samples. Technometrics "
    "1969;11:1-21."
)


def grubbs_critical(n: int, alpha: float = 0.05) -> float:
    """Two-sided Grubbs critical value for sample size n.

    ``G_crit = (n - 1) / sqrt(n) * sqrt(t^2 / (n - 2 + t^2))`` with t the upper
    ``alpha / (2n)`` quantile of Student's t on n - 2 degrees of freedom.

    Parameters
    ----------
    n : int
        Sample size (number of replicates).
    alpha : float, default 0.05
        Two-sided significance level.

    Returns
    -------
    float
        The critical value; NaN for n < 3.

    References
    ----------
    Grubbs FE. Technometrics 1969;11:1-21.

    Examples
    --------
    R ``t <- qt(1 - 0.05 / (2 * n), n - 2); (n - 1) / sqrt(n) * sqrt(t^2 / (n - 2 + t^2))``
    gives 1.1543 for n = 3 and 2.2900 for n = 10 (Grubbs' table: 1.155, 2.290):

    >>> round(float(grubbs_critical(3)), 4), round(float(grubbs_critical(10)), 4)
    (1.1543, 2.29)
    >>> float(grubbs_critical(2))
    nan
    """
    if n < 3:
        return np.nan
    t = stats.t.ppf(1 - alpha / (2 * n), n - 2)
    return (n - 1) / np.sqrt(n) * np.sqrt(t * t / (n - 2 + t * t))


def grubbs_statistic(x: Sequence[float]) -> tuple[float, int]:
    """Grubbs' statistic: the largest absolute deviation from the mean in SD units, and where.

    Parameters
    ----------
    x : sequence of float
        The replicate values.

    Returns
    -------
    tuple of (float, int)
        ``G = max |x - mean| / sd`` (sd with n - 1) and the index of that value; ``(nan,
        -1)`` for fewer than 3 values or zero SD.

    References
    ----------
    Grubbs FE. Technometrics 1969;11:1-21.

    Examples
    --------
    R ``x <- c(20.1, 20.2, 20.15, 21.0); max(abs(x - mean(x))) / sd(x)`` gives 1.493127:

    >>> g, i = grubbs_statistic([20.1, 20.2, 20.15, 21.0])
    >>> round(g, 6), i
    (1.493127, 3)
    """
    a = np.asarray(x, float)
    if a.size < 3:
        return np.nan, -1
    sd = a.std(ddof=1)
    if sd == 0:
        return np.nan, -1
    dev = np.abs(a - a.mean())
    i = int(np.argmax(dev))
    return float(dev[i] / sd), i


def summarise_replicates(ct: pd.DataFrame, sd_threshold: float = 0.3,
                         alpha: float = 0.05) -> pd.DataFrame:
    """Mean Ct per (sample, gene) of the technical replicates, with SD, count and QC flags.

    Flags (never removals): no amplification, undetermined replicates, SD above
    ``sd_threshold``, and a Grubbs outlier (two-sided, n >= 3) when it also makes the SD
    exceed the threshold.

    Parameters
    ----------
    ct : DataFrame
        One row per well: ``sample, group, gene, ct`` (NaN = undetermined).
    sd_threshold : float, default 0.3
        Replicate SD (cycles) above which the set is flagged.
    alpha : float, default 0.05
        Significance level of Grubbs' test.

    Returns
    -------
    DataFrame
        ``sample, group, gene, n_replicates, mean_ct, sd_ct, flags`` (flags joined by
        "; ", empty when none), in order of first appearance.

    References
    ----------
    Grubbs FE. Technometrics 1969;11:1-21.

    Examples
    --------
    The well at 21.0 gives SD 0.43 > 0.3 and G = 1.493 > G_crit(4) = 1.481:

    >>> ct = pd.DataFrame({"sample": "s1", "group": "ctrl", "gene": "CLL1",
    ...                    "ct": [20.1, 20.2, 20.15, 21.0]})
    >>> s = summarise_replicates(ct)
    >>> int(s["n_replicates"].iloc[0]), round(float(s["mean_ct"].iloc[0]), 4)
    (4, 20.3625)
    >>> print(s["flags"].iloc[0])
    replicate SD 0.43 > 0.3 cycles; Grubbs outlier Ct 21.00 (G = 1.493 > 1.481)
    """
    rows = []
    for (sample, gene), sub in ct.groupby(["sample", "gene"], sort=False):
        vals = sub["ct"].to_numpy(float)
        vals = vals[np.isfinite(vals)]
        grp = str(sub["group"].iloc[0])
        flags = []
        n = vals.size
        sd = float(vals.std(ddof=1)) if n > 1 else np.nan
        if n == 0:
            flags.append("no amplification in any replicate")
        if n < len(sub):
            flags.append(f"{len(sub) - n} replicate(s) undetermined")
        if n > 1 and sd > sd_threshold:
            flags.append(f"replicate SD {sd:.2f} > {sd_threshold} cycles")
        g, i = grubbs_statistic(vals)
        gc = grubbs_critical(n, alpha)
        # Grubbs at n = 3 rejects whenever two replicates nearly coincide (G_max = 1.1547
        # vs G_crit = 1.1543), so an outlier is only reported when it also inflates the SD
        if n >= 3 and np.isfinite(g) and g > gc and sd > sd_threshold:
            flags.append(f"Grubbs outlier Ct {vals[i]:.2f} (G = {g:.3f} > {gc:.3f})")
        rows.append({"sample": str(sample), "group": grp, "gene": str(gene),
                     "n_replicates": n, "mean_ct": float(vals.mean()) if n else np.nan,
                     "sd_ct": sd, "flags": "; ".join(flags)})
    return pd.DataFrame(rows)


def never_amplified_warnings(reps: pd.DataFrame, reference_genes: Sequence[str]
                             ) -> list[str]:
    """One warning per gene with samples in which no replicate amplified.

    Such samples have no dCt and drop out of the group means, so for a knock-down (a
    target too low to amplify) the fold change is computed from the samples that still
    express it: biased toward 1. A reference gene that never amplified removes the
    sample from every target.

    Parameters
    ----------
    reps : DataFrame
        Output of :func:`summarise_replicates`.
    reference_genes : sequence of str
        Normaliser genes.

    Returns
    -------
    list of str
        Warnings, most important first.

    Examples
    --------
    >>> reps = pd.DataFrame({"sample": ["s1", "s2"], "group": ["kd", "kd"],
    ...                      "gene": ["CLL1", "CLL1"], "n_replicates": [0, 3]})
    >>> never_amplified_warnings(reps, ["GAPDH"])[0][:41]
    'CLL1 never amplified in 1 sample(s) (kd: '
    """
    out = []
    dead = reps[reps["n_replicates"] == 0]
    for gene, sub in dead.groupby("gene", sort=False):
        where = "; ".join(f"{g}: {', '.join(map(str, s['sample']))}"
                          for g, s in sub.groupby("group", sort=False))
        if gene in reference_genes:
            what = ("reference gene: these samples have no normaliser and are left out of "
                    "every target")
        else:
            what = ("these samples are left out of the fold change, which is then computed "
                    "from the samples that still express it: a knock-down looks weaker "
                    "(fold change biased toward 1) than it is")
        out.append(f"{gene} never amplified in {len(sub)} sample(s) ({where}); {what}")
    return out


def _check_efficiencies(eff: Mapping[str, float] | None, genes: Sequence[str]) -> dict:
    out = {}
    for gname in genes:
        e = 2.0 if eff is None else float(eff.get(gname, np.nan))
        if eff is not None and not np.isfinite(e):
            raise ValueError(f"efficiency missing for gene {gname!r}")
        if not 1.5 <= e <= 2.2:
            raise ValueError(
                f"efficiency of {gname!r} is {e}; expected the amplification factor per "
                "cycle (2.0 = 100%), between 1.5 and 2.2"
            )
        out[gname] = e
    return out


def relative_expression(ct: pd.DataFrame, reference_genes: Sequence[str],
                        efficiencies: Mapping[str, float] | None = None,
                        sd_threshold: float = 0.3) -> pd.DataFrame:
    """Per (sample, target): dCt and log2 relative expression ``y`` (module docstring).

    Parameters
    ----------
    ct : DataFrame
        One row per well: ``sample, group, gene, ct``.
    reference_genes : sequence of str
        Normaliser genes (their geometric mean quantity).
    efficiencies : mapping of str to float, optional
        Amplification factor per cycle of every gene (2.0 = 100 %, 1.5-2.2 accepted);
        default 2 for all (2^-ddCt).
    sd_threshold : float, default 0.3
        Replicate SD flag (cycles), as :func:`summarise_replicates`.

    Returns
    -------
    DataFrame
        ``sample, group, target, ct_target, ct_reference_mean, delta_ct`` (target minus
        reference mean Ct) and ``log2_rel`` (= -dCt when every efficiency is 2).

    Raises
    ------
    ValueError
        A reference gene absent from ``ct``; a missing or implausible efficiency.

    References
    ----------
    Livak KJ, Schmittgen TD. Methods 2001;25:402-408. Pfaffl MW. Nucleic Acids Res
    2001;29:e45. Vandesompele J, et al. Genome Biol 2002;3:research0034.

    Examples
    --------
    s4: CLL1 27.3 - GAPDH 20.1 = dCt 7.2:

    >>> ct = pd.DataFrame({"sample": np.repeat(["s1", "s2", "s3", "s4"], 4),
    ...                    "group": np.repeat(["ctrl", "kd"], 8),
    ...                    "gene": ["GAPDH", "GAPDH", "CLL1", "CLL1"] * 4,
    ...                    "ct": [20, 20, 25, 25, 20, 20, 25.2, 25.2,
    ...                           20, 20, 27, 27, 20.1, 20.1, 27.3, 27.3]})
    >>> rel = relative_expression(ct, ["GAPDH"])
    >>> rel[["sample", "delta_ct", "log2_rel"]].round(6).values.tolist()
    [['s1', 5.0, -5.0], ['s2', 5.2, -5.2], ['s3', 7.0, -7.0], ['s4', 7.2, -7.2]]
    """
    reps = summarise_replicates(ct, sd_threshold)
    genes = list(pd.unique(reps["gene"]))
    missing = [g for g in reference_genes if g not in genes]
    if missing:
        raise ValueError(f"reference gene(s) {missing} not in the Ct table")
    eff = _check_efficiencies(efficiencies, genes)
    wide = reps.pivot(index="sample", columns="gene", values="mean_ct")
    group = reps.drop_duplicates("sample").set_index("sample")["group"]
    ref_ct = wide[list(reference_genes)]
    ref_w = sum(ref_ct[g] * np.log2(eff[g]) for g in reference_genes) / len(reference_genes)
    rows = []
    for target in (g for g in genes if g not in reference_genes):
        for sample in wide.index:
            ct_t = wide.at[sample, target]
            rows.append({
                "sample": sample, "group": group[sample], "target": target,
                "ct_target": ct_t, "ct_reference_mean": float(ref_ct.loc[sample].mean()),
                "delta_ct": ct_t - float(ref_ct.loc[sample].mean()),
                "log2_rel": float(ref_w[sample] - ct_t * np.log2(eff[target])),
            })
    return pd.DataFrame(rows)


def qpcr_results(ct: pd.DataFrame, reference_genes: Sequence[str], control_group: str,
                 efficiencies: Mapping[str, float] | None = None, equal_var: bool = False,
                 sd_threshold: float = 0.3, conf: float = 0.95) -> list[Result]:
    """Replicate QC and fold change of every target in every group against the control group.

    Fold change = ``2^(mean y_group - mean y_control)`` (2^-ddCt, or the Pfaffl ratio
    with efficiencies); Welch's (default) or Student's t test on the log scale, fold-change
    CI back-transformed; with more than two groups also ANOVA and Dunnett's comparisons.

    Parameters
    ----------
    ct : DataFrame
        One row per well: ``sample, group, gene, ct``.
    reference_genes : sequence of str
        Normaliser genes.
    control_group : str
        The group every other group is compared with.
    efficiencies : mapping of str to float, optional
        Amplification factor per cycle of every gene (Pfaffl); default 2 (Livak).
    equal_var : bool, default False
        Student's instead of Welch's t test.
    sd_threshold : float, default 0.3
        Replicate SD flag (cycles).
    conf : float, default 0.95
        Confidence level of the fold-change interval.

    Returns
    -------
    list of Result
        ``lab.qpcr.replicates`` (QC per sample and gene), ``lab.qpcr.expression``
        (rows ``target | group``: ``n, mean_delta_ct, sd_delta_ct, ddct,
        log2_fold_change, fold_change, fc_lower, fc_upper, t, df, p, test``) and, with
        more than two groups, ``lab.qpcr.multigroup``.

    Raises
    ------
    ValueError
        ``control_group`` not in the data; a reference gene absent; a bad efficiency.

    References
    ----------
    Livak KJ, Schmittgen TD. Methods 2001;25:402-408. Welch BL. Biometrika 1947;34:28-35.

    Examples
    --------
    Mean dCt 5.1 (ctrl) and 7.1 (kd): ddCt = 2, fold change 2^-2 = 0.25. R
    ``t.test(c(-7, -7.2), c(-5, -5.2))`` gives t = -14.142136, df = 2, p = 0.004963:

    >>> ct = pd.DataFrame({"sample": np.repeat(["s1", "s2", "s3", "s4"], 4),
    ...                    "group": np.repeat(["ctrl", "kd"], 8),
    ...                    "gene": ["GAPDH", "GAPDH", "CLL1", "CLL1"] * 4,
    ...                    "ct": [20, 20, 25, 25, 20, 20, 25.2, 25.2,
    ...                           20, 20, 27, 27, 20.1, 20.1, 27.3, 27.3]})
    >>> e = qpcr_results(ct, ["GAPDH"], "ctrl")[1].table.loc["CLL1 | kd"]
    >>> float(e["ddct"]), float(e["fold_change"]), round(float(e["t"]), 6), round(float(e["p"]), 6)
    (2.0, 0.25, -14.142136, 0.004963)
    """
    reps = summarise_replicates(ct, sd_threshold)
    rel = relative_expression(ct, reference_genes, efficiencies, sd_threshold)
    warns = [f"{r.sample} / {r.gene}: {r.flags}" for r in reps.itertuples() if r.flags]
    top = never_amplified_warnings(reps, reference_genes)
    rows = []
    groups = list(pd.unique(rel["group"]))
    if control_group not in groups:
        raise ValueError(f"control group {control_group!r} not among {groups}")
    test_name = "Student's t test" if equal_var else "Welch's t test"
    for target, sub in rel.groupby("target", sort=False):
        ctl = sub.loc[sub["group"] == control_group, "log2_rel"].dropna().to_numpy()
        for grp in groups:
            y = sub.loc[sub["group"] == grp, "log2_rel"].dropna().to_numpy()
            row = {"key": fmt_key(target, grp), "target": target, "group": grp,
                   "n": y.size, "mean_delta_ct": float(sub.loc[sub["group"] == grp,
                                                               "delta_ct"].mean()),
                   "sd_delta_ct": float(sub.loc[sub["group"] == grp, "delta_ct"].std(ddof=1)),
                   "mean_log2_rel": float(y.mean()) if y.size else np.nan}
            d = float(y.mean() - ctl.mean()) if y.size and ctl.size else np.nan
            # ddct is always the difference of mean dCt in cycles (Livak); with
            # efficiencies the Pfaffl log2 ratio d is not -ddCt
            dct = sub.loc[sub["group"] == grp, "delta_ct"].dropna()
            dct_c = sub.loc[sub["group"] == control_group, "delta_ct"].dropna()
            ddct = (-d if not efficiencies else
                    float(dct.mean() - dct_c.mean()) if len(dct) and len(dct_c) else np.nan)
            row.update({"ddct": ddct, "log2_fold_change": d, "fold_change": 2.0**d,
                        "fc_lower": np.nan, "fc_upper": np.nan, "t": np.nan, "df": np.nan,
                        "p": np.nan, "test": ""})
            if grp != control_group and y.size >= 2 and ctl.size >= 2:
                tt = stats.ttest_ind(y, ctl, equal_var=equal_var)
                ci = tt.confidence_interval(conf)
                row.update({"fc_lower": 2.0**ci.low, "fc_upper": 2.0**ci.high,
                            "t": float(tt.statistic), "df": float(tt.df),
                            "p": float(tt.pvalue), "test": test_name})
            elif grp != control_group:
                warns.append(f"{target} / {grp}: fewer than 2 samples in a group, no test")
            rows.append(row)
    method = (
        "Relative expression by the "
        + ("efficiency-corrected Pfaffl ratio" if efficiencies else "2^-ddCt method")
        + f" normalised to the geometric mean of {', '.join(reference_genes)}; technical "
        f"replicates averaged; {test_name} on dCt per biological sample; fold-change CI "
        "back-transformed from the CI of the mean difference in dCt."
    )
    refs = [REF_LIVAK, REF_VANDESOMPELE, REF_GRUBBS, REF_WELCH]
    if efficiencies:
        refs[1:1] = [REF_PFAFFL, REF_HELLEMANS]
    qc = reps.assign(key=[fmt_key(s, g) for s, g in zip(reps["sample"], reps["gene"],
                                                         strict=True)]).set_index("key")
    out = []
    if len(groups) > 2:
        from remission.lab.apoptosis import REF_DUNNETT, compare_groups

        mrows: list[dict] = []
        mwarns: list[str] = []
        for target, sub in rel.groupby("target", sort=False):
            r_, w_, _ = compare_groups(sub["log2_rel"], sub["group"], control=control_group,
                                       equal_var=True, label=str(target))
            for r in r_:
                r["target"] = target
                if r["test"] == "Dunnett":
                    r.update({"fold_change": 2.0 ** r["estimate"],
                              "fc_lower": 2.0 ** r["lower"], "fc_upper": 2.0 ** r["upper"]})
            mrows += r_
            mwarns += w_
        out.append(Result(
            name="lab.qpcr.multigroup", title="qPCR: several groups vs control",
            table=table(mrows), method="One-way ANOVA of log2 relative expression (-dCt) "
            "across groups, then Dunnett's many-to-one comparisons against the control "
            "(estimates are log2 fold changes; fold_change back-transformed).",
            rationale="With more than two groups (e.g. a dose series), pairwise t tests "
            "against the control inflate the family-wise error; Dunnett controls it.",
            warnings=tuple(mwarns), references=(REF_DUNNETT, REF_LIVAK),
            params={"control_group": control_group},
            section=SECTION))
    return [
        Result(name="lab.qpcr.replicates", title="qPCR technical replicates", table=qc,
               method=f"Mean and SD of technical-replicate Ct; SD > {sd_threshold} cycles and "
               "Grubbs outliers (two-sided, alpha 0.05) flagged, not removed.",
               warnings=tuple(warns), references=(REF_GRUBBS,),
               params={"sd_threshold": sd_threshold}, section=SECTION),
        Result(name="lab.qpcr.expression", title="qPCR relative expression",
               table=table(rows), method=method,
               rationale="Ct values are log-scale; tests on dCt avoid the skew of fold "
               "changes. Welch's test does not assume equal variances.",
               warnings=tuple(top), references=tuple(refs),
               params={"reference_genes": list(reference_genes),
                       "control_group": control_group, "equal_var": equal_var,
                       "efficiencies": dict(efficiencies or {}), "conf": conf},
               section=SECTION),
        *out,
    ]


def plot_qpcr(ct: pd.DataFrame, reference_genes: Sequence[str], control_group: str,
              efficiencies: Mapping[str, float] | None = None,
              name: str = "lab.qpcr.fold_change") -> Figure:
    """Per-sample fold change against the control mean (log2 axis), one panel per target.

    Bars are the group geometric means; points the samples; the control group first.

    Parameters
    ----------
    ct : DataFrame
        One row per well: ``sample, group, gene, ct``.
    reference_genes : sequence of str
        Normaliser genes.
    control_group : str
        The group whose mean is fold change 1.
    efficiencies : mapping of str to float, optional
        Amplification factors (Pfaffl); default 2.
    name : str, default "lab.qpcr.fold_change"
        Figure name.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per target.

    Examples
    --------
    The knock-down bar is 2^-2 = 0.25 of the control:

    >>> ct = pd.DataFrame({"sample": np.repeat(["s1", "s2", "s3", "s4"], 4),
    ...                    "group": np.repeat(["ctrl", "kd"], 8),
    ...                    "gene": ["GAPDH", "GAPDH", "CLL1", "CLL1"] * 4,
    ...                    "ct": [20, 20, 25, 25, 20, 20, 25.2, 25.2,
    ...                           20, 20, 27, 27, 20.1, 20.1, 27.3, 27.3]})
    >>> ax = plot_qpcr(ct, ["GAPDH"], "ctrl").axes[0]
    >>> ax.get_title(), [round(float(p.get_height()), 4) for p in ax.patches]
    ('CLL1', [1.0, 0.25])
    """
    rel = relative_expression(ct, reference_genes, efficiencies)
    targets = list(pd.unique(rel["target"]))
    fig = new_figure(name, width=max(4.0, 3.2 * len(targets)), height=3.6)
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    for ax, target in zip(axes, targets, strict=True):
        sub = rel[rel["target"] == target]
        base = sub.loc[sub["group"] == control_group, "log2_rel"].mean()
        groups = list(pd.unique(sub["group"]))
        if control_group in groups:
            groups.remove(control_group)
            groups.insert(0, control_group)
        for i, grp in enumerate(groups):
            v = 2.0 ** (sub.loc[sub["group"] == grp, "log2_rel"] - base)
            ax.bar(i, 2.0 ** np.log2(v).mean(), color=f"C{i}", alpha=0.4)
            ax.scatter(np.full(v.size, i), v, color=f"C{i}", zorder=3)
        ax.set_yscale("log", base=2)
        ax.set_xticks(range(len(groups)), groups)
        ax.axhline(1, color="grey", lw=0.8)
        ax.set_title(target)
        ax.set_ylabel(f"fold change vs {control_group}")
    return fig
