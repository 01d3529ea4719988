"""Best overall response by dose group (stacked bars of counts, labelled n and %)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # pandas is imported by the caller: the drawing half never needs it
    import pandas as pd


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
    return draw_response_by_group(response_by_group_data(adsl, response_col), title=title,
                                  group_title=group_title)


def response_by_group_data(adsl: pd.DataFrame, response_col: str = "BOR") -> dict[str, Any]:
    """What :func:`draw_response_by_group` needs from ADSL, as plain Python values.

    The half of :func:`response_by_group` that reads the DataFrame: a process that only
    draws (the report's figure process, :mod:`remission.report.background`) then never
    imports pandas.

    Parameters
    ----------
    adsl : pandas.DataFrame
        As for :func:`response_by_group`.
    response_col : str, default ``"BOR"``
        Column of the best overall response category.

    Returns
    -------
    dict
        ``cohorts`` (``(COHORT, COHORTL)`` pairs in ``COHORTN`` order), ``responses``
        (each patient's category label) and ``groups`` (each patient's ``COHORT``), lists
        of str.

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> response_by_group_data(pd.DataFrame({"USUBJID": ["P1", "P2"], "COHORT": ["A", "B"],
    ...                                      "BOR": ["CR", None]}))
    {'cohorts': [('A', ''), ('B', '')], 'responses': ['CR', 'Missing'], 'groups': ['A', 'B']}
    """
    require(adsl, ["USUBJID", "COHORT", response_col], "response_by_group")
    return {"cohorts": cohort_order(adsl), "responses": labels(adsl[response_col]),
            "groups": [str(g) for g in adsl["COHORT"].tolist()]}


def draw_response_by_group(data: dict[str, Any],
                           title: str = "Best overall response by dose group",
                           group_title: str = "Group") -> Any:
    """Draw :func:`response_by_group` from :func:`response_by_group_data` (no pandas).

    Parameters
    ----------
    data : dict
        From :func:`response_by_group_data`.
    title : str, default ``"Best overall response by dose group"``
        Figure title.
    group_title : str, default ``"Group"``
        Label of the group axis.

    Returns
    -------
    matplotlib.figure.Figure
        The figure :func:`response_by_group` returns for the same ADSL.

    Examples
    --------
    >>> data = {"cohorts": [("A", "low"), ("B", "")], "responses": ["CR", "PD", "CR"],
    ...         "groups": ["A", "A", "B"]}
    >>> ax = draw_response_by_group(data).axes[0]
    >>> [t.get_text() for t in ax.texts]
    ['1 (50%)', '1 (100%)', '1 (50%)', 'n=2', 'n=1']
    """
    import matplotlib as mpl

    with mpl.rc_context(RC):
        cohorts = data["cohorts"]
        resp = data["responses"]
        levels = response_levels(resp)
        legend_title = "Best response"
        others = [c for c in levels if c not in RESPONSE_ORDER]
        group = data["groups"]
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
