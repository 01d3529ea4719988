"""The single-cell analysis for counts larger than memory: an .h5ad read a block of cells at a time.

The in-memory route (:func:`remission.singlecell.analysis.profile`) holds every cell x gene
count, then a float64 log-normalised copy of them, at once. Here the count matrix stays on
disk (``X`` of an .h5ad written as CSR, opened with anndata's backed
``anndata.io.sparse_dataset``) and is read in blocks of ``chunk_cells`` rows, five times
(a sixth for DE):

1. per cell: construct (CAR) UMIs, and ``sc.pp.calculate_qc_metrics`` on the block (genes,
   UMIs, mitochondrial %); per gene: cells and UMIs (the QC ``var`` columns). The QC rules
   (:func:`remission.singlecell.pp.qc_flags`, the same code as in memory) then need only
   these per-cell numbers;
2. per gene over the kept cells: sum and sum of squares of the counts (the seurat_v3
   mean and variance; integer sums, so exact in any order), then scikit-misc's loess, as
   ``sc.pp.highly_variable_genes(flavor="seurat_v3")``;
3. per gene over the kept cells: the sums of counts clipped at the fitted standard
   deviation (Seurat's vst), accumulated in scanpy's order across blocks, then the
   normalised variance and the 2,000 HVGs; and the mean LogNormalize value of every
   gene, from which the control genes of the marker and module scores are drawn as
   in memory (:func:`remission.singlecell.tl.control_genes`);
4. the kept cells x HVGs are materialised (Seurat LogNormalize values, each cell's
   total over all genes from pass 1) and scaled + PCA'd, then dropped;
5. the kept cells x (the genes later steps read: marker sets, modules, their
   control genes, CD4/CD8, sex genes) are materialised: raw counts and LogNormalize
   values.

Scale + PCA (:func:`remission.singlecell.pp.pca`) and everything after (Harmony, graph,
clusters, annotation, CAR share, CD4:CD8, origin, expansion, module scores;
:func:`remission.singlecell.analysis.after_pca`) is the in-memory code. Peak memory is
about the larger of the dense cells x HVGs (twice, during PCA) and the materialised
matrix of step 5, plus one block; see docs/singlecell.md for measured figures.

Differential expression, pseudobulk and enrichment need every gene of the cells they
compare (``Params.de_labels`` / ``de_car_only``): after annotation one more pass reads
those cells x every gene (:func:`all_genes`), so that subset must fit in memory.

Same results as the in-memory route on the same file: QC metrics, removals, HVG set and
statistics, log-normalised values, PCA, Harmony, clusters, labels, module scores, DE
(tested in ``tests/test_singlecell_outofcore.py``). Scrublet doublets (``QCParams
(doublets=True)``), as in memory, per sample: one sample's kept cells x every gene at a
time (:func:`_doublets`), so that sample must fit in memory.

A study folder reaches this route through ``out_of_core = true`` (or ``"auto"`` with
``memory_gb``) in its ``[singlecell]`` table: its declared samples are read as
:class:`Part` s (:func:`remission.singlecell.io.load_singlecell`,
:func:`remission.singlecell.run_folder`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from remission.singlecell import pp

if TYPE_CHECKING:
    import anndata

    from remission.errors import ProblemLog
    from remission.singlecell.analysis import Params, Profile

CHUNK_CELLS = 4096
CD4_CD8_GENES = ("CD4", "CD8A", "CD8B")
SEX_GENES = ("XIST", "RPS4Y1", "DDX3Y", "KDM5D", "UTY", "EIF1AY")


@dataclass
class Preprocessed:
    """Output of :func:`preprocess_h5ad`.

    ``adata``: kept cells x materialised genes (``X`` LogNormalize values,
    ``layers["counts"]``, ``obsm["X_pca"]``, QC metrics and CAR calls in ``obs``, QC and
    HVG statistics in ``var``); ``qc_table``: removals per sample (as
    :func:`remission.singlecell.pp.qc`); ``genes``: per-gene statistics of every gene
    (QC and seurat_v3 columns); ``warnings``; ``passes``: blocks read per pass.
    """

    adata: anndata.AnnData
    qc_table: pd.DataFrame
    genes: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    passes: dict[str, int] = field(default_factory=dict)
    kept: np.ndarray | None = None
    totals: np.ndarray | None = None
    doublets: pd.DataFrame | None = None


def _blocks(n: int, chunk: int) -> Iterator[tuple[int, int]]:
    for r0 in range(0, n, chunk):
        yield r0, min(r0 + chunk, n)


def _kept_blocks(src: BlockSource, kept: np.ndarray, chunk: int
                 ) -> Iterator[tuple[sp.csr_matrix, np.ndarray]]:
    """The counts of the ``kept`` cells, read ``chunk`` rows of the file at a time.

    Parameters
    ----------
    src : BlockSource
        The file (or a study's parts) read block by block.
    kept : numpy.ndarray
        Boolean, one per row of ``src``: the cells to yield.
    chunk : int
        Rows read at a time (a block without a kept cell is read but not yielded).

    Yields
    ------
    tuple of (scipy.sparse.csr_matrix, numpy.ndarray)
        The kept cells' rows of one block (cells x every gene, in file order) and their
        row numbers in the file (to index per-cell arrays such as the totals).
    """
    for r0, r1 in _blocks(src.n_obs, chunk):
        k = kept[r0:r1]
        if k.any():
            yield src.rows(r0, r1)[0][k], r0 + np.flatnonzero(k)


@dataclass(frozen=True)
class Part:
    """One declared sample of a study folder read out of core (see :func:`open_parts`).

    ``path``: the .h5ad; ``label``: its name in messages (the sample sheet's ``path``);
    ``sample``: the sample (rows of the file whose ``obs["sample"]`` equals it, or every
    row when the file has no such column); ``obs``: the columns every cell of the sample
    gets (``sample``, ``time_point``, ``source``, optional ``day`` / ``patient``).
    """

    path: Path
    label: str
    sample: str
    obs: tuple[tuple[str, str], ...]


def _matrix_group(file, label: str) -> tuple[object | None, list]:
    """The raw-count matrix of an open .h5ad (``layers/counts`` if present, else ``X``)."""
    from remission.errors import Problem

    name = "layers/counts" if "layers" in file and "counts" in file["layers"] else "X"
    enc = dict(file[name].attrs).get("encoding-type", "array") if name in file else None
    if enc != "csr_matrix":
        return None, [Problem(label, "count matrix not stored as CSR", column=name,
                              value=str(enc),
                              expected="X written as a CSR sparse matrix (cells in "
                                       "rows), e.g. a.X = scipy.sparse.csr_matrix"
                                       "(a.X) before a.write_h5ad()")]
    return file[name], []


class BlockSource:
    """Counts read a block of rows at a time (anndata backed CSR) from one or more .h5ad.

    ``spec`` is one .h5ad path (cells = its rows, ``obs`` its own, a ``sample`` column
    required) or a sequence of :class:`Part` (a study folder's declared samples: cells =
    each sample's rows in sheet order, barcodes prefixed ``sample:``, ``obs`` from the
    sample sheet; the same features in the same order in every file), as
    :func:`remission.singlecell.io.load_singlecell` reads them into memory.
    """

    def __init__(self, spec: Path | Sequence[Part], construct: Sequence[str],
                 chunk: int = CHUNK_CELLS) -> None:
        import anndata as ad
        import h5py

        from remission.errors import InputError, Problem

        self.chunk = chunk
        self.files: dict[Path, h5py.File] = {}
        problems: list[Problem] = []
        parts = [Part(Path(spec), str(spec), "", ())] if isinstance(spec, str | Path) \
            else list(spec)
        self.path = parts[0].label if len(parts) == 1 else \
            ", ".join(dict.fromkeys(p.label for p in parts))
        self.mats: list = []
        self.sel: list[np.ndarray] = []
        obs_parts: list[pd.DataFrame] = []
        names: pd.Index | None = None
        self.var = pd.DataFrame()
        declared = {p.sample for p in parts}
        try:
            for p in parts:
                key = p.path.resolve()
                if key not in self.files:
                    self.files[key] = h5py.File(p.path, "r")
                f = self.files[key]
                X, probs = _matrix_group(f, p.label)
                problems += probs
                fobs = ad.io.read_elem(f["obs"])
                var = ad.io.read_elem(f["var"])
                vn = pd.Index(var.index.astype(str))
                if vn.duplicated().any():
                    vn = ad.utils.make_index_unique(vn)  # as var_names_make_unique
                if names is None:  # a study's parts: no var columns, as in memory
                    names = vn
                    self.var = var.set_axis(vn) if not p.sample else pd.DataFrame(index=vn)
                elif not vn.equals(names):
                    problems.append(Problem(p.label, "features differ from the first "
                                            "file's", column="var",
                                            expected="the same features in the same order "
                                                     "in every file (the out-of-core "
                                                     "route does not intersect them)"))
                n_rows = len(fobs)
                if not p.sample:  # one file, its own obs
                    if "sample" not in fobs:
                        problems.append(Problem(p.label, "no sample column", column="obs",
                                                value=", ".join(map(str, fobs.columns[:8])),
                                                expected="obs column 'sample' (sample of "
                                                         "each cell)"))
                    sel, obs = np.arange(n_rows), fobs
                else:
                    if "sample" in fobs:
                        s = fobs["sample"].astype(str)
                        extra = sorted(set(s) - declared)
                        if extra:
                            problems.append(Problem(
                                p.label, "undeclared sample in the file's obs['sample']",
                                column="sample", value=", ".join(extra),
                                expected="samples declared in the sample sheet"))
                        sel = np.flatnonzero((s == p.sample).to_numpy())
                    else:
                        sel = np.arange(n_rows)
                    obs = pd.DataFrame(dict(p.obs), index=[f"{p.sample}:{b}"
                                                           for b in fobs.index[sel]])
                dup = obs.index[obs.index.duplicated()]
                if len(dup):
                    problems.append(Problem(p.label, "duplicate barcodes", column="barcode",
                                            value=", ".join(map(str, dup[:5])),
                                            expected=f"unique cell barcodes ({len(dup)} "
                                                     "duplicated)"))
                self.mats.append(X)
                self.sel.append(sel)
                obs_parts.append(obs)
            assert names is not None
            missing = [f for f in construct if f not in names]
            problems += [Problem(self.path, "construct feature not found in the count "
                                 "matrix", column="singlecell.construct_features", value=f,
                                 expected="a feature name present in the matrix")
                         for f in missing]
            if problems:
                raise InputError(problems)
        except BaseException:
            self.close()
            raise
        self.obs = obs_parts[0] if len(obs_parts) == 1 else pd.concat(obs_parts)
        self.var_names = names
        self.n_obs = len(self.obs)
        self.labels = [p.label for p in parts]
        # per part: values within 1e-6 of an integer, rounded (blocks read with a log)
        self.rounded = [0] * len(parts)
        self.starts = np.cumsum([0, *(len(s) for s in self.sel)])
        self.X = [ad.io.sparse_dataset(m) for m in self.mats]
        self.construct = np.array([names.get_loc(f) for f in construct], int)
        keep = np.ones(len(names), bool)
        keep[self.construct] = False
        self.gene_cols = np.flatnonzero(keep)
        self.genes = names[self.gene_cols]

    def _read(self, k: int, a: int, b: int) -> sp.csr_matrix:
        """Rows ``sel[k][a:b]`` of part ``k``, read in windows of at most ``chunk`` rows."""
        rows = self.sel[k][a:b]
        out = []
        i = 0
        while i < len(rows):
            lo = rows[i]
            j = int(np.searchsorted(rows, lo + self.chunk, side="left"))
            hi = int(rows[j - 1]) + 1
            block = self.X[k][int(lo):hi]
            if not isinstance(block, sp.csr_matrix):
                block = sp.csr_matrix(block)
            if j - i != hi - lo:  # rows of other samples in between
                block = block[rows[i:j] - lo]
            out.append(block)
            i = j
        return out[0] if len(out) == 1 else sp.vstack(out, format="csr")

    def rows(self, r0: int, r1: int, log: ProblemLog | None = None
             ) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """Counts of rows ``r0:r1``: genes (construct columns removed) and construct UMIs.

        With ``log``, the block's counts are checked first
        (:func:`remission.singlecell.io.check_counts`: negative, non-integer). Values are
        then rounded as :func:`remission.singlecell.io.load_singlecell` rounds them. The
        construct columns are removed with the same boolean column selection as
        :func:`remission.singlecell.pp.extract_car` (same per-row entry order).
        """
        pieces = []
        for k in range(len(self.sel)):
            a, b = max(r0, self.starts[k]), min(r1, self.starts[k + 1])
            if a >= b:
                continue
            piece = self._read(k, a - self.starts[k], b - self.starts[k])
            if log is not None:
                _check_block(piece, self.obs.index[a:b], self.var_names, self.labels[k], log)
                if np.issubdtype(piece.data.dtype, np.floating):
                    self.rounded[k] += int((piece.data != np.round(piece.data)).sum())
            pieces.append(piece)
        block = pieces[0] if len(pieces) == 1 else sp.vstack(pieces, format="csr")
        if np.issubdtype(block.data.dtype, np.floating):
            np.round(block.data, out=block.data)
        if not len(self.construct):
            return block, None
        car = block[:, self.construct].toarray()
        keep = np.ones(block.shape[1], bool)
        keep[self.construct] = False
        return block[:, keep], car

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _doublets(src: BlockSource, kept: np.ndarray, obs: pd.DataFrame, params: Params,
              chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scrublet per sample, as in memory, on one sample's kept cells at a time.

    scanpy's ``pp.scrublet(batch_key="sample")`` (what :func:`pp.doublets` calls in
    memory) runs Scrublet on each sample's cells on their own with the same random
    state; here each sample's kept cells x every gene (raw counts, the same entries in
    the same order) are read from the blocks and given to the same
    :func:`pp.doublets`, so the scores are the in-memory ones. Memory: the largest
    sample's counts and Scrublet's work on them (not the whole dataset's).
    """
    import anndata as ad

    samples = obs["sample"].astype(str).to_numpy()
    tabs, scores = [], []
    for s in np.unique(samples[kept]):
        mask = kept & (samples == s)
        parts = [block for block, _ in _kept_blocks(src, mask, chunk)]
        X = parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")
        del parts
        b = ad.AnnData(X, obs=obs.loc[mask].copy(), var=pd.DataFrame(index=src.genes))
        tabs.append(pp.doublets(b, expected_rate=params.qc.doublet_rate, remove=False,
                                seed=params.seed))
        scores.append(b.obs[["doublet_score", "predicted_doublet"]])
        del b, X
    tab = pd.concat(tabs)
    if params.qc.remove_doublets:
        tab["removed"] = tab["predicted_doublets"]
    order = obs.index[kept]
    return tab, pd.concat(scores).loc[order]


def _check_block(block: sp.csr_matrix, names: pd.Index, genes: pd.Index, label: str,
                 log: object) -> None:
    import anndata as ad

    from remission.singlecell.io import check_counts

    if block.nnz:
        check_counts(ad.AnnData(block, obs=pd.DataFrame(index=names),
                                var=pd.DataFrame(index=genes)), label, log)


def _qc_pass(src: BlockSource, params: Params, chunk: int
             ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Pass 1: per-cell QC metrics and construct UMIs; per-gene cells and UMIs."""
    import anndata as ad
    import scanpy as sc

    from remission.errors import InputError, ProblemLog

    log = ProblemLog()
    genes = src.genes
    mt = genes.str.startswith(params.qc.mito_prefix)
    var = pd.DataFrame({"mt": mt}, index=genes)
    n_cells = np.zeros(len(genes), np.int64)
    umis = np.zeros(len(genes), np.float64)
    total = np.empty(src.n_obs, np.float64)
    metrics, cars = [], []
    for r0, r1 in _blocks(src.n_obs, chunk):
        block, car = src.rows(r0, r1, log)
        names = src.obs.index[r0:r1]
        a = ad.AnnData(block, obs=pd.DataFrame(index=names), var=var)
        obs_m, _ = sc.pp.calculate_qc_metrics(a, qc_vars=["mt"], percent_top=None,
                                              log1p=False, inplace=False)
        metrics.append(obs_m)
        if car is not None:
            cars.append(car)
        # Seurat LogNormalize divides by the float64 row sum (pp.normalize), here over
        # all genes though only some are kept in memory later
        total[r0:r1] = np.asarray(
            sp.csr_matrix((block.data.astype(np.float64), block.indices, block.indptr),
                          shape=block.shape).sum(axis=1)).ravel()
        n_cells += np.bincount(block.indices, minlength=len(genes))
        umis += np.bincount(block.indices, weights=block.data, minlength=len(genes))
    if log.problems:
        raise InputError(log.problems)
    obs = pd.concat(metrics)
    car_umis = np.vstack(cars) if cars else np.zeros((len(obs), 0))
    return obs, car_umis, total, np.vstack([n_cells, umis])


def _hvg_passes(src: BlockSource, kept: np.ndarray, n_top_genes: int, chunk: int,
                total: np.ndarray, target_sum: float, span: float = 0.3
                ) -> tuple[pd.DataFrame, int]:
    """Passes 2 and 3: seurat_v3 HVG statistics over the kept cells, block by block.

    The arithmetic follows scanpy 1.11.5's ``_highly_variable_genes_seurat_v3`` (no
    batch key): mean and unbiased variance, loess of log10 variance on log10 mean,
    clip at ``sqrt(n) x`` the fitted SD above the mean, normalised variance, top genes.
    Pass 3 also sums every gene's LogNormalize values in the order of
    :func:`remission.singlecell.tl.gene_means` (``lognorm_means``).
    """
    from skmisc.loess import loess

    g = len(src.genes)
    s1 = np.zeros(g, np.float64)
    s2 = np.zeros(g, np.float64)
    blocks = 0
    for block, _ in _kept_blocks(src, kept, chunk):
        blocks += 1
        # counts are integers: these float64 sums are exact in any order, so equal to
        # scanpy's (which squares in the counts' dtype, as here)
        s1 += np.bincount(block.indices, weights=block.data, minlength=g)
        d = block.data
        # integer counts squared in float64 (exact below 2**26); float counts squared in
        # their own dtype, as scanpy's numba kernel does
        d = d.astype(np.float64) if np.issubdtype(d.dtype, np.integer) else d
        s2 += np.bincount(block.indices, weights=d * d, minlength=g)
    n = int(kept.sum())
    mean = s1 / n
    var = (s2 / n - (s1 / n) ** 2) * (n / (n - 1))
    not_const = var > 0
    est = np.zeros(g, np.float64)
    model = loess(np.log10(mean[not_const]), np.log10(var[not_const]), span=span, degree=2)
    model.fit()
    est[not_const] = model.outputs.fitted_values
    reg_std = np.sqrt(10**est)
    clip_val = reg_std * np.sqrt(n) + mean
    sq = np.zeros(g, np.float64)
    sm = np.zeros(g, np.float64)
    ln = np.zeros(g, np.float64)
    clipped, running = _kernels()
    for block, rows in _kept_blocks(src, kept, chunk):
        clipped(block.indices, block.data, clip_val, sq, sm)  # before sorting, as scanpy
        running(*_lognorm(block, total[rows], target_sum), ln)
        blocks += 1
    norm = (1 / ((n - 1) * np.square(reg_std))) * (n * np.square(mean) + sq - 2 * sm * mean)
    rank = np.argsort(np.argsort(-norm)).astype(np.float32)
    top = rank < n_top_genes
    rank[~top] = np.nan
    df = pd.DataFrame({"highly_variable": top, "highly_variable_rank": rank,
                       "means": mean, "variances": var, "variances_norm": norm,
                       "lognorm_means": ln / n}, index=src.genes)
    return df, blocks


_KERNELS: list = []


def _kernels():  # compiled on first use (numba, cached on disk)
    if _KERNELS:
        return _KERNELS
    import numba

    @numba.njit(cache=True)
    def clipped(indices, data, clip_val, sq, sm):  # pragma: no cover - numba
        # scanpy's _sum_and_sum_squares_clipped, but continuing running sums over blocks
        # in the same entry order (one sequence of additions, as in one call on all rows)
        for i in range(indices.shape[0]):
            idx = indices[i]
            element = min(np.float64(data[i]), clip_val[idx])
            sq[idx] += element**2
            sm[idx] += element

    @numba.njit(cache=True)
    def running(indices, data, out):  # pragma: no cover - numba
        # scipy's column sum of a CSR matrix (csc_matvec of the transpose): one addition
        # per entry in row order, continued over blocks
        for i in range(indices.shape[0]):
            out[indices[i]] += data[i]

    _KERNELS.extend((clipped, running))
    return _KERNELS


def _lognorm(block: sp.csr_matrix, total: np.ndarray, target_sum: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and LogNormalize values of a block (made canonical in place)."""
    block.sum_duplicates()  # canonical, as pp.normalize makes it
    x = block.data.astype(np.float64)
    # pp.normalize's operations and order, element by element: same bits
    with np.errstate(divide="ignore", invalid="ignore"):
        x /= np.repeat(total, np.diff(block.indptr))
        x *= target_sum
        np.log1p(x, out=x)
    return block.indices, x


def _materialise(src: BlockSource, kept: np.ndarray, cols: np.ndarray, total: np.ndarray,
                 target_sum: float, chunk: int, counts: bool = True
                 ) -> tuple[sp.csr_matrix | None, sp.csr_matrix, int]:
    """Pass 4 / 5: kept cells x ``cols`` as LogNormalize values (and raw counts).

    The two matrices share their column indices and row pointers (as in
    :func:`remission.singlecell.pp.normalize`), and each array is joined from its blocks
    on its own, so the peak is the result plus one array's blocks, not twice the result.
    """
    parts: dict[str, list[np.ndarray]] = {"counts": [], "x": [], "indices": [],
                                          "nnz": []}
    blocks = 0
    for block, rows in _kept_blocks(src, kept, chunk):
        block.sum_duplicates()
        sub = block[:, cols]
        del block
        if counts:
            parts["counts"].append(sub.data.copy())
        idx, x = _lognorm(sub, total[rows], target_sum)
        parts["x"].append(x)
        parts["indices"].append(idx)
        parts["nnz"].append(np.diff(sub.indptr))
        blocks += 1

    def join(key: str, dtype: type | None = None) -> np.ndarray:
        out = np.concatenate(parts[key]) if parts[key] else np.zeros(0, dtype or np.float64)
        parts[key] = []
        return out

    indptr = np.concatenate([[0], np.cumsum(join("nnz"))]).astype(np.int64)
    indices = join("indices", np.int32)
    if len(indices) < 2**31:
        indptr = indptr.astype(indices.dtype)
    shape = (int(kept.sum()), len(cols))
    X = sp.csr_matrix((join("x"), indices, indptr), shape=shape)
    C = sp.csr_matrix((join("counts"), indices, indptr), shape=shape) if counts else None
    return C, X, blocks


def _control_genes(lognorm_means: pd.Series, seed: int) -> set[str]:
    """Control genes the marker and module scores will draw (their pool: every gene)."""
    from remission.singlecell import tl
    from remission.singlecell.markers import MARKER_SETS, MODULES

    sets = [s for m in MARKER_SETS for s in (m.positive, m.negative) if s]
    sets += [genes for genes, _ in MODULES.values()]
    out: set[str] = set()
    for genes in sets:
        if any(g in lognorm_means.index for g in genes):
            out.update(tl.control_genes(genes, lognorm_means, seed)[1])
    return out


def needed_genes(extra: Sequence[str] = ()) -> list[str]:
    """Genes the steps after PCA read, besides the HVGs.

    Parameters
    ----------
    extra : sequence of str
        More genes to keep (e.g. genes to plot).

    Returns
    -------
    list of str
        Marker sets (positive and negative), module genes, CD4/CD8 and sex genes, extra.

    Examples
    --------
    >>> g = needed_genes(["MYGENE"])
    >>> "CD8A" in g and "XIST" in g and "MYGENE" in g
    True
    """
    from remission.singlecell.markers import MARKER_SETS, MODULES

    out = [g for m in MARKER_SETS for g in (*m.positive, *m.negative)]
    out += [g for genes, _ in MODULES.values() for g in genes]
    out += [*CD4_CD8_GENES, *SEX_GENES, *extra]
    return list(dict.fromkeys(out))


def _spec(path: str | Path | Sequence[Part]) -> Path | list[Part]:
    """One path or a study's parts; a missing file raises InputError."""
    from remission.errors import InputError, Problem

    spec: Path | list[Part] = Path(path) if isinstance(path, str | Path) else list(path)
    files = [(str(spec), spec)] if isinstance(spec, Path) else \
        [(p.label, p.path) for p in spec]
    missing = [Problem(label, "file not found", expected="an .h5ad file")
               for label, f in dict(files).items() if not Path(f).is_file()]
    if missing or not files:
        raise InputError(missing or [Problem("singlecell", "no sample declared")])
    return spec


def preprocess_h5ad(path: str | Path | Sequence[Part], params: Params,
                    chunk_cells: int = CHUNK_CELLS, extra_genes: Sequence[str] = (),
                    origin: pd.Series | None = None) -> Preprocessed:
    """CAR features, QC, HVGs and LogNormalize of an .h5ad too large for memory, then PCA.

    Parameters
    ----------
    path : str, Path or sequence of Part
        .h5ad with raw integer counts in ``X`` (or ``layers["counts"]``) stored as CSR
        (cells in rows), ``obs`` column ``sample`` (and ``time_point`` / ``source`` for
        the later steps), the construct features among the columns; or a study folder's
        declared samples (:func:`remission.singlecell.io.out_of_core_parts`).
    params : Params
        As for :func:`remission.singlecell.analysis.profile` (construct features, QC,
        ``target_sum``, ``n_top_genes``, ``n_comps``, seed).
    chunk_cells : int
        Cells read at a time; memory scales with it, results do not.
    extra_genes : sequence of str
        Genes to materialise besides the HVGs and :func:`needed_genes`.
    origin : pandas.Series, optional
        Per-cell origin (index = the cells' names), e.g. from the study's origin file;
        becomes ``obs["origin"]``.

    Returns
    -------
    Preprocessed
        Kept cells x materialised genes with ``X_pca``, the QC table and per-gene
        statistics of every gene.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.analysis import Params
    >>> from remission.singlecell.simulate import tiny
    >>> path = Path(tempfile.mkdtemp()) / "counts.h5ad"
    >>> tiny().write_h5ad(path)
    >>> pre = preprocess_h5ad(path, Params(construct_features=("CAR-CD123-scFv",
    ...                       "CAR-WPRE"), n_top_genes=100, n_comps=10), chunk_cells=64)
    >>> pre.adata.n_obs, len(pre.adata.uns["hvg"]["genes"])  # every HVG; X: genes read later
    (286, 100)
    """
    src = BlockSource(_spec(path), params.construct_features, chunk_cells)
    try:
        warns: list[str] = []
        qc_obs, car_umis, total, gene_qc = _qc_pass(src, params, chunk_cells)
        warns += [f"{label}: {n} values within 1e-06 of an integer were rounded"
                  for label, n in zip(src.labels, src.rounded, strict=True) if n]
        obs = src.obs.copy()
        if origin is not None:
            obs["origin"] = origin.reindex(obs.index).fillna("undetermined").to_numpy()
        for c in qc_obs.columns:
            obs[c] = qc_obs[c].to_numpy()
        if len(src.construct):
            obs["car_umis"] = car_umis.sum(axis=1).astype(int)
            obs["car_detected"] = obs["car_umis"] >= params.car_min_umis
        table, removed, bad = pp.qc_flags(obs, params.qc)
        kept = ~bad
        dbl = None
        if params.qc.doublets:
            dbl, scores = _doublets(src, kept, obs, params, chunk_cells)
            obs.loc[kept, "doublet_score"] = scores["doublet_score"].to_numpy()
            obs.loc[kept, "predicted_doublet"] = scores["predicted_doublet"].to_numpy()
            if params.qc.remove_doublets:
                kept[np.flatnonzero(kept)[scores["predicted_doublet"].to_numpy(bool)]] = False
        n_top = min(params.n_top_genes, len(src.genes))
        try:
            hvg, nb = _hvg_passes(src, kept, n_top, chunk_cells, total, params.target_sum)
        except ValueError as exc:  # as pp.highly_variable: loess near-singular
            hvg, nb = _hvg_passes(src, kept, n_top, chunk_cells, total, params.target_sum,
                                  span=0.5)
            warns.append(f"seurat_v3 loess failed with span 0.3 ({exc}); span 0.5 used")
        n_all = len(obs)
        genes = src.var.iloc[src.gene_cols].copy()
        genes = genes.join(pd.DataFrame({"mt": src.genes.str.startswith(params.qc.mito_prefix),
                              "n_cells_by_counts": gene_qc[0].astype(np.int64),
                              "mean_counts": gene_qc[1] / n_all,
                              "pct_dropout_by_counts": (1 - gene_qc[0] / n_all) * 100,
                              "total_counts": gene_qc[1]}, index=src.genes))
        genes = genes.join(hvg)
        import anndata as ad

        # PCA first, on the kept cells x HVGs alone (its dense scaled copy is the largest
        # object of the route), then the other genes the later steps read
        hv = genes["highly_variable"].to_numpy()
        _, X, nm = _materialise(src, kept, np.flatnonzero(hv), total, params.target_sum,
                                chunk_cells, counts=False)
        tmp = ad.AnnData(X, var=genes.loc[hv, ["highly_variable"]])
        del X
        pp.pca(tmp, params.n_comps, seed=params.seed)
        x_pca, pca_info = tmp.obsm["X_pca"], tmp.uns["pca"]
        del tmp
        want = set(needed_genes(extra_genes)) | _control_genes(genes["lognorm_means"],
                                                               params.seed)
        # the HVGs served PCA; later steps read only these genes (an HVG among them stays)
        cols = np.flatnonzero(genes.index.isin(list(want)))
        counts, X, nm2 = _materialise(src, kept, cols, total, params.target_sum,
                                      chunk_cells)
        nm += nm2
    finally:
        src.close()

    a = ad.AnnData(X, obs=obs.loc[kept].copy(), var=genes.iloc[cols].copy())
    if "predicted_doublet" in a.obs:  # every kept cell was scored
        a.obs["predicted_doublet"] = a.obs["predicted_doublet"].astype(bool)
    a.obsm["X_pca"] = x_pca
    a.uns["pca"] = pca_info
    a.layers["counts"] = counts
    a.uns["qc_removed"] = removed
    a.uns["qc_params"] = {k: (v if v is not None else "off")
                          for k, v in params.qc.__dict__.items()}
    a.uns["hvg"] = {"flavor": "seurat_v3",
                    "genes": list(genes.index[hv])}  # every HVG; X holds only some
    a.uns["log1p"] = {"base": None}
    a.uns["normalization"] = {"method": "LogNormalize", "scale_factor": params.target_sum}
    if len(src.construct):
        a.uns["car"] = {"features": list(params.construct_features),
                        "min_umis": int(params.car_min_umis)}
    a.uns["outofcore"] = {"chunk_cells": int(chunk_cells), "genes_total": len(src.genes),
                          "genes_materialised": len(cols), "cells_in": n_all}
    n_blocks = -(-n_all // chunk_cells)
    return Preprocessed(a, table, genes, warns,
                        {"qc": n_blocks, "hvg": nb, "materialise": nm}, kept, total, dbl)


def all_genes(path: str | Path | Sequence[Part], pre: Preprocessed, cells: np.ndarray,
              params: Params, chunk_cells: int = CHUNK_CELLS) -> anndata.AnnData:
    """Some of the kept cells with every gene (one more pass), e.g. the cells DE compares.

    Parameters
    ----------
    path : str, Path or sequence of Part
        What was given to :func:`preprocess_h5ad`.
    pre : Preprocessed
        Its result.
    cells : numpy.ndarray
        Boolean mask over ``pre.adata``'s cells.
    params : Params
        The same parameters (construct features, ``target_sum``).
    chunk_cells : int
        Cells read at a time.

    Returns
    -------
    anndata.AnnData
        Those cells x every gene: LogNormalize ``X``, ``layers["counts"]``, ``obs`` and
        ``var`` from ``pre``.

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.analysis import Params
    >>> from remission.singlecell.simulate import tiny
    >>> path = Path(tempfile.mkdtemp()) / "counts.h5ad"
    >>> tiny().write_h5ad(path)
    >>> p = Params(construct_features=("CAR-CD123-scFv", "CAR-WPRE"), n_top_genes=50,
    ...            n_comps=10)
    >>> pre = preprocess_h5ad(path, p, chunk_cells=64)
    >>> all_genes(path, pre, (pre.adata.obs["sample"] == "product").to_numpy(), p).shape
    (143, 300)
    """
    import anndata as ad

    assert pre.kept is not None and pre.totals is not None
    sel = np.zeros(len(pre.kept), bool)
    sel[np.flatnonzero(pre.kept)[np.asarray(cells, bool)]] = True
    src = BlockSource(_spec(path), params.construct_features, chunk_cells)
    try:
        C, X, _ = _materialise(src, sel, np.arange(len(src.genes)), pre.totals,
                               params.target_sum, chunk_cells)
    finally:
        src.close()
    b = ad.AnnData(X, obs=pre.adata.obs.loc[np.asarray(cells, bool)].copy(),
                   var=pre.genes.copy())
    b.layers["counts"] = C
    b.uns["log1p"] = {"base": None}
    return b


def profile_h5ad(path: str | Path | Sequence[Part], params: Params,
                 chunk_cells: int = CHUNK_CELLS, extra_genes: Sequence[str] = (),
                 origin: pd.Series | None = None) -> Profile:
    """The single-cell analysis of an .h5ad larger than memory (see the module docstring).

    Parameters
    ----------
    path : str, Path or sequence of Part
        .h5ad of raw counts, ``X`` stored as CSR, or a study folder's declared samples
        (see :func:`preprocess_h5ad`).
    params : Params
        Analysis parameters, as for :func:`remission.singlecell.analysis.profile`.
    chunk_cells : int
        Cells read at a time.
    extra_genes : sequence of str
        Genes to keep in memory besides the HVGs and :func:`needed_genes`.
    origin : pandas.Series, optional
        Per-cell origin (see :func:`preprocess_h5ad`).

    Returns
    -------
    Profile
        Kept cells x materialised genes and the Results of the in-memory route (DE,
        pseudobulk and enrichment on the compared cells x every gene).

    Examples
    --------
    >>> import tempfile
    >>> from remission.singlecell.analysis import Params
    >>> from remission.singlecell.simulate import tiny
    >>> path = Path(tempfile.mkdtemp()) / "counts.h5ad"
    >>> tiny().write_h5ad(path)
    >>> p = Params(construct_features=("CAR-CD123-scFv", "CAR-WPRE"), n_top_genes=200,
    ...            n_comps=15, n_dims=15, time_order=("product", "day 10"))
    >>> prof = profile_h5ad(path, p, chunk_cells=100)  # doctest: +SKIP
    >>> [r.name for r in prof.results][:4]  # doctest: +SKIP
    ['singlecell.qc', 'singlecell.clusters', 'singlecell.composition', 'singlecell.car']

    (Skipped in the doctest run for time: ``tests/test_singlecell_outofcore.py`` runs
    it against the in-memory route.)
    """
    from dataclasses import replace

    from remission.singlecell import analysis

    if params.reference is not None:  # label transfer trains on every shared gene
        extra_genes = [*extra_genes, *map(str, params.reference.data.index)]
    pre = preprocess_h5ad(path, params, chunk_cells, extra_genes, origin)
    a = pre.adata
    info = a.uns["outofcore"]
    qc_warns = [w for w in pre.warnings if "were rounded" in w]
    warns = [*(w for w in pre.warnings if w not in qc_warns),
             f"out-of-core route: {info['cells_in']} cells read {chunk_cells} at a time; "
             f"{info['genes_materialised']} of {info['genes_total']} genes kept in memory "
             "(marker, module, CD4/CD8 and sex genes, the control genes of the marker "
             "and module scores, drawn from every gene, and a reference's genes; the "
             "HVGs only for PCA); differential "
             "expression, pseudobulk and enrichment on the compared cells with every "
             "gene, read in one more pass"]
    r0 = analysis._qc_result(pre.qc_table, params.qc)
    results = [replace(r0, warnings=(*r0.warnings, *qc_warns))]
    if pre.doublets is not None:
        results.append(analysis._doublet_result(pre.doublets, params.qc))

    def de_cells(b: anndata.AnnData) -> anndata.AnnData:
        return all_genes(path, pre, analysis._de_mask(b, params), params, chunk_cells)

    prof = analysis.after_pca(a, params, results, warns, bool(params.construct_features),
                              de=de_cells, pool_means=pre.genes["lognorm_means"])
    return prof
