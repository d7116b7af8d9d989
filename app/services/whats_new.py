"""What's new: a person's own notifications, newest first, and marking them read.

The notifications are written by the services where things happen (app/services/notifications.py
notify()); here they are only read and marked read, always the signed-in person's own."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Contribution, Notification, User
from app.models.base import utcnow
from app.policy import require
from app.services.pages import Page, page_size, paginate


def page_for(user: User, page=1) -> Page[Notification]:
    """One page of the person's notifications, newest first, with who did it, the round and the
    CSP: two statements (the count and the page) whatever is on it. Each takes several lines, so
    a page holds PAGE_SIZE_CARDS of them, as the home page's contributions."""
    require(user, "notifications.view")
    stmt = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .options(
            joinedload(Notification.actor).joinedload(User.organisation),
            joinedload(Notification.round),
            joinedload(Notification.contribution).joinedload(Contribution.csp),
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(stmt, page, page_size("cards"))


def get_own(user: User, notification_id: int) -> Notification | None:
    """The person's own notification with this id; None for anyone else's (or none at all)."""
    return db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )


def open_notification(actor: User, notification: Notification) -> str:
    """Mark the notification read (the first time it is opened) and give the address to go to."""
    require(actor, "notifications.mark_read", notification)
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.flush()
    return notification.link


def mark_all_read(actor: User) -> int:
    """Mark every unread notification of the person's as read: one UPDATE. Returns how many."""
    require(actor, "notifications.mark_read")
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
