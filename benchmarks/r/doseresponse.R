# Baseline for benchmarks/bench_lab.py: one nls(SSfpl) fit per curve on log dose.
# Usage: Rscript --vanilla doseresponse.R DATA.csv OUT.json (columns curve, dose, y)
# Timed inside R with proc.time(), after the data are read and split by curve.
suppressPackageStartupMessages({library(stats); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
d$u <- log(d$dose)
curves <- split(d[, c("u", "y")], d$curve)
t0 <- proc.time()[["elapsed"]]
fits <- lapply(curves, function(cd) {
  f <- tryCatch(nls(y ~ SSfpl(u, A, B, xmid, scal), data = cd,
                    control = nls.control(maxiter = 200, warnOnly = FALSE)),
                error = function(e) NULL)
  if (is.null(f)) return(c(NA, NA, NA, NA, NA))
  c(coef(f), sum(residuals(f)^2))
})
secs <- proc.time()[["elapsed"]] - t0
m <- do.call(rbind, fits)
out <- list(params = unname(m[, 1:4]), rss = unname(m[, 5]))
writeLines(toJSON(list(seconds = secs, output = out), digits = NA, na = "null", auto_unbox = TRUE), a[2])
