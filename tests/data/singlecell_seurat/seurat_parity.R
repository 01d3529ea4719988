# Seurat 4.3 (Debian r-cran-seurat) reference for tests/test_singlecell_seurat_parity.py.
# Inputs (written by the test or by make_reference.py): counts.csv (genes x cells, raw
# UMIs), groups.csv (cell, group: "g1"/"g2"), emb.csv (cell x 10 dims).
# Output: `out`, a named list serialised to JSON by tests/rlive.py.
suppressPackageStartupMessages(library(Seurat))
m <- as.matrix(read.csv(file.path(DIR, "counts.csv"), row.names = 1, check.names = FALSE))
so <- CreateSeuratObject(counts = m, min.cells = 0, min.features = 0)
so[["percent.mt"]] <- PercentageFeatureSet(so, pattern = "^MT-")
qc <- so@meta.data
so <- subset(so, subset = nFeature_RNA >= 100 & nFeature_RNA <= 30000)
so <- NormalizeData(so, normalization.method = "LogNormalize", scale.factor = 1e4,
                    verbose = FALSE)
so <- FindVariableFeatures(so, selection.method = "vst", nfeatures = 200, verbose = FALSE)
data <- as.matrix(GetAssayData(so, slot = "data"))
grp <- read.csv(file.path(DIR, "groups.csv"), stringsAsFactors = FALSE)
grp <- grp[grp$cell %in% colnames(so), ]
fm <- FindMarkers(so, ident.1 = grp$cell[grp$group == "g1"],
                  ident.2 = grp$cell[grp$group == "g2"], test.use = "wilcox",
                  logfc.threshold = 0.25, min.pct = 0.1, verbose = FALSE)
emb <- as.matrix(read.csv(file.path(DIR, "emb.csv"), row.names = 1, check.names = FALSE))
colnames(emb) <- paste0("h_", seq_len(ncol(emb)))
emb <- emb[colnames(so), ]
so[["hpca"]] <- CreateDimReducObject(embeddings = emb, key = "h_", assay = "RNA")
so <- FindNeighbors(so, reduction = "hpca", dims = 1:ncol(emb), k.param = 20,
                    prune.SNN = 1 / 15, nn.method = "rann", verbose = FALSE)
snn <- as(so@graphs$RNA_snn, "dgTMatrix")
so <- FindClusters(so, resolution = 0.8, verbose = FALSE, random.seed = 0)
mt <- qc$percent.mt
out <- list(
  cells = rownames(qc), n_feature = qc$nFeature_RNA, n_count = qc$nCount_RNA,
  percent_mt = mt, mito_threshold_3mad = median(mt) + 3 * mad(mt),
  kept = colnames(so),
  data_cell_sums = unname(colSums(data)), data_genes = rownames(data),
  data_probe = unname(data[cbind(PROBE_I, PROBE_J)]),
  hvg = VariableFeatures(so),
  fm_gene = rownames(fm), fm_p = fm$p_val, fm_fc = fm$avg_log2FC, fm_pct1 = fm$pct.1,
  fm_pct2 = fm$pct.2, fm_padj = fm$p_val_adj,
  snn_i = snn@i, snn_j = snn@j, snn_x = snn@x,
  clusters = as.character(Idents(so)), seurat_version = as.character(packageVersion("Seurat"))
)
