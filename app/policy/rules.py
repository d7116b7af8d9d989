"""The rulebook: every action anyone can take, as one named rule.

A rule combines four questions, always asked in this order:
1. the role: is the user's role one of the rule's roles? (refused: 403)
2. the tenant: does the record belong to the user's lead bidder? (refused: 404, revealing nothing)
3. the CSP: a CSP user acts only on their own CSP's records (refused: 404); a record that is
   one person's own (a notification: `owner_id`) is theirs alone, whoever asks (refused: 404)
4. the state: does the record's life cycle allow it now? (refused: 403, with the reason in words)

Routes ask through `authorise()` (app/policy/__init__.py), services through `require()`, so the
command line obeys the same rules; templates and navigation ask `can()`. To add a rule, add one
line to RULES below (and the access test in tests/ will then expect it to be exercised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.models.user import (
    ALL_ROLES,
    CSP_MANAGERS,
    CSP_ROLES,
    LEAD_ADMINS,
    LEAD_EDITORS,
    LEAD_ROLES,
    TWO_FACTOR_ROLES,
    Role,
)
from app.policy import lifecycle as lc

# A state check returns None when the action is allowed, or the reason it is not.
StateCheck = Callable[[object, object], str | None]


@dataclass(frozen=True)
class Rule:
    action: str
    roles: frozenset
    description: str
    state: StateCheck | None = None


# --- the records' life-cycle states, read the same way for every rule ------------------------------

def round_of(record):
    """The round a record belongs to (a round, a contribution, a bid, a merged section ...)."""
    from app.models import CollectiveBid, Contribution, MergedSection, Round

    if isinstance(record, Round):
        return record
    if isinstance(record, Contribution | CollectiveBid):
        return record.round
    if isinstance(record, MergedSection):
        return record.bid.round
    return getattr(record, "round", None)


_LOCKED_WORDS = {
    lc.R.SIGNED_OFF: "been signed off",
    lc.R.SUBMITTED: "been submitted to the funder",
    lc.R.OUTCOME: "been submitted to the funder and its outcome recorded",
    lc.R.ARCHIVED: "been archived",
}


def _locked_reason(rnd) -> str:
    return (
        f"The bid has {_LOCKED_WORDS.get(rnd.status, 'been signed off')}, so it cannot be changed"
        + (" unless an administrator reopens it" if lc.allows(lc.ROUND, "reopen_bid", rnd.status) else "")
    )


def _round_in(states: frozenset, why: Callable[[object], str]) -> StateCheck:
    def check(user, record):
        rnd = round_of(record)
        if rnd is None or rnd.status in states:
            return None
        return why(rnd)

    return check


def _round_transition(action: str) -> StateCheck:
    def check(user, record):
        rnd = round_of(record)
        if lc.allows(lc.ROUND, action, rnd.status):
            return None
        return lc.ROUND[action].refused

    return check


def _setup_changeable(rnd) -> str:
    if rnd.status in lc.BID_LOCKED:
        return _locked_reason(rnd)
    return f"The round is {rnd.status.label.lower()}, so it cannot be changed"


setup_changeable = _round_in(lc.ROUND_SETUP_CHANGEABLE, _setup_changeable)
sections_importable = _round_in(
    lc.SECTIONS_IMPORTABLE,
    lambda rnd: _locked_reason(rnd) if rnd.status in lc.BID_LOCKED
    else f"The round is {rnd.status.label.lower()}, so sections can no longer be added from the funder's form. "
    "Add or change them one at a time",
)
participants_changeable = _round_in(
    lc.PARTICIPANTS_CHANGEABLE,
    lambda rnd: _locked_reason(rnd) if rnd.status in lc.BID_LOCKED
    else "Contributions are closed, so the CSPs taking part cannot be changed",
)
bid_changeable = _round_in(lc.BID_CHANGEABLE, _locked_reason)


def _contributions_open(rnd) -> str:
    if rnd.status in lc.BID_LOCKED:
        return (
            f"{rnd.lead_bidder.display_name} has signed off the collective bid, so contributions cannot be "
            "changed unless it is reopened"
        )
    if rnd.status == lc.R.DRAFT:
        return "This round has not opened yet"
    return "This round is closed, so contributions cannot be changed"


def contribution_editable(user, contribution) -> str | None:
    """The CSP holds it (not submitted, or sent back) and the round is open for contributions."""
    reason = _round_in(lc.CONTRIBUTIONS_OPEN, _contributions_open)(user, contribution)
    if reason:
        return reason
    if contribution.status.csp_can_edit:
        return None
    lead = contribution.round.lead_bidder.display_name
    if contribution.status == lc.C.EXCLUDED:
        return "This contribution has been excluded from the bid, so it cannot be changed"
    return f"This contribution was submitted, so it cannot be changed unless {lead} sends it back"


def visible_to_csps(user, contribution) -> str | None:
    if user is not None and user.is_csp and contribution.round.status not in lc.VISIBLE_TO_CSPS:
        return "This round has not opened yet"
    return None


def _contribution_transition(action: str, rounds: frozenset, round_reason: Callable) -> StateCheck:
    def check(user, contribution):
        reason = _round_in(rounds, round_reason)(user, contribution)
        if reason:
            return reason
        if lc.allows(lc.CONTRIBUTION, action, contribution.status):
            return None
        return f"{lc.CONTRIBUTION[action].refused}. This one is {contribution.status.label.lower()}"

    return check


def _review_round(rnd) -> str:
    if rnd.status in lc.BID_LOCKED:
        return _locked_reason(rnd)
    return "The round is not open, so contributions cannot be reviewed"


def _changes_round(rnd) -> str:
    if rnd.status in lc.BID_LOCKED:
        return _locked_reason(rnd)
    return "Contributions are closed, so the CSP could not make changes. Reopen contributions first"


def _section_transition(action: str) -> StateCheck:
    def check(user, merged):
        reason = bid_changeable(user, merged)
        if reason:
            return reason
        if lc.allows(lc.SECTION, action, merged.state):
            return None
        return lc.SECTION[action].refused

    return check


def _reminders_round(rnd) -> str:
    if rnd.status in lc.BID_LOCKED:
        return _locked_reason(rnd)
    if rnd.status == lc.R.DRAFT:
        return "This round has not opened yet, so CSPs cannot be reminded"
    return "Contributions are closed, so CSPs are no longer reminded"


reminders_round = _round_in(lc.CSP_REMINDERS, _reminders_round)


def contribution_remindable(user, contribution) -> str | None:
    """The round is open for contributions and the CSP still holds the contribution."""
    reason = reminders_round(user, contribution)
    if reason:
        return reason
    if contribution.status.csp_can_edit:
        return None
    return (
        "You can only remind a CSP that has not submitted its contribution or has changes to make. "
        f"This one is {contribution.status.label.lower()}"
    )


def merged_text_changeable(user, merged) -> str | None:
    reason = bid_changeable(user, merged)
    if reason:
        return reason
    if merged is not None and merged.state == lc.SectionState.FINAL:
        return "This section has been marked as final. Mark it as a draft to change it"
    return None


def _notes_open(rnd) -> str:
    return "The round has been archived, so internal notes cannot be added or deleted unless it is restored"


internal_notes_open = _round_in(lc.INTERNAL_NOTES_OPEN, _notes_open)


def internal_note_deletable(user, note) -> str | None:
    """The note's own author, while its contribution's round is not archived."""
    reason = internal_notes_open(user, note.contribution)
    if reason:
        return reason
    if user is not None and note.author_id != user.id:
        return "You can only delete internal notes you wrote"
    return None


def section_assignable(user, record) -> str | None:
    """A merged section can be given to someone while the bid can be changed (the round, bid or
    merged section named), and not once the section is marked as final."""
    reason = bid_changeable(user, record)
    if reason:
        return reason
    if getattr(record, "state", None) == lc.SectionState.FINAL:
        return "This section has been marked as final. Mark it as a draft to give it to someone"
    return None


def two_factor_required(user) -> bool:
    """Whether this person must sign in with a second factor: lead bidder administrators and staff
    always; anyone at a CSP whose administrator has required it. Until they have set it up, they
    can do nothing else (app/auth/gate.py)."""
    return user.role in TWO_FACTOR_ROLES or bool(user.organisation.two_factor_required)


def _not_yourself(words: str) -> StateCheck:
    return lambda user, person: words if user is not None and person.id == user.id else None


# --- people: who manages whose account ------------------------------------------------------------

@dataclass(frozen=True)
class Placement:
    """A role at an organisation that someone is about to be given (an invitation, a change of
    role): the record the rules on giving roles are asked about. Its lead bidder and CSP are read
    as a person's are, so giving a role at another CSP is refused as acting on that CSP's record."""

    organisation: object  # an Organisation
    role: Role

    @property
    def lead_bidder_id(self) -> int:
        return self.organisation.tenant_id

    @property
    def csp_id(self) -> int | None:
        return None if self.organisation.is_lead_bidder else self.organisation.id


# A CSP manager runs their CSP's team: roles at a CSP, never above their own.
_CSP_RANK = {Role.CSP_CONTRIBUTOR: 1, Role.CSP_MANAGER: 2}


def csp_role_givable(user, record) -> str | None:
    """The role of a Placement (or of a person being invited again) is one a CSP manager may give."""
    if record.role not in _CSP_RANK:
        return "Choose CSP manager or CSP contributor"
    if user is not None and _CSP_RANK[record.role] > _CSP_RANK.get(user.role, 0):
        return "You cannot give someone a role above your own"
    return None


def team_member(doing: str, yourself: str) -> StateCheck:
    """A person a CSP manager may act on: a contributor of their CSP (the CSP is checked before any
    state), not themselves. Other managers of the CSP are the lead bidder administrator's to change
    or deactivate, so a CSP can never lock out its own managers. A Placement (the role someone is
    to be given) is checked by csp_role_givable."""

    def check(user, record):
        if isinstance(record, Placement):
            return csp_role_givable(user, record)
        if user is not None and record.id == user.id:
            return yourself
        if record.role != Role.CSP_CONTRIBUTOR:
            return f"Only a lead bidder administrator can {doing} a CSP manager's account"
        return None

    return check


# Managing people, by the actor's side: a lead bidder administrator manages everyone at their lead
# bidder (the admin pages), a CSP manager their own CSP's team (the team pages). The accounts
# service requires the actor's rule for each verb, so both sets of pages call the same services.
PEOPLE_RULES = {
    "invite": ("organisation.manage", "team.invite"),
    "change": ("organisation.manage", "team.change"),
    "deactivate": ("user.deactivate", "team.deactivate"),
    "reactivate": ("organisation.manage", "team.reactivate"),
}


def people_rule(actor, verb: str) -> str:
    lead_rule, team_rule = PEOPLE_RULES[verb]
    return team_rule if actor is not None and actor.is_csp else lead_rule


funder_form_changeable = _round_in(
    frozenset(set(lc.R) - lc.WITH_FUNDER),
    lambda rnd: f"The bid has {_LOCKED_WORDS.get(rnd.status, 'been submitted to the funder')}, "
    "so the funder’s form cannot be changed",
)


# --- the rules ------------------------------------------------------------------------------------

_RULES = [
    # organisation, people (record: the lead bidder's Organisation / a CSP / a User)
    Rule("organisation.view", LEAD_ROLES, "See the lead bidder's organisation, CSPs and people"),
    Rule("organisation.manage", LEAD_ADMINS, "Add, change, deactivate and reactivate CSPs and users"),
    Rule("organisation.export_activity", LEAD_ADMINS, "Download the lead bidder's audit trail as a CSV file"),
    Rule("user.deactivate", LEAD_ADMINS, "Deactivate someone's account (never your own)",
         lambda user, person: "You cannot deactivate your own account"
         if user is not None and person.id == user.id else None),
    # a CSP's own team (record: a person of the CSP, or the Placement of a role being given there)
    Rule("team.view", CSP_MANAGERS, "See the people of your own CSP, their roles and whether they have signed up"),
    Rule("team.invite", CSP_MANAGERS,
         "Invite someone to your own CSP as a CSP contributor or manager (or send a new invitation)",
         csp_role_givable),
    Rule("team.change", CSP_MANAGERS, "Change the name, job title and role of a contributor of your own CSP",
         team_member("change", "You cannot change your own role. Ask a lead bidder administrator")),
    Rule("team.deactivate", CSP_MANAGERS, "Deactivate a contributor of your own CSP (never yourself or a manager)",
         team_member("deactivate", "You cannot deactivate your own account")),
    Rule("team.reactivate", CSP_MANAGERS, "Reactivate a deactivated contributor of your own CSP",
         team_member("reactivate", "You cannot reactivate your own account")),
    Rule("account.use", ALL_ROLES, "Use your own account: password, calendar address"),
    Rule("account.two_factor", ALL_ROLES, "Set up your own two-factor sign-in, make new recovery codes"),
    Rule("account.turn_off_two_factor", ALL_ROLES,
         "Turn off your own two-factor sign-in (refused by the service while it is required of you)"),
    Rule("account.end_other_sessions", ALL_ROLES, "Sign out your other browsers and devices"),
    Rule("account.email_preferences", ALL_ROLES,
         "Choose how you get notification emails (at once, a daily summary or off), and as a CSP contributor "
         "whether you get what your CSP's managers get"),
    Rule("user.reset_two_factor", LEAD_ADMINS,
         "Reset someone's two-factor sign-in (they set it up again at their next sign-in)",
         _not_yourself("You cannot reset your own two-factor sign-in. Ask another administrator")),
    Rule("csp.require_two_factor", LEAD_ADMINS, "Require (or stop requiring) two-factor sign-in of a CSP's users"),
    Rule("account.stay_signed_in", ALL_ROLES, "Keep your own session going when warned it will time out"),
    Rule("account.discard_draft", ALL_ROLES, "Discard what was kept for you when your session ended"),
    # search (no record: each result is scoped as its own record's view rule says, app/services/search.py)
    Rule("search.use", ALL_ROLES, "Search the rounds, contributions, sections, comments and documents you can see"),
    # What's new (record: Notification, one person's own: anyone else is answered "not found")
    Rule("notifications.view", ALL_ROLES, "See your own notifications on What's new"),
    Rule("notifications.mark_read", ALL_ROLES, "Open your own notification, or mark all of yours as read"),
    # rounds (record: Round)
    Rule("round.view", LEAD_ROLES, "See a round, its deadlines, review overview and collective bid"),
    Rule("round.create", LEAD_ADMINS, "Set up a new funding round"),
    Rule("round.change_setup", LEAD_ADMINS, "Change a round's details, template of sections and budget rules",
         setup_changeable),
    Rule("round.import_sections", LEAD_ADMINS,
         "Add sections from the funder's application form (.docx), or replace the round's sections with them, "
         "while the round is a draft", sections_importable),
    Rule("round.change_participants", LEAD_ADMINS, "Choose the CSPs taking part and their managers",
         participants_changeable),
    Rule("round.change_deadlines", LEAD_ADMINS, "Change the funder's or internal deadline or the sign-off target",
         setup_changeable),
    Rule("round.grant_extension", LEAD_ADMINS, "Give one CSP a later deadline",
         _round_in(lc.CONTRIBUTIONS_OPEN, lambda rnd: _setup_changeable(rnd) if rnd.status in lc.BID_LOCKED
                   else "Extensions can be given only while the round is open for contributions")),
    Rule("round.open", LEAD_ADMINS, "Open the round: the CSPs' people are emailed", _round_transition("open")),
    Rule("round.close", LEAD_ADMINS, "Close the round for contributions", _round_transition("close")),
    Rule("round.reopen_contributions", LEAD_ADMINS, "Open a closed round for contributions again",
         _round_transition("reopen_contributions")),
    Rule("round.record_outcome", LEAD_ADMINS, "Record the funder's decision on the bid",
         _round_transition("record_outcome")),
    Rule("round.archive", LEAD_ADMINS, "Archive a round whose outcome is recorded", _round_transition("archive")),
    Rule("round.restore", LEAD_ADMINS, "Bring an archived round back", _round_transition("restore")),
    Rule("round.manage_reminders", LEAD_ADMINS, "See and change a round's reminders, send one again"),
    Rule("round.accept_contributions", LEAD_EDITORS,
         "Accept several of a round's contributions at once (each one is contribution.accept's)",
         _round_in(lc.REVIEWABLE, _review_round)),
    Rule("round.remind_contributions", LEAD_EDITORS,
         "Send the CSPs of several contributions a reminder now (each one is contribution.remind's)",
         reminders_round),
    # contributions (record: Contribution)
    Rule("contribution.view", ALL_ROLES, "See a contribution (lead bidder users, and its own CSP's users)",
         visible_to_csps),
    Rule("contribution.edit", CSP_ROLES, "Write the contribution's sections, budget, outcomes, partners, documents",
         contribution_editable),
    Rule("contribution.import_budget", CSP_ROLES,
         "Download the budget as an Excel template, and import budget lines from it (adding them, or "
         "replacing every line)", contribution_editable),
    Rule("contribution.import_draft", CSP_ROLES,
         "Import a Word draft into the contribution's sections (each a new revision, as writing them is)",
         contribution_editable),
    Rule("contribution.draft_template", CSP_ROLES,
         "Download a Word template of the contribution's sections to draft in, while it can be changed",
         contribution_editable),
    Rule("contribution.submit", CSP_MANAGERS, "Submit (or resubmit) the contribution to the lead bidder",
         contribution_editable),
    Rule("contribution.comment", LEAD_EDITORS | CSP_ROLES, "Comment on a contribution", visible_to_csps),
    Rule("contribution.review", LEAD_EDITORS, "See the review actions for a contribution"),
    Rule("contribution.request_changes", LEAD_EDITORS, "Send a contribution back to its CSP for changes",
         _contribution_transition("request_changes", lc.CONTRIBUTIONS_OPEN, _changes_round)),
    Rule("contribution.accept", LEAD_EDITORS, "Accept a contribution into the bid",
         _contribution_transition("accept", lc.REVIEWABLE, _review_round)),
    Rule("contribution.exclude", LEAD_EDITORS, "Exclude a contribution from the bid, with a reason",
         _contribution_transition("exclude", lc.REVIEWABLE, _review_round)),
    Rule("contribution.include", LEAD_EDITORS, "Include an excluded contribution again",
         _contribution_transition("include", lc.REVIEWABLE, _review_round)),
    Rule("contribution.see_changes", LEAD_ROLES,
         "See what a CSP changed since the lead bidder asked for changes (CSPs have their own history)"),
    Rule("contribution.remind", LEAD_EDITORS, "Send a contribution's CSP a reminder now", contribution_remindable),
    Rule("contribution.export", LEAD_EDITORS | CSP_ROLES, "Make a Word or PDF file of a contribution",
         visible_to_csps),
    # internal notes: the lead bidder's own, never shown to CSPs (record: Contribution, or InternalNote)
    Rule("contribution.view_internal_notes", LEAD_ROLES, "Read the lead bidder's internal notes on a contribution"),
    Rule("contribution.add_internal_note", LEAD_EDITORS,
         "Add an internal note on a contribution or one of its sections", internal_notes_open),
    Rule("internal_note.delete", LEAD_EDITORS, "Delete an internal note you wrote", internal_note_deletable),
    Rule("contribution.assign", CSP_MANAGERS,
         "Give an item of the contribution to a colleague of the CSP (or take it back), with a due date",
         contribution_editable),
    # the collective bid (record: Round, CollectiveBid or MergedSection)
    Rule("bid.view_whole", LEAD_ROLES, "Read the whole collective bid on one page, and print it"),
    Rule("bid.edit", LEAD_EDITORS, "Merge sections, order contributions, change lead-held budget lines",
         bid_changeable),
    Rule("bid.edit_text", LEAD_EDITORS, "Change a merged section's text", merged_text_changeable),
    Rule("bid.mark_section_final", LEAD_EDITORS, "Mark a merged section as final", _section_transition("mark_final")),
    Rule("bid.mark_section_draft", LEAD_EDITORS, "Mark a final section as a draft again",
         _section_transition("mark_draft")),
    Rule("bid.sign_off", LEAD_ADMINS, "Sign the bid off (every readiness check must pass)",
         _round_transition("sign_off")),
    Rule("bid.mark_submitted", LEAD_ADMINS, "Record that the bid went to the funder",
         _round_transition("mark_submitted")),
    Rule("bid.reopen", LEAD_ADMINS, "Reopen a signed-off or submitted bid, with a reason",
         _round_transition("reopen_bid")),
    Rule("bid.export", LEAD_EDITORS, "Make Word, PDF, Excel, CSV and ZIP files of the bid"),
    # the funder's own application form (record: Round): export configuration, not bid content, so a
    # signed-off bid does not lock it (a corrected form can still be put in before the bid goes);
    # once the bid has gone to the funder, the form it went in stays as it was
    Rule("round.manage_funder_form", LEAD_ADMINS,
         "Upload, replace or remove the funder's Word application form that the bid can be exported into",
         funder_form_changeable),
    Rule("round.download_funder_form", LEAD_ROLES, "Download the funder's application form as it was uploaded"),
    Rule("bid.assign", LEAD_EDITORS,
         "Give a merged section of the bid to a lead bidder colleague (or take it back), with a due date",
         section_assignable),
    # tasks (record: none: the signed-in person's own)
    Rule("tasks.view", ALL_ROLES, "See the items given to you, across your organisation's rounds"),
]

RULES: dict[str, Rule] = {r.action: r for r in _RULES}
if len(RULES) != len(_RULES):  # checked even under python -O, which drops asserts
    raise RuntimeError("an action is named twice in the rulebook")
