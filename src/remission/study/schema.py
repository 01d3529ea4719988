"""Known columns of the study tables: type, unit, allowed values and ranges.

One place for what remission expects of each file; the validator reads it and the
docs (docs/study-format.md) describe it. Unknown columns are kept as text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | number | integer | category | yesno | day
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    allowed: tuple[str, ...] = ()
    unit: str = ""
    description: str = ""


SEX_CODES = {"m": "M", "male": "M", "f": "F", "female": "F"}
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0"}

RESPONSE_CATEGORIES: tuple[str, ...] = (
    "CR", "CRi", "CRh", "CRh*", "MLFS", "PR", "SD", "NR", "PD", "NE",
    "MRD-CR", "MRD+CR", "CR_MRD-", "CR_MRD+", "CRi_MRD-", "CRh_MRD-",
)

# Default meaning of response categories when study.toml [response] does not say otherwise:
# complete remission (any MRD status), responders (CR family + PR), MRD-negative remission.
RESPONSE_COMPLETE: tuple[str, ...] = ("MRD-CR", "MRD+CR", "CR", "CRi", "CRh", "CR_MRD-",
                                      "CR_MRD+", "CRi_MRD-", "CRh_MRD-")
RESPONSE_RESPONDERS: tuple[str, ...] = (*RESPONSE_COMPLETE, "PR")
RESPONSE_MRD_NEGATIVE: tuple[str, ...] = ("MRD-CR", "CR_MRD-", "CRi_MRD-", "CRh_MRD-")

PATIENTS: tuple[Column, ...] = (
    Column("patient_id", "text", required=True, description="study ID"),
    Column("age", "number", lo=0, hi=120, unit="years"),
    Column("sex", "category", allowed=("M", "F")),
    Column("weight_kg", "number", lo=0.5, hi=300, unit="kg"),
    Column("height_cm", "number", lo=30, hi=250, unit="cm"),
    Column("prior_lines", "integer", lo=0, hi=30, unit="lines"),
    Column("baseline_burden_pct", "number", lo=0, hi=100, unit="%"),
    Column("cll1_positivity_pct", "number", lo=0, hi=100, unit="%"),
    Column("cd123_positivity_pct", "number", lo=0, hi=100, unit="%"),
    Column("cd19_positivity_pct", "number", lo=0, hi=100, unit="%"),
    Column("transduction_pct", "number", lo=0, hi=100, unit="%"),
    Column("cart_dose_per_kg", "number", lo=0, unit="cells/kg"),
    Column("cns_leukemia", "yesno"),
    Column("developmental_delay", "yesno",
           description="CAPD replaces ICE for ICANS whatever the age (ASTCT 2019)"),
    Column("extramedullary", "yesno"),
    Column("best_response", "category", allowed=RESPONSE_CATEGORIES),
    Column("crs_grade", "integer", lo=0, hi=5, unit="grade"),
    Column("cres_grade", "integer", lo=0, hi=5, unit="grade"),
    Column("icans_grade", "integer", lo=0, hi=5, unit="grade"),
    Column("neutrophil_engraftment_day", "day", lo=0, hi=365),
    Column("platelet_engraftment_day", "day", lo=0, hi=365),
    Column("acute_gvhd_grade", "integer", lo=0, hi=4, unit="MAGIC grade"),
    Column("chronic_gvhd_grade", "integer", lo=0, hi=3, unit="NIH severity 0-3"),
    Column("died", "yesno"),
    Column("death_cause", "text"),
    Column("death_day", "day", lo=-60, hi=36500),
    Column("last_contact_day", "day", lo=-60, hi=36500),
)

ADVERSE_EVENTS: tuple[Column, ...] = (
    Column("patient_id", "text", required=True),
    Column("term", "text", required=True, description="CTCAE v5.0 term"),
    Column("grade", "integer", required=True, lo=1, hi=5),
    Column("onset_day", "day", required=True, lo=-60, hi=36500),
    Column("end_day", "day", lo=-60, hi=36500),
    Column("serious", "yesno"),
)

TREATMENTS: tuple[Column, ...] = (
    Column("patient_id", "text", required=True),
    Column("agent", "text", required=True),
    Column("start_day", "day", required=True, lo=-365, hi=36500),
    Column("end_day", "day", lo=-365, hi=36500),
    Column("dose", "number", lo=0),
    Column("dose_unit", "text"),
    Column("route", "text"),
    Column("role", "category", allowed=(
        "lymphodepletion", "bridging", "infusion", "boost", "anticytokine", "supportive",
        "prophylaxis", "next_therapy", "salvage", "transplant", "maintenance"),
        description="what the row is for; infusion/boost open an infusion window; "
                    "next_therapy/salvage/transplant (and a later infusion) close late ICAHT"),
    Column("line", "integer", lo=0, hi=30, unit="line of therapy",
           description="line of therapy; a line above the cell therapy's is a next therapy"),
    Column("time", "text", description="HH:MM (24-hour) the drug was started on start_day"),
    Column("end_time", "text", description="HH:MM the drug was stopped on end_day"),
)

EVENT_TYPES: tuple[str, ...] = (
    "response_assessment", "relapse", "progression", "transplant", "stem_cell_boost",
    "next_therapy", "death", "last_contact",
)

EVENTS: tuple[Column, ...] = (
    Column("patient_id", "text", required=True),
    Column("day", "day", required=True, lo=-365, hi=36500),
    Column("event", "category", required=True, allowed=EVENT_TYPES),
    Column("value", "text"),
    Column("detail", "text"),
)

OBSERVATIONS: tuple[Column, ...] = (
    Column("patient_id", "text", required=True),
    Column("day", "day", required=True, lo=-365, hi=36500),
    Column("variable", "text", required=True),
    Column("value", "text", required=True),
    Column("unit", "text", required=True),
)

AE_SUMMARY: tuple[Column, ...] = (
    Column("term", "text", required=True),
    Column("any_grade", "integer", lo=0),
    Column("worst_grade_3", "integer", lo=0),
    Column("worst_grade_4", "integer", lo=0),
    Column("worst_grade_5", "integer", lo=0),
)

TABLES: dict[str, tuple[tuple[Column, ...], bool]] = {
    # name: (columns, required file)
    "patients": (PATIENTS, True),
    "adverse_events": (ADVERSE_EVENTS, False),
    "treatments": (TREATMENTS, False),
    "events": (EVENTS, False),
    "observations": (OBSERVATIONS, False),
    "adverse_events_summary": (AE_SUMMARY, False),
}

# Highest grade each grading system defines (death = 5 where the system has it).
GRADE_MAX: dict[str, int] = {
    "astct2019": 5,
    "lee2014": 5,
    "cartox2018": 4,
    "ctcae_v5": 5,
    "icans_astct2019": 5,
    "cres_cartox2018": 4,
}
