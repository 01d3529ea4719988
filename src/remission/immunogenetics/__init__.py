"""Immunogenetics and cell tracking: KIR–HLA models, integration-site clonality, chimerism.

Each analysis returns :class:`remission.results.Result` objects (section
``"immunogenetics"``) that join the study report; the study-folder reader is
:mod:`remission.immunogenetics.folder`.
"""
