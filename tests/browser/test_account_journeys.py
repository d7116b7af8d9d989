"""Account journeys in a real browser: signing in and out, accepting an invitation, resetting a password.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    CheckedPage,
    deliver_outbox,
    expect,
    link_in,
    only_email_to,
    set_up_two_factor,
    sign_in,
    sign_out,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

LEAD = "Thames Valley OPCC"
CSP = "Reading Community Safety Partnership"
NEW_PASSWORD = "lantern orchard velvet compass"


def heading(page: CheckedPage):
    return page.get_by_role("heading", level=1)


def error_summary(page: CheckedPage):
    return page.locator(".govuk-error-summary")


def success_banner(page: CheckedPage):
    return page.locator(".govuk-notification-banner--success")


def expect_signed_in_home(page: CheckedPage, full_name: str | None, organisation: str) -> None:
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page).to_have_title("Home – Partnership Bid")
    if full_name:
        expect(heading(page)).to_have_text(f"Welcome, {full_name}")
    expect(page.locator("main")).to_contain_text(organisation)
    expect(page.locator("header")).to_contain_text(organisation)
    expect(page.locator("header").get_by_role("button", name="Sign out")).to_be_visible()


def expect_sign_in_error(page: CheckedPage, email: str) -> None:
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page).to_have_title(re.compile(r"^Error: Sign in"))
    summary = error_summary(page)
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter a correct email address and password")
    expect(page.get_by_label("Email address")).to_have_value(email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")


# --- signing in and out ------------------------------------------------------------------------


def test_sign_in_with_correct_details_shows_the_home_page(page, world):
    sign_in(page, world.emails["lead_admin"])

    expect_signed_in_home(page, None, LEAD)
    expect(heading(page)).to_contain_text("Welcome, ")
    expect(page.get_by_role("navigation", name="Menu").get_by_role("link", name="Users")).to_be_visible()


def test_wrong_password_shows_the_error_summary_and_keeps_the_email(page, world):
    email = world.emails["viewer"]
    sign_in(page, email, "not the right password")

    expect_sign_in_error(page, email)
    # GOV.UK Frontend's script runs (the CSP allows it): the summary takes the focus, and its link
    # moves the focus to the field.
    summary = error_summary(page)
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Enter a correct email address and password")
    expect(link).to_have_count(1)  # one message for the pair of fields, said once
    link.click()
    expect(page.get_by_label("Email address")).to_be_focused()

    # Correcting the password from the error page works.
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.click_button("Sign in")
    expect_signed_in_home(page, None, LEAD)


def test_sign_out_returns_to_sign_in_and_home_needs_signing_in_again(page, world):
    sign_in(page, world.emails["csp_manager"])
    expect_signed_in_home(page, None, CSP)

    sign_out(page)

    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(success_banner(page)).to_contain_text("You have signed out")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=%2Fhome$"))
    expect(heading(page)).to_have_text("Sign in to Partnership Bid")
    expect(page.locator("main")).not_to_contain_text(CSP)

    # Signing in from there goes back to the page they asked for.
    sign_in(page, world.emails["csp_manager"])
    expect_signed_in_home(page, None, CSP)


def test_staff_set_up_two_factor_at_their_first_sign_in_then_sign_in_with_a_code(page, world, app):
    from app.extensions import db
    from app.models import User
    from tests.two_factor_codes import next_code

    with app.app_context():
        db.session.get(User, world.users["lead_staff"]).totp_secret = None
        db.session.commit()
    email = world.emails["lead_staff"]
    page.goto("/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.click_button("Sign in")
    # Nothing else until it is set up.
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    expect(page.locator("main")).to_contain_text("You need to set up two-factor sign-in before you can continue")
    page.goto("/home")
    expect(page).to_have_url(re.compile(r"/account/two-factor$"))
    codes = set_up_two_factor(page, email)
    assert len(codes) == 10
    expect(page.locator("[data-two-factor-status]")).to_contain_text("Two-factor sign-in is on")

    sign_out(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.click_button("Sign in")
    expect(heading(page)).to_have_text("Enter your security code")
    page.get_by_label("Security code").fill("000000")
    page.click_button("Continue")
    expect(error_summary(page)).to_contain_text("Enter the 6-digit code your authenticator app shows now")
    page.get_by_label("Security code").fill(next_code(email))
    page.click_button("Continue")
    expect_signed_in_home(page, None, LEAD)


# --- invitations -------------------------------------------------------------------------------


def test_invited_person_sets_a_password_and_signs_in(page, new_page, world, app, smtp_server, live_server):
    invitee_email = "priya.shah@reading.example.org"

    # The lead bidder's administrator invites a CSP manager.
    sign_in(page, world.emails["lead_admin"])
    page.click_link("Users")
    expect(heading(page)).to_have_text("Users")
    page.click_button("Invite someone")
    expect(heading(page)).to_have_text("Invite someone")
    page.get_by_label("Full name").fill("Priya Shah")
    page.get_by_label("Email address").fill(invitee_email)
    page.get_by_label("Organisation").select_option(label=CSP)
    page.get_by_role("radio", name="CSP manager").check()
    page.click_button("Send invitation")

    expect(success_banner(page)).to_contain_text(f"Invitation sent to {invitee_email}")
    expect(heading(page)).to_have_text("Priya Shah")
    expect(page.locator("main")).to_contain_text("Invited")
    assert smtp_server.messages == [], "nothing is sent from the request itself: the outbox sends it"

    # The outbox worker sends the invitation.
    assert deliver_outbox(app).sent == 1
    invitation = only_email_to(smtp_server, invitee_email)
    assert invitation.subject == "You have been invited to Partnership Bid"
    link = link_in(invitation, live_server)
    assert "/invitation/" in link

    # The invitee opens the link in their own browser. Opening it (twice) does not use it up.
    invitee = new_page()
    for _ in range(2):
        invitee.goto(link)
        expect(invitee).to_have_title("Set your password – Partnership Bid")
        expect(heading(invitee)).to_have_text("Set your password")
        expect(invitee.locator("main")).to_contain_text(CSP)
        expect(invitee.locator("main")).to_contain_text(invitee_email)
        expect(invitee.get_by_role("button", name="Save password and continue")).to_be_visible()

    # A password that is too short is refused, with the GOV.UK error pattern.
    invitee.get_by_label("Create a password").fill("too short")
    invitee.get_by_label("Confirm your password").fill("too short")
    invitee.click_button("Save password and continue")
    expect(invitee).to_have_title(re.compile(r"^Error: Set your password"))
    expect(error_summary(invitee)).to_contain_text("There is a problem")
    expect(error_summary(invitee)).to_contain_text("Password must be 12 characters or more")
    expect(invitee.locator("#password-error")).to_contain_text("Password must be 12 characters or more")

    # A good one signs them in, to their CSP's home page.
    invitee.get_by_label("Create a password").fill(NEW_PASSWORD)
    invitee.get_by_label("Confirm your password").fill(NEW_PASSWORD)
    invitee.click_button("Save password and continue")
    expect_signed_in_home(invitee, "Priya Shah", CSP)
    expect(success_banner(invitee)).to_contain_text("Your account is ready. You are now signed in")

    # The link has done its job.
    invitee.goto(link)
    expect(heading(invitee)).to_have_text("This invitation link has expired")

    # They can sign out and back in with their new password.
    sign_out(invitee)
    sign_in(invitee, invitee_email, NEW_PASSWORD)
    expect_signed_in_home(invitee, "Priya Shah", CSP)


# --- password reset ----------------------------------------------------------------------------


def test_forgotten_password_is_reset_through_the_emailed_link(page, world, app, smtp_server, live_server):
    email = world.emails["csp_manager"]

    page.goto("/sign-in")
    page.click_link("Forgotten your password?")
    expect(heading(page)).to_have_text("Reset your password")
    page.get_by_label("Email address").fill(email)
    page.click_button("Send reset link")
    expect(heading(page)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text(email)

    assert deliver_outbox(app, live_server.url).sent == 1
    message = only_email_to(smtp_server, email)
    assert message.subject == "Reset your Partnership Bid password"
    link = link_in(message, live_server)
    assert "/password-reset/" in link

    page.goto(link)
    expect(heading(page)).to_have_text("Create a new password")
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Confirm your password").fill(NEW_PASSWORD)
    page.click_button("Reset password")
    expect_signed_in_home(page, None, CSP)
    expect(success_banner(page)).to_contain_text("Your password has been reset. You are now signed in")

    # They are told that their password changed.
    smtp_server.clear()
    assert deliver_outbox(app).sent == 1
    assert "password" in only_email_to(smtp_server, email).subject.lower()

    # The old password no longer works; the new one does.
    sign_out(page)
    sign_in(page, email, PASSWORD)
    expect_sign_in_error(page, email)
    sign_in(page, email, NEW_PASSWORD)
    expect_signed_in_home(page, None, CSP)

    # The link works once only.
    page.goto(link)
    expect(page).to_have_title("This password reset link has expired – Partnership Bid")
    expect(heading(page)).to_have_text("This password reset link has expired")
    expect(page.get_by_role("button", name="Reset password")).to_have_count(0)


def test_unknown_email_gets_the_same_answer_and_no_email(page, world, app, smtp_server):
    def ask_for_a_reset(email: str) -> str:
        page.goto("/password-reset")
        page.get_by_label("Email address").fill(email)
        page.click_button("Send reset link")
        expect(heading(page)).to_have_text("Check your email")
        return page.locator("main").inner_text().replace(email, "<email>")

    unknown = "nobody@nowhere.example.org"
    known = world.emails["csp_manager"]
    assert ask_for_a_reset(unknown) == ask_for_a_reset(known)

    assert deliver_outbox(app).sent == 1
    assert smtp_server.to(unknown) == []
    assert [m.subject for m in smtp_server.messages] == ["Reset your Partnership Bid password"]
    assert smtp_server.to(known)
