"""Background jobs on a task queue (huey): work that should not hold a web request, and work that
runs on a schedule.

Why huey: it is maintained, small (no dependencies but redis-py), and has both stores we need:
Redis for production (which production runs already for the rate limits; PostgreSQL works too)
and a SQLite file for the embedded default, so `make run` starts a real worker with nothing else
installed. Retries with exponential backoff, delayed tasks and a periodic scheduler are built in.

How the service uses it:

- `@job(...)` makes a task of a plain function. The worker runs it inside an app context, with
  the request id of the request that queued it on every log line (`logs.bind`).
- `defer(task, *args)` queues a task once the current database transaction commits, and not at
  all when it rolls back: a job never looks for a row that was not written.
- `@periodic(name, every)` runs a function once per period across every worker: each worker's
  scheduler queues it every minute, and the worker that inserts the period's JobRun row runs it;
  the others find the row and stop.

The database, not the queue, is the record of what must be done. huey takes a task off the queue
when a worker starts it, so a worker that is killed loses the task. That is why every job's work
is written down first (the export's row, the outbox's email, the document waiting for its check)
and is safe to start twice, and why the recovery job (app/jobs/recovery.py, every minute) queues
again what has waited too long or whose worker stopped writing its heartbeat. A worker that is
stopped politely (SIGTERM/SIGINT) puts its unfinished tasks back on the queue itself.

Stores (JOBS_URL): redis://host:port/db, postgresql://…, sqlite:///path, memory:// (tests: the
queue lives in the test process and tests/jobs.py runs what was queued).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, g, has_app_context, has_request_context
from huey import Huey
from huey import signals as huey_signals
from huey.storage import MemoryStorage, PostgresStorage, RedisStorage, SqliteStorage
from sqlalchemy import event, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import logs
from app.extensions import db

log = logging.getLogger(__name__)

huey = Huey("partnership-bid", results=False, utc=True, storage_class=MemoryStorage)

_app: dict[str, Flask | None] = {"app": None}
_PENDING = "jobs.pending"  # session.info key: the tasks to queue when the transaction commits


class JobsNotConfigured(RuntimeError):
    pass


def storage_for(url: str) -> tuple[type, dict]:
    """The huey storage class and its arguments for a JOBS_URL."""
    scheme = urlsplit(url).scheme
    if scheme in ("redis", "rediss"):
        if "socket_connect_timeout=" not in url:  # a Redis that does not answer fails fast, never hangs
            url += ("&" if "?" in url else "?") + "socket_connect_timeout=5"
        return RedisStorage, {"url": url}
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return PostgresStorage, {"dsn": url.replace("postgresql+psycopg://", "postgresql://", 1)}
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        return SqliteStorage, {"filename": path}
    if scheme == "memory":
        return MemoryStorage, {}
    raise ValueError(f"JOBS_URL must be redis://, postgresql://, sqlite:/// or memory://, not {scheme}://")


def init_app(app: Flask) -> None:
    """Point the queue at JOBS_URL and remember the app the worker runs tasks in."""
    storage_class, kwargs = storage_for(app.config["JOBS_URL"])
    huey.name = app.config["JOBS_QUEUE_NAME"]
    huey.storage_class = storage_class
    huey.storage_kwargs = kwargs
    huey.storage = huey.create_storage()
    _app["app"] = app
    # Importing the tasks registers them with huey (the web process must know their names to queue
    # them; the worker to run them).
    from app.jobs import tasks  # noqa: F401


def app_for_jobs() -> Flask:
    app = _app["app"]
    if app is None:
        raise JobsNotConfigured("create_app() has not run in this process")
    return app


# --- running one task --------------------------------------------------------------------------


def _run(name: str, fn: Callable, args: tuple, kwargs: dict, request_id: str | None):
    pushed = not has_app_context()
    with app_for_jobs().app_context() if pushed else nullcontext():
        fields = {"job": name, "run_id": logs.new_run_id()}
        if request_id:
            fields["request_id"] = request_id
        with logs.bind(**fields):
            started = time.perf_counter()
            try:
                result = fn(*args, **kwargs)
            except Exception:
                db.session.rollback()
                log.exception("Job %s failed", name)
                raise
            finally:
                if pushed:
                    db.session.remove()
            log.info("Job %s finished in %.2f s%s", name, time.perf_counter() - started,
                     f": {result}" if isinstance(result, str) and result else "")
            return result


def job(*, retries: int = 5, retry_delay: int = 5, retry_backoff: float = 2.0, name: str | None = None):
    """Make a task of a function: calling `defer(task, ...)` queues it; `task.call_local(...)` runs
    it here and now. Failures are retried `retries` times, waiting retry_delay seconds and then
    `retry_backoff` times longer each time."""

    def decorate(fn: Callable):
        task_name = name or f"{fn.__module__.removeprefix('app.jobs.')}.{fn.__name__}"

        def run(*args, request_id: str | None = None, **kwargs):
            return _run(task_name, fn, args, kwargs, request_id)

        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        return huey.task(retries=retries, retry_delay=retry_delay, retry_backoff=retry_backoff, name=task_name)(run)

    return decorate


# --- queueing after the commit -----------------------------------------------------------------


def _request_id() -> str | None:
    if has_request_context():
        return getattr(g, "request_id", None)
    return logs.bound_field("request_id")


def defer(task, *args, **kwargs) -> None:
    """Queue `task(*args, **kwargs)` when the current transaction commits (never, if it does not).
    The request id goes with it, so the job's log lines can be found with the request's."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any statement still forgets the task
    pending = session.info.setdefault(_PENDING, [])
    if not any(t is task and a == args and k == kwargs for t, a, k, _ in pending):  # once is enough
        pending.append((task, args, kwargs, _request_id()))


def enqueue(task, *args, **kwargs) -> bool:
    """Queue a task now (for callers outside a transaction: the recovery job, the command line).
    False when the queue could not be reached: the database still says the work is to be done, and
    the recovery job will queue it again."""
    try:
        task(*args, request_id=kwargs.pop("request_id", None) or _request_id(), **kwargs)
    except Exception:
        log.exception("Could not queue %s; the recovery job will queue it again", getattr(task, "name", task))
        return False
    return True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for task, args, kwargs, request_id in session.info.pop(_PENDING, []):
        enqueue(task, *args, request_id=request_id, **kwargs)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)  # rolled back: nothing was written for the task to do


# A worker stopped politely puts back the tasks it had started (a killed one cannot: the recovery
# job finds their work by its heartbeat).
@huey.signal(huey_signals.SIGNAL_INTERRUPTED)
def _requeue_interrupted(signal, task, *args, **kwargs) -> None:
    try:
        huey.enqueue(task)
        log.warning("Put task %s back on the queue: its worker was stopped", task.name)
    except Exception:
        log.exception("Could not put task %s back on the queue", task.name)


# --- periodic jobs, once per period ------------------------------------------------------------

EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday at midnight UTC: periods of a day start at midnight


@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    fn: Callable
    task: object


PERIODIC: dict[str, Periodic] = {}


def period_start(every: timedelta, now: datetime) -> datetime:
    return EPOCH + ((now - EPOCH) // every) * every


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


def _every_minute(moment: datetime) -> bool:
    return True  # the scheduler asks once a minute; the JobRun claim decides whether it is a new period


def run_periodic(name: str, now: datetime | None = None) -> str | None:
    """Run a periodic job if nobody has run it this period (in an app context). Returns the summary
    it gave, or None when another worker had claimed the period."""
    from app.models import JobRun
    from app.models.base import utcnow

    spec = PERIODIC[name]
    moment = now or utcnow()
    claim = JobRun(job=name, period_start=period_start(spec.every, moment), started_at=utcnow(), worker=worker_name())
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("Job %s: already run this period, by another worker", name)
        return None
    claim_id = claim.id
    outcome, summary = "failed", None
    try:
        result = spec.fn()
        outcome, summary = "done", (str(result) if result is not None else None)
        return summary or ""
    except Exception as exc:
        db.session.rollback()
        summary = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        db.session.execute(
            update(JobRun).where(JobRun.id == claim_id).values(finished_at=utcnow(), outcome=outcome, summary=summary)
        )
        db.session.commit()


def periodic(name: str, every: timedelta):
    """Run the function once per `every` across all workers (see the module's docstring)."""

    def decorate(fn: Callable):
        def run(request_id: str | None = None):
            return _run(name, run_periodic, (name,), {}, request_id)

        run.__name__ = fn.__name__
        task = huey.periodic_task(_every_minute, name=name)(run)
        PERIODIC[name] = Periodic(name, every, fn, task)
        return fn

    return decorate


# --- the worker ---------------------------------------------------------------------------------


def run_worker(app: Flask, workers: int, periodic_jobs: bool = True) -> None:
    """Run a consumer in this process until it is stopped (SIGINT or SIGTERM: tasks in flight are put
    back on the queue)."""
    if app.config["JOBS_URL"].startswith("memory://"):
        raise JobsNotConfigured("JOBS_URL is memory://: a worker in another process would never see its tasks")
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic_jobs, scheduler_interval=1,
        check_worker_health=True, graceful_signal="TERM", shutdown_timeout=30,
    )
    consumer.run()


def queue_depth() -> int:
    """Tasks waiting on the queue (not counting retries waiting for their time)."""
    return huey.pending_count()


def ping() -> None:
    """Raise when the queue's store cannot be reached (for /readyz)."""
    huey.pending_count()
