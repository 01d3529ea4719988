"""Benchmark the renderers alone: cold ``write_report`` (fresh interpreter) by study size.

Run: ``.venv/bin/python benchmarks/bench_report_render.py`` (12, 60, 1,000 and 10,000
patients, best of 3 cold runs; 10,000 once) or ``--quick`` (12 and 200, once) for a smoke
run. Each case runs in a fresh Python process that imports remission, builds a typical
bundle (response, grade and per-patient listing Results; response, CRS, neurotoxicity and
lane-chart figures) and writes the three files. The baseline, measured in the same run, is
a cold ``import remission.results`` (Python + numpy + pandas start-up), the floor any
command pays; "render" subtracts it. The end-to-end CLI benchmark is bench_report.py.

A warm micro-benchmark then times the publication pivot (``publication_table``) of a
large tidy table (variables x categories x groups) against formatting the same table in
its tidy layout (``display_table``), its baseline: the pivot should cost about as much as
formatting, never an order of magnitude more.
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
tidy = {{}}
for g, sub in [("Overall", adsl), *adsl.groupby("COHORT")]:
    for var in ("BOR", "CRSGR", "NTXGR"):
        counts = sub[var].astype(str).value_counts()
        for cat in sorted(adsl[var].astype(str).unique()):
            k = int(counts.get(cat, 0))
            tidy[f"{{var}} = {{cat}} | {{g}}"] = {{"variable": var, "category": cat, "group": g,
                                             "n": k, "N": len(sub), "pct": 100 * k / len(sub)}}
results = ResultSet([
    Result("baseline.categorical", "Characteristics", pd.DataFrame.from_dict(tidy, orient="index"),
           method="Counts.", section="baseline",
           display={{"rows": ["variable", "category"], "columns": "group", "cell": "n_pct"}}),
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


def _pivot_bench(n_vars: int, n_cats: int, n_groups: int, repeat: int) -> tuple[int, float,
                                                                             float]:
    """Best-of-``repeat`` seconds of display_table and publication_table on one table."""
    import pandas as pd

    sys.path.insert(0, str(ROOT / "src"))
    from remission.report.publication import publication_table
    from remission.report.tables import display_table
    from remission.results import Result

    rows = {}
    for g in ["Overall", *(f"G{k}" for k in range(1, n_groups))]:
        for v in range(n_vars):
            for c in range(n_cats):
                rows[f"v{v} = c{c} | {g}"] = {"variable": f"Variable {v}", "category": f"c{c}",
                                              "group": g, "n": c, "N": 100, "pct": float(c)}
    r = Result("baseline.categorical", "t", pd.DataFrame.from_dict(rows, orient="index"), "m",
               display={"rows": ["variable", "category"], "columns": "group", "cell": "n_pct"})
    times = []
    for fn in (display_table, publication_table):
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(r)
            best = min(best, time.perf_counter() - t0)
        times.append(best)
    return len(rows), times[0], times[1]


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
    shape = (10, 5, 4) if args.quick else (50, 10, 20)
    n_rows, t_tidy, t_pub = _pivot_bench(*shape, repeat=rep)
    print(f"\nwarm pivot of {n_rows} tidy rows ({shape[0]} variables x {shape[1]} categories x "
          f"{shape[2]} groups), best of {rep}")
    print(f"{'case':<42} {'ms':>8} {'x baseline':>10}")
    print(f"{'display_table, tidy layout (baseline)':<42} {t_tidy * 1e3:8.1f} {1.0:10.1f}")
    print(f"{'publication_table':<42} {t_pub * 1e3:8.1f} {t_pub / t_tidy:10.1f}")


if __name__ == "__main__":
    main()
