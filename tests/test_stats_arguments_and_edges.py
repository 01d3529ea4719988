"""Estimator arguments are never silently ignored; KM quantiles as R quantile.survfit;
Cox with a group without events as R coxph; logistic's automatic choice is a warning.

R reference values: ``tests/rref/stats_edges.R`` (committed output in
``stats_edges.json``; tests marked ``r`` rerun R live).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pandas as pd
import pytest

import remission.kinetics
import remission.lab
import remission.stats
from remission.errors import InputError
from remission.stats import paired, regression
from remission.stats.survival import competing, coxph, finegray, km, survdiff
from tests import rref

rmst_mod = importlib.import_module("remission.stats.survival.restricted_mean")


@pytest.fixture(scope="module")
def ref():
    return rref.committed("stats_edges")


def _toy() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame({"t": np.round(rng.exponential(10, n), 1) + 0.1,
                         "e": rng.integers(0, 2, n), "s": rng.integers(0, 3, n),
                         "x": rng.normal(size=n), "g": np.repeat(["a", "b"], n // 2),
                         "y": rng.integers(0, 2, n)})


D = _toy()
# every public estimator, called with valid arguments; a misspelled keyword must raise
ESTIMATORS = {
    "kaplan_meier": lambda **k: km.kaplan_meier(D.t, D.e, D.g, **k),
    "km_curves": lambda **k: km.km_curves(D.t, D.e, D.g, **k),
    "KaplanMeier": lambda **k: km.KaplanMeier(**k).fit(D.t, D.e),
    "reverse_km_followup": lambda **k: km.reverse_km_followup(D.t, D.e, **k),
    "logrank": lambda **k: survdiff.logrank(D.t, D.e, D.g, **k),
    "logrank(data=)": lambda **k: survdiff.logrank("t", "e", "g", data=D, **k),
    "cox": lambda **k: coxph.cox("t", "e", ["x"], data=D, **k),
    "cox(arrays)": lambda **k: coxph.cox(D.t, D.e, D[["x"]], **k),
    "cox_zph": lambda **k: coxph.cox_zph("t", "e", ["x"], data=D, **k),
    "firth_cox": lambda **k: coxph.firth_cox("t", "e", ["x"], data=D, **k),
    "cuminc": lambda **k: competing.cuminc(D.t, D.s, D.g, **k),
    "cuminc(data=)": lambda **k: competing.cuminc("t", "s", "g", data=D, **k),
    "gray": lambda **k: competing.gray(D.t, D.s, D.g, **k),
    "cif_curves": lambda **k: competing.cif_curves(D.t, D.s, D.g, **k),
    "AalenJohansen": lambda **k: competing.AalenJohansen(**k).fit(D.t, D.s),
    "fine_gray": lambda **k: finegray.fine_gray("t", "s", ["x"], data=D, **k),
    "fine_gray(arrays)": lambda **k: finegray.fine_gray(D.t, D.s, D[["x"]], **k),
    "fit_arrays (Fine–Gray kernel)": lambda **k: finegray._fit_arrays(
        D.t, D.s, D[["x"]].to_numpy(), **k),
    "rmst": lambda **k: rmst_mod.rmst(D.t, D.e, D.g, tau=5.0, **k),
    "rmst(data=)": lambda **k: rmst_mod.rmst("t", "e", "g", tau=5.0, data=D, **k),
    "logistic": lambda **k: regression.logistic(D, "y", ["x"], **k),
    "logistic_fit": lambda **k: regression.logistic_fit(D, "y", ["x"], **k),
    "logistic_univariable": lambda **k: regression.logistic_univariable(D, "y", ["x"], **k),
    "wilcoxon_signed_rank": lambda **k: paired.wilcoxon_signed_rank(D.x[:10], D.t[:10], **k),
    "mann_whitney": lambda **k: paired.mann_whitney(D.x[:10], D.t[:10], **k),
}


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_unknown_keyword_raises_type_error(name: str) -> None:
    ESTIMATORS[name]()  # valid call works
    with pytest.raises(TypeError):
        ESTIMATORS[name](mthod="ml")


def test_the_two_reported_cases() -> None:
    # issue 10: fine_gray(..., failcode=2) fitted cause 1; logistic(mthod=...) passed
    r1 = finegray.fine_gray("t", "s", ["x"], data=D, failcode=1)
    r2 = finegray.fine_gray("t", "s", ["x"], data=D, failcode=2)
    assert r1.table["coef"].iloc[0] != r2.table["coef"].iloc[0]
    assert r2.params["failcode"] == 2
    with pytest.raises(TypeError):
        regression.logistic(D, "y", ["x"], mthod="ml")
    with pytest.raises(ValueError, match="method"):
        regression.logistic(D, "y", ["x"], method="mle")  # was silently Firth


def test_no_public_function_takes_catch_all_keywords() -> None:
    found = []
    for pkg in (remission.stats, remission.lab, remission.kinetics):
        for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            mod = importlib.import_module(m.name)
            for nm, obj in vars(mod).items():
                if nm.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                    continue
                fns = [(nm, obj)] if inspect.isfunction(obj) else (
                    [(f"{nm}.{k}", v) for k, v in vars(obj).items()
                     if inspect.isfunction(v) and (k == "__init__" or not k.startswith("_"))]
                    if inspect.isclass(obj) else [])
                for fn, f in fns:
                    if any(p.kind == p.VAR_KEYWORD
                           for p in inspect.signature(f).parameters.values()):
                        found.append(f"{m.name}.{fn}")
    assert found == []


@pytest.mark.parametrize("call", [
    lambda d, **k: coxph.cox("t", "e", ["x"], data=d, **k),
    lambda d, **k: coxph.cox_zph("t", "e", ["x"], data=d, **k),
    lambda d, **k: coxph.firth_cox("t", "e", ["x"], data=d, **k),
    lambda d, **k: finegray.fine_gray("t", "s", ["x"], data=d, **k),
    lambda d, **k: regression.logistic(d, "y", ["x"], **k),
    lambda d, **k: regression.logistic_fit(d, "y", ["x"], **k),
])
def test_missing_option_exists_where_the_message_names_it(call) -> None:
    d = D.copy()
    d.loc[4, "x"] = np.nan
    with pytest.raises(InputError, match="missing='omit'"):
        call(d)
    call(d, missing="omit")  # the option the message names exists
    with pytest.raises(ValueError, match="missing"):
        call(d, missing="drop")


def test_logistic_auto_choice_of_firth_is_a_warning() -> None:
    small = D.iloc[:16]  # 16 patients: < 10 events per variable
    res = regression.logistic(small, "y", ["x"], method="auto")
    assert res.params["method"] == "firth"
    assert any("method='auto' chose Firth" in w for w in res.warnings)
    res = regression.logistic(small, "y", ["x"], method="firth")  # asked for: no warning
    assert not any("chose Firth" in w for w in res.warnings)
    uni = regression.logistic_univariable(small, "y", ["x"])
    assert any("chose Firth" in w for w in uni.warnings)


# --- KaplanMeier.quantile as R quantile.survfit -------------------------------------

CASES = [("lung", "lung_log", "log"), ("lung", "lung_ll", "log-log"),
         ("aml", "aml_log", "log"), ("flat", "flat_log", "log"), ("end", "end_log", "plain")]


def _km_data(r, key):
    d = r[key]
    if isinstance(d, dict) and "t" in d:
        return np.asarray(d["t"], float), np.asarray(d["e"], int)
    d = pd.DataFrame(d)
    return d["time"].to_numpy(float), d["status"].to_numpy(int)


def _nan(v):
    return np.array([np.nan if x is None else x for x in np.atleast_1d(v)], float)


def _check_quantiles(r, data_key, key, conf_type):
    t, e = _km_data(r, data_key)
    fit = km.KaplanMeier(conf_type=conf_type).fit(t, e)
    tab = fit.quantile(r["probs"])
    for col, rk in [("quantile", "q"), ("lower", "lo"), ("upper", "hi")]:
        np.testing.assert_allclose(tab[col].to_numpy(), _nan(r[key][rk]), rtol=1e-12,
                                   err_msg=f"{key} {col}")
    # scalar form agrees with the table
    for p, q in zip(r["probs"], _nan(r[key]["q"]), strict=True):
        assert fit.quantile(p)[0] == pytest.approx(q, nan_ok=True)


@pytest.mark.parametrize("data_key,key,conf_type", CASES)
def test_km_quantile_as_r_quantile_survfit(ref, data_key, key, conf_type) -> None:
    _check_quantiles(ref, data_key, key, conf_type)


def test_km_quantile_p_is_event_probability(ref) -> None:
    t, e = _km_data(ref, "lung")
    fit = km.KaplanMeier().fit(t, e)
    # first quartile of event times: S has fallen to 0.75 (R: 170 days), not to 0.25
    assert fit.quantile(0.25)[0] == 170
    assert fit.quantile(0.75)[0] == 550
    with pytest.raises(ValueError):
        fit.quantile(1.5)
    # R itself: print.survfit's median UCL (first time the band <= 0.5) is 45 on aml,
    # quantile.survfit's is 48 (it sorts the non-monotone band); we follow each
    ta, ea = _km_data(ref, "aml")
    fa = km.KaplanMeier().fit(ta, ea)
    assert fa.median[2] == 45 and fa.quantile(0.5)[2] == 48


@pytest.mark.r
def test_km_quantile_live_r(ref) -> None:
    live = rref.live("stats_edges")
    for data_key, key, conf_type in CASES:
        _check_quantiles(live, data_key, key, conf_type)
        for rk in ("q", "lo", "hi"):
            np.testing.assert_allclose(_nan(live[key][rk]), _nan(ref[key][rk]))
    for key in ("cox_gx", "cox_g"):
        np.testing.assert_allclose(live[key]["b"], ref[key]["b"], rtol=1e-10)


# --- Cox with a group without events -------------------------------------------------

@pytest.mark.parametrize("key,covs", [("cox_gx", ["g", "x"]), ("cox_g", ["g"])])
def test_cox_group_without_events_as_r(ref, key, covs) -> None:
    d = pd.DataFrame(ref["cx"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning
        res = coxph.cox("t", "e", covs, data=d)
    rows = res.table.loc[[c for c in res.table.index if c in ("gb", "x")]]
    # R stops where |1 - l_old/l_new| <= 1e-9: the coefficient (~ -19.5) and its huge SE
    np.testing.assert_allclose(rows["coef"], ref[key]["b"], rtol=1e-6)
    np.testing.assert_allclose(rows["se"], ref[key]["se"], rtol=1e-6)
    assert rows.loc["gb", "se"] > 1000 and rows.loc["gb", "p"] > 0.99
    assert "coefficient may be infinite" in ref[key]["warning"]
    assert any("gb diverges" in w and "coefficient may be infinite" in w
               for w in res.warnings)
