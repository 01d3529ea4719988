"""Iterate over "Overall" plus each cohort level in study order."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

OVERALL = "Overall"


def cohort_levels(adsl: pd.DataFrame) -> list[str]:
    order = adsl.drop_duplicates("COHORT").sort_values("COHORTN")
    return [str(c) for c in order["COHORT"]]


def by_group(adsl: pd.DataFrame, overall: bool = True) -> Iterator[tuple[str, pd.DataFrame]]:
    if overall:
        yield OVERALL, adsl
    levels = cohort_levels(adsl)
    if len(levels) > 1:
        for lv in levels:
            yield lv, adsl[adsl["COHORT"] == lv]


def row_key(item: str, group: str) -> str:
    return f"{item} | {group}"
