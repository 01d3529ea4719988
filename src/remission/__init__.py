"""remission: analysis, audit and in-silico trials for cellular immunotherapy in acute leukemia.

Data flows one way: study folder -> validated tables (:mod:`remission.study`) -> analysis
datasets (:mod:`remission.derive`) -> :class:`~remission.results.Result` objects
(:mod:`remission.stats` and friends) -> renderers (:mod:`remission.report`).
"""

__version__ = "0.1.0"
