"""Routes: being written."""

from app.calendar import bp  # noqa: F401
