"""The best screened donor-term point, judged ONCE on the check stream (2), after the
decision not to ship it (docs/simulation.md, "Donor-derived CAR-T after transplant").

The point was chosen on screening stream 6 (``screen_stream6_b.txt``: seed 002 p 0.066,
its best) and failed seed 002 on screening stream 7 (p 1/101). Here each seed's own
check at that point on the 100 trials of stream 2 that the committed check summaries
use (trials 0-99; ``tests/data/sim_check_summaries.csv`` holds the shipped values'
trials), beside the shipped values. Nothing was tuned on this output.

Run (about 2 min niced):
    PYTHONPATH=src nice -n 10 python benchmarks/sim_donor/judge_candidate.py \
        > benchmarks/sim_donor/judge_candidate.txt
"""

from __future__ import annotations

from remission.sim.calibrate import check_summaries, particle_targets
from remission.sim.params import candidate_point

# CAR-NK IL-6 (il6_car x nk_il6_factor) kept as shipped
CANDIDATE = candidate_point({"car_neg_kill_fraction": 0.2, "car_allo_recognition": 0.3,
                             "car_expansion": 0.8, "il6_car": 60.0,
                             "car_resting_fraction": 0.85, "car_memory_reactivation": 0.15})


def main() -> int:
    print("# stream 2, trials 0-99 per seed; candidate", CANDIDATE)
    for name, theta in (("shipped", {}), ("candidate", CANDIDATE)):
        for study in ("000", "002", "003", "004"):
            x = particle_targets([theta] * 100, (study,), seed=2)
            r = check_summaries(x)
            worst = r.table["z"].abs().idxmax()
            print(f"{name:9s} {study}: p {round(r.p_value * 101)}/101 "
                  f"{'pass' if r.passed else 'FAIL'}; worst {worst} "
                  f"z {r.table.loc[worst, 'z']:+.2f}; means "
                  + ", ".join(f"{k.split('.', 1)[1]} {v:.3f}" for k, v in x.mean().items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
