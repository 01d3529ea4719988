"""A/B of ``remission.kinetics.stein.fit_stein``: this checkout against a baseline commit.

The baseline is the fit as it was before the fast search (commit ``3445f5e``: the
deterministic search with ``least_squares(method="lm")`` in every interval between
sampling days; ``--baseline`` another commit), read with ``git show`` into a temporary
file and imported under its own name next to this checkout's ``remission``. Each side is
a fresh process that fits every patient of one profile set and writes the printed table
and warnings; the sides alternate (:mod:`ab_commands`: wall time, process-tree CPU time,
1-minute load), and the outputs must be byte-identical, else the run exits 1.

Profile sets (made once into ``build/bench/data``, then reused):

* ``synthetic``: the CAR-T profiles of ``examples/synthetic-cart-raw`` (40 patients);
* ``sim300``: those of the shipped design seed002 (CLL1 CAR-T dose groups) simulated at
  300 patients per arm, seed 0 (what ``remission report`` fits on such a study).

Run: ``python benchmarks/bench_stein.py [--reps 3] [--sets synthetic sim300]``. Each side
process includes the interpreter start and imports (about 1 s of CPU on both sides); the
fit's own CPU time (``time.process_time`` around ``fit_stein``) is printed beside it and
makes the ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
DATA = ROOT / "build" / "bench" / "data"
BASELINE = "3445f5e"
DESIGN = ROOT / "examples" / "designs" / "seed002_cll1_cart_dose_groups.toml"


def _profile_of(folder: Path) -> pd.DataFrame:
    """The profile ``remission report`` hands to fit_stein for a study folder."""
    import remission.analyses.raw.kinetics as rk
    from remission.pipeline import build_bundle

    seen: list[tuple[pd.DataFrame, dict]] = []
    real = rk.fit_stein

    def spy(prof, **kw):
        seen.append((prof.copy(), kw))
        return real(prof, **kw)

    rk.fit_stein = spy
    try:
        build_bundle(folder, figures=False)
    finally:
        rk.fit_stein = real
    prof, kw = seen[0]
    return prof.rename(columns={kw["value"]: "value"})


def profiles(name: str) -> Path:
    """The profile set ``name`` as Parquet (made on first use)."""
    path = DATA / f"stein-{name}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    if name == "synthetic":
        prof = _profile_of(ROOT / "examples" / "synthetic-cart-raw")
    else:
        from remission.sim import cli_simulate

        with tempfile.TemporaryDirectory() as tmp:
            folder = cli_simulate(DESIGN, Path(tmp) / "s", n=300, seed=0, workers=0)
            prof = _profile_of(folder)
    prof.to_parquet(path, index=False)
    return path


def side(stein_py: str, data: str, out: str) -> None:
    """Fit every patient of ``data`` with the fit_stein of ``stein_py``; write the table
    (every float as repr) and the warnings to ``out``."""
    spec = importlib.util.spec_from_file_location("stein_side", stein_py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    prof = pd.read_parquet(data)
    t0 = time.process_time()
    res = mod.fit_stein(prof)
    cpu = time.process_time() - t0
    Path(out).write_text(res.table.to_csv(float_format="%r") + "\n".join(res.warnings))
    with open(f"{out}.cpu", "a") as f:  # one line per run: the fit's own CPU time
        f.write(f"{cpu!r}\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--side":
        side(*argv[1:4])
        return 0
    import ab_commands

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sets", nargs="+", default=["synthetic", "sim300"],
                    choices=["synthetic", "sim300"])
    ap.add_argument("--baseline", default=BASELINE, help="git commit of the baseline")
    a = ap.parse_args(argv)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "stein_baseline.py"
        base.write_text(subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{a.baseline}:src/remission/kinetics/stein.py"],
            check=True, capture_output=True, text=True).stdout)
        head = ROOT / "src" / "remission" / "kinetics" / "stein.py"
        for name in a.sets:
            data = profiles(name)
            n = pd.read_parquet(data)["patient_id"].nunique()
            outs = {k: Path(tmp) / f"{name}-{k}.txt" for k in ("baseline", "head")}
            cmds = {k: f"{sys.executable} {Path(__file__).resolve()} --side {src} {data} "
                       f"{outs[k]}" for k, src in (("baseline", base),
                                                               ("head", head))}
            print(f"== {name}: {n} patients; baseline {a.baseline} vs this checkout")
            res, bad = ab_commands.run(list(cmds.values()), a.reps)
            failed += bad
            med = {}
            for k, c in cmds.items():
                wall = sorted(x[0] for x in res[c])
                cpu = sorted(x[1] for x in res[c])
                med[k] = cpu[len(cpu) // 2]
                fit = sorted(float(x) for x in Path(f"{outs[k]}.cpu").read_text().split())
                print(f"{k:8s} process wall median {wall[len(wall) // 2]:7.2f} s | process CPU "
                      f"median {med[k]:7.2f} s (min {cpu[0]:.2f}) | fit_stein CPU median "
                      f"{fit[len(fit) // 2]:7.2f} s (min {fit[0]:.2f})")
                med[k] = fit[len(fit) // 2]
            same = outs["baseline"].read_bytes() == outs["head"].read_bytes()
            failed += not same
            print(f"fit_stein CPU ratio baseline / head {med['baseline'] / med['head']:.2f}x; "
                  "outputs "
                  f"{'byte-identical' if same else 'DIFFER'}; 1-min load "
                  f"{__import__('os').getloadavg()[0]:.1f}; "
                  f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
