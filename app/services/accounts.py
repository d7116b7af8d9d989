"""Accounts: inviting people, accepting invitations, passwords, deactivation."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AccountToken, Organisation, Role, TokenPurpose, User
from app.models.base import utcnow
from app.services import ServiceError
from app.services.audit import record
from app.services.outbox import prepared_at_delivery, queue_email, queue_prepared_at_delivery
from app.services.pages import Page, paginate
from app.services.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.services.sessions import end_all_sessions
from app.services.tokens import hash_token, new_token
from app.tenancy import unscoped
from app.urls import absolute_url


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    # Email addresses are unique in the whole installation, whoever (if anyone) is signed in.
    with unscoped():
        return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Inactive accounts never authenticate."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        verify_password(None, password)  # same effort either way
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = utcnow()
    return user


def _issue_token(user: User, purpose: TokenPurpose, lifetime: timedelta) -> str:
    # A new link replaces any earlier unused link of the same kind.
    now = utcnow()
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token()
    db.session.add(
        AccountToken(
            purpose=purpose, token_hash=hash_token(token), user_id=user.id, created_at=now, expires_at=now + lifetime
        )
    )
    return token


def _check_role_fits(role: Role, organisation: Organisation) -> None:
    if organisation.is_lead_bidder and not role.is_lead:
        raise ServiceError("Choose a lead bidder role for someone in the lead bidder's office", field="role")
    if not organisation.is_lead_bidder and not role.is_csp:
        raise ServiceError("Choose CSP manager or CSP contributor for someone in a CSP", field="role")


def _require_to_manage(actor: User, verb: str, record) -> None:
    """The actor's rule for managing people (app/policy/rules.py PEOPLE_RULES): a lead bidder
    administrator's for anyone at their lead bidder, a CSP manager's for their own CSP's team."""
    from app.policy import require
    from app.policy.rules import people_rule

    require(actor, people_rule(actor, verb), record)


EMAIL_TAKEN = "A person with this email address already has an account"


def _check_email_free(email: str) -> None:
    with unscoped():  # unique in the whole installation, not only in the actor's lead bidder
        taken = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if taken:
        raise ServiceError(EMAIL_TAKEN, field="email")


def invite_user(
    actor: User, email: str, full_name: str, role: Role, organisation: Organisation, job_title: str | None = None
) -> User:
    """Invite someone to an organisation of the actor's lead bidder: a lead bidder administrator
    anyone anywhere in it; a CSP manager a contributor or manager of their own CSP."""
    from app.policy.rules import Placement

    email = normalise_email(email)
    if organisation.tenant_id != actor.lead_bidder_id:
        raise ServiceError("Select an organisation from the list", field="organisation")
    _require_to_manage(actor, "invite", Placement(organisation, role))
    if not organisation.active:
        raise ServiceError("This organisation has been deactivated. Reactivate it first", field="organisation")
    _check_role_fits(role, organisation)
    _check_email_free(email)
    user = User(
        email=email,
        full_name=full_name.strip(),
        job_title=(job_title or "").strip() or None,
        role=role,
        organisation=organisation,
        lead_bidder_id=organisation.tenant_id,
        invited_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    _send_invitation(actor, user)
    record(actor, "user.invited", user, f"Invited {user.full_name} ({user.email}) as {role.label}")
    return user


def _invitation(actor: User, user: User) -> tuple[str, dict]:
    """A new invitation link for `user` (earlier ones stop working): its token and the email's context."""
    token = _issue_token(user, TokenPurpose.INVITATION, timedelta(hours=current_app.config["INVITATION_HOURS"]))
    return token, {
        "user": user,
        "inviter": actor,
        "link": absolute_url("auth.accept_invitation", token=token),
        "hours": current_app.config["INVITATION_HOURS"],
    }


def _send_invitation(actor: User, user: User) -> None:
    token, context = _invitation(actor, user)
    queue_email(
        user.email,
        "invitation",
        idempotency_key=f"invitation:{user.id}:{hash_token(token)[:16]}",
        lead_bidder_id=user.lead_bidder_id,
        **context,
    )


def resend_invitation(actor: User, user: User) -> None:
    _require_to_manage(actor, "invite", user)
    if user.has_password:
        raise ServiceError(f"{user.full_name} has already accepted their invitation")
    if not user.active:
        raise ServiceError(f"{user.full_name}'s account is deactivated. Reactivate it first")
    user.invited_at = utcnow()
    _send_invitation(actor, user)
    record(actor, "user.invitation_resent", user, f"Sent a new invitation to {user.email}")


def usable_token(token: str, purpose: TokenPurpose) -> AccountToken | None:
    row = db.session.scalar(
        select(AccountToken).where(AccountToken.token_hash == hash_token(token), AccountToken.purpose == purpose)
    )
    if row is None or not row.is_usable(utcnow()) or not row.user.active:
        return None
    return row


def _set_password(user: User, password: str) -> None:
    problem = password_problem(password, user.email)
    if problem:
        raise ServiceError(problem, field="password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_all_sessions(user)


def _use_token(token: str, purpose: TokenPurpose) -> AccountToken:
    # The conditional UPDATE makes the token single-use even under two simultaneous clicks.
    row = usable_token(token, purpose)
    if row is None:
        raise ServiceError("This link has expired or has already been used")
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError("This link has expired or has already been used")
    return row


def accept_invitation(token: str, password: str) -> User:
    row = usable_token(token, TokenPurpose.INVITATION)
    if row is None:
        raise ServiceError("This invitation has expired or has already been used")
    user = row.user
    _set_password(user, password)  # check the password before the token is spent
    _use_token(token, TokenPurpose.INVITATION)
    record(user, "user.invitation_accepted", user, f"{user.full_name} accepted their invitation")
    return user


PASSWORD_RESET_REQUEST = "password_reset_request"  # noqa: S105 - a kind of email, not a password  # nosec B105


def request_password_reset(email: str) -> None:
    """Ask for a reset link for this address. Says nothing, and does the same work, either way.

    The request only queues the address: the outbox worker finds out whether it has an account
    and sends the link (or a fresh invitation, or nothing): see password_reset_email(). So the
    request runs the same statements, in the same time, for a known and an unknown address."""
    queue_prepared_at_delivery(
        PASSWORD_RESET_REQUEST, normalise_email(email), idempotency_key=f"{PASSWORD_RESET_REQUEST}:{new_token()}"
    )


@prepared_at_delivery(PASSWORD_RESET_REQUEST)
def password_reset_email(email: str) -> tuple[str, dict] | None:
    """What the worker sends for a reset request to this address: a reset link if it belongs to an
    active account, a fresh invitation if its owner never accepted theirs, otherwise nothing."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    if not user.has_password:
        return "invitation", _invitation(user, user)[1]
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    token = _issue_token(user, TokenPurpose.PASSWORD_RESET, timedelta(minutes=minutes))
    record(user, "user.password_reset_requested", user, f"Password reset requested for {user.email}")
    return "password_reset", {
        "user": user,
        "link": absolute_url("auth.reset_password", token=token),
        "minutes": minutes,
    }


def reset_password(token: str, password: str) -> User:
    row = usable_token(token, TokenPurpose.PASSWORD_RESET)
    if row is None:
        raise ServiceError("This password reset link has expired or has already been used")
    user = row.user
    _set_password(user, password)
    _use_token(token, TokenPurpose.PASSWORD_RESET)
    queue_email(
        user.email,
        "password_changed",
        idempotency_key=f"password_changed:{user.id}:{user.password_changed_at.isoformat()}",
        lead_bidder_id=user.lead_bidder_id,
        user=user,
    )
    record(user, "user.password_reset", user, f"{user.full_name} reset their password")
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ServiceError("Your current password is incorrect", field="current_password")
    try:
        _set_password(user, new_password)
    except ServiceError as exc:
        raise ServiceError(exc.message, field="new_password") from exc
    queue_email(
        user.email,
        "password_changed",
        idempotency_key=f"password_changed:{user.id}:{user.password_changed_at.isoformat()}",
        lead_bidder_id=user.lead_bidder_id,
        user=user,
    )
    record(user, "user.password_changed", user, f"{user.full_name} changed their password")


def update_user(
    actor: User,
    user: User,
    full_name: str,
    job_title: str | None,
    role: Role,
    organisation: Organisation,
    email: str | None = None,
):
    """Change someone's details: a lead bidder administrator anyone's at their lead bidder (and
    their organisation and email address); a CSP manager a contributor's of their own CSP."""
    from app.policy.rules import Placement

    if organisation.tenant_id != actor.lead_bidder_id:
        raise ServiceError("Select an organisation from the list", field="organisation")
    _require_to_manage(actor, "change", user)  # the person as they are ...
    _require_to_manage(actor, "change", Placement(organisation, role))  # ... and the role they are given
    _check_role_fits(role, organisation)
    if user.id == actor.id and role != Role.LEAD_ADMIN:
        raise ServiceError("You cannot remove your own administrator role", field="role")
    changes = {}
    if email is not None and normalise_email(email) != user.email:
        changes["email"] = _change_email(actor, user, normalise_email(email))
    for attr, value in (
        ("full_name", full_name.strip()),
        ("job_title", (job_title or "").strip() or None),
        ("role", role),
        ("organisation_id", organisation.id),
    ):
        if getattr(user, attr) != value:
            changes[attr] = [str(getattr(user, attr)), str(value)]
            setattr(user, attr, value)
    if changes:
        record(actor, "user.updated", user, f"Updated {user.full_name}'s account", changes=changes)
    return changes


def _change_email(actor: User, user: User, email: str) -> list[str]:
    """Give the account a new email address (its sign-in name). Both addresses are told; links
    already sent to the old one (a password reset, an invitation) stop working."""
    _check_email_free(email)
    old = user.email
    user.email = email
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    stamp = utcnow().isoformat()
    for to, template in ((old, "email_changed_old"), (email, "email_changed_new")):
        queue_email(
            to,
            template,
            idempotency_key=f"{template}:{user.id}:{stamp}",
            lead_bidder_id=user.lead_bidder_id,
            user=user,
            actor=actor,
            old_email=old,
            new_email=email,
        )
    return [old, email]


def deactivate_user(actor: User, user: User) -> None:
    """Deactivate an account: its sessions end at once and it can no longer sign in."""
    _require_to_manage(actor, "deactivate", user)
    if not user.active:
        return
    user.active = False
    user.deactivated_at = utcnow()
    end_all_sessions(user)
    record(actor, "user.deactivated", user, f"Deactivated {user.full_name} ({user.email})")


def reactivate_user(actor: User, user: User) -> None:
    _require_to_manage(actor, "reactivate", user)
    if user.active:
        return
    if not user.organisation.active:
        raise ServiceError(f"Reactivate {user.organisation.name} first")
    user.active = True
    user.deactivated_at = None
    record(actor, "user.reactivated", user, f"Reactivated {user.full_name} ({user.email})")


# --- reading: the actor's own lead bidder's people --------------------------------------------------

def users_for(actor: User, status: str = "active", page=1) -> tuple[Page[User], str]:
    """One page of the people of the actor's lead bidder (a CSP user: of their CSP) by name, filtered
    by status ("active", "deactivated"; anything else means "all"), and the status actually applied."""
    stmt = select(User).where(User.lead_bidder_id == actor.lead_bidder_id)
    if actor.is_csp:
        stmt = stmt.where(User.organisation_id == actor.organisation_id)
    if status == "active":
        stmt = stmt.where(User.active.is_(True))
    elif status == "deactivated":
        stmt = stmt.where(User.active.is_(False))
    else:
        status = "all"
    stmt = stmt.order_by(func.lower(User.full_name), User.id).options(selectinload(User.organisation))
    return paginate(stmt, page), status


def users_of(actor: User, organisation: Organisation) -> list[User]:
    """The accounts of one organisation of the actor's lead bidder: active first, then by name."""
    return db.session.scalars(
        select(User)
        .where(User.lead_bidder_id == actor.lead_bidder_id, User.organisation_id == organisation.id)
        .order_by(User.active.desc(), func.lower(User.full_name))
    ).all()
