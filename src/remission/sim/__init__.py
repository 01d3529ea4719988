"""In-silico trials: mechanistic simulation of venetoclax + CAR-T / CAR-NK / blinatumomab.

Public entry points: :func:`load_design`, :func:`run_trial`, :func:`write_study` and
:func:`cli_simulate` (used by ``remission simulate``). See docs/simulation.md.
"""

from .design import Design, load_design, parse_design
from .trial import TrialResult, cli_simulate, run_trial, write_study

__all__ = ["Design", "TrialResult", "cli_simulate", "load_design", "parse_design",
           "run_trial", "write_study"]
