"""Cox PH (Efron), global tests and cox.zph against R survival, run live."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission.survival import cox, cox_zph
from tests.rlive import run_r

pytestmark = pytest.mark.r

R = """
library(survival)
fitit <- function(f, d, ties = "efron") {{
  m <- coxph(f, data = d, ties = ties, x = TRUE, y = TRUE, control = coxph.control(eps = 1e-12,
             iter.max = 50)); z <- cox.zph(m)
  list(coef = unname(coef(m)), se = unname(sqrt(diag(m$var))), lr = 2 * diff(m$loglik),
       wald = m$wald.test, score = m$score, zph = unname(z$table[, "chisq"]),
       zph_p = unname(z$table[, "p"]), ci = unname(summary(m)$conf.int[, 3:4]),
       conc = if (ncol(m$y) == 2) unname(c(m$concordance["concordance"],
                                             m$concordance["std"])) else NULL)
}}
{body}
"""


def _coef_rows(res) -> list[str]:
    return [k for k in res.row_keys() if not k.startswith("test: ") and k != "concordance"]


def _cmp(model: tuple, r, **kw) -> None:
    """Fit ``cox(*model, **kw)`` and ``cox_zph`` the same way; compare with R's ``r``."""
    res = cox(*model[:3], data=model[3], **kw)
    names = _coef_rows(res)
    np.testing.assert_allclose(res.table.loc[names, "coef"], r["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(res.table.loc[names, "se"], r["se"], rtol=1e-8)
    np.testing.assert_allclose(res.table.loc[["test: LR", "test: Wald", "test: score"], "chisq"],
                               [r["lr"], r["wald"], r["score"]], rtol=1e-8)
    ci = np.array(r["ci"], float).reshape(-1, 2, order="F") if len(names) > 1 else \
        np.array(r["ci"], float).reshape(1, 2)
    np.testing.assert_allclose(res.table.loc[names, ["HR_lo", "HR_hi"]], ci, rtol=1e-8)
    if r.get("conc"):
        assert res.cell("concordance", "value") == pytest.approx(r["conc"][0], rel=1e-10)
        assert res.cell("concordance", "se") == pytest.approx(r["conc"][1], rel=1e-8)
    z = cox_zph(*model[:3], data=model[3], **{k: v for k, v in kw.items() if k != "conf"})
    np.testing.assert_allclose(z.table["chisq"], r["zph"], rtol=1e-8)
    np.testing.assert_allclose(z.table["p"], r["zph_p"], rtol=1e-7)


def test_lung_ties_multivariable() -> None:
    r = run_r(R.format(body="""d <- na.omit(survival::lung[, c('time','status','age','sex',
      'ph.ecog','wt.loss')]); d$status <- d$status - 1
      out <- c(fitit(Surv(time, status) ~ age + sex + ph.ecog + wt.loss, d), list(d = d))"""))
    d = pd.DataFrame(r["d"])
    _cmp(("time", "status", ["age", "sex", "ph.ecog", "wt.loss"], d), r)


def test_veteran_factor_and_strata() -> None:
    r = run_r(R.format(body="""d <- survival::veteran; d$celltype <- as.character(d$celltype)
      out <- c(fitit(Surv(time, status) ~ trt + celltype + karno + strata(prior), d),
               list(d = d))"""))
    d = pd.DataFrame(r["d"])
    res = cox("time", "status", ["trt", "celltype", "karno"], strata="prior", data=d)
    assert _coef_rows(res)[1:4] == ["celltypelarge", "celltypesmallcell", "celltypesquamous"]
    _cmp(("time", "status", ["trt", "celltype", "karno"], d), r, strata="prior")


def test_small_n_ovarian_and_aml() -> None:
    r = run_r(R.format(body="""a <- fitit(Surv(futime, fustat) ~ rx + age, survival::ovarian)
      d2 <- survival::aml[survival::aml$time <= 34, ]; d2$x <- as.character(d2$x)
      b <- fitit(Surv(time, status) ~ x, d2)
      o12 <- survival::ovarian[1:12, ]
      c12 <- fitit(Surv(futime, fustat) ~ age, o12)
      out <- list(a = a, b = b, c12 = c12, ov = survival::ovarian, aml = d2, o12 = o12)"""))
    _cmp(("futime", "fustat", ["rx", "age"], pd.DataFrame(r["ov"])), r["a"])
    aml = pd.DataFrame(r["aml"])
    assert len(aml) <= 20
    _cmp(("time", "status", ["x"], aml), r["b"])
    _cmp(("futime", "fustat", ["age"], pd.DataFrame(r["o12"])), r["c12"])  # n = 12


def test_transplant_time_dependent_counting_process() -> None:
    # Stanford heart transplant (start, stop] with transplant as time-dependent covariate
    r = run_r(R.format(body="""d <- survival::heart
      out <- c(fitit(Surv(start, stop, event) ~ age + surgery + transplant, d),
               list(d = d))"""))
    d = pd.DataFrame(r["d"])
    _cmp(("stop", "event", ["age", "surgery", "transplant"], d), r, start="start")
    assert "Counting-process" in cox("stop", "event", ["age", "surgery", "transplant"],
                                     start="start", data=d).method


def test_breslow_ties_option() -> None:
    r = run_r(R.format(body="""d <- survival::veteran
      out <- c(fitit(Surv(time, status) ~ trt + karno + age, d, ties = "breslow"),
               list(d = d))"""))
    d = pd.DataFrame(r["d"])
    _cmp(("time", "status", ["trt", "karno", "age"], d), r, ties="breslow")
    assert "Breslow ties" in cox("time", "status", ["trt", "karno", "age"], ties="breslow",
                                 data=d).method


def test_constant_and_collinear_covariates_are_input_errors() -> None:
    from remission.errors import InputError

    d = pd.DataFrame({"t": [1, 2, 3, 4, 5.0], "e": [1, 0, 1, 1, 0], "c": [1.0] * 5,
                      "a": [1, 2, 3, 4, 5.0], "b": [2, 4, 6, 8, 10.0]})
    with pytest.raises(InputError, match="constant"):
        cox("t", "e", ["c", "a"], data=d)
    with pytest.raises(InputError, match="collinear"):
        cox("t", "e", ["a", "b"], data=d)


def test_stratum_without_events() -> None:
    r = run_r(R.format(body="""d <- data.frame(t = 1:8, e = c(1, 1, 1, 0, 0, 0, 0, 0),
      x = c(1, 0, 1, 1, 1, 0, 1, 0), s = rep(c("a", "b"), each = 4))
      out <- c(fitit(Surv(t, e) ~ x + strata(s), d), list(d = d))"""))
    _cmp(("t", "e", ["x"], pd.DataFrame(r["d"])), r, strata="s")


def test_arrays_and_names_give_the_same_model() -> None:
    d = pd.DataFrame({"t": [5, 8, 12, 12, 20, 25, 30, 41, 50, 60.0],
                      "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 0],
                      "x": [1, 0, 1, 1, 0, 0, 1, 0, 1, 0.0]})
    by_name = cox("t", "e", ["x"], data=d)
    by_value = cox(d["t"].to_numpy(), d["e"].to_numpy(), {"x": d["x"].to_numpy()})
    pd.testing.assert_frame_equal(by_name.table, by_value.table)
    assert list(cox_zph("t", "e", ["x"], data=d).table.index) == ["x", "GLOBAL"]


def test_old_call_forms_and_unknown_arguments_say_what_to_do() -> None:
    d = pd.DataFrame({"t": [5, 8, 12, 20.0], "e": [1, 1, 0, 1], "x": [1, 0, 1, 0.0]})
    with pytest.raises(TypeError, match=r"data=df"):
        cox(d, "t", "e", ["x"])  # the table first, as the old cox_fit/cox_ph took it
    with pytest.raises(TypeError, match=r"'conf_level' \(the confidence level is conf="):
        cox("t", "e", ["x"], data=d, conf_level=0.9)
    with pytest.raises(TypeError, match=r"'tie' \(did you mean .*'ties'.*\?\)"):
        cox("t", "e", ["x"], data=d, tie="breslow")
    with pytest.raises(TypeError, match=r"names columns; pass the table too"):
        cox("t", "e", ["x"])


def test_missing_values_error_or_omit() -> None:
    from remission.errors import InputError

    d = pd.DataFrame({"t": [5, 8, 12, 12, 20, 25, 30, 41, 50, 60.0],
                      "e": [1, 1, 0, 1, 1, 0, 1, 1, 0, 0],
                      "x": [1, 0, None, 1, 0, 0, 1, 0, 1, 0.0]})
    with pytest.raises(InputError) as ei:
        cox("t", "e", ["x"], data=d)
    assert ei.value.problems[0].row == 4
    res = cox("t", "e", ["x"], data=d, missing="omit")
    assert res.params["n"] == 9 and any("1 row(s)" in w for w in res.warnings)
    full = cox("t", "e", ["x"], data=d.dropna())
    assert res.cell("x", "coef") == pytest.approx(full.cell("x", "coef"), rel=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_compiled_efron_kernel_equals_numpy_path(ties: str, monkeypatch) -> None:
    # strata of COMPILED_FROM rows or more use the Numba kernel; force it on small data
    # with tied times and two strata, and compare with the NumPy path
    import numpy as np
    import pandas as pd

    from remission.stats.survival import coxph

    rng = np.random.default_rng(5)
    n = 300
    d = pd.DataFrame({"t": rng.integers(1, 40, n).astype(float), "e": rng.integers(0, 2, n),
                      "a": rng.normal(size=n), "b": rng.integers(0, 2, n),
                      "s": rng.integers(0, 2, n)})
    ref = coxph._fit_frame(d, "t", "e", ["a", "b"], strata="s", ties=ties)
    monkeypatch.setattr(coxph, "COMPILED_FROM", 0)
    got = coxph._fit_frame(d, "t", "e", ["a", "b"], strata="s", ties=ties)
    np.testing.assert_allclose(got.coef, ref.coef, rtol=1e-10)
    np.testing.assert_allclose(got.var, ref.var, rtol=1e-9)
    assert got.loglik == pytest.approx(ref.loglik, rel=1e-12)
    assert got.loglik0 == pytest.approx(ref.loglik0, rel=1e-12)
