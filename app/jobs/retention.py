"""Retention, every hour: export files kept long enough, stored files no record names, expired pending
funder's forms, notifications read long ago, ended sessions, expired links and old kept forms
(app/services/retention.py; `flask retention run` does the same by hand)."""

from datetime import timedelta

from app.jobs import periodic


@periodic("retention", every=timedelta(hours=1))
def run_retention() -> str:
    from app.services.retention import run_retention as run

    return str(run())
