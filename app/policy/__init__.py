"""Who may do what, to which record, in which state: the one rulebook.

- `app/policy/lifecycle.py`: the states of rounds (and their bids), contributions and merged
  sections, and the transitions allowed between them.
- `app/policy/rules.py`: every action as a named rule (roles, tenant, own CSP, state).
- here: the questions everyone asks of the rulebook —
    can(user, action, record)       -> bool (templates, navigation)
    why_not(user, action, record)   -> the reason in words, or None
    require(user, action, record)   -> raises NotAllowed (services: the command line obeys too)
    authorise(action, record)       -> for routes: 403 / 404 / 403 with the reason
    @rule_required(action)          -> for routes: signed in, and a role the action allows
  and the scoped loaders (get_round_or_404 ...), which answer 404 for another tenant's ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.extensions import db
from app.models import (
    ALL_ROLES,
    CSP_MANAGERS,
    CSP_ROLES,
    LEAD_ADMINS,
    LEAD_EDITORS,
    LEAD_ROLES,
    Organisation,
    OrganisationKind,
    User,
)
from app.policy import lifecycle
from app.policy.rules import RULES, Rule, round_of, two_factor_required
from app.services import ServiceError

__all__ = [
    "RULES",
    "NotAllowed",
    "Rule",
    "authorise",
    "redirect_unless",
    "can",
    "decide",
    "lifecycle",
    "require",
    "round_of",
    "state_reason",
    "two_factor_required",
    "rule_required",
    "why_not",
]

# Kept for the routes' decorators: the role sets of app/models/user.py under their old names.
LEAD_ADMIN = LEAD_ADMINS
LEAD_ANY = LEAD_ROLES
LEAD_EDIT = LEAD_EDITORS
CSP_ANY = CSP_ROLES
CSP_MANAGER = CSP_MANAGERS
SIGNED_IN = ALL_ROLES


class NotAllowed(ServiceError):
    """The rulebook refused an action. `status` is what a page answers: 403 (role or state, with
    the reason) or 404 (another lead bidder's or another CSP's record: nothing is revealed)."""

    def __init__(self, message: str, status: int = 403, action: str | None = None, kind: str = "state"):
        super().__init__(message)
        self.status = status
        self.action = action
        self.kind = kind  # "role", "scope" (another tenant's or CSP's) or "state"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int = 200  # 401 not signed in, 403 role or state, 404 other tenant or CSP
    reason: str | None = None
    kind: str = ""  # why it was refused: "signed_out", "role", "scope" or "state"

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)
ROLE_REASON = "Your account does not allow you to do this"


def role_reason(roles: frozenset) -> str:
    """"Only a lead bidder administrator can do this", from the rule's roles."""
    from app.models.user import ROLE_PHRASES

    phrases = [ROLE_PHRASES[r] for r in sorted(roles, key=lambda r: list(type(r)).index(r))]
    if not phrases:
        return ROLE_REASON
    who = " or ".join(phrases) if len(phrases) <= 2 else ", ".join(phrases[:-1]) + " or " + phrases[-1]
    return f"Only {who} can do this"


def _tenant_of(record) -> int | None:
    if isinstance(record, Organisation):
        return record.id if record.kind == OrganisationKind.LEAD_BIDDER else record.lead_bidder_id
    tenant = getattr(record, "lead_bidder_id", None)
    if tenant is None and getattr(record, "bid", None) is not None:
        tenant = record.bid.lead_bidder_id
    if tenant is None and getattr(record, "contribution", None) is not None:  # a contribution's part (a note)
        tenant = record.contribution.lead_bidder_id
    return tenant


def _csp_of(record) -> int | None:
    """The CSP a record belongs to, when it belongs to one (a contribution, its export ...)."""
    if isinstance(record, Organisation):
        return record.id if record.kind == OrganisationKind.CSP else None
    if isinstance(record, User):
        return record.organisation_id if record.is_csp else None
    csp = getattr(record, "csp_id", None)
    if csp is None and getattr(record, "contribution", None) is not None:
        csp = record.contribution.csp_id
    return csp


def decide(user, action: str, record=None) -> Decision:
    rule = RULES[action]  # a KeyError here is a typo in the caller: fail loudly
    if user is None or not getattr(user, "is_authenticated", False):
        return Decision(False, 401, "Sign in to continue", "signed_out")
    if user.role not in rule.roles:
        return Decision(False, 403, role_reason(rule.roles), "role")
    if record is None:
        return ALLOWED
    if _tenant_of(record) != user.lead_bidder_id:
        return Decision(False, 404, "Not found", "scope")
    owner = getattr(record, "owner_id", None)
    if owner is not None:
        # A person's own record (a notification): nobody else's, whatever their role or CSP.
        if owner != user.id:
            return Decision(False, 404, "Not found", "scope")
    elif user.is_csp:
        csp = _csp_of(record)
        if csp is None or csp != user.organisation_id:
            return Decision(False, 404, "Not found", "scope")
    if rule.state is not None:
        reason = rule.state(user, record)
        if reason:
            return Decision(False, 403, reason, "state")
    return ALLOWED


def can(user, action: str, record=None) -> bool:
    return decide(user, action, record).allowed


def why_not(user, action: str, record=None) -> str | None:
    return decide(user, action, record).reason


def state_reason(action: str, record) -> str | None:
    """Why the record's life-cycle state does not allow the action (whoever asks), or None."""
    rule = RULES[action]
    return rule.state(None, record) if rule.state is not None else None


def require(user, action: str, record=None) -> None:
    """Services call this before they change anything: raises NotAllowed with the reason."""
    decision = decide(user, action, record)
    if not decision:
        raise NotAllowed(decision.reason or ROLE_REASON, decision.status, action, decision.kind)


def authorise(action: str, record=None, user=None):
    """Routes call this once they have loaded the record: 404 for another tenant's or CSP's record,
    403 for a role that may not, 403 with the reason when the record's state does not allow it."""
    decision = decide(user or current_user, action, record)
    if decision.status == 401:
        abort(401)
    if not decision:
        raise NotAllowed(decision.reason or ROLE_REASON, decision.status, action, decision.kind)
    return record


def redirect_unless(action: str, record, url: str, user=None):
    """For pages that answer a refused state with a message on the page they came from: None when
    allowed; else a redirect to `url` with the rulebook's reason flashed. Other refusals as authorise."""
    from flask import flash, redirect

    decision = decide(user or current_user, action, record)
    if decision:
        return None
    if decision.kind != "state":
        authorise(action, record, user)
    flash(decision.reason, "info")
    return redirect(url)


def rule_required(action: str):
    """Route decorator: signed in (else the sign-in page), with a role the action allows (else 403)."""
    rule = RULES[action]

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in rule.roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = rule.roles
        wrapped.action = action
        return wrapped

    return decorator


def roles_required(roles: frozenset):
    """Signed-in users with one of these roles (for pages that are about the user, not a record)."""

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


# --- scoped loading: another tenant's (or CSP's) id is a 404 ----------------------------------------

def _load(model, record_id: int, actor: User, action: str | None):
    record = db.session.get(model, record_id)
    if record is None:
        abort(404)
    if _tenant_of(record) != actor.lead_bidder_id:
        abort(404)
    if actor.is_csp:
        csp = _csp_of(record)
        if csp is not None and csp != actor.organisation_id:
            abort(404)
    if action is not None:
        authorise(action, record, actor)
    return record


def get_csp_or_404(actor: User, csp_id: int) -> Organisation:
    csp = _load(Organisation, csp_id, actor, None)
    if csp.kind != OrganisationKind.CSP:
        abort(404)
    return csp


def get_user_or_404(actor: User, user_id: int) -> User:
    return _load(User, user_id, actor, None)


def get_notification_or_404(actor: User, notification_id: int):
    """The person's own notification: anyone else's (even a colleague's) is 404."""
    from app.models import Notification

    return _load(Notification, notification_id, actor, "notifications.mark_read")


def get_round_or_404(actor: User, round_id: int, action: str = "round.view"):
    from app.models import Round

    return _load(Round, round_id, actor, action)


def get_contribution_or_404(actor: User, contribution_id: int, action: str = "contribution.view"):
    """A contribution the user may see: lead bidder users see all of theirs; CSP users only their
    own CSP's, and only once the round is open (before that it is a 404 for them)."""
    from app.models import Contribution

    contribution = _load(Contribution, contribution_id, actor, None)
    if actor.is_csp and contribution.round.status not in lifecycle.VISIBLE_TO_CSPS:
        abort(404)
    if action is not None:
        authorise(action, contribution, actor)
    return contribution


def get_export_or_404(actor: User, export_id: int):
    """An export record the user may see and download. Exports of the collective bid are for lead
    bidder users only (403 for CSP users, as for every page of the bid); a contribution's exports
    are also for that CSP's users (404 for other CSPs); another lead bidder's are 404."""
    from app.models import ExportRecord

    export = db.session.get(ExportRecord, export_id)
    if export is None:
        abort(404)
    if export.contribution_id is None and not actor.is_lead:
        abort(403)
    if export.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    if export.contribution_id is not None:
        get_contribution_or_404(actor, export.contribution_id)
    return export


def get_reminder_or_404(actor: User, rnd, reminder_id: int):
    """A reminder of this round (which the caller has loaded with get_round_or_404)."""
    from app.models import Reminder

    reminder = db.session.get(Reminder, reminder_id)
    if reminder is None or reminder.round_id != rnd.id or reminder.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return reminder


def get_section_or_404(actor: User, rnd, section_id: int):
    """A section of this round's template (the round loaded with get_round_or_404)."""
    section = next((s for s in rnd.sections if s.id == section_id), None)
    if section is None or rnd.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return section


def get_round_contribution_or_404(actor: User, rnd, contribution_id: int):
    """A contribution of this round (the round loaded with get_round_or_404, so for lead bidder users)."""
    contribution = next((c for c in rnd.contributions if c.id == contribution_id), None)
    if contribution is None or rnd.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return contribution


def get_internal_note_or_404(actor: User, contribution, note_id: int, action: str | None = None):
    """An internal note on this contribution (the contribution loaded with get_contribution_or_404):
    a note of another contribution, or of another lead bidder, is a 404."""
    from app.models import InternalNote

    note = db.session.get(InternalNote, note_id)
    if note is None or note.contribution_id != contribution.id or contribution.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    if action is not None:
        authorise(action, note, actor)
    return note


def get_contribution_part_or_404(actor: User, contribution, model, part_id: int):
    """A budget line, outcome, partner or document of this contribution (the contribution loaded with
    get_contribution_or_404): an id from another contribution is a 404."""
    part = db.session.get(model, part_id)
    if part is None or part.contribution_id != contribution.id or contribution.lead_bidder_id != actor.lead_bidder_id:
        abort(404)
    return part


# --- the old questions, now answered by the rulebook (kept so callers read naturally) ---------------

def can_edit_contribution(user: User, contribution) -> bool:
    return can(user, "contribution.edit", contribution)


def can_submit_contribution(user: User, contribution) -> bool:
    return can(user, "contribution.submit", contribution)


def bid_locks_contributions(rnd) -> bool:
    """A signed-off (or later) bid locks every contribution of its round."""
    return rnd.status in lifecycle.BID_LOCKED


def can_create_export_like(user: User, export) -> bool:
    """May make (or try again) an export of the same thing as this one."""
    if export.contribution_id is None:
        return can(user, "bid.export")
    return can(user, "contribution.export", export.contribution)
