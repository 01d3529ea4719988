"""HMA and venetoclax calibration check at a larger size, on random streams the fits
never saw.

``hma_kill`` and ``hma_kill_cv`` (the patient-level HMA sensitivity) were fitted on
seed-0 streams (400 per arm, fit_hma_sensitivity.py) and ``ven_tolerance`` on seed-0
streams (300 per arm). This script simulates the VIALE-A-like design
(tests/data/sim/viale_a_like.toml) on other seeds and compares composite CR
(CR/CRh/CRi) with the exact 95 % intervals of VIALE-A's counts (azacitidine 41/145,
azacitidine + venetoclax 190/286) and the median first-response day of each arm with the
assessment day nearest VIALE-A's median (aza + ven 1.3 months -> day 28; aza alone 2.8
months -> day 84). It then repeats with the HMA effect scaled by 0.3 and 3, with the
between-patient spread of the HMA kill removed (``hma_kill_cv`` 0, the former model),
and with the venetoclax tolerance exponent scaled by 0 (the former model) and 2: each
must fail (a rate outside its interval or a median on another marrow). Exit status 1
when the unperturbed check fails or a perturbed one passes.

    PYTHONPATH=src python benchmarks/sim_hma/calibrate_hma.py            # n 300, seeds 1 2
    PYTHONPATH=src python benchmarks/sim_hma/calibrate_hma.py --n 1000 --seeds 7
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path

from remission.sim.design import load_design
from remission.sim.hma import check_targets
from remission.sim.params import PARAMETERS

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "tests" / "data" / "sim" / "viale_a_like.toml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=300, help="patients per arm (default 300)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_suffix(".md"))
    a = ap.parse_args(argv)
    design = load_design(DESIGN)
    lines = [f"# HMA calibration check ({dt.date.today().isoformat()})", "",
             f"Command: `PYTHONPATH=src python benchmarks/sim_hma/calibrate_hma.py --n {a.n} "
             f"--seeds {' '.join(map(str, a.seeds))}`", "",
             "| seed | perturbation | arm | n | composite CR | published | 95 % CI | inside "
             "| first CR day (median) | target day |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    failures = []
    t0 = time.perf_counter()
    g = PARAMETERS["ven_tolerance"].value
    cases = [("none", 1.0, {}, None), ("hma_kill x 0.3", 0.3, {}, ("aza", "aza+ven")),
             ("hma_kill x 3", 3.0, {}, ("aza", "aza+ven")),
             ("hma_kill_cv x 0", 1.0, {"hma_kill_cv": 0.0}, ("aza",)),
             ("ven_tolerance x 0", 1.0, {"ven_tolerance": 0.0}, ("aza+ven",)),
             ("ven_tolerance x 2", 1.0, {"ven_tolerance": 2.0 * g}, ("aza+ven",))]
    for seed in a.seeds:
        for label, scale, over, arms in cases:
            d = design if not over else dataclasses.replace(
                design, parameters={**design.parameters, **over})
            t = check_targets(d, n=a.n, seed=seed, hma_scale=scale, arms=arms)
            for arm, r in t.iterrows():
                pub = "" if arm == "untreated" else f"{r['target']:.1%}"
                ci = "" if arm == "untreated" else f"{r['lo']:.1%}-{r['hi']:.1%}"
                ins = "" if arm == "untreated" else ("yes" if r["inside"] else "no")
                tgt = r.get("first_response_target_day")
                first = r["first_response_day"]
                lines.append(f"| {seed} | {label} | {arm} | {int(r['n'])} | "
                             f"{r['rate']:.1%} ({int(r['responders'])}) | {pub} | {ci} | "
                             f"{ins} | {'' if first != first else int(first)} | "
                             f"{'' if tgt is None or tgt != tgt else int(tgt)} |")
            target_arms = [x for x in ("aza", "aza+ven") if x in t.index]
            rates_ok = bool(t.loc[target_arms, "inside"].all())
            timing_ok = bool(t.loc[target_arms, "timing_ok"].all())
            if label == "none":
                if not rates_ok:
                    failures.append(f"seed {seed}: outside a published interval")
                if not timing_ok:
                    failures.append(f"seed {seed}: a median first response is not on "
                                    "the published median's assessment day")
                if t.loc["untreated", "responders"] != 0:
                    failures.append(f"seed {seed}: untreated patients responded")
            elif rates_ok and timing_ok:
                failures.append(f"seed {seed}: check passed with {label}")
    lines += ["", f"Wall time {time.perf_counter() - t0:.0f} s. "
              + ("All checks as expected." if not failures else "FAILED: " + "; ".join(failures))]
    text = "\n".join(lines) + "\n"
    a.out.write_text(text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
