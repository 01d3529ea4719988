"""Fuzz benchmark: thousands of malformed study folders through validate and report.

Nightly-size companion of ``tests/test_fuzz_inputs.py`` (same generator and checks:
``tests/fuzz_folders.py``). The baseline is the contract of issue 11, not another tool:
zero internal errors, zero partial writes, every problem with its file (and line when it
points inside a file), ``validate`` success => ``report`` success. Exits 1 on any violation
and prints the first ones with their seeds so each can be replayed
(``make_folder(dst, seed)``).

On the shared harness (``benchmarks/harness.py``): one side (remission), its outputs checked
against the contract, ``build/bench/fuzz.json``, non-zero exit on any violation; the
violating seeds are in the record and on stderr.

Run: ``python benchmarks/bench_fuzz.py [--n 200] [--start 0] [--quick] [--figures-every 5]
[--base examples/cll1-post-hsct]`` (``--quick``: 20 folders; the nightly size is
``--n 1000``). Unless ``--base`` is given, every tenth folder (seed ending in 9) is drawn
from the aggregate-only example (claims.toml of published numbers) and every tenth (seed
ending in 4) from a small raw-data study (synthetic-cart-raw restricted to six patients,
``tests.fuzz_folders.make_raw_base``) whose bedside observations and treatments are
mutated (units, variable names, values, clock times, days, conflicting duplicates,
records after death, overlapping vasopressors ...).
"""

from __future__ import annotations

import collections
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "benchmarks"))
from tests.fuzz_folders import BASE, check_folder, make_folder, make_raw_base  # noqa: E402

import harness as hz  # noqa: E402

AGGREGATE = ROOT / "examples" / "seed000-ven-cll1"


def w_fuzz(data: str, out: str) -> None:
    """The fuzz loop: every folder through validate and report; counts per outcome."""
    spec = json.loads(Path(data).read_text())
    start, n = spec["start"], spec["n"]
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    bad: list[tuple[int, list[str], list[str]]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        raw = make_raw_base(Path(tmp) / "raw-base")
        for seed in range(start, start + n):
            base = (Path(spec["base"]) if spec["base"] else AGGREGATE if seed % 10 == 9
                    else raw if seed % 10 == 4 else BASE)
            folder = Path(tmp) / f"s{seed}"
            muts = make_folder(folder, seed, base=base)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = check_folder(folder, Path(tmp) / f"o{seed}" / "report", muts,
                                   figures=seed % max(spec["figures_every"], 1) == 0)
            counts[(res.validate, res.report)] += 1
            if res.violations:
                bad.append((seed, muts, res.violations))
                print(f"  seed {seed} {muts}: "
                      + res.violations[0].strip().splitlines()[-1][:300], file=sys.stderr,
                      flush=True)
    secs = time.perf_counter() - t0
    internal = sum(k for (v, r), k in counts.items() if "internal" in (v, r))
    hz.emit(out, {"violations": len(bad), "internal_errors": internal, "folders": n,
                  "outcomes": {f"{v}/{r}": k for (v, r), k in sorted(counts.items())},
                  "bad_seeds": [s for s, _, _ in bad],
                  "first_violations": [f"seed {s} {m}: " + v[0].strip().splitlines()[-1][:300]
                                       for s, m, v in bad[:20]]}, secs)


WORKERS = {"fuzz": w_fuzz}


def compare(o: dict) -> list[hz.Check]:
    """The contract of issue 11 (the baseline): no violation, no internal error, every
    folder accounted for."""
    r = o["remission validate + report"]
    first = "; ".join(r["first_violations"][:3])
    return [
        hz.Check("folders with contract violations", r["violations"] == 0,
                 float(r["violations"]),
                 f"seeds {r['bad_seeds'][:20]}: {first}" if r["violations"] else
                 f"0 of {r['folders']}; outcomes {r['outcomes']}"),
        hz.Check("internal errors", r["internal_errors"] == 0, float(r["internal_errors"]),
                 f"of {r['folders']} folders"),
        hz.Check("every folder validated and reported",
                 sum(r["outcomes"].values()) == r["folders"],
                 float(abs(sum(r["outcomes"].values()) - r["folders"])),
                 f"{sum(r['outcomes'].values())} outcomes for {r['folders']} folders"),
    ]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if hz.worker_call(argv, WORKERS):
        return 0
    ap = hz.common_args(__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="folders (default 200; quick 20)")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--figures-every", type=int, default=5,
                    help="draw figures in the report of every k-th folder (default 5)")
    ap.add_argument("--base", type=Path, default=None, help="example folder to mutate")
    a = ap.parse_args(argv)
    n = a.n or (20 if a.quick else 200)
    reps = a.reps or 1  # one pass over the seeds is the measurement; more repeat it
    ddir = hz.OUT_DIR / "data"
    ddir.mkdir(parents=True, exist_ok=True)
    data = ddir / f"fuzz-{a.start}-{n}.json"
    data.write_text(json.dumps({"n": n, "start": a.start, "figures_every": a.figures_every,
                                "base": str(a.base) if a.base else ""}))
    me = Path(__file__).resolve()
    wl = [hz.Workload(f"fuzz, {n:,} folders (seeds {a.start}-{a.start + n - 1})", data,
                      [hz.python_side("remission validate + report", me, "fuzz")],
                      compare, note="contract of issue 11; no peer tool")]
    return hz.run_all("fuzz", wl, a, reps, argv,
                      {"folders": n, "start": a.start, "reps": reps})


if __name__ == "__main__":
    sys.exit(main())
