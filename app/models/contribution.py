"""A CSP's contribution to a round, and everything in it."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.organisation import Organisation
from app.models.round import CostCategory, FinancialYear, Round, SectionTemplate
from app.models.user import User


def _enum(cls):
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class ContributionStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    RESUBMITTED = "resubmitted"  # submitted again after changes were requested
    ACCEPTED = "accepted"
    EXCLUDED = "excluded"

    @property
    def label(self) -> str:
        return CONTRIBUTION_STATUS_LABELS[self]

    @property
    def tag_class(self) -> str:
        return CONTRIBUTION_STATUS_TAGS[self]

    @property
    def csp_can_edit(self) -> bool:
        """The CSP holds it (not yet submitted, or sent back). Whether they may change it now also
        depends on the round: ask app.policy.can(user, "contribution.edit", contribution)."""
        return self in CSP_HOLDS

    @property
    def with_lead(self) -> bool:
        """Submitted to the lead bidder and not sent back: counted as "submitted" everywhere."""
        return self in WITH_LEAD

    @property
    def awaiting_review(self) -> bool:
        return self in (ContributionStatus.SUBMITTED, ContributionStatus.RESUBMITTED)


# The CSP holds the contribution: it is theirs to write (round and bid permitting).
CSP_HOLDS = frozenset(
    {ContributionStatus.NOT_STARTED, ContributionStatus.IN_PROGRESS, ContributionStatus.CHANGES_REQUESTED}
)
# With the lead bidder: what every page, email and export counts as "submitted".
WITH_LEAD = frozenset({ContributionStatus.SUBMITTED, ContributionStatus.RESUBMITTED, ContributionStatus.ACCEPTED})

CONTRIBUTION_STATUS_LABELS = {
    ContributionStatus.NOT_STARTED: "Not started",
    ContributionStatus.IN_PROGRESS: "In progress",
    ContributionStatus.SUBMITTED: "Submitted",
    ContributionStatus.CHANGES_REQUESTED: "Changes requested",
    ContributionStatus.RESUBMITTED: "Resubmitted",
    ContributionStatus.ACCEPTED: "Accepted",
    ContributionStatus.EXCLUDED: "Excluded",
}
CONTRIBUTION_STATUS_TAGS = {
    ContributionStatus.NOT_STARTED: "govuk-tag--grey",
    ContributionStatus.IN_PROGRESS: "govuk-tag--light-blue",
    ContributionStatus.SUBMITTED: "govuk-tag--blue",
    ContributionStatus.CHANGES_REQUESTED: "govuk-tag--orange",
    ContributionStatus.RESUBMITTED: "govuk-tag--blue",
    ContributionStatus.ACCEPTED: "govuk-tag--green",
    ContributionStatus.EXCLUDED: "govuk-tag--red",
}


class Contribution(TenantScoped, db.Model):
    __tablename__ = "contribution"
    __table_args__ = (UniqueConstraint("round_id", "csp_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id"), index=True)
    csp_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[ContributionStatus] = mapped_column(
        _enum(ContributionStatus), default=ContributionStatus.NOT_STARTED
    )
    # Parts of the task list other than the narrative sections, marked as completed by the CSP.
    budget_completed: Mapped[bool] = mapped_column(default=False)
    outcomes_completed: Mapped[bool] = mapped_column(default=False)
    partners_completed: Mapped[bool] = mapped_column(default=False)
    documents_completed: Mapped[bool] = mapped_column(default=False)
    # A later internal deadline granted to this CSP alone, with the reason.
    extension_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    extension_granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The lead bidder's decision: accepted into the bid, or excluded from it (with the reason).
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every status change (submit, send back, accept), which is a conditional UPDATE.
    version: Mapped[int] = mapped_column(default=1)

    round: Mapped[Round] = relationship(back_populates="contributions")
    csp: Mapped[Organisation] = relationship(foreign_keys=[csp_id])
    manager: Mapped[User | None] = relationship(foreign_keys=[manager_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    extension_granted_by: Mapped[User | None] = relationship(foreign_keys=[extension_granted_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    responses: Mapped[list[SectionResponse]] = relationship(back_populates="contribution", cascade="all, delete-orphan")
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", order_by="BudgetLine.id"
    )
    outcomes: Mapped[list[Outcome]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", order_by="Outcome.id"
    )
    partners: Mapped[list[PartnerInvolvement]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", order_by="PartnerInvolvement.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="contribution", cascade="all, delete-orphan", order_by="Attachment.id"
    )

    @property
    def tenant_id(self) -> int:
        return self.lead_bidder_id

    @property
    def deadline(self) -> datetime:
        """The internal deadline that applies to this CSP: its extension, if later."""
        if self.extension_until and self.extension_until > self.round.internal_deadline:
            return self.extension_until
        return self.round.internal_deadline

    def __repr__(self) -> str:
        return f"<Contribution {self.id} round={self.round_id} csp={self.csp_id}>"


class SectionResponse(TenantScoped, db.Model):
    """A CSP's text for one section. Every save makes a SectionRevision; `version` stops a second
    editor from silently overwriting the first."""

    __tablename__ = "section_response"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution
    __table_args__ = (UniqueConstraint("contribution_id", "section_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text, default="")
    completed: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    contribution: Mapped[Contribution] = relationship(back_populates="responses")
    section: Mapped[SectionTemplate] = relationship()
    updated_by: Mapped[User | None] = relationship()
    revisions: Mapped[list[SectionRevision]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="SectionRevision.number"
    )


class SectionRevision(TenantScoped, db.Model):
    __tablename__ = "section_revision"
    __tenant_parent__ = "response"  # no lead_bidder_id: scoped through its response
    __table_args__ = (UniqueConstraint("response_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("section_response.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    word_count: Mapped[int] = mapped_column(default=0)
    completed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    response: Mapped[SectionResponse] = relationship(back_populates="revisions")
    created_by: Mapped[User | None] = relationship()


class MatchType(enum.StrEnum):
    CASH = "cash"
    IN_KIND = "in_kind"

    @property
    def label(self) -> str:
        return "Cash" if self is MatchType.CASH else "In-kind"


class BudgetLine(TenantScoped, db.Model):
    __tablename__ = "budget_line"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
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
    # Optimistic locking: bumped by every change, which is a conditional UPDATE on the version the
    # editor loaded, so a second editor gets a conflict instead of silently overwriting the first.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    contribution: Mapped[Contribution] = relationship(back_populates="budget_lines")
    financial_year: Mapped[FinancialYear] = relationship()
    cost_category: Mapped[CostCategory] = relationship()


class Outcome(TenantScoped, db.Model):
    __tablename__ = "outcome"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(String(300))
    baseline: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200))
    by_when: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: bumped by every change, which is a conditional UPDATE on the version the
    # editor loaded, so a second editor gets a conflict instead of silently overwriting the first.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    contribution: Mapped[Contribution] = relationship(back_populates="outcomes")


class PartnerInvolvement(TenantScoped, db.Model):
    __tablename__ = "partner_involvement"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Optimistic locking: bumped by every change, which is a conditional UPDATE on the version the
    # editor loaded, so a second editor gets a conflict instead of silently overwriting the first.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    contribution: Mapped[Contribution] = relationship(back_populates="partners")


class ScanStatus(enum.StrEnum):
    """Where a supporting document is in its virus check (app/services/scanning.py)."""

    PENDING = "pending"  # uploaded while a scanner is configured, not checked yet
    CLEAN = "clean"  # checked: no virus found
    INFECTED = "infected"  # a virus was found: the file was moved to quarantine
    FAILED = "failed"  # the scanner could not check it (larger than it accepts): not released
    NOT_SCANNED = "not_scanned"  # uploaded while no scanner was configured (and every older file)

    @property
    def label(self) -> str:
        """The tag shown beside the document (clean and, where no scanner is set, not checked show none)."""
        return SCAN_STATUS_LABELS[self]

    @property
    def tag_class(self) -> str:
        return SCAN_STATUS_TAGS[self]

    @property
    def available(self) -> bool:
        """Its file may be downloaded and put in exports: checked and clean, or never checked
        (uploaded with no scanner configured: downloaded as always, and the page says so)."""
        return self in (ScanStatus.CLEAN, ScanStatus.NOT_SCANNED)


SCAN_STATUS_LABELS = {
    ScanStatus.PENDING: "Being checked",
    ScanStatus.CLEAN: "No virus found",
    ScanStatus.INFECTED: "Virus found",
    ScanStatus.FAILED: "Could not be checked",
    ScanStatus.NOT_SCANNED: "Not checked for viruses",
}
SCAN_STATUS_TAGS = {
    ScanStatus.PENDING: "govuk-tag--light-blue",
    ScanStatus.CLEAN: "govuk-tag--green",
    ScanStatus.INFECTED: "govuk-tag--red",
    ScanStatus.FAILED: "govuk-tag--orange",
    ScanStatus.NOT_SCANNED: "govuk-tag--grey",
}


class Attachment(TenantScoped, db.Model):
    """A supporting document, stored outside the static folder under a generated name."""

    __tablename__ = "attachment"
    __tenant_parent__ = "contribution"  # no lead_bidder_id: scoped through its contribution
    # The sweep that finds documents still waiting for their virus check, oldest first.
    __table_args__ = (Index("ix_attachment_scan_status", "scan_status", "uploaded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[int] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # the name the user gave it, made safe
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(300))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The virus check: set to pending at upload when a scanner is configured, not_scanned otherwise.
    scan_status: Mapped[ScanStatus] = mapped_column(
        _enum(ScanStatus), default=ScanStatus.NOT_SCANNED, server_default=ScanStatus.NOT_SCANNED.value
    )
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The scanner's answer: the virus's name when one was found, why it could not check the file.
    scan_result: Mapped[str | None] = mapped_column(String(200))

    contribution: Mapped[Contribution] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User | None] = relationship()
