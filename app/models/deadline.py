"""Deadlines and reminders: the history of every deadline change, each round's reminder schedule,
and every reminder decided (one row per reminder per person, unique by its key)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.contribution import Contribution
from app.models.outbox import OutboxEmail
from app.models.round import Round
from app.models.user import User


def _enum(cls):
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class DeadlineKind(enum.StrEnum):
    FUNDER = "funder"  # the funder's deadline for the whole bid
    INTERNAL = "internal"  # the lead bidder's deadline for CSP contributions
    SIGN_OFF = "sign_off"  # the lead bidder's target for signing the bid off
    EXTENSION = "extension"  # one CSP's extension of the internal deadline

    @property
    def label(self) -> str:
        return {
            "funder": "Funder’s deadline",
            "internal": "Internal deadline for contributions",
            "sign_off": "Sign-off target",
            "extension": "Extension",
        }[self.value]


class DeadlineChange(TenantScoped, db.Model):
    """One change of one deadline, kept for ever: what it was, what it became, why, who."""

    __tablename__ = "deadline_change"
    __table_args__ = (Index("ix_deadline_change_round", "round_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"))
    kind: Mapped[DeadlineKind] = mapped_column(_enum(DeadlineKind))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"))
    old_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Set on the internal deadline's change when it was moved together with the funder's deadline.
    caused_by_id: Mapped[int | None] = mapped_column(ForeignKey("deadline_change.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    round: Mapped[Round] = relationship()
    contribution: Mapped[Contribution | None] = relationship()
    changed_by: Mapped[User | None] = relationship()

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id


class ReminderSchedule(TenantScoped, db.Model):
    """When a round's reminders go out. Made with the defaults when the round is first asked for
    it; a lead bidder administrator can change it."""

    __tablename__ = "reminder_schedule"
    __tenant_parent__ = "round"  # no lead_bidder_id: scoped through its round

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    send_time: Mapped[str] = mapped_column(String(5), default="09:00")  # UK time, "HH:MM"
    # CSPs that have not submitted (or have changes requested), before their own deadline.
    csp_days_before: Mapped[list] = mapped_column(JSON, default=lambda: [14, 7, 3, 1])
    csp_on_the_day: Mapped[bool] = mapped_column(default=True)
    csp_overdue_daily: Mapped[bool] = mapped_column(default=True)
    csp_overdue_limit: Mapped[int] = mapped_column(default=5)  # daily reminders once overdue, at most
    # Lead administrators and staff: a daily digest in the last days before the internal deadline.
    lead_digest: Mapped[bool] = mapped_column(default=True)
    lead_digest_days: Mapped[int] = mapped_column(default=14)
    # Lead administrators and staff, before the funder's deadline.
    funder_days_before: Mapped[list] = mapped_column(JSON, default=lambda: [14, 7, 3, 1])
    funder_on_the_day: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    round: Mapped[Round] = relationship()
    updated_by: Mapped[User | None] = relationship()


class ReminderKind(enum.StrEnum):
    CSP_BEFORE = "csp_before"  # n days before the CSP's deadline
    CSP_DUE = "csp_due"  # on the day
    CSP_OVERDUE = "csp_overdue"  # n days after
    LEAD_DIGEST = "lead_digest"  # daily status of the round for lead staff
    FUNDER_BEFORE = "funder_before"  # n days before the funder's deadline (0 = on the day)
    # An assigned item's own due date (app.services.assignments): its assignee only.
    TASK_BEFORE = "task_before"  # n days before the due date
    TASK_DUE = "task_due"  # on the due date
    TASK_OVERDUE = "task_overdue"  # the day after, once

    @property
    def label(self) -> str:
        return {
            "csp_before": "Contribution due soon",
            "csp_due": "Contribution due today",
            "csp_overdue": "Contribution overdue",
            "lead_digest": "Daily round status",
            "funder_before": "Funder’s deadline",
            "task_before": "Task due soon",
            "task_due": "Task due today",
            "task_overdue": "Task overdue",
        }[self.value]


class Reminder(TenantScoped, db.Model):
    """One reminder to one person, decided by `flask reminders run` (or sent again by an
    administrator). `key` is unique, so however many schedulers run at once, each reminder is
    written once. It names the deadline it is about, so a moved deadline makes new keys and the
    old reminders are never due again."""

    __tablename__ = "reminder"
    __table_args__ = (Index("ix_reminder_round", "round_id", "slot_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind))
    days: Mapped[int] = mapped_column(default=0)  # days before (or after, when overdue) the deadline
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when it was due (UTC; e.g. 9am UK time)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the deadline it is about
    outbox_email_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_email.id", ondelete="SET NULL"))
    resend_of_id: Mapped[int | None] = mapped_column(ForeignKey("reminder.id"))
    cancelled_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # "send again"

    round: Mapped[Round] = relationship()
    contribution: Mapped[Contribution | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    outbox_email: Mapped[OutboxEmail | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id


class CalendarFeed(db.Model):
    """A person's private calendar feed of their rounds' deadlines. Only the SHA-256 of the secret
    in the address is stored; making a new address or turning the feed off revokes the old one."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
