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

Stutter: PCR makes a minor "back-stutter" product one repeat unit shorter than each allele
(n-1; e.g. 13 from 14, 8.3 from 9.3), a locus-specific fraction of the parent peak
(Brookes 2012). An informative allele of one party in the n-1 position of the other
party's allele therefore carries stutter of that allele and biases the donor fraction.
``stutter="flag"`` (default) computes as above and lists such alleles; ``"exclude"``
leaves the locus out (a conservative choice of this toolkit, not a published rule);
``"correct"`` subtracts ``ratio`` x the parent's stutter-free area from each allele whose
n+1 allele is in the genotypes, from the longest allele down: T(a) = O(a) - r T(a+1).

SNP (per informative SNP, reads): the expected alternative-allele fraction is
sum_k f_k g_k / 2 over recipient and up to two donors (g = 0, 1, 2 alt copies), mixed with
a sequencing error e; the fractions f maximise the binomial likelihood; 95% CIs by
profile likelihood (chi-square 1 df).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import optimize, stats

from remission.immunogenetics.origin import (  # kept importable from here (one implementation)
    origin_by_cluster as origin_by_cluster,
)
from remission.results import Result

__all__ = [
    "chimerism_alerts",
    "chimerism_results",
    "destutter",
    "locus_donor_fraction",
    "snp_donor_fractions",
    "str_chimerism",
]

REFERENCES = (
    "Thiede C, Bornhauser M, Ehninger G. Evaluation of STR informativity for chimerism "
    "testing - comparative analysis of 27 STR systems in 203 matched related donor "
    "recipient pairs. Leukemia 2004;18:248-54.",
    "Kristt D, Stein J, Yaniv I, Klein T. Assessing quantitative chimerism longitudinally: "
    "technical considerations, clinical applications and routine feasibility. Bone Marrow "
    "Transplant 2007;39:255-68 (formulas per donor/recipient allele constellation).",
    "Brookes C, Bright JA, Harbison S, Buckleton J. Characterising stutter in forensic STR "
    "multiplexes. Forensic Sci Int Genet 2012;6:58-63 (back stutter one repeat unit "
    "shorter, proportional to the parent peak, locus-specific ratio).",
    "Bader P, Kreyenberg H, Hoelle W et al. Increasing mixed chimerism is an important "
    "prognostic factor for unfavorable outcome in children with acute lymphoblastic "
    "leukemia after allogeneic stem-cell transplantation. J Clin Oncol 2004;22:1696-705.",
)


STUTTER_MODES = ("flag", "exclude", "correct")


def _repeat(allele: str) -> tuple[int, str] | None:
    """STR allele name -> (full repeats, partial bases); None for non-repeat names."""
    m = re.fullmatch(r"(\d+)(?:\.(\d+))?", str(allele).strip())
    return (int(m[1]), m[2] or "0") if m else None


def _parent(allele: str, others: set[str]) -> str | None:
    """The allele among ``others`` one repeat unit longer than ``allele`` (its n+1)."""
    a = _repeat(allele)
    if a is None:
        return None
    return next((o for o in sorted(others) if _repeat(o) == (a[0] + 1, a[1])), None)


def stutter_positions(recipient: tuple[str, str], donor: tuple[str, str]) -> list[str]:
    """Informative alleles in the back-stutter (n-1) position of the other party's allele.

    Parameters
    ----------
    recipient, donor:
        Genotypes (two alleles each).

    Returns
    -------
    list of str
        One description per such allele, e.g. ``"13 (recipient) at n-1 of 14 (donor)"``.

    Examples
    --------
    >>> stutter_positions(("10", "13"), ("12", "14"))
    ['12 (donor) at n-1 of 13 (recipient)', '13 (recipient) at n-1 of 14 (donor)']
    >>> stutter_positions(("9.3", "6"), ("8.3", "6"))
    ['8.3 (donor) at n-1 of 9.3 (recipient)']
    """
    r, d = set(recipient), set(donor)
    out = []
    for own, other, who, them in ((r, d, "recipient", "donor"), (d, r, "donor", "recipient")):
        for allele in own - other:  # informative alleles of this party
            par = _parent(allele, other)
            if par is not None:
                out.append((_repeat(allele), allele, f"{allele} ({who}) at n-1 of {par} ({them})"))
    return [t for *_, t in sorted(out)]


def destutter(areas: dict[str, float], ratio: float) -> dict[str, float]:
    """Remove back stutter: T(a) = max(0, O(a) - ratio x T(a+1)), longest allele first.

    Parameters
    ----------
    areas:
        Observed peak area per allele of the locus (the genotypes' alleles).
    ratio:
        Stutter ratio of the locus (stutter peak / parent peak), 0 <= ratio < 1.

    Returns
    -------
    dict
        Stutter-free areas (alleles without a repeat-number name are left as they are).

    Examples
    --------
    >>> destutter({"10": 370, "11": 730, "12": 370, "13": 700}, 0.1)
    {'10': 300.0, '11': 700.0, '12': 300.0, '13': 700.0}
    """
    out = {a: float(v) for a, v in areas.items()}
    if ratio <= 0:
        return out
    named = sorted((a for a in out if _repeat(a) is not None), key=_repeat, reverse=True)
    for a in named:  # longest first: the parent is already stutter-free
        par = _parent(a, set(out))
        if par is not None:
            out[a] = max(0.0, out[a] - ratio * out[par])
    return out


def locus_donor_fraction(recipient: tuple[str, str], donor: tuple[str, str],
                         areas: dict[str, float], stutter_ratio: float = 0.0
                         ) -> tuple[float, str]:
    """Donor fraction at one STR/InDel locus and the formula used.

    Parameters
    ----------
    recipient, donor:
        Genotypes (two alleles; homozygous = the same allele twice).
    areas:
        Peak area (or allele count) per allele observed in the sample.
    stutter_ratio:
        If > 0, back stutter is removed first (:func:`destutter`).

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
    >>> areas = {"10": 370, "11": 730, "12": 370, "13": 700}  # 10% back stutter
    >>> round(locus_donor_fraction(("10", "12"), ("11", "13"), areas)[0], 4)
    0.659
    >>> locus_donor_fraction(("10", "12"), ("11", "13"), areas, stutter_ratio=0.1)[0]
    0.7
    """
    rc = pd.Series(list(recipient)).value_counts()
    dc = pd.Series(list(donor)).value_counts()
    r_only = [a for a in rc.index if a not in dc.index]
    d_only = [a for a in dc.index if a not in rc.index]
    if not r_only and not d_only:
        return float("nan"), "not informative"
    area = {a: float(areas.get(a, 0.0)) for a in set(rc.index) | set(dc.index)}
    area = destutter(area, stutter_ratio)
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


def _ratio(stutter_ratio: float | Mapping[str, float], locus: str) -> float:
    if isinstance(stutter_ratio, Mapping):
        return float(stutter_ratio.get(locus, 0.0))
    return float(stutter_ratio)


def str_chimerism(genotypes: pd.DataFrame, peaks: pd.DataFrame, conf: float = 0.95,
                  stutter: str = "flag", stutter_ratio: float | Mapping[str, float] = 0.0
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
    stutter:
        ``"flag"`` (list informative alleles in the other party's n-1 stutter position),
        ``"exclude"`` (leave such loci out) or ``"correct"`` (remove back stutter with
        ``stutter_ratio`` before the formulas).
    stutter_ratio:
        Stutter ratio, one for all loci or per locus (loci not listed: 0); used by
        ``"correct"``.

    Returns
    -------
    tuple of DataFrame
        ``(per_locus, combined)``; per locus has ``stutter`` (the alleles in a stutter
        position, "" if none); combined has ``donor_pct``, ``low``, ``high``, ``n_loci``,
        ``sd``.

    References
    ----------
    Thiede C, Bornhauser M, Ehninger G. Leukemia 2004;18:248-54. Kristt D, et al. Bone
    Marrow Transplant 2007;39:255-68 (formulas per allele constellation).

    Examples
    --------
    Fully informative loci: D8S1179 donor share 200 / 800 = 25 %, TH01 350 / 1000 = 35 %;
    mean 30 %, and R ``t.test(c(25, 35))$conf.int`` = (-33.53102, 93.53102), clipped at 0:

    >>> g = pd.DataFrame({"patient": "P1", "role": ["recipient", "donor"] * 2,
    ...                   "locus": ["D8S1179", "D8S1179", "TH01", "TH01"],
    ...                   "allele_1": ["10", "14", "6", "9"], "allele_2": ["12", "15", "7", "10"]})
    >>> pk = pd.DataFrame({"patient": "P1", "sample": "S1", "day": 30, "lineage": "CD3",
    ...                    "locus": ["D8S1179"] * 4 + ["TH01"] * 4,
    ...                    "allele": ["10", "12", "14", "15", "6", "7", "9", "10"],
    ...                    "area": [300, 300, 100, 100, 325, 325, 175, 175]})
    >>> per_locus, combined = str_chimerism(g, pk)
    >>> per_locus["donor_fraction"].tolist()
    [0.25, 0.35]
    >>> combined[["donor_pct", "low", "n_loci"]].round(5).values.tolist()
    [[30.0, 0.0, 2.0]]
    >>> round(float(combined["high"].iloc[0]), 5)
    93.53102
    """
    if stutter not in STUTTER_MODES:
        raise ValueError(f"stutter must be one of {', '.join(STUTTER_MODES)}")
    g = genotypes.set_index(["patient", "role", "locus"])
    rows = []
    for (pat, smp, day, lin, loc), sub in peaks.groupby(
            ["patient", "sample", "day", "lineage", "locus"], sort=True):
        try:
            rg = tuple(g.loc[(pat, "recipient", loc), ["allele_1", "allele_2"]])
            dg = tuple(g.loc[(pat, "donor", loc), ["allele_1", "allele_2"]])
        except KeyError:
            rows.append((pat, smp, day, lin, loc, np.nan, "genotype missing", ""))
            continue
        st = "; ".join(stutter_positions(rg, dg))
        if st and stutter == "exclude":
            rows.append((pat, smp, day, lin, loc, np.nan, "excluded: stutter position", st))
            continue
        r = _ratio(stutter_ratio, loc) if stutter == "correct" else 0.0
        d, how = locus_donor_fraction(rg, dg, dict(zip(sub["allele"].astype(str),
                                                       sub["area"], strict=True)), r)
        rows.append((pat, smp, day, lin, loc, d, how, st))
    per = pd.DataFrame(rows, columns=["patient", "sample", "day", "lineage", "locus",
                                      "donor_fraction", "formula", "stutter"])
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

    # The log-likelihood is concave in the fractions (binomial in an allele fraction that
    # is linear in them), so one optimum; it is fitted on the per-read scale with its
    # analytic gradient (unscaled, with 10^4-10^5 reads per SNP, SLSQP stopped at its
    # starting point).
    scale = float(depth.sum()) or 1.0
    dg = np.column_stack([g[:, 1] - g[:, 0], g[:, 2] - g[:, 0]]) / 2.0 * (1 - 2 * err)

    def obj(x):
        p = np.clip(_expected_af(np.array([1 - x[0] - x[1], x[0], x[1]]), g, err),
                    1e-12, 1 - 1e-12)
        val = -float(np.sum(alt * np.log(p) + (depth - alt) * np.log1p(-p))) / scale
        dp = -(alt / p - (depth - alt) / (1 - p)) / scale
        return val, dp @ dg

    cons = [{"type": "ineq", "fun": lambda x: 1 - x[0] - x[1],
             "jac": lambda x: np.array([-1.0, -1.0])}]
    starts = [(0.2, 0.2), (0.6, 0.2), (0.2, 0.6), (0.45, 0.45)]
    fits = [optimize.minimize(obj, s, jac=True, method="SLSQP", bounds=[(0, 1), (0, 1)],
                              constraints=cons, options={"ftol": 1e-14, "maxiter": 1000})
            for s in starts]
    fit = min(fits, key=lambda r: r.fun)
    x = np.clip(fit.x, 0, 1)
    best = nll2(x)

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

    def prof_r(v: float) -> float:
        # recipient fixed at v: best split of the remaining 1 - v between the donors
        rest = max(0.0, 1.0 - v)
        r = optimize.minimize_scalar(lambda u: nll2(np.array([u, rest - u])),
                                     bounds=(0, rest), method="bounded",
                                     options={"xatol": 1e-10})
        return float(r.fun) - best - crit

    rv = float(min(max(f[0], 0.0), 1.0))
    r_lo = 0.0 if prof_r(0.0) <= 0 else optimize.brentq(prof_r, 0.0, rv) if rv > 0 else 0.0
    r_hi = 1.0 if prof_r(1.0) <= 0 else optimize.brentq(prof_r, rv, 1.0) if rv < 1 else 1.0
    return {"fractions": f.tolist(), "low": [r_lo, *lows], "high": [r_hi, *highs],
            "n_informative": int(inform.sum()), "loglik": -best}


def chimerism_results(genotypes: pd.DataFrame | None = None, peaks: pd.DataFrame | None = None,
                      snps: pd.DataFrame | None = None, full_donor: float = 95.0,
                      drop_points: float = 10.0, snp_error: float = 0.005,
                      conf: float = 0.95, stutter: str = "flag",
                      stutter_ratio: float | Mapping[str, float] = 0.0) -> list[Result]:
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
    stutter, stutter_ratio:
        Back-stutter handling of STR loci (see :func:`str_chimerism`).

    Returns
    -------
    list of Result

    References
    ----------
    Thiede C, Bornhauser M, Ehninger G. Leukemia 2004;18:248-54.

    Examples
    --------
    30 % donor is below the 95 % full-donor threshold: mixed chimerism:

    >>> g = pd.DataFrame({"patient": "P1", "role": ["recipient", "donor"] * 2,
    ...                   "locus": ["D8S1179", "D8S1179", "TH01", "TH01"],
    ...                   "allele_1": ["10", "14", "6", "9"], "allele_2": ["12", "15", "7", "10"]})
    >>> pk = pd.DataFrame({"patient": "P1", "sample": "S1", "day": 30, "lineage": "CD3",
    ...                    "locus": ["D8S1179"] * 4 + ["TH01"] * 4,
    ...                    "allele": ["10", "12", "14", "15", "6", "7", "9", "10"],
    ...                    "area": [300, 300, 100, 100, 325, 325, 175, 175]})
    >>> res = chimerism_results(g, pk)
    >>> [r.name for r in res], res[1].table["status"].tolist()
    (['immunogenetics.chimerism_loci', 'immunogenetics.chimerism'], ['mixed'])
    """
    out: list[Result] = []
    if genotypes is not None and peaks is not None and len(peaks):
        per, comb = str_chimerism(genotypes, peaks, conf, stutter, stutter_ratio)
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
        hit = per[per["stutter"] != ""].drop_duplicates(["patient", "locus"])
        if len(hit) and stutter == "flag":
            warn.append(f"{len(hit)} patient-locus pair(s) with an informative allele in the "
                        "back-stutter (n-1) position of the other party's allele, used "
                        "uncorrected: " + "; ".join(f"{r.patient} {r.locus}: {r.stutter}"
                                                    for r in hit.itertuples())
                        + ' (set [chimerism] stutter = "correct" with the kit\'s stutter '
                        'ratios, or "exclude")')
        elif len(hit) and stutter == "exclude":
            warn.append(f"{len(hit)} patient-locus pair(s) left out: informative allele in a "
                        "stutter position (" + ", ".join(f"{r.patient} {r.locus}"
                                                        for r in hit.itertuples()) + ")")
        if stutter == "correct":
            unset = sorted(set(hit["locus"]) - set(stutter_ratio)) \
                if isinstance(stutter_ratio, Mapping) else []
            if unset:
                warn.append("no stutter ratio for " + ", ".join(unset) + ": not corrected")
        how = {"flag": "Back stutter not corrected; informative alleles in the other "
                       "party's n-1 position are listed (column stutter).",
               "exclude": "Loci with an informative allele in the other party's n-1 "
                          "(back-stutter) position are left out.",
               "correct": "Back stutter removed before the formulas: area(a) minus the "
                          "locus stutter ratio x the stutter-free area of allele a+1 "
                          "(longest allele first)."}[stutter]
        out.append(Result(
            "immunogenetics.chimerism_loci", "STR/InDel donor fraction per locus", per,
            method=("Donor fraction from peak areas of donor-only and recipient-only alleles "
                    "weighted by copy number; shared-allele formulas where only one side has "
                    "a unique allele (Thiede 2004; Kristt 2007). " + how),
            references=REFERENCES[:3], section="immunogenetics", warnings=tuple(warn),
            params={"stutter": stutter,
                    "stutter_ratio": dict(stutter_ratio) if isinstance(stutter_ratio, Mapping)
                    else stutter_ratio}))
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
        # thresholds and loss-of-donor alerts on the SNP estimates: all donors together
        # (complete donor chimerism = the recipient fraction is gone) and each donor's own
        # series (a third-party product can fade while the transplant donor stays)
        don = tab[tab["source"] != "recipient"]
        total = (don.groupby(["patient", "sample", "day", "lineage"], sort=True)["pct"].sum()
                 .rename("donor_pct").reset_index().assign(source="all donors"))
        each = don.rename(columns={"pct": "donor_pct"})[
            ["patient", "sample", "day", "lineage", "source", "donor_pct"]]
        series = pd.concat([total, each], ignore_index=True)
        series["series"] = series["lineage"] + " / " + series["source"]
        al = chimerism_alerts(series.rename(columns={"lineage": "lin", "series": "lineage"}),
                              full_donor, drop_points)
        al = al.rename(columns={"lineage": "series", "lin": "lineage"})
        # one donor of two: "complete" if that donor alone passes the threshold, else its
        # share is partial (mixed chimerism is a statement about all donors together)
        one = al["source"] != "all donors"
        al.loc[one & (al["status"] == "mixed"), "status"] = "partial"
        al = al[["patient", "sample", "day", "lineage", "source", "donor_pct", "status",
                 "alert"]]
        al.index = pd.Index([f"{r.patient} | {r.sample} | {r.lineage} | {r.source}"
                             for r in al.itertuples()])
        out.append(Result(
            "immunogenetics.chimerism_snp", "SNP-based chimerism (maximum likelihood)", tab,
            method=("Binomial likelihood of alternative-allele reads at SNPs where recipient "
                    "and donor genotypes differ; expected allele fraction = sum of source "
                    f"fractions x genotype / 2 with read error {snp_error:g}; fractions of "
                    "recipient and up to two donors by maximum likelihood, "
                    f"{conf:.0%} profile-likelihood intervals for every source."),
            rationale="Two donors (transplant donor and a third-party or donor-derived "
                      "product) cannot be separated by a single donor fraction.",
            section="immunogenetics", params={"snp_error": snp_error}))
        fired = al[al["alert"] != ""]
        out.append(Result(
            "immunogenetics.chimerism_snp_alerts",
            "SNP-based chimerism: status and loss-of-donor alerts", al,
            method=(f"Per lineage, for all donors together and for each donor: complete "
                    f"donor chimerism at >= {full_donor:g}% (all donors), else mixed; alert "
                    f"when a donor % falls by >= {drop_points:g} points from the previous "
                    "sample of the same series or turns from complete to mixed (same rules "
                    "as the STR series)."),
            rationale="With two donors the total can stay complete while one donor's share "
                      "(e.g. a third-party product) falls; both are followed.",
            warnings=tuple(f"{r.patient} {r.sample} {r.lineage} {r.source}: {r.alert}"
                           for r in fired.itertuples()),
            references=REFERENCES[3:], section="immunogenetics",
            params={"full_donor": full_donor, "drop_points": drop_points}))
    return out
