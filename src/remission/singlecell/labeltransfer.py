"""Reference label transfer by rank correlation with fine-tuning (SingleR's algorithm).

Aran D et al. Nat Immunol 2019;20:163-172 (SingleR), as implemented in Bioconductor
SingleR 2.0 (C++ core ``singlepp``); the steps below are the published algorithm, written
in numpy and checked against R SingleR run live (``tests/test_singlecell_labeltransfer.py``).

1. **Markers** (``de.method = "classic"``): per label, the median of every gene over the
   label's reference profiles; for each ordered pair of labels (A, B) the ``de_n`` genes
   with the largest positive ``median_A - median_B`` (ties: gene order of the test data),
   ``de_n = round(500 * (2/3) ** log2(n_labels))`` by default.
2. **Scores**: Spearman correlation of each test cell with every reference profile over
   the union of all markers; a label's score is the 0.8 quantile (R type 7) of the
   correlations with its profiles.
3. **Fine-tuning**: labels within ``tune_thresh`` (0.05) of the best score are kept and
   re-scored on the union of the markers between them only; repeated until one label
   remains or the set stops shrinking. Skipped when every label is within the threshold.
   ``delta_next`` = best minus second-best score of the last round.
4. **Pruning**: ``delta`` = first-round score of the assigned label minus the median of
   the cell's first-round scores; within each assigned label, cells with ``delta`` below
   ``median - 3 MAD`` (R ``mad()``, scaled 1.4826) or with ``delta_next < 0`` get no
   pruned label (``None``): a label is never forced.

Nothing is downloaded: the reference is a user-supplied labelled AnnData or a table of
(pseudobulk) profiles (see :func:`load_reference`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:
    import anndata

REF_SINGLER = ("Aran D, Looney AP, Liu L et al. Reference-based analysis of lung "
               "single-cell sequencing reveals a transitional profibrotic macrophage. "
               "Nat Immunol 2019;20:163-172 (SingleR; algorithm of Bioconductor SingleR "
               "2.0 classic markers, quantile 0.8, fine-tuning 0.05, pruning 3 MADs).")


@dataclass(frozen=True)
class Reference:
    """A labelled reference: log-expression profiles (genes x profiles) and their labels."""

    data: pd.DataFrame
    labels: tuple[str, ...]
    source: str = "user-supplied reference"


@dataclass(frozen=True)
class Trained:
    """A reference trained for a gene universe (markers chosen, profiles ranked)."""

    genes: np.ndarray            # common genes (test order)
    labels: tuple[str, ...]      # sorted unique labels
    markers: dict[tuple[int, int], np.ndarray]   # (a, b) -> gene indices up in a vs b
    subset: np.ndarray           # union of all markers (indices into genes)
    ref: np.ndarray              # genes x profiles (common genes)
    ref_label: np.ndarray        # label index of each profile
    de_n: int


def n_markers(n_labels: int) -> int:
    """SingleR's default markers per label pair: ``round(500 * (2/3) ** log2(n))``.

    Parameters
    ----------
    n_labels : int
        Number of reference labels.

    Returns
    -------
    int
        Genes per ordered label pair.

    Examples
    --------
    >>> n_markers(2), n_markers(13)
    (333, 112)
    """
    return int(np.floor(500.0 * (2.0 / 3.0) ** np.log2(n_labels) + 0.5))


def train(ref: Reference, test_genes: Sequence[str], de_n: int | None = None) -> Trained:
    """Choose classic markers on the genes shared by the reference and the test data.

    Parameters
    ----------
    ref : Reference
        Log-expression profiles (genes x profiles) and one label per profile.
    test_genes : sequence of str
        Genes of the test data; their order breaks ties between equal differences, as
        SingleR's does.
    de_n : int, optional
        Markers per ordered label pair (default :func:`n_markers`).

    Returns
    -------
    Trained
        Markers, their union, the reference restricted to the common genes.

    Examples
    --------
    >>> r = Reference(pd.DataFrame({"a": [5., 0, 1], "b": [0., 5, 1]}, index=list("xyz")),
    ...               ("A", "B"))
    >>> t = train(r, ["x", "y", "z"])
    >>> [t.genes[i] for i in t.markers[(0, 1)]], [t.genes[i] for i in t.markers[(1, 0)]]
    (['x'], ['y'])
    """
    tg = pd.Index([str(g) for g in test_genes])
    common = tg[tg.isin(ref.data.index)]
    if not len(common):
        raise ValueError("no genes in common between the reference and the test data")
    R = ref.data.loc[common].to_numpy(float)
    ulab = tuple(sorted(set(ref.labels)))
    lab_idx = np.array([ulab.index(x) for x in ref.labels])
    med = np.column_stack([np.median(R[:, lab_idx == k], axis=1) for k in range(len(ulab))])
    n = n_markers(len(ulab)) if de_n is None else int(de_n)
    n = min(n, len(common))
    gidx = np.arange(len(common))
    markers: dict[tuple[int, int], np.ndarray] = {}
    for a in range(len(ulab)):
        for b in range(len(ulab)):
            if a == b:
                continue
            d = med[:, a] - med[:, b]
            order = np.lexsort((gidx, -d))[:n]
            markers[(a, b)] = order[d[order] > 0]
    subset = np.unique(np.concatenate([m for m in markers.values()] or [np.array([], int)]))
    return Trained(np.asarray(common), ulab, markers, subset.astype(int), R, lab_idx, n)


def _scaled_ranks(M: np.ndarray) -> np.ndarray:
    """Rows of ``M`` -> centred average ranks scaled to norm 1/2 (zero rows stay zero)."""
    from scipy.stats import rankdata

    r = rankdata(M, axis=1, method="average") - (M.shape[1] + 1) / 2.0
    ss = np.maximum((r * r).sum(axis=1, keepdims=True), 1e-8)
    return r / (2.0 * np.sqrt(ss))


def _corr(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``1 - 2 |a - b|^2`` of scaled ranks (= Spearman correlation) for all row pairs."""
    na = (A * A).sum(axis=1)[:, None]
    nb = (B * B).sum(axis=1)[None, :]
    return 1.0 - 2.0 * (na + nb - 2.0 * A @ B.T)


def _label_scores(C: np.ndarray, ref_label: np.ndarray, labels: Sequence[int],
                  quantile: float) -> np.ndarray:
    """Per label, the ``quantile`` (type 7) of the correlations with its profiles."""
    return np.column_stack([np.quantile(C[:, ref_label == k], quantile, axis=1)
                            for k in labels])


def _best_and_next(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    best = np.argmax(S, axis=1)
    if S.shape[1] < 2:
        return best, np.full(S.shape[0], np.nan)
    top = S[np.arange(len(S)), best]
    other = S.copy()
    other[np.arange(len(S)), best] = -np.inf
    return best, top - other.max(axis=1)


def _dense(M: np.ndarray | sp.spmatrix) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M, float)


def _fine_tune(Xs: np.ndarray | sp.spmatrix, t: Trained, S0: np.ndarray, quantile: float,
               thresh: float) -> tuple[np.ndarray, np.ndarray]:
    """Fine-tuned best label and delta_next per cell (cells grouped by candidate set).

    ``Xs`` holds the test cells over ``t.subset`` (in that order).
    """
    _n_cells, n_lab = S0.shape
    best, delta = _best_and_next(S0)
    where = np.full(len(t.genes), -1)
    where[t.subset] = np.arange(len(t.subset))
    ref_sub = t.ref[t.subset]
    in_use = (S0.max(axis=1, keepdims=True) - thresh) <= S0
    n_in = in_use.sum(axis=1)
    todo: dict[tuple[int, ...], list[int]] = {}
    for i in np.flatnonzero((n_in > 1) & (n_in < n_lab)):
        todo.setdefault(tuple(np.flatnonzero(in_use[i]).tolist()), []).append(int(i))
    while todo:
        nxt: dict[tuple[int, ...], list[int]] = {}
        for labs, cells in todo.items():
            genes = where[np.unique(np.concatenate(
                [t.markers[(a, b)] for a in labs for b in labs if a != b]))]
            if not len(genes):
                continue
            cells_a = np.asarray(cells)
            A = _scaled_ranks(_dense(Xs[cells_a][:, genes]))
            keep_prof = np.isin(t.ref_label, labs)
            B = _scaled_ranks(ref_sub[np.ix_(genes, np.flatnonzero(keep_prof))].T)
            S = _label_scores(_corr(A, B), t.ref_label[keep_prof], labs, quantile)
            b, d = _best_and_next(S)
            best[cells_a] = np.asarray(labs)[b]
            delta[cells_a] = d
            keep = (S.max(axis=1, keepdims=True) - thresh) <= S
            for j, c in enumerate(cells_a):
                new = tuple(np.asarray(labs)[keep[j]].tolist())
                if 1 < len(new) < len(labs):
                    nxt.setdefault(new, []).append(int(c))
        todo = nxt
    return best, delta


def classify(X: np.ndarray | sp.spmatrix, genes: Sequence[str], trained: Trained,
             quantile: float = 0.8, fine_tune: bool = True, tune_thresh: float = 0.05,
             prune_nmads: float = 3.0, chunk: int = 4000) -> pd.DataFrame:
    """Label test cells with a trained reference (SingleR ``classifySingleR``).

    Parameters
    ----------
    X : numpy.ndarray or scipy.sparse matrix
        Test cells x genes, log-normalised expression.
    genes : sequence of str
        Column names of ``X`` (must contain ``trained.genes``).
    trained : Trained
        From :func:`train` with the same genes.
    quantile, tune_thresh : float
        SingleR's ``quantile`` (0.8) and ``tune.thresh`` (0.05).
    fine_tune : bool
        Iterative fine-tuning (SingleR default True).
    prune_nmads : float
        MADs below the label's median delta for pruning (SingleR ``nmads`` = 3).
    chunk : int
        Cells per dense block (memory bound).

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``label``, ``pruned_label`` (None where pruned), ``delta``
        (first-round score of the label minus the median score), ``delta_next`` and one
        ``score.<label>`` column per reference label (first-round scores).

    Examples
    --------
    >>> r = Reference(pd.DataFrame({"a": [5., 0, 1, 2], "b": [0., 5, 1, 2]},
    ...                            index=list("wxyz")), ("A", "B"))
    >>> g = ["w", "x", "y", "z"]
    >>> classify(np.array([[4., 0, 1, 2], [0, 3, 1, 2]]), g, train(r, g))["label"].tolist()
    ['A', 'B']
    """
    col = pd.Index([str(g) for g in genes])
    pos = col.get_indexer(trained.genes[trained.subset])
    if (pos < 0).any():
        raise ValueError("test data lack genes the reference was trained on")
    Xs = X[:, pos] if sp.issparse(X) else np.asarray(X, float)[:, pos]
    if sp.issparse(Xs):
        Xs = sp.csr_matrix(Xs)
    B = _scaled_ranks(trained.ref[trained.subset].T)
    labs = range(len(trained.labels))
    S0 = np.vstack([_label_scores(_corr(_scaled_ranks(_dense(Xs[s:s + chunk])), B),
                                  trained.ref_label, labs, quantile)
                    for s in range(0, Xs.shape[0], chunk)]) if Xs.shape[0] else \
        np.empty((0, len(trained.labels)))
    if fine_tune and len(trained.labels) > 1:
        best, dnext = _fine_tune(Xs, trained, S0, quantile, tune_thresh)
    else:
        best, dnext = _best_and_next(S0)
    lab = np.asarray(trained.labels, dtype=object)[best] if len(best) else \
        np.array([], dtype=object)
    first = S0[np.arange(len(best)), best] if len(best) else np.array([])
    delta = first - np.median(S0, axis=1) if len(best) else np.array([])
    keep = ~(dnext < 0)
    for k in np.unique(best):
        idx = np.flatnonzero((best == k) & keep)
        if not len(idx):
            continue
        cur = delta[idx]
        med = np.median(cur)
        mad = 1.4826 * np.median(np.abs(cur - med))
        keep[idx] &= cur >= med - prune_nmads * mad
    out = pd.DataFrame({"label": lab, "pruned_label": np.where(keep, lab, None),
                        "delta": delta, "delta_next": dnext})
    for j, name in enumerate(trained.labels):
        out[f"score.{name}"] = S0[:, j]
    return out


def normalise_profiles(counts: pd.DataFrame, target_sum: float = 1e4) -> pd.DataFrame:
    """Raw counts (genes x profiles) -> ``log1p(count / total * target_sum)``.

    Parameters
    ----------
    counts : pandas.DataFrame
        Genes x profiles (cells or pseudobulk sums).
    target_sum : float
        Scale (LogNormalize's 1e4).

    Returns
    -------
    pandas.DataFrame
        Log-normalised profiles.

    Examples
    --------
    >>> normalise_profiles(pd.DataFrame({"p": [1, 1]})).round(3)["p"].tolist()
    [8.517, 8.517]
    """
    tot = counts.sum(axis=0).replace(0, np.nan)
    return np.log1p(counts / tot * target_sum).fillna(0.0)


def _is_counts(values: np.ndarray) -> bool:
    v = values[np.isfinite(values)]
    return bool(len(v)) and (v >= 0).all() and np.allclose(v, np.round(v)) and v.max() > 20


def load_reference(path: str | Path, label_key: str = "label",
                   labels_file: str | Path | None = None, file: str | None = None
                   ) -> Reference:
    """Read a labelled reference: an ``.h5ad`` or a table of profiles (genes x profiles).

    - ``.h5ad``: cells (or pseudobulk profiles) x genes with ``obs[label_key]``;
      ``X`` or ``layers["counts"]`` raw counts (log-normalised here) or log values.
    - ``.csv``: first column gene, one column per profile; labels from ``labels_file``
      (columns ``profile, label``) or, without it, the column headers are the labels
      (one pseudobulk profile per label). Raw counts are log-normalised (1e4);
      non-integer values are taken as log-expression.

    Parameters
    ----------
    path : str or Path
        The reference file.
    label_key : str
        ``obs`` column of an ``.h5ad`` reference.
    labels_file : str or Path, optional
        Profile -> label table of a CSV reference.
    file : str, optional
        Name in messages (default: the path).

    Returns
    -------
    Reference
        Profiles (genes x profiles, log scale) and labels. Bad input raises
        :class:`remission.errors.InputError` naming the file and field.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ref.csv").write_text("gene,T,B\\nCD3E,90,1\\nMS4A1,2,80\\nACTB,300,300\\n")
    >>> r = load_reference(d / "ref.csv")   # column headers are the labels
    >>> r.labels, round(float(r.data.loc["CD3E", "T"]), 3)
    (('T', 'B'), 7.739)
    """
    from remission.errors import InputError, Problem

    path = Path(path)
    name = file or str(path)
    if not path.exists():
        raise InputError([Problem(name, "reference not found", column="singlecell.reference")])
    probs: list[Problem] = []
    if path.name.lower().endswith(".h5ad"):
        import anndata as ad

        try:
            a = ad.read_h5ad(path)
        except (OSError, ValueError, KeyError) as exc:
            raise InputError([Problem(name, f"cannot read reference: {exc}")]) from None
        if label_key not in a.obs:
            raise InputError([Problem(name, "label column missing from obs",
                                      column=label_key, expected="obs[label_key] labels")])
        M = a.layers.get("counts", a.X)
        M = M.toarray() if sp.issparse(M) else np.asarray(M, float)
        data = pd.DataFrame(M.T, index=a.var_names.astype(str),
                            columns=a.obs_names.astype(str))
        labels = a.obs[label_key]
        ok = labels.notna().to_numpy()
        data, labels = data.loc[:, ok], labels[ok].astype(str).tolist()
    else:
        try:
            data = pd.read_csv(path, index_col=0)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise InputError([Problem(name, f"cannot read reference: {exc}")]) from None
        data.index = data.index.astype(str)
        bad = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
        for c in bad:
            probs.append(Problem(name, "non-numeric values in a reference profile",
                                 column=str(c), expected="expression values"))
        if labels_file is not None:
            lp = Path(labels_file)
            if not lp.exists():
                probs.append(Problem(str(labels_file), "reference labels file not found",
                                     column="singlecell.reference.labels"))
                raise InputError(probs)
            lt = pd.read_csv(lp, dtype=str, keep_default_na=False)
            miss = [c for c in ("profile", "label") if c not in lt.columns]
            for c in miss:
                probs.append(Problem(str(labels_file), "required column is missing", column=c))
            if not miss:
                m = dict(zip(lt["profile"], lt["label"], strict=True))
                unl = [c for c in data.columns if not m.get(str(c))]
                for c in unl[:10]:
                    probs.append(Problem(str(labels_file), "reference profile has no label",
                                         column="profile", value=str(c)))
                labels = [m.get(str(c), "") for c in data.columns]
        else:
            labels = [str(c).split(".")[0] if str(c).rsplit(".", 1)[-1].isdigit() else str(c)
                      for c in data.columns]
        if probs:
            raise InputError(probs)
        if data.index.duplicated().any():
            dup = data.index[data.index.duplicated()][0]
            raise InputError([Problem(name, "duplicate gene in the reference", value=dup)])
    if len(set(labels)) < 2:
        raise InputError([Problem(name, "reference needs at least two labels",
                                  value=", ".join(sorted(set(labels))))])
    if _is_counts(data.to_numpy(float)):
        data = normalise_profiles(data)
    return Reference(data.astype(float), tuple(labels), f"{path.name}")


def transfer_labels(adata: anndata.AnnData, reference: Reference, key_added: str = "ref",
                    **kw: object) -> pd.DataFrame:
    """Label the cells of ``adata`` (log-normalised ``X``) from ``reference``.

    Parameters
    ----------
    adata : anndata.AnnData
        Log-normalised test data (all genes).
    reference : Reference
        Labelled profiles.
    key_added : str
        ``obs`` gains ``{key}_label``, ``{key}_pruned_label`` ("pruned" where SingleR gives
        NA), ``{key}_delta_next``.
    **kw
        Passed to :func:`classify`.

    Returns
    -------
    pandas.DataFrame
        :func:`classify`'s table indexed by cell.

    Examples
    --------
    >>> from remission.singlecell.simulate import tiny
    >>> a = tiny("normalised")
    >>> pops = a.obs["truth_population"].astype(str)   # a reference built from sorted cells
    >>> sums = pd.DataFrame({p: np.asarray(a.layers["counts"][(pops == p).to_numpy()]
    ...                                    .sum(axis=0)).ravel() for p in sorted(set(pops))},
    ...                     index=a.var_names)
    >>> ref = Reference(normalise_profiles(sums), tuple(sums.columns))
    >>> res = transfer_labels(a, ref)
    >>> float((a.obs["ref_label"] == a.obs["truth_population"]).mean()) > 0.9
    True
    """
    t = train(reference, list(adata.var_names))
    res = classify(adata.X, list(adata.var_names), t, **kw)  # type: ignore[arg-type]
    res.index = adata.obs_names
    adata.obs[f"{key_added}_label"] = res["label"].to_numpy()
    adata.obs[f"{key_added}_pruned_label"] = res["pruned_label"].fillna("pruned").to_numpy()
    adata.obs[f"{key_added}_delta_next"] = res["delta_next"].to_numpy()
    adata.uns[f"{key_added}_transfer"] = {"n_common_genes": len(t.genes),
                                          "n_marker_genes": len(t.subset),
                                          "de_n": t.de_n, "labels": list(t.labels),
                                          "source": reference.source}
    return res
