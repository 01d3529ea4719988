"""Venetoclax-effect predictions of seed 000 with parameter uncertainty (issue 14).

For each of ``--draws`` posterior draws (particles of an ABC-SMC fit resampled by
weight, ``remission.sim.abc``) the seed-000 design (7-day venetoclax lead-in + Flu/Cy +
CLL1 CAR-T vs Flu/Cy + CAR-T, 180 days) is simulated with ``--n-per-arm`` virtual
patients per arm on a random stream no fit used (``--stream``, default 31; patient i of
both arms is the same virtual person). Per draw: CR/PR (best response, ELN 2022 as the
engine derives it) by arm and the difference, overall survival at day 180 (no censoring
before day 180 in a simulated trial, so the Kaplan-Meier estimate is the share alive)
and the restricted mean survival time to day 180 (RMST) by arm and the difference. The
table gives the median and the 2.5 / 97.5 % quantiles (R type 7) over draws: with
``--n-per-arm`` at the published size (33 / 30) they are predictive intervals of a
trial (parameter uncertainty + patient sampling); with a large ``--n-per-arm`` they are
mostly parameter uncertainty. ``--point`` adds the shipped point values (one large
trial).

Run (about 5-10 min niced on a loaded 2-core machine):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_abc/ven_effect.py \
        benchmarks/sim_abc/abc_fit_joint.json --draws 60 --n-per-arm 100 \
        --out benchmarks/sim_abc/ven_effect.md

Exit status 1 when a draw's simulated table is malformed (an arm missing or empty).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from remission.io.atomic import write_text
from remission.report.markdown import markdown_table
from remission.sim.calibrate import RESPONDERS, S000
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import simulate_chunk

FOLLOW_UP = 180


def draws_from_fit(path: Path, draws: int, seed: int = 0) -> list[dict[str, float]]:
    """Posterior particles of a fit's JSON, resampled by weight."""
    parts = json.loads(path.read_text())["particles"]
    w = np.array([q["weight"] for q in parts], float)
    pick = np.random.default_rng(seed).choice(len(parts), size=draws, p=w / w.sum())
    return [{k: float(v) for k, v in parts[i].items() if k not in ("weight", "distance")}
            for i in pick]


def simulate_sets(thetas: Sequence[Mapping[str, float]], n_per_arm: int, stream: int,
                  chunk: int = 2000) -> pd.DataFrame:
    """Patients of the seed-000 design, one copy of both arms per parameter set
    (``set`` column); set k uses patients ``k n .. (k + 1) n - 1`` of the stream."""
    base = load_design(DESIGN_DIR / S000)
    arms = tuple(dataclasses.replace(a, name=f"{k}|{a.name}", n=n_per_arm,
                                     parameters={**a.parameters, **dict(th)})
                 for k, th in enumerate(thetas) for a in base.arms)
    d = dataclasses.replace(base, arms=arms)
    segs = [(k * len(base.arms) + j, k * n_per_arm, (k + 1) * n_per_arm)
            for k in range(len(thetas)) for j in range(len(base.arms))]
    per = max(1, chunk // n_per_arm)
    frames = [simulate_chunk(d, segs[i:i + per], stream, observations=False)["patients"]
              for i in range(0, len(segs), per)]
    pts = pd.concat(frames, ignore_index=True)
    split = pts["arm"].str.split("|", n=1)
    return pts.assign(set=split.str[0].astype(int), arm=split.str[1])


def effect_per_set(pts: pd.DataFrame) -> pd.DataFrame:
    """Per parameter set: CR/PR, OS at day 180 and RMST(180) by arm and differences."""
    dead = pts["death_day"].notna() & (pts["death_day"] <= FOLLOW_UP)
    t = np.where(dead, pts["death_day"].fillna(FOLLOW_UP), FOLLOW_UP).clip(0, FOLLOW_UP)
    p = pts.assign(resp=pts["best_response"].isin(RESPONDERS).astype(float),
                   alive=(~dead).astype(float), t=t.astype(float))
    g = p.groupby(["set", "arm"])[["resp", "alive", "t"]].mean().unstack("arm")
    if g.isna().any().any() or set(g.columns.get_level_values(1)) != {"VEN", "noVEN"}:
        raise ValueError("an arm is missing from a simulated set")
    out = pd.DataFrame({
        "CR/PR VEN": g[("resp", "VEN")], "CR/PR noVEN": g[("resp", "noVEN")],
        "OS d180 VEN": g[("alive", "VEN")], "OS d180 noVEN": g[("alive", "noVEN")],
        "RMST180 VEN (days)": g[("t", "VEN")], "RMST180 noVEN (days)": g[("t", "noVEN")]})
    out["CR/PR difference"] = out["CR/PR VEN"] - out["CR/PR noVEN"]
    out["OS d180 difference"] = out["OS d180 VEN"] - out["OS d180 noVEN"]
    out["RMST180 difference (days)"] = out["RMST180 VEN (days)"] - out["RMST180 noVEN (days)"]
    return out


def summarise(per_set: pd.DataFrame) -> pd.DataFrame:
    """Median and 2.5 / 97.5 % quantiles (R type 7) over sets."""
    q = per_set.quantile([0.025, 0.5, 0.975]).T
    q.columns = ["low", "median", "high"]
    return q


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="ven_effect.py")
    ap.add_argument("fit", type=Path)
    ap.add_argument("--draws", type=int, default=60)
    ap.add_argument("--n-per-arm", type=int, default=100)
    ap.add_argument("--trial-size", action="store_true",
                    help="also one trial of the published size (33 / 30) per draw")
    ap.add_argument("--stream", type=int, default=31)
    ap.add_argument("--point", type=int, default=0,
                    help="patients per arm of one trial at the shipped point values")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    thetas = draws_from_fit(a.fit, a.draws)
    try:
        big = summarise(effect_per_set(simulate_sets(thetas, a.n_per_arm, a.stream)))
        lines = [f"# Venetoclax effect, seed-000 design, {FOLLOW_UP} days (SIMULATED)", "",
                 f"Made {dt.date.today().isoformat()} by `PYTHONPATH=src python "
                 f"benchmarks/sim_abc/ven_effect.py {' '.join(argv or sys.argv[1:])}` "
                 f"(stream {a.stream}).", "",
                 f"## {a.draws} posterior draws of `{a.fit}`, {a.n_per_arm} patients per "
                 "arm each (parameter uncertainty + sampling of that many patients)", "",
                 markdown_table(big), ""]
        if a.trial_size:
            base = load_design(DESIGN_DIR / S000)
            sizes = {arm.name: arm.n for arm in base.arms}
            # a trial of the published size: 33 VEN and 30 noVEN from one set of 33
            pts = simulate_sets(thetas, max(sizes.values()), a.stream + 1)
            idx = pts["patient_id"].str.rsplit("-", n=1).str[1].astype(int)
            within = (idx - 1) % max(sizes.values())
            pts = pts[within < pts["arm"].map(sizes)]
            small = summarise(effect_per_set(pts))
            lines += [f"## The same draws, one trial of the published size (33 / 30) each "
                      f"(stream {a.stream + 1}): predictive intervals of a trial", "",
                      markdown_table(small), ""]
        if a.point:
            pt = effect_per_set(simulate_sets([{}], a.point, a.stream + 2)).iloc[0]
            lines += [f"## Shipped point values, one trial of {a.point} per arm "
                      f"(stream {a.stream + 2}; sampling only)", "",
                      markdown_table(pt.to_frame("value")), ""]
    except ValueError as e:
        print(f"ven_effect.py: {e}", file=sys.stderr)
        return 1
    lines.append(f"Wall time {time.perf_counter() - t0:.0f} s.")
    text = "\n".join(lines) + "\n"
    if a.out:
        write_text(a.out, text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
