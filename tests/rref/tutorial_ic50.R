# docs/tutorials/dose-response.md: examples/synthetic-lab/doseresponse.csv (SYNTHETIC)
# as % of the mean vehicle well of each group, fitted by R nls(SSfpl) per group and
# jointly (full: all parameters per group; reduced: one xmid) for the extra-SS F test and
# the log-scale potency ratio; MASS profile interval of the shCtrl IC50.
# Made with R 4.2.2 (stats nls, MASS confint.nls).
d <- data.frame(
  group = rep(c("shCtrl", "shCLL1"), each = 27),
  dose = c(0, 0, 0, 0.4572, 0.4572, 0.4572, 1.3717, 1.3717, 1.3717,
    4.1152, 4.1152, 4.1152, 12.3457, 12.3457, 12.3457, 37.037, 37.037, 37.037,
    111.1111, 111.1111, 111.1111, 333.3333, 333.3333, 333.3333, 1000, 1000, 1000,
    0, 0, 0, 0.4572, 0.4572, 0.4572, 1.3717, 1.3717, 1.3717,
    4.1152, 4.1152, 4.1152, 12.3457, 12.3457, 12.3457, 37.037, 37.037, 37.037,
    111.1111, 111.1111, 111.1111, 333.3333, 333.3333, 333.3333, 1000, 1000, 1000),
  response = c(101.23, 112.23, 102.08, 97.71, 104.3, 100.19, 97.87, 106, 103.65,
    98.92, 94.11, 98.94, 95.7, 100.61, 97.39, 92.73, 89.04, 89.44,
    68.99, 65.16, 60.43, 39.97, 37.75, 33.01, 17.73, 16.36, 10.54,
    101.96, 100.45, 97.38, 103.07, 97.65, 100.13, 95.18, 103.68, 101.63,
    98.42, 99.37, 86.59, 85.63, 82.89, 85.63, 50.04, 60.65, 56.72,
    29.9, 29.48, 28.89, 18.6, 13.59, 12.44, 12.35, 5.25, 4.05))
veh <- tapply(d$response[d$dose == 0], d$group[d$dose == 0], mean)
d$pct <- 100 * d$response / veh[d$group]
p <- d[d$dose > 0, ]
out <- list()
for (g in c("shCtrl", "shCLL1")) {
  fit <- nls(pct ~ SSfpl(log(dose), A, B, xmid, scal), data = p[p$group == g, ])
  est <- coef(summary(fit))
  ci <- exp(est["xmid", 1] + c(-1, 1) * qt(0.975, df.residual(fit)) * est["xmid", 2])
  out[[g]] <- list(coef = unname(est[c("A", "B", "xmid", "scal"), 1]),
                   se = unname(est[c("A", "B", "xmid", "scal"), 2]),
                   rss = deviance(fit), ic50 = c(exp(est["xmid", 1]), ci))
  if (g == "shCtrl") out$profile_shCtrl <- unname(exp(suppressMessages(confint(fit, "xmid"))))
}
p$gi <- ifelse(p$group == "shCtrl", 1, 2)
st <- list(A = c(96, 101), B = c(4, 6), xmid = c(5.2, 3.7), scal = c(0.83, 0.85))
full <- nls(pct ~ A[gi] + (B[gi] - A[gi]) / (1 + exp((xmid[gi] - log(dose)) / scal[gi])),
            data = p, start = st)
red <- nls(pct ~ A[gi] + (B[gi] - A[gi]) / (1 + exp((xmid - log(dose)) / scal[gi])),
           data = p, start = replace(st, "xmid", 4.5))
a <- anova(red, full)
dl <- unname(coef(full)["xmid2"] - coef(full)["xmid1"])
v <- vcov(full)
se <- sqrt(v["xmid1", "xmid1"] + v["xmid2", "xmid2"] - 2 * v["xmid1", "xmid2"])
out$compare <- list(F = a[2, "F value"], p = a[2, "Pr(>F)"], rss_full = deviance(full),
                    rss_reduced = deviance(red), ratio = exp(dl),
                    log_ci = exp(dl + c(-1, 1) * qt(0.975, df.residual(full)) * se))
