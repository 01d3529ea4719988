"""Fuzz benchmark: thousands of malformed study folders through validate and report.

Nightly-size companion of ``tests/test_fuzz_inputs.py`` (same generator and checks:
``tests/fuzz_folders.py``). The baseline is the contract of issue 11, not another tool:
zero internal errors, zero partial writes, every problem with its file (and line when it
points inside a file), ``validate`` success => ``report`` success. Exits 1 on any violation
and prints the first ones with their seeds so each can be replayed
(``make_folder(dst, seed)``).

Run: ``python benchmarks/bench_fuzz.py [--n 1000] [--start 0] [--quick] [--figures-every 5]
[--base examples/cll1-post-hsct]``. Every tenth folder is drawn from the aggregate-only
example (claims.toml of published numbers) unless ``--base`` is given.
"""

from __future__ import annotations

import argparse
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

from tests.fuzz_folders import BASE, check_folder, make_folder  # noqa: E402

AGGREGATE = ROOT / "examples" / "seed000-ven-cll1"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="folders (default 1000)")
    ap.add_argument("--start", type=int, default=0, help="first seed")
    ap.add_argument("--quick", action="store_true", help="100 folders")
    ap.add_argument("--figures-every", type=int, default=5,
                    help="draw figures in the report of every k-th folder (default 5)")
    ap.add_argument("--base", type=Path, default=None, help="example folder to mutate")
    ap.add_argument("--strict", action="store_true", help="accepted for run_all; no effect")
    ap.add_argument("--reps", type=int, default=None, help="accepted for run_all; no effect")
    a = ap.parse_args(argv)
    n = 100 if a.quick else a.n
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    bad: list[tuple[int, list[str], list[str]]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.start, a.start + n):
            base = a.base or (AGGREGATE if seed % 10 == 9 else BASE)
            folder = Path(tmp) / f"s{seed}"
            muts = make_folder(folder, seed, base=base)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = check_folder(folder, Path(tmp) / f"o{seed}" / "report", muts,
                                   figures=seed % max(a.figures_every, 1) == 0)
            counts[(out.validate, out.report)] += 1
            if out.violations:
                bad.append((seed, muts, out.violations))
                print(f"  seed {seed} {muts}: " + out.violations[0].strip().splitlines()[-1],
                      flush=True)
            done = seed - a.start + 1
            if done % 50 == 0:
                print(f"  {done}/{n} folders, {len(bad)} with violations, "
                      f"{time.perf_counter() - t0:.0f} s", flush=True)
    secs = time.perf_counter() - t0
    print(f"fuzz: {n} folders (seeds {a.start}-{a.start + n - 1}) in {secs:.0f} s "
          f"({n / secs:.1f} folders/s)")
    print(f"{'validate':>10} {'report':>10} {'folders':>8}")
    for (v, r), k in sorted(counts.items()):
        print(f"{v:>10} {r:>10} {k:>8}")
    internal = sum(k for (v, r), k in counts.items() if "internal" in (v, r))
    print(f"internal errors: {internal}; folders with contract violations: {len(bad)}")
    for seed, muts, viol in bad[:20]:
        print(f"  seed {seed} {muts}")
        for v in viol:
            print("    " + v.strip().splitlines()[-1][:300])
    record = {"folders": n, "start": a.start, "seconds": round(secs, 1),
              "outcomes": {f"{v}/{r}": k for (v, r), k in sorted(counts.items())},
              "violations": len(bad), "bad_seeds": [s for s, _, _ in bad]}
    out_dir = ROOT / "build" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "fuzz.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
