"""Copy the files kept in the local folders into the configured store (`flask storage migrate`).

For every supporting document, funder's form and export that the database names, the local file is
read and its SHA-256 compared with the one the database recorded (documents, funder's forms and
exports all record one); a file that does not match is reported and not copied. An object already
in the store with the same SHA-256 is skipped, so the command can be run again after an
interruption. Each copy is read back from the store and its SHA-256 checked; only then, and only
when asked, is the local file removed.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, ExportRecord, ExportStatus, RoundFunderForm
from app.services import documents, exports
from app.storage import ChunkReader, Storage

log = logging.getLogger(__name__)

COPIED, SKIPPED, MISSING, CORRUPT, FAILED = "copied", "already there", "missing", "corrupt", "failed"


@dataclass(frozen=True)
class Item:
    key: str
    what: str  # "supporting document 12 (budget.pdf)"
    sha256: str | None  # as the database recorded it


@dataclass
class Outcome:
    item: Item
    result: str
    detail: str = ""


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)
    deleted: int = 0

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def problems(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result in (MISSING, CORRUPT, FAILED)]


def items() -> Iterator[Item]:
    """Every file the database names."""
    from app.models import ScanStatus
    from app.services.scanning import quarantine_key

    for a in db.session.scalars(select(Attachment).order_by(Attachment.id)):
        if a.scan_status == ScanStatus.INFECTED:  # its file is in quarantine
            yield Item(quarantine_key(a), f"supporting document {a.id} ({a.filename}, quarantined)", a.sha256)
        else:
            yield Item(documents.document_key(a), f"supporting document {a.id} ({a.filename})", a.sha256)
    for f in db.session.scalars(select(RoundFunderForm).order_by(RoundFunderForm.id)):
        yield Item(documents.key_of(f.stored_name), f"funder's form of round {f.round_id} ({f.filename})", f.sha256)
    for e in db.session.scalars(
        select(ExportRecord)
        .where(ExportRecord.stored_name.is_not(None), ExportRecord.status != ExportStatus.REMOVED)
        .order_by(ExportRecord.id)
    ):
        yield Item(exports.export_key(e), f"export {e.id} ({e.filename})", e.file_sha256)


def _sha256(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def _copy(item: Item, source: Storage, target: Storage, read_back: bool) -> Outcome:
    try:
        local = _sha256(source.open(item.key))
    except FileNotFoundError:
        return Outcome(item, MISSING, "no local file")
    expected = item.sha256 or local
    if local != expected:
        return Outcome(item, CORRUPT, f"the local file's SHA-256 {local} is not the recorded {expected}")
    # Already there when the store's recorded SHA-256 matches (read back too before the local file goes).
    if target.sha256_of(item.key) == expected and (not read_back or _sha256(target.open(item.key)) == expected):
        return Outcome(item, SKIPPED)
    try:
        target.put(item.key, ChunkReader(source.open(item.key)))
        copied = _sha256(target.open(item.key))
    except Exception as exc:  # one file's failure is reported; the others are still copied
        log.exception("Could not copy %s", item.key)
        return Outcome(item, FAILED, str(exc))
    if copied != expected:
        target.delete(item.key)
        return Outcome(item, CORRUPT, f"the copy's SHA-256 {copied} is not {expected}: the copy was removed")
    return Outcome(item, COPIED)


def migrate(source: Storage, target: Storage, *, delete_local: bool = False, echo=None) -> Summary:
    """Copy every file the database names from `source` to `target`; see the module's docstring."""
    summary = Summary()
    for item in items():
        outcome = _copy(item, source, target, read_back=delete_local)
        summary.outcomes.append(outcome)
        if echo is not None:
            echo(f"{outcome.result}: {item.what} {item.key}" + (f" – {outcome.detail}" if outcome.detail else ""))
        if delete_local and outcome.result in (COPIED, SKIPPED):
            source.delete(item.key)
            summary.deleted += 1
    return summary
