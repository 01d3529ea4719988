"""Study folders: load, type and validate (``load_study``)."""

from remission.study.load import Study, assign_cohorts, check_rows, load_study

__all__ = ["Study", "assign_cohorts", "check_rows", "load_study"]
