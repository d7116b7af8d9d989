"""Setting up a funding round: details, budget rules, the template of sections, the CSPs taking
part, opening the round, and per-CSP extensions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import contains_eager, joinedload

from app.dates import govuk_datetime
from app.extensions import db
from app.models import (
    BudgetLine,
    Contribution,
    ContributionStatus,
    CostCategory,
    FinancialYear,
    NotificationKind,
    Organisation,
    OrganisationKind,
    Role,
    Round,
    RoundStatus,
    SectionResponse,
    SectionTemplate,
    User,
)
from app.models.base import as_id, utcnow
from app.policy import lifecycle, require
from app.services import ServiceError
from app.services.audit import record
from app.services.notifications import Email, csp_people, link_to, notify
from app.services.pages import Page, head, paginate
from app.services.round_templates import TEMPLATES
from app.urls import absolute_url


def _check_deadlines(funder_deadline: datetime, internal_deadline: datetime) -> None:
    if internal_deadline >= funder_deadline:
        raise ServiceError("The internal deadline must be before the funder's deadline", field="internal_date")


def create_round(
    actor: User,
    *,
    fund_name: str,
    funder: str,
    title: str,
    summary: str,
    funder_deadline: datetime,
    internal_deadline: datetime,
    start_from: str = "template:eiyf-2018",
) -> Round:
    """Create a draft round, starting from a built-in template, an earlier round, or nothing. The
    records its pages need (its collective bid and reminder schedule) are made with it."""
    require(actor, "round.create")
    _check_deadlines(funder_deadline, internal_deadline)
    rnd = Round(
        lead_bidder_id=actor.lead_bidder_id,
        fund_name=fund_name.strip(),
        funder=funder.strip(),
        title=title.strip(),
        summary=(summary or "").strip(),
        funder_deadline=funder_deadline,
        internal_deadline=internal_deadline,
        created_by_id=actor.id,
    )
    db.session.add(rnd)
    kind, _, ref = start_from.partition(":")
    if kind == "template":
        template = TEMPLATES.get(ref)
        if template is None:
            raise ServiceError("Choose where to start from", field="start_from")
        _apply_template(rnd, template)
    elif kind == "round":
        source_id = as_id(ref)
        source = db.session.get(Round, source_id) if source_id is not None else None
        if source is None or source.lead_bidder_id != actor.lead_bidder_id:
            raise ServiceError("Choose where to start from", field="start_from")
        _copy_round(rnd, source)
    elif kind not in ("blank", "funder-form"):  # funder-form: empty, its sections come from the form next
        raise ServiceError("Choose where to start from", field="start_from")
    db.session.flush()
    from app.services.merge import get_or_create_bid
    from app.services.reminders import schedule_for

    get_or_create_bid(rnd)
    schedule_for(rnd)
    record(actor, "round.created", rnd, f"Created the round {rnd.title}", start_from=start_from)
    return rnd


def move_round(actor: User, rnd: Round, action: str, **values) -> None:
    """Move the round along its life cycle (app/policy/lifecycle.py) with a conditional UPDATE, so
    two administrators acting at once move it once; the other is told."""
    transition = lifecycle.ROUND[action]
    if rnd.status not in transition.sources:
        raise ServiceError(transition.refused)
    # Reopening a signed-off bid goes back to where the round was: closed if an administrator had
    # closed it for contributions, else open.
    target = transition.target or (RoundStatus.CLOSED if rnd.closed_at else RoundStatus.OPEN)
    result = db.session.execute(
        Round.__table__.update()
        .where(Round.id == rnd.id, Round.status == rnd.status)
        .values(status=target, **values)
    )
    if result.rowcount != 1:
        db.session.refresh(rnd)
        raise ServiceError("Someone else changed the round at the same time. Check it and try again")
    db.session.refresh(rnd)


def _apply_template(rnd: Round, template: dict) -> None:
    rnd.cap_per_bid_pence = template["cap_per_bid_pence"]
    rnd.match_percent = template["match_percent"]
    rnd.match_cash = template["match_cash"]
    rnd.match_in_kind = template["match_in_kind"]
    if not rnd.summary:
        rnd.summary = template["summary"]
    rnd.financial_years = [
        FinancialYear(label=label, cap_pence=cap, position=i)
        for i, (label, cap) in enumerate(template["financial_years"])
    ]
    rnd.cost_categories = [CostCategory(name=name, position=i) for i, name in enumerate(template["cost_categories"])]
    rnd.sections = [
        SectionTemplate(
            position=i,
            title=title,
            guidance=guidance,
            word_limit=limit,
            csp_word_limit=csp_limit,
            required=required,
            csp_contributes=contributes,
        )
        for i, (title, guidance, limit, csp_limit, required, contributes) in enumerate(template["sections"])
    ]


def _copy_round(rnd: Round, source: Round) -> None:
    rnd.cap_per_bid_pence = source.cap_per_bid_pence
    rnd.match_percent = source.match_percent
    rnd.match_cash = source.match_cash
    rnd.match_in_kind = source.match_in_kind
    rnd.financial_years = [
        FinancialYear(label=y.label, cap_pence=y.cap_pence, position=y.position) for y in source.financial_years
    ]
    rnd.cost_categories = [CostCategory(name=c.name, position=c.position) for c in source.cost_categories]
    rnd.sections = [
        SectionTemplate(
            position=s.position,
            title=s.title,
            guidance=s.guidance,
            word_limit=s.word_limit,
            csp_word_limit=s.csp_word_limit,
            required=s.required,
            csp_contributes=s.csp_contributes,
        )
        for s in source.sections
    ]


def update_details(actor: User, rnd: Round, **values) -> None:
    """The round's details. Its deadlines can be changed here only while it is being set up (each
    change is kept in the deadline history); once it is open they are changed on the deadlines page,
    with a reason, and everyone in the round is emailed (app.services.deadlines)."""
    from app.models import DeadlineKind
    from app.services import deadlines

    require(actor, "round.change_setup", rnd)
    deadline_kinds = {"funder_deadline": DeadlineKind.FUNDER, "internal_deadline": DeadlineKind.INTERNAL}
    if rnd.status != RoundStatus.DRAFT:
        for attr in deadline_kinds:
            if attr in values and values[attr] != getattr(rnd, attr):
                raise ServiceError("Change the round's deadlines on its deadlines page", field="funder_date")
            values.pop(attr, None)
    else:
        _check_deadlines(values["funder_deadline"], values["internal_deadline"])
        target = rnd.sign_off_target
        if target is not None and not values["internal_deadline"] < target < values["funder_deadline"]:
            raise ServiceError(
                "The sign-off target must stay between the internal deadline and the funder's deadline. "
                "Change it on the deadlines page first",
                field="internal_date",
            )
    changes = {}
    for attr, value in values.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(rnd, attr) != value:
            changes[attr] = [str(getattr(rnd, attr)), str(value)]
            if attr in deadline_kinds:
                deadlines.record_set_up_change(actor, rnd, deadline_kinds[attr], getattr(rnd, attr), value)
            setattr(rnd, attr, value)
    if changes.keys() & deadline_kinds.keys():
        db.session.flush()
        _deadline_moved(actor, rnd)
    if changes:
        record(actor, "round.updated", rnd, f"Changed the details of {rnd.title}", changes=changes)


def update_budget_rules(
    actor: User,
    rnd: Round,
    *,
    cap_per_bid_pence: int | None,
    match_percent: int | None,
    match_cash: bool,
    match_in_kind: bool,
    years: list[tuple[str, int | None]],
    categories: list[str],
) -> None:
    """Replace the financial years and cost categories, keeping any that budget lines use."""
    require(actor, "round.change_setup", rnd)
    if not years:
        raise ServiceError("Enter at least one financial year", field="years")
    if not categories:
        raise ServiceError("Enter at least one cost category", field="categories")
    labels = [label for label, _ in years]
    if len(set(labels)) != len(labels):
        raise ServiceError("Each financial year must be different", field="years")
    if len({c.lower() for c in categories}) != len(categories):
        raise ServiceError("Each cost category must be different", field="categories")

    used_years = set(
        db.session.scalars(
            select(BudgetLine.financial_year_id).join(Contribution).where(Contribution.round_id == rnd.id)
        )
    )
    used_categories = set(
        db.session.scalars(
            select(BudgetLine.cost_category_id).join(Contribution).where(Contribution.round_id == rnd.id)
        )
    )
    existing_years = {y.label: y for y in rnd.financial_years}
    for year in rnd.financial_years:
        if year.label not in labels and year.id in used_years:
            raise ServiceError(f"{year.label} has budget lines, so it cannot be removed", field="years")
    existing_categories = {c.name.lower(): c for c in rnd.cost_categories}
    for cat in rnd.cost_categories:
        if cat.name.lower() not in {c.lower() for c in categories} and cat.id in used_categories:
            raise ServiceError(f"{cat.name} has budget lines, so it cannot be removed", field="categories")

    new_years = []
    for i, (label, cap) in enumerate(years):
        year = existing_years.get(label) or FinancialYear(label=label)
        year.cap_pence, year.position = cap, i
        new_years.append(year)
    rnd.financial_years = new_years
    new_categories = []
    for i, name in enumerate(categories):
        cat = existing_categories.get(name.lower()) or CostCategory(name=name)
        cat.name, cat.position = name, i
        new_categories.append(cat)
    rnd.cost_categories = new_categories
    rnd.cap_per_bid_pence = cap_per_bid_pence
    rnd.match_percent = match_percent
    rnd.match_cash = match_cash
    rnd.match_in_kind = match_in_kind
    record(actor, "round.budget_rules_updated", rnd, f"Changed the budget rules of {rnd.title}")


# --- the template of sections -------------------------------------------------------------------


def save_section(actor: User, rnd: Round, section: SectionTemplate | None, **values) -> SectionTemplate:
    require(actor, "round.change_setup", rnd)
    if values.get("csp_word_limit") and values.get("word_limit") and values["csp_word_limit"] > values["word_limit"]:
        raise ServiceError("The limit for each CSP must not be more than the limit for the bid", field="csp_word_limit")
    if section is None:
        section = SectionTemplate(round=rnd, position=len(rnd.sections))
        db.session.add(section)
        action, summary = "round.section_added", f"Added the section {values['title']}"
    else:
        action, summary = "round.section_updated", f"Changed the section {values['title']}"
    for attr, value in values.items():
        setattr(section, attr, value.strip() if isinstance(value, str) else value)
    db.session.flush()
    record(actor, action, rnd, summary, section_id=section.id)
    return section


def move_section(actor: User, rnd: Round, section: SectionTemplate, direction: str) -> None:
    require(actor, "round.change_setup", rnd)
    sections = list(rnd.sections)
    i = sections.index(section)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(sections):
        sections[i], sections[j] = sections[j], sections[i]
        for position, s in enumerate(sections):
            s.position = position
        record(actor, "round.section_moved", rnd, f"Moved the section {section.title} {direction}")


def delete_section(actor: User, rnd: Round, section: SectionTemplate) -> None:
    require(actor, "round.change_setup", rnd)
    written = db.session.scalar(
        select(func.count())
        .select_from(SectionResponse)
        .where(SectionResponse.section_id == section.id, SectionResponse.text != "")
    )
    if written:
        raise ServiceError(f"CSPs have already written text for {section.title}, so it cannot be removed")
    title = section.title
    rnd.sections.remove(section)
    for position, s in enumerate(rnd.sections):
        s.position = position
    record(actor, "round.section_removed", rnd, f"Removed the section {title}")


# --- who takes part -----------------------------------------------------------------------------


def csp_managers(csp: Organisation) -> list[User]:
    return [u for u in csp.users if u.active and u.role == Role.CSP_MANAGER]


def set_participants(actor: User, rnd: Round, managers_by_csp: dict[int, int | None]) -> None:
    """Choose the CSPs taking part (keys) and the manager responsible for each (values)."""
    require(actor, "round.change_participants", rnd)
    if not managers_by_csp:
        raise ServiceError("Select the CSPs taking part", field="csps")
    csps = {
        c.id: c
        for c in db.session.scalars(
            select(Organisation).where(
                Organisation.id.in_(managers_by_csp),
                Organisation.lead_bidder_id == rnd.lead_bidder_id,
                Organisation.kind == OrganisationKind.CSP,
                Organisation.active.is_(True),
            )
        )
    }
    if set(csps) != set(managers_by_csp):
        raise ServiceError("Select CSPs from the list", field="csps")
    existing = {c.csp_id: c for c in rnd.contributions}
    for csp_id, contribution in existing.items():
        if csp_id not in managers_by_csp:
            if contribution.status != ContributionStatus.NOT_STARTED or _has_work(contribution):
                raise ServiceError(
                    f"{contribution.csp.name} has already started its contribution, so it cannot be removed",
                    field="csps",
                )
            db.session.delete(contribution)
    added = []
    for csp_id, manager_id in managers_by_csp.items():
        csp = csps[csp_id]
        manager = None
        if manager_id is not None:
            manager = next((u for u in csp_managers(csp) if u.id == manager_id), None)
            if manager is None:
                raise ServiceError(f"Choose a CSP manager of {csp.name}", field="csps")
        contribution = existing.get(csp_id)
        if contribution is None:
            contribution = Contribution(round=rnd, csp=csp, lead_bidder_id=rnd.lead_bidder_id)
            db.session.add(contribution)
            added.append(contribution)
        contribution.manager = manager
    db.session.flush()
    record(actor, "round.participants_set", rnd, f"Chose {len(managers_by_csp)} CSPs to take part in {rnd.title}")
    if rnd.status == RoundStatus.OPEN:
        for contribution in added:
            _email_round_opened(actor, contribution)


def _has_work(contribution: Contribution) -> bool:
    return bool(
        contribution.budget_lines
        or contribution.outcomes
        or contribution.partners
        or contribution.attachments
        or any(r.text for r in contribution.responses)
    )


def open_problems(rnd: Round, now: datetime) -> list[str]:
    """What stops the round from opening, in words for the lead."""
    problems = []
    if not lifecycle.allows(lifecycle.ROUND, "open", rnd.status):
        problems.append(lifecycle.ROUND["open"].refused)
    if not rnd.contributions:
        problems.append("Choose the CSPs taking part")
    for contribution in sorted(rnd.contributions, key=lambda c: c.csp.name):
        if contribution.manager is None:
            problems.append(f"Choose a manager for {contribution.csp.name}")
    if not any(s.csp_contributes for s in rnd.sections):
        problems.append("Add at least one section that CSPs contribute to")
    if not rnd.financial_years or not rnd.cost_categories:
        problems.append("Set the financial years and cost categories")
    if rnd.internal_deadline <= now:
        problems.append("The internal deadline has passed: change it first")
    return problems


def open_round(actor: User, rnd: Round, now: datetime | None = None) -> None:
    now = now or utcnow()
    require(actor, "round.open", rnd)
    problems = open_problems(rnd, now)
    if problems:
        raise ServiceError(problems[0])
    move_round(actor, rnd, "open", opened_at=now)
    for contribution in rnd.contributions:
        _email_round_opened(actor, contribution)
    record(actor, "round.opened", rnd, f"Opened {rnd.title} to {len(rnd.contributions)} CSPs")


def close_round(actor: User, rnd: Round, now: datetime | None = None) -> None:
    """Close the round for contributions: CSPs can no longer change or submit them (a CSP that has
    not submitted is told); the lead finishes reviewing and merging."""
    require(actor, "round.close", rnd)
    now = now or utcnow()
    move_round(actor, rnd, "close", closed_at=now)
    record(actor, "round.closed", rnd, f"Closed {rnd.title} for contributions")
    for contribution in rnd.contributions:
        if contribution.status.csp_can_edit:
            _email_csp(actor, contribution, NotificationKind.ROUND_CLOSED, "round_closed",
                       f"round-closed:{rnd.id}:{now.isoformat()}",
                       f"{rnd.lead_bidder.display_name} closed {rnd.title} for contributions: "
                       f"{contribution.csp.name}'s contribution can no longer be changed or submitted")


def reopen_contributions(actor: User, rnd: Round, reason: str, now: datetime | None = None) -> None:
    """Open a closed round for contributions again, with a reason (for example to send one back)."""
    require(actor, "round.reopen_contributions", rnd)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Enter why contributions are being reopened", field="reason")
    if len(reason) > 2000:
        raise ServiceError("Reason must be 2,000 characters or fewer", field="reason")
    now = now or utcnow()
    move_round(actor, rnd, "reopen_contributions", closed_at=None)
    record(actor, "round.contributions_reopened", rnd, f"Reopened {rnd.title} for contributions: {reason}",
           reason=reason)
    for contribution in rnd.contributions:
        if contribution.status.csp_can_edit:
            _email_csp(actor, contribution, NotificationKind.ROUND_OPENED, "round_reopened",
                       f"round-reopened:{rnd.id}:{now.isoformat()}",
                       f"{rnd.lead_bidder.display_name} opened {rnd.title} for contributions again: {reason}",
                       reason=reason)


def _email_csp(
    actor: User | None, contribution: Contribution, kind: NotificationKind, template: str, key: str, summary: str,
    **context,
) -> None:
    """The CSP's people (managers and contributors) hear of something that happened to the round."""
    notify(
        kind,
        csp_people(contribution.csp_id),
        summary=summary,
        link=link_to("contributions.task_list", contribution_id=contribution.id),
        event_key=key,
        lead_bidder_id=contribution.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email(template, dict(
            contribution=contribution,
            round=contribution.round,
            link=absolute_url("contributions.task_list", contribution_id=contribution.id),
            **context,
        )),
    )


def _email_round_opened(actor: User | None, contribution: Contribution) -> None:
    rnd = contribution.round
    _email_csp(
        actor, contribution, NotificationKind.ROUND_OPENED, "round_opened", f"round-opened:{contribution.id}",
        f"{rnd.lead_bidder.display_name} opened {rnd.title} and asks for {contribution.csp.name}'s contribution "
        f"by {govuk_datetime(contribution.deadline)}",
        manager=contribution.manager,
        sections=[s for s in rnd.sections if s.csp_contributes],
    )


def _deadline_moved(actor: User, rnd: Round) -> None:
    from app.services import reminders  # imported here: reminders may use this module

    reminders.deadline_moved(actor, rnd)


def grant_extension(actor: User, contribution: Contribution, until: datetime, reason: str) -> None:
    rnd = contribution.round
    require(actor, "round.grant_extension", rnd)
    if until <= rnd.internal_deadline:
        raise ServiceError("The extension must end after the internal deadline", field="until_date")
    if until >= rnd.funder_deadline:
        raise ServiceError("The extension must end before the funder's deadline", field="until_date")
    from app.services import deadlines

    deadlines.record_extension(actor, contribution, contribution.deadline, until, reason.strip())
    contribution.extension_until = until
    contribution.extension_reason = reason.strip()
    contribution.extension_granted_by_id = actor.id
    contribution.extension_granted_at = utcnow()
    db.session.flush()
    _deadline_moved(actor, rnd)
    record(
        actor,
        "contribution.extension_granted",
        contribution,
        f"Gave {contribution.csp.name} an extension to {until.isoformat()}: {reason.strip()}",
        until=until.isoformat(),
        reason=reason.strip(),
    )
    notify(
        NotificationKind.EXTENSION_GRANTED,
        csp_people(contribution.csp_id),
        summary=f"{rnd.lead_bidder.display_name} gave {contribution.csp.name} more time: its contribution to "
        f"{rnd.title} is now due by {govuk_datetime(until)}",
        link=link_to("contributions.task_list", contribution_id=contribution.id),
        event_key=f"extension:{contribution.id}:{until.isoformat()}",
        lead_bidder_id=rnd.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email("extension_granted", {
            "contribution": contribution,
            "round": rnd,
            "manager": contribution.manager,
            "until": until,
            "reason": reason.strip(),
            "link": absolute_url("contributions.task_list", contribution_id=contribution.id),
        }),
    )


# --- reading: the actor's own lead bidder's rounds ---------------------------------------------------

def _rounds_of(actor: User, by: str) -> Select:
    stmt = select(Round).where(Round.lead_bidder_id == actor.lead_bidder_id)
    if actor.is_csp:
        stmt = stmt.where(
            Round.status.in_(lifecycle.VISIBLE_TO_CSPS),
            Round.id.in_(select(Contribution.round_id).where(Contribution.csp_id == actor.organisation_id)),
        )
    order = {"created": Round.created_at.desc(), "deadline": Round.internal_deadline.desc()}[by]
    return stmt.order_by(order, Round.id.desc())


def list_for(actor: User, by: str = "created") -> list[Round]:
    """The rounds of the actor's lead bidder, newest first: by="created" (when set up) or
    by="deadline" (latest internal deadline first). A CSP user sees only the rounds their CSP
    takes part in, once opened."""
    return db.session.scalars(_rounds_of(actor, by)).all()


def page_for(actor: User, page=1) -> Page[Round]:
    """One page of list_for()."""
    return paginate(_rounds_of(actor, "created"), page)


def latest_for(actor: User, n: int) -> tuple[list[Round], bool]:
    """The n rounds of list_for(by="deadline") with the latest deadlines, and whether there are more."""
    return head(_rounds_of(actor, "deadline"), n)


def contributions_by_csp(rnd: Round) -> list[Contribution]:
    """The round's contributions in the name order of their CSPs, with their CSPs and managers (one
    query, however many CSPs take part)."""
    stmt = (
        select(Contribution)
        .join(Contribution.csp)
        .where(Contribution.round_id == rnd.id)
        .options(contains_eager(Contribution.csp), joinedload(Contribution.manager))
        .order_by(func.lower(Organisation.name), Contribution.id)
    )
    return list(db.session.scalars(stmt).unique())
