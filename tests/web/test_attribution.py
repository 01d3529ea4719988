"""Attribution of a bedside reading to another cause (observations.csv ``attributed_to``)
entered on the bedside form: validated with the day's rows by the study-folder validator,
left out of CRS/ICANS grading live exactly as in the batch pipeline (ASTCT 2019, Lee DW et
al. BBMT 2019;25:625: fever, hypotension and hypoxia are graded only when "not
attributable to any other cause"), stored, corrected with a reason, and exported so that
`remission report` on the export gives byte-identical results.json."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from remission.cli import main as cli

pytestmark = pytest.mark.django_db

FEVER_PRESSOR = {"time": "04:00", "temperature": "38.9", "norepinephrine": "8"}


def _p(cll1):
    from remission.web.models import Patient

    return Patient.objects.get(study=cll1, patient_id="1")


def test_attributed_fever_is_not_graded_live(studies, login):
    from remission.web.models import Patient

    _, raw = studies  # graded by ASTCT 2019
    p = Patient.objects.get(study=raw, patient_id="P003")
    c = login("data_entry")
    url = reverse("bedside_grade", args=[raw.pk, p.pk, 60])
    page = c.post(url, FEVER_PRESSOR).content.decode()
    assert "grade 3: hypotension" in page  # fever + one vasopressor
    page = c.post(url, {**FEVER_PRESSOR,
                        "temperature__attributed_to": "pneumonia"}).content.decode()
    # without the fever ASTCT CRS needs none of its grades: grade 0
    assert '<p class="g g0">grade 0</p>' in page
    assert "temperature 38.9 (attributed to pneumonia)" in page


def test_attribution_without_its_reading_is_refused(studies, login):
    from remission.web.models import Observation

    cll1, _ = studies
    p = _p(cll1)
    r = login("data_entry").post(reverse("bedside", args=[cll1.pk, p.pk, 2]),
                                 {"time": "04:00", "norepinephrine": "8",
                                  "temperature__attributed_to": "pneumonia"})
    assert r.status_code == 200
    assert "an attribution needs a temperature reading" in r.content.decode()
    assert not Observation.objects.filter(patient=p, day=2).exists()


def test_attribution_is_saved_corrected_and_round_trips(studies, login, tmp_path):
    from remission.web.grading import grade_day
    from remission.web.models import Observation

    cll1, _ = studies
    p = _p(cll1)
    c = login("investigator")
    # CLL-1 is graded by Lee 2014: fever and the vasopressor both attributed elsewhere
    # leave no CRS reading to grade that day (not assessed, in the batch too: no row)
    r = c.post(reverse("bedside", args=[cll1.pk, p.pk, 2]),
               {**FEVER_PRESSOR, "temperature__attributed_to": "=cmd|' /C calc'!A0",
                "norepinephrine__attributed_to": "septic shock"})
    assert r.status_code == 302
    t = Observation.objects.get(patient=p, day=2, variable="temperature")
    assert t.extra == {"attributed_to": "=cmd|' /C calc'!A0"}
    assert grade_day(p, 2).crs.grade is None
    # and a day with readings nobody attributed (the study then has graded days)
    assert c.post(reverse("bedside", args=[cll1.pk, p.pk, 3]),
                  {"time": "04:00", "temperature": "37.1"}).status_code == 302
    page = c.get(reverse("bedside", args=[cll1.pk, p.pk, 2])).content.decode()
    assert "=cmd|&#x27; /C calc&#x27;!A0" in page  # shown, escaped

    # export: the column is written (formula neutralised as in every CSV remission writes)
    z = c.get(reverse("export", args=[cll1.pk])).content
    with zipfile.ZipFile(io.BytesIO(z)) as f:
        f.extractall(tmp_path)
    obs = (tmp_path / cll1.code / "observations.csv").read_text(encoding="utf-8")
    assert obs.splitlines()[0].endswith(",attributed_to")
    assert "'=cmd|' /C calc'!A0" in obs
    web_json = c.get(reverse("report_file", args=[cll1.pk, "results.json"])).content
    assert cli(["report", str(tmp_path / cll1.code), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "results.json").read_bytes() == web_json
    res = json.loads(web_json)
    crs = next(x for x in res["results"] if x["name"] == "derived.crs")
    assert any("attributed by the site to another cause" in w and "1 day 2 temperature"
               in w for w in crs["warnings"])

    # removing the attribution (a correction, with a reason) restores the fever: grade 1
    r = c.post(reverse("record_edit", args=[cll1.pk, p.pk, "observation", t.pk]),
               {"time": "04:00", "value": "38.9", "unit": t.unit, "attributed_to": "",
                "reason": "pneumonia ruled out"})
    assert r.status_code == 302
    assert grade_day(p, 2).crs.grade == 1
    t.refresh_from_db()
    assert t.extra == {"attributed_to": ""}
