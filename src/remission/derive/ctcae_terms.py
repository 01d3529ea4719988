"""CTCAE v5.0 adverse-event terms and the grades each one defines.

Source: NCI Common Terminology Criteria for Adverse Events v5.0 (27 Nov 2017). The
curated table ships as ``remission/data/ctcae_v5_terms.csv`` (see its README). A grade
marked "-" in CTCAE does not exist for that term: Fatigue has no grade 4, Hypoxia no
grade 1, Sepsis only grades 4-5. Lookups are case-insensitive and accept the listed
synonyms (e.g. "Neutropenia" -> "Neutrophil count decreased").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

VERSION = "CTCAE v5.0"


@dataclass(frozen=True)
class Term:
    term: str
    soc: str
    min_grade: int
    max_grade: int

    def allows(self, grade: int) -> bool:
        return self.min_grade <= grade <= self.max_grade

    def grades_text(self) -> str:
        return f"grades {self.min_grade}-{self.max_grade}"


@lru_cache(maxsize=1)
def _table() -> dict[str, Term]:
    index: dict[str, Term] = {}
    text = resources.files("remission.data").joinpath("ctcae_v5_terms.csv").read_text("utf-8")
    for rec in csv.DictReader(text.splitlines()):
        t = Term(rec["term"], rec["soc"], int(rec["min_grade"]), int(rec["max_grade"]))
        index[t.term.lower()] = t
        for syn in filter(None, (s.strip() for s in rec["synonyms"].split(";"))):
            index[syn.lower()] = t
    return index


def lookup(term: str) -> Term | None:
    """The CTCAE v5.0 term for ``term`` (or a listed synonym), else None."""
    return _table().get(term.strip().lower())
