"""Design sweeps: grids over venetoclax lead-in length, cell dose and antigen-negative share.

Every grid point becomes an arm of one design (validated like any design) and all are
simulated in one state array with common random numbers: grid point ``k`` and ``k'``
see the same virtual patients, so differences between points are treatment effects,
not sampling noise. The tidy table has one row per grid point with rates and Wilson
score 95 % intervals (Wilson, JASA 1927;22:209; = R ``prop.test(correct = FALSE)``).
"""

from __future__ import annotations

import copy
import io
import itertools
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ProblemLog
from ..io.atomic import write_bytes
from ..results import Result
from ..stats.proportions import wilson
from .calibrate import COMPLETE, RESPONDERS
from .design import Design, parse_design


def _start_of_treatment(arm: dict[str, Any]) -> int:
    """First day of lymphodepletion, else of the effector (where a lead-in must end)."""
    days = []
    for c in arm["component"]:
        if c.get("type") == "lymphodepletion":
            days.extend(c["days"])
    if not days:
        for c in arm["component"]:
            days.extend(c.get("infusion_days", []))
            days.extend(s["start_day"] for s in c.get("steps", []))
    return min(days) if days else 0


def grid_design(raw: dict[str, Any], arm_name: str, lead_in_days: Sequence[int],
                dose_per_kg: Sequence[float | None], antigen_negative_pct: Sequence[float],
                n: int, ven_dose_mg: float = 400.0, source: str = "sweep"
                ) -> tuple[Design, list[tuple[int, float | None, float]]]:
    """A design whose arms are the grid points built from arm ``arm_name`` of ``raw``.

    Each grid point is a copy of the base arm: its venetoclax replaced by ``lead`` days
    of ``ven_dose_mg`` ending the day before lymphodepletion (none when ``lead`` is 0),
    its CAR dose set to ``dose`` (None keeps the arm's), its antigen-positive share fixed
    at ``100 - neg`` %, and ``n`` patients.

    Parameters
    ----------
    raw : dict
        A parsed design TOML (not validated yet).
    arm_name : str
        The arm the grid is built from.
    lead_in_days : sequence of int
        Venetoclax lead-in lengths (days, >= 0).
    dose_per_kg : sequence of float or None
        CAR cells/kg; None keeps the arm's dose.
    antigen_negative_pct : sequence of float
        Antigen-negative blasts at baseline (%).
    n : int
        Virtual patients per grid point.
    ven_dose_mg : float, default 400.0
        Daily venetoclax dose of the lead-in (mg).
    source : str, default "sweep"
        Name used in error messages.

    Returns
    -------
    tuple
        ``(design, keys)``: the validated :class:`Design` with one arm per grid point
        (named ``lead=L|dose=D|neg=N``) and the ``(lead, dose, neg)`` of each arm, in
        ``itertools.product`` order.

    Raises
    ------
    remission.errors.InputError
        When ``arm_name`` is not an arm of ``raw`` or the grid design is invalid.

    Examples
    --------
    >>> import tomllib
    >>> from remission.sim.design import DESIGN_DIR
    >>> raw = tomllib.loads((DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml").read_text())

    Seed 000's lymphodepletion starts on day -5, so a 7-day lead-in runs days -12 to -6:

    >>> d, keys = grid_design(raw, "VEN", [0, 7], [None], [10.0], n=2)
    >>> [a.name for a in d.arms], keys
    (['lead=0|dose=base|neg=10', 'lead=7|dose=base|neg=10'], [(0, None, 10.0), (7, None, 10.0)])
    >>> [c for c in d.arms[1].components if c["type"] == "venetoclax"][0]["start_day"]
    -12
    """
    base = next((a for a in raw.get("arm", []) if a.get("name") == arm_name), None)
    if base is None:
        log = ProblemLog()
        log.add(source, "no such arm", column="arm", value=arm_name,
                expected=f"one of {[a.get('name') for a in raw.get('arm', [])]}")
        log.raise_if_any()
    end = _start_of_treatment(base)
    arms, keys = [], []
    for lead, dose, neg in itertools.product(lead_in_days, dose_per_kg, antigen_negative_pct):
        arm = copy.deepcopy(base)
        arm["component"] = [c for c in arm["component"] if c["type"] != "venetoclax"]
        if lead > 0:
            arm["component"].insert(0, {"type": "venetoclax", "dose_mg": ven_dose_mg,
                                        "start_day": end - lead, "days": lead})
        if dose is not None:
            for c in arm["component"]:
                if c["type"] in ("car_t", "car_nk"):
                    c.pop("dose_cells", None)
                    c["dose_per_kg"] = float(dose)
        arm["population"] = {**arm.get("population", {}), "antigen_positive_pct": {
            "dist": "fixed", "value": 100.0 - float(neg)}}
        key = f"lead={lead}|dose={'base' if dose is None else f'{dose:g}'}|neg={neg:g}"
        arm["name"] = key
        arm["n"] = n
        arms.append(arm)
        keys.append((lead, dose, neg))
    data = {**copy.deepcopy(raw), "arm": arms}
    return parse_design(data, source), keys


def sweep(design_path: str | Path, arm: str, lead_in_days: Sequence[int] = (0, 3, 7, 10, 14),
          dose_per_kg: Sequence[float | None] = (None,),
          antigen_negative_pct: Sequence[float] = (5.0, 15.0, 30.0), n: int = 200,
          seed: int = 0, workers: int | None = 0) -> Result:
    """Simulate the grid and return a tidy :class:`Result` (one row per grid point).

    Parameters
    ----------
    design_path : str or Path
        A design TOML file.
    arm : str
        The arm the grid is built from (:func:`grid_design`).
    lead_in_days : sequence of int, default (0, 3, 7, 10, 14)
        Venetoclax lead-in lengths (days).
    dose_per_kg : sequence of float or None, default (None,)
        CAR cells/kg; None keeps the arm's dose.
    antigen_negative_pct : sequence of float, default (5.0, 15.0, 30.0)
        Antigen-negative blasts at baseline (%).
    n : int, default 200
        Virtual patients per grid point.
    seed : int, default 0
        Random stream of the virtual patients.
    workers : int or None, default 0
        As :func:`remission.sim.trial.run_trial` (0: in this process).

    Returns
    -------
    Result
        ``simulation.sweep``, one row per grid point (index ``grid_point``):
        ``lead_in_days``, ``car_dose_per_kg`` (NaN: the arm's), ``antigen_negative_pct``,
        ``n``, ``response_rate`` (best response CR/CRh/CRi/MLFS/PR, by the study's
        response system) with its Wilson 95 % ``response_low``/``response_high``,
        ``cr_rate_at_response_day``, ``crs_ge3_rate`` (among patients evaluable for
        CRS: not those who died before the infusion), ``g4_neutropenia_rate``,
        ``median_anc_nadir`` (10^9/L) and ``death_rate``.

    Raises
    ------
    FileNotFoundError
        When ``design_path`` does not exist.
    remission.errors.InputError
        As :func:`grid_design`.

    References
    ----------
    Wilson EB. JASA 1927;22:209-12 (via :func:`remission.stats.proportions.wilson`).

    Examples
    --------
    >>> from remission.sim.design import DESIGN_DIR
    >>> from remission.stats.proportions import wilson
    >>> r = sweep(DESIGN_DIR / "seed000_ven_leadin_cll1_cart.toml", "VEN", lead_in_days=(7,),
    ...           antigen_negative_pct=(10.0,), n=2)
    >>> row = r.table.iloc[0]
    >>> r.table.shape, int(row["n"])
    ((1, 12), 2)
    >>> x = round(row["response_rate"] * 2)
    >>> (row["response_low"], row["response_high"]) == wilson(x, 2)
    True
    """
    from .trial import run_trial

    path = Path(design_path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    design, keys = grid_design(raw, arm, lead_in_days, dose_per_kg, antigen_negative_pct, n,
                               source=str(path))
    res = run_trial(design, seed=seed, workers=workers, observations=False)
    pts = res.patients
    rows = []
    for a, (lead, dose, neg) in zip(design.arms, keys, strict=True):
        g = pts[pts["arm"] == a.name]
        m = len(g)
        resp = int(g["best_response"].isin(RESPONDERS).sum())
        cr = int(g["response_at_day"].isin(COMPLETE).sum())
        lo, hi = wilson(resp, m)
        rows.append({
            "grid_point": a.name, "lead_in_days": lead,
            "car_dose_per_kg": np.nan if dose is None else dose,
            "antigen_negative_pct": neg, "n": m,
            "response_rate": resp / m, "response_low": lo, "response_high": hi,
            "cr_rate_at_response_day": cr / m,
            # among patients evaluable for CRS (a missing grade: died before the infusion)
            "crs_ge3_rate": float((g["crs_grade"].dropna() >= 3).mean()),
            "g4_neutropenia_rate": float((g["neutropenia_grade"] >= 4).mean()),
            "median_anc_nadir": float(g["anc_nadir"].median()),
            "death_rate": float(g["death_day"].notna().mean()),
        })
    table = pd.DataFrame(rows).set_index("grid_point")
    return Result(
        name="simulation.sweep",
        title=f"Sweep of {arm!r} ({path.name}): response vs lead-in, dose, antigen-negative share",
        table=table,
        method=(f"{n} virtual patients per grid point (common random numbers across points), "
                "best response over the design's assessments; Wilson score 95 % intervals."),
        rationale="Common random numbers isolate the effect of each design choice.",
        warnings=("SIMULATED: model outputs, not patient data; intervals cover virtual-patient "
                  "sampling only, not model or parameter uncertainty.",),
        references=("Wilson EB. JASA 1927;22:209", "docs/simulation.md"),
        params={"design": path.name, "arm": arm, "n": n, "seed": seed},
        section="simulation",
    )


def plot_sweep(result: Result, path: str | Path) -> Path:
    """Response probability vs lead-in days, one line per antigen-negative share (PNG).

    Parameters
    ----------
    result : Result
        A :func:`sweep` Result.
    path : str or Path
        Where to write the PNG (atomically; parent folders are created).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import os, tempfile
    >>> t = pd.DataFrame({"lead_in_days": [0, 7], "car_dose_per_kg": [np.nan, np.nan],
    ...                   "antigen_negative_pct": [10.0, 10.0], "response_rate": [0.5, 0.7],
    ...                   "response_low": [0.2, 0.4], "response_high": [0.8, 0.9]})
    >>> out = plot_sweep(Result("simulation.sweep", "x", t, "m"),
    ...                  os.path.join(tempfile.mkdtemp(), "sweep.png"))
    >>> out.read_bytes()[1:4]  # the PNG signature
    b'PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for (neg, dose), g in t.groupby(["antigen_negative_pct", "car_dose_per_kg"], dropna=False):
        g = g.sort_values("lead_in_days")
        label = f"{neg:g}% antigen-negative" + ("" if np.isnan(dose) else f", {dose:g}/kg")
        ax.plot(g["lead_in_days"], g["response_rate"], marker="o", label=label)
        ax.fill_between(g["lead_in_days"], g["response_low"], g["response_high"], alpha=0.15)
    ax.set_xlabel("venetoclax lead-in (days)")
    ax.set_ylabel("P(response)")
    ax.set_ylim(0, 1)
    ax.set_title("SIMULATED: " + result.title, fontsize=8)
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return write_bytes(path, buf.getvalue())
