"""All models, importable from one place (and so known to Alembic)."""

from app.models.assignment import Assignment
from app.models.audit import AuditEvent
from app.models.bid import (
    BidStatus,
    CollectiveBid,
    LeadBudgetLine,
    MergedRevision,
    MergedSection,
    MergedSource,
    SectionState,
)
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
from app.models.funder_form import RoundFunderForm
from app.models.job import JobRun
from app.models.notification import Notification, NotificationKind
from app.models.organisation import Organisation, OrganisationKind, csps_of
from app.models.outbox import OutboxEmail, OutboxStatus
from app.models.review import ChangeRequest, InternalNote, ReviewComment
from app.models.round import BidOutcome, CostCategory, FinancialYear, Round, RoundStatus, SectionTemplate
from app.models.search import SearchEntry
from app.models.user import (
    ALL_ROLES,
    CSP_MANAGERS,
    CSP_ROLES,
    LEAD_ADMINS,
    LEAD_EDITORS,
    LEAD_ROLES,
    ROLE_HINTS,
    ROLE_LABELS,
    AccountToken,
    EmailFrequency,
    RecoveryCode,
    Role,
    TokenPurpose,
    User,
    UserSession,
)

__all__ = [
    "AccountToken",
    "Assignment",
    "EmailFrequency",
    "Attachment",
    "AuditEvent",
    "BidStatus",
    "BidOutcome",
    "SectionState",
    "ChangeRequest",
    "InternalNote",
    "JobRun",
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
    "RecoveryCode",
    "ExportRecord",
    "ExportStatus",
    "Round",
    "RoundFunderForm",
    "RoundStatus",
    "SearchEntry",
    "SectionResponse",
    "SectionRevision",
    "SectionTemplate",
    "ALL_ROLES",
    "CSP_MANAGERS",
    "CSP_ROLES",
    "LEAD_ADMINS",
    "LEAD_EDITORS",
    "LEAD_ROLES",
    "Notification",
    "NotificationKind",
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
