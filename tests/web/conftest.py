"""Fixtures of the web tests: the two bundled example studies imported once per session
into the test database, and one user per role (plus an outsider of another study)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PASSWORD = "correct-horse-battery-9"
ROLES = ("admin", "investigator", "data_entry", "monitor", "statistician")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Import the examples and create users once; each test runs in a rolled-back
    transaction on top of this."""
    from django.contrib.auth import get_user_model

    from remission.web.folder import import_study
    from remission.web.models import Membership

    with django_db_blocker.unblock():
        cll1 = import_study(EXAMPLES / "cll1-post-hsct", "cll1")
        raw = import_study(EXAMPLES / "synthetic-cart-raw", "raw")
        User = get_user_model()
        for role in ROLES:
            u = User.objects.create_user(role, password=PASSWORD)
            Membership.objects.create(user=u, study=cll1, role=role)
            Membership.objects.create(user=u, study=raw, role=role)
        outsider = User.objects.create_user("outsider", password=PASSWORD)
        from remission.web.models import Study

        other = Study.objects.create(code="other", name="Another study", toml=cll1.toml)
        Membership.objects.create(user=outsider, study=other, role="admin")


@pytest.fixture(autouse=True)
def _no_table_count(monkeypatch):
    """The derived cache's table count held off in every web test.

    ``remission.web.cache.DerivedCache`` counts its table's rows for culling (one more
    statement, ``SELECT COUNT(*)``) at the first and then every ``CHECK_EVERY``-th write
    of the process. A test's counted statements would then depend on how many cache
    writes the tests before it made in the same process (the order and grouping of
    pytest-xdist's workers), not on what the test does. The counting itself is tested on
    an instance of its own (tests/web/test_request_path.py,
    ``test_derived_cache_is_still_culled``), which this leaves alone.
    """
    from django.core.cache import caches

    monkeypatch.setattr(caches["derived"], "_check_every", 10**9)
    monkeypatch.setattr(caches["derived"], "_writes", 1)


@pytest.fixture
def studies(db):
    from remission.web.models import Study

    return Study.objects.get(code="cll1"), Study.objects.get(code="raw")


@pytest.fixture
def gradings(monkeypatch):
    """Every call of the pipeline's grade_all from remission.web made from now on, as the
    sorted patients it graded (counted, never timed)."""
    import remission.derive.criteria as crit

    real = crit.grade_all
    calls: list[tuple[str, ...]] = []

    def counted(obs, *a, **k):
        calls.append(tuple(sorted(obs["patient_id"].astype(str).unique())))
        return real(obs, *a, **k)

    monkeypatch.setattr(crit, "grade_all", counted)
    return calls


def batch_derived(folder: Path):
    """The oracle of the web's derived values: the batch path of ``remission report`` on a
    study folder (load_study -> normalise_observations -> grade_all with the study's
    systems), as ``(grade_all's tables, the patients table)``."""
    from remission.analyses.raw import resolve_systems
    from remission.derive.criteria import grade_all
    from remission.study import load_study
    from remission.vocab.vocabulary import normalise_observations

    st = load_study(folder)
    cfg = st.config
    sy = resolve_systems(dict(cfg.criteria), cfg.disease)
    obs = normalise_observations(st.tables["observations"],
                                 st.patients.set_index("patient_id")["weight_kg"])
    out = grade_all(obs, patients=st.patients, treatments=st.tables["treatments"],
                    events=st.tables["events"], crs=sy.crs, neurotoxicity=sy.neurotoxicity,
                    response=sy.response, landmark_day=cfg.assessment_day,
                    lln=cfg.lln or None, products=tuple(cfg.products))
    return out, st.patients


@pytest.fixture
def login(client):
    """Log the test client in as a user (role name or 'outsider')."""
    def _login(name: str):
        from django.contrib.auth import get_user_model

        client.force_login(get_user_model().objects.get(username=name))
        return client
    return _login


def pytest_terminal_summary(terminalreporter):
    from django.conf import settings

    terminalreporter.write_line(
        "web tests database: " + settings.DATABASES["default"]["ENGINE"])
