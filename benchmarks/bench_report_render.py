"""Renderer benchmark: cold ``write_report`` by study size, and the publication pivot.

On the shared harness (``benchmarks/harness.py``): sides alternate, median of the
repetitions, outputs compared, non-zero exit on a disagreement or a failure.

1. ``cold write_report, N patients``: a fresh Python process imports remission, builds a
   typical bundle from a synthetic ADSL (response, CRS-grade, characteristics and listing
   Results; response, CRS, neurotoxicity and lane-chart figures) and writes report.html,
   results.json and tables.docx; its figure is the whole-process wall time. Baseline: a
   fresh process that imports ``remission.results`` (Python + numpy + pandas start-up,
   the floor any command pays) and counts the responders per cohort with pandas.
   Compared: the responders and patients per cohort that remission wrote into
   results.json equal the baseline's pandas counts, and all three files were written and
   are not empty.
2. ``publication pivot``: ``publication_table`` (variables x categories x groups pivot)
   of a large tidy table against formatting the same table in its tidy layout
   (``display_table``), timed warm in-process. Compared: every tidy row's formatted cell
   is the text the pivot shows for that row (matched by the row key the pivot cell
   carries). The pivot should cost about as much as formatting, never an order of
   magnitude more.

Run: ``python benchmarks/bench_report_render.py [--quick] [--reps R]`` (default 12, 60 and
1,000 patients; ``--quick`` 12 and 200).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402

RESPONDERS = ("MRD-CR", "MRD+CR", "PR")


def _adsl(n: int):
    sys.path.insert(0, str(ROOT))
    from tests.test_plot_figures import cll1_adsl, synthetic_adsl

    return cll1_adsl() if n == 12 else synthetic_adsl(n)


def w_render(data: str, out: str) -> None:
    """Subject: build a typical bundle and write the three report files (cold process)."""
    import numpy as np
    import pandas as pd

    from remission.plot import grade_by_group, lane_chart, response_by_group
    from remission.report import FigureItem, ReportBundle, StudyInfo, write_report
    from remission.results import Result, ResultSet

    n = json.loads(Path(data).read_text())["n"]
    adsl = _adsl(n)
    g = adsl.groupby("COHORT")
    resp = pd.DataFrame({"n": g["BOR"].apply(lambda s: int(s.isin(RESPONDERS).sum())),
                         "N": g.size()})
    resp["prop"] = resp["n"] / resp["N"]
    resp["ci_lo"], resp["ci_hi"] = resp["prop"] * 0.8, np.minimum(resp["prop"] * 1.2, 1)
    crs = pd.crosstab(adsl["COHORT"], adsl["CRSGR"])
    crs.columns = [f"grade {c}" for c in crs.columns]
    listing = adsl.set_index("USUBJID")[["COHORT", "BOR", "CRSGR", "NTXGR", "TRANSFL",
                                         "DTHFL"]]
    tidy = {}
    for grp, sub in [("Overall", adsl), *adsl.groupby("COHORT")]:
        for var in ("BOR", "CRSGR", "NTXGR"):
            counts = sub[var].astype(str).value_counts()
            for cat in sorted(adsl[var].astype(str).unique()):
                k = int(counts.get(cat, 0))
                tidy[f"{var} = {cat} | {grp}"] = {"variable": var, "category": cat,
                                                  "group": grp, "n": k, "N": len(sub),
                                                  "pct": 100 * k / len(sub)}
    results = ResultSet([
        Result("baseline.categorical", "Characteristics",
               pd.DataFrame.from_dict(tidy, orient="index"), method="Counts.",
               section="baseline",
               display={"rows": ["variable", "category"], "columns": "group",
                        "cell": "n_pct"}),
        Result("response.orr", "Overall response", resp, method="Clopper-Pearson.",
               params={"conf_level": 0.95}, section="efficacy"),
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
    report_dir = Path(out).with_suffix(".report")
    paths = write_report(ReportBundle(study, results, figs, {"remission": "0.1.0"}),
                         report_dir)
    # read back what was written: the numbers a reader of results.json gets
    written = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    orr = next(r for r in written["results"] if r["name"] == "response.orr")
    by_group = {row["row"]: (row["n"], row["N"]) for row in orr["rows"]}
    groups = sorted(by_group)
    hz.emit(out, {"groups": groups,
                  "responders": [by_group[k][0] for k in groups],
                  "patients": [by_group[k][1] for k in groups],
                  "files_written": sum(1 for p in paths.values()
                                       if Path(p).stat().st_size > 0)}, 0.0)


def w_floor(data: str, out: str) -> None:
    """Baseline: the start-up floor (remission.results, numpy, pandas) and the same
    counts with pandas."""
    import remission.results  # noqa: F401  (the import every command pays)

    n = json.loads(Path(data).read_text())["n"]
    adsl = _adsl(n)
    resp = adsl.assign(r=adsl["BOR"].isin(RESPONDERS)).groupby("COHORT")["r"].agg(
        ["sum", "size"])
    groups = sorted(str(g) for g in resp.index)
    resp.index = resp.index.astype(str)
    hz.emit(out, {"groups": groups,
                  "responders": [int(resp.loc[g, "sum"]) for g in groups],
                  "patients": [int(resp.loc[g, "size"]) for g in groups],
                  "files_written": 3}, 0.0)


def _tidy_result(shape: tuple[int, int, int]):
    import pandas as pd

    from remission.results import Result

    n_vars, n_cats, n_groups = shape
    rows = {}
    for g in ["Overall", *(f"G{k}" for k in range(1, n_groups))]:
        for v in range(n_vars):
            for c in range(n_cats):
                rows[f"v{v} = c{c} | {g}"] = {"variable": f"Variable {v}",
                                              "category": f"c{c}", "group": g, "n": c,
                                              "N": 100, "pct": float(c)}
    return Result("baseline.categorical", "t", pd.DataFrame.from_dict(rows, orient="index"),
                  "m", display={"rows": ["variable", "category"], "columns": "group",
                                "cell": "n_pct"})


def _warm(fn, r, reps: int = 3) -> tuple[float, object]:
    fn(r)  # imports and first-call costs out of the timing (a warm micro-benchmark)
    best, res = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        res = fn(r)
        best = min(best, time.perf_counter() - t0)
    return best, res


def w_pivot(data: str, out: str) -> None:
    """Subject: publication_table; output row key -> the pivot cell's text."""
    from remission.report.publication import publication_table

    r = _tidy_result(tuple(json.loads(Path(data).read_text())["shape"]))
    secs, t = _warm(publication_table, r)
    cells = {}
    for _, row in t.rows:
        for cell in row:
            if ": n=" in cell.raw:  # the tidy row this cell shows
                cells[cell.raw.split(": n=", 1)[0]] = cell.text
    keys = sorted(cells)
    hz.emit(out, {"cells": {k: cells[k] for k in keys}}, secs)


def w_tidy(data: str, out: str) -> None:
    """Baseline: display_table of the same table in its tidy layout."""
    from remission.report.tables import display_table

    r = _tidy_result(tuple(json.loads(Path(data).read_text())["shape"]))
    secs, t = _warm(display_table, r)
    col = t.columns.index("n (%)")
    cells = {key: row[col].text for key, row in t.rows}
    hz.emit(out, {"cells": {k: cells[k] for k in sorted(cells)}}, secs)


WORKERS = {"render": w_render, "floor": w_floor, "pivot": w_pivot, "tidy": w_tidy}


def compare_render(o: dict) -> list[hz.Check]:
    m, b = o["cold write_report"], o["cold import + pandas counts"]
    checks = [hz.Check("cohorts in results.json", m["groups"] == b["groups"],
                       0.0 if m["groups"] == b["groups"] else float("inf"),
                       f"{m['groups']} vs {b['groups']}")]
    if m["groups"] == b["groups"]:
        checks.append(hz.close("responders per cohort in results.json vs pandas",
                               m["responders"], b["responders"], 0.0))
        checks.append(hz.close("patients per cohort in results.json vs pandas",
                               m["patients"], b["patients"], 0.0))
    checks.append(hz.close("report files written (html, json, docx; not empty)",
                           m["files_written"], 3, 0.0))
    return checks


def compare_pivot(o: dict) -> list[hz.Check]:
    m, b = o["publication_table"]["cells"], o["display_table (tidy)"]["cells"]
    missing = sorted(set(b) - set(m))
    differ = [k for k in b if k in m and m[k] != b[k]]
    ok = not missing and not differ and set(m) == set(b)
    return [hz.Check("pivot cells = tidy cells", ok, 0.0 if ok else float("inf"),
                     f"{len(b):,} tidy rows; missing in pivot {len(missing)}, text differs "
                     f"{len(differ)}" + (f" (first: {(missing + differ)[0]!r})"
                                         if not ok else ""))]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hz.worker_call(argv, WORKERS):
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    a = ap.parse_args(argv)
    sizes = [12, 200] if a.quick else [12, 60, 1000]
    shape = (10, 5, 4) if a.quick else (50, 10, 20)
    reps = a.reps or (2 if a.quick else 5)
    ddir = hz.OUT_DIR / "data"
    ddir.mkdir(parents=True, exist_ok=True)
    me = Path(__file__).resolve()
    wl = []
    for n in sizes:
        data = ddir / f"render-{n}.json"
        data.write_text(json.dumps({"n": n}))
        subject = hz.python_side("cold write_report", me, "render")
        floor = hz.python_side("cold import + pandas counts", me, "floor")
        subject.cold = floor.cold = True
        wl.append(hz.Workload(f"cold write_report, {n:,} patients", data, [subject, floor],
                              compare_render, note="whole-process wall time"))
    data = ddir / "render-pivot.json"
    data.write_text(json.dumps({"shape": shape}))
    n_rows = shape[0] * shape[1] * shape[2]
    wl.append(hz.Workload(f"publication pivot, {n_rows:,} tidy rows", data,
                          [hz.python_side("publication_table", me, "pivot"),
                           hz.python_side("display_table (tidy)", me, "tidy")],
                          compare_pivot, note="warm, best of 3 in-process"))
    return hz.run_all("report_render", wl, a, reps, argv,
                      {"sizes": sizes, "pivot_shape": shape, "reps": reps})


if __name__ == "__main__":
    sys.exit(main())
