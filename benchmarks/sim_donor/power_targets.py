"""The check's power with and without the targets added in session 12.

For each ``scripts/make_sim_check_summaries.py --all-seeds`` CSV given, prints one row
per case (the point, each three-fold perturbation) and one column per check: seed 002
alone and seeds 002 + 004, each on the session-11 targets ("s11"), with seed 002's
dose-group targets (``calibrate.DOSE_GROUP_TARGETS``, "+dose"), with the top toxicity
levels (``calibrate.TOP_GRADE_TARGETS``: CRS grade 4 of seeds 002 and 004, ICANS grade
>= 3 of seed 002; "+top") and with both ("+both"); and every seed together with both.
Entries are p as hits/101, with FAIL where the check rejects (the perturbation is
caught); the last row is the false-positive count of the ``fresh`` trials (each checked
as if it were the published study against the point's trials; binomial(200, 0.05) 95 %
range 4-16). Exit 0 (a report; the decisions are the README's rules).

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/power_targets.py \
        benchmarks/sim_donor/cal3_fitpower_shipped_stream6.csv ...
"""

from __future__ import annotations

import sys

import pandas as pd

from remission.report.markdown import markdown_table
from remission.sim.calibrate import (
    DOSE_GROUP_TARGETS,
    TOP_GRADE_TARGETS,
    power_table_from_summaries,
)

#: target sets: label -> the added targets left out
SETS = {"s11": DOSE_GROUP_TARGETS + TOP_GRADE_TARGETS, "+dose": TOP_GRADE_TARGETS,
        "+top": DOSE_GROUP_TARGETS, "+both": ()}
#: (column label, studies, target set)
CHECKS = (*((f"{' + '.join(st)} {k}", st, k) for st in (("002",), ("002", "004"))
            for k in SETS),
          ("all four +both", ("000", "002", "003", "004"), "+both"))


def power_columns(summaries: pd.DataFrame) -> pd.DataFrame:
    """Rows = cases (and ``false positives``), columns = :data:`CHECKS`."""
    out = {}
    for label, studies, kind in CHECKS:
        df = summaries.drop(columns=list(SETS[kind]), errors="ignore")
        if "003" in studies:  # every seed: the cases that simulated every seed
            df = df.dropna(axis=0, how="any", subset=[c for c in df.columns
                                                      if c.startswith("000.")])
        t = power_table_from_summaries(df, studies)
        n = df[df["case"] != "fresh"].groupby("case").size().iloc[0] + 1
        col = {("shipped" if r.parameter == "(shipped)" else f"{r.parameter} x{r.factor:g}"):
               f"{round(r.p * n)}/{n}{' FAIL' if r.verdict == 'fail' else ''}"
               for r in t.itertuples()}
        if "false_positives" in t.attrs:
            fp, m = t.attrs["false_positives"]
            col["false positives"] = f"{fp}/{m}"
        out[label] = col
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: power_targets.py SUMMARIES.csv [...]", file=sys.stderr)
        return 2
    for path in paths:
        print(f"# {path}")
        print(markdown_table(power_columns(pd.read_csv(path, comment="#"))))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
