"""Model tables: the numeric design matrix of a regression and its checks.

Shared by :mod:`remission.stats.regression` and the survival regressions (Cox,
Fine–Gray), so a text covariate, a constant column, collinearity or a missing value is
treated and reported the same way in every model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from remission.errors import ProblemLog

__all__ = ["check_design", "check_frame", "design"]


def design(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[np.ndarray, list[str],
                                                                   dict[str, list[int]]]:
    """Numeric design matrix; text/categorical columns get treatment (first level) dummies.

    Levels are sorted, as R's ``factor`` default, so the reference is the first level.
    """
    cols, names, terms = [], [], {}
    for c in covariates:
        v = data[c]
        if pd.api.types.is_numeric_dtype(v) and not isinstance(v.dtype, pd.CategoricalDtype):
            terms[c] = [len(names)]
            cols.append(v.to_numpy(float))
            names.append(c)
        else:
            cat = pd.Categorical(v)
            idx = []
            for lev in cat.categories[1:]:
                idx.append(len(names))
                cols.append((v == lev).to_numpy(float))
                names.append(f"{c}{lev}")
            terms[c] = idx
    return np.column_stack(cols) if cols else np.zeros((len(data), 0)), names, terms


def check_design(x: np.ndarray, names: Sequence[str], source: str = "model data") -> None:
    """Constant or linearly dependent covariates cannot be estimated: say which."""
    log = ProblemLog()
    for j, nm in enumerate(names):
        if x.shape[0] and np.ptp(x[:, j]) == 0:
            log.add(source, "covariate is constant, its effect cannot be estimated",
                    column=nm, value=x[0, j], expected="at least two distinct values")
    if not log and x.shape[1] > 1:
        xc = x - x.mean(0)
        if np.linalg.matrix_rank(xc) < x.shape[1]:
            log.add(source, "covariates are linearly dependent (collinear)",
                    column=", ".join(names), expected="drop or combine redundant covariates")
    log.raise_if_any()


def check_frame(data: pd.DataFrame, needed: Sequence[str], missing: str = "error"
                 ) -> tuple[pd.DataFrame, int]:
    """Check columns exist; missing values are errors or, with ``missing="omit"``,
    rows are dropped (complete-case analysis, R's ``na.omit`` default).

    Returns the frame to analyse and the number of rows dropped."""
    log = ProblemLog()
    for c in needed:
        if c not in data.columns:
            log.add("model data", "column not found", column=c,
                    expected=f"one of {list(data.columns)}")
    log.raise_if_any()
    if missing not in ("error", "omit"):
        raise ValueError(f"missing must be 'error' or 'omit', got {missing!r}")
    if missing == "omit":
        keep = data[list(needed)].notna().all(axis=1)
        return data[keep].reset_index(drop=True), int((~keep).sum())
    for c in needed:
        bad = data[c].isna().to_numpy()
        for i in np.flatnonzero(bad):
            log.add("model data", "missing value", row=int(i) + 2, column=c,
                    expected="a value (or missing='omit' for complete-case analysis)")
    log.raise_if_any()
    return data, 0
