"""Toxicity grade distribution (CRS or neurotoxicity) by dose group."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from remission.plot._bars import group_tick_labels, stacked_counts
from remission.plot._style import (
    RC,
    WHITE,
    add_axes_in,
    cohort_order,
    grade_color,
    legend_width,
    new_figure,
    require,
)

if TYPE_CHECKING:  # pandas is imported by the caller: the drawing half never needs it
    import pandas as pd

_NOT_GRADED = "Not graded"


def grade_by_group(adsl: pd.DataFrame, grade_col: str = "CRSGR", title: str | None = None,
                   system: str | None = None, group_title: str = "Group") -> Any:
    """Stacked bars of the highest grade per patient in each dose group.

    Bars are labelled with the groups' study.toml labels (``COHORTL``) and the axis with
    ``group_title`` (the study's ``[cohorts] label``, e.g. "Dose group").

    ``grade_col`` is ``"CRSGR"`` (CRS) or ``"NTXGR"`` (neurotoxicity); ``system`` names the
    grading system for the legend (default: ``NTXSYS`` for neurotoxicity, else "CRS").
    Grades 0..max observed are always all shown so an absent grade reads as zero, not as
    missing. Grading systems: Lee DW et al. Blood 2014;124:188-95 (CRS);
    Neelapu SS et al. Nat Rev Clin Oncol 2018;15:47-62 (CARTOX/CRES);
    Lee DW et al. Biol Blood Marrow Transplant 2019;25:625-38 (ASTCT CRS/ICANS).

    Parameters
    ----------
    adsl : pandas.DataFrame
        Subject-level dataset, one row per patient, with ``USUBJID``, ``COHORT`` and
        ``grade_col`` (optional ``COHORTN`` for the group order, ``COHORTL`` labels,
        ``NTXSYS``). A missing grade is counted as "Not graded".
    grade_col : str, default ``"CRSGR"``
        Column of the highest grade per patient (``"CRSGR"`` or ``"NTXGR"``).
    title : str, optional
        Figure title; default "<system> grade by <group title>".
    system : str, optional
        Grading system named in the legend title.
    group_title : str, default ``"Group"``
        Label of the group axis.

    Returns
    -------
    matplotlib.figure.Figure
        One stacked bar per group; each segment is labelled "count (percent of the
        group)", each bar "n=<patients>".

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column (every missing column
        named at once).

    References
    ----------
    Lee DW, Gardner R, Porter DL, et al. Current concepts in the diagnosis and
    management of cytokine release syndrome. Blood 2014;124:188-95.
    Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release
    syndrome and neurologic toxicity associated with immune effector cells. Biol Blood
    Marrow Transplant 2019;25:625-38.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({
    ...     "USUBJID": ["P1", "P2", "P3", "P4"], "COHORT": ["low", "low", "high", "high"],
    ...     "COHORTN": [1, 1, 2, 2], "COHORTL": ["0.5e6/kg", "0.5e6/kg", "1e6/kg", "1e6/kg"],
    ...     "CRSGR": [0, 2, 1, None], "NTXGR": [0, 0, 1, 0], "BOR": ["CR", "PD", "CR", "CRi"],
    ...     "TRANSFL": ["Y", "N", "N", "N"], "DTHFL": ["N", "Y", "N", "N"],
    ...     "DTHDY": [None, 40, None, None]})
    >>> ax = grade_by_group(adsl).axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()], ax.get_legend_handles_labels()[1]
    (['0.5e6/kg', '1e6/kg'], ['Grade 0', 'Grade 1', 'Grade 2', 'Not graded'])
    >>> [t.get_text() for t in ax.texts]  # each grade is 1 of the 2 patients of its group
    ['1 (50%)', '1 (50%)', '1 (50%)', '1 (50%)', 'n=2', 'n=2']
    >>> grade_by_group(adsl[["USUBJID", "COHORT"]])
    Traceback (most recent call last):
    ...
    remission.errors.InputError: 1 problem found:
      - ADSL, column 'CRSGR': grade_by_group: required column missing; expected \
subject-level dataset column (see docs/report.md)
    """
    return draw_grade_by_group(grade_by_group_data(adsl, grade_col, system), title=title,
                               group_title=group_title)


def grade_by_group_data(adsl: pd.DataFrame, grade_col: str = "CRSGR",
                        system: str | None = None) -> dict[str, Any]:
    """What :func:`draw_grade_by_group` needs from ADSL, as plain Python values.

    The half of :func:`grade_by_group` that reads the DataFrame: a process that only
    draws (the report's figure process, :mod:`remission.report.background`) then never
    imports pandas.

    Parameters
    ----------
    adsl : pandas.DataFrame
        As for :func:`grade_by_group`.
    grade_col : str, default ``"CRSGR"``
        Column of the highest grade per patient (``"CRSGR"`` or ``"NTXGR"``).
    system : str, optional
        Grading system named in the legend title (default as :func:`grade_by_group`).

    Returns
    -------
    dict
        ``cohorts`` (``(COHORT, COHORTL)`` pairs in ``COHORTN`` order), ``grades`` (each
        patient's grade as a float, NaN when missing or not a number), ``groups`` (each
        patient's ``COHORT``) and ``system``.

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> grade_by_group_data(pd.DataFrame({"USUBJID": ["P1", "P2"], "COHORT": ["A", "A"],
    ...                                   "CRSGR": [2, None]}))
    {'cohorts': [('A', '')], 'grades': [2.0, nan], 'groups': ['A', 'A'], 'system': 'CRS'}
    """
    import pandas as pd

    require(adsl, ["USUBJID", "COHORT", grade_col], "grade_by_group")
    if system is None:
        if grade_col == "NTXGR" and "NTXSYS" in adsl.columns:
            vals = sorted({str(v) for v in adsl["NTXSYS"].dropna() if str(v).strip()})
            system = " / ".join(vals) or "Neurotoxicity"
        elif grade_col == "NTXGR":
            system = "Neurotoxicity"
        else:
            system = "CRS"
    grades = pd.to_numeric(adsl[grade_col], errors="coerce").astype(float)  # NA -> NaN
    return {"cohorts": cohort_order(adsl), "grades": grades.tolist(),
            "groups": [str(g) for g in adsl["COHORT"].tolist()], "system": system}


def draw_grade_by_group(data: dict[str, Any], title: str | None = None,
                        group_title: str = "Group") -> Any:
    """Draw :func:`grade_by_group` from :func:`grade_by_group_data` (no pandas).

    Parameters
    ----------
    data : dict
        From :func:`grade_by_group_data`.
    title : str, optional
        Figure title; default "<system> grade by <group title>".
    group_title : str, default ``"Group"``
        Label of the group axis.

    Returns
    -------
    matplotlib.figure.Figure
        The figure :func:`grade_by_group` returns for the same ADSL.

    Examples
    --------
    >>> data = {"cohorts": [("A", "")], "grades": [2.0, float("nan")], "groups": ["A", "A"],
    ...         "system": "CRS"}
    >>> ax = draw_grade_by_group(data).axes[0]
    >>> ax.get_legend_handles_labels()[1], ax.get_title(loc="left")
    (['Grade 0', 'Grade 1', 'Grade 2', 'Not graded'], 'CRS grade by group')
    """
    import matplotlib as mpl

    system = data["system"]
    if title is None:
        title = f"{system} grade by {group_title.lower()}"
    with mpl.rc_context(RC):
        cohorts = data["cohorts"]
        grades = data["grades"]
        observed = [g for g in grades if g == g]
        gmax = int(max(observed)) if observed else 0
        levels = [f"Grade {g}" for g in range(gmax + 1)]
        has_missing = len(observed) < len(grades)
        if has_missing:
            levels.append(_NOT_GRADED)
        glabels = [_NOT_GRADED if g != g else f"Grade {int(g)}" for g in grades]
        group = data["groups"]
        tally = Counter(zip(group, glabels, strict=True))
        counts = [[tally[(name, lev)] for lev in levels] for name, _ in cohorts]
        legend_title = f"{system} grade"
        styles = [(grade_color(g), "") for g in range(gmax + 1)]
        if has_missing:
            styles.append((WHITE, ".."))
        right = legend_width(levels, legend_title) + 0.15
        fig = new_figure(0.75 + 1.0 * len(cohorts) + right, 3.6)
        ax = add_axes_in(fig, 0.65, right, 0.75, 0.4)
        stacked_counts(ax, group_tick_labels(cohorts), levels, counts, styles, legend_title)
        ax.set_xlabel(group_title)
        ax.set_title(title, loc="left")
    return fig
