"""SHA-256 of every file the shipped designs write at a small size (seed 0), once.

The shipped designs give no hypomethylating agent. Their virtual patients must not move
when HMA-only features change (e.g. the patient-level HMA sensitivity, drawn from its
own random stream): ``tests/test_sim_hma_sensitivity.py`` re-simulates these studies
and compares every file's bytes with the digests this script wrote. When a change
*meant* to move them lands (a re-fitted parameter value, a model change), re-run this
script and say so in the commit.

Run (about 15 s):
    PYTHONPATH=src .venv/bin/python scripts/make_sim_fingerprints.py
        [--out tests/data/sim_fingerprints_non_hma.csv] [--n 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import subprocess
import tempfile
from pathlib import Path

import pandas as pd

from remission.io.atomic import write_text
from remission.sim.design import DESIGN_DIR, load_design
from remission.sim.trial import run_trial, write_study

N = 4
SEED = 0


def fingerprints(n: int = N, seed: int = SEED) -> pd.DataFrame:
    """``design, file, bytes, sha256`` of every file each shipped design writes.

    Parameters
    ----------
    n : int, default 4
        Patients per arm.
    seed : int, default 0
        The trials' seed.

    Returns
    -------
    pandas.DataFrame
        One row per (design, file), sorted.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for f in sorted(DESIGN_DIR.glob("*.toml")):
            res = run_trial(load_design(f), n=n, seed=seed, workers=0)
            out = write_study(res, Path(tmp) / f.stem)
            for p in sorted(out.iterdir()):
                data = p.read_bytes()
                rows.append({"design": f.name, "file": p.name, "bytes": len(data),
                             "sha256": hashlib.sha256(data).hexdigest()})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make_sim_fingerprints.py")
    ap.add_argument("--out", default="tests/data/sim_fingerprints_non_hma.csv")
    ap.add_argument("--n", type=int, default=N)
    a = ap.parse_args(argv)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip() or "unknown"
    buf = io.StringIO()
    buf.write(f"# made by scripts/make_sim_fingerprints.py --n {a.n} on "
              f"{dt.date.today().isoformat()} at commit {head}; seed {SEED}\n")
    fingerprints(a.n).to_csv(buf, index=False, lineterminator="\n")
    write_text(Path(a.out), buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
