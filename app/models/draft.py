"""Text kept when a form arrives after its sender's session has ended."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

# A draft is kept this many days (then app/drafts.py's purge_expired and the retention run remove it).
DRAFT_DAYS = 7


class PendingDraft(db.Model):
    """What someone sent when their session had expired, held until they sign in again.

    Only the same person (the user id remembered in their cookie) gets it back, on the page they
    sent it from; it is never saved into a contribution without them pressing Save.
    """

    __tablename__ = "pending_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    form_data: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
