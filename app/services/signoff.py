"""Sign-off, submission to the funder and reopening of the collective bid.

Decisions (the issue left them open):
- Only a lead bidder administrator signs off, marks as submitted and reopens (checked here too).
- Sign-off needs every readiness item to pass: an administrator cannot sign off with problems.
- A bid can be marked as submitted only once it is signed off. The time it went to the funder
  cannot be in the future.
- A signed-off or submitted bid can be reopened, with a reason: it goes back to a draft and the
  sign-off (and any submission details) are cleared; the audit log keeps them.
- Lead bidder administrators and staff are emailed when the bid is signed off, submitted or
  reopened (through the outbox).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from app.extensions import db
from app.models import Role, User
from app.models.base import utcnow
from app.models.bid import BidStatus, CollectiveBid
from app.services import ServiceError
from app.services.audit import record
from app.services.consolidation import readiness
from app.services.outbox import queue_email
from app.urls import absolute_url

DECLARATION_MAX = 2000
REFERENCE_MAX = 200
REASON_MAX = 2000

DEFAULT_DECLARATION = (
    "I confirm that I am authorised to sign off this bid on behalf of the lead bidder, that the partners "
    "named in it have agreed to their part, and that the budget and match funding are accurate."
)


def _require_admin(actor: User) -> None:
    if actor.role != Role.LEAD_ADMIN:
        raise ServiceError("Only a lead bidder administrator can do this")


def _bump(bid: CollectiveBid, expected_status: BidStatus, **values) -> None:
    """Change the bid with a conditional UPDATE, so two administrators cannot both act on it."""
    result = db.session.execute(
        update(CollectiveBid)
        .where(
            CollectiveBid.id == bid.id,
            CollectiveBid.version == bid.version,
            CollectiveBid.status == expected_status,
        )
        .values(version=CollectiveBid.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError("Someone else changed the bid at the same time. Check it and try again")
    db.session.refresh(bid)


def _notify(bid: CollectiveBid, template: str, actor: User, event_key: str) -> None:
    staff = db.session.scalars(
        select(User).where(
            User.organisation_id == bid.lead_bidder_id,
            User.role.in_([Role.LEAD_ADMIN, Role.LEAD_STAFF]),
            User.active.is_(True),
            User.password_hash.is_not(None),
        )
    ).all()
    for user in staff:
        queue_email(
            user.email,
            template,
            idempotency_key=f"{event_key}:{user.email}",
            lead_bidder_id=bid.lead_bidder_id,
            bid=bid,
            round=bid.round,
            user=user,
            actor=actor,
            link=absolute_url("bid.consolidation_readiness", round_id=bid.round_id),
        )


def sign_off(actor: User, bid: CollectiveBid, declaration: str | None, now: datetime | None = None) -> None:
    _require_admin(actor)
    now = now or utcnow()
    if bid.status != BidStatus.DRAFT:
        raise ServiceError(f"The bid has already been {bid.status.label.lower()}")
    declaration = (declaration or "").strip()
    if not declaration:
        raise ServiceError("Enter the declaration", field="declaration")
    if len(declaration) > DECLARATION_MAX:
        raise ServiceError(f"Declaration must be {DECLARATION_MAX:,} characters or fewer", field="declaration")
    check = readiness(bid.round)
    if not check.ready:
        raise ServiceError(
            "The bid cannot be signed off until every item in the readiness checklist passes: "
            + "; ".join(i.title.lower() for i in check.failing)
        )
    _bump(bid, BidStatus.DRAFT, status=BidStatus.SIGNED_OFF, signed_off_by_id=actor.id, signed_off_at=now,
          sign_off_declaration=declaration)
    record(actor, "bid.signed_off", bid, f"Signed off the bid for {bid.round.title}",
           lead_bidder_id=bid.lead_bidder_id, declaration=declaration, version=bid.version)
    _notify(bid, "bid_signed_off", actor, f"bid-signed-off:{bid.id}:{bid.version}")
    db.session.flush()


def mark_submitted(
    actor: User, bid: CollectiveBid, submitted_at: datetime, funder_reference: str | None,
    now: datetime | None = None,
) -> None:
    _require_admin(actor)
    now = now or utcnow()
    if bid.status != BidStatus.SIGNED_OFF:
        raise ServiceError(
            "The bid must be signed off before it is marked as submitted"
            if bid.status == BidStatus.DRAFT
            else "The bid has already been marked as submitted"
        )
    reference = (funder_reference or "").strip()
    if not reference:
        raise ServiceError("Enter the funder’s reference for the bid", field="funder_reference")
    if len(reference) > REFERENCE_MAX:
        raise ServiceError(f"Funder’s reference must be {REFERENCE_MAX} characters or fewer", field="funder_reference")
    if submitted_at > now:
        raise ServiceError("The date and time it was submitted must be in the past", field="submitted_on")
    _bump(bid, BidStatus.SIGNED_OFF, status=BidStatus.SUBMITTED, submitted_by_id=actor.id, submitted_at=submitted_at,
          funder_reference=reference)
    record(actor, "bid.submitted", bid, f"Marked the bid for {bid.round.title} as submitted to {bid.round.funder} "
           f"(reference {reference})", lead_bidder_id=bid.lead_bidder_id, funder_reference=reference,
           submitted_at=submitted_at.isoformat(), version=bid.version)
    _notify(bid, "bid_submitted", actor, f"bid-submitted:{bid.id}:{bid.version}")
    db.session.flush()


def reopen(actor: User, bid: CollectiveBid, reason: str | None, now: datetime | None = None) -> None:
    _require_admin(actor)
    now = now or utcnow()
    if bid.status == BidStatus.DRAFT:
        raise ServiceError("The bid is already a draft")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Enter why the bid is being reopened", field="reason")
    if len(reason) > REASON_MAX:
        raise ServiceError(f"Reason must be {REASON_MAX:,} characters or fewer", field="reason")
    previous = {
        "status": bid.status.value,
        "signed_off_by_id": bid.signed_off_by_id,
        "signed_off_at": bid.signed_off_at.isoformat() if bid.signed_off_at else None,
        "submitted_at": bid.submitted_at.isoformat() if bid.submitted_at else None,
        "funder_reference": bid.funder_reference,
    }
    _bump(bid, bid.status, status=BidStatus.DRAFT, signed_off_by_id=None, signed_off_at=None,
          sign_off_declaration=None, submitted_by_id=None, submitted_at=None, funder_reference=None,
          reopened_at=now, reopen_reason=reason)
    record(actor, "bid.reopened", bid, f"Reopened the bid for {bid.round.title}: {reason}",
           lead_bidder_id=bid.lead_bidder_id, reason=reason, previous=previous, version=bid.version)
    _notify(bid, "bid_reopened", actor, f"bid-reopened:{bid.id}:{bid.version}")
    db.session.flush()

