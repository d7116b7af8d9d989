"""Internal notes: the lead bidder's own notes on a contribution or one of its sections, which the
CSP never sees — on no page of theirs, in no email to them and in no export."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from flask import url_for
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Contribution,
    InternalNote,
    OutboxEmail,
    ReviewComment,
    RoundStatus,
)
from app.services.exports import formats_for, render
from app.services.exports.content import bid_content, contribution_content
from tests.conftest import csrf_token, post_form
from tests.jobs import run_queued
from tests.test_drafts import _kept_and_refilled
from tests.test_review import deliver, review_url, section_key, submit_a1

CSP = "Reading Community Safety Partnership"
# Each note carries a word found nowhere else, so a page, email or file that shows it is caught.
SECTION_NOTE = "Quokkafigure: their knife crime numbers do not match the police data, ask the analyst."
WHOLE_NOTE = "Wombatbudget: the youth worker costs look high next to other CSPs, query before accepting."
SECRET_WORDS = ("Quokkafigure", "Wombatbudget")


def notes_url(world, what: str = "") -> str:
    return review_url(world, f"/internal-notes{what}")


def add_notes(world, staff) -> None:
    """A note on section A from the review page, and one on the whole from the notes page."""
    response = post_form(
        staff, notes_url(world),
        {"section": str(world.section_a), "body": SECTION_NOTE, "return_to": "review"}, page=review_url(world),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith(f"{review_url(world)}#section-{world.section_a}")
    response = post_form(staff, notes_url(world), {"section": "", "body": WHOLE_NOTE})
    assert response.status_code == 302 and response.headers["Location"].endswith(notes_url(world))


def note_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(InternalNote.id).order_by(InternalNote.id)))


def lead_name(app, world) -> str:
    with app.app_context():
        return db.session.get(Contribution, world.contribution_a1).round.lead_bidder.display_name


def set_round_status(app, world, status: RoundStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).round.status = status
        db.session.commit()


# --- the lead bidder adds and reads them -----------------------------------------------------------


def test_lead_adds_notes_on_a_section_and_the_whole_marked_as_internal(app, world, signed_in, smtp_server):
    submit_a1(app, world, signed_in)
    deliver(app)
    staff = signed_in("lead_staff")
    page = staff.get(review_url(world)).get_data(as_text=True)
    # Two kinds of form, each saying who will read it, posting to different places.
    assert "Add comment for the CSP" in page and "Add internal note" in page
    assert re.search(rf"Add an internal note on section \d+ \(not shown to {CSP}\)", page)
    assert f"Add an internal note on the whole contribution (not shown to {CSP})" in page
    assert f'action="{notes_url(world)}"' in page and f'action="{review_url(world, "/comments")}"' in page
    with app.app_context():
        emails_before = db.session.scalar(select(func.count(OutboxEmail.id)))

    add_notes(world, staff)

    page = staff.get(review_url(world)).get_data(as_text=True)
    assert SECTION_NOTE in page and WHOLE_NOTE in page
    assert len(re.findall(r'govuk-tag--purple[^>]*>\s*Internal note\s*</strong>', page)) == 2  # each note tagged
    assert page.count(f"Only people at {lead_name(app, world)} can see this.") == 2
    # The section's note sits in that section's card.
    card = page.split(f'id="section-{world.section_a}"', 1)[1].split('class="govuk-summary-card"', 1)[0]
    assert SECTION_NOTE in card and WHOLE_NOTE not in card
    notes_page = staff.get(notes_url(world)).get_data(as_text=True)
    assert SECTION_NOTE in notes_page and WHOLE_NOTE in notes_page and "the contribution as a whole" in notes_page
    assert f"Add an internal note (not shown to {CSP})" in notes_page

    # Counted on the round's overview, listed (marked) in the lead's activity, and in the audit trail.
    overview = staff.get(f"/review/rounds/{world.round_a}").get_data(as_text=True)
    assert "2 internal notes" in overview
    timeline = staff.get(review_url(world, "/timeline")).get_data(as_text=True)
    assert timeline.count("Internal note on") == 2 and SECTION_NOTE in timeline
    with app.app_context():
        notes = db.session.scalars(select(InternalNote).order_by(InternalNote.id)).all()
        assert [(n.section_id, n.author_id) for n in notes] == [
            (world.section_a, world.users["lead_staff"]), (None, world.users["lead_staff"])]
        actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("review.internal%")))
        assert list(actions) == ["review.internal_note_added"] * 2
        # Notes are not comments, and nobody is emailed about them.
        assert db.session.scalar(select(func.count(ReviewComment.id))) == 0
        assert db.session.scalar(select(func.count(OutboxEmail.id))) == emails_before


def test_the_note_form_keeps_what_was_typed_and_says_what_is_wrong(app, world, signed_in):
    staff = signed_in("lead_staff")
    response = post_form(staff, notes_url(world), {"section": str(world.section_a), "body": "   "})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in body and "Enter the note" in body and body.startswith("<!DOCTYPE html>")
    assert re.search(rf'<option[^>]*value="{world.section_a}"[^>]*selected', body)

    too_long = "Wombat " * 800  # 5,600 characters
    response = post_form(staff, notes_url(world), {"section": "", "body": too_long})
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "The note must be 5,000 characters or fewer" in body
    assert too_long.strip() in body  # kept in the textarea

    with app.app_context():
        other_round_section = db.session.get(Contribution, world.contribution_b1).round.sections[0].id
    response = post_form(staff, notes_url(world), {"section": str(other_round_section), "body": "Hello"})
    assert response.status_code == 400
    assert "Select which part of the contribution your note is about" in response.get_data(as_text=True)
    response = post_form(staff, notes_url(world), {"section": "not-a-number", "body": "Hello"})
    assert response.status_code == 400
    assert note_ids(app) == []


def test_a_note_typed_as_the_session_ended_is_kept_for_its_author(app, world):
    _kept_and_refilled(
        app, world, "lead_staff", notes_url(world),
        [("body", "Check their figures against the problem profile."), ("section", str(world.section_a))],
        ["Check their figures against the problem profile."],
    )
    assert note_ids(app) == []


# --- who may ---------------------------------------------------------------------------------------


def test_viewer_reads_notes_but_cannot_add_or_delete_them(app, world, signed_in):
    add_notes(world, signed_in("lead_staff"))
    viewer = signed_in("viewer")
    for path in (review_url(world), notes_url(world)):
        page = viewer.get(path).get_data(as_text=True)
        assert SECTION_NOTE in page and WHOLE_NOTE in page, path
        assert "Add internal note" not in page and ">Delete<" not in page, path
    assert "Only lead bidder administrators and staff can add them" in viewer.get(notes_url(world)).get_data(
        as_text=True)
    token = csrf_token(viewer, notes_url(world))
    assert viewer.post(notes_url(world), data={"csrf_token": token, "body": "Mine"}).status_code == 403
    first = note_ids(app)[0]
    assert viewer.get(notes_url(world, f"/{first}/delete")).status_code == 403
    assert viewer.post(notes_url(world, f"/{first}/delete"), data={"csrf_token": token}).status_code == 403
    assert len(note_ids(app)) == 2


def test_only_the_author_deletes_a_note_and_it_is_audited(app, world, signed_in):
    staff = signed_in("lead_staff")
    add_notes(world, staff)
    section_note, whole_note = note_ids(app)
    delete_url = notes_url(world, f"/{section_note}/delete")

    # Another administrator sees the note but may not delete it.
    admin = signed_in("lead_admin")
    assert ">Delete<" not in admin.get(review_url(world)).get_data(as_text=True)
    response = admin.get(delete_url)
    assert response.status_code == 403 and "You can only delete internal notes you wrote" in response.get_data(
        as_text=True)
    assert admin.post(delete_url, data={"csrf_token": csrf_token(admin, notes_url(world))}).status_code == 403

    # Its author is asked to confirm, and then it is gone.
    page = staff.get(review_url(world)).get_data(as_text=True)
    assert f'href="{delete_url}?return_to=review"' in page.replace("&amp;", "&")
    confirm = staff.get(f"{delete_url}?return_to=review").get_data(as_text=True)
    assert "Delete your internal note" in confirm and SECTION_NOTE in confirm
    response = post_form(staff, f"{delete_url}?return_to=review", {"return_to": "review"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{review_url(world)}#section-{world.section_a}")
    assert note_ids(app) == [whole_note]
    page = staff.get(review_url(world)).get_data(as_text=True)
    assert SECTION_NOTE not in page and WHOLE_NOTE in page
    assert staff.get(delete_url).status_code == 404

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "review.internal_note_deleted"))
        assert event.actor_id == world.users["lead_staff"] and event.object_id == world.contribution_a1
        assert event.detail["text"] == SECTION_NOTE and event.detail["note_id"] == section_note


def test_another_lead_bidder_and_another_csp_find_nothing(app, world, signed_in):
    add_notes(world, signed_in("lead_staff"))
    note = note_ids(app)[0]
    for who in ("other_lead_admin", "other_lead_staff", "other_lead_viewer"):
        other = signed_in(who)
        assert other.get(notes_url(world)).status_code == 404, who
        # A viewer may delete no note anywhere (403 before anything is looked up); the others find none.
        assert other.get(notes_url(world, f"/{note}/delete")).status_code == (
            403 if who == "other_lead_viewer" else 404), who
    other = signed_in("other_lead_admin")
    token = csrf_token(other, f"/review/contributions/{world.contribution_b1}/internal-notes")
    assert other.post(notes_url(world), data={"csrf_token": token, "body": "Hello"}).status_code == 404
    assert other.post(notes_url(world, f"/{note}/delete"), data={"csrf_token": token}).status_code == 404
    # A note's id under another contribution of the same lead bidder: not found there.
    staff = signed_in("lead_staff")
    wrong = f"/review/contributions/{world.contribution_a2}/internal-notes/{note}/delete"
    assert staff.get(wrong).status_code == 404
    assert len(note_ids(app)) == 2
    # The other lead bidder's own notes page of its own contribution is empty.
    assert SECTION_NOTE not in other.get(f"/review/contributions/{world.contribution_b1}/internal-notes").get_data(
        as_text=True)


def test_notes_can_be_added_after_sign_off_but_not_once_the_round_is_archived(app, world, signed_in):
    staff = signed_in("lead_staff")
    add_notes(world, staff)
    set_round_status(app, world, RoundStatus.SIGNED_OFF)
    response = post_form(staff, notes_url(world), {"section": "", "body": "Signed off: keep for next year."})
    assert response.status_code == 302 and len(note_ids(app)) == 3

    set_round_status(app, world, RoundStatus.ARCHIVED)
    page = staff.get(review_url(world)).get_data(as_text=True)
    assert SECTION_NOTE in page and "Add internal note" not in page and ">Delete<" not in page
    notes_page = staff.get(notes_url(world)).get_data(as_text=True)
    assert "The round has been archived, so internal notes cannot be added or deleted" in notes_page
    token = csrf_token(staff, notes_url(world))
    assert staff.post(notes_url(world), data={"csrf_token": token, "body": "Late"}).status_code == 403
    first = note_ids(app)[0]
    assert staff.post(notes_url(world, f"/{first}/delete"), data={"csrf_token": token}).status_code == 403
    assert len(note_ids(app)) == 3


# --- never shown to the CSP -----------------------------------------------------------------------


def _csp_pages(app, world) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET page that names nothing or names CSP A1's contribution (and
    one of its sections, or a revision): the CSP's pages, found from the URL map."""
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        sections = [s.id for s in contribution.round.sections if s.csp_contributes]
    pages = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if not set(rule.arguments) <= {"contribution_id", "section_id", "number"}:
                continue
            extra = {"older": 1, "newer": 2} if rule.endpoint.endswith("section_diff") else {}
            for section in sections if "section_id" in rule.arguments else [None]:
                values = {"contribution_id": world.contribution_a1, "section_id": section, "number": 1}
                values = {k: v for k, v in values.items() if k in rule.arguments}
                pages.append((rule.endpoint, url_for(rule.endpoint, **values, **extra)))
                if rule.endpoint == "review.comments":
                    pages.append((rule.endpoint, url_for(rule.endpoint, **values, section=sections[0])))
    return pages


def _assert_no_note(where: str, text: str) -> None:
    for word in SECRET_WORDS:
        assert word not in text, f"{where} shows an internal note"
    assert "Internal note" not in text and "internal note" not in text, where


def _text_of(data: bytes, name: str) -> str:
    """Everything a file says: a PDF's text; a Word, Excel or ZIP file's parts (and the files in it)."""
    if data[:4] == b"%PDF":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(_text_of(archive.read(member), member) for member in archive.namelist())
    return data.decode("utf-8", errors="replace")


@pytest.fixture
def noted(app, world, signed_in, smtp_server):
    """CSP A1's contribution submitted; the lead adds notes and a comment, then asks for changes
    (the CSP manager is emailed): the CSP now has every page of theirs to look at."""
    submit_a1(app, world, signed_in)
    deliver(app)
    smtp_server.clear()
    staff = signed_in("lead_staff")
    add_notes(world, staff)
    post_form(staff, review_url(world, "/comments"), {"section": str(world.section_a), "body": "Which year?"})
    response = post_form(staff, review_url(world, "/request-changes"),
                         {"items": [section_key(world)], "message": "Please give the year of the figures."})
    assert response.status_code == 302
    deliver(app)
    return staff


@pytest.mark.parametrize("who", ["csp_manager", "csp_contributor"])
def test_no_page_a_csp_user_can_open_shows_a_note(app, world, signed_in, noted, who):
    csp_user = signed_in(who)
    seen = set()
    for endpoint, path in _csp_pages(app, world):
        response = csp_user.get(path, follow_redirects=True)
        if response.status_code == 200 and response.mimetype == "text/html":
            seen.add(endpoint)
        _assert_no_note(f"{who} {path}", _text_of(response.get_data(), path))  # pages and downloads
    assert {
        "main.home", "contributions.task_list", "contributions.check_answers", "contributions.view_section",
        "contributions.edit_section", "contributions.section_history", "review.comments", "review.timeline",
        "exports.contribution_exports", "contributions.budget", "contributions.documents",
    } <= seen, seen
    # What they do see: the comment, the change request; and the notes' own pages refuse them.
    assert "Which year?" in csp_user.get(review_url(world, "/comments")).get_data(as_text=True)
    assert csp_user.get(notes_url(world)).status_code == 403
    assert csp_user.get(notes_url(world, f"/{note_ids(app)[0]}/delete")).status_code == 403
    token = csrf_token(csp_user, review_url(world, "/comments"))
    assert csp_user.post(notes_url(world), data={"csrf_token": token, "body": "Let me in"}).status_code == 403
    assert len(note_ids(app)) == 2


def test_no_email_to_the_csp_shows_a_note(world, noted, smtp_server):
    emails = smtp_server.to(world.emails["csp_manager"])
    assert emails and any("Please give the year of the figures." in e.text for e in emails)
    for e in emails:
        _assert_no_note(f"email {e.subject}", e.subject + e.text + e.html)


def test_no_export_shows_a_note(app, world, signed_in, noted):
    # The CSP's own export of its contribution, made and downloaded as they would.
    manager = signed_in("csp_manager")
    exports_page = f"/contributions/{world.contribution_a1}/exports"
    for key in ("docx", "pdf"):
        response = post_form(manager, exports_page, {"format": key})
        assert response.status_code == 302, response.get_data(as_text=True)[:1000]
        export_url = response.headers["Location"].split("?")[0]
        run_queued(manager.application)
        download = manager.get(f"{export_url}/download")
        assert download.status_code == 200 and len(download.data) > 1000, export_url
        text = _text_of(download.data, key)
        assert "Our text for" in text  # the file is read: the contribution's own text is there
        _assert_no_note(f"the CSP's {key} export", text)
    # Every format of the contribution and of the collective bid.
    made = []
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        for content in (contribution_content(contribution), bid_content(contribution.round)):
            for key in (f.key for f in formats_for(content.kind)):
                _assert_no_note(f"{content.kind} {key}", _text_of(render(content, key), key))
                made.append((content.kind, key))
    assert {("contribution", "docx"), ("contribution", "pdf"), ("bid", "docx"), ("bid", "pdf"), ("bid", "xlsx"),
            ("bid", "csv"), ("bid", "zip")} <= set(made), made


def test_notes_are_never_read_for_csp_users(app, world, signed_in):
    """The service gives a CSP user no notes even if a page asked it to."""
    from app.models import User
    from app.services import internal_notes

    add_notes(world, signed_in("lead_staff"))
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        for who in ("csp_manager", "csp_contributor", "viewer"):
            user = db.session.get(User, world.users[who])
            found = internal_notes.notes(user, contribution)
            assert (len(found) == 2) == (who == "viewer"), who
            assert internal_notes.counts(user, [contribution]) == ({contribution.id: 2} if who == "viewer" else {})
