"""Who has each part of the work: one item of a CSP's contribution (a narrative section, or its
budget, outcomes, partners or documents) or one merged section of the collective bid, with an
optional due date (a UK calendar date)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.bid import MergedSection
from app.models.contribution import Contribution
from app.models.round import Round, SectionTemplate
from app.models.user import User


class Assignment(TenantScoped, db.Model):
    """One item given to one person. Either `contribution_id` with `item_key` (a task key of
    app.services.contributions.tasks(): "section-<id>", "budget", "outcomes", "partners",
    "documents"), or `merged_section_id`. One assignment per item: assigning again replaces it."""

    __tablename__ = "assignment"
    __table_args__ = (
        UniqueConstraint("contribution_id", "item_key", name="uq_assignment_contribution_item"),
        UniqueConstraint("merged_section_id", name="uq_assignment_merged_section"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"))
    item_key: Mapped[str | None] = mapped_column(String(40))
    merged_section_id: Mapped[int | None] = mapped_column(ForeignKey("merged_section.id", ondelete="CASCADE"))
    # The section of the round's template the item is about (a CSP's narrative section, or the
    # merged section's), so that lists of assignments read titles and states in one query.
    section_id: Mapped[int | None] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    due_date: Mapped[date | None] = mapped_column(Date)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship()
    contribution: Mapped[Contribution | None] = relationship()
    merged_section: Mapped[MergedSection | None] = relationship()
    section: Mapped[SectionTemplate | None] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id

    def __repr__(self) -> str:
        what = f"{self.contribution_id}/{self.item_key}" if self.contribution_id else f"merged {self.merged_section_id}"
        return f"<Assignment {self.id} {what} to={self.assignee_id}>"
