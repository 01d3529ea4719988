"""Trial designs: a TOML file of arms, dose groups, schedules and assessments.

A design is validated completely before anything runs: every problem (unknown arm
component, negative dose, assessment after follow-up, missing or unknown key, unknown
model parameter...) is collected and raised at once as
:class:`remission.errors.InputError`, each naming its key path. See
``examples/designs/`` and docs/simulation.md for the format.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProblemLog
from .params import PARAMETERS
from .pk import CY_REF_MG_M2, FLU_REF_MG_M2, HMA_CYCLE_DAYS, HMA_LABEL, HMA_UNITS_PER_MG_M2
from .population import (
    COVARIATES,
    DEFAULT_ELIGIBILITY,
    DEFAULT_POPULATION,
    DISTRIBUTIONS,
    EXTRA_COVARIATES,
)
from .solver import Schedule

#: The seed designs, shipped as package data (``remission/data/designs``;
#: ``examples/designs`` links to them), so calibration and sensitivity work from an
#: installed wheel as from the source tree.
DESIGN_DIR = Path(str(resources.files("remission.data").joinpath("designs")))

ANTIGENS = ("CLL1", "CD123", "CD19")
DISEASES = ("AML", "B-ALL", "MDS", "MPAL")
PRODUCTS = ("car_t", "car_nk")
#: where a CAR-T product's T cells come from: the patient (autologous, the default) or
#: the allo-HSCT donor (antigen-independent alloreactive recognition, ``car_allo_recognition``)
CAR_SOURCES = ("autologous", "donor")

_TRIAL_KEYS = {
    "name": (str, True), "disease": (str, True), "reference": (str, False),
    "target_antigen": (str, True), "follow_up_days": (int, True),
    "assessment_days": (list, True), "response_day": (int, True),
    "observation_days": (list, False),
    "n_per_arm": (int, False), "day0": (str, False), "description": (str, False),
    "bedside_days": (int, False),
}
# Response rules a design cannot change: the simulated study is graded by the criteria
# engine under the study's response system (ELN 2022 for AML, NCCN ALL for B-ALL), whose
# CR needs < 5% marrow blasts and count recovery and whose MRD threshold is the
# system's. A design naming one of these keys is refused (with the reason below).
_ENGINE_RULES = {
    "require_count_recovery": "count recovery is part of CR under the study's response "
                              "system (ELN 2022 / NCCN ALL) and cannot be waived here",
    "cr_blast_pct": "the CR marrow-blast threshold (< 5%) is the response system's",
    "mrd_threshold_pct": "the MRD threshold is the response system's (ELN 2022: 0.1%)",
}
_COMPONENT_KEYS: dict[str, dict[str, tuple[type, bool]]] = {
    "venetoclax": {"dose_mg": (float, True), "start_day": (int, True), "days": (int, True),
                   "ramp_mg": (list, False)},
    "lymphodepletion": {"flu_mg_m2": (float, True), "cy_mg_m2": (float, True),
                        "days": (list, True)},
    "car_t": {"dose_per_kg": (float, False), "dose_cells": (float, False),
              "infusion_days": (list, True), "target": (str, True),
              "infusion_fractions": (list, False), "source": (str, False)},
    "car_nk": {"dose_per_kg": (float, False), "dose_cells": (float, False),
               "infusion_days": (list, True), "target": (str, True),
               "infusion_fractions": (list, False)},
    "blinatumomab": {"steps": (list, True)},
    # hypomethylating agents: cycles of cycle_days days, the first starting on study day
    # start_day; dose_mg_m2 on each of the cycle's days (1-based); label defaults
    **{drug: {"start_day": (int, True), "cycles": (int, True), "dose_mg_m2": (float, False),
              "days": (list, False), "cycle_days": (int, False)} for drug in HMA_LABEL},
}
_STEP_KEYS = {"start_day": (int, True), "end_day": (int, True), "ug_per_day": (float, True)}
_DIST_KEYS = {"dist", "mean", "sd", "median", "cv", "min", "max", "value"}


@dataclass(frozen=True)
class Arm:
    """One arm: name, size, schedule, cell product kind and population overrides."""

    name: str
    n: int
    schedule: Schedule
    product: str  # car_t | car_nk | none
    components: tuple[dict[str, Any], ...]
    population: dict[str, Any] = field(default_factory=dict)
    car_dose_per_kg: float | None = None
    parameters: dict[str, float] = field(default_factory=dict)
    #: CAR-T made from the allo-HSCT donor's T cells (component ``source = "donor"``)
    donor_derived: bool = False


@dataclass(frozen=True)
class Design:
    """A validated trial design."""

    source: str
    trial: dict[str, Any]
    arms: tuple[Arm, ...]
    population: dict[str, Any]
    parameters: dict[str, float]
    eligibility: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def follow_up(self) -> int:
        return int(self.trial["follow_up_days"])

    @property
    def antigen(self) -> str:
        return str(self.trial["target_antigen"])

    @property
    def gives_hma(self) -> bool:
        """Whether any arm gives a hypomethylating agent (azacitidine / decitabine)."""
        return any(a.schedule.hma_units is not None and bool(a.schedule.hma_units.any())
                   for a in self.arms)

    def stacked_schedule(self) -> Schedule:
        """All arms' schedules as (arms x days) arrays on the common day grid."""
        s0 = self.arms[0].schedule
        hma = [a.schedule.hma_units for a in self.arms]
        hma_all = (None if all(h is None or not h.any() for h in hma) else
                   np.stack([np.zeros_like(s0.ven_mg) if h is None else h for h in hma]))
        return Schedule(s0.first_day, s0.last_day,
                        *(np.stack([getattr(a.schedule, f) for a in self.arms])
                          for f in ("ven_mg", "blin_ug_day", "fc_units", "car_per_kg",
                                    "car_cells")), hma_all)


def _typed(v: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(v, int | float) and not isinstance(v, bool)
    if kind is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, kind)


def _check_table(log: ProblemLog, src: str, where: str, table: Any,
                 spec: dict[str, tuple[type, bool]]) -> dict[str, Any]:
    if not isinstance(table, dict):
        log.add(src, "must be a table", column=where, value=table)
        return {}
    for k in table:
        if where == "trial" and k in _ENGINE_RULES:
            log.add(src, "not a design setting", column=f"{where}.{k}", value=table[k],
                    expected=f"no such key: {_ENGINE_RULES[k]}")
        elif k not in spec:
            log.add(src, "unknown key", column=f"{where}.{k}",
                    expected=f"one of {sorted(spec)}")
    for k, (kind, required) in spec.items():
        if k not in table:
            if required:
                log.add(src, "missing required key", column=f"{where}.{k}")
        elif not _typed(table[k], kind):
            log.add(src, "wrong type", column=f"{where}.{k}", value=table[k],
                    expected=kind.__name__)
    return {k: v for k, v in table.items() if k in spec and _typed(v, spec[k][0])}


def _check_population(log: ProblemLog, src: str, where: str, pop: Any) -> dict[str, Any]:
    if not isinstance(pop, dict):
        log.add(src, "must be a table", column=where, value=pop)
        return {}
    ok: dict[str, Any] = {}
    for k, v in pop.items():
        key = f"{where}.{k}"
        if k == "female_fraction":
            if not _typed(v, float) or not 0 <= v <= 1:
                log.add(src, "must be a number in [0, 1]", column=key, value=v)
            else:
                ok[k] = float(v)
            continue
        if k not in COVARIATES + EXTRA_COVARIATES:
            log.add(src, "unknown covariate", column=key,
                    expected=f"one of {['female_fraction', *COVARIATES, *EXTRA_COVARIATES]}")
            continue
        if not isinstance(v, dict):
            log.add(src, "must be a table {dist=..., ...}", column=key, value=v)
            continue
        bad = [x for x in v if x not in _DIST_KEYS]
        for x in bad:
            log.add(src, "unknown key", column=f"{key}.{x}",
                    expected=f"one of {sorted(_DIST_KEYS)}")
        dist = v.get("dist")
        need = {"normal": ("mean", "sd"), "lognormal": ("median", "cv"),
                "logitnormal": ("median", "sd"), "fixed": ("value",)}.get(dist)
        if need is None:
            log.add(src, "unknown distribution", column=f"{key}.dist", value=dist,
                    expected=f"one of {list(DISTRIBUTIONS)}")
            continue
        good = not bad
        for x in need:
            if x not in v:
                log.add(src, "missing required key", column=f"{key}.{x}")
                good = False
        for x in ("mean", "sd", "median", "cv", "min", "max", "value"):
            if x in v and not _typed(v[x], float):
                log.add(src, "wrong type", column=f"{key}.{x}", value=v[x], expected="number")
                good = False
        for x in ("sd", "cv"):
            if x in v and _typed(v[x], float) and v[x] < 0:
                log.add(src, "must not be negative", column=f"{key}.{x}", value=v[x])
                good = False
        if dist == "logitnormal" and _typed(v.get("median"), float) \
                and not 0 < v["median"] < 100:
            log.add(src, "median must be a percentage in (0, 100)", column=f"{key}.median",
                    value=v["median"])
            good = False
        if good:
            ok[k] = {**DEFAULT_POPULATION[k], **v} if dist == DEFAULT_POPULATION[k]["dist"] \
                else dict(v)
    return ok


def _int_list(log: ProblemLog, src: str, key: str, v: Any) -> list[int]:
    if not isinstance(v, list) or not all(_typed(x, int) for x in v) or not v:
        log.add(src, "must be a non-empty list of integer days", column=key, value=v)
        return []
    return [int(x) for x in v]


def _nonneg(log: ProblemLog, src: str, key: str, v: Any) -> None:
    if _typed(v, float) and v < 0:
        log.add(src, "dose must not be negative", column=key, value=v, expected=">= 0")


def parse_design(data: dict[str, Any], source: str = "design") -> Design:
    """Validate a design mapping (parsed TOML); raise InputError with every problem.

    Checks every table and key (types, known keys, diseases, antigens, components, doses,
    days, eligibility, population distributions, model parameter names) and collects every
    problem before raising. Defaults filled in: ``trial.day0``, ``trial.reference``,
    ``trial.bedside_days`` (28) and ``trial.observation_days`` (days 0, 7, 14, 21, 28 when
    not given), always joined with the assessment days.

    Parameters
    ----------
    data : dict
        The parsed TOML: ``[trial]``, ``[population]``, ``[parameters]``,
        ``[eligibility]`` and ``[[arm]]`` tables (format in docs/simulation.md).
    source : str, default "design"
        Name of the input in error messages (the file path when loaded from a file).

    Returns
    -------
    Design
        The validated design; ``trial["assessment_days"]`` and
        ``trial["observation_days"]`` sorted.

    Raises
    ------
    remission.errors.InputError
        With every problem found, each naming its key path (e.g. ``trial.follow_up_days``).

    Examples
    --------
    >>> import tomllib
    >>> from remission.errors import InputError
    >>> data = tomllib.loads((DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml").read_text())
    >>> d = parse_design(data, "seed002")
    >>> [(a.name, a.n, a.product) for a in d.arms]
    [('A', 4, 'car_t'), ('B', 3, 'car_t'), ('C', 5, 'car_t')]

    An assessment after follow-up and a non-positive arm size are both reported:

    >>> data["trial"].update(assessment_days=[14, 200], n_per_arm=0)
    >>> try:
    ...     parse_design(data, "seed002")
    ... except InputError as e:
    ...     print(sorted(p.column for p in e.problems))
    ['trial.assessment_days', 'trial.n_per_arm']
    """
    log = ProblemLog()
    src = source
    for k in data:
        if k not in ("trial", "population", "parameters", "arm", "eligibility"):
            log.add(src, "unknown top-level key", column=k,
                    expected="one of ['arm', 'eligibility', 'parameters', 'population', "
                             "'trial']")
    trial = _check_table(log, src, "trial", data.get("trial", {}), _TRIAL_KEYS)
    if "trial" not in data:
        log.add(src, "missing required table", column="trial")
    if "disease" in trial and trial["disease"] not in DISEASES:
        log.add(src, "unknown disease", column="trial.disease", value=trial["disease"],
                expected=f"one of {list(DISEASES)}")
    antigen = trial.get("target_antigen")
    if antigen is not None and antigen not in ANTIGENS:
        log.add(src, "unknown target antigen", column="trial.target_antigen", value=antigen,
                expected=f"one of {list(ANTIGENS)}")
    fu = trial.get("follow_up_days")
    if fu is not None and fu <= 0:
        log.add(src, "must be positive", column="trial.follow_up_days", value=fu)
    ass = _int_list(log, src, "trial.assessment_days", trial["assessment_days"]) \
        if "assessment_days" in trial else []
    obs_days = _int_list(log, src, "trial.observation_days", trial["observation_days"]) \
        if "observation_days" in trial else []
    if fu is not None:
        for d in ass:
            if d > fu:
                log.add(src, "assessment after end of follow-up", column="trial.assessment_days",
                        value=d, expected=f"<= follow_up_days ({fu})")
        for d in obs_days:
            if d > fu:
                log.add(src, "observation after end of follow-up",
                        column="trial.observation_days", value=d,
                        expected=f"<= follow_up_days ({fu})")
    for d in ass:
        if d <= 0:
            log.add(src, "assessment must be after day 0", column="trial.assessment_days",
                    value=d)
    if "response_day" in trial and ass and trial["response_day"] not in ass:
        log.add(src, "response_day must be one of assessment_days",
                column="trial.response_day", value=trial["response_day"])
    if "n_per_arm" in trial and trial["n_per_arm"] <= 0:
        log.add(src, "must be positive", column="trial.n_per_arm", value=trial["n_per_arm"])

    if "bedside_days" in trial and trial["bedside_days"] < 0:
        log.add(src, "must not be negative", column="trial.bedside_days",
                value=trial["bedside_days"])
    population = _check_population(log, src, "population", data.get("population", {}))
    params = _check_parameters(log, src, "parameters", data.get("parameters", {}))
    eligibility = _check_eligibility(log, src, data.get("eligibility"))

    arms_raw = data.get("arm", [])
    if not isinstance(arms_raw, list) or not arms_raw:
        log.add(src, "at least one [[arm]] is required", column="arm")
        arms_raw = []
    arms: list[Arm] = []
    names: set[str] = set()
    first_day = _first_day(arms_raw)
    for ai, arm in enumerate(arms_raw):
        arm_obj = _parse_arm(log, src, f"arm[{ai}]", arm, trial, antigen, first_day)
        if arm_obj is not None:
            if arm_obj.name in names:
                log.add(src, "duplicate arm name", column=f"arm[{ai}].name", value=arm_obj.name)
            names.add(arm_obj.name)
            arms.append(arm_obj)
    log.raise_if_any()
    trial = {"day0": "first dose of the immune effector", "reference": "",
             "bedside_days": 28, **trial}
    trial["assessment_days"] = sorted(ass)
    trial["observation_days"] = sorted(set(obs_days or [0, 7, 14, 21, 28]) | set(ass))
    return Design(source, trial, tuple(arms), population, params, eligibility)


#: parameters that are shares (at most 1)
UPPER_BOUNDS: dict[str, float] = {"hma_sensitive_fraction": 1.0}


def _check_parameters(log: ProblemLog, src: str, where: str, raw: Any) -> dict[str, float]:
    """Model parameter overrides: known names, finite, non-negative (one exception)."""
    params: dict[str, float] = {}
    if not isinstance(raw, dict):
        log.add(src, "must be a table", column=where)
        return params
    for k, v in raw.items():
        if k not in PARAMETERS:
            log.add(src, "unknown model parameter", column=f"{where}.{k}", value=v,
                    expected="a name listed in remission.sim.params.PARAMETERS")
        elif not _typed(v, float) or not np.isfinite(v):
            log.add(src, "must be a finite number", column=f"{where}.{k}", value=v)
        elif v < 0 and k != "ven_dose_exponent":
            log.add(src, "must not be negative", column=f"{where}.{k}", value=v)
        elif k in UPPER_BOUNDS and v > UPPER_BOUNDS[k]:
            log.add(src, f"must be at most {UPPER_BOUNDS[k]:g}", column=f"{where}.{k}",
                    value=v)
        else:
            params[k] = float(v)
    return params


def _check_eligibility(log: ProblemLog, src: str, raw: Any) -> dict[str, dict[str, float]]:
    """``[eligibility]``: covariate -> {min, max}; absent = DEFAULT_ELIGIBILITY.

    The default (marrow blasts >= 5 %, ELN 2022 active disease) is kept unless the design
    names ``baseline_blasts_pct`` itself.
    """
    out = {k: dict(v) for k, v in DEFAULT_ELIGIBILITY.items()}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        log.add(src, "must be a table", column="eligibility", value=raw)
        return out
    for k, v in raw.items():
        key = f"eligibility.{k}"
        if k not in COVARIATES + EXTRA_COVARIATES:
            log.add(src, "unknown covariate", column=key,
                    expected=f"one of {[*COVARIATES, *EXTRA_COVARIATES]}")
            continue
        if not isinstance(v, dict) or not v or any(x not in ("min", "max") for x in v):
            log.add(src, "must be a table with min and/or max", column=key, value=v)
            continue
        bad = [x for x in v if not _typed(v[x], float) or not np.isfinite(v[x])]
        for x in bad:
            log.add(src, "must be a finite number", column=f"{key}.{x}", value=v[x])
        if bad:
            continue
        if "min" in v and "max" in v and v["min"] > v["max"]:
            log.add(src, "min is above max", column=key, value=v)
            continue
        out[k] = {x: float(y) for x, y in v.items()}
    return out


def _first_day(arms_raw: Any) -> int:
    """Day before the earliest dose of any arm: the common start (baseline) of all arms.

    All arms start from baseline on the same day, so a patient randomised to "no
    lead-in" waits (untreated) while the lead-in arm receives venetoclax.
    """
    days = [0]
    for arm in arms_raw if isinstance(arms_raw, list) else []:
        comps = arm.get("component", []) if isinstance(arm, dict) else []
        for c in comps if isinstance(comps, list) else []:
            if not isinstance(c, dict):
                continue
            for k in ("start_day",):
                if _typed(c.get(k), int):
                    days.append(c[k])
            for k in ("days", "infusion_days"):
                if c.get("type") in HMA_LABEL:
                    continue  # HMA days are days of the cycle; start_day is the study day
                if isinstance(c.get(k), list):
                    days.extend(x for x in c[k] if _typed(x, int))
            for st in c.get("steps", []) if isinstance(c.get("steps"), list) else []:
                if isinstance(st, dict) and _typed(st.get("start_day"), int):
                    days.append(st["start_day"])
    return min(days) - 1


def _parse_arm(log: ProblemLog, src: str, where: str, arm: Any, trial: dict[str, Any],
               antigen: str | None, first_day: int) -> Arm | None:
    spec = {"name": (str, True), "n": (int, False), "component": (list, True),
            "population": (dict, False), "label": (str, False),
            "parameters": (dict, False)}
    a = _check_table(log, src, where, arm, spec)
    if "n" in a and a["n"] <= 0:
        log.add(src, "must be positive", column=f"{where}.n", value=a["n"])
    n = a.get("n", trial.get("n_per_arm"))
    if n is None:
        log.add(src, "arm size missing: give arm.n or trial.n_per_arm", column=f"{where}.n")
    pop = _check_population(log, src, f"{where}.population", a.get("population", {}))
    arm_params = _check_parameters(log, src, f"{where}.parameters", a.get("parameters", {}))
    fu = trial.get("follow_up_days") if isinstance(trial.get("follow_up_days"), int) else 180
    comps = a.get("component", [])
    products = []
    parsed: list[tuple[str, dict[str, Any]]] = []
    hma_ok: list[tuple[str, dict[str, Any]]] = []
    for ci, comp in enumerate(comps):
        cw = f"{where}.component[{ci}]"
        if not isinstance(comp, dict) or "type" not in comp:
            log.add(src, "component needs a 'type'", column=f"{cw}.type",
                    expected=f"one of {sorted(_COMPONENT_KEYS)}")
            continue
        ctype = comp["type"]
        if ctype not in _COMPONENT_KEYS:
            log.add(src, "unknown arm component", column=f"{cw}.type", value=ctype,
                    expected=f"one of {sorted(_COMPONENT_KEYS)}")
            continue
        body = {k: v for k, v in comp.items() if k != "type"}
        c = _check_table(log, src, cw, body, _COMPONENT_KEYS[ctype])
        for k in ("dose_mg", "flu_mg_m2", "cy_mg_m2", "dose_per_kg", "dose_cells",
                  "dose_mg_m2"):
            _nonneg(log, src, f"{cw}.{k}", c.get(k))
        if ctype == "venetoclax":
            if "days" in c and c["days"] <= 0:
                log.add(src, "must be positive", column=f"{cw}.days", value=c["days"])
            if "ramp_mg" in c:
                r = c["ramp_mg"]
                if not r or not all(_typed(x, float) and x >= 0 for x in r):
                    log.add(src, "must be a non-empty list of doses >= 0 (mg, one per day)",
                            column=f"{cw}.ramp_mg", value=r)
                    del c["ramp_mg"]
                elif _typed(c.get("days"), int) and len(r) > c["days"]:
                    log.add(src, "ramp-up longer than the venetoclax course",
                            column=f"{cw}.ramp_mg", value=r,
                            expected=f"at most days ({c['days']}) entries")
                    del c["ramp_mg"]
        elif ctype in HMA_LABEL:
            if _check_hma(log, src, cw, ctype, c):
                hma_ok.append((cw, c))
        elif ctype == "lymphodepletion" and "days" in c:
            c["days"] = _int_list(log, src, f"{cw}.days", c["days"])
        elif ctype in PRODUCTS:
            products.append(ctype)
            if ("dose_per_kg" in c) == ("dose_cells" in c):
                log.add(src, "give exactly one of dose_per_kg, dose_cells",
                        column=f"{cw}.dose_per_kg")
            if "infusion_days" in c:
                c["infusion_days"] = _int_list(log, src, f"{cw}.infusion_days",
                                               c["infusion_days"])
            if "infusion_fractions" in c:  # split dosing: shares of the dose per infusion
                f = c["infusion_fractions"]
                ok = (isinstance(f, list) and f and all(_typed(x, float) and x > 0 for x in f)
                      and abs(sum(f) - 1.0) < 1e-9)
                if not ok:
                    log.add(src, "must be positive shares of the dose summing to 1",
                            column=f"{cw}.infusion_fractions", value=f)
                    del c["infusion_fractions"]
                elif len(f) != len(c.get("infusion_days", [])):
                    log.add(src, "one share per infusion day",
                            column=f"{cw}.infusion_fractions", value=f,
                            expected=f"{len(c.get('infusion_days', []))} entries")
                    del c["infusion_fractions"]
            if c.get("source", "autologous") not in CAR_SOURCES:
                log.add(src, "unknown CAR-T cell source", column=f"{cw}.source",
                        value=c["source"], expected=f"one of {list(CAR_SOURCES)}")
            tgt = c.get("target")
            if tgt is not None and antigen is not None and tgt != antigen:
                log.add(src, "cell product target differs from trial.target_antigen",
                        column=f"{cw}.target", value=tgt, expected=antigen)
        elif ctype == "blinatumomab":
            steps = []
            for si, st in enumerate(c.get("steps", [])):
                sw = f"{cw}.steps[{si}]"
                s = _check_table(log, src, sw, st, _STEP_KEYS)
                _nonneg(log, src, f"{sw}.ug_per_day", s.get("ug_per_day"))
                if "start_day" in s and "end_day" in s and s["end_day"] < s["start_day"]:
                    log.add(src, "end_day before start_day", column=f"{sw}.end_day",
                            value=s["end_day"])
                if len(s) == 3:
                    steps.append(s)
            c["steps"] = steps
            if antigen is not None and antigen != "CD19":
                log.add(src, "blinatumomab targets CD19", column=f"{cw}.type",
                        expected="trial.target_antigen = 'CD19'")
        parsed.append((ctype, c))
    if len(products) > 1:
        log.add(src, "at most one cell product per arm", column=f"{where}.component")
    _check_hma_overlap(log, src, hma_ok)
    if "name" not in a or n is None or log:
        return None
    sched = Schedule.empty(first_day, fu)
    dose_per_kg = None
    donor = any(t == "car_t" and c.get("source") == "donor" for t, c in parsed)

    def idx(day: int) -> int | None:
        i = day - sched.first_day
        return i if 0 <= i < len(sched.ven_mg) - 1 else None

    for ctype, c in parsed:
        if ctype == "venetoclax":
            ramp = c.get("ramp_mg", [])
            for k, d in enumerate(range(c["start_day"], c["start_day"] + c["days"])):
                if (i := idx(d)) is not None:
                    sched.ven_mg[i] += ramp[k] if k < len(ramp) else c["dose_mg"]
        elif ctype == "lymphodepletion":
            for d in c["days"]:
                if (i := idx(d)) is not None:
                    sched.fc_units[i] += 0.5 * (c["flu_mg_m2"] / FLU_REF_MG_M2
                                                + c["cy_mg_m2"] / CY_REF_MG_M2)
        elif ctype in HMA_LABEL:
            if sched.hma_units is not None:
                for d in hma_dose_days(c):
                    if (i := idx(d)) is not None:
                        sched.hma_units[i] += c["dose_mg_m2"] * HMA_UNITS_PER_MG_M2[ctype]
        elif ctype in PRODUCTS:
            dose_per_kg = c.get("dose_per_kg")
            # each infusion gets the full dose, or its share with infusion_fractions
            days_ = c["infusion_days"]
            shares = c.get("infusion_fractions", [1.0] * len(days_))
            for d, f in zip(days_, shares, strict=True):
                if (i := idx(d)) is not None:
                    sched.car_per_kg[i] += f * c.get("dose_per_kg", 0.0)
                    sched.car_cells[i] += f * c.get("dose_cells", 0.0)
        else:
            for s in c["steps"]:
                for d in range(s["start_day"], s["end_day"] + 1):
                    if (i := idx(d)) is not None:
                        sched.blin_ug_day[i] += s["ug_per_day"]
    return Arm(name=a["name"], n=int(n), schedule=sched,
               product=products[0] if products else "none",
               components=tuple({"type": t, **c} for t, c in parsed), population=pop,
               car_dose_per_kg=dose_per_kg, parameters=arm_params, donor_derived=donor)


def _check_hma(log: ProblemLog, src: str, cw: str, drug: str, c: dict[str, Any]) -> bool:
    """Fill an HMA component's label defaults and check cycles, cycle length and days;
    True when it is complete and valid."""
    dose, days = HMA_LABEL[drug]
    c.setdefault("dose_mg_m2", dose)
    c.setdefault("cycle_days", HMA_CYCLE_DAYS)
    ok = True
    for k in ("cycles", "cycle_days"):
        if _typed(c.get(k), int) and c[k] <= 0:
            log.add(src, "must be positive", column=f"{cw}.{k}", value=c[k])
            ok = False
    if "days" not in c:
        c["days"] = list(days)
    elif not isinstance(c["days"], list) or not c["days"] \
            or not all(_typed(x, int) for x in c["days"]):
        log.add(src, "must be a non-empty list of integer days of the cycle",
                column=f"{cw}.days", value=c["days"])
        ok = False
    else:
        length = c["cycle_days"] if _typed(c["cycle_days"], int) else HMA_CYCLE_DAYS
        for x in c["days"]:
            if not 1 <= x <= length:
                log.add(src, "day outside the cycle", column=f"{cw}.days", value=x,
                        expected=f"a day of the cycle, 1 to cycle_days ({length})")
                ok = False
        if len(set(c["days"])) != len(c["days"]):
            log.add(src, "a day of the cycle is listed twice", column=f"{cw}.days",
                    value=c["days"])
            ok = False
    return ok and all(_typed(c.get(k), int) for k in ("start_day", "cycles", "cycle_days")) \
        and _typed(c.get("dose_mg_m2"), float)


def hma_dose_days(c: dict[str, Any]) -> list[int]:
    """Study days of an HMA component's doses: cycle k (0-based) day j is on
    ``start_day + k x cycle_days + j - 1``.

    Parameters
    ----------
    c : dict
        A validated azacitidine/decitabine component (``start_day``, ``cycles``,
        ``cycle_days``, ``days``).

    Returns
    -------
    list of int
        Sorted study days.

    Examples
    --------
    Two label cycles of azacitidine from day 1 (days 1-7 of 28-day cycles):

    >>> hma_dose_days({"start_day": 1, "cycles": 2, "cycle_days": 28,
    ...                "days": [1, 2, 3, 4, 5, 6, 7]})
    [1, 2, 3, 4, 5, 6, 7, 29, 30, 31, 32, 33, 34, 35]
    """
    return sorted(c["start_day"] + k * c["cycle_days"] + j - 1
                  for k in range(c["cycles"]) for j in c["days"])


def _check_hma_overlap(log: ProblemLog, src: str,
                       comps: list[tuple[str, dict[str, Any]]]) -> None:
    """Two HMA components of an arm must not dose on the same study day (their cycles
    would overlap: azacitidine with decitabine, or a course restarted too early)."""
    seen: dict[int, str] = {}
    for cw, c in comps:
        clash = sorted(d for d in hma_dose_days(c) if d in seen)
        if clash:
            log.add(src, "overlapping HMA cycles: two hypomethylating courses dose on the "
                    "same study days", column=cw, value=clash,
                    expected=f"no dosing day shared with {seen[clash[0]]}")
        for d in hma_dose_days(c):
            seen.setdefault(d, cw)


def load_design(path: str | Path) -> Design:
    """Read and validate a TOML design file.

    Parameters
    ----------
    path : str or Path
        A design TOML file (UTF-8).

    Returns
    -------
    Design
        As :func:`parse_design`, with ``source`` the path.

    Raises
    ------
    remission.errors.InputError
        When the file does not exist, is not valid TOML, or the design is invalid.

    Examples
    --------
    >>> d = load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml")
    >>> d.follow_up, d.antigen, sum(a.n for a in d.arms)
    (180, 'CLL1', 12)
    >>> load_design("no-such-design.toml")
    Traceback (most recent call last):
    remission.errors.InputError: 1 problem found:
      - no-such-design.toml: design file not found
    """
    path = Path(path)
    log = ProblemLog()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.add(str(path), "design file not found")
        log.raise_if_any()
        raise AssertionError("unreachable") from None
    except tomllib.TOMLDecodeError as exc:
        log.add(str(path), f"not valid TOML: {exc}")
        log.raise_if_any()
        raise AssertionError("unreachable") from None
    return parse_design(data, source=str(path))
