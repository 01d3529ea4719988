"""Rule-based dose escalation on virtual patients: 3+3 and BOIN.

The arms of a design are the dose levels, lowest first. Patients are simulated once per
level (patient ``g`` of the trial is the same virtual patient whatever level it gets:
common random numbers); a rule then walks the levels cohort by cohort, each patient's
dose-limiting toxicity (DLT) read from his simulated outcome at the level assigned.

* **3+3** (Storer BE, Biometrics 1989;45:925; the "traditional" algorithm as described
  by Le Tourneau C et al., J Natl Cancer Inst 2009;101:708): 3 patients per level;
  0/3 DLT escalate; 1/3 add 3 -- at most 1/6 escalate, otherwise stop; >= 2 DLT at a
  level stop. MTD = the highest level with at most 1/6 DLT below the stopping level
  (none if the first level is too toxic); escalating past the top level makes the top
  level the MTD if it had at most 1/6.
* **BOIN** (Liu S, Yuan Y, J R Stat Soc C 2015;64:507-523): with target DLT rate
  ``phi`` and phi1 = 0.6 phi, phi2 = 1.4 phi, escalate when the observed DLT rate at the
  current level is <= lambda_e, de-escalate when >= lambda_d, else stay, where
  lambda_e = log((1-phi1)/(1-phi)) / log(phi(1-phi1) / (phi1(1-phi))) and
  lambda_d = log((1-phi)/(1-phi2)) / log(phi2(1-phi) / (phi(1-phi2)))
  (phi = 0.3 gives 0.236 / 0.358, Table 1 of the paper). Safety rule: a level is
  eliminated with every higher one when at least 3 patients were treated there and
  Pr(p > phi | data) > 0.95 under a Beta(1, 1) prior; the trial stops without an MTD if
  the lowest level is eliminated. The MTD is the level whose isotonic (pool-adjacent-
  violators) estimate of the DLT rate is closest to phi, among levels tried (ties: the
  higher level when the estimate is below phi, the lower one otherwise).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from ..results import Result
from .design import Design

DLT = Callable[[pd.DataFrame], np.ndarray]


def default_dlt(patients: pd.DataFrame, window: int = 28) -> np.ndarray:
    """DLT: CRS or ICANS grade >= 3, or death within ``window`` days of day 0.

    Parameters
    ----------
    patients : pandas.DataFrame
        Simulated patients (``TrialResult.patients``) with ``crs_grade`` and
        ``icans_grade`` (ASTCT 2019 grades derived by the criteria engine) and
        ``death_day`` (study day, NaN when alive).
    window : int, default 28
        Last study day (inclusive) on which a death counts as a DLT.

    Returns
    -------
    numpy.ndarray
        Boolean, one per row.

    Raises
    ------
    KeyError
        When a column is missing.

    Examples
    --------
    >>> pts = pd.DataFrame({"crs_grade": [3, 2, 0, 0], "icans_grade": [0, 0, 3, 0],
    ...                     "death_day": [np.nan, np.nan, np.nan, 28.0]})
    >>> default_dlt(pts).tolist(), default_dlt(pts, window=27).tolist()
    ([True, False, True, True], [True, False, True, False])

    A patient dead on day 0 has no grades (NA); the death counts:

    >>> dead0 = pd.DataFrame({"crs_grade": pd.array([pd.NA], dtype="Int64"),
    ...                       "icans_grade": pd.array([pd.NA], dtype="Int64"),
    ...                       "death_day": [0.0]})
    >>> default_dlt(dead0).tolist()
    [True]
    """
    dead = patients["death_day"].to_numpy(dtype=float)
    # a missing grade (not evaluable: died before the infusion) is no toxicity DLT; such a
    # patient died on or before day 0, which the death window counts
    crs = patients["crs_grade"].to_numpy(dtype=float, na_value=np.nan)
    icans = patients["icans_grade"].to_numpy(dtype=float, na_value=np.nan)
    return (crs >= 3) | (icans >= 3) | (dead <= window)


def boin_boundaries(phi: float, phi1: float | None = None, phi2: float | None = None
                    ) -> tuple[float, float]:
    """(lambda_e, lambda_d) of BOIN (Liu & Yuan 2015).

    Parameters
    ----------
    phi : float
        Target DLT rate, in (0, 1).
    phi1 : float, optional
        Highest rate deemed sub-therapeutic; default ``0.6 * phi``.
    phi2 : float, optional
        Lowest rate deemed overly toxic; default ``1.4 * phi``.

    Returns
    -------
    tuple of float
        ``(lambda_e, lambda_d)``: escalate when the observed DLT rate is <= lambda_e,
        de-escalate when >= lambda_d.

    References
    ----------
    Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials. J R Stat
    Soc C 2015;64:507-523.

    Examples
    --------
    Table 1 of the paper prints 0.236 and 0.358 for a target of 0.3, 0.197 and 0.298 for
    0.25 (three decimals, truncated):

    >>> [round(x, 4) for x in boin_boundaries(0.3) + boin_boundaries(0.25)]
    [0.2365, 0.3585, 0.1968, 0.2984]
    """
    p1 = 0.6 * phi if phi1 is None else phi1
    p2 = 1.4 * phi if phi2 is None else phi2
    le = np.log((1 - p1) / (1 - phi)) / np.log(phi * (1 - p1) / (p1 * (1 - phi)))
    ld = np.log((1 - phi) / (1 - p2)) / np.log(p2 * (1 - phi) / (phi * (1 - p2)))
    return float(le), float(ld)


def isotonic(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Non-decreasing weighted least-squares fit (pool-adjacent-violators).

    Parameters
    ----------
    p : numpy.ndarray
        Values in level order (e.g. DLT rate estimates).
    w : numpy.ndarray
        Positive weights (e.g. patients per level).

    Returns
    -------
    numpy.ndarray
        The non-decreasing sequence closest to ``p`` in weighted least squares
        (violating neighbours pooled into their weighted mean).

    Examples
    --------
    >>> isotonic(np.array([0.1, 0.3, 0.2, 0.5]), np.array([1.0, 1.0, 1.0, 1.0])).tolist()
    [0.1, 0.25, 0.25, 0.5]
    >>> isotonic(np.array([0.4, 0.1]), np.array([3.0, 1.0])).round(3).tolist()
    [0.325, 0.325]
    """
    blocks = [[float(p[i]), float(w[i]), 1] for i in range(len(p))]
    i = 0
    while i < len(blocks) - 1:
        if blocks[i][0] > blocks[i + 1][0]:
            a, b = blocks[i], blocks[i + 1]
            wt = a[1] + b[1]
            blocks[i] = [(a[0] * a[1] + b[0] * b[1]) / wt, wt, a[2] + b[2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return np.concatenate([[v] * k for v, _, k in blocks])


def three_plus_three(dlt: np.ndarray) -> tuple[int | None, list[tuple[int, bool]]]:
    """Run 3+3 on a (levels x patients) DLT matrix; patient ``g`` is column ``g``.

    Returns (MTD level index or None, [(level, dlt) per treated patient in order]). The
    MTD must have 6 patients with at most 1 DLT: when escalation stops above a level
    that had only 3, that level is expanded to 6 (and so on downwards).

    Parameters
    ----------
    dlt : numpy.ndarray
        Boolean (levels x patients): ``dlt[k, g]`` is whether patient ``g`` has a DLT at
        level ``k``; patients are enrolled in column order.

    Returns
    -------
    tuple
        ``(mtd, path)``: the MTD level index (None when the lowest level is too toxic)
        and ``[(level, dlt), ...]`` for every treated patient in order.

    Raises
    ------
    ValueError
        When the rule needs more patients than ``dlt`` has columns.

    References
    ----------
    Storer BE. Design and analysis of phase I clinical trials. Biometrics 1989;45:925-937;
    Le Tourneau C, Lee JJ, Siu LL. Dose escalation methods in phase I cancer clinical
    trials. J Natl Cancer Inst 2009;101:708-720.

    Examples
    --------
    One DLT in the first three at level 1 expands it to six (1/6: escalate); the top level
    with 0/3 is expanded to six and becomes the MTD:

    >>> d = np.zeros((3, 15), bool); d[1, 3] = True
    >>> mtd, path = three_plus_three(d)
    >>> mtd, [lv for lv, _ in path]
    (2, [0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2])

    Three DLTs at level 2 stop escalation; level 1 (3 patients) is expanded to six and,
    with 0/6, is the MTD. Two DLTs at the first level: no MTD.

    >>> d = np.zeros((3, 15), bool); d[2] = True
    >>> three_plus_three(d)[0], len(three_plus_three(d)[1])
    (1, 12)
    >>> d = np.zeros((3, 15), bool); d[0, :2] = True
    >>> three_plus_three(d)[0]
    """
    levels, n_max = dlt.shape
    counts = np.zeros(levels, int)
    tox = np.zeros(levels, int)
    path: list[tuple[int, bool]] = []
    g = 0

    def treat(level: int) -> None:
        nonlocal g
        for _ in range(3):
            if g >= n_max:
                raise ValueError("3+3 ran out of simulated patients: raise n_max")
            path.append((level, bool(dlt[level, g])))
            counts[level] += 1
            tox[level] += dlt[level, g]
            g += 1

    level = 0
    while True:
        treat(level)
        if counts[level] == 3 and tox[level] == 1:
            treat(level)  # expand to 6
        if tox[level] <= (0 if counts[level] == 3 else 1):
            if level == levels - 1:
                if counts[level] == 3:
                    treat(level)
                    if tox[level] > 1:
                        break
                return level, path
            level += 1
            continue
        break
    # stopped at ``level``: the MTD is the highest lower level with <= 1/6
    for lower in range(level - 1, -1, -1):
        if counts[lower] == 3:
            treat(lower)
        if tox[lower] <= 1:
            return lower, path
    return None, path


def boin(dlt: np.ndarray, phi: float = 0.3, n_max: int = 30, cohort: int = 3
         ) -> tuple[int | None, list[tuple[int, bool]]]:
    """Run BOIN on a (levels x patients) DLT matrix; returns (MTD or None, path).

    Cohorts of ``cohort`` patients until ``n_max`` are treated; safety elimination and
    MTD selection as in the module docstring.

    Parameters
    ----------
    dlt : numpy.ndarray
        Boolean (levels x patients), as :func:`three_plus_three`.
    phi : float, default 0.3
        Target DLT rate.
    n_max : int, default 30
        Most patients treated (at most ``dlt.shape[1]``).
    cohort : int, default 3
        Cohort size.

    Returns
    -------
    tuple
        ``(mtd, path)``: the selected level index (None when the lowest level is
        eliminated or nothing was tried) and ``[(level, dlt), ...]`` per treated patient.

    References
    ----------
    Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials. J R Stat
    Soc C 2015;64:507-523.

    Examples
    --------
    Every patient at level 2 has a DLT: 3/3 there (rate 1 >= 0.358) de-escalates to
    level 1, whose isotonic estimate (0.05/3.1) is the closest to 0.3:

    >>> d = np.zeros((3, 12), bool); d[2] = True
    >>> mtd, path = boin(d, n_max=12)
    >>> mtd, [lv for lv, _ in path]
    (1, [0, 0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1])

    3/3 DLTs at the lowest level: Pr(p > 0.3 | Beta(4, 1)) = 1 - 0.3^4 > 0.95 eliminates
    it, and the trial stops without an MTD:

    >>> boin(np.ones((3, 12), bool), n_max=12)[0] is None
    True
    """
    levels = dlt.shape[0]
    le, ld = boin_boundaries(phi)
    counts = np.zeros(levels, int)
    tox = np.zeros(levels, int)
    top = levels - 1  # highest level not eliminated
    level, g, path = 0, 0, []
    while g + cohort <= n_max:
        for _ in range(cohort):
            path.append((level, bool(dlt[level, g])))
            counts[level] += 1
            tox[level] += dlt[level, g]
            g += 1
        n, y = counts[level], tox[level]
        if n >= 3 and stats.beta.sf(phi, 1 + y, 1 + n - y) > 0.95:
            top = min(top, level - 1)
            if top < 0:
                return None, path
            level = top
            continue
        rate = y / n
        if rate <= le and level < top:
            level += 1
        elif rate >= ld and level > 0:
            level -= 1
    tried = np.flatnonzero(counts[: top + 1] > 0)
    if len(tried) == 0:
        return None, path
    est = isotonic((tox[tried] + 0.05) / (counts[tried] + 0.1), counts[tried].astype(float))
    diff = np.abs(est - phi)
    best = np.flatnonzero(np.isclose(diff, diff.min()))
    k = best[-1] if est[best[0]] < phi else best[0]
    return int(tried[k]), path


def escalation_trials(design: Design, rule: str = "boin", replicates: int = 100,
                      n_max: int = 30, phi: float = 0.3, seed: int = 0,
                      dlt: DLT = default_dlt, workers: int | None = 0) -> Result:
    """Operating characteristics of 3+3 or BOIN over the design's arms as dose levels.

    ``replicates`` virtual escalation trials of at most ``n_max`` patients each; replicate
    ``r`` uses virtual patients ``r*n_max .. r*n_max + n_max - 1``. Returns a Result whose
    table gives, per level, the share of trials selecting it as MTD, the mean number of
    patients treated and the true DLT probability of the level (over all simulated
    patients); ``params`` holds the share of trials without an MTD.

    Parameters
    ----------
    design : Design
        The design; its arms, in order, are the dose levels (lowest first).
    rule : str, default "boin"
        ``"3+3"`` or ``"boin"``.
    replicates : int, default 100
        Number of virtual escalation trials.
    n_max : int, default 30
        Most patients per trial.
    phi : float, default 0.3
        BOIN's target DLT rate (ignored by 3+3).
    seed : int, default 0
        Random stream of the virtual patients.
    dlt : callable, default :func:`default_dlt`
        ``patients table -> boolean array``: the DLT of each simulated patient.
    workers : int or None, default 0
        As :func:`remission.sim.trial.run_trial` (0: in this process).

    Returns
    -------
    Result
        ``simulation.escalation``: one row per level (index ``level``, the arm name) with
        ``true_dlt_probability``, ``selected_as_mtd`` (share of trials) and
        ``mean_patients``; ``params["no_mtd_share"]`` is the share of trials without an
        MTD.

    Raises
    ------
    ValueError
        When ``rule`` is neither rule, or 3+3 needs more than ``n_max`` patients.

    References
    ----------
    Storer 1989 and Liu & Yuan 2015, as :func:`three_plus_three` and :func:`boin`.

    Examples
    --------
    Three dose levels (seed 002's arms, follow-up cut to 14 days) and a DLT rule that never
    fires: one BOIN cohort at level A escalates to B, where the trial ends (6 patients);
    both levels have the same estimate, below the target, so the higher one is the MTD:

    >>> from remission.sim.calibrate import calibration_design
    >>> from remission.sim.design import DESIGN_DIR, load_design
    >>> d = calibration_design(load_design(DESIGN_DIR / "seed002_cll1_cart_dose_groups.toml"),
    ...                        horizon=14)
    >>> r = escalation_trials(d, replicates=1, n_max=6, dlt=lambda pts: np.zeros(len(pts), bool))
    >>> r.table[["selected_as_mtd", "mean_patients"]].to_dict("list")
    {'selected_as_mtd': [0.0, 1.0, 0.0], 'mean_patients': [3.0, 3.0, 0.0]}
    >>> escalation_trials(d, rule="crm")
    Traceback (most recent call last):
    ValueError: rule must be '3+3' or 'boin'
    """
    from .trial import run_trial

    if rule not in ("3+3", "boin"):
        raise ValueError("rule must be '3+3' or 'boin'")
    big = replace(design, arms=tuple(replace(a, n=n_max * replicates) for a in design.arms))
    pts = run_trial(big, seed=seed, workers=workers, observations=False).patients
    levels = [a.name for a in design.arms]
    mat = np.stack([dlt(pts[pts["arm"] == lv].reset_index(drop=True)) for lv in levels])
    chosen, treated = [], np.zeros(len(levels))
    for r in range(replicates):
        block = mat[:, r * n_max:(r + 1) * n_max]
        if rule == "3+3":
            mtd, path = three_plus_three(block)
        else:
            mtd, path = boin(block, phi=phi, n_max=n_max)
        chosen.append(-1 if mtd is None else mtd)
        for lv, _ in path:
            treated[lv] += 1
    chosen_a = np.array(chosen)
    table = pd.DataFrame({
        "true_dlt_probability": mat.mean(axis=1),
        "selected_as_mtd": [(chosen_a == k).mean() for k in range(len(levels))],
        "mean_patients": treated / replicates,
    }, index=pd.Index(levels, name="level"))
    lam = boin_boundaries(phi) if rule == "boin" else None
    method = ("3+3 (Storer 1989; Le Tourneau 2009)" if rule == "3+3" else
              f"BOIN (Liu & Yuan 2015), target {phi:g}, boundaries "
              f"{lam[0]:.3f}/{lam[1]:.3f}, elimination Pr(p > target) > 0.95")
    return Result(
        name="simulation.escalation", title=f"Dose escalation by {rule} on virtual patients",
        table=table,
        method=(f"{replicates} simulated escalation trials (at most {n_max} patients, cohorts "
                f"of 3) by {method}; DLT = CRS or ICANS grade >= 3 or death by day 28, "
                "derived from each virtual patient's simulated course."),
        rationale="Operating characteristics of a dose-finding rule under the model.",
        warnings=("SIMULATED: model outputs, not patient data.",),
        references=("Storer BE. Biometrics 1989;45:925-937",
                    "Liu S, Yuan Y. J R Stat Soc C 2015;64:507-523"),
        params={"rule": rule, "replicates": replicates, "n_max": n_max, "target": phi,
                "no_mtd_share": float((chosen_a == -1).mean()), "seed": seed},
        section="simulation")
