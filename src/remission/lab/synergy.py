"""Drug-combination synergy on dose matrices: Bliss, HSA, Loewe and ZIP.

Responses are percent inhibition (0 = no effect, 100 = complete kill); viability is
converted as ``100 - viability``. The matrix has the single agents in its first row and
column (dose 0 of the other agent); the "column agent" may be an effector:target ratio in
a CAR-T killing assay, which is treated as a dose. Scores follow the conventions of
SynergyFinder (Ianevski et al. 2017, 2020, 2022): a cell's synergy score is observed
minus expected response in percentage points, positive = synergy; the summary score is
the mean over cells where both agents are present.

Expected responses (``y1``, ``y2`` = single-agent effects at the cell's doses):
- HSA, highest single agent (Berenbaum 1989): ``max(y1, y2)`` with observed single agents.
- Bliss independence (Bliss 1939): ``y1 + y2 - y1 y2 / 100`` with observed single agents.
- Loewe additivity (Loewe 1953): the ``y`` solving ``x1/X1(y) + x2/X2(y) = 1`` where
  ``Xi(y)`` inverts agent i's fitted 4-parameter log-logistic curve. Convention: an agent
  whose fitted maximum is below ``y`` contributes no dose equivalent (its term is 0), so
  the equation always has one root in the joint effect range; SynergyFinder instead falls
  back to HSA when its solver fails, so results can differ where a curve plateaus low.
- ZIP, zero interaction potency (Yadav et al. 2015): expected ``y1 + y2 - y1 y2 / 100``
  from the *fitted* single-agent curves; observed values are smoothed by fitting, for each
  fixed dose of one agent, a log-logistic curve in the other agent's dose with bottom
  fixed at the first agent's fitted single effect and top fixed at 100; the two directions
  are averaged (Yadav 2015, eqs. 8-11).

Replicate uncertainty: cells' replicate responses are resampled with replacement (seeded),
scores recomputed, and percentile intervals reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from scipy import optimize, special

from remission.lab._common import SECTION, fmt_key, new_figure, table
from remission.results import Result

METHODS = ("HSA", "Bliss", "Loewe", "ZIP")
REFS = (
    "Bliss CI. The toxicity of poisons applied jointly. Ann Appl Biol 1939;26:585-615.",
    "Loewe S. The problem of synergism and antagonism of combined drugs. "
    "Arzneimittelforschung 1953;3:285-290.",
    "Berenbaum MC. What is synergy? Pharmacol Rev 1989;41:93-141.",
    "Yadav B, Wennerberg K, Aittokallio T, Tang J. Searching for drug synergy in complex "
    "dose-response landscapes using an interaction potency model. Comput Struct Biotechnol J "
    "2015;13:504-513.",
    "Ianevski A, He L, Aittokallio T, Tang J. SynergyFinder: a web application for analyzing "
    "drug combination dose-response matrix data. Bioinformatics 2017;33:2413-2415.",
    "Ianevski A, Giri AK, Aittokallio T. SynergyFinder 2.0. Nucleic Acids Res "
    "2020;48:W488-W493; SynergyFinder 3.0. Nucleic Acids Res 2022;50:W739-W743.",
)


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class Hill:
    """Inhibition curve y = b + (t - b) r / (1 + r), r = (x/m)^h (drc LL.4 with d=t, c=b)."""

    bottom: float
    top: float
    m: float
    h: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        with np.errstate(divide="ignore", over="ignore"):
            r = np.where(x > 0, (np.maximum(x, 1e-300) / self.m) ** self.h, 0.0)
            frac = np.where(np.isinf(r), 1.0, r / (1 + r))
        return self.bottom + (self.top - self.bottom) * frac

    def inverse(self, y: float) -> float:
        """Dose giving effect y: 0 at/below the bottom, inf at/above the top."""
        lo, hi = sorted((self.bottom, self.top))
        increasing = self.top >= self.bottom
        if y <= lo:
            return 0.0 if increasing else np.inf
        if y >= hi:
            return np.inf if increasing else 0.0
        q = (y - self.bottom) / (self.top - y)
        return self.m * q ** (1.0 / self.h)


def _fit_hill(x: np.ndarray, y: np.ndarray, bottom: float | None = None,
              top: float | None = None) -> Hill:
    """Least-squares Hill fit; free parameters are those not fixed (m on log scale)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    pos = x[x > 0]
    lx = np.log(pos)
    b0 = float(np.mean(y[x == x.min()])) if bottom is None else bottom
    t0 = float(np.max(y)) if top is None else top
    mid = (b0 + t0) / 2
    order = np.argsort(pos)
    m0 = float(np.exp(np.interp(mid, np.maximum.accumulate(y[x > 0][order]), lx[order])))
    free = [("bottom", b0) if bottom is None else None, ("top", t0) if top is None else None]
    names = [f[0] for f in free if f] + ["logm", "logh"]
    p0 = [f[1] for f in free if f] + [np.log(m0), 0.0]

    def unpack(p):
        d = dict(zip(names, p, strict=True))
        return Hill(d.get("bottom", bottom), d.get("top", top), float(np.exp(d["logm"])),
                    float(np.exp(d["logh"])))

    pos_mask = x > 0
    lxs = np.where(pos_mask, np.log(np.where(pos_mask, x, 1.0)), 0.0)

    def resid(p):
        return unpack(p)(x) - y

    def jac(p):
        c = unpack(p)
        z = np.where(pos_mask, c.h * (lxs - np.log(c.m)), -np.inf)
        sfrac = special.expit(z)
        g = sfrac * (1 - sfrac)
        span = c.top - c.bottom
        cols = []
        if bottom is None:
            cols.append(1 - sfrac)
        if top is None:
            cols.append(sfrac)
        cols.append(-span * g * c.h)
        cols.append(span * g * np.where(pos_mask, z, 0.0))
        return np.column_stack(cols)

    best = None
    for lh in (0.0, np.log(0.4), np.log(2.5)):
        p0[-1] = lh
        sol = optimize.least_squares(resid, p0, jac=jac, method="lm", xtol=1e-12,
                                     ftol=1e-12, max_nfev=2000)
        if best is None or sol.cost < best.cost:
            best = sol
    return unpack(best.x)


# --------------------------------------------------------------------------- scores


def _matrix(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row doses, col doses, mean response matrix) from a tidy table."""
    m = df.groupby(["dose_row", "dose_col"])["response"].mean().unstack("dose_col")
    m = m.sort_index().sort_index(axis=1)
    return m.index.to_numpy(float), m.columns.to_numpy(float), m.to_numpy(float)


def _loewe_expected(x1: float, x2: float, c1: Hill, c2: Hill) -> float:
    """Loewe-additive response for doses (x1, x2) given single-agent curves."""
    if x1 == 0:
        return float(c2(x2))
    if x2 == 0:
        return float(c1(x1))

    def g(y):
        return x1 / c1.inverse(y) + x2 / c2.inverse(y) - 1.0

    lo = max(min(c1.bottom, c1.top), min(c2.bottom, c2.top))
    hi = max(c1.top, c2.top, c1.bottom, c2.bottom)
    eps = 1e-12 * max(1.0, abs(hi))
    a, b = lo + eps, hi - eps
    with np.errstate(divide="ignore"):
        ga, gb = g(a), g(b)
    if not ga > 0:
        return float(lo)
    if not gb < 0:
        return float(hi)
    return float(optimize.brentq(g, a, b, xtol=1e-12, rtol=1e-12))


def synergy_scores(x_row: np.ndarray, x_col: np.ndarray, y: np.ndarray,
                   methods: tuple[str, ...] = METHODS) -> dict[str, np.ndarray]:
    """Per-cell synergy (observed minus expected % inhibition) of a dose matrix, by method.

    Expected responses by HSA, Bliss, Loewe and ZIP as in the module docstring; the
    single-agent row and column score 0 by definition.

    Parameters
    ----------
    x_row, x_col : ndarray of float
        Doses of the row and column agents, increasing, starting with 0.
    y : ndarray of float
        ``y[i, j]`` = mean % inhibition at ``x_row[i]``, ``x_col[j]``.
    methods : tuple of str, default ("HSA", "Bliss", "Loewe", "ZIP")
        Reference models (Loewe and ZIP fit 4-parameter log-logistic curves).

    Returns
    -------
    dict of str to ndarray
        Method -> matrix of scores (percentage points; positive = synergy).

    Raises
    ------
    ValueError
        The first dose of either agent is not 0.

    References
    ----------
    Bliss CI. Ann Appl Biol 1939;26:585-615. Berenbaum MC. Pharmacol Rev 1989;41:93-141.
    Loewe S. Arzneimittelforschung 1953;3:285-290. Yadav B, et al. Comput Struct Biotechnol J
    2015;13:504-513.

    Examples
    --------
    Alone the agents inhibit 30 % and 20 %, together 60 %: HSA expects 30 (score 30),
    Bliss expects 30 + 20 - 30 * 20 / 100 = 44 (score 16):

    >>> s = synergy_scores(np.array([0, 1.0]), np.array([0, 1.0]),
    ...                    np.array([[0, 20], [30, 60.0]]), methods=("HSA", "Bliss"))
    >>> float(s["HSA"][1, 1]), float(s["Bliss"][1, 1]), s["Bliss"][0].tolist()
    (30.0, 16.0, [0.0, 0.0])
    """
    if x_row[0] != 0 or x_col[0] != 0:
        raise ValueError("the matrix needs dose 0 of each agent (single-agent row/column)")
    y1 = y[:, [0]]  # row agent alone, as a column vector
    y2 = y[[0], :]  # column agent alone
    out: dict[str, np.ndarray] = {}
    if "HSA" in methods:
        out["HSA"] = y - np.maximum(y1, y2)
    if "Bliss" in methods:
        out["Bliss"] = y - (y1 + y2 - y1 * y2 / 100.0)
    need_fit = {"Loewe", "ZIP"} & set(methods)
    if need_fit:
        c1 = _fit_hill(x_row, y[:, 0])
        c2 = _fit_hill(x_col, y[0, :])
        if "Loewe" in methods:
            exp_l = np.array([[_loewe_expected(a, b, c1, c2) for b in x_col] for a in x_row])
            out["Loewe"] = y - exp_l
        if "ZIP" in methods:
            out["ZIP"] = _zip_delta(x_row, x_col, y, c1, c2)
    for v in out.values():
        v[0, :] = 0.0
        v[:, 0] = 0.0
    return out


def _zip_delta(x_row, x_col, y, c1: Hill, c2: Hill) -> np.ndarray:
    """ZIP delta (Yadav 2015): smoothed observed minus fitted-Bliss expectation."""
    f1 = c1(x_row)  # row agent fitted single effects
    f2 = c2(x_col)
    # fixed row dose i: response along column doses, bottom = f1[i], top = 100
    along_col = np.zeros_like(y)
    for i in range(1, len(x_row)):
        h = _fit_hill(x_col, y[i, :], bottom=float(f1[i]), top=100.0)
        along_col[i, :] = h(x_col)
    along_row = np.zeros_like(y)
    for j in range(1, len(x_col)):
        h = _fit_hill(x_row, y[:, j], bottom=float(f2[j]), top=100.0)
        along_row[:, j] = h(x_row)
    smooth = (along_col + along_row) / 2
    expected = f1[:, None] + f2[None, :] - f1[:, None] * f2[None, :] / 100.0
    return smooth - expected


def _most_synergistic_area(score: np.ndarray, size: int = 3) -> float:
    """Highest mean score over ``size`` x ``size`` windows of the combination cells (the
    "most synergistic area" of SynergyFinder); NaN when the matrix is smaller."""
    c = score[1:, 1:]
    if c.shape[0] < size or c.shape[1] < size:
        return np.nan
    win = np.lib.stride_tricks.sliding_window_view(c, (size, size))
    return float(win.mean(axis=(-1, -2)).max())


def _summary(scores: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: float(v[1:, 1:].mean()) for k, v in scores.items()}


def _bootstrap_scores(df: pd.DataFrame, n_boot: int = 200, seed: int = 20261123,
                     methods: tuple[str, ...] = METHODS) -> dict[str, np.ndarray]:
    """Summary scores recomputed on replicate resamples within each cell."""
    rng = np.random.default_rng(seed)
    cells = [(k, g["response"].to_numpy(float)) for k, g in
             df.groupby(["dose_row", "dose_col"], sort=True)]
    x_row = np.array(sorted(df["dose_row"].unique()), float)
    x_col = np.array(sorted(df["dose_col"].unique()), float)
    ir = {v: i for i, v in enumerate(x_row)}
    ic = {v: j for j, v in enumerate(x_col)}
    out = {m: np.empty(n_boot) for m in methods}
    for b in range(n_boot):
        y = np.full((x_row.size, x_col.size), np.nan)
        for (dr, dc), vals in cells:
            y[ir[dr], ic[dc]] = rng.choice(vals, size=vals.size, replace=True).mean()
        s = _summary(synergy_scores(x_row, x_col, y, methods))
        for m in methods:
            out[m][b] = s[m]
    return out


def _to_inhibition(df: pd.DataFrame, response_type: str) -> pd.DataFrame:
    """Return a copy whose ``response`` is % inhibition."""
    d = df.copy()
    if response_type == "viability":
        d["response"] = 100.0 - d["response"]
    elif response_type != "inhibition":
        raise ValueError("response_type must be 'inhibition' or 'viability'")
    return d


def synergy_results(df: pd.DataFrame, response_type: str = "inhibition", n_boot: int = 200,
                    seed: int = 20261123, conf: float = 0.95,
                    methods: tuple[str, ...] = METHODS) -> list[Result]:
    """Synergy per combination (``drug_row`` × ``drug_col``) of a tidy dose-matrix table.

    Summary score = mean per-cell score over the cells where both agents are present, with
    a percentile bootstrap interval resampling replicates within cells (seeded; needs >= 2
    replicates per cell); also the most synergistic cell and 3 × 3 area (SynergyFinder).

    Parameters
    ----------
    df : DataFrame
        One row per well: ``dose_row, dose_col, response`` and optionally ``drug_row``,
        ``drug_col`` (one matrix per pair).
    response_type : {"inhibition", "viability"}, default "inhibition"
        ``response`` in % inhibition, or % viability (converted as 100 - viability).
    n_boot : int, default 200
        Bootstrap resamples (0 = none).
    seed : int, default 20261123
        Seed of the resampling.
    conf : float, default 0.95
        Level of the percentile intervals.
    methods : tuple of str
        Reference models (default HSA, Bliss, Loewe, ZIP).

    Returns
    -------
    list of Result
        ``lab.synergy.summary`` (rows ``row | col | method``: ``synergy_score,
        boot_lower, boot_upper, most_synergistic_cell, most_synergistic_area_3x3, n_cells,
        n_boot``) and ``lab.synergy.cells`` (per dose cell: ``inhibition`` and one score
        column per method).

    Raises
    ------
    ValueError
        Unknown ``response_type``; a matrix without dose 0 of an agent.

    References
    ----------
    Ianevski A, et al. Bioinformatics 2017;33:2413-2415 (SynergyFinder). Bliss CI. Ann Appl
    Biol 1939;26:585-615.

    Examples
    --------
    The 2 × 2 matrix of :func:`synergy_scores` in duplicate; as viability the same scores:

    >>> df = pd.DataFrame({"dose_row": [0, 0, 1, 1] * 2, "dose_col": [0, 1, 0, 1] * 2,
    ...                    "response": [0, 20, 30, 60] * 2})
    >>> s = synergy_results(df, methods=("HSA", "Bliss"), n_boot=20)[0].table
    >>> s[["method", "synergy_score", "boot_lower", "n_cells"]].values.tolist()
    [['HSA', 30.0, 30.0, 1], ['Bliss', 16.0, 16.0, 1]]
    >>> v = df.assign(response=100 - df["response"])
    >>> r = synergy_results(v, "viability", n_boot=0, methods=("Bliss",))
    >>> r[0].table["synergy_score"].tolist()
    [16.0]
    """
    d = _to_inhibition(df, response_type)
    if "drug_row" not in d:
        d["drug_row"] = "row agent"
    if "drug_col" not in d:
        d["drug_col"] = "column agent"
    cells, summ, warns = [], [], []
    for (a, b), sub in d.groupby(["drug_row", "drug_col"], sort=False):
        x_row, x_col, y = _matrix(sub)
        if np.isnan(y).any():
            warns.append(f"{a} x {b}: incomplete matrix; scores not computed")
            continue
        sc = synergy_scores(x_row, x_col, y, methods)
        reps = sub.groupby(["dose_row", "dose_col"]).size()
        boot = _bootstrap_scores(sub, n_boot, seed, methods) if reps.min() >= 2 and n_boot else {}
        if not boot:
            warns.append(f"{a} x {b}: fewer than 2 replicates per cell; no bootstrap interval")
        s = _summary(sc)
        for m in methods:
            lo = hi = np.nan
            if boot:
                lo, hi = np.percentile(boot[m], [50 * (1 - conf), 50 * (1 + conf)])
            summ.append({"key": fmt_key(a, b, m), "drug_row": a, "drug_col": b, "method": m,
                         "synergy_score": s[m], "boot_lower": lo, "boot_upper": hi,
                         "most_synergistic_cell": float(sc[m][1:, 1:].max()),
                         "most_synergistic_area_3x3": _most_synergistic_area(sc[m]),
                         "n_cells": int((len(x_row) - 1) * (len(x_col) - 1)),
                         "n_boot": n_boot if boot else 0})
        for i, xr in enumerate(x_row):
            for j, xc in enumerate(x_col):
                row = {"key": fmt_key(a, b, f"{xr:g}", f"{xc:g}"), "drug_row": a,
                       "drug_col": b, "dose_row": xr, "dose_col": xc, "inhibition": y[i, j]}
                row.update({m: sc[m][i, j] for m in methods})
                cells.append(row)
    return [
        Result(name="lab.synergy.summary", title="Combination synergy scores",
               table=table(summ),
               method="Synergy = observed minus expected % inhibition, averaged over cells "
               "with both agents; expected by HSA, Bliss, Loewe and ZIP models; percentile "
               f"bootstrap {conf:.0%} intervals resampling replicates within cells "
               f"({n_boot} resamples, seed {seed}).",
               rationale="Reference models disagree by design; reporting all four with "
               "uncertainty prevents choosing the model that looks best. Scores > 10 are "
               "commonly read as likely synergy, < -10 as antagonism (SynergyFinder).",
               warnings=tuple(warns), references=REFS,
               params={"response_type": response_type, "n_boot": n_boot, "seed": seed,
                       "conf": conf}, section=SECTION),
        Result(name="lab.synergy.cells", title="Synergy scores per dose combination",
               table=table(cells), method="Per-cell observed minus expected % inhibition "
               "(percentage points); single-agent row/column are 0 by definition.",
               references=REFS, section=SECTION),
    ]


def plot_synergy(df: pd.DataFrame, response_type: str = "inhibition",
                 name: str = "lab.synergy.landscape",
                 methods: tuple[str, ...] = METHODS) -> list[Figure]:
    """One synergy landscape (heat map of per-cell scores) figure per combination.

    Parameters
    ----------
    df : DataFrame
        Tidy dose-matrix table as :func:`synergy_results` takes.
    response_type : {"inhibition", "viability"}, default "inhibition"
        Unit of ``response``.
    name : str, default "lab.synergy.landscape"
        Name of the first figure (later ones get ``.2``, ``.3`` ...).
    methods : tuple of str
        One panel per reference model.

    Returns
    -------
    list of matplotlib.figure.Figure
        One figure per drug pair; each panel titled ``"{method}: {summary score}"``.

    Examples
    --------
    >>> df = pd.DataFrame({"dose_row": [0, 0, 1, 1], "dose_col": [0, 1, 0, 1],
    ...                    "response": [0, 20, 30, 60]})
    >>> [ax.get_title() for ax in plot_synergy(df, methods=("HSA", "Bliss"))[0].axes[:2]]
    ['HSA: 30.0', 'Bliss: 16.0']
    """
    d = _to_inhibition(df, response_type)
    figs = []
    pairs = d.groupby(["drug_row", "drug_col"], sort=False) if "drug_row" in d else \
        [(("row agent", "column agent"), d)]
    for k, ((a, b), sub) in enumerate(pairs):
        x_row, x_col, y = _matrix(sub)
        sc = synergy_scores(x_row, x_col, y, methods)
        fig = new_figure(name if k == 0 else f"{name}.{k + 1}", width=4.0 * len(methods) + 1,
                         height=3.8)
        axes = fig.subplots(1, len(methods), squeeze=False)[0]
        lim = max(10.0, max(np.abs(v).max() for v in sc.values()))
        norm = TwoSlopeNorm(vcenter=0.0, vmin=-lim, vmax=lim)
        im = None
        for ax, m in zip(axes, methods, strict=True):
            im = ax.imshow(sc[m], origin="lower", cmap="RdBu_r", norm=norm, aspect="auto")
            ax.set_xticks(range(len(x_col)), [f"{v:g}" for v in x_col], rotation=45)
            ax.set_yticks(range(len(x_row)), [f"{v:g}" for v in x_row])
            ax.set_xlabel(str(b))
            ax.set_ylabel(str(a))
            ax.set_title(f"{m}: {sc[m][1:, 1:].mean():.1f}")
            for i in range(len(x_row)):
                for j in range(len(x_col)):
                    ax.text(j, i, f"{sc[m][i, j]:.0f}", ha="center", va="center", fontsize=6)
        fig.colorbar(im, ax=list(axes), label="synergy (pp)")
        figs.append(fig)
    return figs


__all__: list[str] = ["Hill", "plot_synergy", "synergy_results", "synergy_scores"]
