"""Is the service able to answer: readiness checks (/readyz) and the backlogs (/metrics).

/healthz only says the process is alive. /readyz asks each readiness check in READINESS_CHECKS
(the database, Redis, storage, the jobs' queue) and is ready only when every one answers "ok" or "not used". The
list is pluggable: a storage backend or a task queue adds its own with `add_readiness_check`
(or replaces one by name). A check returns "ok" or "not used", or raises: the answer then names
the check with a short reason (the exception's class, or NotReady's text), never its details,
which go to the log.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db

log = logging.getLogger(__name__)

OK = "ok"
NOT_USED = "not used"


class NotReady(Exception):  # noqa: N818 - a state, not an error of the code
    """A check's short reason for not being ready ("not writable"): shown in the answer."""


def check_database() -> str:
    """Ask the database the simplest question; raises if it cannot answer."""
    db.session.execute(select(1))
    return OK


def check_redis() -> str:
    """Ping the Redis that the rate limits count in, when they count in Redis."""
    uri = current_app.config.get("RATELIMIT_STORAGE_URI") or ""
    if not uri.startswith(("redis://", "rediss://")):
        return NOT_USED
    import redis

    timeout = current_app.config.get("READINESS_TIMEOUT_SECONDS", 2)
    client = redis.Redis.from_url(uri, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return OK


def _writable(folder: str) -> None:
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)  # as the first upload or export would
    except OSError as exc:
        raise NotReady("missing") from exc
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".readyz-"):
            pass
    except OSError as exc:
        raise NotReady("not writable") from exc


def check_storage() -> str:
    """Where the files live can be used: with the local backend, the upload and export folders
    exist (or can be made) and a file can be written in each; with a bucket, the bucket answers."""
    from app.storage import S3Storage, storage

    backend = storage()
    if isinstance(backend, S3Storage):
        try:
            backend.client.head_bucket(Bucket=backend.bucket)
        except Exception as exc:  # botocore raises many kinds: any of them means not ready  # noqa: BLE001
            raise NotReady("bucket not reachable") from exc
        return OK
    _writable(current_app.config["UPLOAD_FOLDER"])
    _writable(current_app.config["EXPORT_FOLDER"])
    return OK


def check_queue() -> str:
    """The jobs' queue (JOBS_URL) answers: how many tasks wait (memory://, the tests' own, is not a
    shared queue and is not asked)."""
    from app.jobs import queue_depth

    if current_app.config["JOBS_URL"].startswith("memory://"):
        return NOT_USED
    queue_depth()
    return OK


# name -> check, in the order they are asked. Add or replace with add_readiness_check.
READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "storage": check_storage,
    "queue": check_queue,
}


def add_readiness_check(name: str, check: Callable[[], str]) -> None:
    """Ask this check too (or instead of the check of that name)."""
    READINESS_CHECKS[name] = check


def readiness() -> tuple[bool, dict[str, str]]:
    """(ready, each check's answer: "ok", "not used" or "unavailable: <short reason>")."""
    answers = {}
    for name, check in READINESS_CHECKS.items():
        try:
            answers[name] = check()
        except NotReady as exc:
            answers[name] = f"unavailable: {exc}"
        except Exception as exc:  # any failure means not ready; the details stay in the log
            log.warning("Readiness check %s failed", name, exc_info=True)
            answers[name] = f"unavailable: {type(exc).__name__}"
            if name == "database":
                db.session.rollback()
    ready = all(answer in (OK, NOT_USED) for answer in answers.values())
    return ready, answers


# --- backlogs, for /metrics: one aggregate statement each -----------------------------------------

@dataclass(frozen=True)
class Backlog:
    outbox_pending: int
    outbox_oldest_at: datetime | None  # when the oldest email not yet sent was written
    reminder_oldest_due_at: datetime | None  # the oldest reminder whose email is not yet sent
    exports: dict[str, int]  # ExportStatus value ("pending", "preparing") -> count
    job_runs: dict[str, datetime]  # periodic job -> when its latest run started


def backlog() -> Backlog:
    from app.models import ExportRecord, JobRun, OutboxEmail, Reminder
    from app.models.export import ExportStatus
    from app.models.outbox import OutboxStatus
    from app.tenancy import unscoped

    with unscoped():  # the whole installation's figures, whoever asks
        pending, oldest = db.session.execute(
            select(func.count(), func.min(OutboxEmail.created_at)).where(OutboxEmail.status == OutboxStatus.PENDING)
        ).one()
        reminder_due = db.session.scalar(
            select(func.min(Reminder.slot_at))
            .join(OutboxEmail, Reminder.outbox_email_id == OutboxEmail.id)
            .where(OutboxEmail.status == OutboxStatus.PENDING)
        )
        exports = dict(
            db.session.execute(
                select(ExportRecord.status, func.count())
                .where(ExportRecord.status.in_([ExportStatus.PENDING, ExportStatus.PREPARING]))
                .group_by(ExportRecord.status)
            ).all()
        )
        runs = dict(db.session.execute(select(JobRun.job, func.max(JobRun.started_at)).group_by(JobRun.job)).all())
    return Backlog(
        job_runs=runs,
        outbox_pending=pending,
        outbox_oldest_at=oldest,
        reminder_oldest_due_at=reminder_due,
        exports={status.value: exports.get(status, 0) for status in (ExportStatus.PENDING, ExportStatus.PREPARING)},
    )


def last_job_runs() -> dict:
    """Each periodic job's latest run (JobRun), for `flask jobs status`."""
    from app.models import JobRun

    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    rows = db.session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id)).all()
    return {run.job: run for run in rows}
