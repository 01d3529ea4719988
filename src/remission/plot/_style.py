"""Shared style, palettes and input checks for the clinical figures.

Palette: Okabe M, Ito K. *Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people* (2008), https://jfly.uni-koeln.de/color/.
Ordered grades use a single-hue light-to-dark ramp (ColorBrewer YlOrBr; Harrower M,
Brewer CA. Cartogr J 2003;40:27-37), readable by lightness alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from remission.errors import InputError, Problem

if TYPE_CHECKING:  # the figure process draws without importing pandas (report.background)
    import pandas as pd

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "skyblue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
LIGHT = "#EEEEEE"
WHITE = "#FFFFFF"

#: rcParams applied while a figure is built and saved: fixed font (bundled with
#: matplotlib, so output is the same on every machine) and deterministic SVG ids.
RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.title_fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "remission",
    "hatch.linewidth": 0.6,
    "figure.dpi": 100,
    "savefig.dpi": 150,
}

# Response categories, best to worst (ELN 2022 / NCCN vocabulary of docs/study-format.md).
RESPONSE_ORDER = (
    "MRD-CR", "CR_MRD-", "CRi_MRD-", "CRh_MRD-",
    "MRD+CR", "CR_MRD+",
    "CR", "CRi", "CRh", "MLFS", "PR", "SD", "NR", "PD", "NE",
)
_RESPONSE_STYLE = {
    # colour encodes the response class, hatch the sub-type, so CRi/CRh stay distinct.
    "MRD-CR": (OKABE_ITO["blue"], ""),
    "CR_MRD-": (OKABE_ITO["blue"], ""),
    "CRi_MRD-": (OKABE_ITO["blue"], "//"),
    "CRh_MRD-": (OKABE_ITO["blue"], ".."),
    "MRD+CR": (OKABE_ITO["skyblue"], ""),
    "CR_MRD+": (OKABE_ITO["skyblue"], ""),
    "CR": (OKABE_ITO["green"], ""),
    "CRi": (OKABE_ITO["green"], "//"),
    "CRh": (OKABE_ITO["green"], ".."),
    "MLFS": (OKABE_ITO["purple"], ""),
    "PR": (OKABE_ITO["orange"], ""),
    "SD": (OKABE_ITO["yellow"], ""),
    "NR": (OKABE_ITO["vermillion"], ""),
    "PD": (OKABE_ITO["black"], ""),
    "NE": (WHITE, "xx"),
}
MISSING_LABEL = "Missing"
_GRADE_COLORS = ("#EEEEEE", "#FED98E", "#FE9929", "#D95F0E", "#993404", "#000000")


def response_levels(values: Iterable[Any]) -> list[str]:
    """Present categories in clinical order; unknown ones alphabetically, Missing last."""
    present = {_label(v) for v in values}
    known = [c for c in RESPONSE_ORDER if c in present]
    other = sorted(present - set(RESPONSE_ORDER) - {MISSING_LABEL})
    return known + other + ([MISSING_LABEL] if MISSING_LABEL in present else [])


def response_style(cat: str, others: Sequence[str] = ()) -> tuple[str, str]:
    """(colour, hatch) of a response category; unlisted categories get greys + hatches."""
    if cat in _RESPONSE_STYLE:
        return _RESPONSE_STYLE[cat]
    if cat == MISSING_LABEL:
        return (WHITE, "..")
    hatches = ("\\\\", "++", "--", "oo")
    i = list(others).index(cat) if cat in others else 0
    return (OKABE_ITO["grey"], hatches[i % len(hatches)])


def grade_color(grade: int) -> str:
    return _GRADE_COLORS[min(max(int(grade), 0), len(_GRADE_COLORS) - 1)]


def text_color(hex_color: str) -> str:
    """Black or white text, whichever contrasts more (WCAG relative luminance)."""
    h = hex_color.lstrip("#")
    rgb = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    lum = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return "#000000" if lum > 0.179 else "#FFFFFF"


def dose_colors(n: int) -> list[str]:
    """``n`` ordered light-to-dark greys (dose groups are ordinal; greys keep the hues free
    for response and grade tiles)."""
    import matplotlib as mpl

    cmap = mpl.colormaps["Greys"]
    if n == 1:
        return [mpl.colors.to_hex(cmap(0.35))]
    return [mpl.colors.to_hex(cmap(0.12 + 0.6 * i / (n - 1))) for i in range(n)]


def _label(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
        return MISSING_LABEL
    return str(v).strip()


def labels(series: pd.Series) -> list[str]:
    return [_label(v) for v in series.tolist()]


def require(adsl: pd.DataFrame, columns: Sequence[str], figure: str) -> None:
    """Raise one InputError naming every missing ADSL column."""
    import pandas as pd

    if not isinstance(adsl, pd.DataFrame):
        raise InputError([Problem("ADSL", f"{figure} needs a pandas DataFrame",
                                  value=type(adsl).__name__)])
    missing = [c for c in columns if c not in adsl.columns]
    if missing:
        raise InputError(
            Problem("ADSL", f"{figure}: required column missing", column=c,
                    expected="subject-level dataset column (see docs/report.md)")
            for c in missing
        )


def cohort_order(adsl: pd.DataFrame) -> list[tuple[str, str]]:
    """(COHORT, COHORTL) pairs in COHORTN order (name order if COHORTN is absent)."""
    cols = ["COHORT"] + [c for c in ("COHORTL", "COHORTN") if c in adsl.columns]
    first = adsl[cols].drop_duplicates("COHORT")
    if "COHORTN" in first.columns:
        first = first.sort_values(["COHORTN", "COHORT"], kind="stable")
    else:
        first = first.sort_values("COHORT", kind="stable")
    out = []
    for rec in first.itertuples(index=False):
        d = rec._asdict()
        lab = d.get("COHORTL", "")
        out.append((str(d["COHORT"]), "" if lab is None or lab != lab else str(lab)))
    return out


def new_figure(width: float, height: float) -> Any:
    """A pyplot-free Figure (no global state). Layout is set by :func:`add_axes_in`:
    fixed margins in inches are as good as constrained layout for these fixed designs
    and halve the drawing time (constrained layout draws every figure twice)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def add_axes_in(fig: Any, left: float, right: float, bottom: float, top: float) -> Any:
    """Axes placed by margins in inches from each figure edge."""
    w, h = fig.get_size_inches()
    return fig.add_axes((left / w, bottom / h, (w - left - right) / w, (h - bottom - top) / h))


def legend_width(labels: Iterable[str], title: str = "", fontsize: float = 8) -> float:
    """Approximate legend width in inches (DejaVu Sans averages ~0.6 em per character)."""
    chars = max([len(s) for s in labels] + [len(title)] + [1])
    return 0.45 + chars * fontsize * 0.6 / 72
