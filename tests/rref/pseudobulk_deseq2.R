# Pseudobulk DESeq2 (Debian r-bioc-deseq2) on the cells written by tests/singlecell_pseudobulk.py.
# DIR holds counts.csv (genes x cells, raw UMIs of one cell type) and cells.csv (cell, sample,
# time_point, patient). R sums the cells per sample itself, then runs DESeq2 with defaults:
# ~ patient + group (paired) and ~ group.
suppressPackageStartupMessages(library(DESeq2))
m <- as.matrix(read.csv(file.path(DIR, "counts.csv"), row.names = 1, check.names = FALSE))
cells <- read.csv(file.path(DIR, "cells.csv"), stringsAsFactors = FALSE)
stopifnot(identical(cells$cell, colnames(m)))
pb <- t(rowsum(t(m), cells$sample))              # genes x samples, samples sorted
pb <- pb[rowSums(pb) > 0, ]
smp <- unique(cells[, c("sample", "time_point", "patient")])
smp <- smp[match(colnames(pb), smp$sample), ]
cd <- data.frame(group = factor(smp$time_point, levels = c("product", "day 9")),
                 patient = factor(smp$patient))
fit <- function(design, fitType = "parametric") {
  dds <- DESeq(DESeqDataSetFromMatrix(pb, cd, design), fitType = fitType, quiet = TRUE)
  rr <- results(dds, contrast = c("group", "day 9", "product"))
  list(bm = rr$baseMean, lfc = rr$log2FoldChange, p = rr$pvalue, padj = rr$padj,
       sf = unname(sizeFactors(dds)), disp = unname(dispersions(dds)),
       disp_gene = unname(mcols(dds)$dispGeneEst), disp_fit = unname(mcols(dds)$dispFit))
}
paired <- fit(~ patient + group)
paired_mean <- fit(~ patient + group, "mean")  # PyDESeq2's fallback when the trend fails
unpaired <- fit(~ group)
out <- list(deseq2_version = as.character(packageVersion("DESeq2")),
            genes = rownames(pb), samples = colnames(pb), pb = as.vector(pb),
            paired = paired, paired_mean = paired_mean, unpaired = unpaired)
