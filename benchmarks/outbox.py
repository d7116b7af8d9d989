"""How many emails a second `flask outbox send` delivers to an SMTP server on loopback, against a
baseline measured in the same run: raw smtplib sending the same messages over one connection, with
no database. Prints numbers; not a test.

    python -m benchmarks.outbox                        # SQLite, 2,000 emails
    python -m benchmarks.outbox --emails 5000 --workers 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_outbox

The SMTP server is aiosmtpd in its own process (so it does not share the GIL with the sender); it
keeps nothing but counts each email's X-Partnership-Bid-Key header, so the benchmark also checks
that every email arrived exactly once. The outbox is filled with bulk inserts of one rendered
email (a "password changed" email, about 1 KB of text and 5 KB of HTML) to different addresses.
`--workers N` runs N `flask outbox send` processes at once on the same outbox, as cron on several
machines would. A PostgreSQL database named in --database-url is emptied first; its name must
start with "bench".
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url

from benchmarks import reset_database

ROOT = Path(__file__).resolve().parent.parent


# --- the SMTP server (its own process) ----------------------------------------------------------


def serve(port: int, record: bool = False) -> None:
    """Run a counting aiosmtpd server until stdin closes. Commands on stdin: `report`, `reset`, and
    with `record`, `messages`: every email received, as JSON ({"to": [...], "subject", "key"})."""
    from email import policy
    from email.parser import BytesHeaderParser

    from aiosmtpd.controller import Controller

    counts: dict[str, int] = {}
    received: list[dict] = []
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
            key = "?"
            for line in envelope.original_content.split(b"\r\n"):
                if not line:
                    break
                if line.lower().startswith(b"x-partnership-bid-key:"):
                    key = line.split(b":", 1)[1].strip().decode()
                    break
            with lock:
                counts[key] = counts.get(key, 0) + 1
                if record:
                    headers = BytesHeaderParser(policy=policy.default).parsebytes(envelope.original_content)
                    received.append({"to": sorted(envelope.rcpt_tos), "subject": str(headers["subject"]),
                                     "key": key})
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        with lock:
            if command == "report":
                print(json.dumps({"messages": sum(counts.values()), "distinct": len(counts),
                                  "duplicates": sum(n - 1 for n in counts.values() if n > 1)}), flush=True)
            elif command == "reset":
                counts.clear()
                received.clear()
                print("ok", flush=True)
            elif command == "messages":
                print(json.dumps(received), flush=True)
    controller.stop()


class Server:
    """The SMTP server's process; with `record`, it keeps every email's recipients and subject."""

    def __init__(self, record: bool = False):
        from tests.smtp import free_port

        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.outbox", "--serve", str(self.port), *(["--record"] if record else [])],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"

    def _ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def report(self) -> dict:
        return json.loads(self._ask("report"))

    def reset(self) -> None:
        self._ask("reset")

    def messages(self) -> list[dict]:
        return json.loads(self._ask("messages"))

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- the database -------------------------------------------------------------------------------


def _app(url: str, port: int, **overrides):
    os.environ.setdefault("APP_ENV", "testing")
    from app import create_app

    return create_app("testing", SQLALCHEMY_DATABASE_URI=url, MAIL_SERVER="127.0.0.1", MAIL_PORT=port,
                      **overrides)


def fill(app, emails: int, tag: str) -> None:
    """Queue `emails` pending emails with bulk inserts."""
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import OutboxEmail, OutboxStatus
    from app.models.base import utcnow
    from app.services.outbox import render_email

    with app.app_context():
        subject, body_text, body_html = render_email("password_changed", user=SimpleNamespace(full_name="Sam Jones"))
        now = utcnow()
        rows = [
            {
                "idempotency_key": f"bench:{tag}:{n}",
                "to_address": f"person{n}@example.org",
                "subject": subject,
                "body_text": body_text,
                "body_html": body_html,
                "template": "password_changed",
                "status": OutboxStatus.PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for n in range(emails)
        ]
        for start in range(0, len(rows), 1000):
            db.session.execute(insert(OutboxEmail), rows[start:start + 1000])
        db.session.commit()


def pending_messages(app) -> list:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import OutboxEmail, OutboxStatus
    from app.services.outbox import build_message

    with app.app_context():
        rows = db.session.scalars(select(OutboxEmail).where(OutboxEmail.status == OutboxStatus.PENDING)
                                  .order_by(OutboxEmail.id)).all()
        return [build_message(row) for row in rows]


# --- the measurements ---------------------------------------------------------------------------


def baseline(messages: list, port: int) -> float:
    """Raw smtplib: the same messages over one connection, no database. Returns seconds."""
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for msg in messages:
            smtp.send_message(msg)
    return time.perf_counter() - started


def send_all(url: str, port: int) -> None:
    """One outbox worker (its own process): when told to go, run deliver_due() until nothing is left,
    and print the number of SQL statements and commits it ran as JSON."""
    from sqlalchemy import select

    from app.extensions import db
    from app.services.outbox import deliver_due

    app = _app(url, port)
    counts = {"statements": 0, "commits": 0, "sent": 0, "runs": 0, "at_risk": 0}
    accepted: list[float] = []  # when the SMTP server accepted each email
    windows: list[float] = []  # from then to the end of the commit that follows it

    sendmail = smtplib.SMTP.sendmail  # send_message() calls it too

    def timed_sendmail(self, *args, **kwargs):
        result = sendmail(self, *args, **kwargs)
        accepted.append(time.perf_counter())
        return result

    smtplib.SMTP.sendmail = timed_sendmail

    commit_impl = Connection._commit_impl  # every commit, through the session or a connection

    def timed_commit(self, *args, **kwargs):
        result = commit_impl(self, *args, **kwargs)
        now = time.perf_counter()
        windows.extend(now - t for t in accepted)
        counts["at_risk"] = max(counts["at_risk"], len(accepted))
        accepted.clear()
        return result

    Connection._commit_impl = timed_commit

    with app.app_context():
        db.session.execute(select(1))  # connected and warm before the clock starts
        db.session.commit()
        print("ready", flush=True)
        sys.stdin.readline()
        cpu = time.process_time()
        @event.listens_for(db.engine, "before_cursor_execute")
        def _count(*args, **kwargs):
            counts["statements"] += 1

        @event.listens_for(db.engine, "commit")
        def _commit(*args, **kwargs):
            counts["commits"] += 1

        while True:
            report = deliver_due()
            counts["runs"] += 1
            counts["sent"] += report.sent
            if not (report.sent or report.retrying or report.failed):
                break
        counts["cpu"] = time.process_time() - cpu
    windows.sort()
    counts["window_median_ms"] = 1000 * windows[len(windows) // 2] if windows else 0
    counts["window_max_ms"] = 1000 * windows[-1] if windows else 0
    print(json.dumps(counts))


def outbox(url: str, port: int, workers: int, per_commit: int) -> tuple[float, list[dict]]:
    """Start the workers, wait until each is ready, then time them from "go" until the last ends."""
    env = {**os.environ, "OUTBOX_EMAILS_PER_COMMIT": str(per_commit)}
    processes = [
        subprocess.Popen([sys.executable, "-m", "benchmarks.outbox", "--send", url, str(port)], cwd=ROOT,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(workers)
    ]
    for p in processes:
        assert p.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for p in processes:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate()[0] for p in processes]
    elapsed = time.perf_counter() - started
    if any(p.returncode for p in processes):
        raise SystemExit("an outbox worker failed")
    return elapsed, [json.loads(out.strip().splitlines()[-1]) for out in outputs]


def _database_url(args, tmp: str) -> str:
    if not args.database_url:
        return f"sqlite:///{Path(tmp) / 'outbox.sqlite'}"
    url = make_url(args.database_url)
    if url.get_backend_name() == "postgresql":
        if not (url.database or "").startswith("bench"):
            raise SystemExit("The PostgreSQL database is emptied: its name must start with 'bench'")
        from tests.conftest import ensure_database

        ensure_database(args.database_url)
    return args.database_url


def _empty_outbox(app) -> None:
    from app.extensions import db

    with app.app_context():
        db.session.execute(text("DELETE FROM outbox_email"))
        db.session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="outbox worker processes at once")
    parser.add_argument("--per-commit", default="1,10",
                        help="OUTBOX_EMAILS_PER_COMMIT values to compare, e.g. 1,10")
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every run, interleaved; best is shown")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--send", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.record)
        return
    if args.send:
        send_all(args.send[0], int(args.send[1]))
        return

    variants = [int(n) for n in args.per_commit.split(",")]
    server = Server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-outbox-") as tmp:
            url = _database_url(args, tmp)
            app = _app(url, server.port)
            reset_database(app)
            backend = make_url(url).get_backend_name()
            print(f"Outbox benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {backend}, "
                  f"{args.emails:,} emails, {args.workers} outbox worker{'s' if args.workers != 1 else ''}, "
                  f"aiosmtpd on loopback in its own process. Window: from the SMTP server's acceptance of an "
                  f"email to the end of the commit that records it; at risk: most emails accepted and not yet "
                  f"recorded at once (per worker). CPU: the sending process's own.\n")
            header = (f"{'run':<32}{'seconds':>8}{'emails/s':>9}{'of base':>8}{'CPU ms/email':>13}{'SQL/email':>10}"
                      f"{'commits':>8}{'window ms':>10}{'at risk':>8}{'dupes':>6}")
            print(header)
            print("-" * len(header))
            best: dict[str, float] = {}
            for n in range(args.repeats):
                fill(app, args.emails, f"base{n}")
                messages = pending_messages(app)
                _empty_outbox(app)
                server.reset()
                cpu = time.process_time()
                seconds = baseline(messages, server.port)
                cpu = time.process_time() - cpu
                received = server.report()
                assert received["messages"] == args.emails and received["duplicates"] == 0, received
                base = best["base"] = min(best.get("base", seconds), seconds)
                print(f"{'raw smtplib, one connection':<32}{seconds:>8.2f}{args.emails / seconds:>9.0f}{'100%':>8}"
                      f"{1000 * cpu / args.emails:>13.2f}")
                for per_commit in variants:
                    fill(app, args.emails, f"outbox{n}-{per_commit}")
                    server.reset()
                    seconds, counts = outbox(url, server.port, args.workers, per_commit)
                    received = server.report()
                    sent = sum(c["sent"] for c in counts)
                    name = f"outbox send, {per_commit} per commit"
                    best[name] = min(best.get(name, seconds), seconds)
                    print(f"{name:<32}{seconds:>8.2f}{args.emails / seconds:>9.0f}{base / seconds:>8.0%}"
                          f"{1000 * sum(c['cpu'] for c in counts) / max(sent, 1):>13.2f}"
                          f"{sum(c['statements'] for c in counts) / max(sent, 1):>10.2f}"
                          f"{sum(c['commits'] for c in counts):>8}"
                          f"{max(c['window_median_ms'] for c in counts):>10.2f}"
                          f"{max(c['at_risk'] for c in counts):>8}{received['duplicates']:>6}")
                    if received["messages"] != args.emails or received["distinct"] != args.emails:
                        print(f"    !! {received} (workers sent {[c['sent'] for c in counts]})")
                    _empty_outbox(app)
            print("\nBest of each: " + ", ".join(
                f"{name} {args.emails / seconds:.0f} emails/s" for name, seconds in best.items()))
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
