"""Calendars (issue 6) in a real browser: a CSP manager makes a calendar address, sees it once, a
calendar app fetches it, and they turn it off. Every page is checked with axe-core and screenshotted
by the harness (tests/browser/conftest.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from icalendar import Calendar

from app.extensions import db
from app.models import Round
from tests.browser.conftest import CheckedPage, expect, sign_in

pytestmark = pytest.mark.browser


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def test_a_csp_manager_adds_their_deadlines_to_a_calendar_and_turns_it_off(app, world, page):
    with app.app_context():
        deadline = db.session.get(Round, world.round_a).internal_deadline.replace(microsecond=0)
    sign_in(page, world.emails["csp_manager"])
    page.goto("/account")
    page.click_link("Add your deadlines to your calendar")
    expect(heading(page)).to_have_text("Your calendar")
    expect(page.get_by_role("main")).to_contain_text("You do not have a calendar address.")

    page.click_button("Create a calendar address")
    main = page.get_by_role("main")
    expect(main).to_contain_text("Your calendar address is ready")
    expect(main).to_contain_text("Copy this address now: we only show it once. Anyone with it can see your deadlines.")
    address_box = page.get_by_label("Calendar address")
    address = address_box.input_value()
    assert urlsplit(address).path.startswith("/calendar/") and address.endswith(".ics")

    # The calendar app asks for it (here with the browser's own request context).
    path = urlsplit(address).path
    response = page.request.get(path)
    assert response.status == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "set-cookie" not in response.headers
    cal = Calendar.from_ical(response.body())
    mine = next(e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"contribution-{world.contribution_a1}-"))
    assert mine.decoded("DTSTART") == deadline
    assert str(mine["SUMMARY"]) == "Internal deadline: Early Intervention Youth Fund 2018"

    # Shown once: coming back, the address is gone but the page says one exists and was used.
    page.goto("/account/calendar")
    expect(page.get_by_label("Calendar address")).to_have_count(0)
    expect(main).to_contain_text("You have a calendar address, made at")
    expect(main).to_contain_text("last used at")

    page.click_button("Turn off the calendar address")
    expect(main).to_contain_text("Your calendar address has been turned off")
    expect(page.get_by_role("button", name="Create a calendar address")).to_be_visible()
    assert page.request.get(path).status == 404


def test_the_contribution_page_offers_its_deadlines_as_a_file(app, world, page):
    sign_in(page, world.emails["csp_contributor"])
    page.goto(f"/contributions/{world.contribution_a1}")
    link = page.get_by_role("link", name="Add to your calendar (.ics)")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == (
        "Early Intervention Youth Fund 2018 - Reading Community Safety Partnership - deadlines.ics"
    )
    with open(download.path(), "rb") as f:
        cal = Calendar.from_ical(f.read())
    assert len(list(cal.walk("VEVENT"))) == 2
