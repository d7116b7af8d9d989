"""Recording audit events, and reading them back for the lead bidder's administrators.

The trail is append-only: nothing here changes or removes an event, and on PostgreSQL a trigger
refuses UPDATE, DELETE and TRUNCATE of audit_event (migration 0010). Secrets never reach it:
`record()` drops any detail whose name speaks of a password, token, secret or cookie, and the
summaries name people and records, never what they typed to prove who they are.

Administrators read their own lead bidder's events only (`activity_for`, `activity_csv`), filtered
by who, what action, when (UK dates, from and to, both included) and which record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from app.dates import london_to_utc, to_london
from app.extensions import db
from app.models import AuditEvent, User
from app.services.pages import Page, paginate

# Detail names that could carry a secret: never stored, whatever a caller passes.
SECRET_NAME = re.compile(r"password|passwd|token|secret|cookie|session|otp|csrf", re.IGNORECASE)
CSV_HEADERS = ("When (UK time)", "Who", "Email", "Action", "Record type", "Record id", "What happened")
# The export is one file of at most this many events (the newest); the page says so.
CSV_MAX_ROWS = 50_000


def record(
    actor: User | None,
    action: str,
    obj=None,
    summary: str = "",
    lead_bidder_id: int | None = None,
    **detail,
) -> AuditEvent:
    if lead_bidder_id is None:
        if obj is not None and hasattr(obj, "tenant_id"):
            lead_bidder_id = obj.tenant_id
        elif obj is not None and hasattr(obj, "lead_bidder_id"):
            lead_bidder_id = obj.lead_bidder_id
        elif actor is not None:
            lead_bidder_id = actor.lead_bidder_id
    event = AuditEvent(
        lead_bidder_id=lead_bidder_id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        summary=summary[:500],
        detail={name: value for name, value in detail.items() if not SECRET_NAME.search(name)},
    )
    db.session.add(event)
    return event


def record_many(actor: User | None, action: str, object_type: str, events: list[tuple[int | None, str, dict]],
                lead_bidder_id: int) -> int:
    """Many events of one kind at once (each line of an imported budget sheet): the same rows as
    record() would write, in one INSERT (executemany) whatever their number. `events` are
    (object id, summary, detail)."""
    if not events:
        return 0
    db.session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "lead_bidder_id": lead_bidder_id,
                "actor_id": actor.id if actor is not None else None,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "summary": summary[:500],
                "detail": {name: value for name, value in detail.items() if not SECRET_NAME.search(name)},
            }
            for object_id, summary, detail in events
        ],
    )
    return len(events)


def events_about(actor: User, obj, limit: int = 20) -> list[AuditEvent]:
    """The latest events about one record (a user, a CSP ...) of the actor's lead bidder."""
    return db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.lead_bidder_id == actor.lead_bidder_id,
            AuditEvent.object_type == type(obj).__name__,
            AuditEvent.object_id == obj.id,
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()


@dataclass(frozen=True)
class ActivityFilter:
    """What an administrator narrows the activity to; None means any."""

    actor_id: int | None = None
    action: str | None = None
    since: date | None = None  # a UK date, included
    until: date | None = None  # a UK date, included
    object_type: str | None = None
    object_id: int | None = None


def _activity(actor: User, filters: ActivityFilter | None) -> Select:
    f = filters or ActivityFilter()
    stmt = select(AuditEvent).where(AuditEvent.lead_bidder_id == actor.lead_bidder_id)
    if f.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == f.actor_id)
    if f.action:
        stmt = stmt.where(AuditEvent.action == f.action)
    if f.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= london_to_utc(f.since, time(0, 0)))
    if f.until is not None:
        stmt = stmt.where(AuditEvent.created_at < london_to_utc(f.until + timedelta(days=1), time(0, 0)))
    if f.object_type:
        stmt = stmt.where(AuditEvent.object_type == f.object_type)
    if f.object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == f.object_id)
    return stmt.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


def activity_for(actor: User, page=1, filters: ActivityFilter | None = None) -> Page[AuditEvent]:
    """One page of the actor's lead bidder's activity, newest first, narrowed by `filters`."""
    return paginate(_activity(actor, filters).options(selectinload(AuditEvent.actor)), page)


@dataclass(frozen=True)
class ActivityChoices:
    people: list[tuple[int, str]]
    actions: list[str]
    record_types: list[str]


def activity_choices(actor: User) -> ActivityChoices:
    """The people, actions and kinds of record the actor's lead bidder's events name (the filter's
    lists)."""
    lead = AuditEvent.lead_bidder_id == actor.lead_bidder_id
    people = db.session.execute(
        select(User.id, User.full_name, User.email)
        .where(User.id.in_(select(AuditEvent.actor_id).where(lead).distinct()))
        .order_by(User.full_name, User.id)
    ).all()
    kinds = db.session.execute(select(AuditEvent.action, AuditEvent.object_type).where(lead).distinct()).all()
    return ActivityChoices(
        people=[(row.id, f"{row.full_name} ({row.email})") for row in people],
        actions=sorted({action for action, _ in kinds}),
        record_types=sorted({kind for _, kind in kinds if kind}),
    )


def action_label(action: str) -> str:
    """"budget_line.deleted" -> "Budget line deleted"."""
    words = action.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _csv_rows(events) -> Iterator[list[str]]:
    from app.services.exports.tables import csv_safe  # the exports package records events itself

    for event in events:
        who = event.actor
        yield [
            to_london(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            csv_safe(who.full_name if who else "The service"),
            csv_safe(who.email if who else ""),
            csv_safe(event.action),
            csv_safe(event.object_type),
            "" if event.object_id is None else str(event.object_id),
            csv_safe(event.summary),
        ]


def activity_csv(actor: User, filters: ActivityFilter | None = None) -> bytes:
    """The actor's lead bidder's events that match, newest first, as a CSV file: UTF-8 with a BOM
    and every text cell formula-safe (a cell that begins with =, +, - or @ is prefixed with ')."""
    from app.services.exports.tables import _csv

    events = db.session.scalars(
        _activity(actor, filters).options(selectinload(AuditEvent.actor)).limit(CSV_MAX_ROWS)
    ).all()
    return _csv(CSV_HEADERS, _csv_rows(events))
