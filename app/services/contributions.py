"""A CSP's contribution as a whole: its task list, marking parts complete, and submitting it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from sqlalchemy import exists, func, literal, or_, select, union_all, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from app.extensions import db
from app.models import (
    Attachment,
    BudgetLine,
    Contribution,
    ContributionStatus,
    Outcome,
    PartnerInvolvement,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.services import ServiceError
from app.services.audit import record
from app.services.pages import Page, page_size, paginate
from app.urls import absolute_url

NOT_STARTED, IN_PROGRESS, COMPLETED = "Not yet started", "In progress", "Completed"

# The parts of a contribution besides its narrative sections: (key, title, hint).
PARTS = (
    ("budget", "Budget", "By financial year and cost category"),
    ("outcomes", "Outcomes", "Measures, baselines and targets"),
    ("partners", "Partners involved", "Organisations and their roles"),
    ("documents", "Supporting documents", "Problem profiles, letters of support"),
)


# The page of each part of the task list.
PART_ENDPOINTS = {
    "budget": "contributions.budget",
    "outcomes": "contributions.outcomes",
    "partners": "contributions.partners",
    "documents": "contributions.documents",
}


@dataclass
class Task:
    key: str  # "section-<id>" or one of PARTS
    title: str
    contribution_id: int
    status: str
    hint: str = ""
    required: bool = True

    @property
    def href(self) -> str:
        """Built when a page shows the link (the round overview counts tasks of every CSP; it links
        to none of them)."""
        if self.key.startswith("section-"):
            return url_for("contributions.edit_section", contribution_id=self.contribution_id,
                           section_id=int(self.key.removeprefix("section-")))
        return url_for(PART_ENDPOINTS[self.key], contribution_id=self.contribution_id)


def csp_sections(contribution: Contribution) -> list[SectionTemplate]:
    return [s for s in contribution.round.sections if s.csp_contributes]


def response_for(contribution: Contribution, section: SectionTemplate) -> SectionResponse | None:
    return db.session.scalar(
        select(SectionResponse).where(
            SectionResponse.contribution_id == contribution.id, SectionResponse.section_id == section.id
        )
    )


@dataclass(frozen=True)
class TaskFacts:
    """What a contribution's task list is worked out from: for each section written (by section id)
    whether it is marked completed, and which parts have at least one item. Loaded for many
    contributions at once by task_facts(), so a list of 100 contributions costs what one does."""

    sections: dict[int, bool] = field(default_factory=dict)
    parts_with_items: frozenset[str] = frozenset()


def task_facts(contributions: list[Contribution]) -> dict[int, TaskFacts]:
    """Each contribution's TaskFacts (by contribution id), in two queries however many there are.
    A section counts as written when it has text or any saved revision."""
    ids = [c.id for c in contributions]
    if not ids:
        return {}
    # Written: saved at least once (revision n is version n, so a saved response has a version) or
    # holding text. The texts themselves stay in the database.
    written = or_(SectionResponse.version > 0, func.trim(SectionResponse.text) != "",
                  exists().where(SectionRevision.response_id == SectionResponse.id))
    rows = db.session.execute(
        select(SectionResponse.contribution_id, SectionResponse.section_id, SectionResponse.completed)
        .where(SectionResponse.contribution_id.in_(ids), written)
    )
    sections: dict[int, dict[int, bool]] = {i: {} for i in ids}
    for contribution_id, section_id, completed in rows:
        sections[contribution_id][section_id] = completed
    kinds = {"budget": BudgetLine, "outcomes": Outcome, "partners": PartnerInvolvement, "documents": Attachment}
    with_items = union_all(*(
        select(literal(key).label("part"), model.contribution_id).where(model.contribution_id.in_(ids)).distinct()
        for key, model in kinds.items()
    ))
    parts: dict[int, set[str]] = {i: set() for i in ids}
    for part, contribution_id in db.session.execute(with_items):
        parts[contribution_id].add(part)
    return {i: TaskFacts(sections[i], frozenset(parts[i])) for i in ids}


def _section_status(facts: TaskFacts, section_id: int) -> str:
    if section_id not in facts.sections:
        return NOT_STARTED
    return COMPLETED if facts.sections[section_id] else IN_PROGRESS


def _part_status(contribution: Contribution, facts: TaskFacts, key: str) -> str:
    if getattr(contribution, f"{key}_completed"):
        return COMPLETED
    return IN_PROGRESS if key in facts.parts_with_items else NOT_STARTED


def facts_of_answers(contribution: Contribution, answered: list[SectionAnswer]) -> TaskFacts:
    """TaskFacts of a contribution whose answers() are in hand (its parts loaded with them): no query."""
    sections = {a.section.id: a.response.completed for a in answered
                if a.response is not None and (a.response.version > 0 or a.response.text.strip())}
    loaded = {"budget": contribution.budget_lines, "outcomes": contribution.outcomes,
              "partners": contribution.partners, "documents": contribution.attachments}
    return TaskFacts(sections, frozenset(key for key, items in loaded.items() if items))


def tasks(contribution: Contribution, facts: TaskFacts | None = None,
          sections: list[SectionTemplate] | None = None) -> list[Task]:
    """The task list: each CSP section, then budget, outcomes, partners and documents. Give `facts`
    from task_facts() (and the round's `sections`, csp_sections()) when working out many
    contributions' lists, or from facts_of_answers()."""
    if facts is None:
        facts = task_facts([contribution])[contribution.id]
    result = [
        Task(
            key=f"section-{s.id}",
            title=f"{s.number}. {s.title}",
            contribution_id=contribution.id,
            status=_section_status(facts, s.id),
            required=s.required,
        )
        for s in (sections if sections is not None else csp_sections(contribution))
    ]
    result += [
        Task(
            key=key,
            title=title,
            contribution_id=contribution.id,
            status=_part_status(contribution, facts, key),
            hint=hint,
        )
        for key, title, hint in PARTS
    ]
    return result


def outstanding(contribution: Contribution, facts: TaskFacts | None = None) -> list[Task]:
    """Required tasks not yet completed: what stops the contribution being submitted."""
    return [t for t in tasks(contribution, facts) if t.required and t.status != COMPLETED]


@dataclass
class StillToDo:
    """What a CSP has left to do before (re)submitting: the one answer for the home page, the task
    list and the reminder emails."""

    tasks: list[Task]  # required parts not yet completed
    revisit: list[str]  # parts the lead bidder asked them to revisit (changes requested)
    resubmit: bool  # changes were requested: the next submission is a resubmission
    message: str | None = None  # what the lead bidder said when asking for the changes

    @property
    def complete(self) -> bool:
        """Every required part is completed."""
        return not self.tasks

    @property
    def summary(self) -> str:
        if self.tasks:
            n = len(self.tasks)
            return f"{n} part{'s' if n != 1 else ''}, starting with {self.tasks[0].title}"
        if self.revisit:
            return "Make the changes asked for (" + ", ".join(self.revisit) + "), then submit again"
        return "Nothing: ready to submit" + (" again" if self.resubmit else "")


def still_to_do(contribution: Contribution, all_tasks: list[Task] | None = None) -> StillToDo:
    from app.services.review import open_change_request

    all_tasks = all_tasks if all_tasks is not None else tasks(contribution)
    change = open_change_request(contribution) if contribution.status == ContributionStatus.CHANGES_REQUESTED else None
    return _still_to_do(contribution, all_tasks, change)


def still_to_do_for(contributions: list[Contribution]) -> dict[int, StillToDo]:
    """still_to_do() of many contributions (by id), in a fixed number of queries."""
    from app.services.review import open_change_requests

    facts = task_facts(contributions)
    changes = open_change_requests(
        [c for c in contributions if c.status == ContributionStatus.CHANGES_REQUESTED]
    )
    return {c.id: _still_to_do(c, tasks(c, facts[c.id]), changes.get(c.id)) for c in contributions}


def _still_to_do(contribution: Contribution, all_tasks: list[Task], change) -> StillToDo:
    missing = [t for t in all_tasks if t.required and t.status != COMPLETED]
    revisit: list[str] = []
    resubmit = contribution.status == ContributionStatus.CHANGES_REQUESTED
    if resubmit and change is not None:
        from app.services.review import task_titles

        titles = task_titles(contribution)
        revisit = [titles.get(k, k) for k in change.items]
    return StillToDo(missing, revisit, resubmit, change.message if resubmit and change is not None else None)


def deadline_passed(contribution: Contribution, now: datetime | None = None) -> bool:
    return (now or utcnow()) > contribution.deadline


@dataclass
class SectionAnswer:
    section: SectionTemplate
    response: SectionResponse | None

    @property
    def text(self) -> str:
        return self.response.text if self.response else ""

    @property
    def words(self) -> int:
        from app.text import count_words

        return count_words(self.text)

    @property
    def over_limit(self) -> bool:
        return bool(self.section.csp_word_limit and self.words > self.section.csp_word_limit)


def answers(contribution: Contribution) -> list[SectionAnswer]:
    """Each section the CSP writes, with its text, for check-your-answers and exports. Loads the
    contribution's other parts too (budget lines with their years and categories, outcomes,
    partners, documents) and who submitted it, one query each, as the pages show them all."""
    db.session.execute(
        select(Contribution)
        .where(Contribution.id == contribution.id)
        .options(
            selectinload(Contribution.budget_lines).options(
                joinedload(BudgetLine.financial_year), joinedload(BudgetLine.cost_category)
            ),
            selectinload(Contribution.outcomes),
            selectinload(Contribution.partners),
            selectinload(Contribution.attachments),
            joinedload(Contribution.submitted_by),
        )
    ).all()
    responses = {
        r.section_id: r
        for r in db.session.scalars(select(SectionResponse).where(SectionResponse.contribution_id == contribution.id))
    }
    return [SectionAnswer(s, responses.get(s.id)) for s in csp_sections(contribution)]


def touch(actor: User, contribution: Contribution) -> None:
    """Call from every change a CSP makes: records activity and moves Not started to In progress."""
    from app.policy import lifecycle

    if lifecycle.allows(lifecycle.CONTRIBUTION, "start", contribution.status):
        contribution.status = lifecycle.target(lifecycle.CONTRIBUTION, "start")
    contribution.updated_at = utcnow()


def check_editable(actor: User, contribution: Contribution) -> None:
    from app.policy import require

    require(actor, "contribution.edit", contribution)


def locked_message(contribution: Contribution) -> str:
    """Why the CSP cannot change the contribution now, in words (from the rulebook)."""
    from app.policy.rules import contribution_editable

    return contribution_editable(None, contribution) or ""


def set_part_completed(actor: User, contribution: Contribution, part: str, completed: bool) -> None:
    if part not in {key for key, _, _ in PARTS}:
        raise ValueError(part)
    check_editable(actor, contribution)
    setattr(contribution, f"{part}_completed", completed)
    touch(actor, contribution)
    title = {k: t for k, t, _ in PARTS}[part]
    record(
        actor,
        f"contribution.{part}_{'completed' if completed else 'reopened'}",
        contribution,
        f"Marked {title.lower()} as {'completed' if completed else 'not completed'} for {contribution.csp.name}",
    )


def submit(actor: User, contribution: Contribution, now: datetime | None = None) -> None:
    """Submit to the lead bidder. The deadline is checked here, in the write transaction."""
    from app.policy import lifecycle, require

    now = now or utcnow()
    require(actor, "contribution.submit", contribution)
    if now > contribution.deadline:
        raise ServiceError(
            "The deadline for contributions has passed. "
            f"Contact {contribution.round.lead_bidder.display_name} to ask for an extension"
        )
    missing = outstanding(contribution)
    if missing:
        raise ServiceError("Complete every part before you submit: " + ", ".join(t.title for t in missing))
    # Submitting again after changes were asked for is a resubmission (its own state, so the
    # reviewer sees what came back). A conditional UPDATE: two managers at once submit it once.
    action = "resubmit" if contribution.status == ContributionStatus.CHANGES_REQUESTED else "submit"
    result = db.session.execute(
        update(Contribution)
        .where(Contribution.id == contribution.id, Contribution.version == contribution.version)
        .values(
            status=lifecycle.target(lifecycle.CONTRIBUTION, action),
            submitted_at=now,
            submitted_by_id=actor.id,
            updated_at=now,
            version=Contribution.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError("Someone else changed this contribution just now. Check it and try again")
    db.session.refresh(contribution)
    # Review (issue 4): a resubmission resolves the lead bidder's open change requests.
    from app.services.review import resolve_change_requests

    resolve_change_requests(contribution, now)
    resubmitted = action == "resubmit"
    record(
        actor,
        "contribution.submitted",
        contribution,
        f"{actor.full_name} {'resubmitted' if resubmitted else 'submitted'} {contribution.csp.name}'s contribution",
        **({"resubmitted": True} if resubmitted else {}),
    )
    _email_submitted(actor, contribution)


def _email_submitted(actor: User, contribution: Contribution) -> None:
    """The lead bidder's administrators and staff hear of it (to review it), and so do the CSP's
    other people; the person who submitted gets their copy of the CSP's email as a receipt."""
    from app.models import NotificationKind
    from app.services.notifications import Email, csp_people, lead_people, link_to, notify, receipt

    rnd = contribution.round
    key = f"submitted:{contribution.id}:{contribution.version}"
    resubmitted = contribution.status == ContributionStatus.RESUBMITTED
    kind = NotificationKind.RESUBMITTED if resubmitted else NotificationKind.SUBMITTED
    summary = (
        f"{actor.full_name} {'resubmitted' if resubmitted else 'submitted'} {contribution.csp.name}'s contribution"
    )
    common = {"contribution": contribution, "round": rnd, "submitted_by": actor}
    csp_email = Email(
        "contribution_submitted_csp",
        {**common, "link": absolute_url("contributions.task_list", contribution_id=contribution.id)},
    )
    notify(
        kind,
        csp_people(contribution.csp_id),
        summary=summary,
        link=link_to("contributions.task_list", contribution_id=contribution.id),
        event_key=key,
        lead_bidder_id=rnd.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=csp_email,
    )
    receipt(actor, csp_email, key, rnd.lead_bidder_id)
    notify(
        kind,
        lead_people(rnd.lead_bidder_id),
        summary=summary,
        link=link_to("review.contribution", contribution_id=contribution.id),
        event_key=key,
        lead_bidder_id=rnd.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email(
            "contribution_submitted_lead",
            {**common, "link": absolute_url("contributions.task_list", contribution_id=contribution.id)},
        ),
    )


# --- reading -------------------------------------------------------------------------------------

def _visible_to(actor: User):
    from app.models import Round
    from app.policy import lifecycle

    stmt = select(Contribution).join(Round).where(Round.lead_bidder_id == actor.lead_bidder_id)
    if actor.is_csp:
        stmt = stmt.where(
            Contribution.csp_id == actor.organisation_id, Round.status.in_(lifecycle.VISIBLE_TO_CSPS)
        )
    stmt = stmt.options(contains_eager(Contribution.round).selectinload(Round.sections))
    return stmt.order_by(Round.internal_deadline.desc(), Contribution.id.desc())


def page_for(actor: User, page=1) -> Page[Contribution]:
    """One page of the contributions the actor may see on their home page (PAGE_SIZE_CARDS: each is a
    card), latest internal deadline first: a CSP user's own CSP's, in rounds that have opened; a lead
    bidder user's, in every round of theirs."""
    return paginate(_visible_to(actor), page, page_size("cards"))
