"""Pre/post plasma analyte panel: paired fold changes, Wilcoxon tests with multiplicity
adjustment (``remission.stats.paired``), heat map."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from remission.results import Result
from remission.stats.paired import paired_changes

__all__ = ["panel_results"]


def panel_results(panel: pd.DataFrame, adjust: str = "holm", figures: bool = True
                  ) -> tuple[list[Result], Any]:
    """Per-patient fold changes and per-analyte paired tests.

    Parameters
    ----------
    panel:
        ``patient``, ``analyte``, ``pre``, ``post`` (concentrations; blanks dropped).
    adjust:
        Multiplicity adjustment across analytes (R ``p.adjust`` names).
    figures:
        Also return the heat map.

    Returns
    -------
    tuple
        ``([fold changes, tests], figure or None)``.

    References
    ----------
    Wilcoxon F. Biometrics Bull 1945;1:80-83. Holm S. Scand J Stat 1979;6:65-70.

    Examples
    --------
    R ``wilcox.test(post, pre, paired = TRUE)`` gives p = 0.03552234 for IL-6 (tied
    differences: normal approximation) and 0.3125 for IFN-γ (exact); Holm doubles the
    smaller: 0.071045:

    >>> d = pd.DataFrame({"patient": ["P1", "P2", "P3", "P4", "P5", "P6"] * 2,
    ...                   "analyte": ["IL6"] * 6 + ["IFNG"] * 6,
    ...                   "pre": [10, 12, 8, 20, 5, 9, 3, 4, 5, 6, 7, 8],
    ...                   "post": [80, 60, 40, 90, 30, 45, 3.3, 3.6, 6, 5.4, 7.7, 8.8]})
    >>> (fold_changes, tests), fig = panel_results(d, figures=False)
    >>> float(fold_changes.table.loc["P1 | IL6", "fold_change"]), fig
    (8.0, None)
    >>> tests.table[["median_fold_change", "p", "p_adj"]].round(6).values.tolist()
    [[1.1, 0.3125, 0.3125], [5.0, 0.035522, 0.071045]]
    """
    d = panel.dropna(subset=["pre", "post"]).copy()
    with np.errstate(divide="ignore"):
        d["fold_change"] = d["post"] / d["pre"]
        d["log2_fc"] = np.log2(d["fold_change"])
    zero = d[(d["pre"] == 0) | (d["post"] == 0)]
    fc = d[["patient", "analyte", "pre", "post", "fold_change", "log2_fc"]].copy()
    fc.index = pd.Index(fc["patient"].astype(str) + " | " + fc["analyte"].astype(str))
    warn = ([f"{len(zero)} pre or post values of 0: fold change infinite or 0, kept for "
             "the rank test"] if len(zero) else [])
    r1 = Result("immunogenetics.panel_fold_changes", "Plasma analytes: fold change post/pre",
                fc, method="Per patient and analyte: post / pre and its log2.",
                warnings=tuple(warn), section="immunogenetics")
    tests = paired_changes(d.rename(columns={"analyte": "variable"}), "pre", "post",
                           adjust=adjust, name="immunogenetics.panel_tests",
                           section="immunogenetics")
    med = d.groupby("analyte")["fold_change"].median()
    t = tests.table.copy()
    t.insert(3, "median_fold_change", med.reindex(t.index).to_numpy())
    small = int((t["n"] < 6).sum())
    w = list(tests.warnings)
    if small:
        w.append(f"{small} analyte(s) with fewer than 6 pairs: the exact signed-rank test "
                 "cannot reach P < 0.05 two-sided")
    r2 = replace(tests, title="Plasma analytes: paired pre vs post tests", table=t,
                 warnings=tuple(w))
    fig = None
    if figures and len(d):
        from remission.immunogenetics.plot import fold_change_heatmap

        m = d.pivot_table(index="analyte", columns="patient", values="log2_fc",
                          aggfunc="first").replace([np.inf, -np.inf], np.nan)
        fig = fold_change_heatmap(m)
        fig.remission_name = "fig.immunogenetics.panel"
        fig.remission_title = "Plasma analytes after infusion (log2 fold change)"
        fig.remission_caption = ("log2(post/pre) per patient and analyte; red = rise, "
                                 "blue = fall.")
    return [r1, r2], fig
