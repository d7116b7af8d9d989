"""Routes: being written."""

from app.reminders import bp  # noqa: F401
