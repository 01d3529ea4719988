"""Controlled drug vocabulary: generic, brand and common spellings of the agents in
``treatments.csv``, with drug class and ATC code.

One data table, ``remission/data/drugs.csv`` (columns ``drug, drug_class, atc,
synonyms``), holds every name; see its README for sources. ATC codes are those of the
WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index (Oslo; e.g.
L04AC07 tocilizumab, H02AB02 dexamethasone, C01CA03 norepinephrine); procedures and
cell products (transplant, CAR-T cells, stem-cell boost) carry no ATC code.

Matching (:func:`match_agent`), in order: the exact name or synonym (case, spaces,
hyphens, ``®``/``™`` ignored); a name given in study.toml ``products`` (the study's own
cell product); then a spelling match (:func:`difflib.SequenceMatcher` ratio >= 0.85 to one
name, names of at least 5 letters) reported with its confidence. Anything else is
unknown. An unknown or spelling-matched agent is never dropped silently:
:func:`validate_treatments` returns one warning per distinct name, and the graders that
use treatments repeat them in their Result's warnings.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from remission.errors import Problem

__all__ = ["Drug", "Match", "canonical_agents", "drug", "drug_table", "match_agent",
           "validate_treatments"]

#: Lowest similarity ratio accepted for a spelling match.
FUZZY_CUTOFF = 0.85
ATC_SOURCE = "WHO Collaborating Centre for Drug Statistics Methodology, ATC/DDD Index"


@dataclass(frozen=True)
class Drug:
    """One entry of the drug vocabulary."""

    name: str
    drug_class: str
    atc: str
    synonyms: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """How a written agent name was read: ``how`` is exact, synonym, product, spelling or
    unknown; ``confidence`` is 1 for exact/synonym/product matches, the similarity ratio
    for a spelling match and 0 when unknown."""

    written: str
    drug: str | None
    how: str
    confidence: float
    matched_name: str = ""


def _key(name: str) -> str:
    s = str(name).strip().lower().replace("®", "").replace("™", "")
    return re.sub(r"[\s\-_]+", "", s)


@lru_cache(maxsize=1)
def drug_table() -> dict[str, Drug]:
    """The drug vocabulary by canonical name, read once from ``data/drugs.csv``.

    Returns
    -------
    dict of str to Drug
        Canonical name -> ``Drug(name, drug_class, atc, synonyms)``.

    Examples
    --------
    Tocilizumab's ATC code is L04AC07 (WHO ATC index):

    >>> d = drug_table()["tocilizumab"]
    >>> d.drug_class, d.atc, "Actemra" in d.synonyms
    ('anticytokine', 'L04AC07', True)
    """
    text = resources.files("remission.data").joinpath("drugs.csv").read_text("utf-8")
    out = {}
    for rec in csv.DictReader(text.splitlines()):
        syn = tuple(s.strip() for s in rec["synonyms"].split(";") if s.strip())
        out[rec["drug"]] = Drug(rec["drug"], rec["drug_class"], rec["atc"], syn)
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, tuple[str, str]]:
    """normalised key -> (canonical drug, the name as listed)."""
    idx: dict[str, tuple[str, str]] = {}
    for d in drug_table().values():
        for n in (d.name, *d.synonyms):
            k = _key(n)
            if k in idx and idx[k][0] != d.name:
                raise ValueError(f"drug vocabulary: {n!r} names two drugs")
            idx[k] = (d.name, n)
    return idx


def drug(name: str) -> Drug:
    """The vocabulary entry of a canonical drug name.

    Parameters
    ----------
    name : str
        The canonical name (as in ``data/drugs.csv``; brand names are not accepted here,
        see :func:`canonical_agents`).

    Returns
    -------
    Drug
        ``name, drug_class, atc, synonyms``.

    Raises
    ------
    KeyError
        ``name`` is not a canonical name.

    Examples
    --------
    >>> drug("tocilizumab").atc
    'L04AC07'
    >>> try:
    ...     drug("Actemra")
    ... except KeyError as e:
    ...     print(e)
    'Actemra'
    """
    return drug_table()[name]


@lru_cache(maxsize=4096)
def _match(written: str, products: tuple[str, ...]) -> Match:
    k = _key(written)
    if not k:
        return Match(written, None, "unknown", 0.0)
    hit = _index().get(k)
    if hit is not None:
        how = "exact" if _key(hit[0]) == k else "synonym"
        return Match(written, hit[0], how, 1.0, hit[1])
    if k in {_key(p) for p in products}:
        return Match(written, "study product", "product", 1.0, written)
    if len(k) >= 5:
        keys = [x for x in _index() if len(x) >= 5]
        close = difflib.get_close_matches(k, keys, n=2, cutoff=FUZZY_CUTOFF)
        if close:
            ratio = difflib.SequenceMatcher(None, k, close[0]).ratio()
            best = _index()[close[0]]
            # two different drugs equally close: ambiguous, do not guess
            if len(close) == 2 and _index()[close[1]][0] != best[0] and difflib.SequenceMatcher(
                    None, k, close[1]).ratio() == ratio:
                return Match(written, None, "unknown", 0.0)
            return Match(written, best[0], "spelling", round(ratio, 3), best[1])
    return Match(written, None, "unknown", 0.0)


def match_agent(written: str, products: Iterable[str] = ()) -> Match:
    """Read one written agent name against the vocabulary (see module docstring).

    Parameters
    ----------
    written : str
        The agent as written in treatments.csv.
    products : iterable of str
        The study's cell products (study.toml ``products``), accepted as written.

    Returns
    -------
    Match

    Examples
    --------
    >>> match_agent("RoActemra").drug
    'tocilizumab'
    >>> m = match_agent("tocilizumap")
    >>> (m.drug, m.how)
    ('tocilizumab', 'spelling')
    >>> match_agent("zzzumab").how
    'unknown'
    """
    return _match(str(written), tuple(str(p) for p in products))


def canonical_agents(agents: pd.Series, products: Iterable[str] = ()) -> pd.Series:
    """Canonical drug name per row (None when unknown), evaluated once per distinct name.

    Brand names and synonyms of ``data/drugs.csv`` map to the canonical name; the study's
    own ``products`` read as ``"study product"``.

    Parameters
    ----------
    agents : Series of str
        Agent names as written.
    products : iterable of str, default ()
        The study's products (study.toml ``products``).

    Returns
    -------
    Series
        Canonical name or None, same index as ``agents``.

    Examples
    --------
    >>> canonical_agents(pd.Series(["Actemra", "noradrenaline", "xyz"])).tolist()
    ['tocilizumab', 'norepinephrine', None]
    """
    products = tuple(products)
    uniq = pd.unique(agents.astype(str))
    lut = {u: match_agent(u, products).drug for u in uniq}
    return agents.astype(str).map(lut).astype(object)


def validate_treatments(df: pd.DataFrame, file: str = "treatments.csv",
                        products: Iterable[str] = ()) -> list[Problem]:
    """Warnings for agents not in the vocabulary or read through a spelling match.

    One :class:`~remission.errors.Problem` per distinct written name, on its first line
    (the index when it is the loader's ``line`` index, else position + 2), saying how
    many rows carry it. Rows with ``role`` given (e.g. ``infusion``) are still checked:
    the role says what the row is for, the name still has to be readable.

    Parameters
    ----------
    df : DataFrame
        treatments.csv (``agent`` and optionally ``role``).
    file : str, default "treatments.csv"
        File name for the messages.
    products : iterable of str, default ()
        The study's products, accepted as written.

    Returns
    -------
    list of Problem
        Warnings, not errors: the study still loads; unknown agents are simply not used
        by any rule, and the graders say so.

    Examples
    --------
    >>> tx = pd.DataFrame({"agent": ["Actemra", "tocilizumap", "foo"]})
    >>> [p.message.split(":")[0] for p in validate_treatments(tx)]
    ['agent read by spelling', 'agent not in the drug vocabulary']
    """
    if "agent" not in df.columns:
        return []
    lines = (df.index.to_numpy() if df.index.name == "line"
             else pd.RangeIndex(len(df)).to_numpy() + 2)
    products = tuple(products)
    out = []
    agents = df["agent"].astype(str).str.strip()
    for name in pd.unique(agents):
        if not name or name.lower() == "nan":
            continue
        m = match_agent(name, products)
        rows = lines[(agents == name).to_numpy()]
        n = f" ({len(rows)} rows)" if len(rows) > 1 else ""
        if m.how == "spelling":
            out.append(Problem(file, f"agent read by spelling: '{name}' taken as {m.drug} "
                               f"(closest listed name '{m.matched_name}', similarity "
                               f"{m.confidence:.2f}){n}", int(rows[0]), "agent", name,
                               "a name in remission/data/drugs.csv"))
        elif m.how == "unknown":
            out.append(Problem(file, f"agent not in the drug vocabulary: '{name}' is not used "
                               f"by any grading rule{n}", int(rows[0]), "agent", name,
                               "a generic or brand name in remission/data/drugs.csv, or a "
                               "study product named in study.toml"))
    return out
