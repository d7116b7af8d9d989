"""Exports of the collective bid (Word, PDF, Excel, CSV, ZIP) and of one contribution (Word, PDF).

The flow, for the web and the command line alike:

1. `request_export()` writes an ExportRecord (pending) in the request's transaction and queues the
   job that makes it (app/jobs/exports.py) for when that transaction commits. The web request
   returns at once; the export's page follows the job's progress.
2. `prepare()`, run by the job (or by `flask export` directly), claims it with a conditional UPDATE
   (so a job started twice makes the file once), reads the content (content.py), renders it
   (word.py, pdf.py, excel.py, tables.py, archive.py), stores the file (app/storage.py:
   EXPORT_FOLDER or the bucket) under a random name and marks the record ready with the file's
   SHA-256 and the content hash. It commits its own steps, like the outbox worker: the claim must
   be visible to others while the file is being made. While it works, a thread writes the record's
   heartbeat every JOB_HEARTBEAT_SECONDS; a claim whose heartbeat is older than JOB_STALE_SECONDS
   (its worker was killed) is stale, and the recovery job queues it again, up to
   EXPORT_MAX_ATTEMPTS starts in all.
3. The file can be downloaded again at any time; the record says who made it, when, from which
   version of the content (content hash) and the bid's status at the time (content_status,
   signed_off): the version is the content alone, so it does not change with the status.

The export page says which version the bid is at now without reading the whole bid:
`current_bid_version()` asks for the bid's fingerprint (a few small queries, content.py) and takes
the content hash of an export made at that fingerprint; only when there is none (the bid has
changed since its last export) is the content read and hashed.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from app.dates import to_london
from app.extensions import db
from app.models import Contribution, ExportRecord, ExportStatus, Round, User
from app.models.base import utcnow
from app.services import ServiceError
from app.services.audit import record
from app.services.documents import content_disposition
from app.services.exports.content import (
    ExportContent,
    bid_content,
    bid_fingerprint,
    bid_status,
    contribution_content,
)
from app.services.pages import Page, paginate
from app.storage import Stored, check_key, local_storage, storage
from app.storage import download as stored_download

log = logging.getLogger(__name__)


def stale_after() -> timedelta:
    """How long an export's job may go without a heartbeat before it counts as gone."""
    return timedelta(seconds=current_app.config["JOB_STALE_SECONDS"])


BID, CONTRIBUTION = "bid", "contribution"
FUNDER_FORM = "funder-form"


@dataclass(frozen=True)
class Format:
    key: str
    label: str  # "Word document"
    extension: str
    mimetype: str
    hint: str
    scopes: frozenset[str]
    needs_funder_form: bool = False  # offered only when the round has the funder's form


FORMATS: dict[str, Format] = {
    f.key: f
    for f in (
        Format("docx", "Word document", "docx",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "Cover page, contents, every section, budget tables, outcomes, partners and documents",
               frozenset({BID, CONTRIBUTION})),
        Format("pdf", "PDF", "pdf", "application/pdf",
               "The same content as the Word document, A4, with bookmarks and page numbers",
               frozenset({BID, CONTRIBUTION})),
        Format("xlsx", "Excel spreadsheet", "xlsx",
               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "The consolidated budget with live totals, and one sheet for each CSP",
               frozenset({BID})),
        Format("csv", "Budget lines (CSV)", "csv", "text/csv",
               "Every budget line, one row each, for other spreadsheets and systems",
               frozenset({BID})),
        Format("csv-outcomes", "Outcomes (CSV)", "csv", "text/csv",
               "Every outcome, one row each",
               frozenset({BID})),
        Format("zip", "Everything (ZIP)", "zip", "application/zip",
               "All of the above and every supporting document, in a folder for each CSP, with a manifest",
               frozenset({BID})),
        Format(FUNDER_FORM, "The funder’s form (Word)", "docx",
               "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "A copy of the funder’s own application form with each section’s text under its question, "
               "and a list of anything that could not be placed",
               frozenset({BID}), needs_funder_form=True),
    )
}


def formats_for(scope: str, with_funder_form: bool = False) -> list[Format]:
    """The formats of a scope; the funder's form only when the round has one (`with_funder_form`)."""
    return [f for f in FORMATS.values() if scope in f.scopes and (with_funder_form or not f.needs_funder_form)]


def render(content: ExportContent, key: str) -> bytes:
    """The file's bytes: one format of the content."""
    if key == "docx":
        from app.services.exports.word import render_docx
        return render_docx(content)
    if key == "pdf":
        from app.services.exports.pdf import render_pdf
        return render_pdf(content)
    if key == "xlsx":
        from app.services.exports.excel import render_xlsx
        return render_xlsx(content)
    if key == "csv":
        from app.services.exports.tables import budget_lines_csv
        return budget_lines_csv(content)
    if key == "csv-outcomes":
        from app.services.exports.tables import outcomes_csv
        return outcomes_csv(content)
    if key == "zip":
        from app.services.exports.archive import render_zip
        return render_zip(content)
    if key == FUNDER_FORM:
        raise ValueError("The funder's form is filled from the round's stored form: see _render_export()")
    raise ValueError(f"Unknown export format {key!r}")


# --- names and storage -------------------------------------------------------------------------

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def filename_for(content: ExportContent, key: str) -> str:
    """'Early Intervention Youth Fund 2018-19 - collective bid - signed off - 2026-11-25.docx' (without
    saying "collective bid" twice when the round's title says it already)."""
    fmt = FORMATS[key]
    if content.kind == BID:
        state = "signed off" if content.signed_off else "draft"
        what = state if "collective bid" in content.round_title.casefold() else f"collective bid - {state}"
    else:
        what = f"{content.csps[0]} contribution"
    if key == "csv":
        what += " - budget lines"
    elif key == "csv-outcomes":
        what += " - outcomes"
    elif key == FUNDER_FORM:
        what += " - funder's form"
    day = to_london(content.generated_at).date().isoformat()
    name = _UNSAFE.sub("-", f"{content.round_title} - {what} - {day}")
    return f"{name.strip(' .-')[:200]}.{fmt.extension}"


def export_folder() -> Path:
    """EXPORT_FOLDER (the local backend's folder for "exports/" keys), made if need be."""
    folder = local_storage().roots["exports"]
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def key_of(stored_name: str) -> str:
    """The storage key of an export's file (app/storage.py checks it is a plain name)."""
    return check_key(f"exports/{stored_name}")


def export_key(export: ExportRecord) -> str:
    if not export.stored_name:
        raise FileNotFoundError("This export has no file")
    return key_of(export.stored_name)


def stored_path(export: ExportRecord) -> Path:
    """Where the local backend keeps the export's file."""
    return local_storage().path(export_key(export))


def _store(data: bytes, extension: str) -> tuple[str, Stored]:
    name = f"{secrets.token_hex(16)}.{extension}"
    return name, storage().put(key_of(name), data)


def download(export: ExportRecord):
    """The export's file streamed as a download (None when it has no file or the file is missing)."""
    try:
        key = export_key(export)
    except FileNotFoundError:
        return None
    return stored_download(key, FORMATS[export.format].mimetype, content_disposition(export.filename))


def open_file(export: ExportRecord) -> Iterator[bytes]:
    """The export's file in chunks (Missing when it is not there)."""
    return storage().open(export_key(export))


# --- the flow ----------------------------------------------------------------------------------

def _has_funder_form(rnd: Round) -> bool:
    from app.services.funder_form import funder_form_of

    return funder_form_of(rnd) is not None


def _render_export(export: ExportRecord, content: ExportContent) -> tuple[bytes, dict | None]:
    """The file's bytes, and its report (the funder's form says what it could not place)."""
    if export.format == FUNDER_FORM:
        from app.services.funder_form import render_bid_into_form

        return render_bid_into_form(export.round, content)
    return render(content, export.format), None


def scope_of(export: ExportRecord) -> str:
    return CONTRIBUTION if export.contribution_id else BID


def request_export(
    actor: User | None, rnd: Round, key: str, contribution: Contribution | None = None, source: str = "web"
) -> ExportRecord:
    scope = CONTRIBUTION if contribution is not None else BID
    fmt = FORMATS.get(key)
    with_form = scope == BID and _has_funder_form(rnd)
    if fmt is None or scope not in fmt.scopes or (fmt.needs_funder_form and not with_form):
        choices = ", ".join(f.label for f in formats_for(scope, with_form))
        raise ServiceError(f"Select the kind of file to export: {choices}", field="format")
    export = ExportRecord(
        lead_bidder_id=rnd.lead_bidder_id,
        round_id=rnd.id,
        contribution_id=contribution.id if contribution is not None else None,
        format=key,
        status=ExportStatus.PENDING,
        source=source,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(export)
    db.session.flush()
    _queue(export)
    return export


def _queue(export: ExportRecord) -> None:
    from app.jobs import defer
    from app.jobs.exports import prepare_export

    defer(prepare_export, export.id)


def _is_stale_clause(now):
    """Being prepared, but its job's heartbeat (or, before the first one, its claim) is too old."""
    limit = now - stale_after()
    return (ExportRecord.status == ExportStatus.PREPARING) & or_(
        ExportRecord.heartbeat_at < limit,
        ExportRecord.heartbeat_at.is_(None) & (ExportRecord.claimed_at < limit),
    )


def _claim(export_id: int) -> bool:
    now = utcnow()
    result = db.session.execute(
        update(ExportRecord)
        .where(
            ExportRecord.id == export_id,
            ExportRecord.attempts < current_app.config["EXPORT_MAX_ATTEMPTS"],
            or_(ExportRecord.status == ExportStatus.PENDING, _is_stale_clause(now)),
        )
        .values(
            status=ExportStatus.PREPARING, claimed_at=now, heartbeat_at=now, stage="Starting",
            attempts=ExportRecord.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


class _Heartbeat:
    """While the file is being made, write the export's heartbeat (and the stage it is at) every
    JOB_HEARTBEAT_SECONDS on a connection of its own: a long render (a 100-CSP PDF) is one call, and
    the recovery job must be able to tell a slow export from one whose worker has died."""

    def __init__(self, export_id: int):
        self.export_id = export_id
        self.engine = db.engine
        self.every = current_app.config["JOB_HEARTBEAT_SECONDS"]
        self.stage: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"export-{export_id}-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def at(self, stage: str) -> None:
        self.stage = stage
        self._write()

    def _write(self) -> None:
        values = {"heartbeat_at": utcnow()}
        if self.stage:
            values["stage"] = self.stage
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(ExportRecord)
                    .where(ExportRecord.id == self.export_id, ExportRecord.status == ExportStatus.PREPARING)
                    .values(**values)
                )
        except Exception:  # a missed beat is not a failed export: the next one may get through
            log.warning("Could not write the heartbeat of export %s", self.export_id, exc_info=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            self._write()


def content_for(export: ExportRecord) -> ExportContent:
    if export.contribution_id:
        return contribution_content(export.contribution)
    return bid_content(export.round)


def describe(export: ExportRecord) -> str:
    fmt = FORMATS[export.format]
    what = f"the contribution from {export.contribution.csp.name}" if export.contribution_id else "the collective bid"
    return f"{fmt.label} of {what} for {export.round.title}"


def prepare(export_id: int) -> ExportRecord:
    """Make the file for a pending export (or return it as it is when someone else is making it,
    or it is already made). Commits."""
    if _claim(export_id):
        export = db.session.get(ExportRecord, export_id)
        started = time.perf_counter()
        try:
            with _Heartbeat(export_id) as heartbeat:
                heartbeat.at("Reading the content")
                # The fingerprint first: should the bid change while it is read, the fingerprint is
                # the older one, which no later page finds again.
                fingerprint = None if export.contribution_id else bid_fingerprint(export.round, _bid_of(export.round))
                content = content_for(export)
                db.session.commit()  # reading done: hold no transaction open while rendering
                heartbeat.at("Making the file")
                data, report = _render_export(export, content)
                heartbeat.at("Saving the file")
                stored, kept = _store(data, FORMATS[export.format].extension)
        except Exception as exc:  # a broken export must say so, not spin for ever
            db.session.rollback()
            log.exception("Export %s failed", export_id)
            export = db.session.get(ExportRecord, export_id)
            export.status = ExportStatus.FAILED
            export.stage = None
            export.error = f"{type(exc).__name__}: {exc}"[:2000]
            export.finished_at = utcnow()
            db.session.commit()
            return export
        export.status = ExportStatus.READY
        export.stage = None
        export.stored_name = stored
        export.filename = filename_for(content, export.format)
        export.size_bytes = kept.size
        export.file_sha256 = kept.sha256
        export.content_hash = content.content_hash
        export.content_fingerprint = fingerprint
        export.content_status = content.status
        export.signed_off = content.signed_off
        export.finished_at = utcnow()
        export.duration_ms = int((time.perf_counter() - started) * 1000)
        export.report = report
        record(
            export.created_by, "export.created", export,
            f"Exported {describe(export)} ({content.status.lower()}, version {content.short_hash})",
            round_id=export.round_id, contribution_id=export.contribution_id, format=export.format,
            content_hash=content.content_hash, file_sha256=export.file_sha256, source=export.source,
        )
        db.session.commit()
        return export
    export = db.session.get(ExportRecord, export_id)
    db.session.refresh(export)
    return export


def export_now(
    actor: User | None, rnd: Round, key: str, contribution: Contribution | None = None, source: str = "web"
) -> ExportRecord:
    """Request and make an export in one go (the command line). Commits."""
    export = request_export(actor, rnd, key, contribution, source=source)
    db.session.commit()
    return prepare(export.id)


def retry(export: ExportRecord) -> None:
    """A failed export may be tried again."""
    if export.status != ExportStatus.FAILED:
        raise ServiceError("Only an export that failed can be tried again")
    export.status = ExportStatus.PENDING
    export.error = None
    export.claimed_at = None
    export.heartbeat_at = None
    export.stage = None
    export.attempts = 0
    db.session.flush()
    _queue(export)


# --- lists -------------------------------------------------------------------------------------

def bid_exports(rnd: Round, page=1) -> Page[ExportRecord]:
    """One page of the exports of the collective bid, newest first."""
    return paginate(
        select(ExportRecord)
        .where(ExportRecord.round_id == rnd.id, ExportRecord.contribution_id.is_(None))
        .options(selectinload(ExportRecord.created_by))
        .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc()),
        page,
    )


def contribution_exports(contribution: Contribution, page=1) -> Page[ExportRecord]:
    """One page of the exports of one contribution, newest first."""
    return paginate(
        select(ExportRecord)
        .where(ExportRecord.contribution_id == contribution.id)
        .options(selectinload(ExportRecord.created_by))
        .order_by(ExportRecord.created_at.desc(), ExportRecord.id.desc()),
        page,
    )


def is_stale(export: ExportRecord) -> bool:
    """Being prepared, but no heartbeat for JOB_STALE_SECONDS: the worker making it has gone (the
    recovery job will queue it again, or give up after EXPORT_MAX_ATTEMPTS)."""
    beat = export.heartbeat_at or export.claimed_at
    return export.status == ExportStatus.PREPARING and beat is not None and beat < utcnow() - stale_after()


def recover(now=None) -> tuple[list[int], list[int]]:
    """Exports whose job was lost: pending for longer than JOB_STALE_SECONDS (never started: the
    queue lost the task, or was not reachable when it was asked for), or stale (their worker died).
    Returns (the ids to queue again, the ids given up on and marked failed). Commits."""
    now = now or utcnow()
    limit = now - stale_after()
    most = current_app.config["EXPORT_MAX_ATTEMPTS"]
    rows = db.session.execute(
        select(ExportRecord.id, ExportRecord.attempts).where(
            or_(
                (ExportRecord.status == ExportStatus.PENDING) & (ExportRecord.created_at < limit),
                _is_stale_clause(now),
            )
        )
    ).all()
    retry_ids = [r.id for r in rows if r.attempts < most]
    give_up = [r.id for r in rows if r.attempts >= most]
    if give_up:
        db.session.execute(
            update(ExportRecord)
            .where(ExportRecord.id.in_(give_up), _is_stale_clause(now))
            .values(
                status=ExportStatus.FAILED, finished_at=now, stage=None,
                error=f"WorkerLost: the export stopped before it finished {most} times",
            )
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return retry_ids, give_up


# --- the bid's version now -----------------------------------------------------------------------

@dataclass(frozen=True)
class BidVersion:
    """The collective bid as it is now: its version (content hash) and status."""

    content_hash: str
    status: str  # "Draft", "Signed off", "Submitted to the funder"
    signed_off: bool

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]


def _bid_of(rnd: Round):
    from app.services.consolidation import find_bid

    return find_bid(rnd)


def current_bid_version(rnd: Round) -> BidVersion:
    """The bid's version now, from the export made at the same fingerprint when there is one (a few
    small queries), else from its content (read and hashed)."""
    bid = _bid_of(rnd)
    fingerprint = bid_fingerprint(rnd, bid)
    known = db.session.scalar(
        select(ExportRecord.content_hash)
        .where(
            ExportRecord.round_id == rnd.id,
            ExportRecord.contribution_id.is_(None),
            ExportRecord.content_fingerprint == fingerprint,
            ExportRecord.content_hash.is_not(None),
        )
        .limit(1)
    )
    if known is None:
        known = _hashes.get((rnd.id, fingerprint))
    if known is None:
        known = _hashes[(rnd.id, fingerprint)] = bid_content(rnd).content_hash
        while len(_hashes) > _HASHES_KEPT:
            _hashes.pop(next(iter(_hashes)))
    status, signed_off = bid_status(bid)
    return BidVersion(known, status, signed_off)


# The content hash of each (round, fingerprint) this process has read and hashed: with no export yet
# at the bid's fingerprint, the exports page reads the whole bid once per worker, not on every view.
# A fingerprint stands for one content, so an entry is never wrong, only forgotten (oldest first).
_hashes: dict[tuple[int, str], str] = {}
_HASHES_KEPT = 256


def forget_versions() -> None:
    """Forget the remembered hashes: for when a database's rows are replaced wholesale (the tests
    put their world back before each test, so one round id and fingerprint can come back with other
    content)."""
    _hashes.clear()
