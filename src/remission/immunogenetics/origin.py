"""Per-cell origin (recipient, donor, product) summarised by cluster: the one implementation.

Per-cell origin calls come from a genotype demultiplexer run on the single-cell data
(e.g. vireo, souporcell) or, when donor and recipient differ in sex, from the sex-gene proxy
of :func:`remission.singlecell.tl.sex_origin`. They are read once, as the single-cell
``origin_file`` (docs/study-format.md), and summarised here for both the single-cell
analysis and the immunogenetics folder, so there is one table and one Result
(``immunogenetics.origin_by_cluster``).

Vocabulary (:data:`ORIGINS`): ``recipient`` (host), ``donor`` (the donor, or the product's
donor when it is the only donor), ``product`` (the product's donor when it differs from a
transplant donor, e.g. a third-party NK product after HSCT), ``doublet`` and
``undetermined``. A blank call and vireo's ``unassigned`` read as ``undetermined``. Shares
are taken among *called* cells (recipient + donor + product); doublets and undetermined
cells are counted but never enter a share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from remission.results import Result

__all__ = ["normalise_origin", "origin_by_cluster", "origin_result"]

ORIGINS = ("recipient", "donor", "product", "doublet", "undetermined")
CALLED = ("recipient", "donor", "product")
ALIASES = {"": "undetermined", "unassigned": "undetermined", "nan": "undetermined"}
ALL_CLUSTERS = "all clusters"
UNCLUSTERED = "unclustered"
SECTION = "immunogenetics"
RESULT_NAME = "immunogenetics.origin_by_cluster"
REFERENCES = (
    "Huang Y, McCarthy DJ, Stegle O. Vireo: Bayesian demultiplexing of pooled single-cell "
    "RNA-seq data without genotype reference. Genome Biol 2019;20:273.",
    "Wilson EB. Probable inference, the law of succession, and statistical inference. "
    "J Am Stat Assoc 1927;22:209-12.",
)


def normalise_origin(values: Sequence[object] | pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell origin calls in the shared vocabulary.

    Parameters
    ----------
    values : sequence
        Raw calls (any case, surrounding blanks allowed; missing = undetermined).

    Returns
    -------
    tuple of numpy.ndarray
        ``(calls, bad)``: the calls in :data:`ORIGINS` (bad ones left as given) and a
        boolean mask of values outside the vocabulary.

    Examples
    --------
    >>> calls, bad = normalise_origin(["Donor", " recipient", None, "unassigned", "host"])
    >>> calls.tolist()
    ['donor', 'recipient', 'undetermined', 'undetermined', 'host']
    >>> bad.tolist()
    [False, False, False, False, True]
    """
    s = pd.Series(values, dtype=object)
    low = s.where(s.notna(), "").astype(str).str.strip().str.lower()
    low = low.replace(ALIASES)
    bad = ~low.isin(ORIGINS).to_numpy()
    out = np.where(bad, s.where(s.notna(), "").astype(str).to_numpy(), low.to_numpy())
    return out.astype(object), bad


def _natural(label: str) -> tuple:
    """Sort key: numeric cluster ids by value ("2" before "10"), then names."""
    parts = re.split(r"(\d+)", label)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in parts if p)


def _labels(col: pd.Series, natural: bool) -> tuple[np.ndarray, list[str]]:
    """String labels of a key column and their display order."""
    missing = col.isna().to_numpy()
    lab = col.astype(object).where(~missing, UNCLUSTERED if natural else "").astype(str)
    lab = lab.str.strip().to_numpy(dtype=object)
    if natural:
        lab[lab == ""] = UNCLUSTERED
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = [str(c) for c in col.cat.categories]
    elif natural:
        order = sorted(set(lab) - {UNCLUSTERED}, key=_natural)
    else:
        order = list(dict.fromkeys(lab))  # first appearance
    seen = set(lab)
    order = [o for o in dict.fromkeys(order) if o in seen]
    order += sorted(seen - set(order))
    return lab, order


def origin_by_cluster(cells: pd.DataFrame, cluster: str = "cluster", origin: str = "origin",
                      by: Sequence[str] = (), conf: float = 0.95,
                      total: bool = True) -> pd.DataFrame:
    """Counts and shares of per-cell origin calls per cluster (and per sample / time point).

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell with a cluster label and an origin call (:data:`ORIGINS`; a blank
        or missing call and ``unassigned`` count as ``undetermined``).
    cluster, origin : str
        Column names. Cluster labels are shown as text; numeric ids sort by value
        ("2" before "10"), a categorical column keeps its category order, and cells
        without a cluster form the row ``unclustered``.
    by : sequence of str
        Columns to split by first (e.g. ``("sample", "time_point")``), in order of first
        appearance (categories in category order).
    conf : float
        Level of the Wilson interval of each share.
    total : bool
        Add a row ``all clusters`` per group of ``by``.

    Returns
    -------
    pandas.DataFrame
        Index ``(*by, cluster)``. Columns ``n`` (all cells), counts of ``recipient``,
        ``donor``, ``product`` (only if any cell is ``product``), ``doublet``,
        ``undetermined``, then ``n_called`` and, per called origin shown,
        ``<origin>_share`` (of called cells; NaN when none is called) with
        ``<origin>_ci_lower``/``<origin>_ci_upper``.

    Raises
    ------
    ValueError
        If an origin call is outside the vocabulary (readers report these as problems
        before this point).

    Examples
    --------
    >>> c = pd.DataFrame({"cluster": ["10", "2", "2", "2"],
    ...                   "origin": ["recipient", "donor", "donor", "doublet"]})
    >>> t = origin_by_cluster(c)
    >>> cols = ["n", "donor", "doublet", "n_called", "donor_share"]
    >>> t[cols].round(3)  # doctest: +NORMALIZE_WHITESPACE
                  n  donor  doublet  n_called  donor_share
    cluster
    2             3      2        1         2        1.000
    10            1      0        0         1        0.000
    all clusters  4      2        1         3        0.667
    """
    calls, bad = normalise_origin(cells[origin])
    if bad.any():
        raise ValueError("origin calls outside " + ", ".join(ORIGINS) + ": "
                         + ", ".join(sorted(set(calls[bad].tolist()))))
    keys = [*by, cluster]
    labs, orders = {}, {}
    for k in keys:
        labs[k], orders[k] = _labels(cells[k], natural=k == cluster)
    frame = pd.DataFrame({**labs, "__origin": calls})
    counts = (frame.groupby(keys, sort=False)["__origin"]
              .value_counts().unstack(fill_value=0)
              .reindex(columns=list(ORIGINS), fill_value=0))
    if not isinstance(counts.index, pd.MultiIndex):
        counts.index = pd.MultiIndex.from_arrays([counts.index], names=keys)
    if total:
        if by:
            tot = counts.groupby(level=list(range(len(by))), sort=False).sum()
            if not isinstance(tot.index, pd.MultiIndex):
                tot.index = pd.MultiIndex.from_arrays([tot.index], names=list(by))
            tot.index = pd.MultiIndex.from_tuples([(*i, ALL_CLUSTERS) for i in tot.index],
                                                  names=keys)
        else:
            tot = counts.sum().to_frame().T
            tot.index = pd.MultiIndex.from_tuples([(ALL_CLUSTERS,)], names=keys)
        counts = pd.concat([counts, tot])
        orders[cluster] = [*orders[cluster], ALL_CLUSTERS]
    rank = [counts.index.get_level_values(k).map({v: i for i, v in enumerate(orders[k])})
            .to_numpy() for k in keys]
    counts = counts.iloc[np.lexsort(rank[::-1])]
    shown = [o for o in ORIGINS if o != "product" or counts["product"].any()]
    out = counts[shown].astype(np.int64)
    out.insert(0, "n", counts.sum(axis=1).astype(np.int64))
    called = counts[list(CALLED)].sum(axis=1).astype(np.int64)
    out["n_called"] = called
    from statsmodels.stats.proportion import proportion_confint

    ok = called.to_numpy() > 0
    nobs = np.where(ok, called.to_numpy(), 1)
    for o in (c for c in CALLED if c in shown):
        k = counts[o].to_numpy()
        lo, hi = proportion_confint(k, nobs, alpha=1 - conf, method="wilson")
        out[f"{o}_share"] = np.where(ok, k / nobs, np.nan)
        out[f"{o}_ci_lower"] = np.where(ok, lo, np.nan)
        out[f"{o}_ci_upper"] = np.where(ok, hi, np.nan)
    if len(keys) == 1:
        out.index = pd.Index(out.index.get_level_values(0), name=cluster)
    out.columns.name = None
    return out


def origin_result(cells: pd.DataFrame, source: str, cluster: str = "cluster",
                  by: Sequence[str] = (), conf: float = 0.95,
                  warnings: Sequence[str] = (), rationale: str = "") -> Result:
    """The study report's Result of cell origin by cluster (one name, whatever the input).

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per cell with ``origin`` and the ``cluster`` and ``by`` columns.
    source : str
        How the per-cell calls were made (goes into the method text).
    cluster, by, conf :
        As in :func:`origin_by_cluster`.
    warnings : sequence of str
        Caveats of the input (e.g. a deprecated file).
    rationale : str
        Why these calls can be trusted (or when they cannot).

    Returns
    -------
    remission.results.Result
        ``immunogenetics.origin_by_cluster`` in section ``immunogenetics``.

    Examples
    --------
    >>> c = pd.DataFrame({"cluster": ["NK", "NK", "T"], "origin": ["product", "", "recipient"]})
    >>> r = origin_result(c, "a genotype demultiplexer")
    >>> r.name, float(r.cell("NK", "product_share"))
    ('immunogenetics.origin_by_cluster', 1.0)
    >>> r.warnings[0][:44]
    '1 of 3 cells (33.3%) without an origin call '

    """
    tab = origin_by_cluster(cells, cluster, "origin", by, conf)
    tot = tab.xs(ALL_CLUSTERS, level=cluster) if by else tab.loc[[ALL_CLUSTERS]]
    n, n_called = int(tot["n"].sum()), int(tot["n_called"].sum())
    warn = list(warnings)
    if n > n_called:
        warn.insert(0, f"{n - n_called} of {n} cells ({100 * (n - n_called) / n:.1f}%) "
                       "without an origin call (undetermined or doublet) are counted but "
                       "excluded from the shares")
    split = " and ".join([*by, cluster])
    return Result(
        RESULT_NAME, "Cell origin by cluster (recipient vs donor / product)", tab,
        method=(f"Per-cell origin calls ({source}) counted per {split}; share of each "
                f"origin among called cells (recipient, donor, product) with a {conf:.0%} "
                "Wilson interval; doublets and undetermined cells counted, never in a "
                "share."),
        rationale=rationale or ("Which compartment an expanding population comes from "
                                "(product or recipient) is read per cluster, not from bulk "
                                "chimerism."),
        warnings=tuple(warn),
        references=REFERENCES, section=SECTION,
        params={"cluster": cluster, "by": list(by), "conf": conf, "source": source})
