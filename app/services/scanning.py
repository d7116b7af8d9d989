"""Virus checks of supporting documents by ClamAV's daemon (clamd), and what follows from them.

The client is ours, a few dozen lines of clamd's documented socket protocol (the PyPI clients are
unmaintained): CLAMD_URL names the socket, `unix:///run/clamav/clamd.ctl` or
`tcp://127.0.0.1:3310`; unset, there is no scanner and documents are not checked (their pages say
so). CLAMD_TIMEOUT bounds connecting and each wait for clamd, the scan included.

- `zPING\\0` answers `PONG` (`ping()`: is clamd there and ready).
- `zINSTREAM\\0`, then the file in chunks, each a 4-byte big-endian length and that many bytes, then
  a zero length; clamd answers `stream: OK`, `stream: <virus name> FOUND` or `<reason> ERROR`. The
  file is streamed from the store (`storage().open`), so S3 works as well as the local folder.
  A file longer than clamd's StreamMaxLength gets "INSTREAM size limit exceeded. ERROR" (and clamd
  may close the socket while we are still sending): that is not a clean file, it is TooLargeToScan.

The life of a document's check (Attachment.scan_status):

    upload ── scanner configured ──► pending ──► clean      (downloads, exports)
       │                                 ├─────► infected   (file moved to quarantine/, uploader told)
       │                                 └─────► failed     (too large for the scanner: not released)
       └── no scanner ───────────────► not_scanned          (downloads as always; the page says so)

`scan_document(id)` is what the task queue runs after an upload commits: safe to run twice (only a
pending document is checked, and the change from pending is a conditional UPDATE, so two runs at
once record one result), and it raises ScannerError while clamd cannot be reached or answers an
error, leaving the document pending for the queue to try again. `documents_awaiting_scan()` lists
the pending ones, oldest first, for a sweep that enqueues any whose job was lost.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import Attachment, ScanStatus
from app.models.base import utcnow

log = logging.getLogger(__name__)

# clamd reads a stream's chunks as they come; smaller pieces than the store's 1MB chunks keep each
# write short, so a clamd that stops reading (size limit) is noticed quickly.
PIECE = 64 * 1024
REPLY_MAX = 4096


class ScannerError(Exception):
    """clamd could not be reached, timed out, or answered an error: try again later."""


class TooLargeToScan(ScannerError):
    """The file is longer than clamd accepts (its StreamMaxLength): trying again will not help."""


@dataclass(frozen=True)
class Verdict:
    virus: str | None  # None: no virus found

    @property
    def clean(self) -> bool:
        return self.virus is None


class Clamd:
    """A client of one clamd, by its unix socket or TCP address."""

    def __init__(self, url: str, timeout: float = 60):
        parts = urlsplit(url)
        if parts.scheme == "unix" and parts.path:
            self.family, self.address = socket.AF_UNIX, parts.path
        elif parts.scheme == "tcp" and parts.hostname and parts.port:
            self.family, self.address = socket.AF_INET6 if ":" in parts.hostname else socket.AF_INET, (
                parts.hostname, parts.port)
        else:
            raise ValueError(f"CLAMD_URL must be unix:///path/to/clamd.ctl or tcp://host:port, not {url!r}")
        self.url = url
        self.timeout = timeout

    def _connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.address)
        except OSError as exc:
            sock.close()
            raise ScannerError(f"Could not connect to clamd at {self.url}: {exc}") from exc
        return sock

    @staticmethod
    def _reply(sock: socket.socket) -> str:
        """clamd's answer to a z-command: up to its terminating NUL (or the end of the connection)."""
        data = b""
        while b"\0" not in data and len(data) < REPLY_MAX:
            chunk = sock.recv(REPLY_MAX)
            if not chunk:
                break
            data += chunk
        return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        """True when clamd answers PONG (it has loaded its signatures and takes commands)."""
        with self._connect() as sock:
            try:
                sock.sendall(b"zPING\0")
                return self._reply(sock) == "PONG"
            except OSError as exc:
                raise ScannerError(f"clamd at {self.url} did not answer PING: {exc}") from exc

    def scan(self, chunks: Iterable[bytes]) -> Verdict:
        """Send the bytes with INSTREAM and read the verdict. An error reading `chunks` (the store)
        is raised as it is; clamd's errors are ScannerError."""
        with self._connect() as sock:
            self._send(sock, b"zINSTREAM\0")
            for chunk in chunks:
                for start in range(0, len(chunk), PIECE):
                    piece = chunk[start:start + PIECE]
                    self._send(sock, struct.pack("!L", len(piece)) + piece)
            self._send(sock, struct.pack("!L", 0))
            try:
                reply = self._reply(sock)
            except OSError as exc:
                raise ScannerError(f"clamd at {self.url} did not answer: {exc}") from exc
        return self.verdict(reply)

    def _send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.sendall(data)
        except OSError as exc:
            # clamd stops reading and closes the connection past StreamMaxLength, after saying why:
            # read what it said, if anything.
            try:
                reply = self._reply(sock)
            except OSError:
                reply = ""
            if "size limit exceeded" in reply.lower():
                raise TooLargeToScan(reply) from exc
            raise ScannerError(f"clamd at {self.url} stopped reading the file: {exc} {reply}".strip()) from exc

    @staticmethod
    def verdict(reply: str) -> Verdict:
        """The verdict in clamd's answer to INSTREAM; ScannerError for an error or anything else."""
        if "size limit exceeded" in reply.lower():
            raise TooLargeToScan(reply)
        if reply.endswith("ERROR") or not reply:
            raise ScannerError(f"clamd answered {reply!r}")
        _, _, verdict = reply.partition(": ")
        if verdict == "OK":
            return Verdict(None)
        if verdict.endswith(" FOUND"):
            return Verdict(verdict.removesuffix(" FOUND").strip() or "Unknown")
        raise ScannerError(f"clamd answered {reply!r}")


# --- the configured scanner --------------------------------------------------------------------


def scanner() -> Clamd | None:
    """The scanner CLAMD_URL names, or None when no scanner is configured."""
    url = current_app.config.get("CLAMD_URL")
    if not url:
        return None
    return Clamd(url, float(current_app.config.get("CLAMD_TIMEOUT") or 60))


def configured() -> bool:
    return bool(current_app.config.get("CLAMD_URL"))


def initial_status() -> ScanStatus:
    """A new upload's status: waiting for its check when a scanner is configured."""
    return ScanStatus.PENDING if configured() else ScanStatus.NOT_SCANNED


def quarantine_key(attachment: Attachment) -> str:
    """Where a document that contained a virus is kept: never served by the app."""
    from app.services.documents import document_key

    return "quarantine/" + document_key(attachment).removeprefix("uploads/")


# --- checking a document -------------------------------------------------------------------------

TOO_LARGE = "Larger than the virus scanner accepts"


def scan_document(attachment_id: int) -> ScanStatus | None:
    """Check the document's file for viruses and record the result. Commits.

    Only a pending document is checked; any other (already checked, or uploaded with no scanner) is
    left alone, and a document deleted meanwhile is nothing to do (None). Clean: `clean`. A virus:
    the file is copied to its quarantine key, the document marked `infected` with the virus's name,
    an audit event written and its uploader and CSP told; the file under "uploads/" goes once that
    is committed. Too large for the scanner: `failed` (with an audit event). Raises ScannerError
    (nothing recorded, still pending) when no scanner is configured or clamd cannot check it now.
    Returns the document's status."""
    from app.services.documents import document_key
    from app.storage import storage
    from app.tenancy import unscoped

    with unscoped():
        attachment = db.session.get(Attachment, attachment_id)
        if attachment is None:
            log.info("Document %s was deleted before its virus check", attachment_id)
            db.session.rollback()
            return None
        if attachment.scan_status != ScanStatus.PENDING:
            status = attachment.scan_status
            db.session.rollback()
            return status
        key = document_key(attachment)
        db.session.rollback()  # no transaction is held open while clamd reads the file

        client = scanner()
        if client is None:
            raise ScannerError("No virus scanner is configured (CLAMD_URL): the document stays pending")
        try:
            verdict = client.scan(storage().open(key))
        except TooLargeToScan as exc:
            log.warning("Document %s is too large for the virus scanner: %s", attachment_id, exc)
            return _record(attachment_id, ScanStatus.FAILED, TOO_LARGE)
        if verdict.clean:
            return _record(attachment_id, ScanStatus.CLEAN, None)
        log.warning("Document %s contains a virus: %s", attachment_id, verdict.virus)
        return _quarantine(attachment_id, key, verdict.virus)


def _mark(attachment_id: int, status: ScanStatus, result: str | None) -> bool:
    """Pending → status, only if it is still pending (a second run at once changes nothing)."""
    changed = db.session.execute(
        update(Attachment)
        .where(Attachment.id == attachment_id, Attachment.scan_status == ScanStatus.PENDING)
        .values(scan_status=status, scanned_at=utcnow(), scan_result=result)
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(changed)


def _current(attachment_id: int) -> ScanStatus | None:
    return db.session.scalar(select(Attachment.scan_status).where(Attachment.id == attachment_id))


def _record(attachment_id: int, status: ScanStatus, result: str | None) -> ScanStatus | None:
    from app.services.audit import record

    if not _mark(attachment_id, status, result):
        db.session.rollback()
        return _current(attachment_id)
    if status == ScanStatus.FAILED:
        attachment = db.session.get(Attachment, attachment_id, populate_existing=True)
        contribution = attachment.contribution
        record(None, "contribution.document_not_checked", contribution,
               f"{attachment.filename} in {contribution.csp.name}'s contribution could not be checked for "
               f"viruses: {result.lower()}", attachment_id=attachment.id, filename=attachment.filename,
               reason=result)
    db.session.commit()
    return status


def _quarantine(attachment_id: int, key: str, virus: str) -> ScanStatus | None:
    from app.services.audit import record
    from app.services.documents import remove_after_commit
    from app.storage import storage

    attachment = db.session.get(Attachment, attachment_id, populate_existing=True)
    if attachment is None or attachment.scan_status != ScanStatus.PENDING:
        db.session.rollback()
        return attachment.scan_status if attachment is not None else None
    target = quarantine_key(attachment)
    storage().copy(key, target)  # first the copy: the file is never in neither place
    if not _mark(attachment_id, ScanStatus.INFECTED, virus[:200]):
        db.session.rollback()  # another run recorded it meanwhile (and moved the same file)
        return _current(attachment_id)
    contribution = attachment.contribution
    record(
        None, "contribution.document_infected", contribution,
        f"{attachment.filename} in {contribution.csp.name}'s contribution contained a virus ({virus}): "
        "it was moved to quarantine",
        attachment_id=attachment.id, filename=attachment.filename, virus=virus, sha256=attachment.sha256,
        quarantine_key=target,
    )
    _tell_uploader(attachment, virus)
    remove_after_commit(key)
    db.session.commit()
    return ScanStatus.INFECTED


def _tell_uploader(attachment: Attachment, virus: str) -> None:
    """The uploader and the CSP's people: What's new, and an email as each of them chose."""
    from app.models import NotificationKind
    from app.services.notifications import Email, csp_people, link_to, notify
    from app.urls import absolute_link

    contribution = attachment.contribution
    link = link_to("contributions.documents", contribution_id=contribution.id)
    summary = (f"{attachment.filename}, uploaded to {contribution.csp.name}'s contribution, contained a virus "
               f"({virus}) and has been removed. Upload a clean copy.")
    recipients = [attachment.uploaded_by, *csp_people(contribution.csp_id)]
    notify(
        NotificationKind.VIRUS_FOUND,
        recipients,
        summary=summary,
        link=link,
        event_key=f"virus-found:{attachment.id}",
        lead_bidder_id=contribution.lead_bidder_id,
        contribution=contribution,
        email=Email("notification", {
            "subject": f"{contribution.round.title}: {attachment.filename} contained a virus",
            "summary": summary,
            "link": absolute_link(link),
            "link_text": "Go to the supporting documents",
        }),
    )


def documents_awaiting_scan(limit: int | None = None, uploaded_before: datetime | None = None) -> list[int]:
    """The ids of documents still waiting for their virus check, oldest first (for a sweep that
    enqueues any whose job was lost): all of them, or those uploaded before a moment."""
    from app.tenancy import unscoped

    query = (
        select(Attachment.id)
        .where(Attachment.scan_status == ScanStatus.PENDING)
        .order_by(Attachment.uploaded_at, Attachment.id)
    )
    if uploaded_before is not None:
        query = query.where(Attachment.uploaded_at < uploaded_before)
    if limit is not None:
        query = query.limit(limit)
    with unscoped():
        return list(db.session.scalars(query))


def mark_unchecked_pending() -> int:
    """Mark every document that was never checked (uploaded while no scanner was configured) as
    waiting for its check. Caller commits. Returns how many."""
    return db.session.execute(
        update(Attachment)
        .where(Attachment.scan_status == ScanStatus.NOT_SCANNED)
        .values(scan_status=ScanStatus.PENDING)
        .execution_options(synchronize_session=False)
    ).rowcount
