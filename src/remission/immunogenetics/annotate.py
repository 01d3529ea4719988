"""Integration sites -> nearest gene, watch list and common insertion sites (CIS).

Gene annotation comes from a file the user supplies (BED6 or GTF ``gene`` records); it is
never downloaded. Coordinates: BED is 0-based half-open, GTF 1-based closed; both are
converted to 1-based closed intervals and integration positions are taken as 1-based.

* Nearest gene: a site inside a gene gets distance 0 and the orientation of the vector
  relative to the gene (same / opposite strand); otherwise the gene with the smallest
  distance to its nearest end (ties: the upstream gene, then the first in the file).
* CIS by window rules (Suzuki 2002, extended by Deichmann 2007 / Abel 2007 for gene
  therapy): >= 2 distinct sites within 30 kb, 3 within 50 kb, 4 within 100 kb, or 5 or
  more within 200 kb, on one chromosome (span from first to last site).
* CIS by the Grubbs test (Biffi 2011): per gene, sites per kb of gene length; the most
  extreme log-density is tested as an outlier by Grubbs' test, removed and repeated while
  significant.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from remission.errors import Problem

__all__ = ["cis_windows", "grubbs_cis", "nearest_gene", "read_genes", "watch_hits"]

CIS_WINDOWS = ((2, 30_000), (3, 50_000), (4, 100_000), (5, 200_000))
REFERENCES = (
    "Suzuki T, Shen H, Akagi K et al. New genes involved in cancer identified by retroviral "
    "tagging. Nat Genet 2002;32:166-74 (CIS window rules 2/30 kb, 3/50 kb, 4/100 kb).",
    "Deichmann A, Hacein-Bey-Abina S, Schmidt M et al. Vector integration is nonrandom and "
    "clustered and influences the fate of lymphopoiesis in SCID-X1 gene therapy. J Clin "
    "Invest 2007;117:2225-32 (5 or more within 200 kb).",
    "Abel U, Deichmann A, Bartholomae C et al. Real-time definition of non-randomness in the "
    "distribution of genomic events. PLoS One 2007;2:e570.",
    "Biffi A, Bartolomae CC, Cesana D et al. Lentiviral vector common integration sites in "
    "preclinical models and a clinical trial reflect a benign integration bias and not "
    "oncogenic selection. Blood 2011;117:5332-9 (Grubbs test for CIS).",
    "Grubbs FE. Procedures for detecting outlying observations in samples. Technometrics "
    "1969;11:1-21.",
)


def read_genes(path: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a BED (>= 6 columns) or GTF gene annotation.

    Parameters
    ----------
    path:
        ``.bed`` / ``.bed.gz`` or ``.gtf`` / ``.gtf.gz`` file.

    Returns
    -------
    tuple
        ``(genes, problems)``; genes has ``chromosome, start, end, gene, strand``
        (1-based closed).

    Examples
    --------
    BED starts are 0-based: 99 becomes 100; a strand other than + or - is reported with its
    line:

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "genes.bed"
    >>> _ = f.write_text("chr1\\t99\\t200\\tTET2\\t0\\t+\\nchr1\\t300\\t400\\tASXL1\\t0\\t*\\n")
    >>> genes, problems = read_genes(f)
    >>> genes.values.tolist(), [(p.row, p.message) for p in problems]
    ([['chr1', 100, 200, 'TET2', '+']], [(2, 'strand must be + or -')])
    """
    p = Path(path)
    probs: list[Problem] = []
    name = p.name.lower().removesuffix(".gz")
    rows = []
    try:
        frame = pd.read_csv(p, sep="\t", header=None, comment="#", dtype=str,
                            keep_default_na=False)
    except FileNotFoundError:
        return pd.DataFrame(), [Problem(str(p), "gene annotation file not found")]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        return pd.DataFrame(), [Problem(str(p), f"not a readable tab-separated file: {exc}")]
    is_gtf = name.endswith(".gtf") or name.endswith(".gff")
    need = 9 if is_gtf else 6
    if frame.shape[1] < need:
        return pd.DataFrame(), [Problem(str(p), f"{frame.shape[1]} columns",
                                        expected=f"at least {need} tab-separated columns "
                                        f"({'GTF' if is_gtf else 'BED6'})")]
    for i, rec in enumerate(frame.itertuples(index=False), start=1):
        if is_gtf:
            if rec[2] != "gene":
                continue
            m = re.search(r'gene_name "([^"]+)"', rec[8]) or re.search(r'gene_id "([^"]+)"',
                                                                          rec[8])
            chrom, s, e, strand, gene = rec[0], rec[3], rec[4], rec[6], m.group(1) if m else ""
            off = 0
        else:
            chrom, s, e, gene, strand = rec[0], rec[1], rec[2], rec[3], rec[5]
            off = 1
        try:
            si, ei = int(s) + off, int(e)
        except ValueError:
            probs.append(Problem(str(p), "start/end not whole numbers", row=i,
                                 value=f"{s}-{e}"))
            continue
        if ei < si or si < 1:
            probs.append(Problem(str(p), "gene interval empty or negative", row=i,
                                 value=f"{s}-{e}", expected="0 <= start < end"))
            continue
        if strand not in ("+", "-"):
            probs.append(Problem(str(p), "strand must be + or -", row=i, value=strand))
            continue
        if not gene:
            probs.append(Problem(str(p), "gene name missing", row=i))
            continue
        rows.append((chrom, si, ei, gene, strand))
    genes = pd.DataFrame(rows, columns=["chromosome", "start", "end", "gene", "strand"])
    if not probs and genes.empty:
        probs.append(Problem(str(p), "no gene records", expected="BED6 rows or GTF 'gene' "
                             "features"))
    return genes, probs


def nearest_gene(sites: pd.DataFrame, genes: pd.DataFrame) -> pd.DataFrame:
    """Nearest gene, distance and orientation of each site (vectorised per chromosome).

    Parameters
    ----------
    sites:
        ``chromosome``, ``position`` (1-based), ``strand``.
    genes:
        From :func:`read_genes`.

    Returns
    -------
    pandas.DataFrame
        Same index; ``gene``, ``distance`` (0 inside), ``in_gene``, ``orientation``
        (same/opposite/"" outside), ``gene_start``, ``gene_end``.

    Examples
    --------
    >>> g = pd.DataFrame({"chromosome": ["chr1"], "start": [100], "end": [200],
    ...                   "gene": ["G"], "strand": ["+"]})
    >>> s = pd.DataFrame({"chromosome": ["chr1"], "position": [250], "strand": ["-"]})
    >>> int(nearest_gene(s, g)["distance"].iloc[0])
    50
    """
    out = pd.DataFrame({"gene": "", "distance": np.nan, "in_gene": False, "orientation": "",
                        "gene_start": np.nan, "gene_end": np.nan}, index=sites.index)
    gene_col = out["gene"].to_numpy(dtype=object)
    dist = out["distance"].to_numpy(dtype=float)
    inside = np.zeros(len(sites), bool)
    orient = out["orientation"].to_numpy(dtype=object)
    gs_, ge_ = dist.copy(), dist.copy()
    for chrom, sub in sites.groupby("chromosome", sort=False):
        g = genes[genes["chromosome"] == chrom].sort_values(["start", "end"], kind="stable")
        if g.empty:
            continue
        idx = sites.index.get_indexer(sub.index)
        pos = sub["position"].to_numpy(dtype=np.int64)
        st, en = g["start"].to_numpy(np.int64), g["end"].to_numpy(np.int64)
        # running maximum of ends over genes sorted by start; the gene holding it
        cmax = np.maximum.accumulate(en)
        arg = np.zeros(len(en), np.int64)
        best = 0
        for i in range(len(en)):  # O(genes) once per chromosome
            if en[i] >= en[best]:
                best = i
            arg[i] = best
        k = np.searchsorted(st, pos, side="right") - 1  # last gene starting <= pos
        has_up = k >= 0
        kk = np.where(has_up, k, 0)
        up_gene = arg[kk]
        up_end = np.where(has_up, cmax[kk], np.iinfo(np.int64).min // 2)
        is_in = has_up & (up_end >= pos)
        d_up = np.where(has_up, np.maximum(pos - up_end, 0), np.iinfo(np.int64).max // 2)
        dn = np.minimum(k + 1, len(st) - 1)
        has_dn = (k + 1) < len(st)
        d_dn = np.where(has_dn, st[dn] - pos, np.iinfo(np.int64).max // 2)
        choose_up = d_up <= d_dn
        gi = np.where(choose_up, up_gene, dn)
        d = np.where(is_in, 0, np.minimum(d_up, d_dn))
        gene_col[idx] = g["gene"].to_numpy(dtype=object)[gi]
        dist[idx] = d
        inside[idx] = is_in
        gstr = g["strand"].to_numpy(dtype=object)[gi]
        orient[idx] = np.where(is_in, np.where(gstr == sub["strand"].to_numpy(dtype=object),
                                               "same", "opposite"), "")
        gs_[idx], ge_[idx] = st[gi], en[gi]
    out["gene"], out["distance"], out["in_gene"] = gene_col, dist, inside
    out["orientation"], out["gene_start"], out["gene_end"] = orient, gs_, ge_
    out.loc[out["gene"] == "", "distance"] = np.nan
    return out


def watch_hits(sites: pd.DataFrame, genes: pd.DataFrame, watch: set[str],
               within: int = 50_000) -> pd.DataFrame:
    """Closest watch-list gene of each site within ``within`` bp, whatever its nearest gene.

    Parameters
    ----------
    sites:
        ``chromosome``, ``position`` (1-based).
    genes:
        From :func:`read_genes`.
    watch:
        Upper-case gene names.
    within:
        Largest distance flagged (0 = inside the gene).

    Returns
    -------
    pandas.DataFrame
        Same index; ``watch_gene`` ("" when none is within reach) and ``watch_distance``.

    Examples
    --------
    >>> g = pd.DataFrame({"chromosome": ["chr1", "chr1"], "start": [100, 300],
    ...                   "end": [200, 400], "gene": ["TET2", "X"], "strand": ["+", "+"]})
    >>> s = pd.DataFrame({"chromosome": ["chr1"], "position": [290]})
    >>> watch_hits(s, g, {"TET2"})["watch_distance"].tolist()
    [90.0]
    """
    best_d = np.full(len(sites), np.inf)
    best_g = np.full(len(sites), "", dtype=object)
    chrom = sites["chromosome"].to_numpy(dtype=object)
    pos = sites["position"].to_numpy(dtype=np.int64)
    wg = genes[genes["gene"].str.upper().isin(watch)]
    for r in wg.itertuples():  # a watch list holds a handful of genes
        on = chrom == r.chromosome
        d = np.where(on, np.maximum(0, np.maximum(r.start - pos, pos - r.end)), np.inf)
        better = d < best_d
        best_d[better], best_g[better] = d[better], r.gene
    hit = best_d <= within
    return pd.DataFrame({"watch_gene": np.where(hit, best_g, ""),
                         "watch_distance": np.where(hit, best_d, np.nan)}, index=sites.index)


def cis_windows(sites: pd.DataFrame, windows: tuple[tuple[int, int], ...] = CIS_WINDOWS
                ) -> pd.DataFrame:
    """Common insertion sites by window rules over distinct sites (all samples pooled).

    Parameters
    ----------
    sites:
        ``chromosome``, ``position`` (distinct sites; duplicates are collapsed).
    windows:
        ``(k, span)``: k distinct sites whose first-to-last distance is <= span bp. The
        last rule applies to k or more sites.

    Returns
    -------
    pandas.DataFrame
        One row per CIS (maximal runs of overlapping qualifying windows): chromosome,
        start, end, n_sites, rule.

    Examples
    --------
    >>> s = pd.DataFrame({"chromosome": ["1", "1", "1"], "position": [1000, 20000, 900000]})
    >>> cis_windows(s)[["start", "end", "n_sites"]].values.tolist()
    [[1000, 20000, 2]]
    """
    u = sites[["chromosome", "position"]].drop_duplicates().sort_values(
        ["chromosome", "position"])
    rows = []
    for chrom, sub in u.groupby("chromosome", sort=True):
        pos = sub["position"].to_numpy(np.int64)
        n = len(pos)
        flag_start = np.zeros(n, bool)
        span_end = np.full(n, -1)
        rule_of = np.full(n, "", dtype=object)
        for k, span in windows:
            if n < k:
                continue
            ok = pos[k - 1:] - pos[: n - k + 1] <= span
            starts = np.flatnonzero(ok)
            for s0 in starts:
                e = s0 + k - 1
                if e > span_end[s0]:
                    span_end[s0] = e
                    rule_of[s0] = f"{k} within {span // 1000} kb"
                flag_start[s0] = True
        # merge overlapping qualifying windows into one CIS
        merged: list[list] = []
        for s0 in np.flatnonzero(flag_start):
            e = int(span_end[s0])
            if merged and s0 <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
                merged[-1][2].add(rule_of[s0])
            else:
                merged.append([int(s0), e, {rule_of[s0]}])
        for a, b, r in merged:
            rows.append((chrom, int(pos[a]), int(pos[b]), b - a + 1, "; ".join(sorted(r))))
    return pd.DataFrame(rows, columns=["chromosome", "start", "end", "n_sites", "rule"])


def grubbs_cis(annot: pd.DataFrame, genes: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Genes with an outlying integration density by iterated two-sided Grubbs tests.

    Parameters
    ----------
    annot:
        Output of :func:`nearest_gene` for distinct sites (``gene``, ``in_gene``).
    genes:
        Gene table (lengths from ``end - start + 1``).
    alpha:
        Significance level of each Grubbs step.

    Returns
    -------
    pandas.DataFrame
        Outlier genes in the order removed: gene, n_sites, sites_per_kb, G, G_critical, p.

    References
    ----------
    Grubbs FE. Technometrics 1969;11:1-21.

    Examples
    --------
    Ten 1-kb genes, nine with one site and G0 with 30: one value apart from n - 1 equal
    ones has G = (n - 1) / sqrt(n) = 9 / sqrt(10) = 2.8460, above G_crit(10) = 2.2900
    (Grubbs' table: 2.290); the nine left are equal, so the iteration stops:

    >>> genes = pd.DataFrame({"chromosome": "chr1", "start": [1 + 2000 * i for i in range(10)],
    ...                       "end": [1000 + 2000 * i for i in range(10)],
    ...                       "gene": [f"G{i}" for i in range(10)], "strand": "+"})
    >>> annot = pd.DataFrame({"gene": ["G0"] * 30 + [f"G{i}" for i in range(1, 10)],
    ...                       "in_gene": True})
    >>> out = grubbs_cis(annot, genes)
    >>> out["gene"].tolist(), out[["G", "G_critical"]].round(4).values.tolist()
    (['G0'], [[2.846, 2.29]])
    """
    hit = annot[annot["in_gene"]].groupby("gene").size()
    if hit.empty:
        return pd.DataFrame(columns=["gene", "n_sites", "sites_per_kb", "G", "G_critical",
                                     "p"])
    length = genes.assign(L=genes["end"] - genes["start"] + 1).groupby("gene")["L"].max()
    dens = (hit / (length.reindex(hit.index) / 1000)).astype(float)
    x = np.log(dens)
    out = []
    while len(x) >= 3:
        mu, sd = x.mean(), x.std(ddof=1)
        if sd == 0:
            break
        g_idx = (x - mu).abs().idxmax()
        n = len(x)
        gstat = abs(x[g_idx] - mu) / sd
        t = stats.t.ppf(1 - alpha / (2 * n), n - 2)
        gcrit = (n - 1) / np.sqrt(n) * np.sqrt(t * t / (n - 2 + t * t))
        # two-sided P from the t distribution (Bonferroni over n, capped at 1)
        tt = np.sqrt(n * (n - 2) * gstat ** 2 / ((n - 1) ** 2 - n * gstat ** 2)) \
            if (n - 1) ** 2 > n * gstat ** 2 else np.inf
        p = min(1.0, 2 * n * stats.t.sf(tt, n - 2))
        if gstat <= gcrit or x[g_idx] < mu:
            break
        out.append((g_idx, int(hit[g_idx]), float(dens[g_idx]), float(gstat), float(gcrit), p))
        x = x.drop(g_idx)
    return pd.DataFrame(out, columns=["gene", "n_sites", "sites_per_kb", "G", "G_critical",
                                      "p"])
