"""The life cycles: every state of a round (and its bid), a contribution and a merged section, the
transitions allowed between them, and the groups of states that other rules ask about.

This is the only place a transition is written. Services move a record with `move(...)`, which
refuses a transition that is not listed here; pages, emails, exports and counts ask the groups
below (for example `countdown_to_internal(round)`) rather than comparing states themselves.

Round (and its collective bid, whose status is read from the round):

    draft ─open─► open ─close─► closed ─sign_off─► signed_off ─mark_submitted─► submitted
                   ▲  └─────────sign_off──────────────▲   │                        │
                   └──reopen_contributions── closed   └──reopen_bid (back to open or closed,
                                                          where it was before sign-off)────┘
    submitted ─record_outcome─► outcome ─archive─► archived ─restore─► outcome

Contribution:

    not_started ─start─► in_progress ─submit─► submitted ─accept─► accepted
    submitted / resubmitted / accepted ─request_changes─► changes_requested ─resubmit─► resubmitted
    any but excluded ─exclude─► excluded ─include─► (where it was: changes requested, submitted,
    resubmitted or in progress)

Merged section of the collective bid: draft ─mark_final─► final ─mark_draft─► draft
"""

from __future__ import annotations

from dataclasses import dataclass

from app.models.bid import SectionState
from app.models.contribution import ContributionStatus as C
from app.models.round import RoundStatus as R


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset
    target: object | None  # None: the service decides (include again returns to where it was)
    refused: str  # what the user is told when the record is in another state


def _t(action, sources, target, refused):
    return Transition(action, frozenset(sources), target, refused)


ROUND = {
    t.action: t
    for t in [
        _t("open", {R.DRAFT}, R.OPEN, "The round is already open"),
        _t("close", {R.OPEN}, R.CLOSED, "Only an open round can be closed for contributions"),
        _t("reopen_contributions", {R.CLOSED}, R.OPEN,
           "Contributions can be reopened only when they have been closed and the bid is not signed off"),
        _t("sign_off", {R.OPEN, R.CLOSED}, R.SIGNED_OFF, "The bid has already been signed off"),
        _t("mark_submitted", {R.SIGNED_OFF}, R.SUBMITTED,
           "The bid must be signed off, and not yet submitted, to be marked as submitted"),
        _t("reopen_bid", {R.SIGNED_OFF, R.SUBMITTED}, None,
           "Only a signed-off bid, or one submitted with no outcome yet, can be reopened"),
        _t("record_outcome", {R.SUBMITTED}, R.OUTCOME,
           "The outcome can be recorded once the bid has been submitted to the funder"),
        _t("archive", {R.OUTCOME}, R.ARCHIVED, "A round is archived once its outcome is recorded"),
        _t("restore", {R.ARCHIVED}, R.OUTCOME, "Only an archived round can be restored"),
    ]
}

CONTRIBUTION = {
    t.action: t
    for t in [
        _t("start", {C.NOT_STARTED}, C.IN_PROGRESS, "The contribution has already been started"),
        _t("submit", {C.NOT_STARTED, C.IN_PROGRESS}, C.SUBMITTED, "The contribution has already been submitted"),
        _t("resubmit", {C.CHANGES_REQUESTED}, C.RESUBMITTED, "No changes have been asked for"),
        _t("request_changes", {C.SUBMITTED, C.RESUBMITTED, C.ACCEPTED}, C.CHANGES_REQUESTED,
           "You can only ask for changes to a contribution that has been submitted"),
        _t("accept", {C.SUBMITTED, C.RESUBMITTED}, C.ACCEPTED,
           "You can only accept a contribution that has been submitted and is waiting for review"),
        _t("exclude", set(C) - {C.EXCLUDED}, C.EXCLUDED, "The contribution has already been excluded"),
        _t("include", {C.EXCLUDED}, None, "The contribution is not excluded"),
    ]
}

SECTION = {
    t.action: t
    for t in [
        _t("mark_final", {SectionState.DRAFT}, SectionState.FINAL, "The section is already final"),
        _t("mark_draft", {SectionState.FINAL}, SectionState.DRAFT, "The section is already a draft"),
    ]
}


def allows(machine: dict, action: str, state) -> bool:
    return state in machine[action].sources


def target(machine: dict, action: str):
    return machine[action].target


# --- groups of round states that the other rules ask about ----------------------------------------

# The round's set-up (details, template, budget rules, deadlines) can change until the bid is signed
# off; after that it is locked until the bid is reopened.
ROUND_SETUP_CHANGEABLE = frozenset({R.DRAFT, R.OPEN, R.CLOSED})
# A round's sections can be brought in from the funder's application form (added, or replacing the
# ones it has) only while it is being set up: no CSP has been asked to write to them yet.
SECTIONS_IMPORTABLE = frozenset({R.DRAFT})
# CSPs taking part can be chosen while the round is being set up or open.
PARTICIPANTS_CHANGEABLE = frozenset({R.DRAFT, R.OPEN})
# CSPs see their contributions from the moment the round opens.
VISIBLE_TO_CSPS = frozenset(set(R) - {R.DRAFT})
# CSPs write and submit only while the round is open for contributions.
CONTRIBUTIONS_OPEN = frozenset({R.OPEN})
# The lead reviews (accepts, excludes, includes again) until the bid is signed off.
REVIEWABLE = frozenset({R.OPEN, R.CLOSED})
# The collective bid (merged text, merge order, lead-held lines, final sections) can change until sign-off.
BID_CHANGEABLE = frozenset({R.DRAFT, R.OPEN, R.CLOSED})
# The lead bidder's internal notes on contributions can be added (and their authors' deleted) in every
# state but archived: a note is the lead's working record, not part of the bid, so sign-off does not lock it.
INTERNAL_NOTES_OPEN = frozenset(set(R) - {R.ARCHIVED})
# A signed-off or later bid locks everything in it.
BID_LOCKED = frozenset({R.SIGNED_OFF, R.SUBMITTED, R.OUTCOME, R.ARCHIVED})
# The bid has gone to the funder.
WITH_FUNDER = frozenset({R.SUBMITTED, R.OUTCOME, R.ARCHIVED})
# Reminders: CSPs while contributions are open; the lead until the bid has gone to the funder.
CSP_REMINDERS = CONTRIBUTIONS_OPEN
LEAD_REMINDERS = frozenset({R.OPEN, R.CLOSED, R.SIGNED_OFF})
# Rounds whose deadlines belong in people's calendars.
IN_CALENDARS = frozenset({R.OPEN, R.CLOSED, R.SIGNED_OFF})


def countdown_to_internal(rnd) -> bool:
    """Show a countdown to the internal deadline: only while CSPs can still contribute."""
    return rnd.status in CONTRIBUTIONS_OPEN


def countdown_to_funder(rnd) -> bool:
    """Show a countdown to the funder's deadline: until the bid has gone to the funder."""
    return rnd.status in (R.DRAFT, R.OPEN, R.CLOSED, R.SIGNED_OFF)


def countdown_to_sign_off(rnd) -> bool:
    """Show a countdown to the sign-off target: while the bid is being put together."""
    return rnd.status in BID_CHANGEABLE and rnd.status != R.DRAFT


def countdown_to_contribution(contribution) -> bool:
    """A CSP's own countdown: while the round is open and the CSP still holds the contribution."""
    return contribution.round.status in CONTRIBUTIONS_OPEN and contribution.status.csp_can_edit
