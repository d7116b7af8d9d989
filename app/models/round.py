"""Funding rounds: what the funder asks, the template of sections, and the deadlines."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.contribution import Contribution
    from app.models.organisation import Organisation
    from app.models.user import User


def _enum(cls):
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class RoundStatus(enum.StrEnum):
    """The round's life cycle. The allowed transitions are in app/policy/lifecycle.py."""

    DRAFT = "draft"  # being set up by the lead; CSPs see nothing yet
    OPEN = "open"  # CSPs write and submit contributions
    CLOSED = "closed"  # contributions closed: no more changes from CSPs; the lead finishes the bid
    SIGNED_OFF = "signed_off"  # the collective bid is signed off: everything is locked
    SUBMITTED = "submitted"  # the bid has gone to the funder
    OUTCOME = "outcome"  # the funder's decision is recorded (awarded, with the amount, or not)
    ARCHIVED = "archived"  # kept for the record; nothing left to do

    @property
    def label(self) -> str:
        return ROUND_STATUS_LABELS[self]

    @property
    def tag_class(self) -> str:
        return ROUND_STATUS_TAGS[self]


ROUND_STATUS_LABELS = {
    RoundStatus.DRAFT: "Being set up",
    RoundStatus.OPEN: "Open for contributions",
    RoundStatus.CLOSED: "Contributions closed",
    RoundStatus.SIGNED_OFF: "Bid signed off",
    RoundStatus.SUBMITTED: "Submitted to the funder",
    RoundStatus.OUTCOME: "Outcome recorded",
    RoundStatus.ARCHIVED: "Archived",
}
ROUND_STATUS_TAGS = {
    RoundStatus.DRAFT: "govuk-tag--grey",
    RoundStatus.OPEN: "govuk-tag--blue",
    RoundStatus.CLOSED: "govuk-tag--yellow",
    RoundStatus.SIGNED_OFF: "govuk-tag--turquoise",
    RoundStatus.SUBMITTED: "govuk-tag--green",
    RoundStatus.OUTCOME: "govuk-tag--purple",
    RoundStatus.ARCHIVED: "govuk-tag--grey",
}


class BidOutcome(enum.StrEnum):
    """The funder's decision on the bid."""

    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"

    @property
    def label(self) -> str:
        return {"awarded": "Awarded", "not_awarded": "Not awarded"}[self.value]


class Round(TenantScoped, db.Model):
    __tablename__ = "funding_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    fund_name: Mapped[str] = mapped_column(String(200))
    funder: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    cap_per_bid_pence: Mapped[int | None]
    match_percent: Mapped[int | None]  # expected match funding, percent of the amount requested
    match_cash: Mapped[bool] = mapped_column(default=True)
    match_in_kind: Mapped[bool] = mapped_column(default=True)
    funder_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    internal_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the lead bidder means to sign the bid off (optional; shown on the deadlines timeline).
    sign_off_target: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[RoundStatus] = mapped_column(_enum(RoundStatus), default=RoundStatus.DRAFT)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # contributions closed
    # The funder's decision, once it is known.
    outcome: Mapped[BidOutcome | None] = mapped_column(_enum(BidOutcome))
    awarded_pence: Mapped[int | None]
    outcome_on: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the funder told the lead
    outcome_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    lead_bidder: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    outcome_recorded_by: Mapped[User | None] = relationship(foreign_keys=[outcome_recorded_by_id])
    financial_years: Mapped[list[FinancialYear]] = relationship(
        back_populates="round", order_by="FinancialYear.position", cascade="all, delete-orphan"
    )
    cost_categories: Mapped[list[CostCategory]] = relationship(
        back_populates="round", order_by="CostCategory.position", cascade="all, delete-orphan"
    )
    sections: Mapped[list[SectionTemplate]] = relationship(
        back_populates="round", order_by="SectionTemplate.position", cascade="all, delete-orphan"
    )
    contributions: Mapped[list[Contribution]] = relationship(back_populates="round")

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id

    @property
    def name(self) -> str:
        return self.title

    def __repr__(self) -> str:
        return f"<Round {self.id} {self.title!r}>"


class FinancialYear(TenantScoped, db.Model):
    __tablename__ = "round_financial_year"
    __tenant_parent__ = "round"  # no lead_bidder_id: scoped through its round
    __table_args__ = (UniqueConstraint("round_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(20))  # "2018/19"
    cap_pence: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="financial_years")


class CostCategory(TenantScoped, db.Model):
    __tablename__ = "round_cost_category"
    __tenant_parent__ = "round"  # no lead_bidder_id: scoped through its round
    __table_args__ = (UniqueConstraint("round_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)

    round: Mapped[Round] = relationship(back_populates="cost_categories")


class SectionTemplate(TenantScoped, db.Model):
    """One section the funder asks for. Word limits apply to the merged bid, and optionally to
    each CSP's part."""

    __tablename__ = "round_section"
    __tenant_parent__ = "round"  # no lead_bidder_id: scoped through its round

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str] = mapped_column(Text, default="")
    word_limit: Mapped[int | None]
    csp_word_limit: Mapped[int | None]
    required: Mapped[bool] = mapped_column(default=True)
    csp_contributes: Mapped[bool] = mapped_column(default=True)

    round: Mapped[Round] = relationship(back_populates="sections")

    @property
    def number(self) -> int:
        return self.position + 1
