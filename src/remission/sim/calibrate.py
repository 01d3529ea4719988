"""Calibration of the free model parameters to the seed studies (models.md §8).

Two jobs:

* :func:`calibration_result` -- simulate many replicate virtual trials of each seed
  design at the published arm sizes and compare every target with the published value:
  median and 95 % percentile interval over replicates (percentiles as R's
  ``quantile(type = 7)``), and for the seed-000 arm comparison the Pearson chi-square
  P value (as R ``chisq.test(correct = FALSE)``, the test the abstract reports).
  Targets the model cannot reach are flagged, not hidden.
* :func:`predictive_check` / :func:`check_summaries` -- can the model have produced
  the published studies? (a check that can fail; the fit itself is ABC-SMC,
  :mod:`remission.sim.abc`, the one calibration method).

Replicate trials share nothing: replicate ``r`` of an arm of size ``m`` is patients
``r*m .. r*m + m - 1`` of that arm, each with its own random stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..results import Result
from ..stats.contingency import pearson_chi2
from .design import DESIGN_DIR, Design, load_design
from .params import PARAMETERS

#: response categories of the engines' systems (ELN 2022 for AML, NCCN ALL for B-ALL),
#: with and without the MRD qualifier; recorded values are derived by those engines
COMPLETE = tuple(f"{c}{q}" for c in ("CR", "CRh", "CRi", "MLFS") for q in ("", "_MRD-"))
RESPONDERS = (*COMPLETE, "PR")
MRD_NEGATIVE = tuple(c for c in COMPLETE if c.endswith("_MRD-"))

Metric = Callable[[pd.DataFrame], float]


@dataclass(frozen=True)
class Target:
    """A published number and how to compute it from a simulated patients table."""

    key: str
    study: str
    design: str  # file name in examples/designs
    description: str
    published: float
    n_published: int  # patients behind the published number (for its standard error)
    metric: Metric
    kind: str = "proportion"  # proportion | day


def _rate(col: str, levels: Iterable[str] | None = None, arms: Sequence[str] | None = None,
          threshold: float | None = None) -> Metric:
    lv = tuple(levels) if levels is not None else None

    def f(df: pd.DataFrame) -> float:
        d = df if arms is None else df[df["arm"].isin(arms)]
        if threshold is not None:
            # grades of evaluable patients only: a patient with no grade (NA: died before
            # the infusion, never assessed) is not in the denominator, as in the seed
            # studies' safety populations (seed 002, Zhang 2025: the 12 infused of 14
            # enrolled; seed 004: the 5 treated)
            v = d[col].dropna()
            return float((v >= threshold).mean()) if len(v) else float("nan")
        return float(d[col].isin(lv).mean())

    return f


def _complete_or_marrow_pr(df: pd.DataFrame) -> float:
    """Share of patients in CR (any complete category, as the engine derives it at the
    landmark) or in marrow PR there (``marrow_pr_at_day``; missing counts as no).

    Seed 002's CR + PR (Zhang 2025: 9 CR + 2 PR at day 14 by "NCCN" amid CAR-T aplasia)
    counts marrow PRs: blasts 5-25 % and >= 50 % below baseline without the CR-level
    counts that ELN 2022 PR (Döhner 2022) adds, which no patient in aplasia meets. The
    simulated target is computed by that operational definition
    (:func:`remission.sim.trial.landmark_marrow_pr`); the recorded responses are not.
    """
    pr = df["marrow_pr_at_day"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return float((df["response_at_day"].isin(COMPLETE).to_numpy() | pr).mean())


def _in_arms(metric: Metric, arms: Sequence[str]) -> Metric:
    """``metric`` on the patients of ``arms`` only (a dose group's share)."""
    def f(df: pd.DataFrame) -> float:
        d = df[df["arm"].isin(arms)]
        return metric(d) if len(d) else float("nan")

    return f


def _median(col: str) -> Metric:
    return lambda df: float(df[col].median())


def _within(col: str, lo: float, hi: float) -> Metric:
    return lambda df: float(df[col].between(lo, hi).mean())


S000, S002 = "seed000_ven_leadin_cll1_cart.toml", "seed002_cll1_cart_dose_groups.toml"
S003, S004 = "seed003_blinatumomab_ven.toml", "seed004_cd123_carnk_escalation.toml"

TARGETS: tuple[Target, ...] = (
    Target("000.orr_ven", "000", S000, "CR/PR with VEN lead-in", 26 / 33, 33,
           _rate("best_response", RESPONDERS, ["VEN"])),
    Target("000.orr_noven", "000", S000, "CR/PR without VEN", 20 / 30, 30,
           _rate("best_response", RESPONDERS, ["noVEN"])),
    Target("002.crs_any", "002", S002, "CRS any grade", 12 / 12, 12,
           _rate("crs_grade", threshold=1)),
    Target("002.crs_ge2", "002", S002, "CRS grade >= 2", 10 / 12, 12,
           _rate("crs_grade", threshold=2)),
    Target("002.crs_ge3", "002", S002, "CRS grade >= 3", 5 / 12, 12,
           _rate("crs_grade", threshold=3)),
    Target("002.cr_d14", "002", S002, "CR (MRD- or MRD+) at day 14", 9 / 12, 12,
           _rate("response_at_day", COMPLETE)),
    Target("002.mrdneg_d14", "002", S002, "MRD-negative CR at day 14", 7 / 12, 12,
           _rate("response_at_day", MRD_NEGATIVE)),
    Target("002.orr_d14", "002", S002, "CR + marrow PR at day 14 (PR without counts)",
           11 / 12, 12, _complete_or_marrow_pr),
    Target("002.g4_neutropenia", "002", S002, "grade 4 neutropenia", 11 / 12, 12,
           _rate("neutropenia_grade", threshold=4)),
    Target("002.icans_any", "002", S002, "CRES/ICANS any grade", 3 / 12, 12,
           _rate("icans_grade", threshold=1)),
    Target("002.car_peak_day", "002", S002, "CAR-T peak day (median)", 9.0, 12,
           _median("car_peak_day_sampled"), kind="day"),
    Target("002.peak_7_11", "002", S002, "CAR-T peak between day 7 and 11 (range)",
           12 / 12, 12, _within("car_peak_day_sampled", 7, 11)),
    Target("003.orr_ven", "003", S003, "ORR VEN + blinatumomab (R/R)", 10 / 12, 12,
           _rate("best_response", RESPONDERS, ["VEN+blin"])),
    Target("003.orr_blin", "003", S003, "ORR blinatumomab alone (R/R)", 14 / 21, 21,
           _rate("best_response", RESPONDERS, ["blin"])),
    Target("004.orr_d28", "004", S004, "ORR at day 28", 4 / 5, 5,
           _rate("response_at_day", RESPONDERS)),
    Target("004.cr_d28", "004", S004, "CR/CRi at day 28", 3 / 5, 5,
           _rate("response_at_day", COMPLETE)),
    Target("004.crs_ge2", "004", S004, "CRS grade >= 2", 2 / 5, 5,
           _rate("crs_grade", threshold=2)),
    Target("004.crs_ge3", "004", S004, "CRS grade >= 3", 2 / 5, 5,
           _rate("crs_grade", threshold=3)),
    Target("004.crs_any", "004", S004, "CRS any grade", 5 / 5, 5,
           _rate("crs_grade", threshold=1)),
    Target("004.peak_7_14", "004", S004, "CAR-NK peak between day 7 and 14", 5 / 5, 5,
           _within("car_peak_day_sampled", 7, 14)),
)

#: published numbers that the check does NOT use (session 12,
#: benchmarks/sim_donor/README.md): on the fit streams they added no power against the
#: key three-fold errors and lost some (one Mahalanobis distance over targets that the
#: perturbations hardly move), so they are compared descriptively
#: (``particle_targets(..., targets=ALL_TARGETS)``, ``make_sim_check_summaries.py
#: --descriptive``), not checked
DESCRIPTIVE_TARGETS: tuple[Target, ...] = (
    # seed 002 by dose group (A 0.5e6/kg, patients 2 8 9 11; B 1.0e6/kg, 3 4 12; C
    # 1.5e6/kg, 1 5 6 7 10: Zhang 2025 Table 1 and Table 2, "CLL-1 CAR-T cell
    # infused/kg"). CR + PR and CRS grades per patient from Table 2 ("Response", "CRS
    # grade"); the text's counts by group give the same CR + PR (A 3 of 4 with the one
    # NR, B 3 of 3, C 5 of 5) and the same CRS >= 3 in group C ("3 patients were from
    # the highest dose group"). Not by group: CR and
    # MRD-negative CR, where the text ("1 in Group A, 3 in Group B, and 3 in Group C"
    # MRD-CR; MRD+CR "1 in Group A and the other in Group C") contradicts Table 2 (MRD-CR
    # 2 / 2 / 3, MRD+CR patients 8 (A) and 12 (B)); ICANS (CRES) is in Table 2 only, one
    # case per group; CAR expansion by group is published only as figures (Fig. 2B, 2C)
    Target("002.orr_d14_A", "002", S002, "CR + marrow PR at day 14, 0.5e6/kg", 3 / 4, 4,
           _in_arms(_complete_or_marrow_pr, ["A"])),
    Target("002.orr_d14_B", "002", S002, "CR + marrow PR at day 14, 1.0e6/kg", 3 / 3, 3,
           _in_arms(_complete_or_marrow_pr, ["B"])),
    Target("002.orr_d14_C", "002", S002, "CR + marrow PR at day 14, 1.5e6/kg", 5 / 5, 5,
           _in_arms(_complete_or_marrow_pr, ["C"])),
    Target("002.crs_ge2_A", "002", S002, "CRS grade >= 2, 0.5e6/kg", 2 / 4, 4,
           _rate("crs_grade", threshold=2, arms=["A"])),
    Target("002.crs_ge2_B", "002", S002, "CRS grade >= 2, 1.0e6/kg", 3 / 3, 3,
           _rate("crs_grade", threshold=2, arms=["B"])),
    Target("002.crs_ge2_C", "002", S002, "CRS grade >= 2, 1.5e6/kg", 5 / 5, 5,
           _rate("crs_grade", threshold=2, arms=["C"])),
    Target("002.crs_ge3_A", "002", S002, "CRS grade >= 3, 0.5e6/kg", 1 / 4, 4,
           _rate("crs_grade", threshold=3, arms=["A"])),
    Target("002.crs_ge3_B", "002", S002, "CRS grade >= 3, 1.0e6/kg", 1 / 3, 3,
           _rate("crs_grade", threshold=3, arms=["B"])),
    Target("002.crs_ge3_C", "002", S002, "CRS grade >= 3, 1.5e6/kg", 3 / 5, 5,
           _rate("crs_grade", threshold=3, arms=["C"])),
    # the top CRS and ICANS levels (session 12): Table 2 grades CRS 3 2 2 4 2 2 3 3 1 3 1
    # 2 and CRES 1 0 0 4 0 0 0 1 0 0 0 0 (patients 1-12); text: "3 patients developed
    # CRES, with 1 patient graded as 4. Simultaneously this patient experienced grade 4
    # CRS"
    Target("002.crs_ge4", "002", S002, "CRS grade >= 4", 1 / 12, 12,
           _rate("crs_grade", threshold=4)),
    Target("002.icans_ge3", "002", S002, "CRES/ICANS grade >= 3", 1 / 12, 12,
           _rate("icans_grade", threshold=3)),
    # seed 004 abstract: "one patient developed grade 3 CRS, and another patient
    # experienced grade 4 CRS". Not a target: "no cases of ICANS" (the model makes no ICANS
    # after CAR-NK by construction, icans_car_only)
    Target("004.crs_ge4", "004", S004, "CRS grade >= 4", 1 / 5, 5,
           _rate("crs_grade", threshold=4)),
)

#: the check's targets and the descriptive ones, in one sequence
ALL_TARGETS: tuple[Target, ...] = TARGETS + DESCRIPTIVE_TARGETS

#: seed 002's descriptive targets by dose group
DOSE_GROUP_TARGETS: tuple[str, ...] = tuple(
    t.key for t in DESCRIPTIVE_TARGETS if t.key[-2:] in ("_A", "_B", "_C"))

#: the published top toxicity levels (CRS grade 4 of seeds 002 and 004, ICANS grade >= 3
#: of seed 002), descriptive
TOP_GRADE_TARGETS: tuple[str, ...] = ("002.crs_ge4", "002.icans_ge3", "004.crs_ge4")


def _replicated(design: Design, replicates: int) -> Design:
    arms = tuple(dataclasses.replace(a, n=a.n * replicates) for a in design.arms)
    return dataclasses.replace(design, arms=arms)


def _with_params(design: Design, overrides: Mapping[str, float]) -> Design:
    return dataclasses.replace(design, parameters={**design.parameters, **overrides})


def simulate_replicates(design: Design, replicates: int, seed: int,
                        overrides: Mapping[str, float] | None = None,
                        workers: int | None = 0) -> pd.DataFrame:
    """Patients of ``replicates`` independent virtual trials, with a ``replicate`` column.

    Parameters
    ----------
    design : Design
        A seed design.
    replicates : int
        Number of virtual trials.
    seed : int
        Random stream of the virtual patients.
    overrides : Mapping, optional
        Parameter values replacing the shipped ones.
    workers : int or None, default 0
        As :func:`remission.sim.trial.run_trial`.

    Returns
    -------
    pandas.DataFrame
        ``TrialResult.patients`` of all replicates (each arm ``replicates`` times its
        size) with ``replicate`` (0-based): replicate ``r`` of an arm of size ``m`` is its
        patients ``r*m+1 .. r*m+m``.

    Examples
    --------
    >>> d = calibration_design(load_design(DESIGN_DIR / S004), horizon=14)  # arms of 2, 2, 1
    >>> pts = simulate_replicates(d, 2, seed=0)
    >>> pts.groupby(["replicate", "arm"]).size().tolist()
    [2, 2, 1, 2, 2, 1]
    """
    from .trial import run_trial

    d = _replicated(_with_params(design, overrides or {}), replicates)
    res = run_trial(d, seed=seed, workers=workers, observations=False)
    pts = res.patients
    size = {a.name: a.n for a in design.arms}
    within = pts["patient_id"].str.rsplit("-", n=1).str[1].astype(int) - 1
    return pts.assign(replicate=within // pts["arm"].map(size))


def pearson_p(df: pd.DataFrame, arms: Sequence[str], levels: Iterable[str]) -> float:
    """Pearson chi-square P (no continuity correction) for response by arm.

    Parameters
    ----------
    df : pandas.DataFrame
        Patients with ``arm`` and ``best_response``.
    arms : sequence of str
        The arms compared (rows of the table).
    levels : iterable of str
        Responses counted as response (e.g. :data:`RESPONDERS`).

    Returns
    -------
    float
        P of Pearson's chi-square test on the arms x (response, no response) table, as R
        ``chisq.test(correct = FALSE)``; 1.0 when nobody (or everybody) responds.

    References
    ----------
    Via :func:`remission.stats.contingency.pearson_chi2`.

    Examples
    --------
    Seed 000's abstract: CR/PR in 26 of 33 with venetoclax and 20 of 30 without, P = 0.279:

    >>> df = pd.DataFrame({"arm": ["VEN"] * 33 + ["noVEN"] * 30,
    ...                    "best_response": ["CR"] * 26 + ["NR"] * 7 + ["PR"] * 20 + ["NR"] * 10})
    >>> round(pearson_p(df, ["VEN", "noVEN"], RESPONDERS), 3)
    0.279
    """
    lv = tuple(levels)
    table = np.array([[int(df[df["arm"] == a]["best_response"].isin(lv).sum()),
                       int((~df[df["arm"] == a]["best_response"].isin(lv)).sum())]
                      for a in arms])
    if (table.sum(axis=0) == 0).any():
        return 1.0
    return pearson_chi2(table, correct=False)[2]


def calibration_table(replicates: int = 200, seed: int = 0,
                      overrides: Mapping[str, float] | None = None,
                      workers: int | None = 0, design_dir: Path = DESIGN_DIR) -> pd.DataFrame:
    """Per target: published value, simulated median and 95 % interval over replicates.

    Parameters
    ----------
    replicates : int, default 200
        Virtual trials per seed design at the published arm sizes.
    seed : int, default 0
        Random stream of the virtual patients.
    overrides : Mapping, optional
        Parameter values replacing the shipped ones.
    workers : int or None, default 0
        As :func:`remission.sim.trial.run_trial`.
    design_dir : Path, default :data:`remission.sim.design.DESIGN_DIR`
        Folder of the seed designs (file names as in :data:`TARGETS`).

    Returns
    -------
    pandas.DataFrame
        Indexed by target key (:data:`ALL_TARGETS`: the check's and the descriptive
        ones, then ``000.chisq_p`` and ``000.power``):
        ``study``, ``description``, ``kind``, ``published``, ``simulated_median``,
        ``simulated_mean``, ``interval_low``/``interval_high`` (2.5 and 97.5 percentiles,
        R ``quantile(type = 7)``), ``replicates`` and ``published_within_interval`` (None
        where nothing is published).

    Examples
    --------
    >>> import re, tempfile
    >>> tiny = Path(tempfile.mkdtemp())  # the seed designs with one patient per arm
    >>> for f in (S000, S002, S003, S004):
    ...     text = re.sub(r"(?m)^n = \\d+", "n = 1", (DESIGN_DIR / f).read_text())
    ...     _ = (tiny / f).write_text(text)
    >>> t = calibration_table(replicates=1, design_dir=tiny)
    >>> len(t) == len(ALL_TARGETS) + 2, set(t["replicates"])
    (True, {1})
    >>> bool(t.loc["000.orr_ven", "published"] == 26 / 33)
    True
    """
    rows = []
    by_design: dict[str, pd.DataFrame] = {}
    for t in ALL_TARGETS:
        if t.design not in by_design:
            by_design[t.design] = simulate_replicates(load_design(design_dir / t.design),
                                                      replicates, seed, overrides, workers)
        pts = by_design[t.design]
        vals = pts.groupby("replicate").apply(t.metric, include_groups=False).to_numpy()
        rows.append(_row(t.key, t.study, t.description, t.published, vals, t.kind))
    pts = by_design[S000]
    p_vals = pts.groupby("replicate").apply(
        lambda g: pearson_p(g, ["VEN", "noVEN"], RESPONDERS), include_groups=False).to_numpy()
    rows.append(_row("000.chisq_p", "000", "Pearson chi-square P, CR/PR VEN vs no VEN",
                     0.279, p_vals, "p"))
    rows.append(_row("000.power", "000", "share of virtual trials with P < 0.05",
                     float("nan"), (p_vals < 0.05).astype(float), "share"))
    return pd.DataFrame(rows).set_index("target")


def _row(key: str, study: str, desc: str, published: float, vals: np.ndarray,
         kind: str) -> dict[str, object]:
    lo, med, hi = np.percentile(vals, [2.5, 50.0, 97.5])  # = R quantile(type = 7)
    hit = bool(lo <= published <= hi) if np.isfinite(published) else None
    return {"target": key, "study": study, "description": desc, "kind": kind,
            "published": published, "simulated_median": med, "simulated_mean": vals.mean(),
            "interval_low": lo, "interval_high": hi, "replicates": len(vals),
            "published_within_interval": hit}


def calibration_result(replicates: int = 200, seed: int = 0,
                       overrides: Mapping[str, float] | None = None,
                       workers: int | None = 0, design_dir: Path = DESIGN_DIR) -> Result:
    """The calibration table as a :class:`remission.results.Result`.

    Parameters
    ----------
    replicates : int, default 200
        Virtual trials per seed design.
    seed : int, default 0
        Random stream of the virtual patients.
    overrides : Mapping, optional
        Parameter values replacing the shipped ones.
    workers : int or None, default 0
        As :func:`remission.sim.trial.run_trial`.
    design_dir : Path, default :data:`remission.sim.design.DESIGN_DIR`
        Folder of the seed designs.

    Returns
    -------
    Result
        ``simulation.calibration``: the :func:`calibration_table`; a warning names each
        target whose published value lies outside its interval.

    References
    ----------
    models.md §8 (seed targets); the seed publications cited in the Result.

    Examples
    --------
    >>> import re, tempfile
    >>> tiny = Path(tempfile.mkdtemp())  # the seed designs with one patient per arm
    >>> for f in (S000, S002, S003, S004):
    ...     text = re.sub(r"(?m)^n = \\d+", "n = 1", (DESIGN_DIR / f).read_text())
    ...     _ = (tiny / f).write_text(text)
    >>> r = calibration_result(replicates=1, design_dir=tiny)
    >>> r.name, r.params["replicates"], r.warnings[-1].startswith("SIMULATED")
    ('simulation.calibration', 1, True)
    """
    table = calibration_table(replicates, seed, overrides, workers, design_dir)
    missed = [k for k, v in table["published_within_interval"].items() if v is False]
    warnings = [f"published value outside the 95 % interval of simulated trials: {k}"
                for k in missed]
    warnings.append("SIMULATED: model outputs, not patient data; intervals reflect "
                    "between-trial sampling of virtual patients at the published sizes, "
                    "not parameter uncertainty.")
    return Result(
        name="simulation.calibration",
        title="Mechanistic model vs published seed-study outcomes",
        table=table,
        method=(f"{replicates} replicate virtual trials per seed design at the published "
                "arm sizes; median and 2.5-97.5 percentiles (R quantile type 7) over "
                "replicates; Pearson chi-square without continuity correction for the "
                "seed-000 arm comparison."),
        rationale=("A published rate from a small trial is one draw; the model is "
                   "consistent with it when the value lies inside the spread of replicate "
                   "trials of the same size."),
        warnings=tuple(warnings),
        references=("models.md §8 (seed targets)", "Zhang M et al. Front Immunol "
                    "2025;15:1491341", "Stein AM et al. CPT PSP 2019;8:285",
                    "Barros LRC et al. Cancers 2021;13:2941"),
        params={"replicates": replicates, "seed": seed, **dict(overrides or {})},
        section="simulation",
    )


#: every target is reached by day 28 (responses at days 14/28, CRS, ICANS, CAR peak,
#: neutropenia nadir): calibration designs stop at this horizon, which leaves every
#: target unchanged and saves three quarters of the simulated days
HORIZON_DAYS = 42


def calibration_design(design: Design, horizon: int = HORIZON_DAYS) -> Design:
    """``design`` with follow-up (and observation days) cut at ``horizon`` days.

    Parameters
    ----------
    design : Design
        A design.
    horizon : int, default :data:`HORIZON_DAYS` (42)
        Last day of follow-up.

    Returns
    -------
    Design
        The design itself when its follow-up is already within ``horizon``, else a copy
        with ``follow_up_days = horizon`` and the observation days after it removed.

    Examples
    --------
    >>> d = calibration_design(load_design(DESIGN_DIR / S002))
    >>> d.follow_up, max(d.trial["observation_days"])
    (42, 28)
    """
    if design.follow_up <= horizon:
        return design
    trial = dict(design.trial)
    trial["follow_up_days"] = horizon
    trial["observation_days"] = [d for d in trial.get("observation_days", []) if d <= horizon]
    return dataclasses.replace(design, trial=trial)


def particle_targets(thetas: Sequence[Mapping[str, float]], studies: Sequence[str],
                     seed: int, first: int = 0, design_dir: Path = DESIGN_DIR,
                     chunk_size: int = 4000,
                     targets: Sequence[Target] = TARGETS) -> pd.DataFrame:
    """Targets of one virtual trial per parameter set, all simulated in one state array.

    Parameter set ``k`` gets its own copy of every arm of each seed design (with the
    set as per-arm ``parameters``) and its own virtual patients: arm ``a`` of size ``m``
    uses patients ``(first + k) * m .. (first + k + 1) * m - 1`` of random stream
    ``seed``, so sets never share patients and a later call with ``first`` advanced
    draws fresh ones. One row per set, one column per target of ``studies``.

    Parameters
    ----------
    thetas : sequence of Mapping
        Parameter sets (name -> value; an empty set is the shipped values).
    studies : sequence of str
        Seed studies whose targets are computed.
    seed : int
        Random stream of the virtual patients.
    first : int, default 0
        Index of the first virtual trial on the stream.
    design_dir : Path, default :data:`remission.sim.design.DESIGN_DIR`
        Folder of the seed designs.
    chunk_size : int, default 4000
        Most patients per simulated chunk.
    targets : sequence of Target, default :data:`TARGETS` (the check's)
        Targets computed; :data:`ALL_TARGETS` adds the descriptive ones.

    Returns
    -------
    pandas.DataFrame
        One row per parameter set, one column per target key of ``studies``.

    Examples
    --------
    >>> t = particle_targets([{}, {"car_expansion": 0.5}], ["004"], seed=3)
    >>> t.shape
    (2, 6)
    """
    from .trial import simulate_chunk

    k_sets = len(thetas)
    cols: dict[str, np.ndarray] = {}
    for design_file in dict.fromkeys(t.design for t in targets if t.study in studies):
        base = calibration_design(load_design(design_dir / design_file))
        arms = tuple(dataclasses.replace(a, name=f"{k}|{a.name}",
                                         parameters={**a.parameters, **dict(th)})
                     for k, th in enumerate(thetas) for a in base.arms)
        d = dataclasses.replace(base, arms=arms)
        n_arms = len(base.arms)
        segs = [(k * n_arms + j, (first + k) * a.n, (first + k + 1) * a.n)
                for k in range(k_sets) for j, a in enumerate(base.arms)]
        chunks: list[list[tuple[int, int, int]]] = [[]]
        size = 0
        for sg in segs:
            if size and size + sg[2] - sg[1] > chunk_size:
                chunks.append([])
                size = 0
            chunks[-1].append(sg)
            size += sg[2] - sg[1]
        pts = pd.concat([simulate_chunk(d, c, seed, observations=False)["patients"]
                         for c in chunks], ignore_index=True)
        split = pts["arm"].str.split("|", n=1)
        pts = pts.assign(set=split.str[0].astype(int), arm=split.str[1])
        groups = dict(tuple(pts.groupby("set")))
        for t in targets:
            if t.design == design_file and t.study in studies:
                cols[t.key] = np.array([t.metric(groups[k]) for k in range(k_sets)],
                                       dtype=float)
    return pd.DataFrame(cols)


def target_scale(keys: Sequence[str]) -> pd.Series:
    """The sampling standard deviation of each published target (its natural scale).

    Proportions: binomial ``sqrt(p (1 - p) / n)`` at the published ``p`` moved half a
    patient away from 0 and 1 (so 12/12 still has a spread); days: 1.5 days, the
    standard error of a median of ~10 peak days spread over a week.

    Parameters
    ----------
    keys : sequence of str
        Target keys of :data:`ALL_TARGETS`.

    Returns
    -------
    pandas.Series
        The scale of each key.

    Raises
    ------
    KeyError
        For an unknown key.

    Examples
    --------
    CRS >= 3 in 5 of 12: sqrt(5/12 x 7/12 / 12) = 0.1423; 12 of 12 is moved to 11.5 of 12:

    >>> target_scale(["002.crs_ge3", "002.crs_any", "002.car_peak_day"]).round(4).tolist()
    [0.1423, 0.0577, 1.5]
    """
    by = {t.key: t for t in ALL_TARGETS}
    out = {}
    for k in keys:
        t = by[k]
        if t.kind == "day":
            out[k] = 1.5
        else:
            q = min(max(t.published, 0.5 / t.n_published), 1 - 0.5 / t.n_published)
            out[k] = float(np.sqrt(q * (1 - q) / t.n_published))
    return pd.Series(out)


@dataclass(frozen=True)
class PredictiveCheck:
    """Predictive check of the model against the published targets (can fail)."""

    statistic: float  # Mahalanobis discrepancy of the published study from the model
    p_value: float  # share of held-out virtual trials at least as discrepant (+1)
    table: pd.DataFrame  # per target: published, model mean, sd, marginal z
    replicates: int
    seed: int
    null: np.ndarray  # the replicate discrepancies (the simulated null distribution)

    @property
    def passed(self) -> bool:
        return self.p_value >= 0.05


#: shrinkage of the replicate covariance towards its diagonal (10 % of the off-diagonal
#: removed): keeps the matrix well conditioned when targets are nearly collinear
#: (CR, MRD-negative CR and CR+PR move together) and replicates are few
SHRINKAGE = 0.1


def _mahalanobis(x: np.ndarray, sims: np.ndarray, floor: np.ndarray) -> float:
    mu = sims.mean(axis=0)
    cov = np.atleast_2d(np.cov(sims, rowvar=False))
    cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov))
    cov = cov + np.diag(np.maximum(floor**2 - np.diag(cov), 0.0))
    r = x - mu
    return float(r @ np.linalg.solve(cov, r))


def discrepancy(published: np.ndarray, sims: np.ndarray, floor: np.ndarray
                ) -> tuple[float, np.ndarray]:
    """Mahalanobis discrepancy of ``published`` from the replicate trials ``sims``
    (rows = trials, columns = targets), and the leave-one-out discrepancy of every
    replicate from the others (its null distribution).

    The covariance is the replicates' (shrunk by :data:`SHRINKAGE` towards its
    diagonal, each variance at least ``floor**2``). Each replicate is compared with the
    mean and covariance of the *other* replicates, as the published trial is with all of
    them, so observed and null discrepancies are exchangeable under the model.

    Parameters
    ----------
    published : numpy.ndarray
        The published targets (k,).
    sims : numpy.ndarray
        Replicate trials (replicates, k).
    floor : numpy.ndarray
        Smallest standard deviation of each target (k,).

    Returns
    -------
    tuple
        ``(statistic, null)``: the squared Mahalanobis distance of ``published`` and the
        leave-one-out distance of each replicate (replicates,).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sims = rng.normal(size=(200, 3))
    >>> d, null = discrepancy(np.array([4.0, 0, 0]), sims, np.zeros(3))
    >>> round(d), float((null >= d).mean()) < 0.01
    (16, True)
    """
    d_obs = _mahalanobis(published, sims, floor)
    idx = np.arange(len(sims))
    null = np.array([_mahalanobis(sims[i], sims[idx != i], floor) for i in idx])
    return d_obs, null


def predictive_check(studies: Sequence[str] = ("000", "002", "003", "004"),
                     replicates: int = 200, seed: int = 1,
                     overrides: Mapping[str, float] | None = None,
                     design_dir: Path = DESIGN_DIR, first: int = 0) -> PredictiveCheck:
    """Can the model have produced the published studies? A check that can fail.

    Simulates ``replicates`` virtual trials of each seed design at its published size on
    random streams ``seed`` (use streams no fit has seen: :mod:`remission.sim.abc` fits
    on stream 101 and up; this check defaults to stream 1), with the parameters
    ``overrides``. The discrepancy of the published targets from the model is their
    squared Mahalanobis distance from the replicate trials (correlations between
    targets included, see :func:`discrepancy`); its null distribution is the same
    distance of every virtual trial from the others (a parametric-bootstrap predictive
    check, Gelman, Meng & Stern, Stat Sin 1996;6:733; Mahalanobis form as in synthetic
    likelihood, Wood 2010 Nature 466:1102). ``p < 0.05`` fails.

    The targets include the timing of the CAR peak (median and the published range) and
    ICANS as well as response and CRS, so parameters that are too *strong* (earlier
    peaks, more severe CRS and ICANS) fail as well as parameters that are too weak.

    Parameters
    ----------
    studies : sequence of str, default ("000", "002", "003", "004")
        Seed studies whose targets enter.
    replicates : int, default 200
        Virtual trials per study (at least 3).
    seed : int, default 1
        Random stream of the virtual patients.
    overrides : Mapping, optional
        Parameter values replacing the shipped ones.
    design_dir : Path, default :data:`remission.sim.design.DESIGN_DIR`
        Folder of the seed designs.
    first : int, default 0
        Index of the first virtual trial on the stream (to take fresh patients).

    Returns
    -------
    PredictiveCheck
        Statistic, p value (``(1 + #null >= statistic) / (replicates + 1)``),
        per-target table, replicates, seed and null distribution.

    Raises
    ------
    ValueError
        With fewer than 3 replicates.

    References
    ----------
    Gelman A, Meng XL, Stern H. Posterior predictive assessment of model fitness via
    realized discrepancies. Stat Sin 1996;6:733-807; Wood SN. Statistical inference for
    noisy nonlinear ecological dynamic systems. Nature 2010;466:1102-4.

    Examples
    --------
    Three virtual trials of seed 004: the smallest p-value three replicates allow is
    1/4, so the check cannot fail on so few:

    >>> r = predictive_check(("004",), replicates=3, seed=1)
    >>> r.replicates, len(r.null), r.p_value >= 0.25, r.passed
    (3, 3, True, True)
    """
    thetas = [dict(overrides or {})] * replicates
    sims = particle_targets(thetas, studies, seed, first, design_dir)
    return check_summaries(sims, seed=seed)


def check_summaries(sims: pd.DataFrame, published: pd.Series | None = None,
                    seed: int = -1, null: np.ndarray | None = None) -> PredictiveCheck:
    """The predictive check on replicate-trial summaries already simulated.

    Parameters
    ----------
    sims : one row per virtual trial, one column per target key (as
        :func:`particle_targets` returns)
    published : the values to check (default: the published targets of those keys);
        pass a virtual trial's own targets to measure the false-positive rate
    seed : the random stream ``sims`` came from (recorded only)
    null : the null distribution of an earlier check on the same ``sims`` (it does not
        depend on ``published``), to check many candidate studies without recomputing it

    Returns
    -------
    PredictiveCheck

    Examples
    --------
    >>> sims = pd.DataFrame({"004.crs_any": [1.0, 0.8, 1.0, 0.6, 1.0],
    ...                      "004.crs_ge3": [0.4, 0.2, 0.6, 0.0, 0.4]})
    >>> r = check_summaries(sims)
    >>> r.replicates, round(float(r.table.loc["004.crs_ge3", "model_mean"]), 2)
    (5, 0.32)
    """
    keys = list(sims.columns)
    by = {t.key: t for t in ALL_TARGETS}
    pub = (np.array([by[k].published for k in keys]) if published is None
           else published.reindex(keys).to_numpy(dtype=float))
    # a target the model never varies still has the study's own sampling error: half of
    # the published target's binomial SE (0.5 day for days)
    floor = 0.5 * target_scale(keys).to_numpy() / np.where(
        [by[k].kind == "day" for k in keys], 1.5, 1.0)
    x = sims.to_numpy(dtype=float)
    if len(x) < 3:
        raise ValueError(f"the check needs at least 3 replicate trials, got {len(x)}")
    if null is None:
        d_obs, null = discrepancy(pub, x, floor)
    else:
        d_obs = _mahalanobis(pub, x, floor)
    p = float((1 + (null >= d_obs).sum()) / (len(null) + 1))
    sd = np.maximum(x.std(axis=0, ddof=1), floor)
    table = pd.DataFrame({"published": pub, "model_mean": x.mean(axis=0), "model_sd": sd,
                          "z": (pub - x.mean(axis=0)) / sd}, index=keys)
    return PredictiveCheck(d_obs, p, table, len(x), seed, null)


#: parameters whose 3-fold errors the check must detect (docs/simulation.md)
KEY_PARAMETERS = ("car_expansion", "car_kill_max", "il6_car", "car_exhaustion")


def _power_table(parameters: Sequence[str] = KEY_PARAMETERS,
                 factors: Sequence[float] = (0.3, 3.0),
                 studies: Sequence[str] = ("002",), replicates: int = 60, seed: int = 2,
                 base: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The predictive check with each parameter multiplied by each factor (one at a
    time, from ``base`` or the shipped values), and unperturbed: statistic, p, verdict.

    Parameters
    ----------
    parameters : sequence of str, default :data:`KEY_PARAMETERS`
        Parameters to perturb.
    factors : sequence of float, default (0.3, 3.0)
        Multipliers.
    studies : sequence of str, default ("002",)
        Seed studies whose targets enter the check.
    replicates : int, default 60
        Virtual trials per case.
    seed : int, default 2
        Random stream of the virtual patients.
    base : Mapping, optional
        Parameter values to start from (default: the shipped ones).

    Returns
    -------
    pandas.DataFrame
        One row per case (``(shipped)`` first): ``parameter``, ``factor``, ``D``, ``p``,
        ``verdict`` (``pass``/``fail``) and ``largest |z|`` (the target furthest from the
        model, with its z).
    """
    vals = {**{k: v.value for k, v in PARAMETERS.items()}, **dict(base or {})}
    rows = []
    cases: list[tuple[str, float]] = [("(shipped)", 1.0)]
    cases += [(k, f) for k in parameters for f in factors]
    for k, f in cases:
        over = dict(base or {})
        if k != "(shipped)":
            over[k] = vals[k] * f
        r = predictive_check(studies, replicates, seed, over)
        worst = r.table["z"].abs().idxmax()
        rows.append({"parameter": k, "factor": f, "D": r.statistic, "p": r.p_value,
                     "verdict": "pass" if r.passed else "fail",
                     "largest |z|": f"{worst} ({r.table.loc[worst, 'z']:+.1f})"})
    return pd.DataFrame(rows)




def power_table_from_summaries(summaries: pd.DataFrame,
                               studies: Sequence[str] = ("002",)) -> pd.DataFrame:
    """The power table of ``python -m remission.sim.calibrate power`` from replicate
    summaries already simulated (the CSV of
    ``scripts/make_sim_check_summaries.py``: columns ``case``, ``trial`` and one per
    target; case ``shipped``, ``<parameter> x<factor>`` and ``fresh``), on the targets
    of ``studies``; adds the false-positive count over the ``fresh`` trials.

    Parameters
    ----------
    summaries : pandas.DataFrame
        Replicate summaries: ``case``, ``trial`` and one column per target key.
    studies : sequence of str, default ("002",)
        Seed studies whose targets enter.

    Returns
    -------
    pandas.DataFrame
        One row per case except ``fresh``: ``parameter``, ``factor``, ``D``, ``p``,
        ``verdict`` and ``largest |z|``;
        ``attrs["false_positives"]`` is ``(failed, fresh trials)`` when there are
        ``fresh`` rows.

    Examples
    --------
    >>> rows = [{"case": c, "trial": i, "004.crs_any": v}
    ...         for c, shift in (("shipped", 0.0), ("il6_car x0.3", -0.5))
    ...         for i, v in enumerate(np.linspace(0.5, 1.0, 30) + shift)]
    >>> t = power_table_from_summaries(pd.DataFrame(rows), ("004",))
    >>> t["verdict"].tolist()
    ['pass', 'fail']
    """
    cols = [c for c in summaries.columns
            if c not in ("case", "trial") and c.split(".", 1)[0] in studies]
    rows = []
    shipped = None
    for case, g in summaries.groupby("case", sort=False):
        if case == "fresh":
            continue
        r = check_summaries(g[cols])
        if case == "shipped":
            shipped = r
        name, _, fac = str(case).rpartition(" x")
        worst = r.table["z"].abs().idxmax()
        rows.append({"parameter": "(shipped)" if case == "shipped" else name,
                     "factor": 1.0 if case == "shipped" else float(fac),
                     "D": r.statistic, "p": r.p_value,
                     "verdict": "pass" if r.passed else "fail",
                     "largest |z|": f"{worst} ({r.table.loc[worst, 'z']:+.1f})"})
    out = pd.DataFrame(rows)
    fresh = summaries[summaries["case"] == "fresh"]
    if shipped is not None and len(fresh):
        fp = sum(not check_summaries(summaries[summaries["case"] == "shipped"][cols], row,
                                     null=shipped.null).passed
                 for _, row in fresh[cols].iterrows())
        out.attrs["false_positives"] = (fp, len(fresh))
    return out


if __name__ == "__main__":  # python -m remission.sim.calibrate [replicates] [workers]
    import sys

    from ..report.markdown import calibration_markdown, markdown_table

    if sys.argv[1:2] == ["power-from"]:
        # python -m remission.sim.calibrate power-from SUMMARIES.csv [study ...]
        t = power_table_from_summaries(pd.read_csv(sys.argv[2], comment="#"),
                                       tuple(sys.argv[3:]) or ("002",))
        print(markdown_table(t.set_index("parameter")))
        if "false_positives" in t.attrs:
            fp, n = t.attrs["false_positives"]
            print(f"\nfalse positives on model-drawn studies: {fp} of {n}")
        raise SystemExit(0)
    if sys.argv[1:2] == ["power"]:  # python -m remission.sim.calibrate power [reps] [seed]
        reps = int(sys.argv[2]) if len(sys.argv) > 2 else 60
        sd = int(sys.argv[3]) if len(sys.argv) > 3 else 2
        print(markdown_table(_power_table(replicates=reps, seed=sd).set_index("parameter")))
        raise SystemExit(0)
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    print(calibration_markdown(calibration_table(replicates=reps, workers=workers)))
