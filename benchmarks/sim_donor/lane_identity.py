"""Is one patient's trajectory bit-identical alone and among kernel lanes, at a given
``antigen_density_cv``? (Session 11 finding, for the solver's owner; the kernel is
not changed here.)

The set-up is ``tests/test_sim_solver.py::test_a_patient_is_bit_identical_whatever_its_
neighbours_in_the_lanes`` (patients of stream 8, neighbours alternating between a CAR-T
and a CAR-NK schedule, the patient in lanes 0, 5, 8 and 13) with the density spread as
an argument: at the shipped 0.839 every position is identical; at 2.0 (the session-11
candidate) the patient differed from itself alone from day index 22 on, by ~1e-15
relative, until the kernel stopped reloading a patient at another schedule's dose day
(30 Nov 2026; the test is now parametrised with this case). Exits 1 on any difference.

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/lane_identity.py 0.839 2.0
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from remission.sim import kernel
from remission.sim.params import typical
from remission.sim.population import build_patients
from remission.sim.solver import Schedule, simulate_states

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from test_sim_solver import _schedule


def check(cv: float) -> list[str]:
    """One line per lane position of the patient: identical, or where it differs."""
    n = 3 * kernel.LANES
    s, nk = _schedule("cart", 45), _schedule("nk", 45)
    two = Schedule(s.first_day, s.last_day,
                   *(np.stack([getattr(s, k), getattr(nk, k)])
                     for k in ("ven_mg", "blin_ug_day", "fc_units", "car_per_kg",
                               "car_cells")), hma_units=None)
    _, p = build_patients(8, np.arange(n), {}, typical({"antigen_density_cv": cv}),
                          "car_t", "CLL1")
    p = {k: np.broadcast_to(np.asarray(v, float), (n,)).copy() for k, v in p.items()}
    arm = np.arange(n) % 2
    arm[[0, 5, 8, 13]] = 0
    for k in p:
        p[k][[5, 8, 13]] = p[k][0]
    p["car_density_hill"][1] = 2.5
    whole = simulate_states(p, two, arm, transfuse=True)
    alone = simulate_states({k: v[:1] for k, v in p.items()}, s, transfuse=True)[:, :, 0]
    lines = []
    for i in (0, 5, 8, 13):
        d = whole[:, :, i] - alone
        bad = np.argwhere(d != 0)
        if not len(bad):
            lines.append(f"cv {cv}: lane position {i}: identical")
            continue
        rel = np.max(np.abs(d) / np.maximum(np.abs(alone), 1e-300))
        lines.append(f"cv {cv}: lane position {i}: {len(bad)} entries differ, first "
                     f"(row, day index) {tuple(int(x) for x in bad[0])}, max relative {rel:.3g}")
    return lines


def main(argv: list[str] | None = None) -> int:
    cvs = [float(x) for x in (sys.argv[1:] if argv is None else argv)] or [0.839, 2.0]
    lines = [ln for cv in cvs for ln in check(cv)]
    print("\n".join(lines))
    return 1 if any("differ" in ln for ln in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
