"""Study folders: load, type and validate (``load_study``); write study.toml
(``write_study_toml``)."""

from remission.study.config import StudyConfig
from remission.study.load import Study, assign_cohorts, check_rows, load_study
from remission.study.write import study_toml, write_study_toml

__all__ = ["Study", "StudyConfig", "assign_cohorts", "check_rows", "load_study",
           "study_toml", "write_study_toml"]
