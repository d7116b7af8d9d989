"""The collective bid: merging sections."""

from tests.access_policy import Route  # noqa: F401

ROUTES: list = []
