"""Virus checks of supporting documents by a real clamd (tests/conftest.py's `clamd` fixture starts
one with a single signature of our own that finds the EICAR test string), and what people see.

A document with EICAR in it is refused for download, moved to quarantine, left out of the ZIP and
flagged in the readiness checklist; a clean one is released; a scanner that cannot be reached
leaves the document waiting; with no scanner, documents download as always and the page says they
are not checked."""

from __future__ import annotations

import csv
import io
import socket
import zipfile
from io import BytesIO

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models import (
    Attachment,
    AuditEvent,
    Contribution,
    ContributionStatus,
    Notification,
    OutboxEmail,
    Round,
    ScanStatus,
    User,
)
from app.services import consolidation, scanning
from app.services import documents as service
from app.services.exports import render
from app.services.exports.content import bid_content
from app.storage import storage
from tests.conftest import CLAMD_STREAM_MAX, EICAR, S3_TESTS, stored_folder
from tests.fixtures import documents as samples
from tests.jobs import queued_names, run_queued
from tests.test_documents import documents_path, upload

VIRUS = "Test.EICAR.Custom.UNOFFICIAL"  # clamd adds ".UNOFFICIAL" to a signature of our own


def infected_pdf() -> bytes:
    """A PDF the upload accepts, with the EICAR test string in a comment after its end."""
    return samples.pdf("Problem profile") + b"%" + EICAR + b"\n"


@pytest.fixture
def folders(app, monkeypatch, tmp_path):
    """This test's own upload and quarantine folders (or the bucket's areas with TEST_STORAGE=s3)."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "QUARANTINE_FOLDER", str(tmp_path / "quarantine"))
    return (stored_folder(app, tmp_path / "uploads", "uploads/"),
            stored_folder(app, tmp_path / "quarantine", "quarantine/"))


def add(app, world, data: bytes, filename: str = "Problem profile.pdf", contribution_id: int | None = None) -> int:
    """Upload through the service as the CSP's manager; the document's id."""
    contribution_id = contribution_id or world.contribution_a1
    who = "csp_manager" if contribution_id == world.contribution_a1 else "other_csp_manager"
    with app.app_context():
        contribution = db.session.get(Contribution, contribution_id)
        actor = db.session.get(User, world.users[who])
        upload_ = FileStorage(BytesIO(data), filename=filename)
        attachment = service.upload_document(actor, contribution, upload_).attachment
        db.session.commit()
        return attachment.id


def row(app, attachment_id: int) -> Attachment:
    with app.app_context():
        found = db.session.get(Attachment, attachment_id)
        db.session.expunge_all()
        return found


def scan(app, attachment_id: int):
    with app.app_context():
        return scanning.scan_document(attachment_id)


def download_path(world, attachment_id: int) -> str:
    return f"{documents_path(world)}/{attachment_id}/download"


def names(folder) -> list[str]:
    return [f.name for f in sorted(folder.iterdir())] if folder.exists() else []


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- the client, against a real clamd ----------------------------------------------------------------


def test_the_client_pings_finds_eicar_and_passes_a_clean_file(app, clamd):
    client = scanning.Clamd(clamd.url, timeout=30)
    assert client.ping() is True
    assert client.scan([infected_pdf()]).virus == VIRUS
    # EICAR split across the chunks the store gives: clamd sees one stream.
    data = infected_pdf()
    assert client.scan([data[:100], data[100:150], data[150:]]).virus == VIRUS
    verdict = client.scan([samples.pdf(), samples.png()])
    assert verdict.clean and verdict.virus is None


def test_a_stream_longer_than_clamd_accepts_is_not_clean(app, clamd):
    client = scanning.Clamd(clamd.url, timeout=30)
    with pytest.raises(scanning.TooLargeToScan, match="size limit exceeded"):
        client.scan([b"x" * (1024 * 1024)] * (CLAMD_STREAM_MAX // (1024 * 1024) + 2))


@pytest.mark.parametrize(
    "reply", ["", "stream: something else", "COMMAND READ TIMED OUT", "Can't allocate memory ERROR"]
)
def test_an_error_or_an_unknown_answer_is_never_clean(reply):
    with pytest.raises(scanning.ScannerError):
        scanning.Clamd.verdict(reply)


def test_clamd_answers_are_read():
    assert scanning.Clamd.verdict("stream: OK").clean
    assert scanning.Clamd.verdict("stream: Win.Test.EICAR_HDB-1 FOUND").virus == "Win.Test.EICAR_HDB-1"
    with pytest.raises(scanning.TooLargeToScan):
        scanning.Clamd.verdict("INSTREAM size limit exceeded. ERROR")


def test_a_scanner_that_cannot_be_reached_raises(tmp_path):
    with pytest.raises(scanning.ScannerError, match="Could not connect"):
        scanning.Clamd(f"unix://{tmp_path}/no-clamd.sock", timeout=2).ping()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(scanning.ScannerError, match="Could not connect"):
        scanning.Clamd(f"tcp://127.0.0.1:{port}", timeout=2).scan([b"data"])


@pytest.mark.parametrize("url", ["clamd.ctl", "http://127.0.0.1:3310", "tcp://127.0.0.1", "unix://"])
def test_a_wrong_clamd_url_is_refused(url):
    with pytest.raises(ValueError, match="CLAMD_URL"):
        scanning.Clamd(url)


# --- a document with a virus -------------------------------------------------------------------------


def test_a_document_with_a_virus_is_quarantined_refused_and_its_uploader_told(app, world, signed_in, clamd, folders):
    uploads, quarantine = folders
    client = signed_in("csp_manager")

    response = upload(client, world, infected_pdf(), "Problem profile.pdf")
    assert response.status_code == 302
    (attachment_id,) = [a.id for a in db_rows(app, world.contribution_a1)]
    document = row(app, attachment_id)
    assert document.scan_status == ScanStatus.PENDING
    assert queued_names() == ["scanning.scan_document"]  # asked for once the upload committed
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "It is being checked for viruses" in page
    assert "Being checked" in page and "refresh the page" in page
    assert download_path(world, attachment_id) not in page  # no link until it is found clean
    response = client.get(download_path(world, attachment_id))
    assert response.status_code == 409
    assert "Problem profile.pdf is being checked for viruses" in response.get_data(as_text=True)

    run_queued(app)  # as a worker would (the check, then the emails it wrote)

    document = row(app, attachment_id)
    assert document.scan_status == ScanStatus.INFECTED and document.scan_result == VIRUS
    assert document.scanned_at is not None
    # Moved: gone from uploads/, kept byte for byte under quarantine/.
    assert names(uploads) == []
    assert names(quarantine) == [document.stored_name]
    with app.app_context():
        assert storage().read(f"quarantine/{document.stored_name}") == infected_pdf()
        assert not storage().exists(f"uploads/{document.stored_name}")

    message = f"This file contained a virus ({VIRUS}) and has been removed. Upload a clean copy."
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "Virus found" in page and message in page
    for who in ("csp_manager", "lead_admin"):
        response = signed_in(who).get(download_path(world, attachment_id))
        assert response.status_code == 410
        body = response.get_data(as_text=True)
        assert "Problem profile.pdf contained a virus" in body and VIRUS in body
        assert infected_pdf() not in response.get_data()

    with app.app_context():
        (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contribution.document_infected"))
        assert event.detail["virus"] == VIRUS and event.detail["attachment_id"] == attachment_id
        assert event.actor_id is None
        (note,) = db.session.scalars(select(Notification).where(
            Notification.user_id == world.users["csp_manager"], Notification.kind == "virus_found"))
        assert note.kind == "virus_found" and VIRUS in note.summary and "Upload a clean copy" in note.summary
        assert note.link == documents_path(world)
        subjects = [e.subject for e in db.session.scalars(
            select(OutboxEmail).where(OutboxEmail.to_address == world.emails["csp_manager"]))]
        assert any("Problem profile.pdf contained a virus" in s for s in subjects), subjects

    # Running it again does no harm: nothing more is recorded, moved or sent.
    assert scan(app, attachment_id) == ScanStatus.INFECTED
    assert count(app, AuditEvent, AuditEvent.action == "contribution.document_infected") == 1
    assert count(app, Notification, Notification.kind == "virus_found") == len(notified(app))
    assert names(quarantine) == [document.stored_name]

    # The lead's review page says so too, without a link.
    from tests.test_consolidation import set_status

    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    response = signed_in("lead_admin").get(f"/review/contributions/{world.contribution_a1}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Supporting documents" in page
    assert "Virus found" in page and "has been removed. A clean copy needs to be uploaded." in page
    assert download_path(world, attachment_id) not in page


def db_rows(app, contribution_id: int) -> list[Attachment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment).where(Attachment.contribution_id == contribution_id)))
        db.session.expunge_all()
        return rows


def notified(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Notification.user_id).where(Notification.kind == "virus_found")))


def test_the_uploader_and_the_csp_are_told_once_each(app, world, clamd, folders):
    attachment_id = add(app, world, infected_pdf())
    scan(app, attachment_id)
    people = notified(app)
    assert world.users["csp_manager"] in people
    assert len(people) == len(set(people))


# --- a clean document --------------------------------------------------------------------------------


def test_a_clean_document_is_released_and_checking_it_again_changes_nothing(app, world, signed_in, clamd, folders):
    uploads, quarantine = folders
    data = samples.pdf("A clean problem profile")
    attachment_id = add(app, world, data)
    client = signed_in("csp_contributor")
    assert client.get(download_path(world, attachment_id)).status_code == 409

    assert scan(app, attachment_id) == ScanStatus.CLEAN
    assert scan(app, attachment_id) == ScanStatus.CLEAN

    document = row(app, attachment_id)
    assert document.scan_status == ScanStatus.CLEAN and document.scan_result is None
    response = client.get(download_path(world, attachment_id))
    assert response.status_code == 200 and response.get_data() == data
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert download_path(world, attachment_id) in page
    assert "Being checked" not in page and "Virus found" not in page
    assert "not checked for viruses" not in page.lower()
    assert names(uploads) == [document.stored_name] and names(quarantine) == []
    assert count(app, AuditEvent, AuditEvent.action.like("contribution.document_%")) == 1  # the upload


def test_a_document_larger_than_the_scanner_accepts_is_not_released(app, world, signed_in, clamd, folders):
    big = samples.pdf() + b"%" + b"x" * (CLAMD_STREAM_MAX + 1024) + b"\n"
    attachment_id = add(app, world, big)

    assert scan(app, attachment_id) == ScanStatus.FAILED

    document = row(app, attachment_id)
    assert document.scan_status == ScanStatus.FAILED
    client = signed_in("csp_manager")
    response = client.get(download_path(world, attachment_id))
    assert response.status_code == 409
    assert "could not be checked for viruses" in response.get_data(as_text=True)
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "Could not be checked" in page and "Upload a smaller copy." in page
    assert count(app, AuditEvent, AuditEvent.action == "contribution.document_not_checked") == 1


# --- when the scanner is down, or not there at all ---------------------------------------------------


def test_a_scanner_that_is_down_leaves_the_document_waiting(app, world, clamd, folders, monkeypatch, tmp_path):
    uploads, _ = folders
    attachment_id = add(app, world, samples.pdf())
    monkeypatch.setitem(app.config, "CLAMD_URL", f"unix://{tmp_path}/down.sock")

    with pytest.raises(scanning.ScannerError):
        scan(app, attachment_id)
    assert queued_names() == ["scanning.scan_document"]
    assert run_queued(app) == 1  # the task fails: the queue will try again later

    assert row(app, attachment_id).scan_status == ScanStatus.PENDING
    assert len(names(uploads)) == 1
    with app.app_context():
        assert scanning.documents_awaiting_scan() == [attachment_id]

    monkeypatch.setitem(app.config, "CLAMD_URL", None)  # configured away meanwhile: still not marked clean
    with pytest.raises(scanning.ScannerError, match="No virus scanner"):
        scan(app, attachment_id)
    assert row(app, attachment_id).scan_status == ScanStatus.PENDING

    monkeypatch.setitem(app.config, "CLAMD_URL", clamd.url)  # back: the queue's next try finds it clean
    assert scan(app, attachment_id) == ScanStatus.CLEAN
    with app.app_context():
        assert scanning.documents_awaiting_scan() == []


def test_documents_awaiting_their_check_are_listed_oldest_first(app, world, clamd, folders):
    first = add(app, world, samples.pdf("one"))
    second = add(app, world, samples.pdf("two"), contribution_id=world.contribution_a2)
    third = add(app, world, samples.pdf("three"))
    scan(app, second)
    with app.app_context():
        assert scanning.documents_awaiting_scan() == [first, third]
        assert scanning.documents_awaiting_scan(limit=1) == [first]


def test_a_document_deleted_before_its_check_is_nothing_to_do(app, world, clamd, folders):
    attachment_id = add(app, world, infected_pdf())
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        actor = db.session.get(User, world.users["csp_manager"])
        service.delete_document(actor, contribution, db.session.get(Attachment, attachment_id))
        db.session.commit()
    assert scan(app, attachment_id) is None


def test_with_no_scanner_documents_are_not_checked_and_the_page_says_so(app, world, signed_in, folders):
    assert app.config["CLAMD_URL"] is None
    data = samples.pdf()
    attachment_id = add(app, world, data)
    assert row(app, attachment_id).scan_status == ScanStatus.NOT_SCANNED
    with app.app_context():
        assert scanning.documents_awaiting_scan() == []
    assert scan(app, attachment_id) == ScanStatus.NOT_SCANNED  # left alone

    for who in ("csp_manager", "lead_admin"):
        client = signed_in(who)
        page = client.get(documents_path(world)).get_data(as_text=True)
        assert "Files are not checked for viruses on this service" in page
        assert "Being checked" not in page
        response = client.get(download_path(world, attachment_id))
        assert response.status_code == 200 and response.get_data() == data


def test_a_document_from_before_the_scanner_is_tagged_and_checked_on_request(app, world, signed_in, clamd, folders,
                                                                             monkeypatch):
    from app.cli import documents_scan

    monkeypatch.setitem(app.config, "CLAMD_URL", None)
    old = add(app, world, infected_pdf(), "Old file.pdf")
    monkeypatch.setitem(app.config, "CLAMD_URL", clamd.url)
    client = signed_in("csp_manager")
    page = client.get(documents_path(world)).get_data(as_text=True)
    assert "Not checked for viruses" in page
    assert "Files are not checked for viruses on this service" not in page
    assert client.get(download_path(world, old)).status_code == 200  # as before the scanner

    result = app.test_cli_runner().invoke(documents_scan, ["--unchecked"])

    assert result.exit_code == 0, result.output
    assert "1 documents not checked before are now waiting" in result.output
    assert "1 virus found" in result.output
    assert row(app, old).scan_status == ScanStatus.INFECTED
    assert client.get(download_path(world, old)).status_code == 410


# --- the ZIP and the readiness checklist -------------------------------------------------------------


def _accept_both(app, world) -> None:
    from tests.test_consolidation import A1_LINES, A2_LINES, add_lines, set_status

    add_lines(app, world.contribution_a1, A1_LINES)
    add_lines(app, world.contribution_a2, A2_LINES)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)


def _zip(app, world) -> tuple[zipfile.ZipFile, list[dict]]:
    with app.app_context():
        data = render(bid_content(db.session.get(Round, world.round_a)), "zip")
    zf = zipfile.ZipFile(io.BytesIO(data))
    (manifest,) = [n for n in zf.namelist() if n.endswith("/manifest.csv")]
    return zf, list(csv.DictReader(io.StringIO(zf.read(manifest).decode("utf-8-sig"))))


def _documents_check(app, world):
    with app.test_request_context():
        check = consolidation.readiness(db.session.get(Round, world.round_a))
        return next(item for item in check.items if item.key == "documents")


def test_the_zip_holds_only_clean_files_and_its_manifest_says_what_was_left_out(app, world, clamd, folders):
    clean = samples.pdf("Clean letter of support")
    clean_id = add(app, world, clean, "Letter of support.pdf")
    infected_id = add(app, world, infected_pdf(), "Problem profile.pdf")
    add(app, world, samples.pdf("Still waiting"), "Evaluation.pdf", contribution_id=world.contribution_a2)
    scan(app, clean_id)
    scan(app, infected_id)
    _accept_both(app, world)

    zf, manifest = _zip(app, world)

    documents = [n for n in zf.namelist() if "/Supporting documents/" in n]
    assert [n.rsplit("/", 1)[1] for n in documents] == ["Letter of support.pdf"]
    assert zf.read(documents[0]) == clean
    left_out = {r["What it is"]: r for r in manifest if not r["Path in the ZIP"]}
    assert set(left_out) == {
        "Supporting document Problem profile.pdf – left out: contained a virus",
        "Supporting document Evaluation.pdf – left out: being checked for viruses",
    }
    (sums,) = [n for n in zf.namelist() if n.endswith("/SHA256SUMS")]
    assert "Problem profile.pdf" not in zf.read(sums).decode()

    check = _documents_check(app, world)
    assert not check.ok
    assert any("Problem profile.pdf contained a virus" in p for p in check.problems)
    assert any("Evaluation.pdf is still being checked for viruses" in p for p in check.problems)
    assert not any("Letter of support.pdf" in p for p in check.problems)


def test_the_word_and_pdf_exports_say_which_documents_are_not_in_the_zip(app, world, clamd, folders):
    from docx import Document
    from pypdf import PdfReader

    clean_id = add(app, world, samples.pdf("Clean letter of support"), "Letter of support.pdf")
    infected_id = add(app, world, infected_pdf(), "Problem profile.pdf")
    scan(app, clean_id)
    scan(app, infected_id)
    _accept_both(app, world)
    with app.app_context():
        content = bid_content(db.session.get(Round, world.round_a))
        word, pdf = render(content, "docx"), render(content, "pdf")
    rows = [[c.text for c in r.cells] for t in Document(io.BytesIO(word)).tables for r in t.rows]
    (infected_row,) = [r for r in rows if "Problem profile.pdf" in r]
    assert "Not included: contained a virus" in infected_row
    (clean_row,) = [r for r in rows if "Letter of support.pdf" in r]
    assert not any("Not included" in cell for cell in clean_row)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Problem profile.pdf Not included: contained a virus" in text


def test_without_a_scanner_the_zip_holds_every_document(app, world, folders):
    data = samples.pdf("Never checked")
    add(app, world, data, "Letter of support.pdf")
    _accept_both(app, world)

    zf, manifest = _zip(app, world)

    (name,) = [n for n in zf.namelist() if n.endswith("/Letter of support.pdf")]
    assert zf.read(name) == data
    assert all(r["Path in the ZIP"] for r in manifest)
    assert not any("virus" in p for p in _documents_check(app, world).problems)


def test_the_export_fingerprint_changes_when_a_check_finishes(app, world, clamd, folders):
    from app.services.exports.content import bid_fingerprint

    attachment_id = add(app, world, samples.pdf())
    _accept_both(app, world)
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        before = bid_fingerprint(rnd, consolidation.find_bid(rnd)), bid_content(rnd).hashed().content_hash
    scan(app, attachment_id)
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        after = bid_fingerprint(rnd, consolidation.find_bid(rnd)), bid_content(rnd).hashed().content_hash
    assert before[0] != after[0] and before[1] != after[1]


# --- object storage -----------------------------------------------------------------------------------


@pytest.mark.skipif(S3_TESTS, reason="every test here runs on S3 with TEST_STORAGE=s3")
def test_on_s3_the_file_is_scanned_from_the_bucket_and_quarantined_there(app, world, clamd, s3):
    attachment_id = add(app, world, infected_pdf())
    stored_name = row(app, attachment_id).stored_name

    assert scan(app, attachment_id) == ScanStatus.INFECTED

    keys = [o["Key"] for o in s3.client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])]
    assert keys == [f"{s3.prefix}quarantine/{stored_name}"]
    head = s3.client.head_object(Bucket=s3.bucket, Key=keys[0])
    assert head["ServerSideEncryption"] == "AES256"


# --- the task queue -----------------------------------------------------------------------------------


def test_with_no_scanner_no_check_is_queued(app, world, signed_in, folders):
    assert upload(signed_in("csp_manager"), world, samples.pdf(), "Problem profile.pdf").status_code == 302
    assert queued_names() == []


def test_a_refused_upload_queues_no_check(app, world, signed_in, clamd, folders):
    response = upload(signed_in("csp_manager"), world, samples.exe(), "Problem profile.pdf")
    assert response.status_code == 400
    assert queued_names() == []


def test_the_sweep_queues_again_the_checks_still_waiting_after_a_while(app, world, clamd, folders):
    from datetime import timedelta

    from app.jobs import run_periodic
    from app.jobs.scanning import SWEEP_AFTER
    from app.models.base import utcnow
    from tests.jobs import forget_queued

    old = add(app, world, samples.pdf("Waiting since the queue lost it"))
    new = add(app, world, samples.pdf("Just uploaded"))
    forget_queued()  # the tasks the uploads queued are lost
    with app.app_context():
        db.session.get(Attachment, old).uploaded_at = utcnow() - SWEEP_AFTER - timedelta(minutes=1)
        db.session.commit()
        assert run_periodic("documents.scan_sweep") == "1 documents queued again for their virus check"
    assert queued_names() == ["scanning.scan_document"]
    run_queued(app)
    assert row(app, old).scan_status == ScanStatus.CLEAN
    assert row(app, new).scan_status == ScanStatus.PENDING


def test_metrics_count_the_documents_waiting_for_their_check(app, world, client, clamd, folders):
    from datetime import timedelta

    from app.models.base import utcnow
    from tests.test_ops import scrape, value

    assert value(scrape(client), "partnership_bid_documents_awaiting_virus_check") == 0
    waiting = add(app, world, samples.pdf("one"))
    add(app, world, samples.pdf("two"))
    with app.app_context():
        db.session.get(Attachment, waiting).uploaded_at = utcnow() - timedelta(minutes=20)
        db.session.commit()
    families = scrape(client)
    assert value(families, "partnership_bid_documents_awaiting_virus_check") == 2
    assert 1200 <= value(families, "partnership_bid_virus_check_oldest_age_seconds") < 1800
