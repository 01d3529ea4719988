"""Write GO biological-process gene sets under "immune system process" as a GMT file.

Source: the Gene Ontology as packaged by Bioconductor for Debian (``r-bioc-go.db`` 3.16.0,
``r-bioc-org.hs.eg.db`` 3.16.0: GO release 2022-07-01, Entrez Gene 2022-09-12), read from
their SQLite files with the standard library, no R needed. Terms: GO:0002376 "immune system
process" and all its BP offspring; genes: human symbols annotated to the term or any
descendant (``go_bp_all``, every evidence code, as clusterProfiler's ``enrichGO`` with
``org.Hs.eg.db``); kept when 10 to 500 genes (enrichGO's minGSSize / maxGSSize).
GO is CC BY 4.0 (cite The Gene Ontology Consortium, Nucleic Acids Res 2021;49:D325-D334).

Run (after ``apt-get install r-bioc-go.db r-bioc-org.hs.eg.db``):
``python scripts/make_go_genesets.py`` -> ``src/remission/data/genesets/go/`` (same bytes
every run).
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

ORG = Path("/usr/lib/R/site-library/org.Hs.eg.db/extdata/org.Hs.eg.sqlite")
GO = Path("/usr/lib/R/site-library/GO.db/extdata/GO.sqlite")
ROOT_TERM = "GO:0002376"
OUT = Path(__file__).resolve().parents[1] / "src" / "remission" / "data" / "genesets" / "go"


def build(min_size: int = 10, max_size: int = 500) -> tuple[str, str, list[str]]:
    g = sqlite3.connect(f"file:{GO}?mode=ro", uri=True)
    o = sqlite3.connect(f"file:{ORG}?mode=ro", uri=True)
    date = dict(g.execute("select name, value from metadata"))["GOSOURCEDATE"]
    eg_date = dict(o.execute("select name, value from metadata"))["GOEGSOURCEDATE"]
    rid = g.execute("select _id from go_term where go_id = ?", (ROOT_TERM,)).fetchone()[0]
    ids = {ROOT_TERM} | {r[0] for r in g.execute(
        "select t.go_id from go_bp_offspring o join go_term t on t._id = o._offspring_id "
        "where o._id = ?", (rid,))}
    names = dict(g.execute("select go_id, term from go_term where ontology = 'BP'"))
    genes: dict[str, set[str]] = {}
    for go_id, sym in o.execute(
            "select a.go_id, i.symbol from go_bp_all a join gene_info i on i._id = a._id"):
        if go_id in ids:
            genes.setdefault(go_id, set()).add(sym)
    lines = []
    for go_id in sorted(genes):
        gs = sorted(genes[go_id])
        if min_size <= len(gs) <= max_size:
            lines.append("\t".join([go_id, names[go_id], *gs]))
    return date, eg_date, lines


def main() -> None:
    date, eg_date, lines = build()
    OUT.mkdir(parents=True, exist_ok=True)
    head = [f"# GO biological process, offspring of {ROOT_TERM} immune system process; "
            f"GO release {date}, human annotations Entrez Gene {eg_date} (Bioconductor "
            "org.Hs.eg.db / GO.db 3.16.0, all evidence codes, propagated); sets of 10-500 "
            "genes. CC BY 4.0, Gene Ontology Consortium. Made by "
            "scripts/make_go_genesets.py."]
    path = OUT / f"go_bp_immune_{date}.gmt"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    print(path, len(lines), "sets", file=sys.stderr)


if __name__ == "__main__":
    main()
