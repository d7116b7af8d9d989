"""The collective bid: one per round, merged section by section from accepted contributions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.contribution import Contribution, MatchType, SectionRevision
from app.models.round import CostCategory, FinancialYear, Round, RoundStatus, SectionTemplate
from app.models.user import User


def _enum(cls):
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class BidStatus(enum.StrEnum):
    """The collective bid's status as its readers see it. It is not stored: it is read from the
    round's life cycle (Round.status), the one place that says where the round and its bid are."""

    DRAFT = "draft"
    SIGNED_OFF = "signed_off"
    SUBMITTED = "submitted"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "signed_off": "Signed off", "submitted": "Submitted to the funder"}[self.value]

    @classmethod
    def of_round(cls, status: RoundStatus) -> BidStatus:
        if status == RoundStatus.SIGNED_OFF:
            return cls.SIGNED_OFF
        if status in (RoundStatus.SUBMITTED, RoundStatus.OUTCOME, RoundStatus.ARCHIVED):
            return cls.SUBMITTED
        return cls.DRAFT


class SectionState(enum.StrEnum):
    """A merged section of the collective bid: a draft, or marked final by a lead user."""

    DRAFT = "draft"
    FINAL = "final"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "final": "Final"}[self.value]

    @property
    def tag_class(self) -> str:
        return {"draft": "govuk-tag--blue", "final": "govuk-tag--green"}[self.value]


class CollectiveBid(TenantScoped, db.Model):
    __tablename__ = "collective_bid"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id"), unique=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Contribution ids in the order their texts are merged (the lead chooses it).
    merge_order: Mapped[list] = mapped_column(JSON, default=list)
    signed_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_off_declaration: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it went to the funder
    funder_reference: Mapped[str | None] = mapped_column(String(200))
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopen_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    round: Mapped[Round] = relationship()
    signed_off_by: Mapped[User | None] = relationship(foreign_keys=[signed_off_by_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    sections: Mapped[list[MergedSection]] = relationship(back_populates="bid", cascade="all, delete-orphan")
    lead_lines: Mapped[list[LeadBudgetLine]] = relationship(
        back_populates="bid", cascade="all, delete-orphan", order_by="LeadBudgetLine.id"
    )

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id

    @property
    def status(self) -> BidStatus:
        return BidStatus.of_round(self.round.status)


class MergedSection(TenantScoped, db.Model):
    """The lead's merged text for one section of the bid. Every save makes a revision; `version`
    stops a second editor silently overwriting the first."""

    __tablename__ = "merged_section"
    __tenant_parent__ = "bid"  # no lead_bidder_id: scoped through its bid
    __table_args__ = (UniqueConstraint("bid_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("collective_bid.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    state: Mapped[SectionState] = mapped_column(_enum(SectionState), default=SectionState.DRAFT)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    bid: Mapped[CollectiveBid] = relationship(back_populates="sections")
    section: Mapped[SectionTemplate] = relationship()
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    final_by: Mapped[User | None] = relationship(foreign_keys=[final_by_id])
    revisions: Mapped[list[MergedRevision]] = relationship(
        back_populates="merged_section", cascade="all, delete-orphan", order_by="MergedRevision.number"
    )
    sources: Mapped[list[MergedSource]] = relationship(
        back_populates="merged_section", cascade="all, delete-orphan", order_by="MergedSource.position"
    )


class MergedRevision(TenantScoped, db.Model):
    __tablename__ = "merged_revision"
    __tenant_parent__ = "merged_section"  # no lead_bidder_id: scoped through its merged_section
    __table_args__ = (UniqueConstraint("merged_section_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merged_section_id: Mapped[int] = mapped_column(ForeignKey("merged_section.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(String(200))  # e.g. "Automatic first draft"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    merged_section: Mapped[MergedSection] = relationship(back_populates="revisions")
    created_by: Mapped[User | None] = relationship()


class MergedSource(TenantScoped, db.Model):
    """Provenance: which revision of a CSP's text the merged section was built from, and the
    revision the lead last marked as reviewed. A newer CSP revision means the merge is stale."""

    __tablename__ = "merged_source"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution
    __table_args__ = (UniqueConstraint("merged_section_id", "contribution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merged_section_id: Mapped[int] = mapped_column(ForeignKey("merged_section.id", ondelete="CASCADE"), index=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("section_revision.id"))
    reviewed_revision_id: Mapped[int | None] = mapped_column(ForeignKey("section_revision.id"))
    position: Mapped[int] = mapped_column(default=0)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merged_section: Mapped[MergedSection] = relationship(back_populates="sources")
    contribution: Mapped[Contribution] = relationship()
    revision: Mapped[SectionRevision | None] = relationship(foreign_keys=[revision_id])
    reviewed_revision: Mapped[SectionRevision | None] = relationship(foreign_keys=[reviewed_revision_id])


class LeadBudgetLine(TenantScoped, db.Model):
    """A budget line the lead bidder holds itself (evaluation, programme management)."""

    __tablename__ = "lead_budget_line"
    __tenant_parent__ = "bid"  # no lead_bidder_id: scoped through its bid

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("collective_bid.id", ondelete="CASCADE"), index=True)
    financial_year_id: Mapped[int] = mapped_column(ForeignKey("round_financial_year.id"))
    cost_category_id: Mapped[int] = mapped_column(ForeignKey("round_cost_category.id"))
    description: Mapped[str] = mapped_column(String(500))
    amount_pence: Mapped[int] = mapped_column(default=0)
    match_pence: Mapped[int] = mapped_column(default=0)
    match_type: Mapped[MatchType | None] = mapped_column(_enum(MatchType))
    match_source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Optimistic locking, as for a CSP's BudgetLine.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    bid: Mapped[CollectiveBid] = relationship(back_populates="lead_lines")
    financial_year: Mapped[FinancialYear] = relationship()
    cost_category: Mapped[CostCategory] = relationship()
