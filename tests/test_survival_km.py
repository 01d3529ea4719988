"""Kaplan–Meier against R survival::survfit, run live (1e-6 or tighter)."""

from __future__ import annotations

import numpy as np
import pytest

from remission.errors import InputError
from remission.stats.survival.km import KaplanMeier, kaplan_meier, reverse_km_followup
from tests.rlive import run_r

pytestmark = pytest.mark.r

# (R expression giving a data frame, time column, status expression -> 0/1)
DATASETS = {
    "lung": ("survival::lung", "time", "status - 1"),          # ties, n=228
    "veteran": ("survival::veteran", "time", "status"),        # ties, few censored
    "ovarian": ("survival::ovarian", "futime", "fustat"),      # n=26, heavy censoring
    "aml": ("survival::aml", "time", "status"),                # n=23
    "aml_small": ("survival::aml[survival::aml$x == 'Maintained', ]", "time", "status"),  # n=11
}
LANDMARKS = [5.0, 12.0, 30.0, 100.0, 365.0]

R_KM = """
library(survival)
d <- {expr}
tt <- d${tcol}; ss <- with(d, {sexpr})
one <- function(ct) {{
  f <- survfit(Surv(tt, ss) ~ 1, conf.type = ct)
  sm <- summary(f, censored = TRUE)
  tab <- summary(f)$table
  lm <- c({lms}); lm <- lm[lm <= max(tt)]
  sl <- summary(f, times = lm)
  rf <- survfit(Surv(tt, 1 - ss) ~ 1, conf.type = ct)
  list(time = sm$time, n_risk = sm$n.risk, n_event = sm$n.event,
       n_censor = sm$n.censor, surv = sm$surv, std_err = sm$std.err,
       lower = sm$lower, upper = sm$upper,
       med = unname(tab["median"]), mlo = unname(tab["0.95LCL"]),
       mhi = unname(tab["0.95UCL"]), lm = lm, lm_surv = sl$surv, lm_lo = sl$lower,
       lm_hi = sl$upper, lm_se = sl$std.err, lm_nrisk = sl$n.risk,
       lm_nevent = sl$n.event, lm_ncens = sl$n.censor,
       fu = unname(summary(rf)$table[c("median", "0.95LCL", "0.95UCL")]))
}}
out <- list(t = tt, s = ss, log = one("log"), loglog = one("log-log"), plain = one("plain"))
"""


def _nan(x):
    return np.array([np.nan if v is None else v for v in np.atleast_1d(x)], float)


@pytest.mark.parametrize("ds", list(DATASETS))
def test_km_matches_survfit(ds: str) -> None:
    expr, tcol, sexpr = DATASETS[ds]
    rr = run_r(R_KM.format(expr=expr, tcol=tcol, sexpr=sexpr,
                           lms=",".join(map(str, LANDMARKS))))
    for ct, key in [("log", "log"), ("log-log", "loglog"), ("plain", "plain")]:
        _compare(rr["t"], rr["s"], rr[key], ct, ds)


def _compare(t, s_, r, ct: str, ds: str) -> None:
    km = KaplanMeier(conf_type=ct).fit(t, s_)
    s = km.summary
    for col, rc in [("time", "time"), ("n_risk", "n_risk"), ("n_event", "n_event"),
                    ("n_censor", "n_censor"), ("surv", "surv"), ("std_err", "std_err"),
                    ("lower", "lower"), ("upper", "upper")]:
        np.testing.assert_allclose(s[col].to_numpy(float), _nan(r[rc]), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=f"{ds} {ct} {col}")
    np.testing.assert_allclose(km.median, _nan([r["med"], r["mlo"], r["mhi"]]), rtol=1e-12,
                               equal_nan=True)
    sa = km.survival_at(r["lm"])
    for col, rc in [("surv", "lm_surv"), ("lower", "lm_lo"), ("upper", "lm_hi"),
                    ("std_err", "lm_se"), ("n_risk", "lm_nrisk")]:
        np.testing.assert_allclose(sa[col].to_numpy(float), _nan(r[rc]), rtol=1e-9,
                                   atol=1e-12, equal_nan=True, err_msg=f"{ds} landmark {col}")
    rt = km.risk_table(r["lm"])
    np.testing.assert_array_equal(rt["n_event"], _nan(r["lm_nevent"]))
    np.testing.assert_array_equal(rt["n_censor"], _nan(r["lm_ncens"]))
    np.testing.assert_allclose(reverse_km_followup(t, s_, conf_type=ct),
                               _nan(r["fu"]), rtol=1e-12, equal_nan=True)


def test_median_on_flat_half_uses_midpoint() -> None:
    # S drops to exactly 0.5 at t=2 and stays until t=4: R reports (2+4)/2 = 3.
    r = run_r("library(survival); f <- survfit(Surv(c(1,2,3,4,5,6), c(1,1,0,1,1,0)) ~ 1);"
              "out <- list(m = unname(summary(f)$table['median']))")
    km = KaplanMeier().fit([1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0])
    assert km.median[0] == pytest.approx(r["m"], abs=0)
    # hand: S(1)=5/6, S(2)=4/6, S(4)=4/6*2/3=0.444 -> median 4
    assert km.median[0] == 4.0


def test_grouped_result_matches_r() -> None:
    r = run_r("""library(survival); d <- survival::aml
f <- survfit(Surv(time, status) ~ x, data = d); tb <- summary(f)$table
s <- summary(f, times = 12)
out <- list(med = unname(tb[, 'median']), lo = unname(tb[, '0.95LCL']),
            hi = unname(tb[, '0.95UCL']), n = unname(tb[, 'records']),
            ev = unname(tb[, 'events']), s12 = s$surv, t = d$time, s = d$status,
            x = as.character(d$x))""")
    res = kaplan_meier(r["t"], r["s"], r["x"], landmarks=[12])
    tab = res.table.loc[["Maintained", "Nonmaintained"]]
    np.testing.assert_allclose(tab["median"], _nan(r["med"]), rtol=1e-12)
    np.testing.assert_allclose(tab["median_lo"], _nan(r["lo"]), rtol=1e-12)
    np.testing.assert_allclose(tab["median_hi"], _nan(r["hi"]), rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(tab["n"], r["n"])
    np.testing.assert_array_equal(tab["events"], r["ev"])
    np.testing.assert_allclose(tab["S@12"], r["s12"], rtol=1e-12)
    assert res.cell("Maintained", "n") == 11


def test_bad_input_reports_all_problems() -> None:
    with pytest.raises(InputError) as ei:
        KaplanMeier().fit([1, -2, np.nan, 4], [1, 0, 1, 3])
    msgs = [p.message for p in ei.value.problems]
    assert len(msgs) == 3
    assert {p.row for p in ei.value.problems} == {3, 4, 5}


def test_near_tied_times_merged_as_r() -> None:
    r = run_r("""library(survival)
      tt <- c(0.1 + 0.2, 0.3, 1, 2, 2 + 1e-12, 3); ss <- c(1, 1, 0, 1, 1, 0)
      f <- survfit(Surv(tt, ss) ~ 1)
      out <- list(time = f$time, surv = f$surv, nrisk = f$n.risk)""")
    km = KaplanMeier().fit([0.1 + 0.2, 0.3, 1, 2, 2 + 1e-12, 3], [1, 1, 0, 1, 1, 0])
    assert len(km.summary) == len(r["time"]) == 4
    np.testing.assert_allclose(km.summary["surv"], r["surv"], rtol=1e-12)
    np.testing.assert_array_equal(km.summary["n_risk"], r["nrisk"])


def test_km_curves_result_for_renderers() -> None:
    from remission.stats.survival.km import km_curves

    t = [5, 8, 12, 12, 20, 3, 9, 15.0]
    e = [1, 0, 1, 1, 0, 1, 1, 0]
    g = ["A"] * 5 + ["B"] * 3
    res = km_curves(t, e, g, risk_times=[0, 10])
    assert res.cell("A | 0", "surv") == 1.0 and res.cell("A | 0", "time") == 0.0
    km = KaplanMeier().fit(t[:5], e[:5])
    assert res.cell("A | 2", "surv") == km.summary["surv"].iloc[1]
    assert res.cell("B | risk@10", "n_risk") == 1  # B: only 15 >= 10
    assert res.cell("A | risk@10", "n_event") == 1  # A: death at 5 in (0, 10]
