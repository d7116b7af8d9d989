"""Background jobs (app/jobs): queued after the commit and never on a rollback, carrying the request's
id into the job's log lines, periodic jobs once per period, and real `flask jobs worker` processes on
the Redis of this machine: two workers racing for one periodic job run it once, and an export whose
worker is killed part way is noticed, made again by another worker, and the page says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import PERIODIC, defer, enqueue, huey, period_start, run_periodic
from app.jobs.exports import prepare_export
from app.models import ExportRecord, ExportStatus, JobRun
from app.models.base import utcnow
from tests.conftest import post_form
from tests.jobs import queued_names, run_queued
from tests.test_exports import accepted, created_id  # noqa: F401 - the accepted world fixture

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


# --- in the test process (the queue in memory) ---------------------------------------------------

def test_a_task_is_queued_when_the_transaction_commits_and_never_on_a_rollback(app, world):
    with app.app_context():
        defer(prepare_export, 41)
        defer(prepare_export, 41)  # the same task twice in one transaction: queued once
        assert queued_names() == []  # nothing yet: the transaction has not committed
        db.session.rollback()
        assert queued_names() == []
        db.session.commit()
        assert queued_names() == []  # the rolled back task is gone for good

        defer(prepare_export, 42)
        db.session.commit()
        assert queued_names() == ["exports.prepare_export"]
        (task,) = huey.pending()
        assert task.args == (42,)


def test_the_request_id_reaches_the_job_that_the_request_queued(app, accepted, signed_in, caplog):  # noqa: F811
    client = signed_in("lead_staff")
    token_page = f"/rounds/{accepted.round_a}/exports"
    from tests.conftest import csrf_token

    response = client.post(
        token_page, data={"format": "csv", "csrf_token": csrf_token(client, token_page)},
        headers={"X-Request-ID": "req-export-0001"},
    )
    export_id = created_id(response)
    from app import logs

    records = []
    handler = _Collect(records)
    logging_root = __import__("logging").getLogger("app.jobs")
    logging_root.addHandler(handler)
    try:
        run_queued(app)
    finally:
        logging_root.removeHandler(handler)
    finished = [fields for message, fields in records if message.startswith("Job exports.prepare_export finished")]
    assert finished and finished[0]["request_id"] == "req-export-0001"
    assert finished[0]["job"] == "exports.prepare_export"
    with app.app_context():
        assert db.session.get(ExportRecord, export_id).status == ExportStatus.READY
    assert logs.bound_field("request_id") is None  # nothing left bound after the job


class _Collect(__import__("logging").Handler):
    def __init__(self, records):
        super().__init__()
        self.records = records

    def emit(self, record):
        from app.logs import context_fields

        self.records.append((record.getMessage(), context_fields()))


def test_a_periodic_job_runs_once_per_period(app, world):
    now = utcnow()
    with app.app_context():
        first = run_periodic("jobs.recover", now=now)
        assert first == "0 exports queued again, 0 given up"
        assert run_periodic("jobs.recover", now=now) is None  # another worker, the same minute
        later = period_start(timedelta(minutes=1), now) + timedelta(minutes=1)
        assert run_periodic("jobs.recover", now=later) is not None  # the next minute: runs again
        runs = db.session.scalars(select(JobRun).order_by(JobRun.id)).all()
        assert [r.job for r in runs] == ["jobs.recover", "jobs.recover"]
        assert all(r.outcome == "done" and r.finished_at is not None for r in runs)


def test_a_failed_periodic_run_is_recorded_and_the_next_period_runs(app, world, monkeypatch):
    spec = PERIODIC["jobs.recover"]

    def broken():
        raise RuntimeError("database went away")

    monkeypatch.setitem(PERIODIC, "jobs.recover", spec.__class__(spec.name, spec.every, broken, spec.task))
    now = utcnow()
    with app.app_context(), pytest.raises(RuntimeError):
        run_periodic("jobs.recover", now=now)
    monkeypatch.setitem(PERIODIC, "jobs.recover", spec)
    with app.app_context():
        (run,) = db.session.scalars(select(JobRun)).all()
        assert run.outcome == "failed" and "database went away" in run.summary
        assert run_periodic("jobs.recover", now=now + timedelta(minutes=1)) is not None


def test_every_periodic_job_is_known_to_the_scheduler():
    names = {task.name for task in huey._registry.periodic_tasks}
    assert {"reminders.run", "outbox.deliver", "notifications.digests", "jobs.recover"} <= names
    assert set(PERIODIC) <= names


def test_an_email_is_delivered_by_the_job_its_transaction_queued(app, world, smtp_server):
    from app.models import User
    from app.services.outbox import queue_email

    with app.app_context():
        user = db.session.get(User, world.users["csp_manager"])
        queue_email("someone@example.org", "password_changed", "test-key-1", lead_bidder_id=world.lead_a, user=user)
        queue_email("other@example.org", "password_changed", "test-key-2", lead_bidder_id=world.lead_a, user=user)
        assert "outbox.deliver_outbox" not in queued_names()
        db.session.commit()
    assert queued_names().count("outbox.deliver_outbox") == 1  # once for the transaction
    run_queued(app)
    assert sorted(m.to for m in smtp_server.messages) == ["other@example.org", "someone@example.org"]


# --- real workers on Redis ----------------------------------------------------------------------

def _redis_answers() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture
def redis_queue(make_app):
    """An app whose jobs go on Redis, on a queue of its own (so parallel tests do not share one)."""
    if not _redis_answers():
        pytest.fail(f"The worker tests need Redis at {REDIS_URL} (make services starts it)")
    name = f"test-{uuid.uuid4().hex[:12]}"
    app = make_app(JOBS_URL=REDIS_URL, JOBS_QUEUE_NAME=name, JOB_STALE_SECONDS=3, JOB_HEARTBEAT_SECONDS=1)
    yield app
    huey.flush()


class Worker:
    """A `flask jobs worker` process (or another script) with the app's settings; its log is JSON."""

    def __init__(self, app, *command: str):
        self.lines: list[str] = []
        env = {
            **os.environ,
            "APP_ENV": "testing",
            "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "TEST_JOBS_URL": app.config["JOBS_URL"],
            "JOBS_QUEUE_NAME": app.config["JOBS_QUEUE_NAME"],
            "JOB_STALE_SECONDS": str(app.config["JOB_STALE_SECONDS"]),
            "JOB_HEARTBEAT_SECONDS": str(app.config["JOB_HEARTBEAT_SECONDS"]),
            "TEST_MAIL_PORT": str(app.config["MAIL_PORT"]),
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
            "FLASK_APP": "wsgi.py",
        }
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "flask", "jobs", "worker", "--workers", "2", "--no-periodic"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def messages(self) -> list[dict]:
        found = []
        for line in list(self.lines):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)

    def log(self) -> str:
        return "\n".join(self.lines[-60:])


def wait_for(condition: Callable[[], object], what: str, workers=(), timeout: float = 90):
    """Wait for an event (a row's state, a log line), checking every tenth of a second. The limit is
    only there so that a broken worker fails the test instead of hanging it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"A worker exited ({worker.process.returncode}) while waiting for {what}:\n{worker.log()}")
        if time.monotonic() > deadline:
            logs = "\n---\n".join(w.log() for w in workers)
            pytest.fail(f"Gave up waiting for {what}. Worker logs:\n{logs}")
        time.sleep(0.1)


def export_row(app, export_id) -> ExportRecord:
    with app.app_context():
        row = db.session.get(ExportRecord, export_id)
        db.session.expunge(row)
        db.session.remove()
        return row


def test_two_workers_racing_for_a_periodic_job_run_it_once(redis_queue, world):
    app = redis_queue
    with app.app_context():
        for _ in range(6):  # as the schedulers of several workers queue it, the same minute
            enqueue(PERIODIC["reminders.run"].task)
    workers = [Worker(app), Worker(app)]
    try:
        def done():
            finished = [m for w in workers for m in w.messages()
                        if m.get("message", "").startswith("Job reminders.run finished")]
            return len(finished) == 6 and huey.pending_count() == 0
        wait_for(done, "six runs of reminders.run", workers)
    finally:
        for worker in workers:
            worker.stop()
    with app.app_context():
        runs = db.session.scalars(select(JobRun).where(JobRun.job == "reminders.run")).all()
    assert len(runs) == 1 and runs[0].outcome == "done"  # run once; the five others found it claimed
    skipped = [m for w in workers for m in w.messages() if "already run this period" in m.get("message", "")]
    assert len(skipped) == 5


def test_a_worker_makes_an_export_asked_for_on_the_web_with_the_requests_id(redis_queue, accepted, smtp_server):  # noqa: F811
    app = redis_queue
    from tests.conftest import csrf_token, sign_in_directly

    client = app.test_client()
    sign_in_directly(client, accepted.emails["lead_staff"])
    page = f"/rounds/{accepted.round_a}/exports"
    response = client.post(page, data={"format": "docx", "csrf_token": csrf_token(client, page)},
                           headers={"X-Request-ID": "req-from-the-web-42"})
    export_id = created_id(response)
    assert export_row(app, export_id).status == ExportStatus.PENDING  # the request made no file
    worker = Worker(app)
    try:
        wait_for(lambda: export_row(app, export_id).status == ExportStatus.READY, "the export", [worker])
        wait_for(lambda: any(m.get("message", "").startswith("Job exports.prepare_export finished")
                             for m in worker.messages()), "the job's last log line", [worker])
    finally:
        worker.stop()
    lines = [m for m in worker.messages() if m.get("job") == "exports.prepare_export"]
    assert lines and all(m["request_id"] == "req-from-the-web-42" for m in lines)
    assert "Your file is ready" in client.get(f"/exports/{export_id}").get_data(as_text=True)


def test_an_export_whose_worker_is_killed_is_made_again_by_another(redis_queue, accepted, tmp_path):  # noqa: F811
    app = redis_queue
    from tests.conftest import sign_in_directly

    client = app.test_client()
    sign_in_directly(client, accepted.emails["lead_staff"])
    export_id = created_id(post_form(client, f"/rounds/{accepted.round_a}/exports", {"format": "docx"},
                                     page=f"/rounds/{accepted.round_a}/exports"))
    marker = tmp_path / "rendering"
    doomed = Worker(app, sys.executable, str(ROOT / "tests" / "stuck_worker.py"), str(marker))
    survivor = None
    try:
        wait_for(marker.exists, "the first worker to be making the file", [doomed])
        row = export_row(app, export_id)
        assert row.status == ExportStatus.PREPARING and row.attempts == 1
        assert row.stage == "Making the file"
        doomed.stop(signal.SIGKILL)  # killed part way: no chance to put its task back

        # Its heartbeat stops: within JOB_STALE_SECONDS the page says so.
        wait_for(lambda: "The server making it stopped before it finished" in client.get(
            f"/exports/{export_id}").get_data(as_text=True), "the page to say the worker stopped")
        survivor = Worker(app)
        with app.app_context():
            assert run_periodic("jobs.recover") == "1 exports queued again, 0 given up"
        wait_for(lambda: export_row(app, export_id).status == ExportStatus.READY, "the export", [survivor])
    finally:
        doomed.stop(signal.SIGKILL)
        if survivor is not None:
            survivor.stop()
    row = export_row(app, export_id)
    assert row.attempts == 2 and row.error is None
    page = client.get(f"/exports/{export_id}").get_data(as_text=True)
    assert "Your file is ready" in page
    assert "Making it was interrupted once, so it was started again. This file is complete." in page
    download = client.get(f"/exports/{export_id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ExportRecord)) == 1
