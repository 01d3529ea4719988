"""Non-compartmental analysis (NCA) of CAR-T / CAR-NK expansion profiles.

Definitions follow PKNCA (Denney W et al., PKNCA R package; Gabrielsson & Weiner,
Pharmacokinetic and Pharmacodynamic Data Analysis): Cmax = highest concentration,
Tmax = first time it occurs; Tlast/Clast = last quantifiable (>= LLOQ) time and value;
AUC by the linear-up/log-down trapezoidal rule (log trapezoid where the concentration
falls and both ends are > 0, linear otherwise; ``auc_method="linear"`` for the plain
linear rule). AUC0-T is integrated to T (default day 28), interpolating the
concentration at T between its bracketing samples with the same rule; it is NA (not
extrapolated) when no sample at or after T remains. Time above LLOQ = Tlast - Tfirst
(time between the first and last quantifiable sample).

Below-LLOQ handling (``blq``): ``"tmax"`` (default) -- BLQ before Tmax = 0, after Tmax
= missing; ``"pknca"`` -- PKNCA default: leading BLQ = 0, BLQ between quantifiable
samples dropped, trailing BLQ = 0; ``"zero"``; ``"drop"``; ``"half_lloq"`` (LLOQ/2).
``c0_zero=True`` adds C(0) = 0 when day 0 was not sampled (no CAR cells before
infusion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.results import Result

__all__ = ["BLQ_RULES", "auc_interval", "nca", "nca_profile"]

BLQ_RULES = ("tmax", "pknca", "zero", "drop", "half_lloq")


def _segment_auc(t1, t2, c1, c2, method: str) -> np.ndarray:
    dt = t2 - t1
    lin = (c1 + c2) / 2.0 * dt
    if method == "linear":
        return lin
    down = (c2 < c1) & (c1 > 0) & (c2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = (c1 - c2) / np.log(c1 / c2) * dt
    return np.where(down, logv, lin)


def _interp(t1, t2, c1, c2, t, method: str) -> float:
    if method != "linear" and c2 < c1 and c1 > 0 and c2 > 0:
        return float(np.exp(np.log(c1) + (t - t1) / (t2 - t1) * (np.log(c2) - np.log(c1))))
    return float(c1 + (t - t1) / (t2 - t1) * (c2 - c1))


def auc_interval(t: np.ndarray, c: np.ndarray, end: float, method: str = "lin_up_log_down"):
    """AUC from the first sample to ``end`` (NaN if ``end`` is beyond the last sample).

    Parameters
    ----------
    t : array_like
        Sorted sample times (days).
    c : array_like
        Concentrations at ``t`` (BLQ already handled).
    end : float
        End of the interval; the concentration there is interpolated between the
        bracketing samples with the same rule (log-linear where it falls).
    method : {"lin_up_log_down", "linear"}, default "lin_up_log_down"
        Trapezoidal rule.

    Returns
    -------
    float
        The AUC (concentration × day); NaN when ``end`` is after the last sample (not
        extrapolated), 0 with a single sample.

    Examples
    --------
    By hand, for 0, 100, 50, 10 at days 0, 7, 14, 28: rising 0-7 linear, (0 + 100) / 2 × 7
    = 350; falling 7-14 and 14-28 log, (100 - 50) / ln 2 × 7 + (50 - 10) / ln 5 × 14, so
    AUC0-28 = 350 + 350 / ln 2 + 560 / ln 5 = 1202.8908; the linear rule gives 1295.
    To day 21, C(21) = sqrt(50 × 10) = 22.3607 and AUC0-21 = 1095.3691:

    >>> t, c = [0, 7, 14, 28], [0, 100, 50, 10]
    >>> round(auc_interval(t, c, 28), 4), auc_interval(t, c, 28, "linear")
    (1202.8908, 1295.0)
    >>> round(auc_interval(t, c, 21), 4), auc_interval(t, c, 35)
    (1095.3691, nan)
    """
    t = np.asarray(t, dtype=float)
    c = np.asarray(c, dtype=float)
    if len(t) == 0 or end > t[-1]:
        return float("nan")
    inside = t <= end
    ti, ci = t[inside], c[inside]
    if ti[-1] < end:
        k = int(np.searchsorted(t, end))
        ce = _interp(t[k - 1], t[k], c[k - 1], c[k], end, method)
        ti, ci = np.r_[ti, end], np.r_[ci, ce]
    if len(ti) < 2:
        return 0.0
    return float(np.sum(_segment_auc(ti[:-1], ti[1:], ci[:-1], ci[1:], method)))


def _apply_blq(t, c, lloq, rule):
    blq = ~(c >= lloq)
    if not blq.any():
        return t, c
    if rule == "zero":
        return t, np.where(blq, 0.0, c)
    if rule == "drop":
        return t[~blq], c[~blq]
    if rule == "half_lloq":
        return t, np.where(blq, lloq / 2.0, c)
    q = np.flatnonzero(~blq)
    if len(q) == 0:
        return t, np.zeros_like(c)
    if rule == "tmax":
        imax = int(np.argmax(np.where(blq, -np.inf, c)))
        keep = ~(blq & (np.arange(len(c)) > imax))
        return t[keep], np.where(blq, 0.0, c)[keep]
    if rule == "pknca":
        idx = np.arange(len(c))
        middle = blq & (idx > q[0]) & (idx < q[-1])
        return t[~middle], np.where(blq, 0.0, c)[~middle]
    raise ValueError(f"blq must be one of {BLQ_RULES}, got {rule!r}")


def nca_profile(t, c, lloq: float = 0.0, *, blq: str = "tmax", auc_end: float = 28.0,
                auc_method: str = "lin_up_log_down", c0_zero: bool = True) -> dict[str, float]:
    """NCA parameters of one profile (times in days); definitions in the module
    docstring.

    Parameters
    ----------
    t : array_like
        Sample times (days); unsorted and missing values are handled.
    c : array_like
        Concentrations at ``t``.
    lloq : float, default 0
        Lower limit of quantification (0: every positive value is quantifiable).
    blq : str, default "tmax"
        Below-LLOQ rule, one of :data:`BLQ_RULES`.
    auc_end : float, default 28
        End of the AUC interval (AUC0-T).
    auc_method : {"lin_up_log_down", "linear"}, default "lin_up_log_down"
        Trapezoidal rule.
    c0_zero : bool, default True
        Add C(0) = 0 when day 0 was not sampled.

    Returns
    -------
    dict
        ``cmax``, ``tmax``, ``clast``, ``tlast``, ``tfirst``, ``auc``,
        ``time_above_lloq``, ``n_samples``, ``n_quantifiable`` (NaN where not defined).

    Raises
    ------
    ValueError
        For an unknown ``auc_method`` or ``blq``.

    Examples
    --------
    The profile of :func:`auc_interval`'s example without day 0 (C(0) = 0 is added) and
    a BLQ sample after Tmax (dropped by the "tmax" rule):

    >>> r = nca_profile([7, 14, 28, 56], [100, 50, 10, 0.5], lloq=1)
    >>> r["cmax"], r["tmax"], r["tlast"], r["time_above_lloq"], round(r["auc"], 4)
    (100.0, 7.0, 28.0, 21.0, 1202.8908)
    """
    if auc_method not in ("lin_up_log_down", "linear"):
        raise ValueError("auc_method must be 'lin_up_log_down' or 'linear'")
    t = np.asarray(t, dtype=float)
    c = np.asarray(c, dtype=float)
    ok = ~np.isnan(t) & ~np.isnan(c)
    t, c = t[ok], c[ok]
    o = np.argsort(t, kind="stable")
    t, c = t[o], c[o]
    quant = c >= lloq if lloq > 0 else c > 0
    res = {"cmax": np.nan, "tmax": np.nan, "clast": np.nan, "tlast": np.nan, "tfirst": np.nan,
           "auc": np.nan, "time_above_lloq": np.nan, "n_samples": float(len(t)),
           "n_quantifiable": float(quant.sum())}
    if not quant.any():
        return res
    t2, c2 = _apply_blq(t, c, lloq if lloq > 0 else np.finfo(float).tiny, blq)
    if c0_zero and (len(t2) == 0 or t2[0] > 0):
        t2, c2 = np.r_[0.0, t2], np.r_[0.0, c2]
    qi = np.flatnonzero(quant)
    imax = int(np.argmax(np.where(quant, c, -np.inf)))
    res.update(cmax=float(c[imax]), tmax=float(t[imax]), clast=float(c[qi[-1]]),
               tlast=float(t[qi[-1]]), tfirst=float(t[qi[0]]),
               time_above_lloq=float(t[qi[-1]] - t[qi[0]]),
               auc=auc_interval(t2, c2, auc_end, auc_method))
    return res


def nca(data: pd.DataFrame, *, value: str = "value", lloq: float = 0.0, blq: str = "tmax",
        auc_end: float = 28.0, auc_method: str = "lin_up_log_down", c0_zero: bool = True,
        unit: str = "copies/µg", name: str = "kinetics.nca") -> Result:
    """NCA per patient of a long table (patient_id, day, ``value``); see the module
    docstring for the definitions.

    Parameters
    ----------
    data : pandas.DataFrame
        Long table: ``patient_id``, ``day`` and the concentration column.
    value : str, default "value"
        The concentration column.
    lloq, blq, auc_end, auc_method, c0_zero
        As :func:`nca_profile`.
    unit : str, default "copies/µg"
        Concentration unit, named in the method text.
    name : str, default "kinetics.nca"
        Name of the Result.

    Returns
    -------
    remission.results.Result
        One row per patient: the :func:`nca_profile` parameters, the AUC column named
        ``auc0_<end>``; warnings for patients without a quantifiable sample or not
        sampled up to ``auc_end``.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["1"] * 4 + ["2"] * 3,
    ...                   "day": [7, 14, 28, 56, 7, 14, 21],
    ...                   "value": [100, 50, 10, 0.5, 20, 80, 40]})
    >>> r = nca(d, lloq=1)
    >>> r.table[["cmax", "tmax", "auc0_28"]].round(4).values.tolist()
    [[100.0, 7.0, 1202.8908], [80.0, 14.0, nan]]
    >>> r.warnings
    ('1 patient(s) not sampled up to day 28: AUC0-28 not extrapolated (NA)',)
    """
    rows = {}
    for pid, g in data.groupby(data["patient_id"].astype(str), sort=True):
        rows[pid] = nca_profile(g["day"].to_numpy(), g[value].to_numpy(), lloq, blq=blq,
                                     auc_end=auc_end, auc_method=auc_method, c0_zero=c0_zero)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table = table.rename(columns={"auc": f"auc0_{auc_end:g}"})
    table.index.name = "patient_id"
    warnings = []
    nq = table["n_quantifiable"] == 0
    if nq.any():
        warnings.append(f"{int(nq.sum())} patient(s) without a quantifiable sample")
    na_auc = table[f"auc0_{auc_end:g}"].isna() & ~nq
    if na_auc.any():
        warnings.append(f"{int(na_auc.sum())} patient(s) not sampled up to day {auc_end:g}: "
                        f"AUC0-{auc_end:g} not extrapolated (NA)")
    rule = "linear-up/log-down" if auc_method == "lin_up_log_down" else "linear"
    return Result(
        name=name,
        title=f"Cellular kinetics (NCA): Cmax, Tmax, AUC0-{auc_end:g}",
        table=table,
        method=(f"Non-compartmental analysis; AUC0-{auc_end:g} by the {rule} trapezoidal "
                f"rule ({unit} × day), BLQ rule '{blq}', LLOQ {lloq:g} {unit}."),
        rationale="Cmax and AUC0-28 are the standard CAR-T expansion metrics (Mueller 2018).",
        warnings=tuple(warnings),
        references=("PKNCA R package (Denney W, Duvvuri S, Buckeridge C)",
                    "Mueller KT et al., Clin Cancer Res 2018;24:6175"),
        params={"lloq": lloq, "blq": blq, "auc_end": auc_end, "auc_method": auc_method,
                "c0_zero": c0_zero, "unit": unit},
        section="kinetics",
    )
