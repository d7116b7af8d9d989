"""The end of a round's life: sign-off, submission to the funder, reopening, the funder's outcome
and archiving. The states and transitions are in app/policy/lifecycle.py; who may is in the rulebook.

Decisions (the issue left them open):
- Only a lead bidder administrator signs off, marks as submitted and reopens (checked here too).
- Sign-off needs every readiness item to pass: an administrator cannot sign off with problems.
- A bid can be marked as submitted only once it is signed off. The time it went to the funder
  cannot be in the future, nor before the bid was signed off.
- Signing off from an open round closes it for contributions too.
- The outcome (awarded with the amount, or not awarded) is recorded once the bid is submitted; the
  date the funder decided cannot be in the future nor before the bid was submitted. The CSPs taking
  part are told when the bid goes to the funder and when the outcome is recorded.
- A signed-off or submitted bid can be reopened, with a reason: it goes back to a draft and the
  sign-off (and any submission details) are cleared; the audit log keeps them.
- Lead bidder administrators and staff are notified (What's new, and email through the outbox)
  when the bid is signed off, submitted or reopened, and when the outcome is recorded (What's new
  only); the administrator who acted gets the email as a receipt. The CSPs in the bid are notified
  when it goes to the funder and of the outcome.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import select, update

from app.extensions import db
from app.models import BidOutcome, ContributionStatus, NotificationKind, Round, User
from app.models.base import utcnow
from app.models.bid import CollectiveBid
from app.money import format_money
from app.policy import require
from app.services import ServiceError
from app.services.audit import record
from app.services.consolidation import readiness
from app.services.notifications import Email, csp_people, lead_people, link_to, notify, receipt
from app.urls import absolute_url

DECLARATION_MAX = 2000
REFERENCE_MAX = 200
REASON_MAX = 2000

DEFAULT_DECLARATION = (
    "I confirm that I am authorised to sign off this bid on behalf of the lead bidder, that the partners "
    "named in it have agreed to their part, and that the budget and match funding are accurate."
)


def _bump(actor: User, bid: CollectiveBid, action: str, **values) -> None:
    """Move the round (and so its bid) along its life cycle, and bump the bid's version: both are
    conditional, so two administrators acting at once act once."""
    from app.services.rounds import move_round

    move_round(actor, bid.round, action)
    result = db.session.execute(
        update(CollectiveBid)
        .where(CollectiveBid.id == bid.id, CollectiveBid.version == bid.version)
        .values(version=CollectiveBid.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError("Someone else changed the bid at the same time. Check it and try again")
    db.session.refresh(bid)


def _notify(bid: CollectiveBid, template: str, actor: User, event_key: str, kind: NotificationKind,
            summary: str) -> None:
    """The lead bidder's administrators and staff hear of it; the administrator who did it gets the
    same email as a receipt (as before: it is their record of what they signed)."""
    email = Email(template, {
        "bid": bid, "round": bid.round, "actor": actor,
        "link": absolute_url("bid.consolidation_readiness", round_id=bid.round_id),
    })
    notify(
        kind,
        lead_people(bid.lead_bidder_id),
        summary=summary,
        link=link_to("bid.consolidation_readiness", round_id=bid.round_id),
        event_key=event_key,
        lead_bidder_id=bid.lead_bidder_id,
        actor=actor,
        round=bid.round,
        email=email,
    )
    receipt(actor, email, event_key, bid.lead_bidder_id)


def sign_off(actor: User, bid: CollectiveBid, declaration: str | None, now: datetime | None = None) -> None:
    require(actor, "bid.sign_off", bid)
    now = now or utcnow()
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
    _bump(actor, bid, "sign_off", signed_off_by_id=actor.id, signed_off_at=now, sign_off_declaration=declaration)
    record(actor, "bid.signed_off", bid, f"Signed off the bid for {bid.round.title}",
           lead_bidder_id=bid.lead_bidder_id, declaration=declaration, version=bid.version)
    _notify(bid, "bid_signed_off", actor, f"bid-signed-off:{bid.id}:{bid.version}", NotificationKind.BID_SIGNED_OFF,
            f"{actor.full_name} signed off the collective bid for {bid.round.title}")
    db.session.flush()


def mark_submitted(
    actor: User, bid: CollectiveBid, submitted_at: datetime, funder_reference: str | None,
    now: datetime | None = None,
) -> None:
    require(actor, "bid.mark_submitted", bid)
    now = now or utcnow()
    reference = (funder_reference or "").strip()
    if not reference:
        raise ServiceError("Enter the funder’s reference for the bid", field="funder_reference")
    if len(reference) > REFERENCE_MAX:
        raise ServiceError(f"Funder’s reference must be {REFERENCE_MAX} characters or fewer", field="funder_reference")
    check_past_date(submitted_at, now, "submitted_on", "The date and time it was submitted",
                    after=(bid.signed_off_at, "the bid was signed off"))
    _bump(actor, bid, "mark_submitted", submitted_by_id=actor.id, submitted_at=submitted_at,
          funder_reference=reference)
    record(actor, "bid.submitted", bid, f"Marked the bid for {bid.round.title} as submitted to {bid.round.funder} "
           f"(reference {reference})", lead_bidder_id=bid.lead_bidder_id, funder_reference=reference,
           submitted_at=submitted_at.isoformat(), version=bid.version)
    _notify(bid, "bid_submitted", actor, f"bid-submitted:{bid.id}:{bid.version}", NotificationKind.BID_SUBMITTED,
            f"{actor.full_name} recorded that the collective bid for {bid.round.title} was submitted to "
            f"{bid.round.funder} (reference {reference})")
    _notify_csps(actor, bid.round, "bid_with_funder_csp", f"bid-with-funder:{bid.id}:{bid.version}",
                 NotificationKind.BID_SUBMITTED,
                 f"{bid.round.lead_bidder.display_name} submitted the collective bid for {bid.round.title} to "
                 f"{bid.round.funder}, with {{csp}}'s contribution in it")
    db.session.flush()


def reopen(actor: User, bid: CollectiveBid, reason: str | None, now: datetime | None = None) -> None:
    require(actor, "bid.reopen", bid)
    now = now or utcnow()
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
    _bump(actor, bid, "reopen_bid", signed_off_by_id=None, signed_off_at=None,
          sign_off_declaration=None, submitted_by_id=None, submitted_at=None, funder_reference=None,
          reopened_at=now, reopen_reason=reason)
    record(actor, "bid.reopened", bid, f"Reopened the bid for {bid.round.title}: {reason}",
           lead_bidder_id=bid.lead_bidder_id, reason=reason, previous=previous, version=bid.version)
    _notify(bid, "bid_reopened", actor, f"bid-reopened:{bid.id}:{bid.version}", NotificationKind.BID_REOPENED,
            f"{actor.full_name} reopened the collective bid for {bid.round.title}: {reason}")
    db.session.flush()



def check_past_date(when: datetime, now: datetime, field: str, what: str, *, after: tuple) -> None:
    """A date recorded for the past: not in the future, and not before an earlier step of the
    round's own history (`after` = (that moment, its name in words))."""
    if when > now:
        raise ServiceError(f"{what} must be in the past", field=field)
    earlier, name = after
    # Typed to the minute: the minute something happened in counts as after it.
    if earlier is not None and when < earlier.replace(second=0, microsecond=0):
        from app.dates import govuk_datetime

        raise ServiceError(f"{what} must be after {name} ({govuk_datetime(earlier)})", field=field)


def _notify_csps(actor: User, rnd: Round, template: str, event_key: str, kind: NotificationKind,
                 summary: str) -> None:
    """The people (managers and contributors) of the CSPs whose contributions are in the bid
    (accepted). `summary` may name the CSP as {csp}."""
    for contribution in rnd.contributions:
        if contribution.status != ContributionStatus.ACCEPTED:
            continue
        notify(
            kind,
            csp_people(contribution.csp_id),
            summary=summary.replace("{csp}", contribution.csp.name),
            link=link_to("contributions.task_list", contribution_id=contribution.id),
            event_key=event_key,
            lead_bidder_id=rnd.lead_bidder_id,
            actor=actor,
            contribution=contribution,
            email=Email(template, {
                "contribution": contribution,
                "round": rnd,
                "link": absolute_url("contributions.task_list", contribution_id=contribution.id),
            }),
        )


AWARD_MAX_PENCE = 10_000_000_000  # £100 million: anything larger is a typing mistake


def record_outcome(
    actor: User, rnd: Round, outcome: BidOutcome | None, awarded_pence: int | None, decided_on: date | None,
    now: datetime | None = None,
) -> None:
    """Record the funder's decision on a submitted bid."""
    require(actor, "round.record_outcome", rnd)
    now = now or utcnow()
    if outcome is None:
        raise ServiceError("Select whether the bid was awarded funding", field="outcome")
    if outcome == BidOutcome.AWARDED:
        if not awarded_pence or awarded_pence <= 0:
            raise ServiceError("Enter the amount awarded", field="awarded")
        if awarded_pence > AWARD_MAX_PENCE:
            raise ServiceError("Amount awarded must be £100,000,000 or less", field="awarded")
    else:
        awarded_pence = None
    if decided_on is None:
        raise ServiceError("Enter the date the funder decided", field="decided_on")
    from app.dates import london_to_utc, utc_to_london_parts

    if decided_on > utc_to_london_parts(now)[0]:
        raise ServiceError("The date the funder decided must be today or in the past", field="decided_on")
    bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rnd.id))
    submitted = bid.submitted_at if bid else None
    if submitted is not None and decided_on < utc_to_london_parts(submitted)[0]:
        from app.dates import govuk_date

        raise ServiceError(
            f"The date the funder decided must be on or after the day the bid was submitted ({govuk_date(submitted)})",
            field="decided_on",
        )
    decided_at = london_to_utc(decided_on, time(0, 0))
    from app.services.rounds import move_round

    move_round(actor, rnd, "record_outcome", outcome=outcome, awarded_pence=awarded_pence, outcome_on=decided_at,
               outcome_recorded_by_id=actor.id)
    words = f"awarded {format_money(awarded_pence)}" if outcome == BidOutcome.AWARDED else "not awarded"
    record(actor, "round.outcome_recorded", rnd, f"Recorded the outcome of {rnd.title}: {words}",
           outcome=outcome.value, awarded_pence=awarded_pence, decided_at=decided_at.isoformat())
    _notify_csps(actor, rnd, "outcome_csp", f"outcome:{rnd.id}", NotificationKind.OUTCOME,
                 f"{rnd.funder} has decided on the collective bid for {rnd.title}: {words}")
    notify(  # the lead bidder's team: on What's new only (there has never been an email for them)
        NotificationKind.OUTCOME,
        lead_people(rnd.lead_bidder_id),
        summary=f"{actor.full_name} recorded the outcome of {rnd.title}: {words}",
        link=link_to("rounds.show", round_id=rnd.id),
        event_key=f"outcome:{rnd.id}",
        lead_bidder_id=rnd.lead_bidder_id,
        actor=actor,
        round=rnd,
    )
    db.session.flush()


def archive(actor: User, rnd: Round, now: datetime | None = None) -> None:
    require(actor, "round.archive", rnd)
    from app.services.rounds import move_round

    move_round(actor, rnd, "archive", archived_at=now or utcnow())
    record(actor, "round.archived", rnd, f"Archived {rnd.title}")
    db.session.flush()


def restore(actor: User, rnd: Round) -> None:
    require(actor, "round.restore", rnd)
    from app.services.rounds import move_round

    move_round(actor, rnd, "restore", archived_at=None)
    record(actor, "round.restored", rnd, f"Brought {rnd.title} back from the archive")
    db.session.flush()
