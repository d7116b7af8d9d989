"""Every task and periodic job, registered with the queue by importing their modules (the web
process must know a task's name to queue it, the worker to run it)."""

from app.jobs import digests, exports, outbox, recovery, reminders, retention, scanning  # noqa: F401
