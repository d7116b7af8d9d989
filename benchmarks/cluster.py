"""The service as production runs it on several machines, on loopback: two app servers (gunicorn
with deploy/gunicorn.conf.py, APP_ENV=production) and two job workers (`flask jobs worker`) sharing
one PostgreSQL, one Redis, one bucket and one SMTP server. Proves, one PASS/FAIL line each, that
they behave as one service, and exits non-zero when a check fails. Not a test (1.5 to 3 minutes,
a quarter of it seeding).

    python -m benchmarks cluster
    python -m benchmarks cluster --window 15 --web-workers 2 --clients 1 --csps 14

What it starts (and stops again, also on a failure or Ctrl+C):
- moto's S3 server in a process of its own, with one bucket; every process keeps its files there
  (STORAGE_BACKEND=s3, S3_SSE=AES256), and each has local folders of its own, as separate machines
  would, which must still be empty at the end;
- an aiosmtpd server in a process of its own that records every email (benchmarks/outbox.py);
- the PostgreSQL database `bench_cluster` at 127.0.0.1:5432 (or --database-url; its name must
  start with "bench"): dropped, created, migrated (`flask db upgrade`) and seeded with the national
  demo data (`flask demo seed --scale national`, as benchmarks/load.py: London's current round has
  100 CSPs) on every run, since the bucket starts empty;
- Redis at 127.0.0.1:6379/13 (or --redis-url) for the rate limits and the jobs' queue, on a queue
  of its own (JOBS_QUEUE_NAME), emptied at the end;
- two gunicorns (--web-workers sync workers each; PROMETHEUS_MULTIPROC_DIR a folder of each
  server's own, as the systemd unit gives it) and two `flask jobs worker` processes (JOB_WORKERS
  threads each, periodic jobs on), all with the same settings: production's, except plain HTTP
  on loopback (FORCE_HTTPS=0, SESSION_COOKIE_SECURE=0, PROXY_FIX_COUNT=0).

What it proves (A and B are the two app servers; people sign in through the sign-in form, with a
one-time recovery code where two-factor sign-in is required):
a. a CSP manager uploads a supporting document (a 2.5 MB PDF) on A and downloads it from B: the
   same bytes (SHA-256), stored once, encrypted, in the bucket;
b. the round's lead bidder administrator asks for a Word export on A; a worker makes it; it is
   downloaded from B and opens (a ZIP with word/document.xml);
c. reminders: before the workers start, every open round's internal deadline is set to 7 days from
   today and its reminders' send time to a minute ago (UK time), so the "7 days before" reminders
   and the lead bidders' daily summaries are due now (on a day off, the last working day's are,
   and REMINDER_CATCH_UP_HOURS is raised to reach them). Both workers' schedulers queue
   `reminders.run` when they start and every minute; the script waits for the period's `job_run`
   row to be finished and for the outbox to be empty, then counts the emails at the SMTP server:
   each reminder's email arrived once (by recipient and subject, and by outbox key), as many as
   were written; at the end, after more periods, it counts again;
d. the 100-CSP PDF no longer holds a web worker: the median and 95th percentile of three ordinary
   pages (the collective bid overview, a CSP's task list, /healthz), each server requested without
   pause by as many clients as it has workers (--clients), for --window seconds before any export
   (the baseline), then again while the PDF's job runs: from the moment its status is "preparing"
   until the window ends or the status changes (asked every 0.2 s; only requests that ended while
   it was still "preparing" count), and once more after it (how much the machine's own load moves
   the figures); with the time the POST asking for it took and the worker's time to make it. It
   passes when the POST took under a second, at least 2 s were measured while the PDF was being
   made, no request failed and none took a quarter of the PDF's own time (a request that waited
   for the export would);
and at the end, that no file was kept on any server's or worker's own disk.

On 2 cores the worker making the PDF, both app servers, PostgreSQL and the client share the CPUs:
the pages are slower while the PDF is made, but nothing waits for it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.load import (
    BIN,
    CSRF,
    ROOT,
    Server,
    ensure_database,
    free_port,
    needs_second_factor,
    prepare,
    redis_answers,
    second_factor_codes,
    service_env,
    targets,
)
from benchmarks.outbox import Server as SMTPServer

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
WORK = ROOT / "instance" / "bench-cluster"  # logs and each process's own (unused) local folders
REGION = "eu-west-2"
S3_PREFIX = "partnership-bid/"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 - moto's
               "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}


class Failed(Exception):
    """A check could not be completed; the message says why."""


def _env(name: str, default):
    return type(default)(os.environ.get(name) or default)


def _load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def wait_for(condition, what: str, processes: dict, timeout: float = 180):
    """Wait for an event (a row's state, a log line), asking every tenth of a second; fail at once if
    one of the cluster's processes exits. The limit only keeps a broken cluster from hanging."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for name, process in processes.items():
            if process.poll() is not None:
                raise Failed(f"{name} exited ({process.returncode}) while waiting for {what}: see {WORK}")
        if time.monotonic() > deadline:
            raise Failed(f"gave up waiting for {what} after {timeout:.0f} s")
        time.sleep(0.1)


# --- the parts --------------------------------------------------------------------------------------


class Bucket:
    """moto's S3 server in a process of its own, with one bucket."""

    def __init__(self):
        import boto3

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.name = f"bench-cluster-{secrets.token_hex(4)}"
        self.log = open(WORK / "moto.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                        cwd=ROOT, env=os.environ | CREDENTIALS, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self.client = boto3.client("s3", endpoint_url=self.url, region_name=REGION,
                                   aws_access_key_id="testing", aws_secret_access_key="testing")  # nosec B106

        def created() -> bool:
            try:
                self.client.create_bucket(Bucket=self.name, CreateBucketConfiguration={"LocationConstraint": REGION})
            except Exception:  # not listening yet  # noqa: BLE001
                return False
            return True

        wait_for(created, "moto's S3 server", {"moto_server": self.process}, timeout=60)

    def head(self, key: str) -> dict:
        return self.client.head_object(Bucket=self.name, Key=S3_PREFIX + key)

    def count(self) -> int:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return sum(len(page.get("Contents", [])) for page in pages)

    def stop(self) -> None:
        _stop(self.process, timeout=10)
        self.log.close()


class JobWorker:
    """A `flask jobs worker` process with the cluster's settings; its log (JSON lines) in WORK."""

    def __init__(self, name: str, env: dict):
        self.name = name
        self.path = WORK / f"worker-{name.lower()}.log"
        self.log = open(self.path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "jobs", "worker"], cwd=ROOT, env=env,
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def messages(self) -> list[dict]:
        found = []
        for line in self.path.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def stop(self) -> None:
        _stop(self.process, timeout=45)  # SIGTERM: it puts unfinished tasks back on the queue
        self.log.close()


def _stop(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Person:
    """One person's HTTP session. The session lives in the database, so its cookie is good on every
    server (the cookie jar sends it to any port of 127.0.0.1)."""

    def __init__(self, email: str, cookies=None):
        import requests

        self.email = email
        self.http = requests.Session()
        if cookies is not None:
            self.http.cookies.update(cookies)

    @classmethod
    def signed_in(cls, app, email: str, server: str) -> Person:
        """Signed in through the sign-in form of `server`, with a one-time recovery code when
        two-factor sign-in is required of them."""
        from app.demo_national import PASSWORD

        person = cls(email)
        codes = second_factor_codes(app, email, 1) if needs_second_factor(app, email) else []
        response = person.post(server, "/sign-in", {"email": email, "password": PASSWORD})
        if response.status_code == 302 and "/sign-in/two-factor" in response.headers.get("Location", ""):
            response = person.post(server, "/sign-in/two-factor", {"code": codes[0] if codes else ""})
        if response.status_code != 302:
            raise Failed(f"could not sign in as {email} on {server} ({response.status_code})")
        return person

    def copy(self) -> Person:
        """Another client with the same session (for a thread of its own)."""
        return Person(self.email, self.http.cookies)

    def get(self, server: str, path: str, **kwargs):
        return self.http.get(server + path, allow_redirects=False, timeout=120, **kwargs)

    def post(self, server: str, path: str, data: dict, page: str | None = None, files=None, headers=None):
        """POST a form with the CSRF token of `page` (default: the same path) on the same server."""
        found = CSRF.search(self.get(server, page or path).text)
        if not found:
            raise Failed(f"no form at {page or path} on {server}")
        return self.http.post(server + path, data={"csrf_token": found.group(1), **data}, files=files,
                              headers=headers, allow_redirects=False, timeout=120)


# --- the checks -------------------------------------------------------------------------------------


class Results:
    def __init__(self):
        self.failed: list[str] = []
        self.passed = 0

    def line(self, name: str, ok: bool, detail: str) -> None:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(name)

    def note(self, text: str) -> None:
        print(f"      {text}", flush=True)


def _query(app, fn):
    from app.extensions import db

    with app.app_context():
        try:
            return fn(db.session)
        finally:
            db.session.remove()


def make_reminders_due(app) -> tuple[int, str, int | None]:
    """Every open round: internal deadline at 5pm seven days from today (UK), reminders sent at the
    minute before now (UK time), so its "7 days before" reminders and the lead bidder's daily summary
    are due now. Set directly, as tests/test_reminders.py sets a round's deadlines. On a day off the
    latest due ones are the last working day's: returns REMINDER_CATCH_UP_HOURS to reach them then
    (None on a working day), with the number of rounds and the send time."""
    from datetime import time as clock_time

    from sqlalchemy import select, update

    from app.dates import LONDON, london_to_utc
    from app.extensions import db
    from app.models import Round, RoundStatus
    from app.models.base import utcnow
    from app.models.deadline import ReminderSchedule
    from app.workdays import on_or_before

    now = utcnow()
    local = now.astimezone(LONDON)
    before = local - timedelta(minutes=1)
    send = before.time() if before.date() == local.date() else clock_time(0, 0)
    send_time = f"{send:%H:%M}"
    today = local.date()
    with app.app_context():
        ids = db.session.scalars(select(Round.id).where(Round.status == RoundStatus.OPEN)).all()
        db.session.execute(update(Round).where(Round.id.in_(ids))
                           .values(internal_deadline=london_to_utc(today + timedelta(days=7), clock_time(17))))
        db.session.execute(update(ReminderSchedule).where(ReminderSchedule.round_id.in_(ids))
                           .values(send_time=send_time, enabled=True))
        db.session.commit()
        db.session.remove()
    slot_day = on_or_before(today)
    hours = (now - london_to_utc(slot_day, send)).total_seconds() / 3600
    return len(ids), send_time, (math.ceil(hours) + 2 if slot_day != today else None)


def check_document(results: Results, app, bucket: Bucket, servers: dict, manager: Person, contribution_id: int) -> None:
    """a. Upload on A, download from B."""
    from sqlalchemy import select

    from app.demo_content import minimal_pdf
    from app.models import Attachment
    from app.services.documents import key_of

    name = f"cluster-proof-{secrets.token_hex(4)}"
    # A one-page PDF, made 2.5 MB by a comment after its end (hex digits: nothing a PDF check reads).
    data = minimal_pdf(f"{name}: problem profile") + b"%" + secrets.token_hex(1280 * 1024).encode() + b"\n"
    digest = hashlib.sha256(data).hexdigest()
    a, b = servers["A"], servers["B"]
    documents = f"/contributions/{contribution_id}/documents"
    response = manager.post(a.url, f"{documents}/upload", {"description": "Uploaded on server A"}, page=documents,
                            files={"file": (f"{name}.pdf", data, "application/pdf")})
    upload_ms = response.elapsed.total_seconds() * 1000
    if response.status_code != 302:
        raise Failed(f"the upload on A answered {response.status_code}")
    attachment = _query(app, lambda s: s.scalar(select(Attachment).where(Attachment.filename == f"{name}.pdf")))
    if attachment is None:
        raise Failed("the upload on A wrote no document")
    listed = f"{name}.pdf" in manager.get(b.url, documents).text
    started = time.perf_counter()
    download = manager.get(b.url, f"{documents}/{attachment.id}/download")
    download_ms = 1000 * (time.perf_counter() - started)
    got = hashlib.sha256(download.content).hexdigest()
    head = bucket.head(key_of(attachment.stored_name))
    ok = (download.status_code == 200 and got == digest == attachment.sha256 and listed
          and head["ServerSideEncryption"] == "AES256" and head["ContentLength"] == len(data))
    results.line(
        "a. document: uploaded on A, downloaded from B", ok,
        f"{len(data):,} bytes up in {upload_ms:.0f} ms, {len(download.content):,} bytes down in {download_ms:.0f} ms "
        f"(status {download.status_code}); SHA-256 sent {digest[:12]}…, received {got[:12]}…, recorded "
        f"{attachment.sha256[:12]}…; listed on B: {'yes' if listed else 'NO'}; in the bucket: "
        f"{head['ContentLength']:,} bytes, encrypted {head['ServerSideEncryption']}",
    )


def _export_id(response) -> int:
    location = response.headers.get("Location", "")
    if response.status_code != 302 or "/exports/" not in location:
        raise Failed(f"asking for the export answered {response.status_code} {location}")
    return int(location.rstrip("/").rsplit("/", 1)[1])


def _export(app, export_id: int):
    from app.models import ExportRecord

    def load(session):
        row = session.get(ExportRecord, export_id)
        session.expunge(row)
        return row

    return _query(app, load)


def _made_by(workers: list[JobWorker], request_id: str) -> str:
    """Which worker's log has the export job's last line (its lines carry the request's id; the line
    is written just after the export's row says it is ready)."""
    finished = "Job exports.prepare_export finished"

    def found():
        return next((f"worker {w.name}" for w in workers
                     if any(m.get("request_id") == request_id and m.get("message", "").startswith(finished)
                            for m in w.messages())), None)

    try:
        return wait_for(found, "the export job's last log line", {}, timeout=10)
    except Failed:
        return "a worker (its log line not found)"


def _wait_ready(app, export_id: int, processes: dict, timeout: float = 300):
    from app.models import ExportStatus

    def done():
        row = _export(app, export_id)
        return row if row.status in (ExportStatus.READY, ExportStatus.FAILED) else None

    return wait_for(done, f"export {export_id}", processes, timeout=timeout)


def check_export(results: Results, app, bucket: Bucket, servers: dict, workers: list[JobWorker], lead: Person,
                 round_id: int, processes: dict) -> None:
    """b. A Word export asked for on A, made by a worker, downloaded from B."""
    from app.services.exports import key_of

    a, b = servers["A"], servers["B"]
    request_id = f"cluster-docx-{secrets.token_hex(6)}"
    response = lead.post(a.url, f"/rounds/{round_id}/exports", {"format": "docx"}, headers={"X-Request-ID": request_id})
    post_ms = response.elapsed.total_seconds() * 1000
    export_id = _export_id(response)
    row = _wait_ready(app, export_id, processes)
    status = lead.get(b.url, f"/exports/{export_id}/status").json()
    download = lead.get(b.url, f"/exports/{export_id}/download")
    try:
        with zipfile.ZipFile(io.BytesIO(download.content)) as docx:
            opens = "word/document.xml" in docx.namelist()
            parts = len(docx.namelist())
    except zipfile.BadZipFile:
        opens, parts = False, 0
    got = hashlib.sha256(download.content).hexdigest()
    head = bucket.head(key_of(row.stored_name)) if row.stored_name else {}
    ok = (row.status.value == "ready" and status.get("state") == "ready" and download.status_code == 200 and opens
          and got == row.file_sha256 and head.get("ServerSideEncryption") == "AES256")
    results.line(
        "b. export: asked for on A, made by a worker, downloaded from B", ok,
        f"POST on A {post_ms:.0f} ms; made by {_made_by(workers, request_id)} in {row.duration_ms or 0:,} ms "
        f"({(row.finished_at - row.created_at).total_seconds():.1f} s from asking to ready); B says "
        f"\"{status.get('state')}\"; {len(download.content):,} bytes from B, a ZIP of {parts} parts"
        f"{' with' if opens else ' WITHOUT'} word/document.xml; SHA-256 as recorded: "
        f"{'yes' if got == row.file_sha256 else 'NO'}; bucket: {head.get('ServerSideEncryption')}",
    )


def _reminder_runs(app) -> list:
    from sqlalchemy import select

    from app.models import JobRun

    def load(session):
        rows = session.scalars(select(JobRun).where(JobRun.job == "reminders.run").order_by(JobRun.period_start)).all()
        session.expunge_all()
        return rows

    return _query(app, load)


def _pending_emails(app) -> int:
    from sqlalchemy import func, select

    from app.models import OutboxEmail, OutboxStatus

    return _query(app, lambda s: s.scalar(select(func.count()).where(OutboxEmail.status == OutboxStatus.PENDING)))


def _written_reminders(app) -> dict[str, tuple[str, str]]:
    """{outbox key: (recipient, subject)} of every reminder written to be sent."""
    from sqlalchemy import select

    from app.models import OutboxEmail
    from app.models.deadline import Reminder

    return _query(app, lambda s: {key: (to, subject) for key, to, subject in s.execute(
        select(Reminder.key, OutboxEmail.to_address, OutboxEmail.subject)
        .join(OutboxEmail, OutboxEmail.id == Reminder.outbox_email_id))})


def _who(run, workers: list[JobWorker]) -> str:
    pid = run.worker.split(":")[1] if run.worker.count(":") >= 2 else ""
    return next((f"worker {w.name}" for w in workers if str(w.process.pid) == pid), run.worker)


def _tries(workers: list[JobWorker]) -> str:
    """How often each worker ran reminders.run, and how often it found the period already claimed."""
    parts = []
    for w in workers:
        lines = [m.get("message", "") for m in w.messages() if m.get("job") == "reminders.run"]
        ran = sum(line.startswith("Job reminders.run finished") for line in lines)
        skipped = sum("already run this period" in line for line in lines)
        parts.append(f"worker {w.name} ran it {ran} time{'s' if ran != 1 else ''} ({skipped} of them found the "
                     f"period claimed)")
    return "; ".join(parts)


def _received(smtp: SMTPServer, written: dict[str, tuple[str, str]]) -> tuple[int, int, int, int]:
    """(reminder emails received, duplicates by recipient and subject, duplicates by outbox key,
    reminders written but not received)."""
    messages = smtp.messages()
    by_key = Counter(m["key"] for m in messages)
    by_person = Counter((",".join(m["to"]), m["subject"]) for m in messages)
    reminders = sum(by_key[key] for key in written)
    return (reminders, sum(n - 1 for n in by_person.values() if n > 1), sum(n - 1 for n in by_key.values() if n > 1),
            sum(1 for key in written if by_key[key] == 0))


def check_reminders(results: Results, app, smtp: SMTPServer, workers: list[JobWorker], processes: dict) -> int:
    """c. Once per period on two workers, each email sent once. Returns the reminders written."""
    def finished():
        runs = _reminder_runs(app)
        return runs if runs and all(r.finished_at is not None for r in runs) else None

    first = wait_for(finished, "reminders.run's job_run row", processes)[0]
    wait_for(lambda: _pending_emails(app) == 0, "the outbox to be empty", processes)
    written = _written_reminders(app)
    received, person_dupes, key_dupes, missing = _received(smtp, written)
    by_address = Counter(to for to, _ in written.values())
    ok = (first.outcome == "done" and len(written) > 0 and received == len(written) and not person_dupes
          and not key_dupes and not missing)
    results.line(
        "c. reminders: run once per period by two workers, each email sent once", ok,
        f"first period {first.period_start:%H:%M} UTC claimed by {_who(first, workers)}: \"{first.summary}\"; "
        f"{len(written)} reminder emails written to {len(by_address)} people, {received} received by the SMTP "
        f"server, {person_dupes} duplicates by recipient and subject, {key_dupes} by outbox key, {missing} missing",
    )
    results.note(_tries(workers))
    return len(written)


def check_reminders_again(results: Results, app, smtp: SMTPServer, workers: list[JobWorker], written_before: int,
                          processes: dict) -> None:
    """c. (again, minutes later) Later periods ran, wrote nothing new, and nothing was sent twice."""
    def later():
        runs = _reminder_runs(app)
        return runs if len(runs) >= 2 and all(r.finished_at is not None for r in runs) else None

    runs = wait_for(later, "reminders.run's next period", processes)
    wait_for(lambda: _pending_emails(app) == 0, "the outbox to be empty", processes)
    written = _written_reminders(app)
    received, person_dupes, key_dupes, missing = _received(smtp, written)
    by_worker = Counter(_who(r, workers) for r in runs)
    later = [r.summary for r in runs[1:]]
    ok = (len(runs) >= 2 and all(r.outcome == "done" for r in runs) and len(written) == written_before
          and received == len(written) and not person_dupes and not key_dupes and not missing)
    results.line(
        "c. reminders, minutes later: later periods wrote nothing new", ok,
        f"{len(runs)} periods run ({', '.join(f'{n} by {w}' for w, n in sorted(by_worker.items()))}); later runs: "
        f"{', '.join(sorted(set(later))) or 'none yet'}; {len(written)} reminder emails written, {received} received, "
        f"{person_dupes} + {key_dupes} duplicates, {missing} missing",
    )
    results.note(_tries(workers))


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Measured:
    """Response times in ms by (server, page), and the requests that did not answer 200."""

    def __init__(self):
        self.times: dict[tuple[str, str], list[float]] = {}
        self.errors: Counter = Counter()

    def all(self) -> list[float]:
        return [t for times in self.times.values() for t in times]


def measure(servers: dict, pages: list[tuple[str, Person, str]], clients: int, seconds: float,
            still=lambda: True) -> tuple[Measured, float, bool]:
    """`clients` clients per server, each requesting the pages in turn without pause, for `seconds`,
    or until `still()` (asked every 0.2 s) is false. Returns the requests that ended while `still()`
    was true, how long that was, and whether `still()` turned false before the time was up."""
    samples: list[tuple[str, str, float, float, int]] = []  # server, page, ended at, ms, status
    stop = threading.Event()

    def client(name: str, url: str) -> None:
        people = {id(p): p.copy() for _, p, _ in pages}
        while not stop.is_set():
            for page, person, path in pages:
                started = time.perf_counter()
                try:
                    status = people[id(person)].get(url, path).status_code
                except OSError:
                    status = 0
                ended = time.perf_counter()
                samples.append((name, page, ended, 1000 * (ended - started), status))  # list.append: thread-safe

    threads = [threading.Thread(target=client, args=(name, server.url))
               for name, server in servers.items() for _ in range(clients)]
    began = last_seen = time.perf_counter()
    cut_short = False
    for thread in threads:
        thread.start()
    while time.perf_counter() - began < seconds and not stop.wait(0.2):
        if not still():
            cut_short = True
            break
        last_seen = time.perf_counter()
    stop.set()
    for thread in threads:
        thread.join()
    measured = Measured()
    for name, page, ended, ms, status in samples:
        if ended <= last_seen:
            measured.times.setdefault((name, page), []).append(ms)
            if status != 200:
                measured.errors[(name, page)] += 1
    return measured, last_seen - began, cut_short


def _stats(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), _percentile(times, 95)


def check_pdf(results: Results, app, servers: dict, workers: list[JobWorker], lead: Person, manager: Person,
              target, paths: dict[str, str], clients: int, window: float, processes: dict) -> None:
    """d. The 100-CSP PDF is made by a worker; the pages do not wait for it."""
    from app.models import ExportStatus

    a, b = servers["A"], servers["B"]
    pages = [("bid overview", lead, paths["Collective bid overview"]),
             ("CSP task list", manager, paths["Contribution task list"]),
             ("/healthz", lead, "/healthz")]
    measure(servers, pages, clients, 2)  # every gunicorn worker warm (templates compiled, connections open)
    baseline, _, _ = measure(servers, pages, clients, window)

    request_id = f"cluster-pdf-{secrets.token_hex(6)}"
    response = lead.post(a.url, f"/rounds/{target.round_id}/exports", {"format": "pdf"},
                         headers={"X-Request-ID": request_id})
    post_ms = response.elapsed.total_seconds() * 1000
    export_id = _export_id(response)
    wait_for(lambda: _export(app, export_id).status != ExportStatus.PENDING, "a worker to start the PDF", processes)
    status_before = _export(app, export_id).status
    during, seconds, cut_short = Measured(), 0.0, True
    if status_before == ExportStatus.PREPARING:  # and, by measure(), still "preparing" at the end of `seconds`
        during, seconds, cut_short = measure(servers, pages, clients, window,
                                             still=lambda: _export(app, export_id).status == ExportStatus.PREPARING)
    row = _wait_ready(app, export_id, processes, timeout=600)
    download = lead.get(b.url, f"/exports/{export_id}/download")
    is_pdf = download.status_code == 200 and download.content.startswith(b"%PDF")
    made_s = (row.duration_ms or 0) / 1000

    again, _, _ = measure(servers, pages, clients, window)  # the machine's own noise: the same again, no export

    print(f"      {'ms':<14}{'server':>7} | {'before: p50':>11}{'p95':>6}{'n':>4} | {'during the PDF: p50':>19}"
          f"{'p95':>6}{'max':>6}{'n':>4} | {'after: p50':>10}{'p95':>6} | {'during/before p50':>17}{'p95':>6}",
          flush=True)
    for page, _, _ in pages:
        for name in servers:
            key = (name, page)
            if baseline.times.get(key) and during.times.get(key) and again.times.get(key):
                (b50, b95), (l50, l95), (a50, a95) = (_stats(baseline.times[key]), _stats(during.times[key]),
                                                      _stats(again.times[key]))
                slowest, n = max(during.times[key]), len(during.times[key])
                print(f"      {page:<14}{name:>7} | {b50:>11.0f}{b95:>6.0f}{len(baseline.times[key]):>4} | {l50:>19.0f}"
                      f"{l95:>6.0f}{slowest:>6.0f}{n:>4} | {a50:>10.0f}{a95:>6.0f} | {l50 / b50:>16.1f}×"
                      f"{l95 / b95:>5.1f}×", flush=True)
    errors = sum(baseline.errors.values()) + sum(during.errors.values()) + sum(again.errors.values())
    worst = max(during.all(), default=0.0)
    summary = "no requests measured while it was being made"
    ratios = [(_stats(during.times[k])[0] / _stats(times)[0], _stats(during.times[k])[1] / _stats(times)[1])
              for k, times in baseline.times.items() if during.times.get(k)]
    if ratios:
        summary = (f"while it was made, each page's p50 was {min(r[0] for r in ratios):.1f} to "
                   f"{max(r[0] for r in ratios):.1f} times its baseline's and p95 {min(r[1] for r in ratios):.1f} to "
                   f"{max(r[1] for r in ratios):.1f} times, the slowest request {worst:.0f} ms")
    through = status_before == ExportStatus.PREPARING and seconds >= min(window, 2)
    if not through:
        results.note(f"the PDF was \"{status_before.value}\" when the measurement began and finished {seconds:.1f} s "
                     "later: it was made too quickly to measure the pages meanwhile")
    elif cut_short:
        results.note(f"the PDF was finished {seconds:.1f} s into the {window:g} s window: measured until then")
    ok = (through and is_pdf and row.status == ExportStatus.READY and post_ms < 1000 and errors == 0
          and worst < 1000 * made_s / 4)
    asked_to_ready = (row.finished_at - row.created_at).total_seconds()
    results.line(
        f"d. {target.csps}-CSP PDF export made by a worker while the pages kept answering", ok,
        f"POST on A {post_ms:.0f} ms; {summary}; {errors} failed requests; the export \"{status_before.value}\" at "
        f"the start and {'still' if through else 'no longer'} at the end of the {seconds:.1f} s measured; made by "
        f"{_made_by(workers, request_id)} in {made_s:.1f} s ({asked_to_ready:.1f} s from asking to ready, attempt "
        f"{row.attempts}); {len(download.content):,} bytes from B, {'starts with %PDF' if is_pdf else 'NOT a PDF'}",
    )


# --- the run ----------------------------------------------------------------------------------------


def _app(url: str, redis_url: str, queue: str, bucket: Bucket):
    from app import create_app

    return create_app("development", DEBUG=False, SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                      JOBS_URL=redis_url, JOBS_QUEUE_NAME=queue, STORAGE_BACKEND="s3", S3_BUCKET=bucket.name,
                      S3_ENDPOINT_URL=bucket.url, S3_REGION=REGION, S3_PREFIX=S3_PREFIX, S3_SSE="AES256",
                      UPLOAD_FOLDER=str(WORK / "script" / "uploads"), EXPORT_FOLDER=str(WORK / "script" / "exports"))


def _local_files() -> int:
    """Files in the processes' own local folders (none: everything is in the bucket)."""
    return sum(1 for folder in WORK.glob("*/*") if folder.name in ("uploads", "exports")
               for path in folder.rglob("*") if path.is_file() and not path.name.startswith(".readyz"))


def _flush_queue(redis_url: str, queue: str) -> None:
    from huey.storage import RedisStorage

    RedisStorage(queue, url=redis_url).flush_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=_env("BENCH_CLUSTER_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=_env("BENCH_CLUSTER_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers per app server")
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds of page requests measured before the PDF, and again (at most) while it is made")
    parser.add_argument("--clients", type=int, default=0,
                        help="clients requesting pages from each app server at once (default: --web-workers)")
    parser.add_argument("--csps", type=int, default=100, choices=(5, 14, 100),
                        help="the round whose people sign in and whose bid is exported")
    args = parser.parse_args(argv)

    from sqlalchemy.engine import make_url

    if not (make_url(args.database_url).database or "").startswith("bench"):
        raise SystemExit("The database is dropped and made again: its name must start with 'bench'")
    if not redis_answers(args.redis_url):
        raise SystemExit(f"Redis does not answer at {args.redis_url} (make services starts it)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: clean up as on Ctrl+C
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    os.environ.update(CREDENTIALS)  # this process's boto3 (the app's storage) uses moto's test credentials
    queue = f"bench-cluster-{secrets.token_hex(4)}"
    started = time.perf_counter()
    print(f"Cluster proof, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}, {make_url(args.database_url).render_as_string(hide_password=True)}; "
          f"{_load_average()}", flush=True)
    results = Results()
    try:
        run(args, queue, results)
    except KeyboardInterrupt:
        print("\nInterrupted: everything it started has been stopped.", file=sys.stderr)
        raise SystemExit(130) from None
    print(f"\n{results.passed} passed, {len(results.failed)} failed"
          f"{' (' + ', '.join(results.failed) + ')' if results.failed else ''}; the whole run took "
          f"{time.perf_counter() - started:.0f} s; {_load_average()}. Logs: {WORK.relative_to(ROOT)}/")
    if results.failed:
        raise SystemExit(1)


def run(args, queue: str, results: Results) -> None:
    """Start everything, check, and stop everything again (also on an exception or Ctrl+C)."""
    with ExitStack() as stack:
        stack.callback(_flush_queue, args.redis_url, queue)
        smtp = SMTPServer(record=True)
        stack.callback(smtp.stop)
        bucket = Bucket()
        stack.callback(bucket.stop)
        storage = {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket.name, "S3_ENDPOINT_URL": bucket.url,
                   "S3_REGION": REGION, "S3_PREFIX": S3_PREFIX, "S3_SSE": "AES256", "JOBS_URL": args.redis_url,
                   "JOBS_QUEUE_NAME": queue} | CREDENTIALS
        print(f"Started: moto's S3 server at {bucket.url} (bucket {bucket.name}, SSE AES256), aiosmtpd at "
              f"127.0.0.1:{smtp.port}; Redis {args.redis_url} (queue {queue})", flush=True)
        ensure_database(args.database_url, reseed=True)
        print(f"Database: {prepare(args.database_url, storage)} (its documents in the bucket: {bucket.count()})",
              flush=True)
        app = _app(args.database_url, args.redis_url, queue, bucket)
        target, key_pages = targets(app, (args.csps,))[args.csps]
        paths = {name: path for name, _, path in key_pages}
        rounds, send_time, catch_up = make_reminders_due(app)
        print(f"Reminders made due: {rounds} open rounds, internal deadline 7 days from today, sent at {send_time} "
              f"UK time{f'; today is a day off: REMINDER_CATCH_UP_HOURS={catch_up}' if catch_up else ''}", flush=True)

        env, _ = service_env(args.database_url, args.redis_url)
        env = env | storage | {
            "APP_ENV": "production", "LOG_LEVEL": "INFO", "LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1",
            "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port),
            "BASE_URL": "http://127.0.0.1", "RATELIMIT_STORAGE_URI": args.redis_url,
        } | ({"REMINDER_CATCH_UP_HOURS": str(catch_up)} if catch_up else {})

        def own(name: str, web: bool) -> dict:
            folders = {"UPLOAD_FOLDER": str(WORK / name / "uploads"), "EXPORT_FOLDER": str(WORK / name / "exports")}
            if web:  # as the systemd unit: an empty folder of this server's own for gunicorn's workers' metrics
                folders["PROMETHEUS_MULTIPROC_DIR"] = str(WORK / name / "metrics")
            for folder in folders.values():
                Path(folder).mkdir(parents=True, exist_ok=True)
            return env | folders

        servers: dict[str, Server] = {}
        for name in ("A", "B"):
            folder = f"server-{name.lower()}"
            # gunicorn's control socket is $HOME/.gunicorn/gunicorn.ctl unless told: one per machine,
            # so each server here gets one in its own folder, as it would on a machine of its own.
            options = ("--config", "deploy/gunicorn.conf.py", "--control-socket", str(WORK / folder / "gunicorn.ctl"))
            servers[name] = Server("wsgi:app", own(folder, web=True), ready_path="/readyz", workers=args.web_workers,
                                   options=options, log=WORK / f"{folder}.log")
            stack.callback(servers[name].stop)
        workers = []
        for name in ("A", "B"):
            workers.append(JobWorker(name, own(f"worker-{name.lower()}", web=False)))
            stack.callback(workers[-1].stop)
        processes = {f"app server {n}": s.process for n, s in servers.items()} | {
            f"worker {w.name}": w.process for w in workers} | {"moto_server": bucket.process}
        print(f"Started: app servers A {servers['A'].url} and B {servers['B'].url} (gunicorn --config "
              f"deploy/gunicorn.conf.py, {args.web_workers} sync workers each, APP_ENV=production, /readyz 200), "
              f"job workers A (pid {workers[0].process.pid}) and B (pid {workers[1].process.pid}); {_load_average()}\n",
              flush=True)

        def attempt(name: str, check):
            """Run a check; a check that could not finish is a FAIL line, and the others still run."""
            try:
                return check()
            except Failed as exc:
                results.line(name, False, str(exc))
                return None

        clients = args.clients or args.web_workers
        written = attempt("c. reminders", lambda: check_reminders(results, app, smtp, workers, processes))
        manager = attempt("sign-in", lambda: Person.signed_in(app, target.csp_manager, servers["A"].url))
        lead = attempt("sign-in", lambda: Person.signed_in(app, target.lead_admin, servers["B"].url))
        if manager and lead:
            print(f"      signed in: {manager.email} on A, {lead.email} on B (with a recovery code); each "
                  "session is used on both servers", flush=True)
            attempt("a. document", lambda: check_document(results, app, bucket, servers, manager,
                                                          target.csp_contribution_id))
            attempt("b. export", lambda: check_export(results, app, bucket, servers, workers, lead, target.round_id,
                                                      processes))
            attempt("d. PDF", lambda: check_pdf(results, app, servers, workers, lead, manager, target, paths, clients,
                                                args.window, processes))
        if written is not None:
            attempt("c. reminders, later", lambda: check_reminders_again(results, app, smtp, workers, written,
                                                                         processes))
        local = _local_files()
        results.line("files: nothing kept on any server's own disk", local == 0,
                     f"{local} files in the app servers' and workers' own local folders; "
                     f"{bucket.count()} objects in the bucket")


if __name__ == "__main__":
    main()
