# SingleR 2.0 (Debian r-bioc-singler) on the inputs written by tests/singlecell_singler.py.
# DIR (set by the caller) holds test.csv (genes x cells, log-normalised), ref.csv (genes x
# reference profiles, log-normalised) and ref_labels.csv (profile, label).
suppressPackageStartupMessages(library(SingleR))
test <- as.matrix(read.csv(file.path(DIR, "test.csv"), row.names = 1, check.names = FALSE))
ref <- as.matrix(read.csv(file.path(DIR, "ref.csv"), row.names = 1, check.names = FALSE))
lab <- read.csv(file.path(DIR, "ref_labels.csv"), stringsAsFactors = FALSE)
stopifnot(identical(lab$profile, colnames(ref)))
pred <- SingleR(test = test, ref = ref, labels = lab$label)  # all defaults
trained <- trainSingleR(ref[intersect(rownames(test), rownames(ref)), ], labels = lab$label)
nofine <- SingleR(test = test, ref = ref, labels = lab$label, fine.tune = FALSE)
sc <- pred$scores
out <- list(
  singler_version = as.character(packageVersion("SingleR")),
  cells = colnames(test),
  labels = pred$labels,
  pruned = ifelse(is.na(pred$pruned.labels), "", pred$pruned.labels),
  delta_next = pred$delta.next,
  score_labels = colnames(sc),
  scores = as.vector(t(sc)),          # row-major: cell 1 all labels, cell 2 ...
  marker_union = sort(trained$markers$unique),
  labels_no_fine_tune = nofine$labels
)
