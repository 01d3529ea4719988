"""Simulated bedside and laboratory data in the study-folder vocabulary.

The mechanistic model gives daily IL-6, blood counts, marrow and blood blast fractions,
CAR cells and drug levels (:mod:`.model`). This module turns them into what a ward and a
laboratory would record, in the variables of :mod:`remission.vocab.vocabulary`, so that
grades and responses are *derived* from the simulated observations by the real criteria
engines (:mod:`remission.derive.criteria`), exactly as ``remission report`` derives them
from a real study:

* **CRS signs.** A patient-day's CRS severity ``s`` (0-4) is an ordinal draw on the IL-6
  excess over the patient's own baseline (cut-points ``crs_cut1..4``, logistic scale
  ``crs_scale``; one uniform per patient, models.md §4). It is expressed as bedside signs
  that grade ``s`` under ASTCT 2019 (Lee DW et al., BBMT 2019;25:625): ``s >= 1`` a
  temperature >= 38.1 °C; ``s = 2`` hypotension without vasopressor *or* nasal cannula
  2-4 L/min; ``s = 3`` one vasopressor (norepinephrine) *or* high-flow nasal cannula;
  ``s = 4`` two vasopressors (norepinephrine + epinephrine) *or* BiPAP. Which organ
  carries grades >= 2 is a per-patient draw (``u_domain``). The grade itself is then
  derived by :func:`remission.derive.criteria.grade_crs`, not here.
* **Neurotoxicity.** ICANS severity is the same ordinal form on the IL-6 excess two days
  earlier (``icans_cut1..4``); expressed as the ICE score (10, 8, 5, 1) or, for
  severity 4, an unarousable patient (no ICE possible).
* **Laboratory.** ANC, lymphocytes, platelets, haemoglobin as the model state, rounded
  as a laboratory reports them. Marrow blasts are a 500-cell differential and blood
  blasts a 200-cell differential (binomial counts), so a sample with no blast seen is
  reported as 0 % -- the morphological detection limit -- never as 1e-15. MRD by flow has
  sensitivity ``mrd_lod_pct``: at or above it the measured value is reported (log-normal
  measurement error ``mrd_cv``), below it ``mrd_status = negative``. CAR cells below the
  assay LLOQ are reported as 0 with the LLOQ stated in study.toml ``[kinetics]``.
  Transfusions (morning count below the trigger) are recorded as ``rbc_transfusion`` /
  ``platelet_transfusion``.

Infection-driven fevers and other non-CRS causes of hypotension or hypoxia are not
simulated (docs/simulation.md): a patient without immune-effector therapy has no IL-6
excess and therefore no CRS sign.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

#: per-patient noise stream key (distinct from eligibility redraw keys (i, attempt))
NOISE_KEY = 1_000_003
#: ICE score written for ICANS severity 0-3 (grade 4 = unarousable, no ICE)
ICE_FOR_SEVERITY = (10, 8, 5, 1)


def ordinal_severity(excess: np.ndarray, u: np.ndarray, cuts: list[np.ndarray],
                     scale: np.ndarray | float) -> np.ndarray:
    """Severity ``#{k : u < expit((log x - log cut_k) / scale)}`` per element.

    ``excess`` (days, n) is the IL-6 excess over baseline (pg/mL); below 1 pg/mL the
    severity is 0. One uniform ``u`` (n,) per patient makes the draw coherent over days
    and grades (a higher IL-6 never lowers the severity).

    Parameters
    ----------
    excess : numpy.ndarray
        IL-6 excess over the patient's baseline (pg/mL), shape (days, n).
    u : numpy.ndarray
        One uniform (0, 1) per patient, shape (n,).
    cuts : list of numpy.ndarray
        Cut-points (pg/mL), increasing, one per severity step (scalars or (n,) arrays).
    scale : numpy.ndarray or float
        Logistic scale on log pg/mL.

    Returns
    -------
    numpy.ndarray
        Integer severity 0..``len(cuts)``, shape (days, n).

    Examples
    --------
    With ``u = 0.5`` the severity is the number of cut-points the excess exceeds:

    >>> excess = np.array([[0.5], [50.0], [200.0], [5000.0]])
    >>> cuts = [30.0, 150.0, 400.0, 4000.0]
    >>> ordinal_severity(excess, np.array([0.5]), cuts, 0.6).ravel().tolist()
    [0, 1, 2, 4]
    """
    x = np.maximum(excess, 1e-12)
    lx = np.log(x)
    sev = np.zeros(excess.shape, dtype=np.int64)
    for c in cuts:
        sev += (u[None, :] < expit((lx - np.log(c)) / scale)).astype(np.int64)
    return np.where(excess >= 1.0, sev, 0)


def noise(seed: int, indices: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Uniforms (n_days, k, n) from each patient's own noise stream.

    Parameters
    ----------
    seed : int
        The trial's seed.
    indices : numpy.ndarray
        Patient indices (n,).
    shape : tuple of int
        ``(n_days, k)``: uniforms per patient.

    Returns
    -------
    numpy.ndarray
        Uniforms on [0, 1), shape (n_days, k, n); patient ``i`` reads stream
        ``SeedSequence(seed, spawn_key=(i, NOISE_KEY))``, whatever patients share the call.

    Examples
    --------
    >>> a = noise(3, np.array([0, 1]), (4, 2))
    >>> a.shape, bool((a[:, :, 1] == noise(3, np.array([1]), (4, 2))[:, :, 0]).all())
    ((4, 2, 2), True)
    """
    out = np.empty((shape[0], shape[1], len(indices)))
    for j, i in enumerate(indices):
        g = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(i), NOISE_KEY)))
        out[:, :, j] = g.random(shape)
    return out


def _fmt(x: np.ndarray, decimals: int) -> np.ndarray:
    """Numbers as the text a laboratory system would export (fixed decimals, no -0)."""
    x = np.round(np.asarray(x, float), decimals) + 0.0
    if decimals == 0:
        return np.char.mod("%d", x.astype(np.int64))
    return np.char.mod(f"%.{decimals}f", x)


def significant_text(x: np.ndarray, digits: int = 3) -> np.ndarray:
    """Numbers as text with ``digits`` significant digits (``%g``), as a simulated
    assay reports them.

    Parameters
    ----------
    x : array_like
        Numbers.
    digits : int, default 3
        Significant digits.

    Returns
    -------
    numpy.ndarray
        Strings, same shape as ``x``.

    Examples
    --------
    >>> significant_text(np.array([1234.5, 0.012345, 2.0])).tolist()
    ['1.23e+03', '0.0123', '2']
    """
    return np.char.mod(f"%.{digits}g", np.asarray(x, float))


class ObservationTable:
    """Accumulates long observation rows (patient_id, day, variable, value, unit)."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def add(self, pid: np.ndarray, day: np.ndarray, variable: str, value: np.ndarray,
            unit: str) -> None:
        if len(pid):
            self.parts.append(pd.DataFrame({"patient_id": pid, "day": day,
                                            "variable": variable, "value": value,
                                            "unit": unit}))

    def frame(self) -> pd.DataFrame:
        cols = ["patient_id", "day", "variable", "value", "unit"]
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        df = pd.concat(self.parts, ignore_index=True)
        df["day"] = df["day"].astype(np.int64)
        return df


def crs_icans_severity(out: Mapping[str, np.ndarray], days: np.ndarray,
                       cov: Mapping[str, np.ndarray], p: Mapping[str, np.ndarray],
                       icans_allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Daily CRS and ICANS severities (days, n); zero before day 0.

    CRS severity from the IL-6 excess of the same day, ICANS severity from the excess two
    days earlier (:func:`ordinal_severity`).

    Parameters
    ----------
    out : Mapping
        Simulated observables; reads ``il6_pg_ml`` (days, n).
    days : numpy.ndarray
        Study day of each row (days,).
    cov : Mapping
        ``u_crs`` and ``u_icans``: one uniform per patient.
    p : Mapping
        Per-patient ``il6_baseline``, ``crs_cut1..4``, ``icans_cut1..4`` (pg/mL) and
        ``crs_scale``.
    icans_allowed : numpy.ndarray
        Boolean (n,): False forces ICANS severity 0 (no ICANS after CAR-NK).

    Returns
    -------
    tuple of numpy.ndarray
        ``(crs, icans)``, integer severities 0-4, each (days, n).

    Examples
    --------
    IL-6 5005 pg/mL (excess 5000) on days -1 and 1, uniforms 0.5: CRS severity 4 on day
    1 but none on day -1 (before day 0 nothing is graded); ICANS severity 2 (5000 exceeds
    800 and 2500) two days after each high day, on days 1 and 3:

    >>> cuts = {f"crs_cut{k}": np.array([c]) for k, c in zip(range(1, 5), (30, 150, 400, 4000))}
    >>> cuts |= {f"icans_cut{k}": np.array([c])
    ...          for k, c in zip(range(1, 5), (800, 2500, 6000, 20000))}
    >>> p = {"il6_baseline": np.array([5.0]), "crs_scale": 0.6, **cuts}
    >>> il6 = np.array([[5005.0], [5.0], [5005.0], [5.0], [5.0]])
    >>> crs, icans = crs_icans_severity({"il6_pg_ml": il6}, np.arange(-1, 4),
    ...     {"u_crs": np.array([0.5]), "u_icans": np.array([0.5])}, p, np.array([True]))
    >>> crs.ravel().tolist(), icans.ravel().tolist()
    ([0, 0, 4, 0, 0], [0, 0, 2, 0, 2])
    """
    excess = np.maximum(out["il6_pg_ml"] - p["il6_baseline"][None, :], 0.0)
    crs = ordinal_severity(excess, cov["u_crs"], [p[f"crs_cut{k}"] for k in range(1, 5)],
                           p["crs_scale"])
    lag = np.zeros_like(excess)
    lag[2:] = excess[:-2]
    icans = ordinal_severity(lag, cov["u_icans"], [p[f"icans_cut{k}"] for k in range(1, 5)],
                             p["crs_scale"])
    icans = np.where(icans_allowed[None, :], icans, 0)
    before = days < 0
    crs[before] = 0
    icans[before] = 0
    return crs, icans


def bedside_rows(tab: ObservationTable, pid: np.ndarray, days: np.ndarray,
                 alive: np.ndarray, rows: np.ndarray, crs: np.ndarray, icans: np.ndarray,
                 cov: Mapping[str, np.ndarray], u: np.ndarray) -> None:
    """Vital signs, organ support and ICE for day indices ``rows`` (alive patients).

    Signs that grade the severity under ASTCT 2019 (module docstring): fever for
    severity >= 1; by the patient's organ (``u_domain`` < 0.5: blood pressure, else
    oxygen) hypotension, norepinephrine (severity 3) plus epinephrine (4), or nasal
    cannula (2), high-flow nasal cannula (3), BiPAP (4); the ICE score for ICANS severity
    0-3 and ``consciousness = unarousable`` for 4.

    Parameters
    ----------
    tab : ObservationTable
        Receives the rows.
    pid : numpy.ndarray
        Patient IDs (n,).
    days : numpy.ndarray
        Study day of each row index (n_days,).
    alive : numpy.ndarray
        Boolean (n_days, n): only alive patients get rows.
    rows : numpy.ndarray
        Day indices to write.
    crs, icans : numpy.ndarray
        Severities (n_days, n) from :func:`crs_icans_severity`.
    cov : Mapping
        ``u_domain`` and ``sbp0`` (baseline systolic pressure, mmHg) per patient.
    u : numpy.ndarray
        Noise uniforms (n_days, >= 3, n) from :func:`noise`.

    Returns
    -------
    None
        Rows are appended to ``tab`` (see :class:`ObservationTable`).

    References
    ----------
    Lee DW et al. ASTCT consensus grading for cytokine release syndrome and neurologic
    toxicity associated with immune effector cells. Biol Blood Marrow Transplant
    2019;25:625-638.

    Examples
    --------
    CRS severity 3 carried by blood pressure: fever, hypotension and one vasopressor:

    >>> tab = ObservationTable()
    >>> bedside_rows(tab, np.array(["P1"]), np.array([5]), np.array([[True]]), np.array([0]),
    ...              np.array([[3]]), np.array([[0]]), {"u_domain": np.array([0.2]),
    ...              "sbp0": np.array([120.0])}, np.full((1, 3, 1), 0.5))
    >>> df = tab.frame().set_index("variable")["value"]
    >>> sorted(df.index)
    ['hypotension', 'ice_score', 'norepinephrine', 'oxygen_device', 'sbp', 'temperature']
    >>> float(df["temperature"]) >= 38.1, df["norepinephrine"], df["ice_score"]
    (True, '8', '10')
    """
    hypo_route = cov["u_domain"] < 0.5
    for i in rows:
        a = alive[i]
        s, g = crs[i][a], icans[i][a]
        ids, d = pid[a], days[i]
        z1 = stats.norm.ppf(np.clip(u[i, 0][a], 1e-9, 1 - 1e-9))
        z2 = stats.norm.ppf(np.clip(u[i, 1][a], 1e-9, 1 - 1e-9))
        temp = np.where(s >= 1, np.clip(38.3 + 0.3 * s + 0.3 * np.abs(z1), 38.1, 41.0),
                        np.clip(36.7 + 0.25 * z1, 36.0, 37.6))
        tab.add(ids, d, "temperature", _fmt(temp, 1), "°C")
        hyp = hypo_route[a] & (s >= 2)
        sbp = np.where(hyp, np.clip(88.0 - 6.0 * (s - 2) + 2.0 * z2, 70.0, 89.0),
                       np.clip(cov["sbp0"][a] + 6.0 * z2, 95.0, 180.0))
        tab.add(ids, d, "sbp", _fmt(sbp, 0), "mmHg")
        tab.add(ids[hyp], d, "hypotension", np.full(hyp.sum(), "yes"), "category")
        ne = hyp & (s >= 3)
        tab.add(ids[ne], d, "norepinephrine",
                _fmt(np.where(s[ne] >= 4, 20.0, 8.0) + np.round(2 * np.abs(z2[ne])), 0),
                "µg/min")
        epi = hyp & (s >= 4)
        tab.add(ids[epi], d, "epinephrine", _fmt(np.full(epi.sum(), 10.0), 0), "µg/min")
        oxy = ~hypo_route[a] & (s >= 2)
        device = np.where(~oxy, "room_air",
                          np.where(s == 2, "nasal_cannula",
                                   np.where(s == 3, "high_flow_nasal_cannula", "bipap")))
        tab.add(ids, d, "oxygen_device", device, "category")
        nc = oxy & (s == 2)
        tab.add(ids[nc], d, "oxygen_flow", _fmt(2.0 + np.floor(3 * u[i, 2][a][nc]), 0),
                "L/min")
        hf = oxy & (s == 3)
        tab.add(ids[hf], d, "oxygen_flow", _fmt(np.full(hf.sum(), 40.0), 0), "L/min")
        awake = g < 4
        ice = np.array(ICE_FOR_SEVERITY)[np.minimum(g, 3)]
        tab.add(ids[awake], d, "ice_score", _fmt(ice[awake], 0), "points")
        tab.add(ids[~awake], d, "consciousness", np.full((~awake).sum(), "unarousable"),
                "category")


def binomial_pct(u: np.ndarray, n_cells: float, pct: np.ndarray) -> np.ndarray:
    """Differential count: Binomial(n_cells, pct/100) by inversion of ``u``, as %.

    Parameters
    ----------
    u : numpy.ndarray
        Uniforms (0, 1), one per sample.
    n_cells : float
        Cells counted (500 for a marrow, 200 for a blood differential).
    pct : numpy.ndarray
        True percentage (0-100; clipped).

    Returns
    -------
    numpy.ndarray
        The counted percentage, a multiple of ``100 / n_cells``: 0 when no cell is seen.

    Examples
    --------
    The median count of Binomial(500, 0.1) is 50 (10 %); a true 0.05 % is usually not seen:

    >>> binomial_pct(np.array([0.5, 0.5, 0.5]), 500, np.array([10.0, 0.05, 100.0])).tolist()
    [10.0, 0.0, 100.0]
    """
    prob = np.clip(pct / 100.0, 0.0, 1.0)
    k = stats.binom.ppf(u, int(n_cells), prob)
    return 100.0 * k / n_cells


def lab_rows(tab: ObservationTable, pid: np.ndarray, days: np.ndarray, alive: np.ndarray,
             rows: np.ndarray, out: Mapping[str, np.ndarray], p: Mapping[str, np.ndarray],
             u: np.ndarray, has_cells: np.ndarray) -> None:
    """Blood counts, blood blasts, IL-6, CAR cells and antigen-positive blasts.

    ANC and lymphocytes (10^9/L, 2 decimals), platelets (10^9/L, whole), haemoglobin
    (g/dL, 1 decimal), blood blasts (200-cell differential, %), IL-6 (pg/mL, 1 decimal)
    and, for patients given cells, CAR cells/uL (3 significant digits; ``"0"`` below the
    LLOQ).

    Parameters
    ----------
    tab : ObservationTable
        Receives the rows.
    pid : numpy.ndarray
        Patient IDs (n,).
    days : numpy.ndarray
        Study day of each row index.
    alive : numpy.ndarray
        Boolean (n_days, n).
    rows : numpy.ndarray
        Day indices to write.
    out : Mapping
        Simulated observables (n_days, n): ``anc``, ``alc``, ``platelets``,
        ``hemoglobin``, ``peripheral_blasts_pct``, ``il6_pg_ml``, ``car_cells_per_ul``.
    p : Mapping
        ``blood_cells_counted`` and ``car_cells_lloq`` (cells/uL) per patient.
    u : numpy.ndarray
        Noise uniforms (n_days, >= 4, n).
    has_cells : numpy.ndarray
        Boolean (n,): the patient's arm gives a cell product.

    Returns
    -------
    None
        Rows are appended to ``tab`` (see :class:`ObservationTable`).

    Examples
    --------
    >>> one = lambda v: np.array([[v]])
    >>> out = {"anc": one(0.254), "alc": one(0.1), "platelets": one(18.6),
    ...        "hemoglobin": one(8.04), "peripheral_blasts_pct": one(0.0), "il6_pg_ml": one(7.26),
    ...        "car_cells_per_ul": one(0.3)}
    >>> p = {"blood_cells_counted": np.array([200.0]), "car_cells_lloq": np.array([0.5])}
    >>> tab = ObservationTable()
    >>> lab_rows(tab, np.array(["P1"]), np.array([7]), np.array([[True]]), np.array([0]), out,
    ...          p, np.full((1, 6, 1), 0.5), np.array([True]))
    >>> tab.frame().set_index("variable")["value"].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'anc': '0.25', 'lymphocytes': '0.10', 'platelets': '19', 'hemoglobin': '8.0',
     'peripheral_blasts': '0.0', 'il6': '7.3', 'car_cells': '0'}
    """
    nb = float(p["blood_cells_counted"][0])
    for i in rows:
        a = alive[i]
        ids, d = pid[a], days[i]
        tab.add(ids, d, "anc", _fmt(out["anc"][i][a], 2), "10^9/L")
        tab.add(ids, d, "lymphocytes", _fmt(out["alc"][i][a], 2), "10^9/L")
        tab.add(ids, d, "platelets", _fmt(out["platelets"][i][a], 0), "10^9/L")
        tab.add(ids, d, "hemoglobin", _fmt(np.clip(out["hemoglobin"][i][a], 1.0, 25.0), 1),
                "g/dL")
        pb = binomial_pct(u[i, 3][a], nb, out["peripheral_blasts_pct"][i][a])
        tab.add(ids, d, "peripheral_blasts", _fmt(pb, 1), "%")
        tab.add(ids, d, "il6", _fmt(out["il6_pg_ml"][i][a], 1), "pg/mL")
        c = a & has_cells
        car = out["car_cells_per_ul"][i][c]
        lloq = p["car_cells_lloq"][c]
        tab.add(pid[c], d, "car_cells", np.where(car >= lloq, significant_text(car, 3), "0"),
                "cells/µL")


def marrow_rows(tab: ObservationTable, pid: np.ndarray, days: np.ndarray,
                alive: np.ndarray, rows: np.ndarray, out: Mapping[str, np.ndarray],
                p: Mapping[str, np.ndarray], u: np.ndarray, baseline_row: int) -> None:
    """Marrow aspirate: 500-cell differential, cells counted, flow MRD, antigen-positive
    blasts (flow; only when blasts are seen).

    A 500-cell differential (``marrow_blasts``, % with 1 decimal; ``0.0`` when no blast is
    seen), ``marrow_cells_counted``, the antigen-positive share of blasts (only when blasts
    are seen) and, except at the baseline aspirate, flow MRD: the measured percentage
    (log-normal error ``mrd_cv``) when at or above ``mrd_lod_pct``, else
    ``mrd_status = negative``.

    Parameters
    ----------
    tab : ObservationTable
        Receives the rows.
    pid : numpy.ndarray
        Patient IDs (n,).
    days : numpy.ndarray
        Study day of each row index.
    alive : numpy.ndarray
        Boolean (n_days, n).
    rows : numpy.ndarray
        Day indices of the aspirates.
    out : Mapping
        ``marrow_blasts_pct`` and ``antigen_positive_pct`` (n_days, n).
    p : Mapping
        ``marrow_cells_counted``, ``mrd_cv`` and ``mrd_lod_pct`` (%) per patient.
    u : numpy.ndarray
        Noise uniforms (n_days, >= 6, n).
    baseline_row : int
        The row index of the baseline aspirate (no MRD there).

    Returns
    -------
    None
        Rows are appended to ``tab`` (see :class:`ObservationTable`).

    Examples
    --------
    A remission aspirate (true blasts 0.001 %, below the 0.02 % flow LOD):

    >>> out = {"marrow_blasts_pct": np.array([[40.0], [0.001]]),
    ...        "antigen_positive_pct": np.array([[90.0], [90.0]])}
    >>> p = {"marrow_cells_counted": np.array([500.0]), "mrd_cv": np.array([0.3]),
    ...      "mrd_lod_pct": np.array([0.02])}
    >>> tab = ObservationTable()
    >>> marrow_rows(tab, np.array(["P1"]), np.array([0, 28]), np.ones((2, 1), bool),
    ...             np.array([0, 1]), out, p, np.full((2, 6, 1), 0.5), baseline_row=0)
    >>> tab.frame()[["day", "variable", "value"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [[0, 'marrow_blasts', '40.0'], [0, 'marrow_cells_counted', '500'],
     [0, 'antigen_positive_blasts', '90.0'], [28, 'marrow_blasts', '0.0'],
     [28, 'marrow_cells_counted', '500'], [28, 'mrd_status', 'negative']]
    """
    nm = float(p["marrow_cells_counted"][0])
    for i in rows:
        a = alive[i]
        ids, d = pid[a], days[i]
        bm = binomial_pct(u[i, 4][a], nm, out["marrow_blasts_pct"][i][a])
        tab.add(ids, d, "marrow_blasts", _fmt(bm, 1), "%")
        tab.add(ids, d, "marrow_cells_counted", _fmt(np.full(a.sum(), nm), 0), "cells")
        pos = out["antigen_positive_pct"][i][a]
        seen = bm > 0
        tab.add(ids[seen], d, "antigen_positive_blasts", _fmt(pos[seen], 1), "%")
        if i == baseline_row:
            continue
        z = stats.norm.ppf(np.clip(u[i, 5][a], 1e-9, 1 - 1e-9))
        mrd = np.minimum(out["marrow_blasts_pct"][i][a] * np.exp(p["mrd_cv"][a] * z),
                         100.0)
        lod = p["mrd_lod_pct"][a]
        det = mrd >= lod
        tab.add(ids[det], d, "mrd", significant_text(mrd[det], 3), "%")
        tab.add(ids[~det], d, "mrd_status", np.full((~det).sum(), "negative"), "category")


def transfusion_rows(tab: ObservationTable, pid: np.ndarray, days: np.ndarray,
                     alive: np.ndarray, out: Mapping[str, np.ndarray]) -> None:
    """A ``yes`` row on each day a transfusion was given (post day-0 and lead-in alike).

    Parameters
    ----------
    tab : ObservationTable
        Receives the rows (``rbc_transfusion`` / ``platelet_transfusion`` = ``yes``).
    pid : numpy.ndarray
        Patient IDs (n,).
    days : numpy.ndarray
        Study day of each row index (n_days,).
    alive : numpy.ndarray
        Boolean (n_days, n).
    out : Mapping
        ``rbc_transfusion`` and ``platelet_transfusion`` (n_days, n), > 0 when given.

    Returns
    -------
    None
        Rows are appended to ``tab`` (see :class:`ObservationTable`).

    Examples
    --------
    >>> out = {"rbc_transfusion": np.array([[0.0], [1.0]]),
    ...        "platelet_transfusion": np.array([[1.0], [1.0]])}
    >>> tab = ObservationTable()
    >>> transfusion_rows(tab, np.array(["P1"]), np.array([-3, 5]), np.array([[True], [False]]),
    ...                  out)
    >>> tab.frame()[["day", "variable"]].values.tolist()
    [[-3, 'platelet_transfusion']]
    """
    for var in ("rbc_transfusion", "platelet_transfusion"):
        gave = (out[var] > 0) & alive
        di, pj = np.nonzero(gave)
        tab.add(pid[pj], days[di], var, np.full(len(di), "yes"), "category")
