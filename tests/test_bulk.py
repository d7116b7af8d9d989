"""Bulk actions: building every section's first draft at once (asking before replacing edited
text, never overwriting an edit made in between), accepting several contributions (only those the
rulebook allows, the others reported with its reason), and reminding several CSPs now (one email a
person, through the outbox to a real SMTP server, a second identical request sending nothing)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Contribution, ContributionStatus, MergedRevision, MergedSection, OutboxEmail, User
from app.models.deadline import Reminder
from app.models.round import Round
from app.policy import NotAllowed
from app.services import merge
from app.services import reminders as reminders_service
from app.services.outbox import deliver_due
from tests.conftest import csrf_token
from tests.test_merge import (
    READING,
    READING_TEXT,
    SLOUGH,
    SLOUGH_TEXT,
    accept_both,
    build,
    merged,
    save,
    set_status,
    version,
    write,
)

EDITED = "Our own words for this section, written by the lead bidder."


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def csp_sections(app, world) -> list[int]:
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        return [s.id for s in rnd.sections if s.csp_contributes]


def banners(response) -> str:
    """The notification banners' text, in one line."""
    page = response.get_data(as_text=True)
    found = re.findall(r'<div class="govuk-notification-banner.*?</div>\s*</div>', page, re.S)
    return " ".join(re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", b))) for b in found)


# --- first drafts of every section ----------------------------------------------------------------


def build_all(client, world):
    return client.post(f"/bid/rounds/{world.round_a}/drafts",
                       data={"csrf_token": csrf_token(client, f"/bid/rounds/{world.round_a}")})


def replace(client, world, page, ticked: list[int]):
    """Send the confirmation page's form as it came (its versions), with these sections ticked."""
    versions = dict(re.findall(r'name="version-(\d+)" value="(\d+)"', page))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = {"csrf_token": token, "replace": [str(i) for i in ticked]}
    data.update({f"version-{sid}": v for sid, v in versions.items()})
    return client.post(f"/bid/rounds/{world.round_a}/drafts/replace", data=data, follow_redirects=True)


def edited_section(app, world, staff) -> int:
    """Section A drafted, then edited by the lead; returns its version."""
    build(staff, world)
    assert save(staff, world, EDITED, version(app, world)).status_code == 302
    return version(app, world)


def test_build_all_builds_untouched_sections_and_asks_before_replacing_edited_ones(app, world, signed_in):
    accept_both(app, world)
    sections = csp_sections(app, world)
    other = sections[1]
    write(app, world, "csp_manager", world.contribution_a1, "Reading's second answer.", other)
    staff = signed_in("lead_staff")
    at = edited_section(app, world, staff)

    overview = staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    assert "Build first drafts for all sections" in overview
    response = build_all(staff, world)
    page = text_of(response)
    assert response.status_code == 200
    assert "Replace edited sections with new first drafts?" in page
    # The edited section is offered, not ticked; the others were built straight away.
    box = re.search(rf'<input[^>]*name="replace"[^>]*value="{world.section_a}"[^>]*>', page).group(0)
    assert "checked" not in box
    assert f'name="version-{world.section_a}" value="{at}"' in page
    shown = banners(response)
    assert "First drafts built for 1 section" in shown
    # Sections no accepted contribution has written are not drafted empty, and are listed.
    assert f"{len(sections) - 2} sections not built" in shown
    assert "none of the accepted contributions has text for it yet" in shown
    assert merged(app, world).text == EDITED
    built = merged(app, world, other)
    assert built.text.startswith(f"{READING}:\n\nReading's second answer.")
    with app.app_context():
        assert db.session.scalar(select(MergedRevision.note).where(
            MergedRevision.merged_section_id == built.id)) == merge.DRAFT_NOTE
        drafts = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "merge.draft_built"))
    assert drafts == 2  # section A's single draft, then the other section's
    assert count(app, MergedSection, MergedSection.version > 0) == 2

    # Nothing ticked: the edited text survives.
    done = replace(staff, world, page, [])
    assert "your edited text was kept" in banners(done)
    assert merged(app, world).text == EDITED and version(app, world) == at

    # Again: the untouched sections are now up to date; ticked, the edited one is replaced.
    again = build_all(staff, world)
    assert "Already up to date" in banners(again)
    done = replace(staff, world, text_of(again), [world.section_a])
    assert "1 edited section replaced with a new first draft" in banners(done)
    assert merged(app, world).text == f"{READING}:\n\n{READING_TEXT}\n\n{SLOUGH}:\n\n{SLOUGH_TEXT}"
    assert version(app, world) == at + 1
    # Built and confirmed sections: no further confirmation is asked for.
    assert build_all(staff, world).status_code == 302


def test_build_all_does_not_overwrite_an_edit_made_after_the_confirmation_page(app, world, signed_in):
    accept_both(app, world)
    staff, admin = signed_in("lead_staff"), signed_in("lead_admin")
    at = edited_section(app, world, staff)
    page = text_of(build_all(staff, world))
    # Someone else edits the section while the confirmation page is open.
    assert save(admin, world, "The administrator's newer words.", at).status_code == 302
    done = replace(staff, world, page, [world.section_a])
    assert "someone else changed its text after you looked, so it was not replaced" in banners(done)
    assert merged(app, world).text == "The administrator's newer words."
    assert version(app, world) == at + 1


def test_build_all_skips_and_lists_final_sections(app, world, signed_in):
    accept_both(app, world)
    staff = signed_in("lead_staff")
    build(staff, world)
    with app.app_context():
        bid = merge.bid_of(db.session.get(Round, world.round_a))
        section = next(s for s in bid.round.sections if s.id == world.section_a)
        merge.set_section_state(db.session.get(User, world.users["lead_staff"]), bid, section, final=True)
        db.session.commit()
        name = f"{section.number}. {section.title}"
    before = merged(app, world)
    response = build_all(staff, world)
    assert response.status_code == 302
    shown = banners(staff.get(response.headers["Location"]))
    assert f"{name}: This section has been marked as final. Mark it as a draft to change it" in shown
    after = merged(app, world)
    assert (after.text, after.version) == (before.text, before.version)


def test_build_all_with_nothing_accepted_explains(app, world, signed_in):
    staff = signed_in("lead_staff")
    response = build_all(staff, world)
    assert response.status_code == 302
    assert "There are no accepted contributions to merge yet" in banners(staff.get(response.headers["Location"]))


def test_build_all_is_for_editors_of_a_changeable_bid(app, world, signed_in):
    accept_both(app, world)
    viewer = signed_in("viewer")
    assert viewer.post(f"/bid/rounds/{world.round_a}/drafts",
                       data={"csrf_token": csrf_token(viewer, "/account")}).status_code == 403
    assert count(app, MergedSection) == 0


# --- accepting several contributions ----------------------------------------------------------------


def overview_url(world) -> str:
    return f"/review/rounds/{world.round_a}"


def choose(client, world, action: str, ids: list[int], **extra):
    page = client.get(overview_url(world)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    key = re.search(r'name="request_key" type="hidden" value="([0-9a-f]+)"', page).group(1)
    data = {"csrf_token": token, "request_key": key, "contributions": [str(i) for i in ids], **extra}
    return client.post(f"/review/rounds/{world.round_a}/{action}", data=data), data


def confirm_accept(client, world, page: str, **versions):
    data = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        "confirm": "yes",
        "contributions": re.findall(r'name="contributions" value="(\d+)"', page),
    }
    data.update(dict(re.findall(r'name="(version-\d+)" value="(\d+)"', page)))
    data.update(versions)
    return client.post(f"/review/rounds/{world.round_a}/accept-selected", data=data, follow_redirects=True)


def test_accept_selected_accepts_those_that_can_be_and_reports_the_others(app, world, signed_in, smtp_server):
    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)  # Slough's is not started
    staff = signed_in("lead_staff")
    overview = staff.get(overview_url(world)).get_data(as_text=True)
    assert f'<span class="govuk-visually-hidden">Select {READING}</span>' in overview
    assert "Accept selected" in overview and "Send a reminder to selected" in overview

    response, _ = choose(staff, world, "accept-selected", [world.contribution_a1, world.contribution_a2])
    page = text_of(response)
    assert response.status_code == 200 and "Accept the selected contributions?" in page
    assert "1 will be accepted" in page and "1 cannot be accepted" in page
    assert ("You can only accept a contribution that has been submitted and is waiting for review. "
            "This one is not started") in page
    assert count(app, AuditEvent, AuditEvent.action == "contribution.accepted") == 0  # asked first

    done = confirm_accept(staff, world, response.get_data(as_text=True))
    shown = banners(done)
    assert f"1 accepted (their CSPs' people have been told) {READING}: accepted" in shown
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).status == ContributionStatus.ACCEPTED
        assert db.session.get(Contribution, world.contribution_a2).status == ContributionStatus.NOT_STARTED
        events = db.session.execute(select(AuditEvent.action, AuditEvent.object_id).where(
            AuditEvent.action == "contribution.accepted")).all()
    assert events == [("contribution.accepted", world.contribution_a1)]  # one event for the one accepted
    with app.app_context():
        deliver_due()
    # The CSP's people: its manager and its contributor.
    assert sorted(m.to for m in smtp_server.messages) == sorted(
        [world.emails["csp_manager"], world.emails["csp_contributor"]]
    )

    # The same confirmation sent again accepts nothing twice.
    again = confirm_accept(staff, world, response.get_data(as_text=True))
    assert "has already been accepted" in banners(again)
    assert count(app, AuditEvent, AuditEvent.action == "contribution.accepted") == 1


def test_accept_selected_does_not_accept_a_contribution_changed_since_the_confirmation(app, world, signed_in):
    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    staff = signed_in("lead_staff")
    response, _ = choose(staff, world, "accept-selected", [world.contribution_a1, world.contribution_a2])
    page = response.get_data(as_text=True)
    assert "2 will be accepted" in text_of(response)
    with app.app_context():  # Slough's changes hands meanwhile (a new version)
        contribution = db.session.get(Contribution, world.contribution_a2)
        contribution.version += 1
        db.session.commit()
    done = confirm_accept(staff, world, page)
    shown = banners(done)
    assert f"1 accepted (their CSPs' people have been told) {READING}: accepted" in shown
    assert f"{SLOUGH}: Someone else changed this contribution just now" in shown
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a2).status == ContributionStatus.SUBMITTED


def test_nothing_selected_says_so_on_the_page(app, world, signed_in):
    staff = signed_in("lead_staff")
    for action in ("accept-selected", "remind-selected"):
        response, _ = choose(staff, world, action, [])
        page = text_of(response)
        assert response.status_code == 400
        assert 'href="#contributions"' in page and "Select the contributions you want to accept or remind" in page
    assert count(app, AuditEvent, AuditEvent.action.in_(["contribution.accepted", "reminders.sent_now"])) == 0


def test_viewers_see_no_checkboxes_and_cannot_post(app, world, signed_in):
    viewer = signed_in("viewer")
    page = viewer.get(overview_url(world)).get_data(as_text=True)
    assert 'name="contributions"' not in page and "Accept selected" not in page
    token = csrf_token(viewer, "/account")
    for action in ("accept-selected", "remind-selected"):
        response = viewer.post(f"/review/rounds/{world.round_a}/{action}",
                               data={"csrf_token": token, "contributions": [str(world.contribution_a1)]})
        assert response.status_code == 403


# --- reminding several CSPs now -------------------------------------------------------------------


def test_remind_selected_emails_each_person_of_each_csp_once(app, world, signed_in, smtp_server):
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)  # Reading's is not started
    staff = signed_in("lead_staff")
    response, data = choose(staff, world, "remind-selected", [world.contribution_a1, world.contribution_a2])
    assert response.status_code == 302
    shown = banners(staff.get(response.headers["Location"]))
    assert f"1 reminded now {READING}: reminder queued for" in shown
    assert (f"{SLOUGH}: You can only remind a CSP that has not submitted its contribution or has changes to "
            "make. This one is submitted") in shown

    with app.app_context():
        assert deliver_due().sent == 2
    received = sorted(m.to for m in smtp_server.messages)
    assert received == sorted([world.emails["csp_manager"], world.emails["csp_contributor"]])
    message = smtp_server.to(world.emails["csp_manager"])[0]
    assert READING in message.subject and "Open your task list" in message.text

    # A double click, or the browser sending the form again: nothing more is sent.
    again = staff.post(f"/review/rounds/{world.round_a}/remind-selected", data=data)
    assert again.status_code == 302
    assert "already reminded by this request: nothing more was sent" in banners(staff.get(again.headers["Location"]))
    with app.app_context():
        assert deliver_due().sent == 0
    assert len(smtp_server.messages) == 2
    assert count(app, OutboxEmail, OutboxEmail.idempotency_key.like("r:now:%")) == 2
    with app.app_context():
        events = db.session.execute(select(AuditEvent.object_id).where(AuditEvent.action == "reminders.sent_now")).all()
    assert events == [(world.contribution_a1,)]

    # In the round's reminder history, saying who sent it.
    admin = signed_in("lead_admin")
    history = text_of(admin.get(f"/rounds/{world.round_a}/reminders"))
    assert "Sent now by" in history and world.emails["csp_contributor"] in history

    # A new request (the page loaded again) reminds them again.
    response, _ = choose(staff, world, "remind-selected", [world.contribution_a1])
    with app.app_context():
        assert deliver_due().sent == 2


def test_remind_selected_refuses_a_round_closed_for_contributions(app, world, signed_in):
    from app.models import RoundStatus

    staff = signed_in("lead_staff")
    page = staff.get(overview_url(world)).get_data(as_text=True)
    with app.app_context():
        db.session.get(Round, world.round_a).status = RoundStatus.CLOSED
        db.session.commit()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = staff.post(f"/review/rounds/{world.round_a}/remind-selected",
                          data={"csrf_token": token, "request_key": "a" * 32,
                                "contributions": [str(world.contribution_a1)]})
    assert response.status_code == 302
    shown = banners(staff.get(response.headers["Location"]))
    assert "Contributions are closed, so CSPs are no longer reminded" in shown
    assert count(app, Reminder) == 0


def test_remind_now_obeys_the_rulebook_for_each_contribution(app, world):
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)
    with app.test_request_context("/"), app.app_context():
        staff = db.session.get(User, world.users["lead_staff"])
        manager = db.session.get(User, world.users["csp_manager"])
        accepted = db.session.get(Contribution, world.contribution_a2)
        with pytest.raises(NotAllowed, match="This one is accepted"):
            reminders_service.remind_now(staff, accepted, "b" * 32)
        with pytest.raises(NotAllowed):
            reminders_service.remind_now(manager, db.session.get(Contribution, world.contribution_a1), "b" * 32)
        assert db.session.scalar(select(func.count()).select_from(Reminder)) == 0
