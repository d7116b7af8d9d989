"""Email preferences: how a person gets notification emails, and (CSP contributors) whether they
get what their CSP's managers get.

- `email_notifications`: Immediately (the default), In a daily summary (9am UK time on working
  days: app/services/digests.py) or Off (What's new still shows everything).
- `follow_csp`, for CSP contributors: True (the default) means "contributors get what managers get
  for their CSP, unless they opt out": `notifications.csp_people()` leaves out those who opted out.
  Notifications addressed to the contributor themself still reach them.

Deadline reminders about their CSP's contribution (app/services/reminders.py) follow neither: a
reminder cannot be turned off.
"""

from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import EmailFrequency, Notification, Role, User
from app.services import ServiceError
from app.services.audit import record
from app.services.notifications import EMAIL_IN_DIGEST, EMAIL_OFF


def change_email_preferences(actor: User, frequency: str, follow_csp: bool | None = None) -> bool:
    """Save the person's own email preferences (`follow_csp` only for CSP contributors). Returns
    False when nothing changed. Turning emails off sets aside the notifications that were waiting
    for a daily summary, so none is sent."""
    from app.policy import require

    require(actor, "account.email_preferences", actor)
    try:
        new = EmailFrequency(frequency)
    except ValueError as exc:
        raise ServiceError("Select how you want to get notification emails", "frequency") from exc
    before = {"email_notifications": actor.email_notifications.value, "follow_csp": actor.follow_csp}
    actor.email_notifications = new
    if actor.role == Role.CSP_CONTRIBUTOR and follow_csp is not None:
        actor.follow_csp = bool(follow_csp)
    after = {"email_notifications": actor.email_notifications.value, "follow_csp": actor.follow_csp}
    if after == before:
        return False
    if new == EmailFrequency.OFF:
        db.session.execute(
            update(Notification)
            .where(
                Notification.user_id == actor.id,
                Notification.email_via == EMAIL_IN_DIGEST,
                Notification.emailed_at.is_(None),
            )
            .values(email_via=EMAIL_OFF)
            .execution_options(synchronize_session=False)
        )
    record(
        actor,
        "account.email_preferences_changed",
        actor,
        f"{actor.full_name} changed their email preferences: notification emails {new.label.lower()}"
        + ("" if actor.role != Role.CSP_CONTRIBUTOR else
           f"; {'gets' if actor.follow_csp else 'does not get'} what their CSP's managers get"),
        before=before,
        after=after,
    )
    db.session.flush()
    return True
