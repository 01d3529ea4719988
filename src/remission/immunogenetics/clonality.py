"""Integration-site (IS) clonality: diversity per sample, alerts, product -> blood tracking.

A clone is a unique integration site (chromosome, position, strand); its abundance is
the number of distinct sonic fragment lengths, UMIs or reads supporting it. All metrics
are computed on a samples x clones matrix, sorted once per row, in chunks (vectorised).

Definitions (p_i = clone share, S = observed clones, n_i = abundance):

* Shannon H = -sum p_i ln p_i (nats); Pielou J = H / ln S (Pielou 1966).
* Simpson = 1 - sum p_i^2 (Gini-Simpson, as scikit-bio ``simpson`` and vegan
  ``diversity(index = "simpson")``); inverse Simpson = 1 / sum p_i^2 (Simpson 1949).
* Gini coefficient of clone sizes, exact discrete form
  G = sum_i (2i - S - 1) n_(i) / (S sum n), ascending order (= mean absolute difference /
  (2 mean)); 0 = all clones equal.
* UC50 = fewest clones that together hold >= 50% of the abundance (Sherman 2017).
* Chao1, bias-corrected: S + F1 (F1 - 1) / (2 (F2 + 1)) with F1/F2 singletons/doubletons
  and its 95% CI by the EstimateS rules (Colwell; log-normal CI of Chao 1987 with
  singletons, eq. 14 without), as scikit-bio ``chao1_ci``; integer abundances only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from remission.results import Result

__all__ = [
    "clonality_metrics",
    "clonality_results",
    "clone_alerts",
    "clone_shares",
    "diversity_matrix",
    "sample_matrix",
    "track_product",
]

REFERENCES = (
    "Shannon CE. A mathematical theory of communication. Bell Syst Tech J 1948;27:379-423.",
    "Pielou EC. The measurement of diversity in different types of biological collections. "
    "J Theor Biol 1966;13:131-44.",
    "Simpson EH. Measurement of diversity. Nature 1949;163:688.",
    "Chao A. Estimating the population size for capture-recapture data with unequal "
    "catchability. Biometrics 1987;43:783-91 (Chao1 and its log-normal CI).",
    "Colwell RK. EstimateS: statistical estimation of species richness and shared species "
    "from samples, User's Guide, Appendix B (Chao1 variance eq. 6-7, CI eq. 13-14).",
    "Sherman E, Nobles C, Berry CC et al. INSPIIRED: a pipeline for quantitative analysis "
    "of sites of new DNA integration in cellular genomes. Mol Ther Methods Clin Dev "
    "2017;4:39-49 (UC50, sonic abundance).",
    "Berry CC, Gillet NA, Melamed A et al. Estimating abundances of retroviral insertion "
    "sites from DNA fragment length data. Bioinformatics 2012;28:755-62 (sonic abundance).",
)

METRICS = ("n_sites", "total_abundance", "shannon", "pielou", "simpson", "inv_simpson",
           "gini", "uc50", "top_clone_share", "top10_share", "chao1", "chao1_low",
           "chao1_high", "singletons", "doubletons")


def diversity_matrix(counts: np.ndarray, conf: float = 0.95) -> np.ndarray:
    """Every clonality metric per row of a samples x clones abundance matrix.

    Each row is reduced to its distinct positive values and their multiplicities (a
    histogram for whole-number abundances, a sort otherwise), from which every metric
    follows in one pass (compiled with numba, rows in parallel).

    Parameters
    ----------
    counts:
        2-D array, rows = samples, columns = clones (zeros = clone absent; negative or
        NaN abundances are errors and give a NaN row).
    conf:
        Confidence level of the Chao1 interval.

    Returns
    -------
    numpy.ndarray
        Shape (n_samples, len(METRICS)), columns in :data:`METRICS` order.

    Examples
    --------
    >>> m = diversity_matrix(np.array([[10, 5, 1, 1]]))
    >>> round(float(m[0, METRICS.index("inv_simpson")]), 6)
    2.275591
    """
    from remission.immunogenetics._kernels import row_metrics

    x = np.asarray(counts)
    if x.ndim != 2:
        raise ValueError("counts must be a samples x clones matrix")
    if x.dtype.kind not in "iuf":
        x = x.astype(float)
    elif x.dtype.kind == "u" or (x.dtype.kind == "i" and x.dtype != np.int64):
        x = x.astype(np.int64)
    elif x.dtype.kind == "f" and x.dtype != np.float64:
        x = x.astype(np.float64)
    out = np.full((x.shape[0], len(METRICS)), np.nan)
    row_metrics(np.ascontiguousarray(x), float(special.ndtri(0.5 + conf / 2)), out)
    return out


def sample_matrix(sites: pd.DataFrame, sample: str = "sample", site: str = "site",
                  abundance: str = "abundance") -> tuple[np.ndarray, pd.Index]:
    """Long table -> padded samples x clones matrix (clone order irrelevant per row).

    Parameters
    ----------
    sites:
        One row per (sample, site) with an abundance; repeated rows of one site in one
        sample are summed.
    sample, site, abundance:
        Column names.

    Returns
    -------
    tuple
        ``(matrix, samples)``: rows padded with zeros to the largest sample.

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["a", "a", "b"], "site": ["x", "y", "x"],
    ...                   "abundance": [3, 1, 2]})
    >>> sample_matrix(t)[0].tolist()
    [[3.0, 1.0], [2.0, 0.0]]
    """
    g = sites.groupby([sample, site], sort=False, observed=True)[abundance].sum()
    g = g[g > 0]
    codes, samples = pd.factorize(g.index.get_level_values(0), sort=True)
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    vals = g.to_numpy(dtype=float)[order]
    counts = np.bincount(codes, minlength=len(samples))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(len(codes)) - starts[codes]
    mat = np.zeros((len(samples), int(counts.max()) if len(counts) else 0))
    mat[codes, col] = vals
    return mat, pd.Index(samples, name=sample)


def site_keys(sites: pd.DataFrame) -> pd.Series:
    """``chr:position:strand`` clone key of each row.

    Parameters
    ----------
    sites : DataFrame
        Integration sites with ``chromosome``, ``position`` and ``strand``.

    Returns
    -------
    Series of str
        One key per row (same index); the same site in two samples has the same key.

    Examples
    --------
    >>> sites = pd.DataFrame({"sample": ["S1"] * 4 + ["S2"] * 3, "chromosome": "chr1",
    ...                       "position": [100, 200, 300, 400, 100, 200, 500],
    ...                       "strand": ["+", "+", "-", "+", "+", "+", "-"],
    ...                       "abundance": [10, 10, 10, 10, 70, 20, 10]})
    >>> samples = pd.DataFrame({"patient": "P1", "source": "blood", "day": [30, 90]},
    ...                        index=["S1", "S2"])
    >>> site_keys(sites).tolist()[:3]
    ['chr1:100:+', 'chr1:200:+', 'chr1:300:-']
    """
    return (sites["chromosome"].astype(str) + ":" + sites["position"].astype("int64").astype(str)
            + ":" + sites["strand"].astype(str))


def clonality_metrics(sites: pd.DataFrame, conf: float = 0.95,
                      meta: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-sample metric table from a long IS table.

    Parameters
    ----------
    sites:
        Columns ``sample``, ``chromosome``, ``position``, ``strand``, ``abundance``.
    conf:
        Chao1 CI level.
    meta:
        Optional per-sample columns (patient, source, day) joined on the left.

    Returns
    -------
    pandas.DataFrame
        Index = sample, columns :data:`METRICS` (and ``meta`` columns first).

    References
    ----------
    Shannon CE. Bell Syst Tech J 1948;27:379-423. Simpson EH. Nature 1949;163:688. Chao A.
    Scand J Stat 1984;11:265-270.

    Examples
    --------
    S2's shares 0.7, 0.2, 0.1: Shannon -(0.7 ln 0.7 + 0.2 ln 0.2 + 0.1 ln 0.1) = 0.8018,
    Simpson 1 - (0.49 + 0.04 + 0.01) = 0.46, Pielou 0.8018 / ln 3 = 0.7298; S1 (four
    equal clones) has Shannon ln 4 and Gini 0:

    >>> sites = pd.DataFrame({"sample": ["S1"] * 4 + ["S2"] * 3, "chromosome": "chr1",
    ...                       "position": [100, 200, 300, 400, 100, 200, 500],
    ...                       "strand": ["+", "+", "-", "+", "+", "+", "-"],
    ...                       "abundance": [10, 10, 10, 10, 70, 20, 10]})
    >>> samples = pd.DataFrame({"patient": "P1", "source": "blood", "day": [30, 90]},
    ...                        index=["S1", "S2"])
    >>> m = clonality_metrics(sites)
    >>> m.loc["S2", ["shannon", "simpson", "pielou", "top_clone_share"]].round(4).tolist()
    [0.8018, 0.46, 0.7298, 0.7]
    >>> round(float(m.loc["S1", "shannon"]) - float(np.log(4)), 9), float(m.loc["S1", "gini"])
    (0.0, 0.0)
    """
    t = sites.assign(site=site_keys(sites))
    mat, samples = sample_matrix(t)
    df = pd.DataFrame(diversity_matrix(mat, conf), index=samples, columns=list(METRICS))
    if meta is not None:
        df = meta.reindex(samples).join(df)
    return df


def clone_shares(sites: pd.DataFrame) -> pd.DataFrame:
    """Share of each clone within its sample (adds ``site`` and ``share`` columns).

    Parameters
    ----------
    sites:
        Long IS table (``sample, chromosome, position, strand, abundance``).

    Returns
    -------
    pandas.DataFrame
        ``sample, site, abundance, share`` (repeated rows of one site summed).

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["s", "s"], "chromosome": ["chr1", "chr2"],
    ...                   "position": [10, 20], "strand": ["+", "-"], "abundance": [3, 1]})
    >>> clone_shares(t)["share"].tolist()
    [0.75, 0.25]
    """
    t = sites.assign(site=site_keys(sites))
    t = t.groupby(["sample", "site"], sort=True, as_index=False)["abundance"].sum()
    t["share"] = t["abundance"] / t.groupby("sample")["abundance"].transform("sum")
    return t


def clone_alerts(sites: pd.DataFrame, samples: pd.DataFrame, share: float = 0.20,
                 growth_fold: float = 2.0, growth_min_share: float = 0.05) -> pd.DataFrame:
    """Clones that pass ``share`` in a sample, or grow over time within a patient.

    Parameters
    ----------
    sites:
        Long IS table (``sample, chromosome, position, strand, abundance``).
    samples:
        Index = sample; columns ``patient``, ``source`` (product/blood/marrow), ``day``.
    share:
        Dominance alert threshold (a clone holding >= this share).
    growth_fold, growth_min_share:
        Growth alert: a clone's share rises >= ``growth_fold`` times between consecutive
        post-infusion samples of one patient and one compartment (``source``: blood is not
        compared with marrow) and reaches >= ``growth_min_share``.

    Returns
    -------
    pandas.DataFrame
        One row per alert: patient, sample, day, site, share, alert, detail.

    Examples
    --------
    The 0.2 dominance threshold is inclusive; chr1:100:+ grows from 25 % to 70 % (2.8-fold):

    >>> sites = pd.DataFrame({"sample": ["S1"] * 4 + ["S2"] * 3, "chromosome": "chr1",
    ...                       "position": [100, 200, 300, 400, 100, 200, 500],
    ...                       "strand": ["+", "+", "-", "+", "+", "+", "-"],
    ...                       "abundance": [10, 10, 10, 10, 70, 20, 10]})
    >>> samples = pd.DataFrame({"patient": "P1", "source": "blood", "day": [30, 90]},
    ...                        index=["S1", "S2"])
    >>> a = clone_alerts(sites, samples)
    >>> for row in a[a["sample"] == "S2"][["site", "share", "alert"]].values.tolist():
    ...     print(row)
    ['chr1:100:+', 0.7, 'dominant clone']
    ['chr1:200:+', 0.2, 'dominant clone']
    ['chr1:100:+', 0.7, 'growing clone']
    """
    sh = clone_shares(sites).join(samples[["patient", "source", "day"]], on="sample")
    rows = []
    dom = sh[sh["share"] >= share]
    for r in dom.itertuples():
        rows.append((r.patient, r.sample, r.day, r.site, r.share, "dominant clone",
                     f"share {r.share:.1%} >= {share:.0%}"))
    # one series per patient, compartment (blood, marrow, ...) and clone
    post = sh[sh["source"] != "product"].sort_values(["patient", "source", "site", "day"])
    prev = post.groupby(["patient", "source", "site"])["share"].shift(1)
    prev_day = post.groupby(["patient", "source", "site"])["day"].shift(1)
    grow = post[(post["share"] >= growth_fold * prev) & (post["share"] >= growth_min_share)]
    for r, p, pd_ in zip(grow.itertuples(), prev[grow.index], prev_day[grow.index],
                         strict=True):
        rows.append((r.patient, r.sample, r.day, r.site, r.share, "growing clone",
                     f"share {p:.1%} on day {pd_:g} -> {r.share:.1%} on day {r.day:g}"))
    return pd.DataFrame(rows, columns=["patient", "sample", "day", "site", "share", "alert",
                                       "detail"])


def _dominance(x: np.ndarray) -> np.ndarray:
    """Simpson dominance sum p^2 of each row of a count matrix (0 for an empty row)."""
    tot = x.sum(axis=-1, keepdims=True)
    return ((x / np.where(tot > 0, tot, 1)) ** 2).sum(axis=-1)


def track_product(sites: pd.DataFrame, samples: pd.DataFrame, n_resamples: int = 999,
                  seed: int = 20261129) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clones shared between each patient's product and later samples, and a permutation
    test of whether each later sample is more oligoclonal than the product.

    Fold expansion of a shared clone = its share in the later sample / its share in the
    product. Test: under the null hypothesis the later sample and the product are two
    samples of the same clone-size distribution, so their pooled abundance units (sonic
    fragments, UMIs or reads) are exchangeable. The statistic is the difference in Simpson
    dominance (sum p^2 over all clones of each sample), later sample minus product; its
    null distribution comes from ``n_resamples`` random splits of the pooled counts per
    clone into the two sample sizes (multivariate hypergeometric),
    P = (1 + #{permuted >= observed}) / (n_resamples + 1) (Phipson & Smyth 2010). A small
    P means the later sample is dominated by fewer clones than the product explains
    (oligoclonal expansion). Non-integer abundances are rounded to whole units for the
    test.

    Parameters
    ----------
    sites:
        Long IS table.
    samples:
        Index = sample; ``patient``, ``source``, ``day``. One product sample per patient
        (``source == "product"``); products may be shared by several patients.
    n_resamples:
        Random splits of the pooled counts.
    seed:
        Random seed (same input and seed -> same output).

    Returns
    -------
    tuple of DataFrame
        ``(shared, tests)``: shared clones with shares and fold expansion; per later
        sample the number of shared clones, their summed share in the sample, the
        dominance of the sample and of the product, their difference, the 95th
        percentile of the permuted differences, and P.

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["p"] * 4 + ["b"] * 4, "chromosome": "chr1",
    ...                   "position": [1, 2, 3, 4] * 2, "strand": "+",
    ...                   "abundance": [25, 25, 25, 25, 97, 1, 1, 1]})
    >>> m = pd.DataFrame({"patient": ["P", "P"], "source": ["product", "blood"],
    ...                   "day": [np.nan, 14]}, index=["p", "b"])
    >>> float(track_product(t, m, n_resamples=99)[1]["p_oligoclonal"].iloc[0])
    0.01
    """
    sh = clone_shares(sites).join(samples[["patient", "source", "day"]], on="sample")
    rng = np.random.default_rng(seed)
    shared_parts, tests = [], []
    for patient, sub in sh.groupby("patient", sort=True):
        prod = sub[sub["source"] == "product"]
        if prod.empty:
            continue
        pab = prod.groupby("site")["abundance"].sum()
        pshare = pab / pab.sum()
        for smp, post in sub[sub["source"] != "product"].groupby("sample", sort=False):
            post = post.set_index("site")
            common = post.index.intersection(pshare.index)
            day = post["day"].iloc[0]
            ps_, ss_ = pshare.loc[common].to_numpy(), post.loc[common, "share"].to_numpy()
            shared_parts.append(pd.DataFrame({
                "patient": patient, "sample": smp, "day": day, "site": common.to_numpy(),
                "product_share": ps_, "sample_share": ss_, "fold_expansion": ss_ / ps_}))
            clones = pab.index.union(post.index)
            pc = np.rint(pab.reindex(clones, fill_value=0).to_numpy(float)).astype(np.int64)
            bc = np.rint(post["abundance"].reindex(clones, fill_value=0).to_numpy(float)
                         ).astype(np.int64)
            d_b, d_p = float(_dominance(bc)), float(_dominance(pc))
            obs = d_b - d_p
            if bc.sum() > 0 and pc.sum() > 0:
                pool = pc + bc
                draws = rng.multivariate_hypergeometric(
                    pool, int(bc.sum()), size=n_resamples,
                    method="count" if pool.sum() <= 10_000_000 else "marginals")
                sim = _dominance(draws) - _dominance((pc + bc) - draws)
                p = (1 + np.sum(sim >= obs - 1e-12)) / (n_resamples + 1)
                q95 = float(np.quantile(sim, 0.95))
            else:
                p = q95 = np.nan
            tests.append((patient, smp, day, len(common), float(post.loc[common, "share"].sum()),
                          d_b, d_p, obs, q95, p))
    cols = ["patient", "sample", "day", "site", "product_share", "sample_share",
            "fold_expansion"]
    shared = (pd.concat(shared_parts, ignore_index=True) if shared_parts
              else pd.DataFrame(columns=cols))
    tests_df = pd.DataFrame(tests, columns=["patient", "sample", "day", "n_shared",
                                            "shared_share", "dominance_sample",
                                            "dominance_product", "dominance_difference",
                                            "difference_permuted_q95", "p_oligoclonal"])
    return shared, tests_df


def clonality_results(sites: pd.DataFrame, samples: pd.DataFrame, *, alert_share: float = 0.20,
                      growth_fold: float = 2.0, growth_min_share: float = 0.05,
                      conf: float = 0.95, n_resamples: int = 999, seed: int = 20261129,
                      top_shared: int = 10, notes: Sequence[str] = ()) -> list[Result]:
    """Results: per-sample metrics, alerts, shared clones product -> blood, test.

    Parameters
    ----------
    sites, samples:
        As :func:`clone_alerts`.
    alert_share, growth_fold, growth_min_share:
        Alert thresholds.
    conf:
        Chao1 CI level.
    n_resamples, seed:
        Oligoclonality test.
    top_shared:
        Largest shared clones listed per sample (by sample share).
    notes:
        Reader warnings.

    Returns
    -------
    list of Result

    Examples
    --------
    >>> sites = pd.DataFrame({"sample": ["S1"] * 4 + ["S2"] * 3, "chromosome": "chr1",
    ...                       "position": [100, 200, 300, 400, 100, 200, 500],
    ...                       "strand": ["+", "+", "-", "+", "+", "+", "-"],
    ...                       "abundance": [10, 10, 10, 10, 70, 20, 10]})
    >>> samples = pd.DataFrame({"patient": "P1", "source": "blood", "day": [30, 90]},
    ...                        index=["S1", "S2"])
    >>> res = clonality_results(sites, samples, n_resamples=99)
    >>> [r.name for r in res]
    ['immunogenetics.is_diversity', 'immunogenetics.is_alerts']
    >>> int((res[1].table["alert"] == "growing clone").sum())
    1
    """
    meta = samples[["patient", "source", "day"]]
    met = clonality_metrics(sites, conf, meta)
    met.index = met.index.astype(str)
    nonint = bool((sites["abundance"] % 1 != 0).any())
    warn = list(notes)
    if nonint:
        warn.append("abundances are not whole numbers: Chao1 (singletons/doubletons) is "
                    "not meaningful")
    low = met[met["n_sites"] < 10]
    if len(low):
        warn.append("fewer than 10 unique sites in " + ", ".join(low.index) +
                    ": diversity indices are unstable")
    out = [Result(
        "immunogenetics.is_diversity", "Integration-site clonality per sample", met,
        method=("Unique sites, Shannon entropy (nats) and Pielou evenness, Simpson "
                "(1 - sum p^2) and inverse Simpson, Gini coefficient of clone sizes, UC50, "
                "top-clone and top-10 share, bias-corrected Chao1 with the Chao 1987 "
                f"log-normal {conf:.0%} CI."),
        rationale="Several indices because they weigh rare and dominant clones differently; "
                  "all computed on the same clone abundances.",
        warnings=tuple(warn), references=REFERENCES, section="immunogenetics",
        params={"conf": conf})]
    al = clone_alerts(sites, samples, alert_share, growth_fold, growth_min_share)
    al.index = pd.Index([f"{r.sample} | {r.site} | {r.alert}" for r in al.itertuples()])
    out.append(Result(
        "immunogenetics.is_alerts", "Integration-site clone alerts", al,
        method=(f"A clone holding >= {alert_share:.0%} of a sample's abundance (dominant), or "
                f"whose share rose >= {growth_fold:g}-fold between consecutive post-infusion "
                f"samples of a patient and compartment to >= {growth_min_share:.0%} "
                "(growing)."),
        rationale="Thresholds are settings (immunogenetics.toml [integration_sites]); a "
                  "dominant clone prompts review of its nearest gene and follow-up sampling.",
        warnings=() if len(al) else ("no clone passed the alert thresholds",),
        section="immunogenetics",
        params={"alert_share": alert_share, "growth_fold": growth_fold,
                "growth_min_share": growth_min_share}))
    shared, tests = track_product(sites, samples, n_resamples, seed)
    if len(tests):
        top = (shared.sort_values(["patient", "sample", "sample_share"],
                                  ascending=[True, True, False])
               .groupby(["patient", "sample"], sort=False).head(top_shared))
        top.index = pd.Index([f"{r.sample} | {r.site}" for r in top.itertuples()])
        out.append(Result(
            "immunogenetics.is_shared", "Product clones found after infusion (largest)", top,
            method=("Clones (identical chromosome, position, strand) present in the infused "
                    "product and in a later sample; fold expansion = share in the sample / "
                    f"share in the product. Up to {top_shared} largest per sample."),
            references=REFERENCES[4:], section="immunogenetics"))
        tests.index = pd.Index([f"{r.patient} | {r.sample}" for r in tests.itertuples()])
        out.append(Result(
            "immunogenetics.is_oligoclonality",
            "Oligoclonal expansion vs the product (permutation)",
            tests,
            method=("Permutation test: statistic = Simpson dominance (sum p^2) of the "
                    "sample minus that of the product; null = the pooled abundance units of "
                    f"each clone split at random into the two sample sizes, {n_resamples} "
                    "times (multivariate hypergeometric); P = (1 + #permuted >= observed) / "
                    "(splits + 1)."),
            rationale=("Under no selection the product and a later sample are two samples "
                       "of one clone-size distribution and their units are exchangeable; a "
                       "sample dominated by few clones (oligoclonal expansion) is not. Every "
                       "clone of both samples enters the statistic (a clone seen only after "
                       "infusion is a product clone missed by the product sample). A "
                       "Monte-Carlo test against multinomial draws from the product's shares "
                       "restricted to the shared clones rejected 9.5% of simulated null "
                       "samples at 5% (not used)."),
            references=("Phipson B, Smyth GK. Permutation P-values should never be zero. "
                        "Stat Appl Genet Mol Biol 2010;9:39.",),
            section="immunogenetics", params={"n_resamples": n_resamples, "seed": seed}))
    return out
