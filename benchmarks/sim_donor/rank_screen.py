"""Apply the session-12 eligibility (E1) and ranking rules to two screen outputs.

Reads two ``screen_donor.py`` outputs (the fit streams, README "Session 12",
pre-registration steps 4-5), joins them on the screened parameters and prints every
point with its six (seed, stream) hits, whether it is eligible (every hits >= 6 of 101)
and, for the eligible ones, its rank: largest minimum hits over the six pairs, then the
larger minimum of seed 000, then fewer parameters changed from the shipped values, then
the smaller ``car_allo_recognition``, then the smaller ``antigen_density_cv``. Exit 0.

Run (seconds):
    PYTHONPATH=src python benchmarks/sim_donor/rank_screen.py \
        benchmarks/sim_donor/cal3_screen_stream6.txt benchmarks/sim_donor/cal3_screen_stream7.txt
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd

from remission.sim.params import PARAMETERS

STUDIES = ("000", "002", "004")
KEYS = ("antigen_density_cv", "car_allo_recognition")


def read_screen(path: Path) -> pd.DataFrame:
    """A screen's table (its ``#`` lines skipped)."""
    text = "".join(line for line in path.read_text().splitlines(keepends=True)
                   if not line.startswith("#"))
    return pd.read_csv(io.StringIO(text), sep=r"\s+")


def rank(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Both streams' hits side by side, eligibility and rank (1 = chosen first)."""
    cols = [f"hits{s}" for s in STUDIES]
    t = a[[*KEYS, *cols]].merge(b[[*KEYS, *cols]], on=list(KEYS), suffixes=("_s6", "_s7"))
    six = [f"{c}_{s}" for c in cols for s in ("s6", "s7")]
    t["min_hits"] = t[six].min(axis=1)
    t["min000"] = t[["hits000_s6", "hits000_s7"]].min(axis=1)
    t["changed"] = sum((t[k] != PARAMETERS[k].value).astype(int) for k in KEYS)
    t["eligible"] = t["min_hits"] >= 6
    t = t.sort_values(["eligible", "min_hits", "min000", "changed", *KEYS[::-1]],
                      ascending=[False, False, False, True, True, True])
    t["rank"] = range(1, len(t) + 1)
    t.loc[~t["eligible"], "rank"] = 0
    return t[[*KEYS, *six, "min_hits", "min000", "changed", "eligible", "rank"]]


def main(argv: list[str] | None = None) -> int:
    paths = sys.argv[1:] if argv is None else argv
    if len(paths) != 2:
        print("usage: rank_screen.py STREAM6.txt STREAM7.txt", file=sys.stderr)
        return 2
    t = rank(read_screen(Path(paths[0])), read_screen(Path(paths[1])))
    pd.set_option("display.width", 250)
    print(f"# {paths[0]} (s6) and {paths[1]} (s7); eligible = every hits >= 6 of 101; "
          "rank 0 = not eligible")
    print(t.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
