"""The session time-out warning in a real browser (GOV.UK's timeout warning pattern, WCAG 2.2.1).

This module's server has a one-minute idle limit and warns 50 seconds before it, so the dialog
opens about ten seconds after a page loads: the test waits for it to appear, never for time."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import UserSession
from tests.browser.conftest import LiveServer, _start_gunicorn, _stop, expect, sign_in

pytestmark = pytest.mark.browser

IDLE_MINUTES = 1
WARNING_SECONDS = 50
APPEARS_WITHIN_MS = 20_000


@pytest.fixture(scope="module")
def live_server(app, smtp_server) -> Iterator[LiveServer]:
    """The app under gunicorn as usual, with a short idle limit (this module only)."""
    server = _start_gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"],
        smtp_server.port,
        {"SESSION_IDLE_MINUTES": str(IDLE_MINUTES), "SESSION_WARNING_SECONDS": str(WARNING_SECONDS)},
    )
    yield server
    _stop(server.process)


def _last_seen(app, user_id: int):
    with app.app_context():
        return db.session.scalar(select(UserSession.last_seen_at).where(UserSession.user_id == user_id))


def test_the_warning_opens_before_the_time_out_and_stay_signed_in_keeps_the_session(page, world, app):
    sign_in(page, world.emails["csp_manager"])
    page.goto(f"/contributions/{world.contribution_a1}/sections/{world.section_a}")
    text = page.get_by_role("textbox", name="Your text")
    text.fill("Typed before the warning")
    expect(text).to_have_value("Typed before the warning")

    dialog = page.get_by_role("dialog", name="You’re about to be signed out")
    expect(dialog).to_be_visible(timeout=APPEARS_WITHIN_MS)
    stay = dialog.get_by_role("button", name="Stay signed in")
    expect(stay).to_be_focused()  # focus moves into the dialog
    expect(dialog).to_contain_text(re.compile(r"we will sign you out in \d+ seconds"))
    expect(dialog).to_contain_text(re.compile(r"we will sign you out at \d{1,2}:\d\d(am|pm)"))
    expect(dialog.get_by_role("button", name="Sign out")).to_be_visible()
    # Screen readers hear the time left once when it opens, not every second.
    live = dialog.locator("[aria-live=polite]")
    expect(live).to_have_text(re.compile(r"sign you out in \d+ seconds"))
    expect(dialog.locator("[data-timeout-countdown]")).to_have_attribute("aria-hidden", "true")
    page.check()  # axe-core with the dialog open

    # Escape means "stay signed in": a POST with the page's security token.
    before = _last_seen(app, world.users["csp_manager"])
    with page.expect_response(lambda r: r.url.endswith("/session/stay-signed-in")) as answer:
        page.keyboard.press("Escape")
    assert answer.value.status == 200 and answer.value.request.method == "POST"
    assert "csrf_token=" in (answer.value.request.post_data or "")
    expect(dialog).to_be_hidden()
    assert _last_seen(app, world.users["csp_manager"]) > before

    # It warns again before the new limit; the button keeps the session the same way.
    expect(dialog).to_be_visible(timeout=APPEARS_WITHIN_MS)
    before = _last_seen(app, world.users["csp_manager"])
    with page.expect_response(lambda r: r.url.endswith("/session/stay-signed-in")) as answer:
        stay.click()
    assert answer.value.status == 200
    expect(dialog).to_be_hidden()
    assert _last_seen(app, world.users["csp_manager"]) > before
    expect(text).to_have_value("Typed before the warning")  # the page was never left
    expect(text).to_be_focused()  # focus goes back where it was

    # Still signed in.
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/home$"))
