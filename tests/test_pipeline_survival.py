"""Endpoints named in study.toml flow into the report: ADTTE -> KM / log-rank / CIF vs R."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from remission.errors import InputError
from remission.pipeline import analyse
from remission.study import load_study
from tests.rlive import run_r

LAST = {"2": 400, "3": 210, "4": 40, "6": 365, "7": 300, "8": 150, "9": 90, "10": 500,
        "11": 60, "12": 330}
DEATHS = {"3": 210, "4": 40, "8": 150, "11": 60}


def add_follow_up(folder: Path) -> None:
    with (folder / "events.csv").open("a") as fh:
        for pid, day in LAST.items():
            kind = "death" if pid in DEATHS else "last_contact"
            fh.write(f"{pid},{day},{kind},,test follow-up\n")
    toml = folder / "study.toml"
    toml.write_text(toml.read_text() + '\n[endpoints.os]\nlandmarks = [100]\n\n'
                    '[endpoints.cir]\n')


@pytest.mark.r
def test_os_and_cir_in_the_report_match_r(study_dir: Path) -> None:
    add_follow_up(study_dir)
    a = analyse(load_study(study_dir), figures=False)
    names = a.results.names()
    assert {"survival.os.km", "survival.os.logrank", "survival.cir.cuminc"} <= set(names)
    pat = pd.read_csv(study_dir / "patients.csv")
    time = pat["patient_id"].astype(str).map(lambda p: {"1": 26, "5": 23}.get(p, LAST.get(p)))
    status = pat["patient_id"].astype(str).map(lambda p: int(p in ("1", "5") or p in DEATHS))
    grp = pat["cart_dose_per_kg"].map({5e5: "A", 1e6: "B", 1.5e6: "C"})
    d = pd.DataFrame({"time": time, "status": status, "grp": grp})
    out = run_r("""suppressPackageStartupMessages(library(survival))
        f <- survfit(Surv(time, status) ~ grp, data = d)
        s <- summary(f, times = 100, extend = TRUE)
        lr <- survdiff(Surv(time, status) ~ grp, data = d)
        out <- list(surv100 = s$surv, chisq = lr$chisq,
                    p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE))""", d=d)
    lr = a.results["survival.os.logrank"].table
    assert lr.loc["test", "chisq"] == pytest.approx(out["chisq"], rel=1e-9)
    assert lr.loc["test", "p"] == pytest.approx(out["p"], rel=1e-9)
    km = a.results["survival.os.km"].table
    assert km.loc[["A", "B", "C"], "S@100"].tolist() == pytest.approx(out["surv100"], rel=1e-9)
    assert a.results["survival.cir.cuminc"].section == "survival"


def test_unknown_endpoint_is_a_config_error(study_dir: Path) -> None:
    toml = study_dir / "study.toml"
    toml.write_text(toml.read_text() + '\n[endpoints.survival]\ncensor_at = ["relapse"]\n')
    with pytest.raises(InputError) as exc:
        load_study(study_dir)
    cols = {p.column for p in exc.value.problems}
    assert {"endpoints.survival", "endpoints.survival.censor_at"} <= cols
