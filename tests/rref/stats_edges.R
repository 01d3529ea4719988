# Oracles for KaplanMeier.quantile (R quantile.survfit, p = cumulative event
# probability) and for Cox with a group without events (R coxph: coefficient where
# the iteration stops, huge SE, "coefficient may be infinite" warning).
suppressPackageStartupMessages(library(survival))
probs <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
q <- function(t, e, ct = "log") {
  f <- survfit(Surv(t, e) ~ 1, conf.type = ct)
  z <- quantile(f, probs)
  list(q = unname(z$quantile), lo = unname(z$lower), hi = unname(z$upper))
}
l <- na.omit(lung[, c("time", "status")]); l$status <- l$status - 1
# flat at exactly 0.75 survival: 8 patients, 2 events then censoring gap
flat_t <- c(1, 2, 3, 4, 5, 6, 7, 8); flat_e <- c(1, 1, 0, 0, 1, 1, 1, 1)
# ends exactly at 0.5: last time is an event that leaves S = 0.5? (4 at risk, 2 die)
end_t <- c(1, 2, 3, 3, 5, 5); end_e <- c(0, 1, 0, 1, 0, 0)
set.seed(10)
n <- 40
cx <- data.frame(t = round(rexp(n, 0.1), 1) + 0.1, e = rbinom(n, 1, 0.6), x = rnorm(n),
                 g = rep(c("b", "a"), c(10, 30)))
cx$e[cx$g == "b"] <- 0
cfit <- function(f) {
  w <- NULL
  m <- withCallingHandlers(coxph(f, cx), warning = function(w2) {
    w <<- conditionMessage(w2); invokeRestart("muffleWarning") })
  list(b = unname(coef(m)), se = unname(sqrt(diag(m$var))), warning = w,
       wald = unname(summary(m)$waldtest[1]))
}
out <- list(
  probs = probs,
  lung = l, lung_log = q(l$time, l$status), lung_ll = q(l$time, l$status, "log-log"),
  aml = aml[, c("time", "status")], aml_log = q(aml$time, aml$status),
  flat = list(t = flat_t, e = flat_e), flat_log = q(flat_t, flat_e),
  end = list(t = end_t, e = end_e), end_log = q(end_t, end_e, "plain"),
  cx = cx, cox_gx = cfit(Surv(t, e) ~ g + x), cox_g = cfit(Surv(t, e) ~ g),
  version = as.character(packageVersion("survival"))
)
