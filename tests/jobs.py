"""Running the queued jobs in the tests: the test process's queue is in memory (JOBS_URL=memory://),
and `run_queued()` does what a worker would, in this process: it takes each task off the queue and
runs it, until the queue is empty (tasks a task queues are run too). The tests of real workers
(tests/test_jobs.py) start `flask jobs worker` processes on Redis instead."""

from __future__ import annotations

from app.extensions import db
from app.jobs import huey


def queued_names() -> list[str]:
    """The names of the tasks waiting, oldest first ("exports.prepare_export")."""
    return [task.name for task in huey.pending()]


def run_queued(app, limit: int = 1000) -> int:
    """Run every queued task in `app`, as a worker would; returns how many ran. A task that raises
    is put on huey's schedule for its retry (after its delay), so it runs only once here."""
    ran = 0
    while ran < limit:
        task = huey.dequeue()
        if task is None:
            return ran
        with app.app_context():
            try:
                huey.execute(task)
            finally:
                db.session.remove()
        ran += 1
    raise AssertionError(f"More than {limit} tasks: a task keeps queueing another")


def forget_queued() -> None:
    """Empty the queue (each test starts with none)."""
    huey.flush()


def run_queued_on(app, jobs_url: str, name: str) -> int:
    """Run every task queued on another process's queue (the browser tests' gunicorn queues on a
    SQLite file), here, as a worker of that queue would."""
    from app.jobs import storage_for

    storage_class, kwargs = storage_for(jobs_url)
    kept = huey.storage
    huey.storage = storage_class(name, **kwargs)
    try:
        return run_queued(app)
    finally:
        huey.storage.close()
        huey.storage = kept
