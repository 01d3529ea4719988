"""Command line: ``remission validate|report|audit|simulate|lab``.

Thin layer over the library (:mod:`remission.pipeline` and friends). Bad input prints every
problem and exits with status 2; an unexpected failure prints one line (no traceback unless
REMISSION_DEBUG=1) and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from remission.errors import InputError

EXIT_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except Exception as exc:
        if os.environ.get("REMISSION_DEBUG"):
            raise
        print(f"remission: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="remission", description=__doc__.splitlines()[0])
    from remission import __version__

    p.add_argument("--version", action="version", version=f"remission {__version__}")
    sub = p.add_subparsers(metavar="command")

    v = sub.add_parser("validate", help="check a study folder; list every problem")
    v.add_argument("study", type=Path)
    v.set_defaults(func=_validate)

    r = sub.add_parser("report", help="write report.html, results.json and tables.docx")
    r.add_argument("study", type=Path)
    r.add_argument("--out", type=Path, default=None, help="output folder (default: STUDY/report)")
    r.set_defaults(func=_report)

    a = sub.add_parser("audit", help="compare reported numbers with recomputed ones")
    a.add_argument("study", type=Path)
    a.add_argument("--all", action="store_true", help="also list claims that agree")
    a.set_defaults(func=_audit)

    s = sub.add_parser("simulate", help="run an in-silico trial design into a study folder")
    s.add_argument("design", type=Path, help="trial design TOML")
    s.add_argument("--out", type=Path, required=True, help="study folder to write")
    s.add_argument("--n", type=int, default=None, help="patients per arm (overrides design)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--workers", type=int, default=None,
                   help="local Dask workers (default: one per core; 0 = no Dask)")
    s.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    s.set_defaults(func=_simulate)

    lab = sub.add_parser("lab", help="translational lab analyses")
    lab_sub = lab.add_subparsers(metavar="action")
    lr = lab_sub.add_parser("report", help="report on a lab/ folder")
    lr.add_argument("folder", type=Path)
    lr.add_argument("--out", type=Path, default=None, help="output folder (default: FOLDER/report)")
    lr.set_defaults(func=_lab_report)
    return p


def _validate(args: argparse.Namespace) -> int:
    from remission.study import load_study

    study = load_study(args.study)
    extra = ", ".join(f"{k} ({len(v)} rows)" for k, v in study.tables.items())
    print(f"{args.study}: valid — {study.n} patients" + (f"; {extra}" if extra else ""))
    for w in study.warnings:
        print(f"warning: {w}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from remission.pipeline import bundle_for
    from remission.report import write_report

    bundle = bundle_for(args.study)
    out = args.out or (args.study / "report")
    paths = write_report(bundle, out)
    for p in paths.values():
        print(p)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from remission.pipeline import bundle_for

    bundle = bundle_for(args.study, figures=False)
    audits = bundle.results.by_section("audit")
    if not audits:
        print("nothing to audit: study.toml names no claims file and no reported tables")
        return 0
    for res in audits:
        print(res.title)
        if "verdict" not in res.table.columns:  # evidence reconstructions: print the table
            print(res.table.to_string(max_colwidth=60))
            continue
        for key, row in res.table.iterrows():
            if row["verdict"] == "agrees" and not args.all:
                continue
            print(f"  [{row['verdict']}] {key}: {row['text']} — {row['why']}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from remission.sim.trial import cli_simulate

    folder = cli_simulate(args.design, args.out, n=args.n, seed=args.seed,
                          workers=args.workers, scheduler=args.scheduler)
    print(folder)
    return 0


def _lab_report(args: argparse.Namespace) -> int:
    from remission.pipeline import lab_bundle
    from remission.report import write_report

    bundle = lab_bundle(args.folder)
    paths = write_report(bundle, args.out or (args.folder / "report"))
    for p in paths.values():
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
