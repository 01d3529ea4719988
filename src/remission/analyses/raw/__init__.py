"""Raw bedside observations → grades, responses, cytopenias and kinetics, as Results.

The pipeline calls :func:`analyse_raw` for a study with ``observations.csv``. The grading
rules live in :mod:`remission.derive.criteria`, the estimators in :mod:`remission.stats`
and :mod:`remission.kinetics`; this package only connects them:

- :mod:`~remission.analyses.raw.systems`: which systems from study.toml, which
  observations decide a domain;
- :mod:`~remission.analyses.raw.analyse`: per-patient grades, summaries, response;
- :mod:`~remission.analyses.raw.cytopenia`, :mod:`~remission.analyses.raw.kinetics`,
  :mod:`~remission.analyses.raw.audit` (recorded vs derived),
  :mod:`~remission.analyses.raw.figures`.
"""

from remission.analyses.raw.analyse import analyse_raw
from remission.analyses.raw.systems import (
    CRS_VARIABLES,
    NEURO_VARIABLES,
    Systems,
    mask_unassessed,
    resolve_systems,
)

__all__ = ["CRS_VARIABLES", "NEURO_VARIABLES", "Systems", "analyse_raw", "mask_unassessed",
           "resolve_systems"]
