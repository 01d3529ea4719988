"""Audit: reported claims vs recomputed Results, and reported tables' internal consistency."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pandas as pd

from remission.analyses import Analysis
from remission.audit.claims import AGREES, CANNOT, DISAGREES, UNRESOLVED, evaluate, read_claims
from remission.audit.consistency import check_ae_summary
from remission.results import Result

__all__ = ["AGREES", "CANNOT", "DISAGREES", "UNRESOLVED", "audit_study"]

REF = ("Brown NJL, Heathers JAJ. The GRIM test: a simple technique detects numerous anomalies "
       "in the reporting of results in psychology. Soc Psychol Personal Sci 2017;8:363-369.",)


def audit_study(analysis: Analysis) -> list[Result]:
    """Audit Results: claims (if the study names a claims file) and internal consistency.

    Parameters
    ----------
    analysis : Analysis
        From :func:`remission.pipeline.analyse`; its Results are what claims are checked
        against.

    Returns
    -------
    list of Result
        ``audit.claims`` (one row per claim: ``reported, recomputed, difference, verdict,
        why``; verdicts ``agrees``, ``disagrees``, ``cannot be checked``) when study.toml
        names a claims file, published comparisons reconstructed from the same file, and
        ``audit.consistency`` when the study has a reported adverse-event table.

    Raises
    ------
    InputError
        When the claims file is malformed (every problem, with its line).

    References
    ----------
    Brown NJL, Heathers JAJ. Soc Psychol Personal Sci 2017;8:363-369 (GRIM).

    Examples
    --------
    >>> from remission.pipeline import analyse
    >>> from remission.study import load_study
    >>> claims, consistency = audit_study(analyse(load_study("examples/cll1-post-hsct"),
    ...                                           figures=False))
    >>> claims.table["verdict"].value_counts().to_dict()
    {'agrees': 52, 'cannot be checked': 28, 'disagrees': 10}
    """
    study = analysis.study
    out: list[Result] = []
    if study.config.claims:
        path = study.folder / study.config.claims
        claims = read_claims(path, Path(study.config.claims).name)
        rows = {c.id: evaluate(c, analysis.results, analysis.adsl) for c in claims}
        table = pd.DataFrame.from_dict(rows, orient="index")
        if table.empty:  # a claims file without claims: an empty audit, not an error
            table = pd.DataFrame(columns=["source", "text", "reported", "recomputed",
                                          "difference", "verdict", "why"])
        counts = table["verdict"].value_counts()
        summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in (AGREES, DISAGREES, CANNOT))
        warn = ()
        if counts.get(DISAGREES, 0):
            warn = (f"{counts[DISAGREES]} reported numbers disagree with the study's own "
                    "patient-level data.",)
        out.append(Result(
            "audit.claims", f"Reported numbers vs recomputed ({summary})", table,
            "Each number reported in the publication is recomputed from the patient-level data "
            "and compared at the precision it was printed with (rounding half-up or half-even "
            "both accepted).",
            "A claim agrees only if the recomputed value prints identically; claims whose data "
            "are not in the study are listed as not checkable, with the reason.",
            warn, REF, {"claims_file": str(study.config.claims)}, "audit"))
        if _has_evidence_claims(path):
            from remission.evidence.claims import reconstruct_claims

            out.extend(r if r.section == "audit" else replace(r, section="audit")
                       for r in reconstruct_claims(path, adsl=analysis.adsl))
    summary_table = study.tables.get("adverse_events_summary")
    if summary_table is not None:
        rows = check_ae_summary(summary_table, study.n)
        if rows:
            out.append(Result(
                "audit.consistency", "Internal consistency of reported tables",
                pd.DataFrame.from_dict(rows, orient="index"),
                "Reported tables are checked for impossibilities: grades the CTCAE v5.0 term "
                "does not define, counts above the number of patients, worst-grade counts above "
                "any-grade counts.", "", (), REF, {}, "audit"))
    return out


def _has_evidence_claims(path: Path) -> bool:
    """Does the claims file also hold published comparisons to reconstruct?"""
    data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    return any(k in data for k in ("comparison", "mean", "median", "ratio", "range"))
