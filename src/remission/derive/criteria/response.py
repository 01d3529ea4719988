"""Response at each marrow assessment, best overall response, landmark response, relapse.

Systems (operators matter, criteria.md §10):

``eln2022`` (Döhner H et al., Blood 2022;140:1345): CR = marrow blasts < 5 %, no
circulating blasts, no extramedullary disease (EMD), ANC >= 1.0 and platelets >= 100
×10⁹/L. CRh = CR except ANC >= 0.5 and platelets >= 50. CRi = CR except one lineage
below the CR threshold (and not CRh). MLFS = marrow criteria without count recovery;
the marrow must not be merely aplastic (spicules, >= 200 cells counted or >= 10 %
cellularity; a marrow documented as none of these is NE, one without the information
is accepted). PR = CR counts, marrow blasts 5-25 % and >= 50 % below the pre-treatment
(day <= 0) value. NR otherwise; NE without a marrow blast value. CR/CRh/CRi with MRD
below the assay threshold (MFC 0.1 %, Heuser et al. Blood 2021;138:2753; strict "<")
are reported as ``CR_MRD-`` etc. The MRD-negative threshold follows the assay of the
MRD value (``mrd_assay``; :data:`MRD_ASSAY_THRESHOLD_PCT`), and a result from an assay
whose recorded sensitivity (``mrd_sensitivity``) cannot reach the threshold is not called
MRD-negative.
``eln2017`` (Döhner H et al., Blood 2017;129:424): as 2022 (>=), also no blasts with
Auer rods; no CRh; ``CR_MRD-`` for CR only.
``iwg2003`` (Cheson BD et al., JCO 2003;21:4642): ANC > 1.0 and platelets > 100
(strict), no Auer rods, RBC-transfusion independence (no red-cell transfusion within
the count window); CRi, MLFS and PR as above, no CRh and no MRD category.
``nccn_all`` (NCCN ALL; UNVERIFIED against the NCCN text, criteria.md §7): CR = marrow
blasts < 5 %, no circulating blasts, no EMD, ANC > 1.0, platelets > 100; CRi = marrow
criteria without these counts; MRD-negative < 1e-4 (0.01 %).
``blinatumomab_trials`` (Topp MS et al., Lancet Oncol 2015; Kantarjian H et al., NEJM
2017): CR = marrow blasts <= 5 %, no evidence of disease, platelets > 100 and ANC
> 1.0; CRh* = <= 5 % blasts, platelets > 50 and ANC > 0.5; CRi = <= 5 % blasts with
platelets > 100 or ANC > 1.0; MRD-negative < 1e-4.

Counts, circulating blasts, EMD, Auer rods, MRD and transfusions are taken from the
nearest day within ``window`` days of the marrow (same day preferred). Missing
circulating blasts, EMD and Auer rods are read as absent (recorded in ``rule``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from remission.derive.criteria._common import SYSTEMS, check_system
from remission.derive.criteria.daily import level, with_variables
from remission.vocab.vocabulary import MRD_ASSAYS

__all__ = ["MRD_THRESHOLD_PCT", "PR_MARROW_BLASTS_PCT", "PR_MAX_FRACTION_OF_BASELINE", "RANKS",
           "RESPONSE_SYSTEMS", "RESPONSE_VARIABLES", "assess_response", "baseline_marrow_blasts",
           "marrow_partial_response",
           "summarise_response"]

#: Marrow blasts (%, both inclusive) of the marrow part of PR (ELN 2022, Döhner 2022
#: Table 6; ELN 2017 and IWG 2003 the same): 5-25 %.
PR_MARROW_BLASTS_PCT = (5.0, 25.0)
#: ... and at most this fraction of the pre-treatment marrow blasts (a >= 50 % decrease).
PR_MAX_FRACTION_OF_BASELINE = 0.5

RESPONSE_SYSTEMS = ("eln2022", "eln2017", "iwg2003", "nccn_all", "blinatumomab_trials")
#: Default MRD negativity thresholds (%, strict "<").
MRD_THRESHOLD_PCT = {"eln2022": 0.1, "eln2017": 0.1, "iwg2003": 0.1, "nccn_all": 0.01,
                     "blinatumomab_trials": 0.01}
#: MRD-negative threshold by assay (%, strict "<") where it differs from the system default.
#: AML (ELN): MFC 0.1 % of CD45+ cells (Heuser et al., Blood 2021;138:2753); NGS 0.1 %
#: VAF (same recommendations; UNVERIFIED in criteria.md §6a); qPCR/ddPCR: MRD negative =
#: not detected (Heuser 2021: no amplification), i.e. below the assay's own limit
#: (``None`` here). ALL (NCCN, blinatumomab trials): 1e-4 (0.01 %) whatever the method,
#: and the assay must reach it (minimum sensitivity 0.01 %, paediatric consensus
#: PMC8824253: negative with insufficient sensitivity is not MRD-negative).
MRD_ASSAY_THRESHOLD_PCT: dict[str, dict[str, float | None]] = {
    aml: {"mfc": 0.1, "ngs": 0.1, "qpcr": None, "ddpcr": None}
    for aml in ("eln2022", "eln2017", "iwg2003")
} | {all_: {"mfc": 0.01, "ngs": 0.01, "qpcr": 0.01, "ddpcr": 0.01}
     for all_ in ("nccn_all", "blinatumomab_trials")}

#: Ranking of categories per system, best first (for best overall response).
RANKS = {
    "eln2022": ["CR_MRD-", "CR", "CRh_MRD-", "CRh", "CRi_MRD-", "CRi", "MLFS", "PR", "NR", "NE"],
    "eln2017": ["CR_MRD-", "CR", "CRi", "MLFS", "PR", "NR", "NE"],
    "iwg2003": ["CR", "CRi", "MLFS", "PR", "NR", "NE"],
    "nccn_all": ["CR_MRD-", "CR", "CRi_MRD-", "CRi", "NR", "NE"],
    "blinatumomab_trials": ["CR_MRD-", "CR", "CRh*_MRD-", "CRh*", "CRi_MRD-", "CRi", "NR",
                            "NE"],
}
_REMISSION = {"CR", "CRh", "CRi", "CRh*"}
_NEAR = ("anc", "platelets", "peripheral_blasts", "extramedullary_disease", "auer_rods", "mrd",
         "mrd_assay", "mrd_sensitivity",
         "mrd_status", "rbc_transfusion")
_SAME = ("marrow_cellularity", "marrow_spicules", "marrow_cells_counted")
#: Every column of the daily table (besides ``patient_id`` and ``day``) that
#: :func:`assess_response` and :func:`summarise_response` read: the marrow, the values
#: taken from the nearest day and the relapse criteria's circulating blasts, EMD and MRD
#: (all among those). Their results depend on the daily table only through the rows
#: where one of these is recorded (the web reuses a patient's responses while these are
#: unchanged: remission.web.grading).
RESPONSE_VARIABLES = ("marrow_blasts", *_SAME, *_NEAR)


def _nearest(assess: pd.DataFrame, daily: pd.DataFrame, var: str, window: int) -> np.ndarray:
    """Value of ``var`` on the nearest day within ``window`` days (ties: the earlier day)."""
    out = np.full(len(assess), np.nan)
    if var not in daily.columns or assess.empty:
        return out
    src = daily.loc[daily[var].notna(), ["patient_id", "day", var]]
    if src.empty:
        return out
    ids = pd.Index(pd.unique(pd.concat([src["patient_id"], assess["patient_id"]])))
    span = 1 << 32
    skey = ids.get_indexer(src["patient_id"]).astype(np.int64) * span + src["day"].to_numpy()
    order = np.argsort(skey, kind="stable")
    skey, sval = skey[order], src[var].to_numpy(dtype=float)[order]
    akey = ids.get_indexer(assess["patient_id"]).astype(np.int64) * span + assess["day"].to_numpy()
    hi = np.searchsorted(skey, akey, side="left")
    lo = hi - 1
    dist_hi = np.where(hi < len(skey), skey[np.minimum(hi, len(skey) - 1)] - akey, np.inf)
    dist_lo = np.where(lo >= 0, akey - skey[np.maximum(lo, 0)], np.inf)
    use_hi = dist_hi < dist_lo
    best = np.where(use_hi, hi, lo)
    dist = np.where(use_hi, dist_hi, dist_lo)
    ok = dist <= window
    out[ok] = sval[best[ok]]
    return out


def baseline_marrow_blasts(daily: pd.DataFrame) -> pd.Series:
    """Pre-treatment marrow blasts (%) per patient: the last marrow on or before day 0.

    The baseline against which PR's ">= 50 % decrease" is judged
    (:func:`marrow_partial_response`); the one place this rule lives.

    Parameters
    ----------
    daily : pandas.DataFrame
        Per patient-day table with ``patient_id``, ``day`` and ``marrow_blasts``.

    Returns
    -------
    pandas.Series
        Marrow blasts indexed by ``patient_id``; patients without a marrow on day <= 0
        are absent.

    Examples
    --------
    >>> d = pd.DataFrame({"patient_id": ["a", "a", "a", "b"], "day": [-9, -2, 14, 3],
    ...                   "marrow_blasts": [50.0, 40.0, 3.0, 20.0]})
    >>> baseline_marrow_blasts(d).to_dict()
    {'a': 40.0}
    """
    return (daily.loc[(daily["day"] <= 0) & daily["marrow_blasts"].notna()]
            .sort_values("day").groupby("patient_id")["marrow_blasts"].last())


def marrow_partial_response(marrow_blasts: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """The marrow part of PR: blasts 5-25 % and >= 50 % below the pre-treatment value.

    ELN 2022 PR (Döhner 2022) is this marrow criterion *plus* CR-level counts (ANC >= 1.0,
    platelets >= 100); :func:`assess_response` applies both. This function is the marrow
    criterion alone, the one place its thresholds live (:data:`PR_MARROW_BLASTS_PCT`,
    :data:`PR_MAX_FRACTION_OF_BASELINE`).

    Parameters
    ----------
    marrow_blasts : numpy.ndarray
        Marrow blasts (%) at the assessment; NaN when not measured.
    baseline : numpy.ndarray
        Pre-treatment marrow blasts (%); NaN when not measured.

    Returns
    -------
    numpy.ndarray
        Boolean; False where either value is NaN.

    Examples
    --------
    >>> marrow_partial_response(np.array([5.0, 25.0, 4.9, 20.0, 12.0]),
    ...                         np.array([60.0, 50.0, 60.0, 39.0, np.nan])).tolist()
    [True, True, False, False, False]
    """
    bm = np.asarray(marrow_blasts, dtype=float)
    base = np.asarray(baseline, dtype=float)
    lo, hi = PR_MARROW_BLASTS_PCT
    return (bm >= lo) & (bm <= hi) & (bm <= PR_MAX_FRACTION_OF_BASELINE * base)


def assess_response(
    daily: pd.DataFrame,
    system: str,
    *,
    window: int = 3,
    mrd_threshold_pct: float | None = None,
) -> pd.DataFrame:
    """Response category at every post-baseline marrow assessment (rows with marrow blasts).

    The criteria of each system are in the module docstring; counts, circulating blasts,
    EMD, Auer rods, MRD and transfusions come from the nearest day within ``window`` days
    of the marrow (same day preferred); marrow values on day <= 0 are the pre-treatment
    baseline of PR.

    Parameters
    ----------
    daily : DataFrame
        Per patient-day table (:func:`~remission.derive.criteria.daily.daily_features`):
        ``marrow_blasts`` (%), ``anc`` and ``platelets`` (×10⁹/L), optionally
        ``peripheral_blasts``, ``extramedullary``, ``mrd`` (%), ``mrd_assay`` ...
    system : {"eln2022", "eln2017", "iwg2003", "nccn_all", "blinatumomab_trials"}
        The response criteria.
    window : int, default 3
        Days either side of the marrow searched for the other values.
    mrd_threshold_pct : float, optional
        MRD-negative threshold (%, strict "<"); default by system and assay
        (:data:`MRD_THRESHOLD_PCT`).

    Returns
    -------
    DataFrame
        One row per assessment: ``patient_id, day``, the inputs used (``marrow_blasts,
        anc, platelets, peripheral_blasts, mrd`` ...), ``response`` (morphologic
        category), ``mrd_negative`` (True/False/NA), ``response_mrd`` (e.g. ``CR_MRD-``),
        ``rule`` (what decided it, and what was assumed), ``system``,
        ``mrd_threshold_pct``, ``mrd_assay``, ``mrd_sensitivity_pct``.

    Raises
    ------
    ValueError
        Unknown ``system``.

    References
    ----------
    Döhner H, et al. Blood 2022;140:1345-1377 (ELN 2022). Döhner H, et al. Blood
    2017;129:424-447 (ELN 2017). Cheson BD, et al. J Clin Oncol 2003;21:4642-4649 (IWG
    2003). Heuser M, et al. Blood 2021;138:2753-2767 (MRD).

    Examples
    --------
    Day 28: blasts 4.9 %, ANC 1.0, platelets 100, MRD 0.05 %. ELN 2022 counts recovery as
    ANC >= 1.0 and platelets >= 100, so this is CR, MRD-negative (< 0.1 %); IWG 2003 needs
    ANC > 1.0 and platelets > 100, so the same marrow is MLFS. Day 56: blasts 5.0 % (not
    < 5) and >= 50 % below the baseline 40 %: PR.

    >>> d = pd.DataFrame({"patient_id": "P1", "day": [0, 28, 56],
    ...                   "marrow_blasts": [40, 4.9, 5.0], "anc": [np.nan, 1.0, 1.2],
    ...                   "platelets": [np.nan, 100, 120], "mrd": [np.nan, 0.05, np.nan]})
    >>> assess_response(d, "eln2022")[["day", "response", "response_mrd"]].values.tolist()
    [[28, 'CR', 'CR_MRD-'], [56, 'PR', 'PR']]
    >>> assess_response(d, "iwg2003")["response"].tolist()
    ['MLFS', 'PR']
    """
    check_system(system, RESPONSE_SYSTEMS)
    thr = MRD_THRESHOLD_PCT[system] if mrd_threshold_pct is None else mrd_threshold_pct
    daily = with_variables(daily, ("marrow_blasts", *_SAME))
    base_bm = baseline_marrow_blasts(daily)
    a = daily.loc[(daily["day"] > 0) & daily["marrow_blasts"].notna(),
                  ["patient_id", "day", "marrow_blasts", *_SAME]].reset_index(drop=True)
    for v in _NEAR:
        a[v] = _nearest(a, daily, v, window)
    yes = 1.0  # level index of "yes"
    bm = a["marrow_blasts"].to_numpy(dtype=float)
    anc = a["anc"].to_numpy(dtype=float)
    plt = a["platelets"].to_numpy(dtype=float)
    pb = np.nan_to_num(a["peripheral_blasts"].to_numpy(dtype=float), nan=0.0) > 0
    emd = a["extramedullary_disease"].to_numpy(dtype=float) == yes
    auer = a["auer_rods"].to_numpy(dtype=float) == yes
    rbc = a["rbc_transfusion"].to_numpy(dtype=float) == yes
    baseline = a["patient_id"].map(base_bm).to_numpy(dtype=float)
    has_bm = ~np.isnan(bm)
    spic = a["marrow_spicules"].to_numpy(dtype=float)
    cells = a["marrow_cells_counted"].to_numpy(dtype=float)
    cellu = a["marrow_cellularity"].to_numpy(dtype=float)
    known = ~np.isnan(spic) | ~np.isnan(cells) | ~np.isnan(cellu)
    adequate = ~known | (spic == level("marrow_spicules", "yes")) | (cells >= 200) | (cellu >= 10)
    pr_marrow = marrow_partial_response(bm, baseline)

    if system in ("eln2022", "eln2017", "iwg2003"):
        if system == "iwg2003":
            anc_ok, plt_ok = anc > 1.0, plt > 100
        else:
            anc_ok, plt_ok = anc >= 1.0, plt >= 100
        base = (bm < 5) & ~pb & ~emd
        if system != "eln2022":
            base &= ~auer
        cr = base & anc_ok & plt_ok
        if system == "iwg2003":
            cr &= ~rbc
        crh = base & ~cr & (anc >= 0.5) & (plt >= 50) if system == "eln2022" else np.zeros_like(cr)
        cri = base & ~cr & ~crh & (anc_ok | plt_ok)
        mlfs = base & ~cr & ~crh & ~cri & adequate
        ne_aplastic = base & ~cr & ~crh & ~cri & ~adequate
        pr = ~base & anc_ok & plt_ok & pr_marrow
        conds = [~has_bm, cr, crh, cri, mlfs, ne_aplastic, pr]
        cats = ["NE", "CR", "CRh", "CRi", "MLFS", "NE", "PR"]
        rules = ["no marrow blast value", "marrow < 5 % + full count recovery",
                 "marrow < 5 % + partial recovery (ANC >= 0.5, PLT >= 50)",
                 "marrow < 5 % + one lineage recovered", "marrow < 5 % without count recovery",
                 "aplastic marrow (no spicules, < 200 cells, < 10 % cellularity)",
                 "marrow 5-25 % and >= 50 % reduction + counts"]
    elif system == "nccn_all":
        base = (bm < 5) & ~pb & ~emd
        cr = base & (anc > 1.0) & (plt > 100)
        cri = base & ~cr
        conds = [~has_bm, cr, cri]
        cats = ["NE", "CR", "CRi"]
        rules = ["no marrow blast value", "marrow < 5 %, ANC > 1.0, PLT > 100",
                 "marrow < 5 % without full count recovery"]
    else:  # blinatumomab_trials
        base = (bm <= 5) & ~pb & ~emd
        cr = base & (plt > 100) & (anc > 1.0)
        crh = base & ~cr & (plt > 50) & (anc > 0.5)
        cri = base & ~cr & ~crh & ((plt > 100) | (anc > 1.0))
        conds = [~has_bm, cr, crh, cri]
        cats = ["NE", "CR", "CRh*", "CRi"]
        rules = ["no marrow blast value", "marrow <= 5 %, PLT > 100, ANC > 1.0",
                 "marrow <= 5 %, PLT > 50, ANC > 0.5", "marrow <= 5 %, PLT > 100 or ANC > 1.0"]
    resp = np.select(conds, cats, "NR")
    rule = np.select(conds, rules, "not meeting any response category")
    mrd = a["mrd"].to_numpy(dtype=float)
    status = a["mrd_status"].to_numpy(dtype=float)
    thr_row, neg_num, mrd_note = _mrd_by_assay(a, system, thr, mrd_threshold_pct is not None)
    neg = np.where(~np.isnan(mrd), neg_num,
                   np.where(~np.isnan(status), status == level("mrd_status", "negative"), np.nan))
    eligible = {"eln2022": ("CR", "CRh", "CRi"), "eln2017": ("CR",), "iwg2003": (),
                "nccn_all": ("CR", "CRi"), "blinatumomab_trials": ("CR", "CRh*", "CRi")}[system]
    mrd_tag = np.isin(resp, eligible) & (neg == 1)
    resp_mrd = np.where(mrd_tag, np.char.add(resp.astype(str), "_MRD-"), resp)
    assumed = []
    for col, label in (("peripheral_blasts", "circulating blasts"),
                       ("extramedullary_disease", "EMD")):
        assumed.append(np.where(a[col].isna(), f"; {label} not recorded (assumed absent)", ""))
    rule = np.char.add(np.char.add(rule.astype(str), assumed[0]), assumed[1])
    rule = np.char.add(rule, mrd_note.astype(str))
    out = a[["patient_id", "day", "marrow_blasts", "anc", "platelets", "peripheral_blasts",
             "mrd"]].copy()
    out["response"] = resp
    out["mrd_negative"] = pd.array(np.where(np.isnan(neg), pd.NA, neg == 1), dtype="boolean")
    out["response_mrd"] = resp_mrd
    out["rule"] = rule
    out["system"] = system
    out["mrd_threshold_pct"] = thr_row
    out["mrd_assay"] = _assay_names(a["mrd_assay"].to_numpy(dtype=float))
    out["mrd_sensitivity_pct"] = a["mrd_sensitivity"].to_numpy(dtype=float)
    return out


def _assay_names(codes: np.ndarray) -> np.ndarray:
    names = np.array([*MRD_ASSAYS, ""], dtype=object)
    return names[np.where(np.isnan(codes), len(MRD_ASSAYS), codes).astype(np.intp)]


def _mrd_by_assay(a: pd.DataFrame, system: str, default: float, overridden: bool):
    """(threshold % per row, MRD-negative per row as float 1/0/NaN, rule note per row).

    The threshold follows the assay (:data:`MRD_ASSAY_THRESHOLD_PCT`; an explicit
    ``mrd_threshold_pct`` applies to every assay). A "not detected" assay (AML qPCR/ddPCR)
    is negative when the value is 0 or below the assay's recorded sensitivity. When the
    recorded sensitivity is above the threshold the assay cannot show MRD below it: the
    result is not called MRD-negative (NA), and the rule says why.
    """
    mrd = a["mrd"].to_numpy(dtype=float)
    assay = _assay_names(a["mrd_assay"].to_numpy(dtype=float))
    sens = a["mrd_sensitivity"].to_numpy(dtype=float)
    thr = np.full(len(a), float(default))
    detect = np.zeros(len(a), dtype=bool)  # negative = not detected
    if not overridden:
        for name, t in MRD_ASSAY_THRESHOLD_PCT.get(system, {}).items():
            sel = assay == name
            if t is None:
                detect |= sel
                thr[sel] = np.where(np.isnan(sens[sel]), 0.0, sens[sel])
            else:
                thr[sel] = t
    neg = np.where(detect, (mrd == 0) | (mrd < thr), mrd < thr).astype(float)
    note = np.full(len(a), "", dtype=object)
    short = ~detect & (sens > thr)  # NaN sensitivity compares False
    if short.any():
        neg[short & (mrd < thr)] = np.nan
        note[short] = [f"; MRD assay sensitivity {s:g} % cannot show MRD < {t:g} %: "
                       "not called MRD-negative" for s, t in zip(sens[short], thr[short],
                                                                  strict=True)]
    has_assay = assay != ""
    note[has_assay & ~short] = [f"; MRD by {x} (negative {'= not detected' if d else f'< {t:g} %'})"
                                for x, d, t in zip(assay[has_assay & ~short],
                                                   detect[has_assay & ~short],
                                                   thr[has_assay & ~short], strict=True)]
    neg[np.isnan(mrd)] = np.nan
    return thr, neg, note


def summarise_response(
    assessed: pd.DataFrame,
    daily: pd.DataFrame | None = None,
    landmark_day: int | None = None,
    *,
    patients: Sequence[str] | None = None,
    confirm_blasts_days: int = 7,
    mrd_relapse: bool = False,
    system: str | None = None,
) -> pd.DataFrame:
    """Per patient: best overall response (and day), response at ``landmark_day``, relapse.

    Best = highest-ranked ``response_mrd`` (ties: earliest). Landmark response = the last
    assessment on or before the landmark. Relapse (ELN 2022 haematologic relapse, applied
    to every system): after the first CR/CRh/CRi/CRh*, the first marrow with blasts >= 5 %
    (> 5 % for blinatumomab trials), new EMD, or circulating blasts in 2 samples >= 7 days
    apart (dated at the first of them). ``patients`` lists every patient: those never
    assessed (early death, no marrow) get best and landmark response NE, also when no
    patient has an assessment at all (then ``system`` names the system): ELN 2022
    (Döhner H et al., Blood 2022;140:1345, response table) counts a treated patient
    without an adequate marrow assessment (early death, withdrawal, suboptimal sample) as
    non-evaluable, a category of the response table, not a patient left out of it.
    ``mrd_relapse=True`` also counts MRD relapse (ELN 2022, wording UNVERIFIED): after an
    MRD-negative remission, two consecutive MRD values at or above the system's threshold
    (dated at the first); off by default.

    Parameters
    ----------
    assessed : DataFrame
        :func:`assess_response` output.
    daily : DataFrame, optional
        Daily features (circulating blasts, EMD and MRD for relapse).
    landmark_day : int, optional
        Day of the landmark assessment.
    patients : sequence of str, optional
        Every (treated) patient of the analysis; those without an assessment get NE.
    confirm_blasts_days : int
        Days between two samples with circulating blasts for a relapse.
    mrd_relapse : bool
        Also count MRD relapse.
    system : str, optional
        The response system (:data:`RESPONSE_SYSTEMS`); needed only to name it when
        ``assessed`` is empty, and must agree with ``assessed["system"]`` otherwise.

    Returns
    -------
    DataFrame
        patient_id, best_response, best_response_day, (landmark_response), relapse_day,
        relapse_type, system, system_version.

    Examples
    --------
    >>> empty = pd.DataFrame(columns=["patient_id", "day", "response", "system"])
    >>> summarise_response(empty, patients=["P1"], system="eln2022")[
    ...     ["patient_id", "best_response"]].values.tolist()
    [['P1', 'NE']]
    """
    if assessed.empty:
        cols = ["patient_id", "best_response", "best_response_day",
                *(["landmark_response"] if landmark_day is not None else []),
                "relapse_day", "relapse_type", "system", "system_version"]
        ids = sorted(set(patients or ()))
        if not ids:
            return pd.DataFrame(columns=cols)
        if system is None:
            raise ValueError("summarise_response: no assessment, so the response system "
                             "must be given (system=...) to report patients as NE")
        check_system(system, RESPONSE_SYSTEMS)
        out = pd.DataFrame({"patient_id": ids, "best_response": "NE",
                            "best_response_day": pd.array([pd.NA] * len(ids), dtype="Int64")})
        if landmark_day is not None:
            out["landmark_response"] = "NE"
        out["relapse_day"] = pd.array([pd.NA] * len(ids), dtype="Int64")
        out["relapse_type"] = pd.Series([np.nan] * len(ids), dtype=object)
        out["system"] = system
        out["system_version"] = SYSTEMS[system]
        return out[cols]
    if system is not None and system != assessed["system"].iat[0]:
        raise ValueError(f"summarise_response: system={system!r} but the assessments are "
                         f"{assessed['system'].iat[0]!r}")
    system = assessed["system"].iat[0]
    rank = {c: i for i, c in enumerate(RANKS[system])}
    a = assessed.assign(_rank=assessed["response_mrd"].map(rank))
    best = a.sort_values(["patient_id", "_rank", "day"], kind="stable").drop_duplicates(
        "patient_id").set_index("patient_id")
    ids = set(a["patient_id"]) | set(patients or ())
    out = pd.DataFrame(index=pd.Index(sorted(ids), name="patient_id"))
    out["best_response"] = best["response_mrd"].reindex(out.index).fillna("NE")
    out["best_response_day"] = best["day"].reindex(out.index).astype("Int64")
    if landmark_day is not None:
        lm = a[a["day"] <= landmark_day].sort_values(["patient_id", "day"]).groupby(
            "patient_id").last()
        out["landmark_response"] = lm["response_mrd"].reindex(out.index).fillna("NE")
    rem = a[a["response"].isin(_REMISSION)].groupby("patient_id")["day"].min()
    a = a.assign(_rem=a["patient_id"].map(rem))
    after = a[a["day"] > a["_rem"]]
    cut = 5.0
    bm_rel = after["marrow_blasts"] > cut if system == "blinatumomab_trials" else (
        after["marrow_blasts"] >= cut)
    rel_bm = after[bm_rel].groupby("patient_id")["day"].min()
    rel_pb = pd.Series(dtype=float)
    rel_emd = pd.Series(dtype=float)
    if daily is not None:
        d = daily.assign(_rem=daily["patient_id"].map(rem))
        d = d[d["day"] > d["_rem"]]
        if "peripheral_blasts" in d:
            pb = d[d["peripheral_blasts"] > 0][["patient_id", "day"]].sort_values(
                ["patient_id", "day"])
            first = pb.groupby("patient_id")["day"].transform("min")
            conf = pb[pb["day"] - first >= confirm_blasts_days]
            rel_pb = first[pb.index.isin(conf.index)].groupby(pb["patient_id"]).min()
        if "extramedullary_disease" in d:
            rel_emd = d[d["extramedullary_disease"] == 1].groupby("patient_id")["day"].min()
    parts = {"marrow blasts": rel_bm, "circulating blasts": rel_pb,
             "extramedullary disease": rel_emd}
    if mrd_relapse and daily is not None and "mrd" in daily:
        thr = float(assessed["mrd_threshold_pct"].iat[0])
        neg = a[a["response"].isin(_REMISSION) & a["mrd_negative"].fillna(False).astype(bool)]
        first_neg = neg.groupby("patient_id")["day"].min()
        m = daily.loc[daily["mrd"].notna(), ["patient_id", "day", "mrd"]].sort_values(
            ["patient_id", "day"])
        m = m[m["day"] > m["patient_id"].map(first_neg)]
        pos = m["mrd"] >= thr
        nxt = pos.groupby(m["patient_id"]).shift(-1, fill_value=False).astype(bool)
        parts["MRD"] = m[pos & nxt].groupby("patient_id")["day"].min()
    rel = pd.concat(parts, axis=1).reindex(out.index)
    out["relapse_day"] = rel.min(axis=1).astype("Int64")
    any_rel = rel.notna().any(axis=1)
    out["relapse_type"] = rel.fillna(np.inf).idxmin(axis=1).where(any_rel)
    out["system"] = system
    out["system_version"] = SYSTEMS[system]
    return out.reset_index()
