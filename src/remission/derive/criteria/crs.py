"""Cytokine release syndrome (CRS) grading per patient-day, vectorised.

Systems (pass one explicitly):

``astct2019`` -- ASTCT consensus (Lee DW et al., Biol Blood Marrow Transplant
2019;25:625-638). Fever = T >= 38.0 °C. Grade >= 2 = fever plus hypotension and/or
hypoxia; the grade is the more severe of the two. Hypotension: without vasopressor = 2;
one vasopressor with or without vasopressin = 3 (vasopressin alone counts as one);
>= 2 vasopressors excluding vasopressin = 4. Hypoxia: low-flow nasal cannula
(<= 6 L/min) or blow-by = 2; nasal cannula > 6 L/min, high-flow nasal cannula,
facemask, non-rebreather or Venturi = 3; CPAP, BiPAP or mechanical ventilation = 4.
Once a patient with CRS has received anticytokine therapy (tocilizumab, steroids) fever
is no longer required. Default reading (JITC reproduction): "tocilizumab or steroids"
only; ``waiver_agents=ANTICYTOKINE + ANTIPYRETIC`` gives the PMC8021214 reading that
also counts antipyretics. "A patient with CRS" is read as: fever on or before the day
therapy started (``waiver_needs_prior_fever=False`` waives from the first dose even
if prophylactic). Grade 5 only with attribution (death cause = CRS; EBMT guidance).
The ASTCT table has no SBP threshold: hypotension is the recorded ``hypotension`` flag
or any vasopressor; ``sbp_threshold=90`` applies the common adult adaptation
(not ASTCT), and ``sbp_rule="mahadeo2019"`` the paediatric thresholds of Mahadeo et al.
(Nat Rev Clin Oncol 2019;16:45): SBP < 70 + 2 × age (years) for ages 1-10, < 90 mmHg
above 10 (needs ``patients`` with ``age``; infants < 1 year are not assessed).

``lee2014`` -- Lee DW et al., Blood 2014;124:188-195; ``cartox2018`` -- Neelapu SS et
al., Nat Rev Clin Oncol 2018;15:47-62. Grade 1 = fever (T >= 38 °C; the constitutional
symptoms of Lee grade 1 are not in the observation vocabulary). Grades 2-4 need no
fever ("any temperature", Mahadeo 2019). O2 with FiO2 < 40 % = 2, >= 40 % = 3;
ventilator support (mechanical ventilation, CPAP/BiPAP) = 4. Hypotension responsive
to fluids or one low-dose vasopressor = 2; high-dose or multiple vasopressors = 3.
High dose (Lee 2014 table as reproduced in PMC7006459; UNVERIFIED against the
original): norepinephrine >= 20 µg/min, dopamine >= 10 µg/kg/min, phenylephrine
>= 200 µg/min, epinephrine >= 10 µg/min, or with vasopressin: vasopressin +
NE-equivalent >= 10 µg/min, or combination: NE-equivalent >= 20 µg/min, where
NE-equivalent = NE + dopamine/2 + epinephrine + phenylephrine/10. When FiO2 is not
recorded it is estimated: nasal cannula 21 + 4 × L/min (textbook approximation),
non-rebreather >= 40 %; other devices without FiO2 count as grade 2 (least certain
grade). Organ toxicity and "life-threatening hypotension" (CARTOX grade 4) are not
derivable from observations and are not graded. Lee 2014 has grade 5 (death, with
attribution as above); the CARTOX table stops at grade 4, so deaths are not graded
there. Otherwise, with the derivable domains the two systems coincide; the output
records which was requested.

Daily values are the worst of the day (vocabulary ``daily`` rules); for NE-equivalents
the daily maximum of each agent is combined, an upper bound when agents were not
given simultaneously.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from remission.derive.criteria._common import (
    SYSTEMS,
    check_system,
    death_days,
    from_context,
    graded_table,
    index_positions,
    summarise_episodes,
)
from remission.derive.criteria.daily import column, level, minutes_of_day
from remission.vocab.drugs import canonical_agents, match_agent
from remission.vocab.vocabulary import VOCABULARY

__all__ = ["ANTICYTOKINE", "ANTIPYRETIC", "CRS_SYSTEMS", "grade_crs", "summarise_crs"]

CRS_SYSTEMS = ("astct2019", "lee2014", "cartox2018")
ANTICYTOKINE = ("tocilizumab", "siltuximab", "dexamethasone", "methylprednisolone",
                "hydrocortisone", "prednisolone", "prednisone", "steroid", "steroids")
ANTIPYRETIC = ("paracetamol", "acetaminophen", "ibuprofen", "metamizole", "antipyretic")

_PRESSORS = ("norepinephrine", "epinephrine", "phenylephrine", "dopamine")
_DECIDED = np.array(["none", "fever", "hypotension", "oxygen", "hypotension+oxygen"],
                    dtype=object)
#: index into _DECIDED from 2 × (hypotension grade = grade) + (oxygen grade = grade)
_DECIDED_BY_MATCH = np.array([1, 3, 2, 4], dtype=np.int8)
#: ASTCT 2019 oxygen grade of each oxygen_device level (nasal cannula > 6 L/min adds 1)
_ASTCT_OXYGEN = np.array([{"room_air": 0, "blow_by": 2, "nasal_cannula": 2,
                           "high_flow_nasal_cannula": 3, "facemask": 3, "venturi": 3,
                           "non_rebreather": 3, "cpap": 4, "bipap": 4,
                           "mechanical_ventilation": 4}[lv]
                          for lv in VOCABULARY["oxygen_device"].levels], dtype=np.int8)


def _waiver_start(daily: pd.DataFrame, treatments: pd.DataFrame | None, agents,
                  needs_fever, context: dict | None = None) -> pd.DataFrame | None:
    """Per patient: day (and minute of day, NaN without a time) from which fever is no
    longer required (ASTCT rule); empty without qualifying treatment, None without
    treatments. The first qualifying treatment of each patient depends on ``treatments``
    only (kept in ``context``, :func:`~remission.derive.criteria._common.from_context`)."""
    if treatments is None or treatments.empty:
        return None
    first = from_context(context, ("waiver_therapy", tuple(agents)),
                         lambda: _first_waiver_therapy(treatments, agents))
    if needs_fever and len(first):
        # fever before day 0 is not CRS (the syndrome follows the infusion)
        fever = (column(daily, "temperature") >= 38.0) & (daily["day"].to_numpy() >= 0)
        fpid = daily["patient_id"].to_numpy()[fever].astype(str)
        fday = daily["day"].to_numpy()[fever].astype(float)
        # each patient's first fever day (IDs as text): a fever on or before the therapy's
        # day is one no later than it (NaN day: none)
        earliest: dict[str, float] = {}
        for p, d in zip(fpid.tolist(), fday.tolist(), strict=True):
            if d < earliest.get(p, np.inf):
                earliest[p] = d
        ok = [earliest.get(str(p), np.inf) <= d for p, d in
              zip(first.index, first["day"].to_numpy().tolist(), strict=True)]
        if not all(ok):  # (the kept table is shared, never changed)
            first = first[np.asarray(ok, dtype=bool)]
    return first


def _first_waiver_therapy(treatments: pd.DataFrame, agents) -> pd.DataFrame:
    """Per patient: day and minute (NaN without a time) of the first treatment with one
    of ``agents`` (read through the drug vocabulary); empty without one."""
    empty = pd.DataFrame({"day": pd.Series(dtype=float), "minute": pd.Series(dtype=float)})
    agent = canonical_agents(treatments["agent"])  # brand names and spellings (drugs.csv)
    wanted = {match_agent(a).drug or str(a).strip().lower() for a in agents}
    tx = treatments[agent.isin(wanted).to_numpy()]
    if tx.empty:
        return empty
    minute = np.full(len(tx), np.nan)
    if "time" in tx.columns:
        tt = tx["time"].astype(str).str.strip()
        ok = tt.str.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d").fillna(False).to_numpy()
        if ok.any():
            minute[ok] = minutes_of_day(tt[ok])
    pids = tx["patient_id"].to_numpy()
    day = pd.to_numeric(tx["start_day"]).to_numpy(dtype=float)
    # each patient's earliest start: by day, then minute, a missing value first (an
    # untimed or undated start is the earliest), rows in file order on ties
    _, codes = np.unique(pids.astype(str), return_inverse=True)
    order = np.lexsort((np.where(np.isnan(minute), -np.inf, minute),
                        np.where(np.isnan(day), -np.inf, day), codes))
    firsts = order[np.r_[True, codes[order][1:] != codes[order][:-1]]]
    return pd.DataFrame({"day": day[firsts], "minute": minute[firsts]},
                        index=pd.Index(pids[firsts], name="patient_id"))


def _domains(daily: pd.DataFrame, system: str, sbp_threshold, sbp_rule, patients):
    """(fever, hypotension grade, oxygen grade, n untimed multi-pressor days) per row."""
    temp = column(daily, "temperature")
    fever = temp >= 38.0
    hypo_flag = column(daily, "hypotension") == level("hypotension", "yes")
    if sbp_threshold is not None:
        hypo_flag |= column(daily, "sbp") < sbp_threshold
    if sbp_rule is not None:
        if sbp_rule != "mahadeo2019" or patients is None or "age" not in patients:
            raise ValueError("sbp_rule='mahadeo2019' needs patients with an 'age' column")
        age = daily["patient_id"].map(patients.set_index("patient_id")["age"]).to_numpy(
            dtype=float)
        limit = np.where(age > 10, 90.0, np.where(age >= 1, 70.0 + 2.0 * age, np.nan))
        hypo_flag |= column(daily, "sbp") < limit
    n_press = np.zeros(len(daily), dtype=np.int8)  # vasopressors given (not vasopressin)
    for a in _PRESSORS:
        if a in daily.columns:
            n_press += column(daily, a) > 0
    n_untimed = 0
    if "pressors_concurrent" in daily.columns and system == "astct2019":
        # timed doses: "multiple vasopressors" = running at the same time (ASTCT grade 4)
        conc = daily["pressors_concurrent"].to_numpy(dtype=float)
        timed = ~np.isnan(conc)
        n_untimed = int(((n_press >= 2) & ~timed).sum())
        n_press = np.where(timed, np.minimum(n_press, conc), n_press).astype(np.int8)
    else:
        n_untimed = int((n_press >= 2).sum())
    vaso = column(daily, "vasopressin") > 0
    hypo_any = hypo_flag | (n_press > 0) | vaso
    dev = column(daily, "oxygen_device")
    flow = column(daily, "oxygen_flow")
    # a flow with no device recorded is read as nasal cannula; no device = room air
    nc = level("oxygen_device", "nasal_cannula")
    missing = np.isnan(dev)
    devi = np.where(missing, 0.0, dev).astype(np.intp)
    devi[missing & (flow > 0)] = nc
    nc_over_6 = (devi == nc) & (flow > 6.0)
    if system == "astct2019":
        # 4 = >= 2 vasopressors; 3 = one vasopressor or vasopressin; 2 = hypotension alone
        hyp_g = (2 * hypo_any + ((n_press >= 1) | vaso) + (n_press >= 2)).astype(np.int8)
        ox_g = _ASTCT_OXYGEN[devi]  # 2 low flow, 3 high flow, 4 positive pressure
        ox_g += nc_over_6  # nasal cannula > 6 L/min is high flow: 2 -> 3
        return fever, hyp_g, ox_g, n_untimed
    doses = {a: np.nan_to_num(column(daily, a), nan=0.0) for a in _PRESSORS}
    neeq = (doses["norepinephrine"] + doses["dopamine"] / 2 + doses["epinephrine"]
            + doses["phenylephrine"] / 10)
    high_dose = ((doses["norepinephrine"] >= 20) | (doses["dopamine"] >= 10)
                 | (doses["phenylephrine"] >= 200) | (doses["epinephrine"] >= 10)
                 | (vaso & (neeq >= 10)) | (neeq >= 20))
    multiple = (n_press + vaso.astype(np.int64)) >= 2
    hyp_g = np.select([high_dose | multiple, hypo_any], [3, 2], 0)
    fio2 = column(daily, "fio2")
    est = np.where(devi == nc, 21.0 + 4.0 * np.nan_to_num(flow), np.nan)
    est = np.where(devi == level("oxygen_device", "non_rebreather"), 60.0, est)
    f = np.where(np.isnan(fio2), est, fio2)
    on_o2 = (devi >= level("oxygen_device", "blow_by")) | (np.nan_to_num(fio2) > 21.0)
    ventilated = devi >= level("oxygen_device", "cpap")
    ox_g = np.select([ventilated, on_o2 & (f >= 40.0), on_o2], [4, 3, 2], 0)
    return fever, hyp_g, ox_g, n_untimed


def _decided(grade, hyp_g, ox_g):
    both = 2 * (hyp_g == grade) + (ox_g == grade)
    return np.where(grade == 0, 0, _DECIDED_BY_MATCH[both])


def grade_crs(
    daily: pd.DataFrame,
    system: str,
    treatments: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    waiver_agents: tuple[str, ...] = ANTICYTOKINE,
    waiver_needs_prior_fever: bool = True,
    sbp_threshold: float | None = None,
    sbp_rule: str | None = None,
    patients: pd.DataFrame | None = None,
    death_causes: tuple[str, ...] = (r"\bcrs\b", "cytokine release"),
    infusions: pd.DataFrame | None = None,
    obs: pd.DataFrame | None = None,
    context: dict | None = None,
) -> pd.DataFrame:
    """CRS grade per patient-day under ``system`` (see module docstring for the rules).

    ``daily`` comes from :func:`~remission.derive.criteria.daily.daily_features`;
    ``treatments`` (patient_id, agent, start_day, optional time) drive the ASTCT fever
    waiver; ``events`` (patient_id, day, event, value) give deaths and causes for grade 5.
    Days before the first cell infusion are not graded (dropped; ``infusions`` from
    :func:`~remission.derive.criteria.infusions.infusion_days`, default day 0 only).
    Clock time (ASTCT 2019): with ``obs`` (the canonical observations ``daily`` came
    from) and a ``time`` on the waiver drug, observations on the drug's day before its
    time still need fever; only those at or after it are graded without fever. Timed
    vasopressor doses count as "multiple" only when running at the same time
    (:func:`~remission.derive.criteria.daily.concurrent_pressors`).
    ``attrs["assumptions"]`` lists what was assumed where times were missing.
    Returns patient_id, day, grade, decided_by (domain that set the grade), system, and
    with ``infusions`` also infusion and infusion_day (the window each grade belongs to).

    Parameters
    ----------
    daily : DataFrame
        Worst value per patient-day and variable, from ``daily_features``.
    system : {"astct2019", "lee2014", "cartox2018"}
        Grading system; always explicit.
    treatments : DataFrame, optional
        ``patient_id, agent, start_day`` (optional ``time``): tocilizumab/steroids lift the
        ASTCT fever requirement from their start.
    events : DataFrame, optional
        ``patient_id, day, event, value``: deaths and causes, for grade 5.
    waiver_agents : tuple of str
        Agents that lift the fever requirement (ASTCT 2019).
    waiver_needs_prior_fever : bool
        Waive only for a patient febrile on or before the agent's first day.
    sbp_threshold : float, optional
        SBP (mmHg) below which a day counts as hypotensive (adult adaptation, not ASTCT).
    sbp_rule : {"mahadeo2019"}, optional
        Paediatric age-specific SBP thresholds (needs ``patients`` with ``age``).
    patients : DataFrame, optional
        ``patient_id, age`` for ``sbp_rule``.
    death_causes : tuple of str
        Regular expressions matching a death cause attributed to CRS (grade 5).
    infusions : DataFrame, optional
        Infusion days per patient; days before the first are not graded.
    obs : DataFrame, optional
        The canonical observations ``daily`` came from, for clock-time rules.
    context : dict, optional
        Values derived from ``treatments`` and ``events`` alone, kept for the next call
        with the same tables (see :func:`~remission.derive.criteria.run.grade_all`).

    Returns
    -------
    DataFrame
        ``patient_id, day, grade, decided_by, system`` (``decided_by`` one of ``none,
        fever, hypotension, oxygen, hypotension+oxygen``); ``attrs["assumptions"]``.

    Raises
    ------
    ValueError
        For an unknown ``system``.

    References
    ----------
    Lee DW et al. ASTCT consensus grading for cytokine release syndrome and neurologic
    toxicity associated with immune effector cells. Biol Blood Marrow Transplant
    2019;25:625-638. Lee DW et al. Blood 2014;124:188-195. Neelapu SS et al. Nat Rev Clin
    Oncol 2018;15:47-62.

    Examples
    --------
    >>> import pandas as pd
    >>> from remission.vocab.vocabulary import normalise_observations
    >>> from remission.derive.criteria.daily import daily_features
    >>> obs = pd.DataFrame({"patient_id": "P1", "day": [1, 2, 2, 2], "time": "",
    ...                     "variable": ["temperature", "temperature", "hypotension",
    ...                                  "oxygen_device"],
    ...                     "value": [38.6, 39.1, "yes", "nasal_cannula"],
    ...                     "unit": ["°C", "°C", "", ""]})
    >>> daily = daily_features(normalise_observations(obs))
    >>> print(grade_crs(daily, "astct2019")[["day", "grade", "decided_by"]].to_string(index=False))
     day  grade         decided_by
       1      1              fever
       2      2 hypotension+oxygen
    """
    check_system(system, CRS_SYSTEMS)
    fever, hyp_g, ox_g, n_untimed = _domains(daily, system, sbp_threshold, sbp_rule, patients)
    assumptions = []
    if n_untimed and system == "astct2019":
        assumptions.append(
            f"{n_untimed} patient-day(s) with >= 2 vasopressors recorded without a time: "
            "assumed given at the same time (ASTCT grade 4 needs concurrent vasopressors)")
    if system == "astct2019":
        start = _waiver_start(daily, treatments, waiver_agents, waiver_needs_prior_fever,
                              context)
        if start is None or start.empty:  # no waiver drug: skip the per-row lookups
            sday = smin = np.full(len(daily), np.nan)
        else:
            pos = index_positions(start.index, daily["patient_id"])
            sday = np.where(pos >= 0, start["day"].to_numpy(dtype=float)[pos], np.nan)
            smin = np.where(pos >= 0, start["minute"].to_numpy(dtype=float)[pos], np.nan)
        day = daily["day"].to_numpy()
        on_day = day == sday
        timed_start = on_day & ~np.isnan(smin)
        waived = (day > np.nan_to_num(sday, nan=np.inf)) | (on_day & np.isnan(smin))
        eligible = fever | waived
        grade = np.maximum(np.maximum(fever.astype(np.int8), hyp_g), ox_g)
        dec = _decided(grade, hyp_g, ox_g)
        grade = grade * eligible
        dec = np.where(eligible, dec, 0)
        n_day_untimed = int((on_day & np.isnan(smin) & ~fever & (grade > 0)).sum())
        if n_day_untimed:
            assumptions.append(
                f"{n_day_untimed} patient-day(s) graded without fever on the day tocilizumab/"
                "steroids were started, with no time for the drug: the ASTCT waiver was "
                "applied to the whole day (give treatments.csv 'time' to start it when the "
                "drug was given)")
        if timed_start.any():
            g2, d2, n_assumed = _after_drug(daily, obs, timed_start, smin, system,
                                            sbp_threshold, sbp_rule, patients)
            better = g2 > grade
            grade = np.where(better, g2, grade)
            dec = np.where(better, d2, dec)
            if n_assumed:
                assumptions.append(
                    f"{n_assumed} untimed observation(s) on a day tocilizumab/steroids were "
                    "started at a recorded time: assumed to follow the drug")
    else:
        grade = np.maximum.reduce([fever.astype(np.int64), hyp_g, ox_g])
        dec = _decided(grade, hyp_g, ox_g)
    deaths = None
    if system != "cartox2018":  # CARTOX grades 1-4 only (Neelapu 2018; criteria.md §3b)
        deaths = from_context(context, ("death_days", tuple(death_causes)),
                              lambda: death_days(events, death_causes))
    out = graded_table(daily, grade, _DECIDED[dec], system, deaths,
                       "death attributed to CRS", infusions, "CRS")
    out.attrs["assumptions"] = assumptions
    return out


def _after_drug(daily, obs, rows, smin, system, sbp_threshold, sbp_rule, patients):
    """ASTCT grade without the fever requirement from the observations made at or after
    the waiver drug's time, for the ``rows`` of ``daily`` on the drug's day.

    Returns (grade, decided index, number of untimed observations assumed after the drug);
    grade 0 for rows without such observations or without ``obs``.
    """
    from remission.derive.criteria.daily import daily_features, minutes_of_day

    g = np.zeros(len(daily), dtype=np.int64)
    d = np.zeros(len(daily), dtype=np.int64)
    if obs is None:
        return g, d, 0
    keys = pd.DataFrame({"patient_id": daily["patient_id"].astype(str).to_numpy()[rows],
                         "day": daily["day"].to_numpy()[rows], "_t": smin[rows]})
    o = obs.assign(_pid=obs["patient_id"].astype(str)).merge(
        keys.rename(columns={"patient_id": "_pid"}), on=["_pid", "day"], how="inner")
    if o.empty:
        return g, d, 0
    has_t = o["time"].notna().to_numpy()
    m = np.full(len(o), np.inf)
    if has_t.any():
        m[has_t] = minutes_of_day(o.loc[has_t, "time"].astype(str))
    keep = m >= o["_t"].to_numpy()  # untimed (inf) kept: assumed after the drug
    n_assumed = int((~has_t & keep).sum())
    sub = o[keep].drop(columns=["_pid", "_t"])
    if sub.empty:
        return g, d, n_assumed
    sd = daily_features(sub)
    fever, hyp_g, ox_g, _ = _domains(sd, system, sbp_threshold, sbp_rule, patients)
    sg = np.maximum(np.maximum(fever.astype(np.int8), hyp_g), ox_g)
    sdec = _decided(sg, hyp_g, ox_g)
    idx = pd.MultiIndex.from_frame(daily[["patient_id", "day"]].astype({"patient_id": str}))
    sidx = pd.MultiIndex.from_frame(sd[["patient_id", "day"]].astype({"patient_id": str}))
    pos = sidx.get_indexer(idx)
    hit = (pos >= 0) & rows
    g[hit] = sg[pos[hit]]
    d[hit] = sdec[pos[hit]]
    return g, d, n_assumed


def summarise_crs(graded: pd.DataFrame) -> pd.DataFrame:
    """Per-patient CRS summary of a day-by-day grading: onset, maximum grade, its day, duration.

    Parameters
    ----------
    graded : DataFrame
        Output of :func:`grade_crs`: ``patient_id, day, grade, decided_by, system``.

    Returns
    -------
    DataFrame
        One row per patient (sorted): ``crs_max_grade``, ``crs_onset_day`` (first day with
        grade >= 1, NA if none), ``crs_max_grade_day`` (first day the maximum was reached,
        NA for grade 0), ``crs_duration_days`` (graded days with grade >= 1; days without
        observations are not counted), ``rule`` (what decided the maximum), ``system`` and
        ``system_version`` (the system's citation).

    References
    ----------
    Lee DW, et al. Biol Blood Marrow Transplant 2019;25:625-638 (ASTCT).

    Examples
    --------
    Grades 1, 2, 2, 1, 0 on days 1-4 and 6: onset day 1, maximum 2 first on day 2 (decided
    by hypotension), 4 days with CRS:

    >>> g = pd.DataFrame({"patient_id": "P1", "day": [1, 2, 3, 4, 6], "grade": [1, 2, 2, 1, 0],
    ...                   "decided_by": ["fever", "hypotension", "hypoxia", "fever", ""],
    ...                   "system": "astct2019"})
    >>> s = summarise_crs(g)
    >>> s.iloc[:, :6].values.tolist()[0]
    ['P1', 2, 1, 2, 4, 'hypotension']
    >>> s["system_version"].iloc[0]
    'ASTCT consensus CRS grading (Lee DW et al., BBMT 2019;25:625)'
    """
    s = summarise_episodes(graded, "crs")
    s["system_version"] = s["system"].map(SYSTEMS)
    return s
