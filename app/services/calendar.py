"""Calendars (issue 6): each person's private, revocable iCalendar feed of their rounds' deadlines,
and one-off .ics files of one round's (or one contribution's) deadlines.

The feed address holds a random secret (`secrets.token_urlsafe(32)`: 32 random bytes). Only its
SHA-256 is stored, and a feed is looked up by that hash: the database compares hashes, never the
secret, so response times say nothing about the secret. Making a new address replaces the row, so
the old address stops working at once; turning the feed off deletes it.

Decisions (the issue is silent on these):
- Times are written in UTC ("...Z"). A UTC instant means the same everywhere, needs no VTIMEZONE,
  and every calendar app shows it in the reader's own time (Europe/London for our users).
- Each deadline is a timed event AT the deadline: DTSTART = DTEND = the deadline (a moment, not
  a meeting), marked TRANSPARENT so it never shows the person as busy. A display alarm goes off a
  day before.
- UIDs are stable per round and kind of deadline (`round-12-funder@host`), and per contribution
  for a CSP's own deadline (`contribution-34-deadline@host`), so a calendar app moves the event
  when the deadline changes. SEQUENCE counts the recorded changes of that deadline (DeadlineChange
  rows); LAST-MODIFIED (and DTSTAMP, as RFC 5545 asks for calendars without METHOD) is the time of
  the latest change, else when the round was opened (or created).
- What a feed holds: rounds that are open, and closed rounds for KEEP_CLOSED_DAYS after their
  funder's deadline (removing past events at once would delete them from people's calendars).
  Rounds still being set up are left out: their dates are not final and CSPs cannot see them.
  Lead bidder users get each round's funder's deadline, internal deadline and sign-off target (if
  set); CSP users get their own contribution's deadline (the internal deadline, or their extension)
  and the funder's deadline, for the rounds their CSP takes part in (not excluded).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Alarm, Calendar, Event
from sqlalchemy import delete, func, or_, select

from app.dates import govuk_datetime
from app.extensions import db
from app.models import Contribution, Round, RoundStatus, User
from app.models.base import utcnow
from app.models.contribution import ContributionStatus
from app.models.deadline import CalendarFeed, DeadlineChange, DeadlineKind
from app.policy import lifecycle
from app.services import audit, insert_for_dialect
from app.services.tokens import hash_token, new_token
from app.urls import absolute_url

# last_used_at is written at most this often: calendar apps poll, and a fetch need not write.
TOUCH_EVERY = timedelta(minutes=5)
# Closed rounds stay in the feed this long after their funder's deadline.
KEEP_CLOSED_DAYS = 90
# Calendar apps that honour it fetch the feed again this often.
REFRESH = timedelta(hours=1)  # also written as X-PUBLISHED-TTL:PT1H
REMIND_BEFORE = timedelta(days=1)


# --- the feed address ------------------------------------------------------------------------

def feed_of(user: User) -> CalendarFeed | None:
    return db.session.scalar(select(CalendarFeed).where(CalendarFeed.user_id == user.id))


def create_feed(user: User) -> str:
    """A new private address for the user's feed; any address they had stops working. Returns the
    secret token (shown once; only its hash is kept)."""
    token = new_token()
    existing = feed_of(user)
    replaced = existing is not None
    # One statement that replaces any address the user had, so two clicks at the same instant
    # (two tabs) both succeed and the last one wins, rather than one hitting the unique user_id.
    insert = insert_for_dialect()
    values = {"token_hash": hash_token(token), "created_at": utcnow(), "last_used_at": None}
    db.session.execute(
        insert(CalendarFeed)
        .values(user_id=user.id, **values)
        .on_conflict_do_update(index_elements=["user_id"], set_=values)
    )
    if existing is not None:
        db.session.expire(existing)
    audit.record(
        user,
        "calendar.feed_replaced" if replaced else "calendar.feed_created",
        user,
        "Made a new calendar address (the old one stopped working)" if replaced else "Made a calendar address",
    )
    db.session.flush()
    return token


def revoke_feed(user: User) -> bool:
    """Turn the user's feed off. False when there was none."""
    result = db.session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user.id))
    if not result.rowcount:
        return False
    audit.record(user, "calendar.feed_revoked", user, "Turned off the calendar address")
    db.session.flush()
    return True


def user_for_token(token: str | None, touch: bool = True) -> User | None:
    """The active user whose feed this secret is; None for unknown or revoked secrets and for
    deactivated users. Notes when the feed was used, at most every TOUCH_EVERY."""
    if not token or len(token) > 200:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token)))
    if feed is None or not feed.user.active:
        return None
    now = utcnow()
    if touch and (feed.last_used_at is None or now - feed.last_used_at >= TOUCH_EVERY):
        feed.last_used_at = now
        db.session.flush()
    return feed.user


# --- what goes in a calendar -----------------------------------------------------------------

def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def _changes(rnd: Round, kind: DeadlineKind, contribution: Contribution | None = None) -> tuple[int, datetime | None]:
    """How many times that deadline has changed, and when it last did."""
    stmt = select(func.count(), func.max(DeadlineChange.changed_at)).where(
        DeadlineChange.round_id == rnd.id, DeadlineChange.kind == kind
    )
    if contribution is not None:
        stmt = stmt.where(DeadlineChange.contribution_id == contribution.id)
    count, latest = db.session.execute(stmt).one()
    return count or 0, latest


def _later(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _event(
    uid: str, summary: str, at: datetime, description: str, url: str, sequence: int, modified: datetime
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", modified)
    event.add("last-modified", modified)
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("dtstart", at)
    event.add("dtend", at)
    event.add("transp", "TRANSPARENT")
    event.add("description", f"{description}\n\n{url}")
    event.add("url", url)
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", f"Tomorrow: {summary}")
    alarm.add("trigger", -REMIND_BEFORE)
    event.add_component(alarm)
    return event


def _round_name(rnd: Round) -> str:
    return rnd.title


def _since(rnd: Round) -> datetime:
    return rnd.opened_at or rnd.created_at


def _round_events(rnd: Round) -> list[Event]:
    """The lead bidder's view of a round: the funder's deadline, the internal deadline and the
    sign-off target."""
    host = _host()
    url = absolute_url("rounds.show", round_id=rnd.id)
    events = [_funder_event(rnd, url)]
    count, latest = _changes(rnd, DeadlineKind.INTERNAL)
    events.append(
        _event(
            f"round-{rnd.id}-internal@{host}",
            f"Internal deadline: {_round_name(rnd)}",
            rnd.internal_deadline,
            f"Contributions from community safety partnerships to {rnd.title} ({rnd.funder}) are due by "
            f"{govuk_datetime(rnd.internal_deadline)}, unless a partnership has an extension.",
            url,
            count,
            _later(latest, _since(rnd)),
        )
    )
    if rnd.sign_off_target is not None:
        count, latest = _changes(rnd, DeadlineKind.SIGN_OFF)
        events.append(
            _event(
                f"round-{rnd.id}-sign_off@{host}",
                f"Sign-off target: {_round_name(rnd)}",
                rnd.sign_off_target,
                f"The aim is to sign off the collective bid for {rnd.title} ({rnd.funder}) by "
                f"{govuk_datetime(rnd.sign_off_target)}.",
                url,
                count,
                _later(latest, _since(rnd)),
            )
        )
    return events


def _funder_event(rnd: Round, url: str) -> Event:
    count, latest = _changes(rnd, DeadlineKind.FUNDER)
    return _event(
        f"round-{rnd.id}-funder@{_host()}",
        f"Funder’s deadline: {_round_name(rnd)}",
        rnd.funder_deadline,
        f"The collective bid for {rnd.title} must reach {rnd.funder} by {govuk_datetime(rnd.funder_deadline)}.",
        url,
        count,
        _later(latest, _since(rnd)),
    )


def _contribution_events(contribution: Contribution) -> list[Event]:
    """A CSP's view of a round: their own contribution's deadline, and the funder's deadline."""
    rnd = contribution.round
    url = absolute_url("contributions.task_list", contribution_id=contribution.id)
    internal_count, internal_latest = _changes(rnd, DeadlineKind.INTERNAL)
    extension_count, extension_latest = _changes(rnd, DeadlineKind.EXTENSION, contribution)
    extended = contribution.deadline != rnd.internal_deadline
    description = f"{contribution.csp.name}’s contribution to {rnd.title} ({rnd.funder}) is due by " + govuk_datetime(
        contribution.deadline
    ) + "."
    if extended:
        description += f" This is an extension of the internal deadline of {govuk_datetime(rnd.internal_deadline)}."
        if contribution.extension_reason:
            description += f" Reason: {contribution.extension_reason}"
    events = [
        _event(
            f"contribution-{contribution.id}-deadline@{_host()}",
            f"{'Extended deadline' if extended else 'Internal deadline'}: {_round_name(rnd)}",
            contribution.deadline,
            description,
            url,
            internal_count + extension_count,
            _later(internal_latest, extension_latest, contribution.extension_granted_at, _since(rnd)),
        ),
        _funder_event(rnd, url),
    ]
    return events


def _calendar(name: str, description: str, events: list[Event], feed: bool = False) -> bytes:
    cal = Calendar()
    cal.add("prodid", f"-//{current_app.config['SERVICE_NAME']}//Deadlines//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-caldesc", description)
    if feed:
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", "PT1H")  # Outlook's name for it
    else:
        cal.add("method", "PUBLISH")
    for event in events:
        cal.add_component(event)
    return cal.to_ical()


def _recent_rounds_clause():
    keep_from = utcnow() - timedelta(days=KEEP_CLOSED_DAYS)
    return or_(
        Round.status == RoundStatus.OPEN,
        (Round.status.in_(lifecycle.VISIBLE_TO_CSPS - {RoundStatus.OPEN})) & (Round.funder_deadline >= keep_from),
    )


def events_for(user: User) -> list[Event]:
    """The events of a person's feed: only their own lead bidder's rounds, and for CSP users only
    their own CSP's contributions."""
    if user.is_lead:
        rounds = db.session.scalars(
            select(Round)
            .where(Round.lead_bidder_id == user.lead_bidder_id, _recent_rounds_clause())
            .order_by(Round.funder_deadline, Round.id)
        ).all()
        return [event for rnd in rounds for event in _round_events(rnd)]
    contributions = db.session.scalars(
        select(Contribution)
        .join(Round, Contribution.round_id == Round.id)
        .where(
            Contribution.lead_bidder_id == user.lead_bidder_id,
            Contribution.csp_id == user.organisation_id,
            Contribution.status != ContributionStatus.EXCLUDED,
            _recent_rounds_clause(),
        )
        .order_by(Round.funder_deadline, Round.id)
    ).all()
    return [event for c in contributions for event in _contribution_events(c)]


def calendar_for(user: User) -> bytes:
    """The private feed of one person."""
    return _calendar(
        f"{current_app.config['SERVICE_NAME']}: {user.organisation.name}",
        f"Deadlines of the funding rounds {user.organisation.name} takes part in",
        events_for(user),
        feed=True,
    )


def round_calendar(rnd: Round, user: User | None = None) -> bytes:
    """A one-off file of a round's deadlines, for lead bidder users (who see every deadline)."""
    return _calendar(f"Deadlines: {rnd.title}", f"Deadlines of {rnd.title} ({rnd.funder})", _round_events(rnd))


def contribution_calendar(contribution: Contribution) -> bytes:
    """A one-off file of a contribution's deadline and the funder's deadline."""
    rnd = contribution.round
    return _calendar(
        f"Deadlines: {rnd.title}, {contribution.csp.name}",
        f"Deadlines of {contribution.csp.name}’s contribution to {rnd.title} ({rnd.funder})",
        _contribution_events(contribution),
    )


def filename_for(rnd: Round, contribution: Contribution | None = None) -> str:
    parts = [rnd.title, "deadlines"] if contribution is None else [rnd.title, contribution.csp.name, "deadlines"]
    name = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', " ", " - ".join(parts))
    return re.sub(r"\s+", " ", name).strip(" .")[:150] + ".ics"
