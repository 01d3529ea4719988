"""Derive time-to-event endpoints (an ADTTE-like table) from a long events table.

Input: ``patient_id, day, event[, value]`` with ``event`` in ``response_assessment``
(value = response category), ``relapse``, ``progression``, ``transplant``,
``stem_cell_boost``, ``death``, ``last_contact`` (docs/study-format.md). Day 0 is the
cell infusion.

Definitions (ELN 2022 for AML, Döhner H et al. Blood 2022;140:1345-77; Cheson BD et
al. J Clin Oncol 2003;21:4642-9; FDA Guidance "Clinical Trial Endpoints for the
Approval of Cancer Drugs and Biologics", 2018):

* OS: day 0 to death from any cause; censored at last known alive (latest day of any
  record).
* EFS: day 0 to failure to achieve a complete remission (an event at day 0, the ELN
  2022 convention of counting induction failure at the start), relapse, progression or
  death.
* PFS: day 0 to progression, relapse or death.
* RFS (= DFS here): among patients reaching a complete remission, from the first CR
  assessment to relapse or death.
* DOR: among responders, from the first response to relapse, progression or death.
* CIR: from first CR, relapse (code 1) with death without relapse (non-relapse
  mortality, code 2) as competing event; 0 = censored.

Options: ``censor_at_transplant`` censors at transplant if it precedes the event
(sensitivity analysis common in CAR-T studies bridged to HSCT); ``landmark`` keeps
patients still at risk at that day and measures time from it (Anderson JR et al.
J Clin Oncol 1983;1:710-9).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from remission.errors import ProblemLog
from remission.study.schema import RESPONSE_COMPLETE, RESPONSE_RESPONDERS

EVENTS = ("response_assessment", "relapse", "progression", "transplant", "stem_cell_boost",
          "death", "last_contact")
COMPLETE = RESPONSE_COMPLETE  # defaults; a study's own sets come from study.toml [response]
RESPONDERS = RESPONSE_RESPONDERS
PARAMS = {"OS": "Overall survival", "EFS": "Event-free survival",
          "PFS": "Progression-free survival", "RFS": "Relapse-free survival from CR",
          "DOR": "Duration of response", "CIR": "Cumulative incidence of relapse from CR"}
COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "STARTDY", "AVAL", "CNSR", "EVNTDESC", "EVCODE"]


def _validate(ev: pd.DataFrame, source: str) -> pd.DataFrame:
    log = ProblemLog()
    for c in ("patient_id", "day", "event"):
        if c not in ev.columns:
            log.add(source, "required column missing", column=c)
    log.raise_if_any()
    ev = ev.copy()
    day = pd.to_numeric(ev["day"], errors="coerce")
    for i in np.flatnonzero(day.isna().to_numpy()):
        log.add(source, "day is not a number", row=int(i) + 2, column="day",
                value=ev["day"].iloc[i], expected="integer days from infusion")
    for i in np.flatnonzero(~ev["event"].isin(EVENTS).to_numpy()):
        log.add(source, "unknown event", row=int(i) + 2, column="event",
                value=ev["event"].iloc[i], expected=", ".join(EVENTS))
    ev["day"] = day
    deaths = ev[ev["event"] == "death"].groupby("patient_id")["day"].min()
    for i, (pid, d, e) in enumerate(zip(ev["patient_id"], ev["day"], ev["event"],
                                        strict=True)):
        if pid in deaths.index and pd.notna(d) and d > deaths[pid] and e != "death":
            log.add(source, f"{e} after death (day {deaths[pid]:g})", row=i + 2, column="day",
                    value=d)
        if e == "response_assessment" and pd.notna(d) and d < 0:
            log.add(source, "response assessment before day 0", row=i + 2, column="day",
                    value=d)
    if "value" not in ev.columns:
        ev["value"] = np.nan
    log.raise_if_any()
    return ev


def _first(sub: pd.DataFrame, kinds: Iterable[str], after: float = -np.inf) -> float:
    d = sub.loc[sub["event"].isin(list(kinds)) & (sub["day"] > after), "day"]
    return float(d.min()) if len(d) else np.nan


def _row(pid, code, start, end_event, end_censor, desc_event, evcode=1):
    if np.isfinite(end_event):
        return {"USUBJID": pid, "PARAMCD": code, "PARAM": PARAMS[code], "STARTDY": start,
                "AVAL": end_event - start, "CNSR": 0, "EVNTDESC": desc_event, "EVCODE": evcode}
    return {"USUBJID": pid, "PARAMCD": code, "PARAM": PARAMS[code], "STARTDY": start,
            "AVAL": max(end_censor - start, 0.0), "CNSR": 1, "EVNTDESC": "censored",
            "EVCODE": 0}


def _censored_first(pid, code, start, cands, last, tx, evcode_of) -> dict:
    """First candidate event on/after ``start``; censor at transplant ``tx`` if earlier."""
    items = [(d, k) for k, d in cands.items() if np.isfinite(d) and d >= start]
    t_ev, what = min(items) if items else (np.nan, "")
    cens = last
    if np.isfinite(tx) and tx >= start and (not np.isfinite(t_ev) or tx < t_ev):
        t_ev, what, cens = np.nan, "", tx
    return _row(pid, code, start, t_ev, cens, what,
                evcode_of(what) if evcode_of and what else 1)


def derive_endpoints(events: pd.DataFrame, *, endpoints: Sequence[str] = tuple(PARAMS),
                     censor_at_transplant: bool = False, landmark: float | None = None,
                     complete: Sequence[str] = COMPLETE, responders: Sequence[str] = RESPONDERS,
                     patients: pd.DataFrame | None = None,
                     source: str = "events.csv") -> pd.DataFrame:
    """One row per patient × endpoint: ``USUBJID, PARAMCD, PARAM, STARTDY, AVAL, CNSR,
    EVNTDESC, EVCODE`` (AVAL in days from STARTDY; CNSR 1 = censored, 0 = event; EVCODE
    0 censored, 1 event or relapse, 2 competing non-relapse death for CIR).

    ``patients`` (patients.csv) may add ``death_day`` and ``last_contact_day`` when the
    events table lacks them. Patients with neither a death nor a last contact are
    censored at their latest record; ``result.attrs["warnings"]`` lists them, because
    such censoring understates follow-up.

    Parameters
    ----------
    events : DataFrame
        Long events table (``patient_id, day, event, value``), e.g. ``study.table("events")``.
    endpoints : sequence of str
        PARAMCDs to derive, from ``OS, EFS, PFS, RFS, DOR, CIR`` (module docstring).
    censor_at_transplant : bool
        Censor at transplant when it precedes the event (sensitivity analysis).
    landmark : float, optional
        Keep patients still at risk on this day and measure time from it.
    complete, responders : sequence of str
        Response categories counted as complete remission / as response (study.toml
        ``[response]``).
    patients : DataFrame, optional
        patients.csv rows; their ``death_day`` / ``last_contact_day`` fill in what the
        events table lacks.
    source : str
        File name used in problems.

    Returns
    -------
    DataFrame
        The columns above, sorted by PARAMCD and USUBJID; ``attrs["warnings"]`` lists
        patients censored at their latest record.

    Raises
    ------
    InputError
        Listing every bad row of ``events`` (file, line, column, value).

    References
    ----------
    CDISC ADaM Basic Data Structure for Time-to-Event Analyses (ADTTE) v1.0. Döhner H et
    al. Blood 2022;140:1345-77 (ELN 2022 EFS). Anderson JR et al. J Clin Oncol
    1983;1:710-9 (landmark).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"patient_id": ["1", "1", "2"], "day": [28, 90, 28],
    ...                    "event": ["response_assessment", "death", "response_assessment"],
    ...                    "value": ["CR", "", "CR"]})
    >>> os_ = derive_endpoints(ev, endpoints=["OS"])
    >>> print(os_[["USUBJID", "AVAL", "CNSR", "EVNTDESC"]].to_string(index=False))
    USUBJID  AVAL  CNSR EVNTDESC
          1  90.0     0    death
          2  28.0     1 censored
    """
    events = _merge_patient_days(events, patients)
    ev = _validate(events, source)
    out = []
    for pid, sub in ev.groupby("patient_id", sort=True):
        sub = sub.sort_values("day", kind="stable")
        last = float(sub["day"].max())
        death = _first(sub, ["death"])
        relapse = _first(sub, ["relapse"])
        prog = _first(sub, ["progression"])
        tx = _first(sub, ["transplant"]) if censor_at_transplant else np.nan
        ra = sub[sub["event"] == "response_assessment"]
        cr_day = ra.loc[ra["value"].isin(list(complete)), "day"]
        cr_day = float(cr_day.min()) if len(cr_day) else np.nan
        resp_day = ra.loc[ra["value"].isin(list(responders)), "day"]
        resp_day = float(resp_day.min()) if len(resp_day) else np.nan

        def finish(code: str, start: float, cands: dict[str, float], evcode_of=None,
                   pid=pid, last=last, tx=tx) -> None:
            out.append(_censored_first(pid, code, start, cands, last, tx, evcode_of))

        if "OS" in endpoints:
            finish("OS", 0.0, {"death": death})
        if "EFS" in endpoints:
            if np.isfinite(cr_day):
                finish("EFS", 0.0, {"relapse": relapse, "progression": prog, "death": death})
            else:
                out.append(_row(pid, "EFS", 0.0, 0.0, last, "no complete remission"))
        if "PFS" in endpoints:
            finish("PFS", 0.0, {"progression": prog, "relapse": relapse, "death": death})
        if "RFS" in endpoints and np.isfinite(cr_day):
            finish("RFS", cr_day, {"relapse": relapse, "death": death})
        if "DOR" in endpoints and np.isfinite(resp_day):
            finish("DOR", resp_day, {"relapse": relapse, "progression": prog, "death": death})
        if "CIR" in endpoints and np.isfinite(cr_day):
            finish("CIR", cr_day, {"relapse": relapse, "death without relapse": death},
                   lambda w: 1 if w == "relapse" else 2)
    df = pd.DataFrame(out, columns=COLUMNS)
    known = set(ev.loc[ev["event"].isin(["death", "last_contact"]), "patient_id"])
    missing = sorted({str(p) for p in ev["patient_id"]} - {str(p) for p in known})
    warns = []
    if missing:
        warns.append(f"{len(missing)} patient(s) without death or last-contact day, censored "
                     f"at their latest record: {', '.join(missing)}")
    if landmark is not None:
        end = df["STARTDY"] + df["AVAL"]
        # at risk at the landmark: no event or censoring on or before it
        keep = (end > landmark) & (df["STARTDY"] <= landmark)
        df = df[keep].copy()
        df["AVAL"] = df["STARTDY"] + df["AVAL"] - landmark
        df["STARTDY"] = float(landmark)
    df = df.sort_values(["PARAMCD", "USUBJID"], kind="stable").reset_index(drop=True)
    df.attrs["warnings"] = warns
    return df


def _merge_patient_days(events: pd.DataFrame, patients: pd.DataFrame | None) -> pd.DataFrame:
    """Add death / last-contact rows from patients.csv columns the events table lacks."""
    if patients is None:
        return events
    extra = []
    for col, kind in (("death_day", "death"), ("last_contact_day", "last_contact")):
        if col not in patients.columns:
            continue
        have = set(events.loc[events["event"] == kind, "patient_id"].astype(str))
        sub = patients[patients[col].notna()]
        for pid, day in zip(sub["patient_id"], sub[col], strict=True):
            if str(pid) not in have:
                extra.append({"patient_id": pid, "day": day, "event": kind})
    if not extra:
        return events
    return pd.concat([events, pd.DataFrame(extra)], ignore_index=True)


def endpoint_results(adtte: pd.DataFrame, paramcd: str, group: pd.Series | None = None, *,
                     landmarks: Sequence[float] = (), conf: float = 0.95,
                     section: str = "efficacy") -> list:
    """Standard Results for one endpoint of :func:`derive_endpoints` output.

    Time-to-event endpoints: Kaplan–Meier per group (median, landmarks, follow-up) and,
    with >= 2 groups, the log-rank test. ``CIR``: cumulative incidence of relapse with
    non-relapse mortality competing, and Gray's test. ``group`` maps USUBJID -> label.

    Parameters
    ----------
    adtte : pandas.DataFrame
        Output of :func:`derive_endpoints` (``USUBJID``, ``PARAMCD``, ``AVAL``, ``CNSR``,
        ``EVCODE``).
    paramcd : str
        The endpoint: ``"OS"``, ``"EFS"``, ``"PFS"``, ``"RFS"``, ``"DOR"`` or ``"CIR"``.
    group : pandas.Series, optional
        Group label of each patient, indexed by USUBJID.
    landmarks : sequence of float, default ()
        Times of the landmark estimates (e.g. 1-year survival at 365).
    conf : float, default 0.95
        Confidence level.
    section : str, default "efficacy"
        Report section of the Results.

    Returns
    -------
    list of remission.results.Result
        ``survival.<endpoint>.km`` (and ``.logrank`` with two or more groups), or
        ``survival.cir.cuminc`` for ``CIR``.

    Raises
    ------
    ValueError
        When ``adtte`` has no rows of ``paramcd``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "patient_id": ["1", "1", "2", "2", "2", "3"], "day": [28, 90, 28, 45, 200, 120],
    ...     "event": ["response_assessment", "death", "response_assessment", "transplant",
    ...               "death", "response_assessment"],
    ...     "value": ["CR", "", "CR", "", "", "PR"]})
    >>> adtte = derive_endpoints(ev, endpoints=["OS"])
    >>> rs = endpoint_results(adtte, "OS", pd.Series({"1": "A", "2": "B", "3": "A"}))
    >>> [r.name for r in rs]
    ['survival.os.km', 'survival.os.logrank']
    >>> print(rs[0].table[["n", "events", "median"]].to_string())
       n  events  median
    A  2       1    90.0
    B  1       1   200.0
    """
    from remission.stats.survival.competing import cuminc
    from remission.stats.survival.km import kaplan_meier
    from remission.stats.survival.survdiff import logrank

    d = adtte[adtte["PARAMCD"] == paramcd]
    if d.empty:
        raise ValueError(f"no rows with PARAMCD == {paramcd!r}")
    g = None if group is None else d["USUBJID"].map(group).to_numpy(dtype=object)
    key = paramcd.lower()
    if paramcd == "CIR":
        return [cuminc(d["AVAL"], d["EVCODE"], g, times=landmarks, conf=conf,
                       cause_labels={1: "relapse", 2: "NRM"}, name=f"survival.{key}.cuminc",
                       title=PARAMS[paramcd], section=section)]
    out = [kaplan_meier(d["AVAL"], 1 - d["CNSR"], g, conf=conf, landmarks=landmarks,
                        name=f"survival.{key}.km", title=PARAMS[paramcd], section=section)]
    if g is not None and len(pd.unique(g)) > 1:
        out.append(logrank(d["AVAL"], 1 - d["CNSR"], g, name=f"survival.{key}.logrank",
                           title=f"{PARAMS[paramcd]}: log-rank test", section=section))
    return out


def transplant_counting_process(events: pd.DataFrame, paramcd: str = "OS", *,
                                patients: pd.DataFrame | None = None) -> pd.DataFrame:
    """(start, stop] rows with transplant as a time-dependent covariate (0 before, 1 after).

    A patient transplanted at day ``d`` before the end of follow-up contributes
    ``(0, d]`` with transplant = 0 and no event, and ``(d, end]`` with transplant = 1 and
    the endpoint's event; transplants on day 0 count from the start. Treating
    transplant as a fixed baseline covariate would credit the waiting time to the
    transplanted group (immortal-time bias; Mantel N, Byar DP. J Am Stat Assoc
    1974;69:81-6). Fit with ``cox("stop", "event", ["transplant"], start="start", data=df)``.

    Parameters
    ----------
    events : pandas.DataFrame
        The study's events table (events.csv: ``patient_id``, ``day``, ``event``,
        ``value``), with ``transplant`` events.
    paramcd : str, default "OS"
        The endpoint whose event ends each patient's last interval.
    patients : pandas.DataFrame, optional
        patients.csv: its ``death_day`` and ``last_contact_day`` columns add the deaths
        and last contacts the events table lacks.

    Returns
    -------
    pandas.DataFrame
        ``USUBJID``, ``start``, ``stop``, ``event`` (0/1), ``transplant`` (0/1): one row
        per patient, two for a patient transplanted during follow-up.

    Raises
    ------
    remission.errors.InputError
        For an events table that does not validate (named file, row and column).

    Examples
    --------
    Patient 2 is transplanted on day 45 and dies on day 200:

    >>> import pandas as pd
    >>> ev = pd.DataFrame({
    ...     "patient_id": ["1", "1", "2", "2", "2", "3"], "day": [28, 90, 28, 45, 200, 120],
    ...     "event": ["response_assessment", "death", "response_assessment", "transplant",
    ...               "death", "response_assessment"],
    ...     "value": ["CR", "", "CR", "", "", "PR"]})
    >>> print(transplant_counting_process(ev).to_string(index=False))
    USUBJID  start  stop  event  transplant
          1    0.0  90.0      1           0
          2    0.0  45.0      0           0
          2   45.0 200.0      1           1
          3    0.0 120.0      0           0
    """
    adtte = derive_endpoints(events, endpoints=[paramcd], patients=patients)
    ev = _validate(_merge_patient_days(events, patients), "events.csv")
    tx = ev[ev["event"] == "transplant"].groupby("patient_id")["day"].min()
    tx.index = tx.index.astype(str)
    rows = []
    for r in adtte.itertuples(index=False):
        start, end, evt = float(r.STARTDY), float(r.STARTDY + r.AVAL), 1 - int(r.CNSR)
        d = tx.get(str(r.USUBJID), np.nan)
        if np.isfinite(d) and start < d < end:
            rows.append((r.USUBJID, start, float(d), 0, 0))
            rows.append((r.USUBJID, float(d), end, evt, 1))
        else:
            rows.append((r.USUBJID, start, end, evt, int(np.isfinite(d) and d <= start)))
    return pd.DataFrame(rows, columns=["USUBJID", "start", "stop", "event", "transplant"])
