"""The export pages (issue 5): asking for an export, its progress page, making the file once,
downloading it (again), failures and trying again, the history, and who may do what."""

from __future__ import annotations

import hashlib
import html
import io
import re
import zipfile
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent, Contribution, ContributionStatus, ExportRecord, ExportStatus, Round, User
from app.models.base import utcnow
from app.services import exports as service
from app.services import merge, signoff
from app.services.consolidation import get_or_create_bid
from tests.conftest import post_form, stored_folder
from tests.jobs import forget_queued, queued_names, run_queued
from tests.test_consolidation import A1_LINES, A2_LINES, add_lines, set_status
from tests.test_signoff import _mark_submitted, _sign_off, make_ready


@pytest.fixture(autouse=True)
def export_folder(app, tmp_path, monkeypatch):
    """This module's own folder for the files, so that counting them is not upset by other tests."""
    folder = tmp_path / "exports"
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(folder))
    return stored_folder(app, folder, "exports/")


@pytest.fixture
def accepted(app, world):
    """Both of round A's contributions accepted, with budget lines."""
    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)
    return world


def pounds(pence: int) -> str:
    return f"£{pence // 100:,}.{pence % 100:02d}"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def create(client, path: str, key: str | None):
    return post_form(client, path, {"format": key} if key else {})


def created_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    match = re.fullmatch(r"/exports/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def prepare(client, export_id: int, json: bool = False):
    """A worker makes the file (the queued jobs run, as `flask jobs worker` would run them), then the
    user looks again: the status as JSON (what the page's script asks), or the page."""
    run_queued(client.application)
    path = f"/exports/{export_id}"
    if json:
        return client.get(f"{path}/status", headers={"Accept": "application/json"})
    return client.get(path)


def record(app, export_id: int) -> ExportRecord:
    with app.app_context():
        export = db.session.get(ExportRecord, export_id)
        db.session.expunge(export)
        return export


def docx_text(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def files_in(folder) -> set[str]:
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


# --- the whole journey ---------------------------------------------------------------------------

def test_lead_staff_exports_the_bid_as_word_and_downloads_it(app, accepted, signed_in, export_folder):
    world = accepted
    client = signed_in("lead_staff")
    overview = page_text(client.get(f"/bid/rounds/{world.round_a}"))
    assert f'href="/rounds/{world.round_a}/exports">Export the bid</a>' in overview

    form = page_text(client.get(f"/rounds/{world.round_a}/exports"))
    for label in ("Word document", "PDF", "Excel spreadsheet", "Budget lines (CSV)", "Outcomes (CSV)",
                  "Everything (ZIP)"):
        assert label in form
    assert "Create export" in form and "No exports yet." in form

    export_id = created_id(create(client, f"/rounds/{world.round_a}/exports", "docx"))
    progress = page_text(client.get(f"/exports/{export_id}"))
    assert "Your Word document is being prepared." in progress
    assert "Check whether it is ready" in progress  # without JavaScript: look again
    assert 'role="status" id="export-announcement"' in progress and "http-equiv" not in progress
    assert files_in(export_folder) == set()  # the request made no file: a worker makes it
    assert queued_names().count("exports.prepare_export") == 1

    response = prepare(client, export_id)
    assert response.status_code == 200
    ready = page_text(response)
    export = record(app, export_id)
    assert export.status == ExportStatus.READY and export.source == "web"
    assert "Your file is ready" in ready
    assert export.filename in ready and export.short_hash in ready and "Draft" in ready
    assert f"/exports/{export_id}/download" in ready
    assert export.filename.endswith(".docx") and "collective bid - draft" in export.filename

    download = client.get(f"/exports/{export_id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment; filename=")
    assert export.filename.split(" - ")[0] in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in download.headers["Cache-Control"]
    assert download.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    data = download.data
    assert zipfile.is_zipfile(io.BytesIO(data))
    text = docx_text(data)
    total = sum(line[2] for line in A1_LINES + A2_LINES)
    assert pounds(total) in text
    assert "Reading Community Safety Partnership" in text and "Safer Slough Partnership" in text
    assert hashlib.sha256(data).hexdigest() == export.file_sha256
    assert export.size_bytes == len(data)

    # It is in the history, made by staff, with its version; and the audit trail says so.
    history = page_text(client.get(f"/rounds/{world.round_a}/exports"))
    assert "No exports yet." not in history
    row = history.split('class="govuk-table__body"')[1]
    assert "Word document" in row and "Ready" in row and export.short_hash in row and "Draft" in row
    with app.app_context():
        staff = db.session.get(User, world.users["lead_staff"])
        assert staff.full_name in row
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.created"))
        assert event is not None and event.actor_id == staff.id
        assert export.short_hash in event.summary


@pytest.mark.parametrize("key, check", [
    ("pdf", lambda data: data.startswith(b"%PDF")),
    ("xlsx", lambda data: load_workbook(io.BytesIO(data)).sheetnames),
    ("csv", lambda data: data.decode("utf-8-sig").splitlines()[0].startswith("CSP,")),
    ("zip", lambda data: zipfile.ZipFile(io.BytesIO(data)).namelist()),
])
def test_every_bid_format_is_made_and_downloaded(app, accepted, signed_in, key, check):
    client = signed_in("lead_admin")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", key))
    response = prepare(client, export_id, json=True)
    assert response.status_code == 200
    answer = response.get_json()
    assert answer["state"] == "ready", answer
    assert answer["download_url"] == f"/exports/{export_id}/download"
    assert "Your file is ready" in answer["html"]
    data = client.get(answer["download_url"]).data
    assert check(data)
    if key == "pdf":
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
        assert pounds(sum(line[2] for line in A1_LINES + A2_LINES)) in text


def test_a_csp_manager_exports_their_contribution_as_pdf(app, world, signed_in):
    add_lines(app, world.contribution_a1, A1_LINES)
    client = signed_in("csp_manager")
    home = page_text(client.get(f"/contributions/{world.contribution_a1}"))
    assert "Export your contribution (Word or PDF)" in home

    page = page_text(client.get(f"/contributions/{world.contribution_a1}/exports"))
    assert "Word document" in page and "PDF" in page
    assert "Excel spreadsheet" not in page and "Everything (ZIP)" not in page

    export_id = created_id(create(client, f"/contributions/{world.contribution_a1}/exports", "pdf"))
    assert "Your PDF is being prepared." in page_text(client.get(f"/exports/{export_id}"))
    prepare(client, export_id)
    data = client.get(f"/exports/{export_id}/download").data
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert pounds(sum(line[2] for line in A1_LINES)) in text
    export = record(app, export_id)
    assert export.contribution_id == world.contribution_a1
    assert "Reading Community Safety Partnership contribution" in export.filename

    # The lead bidder sees it from the review page and in the contribution's history.
    lead = signed_in("lead_staff")
    review = page_text(lead.get(f"/review/contributions/{world.contribution_a1}"))
    assert "Export this contribution" in review
    assert export.short_hash in page_text(lead.get(f"/contributions/{world.contribution_a1}/exports"))


def test_a_contribution_cannot_be_exported_as_a_spreadsheet(app, world, signed_in):
    response = create(signed_in("csp_manager"), f"/contributions/{world.contribution_a1}/exports", "xlsx")
    assert response.status_code == 400
    text = page_text(response)
    assert "There is a problem" in text
    assert "Select the kind of file to export: Word document, PDF" in text


# --- made once ---------------------------------------------------------------------------------

def test_a_job_run_twice_makes_one_file(app, accepted, signed_in, export_folder):
    from app.jobs import enqueue
    from app.jobs.exports import prepare_export

    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "docx"))
    with app.app_context():
        enqueue(prepare_export, export_id)  # as if the queue delivered the task twice
    assert queued_names().count("exports.prepare_export") == 2
    first = prepare(client, export_id, json=True).get_json()
    made = files_in(export_folder)
    assert len(made) == 1 and first["state"] == "ready"
    with app.app_context():
        enqueue(prepare_export, export_id)  # and once more, after it was made
    second = prepare(client, export_id, json=True).get_json()
    assert second["state"] == "ready" and second["id"] == export_id
    assert files_in(export_folder) == made
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == 1
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export.created")).all()
        assert len(events) == 1
    assert record(app, export_id).attempts == 1


def test_while_a_worker_is_making_it_the_page_waits(app, accepted, signed_in, export_folder):
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "docx"))
    with app.app_context():
        export = db.session.get(ExportRecord, export_id)
        export.status, export.claimed_at, export.attempts = ExportStatus.PREPARING, utcnow(), 1
        export.heartbeat_at, export.stage = utcnow(), "Making the file"
        db.session.commit()
    answer = prepare(client, export_id, json=True).get_json()  # the queued task finds it taken
    assert answer["state"] == "preparing"
    assert files_in(export_folder) == set()
    page = page_text(client.get(f"/exports/{export_id}"))
    assert "Your Word document is being prepared." in page and "Now: making the file." in page
    assert "Check whether it is ready" in page


def _as_left_by_a_killed_worker(app, export_id, attempts=1):
    forget_queued()  # the worker took the task off the queue, then died
    with app.app_context():
        export = db.session.get(ExportRecord, export_id)
        export.status, export.attempts = ExportStatus.PREPARING, attempts
        export.claimed_at = utcnow() - timedelta(minutes=2)
        export.heartbeat_at = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 5)
        db.session.commit()


def test_an_export_left_by_a_dead_worker_is_made_again_by_the_recovery_job(app, accepted, signed_in, export_folder):
    from app.jobs import run_periodic

    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "docx"))
    _as_left_by_a_killed_worker(app, export_id)
    page = page_text(client.get(f"/exports/{export_id}"))
    assert "The server making it stopped before it finished" in page
    assert "It will start again by itself within a minute" in page
    assert "Try again" not in page  # nothing for the user to do
    assert client.get(f"/exports/{export_id}/status").get_json()["state"] == "stale"
    assert "Stopped" in page_text(client.get(f"/rounds/{accepted.round_a}/exports"))

    with app.app_context():
        assert run_periodic("jobs.recover") == "1 exports queued again, 0 given up"
    page = page_text(prepare(client, export_id))
    assert "Your file is ready" in page
    assert "Making it was interrupted once, so it was started again. This file is complete." in page
    export = record(app, export_id)
    assert export.status == ExportStatus.READY and export.attempts == 2
    assert len(files_in(export_folder)) == 1


def test_an_export_is_given_up_after_being_interrupted_too_often(app, accepted, signed_in, export_folder):
    from app.jobs import run_periodic

    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "docx"))
    _as_left_by_a_killed_worker(app, export_id, attempts=app.config["EXPORT_MAX_ATTEMPTS"])
    with app.app_context():
        assert run_periodic("jobs.recover") == "0 exports queued again, 1 given up"
    assert "exports.prepare_export" not in queued_names()
    page = page_text(client.get(f"/exports/{export_id}"))
    assert "The file could not be made" in page
    assert "Making the file was interrupted several times, so we stopped trying." in page
    assert f'action="/exports/{export_id}/retry"' in page
    post_form(client, f"/exports/{export_id}/retry", page=f"/exports/{export_id}")
    assert "Your file is ready" in page_text(prepare(client, export_id))
    assert record(app, export_id).attempts == 1


def test_an_export_whose_task_never_reached_the_queue_is_queued_by_the_recovery_job(app, accepted, signed_in):
    from app.jobs import run_periodic

    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    forget_queued()  # the queue was not reachable when the export was asked for
    with app.app_context():
        assert run_periodic("jobs.recover") == "0 exports queued again, 0 given up"  # not yet: it may be on its way
        db.session.execute(
            update(ExportRecord).where(ExportRecord.id == export_id).values(created_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        assert run_periodic("jobs.recover", now=utcnow() + timedelta(minutes=1)) == "1 exports queued again, 0 given up"
    assert "Your file is ready" in page_text(prepare(client, export_id))


# --- failures -----------------------------------------------------------------------------------

def test_a_failed_export_says_so_and_can_be_tried_again(app, accepted, signed_in, monkeypatch):
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "docx"))

    def broken(content, key):
        raise RuntimeError("renderer broke")

    with monkeypatch.context() as m:
        m.setattr(service, "render", broken)
        answer = prepare(client, export_id, json=True).get_json()
    assert answer["state"] == "failed"
    assert "exports.prepare_export" not in queued_names()  # a failure in the export is recorded, not retried
    page = page_text(client.get(f"/exports/{export_id}"))
    assert "The file could not be made" in page
    assert "Something went wrong while making the file." in page
    assert "renderer broke" not in page  # technical details stay in the log and the record
    assert f'action="/exports/{export_id}/retry"' in page
    assert "Failed" in page_text(client.get(f"/rounds/{accepted.round_a}/exports"))

    response = post_form(client, f"/exports/{export_id}/retry", page=f"/exports/{export_id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/exports/{export_id}"
    assert "Your Word document is being prepared." in page_text(client.get(f"/exports/{export_id}"))
    prepare(client, export_id)
    export = record(app, export_id)
    assert export.status == ExportStatus.READY and export.error is None
    assert zipfile.is_zipfile(io.BytesIO(client.get(f"/exports/{export_id}/download").data))


def test_a_missing_file_is_a_clear_404(app, accepted, signed_in, export_folder):
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    prepare(client, export_id)
    for path in export_folder.iterdir():
        path.unlink()
    response = client.get(f"/exports/{export_id}/download")
    assert response.status_code == 404
    assert "The file is missing" in page_text(response)


def test_no_format_or_a_bad_one_is_refused_with_a_message(app, world, signed_in):
    client = signed_in("lead_staff")
    for data, message in ((None, "Select the kind of file to export"),
                          ("exe", "Select the kind of file to export: Word document, PDF, Excel spreadsheet")):
        response = create(client, f"/rounds/{world.round_a}/exports", data)
        assert response.status_code == 400
        text = page_text(response)
        assert "Error: Export the bid" in text
        assert 'class="govuk-error-summary"' in text and "There is a problem" in text
        assert text.count(message) >= 2  # in the summary and at the radios
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == 0


# --- versions --------------------------------------------------------------------------------

def test_downloading_again_later_gives_the_same_file(app, accepted, signed_in):
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "xlsx"))
    prepare(client, export_id)
    first = client.get(f"/exports/{export_id}/download").data
    add_lines(app, accepted.contribution_a1, [(0, 0, 1_00, 0, None)])  # the bid changes meanwhile
    again = signed_in("viewer").get(f"/exports/{export_id}/download").data
    assert again == first
    assert hashlib.sha256(again).hexdigest() == record(app, export_id).file_sha256


def test_the_history_says_when_the_bid_has_changed_since(app, accepted, signed_in):
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    prepare(client, export_id)
    assert "The bid has changed since" not in page_text(client.get(f"/rounds/{accepted.round_a}/exports"))

    add_lines(app, accepted.contribution_a2, [(1, 1, 2_500_00, 0, None)])
    page = page_text(client.get(f"/rounds/{accepted.round_a}/exports"))
    assert "The bid has changed since" in page
    assert record(app, export_id).short_hash in page

    # An export made now is of the new version: it is not marked.
    second = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    prepare(client, second)
    assert record(app, second).content_hash != record(app, export_id).content_hash
    assert page_text(client.get(f"/rounds/{accepted.round_a}/exports")).count("The bid has changed since") == 1


def real_documents(app) -> None:
    """make_ready() records documents without files: store a real file for each."""
    import secrets

    from app.models import Attachment
    from app.services.documents import document_key
    from app.storage import storage

    with app.app_context():
        for attachment in db.session.scalars(select(Attachment)):
            data = b"%PDF-1.4 problem profile of " + attachment.contribution.csp.name.encode()
            attachment.stored_name = secrets.token_hex(16)
            attachment.size_bytes, attachment.sha256 = len(data), hashlib.sha256(data).hexdigest()
            storage().put(document_key(attachment), data)
        db.session.commit()


def test_an_export_of_a_signed_off_bid_is_marked_signed_off(app, world, signed_in):
    make_ready(app, world)
    real_documents(app)
    with app.app_context(), app.test_request_context():
        admin = db.session.get(User, world.users["lead_admin"])
        signoff.sign_off(admin, get_or_create_bid(db.session.get(Round, world.round_a)), "I confirm")
        db.session.commit()
    client = signed_in("lead_admin")
    page = page_text(client.get(f"/rounds/{world.round_a}/exports"))
    assert "The bid is <strong class=\"govuk-tag govuk-tag--green\">Signed off</strong>" in page
    export_id = created_id(create(client, f"/rounds/{world.round_a}/exports", "docx"))
    prepare(client, export_id)
    export = record(app, export_id)
    assert export.signed_off is True and export.content_status == "Signed off"
    assert "collective bid - signed off" in export.filename
    ready = page_text(client.get(f"/exports/{export_id}"))
    assert '<strong class="govuk-tag govuk-tag--green">Signed off</strong>' in ready
    assert "Signed off" in docx_text(client.get(f"/exports/{export_id}/download").data)


def test_the_version_is_the_content_not_the_status(app, world, signed_in):
    """Marking the bid as submitted (or reopening it) does not make a new version: the file sent to
    the funder stays "this version" until the content changes."""
    make_ready(app, world)
    real_documents(app)
    admin = signed_in("lead_admin")
    assert _sign_off(admin, world).status_code == 302
    signed_id = created_id(create(admin, f"/rounds/{world.round_a}/exports", "docx"))
    prepare(admin, signed_id)
    signed = record(app, signed_id)
    assert signed.content_status == "Signed off" and signed.signed_off is True

    assert _mark_submitted(admin, world).status_code == 302
    page = page_text(admin.get(f"/rounds/{world.round_a}/exports"))
    assert "The bid has changed since" not in page
    assert f'version <code class="pb-export-hash">{signed.short_hash}</code>.' in page  # the bid now

    # Exported again after submission: the same version, with the status it has now beside it.
    submitted_id = created_id(create(admin, f"/rounds/{world.round_a}/exports", "docx"))
    prepare(admin, submitted_id)
    submitted = record(app, submitted_id)
    assert submitted.content_hash == signed.content_hash
    assert submitted.content_status == "Submitted to the funder" and submitted.signed_off is True
    page = page_text(admin.get(f"/rounds/{world.round_a}/exports"))
    assert '<strong class="govuk-tag govuk-tag--green">Signed off</strong>' in page
    assert '<strong class="govuk-tag govuk-tag--green">Submitted to the funder</strong>' in page
    assert "The bid has changed since" not in page
    assert "Submitted to the funder" in page_text(admin.get(f"/exports/{submitted_id}"))
    # The files say what the status was when each was made.
    assert "Submitted to the funder" not in docx_text(admin.get(f"/exports/{signed_id}/download").data)
    assert "Submitted to the funder" in docx_text(admin.get(f"/exports/{submitted_id}/download").data)

    # Reopened: a draft again, but the same content.
    assert post_form(admin, f"/bid/rounds/{world.round_a}/reopen", {"reason": "A late correction"}).status_code == 302
    assert "The bid has changed since" not in page_text(admin.get(f"/rounds/{world.round_a}/exports"))

    # A merged text changes: now both exports are of an earlier version.
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        section = rnd.sections[0]
        merged = merge.merged_section(get_or_create_bid(rnd), section)
        staff = db.session.get(User, world.users["lead_staff"])
        merge.set_section_state(staff, merged.bid, section, final=False)  # a final section is changed as a draft
        merge.save_text(staff, merged.bid, section, merged.text + " One more sentence.", merged.version)
        db.session.commit()
    page = page_text(admin.get(f"/rounds/{world.round_a}/exports"))
    assert page.count("The bid has changed since") == 2


def test_the_page_takes_the_version_from_the_export_made_at_the_same_fingerprint(app, accepted, signed_in,
                                                                                 monkeypatch):
    """Once the bid has been exported, its page says which version it is at without reading the
    whole bid again; after a change it reads it, and says the export is of an earlier version."""
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    prepare(client, export_id)
    made = record(app, export_id)
    assert made.content_fingerprint

    def no_reading(rnd):
        raise AssertionError("the export page read the whole bid")

    with monkeypatch.context() as m:
        m.setattr(service, "bid_content", no_reading)
        page = page_text(client.get(f"/rounds/{accepted.round_a}/exports"))
    assert f'version <code class="pb-export-hash">{made.short_hash}</code>.' in page
    assert "The bid has changed since" not in page

    # An accepted contribution's budget changes (sent back, changed by the CSP, accepted again).
    with app.app_context(), app.test_request_context():
        from app.services import budget, review

        staff, manager = (db.session.get(User, accepted.users[who]) for who in ("lead_staff", "csp_manager"))
        contribution = db.session.get(Contribution, accepted.contribution_a1)
        review.request_changes(staff, contribution, ["budget"], "Check the youth workers' costs, please.")
        line = contribution.budget_lines[0]
        budget.change_line(manager, line, expected_version=line.version,
                           **_line_values(line, amount_pence=line.amount_pence + 100))
        contribution.status = ContributionStatus.ACCEPTED
        db.session.commit()
        now = service.bid_content(db.session.get(Round, accepted.round_a))
    page = page_text(client.get(f"/rounds/{accepted.round_a}/exports"))
    assert "The bid has changed since" in page
    assert f'version <code class="pb-export-hash">{now.short_hash}</code>.' in page
    assert now.content_hash != made.content_hash


def _fingerprint(app, world) -> str:
    from app.services.consolidation import find_bid
    from app.services.exports.content import bid_fingerprint

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        return bid_fingerprint(rnd, find_bid(rnd))


def _content_hash(app, world) -> str:
    with app.app_context():
        return service.bid_content(db.session.get(Round, world.round_a)).content_hash


def _as_csp(app, world, change) -> None:
    """A change by A1's CSP manager to its accepted contribution (made editable for the change)."""
    with app.app_context(), app.test_request_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        contribution.status = ContributionStatus.IN_PROGRESS
        db.session.flush()
        change(db.session.get(User, world.users["csp_manager"]), contribution)
        contribution.status = ContributionStatus.ACCEPTED
        db.session.commit()


def _as_lead(app, world, change) -> None:
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, world.round_a)
        change(db.session.get(User, world.users["lead_staff"]), rnd, get_or_create_bid(rnd))
        db.session.commit()


def _line_values(line, **changes) -> dict:
    values = {"financial_year_id": line.financial_year_id, "cost_category_id": line.cost_category_id,
              "description": line.description, "amount_pence": line.amount_pence, "match_pence": line.match_pence,
              "match_type": line.match_type}
    return {**values, **changes}


def test_every_change_of_the_content_changes_the_fingerprint(app, accepted):
    """The fingerprint stands for the content: whatever changes what the bid says changes it (so an
    export made before is never taken for the current version)."""
    from datetime import date

    from werkzeug.datastructures import FileStorage

    from app.demo_content import minimal_pdf
    from app.models import Organisation
    from app.services import budget, consolidation, documents

    def first_line(contribution):
        return contribution.budget_lines[0]

    def newest_line(contribution):
        return contribution.budget_lines[-1]

    def change_lead_line(user, rnd, bid):
        line = bid.lead_lines[0]
        consolidation.change_lead_line(user, line, expected_version=line.version,
                                       **_line_values(line, amount_pence=6_000_00))

    def save_merged_text(user, rnd, bid):
        merged = merge.merged_section(bid, rnd.sections[0])
        merge.save_text(user, bid, rnd.sections[0], "Our partnership will work with young people.",
                        merged.version if merged else 0)

    def upload(user, contribution, name):
        pdf = FileStorage(io.BytesIO(minimal_pdf(name)), filename=name, content_type="application/pdf")
        documents.upload_document(user, contribution, pdf)

    def rename_csp(app, world):
        with app.app_context():
            db.session.get(Organisation, world.csp_a1).name += " and District"
            db.session.commit()

    def retitle(app, world):
        with app.app_context():
            rnd = db.session.get(Round, world.round_a)
            rnd.sections[0].title += " (revised)"
            db.session.commit()

    changes = {
        "a budget line changed": lambda: _as_csp(app, accepted, lambda user, c: budget.change_line(
            user, first_line(c), expected_version=first_line(c).version,
            **_line_values(first_line(c), amount_pence=first_line(c).amount_pence + 1))),
        "a budget line added": lambda: _as_csp(app, accepted, lambda user, c: budget.add_line(
            user, c, **_line_values(first_line(c), description="Evaluation"))),
        # The newest line deleted and another added: on SQLite the new line may take the old one's id.
        "the newest line replaced": lambda: _as_csp(app, accepted, lambda user, c: (
            budget.delete_line(user, newest_line(c), newest_line(c).version),
            db.session.expire(c, ["budget_lines"]),
            budget.add_line(user, c, **_line_values(first_line(c), description="Evaluation (revised)")))),
        "an outcome added": lambda: _as_csp(app, accepted, lambda user, c: budget.add_outcome(
            user, c, measure="Fewer first-time entrants", baseline="40", target="30", by_when=date(2030, 3, 31))),
        "an outcome changed": lambda: _as_csp(app, accepted, lambda user, c: budget.change_outcome(
            user, c.outcomes[0], expected_version=c.outcomes[0].version, measure="Fewer first-time entrants",
            baseline="40", target="25", by_when=date(2030, 3, 31))),
        "a partner added": lambda: _as_csp(app, accepted, lambda user, c: budget.add_partner(
            user, c, organisation_name="Youth Offending Service", role="Referrals")),
        "a partner changed": lambda: _as_csp(app, accepted, lambda user, c: budget.change_partner(
            user, c.partners[0], expected_version=c.partners[0].version,
            organisation_name="Youth Offending Service", role="Referrals and mentoring")),
        "a document uploaded": lambda: _as_csp(app, accepted, lambda user, c: upload(user, c, "profile.pdf")),
        "another document uploaded": lambda: _as_csp(app, accepted, lambda user, c: upload(user, c, "letter.pdf")),
        "the first document deleted": lambda: _as_csp(app, accepted, lambda user, c: documents.delete_document(
            user, c, c.attachments[0])),
        "a lead-held line added": lambda: _as_lead(app, accepted, lambda user, rnd, bid: consolidation.add_lead_line(
            user, bid, financial_year_id=rnd.financial_years[0].id, cost_category_id=rnd.cost_categories[0].id,
            description="Evaluation", amount_pence=5_000_00)),
        "a lead-held line changed": lambda: _as_lead(app, accepted, change_lead_line),
        "a merged text saved": lambda: _as_lead(app, accepted, save_merged_text),
        "the merge order changed": lambda: _as_lead(app, accepted, lambda user, rnd, bid: merge.move_contribution(
            user, bid, merge.accepted(bid)[1], "up")),
        "a contribution excluded": lambda: set_status(app, accepted.contribution_a2, ContributionStatus.EXCLUDED),
        "a CSP renamed": lambda: rename_csp(app, accepted),
        "a section retitled": lambda: retitle(app, accepted),
    }
    known: dict[str, str] = {}  # fingerprint -> the content hash it stood for

    def fingerprint_after(what: str) -> str:
        fingerprint, content = _fingerprint(app, accepted), _content_hash(app, accepted)
        assert known.setdefault(fingerprint, content) == content, f"after {what}: a fingerprint seen for other content"
        return fingerprint

    previous = fingerprint_after("nothing")
    for what, change in changes.items():
        change()
        fingerprint = fingerprint_after(what)
        assert fingerprint != previous, f"{what} did not change the fingerprint"
        previous = fingerprint
    assert len(known) == len(changes) + 1


def test_the_fingerprint_leaves_out_the_workflow(app, accepted):
    """Sent back and accepted again unchanged, sections marked final, deadlines moved, and what
    contributions that are not accepted do: none of it is in the bid's content."""
    from app.services import budget, deadlines

    before = _fingerprint(app, accepted)
    set_status(app, accepted.contribution_a1, ContributionStatus.CHANGES_REQUESTED)
    set_status(app, accepted.contribution_a1, ContributionStatus.ACCEPTED)
    with app.app_context(), app.test_request_context():
        rnd = db.session.get(Round, accepted.round_a)
        admin = db.session.get(User, accepted.users["lead_admin"])
        deadlines.change_deadline(admin, rnd, "funder", rnd.funder_deadline + timedelta(days=7), "Extended")
        db.session.commit()
    assert _fingerprint(app, accepted) == before

    set_status(app, accepted.contribution_a2, ContributionStatus.SUBMITTED)  # no longer in the bid
    left = _fingerprint(app, accepted)
    assert left != before
    with app.app_context(), app.test_request_context():
        contribution = db.session.get(Contribution, accepted.contribution_a2)
        contribution.status = ContributionStatus.IN_PROGRESS
        line = contribution.budget_lines[0]
        budget.change_line(db.session.get(User, accepted.users["other_csp_manager"]), line,
                           expected_version=line.version, **_line_values(line, amount_pence=line.amount_pence + 1))
        contribution.status = ContributionStatus.SUBMITTED
        db.session.commit()
    assert _fingerprint(app, accepted) == left


def test_the_version_leaves_out_status_sign_off_and_deadlines(app, accepted):
    from dataclasses import replace

    from app.services.exports.content import bid_content, content_hash

    with app.app_context():
        content = bid_content(db.session.get(Round, accepted.round_a))
    later = utcnow() + timedelta(days=7)
    workflow = replace(
        content, status="Submitted to the funder", signed_off=True, signed_off_by="Ann Admin", signed_off_at=later,
        sign_off_declaration="I confirm", funder_deadline=later, internal_deadline=later, generated_at=later,
    )
    assert content_hash(workflow) == content.content_hash
    first = content.sections[0]
    edited = replace(content, sections=[replace(first, text=first.text + "!"), *content.sections[1:]])
    assert content_hash(edited) != content.content_hash
    assert content_hash(replace(content, lines=content.lines[1:])) != content.content_hash


# --- who may do what -----------------------------------------------------------------------------

def _an_export(app, world, contribution_id: int | None = None, key: str = "docx") -> int:
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        contribution = db.session.get(Contribution, contribution_id) if contribution_id else None
        export = service.export_now(db.session.get(User, world.users["lead_staff"]), rnd, key, contribution)
        assert export.status == ExportStatus.READY, export.error
        return export.id


def test_viewers_download_but_do_not_create(app, accepted, signed_in):
    export_id = _an_export(app, accepted)
    viewer = signed_in("viewer")
    page = page_text(viewer.get(f"/rounds/{accepted.round_a}/exports"))
    assert "Create export" not in page and 'type="radio"' not in page
    assert "Only lead bidder administrators and staff can create new ones" in page
    assert viewer.get(f"/exports/{export_id}/download").status_code == 200
    response = create(viewer, f"/rounds/{accepted.round_a}/exports", "docx")
    assert response.status_code == 403
    contribution = create(viewer, f"/contributions/{accepted.contribution_a1}/exports", "docx")
    assert contribution.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(ExportRecord)) == 1


def test_csp_users_see_only_their_own_contributions_exports(app, accepted, signed_in):
    bid_export = _an_export(app, accepted)
    theirs = _an_export(app, accepted, accepted.contribution_a2, "pdf")
    ours = _an_export(app, accepted, accepted.contribution_a1, "pdf")
    manager = signed_in("csp_manager")
    assert manager.get(f"/rounds/{accepted.round_a}/exports").status_code == 403
    assert manager.get(f"/exports/{bid_export}").status_code == 403
    assert manager.get(f"/exports/{bid_export}/download").status_code == 403
    assert manager.get(f"/contributions/{accepted.contribution_a2}/exports").status_code == 404
    assert manager.get(f"/exports/{theirs}").status_code == 404
    assert manager.get(f"/exports/{theirs}/download").status_code == 404
    assert manager.get(f"/exports/{ours}/download").data.startswith(b"%PDF")
    page = page_text(manager.get(f"/contributions/{accepted.contribution_a1}/exports"))
    assert record(app, ours).short_hash in page and record(app, theirs).short_hash not in page


def test_another_lead_bidder_gets_404(app, accepted, signed_in):
    bid_export = _an_export(app, accepted)
    ours = _an_export(app, accepted, accepted.contribution_a1, "docx")
    other = signed_in("other_lead_admin")
    for path in (f"/rounds/{accepted.round_a}/exports", f"/contributions/{accepted.contribution_a1}/exports",
                 f"/exports/{bid_export}", f"/exports/{bid_export}/download", f"/exports/{bid_export}/status",
                 f"/exports/{ours}", f"/exports/{ours}/download"):
        response = other.get(path)
        assert response.status_code == 404, path
        assert "Thames Valley" not in response.get_data(as_text=True)


def test_file_names_say_what_the_file_is_without_repeating_the_round_title(app, accepted):
    from dataclasses import replace

    from app.dates import to_london
    from app.services.exports.content import bid_content

    with app.app_context():
        content = bid_content(db.session.get(Round, accepted.round_a))
        day = to_london(content.generated_at).date().isoformat()
        plain = replace(content, round_title="Early Intervention Youth Fund 2018")
        assert service.filename_for(plain, "docx") == (
            f"Early Intervention Youth Fund 2018 - collective bid - draft - {day}.docx"
        )
        titled = replace(content, round_title="EIYF: Thames Valley collective bid", signed_off=True)
        assert service.filename_for(titled, "csv") == (
            f"EIYF- Thames Valley collective bid - signed off - budget lines - {day}.csv"
        )
