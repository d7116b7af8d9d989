"""Reviewing contributions: comments on sections, and requests for changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.contribution import Contribution
from app.models.round import SectionTemplate
from app.models.user import User


class ReviewComment(TenantScoped, db.Model):
    """A comment on a contribution, on one section or (section_id NULL) on the whole of it.
    Lead bidder staff and the CSP's own people both write them; replies are comments too."""

    __tablename__ = "review_comment"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contribution: Mapped[Contribution] = relationship()
    section: Mapped[SectionTemplate | None] = relationship()
    author: Mapped[User] = relationship()


class ChangeRequest(TenantScoped, db.Model):
    """The lead bidder sends a contribution back: which parts to revisit, and why.

    `items` holds task keys as in services.contributions.tasks(): "section-<id>", "budget",
    "outcomes", "partners", "documents". resolved_at is set when the CSP resubmits; reviewed_at
    when the lead bidder next decides (accepts, asks for changes again or excludes) after that.

    Sections keep every revision, so their text when changes were asked for is the revision
    current at created_at. Budget lines, outcomes and partners keep no history: `snapshot` holds
    them as they were then (services.changes.snapshot_of), so the reviewer can see what changed."""

    __tablename__ = "change_request"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    items: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snapshot: Mapped[dict | None] = mapped_column(JSON)

    contribution: Mapped[Contribution] = relationship()
    created_by: Mapped[User] = relationship()


class InternalNote(TenantScoped, db.Model):
    """A lead bidder's note to itself about a contribution, on one section or (section_id NULL) on the
    whole of it. Never shown to the CSP: a table of its own, not a kind of ReviewComment, so no page,
    email or export that reads comments can ever show one. Added by lead bidder administrators and
    staff, read by every lead bidder user; only its author may delete it, and nobody changes it."""

    __tablename__ = "internal_note"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contribution: Mapped[Contribution] = relationship()
    section: Mapped[SectionTemplate | None] = relationship()
    author: Mapped[User] = relationship()
