"""Validation of right-censored / counting-process survival input.

Every check records a :class:`~remission.errors.Problem`; one ``InputError`` carries
them all, so a user fixes a file in one pass rather than one error at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    objects (much faster on large data; the same categories and codes).
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
