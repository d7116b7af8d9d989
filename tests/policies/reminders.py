"""Issue 6: the reminders routes and who may use them (being written)."""

from tests.access_policy import Route  # noqa: F401

ROUTES: list = []
