"""Notifications: one row per person per event that matters to them ("What's new").

A service that changes something people need to know about calls
`app.services.notifications.notify()` in the same transaction; it writes one row per
recipient (never the person who acted) and hands the rows to email delivery, which follows
each person's email preferences. A row is read when its person opens it or marks all as read.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.contribution import Contribution
from app.models.round import Round
from app.models.user import User


class NotificationKind(enum.StrEnum):
    """What happened. The value is stored; `label` is what the What's new page calls it."""

    COMMENT = "comment"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"
    EXCLUDED = "excluded"
    INCLUDED = "included"
    SUBMITTED = "submitted"
    RESUBMITTED = "resubmitted"
    DEADLINE_CHANGED = "deadline_changed"
    EXTENSION_GRANTED = "extension_granted"
    ASSIGNED = "assigned"
    ROUND_OPENED = "round_opened"
    ROUND_CLOSED = "round_closed"
    BID_SIGNED_OFF = "bid_signed_off"
    BID_SUBMITTED = "bid_submitted"
    BID_REOPENED = "bid_reopened"
    OUTCOME = "outcome"
    VIRUS_FOUND = "virus_found"

    @property
    def label(self) -> str:
        return NOTIFICATION_LABELS[self]


NOTIFICATION_LABELS = {
    NotificationKind.COMMENT: "Comment",
    NotificationKind.CHANGES_REQUESTED: "Changes requested",
    NotificationKind.ACCEPTED: "Accepted",
    NotificationKind.EXCLUDED: "Excluded from the bid",
    NotificationKind.INCLUDED: "Included in the bid again",
    NotificationKind.SUBMITTED: "Submitted",
    NotificationKind.RESUBMITTED: "Resubmitted",
    NotificationKind.DEADLINE_CHANGED: "Deadline changed",
    NotificationKind.EXTENSION_GRANTED: "Extension granted",
    NotificationKind.ASSIGNED: "Assigned to you",
    NotificationKind.ROUND_OPENED: "Round opened",
    NotificationKind.ROUND_CLOSED: "Round closed",
    NotificationKind.BID_SIGNED_OFF: "Bid signed off",
    NotificationKind.BID_SUBMITTED: "Bid submitted",
    NotificationKind.BID_REOPENED: "Bid reopened",
    NotificationKind.OUTCOME: "Outcome",
    NotificationKind.VIRUS_FOUND: "Virus found",
}


class Notification(TenantScoped, db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        # The same event never notifies the same person twice (a retried request, a re-run).
        UniqueConstraint("user_id", "event_key"),
        # The header's unread count and the What's new page: a person's rows, unread first.
        Index("ix_notification_user_read", "user_id", "read_at"),
        # What's new: a person's rows newest first, a page at a time (no sort of all of them).
        Index("ix_notification_user_created", "user_id", "created_at", "id"),
        # The daily summary: the rows waiting for one (email_via "digest", emailed_at not set).
        Index("ix_notification_digest", "email_via", "emailed_at", "user_id"),
        # Retention: the rows read long ago, found without reading the whole table.
        Index("ix_notification_read_at", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    # One line saying what happened, e.g. "Thames Valley CSP resubmitted their contribution".
    summary: Mapped[str] = mapped_column(String(300))
    # Where it happened: a path inside the service (never an absolute URL).
    link: Mapped[str] = mapped_column(String(500))
    event_key: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Email, decided by deliver() from the person's preferences when the row is written: "now"
    # (its own email), "digest" (the next daily summary), "off"; None when the event has no email.
    email_via: Mapped[str | None] = mapped_column(String(10))
    # When its email was queued: at once, or in the daily summary of `digest_date` (UK date).
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    digest_date: Mapped[date | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    round: Mapped[Round | None] = relationship()
    contribution: Mapped[Contribution | None] = relationship()

    @property
    def owner_id(self) -> int:
        """A notification is its person's alone: the rulebook answers anyone else "not found"."""
        return self.user_id

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def kind_label(self) -> str:
        try:
            return NotificationKind(self.kind).label
        except ValueError:
            return self.kind.replace("_", " ").capitalize()
