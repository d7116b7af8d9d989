"""Supporting documents: upload (type from the content), storage, download, delete, completion."""

from __future__ import annotations

import hashlib
import re
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import Attachment, AuditEvent, Contribution, ContributionStatus, User
from app.services import ServiceError
from app.services import documents as service
from tests.conftest import S3_TESTS, csrf_token, post_form, stored_folder
from tests.fixtures import documents as samples

TYPE_MESSAGE = "The selected file must be a PDF, DOCX, XLSX, ODT, PNG or JPEG"
PASSWORD_MESSAGE = "The selected file is password protected"
MACROS_MESSAGE = "The selected file contains macros"
LEGACY_WORD_MESSAGE = "The selected file is an old Word document (.doc) – open it in Word, choose File, Save As"
LEGACY_EXCEL_MESSAGE = "The selected file is an old Excel workbook (.xls) – open it in Excel, choose File, Save As"
EXPANDS_MESSAGE = "The selected file expands to too much data when it is opened"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def uploads(app, monkeypatch, tmp_path) -> Path:
    """This test's own upload folder (the app reads UPLOAD_FOLDER at each request)."""
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    return stored_folder(app, folder, "uploads/")


def documents_path(world, contribution_id: int | None = None) -> str:
    return f"/contributions/{contribution_id or world.contribution_a1}/documents"


def upload(client, world, data: bytes, filename: str, description: str = "", contribution_id: int | None = None):
    path = documents_path(world, contribution_id)
    token = csrf_token(client, path)
    return client.post(
        f"{path}/upload",
        data={"csrf_token": token, "file": (BytesIO(data), filename), "description": description},
        content_type="multipart/form-data",
    )


def attachments(app, contribution_id: int) -> list[Attachment]:
    with app.app_context():
        rows = db.session.scalars(
            select(Attachment).where(Attachment.contribution_id == contribution_id).order_by(Attachment.id)
        ).all()
        db.session.expunge_all()
        return rows


def stored_files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.exists() else []


def audit_actions(app, contribution_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "Contribution", AuditEvent.object_id == contribution_id)
                .order_by(AuditEvent.id)
            )
        )


def set_status(app, contribution_id: int, status: ContributionStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, contribution_id).status = status
        db.session.commit()


def expect_refused(response, message: str) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[:2000]
    assert "<title>Error: Supporting documents" in page
    assert 'class="govuk-error-summary' in page
    assert f'<a href="#file">{message}' in page
    field_error = (
        r'<p id="file-error" class="govuk-error-message">\s*' r'<span class="govuk-visually-hidden">Error:</span> '
    )
    assert re.search(field_error + re.escape(message), page)
    return page


def add_document(app, world, data: bytes | None = None, filename="Problem profile.pdf", contribution_id=None):
    """Upload through the service, as CSP A1's manager (or A2's for A2's contribution)."""
    contribution_id = contribution_id or world.contribution_a1
    who = "csp_manager" if contribution_id == world.contribution_a1 else "other_csp_manager"
    with app.app_context():
        contribution = db.session.get(Contribution, contribution_id)
        actor = db.session.get(User, world.users[who])
        storage = FileStorage(BytesIO(data if data is not None else samples.pdf()), filename=filename)
        attachment = service.upload_document(actor, contribution, storage, "For the test").attachment
        db.session.commit()
        return attachment.id, attachment.stored_name


# --- uploading: what is accepted -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(samples.ACCEPTED))
def test_each_accepted_type_is_stored_with_its_size_hash_and_a_generated_name(app, world, signed_in, uploads, kind):
    build, filename, mimetype = samples.ACCEPTED[kind]
    data = build()
    client = signed_in("csp_manager")

    response = upload(client, world, data, filename, description="  Shared with the partnership  ")

    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    assert response.headers["Location"] == documents_path(world)
    (row,) = attachments(app, world.contribution_a1)
    assert row.filename == filename
    assert row.content_type == mimetype
    assert row.size_bytes == len(data)
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert row.description == "Shared with the partnership"
    assert row.uploaded_by_id == world.users["csp_manager"]
    # Stored under a random name, outside the static folder, with the same bytes.
    assert re.fullmatch(r"[0-9a-f]{32}", row.stored_name)
    (stored,) = stored_files(uploads)
    assert stored.name == row.stored_name
    assert stored.read_bytes() == data
    if not S3_TESTS:
        assert not stored.resolve().is_relative_to(Path(app.static_folder).resolve())
        assert stored.stat().st_mode & 0o077 == 0

    page = client.get(documents_path(world)).get_data(as_text=True)
    assert f"{filename} has been uploaded" in page
    assert filename in page and service.human_size(len(data)) in page
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        assert contribution.status == ContributionStatus.IN_PROGRESS  # touch()
    assert audit_actions(app, world.contribution_a1) == ["contribution.document_uploaded"]


def test_the_default_upload_folder_is_outside_the_static_folder(app):
    assert Path(app.config["UPLOAD_FOLDER"]).resolve() != Path(app.static_folder).resolve()
    assert not Path(app.config["UPLOAD_FOLDER"]).resolve().is_relative_to(Path(app.static_folder).resolve())
    from config import Config

    assert Path(Config.UPLOAD_FOLDER) == ROOT / "instance" / "uploads"
    assert Config.MAX_UPLOAD_BYTES == 10 * 1024 * 1024


def test_an_upload_folder_inside_the_static_folder_is_refused(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(Path(app.static_folder) / "uploads"))
    with app.app_context(), pytest.raises(RuntimeError, match="static"):
        service.upload_folder()


def test_a_docx_renamed_pdf_is_stored_as_a_docx_with_the_right_extension(app, world, signed_in, uploads):
    client = signed_in("csp_contributor")

    response = upload(client, world, samples.docx(), "Letter of support.pdf")

    assert response.status_code == 302
    (row,) = attachments(app, world.contribution_a1)
    assert row.content_type == samples.ACCEPTED["docx"][2]
    assert row.filename == "Letter of support.docx"
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "Letter of support.docx has been uploaded. It is a DOCX file, so its name now ends in .docx" in page


@pytest.mark.parametrize(
    ("build", "filename", "message"),
    [
        (samples.exe, "Problem profile.pdf", TYPE_MESSAGE),
        (samples.exe, "setup.exe", TYPE_MESSAGE),
        (samples.html, "Hotspot map.png", TYPE_MESSAGE),
        (samples.svg, "Logo.svg", TYPE_MESSAGE),
        (samples.text, "Notes.docx", TYPE_MESSAGE),
        (samples.plain_zip, "Evidence.docx", TYPE_MESSAGE),
        (samples.pptx, "Slides.pptx", TYPE_MESSAGE),
        (samples.ods, "Budget.ods", TYPE_MESSAGE),
        (samples.legacy_doc, "Old letter.doc", LEGACY_WORD_MESSAGE),
        (samples.legacy_xls, "Old budget.xls", LEGACY_EXCEL_MESSAGE),
        (samples.docx_bomb, "Small but huge.docx", EXPANDS_MESSAGE),
        (lambda: b"PK\x03\x04 not really a zip", "Broken.docx", TYPE_MESSAGE),
        (lambda: b"%PDF-x", "Not quite.pdf", TYPE_MESSAGE),
        (lambda: samples.docx(macros=True), "Letter with macros.docx", MACROS_MESSAGE),
        (lambda: samples.xlsx(macros=True), "Budget with macros.xlsm", MACROS_MESSAGE),
        (lambda: samples.pdf(encrypted=True), "Locked.pdf", PASSWORD_MESSAGE),
        (samples.zip_encrypted, "Zipped with a password.docx", PASSWORD_MESSAGE),
        (samples.ooxml_encrypted, "Encrypted.docx", PASSWORD_MESSAGE),
        (lambda: samples.odt(encrypted=True), "Encrypted.odt", PASSWORD_MESSAGE),
    ],
    ids=[
        "exe-as-pdf",
        "exe",
        "html-as-png",
        "svg",
        "text-as-docx",
        "zip-as-docx",
        "pptx",
        "ods",
        "doc",
        "xls",
        "zip-bomb",
        "broken-zip",
        "broken-pdf",
        "docm",
        "xlsm",
        "encrypted-pdf",
        "encrypted-zip",
        "encrypted-docx",
        "encrypted-odt",
    ],  # fmt: skip
)
def test_disguised_unknown_and_protected_files_are_refused_saying_why(
    app, world, signed_in, uploads, build, filename, message
):
    client = signed_in("csp_manager")

    response = upload(client, world, build(), filename, description="Kept after an error")

    page = expect_refused(response, message)
    assert 'value="Kept after an error"' in page
    assert attachments(app, world.contribution_a1) == []
    assert stored_files(uploads) == []  # nothing left behind, not even the partial copy
    assert audit_actions(app, world.contribution_a1) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (samples.docx(main_by_default=True), "docx"),
        (samples.docx(without_document=True), None),
        (samples.pdf() + samples.exe(), "pdf"),  # what follows a PDF's header is the PDF's business
        (samples.exe() + samples.pdf(), None),
        (b"GIF89a\x01\x00\x01\x00", None),
    ],
    ids=["docx-main-part-by-default", "docx-without-its-document", "pdf-with-trailing-bytes", "exe-then-pdf", "gif"],
)
def test_sniff_reads_the_content_not_the_name(tmp_path, data, expected):
    path = tmp_path / "upload"
    path.write_bytes(data)
    if expected is None:
        with pytest.raises(service.Refused, match=TYPE_MESSAGE):
            service.sniff(path)
    else:
        assert service.sniff(path).key == expected


def test_a_file_over_the_upload_limit_gets_the_form_error(app, world, signed_in, uploads):
    client = signed_in("csp_manager")
    too_big = samples.pdf() + b"\n%" + b"x" * (10 * 1024 * 1024)

    expect_refused(upload(client, world, too_big, "Huge.pdf"), "The selected file must be smaller than 10MB")

    assert attachments(app, world.contribution_a1) == []
    assert stored_files(uploads) == []


def test_a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_not(app, world, signed_in, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2048)
    client = signed_in("csp_manager")
    base = samples.pdf()
    exact = base + b"%" + b"x" * (2048 - len(base) - 1)

    assert upload(client, world, exact, "Exact.pdf").status_code == 302
    expect_refused(upload(client, world, exact + b"x", "Over.pdf"), "The selected file must be smaller than 2KB")

    assert [a.size_bytes for a in attachments(app, world.contribution_a1)] == [2048]


def test_a_request_over_max_content_length_gets_the_styled_413_page(app, world, signed_in, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 12 * 1024 * 1024)
    client = signed_in("csp_manager")

    # Over the upload limit but under the request limit: the form error ...
    expect_refused(upload(client, world, b"%PDF-1.4\n" + b"x" * (11 * 1024 * 1024), "Big.pdf"),
                   "The selected file must be smaller than 10MB")  # fmt: skip
    # ... over the request limit: the "too large" page.
    response = upload(client, world, b"%PDF-1.4\n" + b"x" * (13 * 1024 * 1024), "Bigger.pdf")

    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file or form you sent is too large" in page and "govuk-heading-l" in page
    assert attachments(app, world.contribution_a1) == []


def test_an_empty_file_is_refused(app, world, signed_in, uploads):
    expect_refused(upload(signed_in("csp_manager"), world, b"", "Empty.pdf"), "The selected file is empty")
    assert stored_files(uploads) == []


def test_no_file_chosen_says_select_a_file(app, world, signed_in, uploads):
    client = signed_in("csp_manager")
    path = documents_path(world)

    # A browser sends an empty part with no file name when no file was chosen.
    response = client.post(
        f"{path}/upload",
        data={"csrf_token": csrf_token(client, path), "file": (BytesIO(b""), ""), "description": ""},
        content_type="multipart/form-data",
    )
    expect_refused(response, "Select a file")
    # And a form without the part at all.
    expect_refused(post_form(client, f"{path}/upload", {"description": ""}, page=path), "Select a file")


def test_a_description_over_300_characters_is_refused(app, world, signed_in, uploads):
    response = upload(signed_in("csp_manager"), world, samples.pdf(), "a.pdf", description="x" * 301)

    assert response.status_code == 400
    assert "Description must be 300 characters or fewer" in response.get_data(as_text=True)
    assert stored_files(uploads) == []


@pytest.mark.parametrize(
    ("given", "shown", "disposition"),
    [
        ('Report "final"\r\nX-Injected: yes.pdf', "Report 'final' X-Injected_ yes.pdf",
         'attachment; filename="Report \'final\' X-Injected_ yes.pdf"'),
        ("../../etc/passwd.pdf", "passwd.pdf", 'attachment; filename="passwd.pdf"'),
        ("C:\\Users\\jo\\Évaluation 2018 – résumé.pdf", "Évaluation 2018 – résumé.pdf",
         "attachment; filename=\"Evaluation 2018 resume.pdf\"; "
         "filename*=UTF-8''%C3%89valuation%202018%20%E2%80%93%20r%C3%A9sum%C3%A9.pdf"),
        ("報告.pdf", "報告.pdf", "attachment; filename=\"document.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.pdf", 'attachment; filename="invoicefdp.pdf"'),
        ("<img src=x onerror=alert(1)>.pdf", "_img src=x onerror=alert(1)_.pdf",
         'attachment; filename="_img src=x onerror=alert(1)_.pdf"'),
        ("...", "document.pdf", 'attachment; filename="document.pdf"'),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf", f'attachment; filename="{"x" * 146}.pdf"'),
    ],
    ids=["quotes-newlines", "path", "windows-path-non-ascii", "cjk", "rtl-override", "html", "dots", "long"],
)  # fmt: skip
def test_file_names_are_made_safe_to_show_and_to_download(app, world, signed_in, uploads, given, shown, disposition):
    # Through the service: a browser would percent-encode quotes and line breaks in the multipart
    # header, and the test client cannot send them raw at all.
    add_document(app, world, samples.pdf(), given)
    client = signed_in("csp_manager")

    (row,) = attachments(app, world.contribution_a1)
    assert row.filename == shown
    assert row.stored_name not in shown and shown not in row.stored_name
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "<img src=x" not in page and "\u202e" not in page
    response = client.get(f"{documents_path(world)}/{row.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == disposition
    assert "\n" not in response.headers["Content-Disposition"] and "\r" not in response.headers["Content-Disposition"]
    assert response.data == samples.pdf()


def test_a_non_ascii_name_with_folders_survives_the_upload_form(app, world, signed_in, uploads):
    client = signed_in("csp_manager")

    assert upload(client, world, samples.pdf(), "Users/jo/Évaluation – été 2018.pdf").status_code == 302

    (row,) = attachments(app, world.contribution_a1)
    assert row.filename == "Évaluation – été 2018.pdf"
    response = client.get(f"{documents_path(world)}/{row.id}/download")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="Evaluation ete 2018.pdf"; '
        "filename*=UTF-8''%C3%89valuation%20%E2%80%93%20%C3%A9t%C3%A9%202018.pdf"
    )


def test_safe_filename_keeps_a_matching_extension_and_corrects_a_wrong_one():
    assert service.safe_filename("Photo.JPEG", service.JPEG) == "Photo.jpeg"
    assert service.safe_filename("Photo.jpg", service.JPEG) == "Photo.jpg"
    assert service.safe_filename("Budget.pdf", service.XLSX) == "Budget.xlsx"
    assert service.safe_filename("Minutes 28.09.2018", service.PDF) == "Minutes 28.09.2018.pdf"
    assert service.safe_filename("", service.PNG) == "document.png"
    assert service.safe_filename(None, service.ODT) == "document.odt"
    assert service.safe_filename("a\tb\x00c.pdf", service.PDF) == "a b c.pdf"


def test_human_size():
    assert service.human_size(1) == "1 byte"
    assert service.human_size(845) == "845 bytes"
    assert service.human_size(12 * 1024) == "12KB"
    assert service.human_size(int(1.25 * 1024 * 1024)) == "1.2MB"
    assert service.human_size(10 * 1024 * 1024) == "10MB"


# --- downloading -----------------------------------------------------------------------------------


def test_download_sends_the_file_as_an_attachment_with_safe_headers(app, world, signed_in, uploads):
    data = samples.xlsx()
    attachment_id, _ = add_document(app, world, data, "Budget workings.xlsx")
    client = signed_in("csp_contributor")

    response = client.get(f"{documents_path(world)}/{attachment_id}/download")

    assert response.status_code == 200
    assert response.data == data
    assert response.headers["Content-Type"] == samples.ACCEPTED["xlsx"][2]
    assert response.headers["Content-Disposition"] == 'attachment; filename="Budget workings.xlsx"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Length"] == str(len(data))


@pytest.mark.parametrize("who", ["lead_admin", "lead_staff", "viewer"])
def test_lead_bidder_users_see_the_list_and_download_but_cannot_change_it(app, world, signed_in, uploads, who):
    attachment_id, stored_name = add_document(app, world, samples.png(), "Hotspot map.png")
    client = signed_in(who)
    path = documents_path(world)

    page = client.get(path).get_data(as_text=True)
    assert "Hotspot map.png" in page and "PNG, 73 bytes" in page
    assert "Upload a document" not in page and "Delete" not in page and "Have you completed" not in page
    download = client.get(f"{path}/{attachment_id}/download")
    assert download.status_code == 200 and download.data == samples.png()
    assert download.headers["Content-Type"] == "image/png"

    token = csrf_token(client, path)
    assert upload(client, world, samples.pdf(), "a.pdf").status_code == 403
    assert client.get(f"{path}/{attachment_id}/delete").status_code == 403
    assert client.post(f"{path}/{attachment_id}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post(f"{path}/completed", data={"csrf_token": token, "completed": "yes"}).status_code == 403
    assert len(attachments(app, world.contribution_a1)) == 1 and (uploads / stored_name).exists()


def test_another_csp_gets_404_for_our_documents(app, world, signed_in, uploads):
    attachment_id, stored_name = add_document(app, world)
    client = signed_in("other_csp_manager")
    path = documents_path(world)

    assert client.get(path).status_code == 404
    assert client.get(f"{path}/{attachment_id}/download").status_code == 404
    assert client.get(f"{path}/{attachment_id}/delete").status_code == 404
    token = csrf_token(client, documents_path(world, world.contribution_a2))
    assert client.post(f"{path}/{attachment_id}/delete", data={"csrf_token": token}).status_code == 404
    assert upload(client, world, samples.pdf(), "a.pdf", contribution_id=world.contribution_a2).status_code == 302
    # Their own contribution's URL with our document's id: still 404.
    own = documents_path(world, world.contribution_a2)
    assert client.get(f"{own}/{attachment_id}/download").status_code == 404
    assert client.get(f"{own}/{attachment_id}/delete").status_code == 404
    assert client.post(f"{own}/{attachment_id}/delete", data={"csrf_token": token}).status_code == 404
    assert (uploads / stored_name).exists()


def test_another_lead_bidder_gets_404_for_our_documents(app, world, signed_in, uploads):
    attachment_id, _ = add_document(app, world)
    for who in ("other_lead_admin", "other_lead_csp_manager"):
        client = signed_in(who)
        path = documents_path(world)
        assert client.get(path).status_code == 404
        response = client.get(f"{path}/{attachment_id}/download")
        assert response.status_code == 404
        assert "Reading" not in response.get_data(as_text=True)
        # Their own contribution with our document's id.
        theirs = documents_path(world, world.contribution_b1)
        assert client.get(f"{theirs}/{attachment_id}/download").status_code == 404


def test_a_document_is_found_only_through_its_own_contribution(app, world, signed_in, uploads):
    """Lead staff may see both contributions, but A2's document is not A1's."""
    a2_document, _ = add_document(app, world, contribution_id=world.contribution_a2)
    client = signed_in("lead_staff")

    assert client.get(f"{documents_path(world)}/{a2_document}/download").status_code == 404
    assert client.get(f"{documents_path(world, world.contribution_a2)}/{a2_document}/download").status_code == 200
    manager = signed_in("csp_manager")
    assert manager.get(f"{documents_path(world)}/{a2_document}/delete").status_code == 404
    assert manager.get(f"{documents_path(world)}/999999/download").status_code == 404


# --- locked contributions --------------------------------------------------------------------------


def test_after_submission_the_csp_sees_and_downloads_but_cannot_change(app, world, signed_in, uploads):
    attachment_id, stored_name = add_document(app, world)
    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    client = signed_in("csp_manager")
    path = documents_path(world)
    token = csrf_token(client, path)

    page = client.get(path).get_data(as_text=True)
    assert "Problem profile.pdf" in page
    assert "This contribution was submitted, so it cannot be changed" in page
    assert "Upload a document" not in page and "Delete" not in page
    assert client.get(f"{path}/{attachment_id}/download").status_code == 200

    for response in (
        upload(client, world, samples.pdf(), "Late.pdf"),
        client.get(f"{path}/{attachment_id}/delete"),
        client.post(f"{path}/{attachment_id}/delete", data={"csrf_token": token}),
        client.post(f"{path}/completed", data={"csrf_token": token, "completed": "yes"}),
    ):
        assert response.status_code == 302
        assert response.headers["Location"] == f"/contributions/{world.contribution_a1}"
    assert "This contribution was submitted" in client.get(f"/contributions/{world.contribution_a1}").get_data(
        as_text=True
    )
    assert [a.id for a in attachments(app, world.contribution_a1)] == [attachment_id]
    assert stored_files(uploads) == [uploads / stored_name]
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).documents_completed is False


def test_the_services_refuse_changes_to_a_submitted_contribution(app, world, uploads):
    attachment_id, _ = add_document(app, world)
    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        with pytest.raises(ServiceError, match="submitted"):
            service.upload_document(actor, contribution, FileStorage(BytesIO(samples.pdf()), filename="a.pdf"))
        with pytest.raises(ServiceError, match="submitted"):
            service.delete_document(actor, contribution, db.session.get(Attachment, attachment_id))
    assert len(stored_files(uploads)) == 1


# --- deleting --------------------------------------------------------------------------------------


def test_delete_asks_for_confirmation_then_removes_the_row_and_the_file(app, world, signed_in, uploads):
    attachment_id, stored_name = add_document(app, world, samples.odt(), "Pilot evaluation.odt")
    keep_id, keep_name = add_document(app, world, samples.png(), "Map.png")
    client = signed_in("csp_contributor")
    path = f"{documents_path(world)}/{attachment_id}/delete"

    page = client.get(path).get_data(as_text=True)
    assert "Are you sure you want to delete Pilot evaluation.odt?" in page
    assert "ODT, " in page and "For the test" in page
    assert (uploads / stored_name).exists()

    response = post_form(client, path)

    assert response.status_code == 302 and response.headers["Location"] == documents_path(world)
    assert [a.id for a in attachments(app, world.contribution_a1)] == [keep_id]
    assert not (uploads / stored_name).exists()
    assert (uploads / keep_name).exists()
    assert "Pilot evaluation.odt has been deleted" in client.get(documents_path(world)).get_data(as_text=True)
    assert audit_actions(app, world.contribution_a1)[-1] == "contribution.document_deleted"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contribution.document_deleted"))
        assert event.detail["filename"] == "Pilot evaluation.odt"
        assert event.lead_bidder_id == world.lead_a


def _failing_commit(session):
    raise RuntimeError("the database went away")


def test_a_delete_whose_commit_fails_keeps_the_row_and_the_file(app, world, uploads):
    attachment_id, stored_name = add_document(app, world)
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        service.delete_document(actor, contribution, db.session.get(Attachment, attachment_id))
        session = db.session()
        event.listen(session, "before_commit", _failing_commit)
        try:
            with pytest.raises(RuntimeError):
                db.session.commit()
        finally:
            event.remove(session, "before_commit", _failing_commit)
        db.session.rollback()
        assert (uploads / stored_name).exists()
        # The next transaction, committed, does not delete it either.
        db.session.get(Contribution, world.contribution_a1).extension_reason = "unrelated change"
        db.session.commit()
    assert (uploads / stored_name).exists()
    assert [a.id for a in attachments(app, world.contribution_a1)] == [attachment_id]


def test_an_upload_whose_transaction_does_not_commit_leaves_no_file(app, world, uploads):
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        stored = service.upload_document(actor, contribution, FileStorage(BytesIO(samples.pdf()), "a.pdf"))
        path = uploads / stored.attachment.stored_name
        assert path.exists()
        session = db.session()
        event.listen(session, "before_commit", _failing_commit)
        try:
            with pytest.raises(RuntimeError):
                db.session.commit()
        finally:
            event.remove(session, "before_commit", _failing_commit)
        db.session.rollback()
        assert not path.exists()
    assert attachments(app, world.contribution_a1) == []


def test_an_upload_request_that_fails_at_commit_leaves_no_file(app, world, signed_in, uploads, monkeypatch):
    client = signed_in("csp_manager")
    token = csrf_token(client, documents_path(world))

    def failing_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(db.session, "commit", failing_commit)
    response = client.post(
        f"{documents_path(world)}/upload",
        data={"csrf_token": token, "file": (BytesIO(samples.pdf()), "a.pdf")},
        content_type="multipart/form-data",
    )
    monkeypatch.undo()
    assert response.status_code == 500  # the error page's handler rolls back
    assert stored_files(uploads) == []
    assert attachments(app, world.contribution_a1) == []


# --- "Have you completed this section?" ------------------------------------------------------------


def test_documents_can_be_marked_completed_with_no_documents(app, world, signed_in, uploads):
    client = signed_in("csp_manager")
    path = documents_path(world)

    response = post_form(client, f"{path}/completed", {"completed": "yes"}, page=path)

    assert response.status_code == 302 and response.headers["Location"] == f"/contributions/{world.contribution_a1}"
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).documents_completed is True
    task_list = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Supporting documents marked as completed" in task_list
    assert audit_actions(app, world.contribution_a1) == ["contribution.documents_completed"]
    # The page shows the answer given.
    assert re.search(r'value="yes"\s+checked', client.get(path).get_data(as_text=True))

    post_form(client, f"{path}/completed", {"completed": "no"}, page=path)
    with app.app_context():
        assert db.session.get(Contribution, world.contribution_a1).documents_completed is False


def test_completing_without_an_answer_says_what_to_do(app, world, signed_in, uploads):
    client = signed_in("csp_manager")
    path = documents_path(world)

    response = post_form(client, f"{path}/completed", {}, page=path)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#completed">Select whether you have completed this section</a>' in page
    assert "Upload a document" in page


def test_contribution_counts_documents_in_the_task_list(app, world, signed_in, uploads):
    add_document(app, world)
    page = signed_in("csp_manager").get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert re.search(r"Supporting documents.*?In progress", page, re.S)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1


def test_an_upload_whose_session_is_closed_without_a_commit_leaves_no_file(app, world, uploads):
    """As at the end of a request that failed before its commit."""
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        stored = service.upload_document(actor, contribution, FileStorage(BytesIO(samples.png()), "map.png"))
        path = uploads / stored.attachment.stored_name
        assert path.exists()
        db.session.remove()
        assert not path.exists()
