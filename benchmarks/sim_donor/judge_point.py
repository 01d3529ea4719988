"""Judge one screened point ONCE on a check stream: each seed's own predictive check.

Session 10 (benchmarks/sim_donor/README.md, "Session 10"): the point chosen by the
rule fixed beforehand is judged, beside the shipped values, on the committed check
stream 2 (trials 0-99, the trials of ``tests/data/sim_check_summaries.csv``) and on the
fresh stream 13. Prints, per case and seed, p as hits/101, pass/FAIL, the worst
target's z and every target's mean; exits 1 when the point fails any seed, so the
command itself says whether the point may be shipped (the power checks are separate).

Run (about 4-6 min per stream niced on a loaded 2-core machine):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_donor/judge_point.py --stream 2 \
        --point car_neg_kill_fraction=0.2 car_allo_recognition=0.3 ...
"""

from __future__ import annotations

import argparse

from remission.sim.calibrate import check_summaries, particle_targets
from remission.sim.params import candidate_point

STUDIES = ("000", "002", "003", "004")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="judge_point.py")
    ap.add_argument("--stream", type=int, required=True)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--point", nargs="+", required=True, metavar="NAME=VALUE")
    ap.add_argument("--no-shipped", action="store_true",
                    help="skip the shipped values' rows")
    a = ap.parse_args(argv)
    try:  # CAR-NK IL-6 (il6_car x nk_il6_factor) kept as shipped
        point = candidate_point(a.point)
    except ValueError as e:
        ap.error(str(e))
    print(f"# stream {a.stream}, trials 0-{a.trials - 1} per seed; point {point}")
    cases = ([] if a.no_shipped else [("shipped", {})]) + [("point", point)]
    failed = False
    for name, theta in cases:
        for study in STUDIES:
            x = particle_targets([theta] * a.trials, (study,), seed=a.stream)
            r = check_summaries(x)
            worst = r.table["z"].abs().idxmax()
            hits = round(r.p_value * (a.trials + 1))
            print(f"{name:8s} {study}: p {hits}/{a.trials + 1} "
                  f"{'pass' if r.passed else 'FAIL'}; worst {worst} "
                  f"z {r.table.loc[worst, 'z']:+.2f}; means "
                  + ", ".join(f"{k.split('.', 1)[1]} {v:.3f}" for k, v in x.mean().items()),
                  flush=True)
            failed |= name == "point" and not r.passed
    print("point FAILS at least one seed" if failed else "point passes every seed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
