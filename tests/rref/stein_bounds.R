# Oracle for remission.kinetics.stein.fit_stein on fits that sit on a bound or a kink:
# the two patients of the 1-patient-per-arm simulated trial (design
# seed000_ven_leadin_cll1_cart, --n 1 --seed 5, as simulated before the simulator changes
# of 2026-11-30 09:00 UTC; car_cells, quantifiable samples only): fixed data from then on.
# 1. Global search in R: for every interval between sampling days, nlminb (PORT) on the
#    log-scale RSS with Tmax boxed to the interval and log rates / logit FB boxed to
#    [-30, 30], from 4 starts each; the lowest RSS over all of them.
# 2. The constrained optimum remission reports, refitted by nls: beta fixed at its bound 0
#    (both patients) and, for noVEN, Tmax fixed on sampling day 14; PORT then nls
#    (Gauss-Newton) fit the other parameters from the search's best point.
day <- c(3, 7, 10, 14, 21, 28, 60, 90, 180)
ven <- c(52.2, 67.8, 69.5, 71.6, 72.7, 69.2, 53.6, 46.4, 32.4)
noven <- c(98.2, 103.0, 87.2, 77.0, 75.8, 74.5, 53.0, 45.4, 31.4)
f <- function(t, lf, ltm, lc, la, lgfb, lb) {
  tm <- exp(ltm); fb <- plogis(lgfb); dt <- pmax(t - tm, 0)
  ifelse(t < tm, lc + lf * (t / tm - 1),
         lc + log((1 - fb) * exp(-exp(la) * dt) + fb * exp(-exp(lb) * dt)))
}
search <- function(y) {
  rss <- function(b) { r <- y - f(day, b[1], b[2], b[3], b[4], b[5], b[6])
                       if (all(is.finite(r))) sum(r^2) else 1e10 }
  set.seed(1)
  best <- list(rss = Inf)
  for (j in seq_len(length(day) - 1)) {
    lo <- c(-40, log(day[j]), -40, -30, -30, -30)
    hi <- c(40, log(day[j + 1]), 40, 30, 30, 30)
    for (k in 1:4) {
      b0 <- c(rnorm(1, 0, 2), runif(1, lo[2], hi[2]), max(y) + rnorm(1, 0, 0.2),
              rnorm(1, -3, 1.5), rnorm(1, -1, 2), rnorm(1, -6, 2))
      b0 <- pmin(pmax(b0, lo + 1e-6), hi - 1e-6)
      o <- nlminb(b0, rss, lower = lo, upper = hi,
                  control = list(eval.max = 4000, iter.max = 4000, rel.tol = 1e-14))
      if (o$objective < best$rss) best <- list(rss = o$objective, par = o$par)
    }
  }
  best
}
fixed_fit <- function(y, b0, ltm = NULL) {
  # PORT on the free parameters, then nls (Gauss-Newton) from its end point
  g <- function(b) f(day, b[1], if (is.null(ltm)) b[2] else ltm, b[3], b[4], b[5], -Inf)
  idx <- if (is.null(ltm)) 1:5 else c(1, 3, 4, 5)
  full <- function(v) { b <- numeric(5); b[idx] <- v; b }
  o <- nlminb(b0[idx], function(v) sum((y - g(full(v)))^2),
              control = list(eval.max = 5000, iter.max = 5000, rel.tol = 1e-15))
  d <- data.frame(day = day, y = y)
  ctl <- nls.control(tol = 1e-10, maxiter = 500, scaleOffset = 1, minFactor = 1e-12,
                     warnOnly = TRUE)
  v <- setNames(as.list(o$par), c("lf", "ltm", "lc", "la", "lgfb")[idx])
  m <- if (is.null(ltm)) {
    nls(y ~ f(day, lf, ltm, lc, la, lgfb, -Inf), data = d, start = v, control = ctl)
  } else {
    nls(y ~ f(day, lf, ltm0, lc, la, lgfb, -Inf), data = c(as.list(d), list(ltm0 = ltm)),
        start = v, control = ctl)
  }
  list(rss = deviance(m), est = as.list(coef(m)), nlminb_rss = o$objective)
}
s_ven <- search(log(ven)); s_noven <- search(log(noven))
out <- list(day = day, ven = ven, noven = noven,
            search_rss = list(ven = s_ven$rss, noven = s_noven$rss),
            search_par = list(ven = s_ven$par, noven = s_noven$par),
            fixed = list(ven = fixed_fit(log(ven), s_ven$par),
                         noven = fixed_fit(log(noven), s_noven$par, ltm = log(14))))
