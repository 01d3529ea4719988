# docs/tutorials/first-kaplan-meier.md: overall survival of examples/cll1-post-hsct as
# remission derives it (ADTTE PARAMCD = "OS": AVAL days, CNSR 1 = censored), fitted by
# R survfit. Made with R 4.2.2, survival 3.5.3.
library(survival)
d <- data.frame(AVAL = c(26, 14, 23, 14, 14, 14, 15, 23, 14, 14, 14, 14),
                CNSR = c(0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1))
fit <- survfit(Surv(AVAL, 1 - CNSR) ~ 1, data = d)
s <- summary(fit, censored = TRUE)
tab <- summary(fit)$table
out <- list(time = s$time, n_risk = s$n.risk, surv = s$surv,
            std_err = s$std.err, lower = s$lower,
            median = unname(tab[c("median", "0.95LCL", "0.95UCL")]))
