"""``remission web``: set up the database, load the demo studies, serve on 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import sys
from importlib import resources
from pathlib import Path

#: the demo studies ship as package data (examples/<name>/ links to the same files), so
#: an installed wheel serves them too
EXAMPLES = Path(str(resources.files("remission.data").joinpath("examples")))
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
        The home folder (with a ``secret_key`` readable by the owner only).

    Examples
    --------
    With a database (the doctest runs in a rolled-back transaction of the test database,
    already migrated):

    >>> import tempfile
    >>> before = os.environ.get("REMISSION_WEB_HOME")
    >>> tmp = tempfile.TemporaryDirectory()
    >>> home = setup(Path(tmp.name) / "web")
    >>> sorted(f.name for f in home.iterdir()), oct((home / "secret_key").stat().st_mode & 0o777)
    (['secret_key'], '0o600')
    >>> os.environ["REMISSION_WEB_HOME"] == str(home)  # setup() points this process at home
    True
    >>> if before is None:
    ...     del os.environ["REMISSION_WEB_HOME"]
    ... else:
    ...     os.environ["REMISSION_WEB_HOME"] = before
    >>> tmp.cleanup()
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
    call_command("createcachetable", verbosity=0)  # the shared derived values (settings)
    return home


def _load_demo(examples: Path = EXAMPLES) -> tuple[str, str, list]:
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


def _warm_up(studies) -> None:
    """Before the first user (and, under gunicorn, before the worker processes are forked
    from this one, which inherit it): import the report pipeline and compute each demo
    study's dashboard, which grades every patient's course into the per-patient cache
    (:mod:`remission.web.grading`; valid in the workers while the patient's revision is
    unchanged)."""
    import remission.pipeline
    import remission.report  # noqa: F401
    from remission.errors import InputError
    from remission.web.summaries import dashboard

    for s in studies:
        try:
            dashboard(s)
        except InputError:  # stored data the validator refuses: shown on the pages
            continue


#: Thresholds of the cyclic garbage collector in the server processes
#: (:func:`gc.set_threshold`; Python's are (700, 10, 10)): see :func:`freeze_heap`.
GC_THRESHOLDS = (2000, 10, 20)


def freeze_heap() -> int:
    """Before the workers are forked (and before the first request): move every object
    the set-up made (Django, pandas, the grading kernels, the warm-up's per-patient
    values) into the garbage collector's permanent generation, and collect the young
    generations less often.

    A collection of the oldest generation walks every tracked container of the process
    while holding the interpreter lock, so every thread of the process stops until it
    ends: with the set-up's ~230,000 containers and a served-for-a-while process's
    kept values it took 200-300 ms on the loaded benchmark machine, a few times per
    thousand requests, and was the whole of the slowest page looks
    (``benchmarks/web_request_cpu.py``'s 220-310 ms maxima; docs/performance.md, session
    16, pages7). Frozen objects (:func:`gc.freeze`) are never walked again (nor written
    to by the collector of a forked worker); reference counting still frees them.
    What the set-up leaves as cyclic garbage is collected first, so nothing unreachable
    is frozen. With the set-up frozen, the oldest generation's collection
    would come sooner (it waits until the objects that survived the middle one since
    its last run are a quarter of those it kept, now a much smaller number: 8 instead of
    4 in 1,500 requests of bench_web's mix), so the young generation is collected at
    2,000 objects rather than 700 and the oldest waits for 20 rather than 10 of the
    middle one's collections: 2 in those 1,500 requests, the young and middle
    generations' collections fewer and at most 4 and 15 ms each.

    Returns
    -------
    int
        The number of objects now frozen (:func:`gc.get_freeze_count`).

    Examples
    --------
    >>> import gc
    >>> before = gc.get_threshold()
    >>> freeze_heap() > 0, gc.get_threshold() == GC_THRESHOLDS
    (True, True)
    >>> gc.unfreeze(); gc.set_threshold(*before)  # this test process as it was
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()


def _default_workers() -> int:
    """Worker processes: one per core (2 to 8). Grading is CPU-bound Python, so a process
    uses one core at a time; each process also keeps its own copy of every patient's
    inputs and derived tables, which a save makes every process rebuild, so processes
    beyond the cores cost CPU without adding any (docs/performance.md, "Web: where the
    concurrency cost goes")."""
    return max(2, min(os.cpu_count() or 1, 8))


#: Threads per worker process: enough that a request waiting for the database or for
#: another process's value does not hold its process's core idle.
DEFAULT_THREADS = 4

#: Seconds an idle kept-alive connection stays open; 0 closes every connection after its
#: response (``Connection: close``). gunicorn's gthread worker keeps a connection in the
#: process that accepted it, so with kept-alive connections a user stays on one process
#: for the whole session: in bench_web's 50-user runs one of two processes served 52-88 %
#: of the requests (``--timing``'s per-process line; 2026-11-30, loaded), leaving one core
#: queueing while the other had time to spare. Closed after each response, every request
#: is a new connection, accepted by whichever process's accept loop gets there first,
#: which a busy process (its main thread waiting for the interpreter lock) seldom is:
#: 47-53 % in the same runs. The close is announced in the response, so no request is
#: ever resent (a 2 s keep-alive made 17-22 % of requests meet a connection closed while
#: idle). A new loopback connection costs far less than a request's CPU.
KEEPALIVE = 0


def _serve_gunicorn(app, host: str, port: int, workers: int, threads: int,
                    keepalive: int = KEEPALIVE) -> None:
    """Serve ``app`` with gunicorn: ``workers`` processes forked from this one (the app,
    Django and the loaded grading kernels are inherited, not loaded again), each with
    ``threads`` threads."""
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    def post_fork(server, worker) -> None:
        connections.close_all()  # never share the master's database connection

    class Gunicorn(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers, "worker_class": "gthread", "threads": threads,
                "backlog": 2048, "timeout": 300, "graceful_timeout": 10,
                "keepalive": keepalive,
                "preload_app": True, "accesslog": None, "errorlog": "-",
                "loglevel": "warning", "post_fork": post_fork,
                "proc_name": "remission-web",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    connections.close_all()
    Gunicorn().run()


def _serve_django(app, host: str, port: int) -> None:
    """Django's threaded development server (one process): where gunicorn cannot run."""
    from django.core.servers.basehttp import WSGIServer, run

    class Server(WSGIServer):
        request_queue_size = 128  # Django's default of 10 resets connections under load

    run(host, port, app, ipv6=host == "::1", threading=True, server_cls=Server)


#: How long (ms) a thread of a server process runs Python before the interpreter asks it
#: to let another thread of that process run (``sys.setswitchinterval``), when
#: ``remission web --switch-interval`` is given; by default Python's own (5 ms). Requests
#: are CPU-bound Python (grading, templates): the threads of one process that serve
#: requests at the same time share its interpreter lock in turns of this length, so all
#: of them finish late together; a turn longer than a typical request lets one finish
#: before the next runs (closer to first come, first served), while a thread waiting for
#: the database or a socket still gives the lock up at once.
SWITCH_INTERVAL_DEFAULT = None


def set_switch_interval(ms: float | None) -> float:
    """Set this process's thread switch interval (inherited by the forked workers).

    Parameters
    ----------
    ms : float or None
        Milliseconds (> 0); None leaves Python's setting as it is.

    Returns
    -------
    float
        The interval now in force, in milliseconds.

    Raises
    ------
    ValueError
        ``ms`` is not a positive number.

    Examples
    --------
    >>> import sys
    >>> before = sys.getswitchinterval()
    >>> set_switch_interval(20)
    20.0
    >>> set_switch_interval(None)  # unchanged
    20.0
    >>> set_switch_interval(0)
    Traceback (most recent call last):
    ...
    ValueError: the switch interval must be a positive number of milliseconds, not 0
    >>> _ = sys.setswitchinterval(before)
    """
    import math

    if ms is not None:
        if not (isinstance(ms, (int, float)) and math.isfinite(ms) and ms > 0):
            raise ValueError("the switch interval must be a positive number of "
                             f"milliseconds, not {ms!r}")
        sys.setswitchinterval(ms / 1000)
    return round(sys.getswitchinterval() * 1000, 6)


def main(host: str = "127.0.0.1", port: int = 8000, home: str | Path | None = None,
         demo: bool = True, workers: int | None = None,
         threads: int | None = None, keepalive: int | None = None,
         switch_interval: float | None = SWITCH_INTERVAL_DEFAULT) -> int:
    """Set up, load the demo, print URL and credentials, serve until interrupted.

    Parameters
    ----------
    host, port : str, int
        Loopback address only (127.0.0.1, localhost or ::1).
    home : path, optional
        See :func:`setup`.
    demo : bool
        Load the demo account and studies.
    workers : int, optional
        Server processes (default one per core, 2 to 8); 1 serves from this process
        with Django's threaded server.
    threads : int, optional
        Threads per gunicorn worker process (default :data:`DEFAULT_THREADS`).
    keepalive : int, optional
        Seconds gunicorn keeps an idle connection open (default :data:`KEEPALIVE`: 0,
        every connection closed after its response).
    switch_interval : float, optional
        Milliseconds a server thread runs before another thread of its process may
        take over (see :data:`SWITCH_INTERVAL_DEFAULT`; default Python's 5 ms).

    Returns
    -------
    int
        Exit status (2 for a non-loopback host).

    Examples
    --------
    Any other address is refused before anything is set up (the message goes to
    standard error):

    >>> main(host="0.0.0.0")
    2
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("remission web serves the loopback address only (127.0.0.1)", file=sys.stderr)
        return 2
    try:
        interval = set_switch_interval(switch_interval)  # before the workers are forked
    except ValueError as exc:
        print(f"remission web: {exc}", file=sys.stderr)
        return 2
    workers = _default_workers() if workers is None else max(1, workers)
    threads = DEFAULT_THREADS if threads is None else max(1, threads)
    home = setup(home)
    user = password = None
    studies = []
    if demo:
        user, password, studies = _load_demo()
    _warm_up(studies)
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    server = "django"
    if workers > 1:
        try:
            import gunicorn  # noqa: F401  (UNIX only)
            server = "gunicorn"
        except ImportError:
            print("remission web: gunicorn is not available here; one process",
                  file=sys.stderr)
    url = f"http://{host}:{port}/"
    print(f"remission web: {url}", flush=True)
    if demo:
        print(f"  demo account: user {user!r}, password {password!r} "
              f"(new each start; administrator of {', '.join(s.code for s in studies)})",
              flush=True)
    print(f"  data: {(os.environ.get('DATABASE_URL') and 'DATABASE_URL') or home}", flush=True)
    print(f"  server: {server}" + (f", {workers} processes x {threads} threads"
                                   if server == "gunicorn" else ", one process")
          + f"; thread switch interval {interval:g} ms", flush=True)
    print("  stop with Ctrl-C", flush=True)
    freeze_heap()  # inherited by the forked workers
    if server == "gunicorn":
        _serve_gunicorn(app, host, port, workers, threads,
                        KEEPALIVE if keepalive is None else max(0, keepalive))
    else:
        _serve_django(app, host, port)
    return 0
