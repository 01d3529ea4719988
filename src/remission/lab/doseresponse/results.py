"""A tidy plate table in, Results out: every (drug, group) curve fitted, groups compared
per drug; normalisation to vehicle wells."""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.lab._common import (
    REF_BATES_WATTS,
    REF_FIELLER,
    REF_RITZ_2015,
    SECTION,
    fmt_key,
    table,
)
from remission.lab.doseresponse.fit import (
    CurveFit,
    absolute_ic50,
    asymptotes_fixed,
    fit_curve,
    profile_ic50_ci,
)
from remission.lab.doseresponse.joint import compare_curves
from remission.lab.doseresponse.model import PARAMS
from remission.results import Result


def normalise_to_vehicle(data: pd.DataFrame) -> pd.DataFrame:
    """Response as % of the mean vehicle (dose 0) wells of the same plate, group and drug.

    Parameters
    ----------
    data : DataFrame
        Plate table (:func:`remission.lab.formats.read_plate_table`): ``dose``,
        ``response`` and the strata columns present among ``plate, group, drug``.

    Returns
    -------
    DataFrame
        A copy with ``response`` = 100 × response / mean vehicle response of its stratum
        (vehicle wells themselves average 100).

    Raises
    ------
    ValueError
        Naming the strata that have no vehicle wells or a zero vehicle mean.

    Examples
    --------
    Vehicle mean (2.0 + 2.2) / 2 = 2.1, so 1.05 is 50 % and 0.42 is 20 %:

    >>> d = pd.DataFrame({"group": ["A"] * 4 + ["B"], "dose": [0, 0, 1, 10, 1],
    ...                   "response": [2.0, 2.2, 1.05, 0.42, 1.0]})
    >>> normalise_to_vehicle(d.iloc[:4])["response"].round(6).tolist()
    [95.238095, 104.761905, 50.0, 20.0]
    >>> try:
    ...     normalise_to_vehicle(d)
    ... except ValueError as e:
    ...     print(e)
    no usable vehicle (dose 0) wells for: B
    """
    d = data.copy()
    keys = [c for c in ("plate", "group", "drug") if c in d]
    veh = d[d["dose"] == 0].groupby(keys)["response"].mean()
    idx = pd.MultiIndex.from_frame(d[keys]) if len(keys) > 1 else pd.Index(d[keys[0]])
    base = veh.reindex(idx).to_numpy()
    bad = ~np.isfinite(base) | (base == 0)
    if bad.any():
        strata = sorted({" / ".join(map(str, np.atleast_1d(k))) for k in idx[bad]})
        raise ValueError(f"no usable vehicle (dose 0) wells for: {', '.join(strata)}")
    d["response"] = 100.0 * d["response"].to_numpy() / base
    return d


def _prepare(data: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    d = data.copy()
    if "drug" not in d:
        d["drug"] = "drug"
    zero = d["dose"] <= 0
    if zero.any():
        notes.append(
            f"{int(zero.sum())} well(s) with dose 0 (vehicle) excluded from the log-logistic "
            "fit; normalise to them before fitting if responses are raw signals"
        )
        d = d[~zero]
    return d, notes


def reach_warning(fit: CurveFit, level: float = 50.0) -> str | None:
    """Say how far a curve gets when it never crosses ``level`` within the tested doses.

    Responses are % of vehicle: a falling curve must come down to ``level`` (50 = 50 %
    inhibition), a rising one (e.g. % killing) up to it. The relative IC50 (halfway
    between the fitted asymptotes) is then not the dose giving ``level``.

    Parameters
    ----------
    fit : CurveFit
        A fitted curve (:func:`~remission.lab.doseresponse.fit.fit_curve`).
    level : float, default 50.0
        The response level (% of vehicle).

    Returns
    -------
    str or None
        The warning, or None when the fitted curve reaches ``level`` between the lowest and
        highest dose.

    Examples
    --------
    A curve levelling off at about 60 % of vehicle never gives 50 % inhibition:

    >>> from remission.lab.doseresponse.fit import fit_curve
    >>> dose = np.repeat([0.1, 0.3, 1, 3, 10, 30, 100], 2)
    >>> y = np.array([100, 99, 98, 97, 95, 94, 90, 88, 80, 78, 70, 68, 65, 63.0])
    >>> print(reach_warning(fit_curve(dose, y)).split(":")[0])
    never reaches 50% inhibition
    >>> reach_warning(fit_curve(dose, 100 - (100 - y) * 2)) is None
    True
    """
    p = fit.params
    ends = fit.predict(np.array([fit.dose_min, fit.dose_max]))
    falling = p["A"] >= p["B"]
    reached = ends.min() <= level if falling else ends.max() >= level
    if reached:
        return None
    mid = 0.5 * (p["A"] + p["B"])
    if falling:
        best = float(ends.min())
        what = (f"never reaches {100 - level:.0f}% inhibition: at the highest dose tested "
                f"({fit.dose_max:.4g}) the fitted response is {best:.1f}% of vehicle "
                f"({100 - best:.1f}% inhibition; lower asymptote {p['B']:.1f}%)")
    else:
        best = float(ends.max())
        what = (f"never reaches a response of {level:.0f}: at most {best:.1f} within the "
                f"tested doses (upper asymptote {p['B']:.1f})")
    return (f"{what}; the IC50 shown is the relative one, half-way between the fitted "
            f"asymptotes (response {mid:.1f}), not the dose giving {level:.0f}% of vehicle")


def dose_response_results(data: pd.DataFrame, model: str = "LL.4",
                          reference: str | None = None, conf: float = 0.95,
                          response_label: str = "response",
                          absolute_level: float | None = None,
                          lower: float | None = None,
                          upper: float | None = None) -> list[Result]:
    """Fit every (drug, group) curve of a tidy plate table and compare groups per drug.

    Parameters
    ----------
    data : DataFrame
        Columns ``group``, ``dose``, ``response`` (``drug`` and ``dose_unit`` optional),
        one row per well; replicates are rows with the same dose. Responses are % of
        vehicle.
    model : {"LL.4", "LL.3"}
        LL.3 fixes the lower asymptote at 0 (drc LL.3).
    reference : str, optional
        Denominator group of potency ratios.
    conf : float
        Confidence level.
    response_label : str
        Shown in the title.
    absolute_level : float, optional
        Also report the absolute IC50, the dose where the curve crosses this level.
    lower, upper : float, optional
        Fix the lower / upper asymptote (the one with the lower / higher value) at this
        value for every curve of every drug (lab.toml ``fix_lower`` / ``fix_upper``).

    Returns
    -------
    list of Result
        ``lab.doseresponse.fits`` and, with two or more groups, ``.compare``. A curve
        that cannot be fitted, or whose profile interval fails, is a warning of its own;
        the other curves are still reported.

    Examples
    --------
    >>> d = pd.DataFrame({"group": "a", "dose": np.repeat([1, 3, 10, 30, 100], 2),
    ...                   "response": [99, 97, 88, 90, 52, 49, 13, 11, 4, 3]})
    >>> dose_response_results(d)[0].table["ic50"].round(1).tolist()
    [9.9]
    """
    d, notes = _prepare(data)
    unit = str(d["dose_unit"].iloc[0]) if "dose_unit" in d and len(d) else ""
    rows, warns = [], list(notes)
    comp_rows = []
    for drug, dd in d.groupby("drug", sort=False):
        groups = list(pd.unique(dd["group"].astype(str)))
        ref = reference if reference in groups else groups[0]
        if reference is not None and reference not in groups and len(groups) > 1:
            warns.append(f"{drug}: reference group {reference!r} absent; using {ref!r}")
        fx = asymptotes_fixed(model, dd["dose"], dd["response"], lower, upper)
        for grp in groups:
            sub = dd[dd["group"].astype(str) == grp]
            try:
                f = fit_curve(sub["dose"], sub["response"], model=model, conf=conf,
                              fixed=fx)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                warns.append(f"{drug} / {grp}: not fitted ({exc})")
                continue
            reach = reach_warning(f, 50.0 if absolute_level is None else absolute_level)
            flags = f.flags + ((reach,) if reach else ())
            for fl in flags:
                warns.append(f"{drug} / {grp}: {fl}")
            try:
                prof = profile_ic50_ci(sub["dose"], sub["response"], f)
            except (ValueError, RuntimeError, np.linalg.LinAlgError,
                    FloatingPointError) as exc:  # e.g. brentq's bracket not holding
                prof = (np.nan, np.nan)
                warns.append(f"{drug} / {grp}: profile-likelihood IC50 interval could not "
                             f"be computed ({exc}); only the delta-method interval is given")
            else:
                if not np.all(np.isfinite(prof)):
                    warns.append(f"{drug} / {grp}: profile-likelihood IC50 interval "
                                 "unbounded")
            rows.append({
                "key": fmt_key(drug, grp), "drug": drug, "group": grp, "model": model,
                "n": f.n, "doses": int(sub["dose"].nunique()),
                "top_A": f.params["A"], "se_A": f.se.get("A", np.nan),
                "bottom_B": f.params["B"], "se_B": f.se.get("B", np.nan),
                "log_ic50": f.params["xmid"], "se_log_ic50": f.se["xmid"],
                "ic50": f.ic50, "ic50_lower": f.ic50_lower, "ic50_upper": f.ic50_upper,
                "ic50_profile_lower": prof[0], "ic50_profile_upper": prof[1],
                "dose_unit": unit, "hill_slope": f.hill, "scal": f.params["scal"],
                "se_scal": f.se["scal"], "residual_se": f.sigma, "df": f.df,
                **({} if absolute_level is None else dict(zip(
                    ("ic50_absolute", "ic50_absolute_lower", "ic50_absolute_upper"),
                    absolute_ic50(f, absolute_level), strict=True))),
                "r_squared": f.r_squared, "lack_of_fit_F": f.lack_of_fit["F"],
                "lack_of_fit_p": f.lack_of_fit["p"], "flags": "; ".join(flags),
            })
        if len(groups) >= 2:
            try:
                c_ic = compare_curves(dd["dose"], dd["response"], dd["group"].astype(str),
                                      reference=ref, model=model, conf=conf, fixed=fx)
                shared_all = tuple(n for n in PARAMS if n not in fx)
                c_all = compare_curves(dd["dose"], dd["response"], dd["group"].astype(str),
                                       reference=ref, model=model, shared=shared_all,
                                       conf=conf, fixed=fx)
            except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
                warns.append(f"{drug}: groups not compared ({exc})")
                continue
            for k, rr in c_ic["ratios"].items():
                comp_rows.append({
                    "key": fmt_key(drug, f"{k} vs {ref}"), "drug": drug, "group": k,
                    "reference": ref, "potency_ratio": rr["ratio"],
                    "fieller_lower": rr["fieller_lower"], "fieller_upper": rr["fieller_upper"],
                    "log_wald_lower": rr["log_lower"], "log_wald_upper": rr["log_upper"],
                    "F_same_ic50": c_ic["test"]["F"], "df1_same_ic50": c_ic["test"]["df1"],
                    "df2": c_ic["test"]["df2"], "p_same_ic50": c_ic["test"]["p"],
                    "F_same_curve": c_all["test"]["F"], "df1_same_curve": c_all["test"]["df1"],
                    "p_same_curve": c_all["test"]["p"],
                })
                if np.isnan(rr["fieller_lower"]):
                    warns.append(f"{drug} {k} vs {ref}: Fieller interval unbounded (g >= 1)")
    fixtxt = ", ".join(f"{nm} asymptote fixed at {v:g}" for nm, v in
                       (("lower", 0.0 if model == "LL.3" and lower is None else lower),
                        ("upper", upper)) if v is not None)
    method = (
        f"{model} log-logistic model y = A + (B - A)/(1 + exp((log IC50 - log dose)/scal)) "
        + (f"({fixtxt}) " if fixtxt else "") +
        "(R SSfpl parameterisation on log dose) fitted by least squares per drug and group; "
        f"IC50 {conf:.0%} CI by the delta method on log IC50 with t quantiles on the residual df, "
        "and by profile likelihood (exact root of the profile t statistic)."
    )
    refs = (REF_BATES_WATTS, REF_RITZ_2015)
    out = [Result(
        name="lab.doseresponse.fits", title=f"Dose-response fits ({response_label})",
        table=table(rows), method=method,
        rationale="Four-parameter log-logistic is the standard model for cell-viability "
        "dose-response; replicates enter as separate observations (no averaging).",
        warnings=tuple(warns), references=refs,
        params={"model": model, "conf": conf, "dose_unit": unit,
                "absolute_level": absolute_level,
                **{k: v for k, v in (("fix_lower", lower), ("fix_upper", upper))
                   if v is not None}},
        section=SECTION,
    )]
    if comp_rows:
        out.append(Result(
            name="lab.doseresponse.compare", title="Dose-response comparison between groups",
            table=table(comp_rows),
            method="Extra-sum-of-squares F tests of joint least-squares fits: group-specific "
            "curves vs a common log IC50 (other parameters group-specific), and vs one common "
            "curve. Potency ratio IC50(group)/IC50(reference) from the full joint fit with a "
            "Fieller interval on the dose scale and a Wald interval on the log scale.",
            rationale="The F test compares nested nonlinear models fitted to all wells; the "
            "Fieller interval respects the uncertainty of both IC50s in the ratio.",
            references=(REF_BATES_WATTS, REF_RITZ_2015, REF_FIELLER),
            params={"model": model, "conf": conf}, section=SECTION,
        ))
    return out
