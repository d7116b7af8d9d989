"""Recording audit events, and reading them back for the lead bidder's administrators."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User


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
        detail=detail,
    )
    db.session.add(event)
    return event


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


def activity_for(actor: User, page: int, per_page: int = 50) -> tuple[list[AuditEvent], bool]:
    """One page of the actor's lead bidder's activity, newest first, and whether there is a next page."""
    page = max(page, 1)
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.lead_bidder_id == actor.lead_bidder_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    return events[:per_page], len(events) > per_page
