# The in-silico trial model of remission.sim, written independently in R and solved with
# deSolve: the peer a pharmacometrician would use. 19 disease / effector / toxicity states
# + 5 drug "driver" states (venetoclax depot, central, peripheral in mg; blinatumomab in
# ug; Flu/Cy exposure units), all integrated by the ODE solver (no exact PK here).
#
# Equations: remission/sim/model.py (rhs, initial_state, infuse) and pk.py (the venetoclax
# 2-compartment model of Dave 2019, blinatumomab 1-compartment of Clements 2020, Flu/Cy
# first-order decay, bioavailable dose = dose x F_rel x (dose/400)^-0.178). Doses are
# given at the start of integer days; the solver is restarted only on days with a dose
# (or a blinatumomab rate change), as a user of deSolve would do with a loop over dosing
# intervals. No transfusions and no leukaemia extinction (as remission's simulate_states).
#
# Usage: Rscript --vanilla sim_desolve.R SPEC.json OUT.json
#   SPEC: {"params_csv": ..., "schedule_csv": ..., "n_r": patients to time (at least
#          n_acc), "n_acc": patients whose states are written (the first ones), "method": "lsoda",
#          "rtol": 1e-6, "atol": 1e-14}
#   params_csv: one row per patient, one column per parameter (remission's names)
#   schedule_csv: one row per day: day, ven_mg, fc_units, car_per_kg, car_cells, blin_ug_day
# Output: {"seconds": s per patient, "load_s": library load, "output": {"states":
#   [patient][day][19 states]}} -- states at the start of every day, before its doses.
suppressPackageStartupMessages(library(jsonlite))
a <- commandArgs(trailingOnly = TRUE)
spec <- fromJSON(a[1])
t_load <- proc.time()[["elapsed"]]
suppressPackageStartupMessages(library(deSolve))
load_s <- proc.time()[["elapsed"]] - t_load
P <- read.csv(spec$params_csv)
S <- read.csv(spec$schedule_csv)
BLOOD_UL_PER_KG <- 70000

model <- function(t, x, q) {
  with(q, {
    lp <- x[1]; ln <- x[2]; a <- x[3]; e <- x[4]; m <- x[5]; ly <- x[6]; pr <- x[7]
    tr1 <- x[8]; tr2 <- x[9]; tr3 <- x[10]; nc <- x[11]; il <- x[12]; pp <- x[13]
    pt1 <- x[14]; pt2 <- x[15]; pt3 <- x[16]; plt <- x[17]; hb <- x[18]; fit <- x[19]
    d0 <- x[20]; d1 <- x[21]; d2 <- x[22]; d3 <- x[23]; d4 <- x[24]
    cv <- d1 / ven_v2                # venetoclax mg/L
    cb <- d3 / blin_v * 1000         # blinatumomab pg/mL
    ld <- d4                         # Flu/Cy exposure units
    lpos <- exp(lp); lneg <- exp(ln); ltot <- lpos + lneg
    # leukaemia: logistic growth, CAR / venetoclax / blinatumomab kill, clone switching
    grow <- leuk_growth * (1 - ltot)
    car_sat <- e / (car_kill_half + e)
    dens <- (a * antigen_density)^car_density_hill
    half <- car_density_half^car_density_hill
    recog <- dens * (1 + half) / (dens + half)
    kill_car <- kill_max * car_sat * recog
    occ <- cb / (blin_ec50 + cb)
    kill_b <- blin_kill_max * occ * a * ly / (blin_t_half + ly + blin_et_burden * ltot)
    # adaptive venetoclax tolerance: the blasts' IC50 rises as A^ven_tolerance
    ic50 <- ven_ic50_pos * a^ven_tolerance
    kill_pos <- kill_car + ven_kill_max * cv / (ic50 + cv) + kill_b
    kill_neg <- car_neg_kill_fraction * kill_car +
      ven_kill_max * cv / (ic50 / ven_sensitivity_ratio + cv) +
      blin_neg_kill_fraction * kill_b
    to_pos <- switch_neg_to_pos * (1 + antigen_switch_gain * (a - 1))
    to_neg <- switch_pos_to_neg
    dlp <- grow - kill_pos - to_neg + to_pos * lneg / lpos
    dln <- grow - kill_neg - to_pos + to_neg * lpos / lneg
    da <- -antigen_decay * (a - 1) + antigen_up_rate * cv / (antigen_up_ec50 + cv)
    # CAR effector / memory / expansion capacity
    target <- recog * lpos + offtumour_weight * pr / anc_healthy
    stim <- target / (car_stim_half + target + e / car_et_capacity)
    lymphopenia <- max(0, 1 - ly / alc0)
    react <- car_memory_reactivation * stim * m * fit
    de <- (expansion * (1 + ld_car_boost * lymphopenia) * stim * fit +
           homeostatic * lymphopenia / (1 + e / car_et_capacity) -
           effector_loss - memory_conversion) * e + react
    dm <- memory_conversion * e - react - memory_loss * m
    # capacity is spent by CAR cells meeting antigen: none before the first infusion
    dfit <- if (e + m > 0) -car_exhaustion * stim * fit else 0
    dly <- lymph_recovery * (alc0 - ly) - ld_lymph_kill * ld * ly
    # neutrophils (Friberg) with marrow crowding and on-target / off-tumour kill
    free <- max(1 - ltot, 1e-3)
    ktr <- 4 / neut_mtt
    k_off <- offtumour_kill * car_sat
    fb <- (anc_healthy / nc)^neut_gamma * free^neut_crowding
    dpr <- ktr * pr * (fb - 1) - (ld_myelo_kill * ld + k_off + ven_myelo_slope * cv) * pr
    dtr1 <- ktr * (pr - tr1); dtr2 <- ktr * (tr1 - tr2); dtr3 <- ktr * (tr2 - tr3)
    dnc <- ktr * (tr3 - nc) - k_off * nc
    # IL-6 from CAR cells engaging tumour and from blinatumomab-engaged T cells
    prod <- il6_car * e * stim * recog * lpos / max(target, 1e-300) + il6_blin * occ * ly * lpos
    dil <- prod / (1 + prod / il6_prod_max) - il6_elim * (il - il6_baseline)
    # platelets (Friberg) and haemoglobin
    ktp <- 4 / plt_mtt
    fbp <- (plt_healthy / plt)^plt_gamma * free^plt_crowding
    dpp <- ktp * pp * (fbp - 1) - (ld_myelo_kill * ld + ven_myelo_slope * cv) * pp
    dpt1 <- ktp * (pp - pt1); dpt2 <- ktp * (pt1 - pt2); dpt3 <- ktp * (pt2 - pt3)
    dplt <- ktp * (pt3 - plt)
    dhb <- hb_turnover * (hb_healthy * free^hb_crowding / (1 + ld_hb_effect * ld) - hb)
    # drivers
    dd0 <- -ven_ka * d0
    dd1 <- ven_ka * d0 - (ven_cl + ven_q) / ven_v2 * d1 + ven_q / ven_v3 * d2
    dd2 <- ven_q / ven_v2 * d1 - ven_q / ven_v3 * d2
    dd3 <- rate - blin_cl / blin_v * d3
    dd4 <- -ld_decay * d4
    list(c(dlp, dln, da, de, dm, dly, dpr, dtr1, dtr2, dtr3, dnc, dil, dpp, dpt1, dpt2,
           dpt3, dplt, dhb, dfit, dd0, dd1, dd2, dd3, dd4))
  })
}

initial <- function(q) {
  with(q, {
    free <- 1 - b0
    anc0 <- anc_healthy * (free^neut_crowding)^(1 / neut_gamma)
    plt0 <- plt_healthy * (free^plt_crowding)^(1 / plt_gamma)
    c(log(b0 * pos0), log(b0 * (1 - pos0)), 1, 0, 0, alc0, rep(anc0, 5), il6_baseline,
      rep(plt0, 5), hb_healthy * free^hb_crowding, 1, rep(0, 5))
  })
}

one_patient <- function(q) {
  nd <- nrow(S)
  x <- initial(q)
  out <- matrix(NA_real_, nd, 24)
  out[1, ] <- x
  dose <- S$ven_mg > 0 | S$fc_units > 0 | S$car_per_kg > 0 | S$car_cells > 0
  dose[-1] <- dose[-1] | diff(S$blin_ug_day) != 0
  dose[1] <- TRUE
  starts <- which(dose & seq_len(nd) < nd)
  for (k in seq_along(starts)) {
    i <- starts[k]
    stop <- if (k < length(starts)) starts[k + 1] else nd
    if (S$ven_mg[i] > 0)
      x[20] <- x[20] + S$ven_mg[i] * (S$ven_mg[i] / 400)^q$ven_dose_exponent * q$ven_rel_f
    x[24] <- x[24] + S$fc_units[i]
    cells <- (S$car_per_kg[i] + S$car_cells[i] / q$weight_kg) * q$car_blood_fraction /
      BLOOD_UL_PER_KG
    x[4] <- x[4] + (1 - q$resting_fraction) * cells
    x[5] <- x[5] + q$resting_fraction * cells
    qq <- c(q, rate = S$blin_ug_day[i])
    sol <- ode(y = x, times = seq(i - 1, stop - 1), func = model, parms = qq,
               method = spec$method, rtol = spec$rtol, atol = spec$atol)
    out[(i + 1):stop, ] <- sol[-1, 2:25]
    x <- unname(sol[nrow(sol), 2:25])
  }
  out
}

n_r <- max(spec$n_r, spec$n_acc)
pars <- lapply(seq_len(nrow(P)), function(j) as.list(P[j, ]))
t0 <- proc.time()[["elapsed"]]
res <- lapply(seq_len(n_r), function(j) one_patient(pars[[j]]))
secs <- (proc.time()[["elapsed"]] - t0) / n_r
states <- lapply(seq_len(spec$n_acc), function(j) unname(res[[j]][, 1:19]))
writeLines(toJSON(list(seconds = secs, load_s = load_s, output = list(states = states)),
                  digits = NA, auto_unbox = TRUE), a[2])
