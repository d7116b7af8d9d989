"""Managing a lead bidder's Community Safety Partnerships."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Organisation, OrganisationKind, User
from app.services import ServiceError
from app.services.accounts import deactivate_user
from app.services.audit import record


def _check_unique_name(lead_bidder_id: int, name: str, exclude_id: int | None = None) -> None:
    stmt = select(Organisation.id).where(
        Organisation.lead_bidder_id == lead_bidder_id, func.lower(Organisation.name) == name.lower()
    )
    if exclude_id is not None:
        stmt = stmt.where(Organisation.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise ServiceError("A CSP with this name already exists", field="name")


def add_csp(actor: User, name: str, short_name: str | None = None, area: str | None = None) -> Organisation:
    name = " ".join(name.split())
    _check_unique_name(actor.lead_bidder_id, name)
    csp = Organisation(
        kind=OrganisationKind.CSP,
        name=name,
        short_name=(short_name or "").strip() or None,
        area=(area or "").strip() or None,
        lead_bidder_id=actor.lead_bidder_id,
    )
    db.session.add(csp)
    db.session.flush()
    record(actor, "csp.added", csp, f"Added {csp.name}")
    return csp


def update_csp(actor: User, csp: Organisation, name: str, short_name: str | None, area: str | None) -> None:
    name = " ".join(name.split())
    _check_unique_name(actor.lead_bidder_id, name, exclude_id=csp.id)
    changes = {}
    for attr, value in (
        ("name", name),
        ("short_name", (short_name or "").strip() or None),
        ("area", (area or "").strip() or None),
    ):
        if getattr(csp, attr) != value:
            changes[attr] = [getattr(csp, attr), value]
            setattr(csp, attr, value)
    if changes:
        record(actor, "csp.updated", csp, f"Updated {csp.name}", changes=changes)


def deactivate_csp(actor: User, csp: Organisation) -> int:
    """Deactivate a CSP and every account in it. Returns how many accounts were deactivated."""
    if not csp.active:
        return 0
    csp.active = False
    count = 0
    for user in csp.users:
        if user.active:
            deactivate_user(actor, user)
            count += 1
    record(actor, "csp.deactivated", csp, f"Deactivated {csp.name} and {count} accounts")
    return count


def reactivate_csp(actor: User, csp: Organisation) -> None:
    if csp.active:
        return
    csp.active = True
    record(actor, "csp.reactivated", csp, f"Reactivated {csp.name} (its accounts stay deactivated until reactivated)")
