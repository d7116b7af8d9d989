"""Calendars (issue 6): the private feed, the address page, and the one-off .ics files.

Every calendar is parsed back with icalendar, as a calendar app would read it."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import select

from app.dates import london_to_utc
from app.extensions import db
from app.models import Contribution, Round, RoundStatus, User
from app.models.base import utcnow
from app.models.deadline import CalendarFeed, DeadlineChange, DeadlineKind
from app.services import calendar as service
from app.services.accounts import deactivate_user
from app.services.rounds import grant_extension
from tests.conftest import open_round_for, post_form

ADDRESS_RE = re.compile(r">(http[^<]+/calendar/([A-Za-z0-9_-]+)\.ics)</textarea>")
TODAY = datetime.now(UTC).date()
# Round A's deadlines, set to whole minutes as people enter them (UK time).
INTERNAL = london_to_utc(TODAY + timedelta(days=20), time(12, 0))
FUNDER = london_to_utc(TODAY + timedelta(days=40), time(17, 0))
SIGN_OFF = london_to_utc(TODAY + timedelta(days=35), time(9, 30))


@pytest.fixture
def rounds(app, world):
    """Round A with round-number deadlines and a sign-off target."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.internal_deadline, rnd.funder_deadline, rnd.sign_off_target = INTERNAL, FUNDER, SIGN_OFF
        db.session.commit()
    return world


def make_feed(app, world, who: str) -> str:
    with app.app_context():
        token = service.create_feed(db.session.get(User, world.users[who]))
        db.session.commit()
        return token


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def events(data: bytes) -> dict[str, object]:
    """The calendar's events by UID (without the host part)."""
    return {str(e["UID"]).split("@")[0]: e for e in parse(data).walk("VEVENT")}


def fetch(client, token: str):
    return client.get(f"/calendar/{token}.ics")


def start(event) -> datetime:
    return event.decoded("DTSTART")


# --- the feed -----------------------------------------------------------------------------------

def test_a_lead_users_feed_has_each_open_rounds_three_deadlines(app, rounds, client):
    token = make_feed(app, rounds, "lead_staff")
    response = fetch(client, token)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert "Set-Cookie" not in response.headers
    cal = parse(response.data)
    assert cal["VERSION"] == "2.0"
    assert str(cal["PRODID"]) == "-//Partnership Bid//Deadlines//EN"
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H"
    assert cal.decoded("REFRESH-INTERVAL") == timedelta(hours=1)
    assert "Thames Valley OPCC" in str(cal["X-WR-CALNAME"])
    found = events(response.data)
    r = rounds.round_a
    assert set(found) == {f"round-{r}-funder", f"round-{r}-internal", f"round-{r}-sign_off"}

    funder = found[f"round-{r}-funder"]
    assert str(funder["SUMMARY"]) == "Funder’s deadline: Early Intervention Youth Fund 2018"
    assert start(funder) == FUNDER and funder.decoded("DTEND") == FUNDER
    assert start(funder).utcoffset() == timedelta(0)  # written in UTC
    assert str(found[f"round-{r}-internal"]["SUMMARY"]) == "Internal deadline: Early Intervention Youth Fund 2018"
    assert start(found[f"round-{r}-internal"]) == INTERNAL
    assert str(found[f"round-{r}-sign_off"]["SUMMARY"]) == "Sign-off target: Early Intervention Youth Fund 2018"
    assert start(found[f"round-{r}-sign_off"]) == SIGN_OFF
    # The facts in words (UK time), a link to the round, and a reminder a day before.
    description = str(funder["DESCRIPTION"])
    assert "Home Office" in description and "5pm on" in description
    assert f"http://localhost/rounds/{r}" in description
    assert str(funder["URL"]) == f"http://localhost/rounds/{r}"
    assert funder["SEQUENCE"] == 0
    [alarm] = funder.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert "DTSTAMP" in funder and "LAST-MODIFIED" in funder


def test_a_csp_users_feed_has_their_own_deadline_and_the_funders(app, rounds, client):
    token = make_feed(app, rounds, "csp_contributor")
    found = events(fetch(client, token).data)

    mine = f"contribution-{rounds.contribution_a1}-deadline"
    assert set(found) == {mine, f"round-{rounds.round_a}-funder"}
    assert str(found[mine]["SUMMARY"]) == "Internal deadline: Early Intervention Youth Fund 2018"
    assert start(found[mine]) == INTERNAL
    assert str(found[mine]["URL"]) == f"http://localhost/contributions/{rounds.contribution_a1}"
    assert "Reading Community Safety Partnership" in str(found[mine]["DESCRIPTION"])
    assert start(found[f"round-{rounds.round_a}-funder"]) == FUNDER


def test_a_csp_with_an_extension_sees_the_extension_as_their_deadline(app, rounds, client):
    until = london_to_utc(TODAY + timedelta(days=25), time(12, 0))
    with app.app_context():
        contribution = db.session.get(Contribution, rounds.contribution_a1)
        grant_extension(
            db.session.get(User, rounds.users["lead_admin"]), contribution, until, "Their board meets on the 10th"
        )
        db.session.commit()
    token = make_feed(app, rounds, "csp_manager")

    mine = events(fetch(client, token).data)[f"contribution-{rounds.contribution_a1}-deadline"]
    assert start(mine) == until
    assert str(mine["SUMMARY"]) == "Extended deadline: Early Intervention Youth Fund 2018"
    assert "Their board meets on the 10th" in str(mine["DESCRIPTION"])
    assert mine["SEQUENCE"] == 1  # the extension is the one recorded change of this CSP's deadline
    # The other CSP of the round keeps the internal deadline.
    other = events(fetch(client, make_feed(app, rounds, "other_csp_manager")).data)
    assert start(other[f"contribution-{rounds.contribution_a2}-deadline"]) == INTERNAL


def test_nothing_from_other_lead_bidders_or_other_csps(app, rounds, client):
    lead = events(fetch(client, make_feed(app, rounds, "lead_admin")).data)
    csp = events(fetch(client, make_feed(app, rounds, "csp_manager")).data)
    other_lead = events(fetch(client, make_feed(app, rounds, "other_lead_admin")).data)
    other_csp = events(fetch(client, make_feed(app, rounds, "other_lead_csp_manager")).data)

    assert all(f"round-{rounds.round_b}-" not in uid for uid in [*lead, *csp])
    assert f"contribution-{rounds.contribution_a2}-deadline" not in csp
    assert f"contribution-{rounds.contribution_b1}-deadline" not in csp
    assert set(other_lead) == {f"round-{rounds.round_b}-funder", f"round-{rounds.round_b}-internal"}
    assert set(other_csp) == {f"contribution-{rounds.contribution_b1}-deadline", f"round-{rounds.round_b}-funder"}


def test_a_moved_deadline_keeps_its_uid_and_gets_a_new_time_and_sequence(app, rounds, client):
    token = make_feed(app, rounds, "viewer")
    uid = f"round-{rounds.round_a}-funder"
    before = events(fetch(client, token).data)[uid]

    later = FUNDER + timedelta(days=7)
    with app.app_context():
        rnd = db.session.get(Round, rounds.round_a)
        rnd.funder_deadline = later
        db.session.add(
            DeadlineChange(
                lead_bidder_id=rnd.lead_bidder_id,
                round_id=rnd.id,
                kind=DeadlineKind.FUNDER,
                old_at=FUNDER,
                new_at=later,
                reason="Home Office extended the deadline",
                changed_at=utcnow() + timedelta(minutes=1),
            )
        )
        db.session.commit()
    after = events(fetch(client, token).data)[uid]

    assert str(after["UID"]) == str(before["UID"])
    assert start(before) == FUNDER and start(after) == later
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after.decoded("LAST-MODIFIED") > before.decoded("LAST-MODIFIED")
    # The internal deadline did not change: same sequence.
    assert events(fetch(client, token).data)[f"round-{rounds.round_a}-internal"]["SEQUENCE"] == 0


def test_rounds_being_set_up_and_long_closed_rounds_are_left_out(app, rounds, client):
    with app.app_context():
        admin = db.session.get(User, rounds.users["lead_admin"])
        from app.services import rounds as round_service

        draft = round_service.create_round(
            admin,
            fund_name="Serious Violence Fund",
            funder="Home Office",
            title="Serious Violence Fund 2019",
            summary="",
            funder_deadline=utcnow() + timedelta(days=60),
            internal_deadline=utcnow() + timedelta(days=50),
        )
        closed = open_round_for(admin, {rounds.csp_a1: rounds.users["csp_manager"]}, title="Old Fund 2017")
        closed.status = RoundStatus.CLOSED
        closed.funder_deadline = utcnow() - timedelta(days=service.KEEP_CLOSED_DAYS + 1)
        closed.internal_deadline = closed.funder_deadline - timedelta(days=14)
        recent = open_round_for(admin, {rounds.csp_a1: rounds.users["csp_manager"]}, title="Recent Fund 2018")
        recent.status = RoundStatus.CLOSED
        recent.funder_deadline = utcnow() - timedelta(days=10)
        db.session.commit()
        draft_id, closed_id, recent_id = draft.id, closed.id, recent.id

    lead = events(fetch(client, make_feed(app, rounds, "lead_admin")).data)
    csp = events(fetch(client, make_feed(app, rounds, "csp_manager")).data)
    for found in (lead, csp):
        assert not any(uid.startswith((f"round-{draft_id}-", f"round-{closed_id}-")) for uid in found)
        assert f"round-{recent_id}-funder" in found  # a recently closed round's deadlines stay a while


def test_an_unknown_address_is_404_and_sets_no_cookie(app, rounds, client):
    response = client.get("/calendar/not-a-real-token.ics")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers


def test_a_deactivated_users_address_stops_working(app, rounds, client):
    token = make_feed(app, rounds, "csp_contributor")
    assert fetch(client, token).status_code == 200
    with app.app_context():
        deactivate_user(
            db.session.get(User, rounds.users["lead_admin"]), db.session.get(User, rounds.users["csp_contributor"])
        )
        db.session.commit()
    assert fetch(client, token).status_code == 404


def test_only_the_hash_of_the_address_is_stored(app, rounds):
    token = make_feed(app, rounds, "csp_manager")
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    with app.app_context():
        row = db.session.scalar(select(CalendarFeed))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        values = [str(v) for v in db.session.execute(select(CalendarFeed.__table__)).one()]
        assert not any(token in v for v in values)


def test_last_used_is_noted_at_most_every_few_minutes(app, rounds, client):
    token = make_feed(app, rounds, "csp_manager")

    def last_used():
        with app.app_context():
            return db.session.scalar(select(CalendarFeed.last_used_at))

    assert last_used() is None
    fetch(client, token)
    first = last_used()
    assert first is not None
    fetch(client, token)
    assert last_used() == first
    with time_machine.travel(utcnow() + service.TOUCH_EVERY + timedelta(seconds=1), tick=False):
        fetch(client, token)
    assert last_used() > first


# --- the address page ---------------------------------------------------------------------------

def test_making_an_address_shows_it_once_and_it_works(app, rounds, signed_in):
    manager = signed_in("csp_manager")
    page = manager.get("/account/calendar")
    assert "Create a calendar address" in page.get_data(as_text=True)

    response = post_form(manager, "/account/calendar", page="/account/calendar", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Your calendar address is ready" in html
    assert "Copy this address now: we only show it once. Anyone with it can see your deadlines." in html
    address, token = ADDRESS_RE.search(html).groups()
    assert address == f"http://localhost/calendar/{token}.ics"

    again = manager.get("/account/calendar").get_data(as_text=True)
    assert token not in again
    assert "You have a calendar address, made at" in again and "not used yet" in again

    feed = app.test_client().get(f"/calendar/{token}.ics")
    assert feed.status_code == 200
    assert start(events(feed.data)[f"contribution-{rounds.contribution_a1}-deadline"]) == INTERNAL
    assert "last used at" in manager.get("/account/calendar").get_data(as_text=True)
    # Fetched from the signed-in browser it works the same, and leaves the session cookie alone.
    signed_in_fetch = manager.get(f"/calendar/{token}.ics")
    assert signed_in_fetch.status_code == 200 and "Set-Cookie" not in signed_in_fetch.headers


def _cookie_session(app, client) -> dict:
    """What the browser's session cookie says: signed, not encrypted, so anyone holding it reads it."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}


def test_the_calendar_secret_never_goes_into_the_session_cookie(app, rounds, signed_in):
    manager = signed_in("csp_manager")
    response = post_form(manager, "/account/calendar", page="/account/calendar")
    # Shown in the answer to the button itself, not kept for a later page.
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Your calendar address is ready" in html
    token = ADDRESS_RE.search(html).group(2)
    assert token not in repr(_cookie_session(app, manager))
    assert token not in manager.get("/account/calendar").get_data(as_text=True)
    assert token not in repr(_cookie_session(app, manager))
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 200


def test_a_new_address_stops_the_old_one_and_turning_off_stops_both(app, rounds, signed_in):
    staff = signed_in("lead_staff")
    first = ADDRESS_RE.search(
        post_form(staff, "/account/calendar", page="/account/calendar", follow_redirects=True).get_data(as_text=True)
    ).group(2)
    html = post_form(staff, "/account/calendar", page="/account/calendar", follow_redirects=True).get_data(
        as_text=True
    )
    assert "The old address has stopped working" in html
    second = ADDRESS_RE.search(html).group(2)
    assert first != second

    anonymous = app.test_client()
    assert fetch(anonymous, first).status_code == 404
    assert fetch(anonymous, second).status_code == 200

    html = post_form(staff, "/account/calendar/revoke", page="/account/calendar", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Your calendar address has been turned off" in html
    assert "Create a calendar address" in html
    assert fetch(anonymous, second).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(CalendarFeed)) is None


def test_the_account_page_links_to_the_calendar(rounds, signed_in):
    html = signed_in("viewer").get("/account").get_data(as_text=True)
    assert 'href="/account/calendar"' in html


# --- one-off files ------------------------------------------------------------------------------

def test_a_lead_user_downloads_a_rounds_deadlines(app, rounds, signed_in):
    response = signed_in("viewer").get(f"/rounds/{rounds.round_a}/deadlines.ics")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="Early Intervention Youth Fund 2018 - deadlines.ics"'
    )
    cal = parse(response.data)
    assert str(cal["X-WR-CALNAME"]) == "Deadlines: Early Intervention Youth Fund 2018"
    found = events(response.data)
    r = rounds.round_a
    assert {uid: start(e) for uid, e in found.items()} == {
        f"round-{r}-funder": FUNDER,
        f"round-{r}-internal": INTERNAL,
        f"round-{r}-sign_off": SIGN_OFF,
    }
    # The same UIDs as the feed, so importing the file and subscribing do not double up.
    feed = events(fetch(app.test_client(), make_feed(app, rounds, "lead_admin")).data)
    assert set(feed) == set(found)


def test_csp_users_cannot_download_a_rounds_file(rounds, signed_in):
    assert signed_in("csp_manager").get(f"/rounds/{rounds.round_a}/deadlines.ics").status_code == 403
    assert signed_in("other_lead_admin").get(f"/rounds/{rounds.round_a}/deadlines.ics").status_code == 404


def test_a_csp_user_downloads_their_contributions_deadlines(app, rounds, signed_in):
    manager = signed_in("csp_manager")
    task_list = manager.get(f"/contributions/{rounds.contribution_a1}").get_data(as_text=True)
    assert f'href="/contributions/{rounds.contribution_a1}/deadlines.ics"' in task_list
    assert "Add to your calendar (.ics)" in task_list

    response = manager.get(f"/contributions/{rounds.contribution_a1}/deadlines.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="Early Intervention Youth Fund 2018 - Reading Community Safety Partnership'
        ' - deadlines.ics"'
    )
    found = events(response.data)
    assert start(found[f"contribution-{rounds.contribution_a1}-deadline"]) == INTERNAL
    assert start(found[f"round-{rounds.round_a}-funder"]) == FUNDER
    assert signed_in("other_csp_manager").get(
        f"/contributions/{rounds.contribution_a1}/deadlines.ics"
    ).status_code == 404


def test_a_deadline_in_the_repeated_october_hour_is_the_first_one(app, rounds, signed_in):
    """01:30 on 25 October 2026 happens twice in the UK; the deadline is the first (BST), 00:30 UTC,
    and the file says so in UTC so no calendar app can read it the other way."""
    with app.app_context():
        rnd = db.session.get(Round, rounds.round_a)
        rnd.sign_off_target = london_to_utc(date(2026, 10, 25), time(1, 30))
        db.session.commit()
    data = signed_in("lead_admin").get(f"/rounds/{rounds.round_a}/deadlines.ics").data
    sign_off = events(data)[f"round-{rounds.round_a}-sign_off"]
    assert start(sign_off) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert b"DTSTART:20261025T003000Z" in data
