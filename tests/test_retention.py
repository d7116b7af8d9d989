"""Retention (app/services/retention.py, `flask retention run`): what goes, what stays, on the local
folders and on an S3-compatible store (moto's S3 server on loopback), run twice and at once."""

from __future__ import annotations

import html
import os
import re
import secrets
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.sql.dml import Update

from app.extensions import db
from app.models import (
    AccountToken,
    Attachment,
    AuditEvent,
    ExportRecord,
    ExportStatus,
    Notification,
    PendingDraft,
    Round,
    RoundFunderForm,
    TokenPurpose,
    UserSession,
)
from app.models.base import utcnow
from app.services import retention
from app.services.consolidation import get_or_create_bid
from app.services.funder_form import PENDING_MAX_AGE
from app.storage import Listed, S3Storage, local_storage, storage
from tests.test_exports import (
    accepted,  # noqa: F401 - a fixture
    create,
    created_id,
    prepare,
)

DAY = 24  # hours
YEAR = 365 * DAY


@pytest.fixture(autouse=True)
def own_folders(app, tmp_path, monkeypatch):
    """This test's own folders: a run looks at every file there."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))


@pytest.fixture(params=["local", "s3"])
def files(request, app, monkeypatch):
    """This test's own storage on each backend, with `put(key, hours_old=...)` to store a file as if it
    had been stored that long ago (the local file's time; on S3, as the bucket's listing says)."""
    ages: dict[str, float] = {}
    if request.param == "s3":
        request.getfixturevalue("s3")
        listing = S3Storage.listing
        monkeypatch.setattr(S3Storage, "listing", lambda self, prefix: [
            Listed(i.key, i.size, i.modified - ages.get(i.key, 0)) for i in listing(self, prefix)
        ])
    else:
        monkeypatch.setitem(app.config, "STORAGE_BACKEND", "local")

    def put(key: str, hours_old: float = 0) -> str:
        with app.app_context():
            storage().put(key, b"content of " + key.encode())
            if hours_old and request.param == "local":
                then = time.time() - hours_old * 3600
                os.utime(local_storage().path(key), (then, then))
            ages[key] = hours_old * 3600
        return key

    def exists(key: str) -> bool:
        with app.app_context():
            return storage().exists(key)

    return SimpleNamespace(put=put, exists=exists, backend=request.param)


def name() -> str:
    return secrets.token_hex(16)


def add(app, *rows) -> list[int]:
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def export_row(world, *, days_old: float, signed_off=False, status="Draft", round_id=None, contribution_id=None,
               stored_name=None, export_status=ExportStatus.READY):
    made = utcnow() - timedelta(days=days_old)
    return ExportRecord(
        lead_bidder_id=world.lead_b if round_id == world.round_b else world.lead_a,
        round_id=round_id or world.round_a, contribution_id=contribution_id, format="docx",
        status=export_status, content_status=status, signed_off=signed_off, stored_name=stored_name,
        filename="Bid.docx", size_bytes=10, file_sha256="0" * 64, content_hash="a" * 64,
        created_at=made, finished_at=made,
    )


def end_round_b(app, world, *, deadline_years: float, submitted_years: float | None = None,
                outcome_years: float | None = None) -> None:
    """Round B's funder's deadline, submission and funder's decision that many years ago."""
    now = utcnow()
    with app.app_context():
        rnd = db.session.get(Round, world.round_b)
        rnd.funder_deadline = now - timedelta(days=365 * deadline_years)
        rnd.internal_deadline = rnd.funder_deadline - timedelta(days=14)
        rnd.outcome_on = None if outcome_years is None else now - timedelta(days=365 * outcome_years)
        bid = get_or_create_bid(rnd)
        bid.submitted_at = None if submitted_years is None else now - timedelta(days=365 * submitted_years)
        db.session.commit()


@pytest.fixture
def kept_and_gone(app, world, files):
    """Files and rows of every kind, old and new, named and not: `kept` must survive a run and
    `gone` must not. Round A ends in four weeks; round B's funder's deadline was eight years ago."""
    end_round_b(app, world, deadline_years=8, submitted_years=8)
    now = utcnow()
    kept, gone = SimpleNamespace(), SimpleNamespace()

    # Supporting documents and the funder's form: named, so kept however old.
    document, form = name(), name()
    files.put(f"uploads/{document}", hours_old=400 * DAY)
    files.put(f"uploads/{form}", hours_old=400 * DAY)
    add(app,
        Attachment(contribution_id=world.contribution_a1, filename="Profile.pdf", stored_name=document,
                   content_type="application/pdf", size_bytes=10, sha256="0" * 64),
        RoundFunderForm(lead_bidder_id=world.lead_a, round_id=world.round_a, filename="Form.docx",
                        stored_name=form, size_bytes=10, sha256="0" * 64))
    kept.uploads = {f"uploads/{document}", f"uploads/{form}"}
    # Stored files no record names: old ones go, young ones (a request may be about to commit their
    # record) and files the app did not name stay.
    gone.uploads = {files.put(f"uploads/{name()}", hours_old=25), files.put(f"uploads/{name()}", hours_old=400 * DAY)}
    kept.uploads |= {files.put(f"uploads/{name()}", hours_old=23), files.put("uploads/README.txt", hours_old=400 * DAY)}
    # Pending funder's forms: past PENDING_MAX_AGE they go.
    gone.pending = {files.put(f"uploads/pending/{name()}", hours_old=PENDING_MAX_AGE / 3600 + 1)}
    kept.pending = {files.put(f"uploads/pending/{name()}", hours_old=1)}

    # Exports, each with its file.
    def export(key: str, **values) -> int:
        stored = f"{name()}.docx"
        files.put(f"exports/{stored}", hours_old=values["days_old"] * DAY)
        (export_id,) = add(app, export_row(world, stored_name=stored, **values))
        exports[key] = (export_id, f"exports/{stored}")
        return export_id

    exports: dict[str, tuple[int, str]] = {}
    export("draft_31_days", days_old=31)
    export("contribution_31_days", days_old=31, contribution_id=world.contribution_a1, status="Accepted")
    export("signed_off_round_b", days_old=8 * 365, signed_off=True, status="Signed off", round_id=world.round_b)
    export("submitted_round_b", days_old=8 * 365, signed_off=True, status="Submitted to the funder",
           round_id=world.round_b)
    export("draft_29_days", days_old=29)
    export("signed_off_400_days", days_old=400, signed_off=True, status="Signed off")
    export("submitted_400_days", days_old=400, signed_off=True, status="Submitted to the funder")
    gone.exports = {"draft_31_days", "contribution_31_days", "signed_off_round_b", "submitted_round_b"}
    kept.exports = {"draft_29_days", "signed_off_400_days", "submitted_400_days"}
    (failed,) = add(app, export_row(world, days_old=40, export_status=ExportStatus.FAILED))
    kept.failed = failed
    gone.export_files = {exports[k][1] for k in gone.exports}
    kept.export_files = {exports[k][1] for k in kept.exports}
    gone.export_files.add(files.put(f"exports/{name()}.pdf", hours_old=48))  # no record names it
    kept.export_files.add(files.put(f"exports/{name()}.pdf", hours_old=2))  # too young to tell
    kept.exports_by_key, kept.now = exports, now

    # Notifications: read long ago goes; read lately, unread, or waiting for a daily summary stays.
    user = world.users["csp_manager"]

    def notification(created_days: float, read_days: float | None, **values) -> Notification:
        return Notification(
            lead_bidder_id=world.lead_a, user_id=user, kind="comment", summary="A comment", link="/home",
            event_key=f"test:{name()}", created_at=now - timedelta(days=created_days),
            read_at=None if read_days is None else now - timedelta(days=read_days), **values)

    before = {model: ids(app, model) for model in (Notification, UserSession, AccountToken, PendingDraft)}
    gone.notifications = set(add(app, notification(100, 91), notification(400, 300, email_via="digest",
                                                                          emailed_at=now - timedelta(days=399))))
    kept.notifications = before[Notification] | set(add(  # with the world's own, unread
        app, notification(100, 89), notification(400, None), notification(10, 9),
        notification(100, 91, email_via="digest")))

    # Sessions idle past SESSION_IDLE_MINUTES, expired links and week-old kept forms go.
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])

    def session(last_seen) -> UserSession:
        return UserSession(token_hash=name() * 2, user_id=user, created_at=last_seen, last_seen_at=last_seen)

    def link(expires) -> AccountToken:
        return AccountToken(purpose=TokenPurpose.PASSWORD_RESET, token_hash=name() * 2, user_id=user,
                            created_at=expires - timedelta(hours=1), expires_at=expires)

    def draft(days: float) -> PendingDraft:
        return PendingDraft(token_hash=name() * 2, user_id=user, path="/x", form_data={},
                            created_at=now - timedelta(days=days))

    gone.sessions = set(add(app, session(now - idle - timedelta(minutes=1))))
    kept.sessions = before[UserSession] | set(add(app, session(now - idle + timedelta(minutes=5))))
    gone.links = set(add(app, link(now - timedelta(minutes=1))))
    kept.links = before[AccountToken] | set(add(app, link(now + timedelta(minutes=30))))
    gone.drafts = set(add(app, draft(8)))
    kept.drafts = before[PendingDraft] | set(add(app, draft(6)))
    return SimpleNamespace(kept=kept, gone=gone)


def ids(app, model) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(select(model.id)))


def exports_by_id(app) -> dict[int, ExportRecord]:
    with app.app_context():
        found = {e.id: e for e in db.session.scalars(select(ExportRecord))}
        db.session.expunge_all()
        return found


def test_a_run_removes_exactly_what_has_been_kept_long_enough(app, world, files, kept_and_gone):
    kept, gone = kept_and_gone.kept, kept_and_gone.gone
    with app.app_context():
        report = retention.run_retention()
    assert report.errors == [] and report.notes == []
    assert report.counts() == {
        "export_files": 4, "orphaned_uploads": 2, "orphaned_exports": 1, "pending_forms": 1,
        "notifications": 2, "sessions": 1, "links": 1, "drafts": 1, "job_runs": 0, "quarantined": 0,
    }

    for key in kept.uploads | kept.pending | kept.export_files:
        assert files.exists(key), key
    for key in gone.uploads | gone.pending | gone.export_files:
        assert not files.exists(key), key

    # The records of removed exports stay, saying so; the others are as they were.
    found = exports_by_id(app)
    for key in gone.exports:
        export = found[kept.exports_by_key[key][0]]
        assert export.status == ExportStatus.REMOVED and export.stored_name is None, key
        assert export.file_removed_at is not None and export.file_sha256 == "0" * 64
    for key in kept.exports:
        export = found[kept.exports_by_key[key][0]]
        assert export.status == ExportStatus.READY and export.stored_name and export.file_removed_at is None, key
    assert found[kept.failed].status == ExportStatus.FAILED

    assert ids(app, Notification) == kept.notifications
    assert ids(app, UserSession) == kept.sessions
    assert ids(app, AccountToken) == kept.links
    assert ids(app, PendingDraft) == kept.drafts

    # Each removed file is in its lead bidder's activity.
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.object_id, AuditEvent.lead_bidder_id, AuditEvent.summary)
            .where(AuditEvent.action == "export.file_removed")
        ).all()
    by_export = {e.object_id: e for e in events}
    assert set(by_export) == {kept.exports_by_key[key][0] for key in gone.exports}
    draft = by_export[kept.exports_by_key["draft_31_days"][0]]
    assert draft.lead_bidder_id == world.lead_a and "export files are kept for 30 days" in draft.summary
    old = by_export[kept.exports_by_key["signed_off_round_b"][0]]
    assert old.lead_bidder_id == world.lead_b and "kept for 7 years after the round ends" in old.summary

    # A second run finds nothing to do.
    with app.app_context():
        again = retention.run_retention()
    assert again.total == 0 and again.errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "export.file_removed")) == 4


def test_a_dry_run_counts_the_same_and_changes_nothing(app, world, files, kept_and_gone):
    before = {model: ids(app, model) for model in (Notification, UserSession, AccountToken, PendingDraft)}
    with app.app_context():
        report = retention.run_retention(dry_run=True)
    assert report.counts() == {
        "export_files": 4, "orphaned_uploads": 2, "orphaned_exports": 1, "pending_forms": 1,
        "notifications": 2, "sessions": 1, "links": 1, "drafts": 1, "job_runs": 0, "quarantined": 0,
    }
    assert str(report).startswith("would remove 4 export files, 2 stored uploads")
    for key in kept_and_gone.gone.uploads | kept_and_gone.gone.pending | kept_and_gone.gone.export_files:
        assert files.exists(key), key
    assert {model: ids(app, model) for model in before} == before
    assert all(e.status != ExportStatus.REMOVED for e in exports_by_id(app).values())


def test_a_run_that_loses_the_race_finds_nothing_left(app, world, files, kept_and_gone):
    """Another run marks and removes the same exports between this run's look-up and its update: this
    run's update then matches nothing, and it removes and counts nothing twice."""
    real_execute = db.session.execute
    other = {}

    def execute(statement, *args, **kwargs):
        if isinstance(statement, Update) and statement.table.name == "export_record" and not other:
            other["started"] = True
            with app.app_context():  # another run, in its own session, finishes first
                other["report"] = retention.run_retention()
        return real_execute(statement, *args, **kwargs)

    with app.app_context(), pytest.MonkeyPatch.context() as patch:
        patch.setattr(db.session, "execute", execute)
        report = retention.run_retention()
    assert other["report"].export_files == 4
    assert report.export_files == 0 and report.errors == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "export.file_removed")) == 4


def test_rows_go_a_batch_at_a_time(app, world, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    now = utcnow()
    mine = add(app, *[
        Notification(lead_bidder_id=world.lead_a, user_id=world.users["csp_manager"], kind="comment", summary="s",
                     link="/home", event_key=f"batch:{n}", created_at=now - timedelta(days=200),
                     read_at=now - timedelta(days=100))
        for n in range(5)
    ])
    with app.app_context():
        assert retention.run_retention().notifications == 5
    assert ids(app, Notification).isdisjoint(mine)


def test_an_export_being_prepared_then_removed_keeps_its_file_until_its_record_is_cleared(app, world, files):
    """A run that stopped after marking an export (the file still there, the name not cleared) is
    finished by the next run; until then the file counts as named, never as an orphan."""
    stored = f"{name()}.docx"
    files.put(f"exports/{stored}", hours_old=40 * DAY)
    (export_id,) = add(app, export_row(world, days_old=40, stored_name=stored, export_status=ExportStatus.REMOVED))
    with app.app_context():
        report = retention.run_retention()
    assert report.export_files == 1 and report.orphaned_exports == 0
    assert not files.exists(f"exports/{stored}")
    assert exports_by_id(app)[export_id].stored_name is None


@pytest.mark.parametrize("deadline, submitted, outcome, removed", [
    (8, None, None, True),  # ended eight years ago
    (8, 8, 8, True),
    (6, None, None, False),  # the funder's deadline six years ago
    (8, 6.5, None, False),  # went to the funder late, six and a half years ago
    (8, 8, 6, False),  # the funder's decision six years ago
])
def test_a_signed_off_bids_exports_are_kept_for_years_after_the_rounds_end(app, world, deadline, submitted,
                                                                             outcome, removed):
    end_round_b(app, world, deadline_years=deadline, submitted_years=submitted, outcome_years=outcome)
    (signed,) = add(app, export_row(world, days_old=9 * 365, signed_off=True, status="Signed off",
                                    round_id=world.round_b, stored_name=f"{name()}.docx"))
    with app.app_context():
        retention.run_retention()
    assert (exports_by_id(app)[signed].status == ExportStatus.REMOVED) is removed


def test_zero_keeps_export_files_and_notifications_for_ever(app, world, monkeypatch):
    end_round_b(app, world, deadline_years=20)
    monkeypatch.setitem(app.config, "ROUND_RETENTION_YEARS", 0)
    (signed, draft) = add(app, export_row(world, days_old=20 * 365, signed_off=True, status="Signed off",
                                          round_id=world.round_b, stored_name=f"{name()}.docx"),
                          export_row(world, days_old=40, stored_name=f"{name()}.docx"))
    with app.app_context():
        retention.run_retention()
    found = exports_by_id(app)
    assert found[signed].status == ExportStatus.READY and found[draft].status == ExportStatus.REMOVED

    monkeypatch.setitem(app.config, "EXPORT_RETENTION_DAYS", 0)
    monkeypatch.setitem(app.config, "NOTIFICATION_RETENTION_DAYS", 0)
    (old,) = add(app, export_row(world, days_old=400, stored_name=f"{name()}.docx"))
    add(app, Notification(lead_bidder_id=world.lead_a, user_id=world.users["csp_manager"], kind="comment",
                          summary="s", link="/home", event_key="old", created_at=utcnow() - timedelta(days=900),
                          read_at=utcnow() - timedelta(days=800)))
    with app.app_context():
        report = retention.run_retention()
    assert report.export_files == 0 and report.notifications == 0
    assert exports_by_id(app)[old].status == ExportStatus.READY


def test_orphans_are_left_alone_when_the_database_names_no_file(app, world, files):
    """Pointed at an empty database by mistake, a run must not empty the storage."""
    orphan = files.put(f"uploads/{name()}", hours_old=400 * DAY)
    with app.app_context():
        report = retention.run_retention()
    assert files.exists(orphan)
    assert report.orphaned_uploads == 0 and "the database names no file at all" in report.notes[0]


# --- what people see ------------------------------------------------------------------------------


def page_text(response) -> str:
    """The page's words as a browser shows them (no tags, white space run together)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split()).replace(" .", ".")


def test_a_removed_exports_page_says_so_and_its_download_link_does_not_fail(app, accepted, signed_in):  # noqa: F811
    client = signed_in("lead_staff")
    export_id = created_id(create(client, f"/rounds/{accepted.round_a}/exports", "csv"))
    prepare(client, export_id)
    with app.app_context():
        db.session.execute(update(ExportRecord).values(created_at=utcnow() - timedelta(days=31, hours=2)))
        db.session.commit()
        key = f"exports/{db.session.get(ExportRecord, export_id).stored_name}"
        assert retention.run_retention().export_files == 1
        assert not storage().exists(key)

    download = client.get(f"/exports/{export_id}/download")
    assert download.status_code == 302 and download.headers["Location"] == f"/exports/{export_id}"
    page = page_text(client.get(f"/exports/{export_id}"))
    assert "This file has been removed" in page
    assert "This file was removed after 31 days – export the bid again." in page
    assert f'href="/rounds/{accepted.round_a}/exports" data-export-focus>export the bid again' in html.unescape(
        client.get(f"/exports/{export_id}").get_data(as_text=True))
    status = client.get(f"/exports/{export_id}/status", headers={"Accept": "application/json"}).get_json()
    assert status["state"] == "removed" and "download_url" not in status

    history = page_text(client.get(f"/rounds/{accepted.round_a}/exports"))
    assert "File removed" in history and f"/exports/{export_id}/download" not in history

    viewer = signed_in("viewer")
    page = page_text(viewer.get(f"/exports/{export_id}"))
    assert "ask someone who can create exports to export the bid again" in page


def test_a_file_that_cannot_be_removed_is_reported_and_removed_by_the_next_run(app, world, files, monkeypatch):
    stored = f"{name()}.docx"
    files.put(f"exports/{stored}", hours_old=40 * DAY)
    (export_id,) = add(app, export_row(world, days_old=40, stored_name=stored))
    real_delete = type(storage_of(app)).delete

    def refuse(self, key):
        raise OSError("the store said no")

    monkeypatch.setattr(type(storage_of(app)), "delete", refuse)
    with app.app_context():
        report = retention.run_retention()
    assert report.export_files == 0 and report.errors == [f"export {export_id}: OSError: the store said no"]
    assert files.exists(f"exports/{stored}")
    export = exports_by_id(app)[export_id]
    assert export.status == ExportStatus.REMOVED and export.stored_name == stored  # still names its file

    monkeypatch.setattr(type(storage_of(app)), "delete", real_delete)
    with app.app_context():
        assert retention.run_retention().export_files == 1
    assert not files.exists(f"exports/{stored}") and exports_by_id(app)[export_id].stored_name is None


def storage_of(app):
    with app.app_context():
        return storage()


def test_the_job_queue_runs_retention_once_an_hour(app, world):
    from app.jobs import PERIODIC, huey, period_start, run_periodic

    assert PERIODIC["retention"].every == timedelta(hours=1)
    assert "retention" in {task.name for task in huey._registry.periodic_tasks}
    stored = f"{name()}.docx"
    (export_id,) = add(app, export_row(world, days_old=31, stored_name=stored))
    now = period_start(timedelta(hours=1), utcnow()) + timedelta(minutes=1)  # early in an hour
    with app.app_context():
        assert run_periodic("retention", now=now) == "removed 1 export file"
        assert run_periodic("retention", now=now + timedelta(minutes=30)) is None  # run this hour already
    assert exports_by_id(app)[export_id].status == ExportStatus.REMOVED


def test_the_records_of_periodic_jobs_runs_go_after_a_month_and_the_latest_stay(app, world):
    from app.jobs import run_periodic
    from app.models import JobRun

    now = utcnow()
    with app.app_context():
        for days in (40, 31, 29, 0):  # the recovery job's runs, on four days
            assert run_periodic("jobs.recover", now=now - timedelta(days=days)) is not None
        db.session.execute(update(JobRun).values(started_at=JobRun.period_start))
        db.session.commit()
        report = retention.run_retention(now=now)
        assert report.job_runs == 2
        kept = sorted(r.period_start for r in db.session.scalars(select(JobRun).where(JobRun.job == "jobs.recover")))
        assert len(kept) == 2 and kept[0] > now - timedelta(days=30)


def test_files_that_contained_a_virus_go_after_their_time_in_quarantine(app, world, files, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "QUARANTINE_FOLDER", str(tmp_path / "quarantine"))
    long_ago = files.put(f"quarantine/{name()}", hours_old=91 * DAY)
    lately = files.put(f"quarantine/{name()}", hours_old=89 * DAY)
    with app.app_context():
        report = retention.run_retention()
    assert report.quarantined == 1
    assert not files.exists(long_ago) and files.exists(lately)
    monkeypatch.setitem(app.config, "QUARANTINE_RETENTION_DAYS", 0)  # kept for ever
    files.put(f"quarantine/{name()}", hours_old=400 * DAY)
    with app.app_context():
        assert retention.run_retention().quarantined == 0
