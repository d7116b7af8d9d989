"""A CSP's contribution as a whole: its task list, marking parts complete, and submitting it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy import select, update

from app.extensions import db
from app.models import Contribution, ContributionStatus, Role, SectionResponse, SectionTemplate, User
from app.models.base import utcnow
from app.services import ServiceError
from app.services.audit import record
from app.services.outbox import queue_email
from app.urls import absolute_url

NOT_STARTED, IN_PROGRESS, COMPLETED = "Not yet started", "In progress", "Completed"

# The parts of a contribution besides its narrative sections: (key, title, hint).
PARTS = (
    ("budget", "Budget", "By financial year and cost category"),
    ("outcomes", "Outcomes", "Measures, baselines and targets"),
    ("partners", "Partners involved", "Organisations and their roles"),
    ("documents", "Supporting documents", "Problem profiles, letters of support"),
)


@dataclass
class Task:
    key: str
    title: str
    href: str
    status: str
    hint: str = ""
    required: bool = True


def csp_sections(contribution: Contribution) -> list[SectionTemplate]:
    return [s for s in contribution.round.sections if s.csp_contributes]


def response_for(contribution: Contribution, section: SectionTemplate) -> SectionResponse | None:
    return db.session.scalar(
        select(SectionResponse).where(
            SectionResponse.contribution_id == contribution.id, SectionResponse.section_id == section.id
        )
    )


def _section_status(response: SectionResponse | None) -> str:
    if response is None or (not response.text.strip() and not response.revisions):
        return NOT_STARTED
    return COMPLETED if response.completed else IN_PROGRESS


def _part_status(contribution: Contribution, key: str) -> str:
    if getattr(contribution, f"{key}_completed"):
        return COMPLETED
    items = {
        "budget": contribution.budget_lines,
        "outcomes": contribution.outcomes,
        "partners": contribution.partners,
        "documents": contribution.attachments,
    }[key]
    return IN_PROGRESS if items else NOT_STARTED


def tasks(contribution: Contribution) -> list[Task]:
    responses = {
        r.section_id: r
        for r in db.session.scalars(select(SectionResponse).where(SectionResponse.contribution_id == contribution.id))
    }
    result = [
        Task(
            key=f"section-{s.id}",
            title=f"{s.number}. {s.title}",
            href=url_for("contributions.edit_section", contribution_id=contribution.id, section_id=s.id),
            status=_section_status(responses.get(s.id)),
            required=s.required,
        )
        for s in csp_sections(contribution)
    ]
    endpoints = {
        "budget": "contributions.budget",
        "outcomes": "contributions.outcomes",
        "partners": "contributions.partners",
        "documents": "contributions.documents",
    }
    result += [
        Task(
            key=key,
            title=title,
            href=url_for(endpoints[key], contribution_id=contribution.id),
            status=_part_status(contribution, key),
            hint=hint,
        )
        for key, title, hint in PARTS
    ]
    return result


def outstanding(contribution: Contribution) -> list[Task]:
    """Required tasks not yet completed: what stops the contribution being submitted."""
    return [t for t in tasks(contribution) if t.required and t.status != COMPLETED]


@dataclass
class StillToDo:
    """What a CSP has left to do before (re)submitting: the one answer for the home page, the task
    list and the reminder emails."""

    tasks: list[Task]  # required parts not yet completed
    revisit: list[str]  # parts the lead bidder asked them to revisit (changes requested)
    resubmit: bool  # changes were requested: the next submission is a resubmission

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
    all_tasks = all_tasks if all_tasks is not None else tasks(contribution)
    missing = [t for t in all_tasks if t.required and t.status != COMPLETED]
    revisit: list[str] = []
    resubmit = contribution.status == ContributionStatus.CHANGES_REQUESTED
    if resubmit:
        from app.services.review import open_change_request, task_titles

        change = open_change_request(contribution)
        if change is not None:
            titles = task_titles(contribution)
            revisit = [titles.get(k, k) for k in change.items]
    return StillToDo(missing, revisit, resubmit)


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
    """Each section the CSP writes, with its text, for check-your-answers and exports."""
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
    rnd = contribution.round
    key = f"submitted:{contribution.id}:{contribution.version}"
    recipients = {actor.email: actor}
    if contribution.manager is not None:
        recipients.setdefault(contribution.manager.email, contribution.manager)
    for email, user in recipients.items():
        queue_email(
            email,
            "contribution_submitted_csp",
            idempotency_key=f"{key}:{email}",
            lead_bidder_id=rnd.lead_bidder_id,
            contribution=contribution,
            round=rnd,
            user=user,
            submitted_by=actor,
            link=absolute_url("contributions.task_list", contribution_id=contribution.id),
        )
    staff = db.session.scalars(
        select(User).where(
            User.organisation_id == rnd.lead_bidder_id,
            User.role.in_([Role.LEAD_ADMIN, Role.LEAD_STAFF]),
            User.active.is_(True),
            User.password_hash.is_not(None),
        )
    ).all()
    for user in staff:
        queue_email(
            user.email,
            "contribution_submitted_lead",
            idempotency_key=f"{key}:{user.email}",
            lead_bidder_id=rnd.lead_bidder_id,
            contribution=contribution,
            round=rnd,
            user=user,
            submitted_by=actor,
            link=absolute_url("contributions.task_list", contribution_id=contribution.id),
        )


# --- reading -------------------------------------------------------------------------------------

def list_for(actor: User) -> list[Contribution]:
    """The contributions the actor may see on their home page, latest internal deadline first: a CSP
    user's own CSP's, in rounds that have opened; a lead bidder user's, in every round of theirs."""
    from app.models import Round
    from app.policy import lifecycle

    stmt = select(Contribution).join(Round).where(Round.lead_bidder_id == actor.lead_bidder_id)
    if actor.is_csp:
        stmt = stmt.where(
            Contribution.csp_id == actor.organisation_id, Round.status.in_(lifecycle.VISIBLE_TO_CSPS)
        )
    return db.session.scalars(stmt.order_by(Round.internal_deadline.desc())).all()
