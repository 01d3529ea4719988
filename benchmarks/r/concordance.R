# Baseline for the concordance workload: survival::concordance on a given risk score.
# Usage: Rscript --vanilla concordance.R DATA.csv OUT.json  (columns time, event, score)
suppressPackageStartupMessages(library(jsonlite))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1])
t_load <- proc.time()[["elapsed"]]
suppressPackageStartupMessages(library(survival))
t0 <- proc.time()[["elapsed"]]
load_s <- t0 - t_load
cc <- concordance(Surv(time, event) ~ score, data = d, reverse = TRUE)
secs <- proc.time()[["elapsed"]] - t0
# count: concordant, discordant, tied.x, tied.y, tied.xy; remission's tied.y = both ties.y
out <- list(concordance = unname(cc$concordance), concordance_se = sqrt(unname(cc$var)),
            counts = c(unname(cc$count[1:3]), sum(cc$count[4:5])))
writeLines(toJSON(list(seconds = secs, load_s = load_s, output = out), digits = NA,
                  auto_unbox = TRUE), a[2])
