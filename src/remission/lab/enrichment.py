"""Gene-set enrichment for lab analyses: the core lives in :mod:`remission.stats.enrichment`.

Kept so ``remission.lab.enrichment`` imports keep working; the functions moved down to the
stats layer so that single-cell analyses (a sibling layer) can use them too.
"""

from remission.stats.enrichment import (
    GeneSets,
    builtin_genesets,
    ora,
    ranksum_test,
    read_gmt,
)

__all__ = ["GeneSets", "builtin_genesets", "ora", "ranksum_test", "read_gmt"]
