"""CTCAE v5.0 adverse-event terms and the grades each one defines.

Source: NCI Common Terminology Criteria for Adverse Events v5.0 (27 Nov 2017). The
curated table ships as ``remission/data/ctcae_v5_terms.csv`` (see its README). A grade
marked "-" in CTCAE does not exist for that term: Fatigue has no grade 4, Hypoxia no
grade 1, Sepsis only grades 4-5. Lookups are case-insensitive and accept the listed
synonyms (e.g. "Neutropenia" -> "Neutrophil count decreased").
"""

from __future__ import annotations

import csv
import difflib
import re
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
    """The CTCAE v5.0 term of a written adverse-event name (a term or a listed synonym).

    Matching ignores case and surrounding spaces; there is no spelling guess.

    Parameters
    ----------
    term : str
        The name as written (e.g. in adverse_events.csv).

    Returns
    -------
    Term or None
        ``term`` (CTCAE v5.0 term), ``soc`` (system organ class), ``min_grade`` and
        ``max_grade`` (the grades CTCAE defines for it); None when not listed.

    References
    ----------
    National Cancer Institute. Common Terminology Criteria for Adverse Events v5.0, 2017.

    Examples
    --------
    CTCAE v5.0 defines febrile neutropenia from grade 3 to grade 5:

    >>> t = lookup(" febrile NEUTROPENIA ")
    >>> t.term, t.soc, t.min_grade, t.max_grade
    ('Febrile neutropenia', 'Blood and lymphatic system disorders', 3, 5)
    >>> lookup("neutropenic fevr") is None
    True
    """
    return _table().get(term.strip().lower())


@dataclass(frozen=True)
class Mapping:
    """How a verbatim AE term was coded: ``how`` is ``exact``, ``synonym``,
    ``qualified infection`` (organism/site qualifier dropped), ``spelling`` (nearest
    term) or ``unmapped``; ``confidence`` 1.0 for exact/synonym, 0.9 for a qualified
    infection, the similarity ratio for a spelling match, 0 when unmapped."""

    verbatim: str
    term: Term | None
    how: str
    confidence: float
    note: str = ""


#: Site words of infection verbatims -> CTCAE v5.0 term, checked in order (first wins;
#: sepsis before the site, as a coder codes the systemic event).
_INFECTION_SITES: tuple[tuple[str, str], ...] = (
    (r"\bsep(sis|tic|ticaemia|ticemia)\b|\burosepsis\b", "Sepsis"),
    (r"\bbacter(a)?emia\b|\bblood ?stream infection\b|\bbsi\b", "Bacteremia"),
    (r"\bcatheter|\bline infection\b|\bclabsi\b|\bport infection\b",
     "Catheter related infection"),
    (r"\bpneumonia\b|\bbronchopneumonia\b|\blung infection\b|\bpulmonary infection\b|"
     r"\bchest infection\b|\blower respiratory (tract )?infection\b", "Lung infection"),
    (r"\burinary tract infection\b|\buti\b|\bcystitis\b", "Urinary tract infection"),
    (r"\bcellulitis\b|\bskin infection\b|\bsoft tissue infection\b", "Skin infection"),
    (r"\b(entero)?colitis\b|\bgastroenteritis\b|\bc\.? ?diff", "Enterocolitis infectious"),
    (r"\bupper respiratory\b|\burti\b|\brhinovirus\b|\bcommon cold\b",
     "Upper respiratory infection"),
    (r"\bsinusitis\b", "Sinusitis"),
)
_INFECTIOUS = re.compile(
    r"infect|sep(sis|tic)|bacter|pneumonia|cellulitis|cystitis|sinusitis|uti\b|"
    r"urti\b|bsi\b|pseudomon|klebsiell|coli\b|staph|strep|enterococc|aspergill|candid|"
    r"mucor|cmv|cytomegalo|ebv|hhv|adenovir|rhinovir|covid|sars|influenza|rsv|herpes|"
    r"zoster|fung|myco|viral|virus|clostri|c\.? ?diff", re.IGNORECASE)

SPELLING_CUTOFF = 0.85
_BRITISH = ((r"ae", "e"), (r"oe", "e"), (r"tumour", "tumor"), (r"haem", "hem"))


def _american(s: str) -> str:
    for a, b in _BRITISH:
        s = re.sub(a, b, s)
    return s


def map_term(verbatim: str) -> Mapping:
    """Code a verbatim adverse-event term to a CTCAE v5.0 term, as a coder would.

    Order: exact term or listed synonym; an organism- or site-qualified infection
    (e.g. "Pseudomonal sepsis" -> Sepsis, "E. coli bacteraemia" -> Bacteremia, "CMV
    pneumonia" -> Lung infection; CTCAE v5.0 codes infections by site, the organism is
    not part of the term); the nearest CTCAE term or synonym by spelling (difflib ratio
    >= 0.85, e.g. "Hypoxai" -> Hypoxia; British spellings such as "Anaemia" first read
    as American, CTCAE's spelling); otherwise unmapped. The mapping and its
    confidence are returned so every use can show them.

    Parameters
    ----------
    verbatim : str
        The term as written (AE table or adverse_events.csv).

    Returns
    -------
    Mapping

    Examples
    --------
    >>> map_term("Pseudomonal sepsis").term.term
    'Sepsis'
    >>> m = map_term("Thrombocytopnia")
    >>> (m.term.term, m.how)
    ('Platelet count decreased', 'spelling')
    >>> map_term("dedma").how
    'unmapped'
    """
    t = lookup(verbatim)
    if t is not None:
        how = "exact" if t.term.lower() == verbatim.strip().lower() else "synonym"
        return Mapping(verbatim, t, how, 1.0)
    low = verbatim.strip().lower()
    if _INFECTIOUS.search(low):
        for pat, term in _INFECTION_SITES:
            if re.search(pat, low):
                rest = re.sub(r"\s+", " ", re.sub(pat, " ", low)).strip(" ,-()")
                note = (f"organism/site qualifier '{rest}' dropped: CTCAE v5.0 codes "
                        "infections by site" if rest else "infection coded by site")
                return Mapping(verbatim, _table()[term.lower()], "qualified infection", 0.9,
                               note)
    am = _american(low)
    t = lookup(am)
    if t is not None:
        return Mapping(verbatim, t, "spelling", 1.0,
                       f"British spelling read as '{am}'")
    names = list(_table())
    close = difflib.get_close_matches(low, names, n=1, cutoff=SPELLING_CUTOFF)
    if close:
        ratio = round(difflib.SequenceMatcher(None, low, close[0]).ratio(), 2)
        t = _table()[close[0]]
        shown = "" if close[0] == t.term.lower() else f" (listed as '{close[0]}')"
        return Mapping(verbatim, t, "spelling", ratio,
                       f"nearest CTCAE v5.0 term by spelling{shown}, similarity {ratio:.2f}")
    return Mapping(verbatim, None, "unmapped", 0.0)


def names() -> list[tuple[str, str]]:
    """Every accepted name (terms and synonyms) with its CTCAE v5.0 term, sorted by name.

    Returns
    -------
    list of (str, str)
        ``(accepted name, CTCAE term)`` pairs.

    Examples
    --------
    >>> ("neutropenia", "Neutrophil count decreased") in names()
    True
    """
    return sorted((k, t.term) for k, t in _table().items())
