"""Values derived by one version of the code are never read by another.

The derived cache keeps a patient's grades and dashboard counts in the database under the
patient's revision; a revision says nothing about the code that graded it. Without a tag
of the code in the key, a server upgraded with a corrected grading rule would keep showing
the grades the old rule derived for every patient not edited since.
"""

from __future__ import annotations

import pytest

from remission.web.settings import code_tag


def test_the_tag_follows_every_source_file_and_only_them(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "derive").mkdir(parents=True)
    (pkg / "derive" / "crs.py").write_text("GRADE3 = 'one vasopressor'\n")
    (pkg / "__init__.py").write_text("")
    before = code_tag(pkg)
    assert code_tag(pkg) == before  # stable
    (pkg / "notes.txt").write_text("not code")
    assert code_tag(pkg) == before  # only .py files
    (pkg / "derive" / "crs.py").write_text("GRADE3 = 'one vasopressor or more'\n")
    changed = code_tag(pkg)
    assert changed != before  # a rule's text changed
    (pkg / "derive" / "crs.py").rename(pkg / "derive" / "icans.py")
    assert code_tag(pkg) not in (before, changed)  # same text, another module
    (pkg / "derive" / "icans.py").rename(pkg / "derive" / "crs.py")
    assert code_tag(pkg) == changed


@pytest.mark.django_db
def test_a_value_stored_by_other_code_is_not_read():
    from django.core.cache import caches

    from remission.web.cache import DerivedCache

    derived = caches["derived"]
    assert derived.make_key("course") == f"code-{code_tag()}:1:course"
    derived.set("remission:course:7:r1:t", "graded by this code")
    assert derived.get("remission:course:7:r1:t") == "graded by this code"
    # the same table read by a server running other code (another tag)
    other = DerivedCache("remission_derived_cache",
                         {"KEY_PREFIX": "code-000000000000", "TIMEOUT": None})
    assert other.get("remission:course:7:r1:t") is None
    other.set("remission:course:7:r1:t", "graded by the old code")
    assert derived.get("remission:course:7:r1:t") == "graded by this code"
