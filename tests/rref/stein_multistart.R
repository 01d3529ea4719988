# Oracle for remission.kinetics.stein.fit_stein: R nls from several starts.
# Data: the Stein 2019 model (foldx 2000, Tmax 10 d, Cmax 20000, alpha 0.2, FB 0.02,
# beta 0.005) at 10 sampling days with log-normal noise (sd 0.35; numpy seed 1, values
# below). Each start puts Tmax on one sampling day or a midpoint (others: foldx 1000,
# Cmax = max observed, alpha 0.1, FB 0.01, beta 0.005); nls fits log C. A single start
# can stop in a local minimum (the RSS is only piecewise smooth in Tmax).
day <- c(1, 4, 7, 11, 14, 21, 28, 42, 60, 90)
value <- c(24.134197212257835, 278.8049482281068, 2295.876097173642, 10422.054825105304,
           12628.566347005077, 2981.588466791612, 746.7287157847294, 457.6505684266235,
           354.92881648572535, 297.20411158682066)
y <- log(value)
f <- function(t, lf, ltm, lc, la, lgfb, lb) {
  tm <- exp(ltm); fb <- plogis(lgfb); dt <- pmax(t - tm, 0)
  ifelse(t < tm, lc + lf * (t / tm - 1),
         lc + log((1 - fb) * exp(-exp(la) * dt) + fb * exp(-exp(lb) * dt)))
}
u <- sort(unique(day)); tms <- sort(unique(c(u[-1], (u[-1] + u[-length(u)]) / 2)))
rss_fn <- function(b) sum((y - f(day, b[1], b[2], b[3], b[4], b[5], b[6]))^2)
# each start: PORT (nlminb) on the RSS, then nls from its end point (Gauss-Newton polish
# and summary.nls standard errors)
one <- function(tm) {
  b0 <- c(log(1000), log(tm), max(y), log(0.1), qlogis(0.01), log(0.005))
  o <- nlminb(b0, rss_fn, control = list(eval.max = 5000, iter.max = 5000,
                                          rel.tol = 1e-14))
  st <- setNames(as.list(o$par), c("lf", "ltm", "lc", "la", "lgfb", "lb"))
  m <- tryCatch(nls(y ~ f(day, lf, ltm, lc, la, lgfb, lb), start = st,
                    control = nls.control(tol = 1e-8, maxiter = 500, scaleOffset = 1,
                                          minFactor = 1e-12, warnOnly = TRUE)),
                error = function(e) NULL)
  if (is.null(m) || deviance(m) > o$objective)
    return(list(tm = tm, rss = o$objective, est = o$par, se = NULL))
  se <- tryCatch(unname(summary(m)$coefficients[, 2]), error = function(e) NULL)
  list(tm = tm, rss = deviance(m), est = unname(coef(m)), se = se)
}
fits <- lapply(tms, one)
rss <- vapply(fits, function(z) z$rss, 0)
best <- fits[[which.min(rss)]]
out <- list(day = day, value = value, starts = tms, rss_all = rss, best = best)
