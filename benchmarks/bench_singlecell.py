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
  counts / genes MAD rules), HVG (2000 seurat_v3), LogNormalize, scale, PCA 50, Harmony
  (harmony-0.1 parameters), Seurat SNN (k = 20) + Louvain (10 starts), UMAP (RunUMAP's 30
  cosine neighbours), marker annotation, composition / CAR / CD4:CD8 / origin / expansion
  tables, FindMarkers-style DE (peak vs product within CD4 effector memory), pseudobulk DE
  (not run: one sample per time point), enrichment, module scores;
* ``scanpy defaults`` -- what a scanpy user writes for the same steps with defaults: the
  same QC rules in scanpy + numpy, ``normalize_total(1e4)`` + ``log1p``,
  ``highly_variable_genes(seurat_v3, 2000)``, ``scale``, ``pca``, harmonypy (defaults),
  ``neighbors`` (15 NN), ``leiden`` (igraph), ``umap``, one ``score_genes`` per marker set
  of ``remission.singlecell.markers`` and the best mean per cluster, ``rank_genes_groups
  (wilcoxon)`` on the same DE subset, ``score_genes`` per module.

Each side times its steps (wall, CPU of the process, peak resident memory after resetting
the kernel's mark at the step's start); the table prints them side by side, the sum over
the steps both run and remission's extras apart. Checks: the same QC-kept barcodes, CAR
shares within 0.5 points, cluster ARI between the sides >= 0.9, each side's ARI against
the planted populations >= 0.8, remission's labels ARI >= 0.8, >= 5 of the 7 planted
programme genes among each side's 20 top-ranked DE genes. Targets, enforced at every size
but ``--quick`` (where the machine's load decides): remission not slower than scanpy (sum
over the same steps and whole-process wall), remission <= 600 s whole-process wall, peak
<= 8 GB.

``--quick`` (the smoke test: 2 x 400 cells x 800 genes): no UMAP on either side and the
scanpy side's neighbour graph uses ``method="gauss"`` instead of the UMAP kernel, because
umap-learn / pynndescent compile ~30 s of Numba code in every fresh process; the full
size runs both exactly as described above.

The issue-15 size is the default: ``python benchmarks/bench_singlecell.py --reps 1``.

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
from singlecell_data import cached_simulation  # noqa: E402

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
    share = SHARE_GENES if genes > SHARE_GENES else None
    tag = f"-share{share}" if share else ""
    path = hz.OUT_DIR / "data" / f"singlecell-sparse-s100{tag}-{cells}x{genes}.h5ad"
    return cached_simulation(path, cells, genes, seed=100, share=share)


def _planted_in_top(genes, planted) -> int:
    return len(set(list(genes)[:TOP]) & set(planted))


def _outputs(adata, cluster: str, up, planted) -> dict:
    """What both sides report and the comparison reads: kept cells, CAR share per sample,
    ARI of the clusters and labels against the planted populations, planted DE genes
    among the top up-regulated, and each cell's cluster."""
    obs = adata.obs
    car = obs.groupby("sample", observed=True)["car_detected"].mean()
    return {"kept": int(adata.n_obs), "kept_digest": _digest(adata.obs_names),
            "car_share": car.sort_index().tolist(),
            "ari": _truth_ari(obs, obs[cluster]),
            "ari_labels": _truth_ari(obs, obs["cell_type"]),
            "planted_top": _planted_in_top(up, planted),
            "clusters": dict(zip(adata.obs_names, obs[cluster].astype(str), strict=True))}


def _truth_ari(obs, labels) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(obs["truth_population"], labels))


def _digest(names) -> str:
    import hashlib

    return hashlib.sha256("\n".join(sorted(map(str, names))).encode()).hexdigest()[:16]


class StepClock:
    """Wall, CPU and peak resident memory of each step.

    CPU = user + system time of this process (all threads) and of the child processes it
    has waited for (Louvain's forked starts; ``os.times``).

    Call with a step's name as it starts; :meth:`done` closes the last one. The peak of a
    step is the kernel's high-water mark (``VmHWM``) after resetting it at the step's start
    (``/proc/self/clear_refs`` = 5, Linux), so it includes what the step started with. The
    harness polls the same mark every 10 ms for the whole process; the process peak the
    benchmark checks is the larger of that and the highest step peak.
    """

    def __init__(self, first: str) -> None:
        self.rows: list[list] = []
        self._start(first)

    @staticmethod
    def _hwm_mb() -> float:
        try:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return float("nan")

    def _start(self, name: str) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self.name, self.t, self.c = name, time.perf_counter(), self._cpu()

    def _stop(self) -> None:
        self.rows.append([self.name, time.perf_counter() - self.t, self._cpu() - self.c,
                          self._hwm_mb()])

    @staticmethod
    def _cpu() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def __call__(self, name: str) -> None:
        self._stop()
        self._start(name)

    def done(self) -> list[list]:
        self._stop()
        return self.rows


def w_remission(data: str, out: str) -> None:
    t0 = time.perf_counter()
    clock = StepClock("imports + read")
    import anndata as ad

    from remission.singlecell.analysis import Params, profile

    a = ad.read_h5ad(data)
    planted = a.uns["simulation"]["programme_genes"]["cd4_killing_memory"]
    p = Params(construct_features=FEATS, donor_sex="male", time_order=("product", "day 9"),
               de_labels=("CD4 effector memory",), de_car_only=False,
               umap=not os.environ.get(FAST_ENV))
    prof = profile(a, p, copy=False, on_step=clock)
    clock("outputs")
    b = prof.adata
    res = _outputs(b, "cluster", prof.de[prof.de["avg_log2FC"] > 0].index, planted)
    res["steps"] = clock.done()
    res["children_peak_mb"] = _children_peak_mb()
    hz.emit(out, res, time.perf_counter() - t0)


def _children_peak_mb() -> float:
    """Largest resident size of any waited-for child (forked: shared pages included)."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def _scanpy_annotation(sc, a, key: str) -> None:
    """What a scanpy user writes to label clusters from the same marker sets: one
    ``sc.tl.score_genes`` per positive (and negative) gene list, defaults, best mean per
    cluster."""
    import pandas as pd

    from remission.singlecell.markers import MARKER_SETS

    scores = {}
    for m in MARKER_SETS:
        pos = [g for g in m.positive if g in a.var_names]
        if not pos:
            continue
        sc.tl.score_genes(a, pos, score_name="_s")
        s = a.obs.pop("_s").to_numpy(float)
        neg = [g for g in m.negative if g in a.var_names]
        if neg:
            sc.tl.score_genes(a, neg, score_name="_s")
            s = s - np.clip(a.obs.pop("_s").to_numpy(float), 0.0, None)
        scores[m.name] = s
    S = pd.DataFrame(scores, index=a.obs_names)
    best = S.groupby(a.obs[key].to_numpy()).mean().idxmax(axis=1)
    a.obs["cell_type"] = a.obs[key].astype(str).map(best).to_numpy()


def w_scanpy(data: str, out: str) -> None:
    t0 = time.perf_counter()
    clock = StepClock("imports + read")
    import anndata as ad
    import harmonypy
    import scanpy as sc

    from remission.singlecell.markers import MODULES

    fast = bool(os.environ.get(FAST_ENV))
    a = ad.read_h5ad(data)
    planted = a.uns["simulation"]["programme_genes"]["cd4_killing_memory"]
    clock("CAR extraction")
    car = np.asarray(a[:, list(FEATS)].X.sum(axis=1)).ravel()
    a.obs["car_detected"] = car >= 1
    a = a[:, ~a.var_names.isin(FEATS)].copy()
    clock("QC")
    # seed 002's rules as a scanpy user writes them (the same rules as remission's QC):
    # genes per cell >= 100; per sample among those, mito % > median + 3 scaled MADs and
    # log1p counts / log1p genes beyond 5 scaled MADs (both sides) removed
    sc.pp.filter_cells(a, min_genes=100)
    a.var["mt"] = a.var_names.str.startswith("MT-")
    sc.pp.calculate_qc_metrics(a, qc_vars=["mt"], percent_top=None, inplace=True)
    keep = np.ones(a.n_obs, bool)

    def mad_out(v, n, both):
        med = np.median(v)
        dev = n * 1.4826 * np.median(np.abs(v - med))
        return (v > med + dev) | ((v < med - dev) if both else False)

    for _, idx in a.obs.groupby("sample", observed=True).indices.items():
        o = a.obs.iloc[idx]
        keep[idx] = ~(mad_out(o["pct_counts_mt"].to_numpy(), 3, False)
                      | mad_out(np.log1p(o["total_counts"].to_numpy()), 5, True)
                      | mad_out(np.log1p(o["n_genes_by_counts"].to_numpy()), 5, True))
    a = a[keep].copy()
    clock("LogNormalize")
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    clock("HVG")
    sc.pp.highly_variable_genes(a, flavor="seurat_v3", n_top_genes=2000, layer="counts")
    clock("scale + PCA")
    b = a[:, a.var["highly_variable"]].copy()
    sc.pp.scale(b, max_value=10)
    sc.tl.pca(b)
    clock("Harmony")
    ho = harmonypy.run_harmony(b.obsm["X_pca"], b.obs[["sample"]], ["sample"], verbose=False)
    z = np.asarray(ho.Z_corr)
    b.obsm["X_harmony"] = z if z.shape[0] == b.n_obs else z.T
    clock("graph + clusters")
    sc.pp.neighbors(b, use_rep="X_harmony", **({"method": "gauss"} if fast else {}))
    sc.tl.leiden(b, flavor="igraph", n_iterations=2, directed=False)
    if not fast:
        clock("UMAP")
        sc.tl.umap(b)
    clock("annotation")
    a.obs["leiden"] = b.obs["leiden"].to_numpy()
    _scanpy_annotation(sc, a, "leiden")
    clock("DE")
    # DE as a scanpy user would: peak vs product within the CD4 effector-memory-rich cluster
    cl = a.obs.groupby("leiden", observed=True)["truth_population"].agg(
        lambda s: (s == "CD4 effector memory").mean()).idxmax()
    sub = a[a.obs["leiden"] == cl].copy()
    sc.tl.rank_genes_groups(sub, "time_point", groups=["day 9"], reference="product",
                            method="wilcoxon")
    de = sc.get.rank_genes_groups_df(sub, "day 9")
    clock("module scores")
    for name, (genes, _) in MODULES.items():
        sc.tl.score_genes(a, [g for g in genes if g in a.var_names],
                          score_name=f"score_{name}")
    clock("outputs")
    res = _outputs(a, "leiden", de.loc[de["logfoldchanges"] > 0, "names"], planted)
    res["steps"] = clock.done()
    hz.emit(out, res, time.perf_counter() - t0)


WORKERS = {"remission": w_remission, "scanpy": w_scanpy}

# steps both sides run (remission's method / scanpy's defaults); the rest are remission's
# extras, printed apart. "graph + clusters": Seurat SNN (k = 20) + Louvain (10 starts) vs
# scanpy's UMAP-kernel 15-NN graph + Leiden; "UMAP": remission builds RunUMAP's 30-NN
# cosine graph, scanpy reuses its clustering graph; "annotation": remission's scoring
# (AddModuleScore-style, thresholds, confidence) vs score_genes per marker set + best mean.
LIKE = ("imports + read", "CAR extraction", "QC", "LogNormalize", "HVG", "scale + PCA",
        "Harmony", "graph + clusters", "UMAP", "annotation", "DE", "module scores",
        "outputs")
ARI_SIDES = 0.9       # clusters of the two sides on the same cells (different algorithms)
TIMED = {"on": True}  # timing checks (off at the smoke size, where load decides)


def _step_table(r: dict, s: dict) -> tuple[float, float, float, float]:
    rs = {n: (w, c, m) for n, w, c, m in r["steps"]}
    ss = {n: (w, c, m) for n, w, c, m in s["steps"]}
    names = [n for n in LIKE if n in rs or n in ss]
    names += [n for n in rs if n not in LIKE]
    print(f"    {'step':<22}{'remission wall s':>17}{'CPU s':>8}{'peak MB':>9}"
          f"{'scanpy wall s':>15}{'CPU s':>8}{'peak MB':>9}")
    tot = [0.0, 0.0, 0.0, 0.0]
    def cell(d: dict, n: str, w: int) -> str:
        return (f"{d[n][0]:>{w}.1f}{d[n][1]:>8.1f}{d[n][2]:>9.0f}" if n in d
                else f"{'-':>{w}}{'':>8}{'':>9}")

    for n in names:
        extra = "" if n in LIKE else "   (remission only)"
        print(f"    {n:<22}{cell(rs, n, 17)}{cell(ss, n, 15)}{extra}")
        if n in LIKE:
            for i, d in ((0, rs), (2, ss)):
                if n in d:
                    tot[i] += d[n][0]
                    tot[i + 1] += d[n][1]
    xr = sum(rs[n][0] for n in rs if n not in LIKE)
    print(f"    {'same steps, total':<22}{tot[0]:>17.1f}{tot[1]:>8.1f}{'':>9}"
          f"{tot[2]:>15.1f}{tot[3]:>8.1f}")
    print(f"    {'remission extras':<22}{xr:>17.1f}")
    if r.get("children_peak_mb"):
        print(f"    remission's forked Louvain workers: largest resident size "
              f"{r['children_peak_mb']:.0f} MB (pages shared with the parent included)")
    return tot[0], tot[2], max(m for *_, m in r["steps"]), max(m for *_, m in s["steps"])


def compare(o: dict) -> list[hz.Check]:
    from sklearn.metrics import adjusted_rand_score

    r, s = o["remission"], o["scanpy defaults"]
    checks = [hz.close("car_share: CAR-detected share per sample", r["car_share"],
                       s["car_share"], rtol=0.0, atol=0.005),
              hz.close("kept: QC-kept cells", r["kept"], s["kept"], rtol=0.0),
              hz.Check("kept_digest: the same QC-kept barcodes",
                       r["kept_digest"] == s["kept_digest"], 0.0,
                       f"{r['kept_digest']} / {s['kept_digest']}")]
    common = sorted(set(r["clusters"]) & set(s["clusters"]))
    ari = float(adjusted_rand_score([r["clusters"][c] for c in common],
                                    [s["clusters"][c] for c in common])) if common else 0.0
    checks.append(hz.Check(f"ari_sides: remission vs scanpy clusters >= {ARI_SIDES}",
                           ari >= ARI_SIDES, 0.0, f"ARI {ari:.3f} on {len(common):,} cells"))
    for side, out in (("remission", r), ("scanpy defaults", s)):
        checks.append(hz.Check(f"ari: {side} clusters vs planted populations >= 0.8",
                               out["ari"] >= 0.8, 0.0, f"ARI {out['ari']:.3f}"))
        checks.append(hz.Check(f"planted_top: {side} >= 5 of 7 planted genes in top {TOP}",
                               out["planted_top"] >= 5, 0.0, f"{out['planted_top']} of 7"))
    checks.append(hz.Check("ari_labels: remission labels vs planted populations >= 0.8",
                           r["ari_labels"] >= 0.8, 0.0,
                           f"ARI {r['ari_labels']:.3f} (scanpy score_genes labels: "
                           f"{s['ari_labels']:.3f}, not checked)"))
    tr, ts, pr, ps = _step_table(r, s)
    if TIMED["on"]:
        checks.append(hz.Check("time: remission not slower than scanpy on the same steps",
                               tr <= ts, 0.0, f"{tr:.1f} s vs {ts:.1f} s wall, ratio "
                               f"{tr / ts if ts else float('inf'):.3f}"))
        checks.append(hz.Check("memory: remission peak (highest step) <= 8 GB",
                               pr <= 8192.0, 0.0, f"{pr:.0f} MB (scanpy {ps:.0f} MB)"))
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
    # the targets (not slower than scanpy, < 600 s, < 8 GB) fail the run at every size but
    # the smoke size, where a loaded CI machine, not the code, decides the times
    a.strict = a.strict or not a.quick
    TIMED["on"] = not a.quick
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
