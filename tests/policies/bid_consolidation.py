"""The collective bid: consolidated budget, outcomes, partners, readiness, sign-off, submission."""

from tests.access_policy import Route  # noqa: F401

ROUTES: list = []
