"""Assignments: who has each part of the work, and by when.

- A CSP manager gives each item of their CSP's contribution (a narrative section, the budget,
  outcomes, partners or documents: the task keys of app.services.contributions.tasks()) to a
  colleague of their own CSP: an active CSP manager or contributor of that CSP, nobody else. The
  due date is optional and on or before the CSP's own deadline (its extension, if it has one).
  Allowed while the CSP holds the contribution (the rulebook's "contribution.assign").
- A lead bidder administrator or member of staff gives each merged section of the collective bid
  to an active administrator or member of staff of the same lead bidder, due on or before the
  funder's deadline, while the bid can be changed ("bid.assign").
- One assignment per item: assigning again replaces it. Every assign and unassign is audited.
  Nobody is emailed here: the services return the assignment (a notification can be added by the
  caller in one line). Reminders follow each due date: app.services.reminders (task_slots).
- A deactivated assignee keeps the item (pages say "(name) – account deactivated" so that the
  manager gives it to someone else); nobody is reminded of it until it is.

"Open" (Your tasks, the navigation's count, reminders): the item is not completed and can still be
changed: a CSP item while the round is open for contributions and the CSP holds the contribution;
a merged section while the bid can be changed and the section is not marked as final.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from sqlalchemy import and_, case, false, func, not_, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import contains_eager, joinedload

from app.dates import LONDON, govuk_date
from app.extensions import db
from app.models import (
    CSP_ROLES,
    LEAD_EDITORS,
    Assignment,
    CollectiveBid,
    Contribution,
    MergedSection,
    Organisation,
    Round,
    SectionResponse,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.models.bid import SectionState
from app.models.contribution import CSP_HOLDS
from app.policy import lifecycle, require
from app.services import ServiceError, insert_for_dialect
from app.services.audit import record
from app.services.pages import Page, paginate

log = logging.getLogger(__name__)


# --- dates ---------------------------------------------------------------------------------------


def today(now: datetime | None = None) -> date:
    """Today's date in the UK."""
    return (now or utcnow()).astimezone(LONDON).date()


def last_day(deadline: datetime) -> date:
    """The last UK date on which work is still before the deadline (a deadline at midnight ends the
    day before)."""
    return (deadline - timedelta(microseconds=1)).astimezone(LONDON).date()


def is_overdue(due_date: date | None, now: datetime | None = None) -> bool:
    """Past its due date (the whole due date counts as in time)."""
    return due_date is not None and today(now) > due_date


def _check_due(due_date: date | None, deadline: datetime, now: datetime | None) -> None:
    if due_date is None:
        return
    latest = last_day(deadline)
    if due_date > latest:
        raise ServiceError(f"Enter a due date on or before {govuk_date(latest)}", field="due_date")
    if due_date < today(now):
        raise ServiceError("The due date must be today or in the future", field="due_date")


# --- who may be given what -----------------------------------------------------------------------


def _active_people(organisation_id: int, lead_bidder_id: int, roles) -> list[User]:
    return list(db.session.scalars(
        select(User)
        .where(
            User.organisation_id == organisation_id,
            User.lead_bidder_id == lead_bidder_id,
            User.role.in_(roles),
            User.active.is_(True),
        )
        .order_by(func.lower(User.full_name), User.id)
    ))


def csp_colleagues(contribution: Contribution) -> list[User]:
    """Who a CSP's items can be given to: the CSP's active managers and contributors."""
    return _active_people(contribution.csp_id, contribution.lead_bidder_id, CSP_ROLES)


def lead_colleagues(rnd: Round) -> list[User]:
    """Who a merged section can be given to: the lead bidder's active administrators and staff."""
    return _active_people(rnd.lead_bidder_id, rnd.lead_bidder_id, LEAD_EDITORS)


def item_titles(contribution: Contribution) -> dict[str, str]:
    """Each item key of the contribution's task list, with its title (no query: the round's
    sections are loaded with it)."""
    from app.services.contributions import PARTS, csp_sections

    titles = {f"section-{s.id}": f"{s.number}. {s.title}" for s in csp_sections(contribution)}
    titles.update({key: title for key, title, _ in PARTS})
    return titles


def _section_of(key: str) -> int | None:
    return int(key.removeprefix("section-")) if key.startswith("section-") else None


# --- a CSP's items -------------------------------------------------------------------------------


def for_contribution(contribution: Contribution) -> dict[str, Assignment]:
    """The contribution's assignments by item key, with their assignees, in one query."""
    return {
        a.item_key: a
        for a in db.session.scalars(
            select(Assignment)
            .where(Assignment.contribution_id == contribution.id)
            .options(joinedload(Assignment.assignee))
        )
    }


def for_item(contribution: Contribution, key: str) -> Assignment | None:
    return db.session.scalar(
        select(Assignment)
        .where(Assignment.contribution_id == contribution.id, Assignment.item_key == key)
        .options(joinedload(Assignment.assignee))
    )


def assign_item(actor: User, contribution: Contribution, key: str, assignee: User | None,
                due_date: date | None, now: datetime | None = None) -> Assignment:
    """Give one item of the contribution to a colleague of its CSP (replacing whoever had it)."""
    require(actor, "contribution.assign", contribution)
    titles = item_titles(contribution)
    if key not in titles:
        raise ServiceError("That is not a part of this contribution")
    if (
        assignee is None
        or not assignee.active
        or assignee.role not in CSP_ROLES
        or assignee.organisation_id != contribution.csp_id
        or assignee.lead_bidder_id != contribution.lead_bidder_id
    ):
        raise ServiceError(f"Select someone at {contribution.csp.name}", field="assignee")
    _check_due(due_date, contribution.deadline, now)
    assignment = _upsert(
        {"contribution_id": contribution.id, "item_key": key},
        {"lead_bidder_id": contribution.lead_bidder_id, "round_id": contribution.round_id,
         "contribution_id": contribution.id, "item_key": key, "section_id": _section_of(key)},
        actor, assignee, due_date,
    )
    record(
        actor,
        "assignment.assigned",
        contribution,
        f"Gave {titles[key]} of {contribution.csp.name}'s contribution to {assignee.full_name}"
        + (f", due {govuk_date(due_date)}" if due_date else ""),
        item=key, assignee_id=assignee.id, due_date=due_date.isoformat() if due_date else None,
    )
    db.session.flush()
    _tell(actor, assignment, f"{titles[key]} of {contribution.csp.name}'s contribution")
    return assignment


def unassign_item(actor: User, contribution: Contribution, key: str) -> None:
    require(actor, "contribution.assign", contribution)
    assignment = for_item(contribution, key)
    if assignment is None:
        raise ServiceError("This part is not given to anyone")
    title = item_titles(contribution).get(key, key)
    _cancel_reminders(assignment)
    record(
        actor,
        "assignment.removed",
        contribution,
        f"Took {title} of {contribution.csp.name}'s contribution back from {assignment.assignee.full_name}",
        item=key, assignee_id=assignment.assignee_id,
    )
    db.session.delete(assignment)
    db.session.flush()


# --- the collective bid's merged sections ---------------------------------------------------------


def for_bid(bid: CollectiveBid) -> dict[int, Assignment]:
    """The bid's assignments by section id (of the round's template), with assignees, in one query."""
    return {
        a.section_id: a
        for a in db.session.scalars(
            select(Assignment)
            .join(MergedSection, Assignment.merged_section_id == MergedSection.id)
            .where(MergedSection.bid_id == bid.id)
            .options(joinedload(Assignment.assignee))
        )
    }


def for_section(bid: CollectiveBid, section: SectionTemplate) -> Assignment | None:
    return db.session.scalar(
        select(Assignment)
        .join(MergedSection, Assignment.merged_section_id == MergedSection.id)
        .where(MergedSection.bid_id == bid.id, MergedSection.section_id == section.id)
        .options(joinedload(Assignment.assignee))
    )


def _merged_section(bid: CollectiveBid, section: SectionTemplate) -> MergedSection:
    """The bid's merged section, made (empty) if nobody has written it yet: assigning needs it."""
    db.session.execute(
        insert_for_dialect()(MergedSection)
        .values(bid_id=bid.id, section_id=section.id, text="", version=0)
        .on_conflict_do_nothing(index_elements=["bid_id", "section_id"])
    )
    return db.session.scalar(
        select(MergedSection).where(MergedSection.bid_id == bid.id, MergedSection.section_id == section.id)
    )


def assign_section(actor: User, bid: CollectiveBid, section: SectionTemplate, assignee: User | None,
                   due_date: date | None, now: datetime | None = None) -> Assignment:
    """Give one merged section of the bid to a lead bidder colleague (replacing whoever had it)."""
    require(actor, "bid.assign", bid)
    rnd = bid.round
    if section.round_id != rnd.id:
        raise ServiceError("That is not a section of this bid")
    existing = for_section(bid, section)
    if existing is not None:
        require(actor, "bid.assign", existing.merged_section)
    if (
        assignee is None
        or not assignee.active
        or assignee.role not in LEAD_EDITORS
        or assignee.organisation_id != rnd.lead_bidder_id
        or assignee.lead_bidder_id != rnd.lead_bidder_id
    ):
        raise ServiceError(f"Select someone at {rnd.lead_bidder.display_name}", field="assignee")
    _check_due(due_date, rnd.funder_deadline, now)
    merged = _merged_section(bid, section)
    require(actor, "bid.assign", merged)
    assignment = _upsert(
        {"merged_section_id": merged.id},
        {"lead_bidder_id": rnd.lead_bidder_id, "round_id": rnd.id, "merged_section_id": merged.id,
         "section_id": section.id},
        actor, assignee, due_date,
    )
    record(
        actor,
        "assignment.assigned",
        bid,
        f"Gave section {section.number}. {section.title} of the collective bid to {assignee.full_name}"
        + (f", due {govuk_date(due_date)}" if due_date else ""),
        section_id=section.id, assignee_id=assignee.id, due_date=due_date.isoformat() if due_date else None,
    )
    db.session.flush()
    _tell(actor, assignment, f"section {section.number}. {section.title} of the collective bid")
    return assignment


def unassign_section(actor: User, bid: CollectiveBid, section: SectionTemplate) -> None:
    require(actor, "bid.assign", bid)
    assignment = for_section(bid, section)
    if assignment is None:
        raise ServiceError("This section is not given to anyone")
    _cancel_reminders(assignment)
    record(
        actor,
        "assignment.removed",
        bid,
        f"Took section {section.number}. {section.title} of the collective bid back from "
        f"{assignment.assignee.full_name}",
        section_id=section.id, assignee_id=assignment.assignee_id,
    )
    db.session.delete(assignment)
    db.session.flush()


def _tell(actor: User, assignment: Assignment, item_label: str) -> None:
    """The assignee hears of it (What's new, and email as they prefer): again when the item is given
    to them with another due date, but not when the same form is sent twice."""
    from app.services import notifications

    _, _, endpoint, values = target(assignment)
    due = f", due by {govuk_date(assignment.due_date)}" if assignment.due_date else ""
    notifications.assigned(
        actor, assignment.assignee, item_label + due, notifications.link_to(endpoint, **values),
        assignment.lead_bidder_id, round=assignment.round,
        contribution=assignment.contribution,
        event_key=f"assigned:{assignment.id}:{assignment.assignee_id}:{assignment.due_date or 'none'}",
    )


# --- writing one assignment ------------------------------------------------------------------------


def _upsert(where: dict, values: dict, actor: User, assignee: User, due_date: date | None) -> Assignment:
    """The item's one assignment, made or replaced (two people assigning at once make one row)."""
    now = utcnow()
    criteria = [getattr(Assignment, name) == value for name, value in where.items()]
    db.session.execute(
        insert_for_dialect()(Assignment)
        .values(**values, assignee_id=assignee.id, due_date=due_date, assigned_by_id=actor.id, assigned_at=now)
        .on_conflict_do_nothing()
    )
    assignment = db.session.scalar(select(Assignment).where(*criteria).execution_options(populate_existing=True))
    if assignment.assignee_id != assignee.id or assignment.due_date != due_date:
        _cancel_reminders(assignment)
    assignment.assignee = assignee
    assignment.due_date = due_date
    assignment.assigned_by_id = actor.id
    assignment.assigned_at = now
    return assignment


def _cancel_reminders(assignment: Assignment) -> None:
    """Reminders about this assignment written to the outbox but not sent yet are cancelled when it
    is given to someone else, its due date changes or it is taken back."""
    from app.services.reminders import cancel_task_reminders

    cancel_task_reminders(assignment)


# --- reading: what is open, and each person's tasks -------------------------------------------------


def _with_state(stmt):
    """The statement joined to what tells whether each assignment is done and whether it is locked."""
    return (
        stmt.join(Round, Assignment.round_id == Round.id)
        .outerjoin(Contribution, Assignment.contribution_id == Contribution.id)
        .outerjoin(SectionResponse, and_(SectionResponse.contribution_id == Assignment.contribution_id,
                                   SectionResponse.section_id == Assignment.section_id))
        .outerjoin(MergedSection, Assignment.merged_section_id == MergedSection.id)
    )


def _completed():
    return case(
        (Assignment.item_key == "budget", Contribution.budget_completed),
        (Assignment.item_key == "outcomes", Contribution.outcomes_completed),
        (Assignment.item_key == "partners", Contribution.partners_completed),
        (Assignment.item_key == "documents", Contribution.documents_completed),
        (Assignment.merged_section_id.is_not(None), MergedSection.state == SectionState.FINAL),
        else_=func.coalesce(SectionResponse.completed, false()),
    )


def _open():
    csp_open = and_(
        Assignment.contribution_id.is_not(None),
        Round.status.in_(lifecycle.CONTRIBUTIONS_OPEN),
        Contribution.status.in_(CSP_HOLDS),
    )
    bid_open = and_(Assignment.merged_section_id.is_not(None), Round.status.in_(lifecycle.BID_CHANGEABLE))
    return and_(or_(csp_open, bid_open), not_(func.coalesce(_completed(), false())))


def _mine(user: User):
    return and_(Assignment.assignee_id == user.id, Assignment.lead_bidder_id == user.lead_bidder_id)


def open_count_of(user_id_column):
    """open_count() as a subquery of the person whose id is `user_id_column`, for the statement that
    loads the signed-in user (app/services/sessions.py), so the menu's count costs no statement."""
    return (
        _with_state(select(func.count(Assignment.id)))
        .where(Assignment.assignee_id == user_id_column, _open())
        .scalar_subquery()
    )


def open_count(user: User) -> int:
    """How many open items are given to the person (the navigation shows it): one query. The count
    is a nicety: a page (the error page shown when the database is down) never fails for it."""
    if not getattr(user, "is_authenticated", False):
        return 0
    try:
        return db.session.scalar(_with_state(select(func.count(Assignment.id))).where(_mine(user), _open())) or 0
    except SQLAlchemyError:
        log.warning("The navigation could not count open tasks", exc_info=True)
        return 0


@dataclass
class TaskRow:
    """One line of "Your tasks"."""

    assignment: Assignment
    title: str
    where: str  # the contribution's CSP, or "Collective bid"
    href: str

    @property
    def due_date(self) -> date | None:
        return self.assignment.due_date

    @property
    def overdue(self) -> bool:
        return is_overdue(self.assignment.due_date)


def tasks_for(user: User, page=1) -> Page[TaskRow]:
    """One page of the open items given to the person, soonest due first (those with no due date
    last), with their rounds, contributions, CSPs and sections: two queries."""
    stmt = (
        _with_state(select(Assignment))
        .outerjoin(Organisation, Contribution.csp_id == Organisation.id)
        .outerjoin(SectionTemplate, Assignment.section_id == SectionTemplate.id)
        .where(_mine(user), _open())
        .options(
            contains_eager(Assignment.round),
            contains_eager(Assignment.contribution).contains_eager(Contribution.csp),
            contains_eager(Assignment.section),
        )
        .order_by(Assignment.due_date.is_(None), Assignment.due_date, Round.id, Assignment.id)
    )
    return paginate(stmt, page).map(_row)


def target(a: Assignment) -> tuple[str, str, str, dict]:
    """(the item's title, where it is, the endpoint of its page, that page's values), from the
    assignment with its section and contribution (and CSP) loaded."""
    from app.services.contributions import PART_ENDPOINTS, PARTS

    if a.merged_section_id is not None:
        section = a.section
        return (f"{section.number}. {section.title}", "Collective bid", "bid.section",
                {"round_id": a.round_id, "section_id": section.id})
    where = f"{a.contribution.csp.name}'s contribution"
    if a.section_id is not None:
        section = a.section
        return (f"{section.number}. {section.title}", where, "contributions.edit_section",
                {"contribution_id": a.contribution_id, "section_id": section.id})
    title = {key: title for key, title, _ in PARTS}.get(a.item_key, a.item_key)
    return title, where, PART_ENDPOINTS[a.item_key], {"contribution_id": a.contribution_id}


def _row(a: Assignment) -> TaskRow:
    title, where, endpoint, values = target(a)
    return TaskRow(a, title, where, url_for(endpoint, **values))


def open_with_due_dates(round_ids: list[int]) -> dict[int, list[Assignment]]:
    """The open assignments with a due date of these rounds (by round id), with their assignees,
    sections and contributions' CSPs: one query, for the reminder run."""
    if not round_ids:
        return {}
    result: dict[int, list[Assignment]] = {}
    for a in db.session.scalars(
        _with_state(select(Assignment))
        .where(Assignment.round_id.in_(round_ids), Assignment.due_date.is_not(None), _open())
        .options(
            contains_eager(Assignment.contribution),
            joinedload(Assignment.assignee),
            joinedload(Assignment.section),
        )
        .order_by(Assignment.id)
    ).unique():
        result.setdefault(a.round_id, []).append(a)
    return result
