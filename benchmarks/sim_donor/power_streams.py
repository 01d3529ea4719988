"""Session 13's power condition: detection counted over several fresh streams.

The rule (benchmarks/sim_donor/README.md, "Session 13", landed before any run on its
streams): at the shipped values (S) and at the candidate (C), the check's summaries on
each power stream (``scripts/make_sim_check_summaries.py --stream S [--point ...]``).
For every three-fold perturbation and each check set (seed 002 alone; seeds 002 + 004,
on ``calibrate.TARGETS``) the number of streams on which it is caught (the check fails:
hits <= 5 of 101) is counted, and

(a) C_count >= S_count - 1 for every perturbation and set;
(b) a perturbation with S_count = number of streams in a set has C_count >= that
    number - 1 in that set (3 streams: >= 2);
(c) C_total >= S_total - 2, summed over the perturbations and both sets;
(d) the candidate's false positives summed over the streams (200 fresh studies each)
    lie, for each set, within the central binomial 95 % range for p = 0.05 and that n
    (600 studies: 20-41, ``scipy.stats.binom.interval``).

Prints every stream's hits/101 at S and C, the counts, each condition and the verdict;
exits 0 when all four hold, 1 when one does not, 2 on bad usage.

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/power_streams.py \
        --shipped S10.csv S14.csv S15.csv --point C10.csv C14.csv C15.csv
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from scipy.stats import binom

from remission.sim.calibrate import TARGETS, power_table_from_summaries

#: the check sets of session 11's condition
CHECK_SETS = (("002",), ("002", "004"))
#: the check's level: the observed study is rejected when hits <= 5 of 101
LEVEL = 0.05


def hits_table(summaries: pd.DataFrame, studies: tuple[str, ...],
               fresh: bool = True) -> tuple[dict[str, int], int, int]:
    """``(hits of each case, false positives, fresh studies)`` of one stream's summaries;
    hits = p x (replicates + 1), the case's rank count (p = hits / 101 for 100 trials).
    Only the check's targets (``calibrate.TARGETS``) enter, whatever else the file holds;
    ``fresh=False`` skips the false positives (returned as 0 of 0)."""
    keep = ["case", "trial"] + [t.key for t in TARGETS if t.key in summaries.columns]
    t = power_table_from_summaries(summaries[keep], studies)
    n = int((summaries["case"] == "shipped").sum()) + 1
    hits = {("point" if r.parameter == "(shipped)" else f"{r.parameter} x{r.factor:g}"):
            round(float(r.p) * n) for r in t.itertuples()}
    if not fresh:
        return hits, 0, 0
    fp, m = t.attrs["false_positives"]
    return hits, int(fp), int(m)


def caught(hits: int, n: int = 101) -> bool:
    """The check fails (the perturbation is caught): p = hits/n < 0.05."""
    return hits / n < LEVEL


def fp_range(n: int, p: float = LEVEL) -> tuple[int, int]:
    """Central binomial 95 % range of the false-positive count of ``n`` studies."""
    lo, hi = binom.interval(0.95, n, p)
    return int(lo), int(hi)


def condition(s_counts: dict[tuple[str, str], int], c_counts: dict[tuple[str, str], int],
              c_fp: dict[str, tuple[int, int]], n_streams: int) -> dict[str, list[str]]:
    """Violations of (a)-(d) (empty lists when each holds).

    ``s_counts`` / ``c_counts``: (check set, perturbation) -> streams on which it is
    caught; ``c_fp``: check set -> (candidate's false positives, fresh studies), summed
    over the streams.

    >>> s = {("002", "il6_car x3"): 3, ("002", "car_exhaustion x0.3"): 1}
    >>> c = {("002", "il6_car x3"): 1, ("002", "car_exhaustion x0.3"): 1}
    >>> v = condition(s, c, {"002": (30, 600)}, 3)
    >>> [k for k in v if v[k]]
    ['a', 'b']
    """
    out: dict[str, list[str]] = {"a": [], "b": [], "c": [], "d": []}
    for key, s in s_counts.items():
        c = c_counts[key]
        if c < s - 1:
            out["a"].append(f"{key[0]} {key[1]}: C {c} < S {s} - 1")
        if s == n_streams and c < n_streams - 1:
            out["b"].append(f"{key[0]} {key[1]}: S {s}, C {c} < {n_streams - 1}")
    st, ct = sum(s_counts.values()), sum(c_counts[k] for k in s_counts)
    if ct < st - 2:
        out["c"].append(f"C_total {ct} < S_total {st} - 2")
    for name, (fp, m) in c_fp.items():
        lo, hi = fp_range(m)
        if not lo <= fp <= hi:
            out["d"].append(f"{name}: {fp}/{m} outside {lo}-{hi}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shipped", nargs="+", required=True)
    ap.add_argument("--point", nargs="+", required=True)
    a = ap.parse_args(argv)
    if len(a.shipped) != len(a.point):
        ap.error("give one shipped and one point file per stream, in the same order")
    k = len(a.shipped)
    s_counts: dict[tuple[str, str], int] = {}
    c_counts: dict[tuple[str, str], int] = {}
    c_fp: dict[str, tuple[int, int]] = {}
    s_fp: dict[str, tuple[int, int]] = {}
    for studies in CHECK_SETS:
        name = " + ".join(studies)
        rows = []
        for ps, pc in zip(a.shipped, a.point, strict=True):
            hs, fs, ms = hits_table(pd.read_csv(ps, comment="#"), studies)
            hc, fc, mc = hits_table(pd.read_csv(pc, comment="#"), studies)
            rows.append((hs, hc))
            s_fp[name] = (s_fp.get(name, (0, 0))[0] + fs, s_fp.get(name, (0, 0))[1] + ms)
            c_fp[name] = (c_fp.get(name, (0, 0))[0] + fc, c_fp.get(name, (0, 0))[1] + mc)
        cases = list(rows[0][0])
        print(f"## seed(s) {name}: hits of 101 per stream (S | C), * = caught")
        for case in cases:
            cells = [f"{hs[case]:3d}{'*' if caught(hs[case]) else ' '} | "
                     f"{hc[case]:3d}{'*' if caught(hc[case]) else ' '}" for hs, hc in rows]
            line = f"{name:9s} {case:20s} " + "   ".join(cells)
            if case != "point":
                s_counts[(name, case)] = sum(caught(hs[case]) for hs, _ in rows)
                c_counts[(name, case)] = sum(caught(hc[case]) for _, hc in rows)
                line += (f"   caught S {s_counts[(name, case)]}/{k}, "
                         f"C {c_counts[(name, case)]}/{k}")
            print(line)
        print(f"{name:9s} false positives S {s_fp[name][0]}/{s_fp[name][1]}, "
              f"C {c_fp[name][0]}/{c_fp[name][1]} (range {fp_range(c_fp[name][1])})")
    v = condition(s_counts, c_counts, c_fp, k)
    print(f"S_total {sum(s_counts.values())}, C_total {sum(c_counts.values())}")
    for key in "abcd":
        print(f"({key}) " + ("holds" if not v[key] else "FAILS: " + "; ".join(v[key])))
    holds = not any(v.values())
    print("session-13 power condition HOLDS" if holds else "session-13 power condition FAILS")
    return 0 if holds else 1


if __name__ == "__main__":
    sys.exit(main())
