# Baseline for benchmarks/bench_survival.py: R survival + cmprsk on the same CSV.
# Usage: Rscript --vanilla survival.R DATA.csv OUT.json
# Timed inside R with proc.time() after the data are read; library() load timed apart.
suppressPackageStartupMessages(library(jsonlite))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
lm <- c(180, 365)
t_load <- proc.time()[["elapsed"]]
suppressPackageStartupMessages({library(survival); library(cmprsk)})
t0 <- proc.time()[["elapsed"]]
load_s <- t0 - t_load
km <- survfit(Surv(time, event) ~ arm, data = d)
kms <- summary(km, times = lm)
med <- unname(summary(km)$table[, "median"])
lr <- survdiff(Surv(time, event) ~ arm, data = d)
fit <- coxph(Surv(time, event) ~ arm + age + burden + dose + prior, data = d, ties = "efron")
cc <- concordance(fit)
ci <- cuminc(d$time, d$status, d$arm)
tp <- timepoints(ci, lm)
secs <- proc.time()[["elapsed"]] - t0
# cuminc's rows: "<group> <cause>", groups 0, 1 and causes 1, 2: put them in group-major order
ord <- c("0 1", "0 2", "1 1", "1 2")
out <- list(
  km_median = med,
  km_surv = as.numeric(kms$surv),
  logrank_chisq = lr$chisq,
  cox_coef = unname(coef(fit)), cox_se = unname(sqrt(diag(vcov(fit)))),
  cox_loglik = fit$loglik[2],
  concordance = unname(cc$concordance), concordance_se = sqrt(unname(cc$var)),
  cif_est = as.numeric(t(tp$est[ord, ])), cif_var = as.numeric(t(tp$var[ord, ])),
  gray_stat = unname(ci$Tests[, "stat"]))
writeLines(toJSON(list(seconds = secs, load_s = load_s, output = out), digits = NA,
                  auto_unbox = TRUE), a[2])
