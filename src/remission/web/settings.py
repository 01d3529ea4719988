"""Django settings of ``remission web``.

Zero set-up by default: SQLite in ``REMISSION_WEB_HOME`` (default ``~/.remission/web``);
PostgreSQL when ``DATABASE_URL`` (``postgresql://user:password@host:port/name``) is set.
Cookies are ``Secure``, ``HttpOnly`` (session) and ``SameSite=Lax``; browsers treat the
loopback address as a secure context, so they work on ``http://127.0.0.1``. Every response
carries a Content-Security-Policy (:mod:`remission.web.security`). Failed logins are
throttled by django-axes (5 failures lock the username for 15 minutes).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlparse

HOME = Path(os.environ.get("REMISSION_WEB_HOME", Path.home() / ".remission" / "web"))
BASE_DIR = Path(__file__).resolve().parent


def _secret_key() -> str:
    key = os.environ.get("REMISSION_WEB_SECRET_KEY")
    if key:
        return key
    path = HOME / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    return secrets.token_urlsafe(50)  # per process: sessions end with the process


def code_tag(package: Path | None = None) -> str:
    """Fingerprint of the code that derives the values the server processes share.

    The derived cache (:data:`CACHES`, ``"derived"``) keeps a patient's grades, responses
    and dashboard counts in the database under the patient's revision. Its keys are
    prefixed with this tag, so after an upgrade that changes a grading rule (or any other
    module of remission) no server reads a value the previous code derived: the old
    entries are never read again and age out as the table is culled.

    Parameters
    ----------
    package : pathlib.Path, optional
        The package directory (default: the installed ``remission`` package).

    Returns
    -------
    str
        The first 12 hex digits of the SHA-256 of every ``.py`` file's path (relative to
        ``package``) and content, in path order.

    Examples
    --------
    >>> len(code_tag()), code_tag() == code_tag()
    (12, True)
    """
    import hashlib

    root = package if package is not None else BASE_DIR.parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def database_from_url(url: str | None, sqlite_path: Path) -> dict:
    """Django ``DATABASES['default']`` from a ``DATABASE_URL`` (PostgreSQL) or SQLite.

    Both keep a thread's connection open between its requests (``CONN_MAX_AGE`` 60 s):
    opening a SQLite connection with its set-up costs about 2 ms of CPU, more than a
    typical query (benchmarks/web_request_cpu.py; docs/performance.md "Web").

    Parameters
    ----------
    url : str or None
        ``postgresql://user:password@host:port/name`` (``postgres://`` too; user and
        password percent-decoded); None or empty for SQLite.
    sqlite_path : Path
        The SQLite file used without a URL (WAL journal, immediate transactions, 20 s
        busy timeout, so several server processes can share it).

    Returns
    -------
    dict
        The Django database settings.

    Raises
    ------
    ValueError
        For a URL of another scheme.

    Examples
    --------
    >>> database_from_url("postgresql://u:p%40ss@127.0.0.1:5433/rem", Path("x"))["PORT"]
    '5433'
    >>> d = database_from_url("postgres://u:p%40ss@db/rem", Path("x"))
    >>> d["ENGINE"], d["NAME"], d["PASSWORD"], d["PORT"]
    ('django.db.backends.postgresql', 'rem', 'p@ss', '')
    >>> d = database_from_url(None, Path("web.sqlite3"))
    >>> d["NAME"], d["CONN_MAX_AGE"]
    ('web.sqlite3', 60)
    >>> database_from_url("mysql://db/rem", Path("x"))
    Traceback (most recent call last):
    ...
    ValueError: DATABASE_URL must be postgresql://..., got scheme 'mysql'
    """
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path),
                "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE",
                            "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"},
                "CONN_MAX_AGE": 60}
    u = urlparse(url)
    if u.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be postgresql://..., got scheme {u.scheme!r}")
    return {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"),
            "USER": unquote(u.username or ""), "PASSWORD": unquote(u.password or ""),
            "HOST": u.hostname or "", "PORT": str(u.port or ""), "CONN_MAX_AGE": 60}


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("REMISSION_WEB_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "simple_history",
    "axes",
    "remission.web.apps.WebConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "remission.web.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "remission.web.identity.AuthenticationMiddleware",  # Django's; user read with session
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "remission.web.access.AccessMiddleware",  # a study URL's session, user, role: 1 statement
]
if os.environ.get("REMISSION_WEB_TIMING"):  # per-request accounting (benchmarks only)
    MIDDLEWARE.insert(0, "remission.web.timing.RequestTimingMiddleware")

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "remission.web.identity.UserBackend",  # ModelBackend, the session's user read leanly
]
# sessions in the database table (server-side, ended everywhere at logout), read with
# their user in one statement (remission.web.models.UserSession)
SESSION_ENGINE = "remission.web.identity"

ROOT_URLCONF = "remission.web.urls"
# inputs, selects and text areas written without their templates (same HTML)
FORM_RENDERER = "remission.web.widgets.LeanFormRenderer"
WSGI_APPLICATION = "remission.web.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"),
                                          HOME / "remission-web.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Derived values of a patient (grades by day, dashboard counts, timeline) are computed by
# one server process and read by the others from the database (remission.web.grading.
# per_revision; keys carry the patient's revision). The table is made by
# ``createcachetable`` (remission web's set-up; Django's test database creation).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "derived": {"BACKEND": "remission.web.cache.DerivedCache",  # one statement per write
                "LOCATION": "remission_derived_cache", "TIMEOUT": None,
                "KEY_PREFIX": f"code-{code_tag()}",  # values of other code are never read
                "OPTIONS": {"MAX_ENTRIES": 50_000, "CULL_FREQUENCY": 4}},
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# cookies and transport
SESSION_COOKIE_SECURE = os.environ.get("REMISSION_WEB_INSECURE_COOKIES") != "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600  # one ward shift
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1", "http://localhost"]

# login throttling (django-axes)
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# passwords are never logged: no request bodies in logs, sensitive POST parameters masked
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"},
                "axes": {"handlers": ["console"], "level": "WARNING"}},
}
