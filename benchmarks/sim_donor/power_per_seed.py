"""Each seed's own predictive check in every case of committed check summaries.

For every case of a ``scripts/make_sim_check_summaries.py`` CSV (the point, each
three-fold perturbation; not ``fresh``), prints each seed's p as hits/101 and FAIL when
the check rejects; ``-`` when the case has no trials of that seed. Session 11 used it to
ask whether any seed alone detects a perturbation (benchmarks/sim_donor/README.md).

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/power_per_seed.py \
        benchmarks/sim_donor/cal_candidate_summaries.csv tests/data/sim_check_summaries.csv
"""

from __future__ import annotations

import sys

import pandas as pd

from remission.sim.calibrate import check_summaries

STUDIES = ("000", "002", "003", "004")


def per_seed(summaries: pd.DataFrame) -> list[str]:
    """One line per case: each seed's hits of R + 1 and its verdict."""
    lines = []
    for case, g in summaries.groupby("case", sort=False):
        if case == "fresh":
            continue
        out = []
        for study in STUDIES:
            cols = [c for c in g.columns if c.startswith(f"{study}.")]
            if not cols or g[cols].isna().all().all():
                out.append(f"{study} -")
                continue
            r = check_summaries(g[cols])
            hits = round(r.p_value * (r.replicates + 1))
            out.append(f"{study} {hits}/{r.replicates + 1}{'' if r.passed else ' FAIL'}")
        lines.append(f"{case:22s} " + "; ".join(out))
    return lines


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: power_per_seed.py SUMMARIES.csv [...]", file=sys.stderr)
        return 2
    for path in paths:
        print(f"# {path}")
        print("\n".join(per_seed(pd.read_csv(path, comment="#"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
