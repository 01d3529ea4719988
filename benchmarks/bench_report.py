"""Cold ``remission report`` benchmark: whole processes, imports and Numba load included.

Workloads (each a fresh interpreter per run, timed by wall clock from process start to
exit, with its peak resident memory from ``os.wait4``; a non-zero exit fails the run):

1. ``report examples/cll1-post-hsct`` (12 patients, recorded grades) -- target < 1.5 s.
2. ``validate + report`` of a synthetic 10,000-patient study (benchmarks/make_large_study.py).
3. ``report examples/synthetic-cart-raw`` (40 patients of raw daily observations: the
   graders run), with the Numba cache as it is on this machine, and
4. the same with an empty Numba cache directory for every run (what the very first run
   on a new machine pays: compilation of the kernels it needs).

Baseline for 1-2: a cold Python process that reads ``patients.csv`` with pandas and counts
best response and CRS grade (the floor: interpreter + pandas + the same counts). Both
sides' counts are compared with the report's ``results.json`` (``response.categories`` and
``safety.crs``, "Overall" rows): they must be equal. For 3-4 the two variants' reports
must give byte-identical ``results.json`` (same input -> same bytes) in every run.

Workload 1 has a second baseline, the expected output: the same report made by the
library with the figures drawn in the report's own process (``write_report(bundle_for(
STUDY), OUT)``, as ``remission report`` worked before it drew them in a child process).
Every file (report.html, results.json, tables.docx) of every run of both sides must be
byte-identical. Workload 1's wall-time target (< 1.5 s) is printed PASS or FAIL with the
CPU time (user + sys, from ``wait4``: the report and its figure process) and the 1-minute
load of every run; ``--strict`` makes a FAIL exit non-zero (the machine may be shared).

Run: ``python benchmarks/bench_report.py [--quick] [--reps R]``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness as hz  # noqa: E402
from make_large_study import make  # noqa: E402

ROOT = HERE.parent
TARGET_S = 1.5
IN_PROCESS = "figures drawn in-process"


def counts_from_report(out: Path) -> dict:
    """Overall best-response and CRS-grade counts from a report's results.json."""
    res = json.loads((out / "results.json").read_text())
    by = {r["name"]: r for r in res["results"]}
    resp = {r["category"]: r["n"] for r in by["response.categories"]["rows"]
            if r["group"] == "Overall"}
    crs = {r["grade"]: r["n"] for r in by["safety.crs"]["rows"]
           if r["group"] == "Overall" and re.fullmatch(r"grade \d", r["grade"])}
    sha = hashlib.sha256((out / "results.json").read_bytes()).hexdigest()
    files = sorted(p.name for p in out.iterdir())
    every = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())
             if p.is_file()}
    return {"response": resp, "crs": crs, "results_sha256": sha, "files": files,
            "sha256": every}


def w_counts(study: str, out: str) -> None:
    """Baseline: the same counts with pandas, straight from patients.csv."""
    import pandas as pd

    t0 = time.perf_counter()
    p = pd.read_csv(Path(study) / "patients.csv")
    resp = p["best_response"].value_counts().to_dict()
    crs = p["crs_grade"].value_counts().to_dict()
    hz.emit(out, {"response": {str(k): int(v) for k, v in resp.items()},
                  "crs": {f"grade {int(k)}": int(v) for k, v in crs.items()}},
            time.perf_counter() - t0)


def cmp_counts(o: dict) -> list[hz.Check]:
    m, b = o["remission report (cold)"], o["pandas counts (cold)"]
    checks = []
    for k in ("response", "crs"):
        got = {c: n for c, n in m[k].items() if n or c in b[k]}  # zero rows: not in counts
        ok = got == b[k]
        checks.append(hz.Check(f"{k} counts vs pandas", ok, 0.0 if ok else float("inf"),
                               f"{b[k]}" if ok else f"report {got} vs pandas {b[k]}"))
    shas = {r["results_sha256"] for r in o["_reps"]["remission report (cold)"]}
    checks.append(hz.Check("results.json identical in every run", len(shas) == 1,
                           0.0 if len(shas) == 1 else float("inf"), f"{len(shas)} distinct"))
    files = m["files"]
    ok = {"report.html", "results.json", "tables.docx"} <= set(files)
    checks.append(hz.Check("report files written", ok, 0.0 if ok else float("inf"),
                           ", ".join(files)))
    return checks


def cmp_cll1(o: dict) -> list[hz.Check]:
    """The counts (as :func:`cmp_counts`), and every file of every run of ``remission
    report`` (figures drawn by a child process) byte-identical to every run of the
    in-process render (figures drawn in the report's own process, as before)."""
    checks = cmp_counts(o)
    runs = {name: [r["sha256"] for r in o["_reps"][name]]
            for name in ("remission report (cold)", IN_PROCESS)}
    distinct = {json.dumps(h, sort_keys=True) for hs in runs.values() for h in hs}
    names = sorted(runs[IN_PROCESS][0]) if runs[IN_PROCESS] else []
    ok = len(distinct) == 1 and {"report.html", "results.json", "tables.docx"} <= set(names)
    checks.append(hz.Check("every file (sha256) identical to the in-process render, every run",
                           ok, 0.0 if ok else float("inf"),
                           f"{', '.join(names)}; {len(distinct)} distinct set(s) of hashes"))
    return checks


def cmp_raw(o: dict) -> list[hz.Check]:
    shas = {r["results_sha256"] for name in ("remission report (cold)",
                                             "remission report, empty Numba cache")
            for r in o["_reps"][name]}
    ok = len(shas) == 1
    return [hz.Check("results.json identical (cached vs freshly compiled kernels, every run)",
                     ok, 0.0 if ok else float("inf"), f"{len(shas)} distinct")]


def _report_side(validate: bool = False) -> hz.Side:
    py = sys.executable
    if validate:  # validate then report, one wall time: a shell runs both processes
        cmd = ["sh", "-c", f'"{py}" -m remission.cli validate "$1" >/dev/null && '
               f'exec "{py}" -m remission.cli report "$1" --out "$2"', "sh"]
    else:
        cmd = [py, "-m", "remission.cli", "report"]
    env = hz.py_env()
    return hz.Side("remission report (cold)", cmd, env=env, cold=True,
                   args=(lambda d, o: [str(d), str(o)]) if validate else
                   (lambda d, o: [str(d), "--out", str(o)]),
                   collect=counts_from_report)


def _in_process_side() -> hz.Side:
    """The same report made by the library with its figures drawn in the report's own
    process (what ``remission report`` did before it drew them in a child process)."""
    code = ("import sys; from remission.pipeline import bundle_for; "
            "from remission.report import write_report; "
            "write_report(bundle_for(sys.argv[1]), sys.argv[2])")
    return hz.Side(IN_PROCESS, [sys.executable, "-c", code], env=hz.py_env(), cold=True,
                   args=lambda d, o: [str(d), str(o)], collect=counts_from_report)


def _fresh_cache_side(cache: Path) -> hz.Side:
    py = sys.executable
    cmd = ["sh", "-c", f'rm -rf "{cache}" && mkdir -p "{cache}" && NUMBA_CACHE_DIR="{cache}" '
           f'exec "{py}" -m remission.cli report "$1" --out "$2"', "sh"]
    env = hz.py_env()
    return hz.Side("remission report, empty Numba cache", cmd, env=env, cold=True,
                   collect=counts_from_report)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        w_counts(argv[2], argv[3])
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    a = ap.parse_args(argv)
    reps = a.reps or (2 if a.quick else 5)
    n_large = 300 if a.quick else 10_000
    me = Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        large = make(tmpd / "large", n_large, seed=1)
        counts = hz.python_side("pandas counts (cold)", me, "counts")
        counts.cold = True
        raw_cached = _report_side()
        wl = [
            hz.Workload("report examples/cll1-post-hsct", ROOT / "examples" / "cll1-post-hsct",
                        [_report_side(), counts, _in_process_side()], cmp_cll1,
                        limits={"remission report (cold)": TARGET_S},
                        note="12 patients; whole process"),
            hz.Workload(f"validate + report, {n_large:,} patients", large,
                        [_report_side(validate=True), counts], cmp_counts,
                        note="synthetic study, make_large_study.py seed 1"),
            hz.Workload("report examples/synthetic-cart-raw", ROOT / "examples" /
                        "synthetic-cart-raw", [raw_cached, _fresh_cache_side(tmpd / "nb")],
                        cmp_raw, note="40 patients of raw daily data: graders + Numba"),
        ]
        return hz.run_all("report", wl, a, reps, argv,
                          {"reps": reps, "large_patients": n_large})


if __name__ == "__main__":
    sys.exit(main())
