"""Notifications: tell the right people what happened, in the service and by email.

A service that changes something people need to know about calls `notify()` in the same
transaction as the change. It writes one Notification per recipient (never the person who
acted; never twice for the same event) and hands the new rows to `deliver()`, which emails
them through the outbox as each person chose (app/account, "Email notifications"):

- Immediately (the default): the event's own email, queued at once;
- In a daily summary: nothing now; the row waits for the next summary (app/services/digests.py,
  9am UK time on working days), which lists everything not yet emailed;
- Off: no email; the notification still shows on the What's new page.

Deadline reminders (app/services/reminders.py) do not come through here: no preference stops them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import current_app, has_request_context, url_for
from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import Contribution, EmailFrequency, Notification, NotificationKind, Role, Round, User
from app.models.base import utcnow
from app.services.outbox import queue_email


@dataclass(frozen=True)
class Email:
    """The email that goes with a notification: a template in templates/email/ and its context.
    Each recipient's email gets `user` (the recipient) added to the context."""

    template: str
    context: dict = field(default_factory=dict)


def link_to(endpoint: str, **values) -> str:
    """A notification's link: the path of a page in the service (not an absolute URL, so it
    works whatever address the service is reached at)."""
    if has_request_context():
        return url_for(endpoint, **values)
    with current_app.test_request_context("/"):
        return url_for(endpoint, **values)


def notify(
    kind: NotificationKind,
    recipients: Iterable[User],
    *,
    summary: str,
    link: str,
    event_key: str,
    lead_bidder_id: int,
    actor: User | None = None,
    round: Round | None = None,  # noqa: A002 - the round the event is about
    contribution: Contribution | None = None,
    email: Email | None = None,
) -> list[Notification]:
    """Write the notifications of one event and deliver them. Returns the rows written.

    Recipients who are inactive, the actor themself, duplicates and people already notified
    of this event (a retried request) are left out."""
    people: dict[int, User] = {}
    for user in recipients:
        if user is None or not user.active or (actor is not None and user.id == actor.id):
            continue
        people.setdefault(user.id, user)
    if not people:
        return []
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.event_key == event_key, Notification.user_id.in_(list(people))
            )
        )
    )
    now = utcnow()
    rows = [
        Notification(
            lead_bidder_id=lead_bidder_id,
            user_id=user.id,
            user=user,
            kind=NotificationKind(kind).value,
            summary=summary[:300],
            link=link,
            event_key=event_key,
            actor_id=actor.id if actor is not None else None,
            round_id=round.id if round is not None else (contribution.round_id if contribution is not None else None),
            contribution_id=contribution.id if contribution is not None else None,
            created_at=now,
        )
        for user_id, user in people.items()
        if user_id not in already
    ]
    db.session.add_all(rows)
    if email is not None:
        deliver(rows, email)  # before the INSERT, so each row is written with its email decision
    db.session.flush()
    return rows


# Notification.email_via: how each row's email goes.
EMAIL_NOW = "now"
EMAIL_IN_DIGEST = "digest"
EMAIL_OFF = "off"


def deliver(rows: list[Notification], email: Email) -> None:
    """Email each new notification as its person chose: at once through the outbox, in their next
    daily summary, or not at all. Records the choice on the row (`email_via`, `emailed_at`)."""
    now = utcnow()
    for row in rows:  # every decision first: queueing an email flushes the rows
        frequency = row.user.email_notifications
        if frequency == EmailFrequency.DAILY:
            row.email_via = EMAIL_IN_DIGEST
        elif frequency == EmailFrequency.OFF:
            row.email_via = EMAIL_OFF
        else:
            row.email_via = EMAIL_NOW
            row.emailed_at = now
    for row in rows:
        if row.email_via == EMAIL_NOW:
            queue_email(
                row.user.email,
                email.template,
                idempotency_key=f"{row.event_key}:{row.user.email}"[:200],
                lead_bidder_id=row.lead_bidder_id,
                **{**email.context, "user": row.user},
            )


# --- who should hear about what -------------------------------------------------------------------

def csp_people(csp_id: int) -> list[User]:
    """The CSP's active people who have signed up: its managers, and its contributors unless they
    chose not to get what the managers get (their email preferences: `User.follow_csp`)."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organisation_id == csp_id,
                or_(
                    User.role == Role.CSP_MANAGER,
                    and_(User.role == Role.CSP_CONTRIBUTOR, User.follow_csp.is_(True)),
                ),
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
    )


def lead_people(lead_bidder_id: int, roles=(Role.LEAD_ADMIN, Role.LEAD_STAFF)) -> list[User]:
    """The lead bidder's active people of the given roles who have signed up."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organisation_id == lead_bidder_id,
                User.role.in_(list(roles)),
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
    )


# --- reading ----------------------------------------------------------------------------------------

def unread_count(user: User) -> int:
    """How many of the person's notifications are not read yet: one statement."""
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ) or 0


def receipt(actor: User, email: Email, event_key: str, lead_bidder_id: int) -> None:
    """The email a person gets about something they did themself (the copy of what they signed
    off, the deadline they changed), where the service has always sent one. It is not a
    notification: nothing is new to them, so What's new does not show it."""
    if actor is None or not actor.active:
        return
    queue_email(
        actor.email,
        email.template,
        idempotency_key=f"{event_key}:{actor.email}"[:200],
        lead_bidder_id=lead_bidder_id,
        **{**email.context, "user": actor},
    )


def lead_reviewers(contribution: Contribution) -> list[User]:
    """The lead bidder's people who review this contribution: the administrators and staff who
    have commented on it, asked for changes to it or decided on it. Until one has, every lead
    administrator and member of staff (somebody must hear of a CSP's first question)."""
    from app.models import LEAD_EDITORS, ChangeRequest, ReviewComment

    took_part = (
        select(ReviewComment.author_id.label("user_id")).where(ReviewComment.contribution_id == contribution.id)
        .union(
            select(ChangeRequest.created_by_id).where(ChangeRequest.contribution_id == contribution.id),
            select(Contribution.decided_by_id).where(Contribution.id == contribution.id),
        )
    )
    reviewers = list(
        db.session.scalars(
            select(User)
            .where(
                User.id.in_(select(took_part.subquery().c.user_id)),
                User.organisation_id == contribution.lead_bidder_id,
                User.role.in_(list(LEAD_EDITORS)),
                User.active.is_(True),
                User.password_hash.is_not(None),
            )
            .order_by(User.id)
        )
    )
    return reviewers or lead_people(contribution.lead_bidder_id)


def assigned(
    actor: User | None,
    assignee: User,
    item_label: str,
    link: str,
    lead_bidder_id: int,
    round: Round | None = None,  # noqa: A002 - the round the item is in
    contribution: Contribution | None = None,
    event_key: str | None = None,
) -> list[Notification]:
    """Tell `assignee` that `item_label` (e.g. "Section 2. Local need and evidence of Reading
    CSP's contribution") was assigned to them. Call it from the service that assigns, in its
    transaction; event_key should name the assignment (e.g. f"assigned:{assignment.id}"), so
    assigning the same thing again later is news again but a retried request is not."""
    from app.urls import absolute_link

    who = actor.full_name if actor is not None else "Someone"
    summary = f"{who} assigned {item_label} to you"
    return notify(
        NotificationKind.ASSIGNED,
        [assignee],
        summary=summary,
        link=link,
        event_key=event_key or f"assigned:{link}:{assignee.id}",
        lead_bidder_id=lead_bidder_id,
        actor=actor,
        round=round,
        contribution=contribution,
        email=Email("notification", {
            "subject": (f"{round.title}: " if round is not None else "") + f"{item_label} is yours to do",
            "summary": summary,
            "link": absolute_link(link),
            "link_text": "Go to it",
        }),
    )
