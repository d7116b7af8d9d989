"""A round's reminders: only lead bidder administrators see them, change the schedule and send one again."""

from tests.access_policy import Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def objects(w) -> dict:
    """A reminder of round A to CSP A1's manager, sent (its round opened 30 days ago)."""
    from datetime import time, timedelta

    from app.dates import london_to_utc, to_london
    from app.extensions import db
    from app.models import OutboxEmail, OutboxStatus, Round
    from app.models.base import utcnow
    from app.services import reminders as service
    from tests.test_reminders import seven_days_ahead

    rnd = db.session.get(Round, w.round_a)
    day = seven_days_ahead(to_london(utcnow()).date())  # reminders go on working days only
    rnd.opened_at = rnd.opened_at - timedelta(days=30)
    rnd.internal_deadline = london_to_utc(day + timedelta(days=7), time(12))
    db.session.flush()
    # As if it were 9:05am on the day of the 7-day reminders.
    service.run(now=london_to_utc(day, time(9, 5)))
    reminder = next(r for r, _ in service.history(rnd) if r.outbox_email_id)
    email = db.session.get(OutboxEmail, reminder.outbox_email_id)
    email.status, email.sent_at = OutboxStatus.SENT, utcnow()
    db.session.flush()
    return {"reminder": reminder.id}


ROUTES = [
    Route("reminders.index", "GET", "round.manage_reminders", RA),
    Route("reminders.schedule", "GET POST", "round.manage_reminders", RA),
    Route("reminders.send_again", "POST", "round.manage_reminders",
          lambda w: {"round_id": w.round_a, "reminder_id": w.reminder}),
]
