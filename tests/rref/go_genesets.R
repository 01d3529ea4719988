# Human genes of three GO BP terms (with all descendants, every evidence code) from
# Bioconductor org.Hs.eg.db 3.16 (Debian r-bioc-org.hs.eg.db), the source of the shipped
# src/remission/data/genesets/go/go_bp_immune_2022-07-01.gmt.
suppressPackageStartupMessages(library(org.Hs.eg.db))
terms <- c("GO:0001771", "GO:0002418", "GO:0042267")
out <- list(go_date = as.character(subset(metadata(org.Hs.eg.db), name == "GOSOURCEDATE")$value))
for (t in terms) {
  s <- suppressMessages(AnnotationDbi::select(org.Hs.eg.db, keys = t, keytype = "GOALL",
                                              columns = "SYMBOL"))
  out[[t]] <- sort(unique(s$SYMBOL))
}
