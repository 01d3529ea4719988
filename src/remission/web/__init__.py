"""remission web: the trial team's browser application (Django 5.2).

Bedside capture with live grading (the criteria engines of :mod:`remission.derive.criteria`),
audit trail with mandatory reasons (django-simple-history), roles per study, study-folder
import/export and the study report (:mod:`remission.pipeline`, :mod:`remission.report`).
The web layer only calls the library; it computes no grade or statistic itself.
"""
