"""Retention: what the service stops keeping, and when (`run_retention()`; `flask retention run`;
the periodic job in app/jobs/retention.py).

What goes:

- **Export files**, EXPORT_RETENTION_DAYS (30) after the export was made. The ExportRecord stays as
  the history of what was exported (who, when, which version, the bid's status then), with the status
  "removed" and `file_removed_at`; its page says the file was removed and offers to export again.
  The files of exports of a signed-off bid, or of a bid submitted to the funder (`signed_off`, or
  `content_status` "Submitted to the funder"), are kept until ROUND_RETENTION_YEARS (7) after the
  round's end: the latest of the funder's deadline, the day the bid went to the funder and the day
  the funder's decision was recorded (a date moved later keeps them longer). 0 keeps them for ever.
- **Orphaned files**: an object "uploads/<name>" or "exports/<name>" (a name the app makes: 32 hex
  digits, and an extension for exports) that no supporting document, funder's form or export names,
  once it is ORPHAN_GRACE_HOURS (24) old: a file is stored before the row that names it is
  committed, so a younger one may be a request's upload still on its way. Nothing else in the
  storage is touched. When the database names no file at all (a wrong DATABASE_URL?) orphans are
  left alone and the run says so.
- **Pending funder's forms** ("uploads/pending/<name>", app/services/funder_form.py) older than
  PENDING_MAX_AGE: their signed reference has expired with them, so nothing can use them.
- **Notifications** read more than NOTIFICATION_RETENTION_DAYS (90) ago; unread ones, and read ones
  still waiting for their daily summary, are kept.
- **Sign-in sessions** idle for longer than SESSION_IDLE_MINUTES (they can no longer be used),
  **invitation, password reset and sign-in links** past their expiry, and **forms kept when a
  session ended** (PendingDraft) older than DRAFT_DAYS.
- **Records of periodic jobs' runs** (JobRun, app/jobs) older than JOB_RUN_RETENTION_DAYS (30): about
  two thousand a day; the latest run of each job is what `flask jobs status` and /metrics show.
- **Files that contained a virus** ("quarantine/<name>") QUARANTINE_RETENTION_DAYS (90) after they were
  quarantined; the document's record stays.

Kept for ever: audit events (append-only), outbox emails (their idempotency keys are what stops an
email being queued twice), reminders (the same for reminders), everything else in a round.

Safe twice and at once: every step is set-based, a batch (BATCH rows) at a time, each batch its own
commit, and every statement says again what it may remove, so a second run (or one running at the
same moment) finds nothing left to do. An export's file goes in three steps: the record is marked
"removed" (UPDATE ... WHERE still removable RETURNING: only the run that marks it continues with it)
and committed, then the file is deleted, then the record's stored name is cleared; a run that stops
in between leaves a record the next run finishes. Files are deleted only after the commit that
stops a record naming them, never while one does. Two runs deleting orphans at the same moment may
both count the same file.

`run_retention` commits its own steps (like the outbox worker) and returns a RetentionReport with a
count per kind; `dry_run=True` counts what would go and changes nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, update

from app.dates import govuk_date
from app.extensions import db
from app.models import (
    AccountToken,
    Attachment,
    BidStatus,
    CollectiveBid,
    ExportRecord,
    ExportStatus,
    JobRun,
    Notification,
    PendingDraft,
    Round,
    RoundFunderForm,
    UserSession,
)
from app.models.base import utcnow
from app.models.draft import DRAFT_DAYS
from app.services.audit import record_many
from app.services.notifications import EMAIL_IN_DIGEST
from app.storage import Listed, storage
from app.tenancy import unscoped

log = logging.getLogger(__name__)

BATCH = 500  # rows per statement and commit; names per look-up
# The names the app gives stored files (app/services/documents.py, exports and funder_form.py).
UPLOAD_NAME = re.compile(r"[0-9a-f]{32}")
EXPORT_NAME = re.compile(r"[0-9a-f]{32}\.[a-z0-9]{1,10}")
UPLOADS, EXPORTS = "uploads/", "exports/"
SUBMITTED = BidStatus.SUBMITTED.label  # an export's content_status when the bid had gone to the funder

# The report's counts, in the order they are printed, with what each counts (one, several).
KINDS = {
    "export_files": ("export file (its record is kept)", "export files (their records are kept)"),
    "orphaned_uploads": ("stored upload that no record names", "stored uploads that no record names"),
    "orphaned_exports": ("stored export file that no record names", "stored export files that no record names"),
    "pending_forms": ("pending funder's form past its time", "pending funder's forms past their time"),
    "notifications": ("notification read long ago", "notifications read long ago"),
    "sessions": ("ended sign-in session", "ended sign-in sessions"),
    "links": ("expired invitation, password reset or sign-in link",
              "expired invitation, password reset and sign-in links"),
    "drafts": ("form kept after a session ended", "forms kept after a session ended"),
    "job_runs": ("record of a periodic job's run", "records of periodic jobs' runs"),
    "quarantined": ("file that contained a virus", "files that contained a virus"),
}


def counted(kind: str, count: int) -> str:
    """"1 export file (its record is kept)", "3 export files (their records are kept)"."""
    one, several = KINDS[kind]
    return f"{count} {one if count == 1 else several}"


@dataclass
class RetentionReport:
    dry_run: bool = False
    export_files: int = 0
    orphaned_uploads: int = 0
    orphaned_exports: int = 0
    pending_forms: int = 0
    notifications: int = 0
    sessions: int = 0
    links: int = 0
    drafts: int = 0
    job_runs: int = 0
    quarantined: int = 0
    notes: list[str] = field(default_factory=list)  # what was left alone on purpose, and why
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in KINDS}

    @property
    def total(self) -> int:
        return sum(self.counts().values())

    def lines(self) -> list[str]:
        """One line per kind: "3 export files (their records are kept)"."""
        return [counted(kind, count) for kind, count in self.counts().items()]

    def __str__(self) -> str:
        done = [counted(kind, count).split(" (")[0] for kind, count in self.counts().items() if count]
        verb = "would remove" if self.dry_run else "removed"
        text = f"{verb} {', '.join(done)}" if done else f"nothing to remove{' (dry run)' if self.dry_run else ''}"
        if self.errors:
            text += f"; {len(self.errors)} failed"
        return text


# --- the rules, as conditions --------------------------------------------------------------------


def years_before(moment: datetime, years: int) -> datetime:
    """The same day and time `years` years earlier (28 February for a 29 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def kept_with_round(export: ExportRecord) -> bool:
    """An export of a signed-off or submitted bid: its file is kept for the round's retention period."""
    return bool(export.signed_off) or export.content_status == SUBMITTED


def why_removed(export: ExportRecord) -> str:
    """What the page of a removed export says: "This file was removed after 30 days"."""
    if kept_with_round(export):
        return f"This file was removed {current_app.config['ROUND_RETENTION_YEARS']} years after the round ended"
    days = max(1, ((export.file_removed_at or utcnow()) - export.created_at).days)
    return f"This file was removed after {days} day{'s' if days != 1 else ''}"


def removable_exports(now: datetime) -> ColumnElement[bool] | None:
    """The exports whose file may be removed at `now` (None: export files are kept for ever)."""
    config = current_app.config
    days = int(config["EXPORT_RETENTION_DAYS"])
    if days <= 0:
        return None
    of_signed_off_bid = or_(
        ExportRecord.signed_off.is_(True), func.coalesce(ExportRecord.content_status, "") == SUBMITTED
    )
    years = int(config["ROUND_RETENTION_YEARS"])
    if years <= 0:
        not_kept = ~of_signed_off_bid
    else:
        since = years_before(now, years)
        round_still_kept = (
            select(Round.id)
            .outerjoin(CollectiveBid, CollectiveBid.round_id == Round.id)
            .where(
                Round.id == ExportRecord.round_id,
                or_(Round.funder_deadline >= since, CollectiveBid.submitted_at >= since, Round.outcome_on >= since),
            )
            .correlate(ExportRecord)
        )
        not_kept = or_(~of_signed_off_bid, ~exists(round_still_kept))
    return and_(
        ExportRecord.status == ExportStatus.READY,
        ExportRecord.stored_name.is_not(None),
        ExportRecord.created_at < now - timedelta(days=days),
        not_kept,
    )


def _removed_not_cleared() -> ColumnElement[bool]:
    """Exports marked "removed" whose file may still be in the storage."""
    return and_(ExportRecord.status == ExportStatus.REMOVED, ExportRecord.stored_name.is_not(None))


def _old_notifications(now: datetime) -> ColumnElement[bool] | None:
    days = int(current_app.config["NOTIFICATION_RETENTION_DAYS"])
    if days <= 0:
        return None
    return and_(
        Notification.read_at.is_not(None),
        Notification.read_at < now - timedelta(days=days),
        # Not one still waiting for its daily summary (app/services/digests.py).
        or_(Notification.email_via.is_(None), Notification.email_via != EMAIL_IN_DIGEST,
            Notification.emailed_at.is_not(None)),
    )


def _ended_sessions(now: datetime) -> ColumnElement[bool]:
    return UserSession.last_seen_at < now - timedelta(minutes=int(current_app.config["SESSION_IDLE_MINUTES"]))


def _expired_links(now: datetime) -> ColumnElement[bool]:
    return AccountToken.expires_at < now


def _old_drafts(now: datetime) -> ColumnElement[bool]:
    return PendingDraft.created_at < now - timedelta(days=DRAFT_DAYS)


def _old_job_runs(now: datetime) -> ColumnElement[bool] | None:
    days = int(current_app.config["JOB_RUN_RETENTION_DAYS"])
    if days <= 0:
        return None
    # A period's row must outlive its period (it is what stops a second run): the longest is an hour.
    return JobRun.started_at < now - timedelta(days=days)


def grace_seconds() -> float:
    return max(1, int(current_app.config["ORPHAN_GRACE_HOURS"])) * 3600.0


# --- the run ----------------------------------------------------------------------------------------


def run_retention(now: datetime | None = None, *, dry_run: bool = False) -> RetentionReport:
    """Remove what the retention rules say has been kept long enough (see the module's docstring).
    Commits its own steps. A step that fails is logged and reported, and the others still run."""
    now = now or utcnow()
    report = RetentionReport(dry_run=dry_run)
    steps: list[tuple[str, Callable[[datetime, RetentionReport], None]]] = [
        ("export files", _export_files),
        ("orphaned files", _orphaned_files),
        ("pending funder's forms", _pending_forms),
        ("notifications", _rows(Notification, _old_notifications, "notifications")),
        ("sessions", _rows(UserSession, _ended_sessions, "sessions")),
        ("links", _rows(AccountToken, _expired_links, "links")),
        ("drafts", _rows(PendingDraft, _old_drafts, "drafts")),
        ("job runs", _rows(JobRun, _old_job_runs, "job_runs")),
        ("quarantined files", _quarantined),
    ]
    # Every lead bidder's records at once, whoever may be signed in: a file is an orphan only if no
    # record of any lead bidder names it (app/tenancy.py would otherwise filter the look-ups).
    with unscoped():
        for what, step in steps:
            try:
                step(now, report)
            except Exception as exc:  # one kind failing must not stop the others
                db.session.rollback()
                log.exception("Retention: removing %s failed", what)
                report.errors.append(f"{what}: {type(exc).__name__}: {exc}")
    log.info(
        "Retention%s: %s", " (dry run)" if dry_run else "", report,
        extra={"retention": report.counts(), "dry_run": dry_run, "errors": len(report.errors)},
    )
    for note in report.notes:
        log.warning("Retention: %s", note)
    return report


# --- export files -----------------------------------------------------------------------------------


def _export_files(now: datetime, report: RetentionReport) -> None:
    condition = removable_exports(now)
    if report.dry_run:
        count = 0
        for where in (condition, _removed_not_cleared()):
            if where is not None:
                count += db.session.scalar(select(func.count()).select_from(ExportRecord).where(where))
        db.session.rollback()
        report.export_files = count
        return
    if condition is not None:
        _mark_exports(now, condition)
    report.export_files = _clear_removed(report)


def _mark_exports(now: datetime, condition: ColumnElement[bool]) -> None:
    """Mark the removable exports "removed", a batch and a commit at a time, with an audit event each."""
    days = int(current_app.config["EXPORT_RETENTION_DAYS"])
    years = int(current_app.config["ROUND_RETENTION_YEARS"])
    while True:
        ids = db.session.scalars(select(ExportRecord.id).where(condition).order_by(ExportRecord.id).limit(BATCH)).all()
        if not ids:
            break
        marked = db.session.execute(
            update(ExportRecord)
            .where(ExportRecord.id.in_(ids), condition)  # still removable: not marked by another run since
            .values(status=ExportStatus.REMOVED, file_removed_at=now)
            .returning(ExportRecord.id, ExportRecord.lead_bidder_id, ExportRecord.format, ExportRecord.created_at,
                       ExportRecord.contribution_id, ExportRecord.signed_off, ExportRecord.content_status)
            .execution_options(synchronize_session=False)
        ).all()
        by_lead: dict[int, list[tuple[int, str, dict]]] = {}
        for row in marked:
            kept = row.signed_off or row.content_status == SUBMITTED
            rule = (f"files of exports of a signed-off or submitted bid are kept for {years} years after the "
                    f"round ends" if kept else f"export files are kept for {days} days")
            what = "contribution" if row.contribution_id else "collective bid"
            by_lead.setdefault(row.lead_bidder_id, []).append((
                row.id,
                f"The file of an export of the {what} made on {govuk_date(row.created_at)} was removed: {rule}",
                {"format": row.format, "made": row.created_at.isoformat(), "rule": "round" if kept else "days"},
            ))
        for lead_bidder_id, events in by_lead.items():
            record_many(None, "export.file_removed", "ExportRecord", events, lead_bidder_id)
        db.session.commit()
        if not marked:  # another run took this batch: it carries on
            break


def _clear_removed(report: RetentionReport) -> int:
    """Delete the files of the exports marked "removed", then clear their stored names. Returns how
    many this run finished. A file that cannot be deleted keeps its name, for the next run."""
    from app.services.exports import key_of

    store = storage()
    finished, after = 0, 0
    while True:
        rows = db.session.execute(
            select(ExportRecord.id, ExportRecord.stored_name)
            .where(_removed_not_cleared(), ExportRecord.id > after)
            .order_by(ExportRecord.id)
            .limit(BATCH)
        ).all()
        db.session.commit()  # no snapshot held while the files are deleted
        if not rows:
            break
        after = rows[-1].id
        gone = []
        for row in rows:
            try:
                store.delete(key_of(row.stored_name))
            except Exception as exc:  # noqa: BLE001 - reported; the next run tries again
                log.warning("Retention: could not remove the file of export %s", row.id, exc_info=True)
                report.errors.append(f"export {row.id}: {type(exc).__name__}: {exc}")
                continue
            gone.append(row.id)
        if gone:
            result = db.session.execute(
                update(ExportRecord)
                .where(ExportRecord.id.in_(gone), _removed_not_cleared())
                .values(stored_name=None)
                .execution_options(synchronize_session=False)
            )
            finished += result.rowcount or 0
            db.session.commit()
    return finished


# --- files no record names ----------------------------------------------------------------------------


def _batches(items: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _old_files(prefix: str, name: re.Pattern, older_than: float, now: datetime) -> list[tuple[Listed, str]]:
    """(item, name) of the objects directly under `prefix` named as the app names them and older
    than `older_than` seconds at `now` (folders below, e.g. "uploads/pending/", are not included)."""
    moment = now.timestamp()
    found = []
    for item in storage().listing(prefix):
        rest = item.key[len(prefix):]
        if "/" not in rest and name.fullmatch(rest) and moment - item.modified > older_than:
            found.append((item, rest))
    return found


def _named_uploads(names: list[str]) -> set[str]:
    return set(db.session.scalars(select(Attachment.stored_name).where(Attachment.stored_name.in_(names)))) | set(
        db.session.scalars(select(RoundFunderForm.stored_name).where(RoundFunderForm.stored_name.in_(names)))
    )


def _named_exports(names: list[str]) -> set[str]:
    return set(db.session.scalars(select(ExportRecord.stored_name).where(ExportRecord.stored_name.in_(names))))


def _database_names_files() -> bool:
    return bool(db.session.scalar(select(or_(
        exists(select(Attachment.id)),
        exists(select(RoundFunderForm.id)),
        exists(select(ExportRecord.id).where(ExportRecord.stored_name.is_not(None))),
    ))))


def _orphaned_files(now: datetime, report: RetentionReport) -> None:
    grace = grace_seconds()
    areas = [
        (UPLOADS, UPLOAD_NAME, _named_uploads, "orphaned_uploads"),
        (EXPORTS, EXPORT_NAME, _named_exports, "orphaned_exports"),
    ]
    candidates = {kind: _old_files(prefix, name, grace, now) for prefix, name, _named, kind in areas}
    if any(candidates.values()) and not _database_names_files():
        db.session.rollback()
        report.notes.append(
            "stored files were left alone: the database names no file at all (is DATABASE_URL the right database?)"
        )
        return
    for _prefix, _name, named, kind in areas:
        count = 0
        for batch in _batches(candidates[kind]):
            known = named([name for _item, name in batch])
            db.session.commit()  # the look-up's transaction ends before anything is deleted
            for item, name in batch:
                if name in known:
                    continue
                if report.dry_run or _delete(item.key, report):
                    count += 1
        setattr(report, kind, count)
    db.session.rollback()


def _delete(key: str, report: RetentionReport) -> bool:
    try:
        storage().delete(key)
    except Exception as exc:  # noqa: BLE001 - reported; the next run tries again
        log.warning("Retention: could not remove %s", key, exc_info=True)
        report.errors.append(f"{key}: {type(exc).__name__}: {exc}")
        return False
    return True


def _quarantined(now: datetime, report: RetentionReport) -> None:
    """Files found to contain a virus (app/services/scanning.py moved them to "quarantine/<name>"),
    QUARANTINE_RETENTION_DAYS after they were moved there: long enough to look into one, never
    served meanwhile. The document's record stays, saying what was found."""
    days = int(current_app.config["QUARANTINE_RETENTION_DAYS"])
    if days <= 0:
        return
    count = 0
    for item, _name in _old_files("quarantine/", UPLOAD_NAME, days * 86400.0, now):
        if report.dry_run or _delete(item.key, report):
            count += 1
    report.quarantined = count


def _pending_forms(now: datetime, report: RetentionReport) -> None:
    """The pending copies of funder's forms (app/services/funder_form.py) past PENDING_MAX_AGE."""
    from app.services.funder_form import PENDING_MAX_AGE, PENDING_PREFIX

    count = 0
    for item, _name in _old_files(PENDING_PREFIX, UPLOAD_NAME, PENDING_MAX_AGE, now):
        if report.dry_run or _delete(item.key, report):
            count += 1
    report.pending_forms = count


# --- rows -------------------------------------------------------------------------------------------------


def _rows(model, condition_at: Callable[[datetime], ColumnElement[bool] | None], kind: str):
    """A step deleting the rows of `model` that match the condition, a batch and a commit at a time."""

    def step(now: datetime, report: RetentionReport) -> None:
        condition = condition_at(now)
        if condition is None:
            return
        if report.dry_run:
            setattr(report, kind, db.session.scalar(select(func.count()).select_from(model).where(condition)))
            db.session.rollback()
            return
        setattr(report, kind, delete_in_batches(model, condition))

    return step


def delete_in_batches(model, condition: ColumnElement[bool]) -> int:
    """DELETE the rows of `model` matching `condition`, BATCH at a time, each batch committed."""
    total = 0
    while True:
        batch = select(model.id).where(condition).limit(BATCH)
        result = db.session.execute(
            delete(model).where(model.id.in_(batch), condition).execution_options(synchronize_session=False)
        )
        db.session.commit()
        deleted = result.rowcount or 0
        total += deleted
        if not deleted:
            return total


def describe(report: RetentionReport) -> Iterable[str]:
    """The report in lines for the command line."""
    verb = "Would remove" if report.dry_run else "Removed"
    yield f"Retention: {report}"
    for line in report.lines():
        yield f"  {verb} {line}"
    for note in report.notes:
        yield f"  Left alone: {note}"
    for error in report.errors:
        yield f"  Failed: {error}"
