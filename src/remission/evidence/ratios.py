"""Consistency of a reported ratio (HR, OR, RR), its confidence interval and P value.

For a Wald interval on the log scale, ``log(est)`` is the midpoint of ``log(lo)`` and
``log(hi)``, ``se = (log hi - log lo) / (2 z)`` and ``P = 2 Φ(-|log est| / se)``
(Altman DG, Bland JM. BMJ 2011;343:d2090 and d2304). Printed values are rounded, so
every quantity is evaluated over the box of unrounded values that print as reported
and the reported P is judged attainable if it falls in (or prints as a value in) the
resulting range.

References
----------
Altman DG, Bland JM. How to obtain the P value from a confidence interval. BMJ
2011;343:d2304. Altman DG, Bland JM. How to obtain the confidence interval from a P
value. BMJ 2011;343:d2090.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
from scipy import stats

from remission.evidence.proportions import Printed
from remission.results import Result


def _box(p: Printed) -> tuple[float, float]:
    h = p.half_width()
    return max(p.value - h, 1e-300), p.value + h


def ratio_ci_consistency(estimate: float | str, lower: float | str, upper: float | str,
                         reported_p: float | str | None = None, *, conf: float = 0.95,
                         label: str = "ratio", source: str = "") -> Result:
    """Is ``estimate (lower–upper), P`` internally consistent for a Wald log-ratio CI?

    For a hazard or odds ratio with a Wald interval on the log scale the estimate is the
    geometric mean of the limits and SE = (ln upper - ln lower) / (2 z); every value
    that prints as the reported numbers is tried, so rounding is allowed for.

    Parameters
    ----------
    estimate, lower, upper : float or str
        The ratio and its CI as printed.
    reported_p : float or str, optional
        The printed P value.
    conf : float, default 0.95
        Confidence level of the interval.
    label, source : str
        Labels of the Result.

    Returns
    -------
    remission.results.Result
        Rows ``estimate`` (and ``p``): ``reported``, the ``low``-``high`` range implied by
        the other printed numbers, and ``consistent``; a warning when not.

    Examples
    --------
    HR 0.52 (0.31-0.87), P = 0.013: by hand sqrt(0.31 × 0.87) = 0.519 and
    z = |ln 0.52| / ((ln 0.87 - ln 0.31) / 3.92) = 2.48, P = 0.013:

    >>> r = ratio_ci_consistency("0.52", "0.31", "0.87", "0.013")
    >>> r.table["consistent"].tolist(), r.warnings
    ([True, True], ())
    """
    e, lo, hi = Printed.parse(estimate), Printed.parse(lower), Printed.parse(upper)
    z = stats.norm.ppf(1 - (1 - conf) / 2)
    corners = list(itertools.product(_box(e), _box(lo), _box(hi)))
    mids = [math.exp((math.log(a) + math.log(b)) / 2) for _, a, b in corners]
    pvals = []
    for est, a, b in corners:
        se = (math.log(b) - math.log(a)) / (2 * z)
        pvals.append(2 * stats.norm.sf(abs(math.log(est)) / se) if se > 0 else np.nan)
    # P is monotone in est and se, so its extremes over the box are at the corners,
    # except when the box straddles est = 1 (P reaches 1)
    p_lo, p_hi = float(np.nanmin(pvals)), float(np.nanmax(pvals))
    if _box(e)[0] <= 1 <= _box(e)[1]:
        p_hi = 1.0
    mid_lo, mid_hi = min(mids), max(mids)
    centred = _box(e)[0] <= mid_hi and mid_lo <= _box(e)[1]
    rows = {"estimate": {"reported": str(estimate), "low": mid_lo, "high": mid_hi,
                         "consistent": centred}}
    warns = []
    if not centred:
        warns.append(f"{label}: estimate {estimate} is not the geometric midpoint of "
                     f"({lower}, {upper}) (expected {mid_lo:.3g}–{mid_hi:.3g}); the interval "
                     "is not a Wald interval on the log scale, or a number is misprinted")
    if reported_p is not None:
        rp = Printed.parse(reported_p)
        if rp.relation in ("<", "<="):
            ok = p_lo < rp.value
        elif rp.relation in (">", ">="):
            ok = p_hi > rp.value
        else:
            ok = (p_lo - rp.half_width() <= rp.value <= p_hi + rp.half_width())
        rows["p"] = {"reported": str(reported_p), "low": p_lo, "high": p_hi, "consistent": ok}
        if not ok:
            warns.append(f"{label}: P = {reported_p} is outside the range implied by the "
                         f"interval ({p_lo:.3g}–{p_hi:.3g})")
    table = pd.DataFrame.from_dict(rows, orient="index")
    return Result(
        name=f"evidence.ratio.{''.join(c if c.isalnum() else '_' for c in label.lower())}",
        title=f"Ratio, CI and P consistency: {label}", table=table, section="audit",
        method=("Wald log-scale relations between estimate, confidence limits and P "
                "(Altman & Bland 2011), evaluated over all unrounded values consistent with "
                "the printed numbers."),
        rationale=("Rows give the range implied by the other printed numbers; 'consistent' "
                   "is False when the printed value cannot come from such an analysis."),
        warnings=tuple(warns),
        references=("Altman DG, Bland JM. BMJ 2011;343:d2304.",
                    "Altman DG, Bland JM. BMJ 2011;343:d2090.", *((source,) if source else ())),
        params={"estimate": str(estimate), "lower": str(lower), "upper": str(upper),
                "reported_p": None if reported_p is None else str(reported_p), "conf": conf},
    )
