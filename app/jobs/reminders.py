"""Deadline reminders, decided every minute (written to the outbox, which sends them once)."""

from datetime import timedelta

from app.jobs import periodic


@periodic("reminders.run", every=timedelta(minutes=1))
def run_reminders() -> str:
    from app.services.reminders import run

    return str(run())
