"""Reminders (issue 6): each round's reminder schedule, deciding which reminders are due
(`run`, called by `flask reminders run`), what comes next (`upcoming`), sending one again, and
cancelling the ones about a deadline that has moved.

How it decides, so it can run every minute from cron on several machines at once:

- Every slot is computed from the CURRENT deadlines on each run, in UK local time: "9am" means
  9am in London whether it is GMT or BST (`app.dates.london_to_utc`).
- Each reminder has a unique key naming its kind, the object, the deadline it is about, the slot
  and the person. A moved deadline makes different keys, so reminders for the old date are never
  due again. The Reminder row is written with INSERT ... ON CONFLICT (key) DO NOTHING, and only
  the run that wrote the row queues its email (the outbox key is the reminder's key), so two
  schedulers at the same moment write one row and one email.
- For each person and each thing they are reminded about (one contribution; the round's daily
  digest; the funder's deadline) only the LATEST slot that is due is considered. It is sent if it
  is not older than REMINDER_CATCH_UP_HOURS; after longer downtime it is recorded as skipped
  (a Reminder row with no email and the reason), so nobody gets a flood of stale reminders.
  Earlier slots that a later one replaced are never written. Slots before the round opened are
  ignored.
- On the day: the reminder goes at the send time on the deadline's (UK) date only if that is
  before the deadline. A deadline at 1:30am gets no on-the-day reminder (the 1-day-before one
  went the morning before); its first overdue reminder is the next day.
- Nothing is sent while the schedule is turned off or the round is not open.
- Each round's reminders are committed together, so a crash loses nothing and repeats nothing.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app, has_request_context
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from app.dates import LONDON, countdown, govuk_datetime, govuk_time, london_to_utc, parse_time
from app.extensions import db
from app.models import (
    LEAD_EDITORS,
    Contribution,
    ContributionStatus,
    OutboxEmail,
    OutboxStatus,
    Role,
    Round,
    User,
)
from app.models.base import utcnow
from app.models.contribution import CSP_HOLDS
from app.models.deadline import Reminder, ReminderKind, ReminderSchedule
from app.policy import lifecycle
from app.services import ServiceError, insert_for_dialect
from app.services.audit import record
from app.services.consolidation import load_contributions
from app.services.outbox import email_row, queue_email, queue_emails
from app.services.pages import Page, paginate

log = logging.getLogger(__name__)

# Contributions whose CSP is reminded: not yet submitted, or sent back for changes.
REMINDED_STATUSES = CSP_HOLDS
REMINDED_ROUNDS = lifecycle.CSP_REMINDERS | lifecycle.LEAD_REMINDERS
CSP_KINDS = (ReminderKind.CSP_BEFORE, ReminderKind.CSP_DUE, ReminderKind.CSP_OVERDUE)
MAX_DAYS_BEFORE = 60
MAX_OVERDUE_LIMIT = 30
MAX_DIGEST_DAYS = 60
STALE_REASON = "The deadline it was about has changed"


_insert = insert_for_dialect


# --- the schedule -------------------------------------------------------------------------------


def schedule_of(rnd: Round) -> ReminderSchedule | None:
    """The round's schedule, read only (pages use this: a GET never writes)."""
    return db.session.scalar(select(ReminderSchedule).where(ReminderSchedule.round_id == rnd.id))


def schedule_for(rnd: Round) -> ReminderSchedule:
    """The round's schedule. It is made with the defaults when the round is created (and for older
    rounds by migration 0007); making it here is for that action and the reminder runner (safe when
    two processes ask at once: the round id is unique)."""
    schedule = db.session.scalar(select(ReminderSchedule).where(ReminderSchedule.round_id == rnd.id))
    if schedule is not None:
        return schedule
    db.session.execute(
        _insert()(ReminderSchedule)
        .values(
            round_id=rnd.id,
            enabled=True,
            send_time="09:00",
            csp_days_before=[14, 7, 3, 1],
            csp_on_the_day=True,
            csp_overdue_daily=True,
            csp_overdue_limit=5,
            lead_digest=True,
            lead_digest_days=14,
            funder_days_before=[14, 7, 3, 1],
            funder_on_the_day=True,
        )
        .on_conflict_do_nothing(index_elements=["round_id"])
    )
    return db.session.scalar(select(ReminderSchedule).where(ReminderSchedule.round_id == rnd.id))


def send_time_of(schedule: ReminderSchedule):
    return parse_time(schedule.send_time)


def update_schedule(
    actor: User,
    rnd: Round,
    *,
    enabled: bool,
    send_time: str,
    csp_days_before: list[int],
    csp_on_the_day: bool,
    csp_overdue_daily: bool,
    csp_overdue_limit: int,
    lead_digest: bool,
    lead_digest_days: int,
    funder_days_before: list[int],
    funder_on_the_day: bool,
) -> ReminderSchedule:
    """Change the round's schedule (lead bidder administrators). The form checks the values; the
    rules are checked again here."""
    from app.policy import require

    require(actor, "round.manage_reminders", rnd)
    at = parse_time(send_time)
    for days in (csp_days_before, funder_days_before):
        if len(set(days)) != len(days) or any(not 1 <= d <= MAX_DAYS_BEFORE for d in days):
            raise ServiceError("Days before must be whole numbers from 1 to 60, each once")
    if not 0 <= csp_overdue_limit <= MAX_OVERDUE_LIMIT:
        raise ServiceError("The number of overdue reminders must be from 0 to 30")
    if not 1 <= lead_digest_days <= MAX_DIGEST_DAYS:
        raise ServiceError("The digest must start from 1 to 60 days before the internal deadline")
    schedule = schedule_for(rnd)
    before = describe(schedule)
    schedule.enabled = enabled
    schedule.send_time = f"{at:%H:%M}"
    schedule.csp_days_before = sorted(set(csp_days_before), reverse=True)
    schedule.csp_on_the_day = csp_on_the_day
    schedule.csp_overdue_daily = csp_overdue_daily
    schedule.csp_overdue_limit = csp_overdue_limit
    schedule.lead_digest = lead_digest
    schedule.lead_digest_days = lead_digest_days
    schedule.funder_days_before = sorted(set(funder_days_before), reverse=True)
    schedule.funder_on_the_day = funder_on_the_day
    schedule.updated_at = utcnow()
    schedule.updated_by_id = actor.id
    record(
        actor,
        "reminders.schedule_changed",
        rnd,
        f"Changed the reminder schedule of {rnd.title}",
        before=before,
        after=describe(schedule),
    )
    db.session.flush()
    return schedule


def _days_words(days: list[int]) -> str:
    days = sorted(days, reverse=True)
    words = [str(d) for d in days]
    text = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{text} day{'s' if days != [1] else ''}"


def describe(schedule: ReminderSchedule) -> list[str]:
    """The schedule in words, one sentence a line, for the reminders page and the audit trail."""
    if not schedule.enabled:
        return ["Reminders are turned off for this round. Nothing is sent."]
    at = govuk_time(london_to_utc(date(2026, 1, 15), send_time_of(schedule)))
    csp = []
    if schedule.csp_days_before:
        csp.append(f"{_days_words(schedule.csp_days_before)} before their deadline")
    if schedule.csp_on_the_day:
        csp.append("on the day (if their deadline is after " + at + ")")
    if schedule.csp_overdue_daily and schedule.csp_overdue_limit:
        n = schedule.csp_overdue_limit
        csp.append(f"every day once overdue, up to {n} time{'s' if n != 1 else ''}")
    lines = [f"Reminders are sent at {at} UK time."]
    if csp:
        lines.append("CSPs that have not submitted (or have changes to make) are reminded " + ", ".join(csp) + ".")
    else:
        lines.append("CSPs are not reminded.")
    if schedule.lead_digest:
        n = schedule.lead_digest_days
        lines.append(
            f"Lead bidder administrators and staff get a daily summary of the round from {n} day"
            f"{'s' if n != 1 else ''} before the internal deadline until the funder’s deadline."
        )
    else:
        lines.append("There is no daily summary for lead bidder staff.")
    funder = []
    if schedule.funder_days_before:
        funder.append(f"{_days_words(schedule.funder_days_before)} before")
    if schedule.funder_on_the_day:
        funder.append("on the day")
    if funder:
        lines.append(
            "Lead bidder administrators and staff are reminded of the funder’s deadline "
            + " and ".join(funder)
            + ", until the bid is submitted."
        )
    else:
        lines.append("Lead bidder staff are not reminded of the funder’s deadline.")
    return lines


# --- slots: the reminders the schedule means, from the current deadlines -------------------------


@dataclass(frozen=True)
class Slot:
    """One reminder the schedule means to send to one person at one moment."""

    kind: ReminderKind
    round_id: int
    user: User
    slot_at: datetime
    deadline_at: datetime
    days: int
    key: str
    group: tuple  # (what, object id, user id): only the latest due slot of a group is sent
    contribution: Contribution | None = None


def _local_date(value: datetime) -> date:
    return value.astimezone(LONDON).date()


def _stamp_utc(value: datetime) -> str:
    """The deadline as it appears in keys: ISO-style UTC to the minute."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def _at(day: date, at) -> datetime:
    try:
        return london_to_utc(day, at)
    except ValueError:  # a send time inside the hour skipped in March: an hour later that day
        return london_to_utc(day, at.replace(hour=(at.hour + 1) % 24))


def csp_users(contribution: Contribution) -> list[User]:
    """The CSP's active users (its managers and contributors)."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organisation_id == contribution.csp_id,
                User.role.in_((Role.CSP_MANAGER, Role.CSP_CONTRIBUTOR)),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def lead_users(rnd: Round) -> list[User]:
    """The lead bidder's active administrators and staff (viewers are not reminded)."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.lead_bidder_id == rnd.lead_bidder_id,
                User.organisation_id == rnd.lead_bidder_id,
                User.role.in_(LEAD_EDITORS),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def csp_slots(
    schedule: ReminderSchedule,
    contribution: Contribution,
    users: list[User] | None = None,
    due_by: datetime | None = None,
) -> list[Slot]:
    """The contribution's reminders to its CSP's users (only those due by `due_by`, if given)."""
    if contribution.status not in REMINDED_STATUSES or contribution.round.status not in lifecycle.CSP_REMINDERS:
        return []
    at = send_time_of(schedule)
    deadline = contribution.deadline
    day = _local_date(deadline)
    moments: list[tuple[ReminderKind, int, datetime]] = []
    for n in schedule.csp_days_before or []:
        moments.append((ReminderKind.CSP_BEFORE, int(n), _at(day - timedelta(days=int(n)), at)))
    if schedule.csp_on_the_day:
        on_the_day = _at(day, at)
        if on_the_day < deadline:
            moments.append((ReminderKind.CSP_DUE, 0, on_the_day))
    if schedule.csp_overdue_daily:
        for n in range(1, (schedule.csp_overdue_limit or 0) + 1):
            moments.append((ReminderKind.CSP_OVERDUE, n, _at(day + timedelta(days=n), at)))
    if due_by is not None:
        moments = [moment for moment in moments if moment[2] <= due_by]
    stamp = _stamp_utc(deadline)
    slots = []
    for user in users if users is not None else csp_users(contribution):
        for kind, n, slot_at in moments:
            short = kind.value.removeprefix("csp_")
            slots.append(
                Slot(
                    kind=kind,
                    round_id=contribution.round_id,
                    user=user,
                    slot_at=slot_at,
                    deadline_at=deadline,
                    days=n,
                    key=f"r:csp:{contribution.id}:{stamp}:{short}:{n}:{user.id}",
                    group=("csp", contribution.id, user.id),
                    contribution=contribution,
                )
            )
    return slots


def lead_slots(
    schedule: ReminderSchedule, rnd: Round, users: list[User] | None = None, due_by: datetime | None = None
) -> list[Slot]:
    """The round's reminders to the lead bidder's staff (only those due by `due_by`, if given)."""
    if rnd.status not in lifecycle.LEAD_REMINDERS:  # nothing left for the lead to do by a deadline
        return []
    at = send_time_of(schedule)
    users = users if users is not None else lead_users(rnd)
    slots = []
    if schedule.lead_digest and rnd.status in lifecycle.CONTRIBUTIONS_OPEN:  # the digest is about contributions
        internal_day = _local_date(rnd.internal_deadline)
        funder_day = _local_date(rnd.funder_deadline)
        stamp = _stamp_utc(rnd.internal_deadline)
        day = internal_day - timedelta(days=schedule.lead_digest_days)
        while day <= funder_day:
            slot_at = _at(day, at)
            if due_by is not None and slot_at > due_by:
                break
            if slot_at < rnd.funder_deadline:
                n = (internal_day - day).days
                for user in users:
                    slots.append(
                        Slot(
                            kind=ReminderKind.LEAD_DIGEST,
                            round_id=rnd.id,
                            user=user,
                            slot_at=slot_at,
                            deadline_at=rnd.internal_deadline,
                            days=n,
                            key=f"r:digest:{rnd.id}:{stamp}:{day:%Y%m%d}:{user.id}",
                            group=("digest", rnd.id, user.id),
                        )
                    )
            day += timedelta(days=1)
    funder_day = _local_date(rnd.funder_deadline)
    moments = [(int(n), _at(funder_day - timedelta(days=int(n)), at)) for n in schedule.funder_days_before or []]
    if schedule.funder_on_the_day:
        on_the_day = _at(funder_day, at)
        if on_the_day < rnd.funder_deadline:
            moments.append((0, on_the_day))
    if due_by is not None:
        moments = [moment for moment in moments if moment[1] <= due_by]
    stamp = _stamp_utc(rnd.funder_deadline)
    for user in users:
        for n, slot_at in moments:
            slots.append(
                Slot(
                    kind=ReminderKind.FUNDER_BEFORE,
                    round_id=rnd.id,
                    user=user,
                    slot_at=slot_at,
                    deadline_at=rnd.funder_deadline,
                    days=n,
                    key=f"r:funder:{rnd.id}:{stamp}:{n}:{user.id}",
                    group=("funder", rnd.id, user.id),
                )
            )
    return slots


@dataclass
class People:
    """Who is reminded, for one or many rounds: the active managers and contributors of each CSP
    (by CSP id) and the active administrators and staff of each lead bidder (by its id)."""

    by_csp: dict[int, list[User]]
    by_lead: dict[int, list[User]]

    @classmethod
    def of(cls, rounds: list[Round]) -> People:
        """Everyone these rounds remind, in one query (csp_users() and lead_users() of them all)."""
        csp_ids = {c.csp_id for rnd in rounds for c in rnd.contributions if c.status in REMINDED_STATUSES}
        lead_ids = {rnd.lead_bidder_id for rnd in rounds}
        people = cls({csp_id: [] for csp_id in csp_ids}, {lead_id: [] for lead_id in lead_ids})
        if not rounds:
            return people
        for user in db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(
                    and_(User.organisation_id.in_(csp_ids), User.role.in_((Role.CSP_MANAGER, Role.CSP_CONTRIBUTOR))),
                    and_(
                        User.organisation_id.in_(lead_ids),
                        User.lead_bidder_id == User.organisation_id,
                        User.role.in_(LEAD_EDITORS),
                    ),
                ),
            )
            .order_by(User.id)
        ):
            if user.organisation_id in people.by_lead and user.lead_bidder_id == user.organisation_id:
                people.by_lead[user.organisation_id].append(user)
            else:
                people.by_csp[user.organisation_id].append(user)
        return people


def slots_for(
    rnd: Round,
    schedule: ReminderSchedule | None = None,
    due_by: datetime | None = None,
    people: People | None = None,
) -> list[Slot]:
    """Every reminder the round's schedule means, past and future (or only those due by `due_by`),
    from the current deadlines. `people`: People.of() these rounds, when working out many."""
    schedule = schedule or schedule_for(rnd)
    if not schedule.enabled:
        return []
    people = people or People.of([rnd])
    load_contributions(rnd)  # with their CSPs, in one query unless the run loaded them already
    slots = []
    for contribution in sorted(rnd.contributions, key=lambda c: c.csp.name):
        slots += csp_slots(schedule, contribution, people.by_csp.get(contribution.csp_id, []), due_by)
    slots += lead_slots(schedule, rnd, people.by_lead.get(rnd.lead_bidder_id, []), due_by)
    return slots


# --- run: decide what is due and write it to the outbox -----------------------------------------


@dataclass
class Report:
    written: int = 0
    skipped: int = 0
    rounds: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.written} reminder{'s' if self.written != 1 else ''} written, {self.skipped} skipped"
        )
        if self.errors:
            text += f", {len(self.errors)} round{'s' if len(self.errors) != 1 else ''} failed"
        return text


def catch_up_window() -> timedelta:
    return timedelta(hours=current_app.config["REMINDER_CATCH_UP_HOURS"])


def due_now(slots: list[Slot], now: datetime, not_before: datetime | None = None) -> list[Slot]:
    """The latest due slot of each group (person + what they are reminded about)."""
    latest: dict[tuple, Slot] = {}
    for slot in slots:
        if slot.slot_at > now or (not_before is not None and slot.slot_at < not_before):
            continue
        current = latest.get(slot.group)
        if current is None or slot.slot_at > current.slot_at:
            latest[slot.group] = slot
    return sorted(latest.values(), key=lambda s: (s.slot_at, s.key))


@contextlib.contextmanager
def _link_context():
    """Reminders are written outside requests (CLI); task-list links need a request context."""
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        yield


def run(now: datetime | None = None) -> Report:
    """Write every due reminder to the outbox, once. Commits after each round.

    In two steps, so the SQL statements do not grow with the rounds' CSPs and people (nor, when
    there is nothing new to write, with the rounds): first, reading only, it loads every round
    that reminds with what its reminders need - contributions, CSPs, sections, schedules, people,
    the reminders already written, to-do lists - one grouped query per kind for all the rounds,
    works out what is due and renders the emails; then, for each round with something new, one
    INSERT of its reminders, one INSERT of the emails of the reminders it wrote and one UPDATE
    linking them, and a commit."""
    now = now or utcnow()
    report = Report()
    with _link_context():
        try:
            plans = _plan(now, report)
        except Exception:  # something in one round stopped them all: decide round by round instead
            db.session.rollback()
            log.exception("Reminders: deciding every round at once failed; deciding them one by one")
            report = Report()
            plans = []
            round_ids = db.session.scalars(select(Round.id).where(Round.status.in_(REMINDED_ROUNDS))).all()
            for round_id in sorted(round_ids):
                try:
                    plans += _plan(now, report, round_id)
                except Exception as exc:  # one broken round must not stop the others
                    db.session.rollback()
                    log.exception("Reminders for round %s failed", round_id)
                    report.errors.append(f"Round {round_id}: {type(exc).__name__}: {exc}")
        for plan in plans:
            try:
                written, skipped = _write_plan(plan)
                db.session.commit()
                report.written += written
                report.skipped += skipped
            except Exception as exc:  # one broken round must not stop the others
                db.session.rollback()
                log.exception("Reminders for round %s failed", plan.round_id)
                report.errors.append(f"Round {plan.round_id}: {type(exc).__name__}: {exc}")
    return report


@dataclass
class _Plan:
    """One round's new reminders and their emails, decided and rendered (plain values, so the
    commits of other rounds do not touch them)."""

    round_id: int
    reminders: list[dict]  # rows of Reminder
    emails: dict[str, dict]  # rows of OutboxEmail, by the reminder's key (late ones have none)


def _plan(now: datetime, report: Report, round_id: int | None = None) -> list[_Plan]:
    """Decide and render the new reminders of every round that reminds (or of one)."""
    from app.services.contributions import still_to_do_for

    rounds = db.session.scalars(
        select(Round)
        .where(Round.status.in_(REMINDED_ROUNDS), *([Round.id == round_id] if round_id is not None else []))
        .order_by(Round.id)
        .options(
            joinedload(Round.lead_bidder),
            selectinload(Round.sections),
            selectinload(Round.contributions).joinedload(Contribution.csp),
        )
    ).all()
    if not rounds:
        return []
    schedules = {
        s.round_id: s
        for s in db.session.scalars(
            select(ReminderSchedule).where(ReminderSchedule.round_id.in_([rnd.id for rnd in rounds]))
        )
    }
    for rnd in rounds:
        if rnd.id not in schedules:  # rounds older than their schedules (normally made with the round)
            schedules[rnd.id] = schedule_for(rnd)
    report.rounds += len(rounds)
    rounds = [rnd for rnd in rounds if schedules[rnd.id].enabled]
    people = People.of(rounds)
    due = {
        rnd.id: due_now(slots_for(rnd, schedules[rnd.id], due_by=now, people=people), now, not_before=rnd.opened_at)
        for rnd in rounds
    }
    known: set[str] = set()
    for keys in _chunks([slot.key for slots in due.values() for slot in slots], 5000):
        known.update(db.session.scalars(select(Reminder.key).where(Reminder.key.in_(keys))))
    new = {rnd.id: [slot for slot in due[rnd.id] if slot.key not in known] for rnd in rounds}
    window = catch_up_window()
    late = {slot.key for slots in new.values() for slot in slots if now - slot.slot_at > window}
    todo = still_to_do_for(
        list({
            slot.contribution.id: slot.contribution
            for slots in new.values()
            for slot in slots
            if slot.contribution is not None and slot.key not in late
        }.values())
    )
    plans = []
    for rnd in rounds:
        if not new[rnd.id]:
            continue
        try:
            plans.append(_plan_round(rnd, new[rnd.id], late, RoundFacts(rnd, now, todo), window, now))
        except Exception as exc:  # one broken round must not stop the others
            log.exception("Reminders for round %s failed", rnd.id)
            report.errors.append(f"Round {rnd.id}: {type(exc).__name__}: {exc}")
    return plans


def _plan_round(rnd: Round, slots: list[Slot], late: set[str], facts: RoundFacts, window: timedelta,
                now: datetime) -> _Plan:
    reminders, emails = [], {}
    for slot in slots:
        reason = None
        if slot.key in late:
            reason = (
                f"Not sent: it was due at {_words(slot.slot_at)} but reminders were not run until more than "
                f"{int(window.total_seconds() // 3600)} hours later"
            )
        else:
            template, context = email_for(rnd, slot.kind, slot.user, slot.contribution, slot.days, now, facts)
            emails[slot.key] = email_row(
                slot.user.email, template, slot.key, lead_bidder_id=rnd.lead_bidder_id, **context
            )
        reminders.append(_values(rnd, slot, reason=reason))
    return _Plan(rnd.id, reminders, emails)


def _write_plan(plan: _Plan) -> tuple[int, int]:
    """Write a round's reminders (INSERT ... ON CONFLICT (key) DO NOTHING) and the emails of the
    ones this run wrote - another scheduler may have written some first - linked to them. Returns
    how many were written to be sent, and how many were written as not sent (too late)."""
    table = Reminder.__table__
    ids = {
        key: reminder_id
        for reminder_id, key in db.session.execute(
            _insert()(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id, table.c.key),
            plan.reminders,
        )
    }
    to_send = [key for key in plan.emails if key in ids]
    queue_emails([plan.emails[key] for key in to_send])
    email_id = select(OutboxEmail.id).where(OutboxEmail.idempotency_key == Reminder.key).scalar_subquery()
    for chunk in _chunks([ids[key] for key in to_send], 1000):
        db.session.execute(
            update(Reminder)
            .where(Reminder.id.in_(chunk))
            .values(outbox_email_id=email_id)
            .execution_options(synchronize_session=False)
        )
    return len(to_send), len(ids) - len(to_send)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _values(rnd: Round, slot: Slot, reason=None, resend_of_id=None, created_by_id=None, key=None) -> dict:
    return {
        "key": key or slot.key,
        "lead_bidder_id": rnd.lead_bidder_id,
        "round_id": rnd.id,
        "contribution_id": slot.contribution.id if slot.contribution is not None else None,
        "user_id": slot.user.id,
        "kind": slot.kind.value,
        "days": slot.days,
        "slot_at": slot.slot_at,
        "deadline_at": slot.deadline_at,
        "cancelled_reason": reason,
        "resend_of_id": resend_of_id,
        "created_at": utcnow(),
        "created_by_id": created_by_id,
    }


def _words(value: datetime) -> str:
    return govuk_datetime(value)


def _write(rnd: Round, slot: Slot, reason: str | None = None, resend_of_id=None, created_by_id=None, key=None):
    stmt = (
        _insert()(Reminder)
        .values(**_values(rnd, slot, reason, resend_of_id, created_by_id, key))
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Reminder.id)
    )
    return db.session.execute(stmt).scalar()


def _queue(rnd, kind, user, contribution, days, key, reminder_id, now) -> None:
    template, context = email_for(rnd, kind, user, contribution, days, now)
    queue_email(user.email, template, idempotency_key=key, lead_bidder_id=rnd.lead_bidder_id, **context)
    email_id = db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == key))
    db.session.execute(
        update(Reminder)
        .where(Reminder.id == reminder_id)
        .values(outbox_email_id=email_id)
        .execution_options(synchronize_session=False)
    )


# --- what the emails say ------------------------------------------------------------------------


def round_status_summary(rnd: Round, now: datetime) -> dict:
    """Counts by status and the CSPs at risk (deadline within 3 days, not submitted) or overdue."""
    from app.services.progress import count

    counts = count(rnd.contributions)
    at_risk, overdue = [], []
    for c in sorted(rnd.contributions, key=lambda c: c.csp.name):
        if c.status in REMINDED_STATUSES:
            left = countdown(c.deadline, now)
            entry = {"name": c.csp.name, "status": c.status.label, "countdown": left.text, "deadline": c.deadline}
            if left.overdue:
                overdue.append(entry)
            elif left.urgent:
                at_risk.append(entry)
    return {
        "counts": [(s.label, counts.by_status[s]) for s in ContributionStatus if counts.by_status.get(s)],
        "total": counts.total,
        "submitted_sentence": counts.sentence,
        "at_risk": at_risk,
        "overdue": overdue,
    }


def _deadline_words(deadline: datetime, now: datetime) -> str:
    """'3 days left', 'Due today at 12pm', or for a deadline that has gone: 'passed 2 days ago'."""
    if now <= deadline:
        return countdown(deadline, now).text
    days = (_local_date(now) - _local_date(deadline)).days
    if days == 0:
        return "passed today"
    return f"passed {days} day{'s' if days != 1 else ''} ago"


@dataclass
class RoundFacts:
    """What a round's reminder emails say, worked out once for all of them: each contribution's
    to-do list with the lead bidder's request for changes (StillToDo, by contribution id), and the
    round's status summary (made when first asked for)."""

    rnd: Round
    now: datetime
    todo: dict
    _status: dict | None = None

    @property
    def status(self) -> dict:
        if self._status is None:
            self._status = round_status_summary(self.rnd, self.now)
        return self._status


def email_for(rnd: Round, kind: ReminderKind, user: User, contribution, days: int, now: datetime,
              facts: RoundFacts | None = None):
    """The email template and its context, from the state of things now (`facts`: from
    round_facts(), when writing many)."""
    from app.urls import absolute_url

    if facts is None:
        from app.services.contributions import still_to_do_for

        facts = RoundFacts(rnd, now, still_to_do_for([contribution] if contribution is not None else []))
    common = {"round": rnd, "user": user, "kind": kind, "days": days, "now": now}
    if kind in CSP_KINDS:
        deadline = contribution.deadline
        todo = facts.todo[contribution.id]
        missing = [t.title for t in todo.tasks]
        return "reminder_csp", {
            **common,
            "contribution": contribution,
            "deadline": deadline,
            "countdown": countdown(deadline, now).text,
            "missing": missing,
            "revisit": todo.revisit,
            "change_message": todo.message,
            "link": absolute_url("contributions.task_list", contribution_id=contribution.id),
        }
    if kind == ReminderKind.LEAD_DIGEST:
        return "reminder_digest", {
            **common,
            "status": facts.status,
            "internal_countdown": _deadline_words(rnd.internal_deadline, now),
            "funder_countdown": countdown(rnd.funder_deadline, now).text,
            "link": absolute_url("review.overview", round_id=rnd.id),
        }
    return "reminder_funder", {
        **common,
        "deadline": rnd.funder_deadline,
        "countdown": countdown(rnd.funder_deadline, now).text,
        "status": facts.status,
        "link": absolute_url("review.overview", round_id=rnd.id),
    }


# --- deadline moved, upcoming, send again -------------------------------------------------------


def current_deadline(reminder: Reminder) -> datetime | None:
    """The deadline this kind of reminder is about, as it is now."""
    if reminder.kind in CSP_KINDS:
        return reminder.contribution.deadline if reminder.contribution is not None else None
    if reminder.kind == ReminderKind.LEAD_DIGEST:
        return reminder.round.internal_deadline
    return reminder.round.funder_deadline


def deadline_moved(actor: User | None, rnd: Round) -> int:
    """Called (in the same transaction) after any deadline of the round changed: cancels the
    reminders already written to the outbox but not yet sent that are about a deadline that no
    longer applies. Returns how many were cancelled. New reminders follow the new dates by
    themselves (their keys name the deadline they are about)."""
    db.session.flush()
    pending = db.session.execute(
        select(Reminder, OutboxEmail)
        .join(OutboxEmail, Reminder.outbox_email_id == OutboxEmail.id)
        .where(Reminder.round_id == rnd.id, OutboxEmail.status == OutboxStatus.PENDING)
    ).all()
    cancelled = 0
    for reminder, email in pending:
        if reminder.deadline_at is None or reminder.deadline_at == current_deadline(reminder):
            continue
        email.status = OutboxStatus.CANCELLED
        email.last_error = f"Cancelled: {STALE_REASON.lower()}"
        email.claimed_until = None
        reminder.cancelled_reason = STALE_REASON
        cancelled += 1
    if cancelled:
        record(
            actor,
            "reminders.cancelled",
            rnd,
            f"Cancelled {cancelled} reminder{'s' if cancelled != 1 else ''} about a deadline that changed",
            count=cancelled,
        )
    db.session.flush()
    return cancelled


@dataclass
class Upcoming:
    slot_at: datetime
    kind: ReminderKind
    days: int
    deadline_at: datetime
    contribution: Contribution | None
    recipients: list[User]


def upcoming(rnd: Round, now: datetime | None = None, limit: int = 20) -> list[Upcoming]:
    """The next reminders the schedule will send (computed, not stored), one entry per moment and
    subject with everyone it goes to."""
    now = now or utcnow()
    schedule = schedule_for(rnd)
    future = [s for s in slots_for(rnd, schedule) if s.slot_at > now]
    written = set(db.session.scalars(select(Reminder.key).where(Reminder.round_id == rnd.id)))
    future = [s for s in future if s.key not in written]
    grouped: dict[tuple, Upcoming] = {}
    for slot in sorted(future, key=lambda s: (s.slot_at, s.key)):
        ident = (slot.slot_at, slot.kind, slot.contribution.id if slot.contribution else None, slot.days)
        if ident not in grouped:
            if len(grouped) >= limit:
                continue
            grouped[ident] = Upcoming(slot.slot_at, slot.kind, slot.days, slot.deadline_at, slot.contribution, [])
        grouped[ident].recipients.append(slot.user)
    return list(grouped.values())


def history(rnd: Round, page=1) -> Page[tuple[Reminder, OutboxEmail | None]]:
    """One page of the reminders written for the round, newest first, with their emails."""
    return paginate(
        select(Reminder, OutboxEmail)
        .outerjoin(OutboxEmail, Reminder.outbox_email_id == OutboxEmail.id)
        .where(Reminder.round_id == rnd.id)
        .order_by(Reminder.created_at.desc(), Reminder.id.desc()),
        page,
    )


def can_send_again(reminder: Reminder) -> bool:
    email = reminder.outbox_email
    return email is not None and email.status in (OutboxStatus.SENT, OutboxStatus.FAILED)


def send_again(actor: User, reminder: Reminder, now: datetime | None = None) -> Reminder:
    """Write the reminder again with today's content, as a new reminder and a new email."""
    from app.policy import require

    require(actor, "round.manage_reminders", reminder.round)
    if not can_send_again(reminder):
        raise ServiceError("You can only send again a reminder that was sent or that failed")
    if not reminder.user.active:
        raise ServiceError(f"{reminder.user.full_name}’s account is deactivated, so the reminder cannot be sent")
    now = now or utcnow()
    original = db.session.get(Reminder, reminder.resend_of_id) if reminder.resend_of_id else reminder
    n = db.session.scalar(select(func.count()).where(Reminder.resend_of_id == original.id)) + 1
    key = f"{original.key}:again:{n}"
    rnd = reminder.round
    slot = Slot(
        kind=reminder.kind,
        round_id=rnd.id,
        user=reminder.user,
        slot_at=now,
        deadline_at=current_deadline(reminder) or reminder.deadline_at,
        days=reminder.days,
        key=key,
        group=(),
        contribution=reminder.contribution,
    )
    with _link_context():
        new_id = _write(rnd, slot, resend_of_id=original.id, created_by_id=actor.id)
        if new_id is None:
            raise ServiceError("This reminder has just been sent again. Refresh the page to see it")
        _queue(rnd, reminder.kind, reminder.user, reminder.contribution, reminder.days, key, new_id, now)
    record(
        actor,
        "reminders.sent_again",
        reminder,
        f"Sent the reminder “{reminder.kind.label}” to {reminder.user.full_name} again",
        reminder_id=new_id,
        to=reminder.user.email,
    )
    db.session.flush()
    return db.session.get(Reminder, new_id)


def _kind_now(deadline: datetime, now: datetime) -> tuple[ReminderKind, int]:
    """The kind of CSP reminder a deadline calls for now, and its days (before or after it)."""
    days = (_local_date(deadline) - _local_date(now)).days
    if now > deadline:
        return ReminderKind.CSP_OVERDUE, max(-days, 0)
    if days == 0:
        return ReminderKind.CSP_DUE, 0
    return ReminderKind.CSP_BEFORE, days


def remind_now(actor: User, contribution: Contribution, request_key: str, now: datetime | None = None) -> list[User]:
    """Remind the contribution's CSP people now (a lead bidder user asked for it), with the
    scheduled reminder's email as things stand now. `request_key` names the request (a unique
    value of the form that asked): each person is reminded once per contribution and request
    key, so a second click or a retried POST writes nothing more. Returns the people reminded
    by this call ([] when this request had reminded them already)."""
    from app.policy import require
    from app.services.contributions import still_to_do_for

    require(actor, "contribution.remind", contribution)
    users = csp_users(contribution)
    name = contribution.csp.name
    if not users:
        raise ServiceError(f"{name} has no active users to remind. Invite one first")
    now = now or utcnow()
    rnd = contribution.round
    kind, days = _kind_now(contribution.deadline, now)
    facts = RoundFacts(rnd, now, still_to_do_for([contribution]))
    reminded = []
    with _link_context():
        for user in users:
            key = f"r:now:{contribution.id}:{request_key}:{user.id}"
            slot = Slot(kind=kind, round_id=rnd.id, user=user, slot_at=now, deadline_at=contribution.deadline,
                        days=days, key=key, group=(), contribution=contribution)
            reminder_id = _write(rnd, slot, created_by_id=actor.id)
            if reminder_id is None:  # this request reminded them already
                continue
            template, context = email_for(rnd, kind, user, contribution, days, now, facts)
            queue_email(user.email, template, idempotency_key=key, lead_bidder_id=rnd.lead_bidder_id, **context)
            db.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id)
                .values(outbox_email_id=select(OutboxEmail.id).where(OutboxEmail.idempotency_key == key)
                        .scalar_subquery())
                .execution_options(synchronize_session=False)
            )
            reminded.append(user)
    if reminded:
        record(
            actor,
            "reminders.sent_now",
            contribution,
            f"{actor.full_name} sent {name} a reminder now ({kind.label.lower()}) to "
            + ", ".join(u.full_name for u in reminded),
            to=[u.email for u in reminded],
            kind=kind.value,
            request_key=request_key,
        )
    db.session.flush()
    return reminded


def plain_error(error: str | None) -> str:
    """An outbox error in words an administrator understands."""
    if not error:
        return ""
    text = error.lower()
    if text.startswith("cancelled"):
        return error
    if "refused" in text and ("connection" in text or "errno 111" in text):
        return "The mail server could not be reached. It will be tried again"
    if "timed out" in text or "timeout" in text:
        return "The mail server did not answer in time. It will be tried again"
    if "recipientsrefused" in text or " 550" in text or "(550" in text or "no such user" in text:
        return "The mail server refused the email address"
    if "disconnected" in text:
        return "The mail server closed the connection. It will be tried again"
    if "authentication" in text or " 535" in text:
        return "The service could not sign in to the mail server"
    return "The mail server reported a problem"
