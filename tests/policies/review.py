"""Reviewing contributions (lead bidder)."""

from tests.access_policy import Route  # noqa: F401

ROUTES: list = []
