"""Changing a round's deadlines: the funder's deadline, the internal deadline for contributions and
the sign-off target, each with a reason, kept in the round's history; everyone in an open round is
emailed; reminders for the old dates are cancelled (app.services.reminders.deadline_moved).

Moving the internal deadline "by the same amount" as the funder's deadline is done on the UK clock:
the funder's deadline moved by so many days and hours of London wall-clock time, and the internal
deadline moves by the same days and hours of London wall-clock time. So "12pm" stays 12pm when the
clocks change between the old and the new date (an elapsed-time shift would make it 11am or 1pm).
A moved time that happens twice (the October repeated hour) is the first one, in BST, as everywhere
else (app.dates.london_to_utc); one that does not exist (the March gap hour) is an hour later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from app.dates import LONDON, TimeError, govuk_datetime, london_to_utc
from app.extensions import db
from app.models import Contribution, DeadlineChange, DeadlineKind, Round, RoundStatus, User
from app.models.base import utcnow
from app.policy import require
from app.services import ServiceError
from app.services.audit import record
from app.services.pages import Page, paginate
from app.urls import absolute_url

# The round's attribute holding each kind of deadline.
ATTRIBUTES = {
    DeadlineKind.FUNDER: "funder_deadline",
    DeadlineKind.INTERNAL: "internal_deadline",
    DeadlineKind.SIGN_OFF: "sign_off_target",
}
# How each is named in a sentence.
NAMES = {
    DeadlineKind.FUNDER: "funder’s deadline",
    DeadlineKind.INTERNAL: "internal deadline",
    DeadlineKind.SIGN_OFF: "sign-off target",
    DeadlineKind.EXTENSION: "extension",
}
REASON_MAX = 500
SET_UP_REASON = "Changed while setting up the round"


@dataclass
class ChangeResult:
    change: DeadlineChange
    moved: DeadlineChange | None = None  # the internal deadline, moved with the funder's
    emailed: list[User] = field(default_factory=list)


def shift_on_uk_clock(value: datetime, old_ref: datetime, new_ref: datetime) -> datetime:
    """`value` moved by the London wall-clock distance from old_ref to new_ref."""
    delta = new_ref.astimezone(LONDON).replace(tzinfo=None) - old_ref.astimezone(LONDON).replace(tzinfo=None)
    wall = value.astimezone(LONDON).replace(tzinfo=None) + delta
    try:
        return london_to_utc(wall.date(), wall.time())
    except TimeError:
        # The March gap hour: 1:30am does not exist, so read it on the clock before the change (GMT),
        # which is 2:30am BST.
        return wall.replace(tzinfo=LONDON).astimezone(UTC)


def change_deadline(
    actor: User,
    rnd: Round,
    kind: DeadlineKind | str,
    new_at: datetime,
    reason: str,
    move_internal: bool = False,
    now: datetime | None = None,
) -> ChangeResult:
    """Change one deadline of the round (lead administrators only), with a reason."""
    kind = DeadlineKind(kind)
    if kind not in ATTRIBUTES:
        raise ServiceError("Choose a deadline to change")
    require(actor, "round.change_deadlines", rnd)
    now = now or utcnow()
    reason = (reason or "").strip()
    name = NAMES[kind]
    current = getattr(rnd, ATTRIBUTES[kind])

    if new_at is None:
        raise ServiceError(f"Enter the new {'sign-off target' if kind == DeadlineKind.SIGN_OFF else 'deadline'}",
                           field="new_date")
    if current is not None and new_at == current:
        raise ServiceError(f"The new {name} must be different from the current one", field="new_date")
    if kind != DeadlineKind.SIGN_OFF and rnd.status == RoundStatus.OPEN and new_at <= now:
        raise ServiceError("The new deadline must be in the future", field="new_date")

    funder, internal = rnd.funder_deadline, rnd.internal_deadline
    if kind == DeadlineKind.FUNDER:
        funder = new_at
        if move_internal:
            internal = shift_on_uk_clock(rnd.internal_deadline, rnd.funder_deadline, new_at)
            if rnd.status == RoundStatus.OPEN and internal <= now:
                raise ServiceError(
                    f"Moving the internal deadline by the same amount would put it in the past "
                    f"({govuk_datetime(internal)}). Change the internal deadline on its own",
                    field="move_internal",
                )
        if internal >= funder:
            raise ServiceError(
                f"The funder’s deadline must be after the internal deadline ({govuk_datetime(internal)}). "
                "Move the internal deadline by the same amount, or change it first",
                field="new_date",
            )
    elif kind == DeadlineKind.INTERNAL:
        internal = new_at
        if internal >= funder:
            raise ServiceError(
                f"The internal deadline must be before the funder’s deadline ({govuk_datetime(funder)})",
                field="new_date",
            )
    else:
        if not internal < new_at < funder:
            raise ServiceError(
                f"The sign-off target must be after the internal deadline ({govuk_datetime(internal)}) "
                f"and before the funder’s deadline ({govuk_datetime(funder)})",
                field="new_date",
            )
    target = rnd.sign_off_target
    if kind != DeadlineKind.SIGN_OFF and target is not None and not internal < target < funder:
        raise ServiceError(
            f"The sign-off target ({govuk_datetime(target)}) must stay between the internal deadline and the "
            "funder’s deadline. Change the sign-off target first",
            field="new_date",
        )
    if kind == DeadlineKind.FUNDER:
        late = [c for c in rnd.contributions if c.extension_until and c.extension_until >= funder]
        if late:
            c = min(late, key=lambda c: c.csp.name)
            raise ServiceError(
                f"{c.csp.name} has an extension to {govuk_datetime(c.extension_until)}, which is not before the "
                "new funder’s deadline. Change their extension first",
                field="new_date",
            )
    if not reason:
        raise ServiceError("Enter the reason for the change", field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(f"Reason must be {REASON_MAX} characters or fewer", field="reason")

    change = _record_change(actor, rnd, kind, current, new_at, reason, now)
    moved = None
    if kind == DeadlineKind.FUNDER and move_internal:
        moved = _record_change(
            actor, rnd, DeadlineKind.INTERNAL, rnd.internal_deadline, internal, reason, now, caused_by=change
        )
        rnd.internal_deadline = internal
    setattr(rnd, ATTRIBUTES[kind], new_at)
    db.session.flush()
    from app.services import reminders  # imported here: reminders may use this module

    reminders.deadline_moved(actor, rnd)
    outcome = ChangeResult(change=change, moved=moved)
    if rnd.status == RoundStatus.OPEN:
        outcome.emailed = _email_everyone(actor, rnd, change, moved)
    return outcome


def _record_change(actor, rnd, kind, old_at, new_at, reason, now, caused_by=None, contribution=None):
    change = DeadlineChange(
        lead_bidder_id=rnd.lead_bidder_id,
        round_id=rnd.id,
        kind=kind,
        contribution_id=contribution.id if contribution is not None else None,
        old_at=old_at,
        new_at=new_at,
        reason=reason,
        caused_by_id=caused_by.id if caused_by is not None else None,
        changed_at=now,
        changed_by_id=actor.id if actor is not None else None,
    )
    db.session.add(change)
    db.session.flush()
    what = NAMES[kind] if contribution is None else f"extension of {contribution.csp.name}"
    old_text = govuk_datetime(old_at) if old_at else "not set"
    record(
        actor,
        "deadline.changed",
        rnd,
        f"Changed the {what} of {rnd.title} from {old_text} to {govuk_datetime(new_at)}: {reason}",
        kind=kind.value,
        change_id=change.id,
        contribution_id=change.contribution_id,
        old=old_at.isoformat() if old_at else None,
        new=new_at.isoformat() if new_at else None,
        reason=reason,
        caused_by_id=change.caused_by_id,
    )
    return change


def record_extension(actor: User, contribution: Contribution, old_at: datetime, new_at: datetime, reason: str):
    """A CSP's extension, kept in the round's history (rounds.grant_extension records it, changes the
    contribution, then calls reminders.deadline_moved)."""
    rnd = contribution.round
    return _record_change(
        actor, rnd, DeadlineKind.EXTENSION, old_at, new_at, reason, utcnow(), contribution=contribution
    )


def record_set_up_change(actor: User, rnd: Round, kind: DeadlineKind, old_at, new_at) -> DeadlineChange:
    """A deadline changed in the round's details form before it opened (nobody is emailed)."""
    return _record_change(actor, rnd, kind, old_at, new_at, SET_UP_REASON, utcnow())


def _email_everyone(
    actor: User, rnd: Round, change: DeadlineChange, moved: DeadlineChange | None
) -> list[User]:
    """Everyone in the round hears of it: each participating CSP's people (with their own
    contribution's deadline and link) and the lead bidder's team; the person who changed it gets
    the same email as a receipt. Returns everyone emailed."""
    from app.models import NotificationKind
    from app.services.notifications import Email, csp_people, link_to, notify, receipt

    changes = [change, *([moved] if moved else [])]
    key = f"deadline-change:{change.id}"
    words = "; ".join(
        f"the {NAMES[c.kind]} is now {govuk_datetime(c.new_at)}" for c in changes
    )
    summary = f"{rnd.lead_bidder.display_name} changed a deadline of {rnd.title}: {words[0].upper()}{words[1:]}"
    context = {
        "round": rnd,
        "change": change,
        "changes": [(NAMES[c.kind], c.old_at, c.new_at) for c in changes],
        "title": NAMES[change.kind],
        "reason": change.reason,
    }
    emailed: list[User] = []
    for contribution in sorted(rnd.contributions, key=lambda c: c.id):
        people = csp_people(contribution.csp_id)
        notify(
            NotificationKind.DEADLINE_CHANGED,
            people,
            summary=summary,
            link=link_to("contributions.task_list", contribution_id=contribution.id),
            event_key=key,
            lead_bidder_id=rnd.lead_bidder_id,
            actor=actor,
            round=rnd,
            email=Email("deadline_changed", {
                **context, "contribution": contribution,
                "link": absolute_url("contributions.task_list", contribution_id=contribution.id),
            }),
        )
        emailed += people
    lead_email = Email("deadline_changed", {
        **context, "contribution": None, "link": absolute_url("deadlines.index", round_id=rnd.id),
    })
    team = lead_team(rnd.lead_bidder_id)
    notify(
        NotificationKind.DEADLINE_CHANGED,
        team,
        summary=summary,
        link=link_to("deadlines.index", round_id=rnd.id),
        event_key=key,
        lead_bidder_id=rnd.lead_bidder_id,
        actor=actor,
        round=rnd,
        email=lead_email,
    )
    if actor is not None and actor.lead_bidder_id == rnd.lead_bidder_id and actor.is_lead:
        receipt(actor, lead_email, key, rnd.lead_bidder_id)
    return emailed + team


def lead_team(lead_bidder_id: int) -> list[User]:
    """Everyone at the lead bidder who has signed up: administrators, staff and read-only viewers."""
    from app.models import LEAD_ROLES
    from app.services.notifications import lead_people

    return lead_people(lead_bidder_id, roles=tuple(LEAD_ROLES))


def history(rnd: Round, page=1) -> Page[DeadlineChange]:
    """One page of the changes of the round's deadlines, newest first."""
    return paginate(
        select(DeadlineChange)
        .where(DeadlineChange.round_id == rnd.id)
        .order_by(DeadlineChange.changed_at.desc(), DeadlineChange.id.desc()),
        page,
    )


# --- the deadlines page ---------------------------------------------------------------------------


@dataclass
class Milestone:
    label: str
    at: datetime
    kind: str  # opened / internal / sign_off / funder / today
    today: bool = False

    def passed(self, now: datetime) -> bool:
        return self.at <= now


def milestones(rnd: Round, now: datetime | None = None) -> list[Milestone]:
    """The round's milestones in date order, with today placed among them."""
    now = now or utcnow()
    items = []
    if rnd.opened_at:
        items.append(Milestone("Round opened", rnd.opened_at, "opened"))
    items.append(Milestone("Internal deadline for contributions", rnd.internal_deadline, "internal"))
    if rnd.sign_off_target:
        items.append(Milestone("Sign-off target", rnd.sign_off_target, "sign_off"))
    items.append(Milestone("Funder’s deadline", rnd.funder_deadline, "funder"))
    items.append(Milestone("Today", now, "today", today=True))
    # Today goes after a milestone at the same moment (it has just passed).
    return sorted(items, key=lambda m: (m.at, m.today))


@dataclass
class CspRow:
    contribution: Contribution
    deadline: datetime
    extended: bool
    on_time: bool | None  # None until submitted


def csp_rows(rnd: Round) -> list[CspRow]:
    from app.services.rounds import contributions_by_csp

    rows = []
    for c in contributions_by_csp(rnd):
        extended = bool(c.extension_until and c.extension_until > rnd.internal_deadline)
        on_time = None if c.submitted_at is None else c.submitted_at <= c.deadline
        rows.append(CspRow(c, c.deadline, extended, on_time))
    return rows
