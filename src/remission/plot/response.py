"""Best overall response by dose group (stacked bars of counts, labelled n and %)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd

from remission.plot._bars import group_tick_labels, stacked_counts
from remission.plot._style import (
    RC,
    RESPONSE_ORDER,
    add_axes_in,
    cohort_order,
    labels,
    legend_width,
    new_figure,
    require,
    response_levels,
    response_style,
)


def response_by_group(adsl: pd.DataFrame, title: str = "Best overall response by dose group",
                      response_col: str = "BOR", group_title: str = "Group") -> Any:
    """Stacked bars of best-response categories per dose group (``COHORT`` order ``COHORTN``).

    Bars are labelled with the groups' study.toml labels (``COHORTL``) and the axis with
    ``group_title`` (the study's ``[cohorts] label``, e.g. "Dose group").

    Categories are ordered best to worst (ELN 2022, Döhner H et al. Blood
    2022;140:1345-77; MRD-stratified CR as in the study tables). Each segment shows the
    count and the percentage of its dose group; colours are Okabe–Ito.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Subject-level dataset with ``USUBJID``, ``COHORT`` and ``response_col`` (optional
        ``COHORTN``, ``COHORTL``).
    title : str, default ``"Best overall response by dose group"``
        Figure title.
    response_col : str, default ``"BOR"``
        Column of the best overall response category.
    group_title : str, default ``"Group"``
        Label of the group axis.

    Returns
    -------
    matplotlib.figure.Figure
        One stacked bar per group, categories best to worst; segments labelled
        "count (percent of the group)", bars "n=<patients>".

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column.

    References
    ----------
    Döhner H, Wei AH, Appelbaum FR, et al. Diagnosis and management of AML in adults:
    2022 recommendations from an international expert panel on behalf of the ELN. Blood
    2022;140:1345-77.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({
    ...     "USUBJID": ["P1", "P2", "P3", "P4"], "COHORT": ["low", "low", "high", "high"],
    ...     "COHORTN": [1, 1, 2, 2], "COHORTL": ["0.5e6/kg", "0.5e6/kg", "1e6/kg", "1e6/kg"],
    ...     "CRSGR": [0, 2, 1, None], "NTXGR": [0, 0, 1, 0], "BOR": ["CR", "PD", "CR", "CRi"],
    ...     "TRANSFL": ["Y", "N", "N", "N"], "DTHFL": ["N", "Y", "N", "N"],
    ...     "DTHDY": [None, 40, None, None]})
    >>> ax = response_by_group(adsl).axes[0]
    >>> ax.get_legend_handles_labels()[1], ax.get_title(loc="left")
    (['CR', 'CRi', 'PD'], 'Best overall response by dose group')
    >>> [t.get_text() for t in ax.texts]
    ['1 (50%)', '1 (50%)', '1 (50%)', '1 (50%)', 'n=2', 'n=2']
    """
    import matplotlib as mpl

    require(adsl, ["USUBJID", "COHORT", response_col], "response_by_group")
    with mpl.rc_context(RC):
        cohorts = cohort_order(adsl)
        resp = labels(adsl[response_col])
        levels = response_levels(resp)
        legend_title = "Best response"
        others = [c for c in levels if c not in RESPONSE_ORDER]
        group = [str(g) for g in adsl["COHORT"].tolist()]
        tally = Counter(zip(group, resp, strict=True))
        counts = [[tally[(name, lev)] for lev in levels] for name, _ in cohorts]
        right = legend_width(levels, legend_title) + 0.15
        fig = new_figure(0.75 + 1.0 * len(cohorts) + right, 3.6)
        ax = add_axes_in(fig, 0.65, right, 0.75, 0.4)
        stacked_counts(ax, group_tick_labels(cohorts), levels, counts,
                       [response_style(c, others) for c in levels], legend_title)
        ax.set_xlabel(group_title)
        ax.set_title(title, loc="left")
    return fig
