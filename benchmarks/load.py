"""Load benchmark: every key page under 20 concurrent signed-in users, on PostgreSQL with the
national demo data, served by gunicorn (4 sync workers) as in production, beside two baselines
measured in the same run. Prints a Markdown table; not a test.

    python -m benchmarks load                      # about 8 minutes (plus 20-50 s to seed, the first time)
    python -m benchmarks load --seconds 5 --pages "bid,budget"
    BENCH_SECONDS=15 BENCH_USERS=20 python -m benchmarks load

1. Creates the PostgreSQL database (`bench_load` at 127.0.0.1:5432, or BENCH_DATABASE_URL) if it
   is missing, applies the migrations and loads `flask demo seed --scale national` unless it is
   there already (`--reseed` starts again from an empty database); then ANALYZE, so PostgreSQL
   plans with statistics of the data as loaded.
2. Counts the SQL statements of each key page for the rounds of 5, 14 and 100 CSPs: the page is
   requested through the Flask test client against the same database, signed in (through the
   sign-in form) as that round's lead bidder administrator or CSP manager, once to warm up and once
   counted (a before_cursor_execute listener; the whole request, sign-in session check included).
3. Starts three gunicorns with the same settings (`--workers 4`, sync workers) on loopback ports:
   the service (wsgi:app, APP_ENV=production, rate limits in Redis), a bare Flask "hello world"
   and a bare page rendering the GOV.UK template shell (benchmarks/baseline.py).
4. Drives each key page of the 14-CSP round with Locust (benchmarks/load_driver.py): `--users`
   users sign in through the real sign-in form, then request the page without pause: `--warmup`
   seconds unmeasured (every worker compiles its templates), then `--seconds` measured. The two
   baselines are measured before every `--baseline-every` pages and at the end; their rows are
   the mean of those runs, and "% of shell" compares a page's requests per second with the GOV.UK
   shell's.

Locust and gunicorn share the machine's CPUs: on 2 cores the client's own work caps the
hello-world figure, and the GOV.UK shell is the fairer yardstick.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
WORK = ROOT / "instance" / "bench-load"  # uploaded documents and exports of the benchmark database
SIZES = (5, 14, 100)
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
HELLO, SHELL = "Hello world (bare Flask)", "GOV.UK template shell"


def _env(name: str, default):
    return type(default)(os.environ.get(name) or default)


# --- the database ----------------------------------------------------------------------------------------


def ensure_database(url: str, reseed: bool) -> None:
    """Create the database if it is missing (drop it first with `reseed`)."""
    import psycopg
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    admin = parts.set(database="postgres").render_as_string(hide_password=False).replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,)).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{parts.database}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{parts.database}"')


def _analyze(url: str) -> None:
    """Fresh planner statistics (the seed makes them too), so every run plans its queries alike."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).render_as_string(hide_password=False).replace("+psycopg", ""),
                         autocommit=True) as conn:
        conn.execute("ANALYZE")


def _flask_env(url: str) -> dict:
    return os.environ | {
        "APP_ENV": "development", "FLASK_DEBUG": "0", "DATABASE_URL": url,
        "UPLOAD_FOLDER": str(WORK / "uploads"), "EXPORT_FOLDER": str(WORK / "exports"),
    }


def prepare(url: str, settings: dict | None = None) -> str:
    """Migrate and seed (unless seeded), with these settings on top of development's (e.g. where
    the demo's documents are stored). Returns what happened, in words."""
    env = _flask_env(url) | (settings or {})
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    started = time.perf_counter()
    out = subprocess.run([*flask, "demo", "seed", "--scale", "national", "--if-empty"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"Could not load the national demo data:\n{out.stdout}{out.stderr}")
    if "already loaded" in out.stdout:
        _analyze(url)
        return "national demo data already loaded (and analysed)"
    loaded = next((line for line in out.stdout.splitlines() if line.startswith("Loaded")), "")
    return f"seeded the national demo data in {time.perf_counter() - started:.0f} s (wall clock): {loaded}"


def _app(url: str):
    from app import create_app

    return create_app("development", DEBUG=False, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                      UPLOAD_FOLDER=str(WORK / "uploads"), EXPORT_FOLDER=str(WORK / "exports"))


def targets(app, sizes) -> dict:
    """{CSPs: (Target, [(page, "csp" or "lead", path)])} of the benchmark rounds."""
    from app import demo_national

    with app.app_context():
        found = {}
        for size in sizes:
            t = demo_national.target(size)
            found[size] = (t, demo_national.key_pages(t))
        return found


NOTIFICATIONS_EACH = 500  # about what three busy weeks of a 100-CSP round leave a reviewer


def give_notifications(app, rounds) -> str:
    """The national data is loaded in bulk, past the services that notify people: give each person
    the benchmark signs in as NOTIFICATIONS_EACH notifications over three weeks (a third unread), so
    What's new and every menu's unread count are measured with a full history, not an empty one."""
    from datetime import timedelta

    from sqlalchemy import func, insert, select

    from app.extensions import db
    from app.models import Notification, NotificationKind
    from app.models.base import utcnow
    from app.services.accounts import find_user_by_email

    kinds = list(NotificationKind)
    added = 0
    with app.app_context():
        now = utcnow()
        for target, _ in rounds.values():
            for email in (target.lead_admin, target.csp_manager):
                user = find_user_by_email(email)
                have = db.session.scalar(select(func.count()).where(Notification.user_id == user.id))
                rows = [
                    {"lead_bidder_id": user.lead_bidder_id, "user_id": user.id, "kind": kinds[i % len(kinds)].value,
                     "summary": f"Something happened in round {target.round_id} ({i})", "link": "/home",
                     "event_key": f"benchmark:{i}", "round_id": target.round_id,
                     "created_at": now - timedelta(minutes=60 * 24 * 21 * i // NOTIFICATIONS_EACH),
                     "read_at": None if i % 3 == 0 else now}
                    for i in range(have, NOTIFICATIONS_EACH)
                ]
                if rows:
                    db.session.execute(insert(Notification), rows)
                    added += len(rows)
        db.session.commit()
    return f"{NOTIFICATIONS_EACH} for each person signed in as ({added} added now)"


# --- SQL statements per page ---------------------------------------------------------------------------------


def second_factor_codes(app, email: str, count: int) -> list[str]:
    """`count` one-time recovery codes for `email`, giving them a second factor first if they have
    none: a lead bidder administrator must sign in with two-factor sign-in, and a code from an app
    works only once, so each simulated user signs in with a recovery code of its own."""
    import secrets

    import pyotp

    from app.extensions import db
    from app.models import RecoveryCode
    from app.models.base import utcnow
    from app.services.accounts import find_user_by_email
    from app.services.tokens import hash_token

    with app.app_context():
        user = find_user_by_email(email)
        if user.totp_secret is None:
            user.totp_secret, user.two_factor_enabled_at = pyotp.random_base32(), utcnow()
        codes = [secrets.token_hex(5) for _ in range(count)]
        db.session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_token(code)) for code in codes)
        db.session.commit()
    return codes


def needs_second_factor(app, email: str) -> bool:
    """Whether the rulebook requires two-factor sign-in of this person (lead bidder administrators
    and staff): without a second factor they would be sent to set one up on every page."""
    from app.policy.rules import two_factor_required
    from app.services.accounts import find_user_by_email

    with app.app_context():
        return two_factor_required(find_user_by_email(email))


def _signed_in(app, email: str):
    from app.demo_national import PASSWORD

    codes = second_factor_codes(app, email, 1) if needs_second_factor(app, email) else []
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"csrf_token": CSRF.search(page).group(1), "email": email,
                                             "password": PASSWORD})
    if response.status_code == 302 and response.headers["Location"].startswith("/sign-in/two-factor"):
        page = client.get("/sign-in/two-factor").get_data(as_text=True)
        response = client.post("/sign-in/two-factor", data={"csrf_token": CSRF.search(page).group(1),
                                                            "code": codes[0]})
    if response.status_code != 302:
        raise SystemExit(f"Could not sign in as {email} ({response.status_code})")
    return client


def count_statements(app, target, pages) -> dict[str, tuple[int, int]]:
    """{page: (SQL statements, status code)} for one round, each page requested once warm."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    clients = {"lead": _signed_in(app, target.lead_admin), "csp": _signed_in(app, target.csp_manager)}
    count = [0]

    def listener(*_):
        count[0] += 1

    event.listen(engine, "before_cursor_execute", listener)
    try:
        counts = {}
        for name, who, path in pages:
            clients[who].get(path)
            count[0] = 0
            status = clients[who].get(path).status_code
            counts[name] = (count[0], status)
        return counts
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# --- servers ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


class Server:
    """gunicorn with the service's settings (4 sync workers) serving `module` on a loopback port.
    `options` go on gunicorn's command line (e.g. a --config file); its log is `log` (in WORK unless
    a path is given)."""

    def __init__(self, module: str, env: dict | None = None, ready_path: str = "/", workers: int = 4,
                 options: tuple[str, ...] = (), log: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = log or WORK / f"gunicorn-{module.replace(':', '-')}.log"
        self.log = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), *options, "--workers", str(workers), "--worker-class", "sync",
             "--bind", f"127.0.0.1:{self.port}", module],
            cwd=ROOT, env=env or os.environ.copy(), stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=5) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn {module} did not start: see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def service_env(url: str, redis_url: str) -> tuple[dict, str]:
    """The service's environment: production settings on plain HTTP over loopback, and sign-in
    limits high enough for the benchmark's users. Without Redis: development settings, debug off."""
    env = os.environ | {
        "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(48), "FLASK_DEBUG": "0",
        "SESSION_COOKIE_SECURE": "0", "FORCE_HTTPS": "0", "PROXY_FIX_COUNT": "0", "LOG_LEVEL": "WARNING",
        "SIGN_IN_LIMIT_PER_IP": "100000 per minute", "SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP": "100000 per minute",
        "UPLOAD_FOLDER": str(WORK / "uploads"), "EXPORT_FOLDER": str(WORK / "exports"),
    }
    if redis_answers(redis_url):
        return env | {"APP_ENV": "production", "RATELIMIT_STORAGE_URI": redis_url}, "production settings"
    return env | {"APP_ENV": "development"}, "development settings with debug off (Redis not reachable)"


# --- load ---------------------------------------------------------------------------------------------------


def drive(url: str, path: str, users: int, seconds: float, warmup: float, email: str | None = None,
          codes: list[str] | None = None) -> dict:
    from app.demo_national import PASSWORD

    command = [sys.executable, "-m", "benchmarks.load_driver", url, path, "--users", str(users),
               "--seconds", str(seconds), "--warmup", str(warmup)]
    if email:
        command += ["--email", email, "--password", PASSWORD]
    if codes:
        command += ["--codes", ",".join(codes)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"The load driver failed on {path}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_load(servers: dict, pages, target, users: int, seconds: float, warmup: float,
             every: int, app=None) -> dict[str, list[dict]]:
    """{page: [results]}: the pages in turn, the two baselines before every `every` pages and at the end.
    The lead bidder administrator's users each sign in with a recovery code of their own (`app` makes them)."""
    results: dict[str, list[dict]] = {}

    def one(name: str, url: str, path: str, email: str | None = None) -> None:
        codes = second_factor_codes(app, email, users) if app is not None and email == target.lead_admin else None
        r = drive(url, path, users, seconds, warmup, email, codes)
        results.setdefault(name, []).append(r)
        note = f", {r['failures']} errors {r['errors']}" if r["failures"] else ""
        note += f" ({'; '.join(r['problems'])})" if r["problems"] else ""
        print(f"  {name}: {r['rps']:.1f} requests/s, p50 {r['p50']} ms, p95 {r['p95']} ms{note}", flush=True)

    def baselines() -> None:
        one(HELLO, servers["hello"].url, "/")
        one(SHELL, servers["shell"].url, "/")

    for i, (name, who, path) in enumerate(pages):
        if i % every == 0:
            baselines()
        one(name, servers["app"].url, path, target.csp_manager if who == "csp" else target.lead_admin)
    baselines()
    return results


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _mean(runs: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in runs)


def table(results: dict[str, list[dict]], counts: dict[int, dict], pages) -> str:
    shell = _mean(results[SHELL], "rps") if SHELL in results else None
    sizes = sorted(counts)
    head = ["page", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "% of shell"]
    head += [f"SQL @{n} CSPs" for n in sizes]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    names = [HELLO, SHELL] + [name for name, _, _ in pages]
    for name in names:
        runs = results.get(name)
        row = [name]
        if runs:
            rps = _mean(runs, "rps")
            row += [f"{rps:,.1f}" if rps < 100 else f"{rps:,.0f}", f"{_mean(runs, 'p50'):,.0f}",
                    f"{_mean(runs, 'p95'):,.0f}", f"{_mean(runs, 'p99'):,.0f}", str(sum(r["failures"] for r in runs)),
                    f"{100 * rps / shell:.1f}%" if shell else "–"]
        else:
            row += ["–"] * 6
        for n in sizes:
            found = counts[n].get(name)
            row.append("–" if found is None else (str(found[0]) if found[1] == 200 else f"{found[0]} ({found[1]})"))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=_env("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=_env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--users", type=int, default=_env("BENCH_USERS", 20), help="concurrent users per page")
    parser.add_argument("--seconds", type=float, default=_env("BENCH_SECONDS", 12.0), help="measured time per page")
    parser.add_argument("--warmup", type=float, default=_env("BENCH_WARMUP", 2.0),
                        help="seconds of load before each measurement")
    parser.add_argument("--csps", type=int, default=14, choices=SIZES, help="the round whose pages are loaded")
    parser.add_argument("--pages", default="", help="only pages whose name contains one of these (comma-separated)")
    parser.add_argument("--baseline-every", type=int, default=4, help="measure the baselines before every N pages")
    parser.add_argument("--reseed", action="store_true", help="drop the database and load the data again")
    parser.add_argument("--no-load", action="store_true", help="only count the SQL statements")
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    args = parser.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "uploads").mkdir(exist_ok=True)
    started = time.perf_counter()
    print(f"Load benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}, {args.database_url}; {_load_average()}", flush=True)
    ensure_database(args.database_url, args.reseed)
    print(f"Database: {prepare(args.database_url)}", flush=True)
    app = _app(args.database_url)
    rounds = targets(app, SIZES)
    print(f"Notifications: {give_notifications(app, rounds)}", flush=True)
    wanted = [w.strip().lower() for w in args.pages.split(",") if w.strip()]
    pages = [p for p in rounds[args.csps][1] if not wanted or any(w in p[0].lower() for w in wanted)]

    print("SQL statements per page (Flask test client, signed in, warm):", flush=True)
    counts = {}
    for size, (target, round_pages) in rounds.items():
        chosen = [p for p in round_pages if p[0] in {name for name, _, _ in pages}]
        counts[size] = count_statements(app, target, chosen)
        print(f"  {target.csps} CSPs (round {target.round_id}): "
              + ", ".join(f"{name} {n}" for name, (n, _) in counts[size].items()), flush=True)

    results: dict[str, list[dict]] = {}
    if not args.no_load:
        env, settings = service_env(args.database_url, args.redis_url)
        print(f"Load: gunicorn --workers 4 (sync), {settings}; {args.users} users per page, "
              f"{args.seconds:g} s each, round of {args.csps} CSPs", flush=True)
        servers = {}
        try:
            servers["app"] = Server("wsgi:app", env, ready_path="/healthz")
            servers["hello"] = Server("benchmarks.baseline:hello")
            servers["shell"] = Server("benchmarks.baseline:shell")
            results = run_load(servers, pages, rounds[args.csps][0], args.users, args.seconds, args.warmup,
                               args.baseline_every, app)
        finally:
            for server in servers.values():
                server.stop()

    print()
    print(table(results, counts, pages))
    for name in (HELLO, SHELL):
        if results.get(name):
            print(f"\n{name}: " + ", ".join(f"{r['rps']:,.0f}" for r in results[name]) + " requests/s in its runs")
    failures = [(name, r) for name, runs in results.items() for r in runs if r["failures"] or r["problems"]]
    for name, r in failures:
        print(f"{name}: {r['failures']} errors {r['errors']} {r['problems']}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "statements": counts}, indent=2))
    print(f"\n(The whole run took {time.perf_counter() - started:.0f} s; {_load_average()}: anything else running "
          "on the machine slows every row, the baselines too.)")


if __name__ == "__main__":
    main()
