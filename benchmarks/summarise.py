"""Print the records in build/bench/*.json as Markdown tables (for docs/performance.md).

Usage: ``python benchmarks/summarise.py [build/bench/survival.json ...]``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table(rec: dict) -> str:
    m = rec["machine"]
    out = [f"Recorded {rec['date_utc']} on {m['cpus']} × {m['cpu']} (Python {m['python']}); "
           f"command `{rec['command']}`; exit status {rec['status']}.", "",
           "| workload | remission s | baseline | baseline s | ratio | target | peak MB "
           "(r / b) | max load | outputs agree |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rec["rows"]:
        if "limit_cpu_s" in r:
            runs = ", ".join(f"{x['work_cpu_s']:.3f}/{x['seconds']:.3f}" for x in r["runs"])
            loads = ", ".join(f"{x['load1']:.1f}" for x in r["runs"])
            out.append(f"| {r['workload']} ({r['subject']}) | {r['median_cpu_s']:.3f} CPU "
                       f"({r['median_s']:.3f} wall) | — | — | — | < {r['limit_cpu_s']:g} s "
                       f"CPU: {'met' if r['target_met'] else '**not met**'} | | "
                       f"{max(x['load1'] for x in r['runs']):.1f} | CPU/wall runs: {runs} "
                       f"(load {loads}) |")
            continue
        if "limit_s" in r:
            runs = ", ".join(f"{x['seconds']:.2f}" for x in r["runs"])
            cpu = r.get("median_cpu_s")
            cpu_txt = "" if cpu is None or not math.isfinite(cpu) else (
                f"; whole-process CPU (user+sys) median {cpu:.3f} s, runs "
                + ", ".join(f"{x['cpu_s']:.2f}" for x in r["runs"]))
            loads = ", ".join(f"{x['load1']:.1f}" for x in r["runs"])
            out.append(f"| {r['workload']} ({r['subject']}) | {r['median_s']:.3f} | — | — | — "
                       f"| < {r['limit_s']:g} s: {'met' if r['target_met'] else '**not met**'}"
                       f" | | {max(x['load1'] for x in r['runs']):.1f} | wall runs: {runs} "
                       f"(load {loads}){cpu_txt} |")
            continue
        if r.get("failed"):
            out.append(f"| {r['workload']} | FAILED | {r['baseline']} | | | | | | no |")
            continue
        tgt = r.get("target_ratio")
        tg = "" if tgt is None else f"≤ {tgt:g}: " + ("met" if r["target_met"] else
                                                      "**not met**")
        out.append(f"| {r['workload']} | {r['subject_s']:.3f} | {r['baseline']} | "
                   f"{r['baseline_s']:.3f} | {r['ratio']:.3f} | {tg} | "
                   f"{r['subject_peak_mb']:.0f} / {r['baseline_peak_mb']:.0f} | "
                   f"{r['max_load1']:.1f} | {'yes' if r['agree'] else 'NO'} |")
        ls, lb = r.get("subject_lib_load_s", math.nan), r.get("baseline_lib_load_s", math.nan)
        if ls is not None and lb is not None and math.isfinite(ls) and math.isfinite(lb):
            out.append(f"| ↳ same, library load included | {r['subject_s'] + ls:.3f} | "
                       f"{r['baseline']} | {r['baseline_s'] + lb:.3f} | "
                       f"{(r['subject_s'] + ls) / (r['baseline_s'] + lb):.3f} | | | | |")
    out += ["", "Comparisons:", ""]
    for c in rec["checks"]:
        out.append(f"- {c['workload']}: {c['key']} — {'ok' if c['ok'] else 'FAILED'}, "
                   f"max diff {c['diff']:.3g} ({c['detail']})")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "build" / "bench").glob("*.json"))
    for p in paths:
        rec = json.loads(p.read_text())
        print(f"### {rec['bench']}\n\n{table(rec)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
