"""Load benchmark of remission web: N concurrent users on the loopback address.

Starts ``remission web`` (gunicorn, several processes; demo account, both bundled studies)
on 127.0.0.1 against SQLite or a throw-away PostgreSQL cluster (initdb/pg_ctl in a
temporary directory; skipped with a message when the server binaries are missing), then
runs ``--users`` threads for ``--seconds``. Every user logs in (before the clock) and loops
over a ward's mix, each request followed by a think time (exponential, mean ``--think``
s; 0 = back-to-back, a stress test): live grading of typed bedside values (50 %), saving
readings (15 %), the bedside day page (10 %), the patient page (10 %), the patient
timeline (5 %), the study's patient list (5 %) and the cohort dashboard (5 %).

Oracle: every live grade (CRS and neurotoxicity grade and the rule that decided it) is
compared with the batch pipeline's grade of the same values: before the run, the typed
values of every (patient, day) the users may grade are appended to the study's
observations and graded in one batch call (``load_study`` -> ``normalise_observations``
-> ``grade_all``, as ``remission report`` does), days without a CRS (neurotoxicity)
variable being "not assessed" as on the page. The graded days (200-249) have no stored
readings and the saved readings go to days 300-329, so the oracle holds during the run.
A wrong grade, an HTTP error or a failed request is an error. Prints p50/p95/p99 latency
per request kind and overall, throughput, errors and the load average (before, sampled
during, after); exits 1 on any error. Goal (issue 17): p95 < 300 ms and 0 errors with 50
users for 120 s; live grading of one patient-day < 50 ms (``--grading-only``).

    python benchmarks/bench_web.py --backend sqlite        # 50 users, 120 s (~3 min)
    python benchmarks/bench_web.py --backend postgresql    # the same on PostgreSQL
    python benchmarks/bench_web.py --grading-only          # live grading vs batch (< 1 min)
    python benchmarks/bench_web.py --quick                 # 10 users, 20 s, both backends
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "web"))
from pgcluster import pg_cluster  # noqa: E402

STUDY = ROOT / "examples" / "synthetic-cart-raw"
#: typed bedside values (each a different ASTCT 2019 situation: Lee 2019 BBMT 25:625)
SCENARIOS = [
    {"temperature": "38.6", "norepinephrine": "8"},                       # fever + 1 pressor
    {"temperature": "38.6", "norepinephrine": "8", "phenylephrine": "50"},  # 2 pressors
    {"temperature": "38.0", "oxygen_device": "nasal_cannula", "oxygen_flow": "6"},
    {"temperature": "38.0", "oxygen_device": "nasal_cannula", "oxygen_flow": "6.5"},
    {"temperature": "37.9", "norepinephrine": "8"},                       # afebrile pressor
    {"temperature": "38.0"},
    {"temperature": "38.4", "ice_score": "5"},                            # ICANS ICE 3-6
    {"ice_score": "2", "consciousness": "awakens_to_voice"},
    {"temperature": "39.1", "sbp": "82", "ice_score": "8", "anc": "0.3"},
]
GRADE_DAYS = range(200, 250)
SAVE_DAYS = range(300, 330)
#: request kind -> share of the mix
MIX = {"grade": 0.50, "save": 0.15, "bedside": 0.10, "patient": 0.10, "timeline": 0.05,
       "study": 0.05, "dashboard": 0.05}


def scenario_of(pid: str, day: int) -> int:
    """The scenario typed for a (patient, day): fixed, so the oracle is computed once."""
    return (sum(map(ord, pid)) * 31 + day) % len(SCENARIOS)


def batch_oracle(pids: list[str]) -> dict[tuple[str, int], tuple]:
    """(patient, day) -> ((CRS grade, rule) or None, (neuro grade, rule) or None) from the
    batch pipeline on the study plus every typed scenario (see module docstring)."""
    sys.path.insert(0, str(ROOT / "src"))
    from remission.analyses.raw import CRS_VARIABLES, NEURO_VARIABLES, resolve_systems
    from remission.derive.criteria import grade_all
    from remission.study import load_study
    from remission.vocab.vocabulary import VOCABULARY, normalise_observations

    st = load_study(STUDY)
    cfg = st.config
    obs = st.tables["observations"]
    extra = []
    for pid in pids:
        for day in GRADE_DAYS:
            for var, val in SCENARIOS[scenario_of(pid, day)].items():
                v = VOCABULARY[var]
                extra.append({"patient_id": pid, "day": str(day), "time": "", "variable": var,
                              "value": val,
                              "unit": "category" if v.kind == "categorical" else v.unit})
    both = pd.concat([obs, pd.DataFrame(extra).reindex(columns=obs.columns).fillna("")],
                     ignore_index=True)
    sy = resolve_systems(dict(cfg.criteria), cfg.disease)
    canon = normalise_observations(both, st.patients.set_index("patient_id")["weight_kg"])
    out = grade_all(canon, patients=st.patients, treatments=st.tables["treatments"],
                    events=st.tables["events"], crs=sy.crs, neurotoxicity=sy.neurotoxicity,
                    response=None, lln=cfg.lln or None, products=tuple(cfg.products))
    crs = out["crs_daily"].set_index(["patient_id", "day"])
    ntx = out["neuro_daily"].set_index(["patient_id", "day"])
    oracle = {}
    for pid in pids:
        for day in GRADE_DAYS:
            typed = SCENARIOS[scenario_of(pid, day)]

            def one(tab, variables, typed=typed, pid=pid, day=day):
                if not any(v in typed for v in variables):
                    return None  # not assessed
                g = int(tab.loc[(pid, day), "grade"])
                return g, (str(tab.loc[(pid, day), "decided_by"]) if g else "")
            oracle[(pid, day)] = (one(crs, CRS_VARIABLES), one(ntx, NEURO_VARIABLES))
    return oracle


_GRADE_RE = re.compile(r'<p class="g[^"]*">(?:grade (\d)(?:: ([a-z/+]+))?|(not assessed))')


def shown_grades(html: str) -> tuple:
    """((CRS grade, rule) or None, (neuro grade, rule) or None) as the grades panel shows
    them."""
    out = []
    for sec in ("grade-crs", "grade-neuro"):
        i = html.find(f'id="{sec}"')
        m = _GRADE_RE.search(html, i) if i >= 0 else None
        if m is None:
            out.append("missing")
        elif m.group(3):
            out.append(None)
        else:
            out.append((int(m.group(1)), m.group(2) or ""))
    return tuple(out)


class User:
    def __init__(self, base: str, password: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.op = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                              _NoRedirect())
        r = self.get("/login/")
        self.post("/login/", {"username": "demo", "password": password}, r)

    def token(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def get(self, path: str):
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict, _=None):
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.token()}).encode()
        req = urllib.request.Request(self.base + path, data=body,
                                     headers={"Referer": self.base + path})
        return self._open(req)

    def _open(self, req):
        try:
            with self.op.open(req, timeout=300) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


def _start(home: Path, port: int, env: dict,
           workers: int | None) -> tuple[subprocess.Popen, str]:
    extra = [] if workers is None else ["--workers", str(workers)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "remission.cli", "web", "--home", str(home), "--port",
         str(port), *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True)
    password = None
    t0 = time.time()
    for line in proc.stdout:
        m = re.search(r"password '([^']+)'", line)
        if m:
            password = m.group(1)
        if "server:" in line:
            print("  " + line.strip(), flush=True)
        if "stop with Ctrl-C" in line:
            break
        if time.time() - t0 > 600:
            break
    if password is None:
        proc.kill()
        raise RuntimeError("remission web did not start")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain
    import socket

    for _ in range(600):  # the URL is printed just before the socket is bound
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return proc, password


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoadSampler(threading.Thread):
    """The 1-minute load average every 5 s while the users run."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(5.0):
            self.samples.append(os.getloadavg()[0])


def run(label: str, users: int, seconds: float, think: float, workers: int | None,
        env_extra: dict, oracle: dict) -> dict:
    home = Path(tempfile.mkdtemp(prefix="remission-web-bench-"))
    port = _free_port()
    env = {**os.environ, **env_extra, "REMISSION_WEB_INSECURE_COOKIES": "1",
           "PYTHONPATH": str(ROOT / "src")}
    t_start = time.perf_counter()
    proc, password = _start(home, port, env, workers)
    startup = time.perf_counter() - t_start
    base = f"http://127.0.0.1:{port}"
    lat: dict[str, list[float]] = {k: [] for k in MIX}
    errors: list[str] = []
    sampler = LoadSampler()
    load_before = os.getloadavg()[0]
    try:
        probe = User(base, password)
        _, page = probe.get("/")
        sid = int(re.search(rb'href="/study/(\d+)/">SYNTHETIC', page).group(1))
        _, page = probe.get(f"/study/{sid}/")
        ids = {m.group(2).decode(): int(m.group(1)) for m in re.finditer(
            rb'href="/study/\d+/patient/(\d+)/">([^<]+)</a>', page)}
        assert set(ids) == {pid for pid, _ in oracle}, "patients of the study page vs oracle"
        pids = sorted(ids)
        lock = threading.Lock()
        sessions: dict[int, User] = {}

        def login(k: int) -> None:
            try:
                sessions[k] = User(base, password)
            except Exception as exc:
                with lock:
                    errors.append(f"login: {exc}")

        # every user logs in before the clock starts (password hashing is slow by design)
        logins = [threading.Thread(target=login, args=(k,)) for k in range(users)]
        for t in logins:
            t.start()
        for t in logins:
            t.join()
        kinds, weights = list(MIX), list(MIX.values())
        stop = time.time() + seconds

        def request(u: User, rnd: random.Random, kind: str) -> tuple[bool, str]:
            pid = rnd.choice(pids)
            pk = ids[pid]
            pat = f"/study/{sid}/patient/{pk}/"
            if kind == "grade":
                day = rnd.choice(GRADE_DAYS)
                st, body = u.post(f"{pat}day/{day}/grade/",
                                  SCENARIOS[scenario_of(pid, day)])
                got = shown_grades(body.decode())
                want = oracle[(pid, day)]
                return st == 200 and got == want, f"{pid} day {day}: page {got}, batch {want}"
            if kind == "save":
                day = rnd.choice(SAVE_DAYS)
                tm = f"{rnd.randrange(24):02d}:{rnd.randrange(60):02d}"
                st, body = u.post(f"{pat}day/{day}/", {
                    "time": tm, "temperature": f"{36 + rnd.random() * 3:.1f}",
                    "sbp": str(90 + rnd.randrange(40))})
                # 302 saved; 200 = refused by the validator (same time and day drawn twice
                # with a different value): a correct answer too
                return st == 302 or (st == 200 and b"duplicated observation" in body), \
                    f"save status {st}"
            path = {"bedside": f"{pat}day/{rnd.randrange(0, 15)}/",
                    "patient": pat, "timeline": f"{pat}timeline/",
                    "study": f"/study/{sid}/", "dashboard": f"/study/{sid}/dashboard/"}[kind]
            st, _ = u.get(path)
            return st == 200, f"status {st} {path}"

        def worker(k: int) -> None:
            rnd = random.Random(k)
            u = sessions.get(k)
            if u is None:
                return
            time.sleep(rnd.uniform(0, max(think, 0.05)))  # users do not start in step
            while time.time() < stop:
                kind = rnd.choices(kinds, weights)[0]
                t0 = time.perf_counter()
                try:
                    ok, why = request(u, rnd, kind)
                except Exception as exc:  # connection refused, timeout
                    ok, why = False, repr(exc)
                dt = time.perf_counter() - t0
                with lock:
                    lat[kind].append(dt)
                    if not ok:
                        errors.append(f"{kind}: {why}")
                if think > 0:
                    time.sleep(rnd.expovariate(1.0 / think))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(users)]
        sampler.start()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        sampler.done.set()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    allv = np.array([v for vs in lat.values() for v in vs])
    return {"label": label, "startup_s": startup, "wall_s": wall, "lat": lat, "all": allv,
            "errors": errors, "load": (load_before, sampler.samples, os.getloadavg()[0]),
            "users": users, "think": think}


def live_grading(repeats: int = 5) -> int:
    """Time of grading one patient-day live (remission.web.grading.grade_day, what the
    bedside page calls for every change), each grade compared with the batch pipeline:

    - stored days: up to 5 patient-days of each CRS grade 0-5 (distinct patients) plus
      P001 day 4, graded from the database as stored (the bedside page) against the batch
      grading of the study as it is;
    - typed days: the typed scenarios on days 200-249 of 20 patients (stored readings plus
      the typed values, as the htmx panel) against :func:`batch_oracle`. ``typed`` is the
      first grading of each typed day (its values new to the server, as with every
      keystroke: they are validated and converted); ``repeat`` the same values again;
    - request: the whole htmx request (Django's middleware, session and login, the
      study/patient permission checks, form, validation, grading, the grades panel's
      template) through Django's test client, in process, the panel's grades compared
      with the batch ones (the client does not check CSRF tokens; the rest is the
      server's path);
    - cold: a stored day graded right after a write to the patient (the cached inputs are
      rebuilt: one database read of the patient).

    Prints median and 10th/90th percentile per mode with the load average; exits 1 when
    any grade differs from the batch grade. The goal is judged on the request path
    (what a user waits for, minus the network) and on stored + typed grading.
    """
    home = Path(tempfile.mkdtemp(prefix="remission-web-grade-"))
    os.environ.pop("DATABASE_URL", None)
    from remission.web.serve import setup

    setup(home)
    from remission.analyses.raw import CRS_VARIABLES, NEURO_VARIABLES, resolve_systems
    from remission.derive.criteria import grade_all
    from remission.study import load_study
    from remission.vocab.vocabulary import VOCABULARY, normalise_observations
    from remission.web.folder import import_study
    from remission.web.grading import grade_day
    from remission.web.models import Patient, bump_revision

    study = import_study(STUDY, "bench")
    patients = {p.patient_id: p for p in Patient.objects.filter(study=study)}
    st = load_study(STUDY)
    cfg = st.config
    sy = resolve_systems(dict(cfg.criteria), cfg.disease)
    t0 = time.perf_counter()
    obs = normalise_observations(st.tables["observations"],
                                 st.patients.set_index("patient_id")["weight_kg"])
    out = grade_all(obs, patients=st.patients, treatments=st.tables["treatments"],
                    events=st.tables["events"], crs=sy.crs, neurotoxicity=sy.neurotoxicity,
                    response=None, lln=cfg.lln or None, products=tuple(cfg.products))
    batch_s = time.perf_counter() - t0
    crs, ntx = out["crs_daily"], out["neuro_daily"].set_index(["patient_id", "day"])
    daily = out["daily"].set_index(["patient_id", "day"])
    sample = pd.concat([crs[crs["grade"] == g].drop_duplicates("patient_id").head(5)
                        for g in range(6)] + [crs[(crs["patient_id"] == "P001")
                                                 & (crs["day"] == 4)]])
    sample = sample.drop_duplicates(["patient_id", "day"])

    def expected(pid, day, tab, variables, grade=None, rule=None):
        row = daily.loc[(pid, day)] if (pid, day) in daily.index else None
        seen = row is not None and any(v in row.index and pd.notna(row[v]) for v in variables)
        g = int(tab.loc[(pid, day), "grade"]) if grade is None else grade
        if not seen and g != 5:
            return None
        r = str(tab.loc[(pid, day), "decided_by"]) if rule is None else rule
        return g, (r if g else "")

    def shown(gr):
        return tuple(None if x.grade is None else (x.grade, x.decided_by)
                     for x in (gr.crs, gr.neuro))

    wrong: list[str] = []
    modes = ("stored", "typed", "repeat", "request", "cold")
    times: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    grade_day(patients["P001"], 4)  # compiled kernels loaded (the server does this at start)
    for rec in sample.itertuples():
        p, day = patients[rec.patient_id], int(rec.day)
        want = (expected(rec.patient_id, day, crs.set_index(["patient_id", "day"]),
                         CRS_VARIABLES),
                expected(rec.patient_id, day, ntx, NEURO_VARIABLES))
        for mode in ("cold", "stored"):
            for _ in range(repeats if mode == "stored" else 2):
                if mode == "cold":
                    bump_revision(p.pk)
                t0, c0 = time.perf_counter(), time.process_time()
                g = grade_day(p, day)
                times[mode].append(time.perf_counter() - t0)
                cpu[mode].append(time.process_time() - c0)
                if shown(g) != want:
                    wrong.append(f"{mode} {rec.patient_id} day {day}: live {shown(g)}, "
                                 f"batch {want}")
    pids = sorted(patients)[:20]
    oracle = batch_oracle(pids)
    for pid in pids:
        for day in list(GRADE_DAYS)[::10]:
            rows = []
            for var, val in SCENARIOS[scenario_of(pid, day)].items():
                v = VOCABULARY[var]
                rows.append({"variable": var, "value": val, "time": "",
                             "unit": "category" if v.kind == "categorical" else v.unit})
            for k in range(repeats):
                mode = "typed" if k == 0 else "repeat"
                t0, c0 = time.perf_counter(), time.process_time()
                g = grade_day(patients[pid], day, rows)
                times[mode].append(time.perf_counter() - t0)
                cpu[mode].append(time.process_time() - c0)
                if shown(g) != oracle[(pid, day)]:
                    wrong.append(f"{mode} {pid} day {day}: live {shown(g)}, "
                                 f"batch {oracle[(pid, day)]}")
    # the whole request path, in process (Django's test client)
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from remission.web.models import Membership

    user = get_user_model().objects.create_user("bench-nurse", password=None)
    Membership.objects.create(user=user, study=study, role="data_entry")
    client = Client()
    client.force_login(user)
    for pid in pids:
        for day in list(GRADE_DAYS)[5::10]:  # other days: values new to the server
            url = reverse("bedside_grade", args=[study.pk, patients[pid].pk, day])
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                r = client.post(url, SCENARIOS[scenario_of(pid, day)])
                times["request"].append(time.perf_counter() - t0)
                cpu["request"].append(time.process_time() - c0)
                got = shown_grades(r.content.decode()) if r.status_code == 200 else r.status_code
                if got != oracle[(pid, day)]:
                    wrong.append(f"request {pid} day {day}: page {got}, "
                                 f"batch {oracle[(pid, day)]}")
    print(f"live grading of one patient-day; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f"; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; batch grading "
          f"of the whole study (18,537 observations) {batch_s * 1000:.0f} ms", flush=True)
    for mode, ts in times.items():
        q10, q50, q90 = np.percentile(np.array(ts) * 1000, [10, 50, 90])
        print(f"  {mode:<7} n={len(ts):>4}  median {q50:6.1f} ms  (p10 {q10:6.1f}, "
              f"p90 {q90:6.1f}); CPU time median {np.median(cpu[mode]) * 1000:6.1f} ms",
              flush=True)
    live = float(np.median(times["typed"] + times["stored"])) * 1000
    req = float(np.median(times["request"])) * 1000
    n = len(times["stored"]) // repeats + len(times["typed"]) + len(times["request"]) // repeats
    print(f"  grades compared with the batch pipeline: {n} patient-days, "
          f"{len(wrong)} disagreement(s)")
    for w in wrong[:10]:
        print("   DISAGREE:", w)
    print(f"  goal < 50 ms: median of stored + typed {live:.1f} ms, whole request "
          f"{req:.1f} ms: {'met' if max(live, req) < 50 else 'NOT met'}; "
          f"load average now {os.getloadavg()[0]:.1f}", flush=True)
    return 1 if wrong else 0


def _row(name: str, v) -> str:
    v = np.asarray(v) * 1000
    if not len(v):
        return f"  {name:<9} n=0"
    p50, p95, p99 = np.percentile(v, [50, 95, 99])
    return f"  {name:<9} n={len(v):>6}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  p99 {p99:7.1f} ms"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--think", type=float, default=1.0,
                    help="mean think time between a user's requests, s (0 = back-to-back)")
    ap.add_argument("--workers", type=int, default=None,
                    help="server processes (default: remission web's default)")
    ap.add_argument("--quick", action="store_true", help="10 users, 20 s")
    ap.add_argument("--backend", choices=["both", "sqlite", "postgresql"], default="both")
    ap.add_argument("--grading-only", action="store_true",
                    help="only the live-grading timing against the batch grading")
    a = ap.parse_args(argv)
    if a.quick:
        a.users, a.seconds = 10, 20.0
    if a.grading_only:
        return live_grading()
    print(f"remission web load: {a.users} users, {a.seconds:g} s, think time {a.think:g} s "
          f"(mean), 127.0.0.1; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    pids = sorted(pd.read_csv(STUDY / "patients.csv", dtype=str)["patient_id"])
    oracle = batch_oracle(pids)
    print(f"  oracle: batch grades of {len(oracle)} typed patient-days", flush=True)
    runs = []
    if a.backend in ("both", "sqlite"):
        runs.append(run("SQLite", a.users, a.seconds, a.think, a.workers, {}, oracle))
        _print(runs[-1])
    if a.backend in ("both", "postgresql"):
        with pg_cluster() as url:
            if url is None:
                print("PostgreSQL: server binaries not found; run skipped")
            else:
                runs.append(run("PostgreSQL", a.users, a.seconds, a.think, a.workers,
                                {"DATABASE_URL": url}, oracle))
                _print(runs[-1])
    failed = not runs or any(bool(r["errors"]) or not len(r["all"]) for r in runs)
    return 1 if failed else 0


def _print(r: dict) -> bool:
    """Print one backend's figures; True when it failed."""
    n = len(r["all"])
    p95 = float(np.percentile(r["all"], 95) * 1000) if n else float("nan")
    before, during, after = r["load"]
    during_txt = (f"{min(during):.1f}-{max(during):.1f} (mean {np.mean(during):.1f})"
                  if during else "n/a")
    print(f"\n{r['label']}: {n} requests in {r['wall_s']:.0f} s ({n / r['wall_s']:.1f}/s), "
          f"errors {len(r['errors'])}, server start {r['startup_s']:.0f} s; load average "
          f"before {before:.1f}, during {during_txt}, after {after:.1f}")
    for k, v in r["lat"].items():
        print(_row(k, v))
    print(_row("all", r["all"]))
    print(f"  goal p95 < 300 ms and 0 errors: "
          f"{'met' if p95 < 300 and not r['errors'] else 'NOT met'} (p95 {p95:.0f} ms)")
    for e in r["errors"][:10]:
        print("   error:", e)
    sys.stdout.flush()
    return bool(r["errors"]) or n == 0


if __name__ == "__main__":
    sys.exit(main())
