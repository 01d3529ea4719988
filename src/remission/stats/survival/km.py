"""Kaplan–Meier estimator with Greenwood variance, as R ``survival::survfit``.

Matches R's ``survfit(Surv(time, status) ~ 1, conf.type = ...)``: the product-limit
estimate, Greenwood standard error on the log scale, pointwise "log" (R's default),
"log-log" or "plain" intervals (``survfit_confint``), and the median with R's
``print.survfit`` rule (the first time the curve -- or, for the CI, the confidence
band -- falls to <= 0.5; if it sits exactly on 0.5 over an interval the midpoint is
used). Median follow-up uses the reverse Kaplan–Meier method (censoring as the event).

References
----------
Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81.
Greenwood M. Reports on Public Health and Medical Subjects 1926;33.
Brookmeyer R, Crowley J. Biometrics 1982;38:29-41 (median CI from the band).
Schemper M, Smith TL. Control Clin Trials 1996;17:343-6 (reverse KM follow-up).
Therneau TM. survival: A Package for Survival Analysis in R (survfit, print.survfit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from remission.results import Result
from remission.stats.survival._input import (
    as_categorical,
    check_survival,
    omitted_warning,
    resolve_columns,
    right_censored,
    strict_keywords,
    z_value,
)

ConfType = Literal["log", "log-log", "plain"]
_TOL = float(np.sqrt(np.finfo(float).eps))
KM_REFS = (
    "Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81.",
    "Greenwood M. Rep Public Health Med Subj 1926;33.",
    "Brookmeyer R, Crowley J. Biometrics 1982;38:29-41.",
    "Therneau TM. survival: A Package for Survival Analysis in R (survfit).",
)


def km_core(time: np.ndarray, event: np.ndarray) -> dict[str, np.ndarray]:
    """Product-limit arrays at every distinct time (events and censorings), as R ``survfit``.

    The array kernel behind :func:`kaplan_meier`, :class:`KaplanMeier` and
    :func:`~remission.survival.rmst`; inputs are not checked (the public entries do that).

    Parameters
    ----------
    time : ndarray of float
        Follow-up times (any unit; the output times are in the same unit).
    event : ndarray of {0, 1}
        1 = event, 0 = censored, one per time.

    Returns
    -------
    dict of str to ndarray
        One value per distinct time, sorted: ``time``, ``n_risk`` (at risk just before),
        ``n_event``, ``n_censor``, ``surv`` (product-limit S(t)) and ``se_log`` (Greenwood
        standard error of log S(t), ``inf`` once S reaches 0, as R).

    References
    ----------
    Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Greenwood M. Reports on Public Health
    and Medical Subjects 1926;33.

    Examples
    --------
    By hand: at t = 6, 2 events among 6 at risk give S = 4/6 and Greenwood
    var(log S) = 2 / (6 * 4) = 1/12; at t = 7, 1 of 3 gives S = 4/6 * 2/3 = 0.4444 and
    var(log S) = 1/12 + 1 / (3 * 2) = 0.25:

    >>> c = km_core(np.array([6, 6, 6, 7, 10, 13.0]), np.array([1, 1, 0, 1, 0, 1]))
    >>> c["time"].tolist(), c["n_risk"].tolist(), c["n_censor"].tolist()
    ([6.0, 7.0, 10.0, 13.0], [6.0, 3.0, 2.0, 1.0], [1.0, 0.0, 1.0, 0.0])
    >>> c["surv"].round(4).tolist(), c["se_log"][:2].round(4).tolist()
    ([0.6667, 0.4444, 0.4444, 0.0], [0.2887, 0.5])
    """
    ut, inv = np.unique(time, return_inverse=True)
    n_at = np.bincount(inv, minlength=len(ut)).astype(float)
    d = np.bincount(inv, weights=event.astype(float), minlength=len(ut))
    n_risk = np.cumsum(n_at[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        inc = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    se_log = np.sqrt(np.cumsum(inc))  # inf once S reaches 0, as in R
    return {"time": ut, "n_risk": n_risk, "n_event": d, "n_censor": n_at - d,
            "surv": surv, "se_log": se_log}


def _confint(surv: np.ndarray, se_log: np.ndarray, conf: float, conf_type: ConfType
            ) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise CI for S(t) from the log-scale SE, as R ``survfit_confint``."""
    z = z_value(conf)
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lo = np.exp(np.log(xx) - z * se_log)
            hi = np.minimum(np.exp(np.log(xx) + z * se_log), 1.0)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se_log / np.log(xx)
            lo = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            hi = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        elif conf_type == "plain":
            se2 = z * se_log * surv
            lo = np.maximum(surv - se2, 0.0)
            hi = np.minimum(surv + se2, 1.0)
        else:
            raise ValueError(f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}")
    return lo, hi


def _first_below(y: np.ndarray, x: np.ndarray, p: float = 0.5) -> float:
    """R ``survmean``'s ``minmin``: first x where y <= p, midpoint rule on a flat p."""
    keep = ~np.isnan(y) & (y < p + _TOL)
    if not keep.any():
        return float("nan")
    xk, yk = x[keep], y[keep]
    if abs(yk[0] - p) < _TOL and (yk < yk[0]).any():
        return float((xk[0] + xk[np.argmax(yk < yk[0])]) / 2)
    return float(xk[0])


def _findq(x: np.ndarray, y: np.ndarray, p: np.ndarray, tol: float = _TOL) -> np.ndarray:
    """R ``survival:::findq``: first x where the non-decreasing y reaches each p.

    A y equal to p (within ``tol``) over an interval gives the midpoint of that interval
    (to the last time if it is the end of the curve); NaN where p is not reached.
    """
    p = np.asarray(p, float)
    out = np.full(len(p), np.nan)
    if not np.any(np.isfinite(y)) or np.nanmax(y) < p.min():
        return out
    xmax = x[-1]
    ys = pd.Series(y)
    keep = ~ys.duplicated().to_numpy()
    x, y = x[keep], y[keep]
    n = len(y)
    ok = ~np.isnan(y)
    idx = np.arange(n)[ok]

    def approx(shift: float) -> np.ndarray:  # approx(y + shift, 1:n, p, "constant", f = 1)
        # approx sorts its knots: a confidence band need not be monotone
        order = np.argsort(y[ok], kind="stable")
        knots, vals = y[ok][order] + shift, idx[order]
        j = np.searchsorted(knots, p, side="left")
        inside = (p >= knots[0]) & (p <= knots[-1])
        res = np.full(len(p), -1)
        res[inside] = vals[np.minimum(j[inside], len(knots) - 1)]
        return res

    i1, i2 = approx(tol), approx(-tol)
    both = (i1 >= 0) & (i2 >= 0)
    out[both] = (x[i1[both]] + x[i2[both]]) / 2
    out[p == 0] = x[0]
    if not np.isnan(y[-1]):
        last = np.abs(p - y[-1]) < tol  # overrides the p = 0 rule too, as R
        out[last] = np.where(i1[last] >= 0, (x[np.maximum(i1[last], 0)] + xmax) / 2, np.nan)
    return out


@dataclass
class KaplanMeier:
    """One Kaplan–Meier curve. ``KaplanMeier().fit(time, event).summary`` as survfit.

    ``summary`` has one row per distinct time (R ``summary(survfit(...), censored=TRUE)``):
    ``time, n_risk, n_event, n_censor, surv, std_err`` (SE of S), ``lower, upper``.

    Parameters
    ----------
    conf : float
        Confidence level of the pointwise intervals, in (0, 1).
    conf_type : {"log", "log-log", "plain"}
        Transformation of the intervals; ``"log"`` is R ``survfit``'s default.
    label : str
        Name of the curve (group label in tables and plots).

    Attributes
    ----------
    summary : DataFrame
        The curve, one row per distinct time (set by :meth:`fit`).
    n, events : int
        Number of patients and of events.
    max_time : float
        Largest follow-up time.

    References
    ----------
    Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Greenwood M. Rep Public Health Med
    Subj 1926;33. Brookmeyer R, Crowley J. Biometrics 1982;38:29-41 (median CI).

    Examples
    --------
    >>> km = KaplanMeier().fit([6, 6, 6, 7, 10, 13], [1, 1, 0, 1, 0, 1])
    >>> print(km.summary[["time", "n_risk", "n_event", "surv"]].round(4).to_string(index=False))
     time  n_risk  n_event   surv
      6.0       6        2 0.6667
      7.0       3        1 0.4444
     10.0       2        0 0.4444
     13.0       1        1 0.0000
    >>> km.median
    (7.0, 6.0, nan)
    """

    conf: float = 0.95
    conf_type: ConfType = "log"
    label: str = "all"

    def fit(self, time: Any, event: Any, label: str | None = None, *,
            data: pd.DataFrame | None = None) -> KaplanMeier:
        """Fit the curve to right-censored data.

        Parameters
        ----------
        time : array-like of float, or str
            Follow-up time of each patient (any unit; non-negative, no missing values),
            or its column in ``data``.
        event : array-like of {0, 1}, or str
            1 = event at ``time``, 0 = censored (the opposite of ADaM ``CNSR``).
        label : str, optional
            Replaces :attr:`label`.
        data : DataFrame, optional
            Table holding the named columns.

        Returns
        -------
        KaplanMeier
            ``self``, with :attr:`summary`, :attr:`n`, :attr:`events` set.

        Raises
        ------
        InputError
            Listing every bad value (row, column, value, what was expected).

        Examples
        --------
        >>> KaplanMeier().fit([1, 2, 2, 3], [1, 0, 1, 1]).summary["surv"].round(4).tolist()
        [0.75, 0.5, 0.0]
        """
        cols, _ = resolve_columns("KaplanMeier.fit", data, "error",
                                  {"time": time, "event": event})
        t, e, _ = check_survival(cols["time"], cols["event"])
        self._fit_arrays(t, e)
        if label is not None:
            self.label = label
        return self

    def _fit_arrays(self, t: np.ndarray, e: np.ndarray) -> KaplanMeier:
        core = km_core(t, e)
        lo, hi = _confint(core["surv"], core["se_log"], self.conf, self.conf_type)
        self.n = len(t)
        self.events = int(e.sum())
        self.max_time = float(t.max())
        self._se_log = core["se_log"]
        with np.errstate(invalid="ignore"):
            std_err = core["surv"] * core["se_log"]
        self.summary = pd.DataFrame({
            "time": core["time"], "n_risk": core["n_risk"].astype(int),
            "n_event": core["n_event"].astype(int), "n_censor": core["n_censor"].astype(int),
            "surv": core["surv"], "std_err": std_err,
            "lower": lo, "upper": hi,
        })
        return self

    # -- quantities ---------------------------------------------------------
    def quantile(self, p: float | Any = 0.5) -> tuple[float, float, float] | pd.DataFrame:
        """Time by which a fraction ``p`` of patients has had the event, as R
        ``quantile.survfit``: ``p`` is the cumulative event probability 1 − S(t), so
        ``quantile(0.25)`` is the time S(t) first falls to 0.75 (the first quartile of
        the event-time distribution), not the time S falls to 0.25.

        Parameters
        ----------
        p : float or sequence of float
            Probabilities in [0, 1].

        Returns
        -------
        tuple or DataFrame
            ``(quantile, lower, upper)`` for a scalar ``p`` (NaN when not reached; lower
            and upper from the confidence band, Brookmeyer–Crowley); a DataFrame indexed
            by ``p`` for a sequence.

        Examples
        --------
        >>> km = KaplanMeier().fit([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 1, 1, 0, 1, 1, 1])
        >>> km.quantile(0.25)[0]
        2.5
        """
        probs = np.atleast_1d(np.asarray(p, float))
        if np.isnan(probs).any() or (probs < 0).any() or (probs > 1).any():
            raise ValueError(f"p must be probabilities in [0, 1], got {p!r}")
        s = self.summary
        x = np.concatenate([[0.0], s["time"].to_numpy()])
        cols = [_findq(x, np.concatenate([[0.0], 1 - s[c].to_numpy()]), probs)
                for c in ("surv", "lower", "upper")]
        if np.ndim(p) == 0:
            return float(cols[0][0]), float(cols[1][0]), float(cols[2][0])
        return pd.DataFrame({"quantile": cols[0], "lower": cols[1], "upper": cols[2]},
                            index=pd.Index(probs, name="p"))

    @property
    def median(self) -> tuple[float, float, float]:
        """(median, lower, upper) as R ``print.survfit`` / ``summary(fit)$table``; NaN
        when not reached.

        R's printed median CI takes the first time each band is <= 0.5, while
        ``quantile.survfit`` (:meth:`quantile`) reads a band that is not monotone after
        sorting it, so the two can differ in R too (``aml``: upper limit 45 vs 48).
        """
        s = self.summary
        x = s["time"].to_numpy()
        return (_first_below(s["surv"].to_numpy(), x, 0.5),
                _first_below(s["lower"].to_numpy(), x, 0.5),
                _first_below(s["upper"].to_numpy(), x, 0.5))

    def survival_at(self, times: Any) -> pd.DataFrame:
        """S(t) with SE and CI at chosen landmark times (R ``summary(fit, times=)``).

        Past the last follow-up time the estimate is undefined and returned as NaN
        (R refuses these times unless ``extend = TRUE``).
        """
        s = self.summary
        tt = np.atleast_1d(np.asarray(times, float))
        idx = np.searchsorted(s["time"].to_numpy(), tt, side="right") - 1
        surv = np.where(idx >= 0, s["surv"].to_numpy()[np.maximum(idx, 0)], 1.0)
        sel = np.where(idx >= 0, self._se_log[np.maximum(idx, 0)], 0.0)
        lo, hi = _confint(surv, sel, self.conf, self.conf_type)
        lo, hi = np.where(idx < 0, 1.0, lo), np.where(idx < 0, 1.0, hi)  # R fills with 1
        beyond = tt > self.max_time
        with np.errstate(invalid="ignore"):  # S = 0 with an infinite log-SE: NaN, as R
            std_err = surv * sel
        out = pd.DataFrame({"time": tt, "n_risk": self._n_risk_at(tt), "surv": surv,
                            "std_err": std_err, "lower": lo, "upper": hi})
        out.loc[beyond, ["surv", "std_err", "lower", "upper"]] = np.nan
        return out

    def _n_risk_at(self, tt: np.ndarray) -> np.ndarray:
        s = self.summary
        k = np.searchsorted(s["time"].to_numpy(), tt, side="left")
        nr = np.append(s["n_risk"].to_numpy(), 0)
        return nr[k]

    def risk_table(self, times: Any) -> pd.DataFrame:
        """Number at risk at each time and events/censored in (previous time, time].

        The intervals are those of R ``summary(survfit, times=)``; the first one starts
        at 0 inclusive. Data only: plotting aligns it under the x axis.
        """
        s = self.summary
        tt = np.atleast_1d(np.asarray(times, float))
        if np.any(np.diff(tt) < 0):
            raise ValueError("risk_table times must be in ascending order")
        st = s["time"].to_numpy()
        cum_e = np.concatenate([[0], np.cumsum(s["n_event"].to_numpy())])
        cum_c = np.concatenate([[0], np.cumsum(s["n_censor"].to_numpy())])
        pos = np.searchsorted(st, tt, side="right")
        prev = np.concatenate([[0], pos[:-1]])
        return pd.DataFrame({"time": tt, "n_risk": self._n_risk_at(tt),
                             "n_event": cum_e[pos] - cum_e[prev],
                             "n_censor": cum_c[pos] - cum_c[prev]})


def reverse_km_followup(time: Any, event: Any, conf: float = 0.95,
                        conf_type: ConfType = "log") -> tuple[float, float, float]:
    """Median follow-up by reverse Kaplan–Meier: censoring is the event, so deaths stop
    follow-up without counting as its end (Schemper M, Smith TL. Control Clin Trials
    1996;17:343-6); R ``survfit(Surv(time, 1 - status) ~ 1)`` median.

    Parameters
    ----------
    time : array_like
        Follow-up times.
    event : array_like
        1 = event (e.g. death), 0 = censored.
    conf : float, default 0.95
        Confidence level of the median's interval.
    conf_type : {"log", "log-log", "plain"}, default "log"
        Transformation of the pointwise interval (R's ``conf.type``).

    Returns
    -------
    tuple of float
        ``(median, lower, upper)``; NaN where the curve does not reach 0.5 (R's ``NA``).

    Raises
    ------
    remission.errors.InputError
        For negative or missing times, or event values other than 0/1.

    Examples
    --------
    R 4.2.2, survival 3.5.3: ``survfit(Surv(t, 1 - e) ~ 1)`` median 12, 95 % CI 8 to NA:

    >>> reverse_km_followup([3, 5, 6, 8, 10, 12, 15, 20], [1, 0, 1, 0, 1, 0, 1, 0])
    (12.0, 8.0, nan)
    """
    t, e, _ = check_survival(time, event)
    return KaplanMeier(conf, conf_type)._fit_arrays(t, 1 - e).median


def _group_codes(group: Any, n: int) -> tuple[list[Any], np.ndarray]:
    if group is None:
        return ["all"], np.zeros(n, int)
    cat = as_categorical(group)
    return cat.categories.tolist(), cat.codes.astype(int)


@strict_keywords
def kaplan_meier(time: Any, event: Any, group: Any = None, *, data: pd.DataFrame | None = None,
                 conf: float = 0.95, conf_type: ConfType = "log", landmarks: Any = (),
                 missing: str = "error", name: str = "survival.km",
                 title: str = "Kaplan–Meier estimates", section: str = "efficacy") -> Result:
    """KM per group: n, events, median (CI), S at landmark times (CI), median follow-up.

    Rows are group labels (``"all"`` without groups). Landmark columns are
    ``S@t``, ``S@t_lo``, ``S@t_hi``. Follow-up is the reverse-KM median per group.

    Parameters
    ----------
    time : array-like of float, or str
        Follow-up times, or the name of their column in ``data``.
    event : array-like of {0, 1}, or str
        1 = event, 0 = censored (or a column name).
    group : array-like or str, optional
        Group label per patient (no missing values; or a column name); one row per group.
    data : DataFrame, optional
        Table holding the named columns (arrays are passed without it).
    conf, conf_type
        As :class:`KaplanMeier`.
    landmarks : sequence of float
        Times at which S(t) and its CI are tabulated (NaN past the last follow-up).
    missing : {"error", "omit"}
        Report missing values as input errors (default), or drop incomplete rows with a
        warning (R's ``na.omit``).
    name, title, section : str
        Identity of the returned Result in the report and results.json.

    Returns
    -------
    Result
        Table with columns ``n, events, median, median_lo, median_hi, median_followup``
        and the landmark columns, plus method, rationale, warnings and references.

    Raises
    ------
    InputError
        Listing every bad time, event or group value.

    See Also
    --------
    KaplanMeier : the fitted curve itself.

    References
    ----------
    Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-81. Schemper M, Smith TL. Control
    Clin Trials 1996;17:343-6 (reverse Kaplan–Meier follow-up).

    Examples
    --------
    >>> res = kaplan_meier([6, 6, 6, 7, 10, 13], [1, 1, 0, 1, 0, 1], landmarks=[8])
    >>> res.table[["n", "events", "median", "S@8"]].round(4).to_dict("records")
    [{'n': 6, 'events': 4, 'median': 7.0, 'S@8': 0.4444}]

    The same from a table, by column names:

    >>> df = pd.DataFrame({"months": [6, 6, 6, 7, 10, 13], "died": [1, 1, 0, 1, 0, 1]})
    >>> float(kaplan_meier("months", "died", data=df).table.loc["all", "median"])
    7.0
    """
    t, e, group, dropped = right_censored("kaplan_meier", data, missing, time, event, group)
    labels, codes = _group_codes(group, len(t))
    rows, warns = [], []
    lm = np.atleast_1d(np.asarray(landmarks, float)) if len(np.atleast_1d(landmarks)) else []
    for k, lab in enumerate(labels):
        m = codes == k
        km = KaplanMeier(conf, conf_type, str(lab))._fit_arrays(t[m], e[m])
        med, lo, hi = km.median
        fu = KaplanMeier(conf, conf_type)._fit_arrays(t[m], 1 - e[m]).median[0]
        row: dict[str, Any] = {"n": km.n, "events": km.events, "median": med,
                               "median_lo": lo, "median_hi": hi, "median_followup": fu}
        if np.isnan(med):
            warns.append(f"{lab}: median not reached")
        if len(lm):
            sa = km.survival_at(lm)
            for _, r in sa.iterrows():
                key = f"S@{r['time']:g}"
                row[key], row[key + "_lo"], row[key + "_hi"] = r["surv"], r["lower"], r["upper"]
                if np.isnan(r["surv"]):
                    warns.append(f"{lab}: landmark {r['time']:g} is beyond last follow-up")
        rows.append(row)
    table = pd.DataFrame(rows, index=[str(x) for x in labels])
    roles = {"n": "count", "events": "count", "median_followup": "estimate"}
    for est in ["median", *(c for c in table.columns if str(c).startswith("S@")
                            and not str(c).endswith(("_lo", "_hi")))]:
        roles |= {est: "estimate", f"{est}_lo": f"ci_low:{est}", f"{est}_hi": f"ci_high:{est}"}
    roles["median"] = "event_time"  # missing = not reached (printed NR), not unknown
    return Result(
        name=name, title=title, table=table, section=section, roles=roles,
        method=(f"Kaplan–Meier product-limit estimates with Greenwood variance and {conf:.0%} "
                f"pointwise '{conf_type}' confidence intervals; median with CI from the "
                "confidence band crossing 0.5 (Brookmeyer–Crowley, as R survfit); median "
                "follow-up by reverse Kaplan–Meier."),
        rationale=("'log' intervals are R survfit's default; the median CI inverts the "
                   "pointwise band."),
        warnings=tuple(warns) + omitted_warning(dropped), references=KM_REFS,
        params={"conf": conf, "conf_type": conf_type, "landmarks": [float(x) for x in lm]},
    )


@strict_keywords
def km_curves(time: Any, event: Any, group: Any = None, *, data: pd.DataFrame | None = None,
              conf: float = 0.95, conf_type: ConfType = "log", risk_times: Any = (),
              missing: str = "error", name: str = "survival.km_curves",
              section: str = "efficacy") -> Result:
    """Step-function data per group for renderers (which draw, never compute).

    Rows ``"group | k"`` (k = 0 is the start at time 0, S = 1) carry ``group, time,
    surv, lower, upper, n_risk, n_event, n_censor``; with ``risk_times`` the
    number-at-risk table follows as rows ``"group | risk@t"`` (``time, n_risk,
    n_event, n_censor``).

    Parameters
    ----------
    time, event, group, data, conf, conf_type, missing
        As :func:`kaplan_meier`.
    risk_times : sequence of float
        Times of the number-at-risk table.
    name, section : str
        Identity of the returned Result.

    Returns
    -------
    Result
        The step functions (and risk table), one block of rows per group.

    Examples
    --------
    >>> km_curves([1, 2, 2, 3], [1, 0, 1, 1]).table["surv"].round(2).tolist()
    [1.0, 0.75, 0.5, 0.0]
    """
    t, e, group, dropped = right_censored("km_curves", data, missing, time, event, group)
    labels, codes = _group_codes(group, len(t))
    frames = []
    rt = np.atleast_1d(np.asarray(risk_times, float)) if len(np.atleast_1d(risk_times)) \
        else np.array([])
    for k, lab in enumerate(labels):
        km = KaplanMeier(conf, conf_type, str(lab))._fit_arrays(t[codes == k], e[codes == k])
        s = km.summary
        start = pd.DataFrame({"time": [0.0], "n_risk": [km.n], "n_event": [0], "n_censor": [0],
                              "surv": [1.0], "std_err": [0.0], "lower": [1.0], "upper": [1.0]})
        curve = pd.concat([start, s], ignore_index=True)
        curve.insert(0, "group", str(lab))
        curve.index = [f"{lab} | {i}" for i in range(len(curve))]
        frames.append(curve.drop(columns="std_err"))
        if len(rt):
            risk = km.risk_table(rt)
            risk.insert(0, "group", str(lab))
            risk.index = [f"{lab} | risk@{x:g}" for x in rt]
            frames.append(risk)
    return Result(
        name=name, title="Kaplan–Meier curves", table=pd.concat(frames), section=section,
        warnings=omitted_warning(dropped),
        method=(f"Kaplan–Meier step functions with {conf:.0%} '{conf_type}' pointwise CIs "
                "(as R survfit); number at risk at the chosen times."),
        references=KM_REFS, params={"conf": conf, "conf_type": conf_type,
                                    "risk_times": [float(x) for x in rt]},
    )
