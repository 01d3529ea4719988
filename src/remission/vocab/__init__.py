"""Vocabulary below the study layer: names, units and terms the study loader checks against.

- :mod:`remission.vocab.vocabulary`: canonical observation names, synonyms and units
  (``normalise_observations``, ``validate_observations``);
- :mod:`remission.vocab.units`: unit tokens and conversions;
- :mod:`remission.vocab.ctcae_terms`: CTCAE v5.0 terms and their grade definitions;
- :mod:`remission.vocab.drugs`: drug names (vasopressors, tocilizumab, steroids, …).

Only :mod:`remission.errors` and package data lie below it; :mod:`remission.study`,
:mod:`remission.derive` and everything above may import it.
"""
