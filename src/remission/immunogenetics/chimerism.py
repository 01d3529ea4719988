"""Chimerism: donor fraction from STR/InDel peak areas and from SNP allele fractions.

STR / InDel (per informative locus): signal is proportional to allele copies, so with
recipient fraction r and donor fraction d = 1 - r, an allele's area is proportional to
r x (copies in the recipient) + d x (copies in the donor). With unique (non-shared)
alleles on both sides

    d = (D_u / n_D) / (D_u / n_D + R_u / n_R)

(D_u, R_u: summed areas of donor-only and recipient-only alleles; n_D, n_R: their copy
numbers per genome, 1 or 2). This gives the standard constellation formulas: no shared
allele d = sum D / (sum D + sum R); one shared allele, both heterozygous d = D_u / (D_u +
R_u); recipient a/b with donor c/c d = c / (a + b + c). When only one side has a unique
allele the shared peak is needed: donor a/a, recipient a/b: r = 2 b / (a + b); recipient
a/a, donor a/c: d = 2 c / (a + c) (Thiede 2004; Kristt 2007). Identical genotypes are not
informative. Loci are combined by the mean with a t interval over informative loci.

SNP (per informative SNP, reads): the expected alternative-allele fraction is
sum_k f_k g_k / 2 over recipient and up to two donors (g = 0, 1, 2 alt copies), mixed with
a sequencing error e; the fractions f maximise the binomial likelihood; 95% CIs by
profile likelihood (chi-square 1 df).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from remission.immunogenetics.origin import (  # kept importable from here (one implementation)
    origin_by_cluster as origin_by_cluster,
)
from remission.results import Result

REFERENCES = (
    "Thiede C, Bornhauser M, Ehninger G. Evaluation of STR informativity for chimerism "
    "testing - comparative analysis of 27 STR systems in 203 matched related donor "
    "recipient pairs. Leukemia 2004;18:248-54.",
    "Kristt D, Stein J, Yaniv I, Klein T. Assessing quantitative chimerism longitudinally: "
    "technical considerations, clinical applications and routine feasibility. Bone Marrow "
    "Transplant 2007;39:255-68 (formulas per donor/recipient allele constellation).",
    "Bader P, Kreyenberg H, Hoelle W et al. Increasing mixed chimerism is an important "
    "prognostic factor for unfavorable outcome in children with acute lymphoblastic "
    "leukemia after allogeneic stem-cell transplantation. J Clin Oncol 2004;22:1696-705.",
)


def locus_donor_fraction(recipient: tuple[str, str], donor: tuple[str, str],
                         areas: dict[str, float]) -> tuple[float, str]:
    """Donor fraction at one STR/InDel locus and the formula used.

    Parameters
    ----------
    recipient, donor:
        Genotypes (two alleles; homozygous = the same allele twice).
    areas:
        Peak area (or allele count) per allele observed in the sample.

    Returns
    -------
    tuple
        ``(donor_fraction, formula)``; NaN and ``"not informative"`` for identical
        genotypes.

    Examples
    --------
    >>> locus_donor_fraction(("10", "12"), ("10", "13"), {"10": 50, "12": 10, "13": 40})
    (0.8, 'D_u/(D_u+R_u)')
    >>> locus_donor_fraction(("10", "12"), ("10", "10"), {"10": 90, "12": 10})
    (0.8, '1-2R_u/(total)')
    """
    rc = pd.Series(list(recipient)).value_counts()
    dc = pd.Series(list(donor)).value_counts()
    r_only = [a for a in rc.index if a not in dc.index]
    d_only = [a for a in dc.index if a not in rc.index]
    if not r_only and not d_only:
        return float("nan"), "not informative"
    area = {a: float(areas.get(a, 0.0)) for a in set(rc.index) | set(dc.index)}
    tot = sum(area.values())
    if tot <= 0:
        return float("nan"), "no signal"
    if r_only and d_only:
        du, nd = sum(area[a] for a in d_only), sum(dc[a] for a in d_only)
        ru, nr = sum(area[a] for a in r_only), sum(rc[a] for a in r_only)
        if du + ru == 0:
            return float("nan"), "no signal at informative alleles"
        d = (du / nd) / (du / nd + ru / nr)
        shared = set(rc.index) & set(dc.index)
        return float(d), ("D_u/(D_u+R_u)" if shared else "sum D/(sum D+sum R)")
    if r_only:  # donor alleles all shared with the recipient
        ru, nr = sum(area[a] for a in r_only), sum(rc[a] for a in r_only)
        return float(1 - (ru / nr) / (tot / 2)), "1-2R_u/(total)"
    du, nd = sum(area[a] for a in d_only), sum(dc[a] for a in d_only)
    return float((du / nd) / (tot / 2)), "2D_u/(total)"


def str_chimerism(genotypes: pd.DataFrame, peaks: pd.DataFrame, conf: float = 0.95
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-locus and combined donor chimerism for each sample (patient, day, lineage).

    Parameters
    ----------
    genotypes:
        ``patient``, ``role`` (recipient/donor), ``locus``, ``allele_1``, ``allele_2``.
    peaks:
        ``patient``, ``sample``, ``day``, ``lineage``, ``locus``, ``allele``, ``area``.
    conf:
        Level of the t interval across informative loci.

    Returns
    -------
    tuple of DataFrame
        ``(per_locus, combined)``; combined has ``donor_pct``, ``low``, ``high``,
        ``n_loci``, ``sd``.
    """
    g = genotypes.set_index(["patient", "role", "locus"])
    rows = []
    for (pat, smp, day, lin, loc), sub in peaks.groupby(
            ["patient", "sample", "day", "lineage", "locus"], sort=True):
        try:
            rg = tuple(g.loc[(pat, "recipient", loc), ["allele_1", "allele_2"]])
            dg = tuple(g.loc[(pat, "donor", loc), ["allele_1", "allele_2"]])
        except KeyError:
            rows.append((pat, smp, day, lin, loc, np.nan, "genotype missing"))
            continue
        d, how = locus_donor_fraction(rg, dg, dict(zip(sub["allele"].astype(str),
                                                       sub["area"], strict=True)))
        rows.append((pat, smp, day, lin, loc, d, how))
    per = pd.DataFrame(rows, columns=["patient", "sample", "day", "lineage", "locus",
                                      "donor_fraction", "formula"])
    comb = []
    for (pat, smp, day, lin), sub in per.groupby(["patient", "sample", "day", "lineage"],
                                                 sort=True):
        x = sub["donor_fraction"].dropna().clip(0, 1).to_numpy() * 100
        n = len(x)
        m = float(x.mean()) if n else np.nan
        sd = float(x.std(ddof=1)) if n > 1 else np.nan
        if n > 1:
            h = stats.t.ppf(0.5 + conf / 2, n - 1) * sd / np.sqrt(n)
            lo, hi = max(0.0, m - h), min(100.0, m + h)
        else:
            lo = hi = np.nan
        comb.append((pat, smp, day, lin, m, lo, hi, n, sd))
    combined = pd.DataFrame(comb, columns=["patient", "sample", "day", "lineage", "donor_pct",
                                           "low", "high", "n_loci", "sd"])
    return per, combined


def chimerism_alerts(combined: pd.DataFrame, full_donor: float = 95.0,
                     drop_points: float = 10.0) -> pd.DataFrame:
    """Classify each sample and flag loss of donor chimerism.

    Parameters
    ----------
    combined:
        Output of :func:`str_chimerism` (or SNP results with ``donor_pct``).
    full_donor:
        Complete donor chimerism at >= this donor % (default 95%); below = mixed.
    drop_points:
        Loss-of-donor alert when the donor % of one patient and lineage falls by >= this
        many percentage points from the previous sample, or a sample turns from complete
        to mixed (increasing mixed chimerism, Bader 2004).

    Returns
    -------
    pandas.DataFrame
        ``combined`` plus ``status`` and ``alert``.

    Examples
    --------
    >>> c = pd.DataFrame({"patient": ["1", "1"], "lineage": ["CD3", "CD3"], "day": [14, 28],
    ...                   "donor_pct": [98.0, 80.0]})
    >>> chimerism_alerts(c)["status"].tolist()
    ['complete donor', 'mixed']
    """
    out = combined.sort_values(["patient", "lineage", "day"]).copy()
    out["status"] = np.where(out["donor_pct"].isna(), "not assessable",
                             np.where(out["donor_pct"] >= full_donor, "complete donor",
                                      "mixed"))
    prev = out.groupby(["patient", "lineage"])["donor_pct"].shift(1)
    prev_status = out.groupby(["patient", "lineage"])["status"].shift(1)
    alert = np.full(len(out), "", dtype=object)
    drop = (prev - out["donor_pct"]) >= drop_points
    turned = (prev_status == "complete donor") & (out["status"] == "mixed")
    alert[drop.to_numpy()] = [f"donor fell {p - c:.1f} points ({p:.1f}% -> {c:.1f}%)"
                              for p, c in zip(prev[drop], out.loc[drop, "donor_pct"],
                                              strict=True)]
    for i in np.flatnonzero(turned.to_numpy() & ~drop.to_numpy()):
        alert[i] = "complete -> mixed chimerism"
    out["alert"] = alert
    return out


# ------------------------------------------------------------------------------- SNPs


def _expected_af(f: np.ndarray, g: np.ndarray, err: float) -> np.ndarray:
    """f: fractions (n_sources,), g: genotypes (n_snps, n_sources) in alt copies."""
    af = g @ f / 2.0
    return af * (1 - err) + (1 - af) * err


def snp_donor_fractions(genotypes: np.ndarray, alt: np.ndarray, depth: np.ndarray,
                        err: float = 0.005, conf: float = 0.95) -> dict:
    """Maximum-likelihood source fractions from SNP reads (recipient + 1 or 2 donors).

    Parameters
    ----------
    genotypes:
        (n_snps, n_sources) alternative-allele copies (0/1/2); column 0 = recipient.
    alt, depth:
        Alternative-allele reads and total reads per SNP in the mixed sample.
    err:
        Per-read error rate.
    conf:
        Profile-likelihood interval level.

    Returns
    -------
    dict
        ``fractions`` (per source, sums to 1), ``low``/``high`` per source,
        ``n_informative``, ``loglik``.

    Examples
    --------
    >>> g = np.array([[0, 2], [2, 0], [0, 1], [1, 2]])
    >>> d = np.full(4, 1000)
    >>> a = np.array([300, 700, 150, 650])
    >>> [round(x, 3) for x in snp_donor_fractions(g, a, d, err=0.0)["fractions"]]
    [0.7, 0.3]
    """
    g = np.asarray(genotypes, float)
    alt, depth = np.asarray(alt, float), np.asarray(depth, float)
    inform = (g.max(axis=1) != g.min(axis=1)) & (depth > 0)
    g, alt, depth = g[inform], alt[inform], depth[inform]
    k = g.shape[1]

    def nll(f):
        p = np.clip(_expected_af(f, g, err), 1e-12, 1 - 1e-12)
        return -float(np.sum(alt * np.log(p) + (depth - alt) * np.log1p(-p)))

    crit = stats.chi2.ppf(conf, 1) / 2
    if k == 2:
        res = optimize.minimize_scalar(lambda d: nll(np.array([1 - d, d])), bounds=(0, 1),
                                       method="bounded", options={"xatol": 1e-10})
        dhat, best = float(res.x), float(res.fun)

        def prof(d):
            return nll(np.array([1 - d, d])) - best - crit

        lo = 0.0 if prof(0.0) <= 0 else optimize.brentq(prof, 0.0, dhat) if dhat > 0 else 0.0
        hi = 1.0 if prof(1.0) <= 0 else optimize.brentq(prof, dhat, 1.0) if dhat < 1 else 1.0
        f = np.array([1 - dhat, dhat])
        return {"fractions": f.tolist(), "low": [1 - hi, lo], "high": [1 - lo, hi],
                "n_informative": int(inform.sum()), "loglik": -best}
    if k != 3:
        raise ValueError("one recipient and one or two donors")

    def nll2(x):
        return nll(np.array([1 - x[0] - x[1], x[0], x[1]]))

    cons = [{"type": "ineq", "fun": lambda x: 1 - x[0] - x[1]}]
    starts = [(0.2, 0.2), (0.6, 0.2), (0.2, 0.6), (0.45, 0.45)]
    fits = [optimize.minimize(nll2, s, method="SLSQP", bounds=[(0, 1), (0, 1)],
                              constraints=cons, options={"ftol": 1e-12, "maxiter": 500})
            for s in starts]
    fit = min(fits, key=lambda r: r.fun)
    x, best = np.clip(fit.x, 0, 1), float(fit.fun)

    def profile(j: int, v: float) -> float:
        # maximise over the other donor fraction with donor j fixed at v
        r = optimize.minimize_scalar(
            lambda u: nll2(np.array([v, u]) if j == 0 else np.array([u, v])),
            bounds=(0, max(1e-12, 1 - v)), method="bounded", options={"xatol": 1e-10})
        return float(r.fun) - best - crit

    lows, highs = [], []
    for j in (0, 1):
        v = x[j]
        def pj(t: float, j: int = j) -> float:
            return profile(j, t)

        lo = 0.0 if pj(0.0) <= 0 else optimize.brentq(pj, 0.0, v)
        hi = 1.0 if pj(1.0) <= 0 else optimize.brentq(pj, v, 1.0 - 1e-12)
        lows.append(lo)
        highs.append(hi)
    f = np.array([1 - x[0] - x[1], x[0], x[1]])
    return {"fractions": f.tolist(), "low": [np.nan, *lows], "high": [np.nan, *highs],
            "n_informative": int(inform.sum()), "loglik": -best}


def chimerism_results(genotypes: pd.DataFrame | None = None, peaks: pd.DataFrame | None = None,
                      snps: pd.DataFrame | None = None, full_donor: float = 95.0,
                      drop_points: float = 10.0, snp_error: float = 0.005,
                      conf: float = 0.95) -> list[Result]:
    """Chimerism Results of a study (STR/InDel and/or SNP).

    Parameters
    ----------
    genotypes, peaks:
        STR/InDel genotypes and sample peak areas (see :func:`str_chimerism`).
    snps:
        Long SNP table: ``patient, sample, day, lineage, snp, source, genotype, alt,
        depth``: one row per SNP x source giving the source's genotype (0/1/2) and the
        sample's alt/total reads (repeated). ``source`` = ``recipient`` or a donor name.
    full_donor, drop_points:
        Thresholds of :func:`chimerism_alerts`.
    snp_error:
        Sequencing error rate.
    conf:
        Interval level.

    Returns
    -------
    list of Result
    """
    out: list[Result] = []
    if genotypes is not None and peaks is not None and len(peaks):
        per, comb = str_chimerism(genotypes, peaks, conf)
        alerts = chimerism_alerts(comb, full_donor, drop_points)
        per.index = pd.Index([f"{r.sample} | {r.lineage} | {r.locus}"
                              for r in per.itertuples()])
        alerts.index = pd.Index([f"{r.patient} | {r.sample} | {r.lineage}"
                                 for r in alerts.itertuples()])
        noninf = per[per["formula"] == "not informative"]
        warn = []
        none = alerts[alerts["n_loci"] == 0]
        for r in none.itertuples():
            warn.append(f"{r.patient} {r.sample} {r.lineage}: no informative locus")
        if len(noninf):
            warn.append(f"{noninf['locus'].nunique()} locus/loci not informative for some "
                        "patients (identical donor and recipient genotypes) were skipped")
        out.append(Result(
            "immunogenetics.chimerism_loci", "STR/InDel donor fraction per locus", per,
            method=("Donor fraction from peak areas of donor-only and recipient-only alleles "
                    "weighted by copy number; shared-allele formulas where only one side has "
                    "a unique allele (Thiede 2004; Kristt 2007)."),
            references=REFERENCES[:2], section="immunogenetics", warnings=tuple(warn)))
        out.append(Result(
            "immunogenetics.chimerism", "Donor chimerism by lineage over time", alerts,
            method=(f"Mean donor % over informative loci with a {conf:.0%} t interval; "
                    f"complete donor chimerism at >= {full_donor:g}%, else mixed; alert when "
                    f"donor % falls by >= {drop_points:g} points from the previous sample of "
                    "the same lineage or turns from complete to mixed."),
            rationale="Lineage-specific chimerism (e.g. CD3, CD33, CD56) separates loss of "
                      "donor T/NK cells from relapse; increasing mixed chimerism predicts "
                      "relapse (Bader 2004).",
            references=REFERENCES, section="immunogenetics",
            params={"full_donor": full_donor, "drop_points": drop_points, "conf": conf}))
    if snps is not None and len(snps):
        rows, keys = [], []
        for (pat, smp, day, lin), sub in snps.groupby(["patient", "sample", "day", "lineage"],
                                                      sort=True):
            wide = sub.pivot_table(index="snp", columns="source", values="genotype",
                                   aggfunc="first")
            donors = sorted(c for c in wide.columns if c != "recipient")
            wide = wide[["recipient", *donors]].dropna()
            reads = sub.groupby("snp")[["alt", "depth"]].first().loc[wide.index]
            fit = snp_donor_fractions(wide.to_numpy(), reads["alt"].to_numpy(),
                                      reads["depth"].to_numpy(), snp_error, conf)
            for j, src in enumerate(["recipient", *donors]):
                keys.append(f"{pat} | {smp} | {lin} | {src}")
                rows.append((pat, smp, day, lin, src, 100 * fit["fractions"][j],
                             100 * fit["low"][j], 100 * fit["high"][j], fit["n_informative"]))
        tab = pd.DataFrame(rows, index=keys,
                           columns=["patient", "sample", "day", "lineage", "source", "pct",
                                    "low", "high", "n_informative"])
        out.append(Result(
            "immunogenetics.chimerism_snp", "SNP-based chimerism (maximum likelihood)", tab,
            method=("Binomial likelihood of alternative-allele reads at SNPs where recipient "
                    "and donor genotypes differ; expected allele fraction = sum of source "
                    f"fractions x genotype / 2 with read error {snp_error:g}; fractions of "
                    "recipient and up to two donors by maximum likelihood, "
                    f"{conf:.0%} profile-likelihood intervals for the donors."),
            rationale="Two donors (transplant donor and a third-party or donor-derived "
                      "product) cannot be separated by a single donor fraction.",
            section="immunogenetics", params={"snp_error": snp_error}))
    return out
