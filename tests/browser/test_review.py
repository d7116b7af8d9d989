"""Reviewing a contribution in a real browser: lead staff read a submitted contribution, comment on a
section and ask for changes; the CSP manager sees the request and the comment, replies, changes the
section and submits again; the lead accepts it.

Every page visited is checked with axe-core and screenshotted by the harness (tests/browser/conftest.py).
"""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Contribution, SectionTemplate, User
from app.services.contributions import submit
from tests.browser.conftest import deliver_outbox, expect, link_in, sign_in
from tests.test_submit import complete_everything

pytestmark = pytest.mark.browser

CSP = "Reading Community Safety Partnership"


@pytest.fixture
def submitted(app, world, smtp_server):
    """CSP A1's contribution, completed and submitted by its manager; the title of its first section."""
    complete_everything(app, world.contribution_a1)
    with app.test_request_context():
        manager = db.session.get(User, world.users["csp_manager"])
        submit(manager, db.session.get(Contribution, world.contribution_a1))
        db.session.commit()
        section = db.session.get(SectionTemplate, world.section_a)
        title = f"{section.number}. {section.title}"
    deliver_outbox(app)
    smtp_server.clear()
    return title


def test_lead_asks_for_changes_the_csp_resubmits_and_the_lead_accepts(
    page, new_page, app, world, smtp_server, live_server, submitted
):
    section = submitted
    lead = page
    sign_in(lead, world.emails["lead_staff"])
    lead.goto(f"/rounds/{world.round_a}")
    lead.click_button("Review contributions")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Review contributions")
    row = lead.get_by_role("row").filter(has_text=CSP)
    expect(row).to_contain_text("Submitted")
    expect(row).to_contain_text("£61,250.50")
    lead.click_link(CSP)

    # Read it, and comment on one section.
    expect(lead.get_by_role("heading", level=1)).to_have_text(f"{CSP}’s contribution")
    card = lead.locator(f"#section-{world.section_a}")
    expect(card).to_contain_text(f"Our text for {section.split('. ', 1)[1]}.")
    card.locator("summary").filter(has_text="Comment on section").click()
    card.get_by_label(f"Comment on section {section.split('.')[0]}").fill("Which year are these figures from?")
    with lead.next_page():
        card.get_by_role("button", name=re.compile("^Add comment")).click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Your comment has been added")
    expect(lead.locator(f"#section-{world.section_a}")).to_contain_text("Which year are these figures from?")

    # Ask for changes to that section and the budget.
    lead.click_button("Ask for changes")
    lead.click_button("Send back for changes")  # nothing chosen: errors, GOV.UK style
    expect(lead.locator(".govuk-error-summary")).to_contain_text("Select the parts the CSP should revisit")
    lead.get_by_label(section, exact=True).check()
    lead.get_by_label("Budget", exact=True).check()
    lead.get_by_label("Message to the CSP").fill("Please add the 2017/18 figures and split staff costs by year.")
    lead.click_button("Send back for changes")
    expect(lead.locator("main")).to_contain_text("Changes requested")

    # The CSP manager's emails: the comment, then the request, with the message, the parts and a link.
    deliver_outbox(app)
    emails = {("comment" if "commented on" in m.subject else "request"): m
              for m in smtp_server.to(world.emails["csp_manager"])}
    assert sorted(emails) == ["comment", "request"]
    assert "Which year are these figures from?" in emails["comment"].text
    email = emails["request"]
    assert "2017/18 figures" in email.text and section in email.text

    csp = new_page()
    sign_in(csp, world.emails["csp_manager"])
    csp.goto(link_in(email, live_server))
    banner = csp.locator(".govuk-notification-banner").filter(has_text="asked you to change")
    expect(banner).to_contain_text("Please add the 2017/18 figures")
    expect(banner.get_by_role("link", name=section)).to_be_visible()
    expect(csp.locator("main")).to_contain_text("Which year are these figures from?")

    # Reply to the comment from the section page, then change the section.
    csp.click_link("Read all comments and reply")
    csp.get_by_label("What is your comment about?").select_option(label=f"Section {section}")
    csp.get_by_label("Comment", exact=True).fill("They are from 2017/18: we will say so.")
    csp.click_button("Add comment")
    expect(csp.locator("main")).to_contain_text("They are from 2017/18: we will say so.")

    csp.goto(f"/contributions/{world.contribution_a1}")
    with csp.next_page():
        csp.locator(".govuk-task-list").get_by_role("link", name=section).click()
    expect(csp.locator("main")).to_contain_text("asked for changes to this section")
    csp.get_by_label("Your text", exact=True).fill("Knife crime among under-18s rose by a fifth in 2017/18.")
    csp.click_button("Mark as completed")
    csp.click_button("Check your answers")
    csp.click_button("Accept and submit")
    expect(csp.get_by_role("heading", name="Contribution submitted")).to_be_visible()

    # The lead sees the reply and the new text, and accepts.
    lead.goto(f"/review/contributions/{world.contribution_a1}")
    expect(lead.locator("main")).to_contain_text("They are from 2017/18: we will say so.")
    expect(lead.locator(f"#section-{world.section_a}")).to_contain_text("rose by a fifth in 2017/18")
    lead.click_button("Accept contribution")
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("has been accepted")
    lead.click_link("Activity")
    titles = lead.locator(".pb-timeline__title")
    expect(titles.first).to_have_text("Accepted")
    expect(lead.locator("main")).to_contain_text("Resubmitted")

    deliver_outbox(app)
    accepted = [m for m in smtp_server.to(world.emails["csp_manager"]) if "accepted" in m.subject]
    assert len(accepted) == 1


def test_lead_adds_an_internal_note_beside_the_comments_and_the_csp_never_sees_it(
    page, new_page, app, world, live_server, submitted
):
    section = submitted
    number = section.split(".")[0]
    lead = page
    sign_in(lead, world.emails["lead_staff"])
    lead.goto(f"/review/contributions/{world.contribution_a1}")
    card = lead.locator(f"#section-{world.section_a}")

    # The note's form is its own: its label says the CSP will not see it, its button says what it adds.
    card.locator("summary").filter(has_text=f"Add an internal note on section {number}").click()
    card.get_by_label(f"Add an internal note on section {number} (not shown to {CSP})").fill(
        "Their figures do not match the police data: ask the analyst before accepting.")
    with lead.next_page():
        card.get_by_role("button", name=re.compile("^Add internal note")).click()
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Your internal note has been added")
    note = lead.locator(f"#section-{world.section_a} .pb-internal-note")
    expect(note).to_contain_text("Their figures do not match the police data")
    expect(note.locator(".govuk-tag")).to_have_text("Internal note")
    expect(note).to_contain_text("can see this")
    # The comments in the same card are not it.
    expect(card.locator(".pb-comment")).to_have_count(0)

    # On the notes page too, and deleted by its author after confirming.
    lead.click_link("Internal notes")
    expect(lead.get_by_role("heading", level=1)).to_have_text("Internal notes")
    expect(lead.locator("main")).to_contain_text("Their figures do not match the police data")

    csp = new_page()
    sign_in(csp, world.emails["csp_manager"])
    for path in ("", "/check-your-answers", f"/sections/{world.section_a}/view"):
        csp.goto(f"/contributions/{world.contribution_a1}{path}")
        expect(csp.locator("main")).not_to_contain_text("police data")
    for path in ("/comments", "/timeline"):
        csp.goto(f"/review/contributions/{world.contribution_a1}{path}")
        expect(csp.locator("main")).not_to_contain_text("police data")
        expect(csp.locator("main")).not_to_contain_text("Internal note")

    with lead.next_page():
        lead.locator(".pb-internal-note").get_by_role("link", name=re.compile("^Delete")).click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Delete your internal note")
    lead.click_button("Delete internal note")
    expect(lead.locator(".govuk-notification-banner")).to_contain_text("Your internal note has been deleted")
    expect(lead.locator("main")).to_contain_text("No internal notes yet")
