# The shipped GO gene sets (src/remission/data/genesets/go/go_bp_immune_2022-07-01.gmt,
# made by scripts/make_go_genesets.py from the SQLite files) rebuilt through R's own API:
# GO BP "immune system process" (GO:0002376) and its offspring (GO.db GOBPOFFSPRING);
# human genes of each term with all its descendants, every evidence code (org.Hs.eg.db
# GOALL, BP rows), kept when 10-500 genes (clusterProfiler enrichGO's minGSSize /
# maxGSSize). Bioconductor org.Hs.eg.db / GO.db 3.16 (Debian r-bioc-org.hs.eg.db,
# r-bioc-go.db). Out: the full gene lists of three terms; for every kept term its name
# (GO.db Term) and the MD5 of its sorted symbols, one per line (C-locale order).
suppressPackageStartupMessages({library(org.Hs.eg.db); library(GO.db)})
root <- "GO:0002376"
terms <- c(root, get(root, GOBPOFFSPRING))
s <- suppressMessages(AnnotationDbi::select(org.Hs.eg.db, keys = terms, keytype = "GOALL",
                                            columns = c("SYMBOL", "ONTOLOGYALL")))
s <- unique(s[!is.na(s$SYMBOL) & s$ONTOLOGYALL == "BP", c("GOALL", "SYMBOL")])
sets <- lapply(split(s$SYMBOL, s$GOALL), function(g) sort(unique(g), method = "radix"))
n <- vapply(sets, length, 1L)
sets <- sets[n >= 10 & n <= 500]
sets <- sets[sort(names(sets), method = "radix")]
f <- tempfile()
out <- list(go_date = as.character(subset(metadata(org.Hs.eg.db), name == "GOSOURCEDATE")$value),
            n_sets = length(sets),
            md5 = as.list(vapply(sets, function(g) { writeLines(g, f); unname(tools::md5sum(f)) }, "")),
            names = as.list(vapply(names(sets), function(t) Term(GOTERM[[t]]), "")))
for (t in c("GO:0001771", "GO:0002418", "GO:0042267")) out[[t]] <- sets[[t]]
