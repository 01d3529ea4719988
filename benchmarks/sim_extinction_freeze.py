"""Where the solver's extinction rule freezes an extinct leukaemia (a measurement).

``remission.sim.kernel.advance`` applies the one-cell extinction rule at the end of each
accepted step: once a step ends with fewer than one leukaemic cell in the marrow
(``(exp(y0) + exp(y1)) * marrow_capacity_cells < 1``), both leukaemia states stop changing
(their derivatives are multiplied by 0). The frozen value is therefore the state at that
step's end, somewhere below one cell, and it depends on the step sequence (tolerance,
dose days, transfusion restarts). This script measures it on one arm of a shipped design:
the frozen cells of every extinct patient at the default tolerance, the same patients at a
10-fold tighter ``rtol`` (another step sequence), and the largest change of every other
state at the last day (extinct and never-extinct patients), so the documented figures
(docs/simulation.md, *Extinction*) can be re-made.

Checks (exit 1 when one fails): every extinct patient's frozen leukaemia is below one
cell, positive, and constant from the first day after its freeze onwards.

Run: ``PYTHONPATH=src python benchmarks/sim_extinction_freeze.py [--n 300] [--seed 0]
[--design seed000_ven_leadin_cll1_cart.toml] [--arm 0]`` (~20 s).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.params import typical
from remission.sim.population import build_patients
from remission.sim.solver import ATOL, RTOL, _integrate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--design", default="seed000_ven_leadin_cll1_cart.toml")
    ap.add_argument("--arm", type=int, default=0)
    a = ap.parse_args(argv)
    d = load_design(DESIGN_DIR / a.design)
    arm = d.arms[a.arm]
    _, p = build_patients(a.seed, np.arange(a.n), {**d.population, **arm.population},
                          typical({**d.parameters, **arm.parameters}), arm.product, d.antigen)
    cap = np.asarray(p["marrow_capacity_cells"], float)
    runs = {}
    for name, rtol in (("default", RTOL), ("tight", RTOL / 10)):
        full = np.array(_integrate(p, arm.schedule, None, True, rtol=rtol, atol=ATOL))
        runs[name] = ((np.exp(full[:, 0]) + np.exp(full[:, 1])) * cap, full)
    cells, full = runs["default"]
    tcells, tfull = runs["tight"]
    ext = np.flatnonzero(cells[-1] < 1.0)
    print(f"{a.design} arm {arm.name}, {a.n} patients, seed {a.seed}, {cells.shape[0]} days: "
          f"{len(ext)} extinct at the default rtol {RTOL:g}")
    ok = True
    if len(ext):
        frozen = cells[-1, ext]
        print(f"  frozen leukaemia (cells): min {frozen.min():.3g}, median "
              f"{np.median(frozen):.3g}, max {frozen.max():.3g}")
        both = ext[tcells[-1, ext] < 1.0]
        ratio = np.abs(np.log(cells[-1, both] / tcells[-1, both]))
        print(f"  the same {len(both)} patients at rtol {RTOL / 10:g}: frozen value changes by a "
              f"median factor {np.exp(np.median(ratio)):.3f}, at most {np.exp(ratio.max()):.3f}")
        for i in ext:  # constant after the freeze: from the day after the last change
            c = cells[:, i]
            moving = np.flatnonzero(np.diff(np.log(c)) != 0.0)
            after = c[moving[-1] + 1:] if len(moving) else c
            good = 0.0 < c[-1] < 1.0 and len(after) >= 2 and bool(np.all(after == c[-1]))
            if not good:
                ok = False
                print(f"  FAIL patient {i}: leukaemia {c[-5:]} cells at the last 5 days")
        never = np.setdiff1d(np.arange(a.n), np.flatnonzero((cells < 1.0).any(axis=0)
                                                            | (tcells < 1.0).any(axis=0)))
        other = np.abs(full[-1, 2:19] - tfull[-1, 2:19]) / np.maximum(
            np.abs(tfull[-1, 2:19]), 1e-12)
        print(f"  other 17 states at the last day, default vs tight rtol, largest relative "
              f"change: extinct {other[:, both].max():.3g}, never extinct "
              f"{other[:, never].max():.3g}")
    print("ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
