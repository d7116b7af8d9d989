"""Recording audit events."""

from __future__ import annotations

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
