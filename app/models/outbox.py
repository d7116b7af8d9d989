"""Email outbox: every email is a row written in the same transaction as its cause."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the maximum number of attempts
    CANCELLED = "cancelled"


class OutboxEmail(db.Model):
    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: queueing the same email twice (a retried request, two schedulers) is a no-op.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    lead_bidder_id: Mapped[int | None] = mapped_column(index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(100))
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A worker claims a row until this time, so two workers never send the same row.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def message_id(self) -> str:
        """A stable Message-ID, so a retried delivery can be recognised as the same email."""
        digest = hashlib.sha256(self.idempotency_key.encode()).hexdigest()[:24]
        return f"<outbox-{self.id}-{digest}@partnership-bid.invalid>"
