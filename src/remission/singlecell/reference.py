"""FASTA / GTF records that add a CAR construct to a genome reference.

Counting CAR transcripts needs the construct in the reference (Cell Ranger ``mkref``,
STARsolo, kallisto|bustools all take a FASTA + GTF). The construct becomes its own contig;
one ``exon`` spans the whole transcript (so 3' reads near the poly(A) signal, typically in
WPRE / the 3' LTR, are counted) and, optionally, each element (scFv, hinge, 4-1BB, CD3ζ,
RQR8, WPRE ...) is annotated as its own gene so the matrix gets one feature per element
for diagnostics. Elements homologous to human genes (CD8 hinge, 4-1BB, CD3ζ, CD34/CD20
epitopes of RQR8) may lose multi-mapping reads; prefer scFv / WPRE / linker features for
the CAR call (see docs/singlecell.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from remission.errors import InputError, Problem


@dataclass(frozen=True)
class Element:
    """A named element of the construct, 1-based inclusive coordinates on its contig."""

    name: str
    start: int
    end: int


def construct_records(name: str, sequence: str, elements: Sequence[Element] = (),
                      strand: str = "+", width: int = 60) -> tuple[str, str]:
    """FASTA and GTF text for a construct contig.

    Parameters
    ----------
    name : str
        Contig and gene name of the whole construct (e.g. "CAR-CLL1").
    sequence : str
        Nucleotide sequence (A, C, G, T, N; case-insensitive) of the transcribed construct.
    elements : sequence of Element
        Optional sub-features, each written as its own gene/transcript/exon.
    strand : {"+", "-"}
        Strand of transcription on the contig.
    width : int
        FASTA line width.

    Returns
    -------
    fasta, gtf : str
        Text to append to the genome FASTA and GTF before building the index.

    Examples
    --------
    >>> fa, gtf = construct_records("CAR-X", "ACGT" * 30, [Element("CAR-X-scFv", 1, 60)])
    >>> fa.splitlines()[0]
    '>CAR-X'
    >>> len(gtf.splitlines())
    6
    """
    seq = sequence.upper().replace("\n", "").replace(" ", "")
    probs = []
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        probs.append(Problem("construct", "invalid contig name", value=name,
                             expected="letters, digits, _ . -"))
    bad = sorted(set(seq) - set("ACGTN"))
    if not seq or bad:
        probs.append(Problem("construct", "invalid nucleotide sequence",
                             value="".join(bad) or "(empty)", expected="A, C, G, T, N"))
    if strand not in ("+", "-"):
        probs.append(Problem("construct", "invalid strand", value=strand, expected='"+" or "-"'))
    for e in elements:
        if not (1 <= e.start <= e.end <= len(seq)):
            probs.append(Problem("construct", "element outside the construct",
                                 column=e.name, value=f"{e.start}-{e.end}",
                                 expected=f"1 <= start <= end <= {len(seq)}"))
    if probs:
        raise InputError(probs)
    fasta = f">{name}\n" + "".join(seq[i:i + width] + "\n" for i in range(0, len(seq), width))
    lines = []
    for gname, s, e in [(name, 1, len(seq)), *((x.name, x.start, x.end) for x in elements)]:
        attrs_g = f'gene_id "{gname}"; gene_name "{gname}"; gene_biotype "protein_coding";'
        attrs_t = (f'gene_id "{gname}"; transcript_id "{gname}"; gene_name "{gname}"; '
                   f'gene_biotype "protein_coding";')
        lines.append(f"{name}\tremission\tgene\t{s}\t{e}\t.\t{strand}\t.\t{attrs_g}")
        lines.append(f"{name}\tremission\ttranscript\t{s}\t{e}\t.\t{strand}\t.\t{attrs_t}")
        lines.append(f"{name}\tremission\texon\t{s}\t{e}\t.\t{strand}\t.\t{attrs_t} "
                     'exon_number "1";')
    return fasta, "\n".join(lines) + "\n"


def write_construct_reference(folder: str | Path, name: str, sequence: str,
                              elements: Sequence[Element] = ()) -> tuple[Path, Path]:
    """Write ``<name>.fa`` and ``<name>.gtf`` into ``folder`` (atomically).

    Parameters
    ----------
    folder : str or Path
        Output folder.
    name, sequence, elements
        As :func:`construct_records`.

    Returns
    -------
    tuple of Path
        The FASTA and GTF paths. Append them to the genome's FASTA/GTF, then e.g.
        ``cellranger mkref --genome=GRCh38_CAR --fasta=genome_plus_CAR.fa
        --genes=genes_plus_CAR.gtf``.

    Examples
    --------
    >>> import tempfile
    >>> fa, gtf = write_construct_reference(tempfile.mkdtemp(), "CAR-CLL1", "ACGT" * 50,
    ...                                     [Element("CAR-WPRE", 101, 200)])
    >>> fa.read_text().splitlines()[0], fa.name, gtf.name
    ('>CAR-CLL1', 'CAR-CLL1.fa', 'CAR-CLL1.gtf')
    >>> [line.split()[2:5] for line in gtf.read_text().splitlines() if "exon" in line]
    [['exon', '1', '200'], ['exon', '101', '200']]
    """
    from remission.io.atomic import write_text

    fasta, gtf = construct_records(name, sequence, elements)
    folder = Path(folder)
    return write_text(folder / f"{name}.fa", fasta), write_text(folder / f"{name}.gtf", gtf)
