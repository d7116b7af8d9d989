"""People who use the service, their sign-in sessions and their single-use email tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow
from app.models.organisation import Organisation


class Role(enum.StrEnum):
    LEAD_ADMIN = "lead_admin"
    LEAD_STAFF = "lead_staff"
    VIEWER = "viewer"
    CSP_MANAGER = "csp_manager"
    CSP_CONTRIBUTOR = "csp_contributor"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def phrase(self) -> str:
        """For use inside a sentence: 'a CSP manager', 'a lead bidder administrator'."""
        return ROLE_PHRASES[self]

    @property
    def is_lead(self) -> bool:
        """Roles held by people in the lead bidder's own office."""
        return self in LEAD_ROLES

    @property
    def is_csp(self) -> bool:
        return self in CSP_ROLES


ROLE_LABELS = {
    Role.LEAD_ADMIN: "Lead bidder administrator",
    Role.LEAD_STAFF: "Lead bidder staff",
    Role.VIEWER: "Read-only viewer",
    Role.CSP_MANAGER: "CSP manager",
    Role.CSP_CONTRIBUTOR: "CSP contributor",
}
ROLE_PHRASES = {
    Role.LEAD_ADMIN: "a lead bidder administrator",
    Role.LEAD_STAFF: "a member of the lead bidder's staff",
    Role.VIEWER: "a read-only viewer",
    Role.CSP_MANAGER: "a CSP manager",
    Role.CSP_CONTRIBUTOR: "a CSP contributor",
}
ROLE_HINTS = {
    Role.LEAD_ADMIN: "Manages the organisation, its CSPs and users, and signs off bids.",
    Role.LEAD_STAFF: "Sets up rounds, reviews contributions and builds the collective bid.",
    Role.VIEWER: "Can see the lead bidder's rounds and bids but cannot change anything.",
    Role.CSP_MANAGER: "Writes and submits their CSP's contributions.",
    Role.CSP_CONTRIBUTOR: "Helps write their CSP's contributions but cannot submit them.",
}
# The role sets, declared once (the rulebook in app/policy/ and every recipient list use these).
LEAD_ROLES = frozenset({Role.LEAD_ADMIN, Role.LEAD_STAFF, Role.VIEWER})  # everyone at the lead bidder
LEAD_EDITORS = frozenset({Role.LEAD_ADMIN, Role.LEAD_STAFF})  # lead bidder users who change things
LEAD_ADMINS = frozenset({Role.LEAD_ADMIN})
CSP_ROLES = frozenset({Role.CSP_MANAGER, Role.CSP_CONTRIBUTOR})
CSP_MANAGERS = frozenset({Role.CSP_MANAGER})
ALL_ROLES = frozenset(Role)
# Roles that must sign in with a second factor (others may choose to, or their CSP may require it).
TWO_FACTOR_ROLES = LEAD_EDITORS

_role_type = Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class EmailFrequency(enum.StrEnum):
    """How a person wants notification emails (their email preferences)."""

    IMMEDIATELY = "immediately"  # each notification's email at once (the default)
    DAILY = "daily"  # one summary at 9am UK time on working days
    OFF = "off"  # no notification emails (What's new still shows them)

    @property
    def label(self) -> str:
        return {"immediately": "Immediately", "daily": "In a daily summary", "off": "Off"}[self.value]


_frequency_type = Enum(
    EmailFrequency, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
)


class User(UserMixin, TenantScoped, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    job_title: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_role_type)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # The tenant, kept on the row so every scoped query is a single equality.
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor sign-in with an authenticator app (TOTP, app/services/two_factor.py): the app's
    # key once set up, the key being set up (until a first code proves the app has it), and the
    # last time step a code was accepted for, so no code is ever accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None]
    two_factor_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Email preferences (/account/email-notifications): how notification emails come, and, for a
    # CSP contributor, whether they hear what their CSP's managers hear (they do unless they opt
    # out). Deadline reminders about their own contribution are not affected by either.
    email_notifications: Mapped[EmailFrequency] = mapped_column(
        _frequency_type, default=EmailFrequency.IMMEDIATELY, server_default=EmailFrequency.IMMEDIATELY.value
    )
    follow_csp: Mapped[bool] = mapped_column(default=True, server_default=true())

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id], back_populates="users")
    lead_bidder: Mapped[Organisation] = relationship(foreign_keys=[lead_bidder_id])

    # Set at sign-in and when a session is loaded: Flask-Login stores get_id() in the cookie.
    _session_token = None

    def get_id(self) -> str | None:
        return self._session_token

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    @property
    def status_label(self) -> str:
        if not self.active:
            return "Deactivated"
        if not self.has_password:
            return "Invited"
        return "Active"

    @property
    def has_two_factor(self) -> bool:
        return self.totp_secret is not None

    @property
    def is_lead(self) -> bool:
        return self.role.is_lead

    @property
    def is_csp(self) -> bool:
        return self.role.is_csp

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random token; only its hash is stored.

    Signing out deletes the row, so a copied cookie is useless afterwards. Changing the
    password or deactivating the account deletes all of the user's rows.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship()


class TokenPurpose(enum.StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a label, not a password  # nosec B105
    # The right password was given and the two-factor code is awaited: not signed in yet.
    SIGN_IN = "sign_in"


class RecoveryCode(db.Model):
    """A one-time code for signing in without the authenticator app. Shown once, stored hashed;
    `used_at` is set (by a conditional UPDATE) the one time it is used."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountToken(db.Model):
    """A single-use link sent by email (invitation or password reset), stored hashed."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
