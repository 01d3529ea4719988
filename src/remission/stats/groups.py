"""Iterate over "Overall" plus each cohort level in study order."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

OVERALL = "Overall"


def cohort_levels(adsl: pd.DataFrame) -> list[str]:
    """Cohort names in study order (by ``COHORTN``).

    Parameters
    ----------
    adsl : DataFrame
        Subject-level data with ``COHORT`` (name) and ``COHORTN`` (order) columns.

    Returns
    -------
    list of str
        Each cohort once, ordered by its ``COHORTN``.

    Examples
    --------
    >>> adsl = pd.DataFrame({"COHORT": ["high", "low", "high"], "COHORTN": [2, 1, 2]})
    >>> cohort_levels(adsl)
    ['low', 'high']
    """
    order = adsl.drop_duplicates("COHORT").sort_values("COHORTN")
    return [str(c) for c in order["COHORT"]]


def by_group(adsl: pd.DataFrame, overall: bool = True) -> Iterator[tuple[str, pd.DataFrame]]:
    """Iterate over "Overall" and, when there are several cohorts, each cohort.

    Parameters
    ----------
    adsl : DataFrame
        Subject-level data with ``COHORT`` and ``COHORTN`` columns.
    overall : bool, default True
        Yield the whole table first under the name ``"Overall"``.

    Returns
    -------
    iterator of (str, DataFrame)
        ``(group name, its rows)``; cohorts in :func:`cohort_levels` order, and none when
        the study has a single cohort (its rows are the overall rows).

    Examples
    --------
    >>> adsl = pd.DataFrame({"COHORT": ["high", "low", "high"], "COHORTN": [2, 1, 2]})
    >>> [(g, len(rows)) for g, rows in by_group(adsl)]
    [('Overall', 3), ('low', 1), ('high', 2)]
    >>> [g for g, _ in by_group(adsl.iloc[[0, 2]])]
    ['Overall']
    """
    if overall:
        yield OVERALL, adsl
    levels = cohort_levels(adsl)
    if len(levels) > 1:
        for lv in levels:
            yield lv, adsl[adsl["COHORT"] == lv]


def row_key(item: str, group: str) -> str:
    """Row label of a per-group table: ``"{item} | {group}"``.

    Parameters
    ----------
    item : str
        The variable, category or event the row is about.
    group : str
        The group name (``"Overall"`` or a cohort).

    Returns
    -------
    str
        The key used as the row index of baseline, response and safety tables.

    Examples
    --------
    >>> row_key("sex = F", "Overall")
    'sex = F | Overall'
    """
    return f"{item} | {group}"
