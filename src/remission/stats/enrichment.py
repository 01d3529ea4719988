"""Gene-set enrichment (lab and singlecell): hypergeometric ORA and a preranked rank-sum test.

- Over-representation (ORA): for a set S and selected genes D within a universe U, the
  one-sided hypergeometric tail ``P(X >= |S & D|)`` with ``X ~ Hypergeom(|U|, |S & U|,
  |D|)`` (R ``phyper(k - 1, K, N - K, n, lower.tail = FALSE)``); Benjamini-Hochberg over
  sets (Rivals et al. 2007 review the test).
- Preranked: the Wilcoxon rank-sum test of the gene-level statistic of set members
  against all other genes (two-sided, normal approximation with tie and continuity
  correction, as R ``wilcox.test(exact = FALSE)``), the rank-based competitive test of
  limma's ``geneSetTest(ranks.only = TRUE)`` (Michaud et al. 2008). It ignores inter-gene
  correlation, so its p-values are optimistic (Wu & Smyth 2012); read them as a ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from remission.errors import InputError, Problem

REF_ORA = (
    "Rivals I, Personnaz L, Taing L, Potier MC. Enrichment or depletion of a GO category "
    "within a class of genes: which test? Bioinformatics 2007;23:401-407."
)
REF_BH = (
    "Benjamini Y, Hochberg Y. Controlling the false discovery rate. J R Stat Soc B "
    "1995;57:289-300."
)
REF_RANKSUM = (
    "Michaud J et al. Integrative analysis of RUNX1 downstream pathways and target genes. "
    "BMC Genomics 2008;9:363 (limma geneSetTest); Wu D, Smyth GK. Camera. Nucleic Acids Res "
    "2012;40:e133 (inter-gene correlation caveat)."
)

GeneSets = dict[str, tuple[str, list[str]]]


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (as R ``p.adjust(method = "BH")``).

    Benjamini Y, Hochberg Y. J R Stat Soc B 1995;57:289-300.

    Parameters
    ----------
    p : numpy.ndarray
        P-values (NaN kept as NaN).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values.

    Examples
    --------
    >>> bh_adjust(np.array([0.01, 0.04, 0.03])).round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    n = q.size
    if n == 0:
        return out
    order = np.argsort(q)[::-1]
    ranks = np.arange(n, 0, -1)
    adj = np.minimum.accumulate(q[order] * n / ranks)
    res = np.empty(n)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def read_gmt(path: str | Path) -> GeneSets:
    """Read a GMT gene-set file, reporting all its problems at once.

    Each non-empty line not starting with ``#`` is ``name<TAB>description<TAB>gene...``;
    duplicate genes within a set are kept once, in file order.

    Parameters
    ----------
    path : str or Path
        The ``.gmt`` file (UTF-8).

    Returns
    -------
    dict of str to (str, list of str)
        ``{set name: (description, genes)}`` in file order.

    Raises
    ------
    InputError
        Unreadable file; lines with fewer than 3 fields, empty or duplicate names, sets
        without genes (with line numbers); a file with no set.

    Examples
    --------
    >>> import tempfile
    >>> gmt = Path(tempfile.mkdtemp()) / "sets.gmt"
    >>> _ = gmt.write_text("APOP\\tapoptosis\\tBCL2\\tMCL1\\tBCL2\\nEMPTY\\tno genes\\n")
    >>> try:
    ...     read_gmt(gmt)
    ... except InputError as e:
    ...     print([(p.row, p.message) for p in e.problems])
    [(2, 'gene set line has fewer than 3 tab-separated fields')]
    >>> _ = gmt.write_text("APOP\\tapoptosis\\tBCL2\\tMCL1\\tBCL2\\n")
    >>> read_gmt(gmt)
    {'APOP': ('apoptosis', ['BCL2', 'MCL1'])}
    """
    p = Path(path)
    probs: list[Problem] = []
    out: GeneSets = {}
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(p), f"cannot read gene-set file: {exc}")]) from None
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [x.strip() for x in line.split("\t")]
        if len(parts) < 3:
            probs.append(Problem(str(p), "gene set line has fewer than 3 tab-separated "
                                 "fields", row=i, expected="name<TAB>description<TAB>gene..."))
            continue
        name, desc, genes = parts[0], parts[1], [g for g in parts[2:] if g]
        if not name:
            probs.append(Problem(str(p), "empty gene-set name", row=i))
        elif name in out:
            probs.append(Problem(str(p), "duplicate gene-set name", row=i, value=name))
        if not genes:
            probs.append(Problem(str(p), "gene set has no genes", row=i, value=name))
        out[name] = (desc, list(dict.fromkeys(genes)))
    if not out and not probs:
        probs.append(Problem(str(p), "no gene sets found"))
    if probs:
        raise InputError(probs)
    return out


def _packaged_gmts(*folder: str) -> GeneSets:
    """Every ``.gmt`` file directly in ``remission/data/genesets/<folder...>``, merged.

    Files are read in name order (:func:`read_gmt`), so a set named again in a later file
    replaces the earlier one; sub-folders are not entered.

    Parameters
    ----------
    *folder : str
        Path parts below ``remission/data/genesets`` (none: that folder itself).

    Returns
    -------
    dict of str to (str, list of str)
        ``{set name: (description, genes)}``.
    """
    out: GeneSets = {}
    root = resources.files("remission") / "data" / "genesets"
    for part in folder:
        root = root / part
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".gmt"):
            with resources.as_file(entry) as f:
                out.update(read_gmt(f))
    return out


def builtin_genesets() -> GeneSets:
    """The curated gene sets shipped in ``remission/data/genesets`` (see its README.md).

    Every ``.gmt`` file of that folder, read with :func:`read_gmt` in file-name order; the
    GO sets of its ``go/`` subfolder are separate (:func:`go_genesets`).

    Returns
    -------
    dict of str to (str, list of str)
        ``{set name: (description, genes)}``.

    Examples
    --------
    The anti-apoptotic BCL-2 family (venetoclax target and resistance factors):

    >>> sorted(builtin_genesets()["BCL2_ANTIAPOPTOTIC"][1])
    ['BCL2', 'BCL2A1', 'BCL2L1', 'BCL2L10', 'BCL2L2', 'MCL1']
    """
    return _packaged_gmts()


def go_genesets() -> GeneSets:
    """GO biological-process sets under "immune system process" shipped with remission.

    Read from ``remission/data/genesets/go/`` (GO release 2022-07-01, human annotations
    of Bioconductor org.Hs.eg.db 3.16, propagated to ancestors, all evidence codes, 10-500
    genes; CC BY 4.0), made by ``scripts/make_go_genesets.py``. Not part of
    :func:`builtin_genesets`.

    Returns
    -------
    dict
        GO id -> (term name, gene symbols).

    Examples
    --------
    >>> sets = go_genesets()
    >>> sets["GO:0042267"][0]
    'natural killer cell mediated cytotoxicity'
    """
    return _packaged_gmts("go")


REF_GO = ("The Gene Ontology Consortium. The Gene Ontology resource: enriching a GOld mine. "
          "Nucleic Acids Res 2021;49:D325-D334 (GO release 2022-07-01 via Bioconductor "
          "org.Hs.eg.db 3.16; CC BY 4.0).")


def ora(selected: Iterable[str], universe: Iterable[str], genesets: Mapping,
        min_size: int = 3) -> pd.DataFrame:
    """Hypergeometric over-representation of ``selected`` genes in each set.

    For a set S and selected genes D within the universe U: ``k = |S & D & U|`` and
    ``p = P(X >= k)``, ``X ~ Hypergeom(|U|, |S & U|, |D & U|)`` (R
    ``phyper(k - 1, K, N - K, n, lower.tail = FALSE)``), Benjamini–Hochberg over the
    tested sets.

    Parameters
    ----------
    selected : iterable of str
        The genes of interest (e.g. differentially expressed); genes outside the universe
        are ignored.
    universe : iterable of str
        All genes that could have been selected (e.g. all tested genes).
    genesets : mapping
        ``{name: (description, genes)}`` as :func:`read_gmt` returns.
    min_size : int, default 3
        Sets with fewer genes in the universe are not tested.

    Returns
    -------
    DataFrame
        One row per tested set, by ascending ``p`` then name: ``gene_set, set_size,
        overlap, expected, fold_enrichment, p, genes`` (the overlapping genes,
        comma-separated) and ``p_adj`` (BH).

    References
    ----------
    Rivals I, et al. Bioinformatics 2007;23:401-407. Benjamini Y, Hochberg Y. J R Stat
    Soc B 1995;57:289-300.

    Examples
    --------
    Universe of 20 genes, a set of 5, 4 selected of which 3 in the set:
    P(X >= 3) = (C(5,3) C(15,1) + C(5,4)) / C(20,4) = 155/4845, as R
    ``phyper(2, 5, 15, 4, lower.tail = FALSE)`` = 0.031992:

    >>> uni = [f"G{i}" for i in range(1, 21)]
    >>> sets = {"S": ("", uni[:5]), "tiny": ("", ["G1", "G2"])}
    >>> r = ora(["G1", "G2", "G3", "G10"], uni, sets)
    >>> r[["gene_set", "overlap", "expected", "genes"]].values.tolist()
    [['S', 3, 1.0, 'G1,G2,G3']]
    >>> round(float(r.loc[0, "p"]), 6), round(155 / 4845, 6)
    (0.031992, 0.031992)
    """
    uni = set(universe)
    sel = set(selected) & uni
    rows = []
    for name, (_, genes) in genesets.items():
        s = set(genes) & uni
        if len(s) < min_size:
            continue
        k = len(s & sel)
        p = float(stats.hypergeom.sf(k - 1, len(uni), len(s), len(sel)))
        expected = len(s) * len(sel) / len(uni) if uni else np.nan
        rows.append({"gene_set": name, "set_size": len(s), "overlap": k,
                     "expected": expected, "fold_enrichment": k / expected if expected else
                     np.nan, "p": p, "genes": ",".join(sorted(s & sel))})
    df = pd.DataFrame(rows, columns=["gene_set", "set_size", "overlap", "expected",
                                     "fold_enrichment", "p", "genes"])
    df["p_adj"] = bh_adjust(df["p"].to_numpy()) if len(df) else []
    return df.sort_values(["p", "gene_set"]).reset_index(drop=True)


def ranksum_test(stat: pd.Series, genesets: Mapping, min_size: int = 3) -> pd.DataFrame:
    """Preranked test: Wilcoxon rank-sum of set members' statistics against all other genes.

    Two-sided, normal approximation with tie and continuity correction (R
    ``wilcox.test(in_set, others, exact = FALSE)``), the competitive test of limma's
    ``geneSetTest(ranks.only = TRUE)``. It ignores inter-gene correlation, so its p-values
    are optimistic: read them as a ranking.

    Parameters
    ----------
    stat : Series
        Gene-level statistic (e.g. log fold change or Wald statistic) indexed by gene;
        missing values are dropped.
    genesets : mapping
        ``{name: (description, genes)}`` as :func:`read_gmt` returns.
    min_size : int, default 3
        Sets with fewer genes in ``stat`` are not tested.

    Returns
    -------
    DataFrame
        One row per tested set, by ascending ``p`` then name: ``gene_set, set_size,
        mean_stat, auc`` (W / (n_in n_out): probability a member outranks a non-member),
        ``direction`` (``"up"`` when auc > 0.5, else ``"down"``), ``W, p`` and ``p_adj``
        (BH).

    References
    ----------
    Michaud J, et al. BMC Genomics 2008;9:363. Wu D, Smyth GK. Nucleic Acids Res
    2012;40:e133.

    Examples
    --------
    Every member outranks every other gene, so W = 3 * 6 = 18 and auc = 1; R
    ``wilcox.test(c(2.1, 1.7, 3.0), c(0.1, -0.4, 0.3, -1.2, 0.8, 0.05), exact = FALSE)``
    gives p = 0.028186:

    >>> stat = pd.Series([2.1, 1.7, 3.0, 0.1, -0.4, 0.3, -1.2, 0.8, 0.05],
    ...                  index=["A", "B", "C", "D", "E", "F", "G", "H", "I"])
    >>> r = ranksum_test(stat, {"S": ("", ["A", "B", "C"])})
    >>> r[["W", "auc", "direction"]].values.tolist(), round(float(r.loc[0, "p"]), 6)
    ([[18.0, 1.0, 'up']], 0.028186)
    """
    s = stat.dropna()
    rows = []
    for name, (_, genes) in genesets.items():
        inset = s.index.isin(list(genes))
        n1, n2 = int(inset.sum()), int((~inset).sum())
        if n1 < min_size or n2 < 1:
            continue
        res = stats.mannwhitneyu(s[inset], s[~inset], alternative="two-sided",
                                 use_continuity=True, method="asymptotic")
        auc = float(res.statistic) / (n1 * n2)
        rows.append({"gene_set": name, "set_size": n1, "mean_stat": float(s[inset].mean()),
                     "auc": auc, "direction": "up" if auc > 0.5 else "down",
                     "W": float(res.statistic), "p": float(res.pvalue)})
    df = pd.DataFrame(rows, columns=["gene_set", "set_size", "mean_stat", "auc", "direction",
                                     "W", "p"])
    df["p_adj"] = bh_adjust(df["p"].to_numpy()) if len(df) else []
    return df.sort_values(["p", "gene_set"]).reset_index(drop=True)
