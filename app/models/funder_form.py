"""The funder's own application form (a Word document) for a round: one per round, uploaded by a
lead bidder administrator, which the collective bid can be exported into
(app/services/exports/funder_form.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.round import Round
from app.models.user import User


class RoundFunderForm(TenantScoped, db.Model):
    """The stored original of the funder's form: kept as uploaded, under a random name in
    UPLOAD_FOLDER (like supporting documents); replacing it replaces this row's file."""

    __tablename__ = "round_funder_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), unique=True)
    filename: Mapped[str] = mapped_column(String(255))  # the name the user gave it, made safe
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    round: Mapped[Round] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id
