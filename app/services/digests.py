"""The daily summary of notifications, for people who chose "In a daily summary".

`send_digests()` (run by `flask notifications send-digests`, every few minutes from cron, on
several machines at once if need be) does nothing before 9am UK time, nor on a Saturday, a Sunday
or a bank holiday in England and Wales (app/workdays.py). From 9am on a working day it queues, for
each person with notifications waiting for a summary, ONE email listing them (grouped by round,
each with its link), and marks them as emailed (`emailed_at`, `digest_date`).

Once per person per day: the outbox key is "digest:<person>:<date>", and a person's rows are marked
only by the run whose email was queued (INSERT ... ON CONFLICT DO NOTHING). Notifications written
after that day's summary, or on a day without one, wait for the next working day's. Someone with
nothing new gets no email. Someone who turned emails off since gets none (their waiting rows are
set aside when they change their preferences); someone who moved to "Immediately" gets the last
summary of what was already waiting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import groupby

from flask import current_app
from sqlalchemy import select, update

from app.dates import LONDON
from app.extensions import db
from app.models import EmailFrequency, Notification, Round, User
from app.models.base import utcnow
from app.services.notifications import EMAIL_IN_DIGEST
from app.services.outbox import queue_email
from app.workdays import is_working_day

log = logging.getLogger(__name__)

SEND_FROM = time(9, 0)  # UK time
TEMPLATE = "notifications_digest"


@dataclass
class DigestReport:
    sent: int = 0
    notifications: int = 0
    waiting: str = ""  # why nothing was sent now, when it is not time
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.waiting:
            return f"no summaries sent: {self.waiting}"
        text = (
            f"{self.sent} daily summar{'ies' if self.sent != 1 else 'y'} queued, with {self.notifications} "
            f"notification{'s' if self.notifications != 1 else ''}"
        )
        if self.errors:
            text += f", {len(self.errors)} failed"
        return text


def digest_day(now: datetime) -> date | None:
    """The UK date whose summary may be sent at `now`, or None before 9am or on a day off."""
    local = now.astimezone(LONDON)
    if local.time() < SEND_FROM or not is_working_day(local.date()):
        return None
    return local.date()


def digest_key(user_id: int, day: date) -> str:
    return f"digest:{user_id}:{day:%Y%m%d}"


@dataclass(frozen=True)
class DigestItem:
    kind_label: str
    summary: str
    link: str  # absolute
    created_at: datetime


@dataclass(frozen=True)
class DigestRound:
    title: str | None  # None: notifications about no round
    items: list[DigestItem]


def send_digests(now: datetime | None = None) -> DigestReport:
    """Queue today's daily summaries that are due (see the module's description). Commits after
    each person's summary, so a crash loses nothing and repeats nothing."""
    now = now or utcnow()
    day = digest_day(now)
    if day is None:
        local = now.astimezone(LONDON).date()
        if is_working_day(local):
            return DigestReport(waiting="it is before 9am UK time")
        return DigestReport(waiting=f"{local:%A} {local.day} {local:%B %Y} is not a working day")
    report = DigestReport()
    waiting = db.session.execute(
        select(Notification.user_id)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.email_via == EMAIL_IN_DIGEST,
            Notification.emailed_at.is_(None),
            User.active.is_(True),
            User.email_notifications != EmailFrequency.OFF,
        )
        .group_by(Notification.user_id)
        .order_by(Notification.user_id)
    ).scalars().all()
    for user_id in waiting:
        try:
            count = _send_one(user_id, day, now)
            db.session.commit()
        except Exception as exc:  # one person's summary must not stop the others'
            db.session.rollback()
            log.exception("Daily summary for user %s failed", user_id)
            report.errors.append(f"User {user_id}: {type(exc).__name__}: {exc}")
            continue
        if count:
            report.sent += 1
            report.notifications += count
    return report


def _send_one(user_id: int, day: date, now: datetime) -> int:
    """Queue one person's summary for `day` and mark its notifications; 0 if already sent today."""
    from app.urls import absolute_url

    user = db.session.get(User, user_id)
    rows = db.session.execute(
        select(Notification, Round.title)
        .outerjoin(Round, Round.id == Notification.round_id)
        .where(
            Notification.user_id == user_id,
            Notification.email_via == EMAIL_IN_DIGEST,
            Notification.emailed_at.is_(None),
        )
        .order_by(Notification.round_id.is_(None), Notification.round_id.desc(), Notification.created_at,
                  Notification.id)
    ).all()
    if user is None or not rows:
        return 0
    base = current_app.config["BASE_URL"]  # a notification's link is a path (url_for's), as absolute_url adds it
    rounds = [
        DigestRound(
            title,
            [
                DigestItem(n.kind_label, n.summary, base + n.link, n.created_at)
                for n, _ in group
            ],
        )
        for (_, title), group in groupby(rows, key=lambda pair: (pair[0].round_id, pair[1]))
    ]
    queued = queue_email(
        user.email,
        TEMPLATE,
        idempotency_key=digest_key(user.id, day),
        lead_bidder_id=user.lead_bidder_id,
        user=user,
        day=day,
        rounds=rounds,
        count=len(rows),
        home=absolute_url("whats_new.index"),
    )
    if not queued:  # another run sent today's summary first: these wait for the next one
        return 0
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_([n.id for n, _ in rows]), Notification.emailed_at.is_(None))
        .values(emailed_at=now, digest_date=day)
        .execution_options(synchronize_session=False)
    )
    return len(rows)

