"""Who may do what. Every route asks here; nothing else decides permissions.

Loading helpers scope every lookup to the signed-in user's lead bidder (and, for CSP users,
their own CSP): an id from another tenant is answered with 404, revealing nothing.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User

LEAD_ADMIN = frozenset({Role.LEAD_ADMIN})
LEAD_ANY = frozenset({Role.LEAD_ADMIN, Role.LEAD_STAFF, Role.VIEWER})
LEAD_EDIT = frozenset({Role.LEAD_ADMIN, Role.LEAD_STAFF})  # issue 4.3: lead-held budget lines
SIGNED_IN = frozenset(Role)


def roles_required(roles: frozenset[Role]):
    """Signed-in users with one of these roles; others get 403, anonymous users sign in first."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles
        return wrapped

    return decorator


# --- questions about a user ----------------------------------------------------------------

def can_manage_organisation(user: User) -> bool:
    return user.is_authenticated and user.role == Role.LEAD_ADMIN


def can_view_organisation(user: User) -> bool:
    return user.is_authenticated and user.role in LEAD_ANY


def can_edit_user(actor: User, user: User) -> bool:
    return can_manage_organisation(actor) and user.lead_bidder_id == actor.lead_bidder_id


# --- scoped loading ------------------------------------------------------------------------

def get_csp_or_404(actor: User, csp_id: int) -> Organisation:
    csp = db.session.get(Organisation, csp_id)
    if csp is None or csp.kind != OrganisationKind.CSP or csp.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    if actor.is_csp and actor.organisation_id != csp.id:
        abort(404)
    return csp


def get_user_or_404(actor: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return user


# --- rounds and contributions ------------------------------------------------------------------

def get_round_or_404(actor: User, round_id: int):
    from app.models import Round

    rnd = db.session.get(Round, round_id)
    if rnd is None or rnd.lead_bidder_id != actor.lead_bidder_id or not actor.is_lead:
        abort(404)
    return rnd


def can_manage_rounds(user: User) -> bool:
    return user.is_authenticated and user.role == Role.LEAD_ADMIN


def get_contribution_or_404(actor: User, contribution_id: int):
    """A contribution the user may see: lead bidder users see all of theirs; CSP users only their
    own CSP's, and only once the round is open."""
    from app.models import Contribution, RoundStatus

    contribution = db.session.get(Contribution, contribution_id)
    if contribution is None or contribution.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    if actor.is_csp and (
        contribution.csp_id != actor.organisation_id or contribution.round.status == RoundStatus.DRAFT
    ):
        abort(404)
    return contribution


def can_edit_contribution(user: User, contribution) -> bool:
    """CSP managers and contributors of that CSP, while the round is open and the contribution
    has not been submitted (or has been sent back)."""
    from app.models import RoundStatus

    return (
        user.is_authenticated
        and user.is_csp
        and user.organisation_id == contribution.csp_id
        and contribution.round.status == RoundStatus.OPEN
        and contribution.status.csp_can_edit
        and not bid_locks_contributions(contribution.round)  # issue 4.3
    )


# --- the collective bid (issue 4.3: consolidation and sign-off) ---------------------------------

def bid_locks_contributions(rnd) -> bool:
    """A signed-off or submitted bid locks every contribution of its round."""
    from sqlalchemy import select

    from app.models.bid import BidStatus, CollectiveBid

    status = db.session.scalar(select(CollectiveBid.status).where(CollectiveBid.round_id == rnd.id))
    return status in (BidStatus.SIGNED_OFF, BidStatus.SUBMITTED)


def can_change_lead_budget(user: User, bid) -> bool:
    """Lead bidder administrators and staff, while the bid is a draft (or not started)."""
    from app.models.bid import BidStatus

    return (
        user.is_authenticated
        and user.role in LEAD_EDIT
        and (bid is None or bid.status == BidStatus.DRAFT)
    )


def can_sign_off_bid(user: User) -> bool:
    """Only lead bidder administrators sign off, mark as submitted and reopen."""
    return user.is_authenticated and user.role == Role.LEAD_ADMIN


def can_submit_contribution(user: User, contribution) -> bool:
    return can_edit_contribution(user, contribution) and user.role == Role.CSP_MANAGER


CSP_ANY = frozenset({Role.CSP_MANAGER, Role.CSP_CONTRIBUTOR})
CSP_MANAGER = frozenset({Role.CSP_MANAGER})


# --- exports (issue 5) ----------------------------------------------------------------------------
# The collective bid's exports: everyone at the lead bidder may see and download them; administrators
# and staff make them. A contribution's exports: that CSP's users and the lead bidder's users may see
# and download them; the CSP's users and lead administrators and staff make them.

EXPORT_CONTRIBUTION = LEAD_EDIT | CSP_ANY


def can_create_bid_export(user: User) -> bool:
    return user.is_authenticated and user.role in LEAD_EDIT


def can_create_contribution_export(user: User, contribution) -> bool:
    if not user.is_authenticated or user.lead_bidder_id != contribution.lead_bidder_id:
        return False
    if user.is_csp:
        return user.organisation_id == contribution.csp_id
    return user.role in LEAD_EDIT


def can_create_export_like(user: User, export) -> bool:
    """May make (or try again) an export of the same thing as this one."""
    if export.contribution_id is None:
        return can_create_bid_export(user)
    return can_create_contribution_export(user, export.contribution)


def get_export_or_404(actor: User, export_id: int):
    """An export record the user may see and download. Exports of the collective bid are for lead
    bidder users only (403 for CSP users, as for every page of the bid); a contribution's exports
    are also for that CSP's users (404 for other CSPs); another lead bidder's are 404."""
    from app.models import ExportRecord

    export = db.session.get(ExportRecord, export_id)
    if export is None:
        abort(404)
    if export.contribution_id is None and not actor.is_lead:
        abort(403)  # as every page of the bid answers CSP users (tests/access_policy.py)
    if export.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    if export.contribution_id is not None:
        get_contribution_or_404(actor, export.contribution_id)
    return export


# --- deadlines, reminders and calendars (issue 6) -------------------------------------------------
# Everyone at the lead bidder sees a round's deadlines page; only administrators change deadlines
# and the reminder schedule, see the reminders page and send a reminder again. Every signed-in
# person manages their own calendar feed; a round's .ics is for the lead bidder's users, a
# contribution's .ics for those who may see the contribution.


def can_change_deadlines(user: User) -> bool:
    return user.is_authenticated and user.role == Role.LEAD_ADMIN


def can_manage_reminders(user: User) -> bool:
    return user.is_authenticated and user.role == Role.LEAD_ADMIN


def get_reminder_or_404(actor: User, rnd, reminder_id: int):
    """A reminder of this round (which the caller has loaded with get_round_or_404)."""
    from app.models import Reminder

    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None or reminder.round_id != rnd.id or reminder.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return reminder
