"""Per-patient lane chart: one row per patient, one tile per attribute.

A tile grid (dose group, best response, CRS grade, neurotoxicity grade, transplant after
CAR-T, death) in the spirit of the patient-level panels of CAR-T trial reports (e.g.
Figure 1A of Zhang M et al. Front Immunol 2025;15:1491341). Every tile carries text as
well as colour. Above ``max_patients`` the chart aggregates: rows become thin
unlabelled lines (a raster, so the file size no longer grows with n) and the title says so.
"""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING, Any

from remission.plot._style import (
    LIGHT,
    OKABE_ITO,
    RC,
    RESPONSE_ORDER,
    WHITE,
    add_axes_in,
    cohort_order,
    dose_colors,
    grade_color,
    labels,
    new_figure,
    require,
    response_levels,
    response_style,
    text_color,
)

if TYPE_CHECKING:  # pandas is imported by the caller: the drawing half never needs it
    import pandas as pd

#: Longest group label printed inside a lane tile (longer ones print the code, keyed in
#: the legend to the label).
TILE_CHARS = 14
REQUIRED = ("USUBJID", "COHORT", "BOR", "CRSGR", "NTXGR", "TRANSFL", "DTHFL")
MAX_PATIENTS = 200


def _natural_key(s: str) -> tuple[tuple[int, Any], ...]:
    """Sort "2" before "10" (numbers compare as numbers, text as text)."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", s) if t)


def _flag(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip().upper()


def _ntx_name(adsl: pd.DataFrame) -> str:
    if "NTXSYS" not in adsl.columns:
        return "Neurotox"
    # "CRES (CARTOX 2018)" / "CRES, CARTOX-10" -> "CRES": the column header stays short
    vals = sorted({re.split(r"[(,]", str(v))[0].strip() for v in adsl["NTXSYS"].dropna()
                   if str(v).strip()})
    return "/".join(vals) if vals else "Neurotox"


def _grade_texts(col: pd.Series) -> list[str]:
    """Grades as text ("?" when missing or not a number)."""
    import pandas as pd

    g = pd.to_numeric(col, errors="coerce").astype(float).tolist()  # pd.NA -> NaN
    return ["?" if v != v else str(int(v)) for v in g]


def lane_chart_note(n_patients: int, max_patients: int = MAX_PATIENTS) -> str:
    """Sentence for a figure caption when :func:`lane_chart` aggregates ("" otherwise).

    Parameters
    ----------
    n_patients : int
        Patients in the chart.
    max_patients : int, default :data:`MAX_PATIENTS`
        The ``max_patients`` given to :func:`lane_chart`.

    Returns
    -------
    str
        The caption sentence when ``n_patients > max_patients``, else ``""``.

    Examples
    --------
    >>> lane_chart_note(200), lane_chart_note(201)[:40]
    ('', 'With 201 patients (more than 200) the ch')
    """
    if n_patients <= max_patients:
        return ""
    return (f"With {n_patients} patients (more than {max_patients}) the chart is aggregated: "
            "one thin unlabelled line per patient, grouped by dose group, best response and "
            "CRS grade; the per-patient data are in results.json.")


def lane_chart(adsl: pd.DataFrame, title: str = "Patient-level outcomes",
               max_patients: int = MAX_PATIENTS, group_title: str = "Group") -> Any:
    """One row per patient (sorted by dose group, then ID) with attribute tiles and legend.

    Tiles: dose group, best overall response (``BOR``), CRS grade (``CRSGR``),
    neurotoxicity grade (``NTXGR``, system from ``NTXSYS``), transplant after CAR-T
    (``TRANSFL``), death (``DTHFL``; ``†`` with ``d<DTHDY>`` when the day is known,
    ``?`` when survival status is unknown). The group tile shows the group's study.toml
    label (its code, keyed in the legend to the label, when the label is longer than
    :data:`TILE_CHARS` characters); the column and legend are headed ``group_title``. More
    than ``max_patients`` rows are drawn as an unlabelled raster (aggregated view) and the
    title states it.

    Parameters
    ----------
    adsl : pandas.DataFrame
        Subject-level dataset with the columns of :data:`REQUIRED` (``USUBJID``,
        ``COHORT``, ``BOR``, ``CRSGR``, ``NTXGR``, ``TRANSFL``, ``DTHFL``; flags ``"Y"``
        / ``"N"``, anything else unknown) and optionally ``DTHDY``, ``NTXSYS``,
        ``COHORTN``, ``COHORTL``.
    title : str, default ``"Patient-level outcomes"``
        Figure title.
    max_patients : int, default :data:`MAX_PATIENTS`
        Above this many rows the chart is aggregated.
    group_title : str, default ``"Group"``
        Heading of the group column and legend.

    Returns
    -------
    matplotlib.figure.Figure
        The tile grid and its legend.

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> adsl = pd.DataFrame({
    ...     "USUBJID": ["P1", "P2", "P3", "P4"], "COHORT": ["low", "low", "high", "high"],
    ...     "COHORTN": [1, 1, 2, 2], "COHORTL": ["0.5e6/kg", "0.5e6/kg", "1e6/kg", "1e6/kg"],
    ...     "CRSGR": [0, 2, 1, None], "NTXGR": [0, 0, 1, 0], "BOR": ["CR", "PD", "CR", "CRi"],
    ...     "TRANSFL": ["Y", "N", "N", "N"], "DTHFL": ["N", "Y", "N", "N"],
    ...     "DTHDY": [None, 40, None, None]})
    >>> ax = lane_chart(adsl).axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['P1', 'P2', 'P3', 'P4']
    >>> [t.get_text() for t in ax.texts][5:11]  # P2: PD, CRS grade 2, died on day 40
    ['0.5e6/kg', 'PD', '2', '0', 'No', '† d40']
    >>> lane_chart(adsl, max_patients=3).axes[0].get_title(loc="left")
    'Patient-level outcomes (aggregated view: n = 4 > 3, no patient labels)'
    """
    return draw_lane_chart(lane_chart_data(adsl, max_patients), title=title,
                           group_title=group_title)


def lane_chart_data(adsl: pd.DataFrame, max_patients: int = MAX_PATIENTS) -> dict[str, Any]:
    """What :func:`draw_lane_chart` needs from ADSL, as plain Python values.

    The half of :func:`lane_chart` that reads the DataFrame: a process that only draws
    (the report's figure process, :mod:`remission.report.background`) then never imports
    pandas. Rows are put in the chart's order here.

    Parameters
    ----------
    adsl : pandas.DataFrame
        As for :func:`lane_chart`.
    max_patients : int, default :data:`MAX_PATIENTS`
        Above this many rows the chart is aggregated.

    Returns
    -------
    dict
        Per row, in chart order: ``ids``, ``cohort``, ``responses``, ``crs`` and ``ntx``
        (grades as text, "?" when missing), ``transplant`` and ``death`` (flags ``"Y"``,
        ``"N"`` or other), ``death_day`` (NaN when unknown); and ``cohorts``
        (``(COHORT, COHORTL)`` pairs in ``COHORTN`` order), ``ntx_name``, ``max_grade``
        (the highest CRS or neurotoxicity grade, 0 when none), ``aggregated``,
        ``max_patients``.

    Raises
    ------
    remission.errors.InputError
        If ``adsl`` is not a DataFrame or lacks a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> d = lane_chart_data(pd.DataFrame({
    ...     "USUBJID": ["P10", "P2"], "COHORT": ["A", "A"], "BOR": ["CR", "PD"],
    ...     "CRSGR": [1, None], "NTXGR": [0, 3], "TRANSFL": ["Y", "N"], "DTHFL": ["N", "Y"],
    ...     "DTHDY": [None, 40]}))
    >>> d["ids"], d["crs"], d["death_day"][0], d["max_grade"], d["aggregated"]
    (['P2', 'P10'], ['?', '1'], 40.0, 3, False)
    """
    import pandas as pd

    require(adsl, REQUIRED, "lane_chart")
    cohorts = cohort_order(adsl)
    corder = {name: i for i, (name, _) in enumerate(cohorts)}
    aggregated = len(adsl) > max_patients
    if aggregated:  # group like with like so the raster reads as distributions
        rlev = response_levels(labels(adsl["BOR"]))
        rank = [rlev.index(r) for r in labels(adsl["BOR"])]
        crs = pd.to_numeric(adsl["CRSGR"], errors="coerce").fillna(-1).tolist()
        keys = [(corder[str(c)], r, g, _natural_key(str(u))) for c, r, g, u in zip(
            adsl["COHORT"], rank, crs, adsl["USUBJID"], strict=True)]
    else:
        keys = [(corder[str(c)], _natural_key(str(u)))
                for c, u in zip(adsl["COHORT"], adsl["USUBJID"], strict=True)]
    order = sorted(range(len(adsl)), key=keys.__getitem__)
    df = adsl.iloc[order].reset_index(drop=True)
    n = len(df)
    grades = pd.concat([pd.to_numeric(adsl["CRSGR"], errors="coerce"),
                        pd.to_numeric(adsl["NTXGR"], errors="coerce")]).dropna()
    # plain Python lists: one pass, no per-cell pandas access (10,000 patients in ms)
    return {
        "cohorts": cohorts, "ids": [str(u) for u in df["USUBJID"]],
        "cohort": [str(c) for c in df["COHORT"].tolist()], "responses": labels(df["BOR"]),
        "crs": _grade_texts(df["CRSGR"]), "ntx": _grade_texts(df["NTXGR"]),
        "transplant": [_flag(v) for v in df["TRANSFL"].tolist()],
        "death": [_flag(v) for v in df["DTHFL"].tolist()],
        "death_day": (pd.to_numeric(df["DTHDY"], errors="coerce").tolist()
                      if "DTHDY" in df.columns else [float("nan")] * n),
        "ntx_name": _ntx_name(adsl), "max_grade": int(grades.max()) if len(grades) else 0,
        "aggregated": aggregated, "max_patients": max_patients,
    }


def draw_lane_chart(data: dict[str, Any], title: str = "Patient-level outcomes",
                    group_title: str = "Group") -> Any:
    """Draw :func:`lane_chart` from :func:`lane_chart_data` (no pandas).

    Parameters
    ----------
    data : dict
        From :func:`lane_chart_data`.
    title : str, default ``"Patient-level outcomes"``
        Figure title.
    group_title : str, default ``"Group"``
        Heading of the group column and legend.

    Returns
    -------
    matplotlib.figure.Figure
        The figure :func:`lane_chart` returns for the same ADSL.

    Examples
    --------
    >>> data = {"cohorts": [("A", "")], "ids": ["P1"], "cohort": ["A"], "responses": ["CR"],
    ...         "crs": ["1"], "ntx": ["?"], "transplant": ["N"], "death": ["Y"],
    ...         "death_day": [12.0], "ntx_name": "ICANS", "max_grade": 1,
    ...         "aggregated": False, "max_patients": 200}
    >>> [t.get_text() for t in draw_lane_chart(data).axes[0].texts]
    ['A', 'CR', '1', '?', 'No', '† d12']
    """
    import matplotlib as mpl

    with mpl.rc_context(RC):
        cohorts = data["cohorts"]
        corder = {name: i for i, (name, _) in enumerate(cohorts)}
        tile_text = {name: lab if lab and len(lab) <= TILE_CHARS else name
                     for name, lab in cohorts}
        aggregated, max_patients = data["aggregated"], data["max_patients"]
        ids = data["ids"]
        n = len(ids)
        ntx = data["ntx_name"]
        columns = [group_title, "Best response", "CRS grade", f"{ntx} grade",
                   "Transplant", "Death"]
        dcols = dose_colors(len(cohorts))
        resp = data["responses"]
        rlevels = response_levels(resp)
        others = [c for c in rlevels if c not in RESPONSE_ORDER]
        dthdy = data["death_day"]
        coh, crs_all, ntx_all = data["cohort"], data["crs"], data["ntx"]
        tr_all, dth_all = data["transplant"], data["death"]
        styles = {r: response_style(r, others) for r in rlevels}
        tiles: list[list[tuple[str, str, str]]] = []  # (colour, hatch, text) per cell
        for i in range(n):
            c = coh[i]
            rc, rh = styles[resp[i]]
            crs, nt, tr, dth = crs_all[i], ntx_all[i], tr_all[i], dth_all[i]
            if dth == "Y":
                day = dthdy[i]
                death = (OKABE_ITO["black"], "", "†" if day != day else f"† d{int(day)}")
            elif dth == "N":
                death = (LIGHT, "", "")
            else:
                death = (WHITE, "..", "?")
            tiles.append([
                (dcols[corder[c]], "", tile_text[c]),
                (rc, rh, resp[i]),
                (WHITE, "..", "?") if crs == "?" else (grade_color(int(crs)), "", crs),
                (WHITE, "..", "?") if nt == "?" else (grade_color(int(nt)), "", nt),
                (OKABE_ITO["green"], "", "Yes") if tr == "Y" else (
                    (LIGHT, "", "No") if tr == "N" else (WHITE, "..", "?")),
                death,
            ])

        row_h = 0.3 if n <= 20 else max(0.12, min(0.3, 6.0 / n))
        id_len = max([len(u) for u in ids] + [1])
        left = 0.45 if aggregated else 0.4 + id_len * (8 if row_h >= 0.2 else 6) * 0.6 / 72
        grid_w = 6 * 0.95
        top, bottom = 0.9, 0.15
        grid_h = min(n, 80) * 0.1 if aggregated else n * row_h
        gmax = data["max_grade"]
        entries = len(cohorts) + len(rlevels) + (gmax + 1) + 2 + 3 + 5
        height = max(top + bottom + grid_h, top + 0.2 + entries * 0.165)
        width = left + grid_w + 2.7
        fig = new_figure(width, height)
        ax = add_axes_in(fig, left, width - left - grid_w, height - top - grid_h, top)
        leg_ax = add_axes_in(fig, left + grid_w + 0.2, 0.05, bottom, top)
        leg_ax.axis("off")
        if aggregated:
            _draw_raster(ax, tiles)
            ax.set_ylabel(f"{n} patients, one line each (by {group_title.lower()}, then "
                          "response, CRS)")
            ax.set_yticks([])
            title = f"{title} (aggregated view: n = {n} > {max_patients}, no patient labels)"
        else:
            _draw_tiles(ax, tiles, row_h)
            ax.set_yticks(range(n), list(ids), fontsize=8 if row_h >= 0.2 else 6)
            ax.set_ylabel("Patient")
        heads = [textwrap.fill(c, 13, break_long_words=False) for c in columns]
        ax.set_xticks(range(len(columns)), heads, fontsize=8)
        ax.xaxis.tick_top()
        ax.tick_params(axis="x", length=0)
        ax.tick_params(axis="y", length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.set_xlim(-0.5, len(columns) - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_title(title, loc="left", pad=32)
        _legend(leg_ax, cohorts, dcols, rlevels, others, gmax, ntx, group_title)
    return fig


def _draw_tiles(ax: Any, tiles: list[list[tuple[str, str, str]]], row_h: float) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    by_hatch: dict[str, tuple[list[Any], list[str]]] = {}
    fontsize = 7 if row_h >= 0.2 else 5.5
    show_text = row_h >= 0.12
    for i, row in enumerate(tiles):
        for j, (color, hatch, text) in enumerate(row):
            rects, colors = by_hatch.setdefault(hatch, ([], []))
            rects.append(Rectangle((j - 0.46, i - 0.42), 0.92, 0.84))
            colors.append(color)
            if show_text and text:
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color=text_color(color) if not hatch else "#000000",
                        bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none",
                              "alpha": 0.8} if hatch else None, zorder=3)
    for hatch in sorted(by_hatch):
        rects, colors = by_hatch[hatch]
        ax.add_collection(PatchCollection(
            rects, facecolors=colors, edgecolors="#555555", linewidths=0.4,
            hatch=hatch or None, zorder=2,
        ))


def _draw_raster(ax: Any, tiles: list[list[tuple[str, str, str]]]) -> None:
    import numpy as np
    from matplotlib.colors import to_rgb

    cache: dict[str, tuple[float, float, float]] = {}
    img = np.empty((len(tiles), len(tiles[0]), 3))
    for i, row in enumerate(tiles):
        for j, (color, hatch, _) in enumerate(row):
            if color not in cache:
                cache[color] = to_rgb(color)
            # hatched (unknown) tiles become mid-grey in the raster view
            img[i, j] = cache[color] if not hatch else (0.8, 0.8, 0.8)
    ax.imshow(img, aspect="auto", interpolation="nearest",
              extent=(-0.5, len(tiles[0]) - 0.5, len(tiles) - 0.5, -0.5))


def _legend(ax: Any, cohorts: list[tuple[str, str]], dcols: list[str], rlevels: list[str],
            others: list[str], gmax: int, ntx: str, group_title: str = "Group") -> None:
    from matplotlib.patches import Patch

    def head(text: str) -> Patch:
        return Patch(visible=False, label=text)

    def sw(color: str, label: str, hatch: str = "") -> Patch:
        return Patch(facecolor=color, edgecolor="#555555", linewidth=0.4, hatch=hatch or None,
                     label=label)

    handles = [head(group_title)]
    handles += [sw(c, lab if lab and len(lab) <= TILE_CHARS else f"{name}  {lab}".strip())
                for (name, lab), c in zip(cohorts, dcols, strict=True)]
    handles += [head("Best response")]
    handles += [sw(*response_style(r, others)[:1], r, response_style(r, others)[1])
                for r in rlevels]
    handles += [head(f"CRS / {ntx} grade")]
    handles += [sw(grade_color(g), f"Grade {g}") for g in range(gmax + 1)]
    handles += [head("Transplant after CAR-T"), sw(OKABE_ITO["green"], "Yes"), sw(LIGHT, "No")]
    handles += [head("Death"), sw(OKABE_ITO["black"], "† died (d = day)"),
                sw(LIGHT, "alive at last contact"), sw(WHITE, "? unknown", "..")]
    leg = ax.legend(handles=handles, loc="upper left", frameon=False, fontsize=7.5,
                    handlelength=1.4, borderaxespad=0.0)
    for text, h in zip(leg.get_texts(), handles, strict=True):
        if not h.get_visible():
            text.set_fontweight("bold")
