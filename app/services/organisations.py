"""A lead bidder's organisation and its Community Safety Partnerships: reading and managing them."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Organisation, OrganisationKind, User, csps_of
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


# --- reading: always the actor's own lead bidder (and, for a CSP user, only their own CSP) -----------

def csps_for(actor: User, active_only: bool = False, including_id: int | None = None) -> list[Organisation]:
    """The CSPs of the actor's lead bidder, in name order (a CSP user: only their own); with
    active_only, the active ones and the one with including_id (a person's current CSP)."""
    stmt = csps_of(actor.lead_bidder_id)
    if actor.is_csp:
        stmt = stmt.where(Organisation.id == actor.organisation_id)
    if active_only:
        stmt = stmt.where(or_(Organisation.active.is_(True), Organisation.id == including_id))
    return db.session.scalars(stmt).all()


def organisation_for(actor: User, organisation_id: int | None) -> Organisation | None:
    """The actor's lead bidder or one of its CSPs with this id (for a form's choice); None otherwise."""
    org = db.session.get(Organisation, organisation_id) if organisation_id else None
    if org is None or org.tenant_id != actor.lead_bidder_id:
        return None
    if actor.is_csp and org.id != actor.organisation_id:
        return None
    return org


def active_user_counts(actor: User) -> dict[int, int]:
    """How many active accounts each organisation of the actor's lead bidder has, by organisation id."""
    stmt = (
        select(User.organisation_id, func.count())
        .where(User.lead_bidder_id == actor.lead_bidder_id, User.active.is_(True))
        .group_by(User.organisation_id)
    )
    if actor.is_csp:
        stmt = stmt.where(User.organisation_id == actor.organisation_id)
    return dict(db.session.execute(stmt).all())


def summary_for(actor: User) -> dict[str, int]:
    """The lead bidder's home-page figures: active CSPs, active users, and those still invited."""
    lead_id = actor.lead_bidder_id
    active_users = (User.lead_bidder_id == lead_id, User.active.is_(True))
    return {
        "csps": db.session.scalar(
            select(func.count()).where(
                Organisation.lead_bidder_id == lead_id,
                Organisation.kind == OrganisationKind.CSP,
                Organisation.active.is_(True),
            )
        ),
        "users": db.session.scalar(select(func.count()).where(*active_users)),
        "invited": db.session.scalar(select(func.count()).where(*active_users, User.password_hash.is_(None))),
    }


def set_two_factor_required(actor: User, csp: Organisation, required: bool) -> bool:
    """Require (or stop requiring) two-factor sign-in of everyone at a CSP. Its people who have not
    set it up can do nothing else until they have (app/auth/gate.py). Returns whether it changed."""
    from app.policy import require

    require(actor, "csp.require_two_factor", csp)
    if csp.two_factor_required == required:
        return False
    csp.two_factor_required = required
    record(
        actor,
        "csp.two_factor_required" if required else "csp.two_factor_optional",
        csp,
        f"{'Required' if required else 'Stopped requiring'} two-factor sign-in for everyone at {csp.name}",
    )
    return True
