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
    """Numeric design matrix; text/categorical columns get treatment (first-level) dummies.

    Levels are sorted, as R's ``factor`` default, so the reference is the first level and
    each other level gets a 0/1 column named ``{column}{level}`` (R's ``model.matrix``
    naming). Numeric columns enter as they are. No intercept column is added.

    Parameters
    ----------
    data : DataFrame
        The model data (already checked by :func:`check_frame`).
    covariates : sequence of str
        Columns of ``data`` in model order.

    Returns
    -------
    tuple of (ndarray, list of str, dict)
        ``(X, names, terms)``: the n × p matrix, its column names, and for each covariate
        the indices of its columns in ``X`` (several for a factor, for joint tests).

    Raises
    ------
    InputError
        Every text covariate that mixes numbers with text (``"50", "61", "x"``): a
        mistyped number would otherwise turn the whole column into categories, one
        dummy per value. Categories meant as such (grades ``"1"``-``"4"`` and ``"NE"``)
        are accepted as a pandas ``Categorical``.

    Examples
    --------
    ``arm`` has levels A < B, so A is the reference and the dummy is ``armB``, as R
    ``model.matrix(~ age + arm, data.frame(age = c(50, 60, 70), arm = c("B", "A", "B")))``:

    >>> d = pd.DataFrame({"age": [50, 60, 70], "arm": ["B", "A", "B"]})
    >>> x, names, terms = design(d, ["age", "arm"])
    >>> x.tolist(), names, terms
    ([[50.0, 1.0], [60.0, 0.0], [70.0, 1.0]], ['age', 'armB'], {'age': [0], 'arm': [1]})
    """
    _refuse_mixed_columns(data, covariates)
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


def _refuse_mixed_columns(data: pd.DataFrame, covariates: Sequence[str]) -> None:
    """Refuse text columns in which some values read as numbers and others do not.

    A pandas ``Categorical`` is left alone (the caller declared the categories); so is a
    text column whose values are all numbers-as-text or all words (R's ``factor``).
    """
    log = ProblemLog()
    for c in covariates:
        v = data[c]
        if pd.api.types.is_numeric_dtype(v) or isinstance(v.dtype, pd.CategoricalDtype):
            continue
        present = v[v.notna()]
        as_number = pd.to_numeric(present.astype(str).str.strip(), errors="coerce")
        words = present[as_number.isna().to_numpy()]
        if 0 < len(words) < len(present):
            shown = ", ".join(repr(str(w)) for w in pd.unique(words)[:5])
            n_num, n_txt = len(present) - len(words), len(words)
            log.add("model data",
                    f"covariate mixes numbers ({n_num} value{'s' * (n_num != 1)}) and text "
                    f"({n_txt} value{'s' * (n_txt != 1)}: {shown})", column=c,
                    expected="numbers only for a numeric covariate, or the column as a "
                             "pandas Categorical to model its values as categories")
    log.raise_if_any()


def check_design(x: np.ndarray, names: Sequence[str], source: str = "model data") -> None:
    """Refuse covariates that cannot be estimated, naming them: constant or collinear columns.

    Parameters
    ----------
    x : ndarray
        The n × p design matrix (from :func:`design`).
    names : sequence of str
        Its column names.
    source : str, default "model data"
        Where the data came from, for the messages.

    Returns
    -------
    None
        The design is estimable (no constant column; centred columns of full rank).

    Raises
    ------
    InputError
        Every constant column; otherwise, linearly dependent columns (listed together).

    Examples
    --------
    Column b is twice column a, so their effects cannot be separated:

    >>> check_design(np.array([[1.0, 2], [2, 5], [3, 7]]), ["a", "b"]) is None
    True
    >>> from remission.errors import InputError
    >>> try:
    ...     check_design(np.array([[1.0, 2], [2, 4], [3, 6]]), ["a", "b"])
    ... except InputError as e:
    ...     print(e.problems[0].message)
    covariates are linearly dependent (collinear)
    """
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
    """Check that the model columns exist and treat missing values.

    Parameters
    ----------
    data : DataFrame
        The model data.
    needed : sequence of str
        Columns the model uses (outcome, times, covariates).
    missing : {"error", "omit"}, default "error"
        ``"error"`` reports every missing value of a needed column; ``"omit"`` drops the
        incomplete rows (complete-case analysis, R's ``na.omit`` default).

    Returns
    -------
    tuple of (DataFrame, int)
        The frame to analyse (re-indexed from 0 after omission) and the number of rows
        dropped.

    Raises
    ------
    InputError
        Every absent column, then every missing value (line = row + 2, as in the source
        table with its header).
    ValueError
        ``missing`` is neither ``"error"`` nor ``"omit"``.

    Examples
    --------
    >>> d = pd.DataFrame({"t": [1.0, None, 3.0], "x": [1.0, 2.0, None]})
    >>> kept, dropped = check_frame(d, ["t"], missing="omit")
    >>> kept["t"].tolist(), dropped
    ([1.0, 3.0], 1)
    >>> from remission.errors import InputError
    >>> try:
    ...     check_frame(d, ["t", "x"])
    ... except InputError as e:
    ...     print([(p.row, p.column) for p in e.problems])
    [(3, 't'), (4, 'x')]
    """
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
