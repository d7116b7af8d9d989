"""Audit trail: who did what, when, to which object."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.user import User


class AuditEvent(TenantScoped, db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        # The activity page: a lead bidder's latest events, a page at a time.
        Index("ix_audit_event_lead_bidder_created", "lead_bidder_id", "created_at", "id"),
        # A contribution's timeline and "recent changes" of one object.
        Index("ix_audit_event_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(80))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None]
    summary: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()
