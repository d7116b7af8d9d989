"""Issue 6: the reminders routes and who may use them. Only lead bidder administrators see a round's
reminders, change its schedule and send a reminder again; everyone else gets 403, another lead
bidder's administrator 404."""

from tests.access_policy import LEAD_ADMIN, Route

RA = lambda w: {"round_id": w.round_a}  # noqa: E731


def a_sent_reminder(app, world) -> dict:
    """A reminder of round A to CSP A1's manager, sent."""
    from datetime import time, timedelta

    from app.dates import london_to_utc, to_london
    from app.extensions import db
    from app.models import OutboxEmail, OutboxStatus, Round
    from app.models.base import utcnow
    from app.services import reminders as service

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        today = to_london(utcnow()).date()
        rnd.opened_at = rnd.opened_at - timedelta(days=30)
        rnd.internal_deadline = london_to_utc(today + timedelta(days=10), time(12))
        db.session.flush()
        # As if it were 9:05am on the day of the 7-day reminders.
        service.run(now=london_to_utc(today + timedelta(days=3), time(9, 5)))
        reminder = next(r for r, _ in service.history(rnd) if r.outbox_email_id)
        email = db.session.get(OutboxEmail, reminder.outbox_email_id)
        email.status, email.sent_at = OutboxStatus.SENT, utcnow()
        db.session.commit()
        return {"round_id": rnd.id, "reminder_id": reminder.id}


ROUTES: list = [
    Route("reminders.index", LEAD_ADMIN, values=RA, tenant_scoped=True),
    Route("reminders.schedule", LEAD_ADMIN, values=RA, tenant_scoped=True),
    Route("reminders.send_again", LEAD_ADMIN, prepare=a_sent_reminder, method="POST", tenant_scoped=True),
]
