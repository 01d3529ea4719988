# Oracle for remission.stats.survival.finegray.fine_gray: cmprsk::crr (cmprsk 2.2-11).
# Data: survival::pbc (first 80 rows) with ties, censorings, competing events and
# failures placed at time 0; survival::mgus2 with censoring groups (cengroup).
suppressPackageStartupMessages({library(cmprsk); library(survival)})
fit <- function(...) {
  f <- crr(..., gtol = 1e-12, maxiter = 100)
  list(b = unname(f$coef), se = unname(sqrt(diag(f$var))), conv = f$converged)
}
# --- time zero: 2 censorings, 2 competing events (transplant) and 1 death at t = 0
p <- pbc[1:80, c("time", "status", "age", "bili")]
p$time[c(3, 7)] <- 0; p$status[c(3, 7)] <- 0
p$time[c(11, 15)] <- 0; p$status[c(11, 15)] <- 1
p$time[20] <- 0; p$status[20] <- 2
p$logbili <- log(p$bili)
X <- cbind(p$age, p$logbili)
# same data with other codes: 9 = censored, 3 = death, 5 = transplant
p$code <- c(`0` = 9, `1` = 5, `2` = 3)[as.character(p$status)]
# --- censoring groups on mgus2 (sex: 2 groups; age band: 3 groups)
m <- mgus2
m$etime <- with(m, ifelse(pstat == 1, ptime, futime))
m$ev <- with(m, ifelse(pstat == 1, 1, 2 * death))
m <- na.omit(m[, c("etime", "ev", "age", "sex", "mspike")])
m$male <- as.numeric(m$sex == "M")
m$band <- cut(m$age, c(0, 65, 75, 200), labels = c("young", "mid", "old"))
Xm <- cbind(m$age, m$male, m$mspike)
out <- list(
  p = p[, c("time", "status", "code", "age", "logbili")],
  zero_c2 = fit(p$time, p$status, X, failcode = 2),
  zero_c1 = fit(p$time, p$status, X, failcode = 1),
  zero_codes = fit(p$time, p$code, X, failcode = 3, cencode = 9),
  m = m[, c("etime", "ev", "age", "male", "mspike", "sex", "band")],
  grp_sex_c1 = fit(m$etime, m$ev, Xm, cengroup = m$sex, failcode = 1),
  grp_sex_c2 = fit(m$etime, m$ev, Xm, cengroup = m$sex, failcode = 2),
  grp_band_c1 = fit(m$etime, m$ev, Xm, cengroup = m$band, failcode = 1),
  nogrp_c1 = fit(m$etime, m$ev, Xm, failcode = 1),
  version = as.character(packageVersion("cmprsk"))
)
