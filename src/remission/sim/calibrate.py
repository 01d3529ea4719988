"""Calibration of the free model parameters to the seed studies (models.md §8).

Two jobs:

* :func:`calibration_result` -- simulate many replicate virtual trials of each seed
  design at the published arm sizes and compare every target with the published value:
  median and 95 % percentile interval over replicates (percentiles as R's
  ``quantile(type = 7)``), and for the seed-000 arm comparison the Pearson chi-square
  P value (as R ``chisq.test(correct = FALSE)``, the test the abstract reports).
  Targets the model cannot reach are flagged, not hidden.
* :func:`fit` -- least squares on the targets (each residual scaled by the published
  study's binomial standard error) over a chosen block of free parameters, on large
  virtual populations with common random numbers, by Nelder-Mead on log parameters
  (Nelder & Mead, Comput J 1965;7:308).

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
from scipy import optimize

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
            return float((d[col] >= threshold).mean())
        return float(d[col].isin(lv).mean())

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
    Target("002.crs_ge3", "002", S002, "CRS grade >= 3", 5 / 12, 12,
           _rate("crs_grade", threshold=3)),
    Target("002.cr_d14", "002", S002, "CR (MRD- or MRD+) at day 14", 9 / 12, 12,
           _rate("response_at_day", COMPLETE)),
    Target("002.mrdneg_d14", "002", S002, "MRD-negative CR at day 14", 7 / 12, 12,
           _rate("response_at_day", MRD_NEGATIVE)),
    Target("002.orr_d14", "002", S002, "CR + PR at day 14", 11 / 12, 12,
           _rate("response_at_day", RESPONDERS)),
    Target("002.g4_neutropenia", "002", S002, "grade 4 neutropenia", 11 / 12, 12,
           _rate("neutropenia_grade", threshold=4)),
    Target("002.car_peak_day", "002", S002, "CAR-T peak day (median)", 9.0, 12,
           _median("car_peak_day"), kind="day"),
    Target("003.orr_ven", "003", S003, "ORR VEN + blinatumomab (R/R)", 10 / 12, 12,
           _rate("best_response", RESPONDERS, ["VEN+blin"])),
    Target("003.orr_blin", "003", S003, "ORR blinatumomab alone (R/R)", 14 / 21, 21,
           _rate("best_response", RESPONDERS, ["blin"])),
    Target("004.orr_d28", "004", S004, "ORR at day 28", 4 / 5, 5,
           _rate("response_at_day", RESPONDERS)),
    Target("004.cr_d28", "004", S004, "CR/CRi at day 28", 3 / 5, 5,
           _rate("response_at_day", COMPLETE)),
    Target("004.crs_ge3", "004", S004, "CRS grade >= 3", 2 / 5, 5,
           _rate("crs_grade", threshold=3)),
    Target("004.peak_7_14", "004", S004, "CAR-NK peak between day 7 and 14", 5 / 5, 5,
           _within("car_peak_day", 7, 14)),
)

#: parameter blocks fitted together (each block's targets only)
BLOCKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "car_t": (("car_expansion", "car_kill_max", "il6_car", "car_neg_kill_fraction",
               "antigen_density_cv", "car_density_half"), ("000", "002")),
    "blinatumomab": (("blin_kill_max", "il6_blin"), ("003",)),
    "car_nk": (("nk_expansion", "nk_kill_max"), ("004",)),
}


def _replicated(design: Design, replicates: int) -> Design:
    arms = tuple(dataclasses.replace(a, n=a.n * replicates) for a in design.arms)
    return dataclasses.replace(design, arms=arms)


def _with_params(design: Design, overrides: Mapping[str, float]) -> Design:
    return dataclasses.replace(design, parameters={**design.parameters, **overrides})


def simulate_replicates(design: Design, replicates: int, seed: int,
                        overrides: Mapping[str, float] | None = None,
                        workers: int | None = 0) -> pd.DataFrame:
    """Patients of ``replicates`` independent virtual trials, with a ``replicate`` column."""
    from .trial import run_trial

    d = _replicated(_with_params(design, overrides or {}), replicates)
    res = run_trial(d, seed=seed, workers=workers, observations=False)
    pts = res.patients
    size = {a.name: a.n for a in design.arms}
    within = pts["patient_id"].str.rsplit("-", n=1).str[1].astype(int) - 1
    return pts.assign(replicate=within // pts["arm"].map(size))


def pearson_p(df: pd.DataFrame, arms: Sequence[str], levels: Iterable[str]) -> float:
    """Pearson chi-square P (no continuity correction) for response by arm."""
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
    """Per target: published value, simulated median and 95 % interval over replicates."""
    rows = []
    by_design: dict[str, pd.DataFrame] = {}
    for t in TARGETS:
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
                       workers: int | None = 0) -> Result:
    """The calibration table as a :class:`remission.results.Result`."""
    table = calibration_table(replicates, seed, overrides, workers)
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


def replicate_targets(studies: Sequence[str], replicates: int, seed: int,
                      overrides: Mapping[str, float] | None = None,
                      design_dir: Path = DESIGN_DIR, workers: int | None = 0
                      ) -> pd.DataFrame:
    """Target values of ``replicates`` virtual trials at the published sizes, one row per
    replicate and one column per target of ``studies``."""
    cols: dict[str, np.ndarray] = {}
    cache: dict[str, pd.DataFrame] = {}
    for t in TARGETS:
        if t.study not in studies:
            continue
        if t.design not in cache:
            cache[t.design] = simulate_replicates(load_design(design_dir / t.design),
                                                  replicates, seed, overrides, workers)
        cols[t.key] = cache[t.design].groupby("replicate").apply(
            t.metric, include_groups=False).to_numpy(dtype=float)
    return pd.DataFrame(cols)


@dataclass(frozen=True)
class PredictiveCheck:
    """Posterior-predictive-style check of the model against the published targets."""

    statistic: float  # discrepancy of the published study from the model
    p_value: float  # share of virtual trials at least as discrepant (with +1 correction)
    table: pd.DataFrame  # per target: published, model mean, sd, standardised residual
    replicates: int
    seed: int

    @property
    def passed(self) -> bool:
        return self.p_value >= 0.05


def predictive_check(studies: Sequence[str] = ("000", "002", "003", "004"),
                     replicates: int = 200, seed: int = 1,
                     overrides: Mapping[str, float] | None = None,
                     design_dir: Path = DESIGN_DIR, workers: int | None = 0
                     ) -> PredictiveCheck:
    """Can the model have produced the published studies? A check that can fail.

    Simulates ``replicates`` virtual trials of each seed design at its published size on
    random streams ``seed`` (use a seed the parameters were never tuned on). For each
    target the model's mean and standard deviation over the virtual trials give a
    standardised residual; the discrepancy ``D = sum of squared residuals`` of the
    published values is compared with the same discrepancy of every virtual trial
    against the model (a parametric-bootstrap / posterior predictive check, Gelman,
    Meng & Stern, Stat Sin 1996;6:733, with parameters fixed). ``p < 0.05`` = the
    published results are unlikely under the model: the calibration check fails. Unlike
    "each target inside its own 95 % interval", the joint statistic accumulates evidence
    across targets, so moderately wrong parameters that shift several targets fail.
    """
    sims = replicate_targets(studies, replicates, seed, overrides, design_dir, workers)
    pub = pd.Series({t.key: t.published for t in TARGETS if t.key in sims.columns})
    n_pub = pd.Series({t.key: t.n_published for t in TARGETS if t.key in sims.columns})
    kind = pd.Series({t.key: t.kind for t in TARGETS if t.key in sims.columns})
    mu = sims.mean()
    sd = sims.std(ddof=1)
    # a target the model never varies still has the study's own sampling error
    floor = np.where(kind == "day", 0.5, np.sqrt(0.25 / n_pub) * 0.5)
    sd = np.maximum(sd, floor)
    z_pub = (pub - mu) / sd
    d_obs = float((z_pub**2).sum())
    d_rep = (((sims - mu) / sd) ** 2).sum(axis=1).to_numpy()
    p = float((1 + (d_rep >= d_obs).sum()) / (len(d_rep) + 1))
    table = pd.DataFrame({"published": pub, "model_mean": mu, "model_sd": sd,
                          "z": z_pub})
    return PredictiveCheck(d_obs, p, table, replicates, seed)


def loss(overrides: Mapping[str, float], studies: Sequence[str], n_rep: int = 20,
         seed: int = 0, design_dir: Path = DESIGN_DIR) -> float:
    """Sum of squared standardised residuals of the targets of ``studies``."""
    total = 0.0
    cache: dict[str, pd.DataFrame] = {}
    for t in TARGETS:
        if t.study not in studies:
            continue
        if t.design not in cache:
            cache[t.design] = simulate_replicates(load_design(design_dir / t.design), n_rep,
                                                  seed, overrides)
        sim = t.metric(cache[t.design])
        if t.kind == "day":
            se = 1.0
        else:
            pub = min(max(t.published, 0.5 / t.n_published), 1 - 0.5 / t.n_published)
            se = np.sqrt(pub * (1 - pub) / t.n_published)
        total += ((sim - t.published) / se) ** 2
    return float(total)


def fit(block: str, n_rep: int = 20, seed: int = 0, maxiter: int = 60
        ) -> tuple[dict[str, float], float]:
    """Fit one parameter block (see :data:`BLOCKS`) by Nelder-Mead on log values."""
    names, studies = BLOCKS[block]
    x0 = np.log([PARAMETERS[k].value for k in names])

    def obj(x: np.ndarray) -> float:
        return loss(dict(zip(names, np.exp(x), strict=True)), studies, n_rep, seed)

    # a wide initial simplex (x0 and x0 +/- 0.4 on each log parameter, i.e. +/- 50 %):
    # the default 5 % steps are too small to move discrete trial outcomes
    simplex = np.vstack([x0, x0 + 0.4 * np.eye(len(x0))])
    simplex[-1] = x0 - 0.4
    res = optimize.minimize(obj, x0, method="Nelder-Mead",
                            options={"maxiter": maxiter, "xatol": 0.02, "fatol": 0.05,
                                     "initial_simplex": simplex})
    return dict(zip(names, np.exp(res.x).tolist(), strict=True)), float(res.fun)


def to_markdown(table: pd.DataFrame) -> str:
    """The calibration table as a Markdown table (for docs/simulation.md)."""
    head = ("| target | published | simulated median | 95 % interval | within |\n"
            "|---|---|---|---|---|")
    lines = [head]
    for key, r in table.iterrows():
        fmt = "{:.0f}" if r["kind"] == "day" else "{:.3f}"
        if r["kind"] == "share":  # a 0/1 per replicate: the share itself is the mean
            lines.append(f"| {key}: {r['description']} | - | "
                         f"{fmt.format(r['simulated_mean'])} (mean) | - | - |")
            continue
        pub = "-" if not np.isfinite(r["published"]) else fmt.format(r["published"])
        within = {True: "yes", False: "**no**", None: "-"}[r["published_within_interval"]]
        lines.append(f"| {key}: {r['description']} | {pub} | {fmt.format(r['simulated_median'])}"
                     f" | {fmt.format(r['interval_low'])}-{fmt.format(r['interval_high'])}"
                     f" | {within} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m remission.sim.calibrate [replicates] [workers]
    import sys

    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    print(to_markdown(calibration_table(replicates=reps, workers=workers)))
