"""Single-cell pipeline benchmark: remission.singlecell against plain scanpy defaults.

Data: the seed-002 design (CAR-T product + peak blood) simulated at ``--cells`` cells per
sample (default 50,000, i.e. 100,000 cells) x ``--genes`` genes (default 20,000) with the
simulator's sparse sampler (same model as the examples, one uniform per cell x gene and
values only where non-zero; deterministic, seed 100, labelled SYNTHETIC; above 1,500
genes with ``named_share_genes=1500`` so the markers keep the examples' share of each
library), written once to ``build/bench/data/singlecell-sparse-s100[-share1500]-<cells>x
<genes>.h5ad`` (raw counts) and reused by later runs (delete the file to regenerate).
Generating is not timed.

Sides (each a fresh process; imports and reading the h5ad are in the wall time):

* ``remission`` -- :func:`remission.singlecell.profile`: CAR features out, QC (genes, mito /
  counts / genes MAD rules), LogNormalize, 2000 seurat_v3 HVGs, scale, PCA 50, Harmony
  (harmony-0.1 parameters), Seurat SNN (k = 20) + Louvain (10 starts), UMAP, marker
  annotation, composition / CAR / CD4:CD8 / expansion tables, FindMarkers-style DE (peak vs
  product within CD4 effector memory), module scores;
* ``scanpy defaults`` -- what a scanpy user writes for the same steps with defaults:
  ``filter_cells(min_genes=100)``, ``calculate_qc_metrics`` + a mito cut at the same MAD
  rule, ``normalize_total(1e4)`` + ``log1p``, ``highly_variable_genes(seurat_v3, 2000)``,
  ``scale``, ``pca``, harmonypy (defaults), ``neighbors`` (15 NN), ``leiden`` (igraph),
  ``umap``, ``rank_genes_groups(wilcoxon)`` on the same DE subset.

Both report the QC-kept cell count, CAR-detected share per sample, the ARI of their
clusters against the planted populations and how many of the 7 planted programme genes
are among their 20 top-ranked DE genes. The benchmark fails if a side fails, if the CAR
shares differ by more than 0.5 points, if the kept-cell counts differ by more than 2%,
if either side's ARI is below 0.8 or if either side ranks fewer than 5 planted genes in
its top 20. Targets: remission wall time <= 600 s, peak memory <= 8 GB (both printed
and recorded, with the peak of each side), and no slower than the scanpy side
(``--strict`` enforces the ratio).

``--quick`` (the smoke test: 2 x 400 cells x 800 genes): no UMAP on either side and the
scanpy side's neighbour graph uses ``method="gauss"`` instead of the UMAP kernel, because
umap-learn / pynndescent compile ~30 s of Numba code in every fresh process; the full
size runs both exactly as described above.

Run: ``python benchmarks/bench_singlecell.py [--quick] [--cells N] [--genes G] [--reps R]``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402

FEATS = ("CAR-CLL1-scFv", "CAR-RQR8", "CAR-WPRE")


FAST_ENV = "REMISSION_BENCH_SC_FAST"  # quick mode: no UMAP, Gaussian kernel on scanpy's side
TOP = 20


SHARE_GENES = 1500  # the examples' universe: named genes keep their share above it


def make_data(cells: int, genes: int) -> Path:
    """Simulate (sparse sampler, seed 100) once and cache the h5ad under build/bench/data.

    Above ``SHARE_GENES`` genes the design holds the named genes' library share (and the
    share of population-specific background genes) at their 1,500-gene values
    (``Design.named_share_genes``), so markers are as strong as in the examples.
    """
    from dataclasses import replace

    from remission.singlecell.simulate import cart_design, simulate

    share = SHARE_GENES if genes > SHARE_GENES else None
    tag = f"-share{share}" if share else ""
    path = hz.OUT_DIR / "data" / f"singlecell-sparse-s100{tag}-{cells}x{genes}.h5ad"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        design = replace(cart_design(n_cells=cells, n_genes=genes), named_share_genes=share)
        a = simulate(design, seed=100, sampler="sparse")
        tmp = path.with_suffix(".tmp.h5ad")
        a.write_h5ad(tmp)
        tmp.replace(path)
        print(f"simulated {a.n_obs:,} cells x {a.n_vars:,} features ({a.X.nnz:,} non-zero) "
              f"in {time.perf_counter() - t0:.1f} s -> {path}", flush=True)
    return path


def _planted_in_top(genes, planted) -> int:
    return len(set(list(genes)[:TOP]) & set(planted))


def _truth_ari(obs, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(obs["truth_population"], labels))


def w_remission(data: str, out: str) -> None:
    t0 = time.perf_counter()
    import anndata as ad

    from remission.singlecell.analysis import Params, profile

    a = ad.read_h5ad(data)
    planted = a.uns["simulation"]["programme_genes"]["cd4_killing_memory"]
    p = Params(construct_features=FEATS, donor_sex="male", time_order=("product", "day 9"),
               de_labels=("CD4 effector memory",), de_car_only=False,
               umap=not os.environ.get(FAST_ENV))
    prof = profile(a, p, copy=False)
    b = prof.adata
    car = b.obs.groupby("sample", observed=True)["car_detected"].mean()
    up = prof.de[prof.de["avg_log2FC"] > 0].index
    secs = time.perf_counter() - t0
    hz.emit(out, {"kept": int(b.n_obs), "car_share": car.sort_index().tolist(),
                  "ari": _truth_ari(b.obs, b.obs["cluster"]),
                  "ari_labels": _truth_ari(b.obs, b.obs["cell_type"]),
                  "planted_top": _planted_in_top(up, planted)}, secs)


def w_scanpy(data: str, out: str) -> None:
    t0 = time.perf_counter()
    import anndata as ad
    import harmonypy
    import scanpy as sc

    fast = bool(os.environ.get(FAST_ENV))
    a = ad.read_h5ad(data)
    planted = a.uns["simulation"]["programme_genes"]["cd4_killing_memory"]
    car = np.asarray(a[:, list(FEATS)].X.sum(axis=1)).ravel()
    a.obs["car_detected"] = car >= 1
    a = a[:, ~a.var_names.isin(FEATS)].copy()
    sc.pp.filter_cells(a, min_genes=100)
    a.var["mt"] = a.var_names.str.startswith("MT-")
    sc.pp.calculate_qc_metrics(a, qc_vars=["mt"], percent_top=None, inplace=True)
    keep = np.ones(a.n_obs, bool)
    for _, idx in a.obs.groupby("sample", observed=True).indices.items():
        m = a.obs["pct_counts_mt"].to_numpy()[idx]
        med = np.median(m)
        keep[idx] = m <= med + 3 * 1.4826 * np.median(np.abs(m - med))
    a = a[keep].copy()
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sc.pp.highly_variable_genes(a, flavor="seurat_v3", n_top_genes=2000, layer="counts")
    b = a[:, a.var["highly_variable"]].copy()
    sc.pp.scale(b, max_value=10)
    sc.tl.pca(b)
    ho = harmonypy.run_harmony(b.obsm["X_pca"], b.obs[["sample"]], ["sample"], verbose=False)
    z = np.asarray(ho.Z_corr)
    b.obsm["X_harmony"] = z if z.shape[0] == b.n_obs else z.T
    sc.pp.neighbors(b, use_rep="X_harmony", **({"method": "gauss"} if fast else {}))
    sc.tl.leiden(b, flavor="igraph", n_iterations=2, directed=False)
    if not fast:
        sc.tl.umap(b)
    a.obs["leiden"] = b.obs["leiden"].to_numpy()
    # DE as a scanpy user would: peak vs product within the CD4 effector-memory-rich cluster
    cl = a.obs.groupby("leiden", observed=True)["truth_population"].agg(
        lambda s: (s == "CD4 effector memory").mean()).idxmax()
    sub = a[a.obs["leiden"] == cl].copy()
    sc.tl.rank_genes_groups(sub, "time_point", groups=["day 9"], reference="product",
                            method="wilcoxon")
    car_share = a.obs.groupby("sample", observed=True)["car_detected"].mean()
    de = sc.get.rank_genes_groups_df(sub, "day 9")
    up = de.loc[de["logfoldchanges"] > 0, "names"]
    secs = time.perf_counter() - t0
    hz.emit(out, {"kept": int(a.n_obs), "car_share": car_share.sort_index().tolist(),
                  "ari": _truth_ari(a.obs, a.obs["leiden"]), "ari_labels": float("nan"),
                  "planted_top": _planted_in_top(up, planted)}, secs)


WORKERS = {"remission": w_remission, "scanpy": w_scanpy}


def compare(o: dict) -> list[hz.Check]:
    r, s = o["remission"], o["scanpy defaults"]
    checks = [hz.close("car_share: CAR-detected share per sample", r["car_share"],
                       s["car_share"], rtol=0.0, atol=0.005),
              hz.close("kept: QC-kept cells", r["kept"], s["kept"], rtol=0.02)]
    for side, out in (("remission", r), ("scanpy defaults", s)):
        checks.append(hz.Check(f"ari: {side} clusters vs planted populations >= 0.8",
                               out["ari"] >= 0.8, 0.0, f"ARI {out['ari']:.3f}"))
        checks.append(hz.Check(f"planted_top: {side} >= 5 of 7 planted genes in top {TOP}",
                               out["planted_top"] >= 5, 0.0, f"{out['planted_top']} of 7"))
    checks.append(hz.Check("ari_labels: remission labels vs planted populations >= 0.8",
                           r["ari_labels"] >= 0.8, 0.0, f"ARI {r['ari_labels']:.3f}"))
    return checks


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hz.worker_call(argv, WORKERS):
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=None, help="cells per sample (50,000)")
    ap.add_argument("--genes", type=int, default=None, help="genes (20,000)")
    a = ap.parse_args(argv)
    cells = a.cells or (400 if a.quick else 50_000)
    genes = a.genes or (800 if a.quick else 20_000)
    reps = a.reps or 1
    data = make_data(cells, genes)
    me = Path(__file__).resolve()
    sides = [hz.python_side("remission", me, "remission"),
             hz.python_side("scanpy defaults", me, "scanpy")]
    for s in sides:
        s.cold = True
        if a.quick:
            s.env[FAST_ENV] = "1"
    wl = [hz.Workload(f"whole pipeline, {2 * cells:,} cells x {genes:,} genes", data, sides,
                      compare, targets={"scanpy defaults": 1.0},
                      limits={"remission": 600.0}, mem_limits={"remission": 8192.0},
                      note="cold processes: imports and h5ad read included")]
    return hz.run_all("singlecell", wl, a, reps, argv,
                      {"cells_per_sample": cells, "genes": genes, "reps": reps})


if __name__ == "__main__":
    sys.exit(main())
