"""Minimal VCF reader for SNP chimerism: genotypes of the recipient and donor(s) and the
allele depths of mixed samples, from one multi-sample VCF (plain or gzip).

Only biallelic SNVs are used (REF and ALT one base each, one ALT). Genotypes from ``GT``
(``0/0``, ``0/1``, ``1/1``, phased or not; missing ``./.`` skipped); reads from ``AD``
(ref,alt) of each mixed sample. The result is the long table of
``chimerism_snps.csv`` (docs/study-format.md).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from remission.errors import Problem

__all__ = ["read_vcf_snps"]

_GT = {"0/0": 0, "0|0": 0, "0/1": 1, "1/0": 1, "0|1": 1, "1|0": 1, "1/1": 2, "1|1": 2}


def read_vcf_snps(path: str | Path, patient: str, recipient: str, donors: Sequence[str],
                  mixtures: Sequence[dict]) -> tuple[pd.DataFrame, list[Problem]]:
    """Long SNP table from a VCF.

    Parameters
    ----------
    path:
        VCF file (``.vcf`` or ``.vcf.gz``).
    patient:
        Patient id the rows belong to.
    recipient, donors:
        VCF sample names holding the recipient's and one or two donors' genotypes.
    mixtures:
        ``{"sample": <VCF sample>, "day": int, "lineage": str}`` per mixed sample.

    Returns
    -------
    tuple
        ``(table, problems)``; columns ``patient, sample, day, lineage, snp, source,
        genotype, alt, depth``.

    Examples
    --------
    >>> import tempfile, os
    >>> txt = ("##fileformat=VCFv4.2\\n#CHROM\\tPOS\\tID\\tREF\\tALT\\tQUAL\\tFILTER\\tINFO\\t"
    ...        "FORMAT\\tR\\tD\\tM\\nchr1\\t100\\trs1\\tA\\tG\\t.\\tPASS\\t.\\tGT:AD\\t0/0:30,0\\t"
    ...        "1/1:0,30\\t0/1:70,30\\n")
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "x.vcf")
    >>> _ = open(p, "w").write(txt)
    >>> t, probs = read_vcf_snps(p, "P1", "R", ["D"], [{"sample": "M", "day": 14,
    ...                                                  "lineage": "WB"}])
    >>> t[["source", "genotype", "alt", "depth"]].values.tolist()
    [['recipient', 0, 30, 100], ['D', 2, 30, 100]]
    """
    p = Path(path)
    probs: list[Problem] = []
    opener = gzip.open if p.name.endswith(".gz") else open
    rows = []
    try:
        fh = opener(p, "rt", encoding="utf-8")
    except FileNotFoundError:
        return pd.DataFrame(), [Problem(str(p), "VCF file not found")]
    with fh:
        header: list[str] | None = None
        for ln, line in enumerate(fh, start=1):
            if line.startswith("##"):
                continue
            f = line.rstrip("\n").split("\t")
            if line.startswith("#CHROM"):
                header = f
                names = f[9:]
                for s in [recipient, *donors, *(m["sample"] for m in mixtures)]:
                    if s not in names:
                        probs.append(Problem(str(p), "sample not in the VCF header", row=ln,
                                             value=s, expected="one of " + ", ".join(names)))
                if probs:
                    return pd.DataFrame(), probs
                continue
            if header is None:
                probs.append(Problem(str(p), "data line before the #CHROM header", row=ln))
                return pd.DataFrame(), probs
            if len(f) != len(header):
                probs.append(Problem(str(p), f"{len(f)} fields", row=ln,
                                     expected=f"{len(header)} as in the header"))
                continue
            ref, alt = f[3], f[4]
            if len(ref) != 1 or len(alt) != 1 or alt in (".", "*"):
                continue  # not a biallelic SNV
            fmt = f[8].split(":")
            if "GT" not in fmt or "AD" not in fmt:
                probs.append(Problem(str(p), "FORMAT lacks GT or AD", row=ln, value=f[8],
                                     expected="GT and AD"))
                continue
            cell = {name: dict(zip(fmt, v.split(":"), strict=False))
                    for name, v in zip(header[9:], f[9:], strict=True)}
            gts = {s: _GT.get(cell[s].get("GT", "")) for s in [recipient, *donors]}
            if any(g is None for g in gts.values()):
                continue  # missing genotype: SNP not usable
            snp = f[2] if f[2] != "." else f"{f[0]}:{f[1]}"
            for m in mixtures:
                ad = cell[m["sample"]].get("AD", "")
                try:
                    r_, a_ = (int(x) for x in ad.split(","))
                except ValueError:
                    continue  # no depth for this sample at this SNP
                for src, g in gts.items():
                    rows.append((patient, m["sample"], int(m["day"]), str(m["lineage"]), snp,
                                 "recipient" if src == recipient else src, g, a_, r_ + a_))
    cols = ["patient", "sample", "day", "lineage", "snp", "source", "genotype", "alt", "depth"]
    return pd.DataFrame(rows, columns=cols), probs
