"""Shared constants and small helpers for the translational lab module."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from remission.stats.enrichment import bh_adjust  # noqa: F401 (re-exported for lab modules and tests)

SECTION = "lab"

REF_BATES_WATTS = (
    "Bates DM, Watts DG. Nonlinear Regression Analysis and Its Applications. Wiley, 1988 "
    "(least squares, linearisation standard errors, extra-sum-of-squares F test)."
)
REF_RITZ_2015 = (
    "Ritz C, Baty F, Streibig JC, Gerhard D. Dose-response analysis using R. PLoS One "
    "2015;10:e0146021 (log-logistic LL.4/LL.3 models, ED50 delta-method CI, ratios of EDs)."
)
REF_FIELLER = (
    "Fieller EC. Some problems in interval estimation. J R Stat Soc B 1954;16:175-185 "
    "(confidence interval for a ratio of estimates)."
)
REF_WELCH = "Welch BL. The generalization of 'Student's' problem. Biometrika 1947;34:28-35."


def new_figure(name: str, width: float = 6.0, height: float = 4.0) -> Figure:
    """A matplotlib Figure (no pyplot state) tagged with ``remission_name``."""
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.remission_name = name  # type: ignore[attr-defined]
    return fig


def fmt_key(*parts: Any) -> str:
    """Row key from parts joined by ' | ' (the Result addressing convention)."""
    return " | ".join(str(p) for p in parts)


def float_or_nan(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def table(rows: list[dict[str, Any]], key: str = "key") -> pd.DataFrame:
    """DataFrame indexed by string row keys taken from column ``key``."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(index=pd.Index([], dtype=object, name=key))
    df[key] = df[key].astype(str)
    return df.set_index(key)
