"""Study folder round trip: the bundled examples import without loss, and an exported
folder gives ``remission report`` the same results.json as the web report."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from django.urls import reverse

from remission.cli import main as cli
from remission.errors import InputError

from .conftest import EXAMPLES

pytestmark = pytest.mark.django_db


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("code,name", [("cll1", "cll1-post-hsct"),
                                       ("raw", "synthetic-cart-raw")])
def test_examples_import_without_loss(studies, tmp_path, code, name):
    from remission.web.folder import export_folder
    from remission.web.models import Study

    out = export_folder(Study.objects.get(code=code), tmp_path / name)
    src = EXAMPLES / name
    for f in sorted(src.rglob("*")):
        if not f.is_file() or f.name.startswith("."):
            continue
        rel = f.relative_to(src)
        assert (out / rel).exists(), rel
        if f.suffix == ".csv":
            a, b = _csv(f), _csv(out / rel)
            # every original column and cell, in the original order; the export may add
            # the treatment role column
            assert list(b.columns[:len(a.columns)]) == list(a.columns), rel
            pd.testing.assert_frame_equal(b[a.columns], a, check_dtype=True, obj=str(rel))
        else:
            assert (out / rel).read_bytes() == f.read_bytes(), rel


def test_export_round_trip_gives_byte_identical_results_json(studies, login, tmp_path):
    """Web report results.json == `remission report` on the exported folder; and also ==
    `remission report` on the original bundled folder."""
    cll1, _ = studies
    c = login("statistician")
    web_json = c.get(reverse("report_file", args=[cll1.pk, "results.json"])).content
    z = c.get(reverse("export", args=[cll1.pk])).content
    with zipfile.ZipFile(io.BytesIO(z)) as f:
        f.extractall(tmp_path)
    folder = tmp_path / cll1.code
    assert cli(["report", str(folder), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "results.json").read_bytes() == web_json
    assert cli(["report", str(EXAMPLES / "cll1-post-hsct"), "--out",
                str(tmp_path / "orig")]) == 0
    assert (tmp_path / "orig" / "results.json").read_bytes() == web_json


def test_raw_study_export_reports_like_the_original(studies, tmp_path):
    """The synthetic raw-data study (18,537 observations) after import and export gives
    the same results.json as the bundled folder (figures off to keep the test short)."""
    from remission.pipeline import bundle_for
    from remission.report.jsonout import render_json
    from remission.web.folder import export_folder

    _, raw = studies
    out = export_folder(raw, tmp_path / "raw")
    a = render_json(bundle_for(out, figures=False))
    b = render_json(bundle_for(EXAMPLES / "synthetic-cart-raw", figures=False))
    assert a == b


def test_invalid_folder_is_refused_whole(studies, tmp_path):
    import shutil

    from remission.web.folder import import_study
    from remission.web.models import Study

    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "cll1-post-hsct", bad)
    text = (bad / "patients.csv").read_text()
    (bad / "patients.csv").write_text(text.replace(",10,M,", ",150,M,", 1))
    n = Study.objects.count()
    with pytest.raises(InputError) as e:
        import_study(bad, "bad")
    assert any(p.column == "age" and p.row == 2 for p in e.value.problems)
    assert Study.objects.count() == n


def test_upload_import_through_the_page(studies, tmp_path):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from remission.web.models import Membership, Study

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for f in (EXAMPLES / "cll1-post-hsct").iterdir():
            z.write(f, f"cll1-copy/{f.name}")
    u = get_user_model().objects.create_user("staffer", password="x-very-long-pw",
                                             is_staff=True)
    c = Client()
    c.force_login(u)
    r = c.post(reverse("import"), {"archive": SimpleUploadedFile("s.zip", buf.getvalue()),
                                   "code": ""})
    assert r.status_code == 302
    s = Study.objects.get(code="cll1-copy")
    assert s.patients.count() == 12
    assert Membership.objects.get(user=u, study=s).role == "admin"
    c.force_login(get_user_model().objects.get(username="admin"))  # not staff
    assert c.get(reverse("import")).status_code == 403
