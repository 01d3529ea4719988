"""The calibration rounds' power condition, applied to two sets of check summaries.

Session 11's condition (benchmarks/sim_donor/README.md), kept in session 12: on the same
random stream and targets, every three-fold perturbation that the check rejects at the
shipped values must still be rejected at the candidate point, for seed 002's check alone
and for seeds 002 + 004 together; and the false positives of the candidate's 200 fresh
model-drawn studies must lie in the binomial(200, 0.05) 95 % range, 4-16. Session 12
applies it twice, on every target (``calibrate.TARGETS``) and on session 11's targets
(without ``DOSE_GROUP_TARGETS`` and ``TOP_GRADE_TARGETS``), and requires both: targets
that dilute the check cannot lower the bar (README, session 12). Both files are
``scripts/make_sim_check_summaries.py`` outputs on one stream (``--point`` for the
candidate). Prints every check's p as hits/101 at the shipped values and at the point,
each lost detection, the false-positive counts, and the verdict; exits 0 when the
condition holds, 1 when it does not (2 on bad usage).

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/power_condition.py SHIPPED.csv POINT.csv
"""

from __future__ import annotations

import sys

import pandas as pd

from remission.sim.calibrate import (
    DOSE_GROUP_TARGETS,
    TOP_GRADE_TARGETS,
    power_table_from_summaries,
)

#: the check sets the condition is applied to (session 11)
CHECK_SETS = (("002",), ("002", "004"))
#: binomial(200, 0.05) central 95 % range of the false-positive count
FP_RANGE = (4, 16)
#: target sets: label -> targets left out
TARGET_SETS = {"all targets": (),
               "session-11 targets": DOSE_GROUP_TARGETS + TOP_GRADE_TARGETS}


def condition(shipped: pd.DataFrame, point: pd.DataFrame,
              fp_range: tuple[int, int] = FP_RANGE) -> tuple[bool, list[str]]:
    """``(holds, report lines)`` for the two summaries (see the module docstring);
    ``fp_range`` is the accepted false-positive count (200 fresh trials: 4-16)."""
    lines, holds = [], True
    for (label_t, drop), studies in ((t, s) for t in TARGET_SETS.items()
                                     for s in CHECK_SETS):
        name = " + ".join(studies)
        lines.append(f"## {label_t}, seed(s) {name}")
        a = power_table_from_summaries(shipped.drop(columns=list(drop), errors="ignore"),
                                       studies)
        b = power_table_from_summaries(point.drop(columns=list(drop), errors="ignore"),
                                       studies)
        n = int(shipped[shipped["case"] == "shipped"].shape[0]) + 1
        key = ["parameter", "factor"]
        m = a.merge(b, on=key, suffixes=("_shipped", "_point"))
        for r in m.itertuples():
            lost = r.verdict_shipped == "fail" and r.verdict_point == "pass"
            holds &= not lost or r.parameter == "(shipped)"
            lines.append(f"{name:9s} {r.parameter:16s} x{r.factor:<4g} shipped "
                         f"{round(r.p_shipped * n):3d}/{n} {r.verdict_shipped:4s}  point "
                         f"{round(r.p_point * n):3d}/{n} {r.verdict_point:4s}"
                         + ("  LOST DETECTION" if lost and r.parameter != "(shipped)"
                            else ""))
        for label, t in (("shipped", a), ("point", b)):
            fp, total = t.attrs["false_positives"]
            ok = fp_range[0] <= fp <= fp_range[1]
            holds &= ok or label == "shipped"
            lines.append(f"{name:9s} false positives at the {label}: {fp}/{total}"
                         + ("" if ok else f"  OUTSIDE {fp_range[0]}-{fp_range[1]}"))
    lines.append("power condition HOLDS" if holds else "power condition FAILS")
    return holds, lines


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if len(paths) != 2:
        print("usage: power_condition.py SHIPPED.csv POINT.csv", file=sys.stderr)
        return 2
    shipped, point = (pd.read_csv(p, comment="#") for p in paths)
    holds, lines = condition(shipped, point)
    print(f"# shipped {paths[0]}\n# point   {paths[1]}")
    print("\n".join(lines))
    return 0 if holds else 1


if __name__ == "__main__":
    raise SystemExit(main())
