"""Command line: ``remission validate|report|audit|simulate|web|lab``.

Thin layer over the library (:mod:`remission.pipeline` and friends). Bad input prints every
problem and exits with status 2; an unexpected failure prints one line (no traceback unless
REMISSION_DEBUG=1) and exits with status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from remission.errors import InputError, Problem
from remission.progress import step, terminal_progress

EXIT_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    """Run one ``remission`` command (the console script's entry point).

    Parameters
    ----------
    argv : list of str, optional
        The command line after the program name, e.g. ``["validate", "my-study"]``;
        ``None`` reads ``sys.argv[1:]``. ``remission <command> --help`` lists each
        command's options and examples.

    Returns
    -------
    int
        The exit status: 0 done, 2 bad input (every problem printed to stderr with file,
        row and column; no command given prints the help), 3 an ``audit --fail-on``
        condition met, 130 interrupted, 1 an unexpected internal error (one line on
        stderr; the traceback is raised instead when the environment variable
        ``REMISSION_DEBUG`` is set). Argument errors exit through argparse
        (``SystemExit`` with status 2).

    Examples
    --------
    A folder that does not exist is bad input (status 2; the problem goes to stderr):

    >>> main(["validate", "no-such-study-folder"])
    2
    """
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


EXIT_AUDIT = 3  # `audit --fail-on`: the audit found what the caller asked to fail on

EXAMPLES = {
    "validate": """examples:
  remission validate examples/cll1-post-hsct      # a study folder
  remission validate examples/seed000-ven-cll1    # aggregate published numbers only
exit status: 0 valid (report and audit will run), 2 problems listed (file, line, column)""",
    "report": """examples:
  remission report examples/cll1-post-hsct --out build/demo
  remission report my-study                        # writes my-study/report/
exit status: 0 written, 2 bad input (nothing written)""",
    "audit": """examples:
  remission audit examples/cll1-post-hsct          # disagreements and uncheckable claims
  remission audit examples/cll1-post-hsct --all    # also the claims that agree
  remission audit my-study --fail-on disagree      # exit 3 when a number disagrees (CI gate)
exit status: 0 done, 2 bad input, 3 --fail-on condition met""",
    "simulate": """examples:
  remission simulate examples/designs/seed002_cll1_cart_dose_groups.toml --out build/sim
  remission simulate DESIGN.toml --out build/sim --n 20 --seed 7 --workers 0
exit status: 0 written, 2 bad design or arguments""",
    "web": """examples:
  remission web                                    # http://127.0.0.1:8000/, demo account printed
  remission web --port 8080 --home build/web       # SQLite database in build/web
  DATABASE_URL=postgresql://user:pw@127.0.0.1/remission remission web
exit status: 0 stopped, 1 the [web] extra is not installed, 2 non-loopback host""",
    "lab report": """examples:
  remission lab report examples/synthetic-lab --out build/lab
exit status: 0 written, 2 bad input (nothing written)""",
}


def _count(low: int) -> type:
    """An argparse type: a whole number >= ``low`` (argparse then exits 2 with a message)."""

    def parse(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is less than {low}")
        return value

    parse.__name__ = f"whole number >= {low}"
    return parse  # type: ignore[return-value]


def _sub(sub: argparse._SubParsersAction, name: str, help_: str, key: str | None = None
         ) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_, description=help_, epilog=EXAMPLES[key or name],
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="remission", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  remission validate STUDY\n  remission report STUDY --out DIR\n"
               "  remission audit STUDY --fail-on disagree\n"
               "  remission simulate DESIGN.toml --out DIR\n  remission web\n"
               "  remission lab report LABFOLDER\n"
               "run `remission COMMAND --help` for each command's options and examples")
    from remission import __version__

    p.add_argument("--version", action="version", version=f"remission {__version__}")
    sub = p.add_subparsers(metavar="command")

    v = _sub(sub, "validate", "check a study folder; list every problem")
    v.add_argument("study", type=Path, help="study folder (or aggregate-only claims folder)")
    v.set_defaults(func=_validate)

    r = _sub(sub, "report", "write report.html, results.json and tables.docx")
    r.add_argument("study", type=Path, help="study folder (or aggregate-only claims folder)")
    r.add_argument("--out", type=Path, default=None,
                   help="output folder, created if needed (default: STUDY/report)")
    r.set_defaults(func=_report)

    a = _sub(sub, "audit", "compare reported numbers with recomputed ones")
    a.add_argument("study", type=Path, help="study folder with a claims file, or an "
                   "aggregate-only claims folder")
    a.add_argument("--all", action="store_true", help="also list claims that agree")
    a.add_argument("--fail-on", choices=("disagree", "warning"), default=None,
                   help="exit with status 3 when a claim disagrees ('disagree'), or when a "
                        "claim disagrees or a reconstruction warns ('warning')")
    a.set_defaults(func=_audit)

    s = _sub(sub, "simulate", "run an in-silico trial design into a study folder")
    s.add_argument("design", type=Path, help="trial design TOML")
    s.add_argument("--out", type=Path, required=True, help="study folder to write")
    s.add_argument("--n", type=_count(1), default=None,
                   help="patients per arm, >= 1 (default: the design's)")
    s.add_argument("--seed", type=_count(0), default=0, help="random seed, >= 0 (default 0)")
    s.add_argument("--workers", type=_count(0), default=None,
                   help="local Dask workers (default: one per core; 0 = no Dask)")
    s.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    s.add_argument("--force", action="store_true",
                   help="replace a non-empty --out folder as a whole (never mixed)")
    s.add_argument("--no-observations", action="store_true",
                   help="omit observations.csv (grades are still derived from them)")
    s.add_argument("--parquet", action="store_true",
                   help="large runs: stream the tables to Parquet part files written by the "
                        "workers (memory bounded; read with pandas/pyarrow/Dask), not a "
                        "study folder")
    s.set_defaults(func=_simulate)

    w = _sub(sub, "web", "start the web application on 127.0.0.1 (demo account)")
    w.add_argument("--port", type=int, default=8000)
    w.add_argument("--host", default="127.0.0.1", help="loopback address only")
    w.add_argument("--home", type=Path, default=None,
                   help="folder for the SQLite database and secret key "
                        "(default ~/.remission/web; DATABASE_URL selects PostgreSQL)")
    w.add_argument("--no-demo", action="store_true", help="do not load the demo studies")
    w.add_argument("--workers", type=int, default=None,
                   help="server processes (gunicorn; default one per core, 2 to 8; "
                        "1 = one process, Django's threaded server)")
    w.add_argument("--threads", type=int, default=None,
                   help="threads per server process (default 4)")
    w.add_argument("--keepalive", type=int, default=None,
                   help="seconds an idle connection stays open (default 0: closed after "
                        "each response, so requests spread over the processes)")
    w.add_argument("--switch-interval", type=float, default=None, metavar="MS",
                   help="milliseconds a server thread runs Python before another thread "
                        "of its process may take over (default Python's 5)")
    w.set_defaults(func=_web)

    lab = sub.add_parser("lab", help="translational lab analyses",
                         description="translational lab analyses",
                         epilog=EXAMPLES["lab report"],
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    lab_sub = lab.add_subparsers(metavar="action")
    lr = _sub(lab_sub, "report", "report on a lab/ folder", key="lab report")
    lr.add_argument("folder", type=Path, help="folder with lab.toml and assay tables")
    lr.add_argument("--out", type=Path, default=None,
                    help="output folder, created if needed (default: FOLDER/report)")
    lr.set_defaults(func=_lab_report)

    scp = sub.add_parser("singlecell", help="single-cell profiling of CAR products and blood")
    sc_sub = scp.add_subparsers(metavar="action")
    sr = sc_sub.add_parser("report", help="report on a study's singlecell/ data")
    sr.add_argument("folder", type=Path)
    sr.add_argument("--out", type=Path, default=None, help="output folder (default: FOLDER/report)")
    sr.set_defaults(func=_singlecell_report)
    sv = sc_sub.add_parser("validate", help="check a study's singlecell/ data; list every problem")
    sv.add_argument("folder", type=Path)
    sv.set_defaults(func=_singlecell_validate)
    return p


def _tty() -> bool:
    """Show progress only on an interactive terminal (never in pipes, logs or tests)."""
    return sys.stderr.isatty() and not os.environ.get("REMISSION_NO_PROGRESS")


def _check_out(out: Path) -> None:
    """An output folder must be a folder (or not exist yet): checked before any work."""
    bad = next((q for q in (out, *out.parents) if q.exists() and not q.is_dir()), None)
    if bad is not None:
        raise InputError([Problem(str(out), "output path is not a folder" if bad == out else
                                  f"'{bad}' is a file, so the output folder cannot be made",
                                  expected="a folder (existing or new) for the outputs")])
    if out.exists() and not os.access(out, os.W_OK | os.X_OK):
        raise InputError([Problem(str(out), "output folder is not writable",
                                  expected="a folder you can write to")])


def _validate(args: argparse.Namespace) -> int:
    from remission.pipeline import validate_folder

    with terminal_progress("validate", _tty()):
        summary = validate_folder(args.study)
    print(f"{args.study}: {summary}")
    return 0


@contextmanager
def _pandas_without_pyarrow() -> Iterator[None]:
    """Import pandas inside the block without letting it load pyarrow.

    When pyarrow is installed (the ``sim`` extra, for Parquet output), ``import pandas``
    imports it and ``pyarrow.compute`` at once (``pandas.compat.pyarrow``), on the
    longest path of a cold ``remission report`` (docs/performance.md), which never uses
    it: a report reads CSV/TOML and writes HTML, JSON and Word. pandas then works as
    without pyarrow installed; remission uses no pyarrow-backed dtype. The block only
    hides pyarrow from the imports made inside it; after it, ``import pyarrow`` works
    again. Nothing changes when pandas or pyarrow is already imported (a library caller).

    Returns
    -------
    contextmanager
    """
    hide = "pandas" not in sys.modules and "pyarrow" not in sys.modules
    if hide:
        sys.modules["pyarrow"] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        yield
    finally:
        if hide and sys.modules.get("pyarrow", 0) is None:
            del sys.modules["pyarrow"]


def _report(args: argparse.Namespace) -> int:
    out = args.out or (args.study / "report")
    _check_out(out)
    from remission.report.background import BackgroundFigures

    # a second process imports matplotlib and draws the figures while this one imports
    # pandas, reads the study and builds the tables (same bytes; docs/performance.md).
    # It is forked before pandas is imported: it draws without pandas.
    figures = BackgroundFigures()
    with _pandas_without_pyarrow():  # pandas is first imported here
        from remission.pipeline import bundle_for
        from remission.report import write_report

    with terminal_progress("report", _tty()):
        paths = write_report(bundle_for(args.study, background=figures), out)
    figures.close()
    for p in paths.values():
        print(p)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from remission.audit import DISAGREES
    from remission.pipeline import bundle_for

    with terminal_progress("audit", _tty()):
        bundle = bundle_for(args.study, figures=False)
    audits = bundle.results.by_section("audit")
    if not audits:
        print("audit: nothing to audit (study.toml names no claims file and no reported tables)")
        return 0
    counts: dict[str, int] = {}
    warned = 0
    for res in audits:
        if "verdict" in res.table.columns:
            for verdict, n in res.table["verdict"].value_counts().items():
                counts[str(verdict)] = counts.get(str(verdict), 0) + int(n)
        elif res.warnings:
            warned += 1
    recon = sum("verdict" not in r.table.columns for r in audits)
    parts = [f"{n} {v}" for v, n in sorted(counts.items())]
    if recon:
        parts.append(f"{recon} reconstructions ({warned} with warnings)")
    print("audit: " + (", ".join(parts) if parts else "no claims"))
    for res in sorted(audits, key=lambda r: -_n_disagree(r)):  # disagreements first
        print(res.title)
        if "verdict" not in res.table.columns:  # evidence reconstructions: print the table
            print(res.table.to_string(max_colwidth=60))
            for w in res.warnings:
                print(f"  warning: {w}")
            continue
        order = res.table.assign(_o=(res.table["verdict"] != DISAGREES)).sort_values(
            "_o", kind="stable")
        for key, row in order.iterrows():
            if row["verdict"] == "agrees" and not args.all:
                continue
            print(f"  [{row['verdict']}] {key}: {row['text']} — {row['why']}")
    failed = counts.get(DISAGREES, 0) > 0 or (args.fail_on == "warning" and warned > 0)
    return EXIT_AUDIT if args.fail_on and failed else 0


def _n_disagree(res: object) -> int:
    from remission.audit import DISAGREES

    table = res.table  # type: ignore[attr-defined]
    if "verdict" in table.columns:
        return int((table["verdict"] == DISAGREES).sum())
    return 1 if res.warnings else 0  # type: ignore[attr-defined]


def _simulate(args: argparse.Namespace) -> int:
    from remission.sim.trial import cli_simulate

    _check_out(args.out)

    with terminal_progress("simulate", _tty()):
        step(f"simulating {args.design.name}")
        folder = cli_simulate(args.design, args.out, n=args.n, seed=args.seed,
                              workers=args.workers, scheduler=args.scheduler,
                              force=args.force, observations=not args.no_observations,
                              parquet=args.parquet)
    print(folder)
    return 0


def _web(args: argparse.Namespace) -> int:
    try:
        from remission.web.serve import main as serve
    except ImportError as exc:
        print(f"remission web needs the [web] extra (pip install 'remission[web]'): {exc}",
              file=sys.stderr)
        return 1
    return serve(host=args.host, port=args.port, home=args.home, demo=not args.no_demo,
                 workers=args.workers, threads=args.threads, keepalive=args.keepalive,
                 switch_interval=args.switch_interval)


def _lab_report(args: argparse.Namespace) -> int:
    from remission.pipeline import lab_bundle
    from remission.report import write_report

    out = args.out or (args.folder / "report")
    _check_out(out)
    with terminal_progress("lab report", _tty()):
        paths = write_report(lab_bundle(args.folder), out)
    for p in paths.values():
        print(p)
    return 0


def _singlecell_report(args: argparse.Namespace) -> int:
    from remission.pipeline import singlecell_bundle
    from remission.report import write_report

    bundle = singlecell_bundle(args.folder)
    paths = write_report(bundle, args.out or (args.folder / "report"))
    for p in paths.values():
        print(p)
    return 0


def _singlecell_validate(args: argparse.Namespace) -> int:
    from remission.singlecell import load_singlecell

    st = load_singlecell(args.folder)
    if st.parts is not None:  # counts not read: checked block by block when run
        print(f"{args.folder}: valid — {st.adata.n_obs} cells in {len(st.samples)} samples, "
              f"{st.route}; counts are checked as they are read")
    else:
        print(f"{args.folder}: valid — {st.adata.n_obs} cells x {st.adata.n_vars} features "
              f"in {len(st.samples)} samples")
    for w in st.warnings:
        print(f"  warning: {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
