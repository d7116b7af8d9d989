"""Recording audit events, and reading them back for the lead bidder's administrators."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AuditEvent, User
from app.services.pages import Page, paginate


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


def activity_for(actor: User, page=1) -> Page[AuditEvent]:
    """One page of the actor's lead bidder's activity, newest first."""
    return paginate(
        select(AuditEvent)
        .where(AuditEvent.lead_bidder_id == actor.lead_bidder_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .options(selectinload(AuditEvent.actor)),
        page,
    )
