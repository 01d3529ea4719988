# Oracle for remission.lab.doseresponse with fixed asymptotes: R nls on the SSfpl form
#   y = A + (B - A) / (1 + exp((xmid - log(dose)) / scal))
# with the lower asymptote fixed at 0 (drc LL.3: B for a falling curve, A for a rising
# one) or the upper asymptote fixed at 100. Simulated wells, set.seed(7).
set.seed(7)
dose <- rep(10^seq(-1, 3, length.out = 8), each = 3)
u <- log(dose)
fall <- 100 / (1 + exp((u - log(20)) * 1.2)) + rnorm(length(dose), 0, 4)
rise <- 5 + 80 / (1 + exp(-(u - log(30)) * 1.0)) + rnorm(length(dose), 0, 4)
weak <- 100 - 35 / (1 + exp(-(u - log(5)) * 1.5)) + rnorm(length(dose), 0, 3)
ctl <- nls.control(maxiter = 200, tol = 1e-7, minFactor = 1e-10)
co <- function(m) { s <- summary(m)$coefficients
  list(names = rownames(s), est = unname(s[, 1]), se = unname(s[, 2]),
       rss = sum(resid(m)^2)) }
f_ll3_fall <- nls(fall ~ A + (0 - A) / (1 + exp((xmid - u) / scal)),
                  start = list(A = 100, xmid = 3, scal = 1), control = ctl)
f_ll3_rise <- nls(rise ~ 0 + (B - 0) / (1 + exp((xmid - u) / scal)),
                  start = list(B = 85, xmid = 3.4, scal = 1), control = ctl)
f_up_fall <- nls(fall ~ 100 + (B - 100) / (1 + exp((xmid - u) / scal)),
                 start = list(B = 0, xmid = 3, scal = 1), control = ctl)
f_ll4_weak <- nls(weak ~ A + (B - A) / (1 + exp((xmid - u) / scal)),
                  start = list(A = 100, B = 65, xmid = 1.6, scal = 0.7), control = ctl)
out <- list(dose = dose, fall = fall, rise = rise, weak = weak,
            ll3_fall = co(f_ll3_fall), ll3_rise = co(f_ll3_rise), up_fall = co(f_up_fall),
            ll4_weak = co(f_ll4_weak))
