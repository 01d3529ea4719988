"""Benchmark the renderers alone: cold ``write_report`` (fresh interpreter) by study size.

Run: ``.venv/bin/python benchmarks/bench_report_render.py`` (12, 60, 1,000 and 10,000
patients, best of 3 cold runs; 10,000 once) or ``--quick`` (12 and 200, once) for a smoke
run. Each case runs in a fresh Python process that imports remission, builds a typical
bundle (response, grade and per-patient listing Results; response, CRS, neurotoxicity and
lane-chart figures) and writes the three files. The baseline, measured in the same run, is
a cold ``import remission.results`` (Python + numpy + pandas start-up), the floor any
command pays; "render" subtracts it. The end-to-end CLI benchmark is bench_report.py.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CASE = r"""
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
import numpy as np
import pandas as pd
from remission.report import FigureItem, ReportBundle, StudyInfo, write_report
from remission.results import Result, ResultSet
from remission.plot import grade_by_group, lane_chart, response_by_group
from tests.test_plot_figures import cll1_adsl, synthetic_adsl

n = {n}
adsl = cll1_adsl() if n == 12 else synthetic_adsl(n)
g = adsl.groupby("COHORT")
resp = pd.DataFrame({{"n": g["BOR"].apply(lambda s: int(s.isin(["MRD-CR", "MRD+CR", "PR"]).sum())),
                     "N": g.size()}})
resp["prop"] = resp["n"] / resp["N"]
resp["ci_lo"], resp["ci_hi"] = resp["prop"] * 0.8, np.minimum(resp["prop"] * 1.2, 1)
crs = pd.crosstab(adsl["COHORT"], adsl["CRSGR"])
crs.columns = [f"grade {{c}}" for c in crs.columns]
listing = adsl.set_index("USUBJID")[["COHORT", "BOR", "CRSGR", "NTXGR", "TRANSFL", "DTHFL"]]
results = ResultSet([
    Result("response.orr", "Overall response", resp, method="Clopper-Pearson.",
           params={{"conf_level": 0.95}}, section="efficacy"),
    Result("safety.crs", "CRS grade", crs, method="Counts.", section="safety"),
    Result("baseline.listing", "Patient listing", listing, method="Listing.",
           section="baseline"),
])
figs = [
    FigureItem("f1", "Response", "", "efficacy", response_by_group(adsl)),
    FigureItem("f2", "CRS", "", "safety", grade_by_group(adsl, "CRSGR")),
    FigureItem("f3", "Neurotoxicity", "", "safety", grade_by_group(adsl, "NTXGR")),
    FigureItem("f4", "Lanes", "", "efficacy", lane_chart(adsl)),
]
study = StudyInfo(name="bench", disease="AML", products=("CAR-T",), day0="infusion",
                  n_patients=n, synthetic=True)
paths = write_report(ReportBundle(study, results, figs, {{"remission": "0.1.0"}}), Path({out!r}))
print(sum(p.stat().st_size for p in paths.values()))
"""


def _cold(code: str, repeat: int = 1) -> tuple[float, str]:
    """Best wall time of ``repeat`` fresh interpreters running ``code`` (and its stdout)."""
    best, out = float("inf"), ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=ROOT, timeout=600)
        dt = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        best, out = min(best, dt), proc.stdout.strip()
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="12 and 200 patients, one run each")
    ap.add_argument("--repeat", type=int, default=3, help="best of N cold runs per case")
    args = ap.parse_args()
    sizes = [12, 200] if args.quick else [12, 60, 1000, 10000]
    rep = 1 if args.quick else max(1, args.repeat)
    base, _ = _cold("import remission.results", rep)
    rows = [("cold import remission.results (baseline)", "-", base, "-")]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            code = _CASE.format(root=str(ROOT), n=n, out=str(Path(tmp) / f"r{n}"))
            dt, size = _cold(code, rep if n <= 1000 else 1)
            rows.append((f"cold write_report, {n} patients", n, dt, size))
    print(f"best of {rep} cold runs (10,000 patients: 1)")
    print(f"{'case':<42} {'n':>6} {'total s':>8} {'render s':>8} {'x baseline':>10} "
          f"{'bytes':>9}")
    for name, n, dt, size in rows:
        print(f"{name:<42} {n!s:>6} {dt:8.2f} {dt - base:8.2f} {dt / base:10.1f} {size!s:>9}")


if __name__ == "__main__":
    main()
