"""``remission web``: set up the database, load the demo studies, serve on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
DEMO_STUDIES = ("cll1-post-hsct", "synthetic-cart-raw")
DEMO_USER = "demo"


def setup(home: str | Path | None = None) -> Path:
    """Point Django at ``home`` (database, secret key), create it and apply migrations.

    Parameters
    ----------
    home : path, optional
        Folder for the SQLite database and the secret key (default ``REMISSION_WEB_HOME``
        or ``~/.remission/web``). Ignored for the database when ``DATABASE_URL`` is set.

    Returns
    -------
    Path
        The home folder.
    """
    if home is not None:
        os.environ["REMISSION_WEB_HOME"] = str(home)
    home = Path(os.environ.get("REMISSION_WEB_HOME", Path.home() / ".remission" / "web"))
    home.mkdir(parents=True, exist_ok=True)
    key = home / "secret_key"
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "remission.web.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    return home


def load_demo(examples: Path = EXAMPLES) -> tuple[str, str, list]:
    """Create (or reset the password of) the demo account, an administrator of the bundled
    CLL-1 study and the synthetic raw-data study (imported once). Returns (user, password,
    studies)."""
    from django.contrib.auth import get_user_model

    from remission.web.folder import import_study
    from remission.web.models import Membership, Study

    User = get_user_model()
    user, _ = User.objects.get_or_create(username=DEMO_USER)
    password = secrets.token_urlsafe(12)
    user.set_password(password)
    user.is_staff = True
    user.save()
    studies = []
    for name in DEMO_STUDIES:
        study = Study.objects.filter(code=name).first()
        if study is None:
            folder = examples / name
            if not folder.is_dir():
                print(f"remission web: example {folder} not found; not loaded", file=sys.stderr)
                continue
            study = import_study(folder, name)
        Membership.objects.get_or_create(user=user, study=study, defaults={"role": "admin"})
        studies.append(study)
    return DEMO_USER, password, studies


def warm_up(studies) -> None:
    """Grade one patient-day so the compiled kernels are loaded before the first user."""
    from remission.web.grading import grade_day
    from remission.web.models import Observation

    for s in studies:
        o = Observation.objects.filter(patient__study=s).select_related("patient").first()
        if o is not None:
            grade_day(o.patient, o.day)
            return


def main(host: str = "127.0.0.1", port: int = 8000, home: str | Path | None = None,
         demo: bool = True) -> int:
    """Set up, load the demo, print URL and credentials, serve until interrupted."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("remission web serves the loopback address only (127.0.0.1)", file=sys.stderr)
        return 2
    home = setup(home)
    user = password = None
    studies = []
    if demo:
        user, password, studies = load_demo()
    warm_up(studies)
    from django.core.servers.basehttp import WSGIServer, run
    from django.core.wsgi import get_wsgi_application

    class Server(WSGIServer):
        request_queue_size = 128  # Django's default of 10 resets connections under load

    url = f"http://{host}:{port}/"
    print(f"remission web: {url}", flush=True)
    if demo:
        print(f"  demo account: user {user!r}, password {password!r} "
              f"(new each start; administrator of {', '.join(s.code for s in studies)})",
              flush=True)
    print(f"  data: {(os.environ.get('DATABASE_URL') and 'DATABASE_URL') or home}", flush=True)
    print("  stop with Ctrl-C", flush=True)
    run(host, port, get_wsgi_application(), ipv6=host == "::1", threading=True,
        server_cls=Server)
    return 0
