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
    """Two-sided Grubbs critical value G_crit for sample size n (Grubbs 1969)."""
    if n < 3:
        return np.nan
    t = stats.t.ppf(1 - alpha / (2 * n), n - 2)
    return (n - 1) / np.sqrt(n) * np.sqrt(t * t / (n - 2 + t * t))


def grubbs_statistic(x: Sequence[float]) -> tuple[float, int]:
    """G = max |x - mean| / sd and the index of that value."""
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
    """Mean Ct per (sample, gene) with replicate SD, n and flags."""
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
    """Per (sample, target): dCt and log2 relative expression ``y`` (see module doc)."""
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
    """Replicate QC and fold changes of every target in every group vs ``control_group``."""
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
    """Per-sample fold change vs the control mean (log2 axis), one panel per target."""
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
