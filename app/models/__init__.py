"""All models, importable from one place (and so known to Alembic)."""

from app.models.audit import AuditEvent
from app.models.bid import BidStatus, CollectiveBid, LeadBudgetLine, MergedRevision, MergedSection, MergedSource
from app.models.contribution import (
    Attachment,
    BudgetLine,
    Contribution,
    ContributionStatus,
    MatchType,
    Outcome,
    PartnerInvolvement,
    SectionResponse,
    SectionRevision,
)
from app.models.deadline import (
    CalendarFeed,
    DeadlineChange,
    DeadlineKind,
    Reminder,
    ReminderKind,
    ReminderSchedule,
)
from app.models.draft import PendingDraft
from app.models.export import ExportRecord, ExportStatus
from app.models.organisation import Organisation, OrganisationKind, csps_of
from app.models.outbox import OutboxEmail, OutboxStatus
from app.models.review import ChangeRequest, ReviewComment
from app.models.round import CostCategory, FinancialYear, Round, RoundStatus, SectionTemplate
from app.models.user import (
    CSP_ROLES,
    LEAD_ROLES,
    ROLE_HINTS,
    ROLE_LABELS,
    AccountToken,
    Role,
    TokenPurpose,
    User,
    UserSession,
)

__all__ = [
    "AccountToken",
    "Attachment",
    "AuditEvent",
    "BidStatus",
    "ChangeRequest",
    "CollectiveBid",
    "LeadBudgetLine",
    "MergedRevision",
    "MergedSection",
    "MergedSource",
    "ReviewComment",
    "BudgetLine",
    "Contribution",
    "ContributionStatus",
    "CostCategory",
    "FinancialYear",
    "MatchType",
    "Outcome",
    "PartnerInvolvement",
    "PendingDraft",
    "CalendarFeed",
    "DeadlineChange",
    "DeadlineKind",
    "Reminder",
    "ReminderKind",
    "ReminderSchedule",
    "ExportRecord",
    "ExportStatus",
    "Round",
    "RoundStatus",
    "SectionResponse",
    "SectionRevision",
    "SectionTemplate",
    "CSP_ROLES",
    "LEAD_ROLES",
    "Organisation",
    "OrganisationKind",
    "OutboxEmail",
    "OutboxStatus",
    "ROLE_HINTS",
    "ROLE_LABELS",
    "Role",
    "TokenPurpose",
    "User",
    "UserSession",
    "csps_of",
]
