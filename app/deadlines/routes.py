"""Routes: being written."""

from app.deadlines import bp  # noqa: F401
