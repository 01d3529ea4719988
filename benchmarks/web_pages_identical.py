"""Byte-identity of remission web's GET pages between two versions of the code.

Sets up the demo database as ``remission web`` does (both bundled studies, in a
temporary folder), adds hostile text where the pages show stored text (a patient field,
a treatment, an adverse event, an event, a query, a correction's reason, all with
``<script>``, quotes and ampersands), a correction and a retirement of a reading, recorded
grades and two sign-offs (one then invalidated by a new reading), two bedside saves
through the page (a day with readings and a new day of the second patient), and fetches as the
demo administrator and as a monitor: each study's patient list and dashboard, and for
every patient the patient page, the timeline, the audit trail and the bedside page of
every day with readings (and one without). It does this once with this checkout's
``src`` and once with ``--against REF``'s (``git archive``), each in a child process,
and compares the pages byte for byte after masking only what differs between two
runs of the same code (CSRF tokens, the time of sign-offs and corrections, the grading
time shown on the bedside page). Exits 1 on any difference (and prints the first lines
that differ) or a failed request.

    python benchmarks/web_pages_identical.py --against main
    python benchmarks/web_pages_identical.py --against 3280da7 --patients 4

The hostile patient field makes the first patient's stored data break the study rules,
so its pages show the problem instead of its tables: ``--patients`` below 2 compares no
kept table row. Seen failing (2026-11-30, lead): with ``class="x"`` added to the
timeline row's template, ``--against main --patients 4`` printed 24 differing pages and
exited 1; ``--patients 1`` did not see it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert('x')</script> \"q\" & <b>bold</b>"
MASKS = [
    (re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'), 'name="csrfmiddlewaretoken"'),
    (re.compile(r"Graded in [0-9.]+ s"), "Graded in # s"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(\+00:00)?"), "#date#"),
]


def mask(html: str) -> str:
    for rx, sub in MASKS:
        html = rx.sub(sub, html)
    return html


def _pages(out: Path, patients: int) -> int:
    """The child: build the database, mutate it, fetch the pages, write them as JSON."""
    home = Path(tempfile.mkdtemp(prefix="remission-web-pages-"))
    try:
        os.environ.setdefault("REMISSION_WEB_INSECURE_COOKIES", "1")
        from remission.web.serve import _load_demo, _warm_up, setup

        setup(home)
        _user, _pw, studies = _load_demo()
        _warm_up(studies)
        from django.contrib.auth import get_user_model
        from django.test import Client

        from remission.web.models import (
            AdverseEvent,
            Event,
            Membership,
            Observation,
            Patient,
            Query,
            RecordedGrade,
            SignOff,
            Treatment,
            patient_fingerprint,
        )

        User = get_user_model()
        demo = User.objects.get(username="demo")
        monitor = User.objects.create_user("monitor", password="x")
        for s in studies:
            Membership.objects.create(user=monitor, study=s, role="monitor")
        pages: dict[str, str] = {}
        errors = []
        for s in studies:
            ps = list(Patient.objects.filter(study=s).order_by("line", "id")[:patients])
            p0, p1 = ps[0], ps[1 % len(ps)]
            p0.data = {**p0.data, "sex": HOSTILE}
            p0._change_reason = "hostile text"
            p0.save()
            t = Treatment(patient=p0, agent=HOSTILE, role="bridging", start_day=-5, line=900)
            t._change_reason = "added"
            t.save()
            a = AdverseEvent(patient=p0, term=HOSTILE, grade=2, onset_day=3, line=900,
                             attribution=HOSTILE)
            a._change_reason = "added"
            a.save()
            e = Event(patient=p0, day=30, event="response_assessment", value=HOSTILE, line=900)
            e._change_reason = "added"
            e.save()
            Query.objects.create(patient=p0, day=2, text=HOSTILE, raised_by=demo,
                                 answer=HOSTILE)
            Query.objects.create(patient=p0, text="open " + HOSTILE, raised_by=monitor)
            o = Observation.objects.filter(patient=p0, retired=False).order_by("day", "id")
            o = o.first()
            if o is not None:
                o.value, o.extra = o.value, {"attributed_to": HOSTILE}
                o._change_reason = "correction: " + HOSTILE
                o.save()
            o2 = Observation.objects.filter(patient=p0, retired=False).order_by("-day", "id")
            o2 = o2.first()
            if o2 is not None:
                o2.retired, o2.retire_reason = True, HOSTILE
                o2._change_reason = "retired: " + HOSTILE
                o2.save()
            for p, day, g in ((p0, 1, (2, 0)), (p1, 2, (1, None))):
                r = RecordedGrade(patient=p, day=day, crs_grade=g[0], neuro_grade=g[1],
                                  line=900 + day)
                r._change_reason = "recorded"
                r.save()
            for p in (p0, p1):
                p.refresh_from_db()
                SignOff.objects.create(patient=p, signed_by=demo,
                                       fingerprint=patient_fingerprint(p), crs_max=2,
                                       neuro_max=None, statement=HOSTILE)
            new = Observation(patient=p1, day=400, variable="temperature", value="38.1",
                              unit="°C", line=999)  # p1's sign-off is now outdated
            new._change_reason = "late reading"
            new.save()
        saver = Client()  # bedside saves through the page: a day with readings, a new day
        saver.force_login(demo)
        for s in studies:
            ps = list(Patient.objects.filter(study=s).order_by("line", "id")[:patients])
            p1 = ps[1 % len(ps)]
            days = sorted(set(p1.observations.values_list("day", flat=True)))
            for i, day in enumerate([*days[:1], 401]):
                r = saver.post(f"/study/{s.pk}/patient/{p1.pk}/day/{day}/", {
                    "time": f"0{i + 5}:4{i}", "temperature": "38.6", "sbp": "88"})
                if r.status_code != 302:
                    errors.append(f"bedside save {s.code} day {day}: status {r.status_code}")
        for who in (demo, monitor):
            client = Client()
            client.force_login(who)
            for s in studies:
                urls = [f"/study/{s.pk}/", f"/study/{s.pk}/dashboard/"]
                for p in Patient.objects.filter(study=s).order_by("line", "id")[:patients]:
                    base = f"/study/{s.pk}/patient/{p.pk}/"
                    urls += [base, f"{base}timeline/", f"{base}audit/"]
                    days = sorted(set(p.observations.values_list("day", flat=True)))
                    urls += [f"{base}day/{d}/" for d in [*days, max(days or [0]) + 1]]
                for _look in range(2):  # a second look reads what the first one kept
                    for u in urls:
                        r = client.get(u)
                        if r.status_code != 200:
                            errors.append(f"{who.username} {u}: status {r.status_code}")
                        pages[f"{who.username} {u} look {_look}"] = mask(r.content.decode())
        out.write_text(json.dumps({"pages": pages, "errors": errors}))
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", default="main", help="git revision to compare with")
    ap.add_argument("--patients", type=int, default=1000,
                    help="patients of each study (default all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        return _pages(Path(a.child), a.patients)
    tmp = Path(tempfile.mkdtemp(prefix="remission-pages-ab-"))
    try:
        old = tmp / "old"
        old.mkdir()
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", a.against, "src"],
                              check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=arch, check=True)
        got = {}
        for side, src in (("old", old / "src"), ("new", ROOT / "src")):
            env = {**os.environ, "PYTHONPATH": str(src), "DJANGO_SETTINGS_MODULE":
                   "remission.web.settings"}
            env.pop("DATABASE_URL", None)  # SQLite: each side its own database
            res = subprocess.run([sys.executable, __file__, "--child", str(tmp / f"{side}.json"),
                                  "--patients", str(a.patients)], env=env)
            if res.returncode:
                print(f"{side} side failed ({res.returncode})")
                return 1
            got[side] = json.loads((tmp / f"{side}.json").read_text())
        bad = 0
        for side in got:
            for e in got[side]["errors"]:
                print(f"{side}: {e}")
                bad += 1
        old_p, new_p = got["old"]["pages"], got["new"]["pages"]
        if set(old_p) != set(new_p):
            print("different page lists:", sorted(set(old_p) ^ set(new_p))[:10])
            bad += 1
        differ = [u for u in old_p if u in new_p and old_p[u] != new_p[u]]
        for u in differ[:3]:
            print(f"--- {u}")
            diff = difflib.unified_diff(old_p[u].splitlines(), new_p[u].splitlines(),
                                        "old", "new", lineterm="", n=0)
            print("\n".join(list(diff)[:12]))
        size = sum(len(v) for v in new_p.values())
        print(f"{len(new_p)} pages ({size / 1e6:.1f} MB) compared with {a.against}: "
              f"{len(differ)} differ, {bad} errors")
        return 1 if differ or bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
