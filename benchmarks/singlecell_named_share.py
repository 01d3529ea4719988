"""Truth recovery of the single-cell pipeline as the simulated gene universe grows.

Simulates seed 002's design (sparse sampler, seed 3, ``--cells`` per sample) at 1,500
genes, at 20,000 genes with ``Design.named_share_genes=1500`` (the benchmark's setting)
and at 20,000 genes without it, runs :func:`remission.singlecell.analysis.profile` with
2,000 HVGs, and prints marker-label accuracy, label and cluster ARI against the planted
populations, and CAR-call agreement with the planted CAR. Exits 1 if the 20,000-gene
design with the option recovers the populations worse than the 1,500-gene one (label
accuracy or ARI more than 0.02 lower). Not a harness benchmark (no peer tool); a few
minutes of CPU.

Run: ``python benchmarks/singlecell_named_share.py [--cells 1500]``
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace


def run(cells: int, genes: int, share: int | None) -> dict[str, float]:
    from sklearn.metrics import adjusted_rand_score as ari

    from remission.singlecell.analysis import Params, profile
    from remission.singlecell.simulate import cart_design, simulate

    d = replace(cart_design(n_cells=cells, n_genes=genes), named_share_genes=share)
    a = simulate(d, seed=3, sampler="sparse")
    t0 = time.process_time()
    o = profile(a, Params(construct_features=d.construct_features, n_top_genes=2000,
                          donor_sex="male")).adata.obs
    return {"labels": float((o["cell_type"] == o["truth_population"]).mean()),
            "ari_labels": ari(o["truth_population"], o["cell_type"]),
            "ari_clusters": ari(o["truth_population"], o["cluster"]),
            "car": float((o["car_detected"] == o["truth_car"]).mean()),
            "cpu": time.process_time() - t0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1500, help="cells per sample")
    a = ap.parse_args(argv)
    rows = {}
    for genes, share in ((1500, None), (20000, 1500), (20000, None)):
        r = rows[(genes, share)] = run(a.cells, genes, share)
        print(f"{genes:>6} genes, named_share_genes={share!s:>5}: label accuracy "
              f"{r['labels']:.3f}, ARI labels {r['ari_labels']:.3f}, clusters "
              f"{r['ari_clusters']:.3f}, CAR calls {r['car']:.3f} ({r['cpu']:.0f} s CPU)",
              flush=True)
    few, many = rows[(1500, None)], rows[(20000, 1500)]
    ok = many["labels"] >= few["labels"] - 0.02 and many["ari_labels"] >= few["ari_labels"] - 0.02
    print("OK" if ok else "FAIL: 20,000 genes with the option recover less than 1,500")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
