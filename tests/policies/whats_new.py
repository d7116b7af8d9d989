"""What's new: anyone signed in sees their own notifications and marks them read. A notification
is its person's alone (the rulebook's owner check): opening anyone else's is 404."""

from tests.access_policy import Route


def objects(w) -> dict:
    """A notification of CSP A1's manager (the only one who may open it)."""
    from app.extensions import db
    from app.models import Notification, NotificationKind

    row = Notification(
        lead_bidder_id=w.lead_a,
        user_id=w.users["csp_manager"],
        kind=NotificationKind.COMMENT.value,
        summary="Someone commented on Reading's contribution",
        link=f"/contributions/{w.contribution_a1}",
        event_key="access-test",
        contribution_id=w.contribution_a1,
        round_id=w.round_a,
    )
    db.session.add(row)
    db.session.flush()
    return {"notification": row.id}


ROUTES = [
    Route("whats_new.index", "GET", "notifications.view"),
    Route("whats_new.open_notification", "POST", "notifications.mark_read",
          lambda w: {"notification_id": w.notification}),
    Route("whats_new.mark_all_read", "POST", "notifications.mark_read"),
]
