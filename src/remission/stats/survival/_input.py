"""Validation of right-censored / counting-process survival input.

Every check records a :class:`~remission.errors.Problem`; one ``InputError`` carries
them all, so a user fixes a file in one pass rather than one error at a time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from remission.errors import ProblemLog

SOURCE = "survival input"


def _as_float(values: Any, name: str, log: ProblemLog, source: str) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(np.asarray(values).ravel()), errors="coerce").to_numpy(float)
    raw = np.asarray(values).ravel()
    for i in np.flatnonzero(~np.isfinite(arr)):
        log.add(source, f"{name} is missing or not a finite number", row=int(i) + 2,
                column=name, value=None if i >= len(raw) else raw[i], expected="a number")
    return arr


def check_survival(
    time: Any,
    event: Any,
    *,
    start: Any = None,
    groups: Sequence[tuple[str, Any]] = (),
    source: str = SOURCE,
    event_codes: Sequence[int] = (0, 1),
    timefix: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return ``(time, event, start)`` as float/int arrays or raise ``InputError``.

    ``event`` must take values in ``event_codes`` (0 = censored). ``groups`` are extra
    columns (name, values) whose length must match and which may not be missing.
    Rows are reported 1-based as a spreadsheet shows them (header = line 1).
    ``timefix`` merges times that differ only by floating-point noise, as R's
    ``survival`` does by default (``aeqSurv``); cmprsk does not, so its equivalents
    pass ``timefix=False``.
    """
    log = ProblemLog()
    t = _as_float(time, "time", log, source)
    e = _as_float(event, "event", log, source)
    n = len(t)
    if len(e) != n:
        log.add(source, f"time has {n} values but event has {len(e)}", column="event")
    else:
        ok = np.isfinite(e)
        bad = ok & ~np.isin(e, np.asarray(event_codes, float))
        for i in np.flatnonzero(bad):
            log.add(source, "event code not allowed", row=int(i) + 2, column="event",
                    value=e[i], expected=f"one of {list(event_codes)} (0 = censored)")
    for i in np.flatnonzero(np.isfinite(t) & (t < 0)):
        log.add(source, "negative time", row=int(i) + 2, column="time", value=t[i],
                expected="time >= 0")
    s = None
    if start is not None:
        s = _as_float(start, "start", log, source)
        if len(s) == n:
            for i in np.flatnonzero(np.isfinite(s) & np.isfinite(t) & (s >= t)):
                log.add(source, "start is not before stop", row=int(i) + 2, column="start",
                        value=s[i], expected=f"start < stop ({t[i]})")
        else:
            log.add(source, f"start has {len(s)} values, time has {n}", column="start")
    for name, vals in groups:
        raw_g = np.asarray(vals).ravel()
        if len(raw_g) != n:
            log.add(source, f"{name} has {len(raw_g)} values, time has {n}", column=name)
            continue
        missing = (np.isnan(raw_g) if raw_g.dtype.kind == "f" else
                   np.zeros(n, bool) if raw_g.dtype.kind in "biu" else
                   pd.Series(np.asarray(vals, dtype=object).ravel()).isna().to_numpy())
        for i in np.flatnonzero(missing):
            log.add(source, f"{name} is missing", row=int(i) + 2, column=name,
                    expected="a group label")
    if n == 0:
        log.add(source, "no observations", expected="at least one row")
    log.raise_if_any()
    if timefix:
        t, s = aeq_times(t, s)
    return t, e.astype(int), s


def as_categorical(values: Any) -> pd.Categorical:
    """Labels as a pandas Categorical (sorted categories; missing -> code -1).

    Numeric and boolean labels are categorised in their own dtype rather than as Python
    objects (the same categories and codes as the object route).
    """
    arr = np.asarray(values).ravel()
    if arr.dtype.kind in "biuf":
        return pd.Categorical(arr)
    return pd.Categorical(pd.Series(np.asarray(values, dtype=object).ravel()))


def aeq_times(t: np.ndarray, start: np.ndarray | None = None,
              tol: float = float(np.sqrt(np.finfo(float).eps))
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """Merge near-identical times onto the smaller one, as R ``survival::aeqSurv``.

    Distinct times closer than ``tol`` (absolutely, or relative to the mean absolute
    time) are treated as ties, so 0.1 + 0.2 and 0.3 are one time, as in R.
    """
    allt = t if start is None else np.concatenate([t, start])
    y = np.unique(allt[np.isfinite(allt)])
    if len(y) < 2:
        return t, start
    dy = np.diff(y)
    tied = (dy <= tol) | (dy / np.mean(np.abs(y)) <= tol)
    if not tied.any():
        return t, start
    cuts = y[np.concatenate([[True], ~tied])]

    def fix(v: np.ndarray) -> np.ndarray:
        return cuts[np.searchsorted(cuts, v, side="right") - 1]

    return fix(t), None if start is None else fix(start)


def z_value(conf: float) -> float:
    """Two-sided normal quantile for confidence level ``conf`` (R: qnorm(1 - (1-conf)/2))."""
    from scipy.stats import norm

    if not 0 < conf < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {conf}")
    return float(norm.ppf(1 - (1 - conf) / 2))


MISSING_CHOICES = ("error", "omit")


def _na_mask(values: Any) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        return values.isna().any(axis=1).to_numpy()
    arr = np.asarray(values)
    if arr.ndim == 2:
        return pd.DataFrame(arr).isna().any(axis=1).to_numpy()
    return pd.Series(np.asarray(values, dtype=object).ravel()).isna().to_numpy()


def _take(values: Any, keep: np.ndarray) -> Any:
    if isinstance(values, pd.DataFrame | pd.Series):
        return values.iloc[keep]
    arr = np.asarray(values)
    return arr[keep]


def resolve_columns(function: str, data: pd.DataFrame | None, missing: str,
                    columns: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The arrays a survival function works on, from column names or from arrays.

    Every public estimator takes either arrays (``time=[...]``) or a table and column
    names (``time="AVAL", data=df``); this is the one place that reads them, so all of
    them treat names, lengths and missing values alike.

    Parameters
    ----------
    function : str
        Name of the calling function (for messages).
    data : DataFrame or None
        The table the column names refer to; ``None`` when arrays are passed.
    missing : {"error", "omit"}
        ``"error"`` leaves missing values to the input checks, which report each one;
        ``"omit"`` drops every row with a missing value in any used column (complete
        cases, R's ``na.omit``).
    columns : mapping
        Argument name -> column name, list of column names, array or ``None``.

    Returns
    -------
    dict, int
        Argument name -> values (``None`` kept), and the number of rows omitted.

    Raises
    ------
    TypeError
        A column name without ``data``, or ``data`` that is not a DataFrame.
    InputError
        A named column that ``data`` does not have (all of them at once).

    Examples
    --------
    >>> df = pd.DataFrame({"t": [1, 2, None], "e": [1, 0, 1]})
    >>> cols, dropped = resolve_columns("f", df, "omit", {"time": "t", "event": "e"})
    >>> cols["time"].tolist(), dropped
    ([1.0, 2.0], 1)
    """
    if missing not in MISSING_CHOICES:
        raise ValueError(f"{function}(): missing must be 'error' or 'omit', got {missing!r}")

    def is_name(v: Any) -> bool:
        return isinstance(v, str) or (isinstance(v, list | tuple) and len(v) > 0
                                      and all(isinstance(x, str) for x in v))

    out: dict[str, Any] = {}
    if data is None:
        for key, v in columns.items():
            if isinstance(v, str):
                raise TypeError(f"{function}(): {key}={v!r} looks like a column name; pass the "
                                f"table too ({function}(..., data=df)) or give the values")
            out[key] = v
    else:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"{function}(): data must be a pandas DataFrame, got "
                            f"{type(data).__name__}")
        log = ProblemLog()
        for key, v in columns.items():
            names = [v] if isinstance(v, str) else list(v) if is_name(v) else []
            absent = [c for c in names if c not in data.columns]
            for c in absent:
                log.add("data", f"no column {c!r} (argument {key})", column=c,
                        expected=f"one of {[str(x) for x in data.columns]}")
            if absent:
                continue
            out[key] = (data[v] if isinstance(v, str) else data[names] if names else v)
        log.raise_if_any()
    dropped = 0
    if missing == "omit":
        present = [v for v in out.values() if v is not None]
        n = {len(v) for v in present}
        if present and len(n) == 1:
            bad = np.zeros(n.pop(), bool)
            for v in present:
                bad |= _na_mask(v)
            dropped = int(bad.sum())
            if dropped:
                keep = ~bad
                out = {k: None if v is None else _take(v, keep) for k, v in out.items()}
    return out, dropped


def right_censored(function: str, data: pd.DataFrame | None, missing: str, time: Any,
                   event: Any, group: Any = None
                   ) -> tuple[np.ndarray, np.ndarray, Any, int]:
    """The checked input of a right-censored estimator with an optional grouping.

    :func:`resolve_columns` then :func:`check_survival`, the one reading of
    ``time, event, group`` that the Kaplan–Meier estimate, its step functions and the
    restricted mean share: a group, when given, must match ``time`` in length and may not
    be missing.

    Parameters
    ----------
    function, data, missing : str, DataFrame or None, str
        As :func:`resolve_columns` (the caller's name, the table or ``None``, and
        ``"error"`` or ``"omit"``).
    time, event : Any
        Follow-up times and event indicators (1 = event, 0 = censored): values, or
        column names in ``data``.
    group : Any, optional
        Group label per patient (values or a column name); ``None`` for one group.

    Returns
    -------
    tuple
        ``(time, event, group, dropped)``: the checked times (float, near-ties merged as
        R's ``aeqSurv``) and event codes (int), the group values as resolved (``None``
        kept) and the number of rows ``missing="omit"`` dropped.

    Raises
    ------
    TypeError
        As :func:`resolve_columns`.
    remission.errors.InputError
        A missing column, or a problem :func:`check_survival` finds.

    Examples
    --------
    >>> df = pd.DataFrame({"t": [3, 5, None, 0.1 + 0.2], "e": [1, 0, 1, 1],
    ...                    "g": ["A", "B", "A", "B"]})
    >>> t, e, g, dropped = right_censored("f", df, "omit", "t", "e", "g")
    >>> t.tolist(), e.tolist(), g.tolist(), dropped
    ([3.0, 5.0, 0.30000000000000004], [1, 0, 1], ['A', 'B', 'B'], 1)
    """
    cols, dropped = resolve_columns(function, data, missing,
                                    {"time": time, "event": event, "group": group})
    group = cols["group"]
    checks = [("group", group)] if group is not None else []
    t, e, _ = check_survival(cols["time"], cols["event"], groups=checks)
    return t, e, group, dropped


def omitted_warning(dropped: int) -> tuple[str, ...]:
    """The warning every estimator adds when ``missing="omit"`` dropped rows."""
    return ((f"{dropped} row(s) with missing values omitted (complete-case)",)
            if dropped else ())


#: Arguments users bring from R or lifelines, and what they are called here.
KEYWORD_HINTS = {
    "failcode": "the code of the event of interest is cause= (fine_gray keeps crr's "
                "failcode=)",
    "cencode": "censoring is status 0 here (fine_gray accepts cencode=)",
    "conf_int": "the confidence level is conf= (e.g. conf=0.95)",
    "conf_level": "the confidence level is conf= (e.g. conf=0.95)",
    "alpha": "the confidence level is conf= (conf = 1 - alpha)",
    "conf_type": "conf_type= exists on kaplan_meier and km_curves only",
    "duration_col": "pass time= (a column name with data=, or the values)",
    "event_col": "pass event= (a column name with data=, or the values)",
    "formula": "pass the columns as arguments: time=, event=, covariates=[...], data=df",
    "weights": "case weights are not supported",
    "na_action": "missing values: missing='error' (default) or missing='omit'",
    "subset": "subset the DataFrame before the call",
}


def strict_keywords(fn: Any) -> Any:
    """Reject unknown keyword arguments with a message that says what to use instead.

    Python already refuses them; this names the accepted arguments and, for names users
    bring from R (``failcode``, ``conf.int`` as ``conf_int``) or lifelines
    (``duration_col``), what they are called here.
    """
    import difflib
    import functools
    import inspect

    params = inspect.signature(fn).parameters
    accepted = [p for p in params if params[p].kind is not inspect.Parameter.VAR_POSITIONAL]

    takes_data = "data" in params
    first = [p for p in params if params[p].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if takes_data and args and isinstance(args[0], pd.DataFrame):
            example = ", ".join(f"'{p}'" for p in first[:3])
            raise TypeError(f"{fn.__name__}(): the table is passed as data= and the columns "
                            f"first, as in every survival function: "
                            f"{fn.__name__}({example}, data=df)")
        unknown = [k for k in kwargs if k not in params]
        if unknown:
            parts = []
            for k in unknown:
                hint = KEYWORD_HINTS.get(k)
                close = " or ".join(repr(c) for c in difflib.get_close_matches(k, accepted, n=3))
                parts.append(f"{k!r}" + (f" ({hint})" if hint else
                                         f" (did you mean {close}?)" if close else ""))
            raise TypeError(f"{fn.__name__}() got unexpected keyword argument(s) "
                            f"{', '.join(parts)}; it accepts {', '.join(accepted)}")
        return fn(*args, **kwargs)

    return wrapper


def model_frame(function: str, data: pd.DataFrame | None, covariates: Any,
                columns: Mapping[str, Any]
                ) -> tuple[pd.DataFrame, dict[str, str | None], list[str]]:
    """One table and column names for a regression, from ``data`` + names or from arrays.

    With ``data``, ``covariates`` is a list of its columns and every other argument a
    column name. Without it, ``covariates`` is a DataFrame (its columns name the
    coefficients), a mapping name -> values, or an array (1-D: one covariate ``x``;
    2-D: ``x1 … xp``), and the other arguments are arrays; they are gathered into one
    table so that both forms are checked, and their missing values handled, alike.

    Returns
    -------
    DataFrame, dict, list of str
        The table, argument name -> its column (``None`` when not given) and the
        covariate columns.

    Raises
    ------
    TypeError
        Column names without ``data``, values with it, or covariates of more than two
        dimensions.
    remission.errors.InputError
        Arrays whose lengths differ (each covariate of a mapping and each other argument
        against the covariates), all at once.

    Examples
    --------
    >>> frame, cols, covs = model_frame("cox", None, {"age": [60, 70]},
    ...                                 {"time": [3, 5], "event": [1, 0], "strata": None})
    >>> covs, cols["time"], frame[cols["time"]].tolist()
    (['age'], '.time', [3, 5])

    A missing label stays missing (NumPy alone would make ``nan`` the text ``'nan'``):

    >>> frame, cols, _ = model_frame("cox", None, [1, 2], {"strata": ["a", float("nan")]})
    >>> frame[cols["strata"]].isna().tolist()
    [False, True]
    """
    if isinstance(data, pd.DataFrame) or data is not None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"{function}(): data must be a pandas DataFrame, got "
                            f"{type(data).__name__}")
        covs = [covariates] if isinstance(covariates, str) else list(covariates)
        bad = [k for k, v in columns.items() if v is not None and not isinstance(v, str)]
        if bad or not all(isinstance(c, str) for c in covs):
            raise TypeError(f"{function}(): with data=, pass column names (time='AVAL', "
                            f"covariates=['age']); got values for "
                            f"{', '.join(bad) or 'covariates'}")
        return data, dict(columns), covs
    for k, v in [("covariates", covariates), *columns.items()]:
        if isinstance(v, str) or (k == "covariates" and isinstance(v, list | tuple)
                                  and v and all(isinstance(c, str) for c in v)):
            raise TypeError(f"{function}(): {k}={v!r} names columns; pass the table too "
                            f"({function}(..., data=df)) or give the values")
    if isinstance(covariates, pd.DataFrame):
        x = covariates.reset_index(drop=True)
    elif isinstance(covariates, pd.Series):
        x = covariates.reset_index(drop=True).to_frame(str(covariates.name or "x"))
    elif isinstance(covariates, Mapping):
        values = {str(k): _values(v) for k, v in covariates.items()}
        lengths = {k: len(v) for k, v in values.items()}
        n = max(lengths.values(), key=list(lengths.values()).count, default=0)
        log = ProblemLog()
        for k, m in lengths.items():
            if m != n:
                log.add("model data", f"covariate {k} has {m} values, the other covariates "
                        f"{n}", column=k, expected=f"{n} values, one per patient")
        log.raise_if_any()
        x = pd.DataFrame(values)
    else:
        arr = np.asarray(covariates)
        if arr.ndim == 1:
            x = pd.DataFrame({"x": arr})
        elif arr.ndim == 2:
            x = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
        else:
            raise TypeError(f"{function}(): covariates must be 1-D or 2-D, got "
                            f"{arr.ndim} dimensions")
    x.columns = [str(c) for c in x.columns]
    frame, names = x.copy(), {}
    log = ProblemLog()
    for k, v in columns.items():
        if v is None:
            names[k] = None
            continue
        vals = v.to_numpy() if isinstance(v, pd.Series) else _values(v)
        if len(vals) != len(frame):
            log.add("model data", f"{k} has {len(vals)} values but covariates have "
                    f"{len(frame)} rows", column=k,
                    expected=f"{len(frame)} values, one per patient")
            continue
        frame[f".{k}"] = vals
        names[k] = f".{k}"
    log.raise_if_any()
    return frame, names, list(x.columns)


def _values(v: Any) -> np.ndarray:
    """Values as a flat array, a missing value among labels kept missing.

    ``np.asarray(["A", nan])`` is the text array ``['A', 'nan']``, which would make a
    missing label a group of its own; such input is read as objects instead.

    Examples
    --------
    >>> _values(["A", float("nan")]).tolist(), _values([1, 2]).tolist()
    (['A', nan], [1, 2])
    """
    arr = np.asarray(v).ravel()
    return np.asarray(v, dtype=object).ravel() if arr.dtype.kind in "US" else arr

