"""Reviewing contributions (lead bidder): the round overview, comments, requests for changes,
accepting, excluding (and including again), and each contribution's activity timeline.

Status rules (the transitions are in app/policy/lifecycle.py, who may in app/policy/rules.py):
- request changes: SUBMITTED, RESUBMITTED or ACCEPTED -> CHANGES_REQUESTED (round open for
  contributions), with a ChangeRequest row and an email that says why; the CSP's resubmission
  (services.contributions.submit) resolves it and makes the contribution RESUBMITTED.
- accept: SUBMITTED or RESUBMITTED -> ACCEPTED.
- exclude: any status but EXCLUDED -> EXCLUDED, with a reason.
- include again: EXCLUDED -> CHANGES_REQUESTED if a change request is still open, else
  RESUBMITTED / SUBMITTED if it had been submitted (the lead decides again), else IN_PROGRESS;
  the CSP is emailed that it is part of the bid again.
Every status change is a conditional UPDATE on Contribution.version, so a double click or two
reviewers at once change it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuditEvent, BudgetLine, Contribution, ContributionStatus, NotificationKind, User
from app.models.base import utcnow
from app.models.contribution import CSP_HOLDS
from app.models.review import ChangeRequest, ReviewComment
from app.policy import can, require
from app.services import ServiceError
from app.services.audit import record
from app.services.changes import mark_reviewed, snapshot_of
from app.services.changes import to_review as changes_to_review
from app.services.contributions import COMPLETED, PARTS, csp_sections, task_facts, tasks
from app.services.notifications import Email, csp_people, lead_reviewers, link_to, notify
from app.urls import absolute_url

AT_RISK_DAYS = 7
NOT_YET_SUBMITTED = CSP_HOLDS
MAX_MESSAGE = 5000


# --- who may do what: the rulebook (app/policy/rules.py) ---------------------------------------


def can_review(user: User) -> bool:
    return can(user, "contribution.review")


def can_comment(user: User, contribution: Contribution) -> bool:
    """Lead bidder staff, and the people of the contribution's own CSP."""
    return can(user, "contribution.comment", contribution)


# --- the round overview ---------------------------------------------------------------------


@dataclass
class OverviewRow:
    contribution: Contribution
    done: int
    parts: int
    requested_pence: int
    at_risk: bool
    changes_to_review: bool = False  # resubmitted after a change request, not decided on since

    @property
    def status(self) -> ContributionStatus:
        return self.contribution.status


def is_at_risk(contribution: Contribution, done: int, parts: int, now: datetime | None = None) -> bool:
    """Not yet submitted, and either the deadline has passed, or it is 7 days away or less with
    fewer than half the parts completed."""
    now = now or utcnow()
    if contribution.status not in NOT_YET_SUBMITTED:
        return False
    if now > contribution.deadline:
        return True
    return contribution.deadline - now <= timedelta(days=AT_RISK_DAYS) and done * 2 < parts


def overview(rnd, now: datetime | None = None) -> list[OverviewRow]:
    """A row per contribution, in CSP name order: a fixed number of queries however many CSPs."""
    from app.services.rounds import contributions_by_csp

    contributions = contributions_by_csp(rnd)
    facts = task_facts(contributions)
    requested = dict(db.session.execute(
        select(BudgetLine.contribution_id, func.sum(BudgetLine.amount_pence))
        .join(Contribution, Contribution.id == BudgetLine.contribution_id)
        .where(Contribution.round_id == rnd.id)
        .group_by(BudgetLine.contribution_id)
    ).all())
    sections = csp_sections(contributions[0]) if contributions else []  # one round: the same sections
    # Only a resubmitted contribution can have changes to review (any decision changes its status).
    to_review = changes_to_review([c.id for c in contributions if c.status == ContributionStatus.RESUBMITTED])
    rows = []
    for c in contributions:
        all_tasks = tasks(c, facts[c.id], sections)
        done = sum(1 for t in all_tasks if t.status == COMPLETED)
        rows.append(
            OverviewRow(
                contribution=c,
                done=done,
                parts=len(all_tasks),
                requested_pence=int(requested.get(c.id) or 0),
                at_risk=is_at_risk(c, done, len(all_tasks), now),
                changes_to_review=c.id in to_review,
            )
        )
    return rows


def filter_rows(rows: list[OverviewRow], status=None, at_risk: bool = False) -> list[OverviewRow]:
    """The overview's rows with this status (None: any), and only those at risk when asked."""
    return [r for r in rows if (status is None or r.status == status) and (r.at_risk or not at_risk)]


@dataclass
class OverviewTotals:
    contributions: int
    submitted: int  # with the lead bidder: submitted, resubmitted or accepted (app.services.progress)
    awaiting_review: int
    accepted: int
    at_risk: int
    requested_pence: int  # every contribution except excluded ones


def totals(rows: list[OverviewRow]) -> OverviewTotals:
    from app.services.progress import count

    counts = count(r.contribution for r in rows)
    return OverviewTotals(
        contributions=counts.total,
        submitted=counts.submitted,
        awaiting_review=counts.awaiting_review,
        accepted=counts.accepted,
        at_risk=sum(1 for r in rows if r.at_risk),
        requested_pence=sum(r.requested_pence for r in rows if r.status != ContributionStatus.EXCLUDED),
    )


# --- comments -------------------------------------------------------------------------------


def comments(contribution: Contribution, section_id: int | None = None, *, whole: bool = False) -> list[ReviewComment]:
    """Comments oldest first: all of them, one section's, or (whole=True) those on the whole."""
    query = select(ReviewComment).where(ReviewComment.contribution_id == contribution.id)
    if section_id is not None:
        query = query.where(ReviewComment.section_id == section_id)
    elif whole:
        query = query.where(ReviewComment.section_id.is_(None))
    query = query.options(joinedload(ReviewComment.author))  # each comment shows who wrote it
    return list(db.session.scalars(query.order_by(ReviewComment.created_at, ReviewComment.id)))


def section_choices(contribution: Contribution) -> list[tuple[str, str]]:
    return [("", "The contribution as a whole")] + [
        (str(s.id), f"Section {s.number}. {s.title}") for s in csp_sections(contribution)
    ]


def add_comment(actor: User, contribution: Contribution, section_id: int | None, body: str) -> ReviewComment:
    require(actor, "contribution.comment", contribution)
    section = None
    if section_id is not None:
        section = next((s for s in csp_sections(contribution) if s.id == section_id), None)
        if section is None:
            raise ServiceError("Select which part of the contribution your comment is about", field="section")
    body = (body or "").strip()
    if not body:
        raise ServiceError("Enter your comment", field="body")
    comment = ReviewComment(contribution=contribution, section=section, author_id=actor.id, body=body)
    db.session.add(comment)
    where = f"section {section.number}. {section.title}" if section else "the contribution"
    record(
        actor,
        "review.commented",
        contribution,
        f"{actor.full_name} commented on {where} of {contribution.csp.name}'s contribution",
    )
    db.session.flush()
    _notify_comment(actor, comment, section)
    return comment


def _notify_comment(actor: User, comment: ReviewComment, section) -> None:
    """A comment is for the other side of the conversation, and the author's own side hears too:
    the CSP's people, and the lead bidder's reviewers of this contribution (those who have commented
    on it, asked for changes or decided on it; every lead administrator and member of staff until
    one has). Never another CSP's people; never the author."""
    contribution = comment.contribution
    who = f"{actor.full_name} ({actor.organisation.name})"
    where = f"section {section.number}. {section.title} of " if section is not None else ""
    summary = f"{who} commented on {where}{contribution.csp.name}'s contribution: {_excerpt(comment.body)}"
    notify(
        NotificationKind.COMMENT,
        [*csp_people(contribution.csp_id), *lead_reviewers(contribution)],
        summary=summary,
        link=link_to("review.comments", contribution_id=contribution.id, _anchor=f"comment-{comment.id}"),
        event_key=f"comment:{comment.id}",
        lead_bidder_id=contribution.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email("notification", {
            "subject": f"{contribution.round.title}: {actor.full_name} commented on {contribution.csp.name}'s "
                       "contribution",
            "summary": summary,
            "link": absolute_url("review.comments", contribution_id=contribution.id, _anchor=f"comment-{comment.id}"),
            "link_text": "Read the comment and reply",
        }),
    )


def _excerpt(text: str, length: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


# --- change requests ------------------------------------------------------------------------


def open_change_request(contribution: Contribution) -> ChangeRequest | None:
    return open_change_requests([contribution]).get(contribution.id)


def open_change_requests(contributions: list[Contribution]) -> dict[int, ChangeRequest]:
    """open_change_request() of many contributions, by contribution id, in one query."""
    if not contributions:
        return {}
    rows = db.session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.contribution_id.in_([c.id for c in contributions]), ChangeRequest.resolved_at.is_(None))
        .order_by(ChangeRequest.created_at, ChangeRequest.id)
    )
    return {row.contribution_id: row for row in rows}  # the latest wins


def task_titles(contribution: Contribution) -> dict[str, str]:
    titles = {f"section-{s.id}": f"{s.number}. {s.title}" for s in csp_sections(contribution)}
    titles.update({key: title for key, title, _ in PARTS})
    return titles


def resolve_change_requests(contribution: Contribution, now: datetime | None = None) -> int:
    """Called by submit(): the CSP has resubmitted, so the open requests are dealt with."""
    result = db.session.execute(
        update(ChangeRequest)
        .where(ChangeRequest.contribution_id == contribution.id, ChangeRequest.resolved_at.is_(None))
        .values(resolved_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def _change_status(contribution: Contribution, expected_version: int | None, **values) -> None:
    version = contribution.version if expected_version is None else expected_version
    result = db.session.execute(
        update(Contribution)
        .where(Contribution.id == contribution.id, Contribution.version == version)
        .values(version=Contribution.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(contribution)
        raise ServiceError("Someone else changed this contribution just now. Check it and try again")
    db.session.refresh(contribution)




def request_changes(
    actor: User, contribution: Contribution, items: list[str], message: str, expected_version: int | None = None
) -> ChangeRequest:
    require(actor, "contribution.request_changes", contribution)
    was_accepted = contribution.status == ContributionStatus.ACCEPTED
    titles = task_titles(contribution)
    chosen = [key for key in titles if key in set(items)]
    if not chosen:
        raise ServiceError("Select the parts the CSP should revisit", field="items")
    message = (message or "").strip()
    if not message:
        raise ServiceError("Enter a message for the CSP", field="message")
    now = utcnow()
    _change_status(contribution, expected_version, status=ContributionStatus.CHANGES_REQUESTED, updated_at=now,
                   decided_at=None, decided_by_id=None)
    mark_reviewed(contribution, now)
    # The budget, outcomes and partners keep no history: keep them as they are, to show what changed.
    change = ChangeRequest(
        contribution_id=contribution.id, items=chosen, message=message, created_by_id=actor.id, created_at=now,
        snapshot=snapshot_of(contribution),
    )
    db.session.add(change)
    db.session.flush()
    record(
        actor,
        "contribution.changes_requested",
        contribution,
        f"{actor.full_name} {'sent back' if was_accepted else 'asked'} {contribution.csp.name} "
        f"{'(accepted before) ' if was_accepted else ''}to revisit: " + ", ".join(titles[k] for k in chosen),
        message=message,
        was_accepted=was_accepted,
        items=chosen,
        change_request_id=change.id,
    )
    items_words = [titles[k] for k in chosen]
    notify(
        NotificationKind.CHANGES_REQUESTED,
        csp_people(contribution.csp_id),
        summary=f"{actor.full_name} asked {contribution.csp.name} to change their contribution: "
        + ", ".join(items_words),
        link=link_to("contributions.task_list", contribution_id=contribution.id),
        event_key=f"changes_requested:{change.id}",
        lead_bidder_id=contribution.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email(
            "changes_requested",
            {
                "contribution": contribution,
                "round": contribution.round,
                "reviewer": actor,
                "message": message,
                "items": items_words,
                "was_accepted": was_accepted,
                "deadline": contribution.deadline,
                "link": absolute_url("contributions.task_list", contribution_id=contribution.id),
            },
        ),
    )
    return change


def accept(actor: User, contribution: Contribution, expected_version: int | None = None) -> None:
    if contribution.status == ContributionStatus.ACCEPTED:
        raise ServiceError(f"{contribution.csp.name}'s contribution has already been accepted")
    require(actor, "contribution.accept", contribution)
    now = utcnow()
    _change_status(
        contribution,
        expected_version,
        status=ContributionStatus.ACCEPTED,
        decided_at=now,
        decided_by_id=actor.id,
        updated_at=now,
    )
    mark_reviewed(contribution, now)
    record(
        actor,
        "contribution.accepted",
        contribution,
        f"{actor.full_name} accepted {contribution.csp.name}'s contribution",
    )
    _notify_decision(actor, contribution, NotificationKind.ACCEPTED, "review_accepted",
                     f"{actor.full_name} accepted {contribution.csp.name}'s contribution into the bid")


def exclude(actor: User, contribution: Contribution, reason: str, expected_version: int | None = None) -> None:
    if contribution.status == ContributionStatus.EXCLUDED:
        raise ServiceError(f"{contribution.csp.name}'s contribution has already been excluded")
    require(actor, "contribution.exclude", contribution)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Enter the reason for excluding the contribution", field="reason")
    now = utcnow()
    previous = contribution.status
    _change_status(
        contribution,
        expected_version,
        status=ContributionStatus.EXCLUDED,
        decided_at=now,
        decided_by_id=actor.id,
        excluded_reason=reason,
        updated_at=now,
    )
    mark_reviewed(contribution, now)
    record(
        actor,
        "contribution.excluded",
        contribution,
        f"{actor.full_name} excluded {contribution.csp.name}'s contribution from the bid: {reason}",
        reason=reason,
        previous_status=previous.value,
    )
    _notify_decision(actor, contribution, NotificationKind.EXCLUDED, "review_excluded",
                     f"{actor.full_name} excluded {contribution.csp.name}'s contribution from the bid: {reason}",
                     reason=reason)


def status_after_inclusion(contribution: Contribution) -> ContributionStatus:
    if open_change_request(contribution) is not None:
        return ContributionStatus.CHANGES_REQUESTED
    if contribution.submitted_at is not None:
        resubmitted = db.session.scalar(
            select(ChangeRequest.id).where(ChangeRequest.contribution_id == contribution.id).limit(1)
        )
        return ContributionStatus.RESUBMITTED if resubmitted else ContributionStatus.SUBMITTED
    return ContributionStatus.IN_PROGRESS


def include_again(actor: User, contribution: Contribution, expected_version: int | None = None) -> None:
    if contribution.status != ContributionStatus.EXCLUDED:
        raise ServiceError(f"{contribution.csp.name}'s contribution is not excluded")
    require(actor, "contribution.include", contribution)
    status = status_after_inclusion(contribution)
    _change_status(
        contribution,
        expected_version,
        status=status,
        decided_at=None,
        decided_by_id=None,
        excluded_reason=None,
        updated_at=utcnow(),
    )
    record(
        actor,
        "contribution.included",
        contribution,
        f"{actor.full_name} included {contribution.csp.name}'s contribution in the bid again ({status.label.lower()})",
        status=status.value,
    )
    _notify_decision(actor, contribution, NotificationKind.INCLUDED, "review_included",
                     f"{actor.full_name} included {contribution.csp.name}'s contribution in the bid again "
                     f"({status.label.lower()})")


def _notify_decision(
    actor: User, contribution: Contribution, kind: NotificationKind, template: str, summary: str, **context
) -> None:
    """The CSP's people (managers and contributors) hear of the lead bidder's decision."""
    notify(
        kind,
        csp_people(contribution.csp_id),
        summary=summary,
        link=link_to("contributions.task_list", contribution_id=contribution.id),
        event_key=f"{template}:{contribution.id}:{contribution.version}",
        lead_bidder_id=contribution.lead_bidder_id,
        actor=actor,
        contribution=contribution,
        email=Email(
            template,
            dict(
                contribution=contribution,
                round=contribution.round,
                reviewer=actor,
                link=absolute_url("contributions.task_list", contribution_id=contribution.id),
                **context,
            ),
        ),
    )


# --- the activity timeline ------------------------------------------------------------------

TIMELINE_ACTIONS = {
    "contribution.submitted": "Submitted",
    "contribution.changes_requested": "Changes requested",
    "contribution.accepted": "Accepted",
    "contribution.excluded": "Excluded from the bid",
    "contribution.included": "Included in the bid again",
    "contribution.extension_granted": "Extension granted",
    "budget.imported": "Budget lines imported from Excel",
}


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    who: User | None
    text: str = ""
    items: list[str] | None = None
    items_heading: str = "Parts to revisit:"
    section: object | None = None
    kind: str = "event"


def timeline(contribution: Contribution, internal_notes: list | None = None) -> list[TimelineEntry]:
    """What happened to the contribution, newest first: status changes, extensions, comments, and
    the lead bidder's internal notes when the caller passes them (app.services.internal_notes.notes,
    which gives none to anyone who may not read them)."""
    titles = task_titles(contribution)
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.lead_bidder_id == contribution.lead_bidder_id,
            AuditEvent.object_type == "Contribution",
            AuditEvent.object_id == contribution.id,
            AuditEvent.action.in_(TIMELINE_ACTIONS),
        )
    )
    entries = []
    for e in events:
        detail = e.detail or {}
        title = TIMELINE_ACTIONS[e.action]
        text, items = "", None
        if e.action == "contribution.submitted" and detail.get("resubmitted"):
            title = "Resubmitted"
        elif e.action == "contribution.changes_requested":
            text = detail.get("message", "")
            items = [titles.get(k, k) for k in detail.get("items", [])]
        elif e.action in ("contribution.excluded", "contribution.extension_granted"):
            text = detail.get("reason", "")
        elif e.action == "budget.imported":  # the lines it replaced are kept here, as they were
            text, items = e.summary, detail.get("replaced_lines") or None
        entry = TimelineEntry(at=e.created_at, title=title, who=e.actor, text=text, items=items)
        if e.action == "budget.imported":
            entry.items_heading = "The budget lines it replaced:"
        entries.append(entry)
    for c in comments(contribution):
        where = f"section {c.section.number}. {c.section.title}" if c.section else "the contribution as a whole"
        entries.append(
            TimelineEntry(
                at=c.created_at,
                title=f"Comment on {where}",
                who=c.author,
                text=c.body,
                section=c.section,
                kind="comment",
            )
        )
    for note in internal_notes or []:
        where = f"section {note.section.number}. {note.section.title}" if note.section else "the whole contribution"
        entries.append(
            TimelineEntry(
                at=note.created_at,
                title=f"Internal note on {where}",
                who=note.author,
                text=note.body,
                section=note.section,
                kind="internal-note",
            )
        )
    entries.sort(key=lambda x: x.at, reverse=True)
    return entries
