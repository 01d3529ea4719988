"""Translational lab assays: dose-response, qPCR, apoptosis, synergy and bulk RNA-seq.

Each analysis returns :class:`remission.results.Result` objects with ``section="lab"``;
:func:`analyse_folder` runs everything present in a lab folder (docs/lab-formats.md).
"""

from remission.lab.folder import analyse_folder

__all__ = ["analyse_folder"]
