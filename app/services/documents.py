"""Supporting documents of a contribution: upload, delete, and what a file really is.

Files are kept through app/storage.py (UPLOAD_FOLDER, never under the static folder, or a bucket)
under random names; the name the
user gave is kept in the database, made safe for display and for Content-Disposition.

The type is decided from the content, never from the name or the browser's Content-Type:
PDF, PNG and JPEG by their signatures; DOCX, XLSX and ODT are ZIP containers, so their inner
structure is checked ([Content_Types].xml and the main part it names; the ODT `mimetype` entry).
Macro-enabled and password-protected variants are refused with a message that says so.

Files and the database agree whatever happens to the transaction: an upload's file is written
before the commit and removed again if the transaction ends without committing; a deleted
document's file is removed only after the commit, so a failed commit leaves row and file in place.

Virus checks (app/services/scanning.py): with a scanner configured (CLAMD_URL) a new document is
`pending` and its check is asked for once the upload commits; until it is found clean nobody can
download it, and a file that contained a virus is never served again. With no scanner a document is
`not_scanned` and downloads as it always did; the documents page says files are not checked.
"""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Attachment, Contribution, ScanStatus, User
from app.services import ServiceError, scanning
from app.services.audit import record
from app.services.contributions import check_editable, touch
from app.storage import TooLarge, local_storage, storage
from app.storage import download as stored_download

log = logging.getLogger(__name__)

FIELD = "file"  # the form field that upload errors belong to
DESCRIPTION_MAX = 300  # Attachment.description's length


# --- the accepted types --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    key: str
    label: str  # "PDF", as in "PDF, 1.2MB"
    mimetype: str
    extensions: tuple[str, ...]  # the first is the one given to a file whose name has another

    @property
    def extension(self) -> str:
        return self.extensions[0]


PDF = FileType("pdf", "PDF", "application/pdf", (".pdf",))
DOCX = FileType("docx", "DOCX", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
XLSX = FileType("xlsx", "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
ODT = FileType("odt", "ODT", "application/vnd.oasis.opendocument.text", (".odt",))
PNG = FileType("png", "PNG", "image/png", (".png",))
JPEG = FileType("jpeg", "JPEG", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"))
TYPES = (PDF, DOCX, XLSX, ODT, PNG, JPEG)
BY_MIMETYPE = {t.mimetype: t for t in TYPES}

TYPE_MESSAGE = "The selected file must be a PDF, DOCX, XLSX, ODT, PNG or JPEG"
EMPTY_MESSAGE = "The selected file is empty"
PASSWORD_MESSAGE = "The selected file is password protected – remove the password and upload it again"  # noqa: S105  # nosec B105
MACROS_MESSAGE = "The selected file contains macros – save it without macros as a DOCX or XLSX and upload it again"
FAILED_MESSAGE = "The selected file could not be uploaded – try again"
EXPANDS_MESSAGE = (
    "The selected file expands to too much data when it is opened – it may be damaged. "
    "Open it, save it again and upload the new copy"
)
LEGACY_WORD_MESSAGE = (
    "The selected file is an old Word document (.doc) – open it in Word, choose File, Save As, "
    "choose 'Word Document (*.docx)' and upload the .docx file"
)
LEGACY_EXCEL_MESSAGE = (
    "The selected file is an old Excel workbook (.xls) – open it in Excel, choose File, Save As, "
    "choose 'Excel Workbook (*.xlsx)' and upload the .xlsx file"
)


def size_message(limit: int) -> str:
    return f"The selected file must be smaller than {human_size(limit)}"


def human_size(size: int) -> str:
    """'845 bytes', '12KB', '1.2MB', '10MB' (GOV.UK style: no space before the unit)."""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    if size < 1000 * 1024:
        return f"{round(size / 1024)}KB"
    mb = size / (1024 * 1024)
    return f"{mb:.0f}MB" if mb >= 10 or mb == int(mb) else f"{mb:.1f}MB"


def type_of(attachment: Attachment) -> FileType | None:
    return BY_MIMETYPE.get(attachment.content_type)


# --- what a file really is -------------------------------------------------------------------------


class Refused(Exception):
    """The content is not one of the accepted types; the message says why, for the user."""


ZIP_MAX_ENTRIES = 10_000
# A ZIP container (DOCX, XLSX, ODT) may declare at most this much content in all, and no entry over
# 10MB may be more than 200 times its compressed size: a Word or Excel file's XML compresses about
# 5 to 30 times, pictures hardly at all; a "zip bomb" expands thousands of times.
ZIP_MAX_EXPANDED = 250 * 1024 * 1024
ZIP_ENTRY_CHECKED = 10 * 1024 * 1024
ZIP_MAX_RATIO = 200
XML_READ_LIMIT = 2 * 1024 * 1024  # we read at most this much of any entry: no zip bomb gets further

OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# An indirect or direct /Encrypt entry of a trailer or cross-reference stream dictionary.
PDF_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
# An element of [Content_Types].xml or of a relationships part, and its attributes. The parts are
# small XML files; a regular expression reads them without an XML parser's entity expansion.
_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?(Default|Override|Relationship)\b([^>]*)>")
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def sniff(path: Path | bytes | BinaryIO) -> FileType:
    """The type of the file at `path` (or of these bytes, or of this open file), from its content;
    Refused (with the reason) otherwise."""
    if isinstance(path, bytes):
        head = path[:16]
    elif not isinstance(path, Path):
        path.seek(0)
        head = path.read(16)
        path.seek(0)
    else:
        with path.open("rb") as f:
            head = f.read(16)
    if head.startswith(b"%PDF-"):
        return _pdf(path)
    if head.startswith(PNG_SIGNATURE) and head[8:16] == b"\x00\x00\x00\x0dIHDR":
        return PNG
    if head.startswith(b"\xff\xd8\xff") and len(head) > 3 and head[3] >= 0xC0:
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        return _zip(path)
    if head.startswith(OLE2_SIGNATURE):
        # A password-protected DOCX or XLSX is an OLE2 file holding an "EncryptedPackage" stream;
        # anything else in OLE2 is an old Word or Excel file (.doc, .xls), which we do not take.
        data = _bytes(path)
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise Refused(PASSWORD_MESSAGE)
        if "WordDocument".encode("utf-16-le") in data:
            raise Refused(LEGACY_WORD_MESSAGE)
        if "Workbook".encode("utf-16-le") in data or "Book\0".encode("utf-16-le") in data:
            raise Refused(LEGACY_EXCEL_MESSAGE)
        raise Refused(TYPE_MESSAGE)
    raise Refused(TYPE_MESSAGE)


def _bytes(source: Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, Path):
        return source.read_bytes()
    source.seek(0)
    return source.read()


def _pdf(path: Path | bytes | BinaryIO) -> FileType:
    data = _bytes(path)
    if not re.match(rb"%PDF-\d\.\d", data):
        raise Refused(TYPE_MESSAGE)
    if PDF_ENCRYPT.search(data):
        raise Refused(PASSWORD_MESSAGE)
    return PDF


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    with zf.open(name) as entry:
        return entry.read(XML_READ_LIMIT)


def check_expansion(infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP container that would expand too far when opened (a "zip bomb"): by the sizes
    its entries declare. Python's zipfile never reads past an entry's declared size (it fails the
    CRC check instead), so the declared sizes bound what any reader of the file will hold."""
    total = 0
    for info in infos:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > ZIP_ENTRY_CHECKED and ratio > ZIP_MAX_RATIO:
            raise Refused(EXPANDS_MESSAGE)
    if total > ZIP_MAX_EXPANDED:
        raise Refused(EXPANDS_MESSAGE)


def _zip(path: Path | bytes | BinaryIO) -> FileType:
    try:
        with zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path) as zf:
            infos = zf.infolist()
            if len(infos) > ZIP_MAX_ENTRIES:
                raise Refused(TYPE_MESSAGE)
            check_expansion(infos)
            if any(info.flag_bits & 0x1 for info in infos):  # ZIP-level encryption
                raise Refused(PASSWORD_MESSAGE)
            names = {info.filename for info in infos}
            lower = {name.lower() for name in names}
            if any(
                n.endswith(("vbaproject.bin", "vbadata.xml")) or n.startswith(("basic/", "scripts/")) for n in lower
            ):
                raise Refused(MACROS_MESSAGE)
            if "mimetype" in names:
                return _odf(zf, names)
            if "[Content_Types].xml" in names:
                return _ooxml(zf, names)
    except Refused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, KeyError,
            NotImplementedError, RuntimeError) as exc:  # fmt: skip
        log.info("Refused a ZIP file that could not be read: %s", exc)
    raise Refused(TYPE_MESSAGE)


def _odf(zf: zipfile.ZipFile, names: set[str]) -> FileType:
    if _read(zf, "mimetype").strip() != ODT.mimetype.encode():
        raise Refused(TYPE_MESSAGE)  # a spreadsheet, presentation or template: not ODT
    if "content.xml" not in names or "META-INF/manifest.xml" not in names:
        raise Refused(TYPE_MESSAGE)
    if b"encryption-data" in _read(zf, "META-INF/manifest.xml"):
        raise Refused(PASSWORD_MESSAGE)
    return ODT


def _elements(xml: bytes) -> list[tuple[str, dict[str, str]]]:
    return [
        (
            m.group(1).decode(),
            {
                a.group(1).decode(): (a.group(2) or a.group(3) or b"").decode("utf-8", "replace")
                for a in _ATTRIBUTE.finditer(m.group(2))
            },
        )
        for m in _ELEMENT.finditer(xml)
    ]


def _ooxml(zf: zipfile.ZipFile, names: set[str]) -> FileType:
    """An Office Open XML package (OPC): _rels/.rels names the main part (officeDocument), and
    [Content_Types].xml gives its type, by an Override for the part or a Default for its extension."""
    overrides, defaults = {}, {}
    for tag, attributes in _elements(_read(zf, "[Content_Types].xml")):
        content_type = attributes.get("ContentType", "")
        if tag == "Override":
            overrides[attributes.get("PartName", "").lstrip("/").lower()] = content_type
        elif tag == "Default":
            defaults[attributes.get("Extension", "").lower()] = content_type
    declared = [t.lower() for t in (*overrides.values(), *defaults.values())]
    if any("macroenabled" in t or "vbaproject" in t for t in declared):
        raise Refused(MACROS_MESSAGE)
    if "_rels/.rels" not in names:
        raise Refused(TYPE_MESSAGE)
    parts = {name.lower() for name in names}  # part names are case-insensitive
    for tag, attributes in _elements(_read(zf, "_rels/.rels")):
        if tag != "Relationship" or not attributes.get("Type", "").endswith("/officeDocument"):
            continue
        part = attributes.get("Target", "").lstrip("/").lower()
        content_type = overrides.get(part) or defaults.get(part.rpartition(".")[2], "")
        kind = OOXML_MAIN.get(content_type)
        if kind is not None and part in parts:
            return kind
    raise Refused(TYPE_MESSAGE)  # a presentation, a template, or not an Office file at all


# --- names -----------------------------------------------------------------------------------------

# Extensions that a name may end with which say what the file is: a file whose content is of another
# type gets the right extension instead ("report.pdf" holding a DOCX becomes "report.docx").
KNOWN_EXTENSIONS = {ext for t in TYPES for ext in t.extensions} | {
    ".doc", ".docm", ".dot", ".dotx", ".xls", ".xlsm", ".xlsb", ".xlt", ".xltx", ".ods", ".odp", ".ott",
    ".ppt", ".pptx", ".rtf", ".txt", ".csv", ".htm", ".html", ".svg", ".gif", ".bmp", ".tif", ".tiff",
    ".webp", ".heic", ".zip", ".exe", ".msi", ".dll", ".com", ".bat", ".cmd", ".scr", ".ps1", ".sh",
    ".js", ".jar", ".apk", ".bin",
}  # fmt: skip
MAX_NAME_LENGTH = 150
_WINDOWS_RESERVED = re.compile(r'[<>:|?*"]')


def safe_filename(raw: str | None, kind: FileType) -> str:
    """The user's file name, safe to show and to send back in Content-Disposition: no folders,
    control or bidirectional-override characters, quotes or line breaks; an extension that
    matches the content; at most MAX_NAME_LENGTH characters."""
    name = re.split(r"[\\/]", raw or "")[-1]  # some browsers send the whole path
    name = unicodedata.normalize("NFC", name)
    cleaned = []
    for ch in name:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zs", "Zl", "Zp"):
            cleaned.append(" ")
        elif category in ("Cf", "Cs", "Co", "Cn"):
            continue  # right-to-left overrides ("cod.exe" shown as "exe.doc"), zero-width characters
        elif ch == '"':
            cleaned.append("'")
        elif _WINDOWS_RESERVED.match(ch):
            cleaned.append("_")
        else:
            cleaned.append(ch)
    name = re.sub(r" +", " ", "".join(cleaned)).strip(" .")
    stem, dot, ext = name.rpartition(".")
    ext = f".{ext}".lower() if dot else ""
    if dot and stem and ext in KNOWN_EXTENSIONS:
        ext = ext if ext in kind.extensions else kind.extension
    else:
        stem, ext = name, kind.extension
    stem = stem.strip(" .")[: MAX_NAME_LENGTH - len(ext)].strip(" .") or "document"
    return stem + ext


def _extension(name: str | None) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    return os.path.splitext(base)[1].lower()


# RFC 5987 attr-char, besides letters and digits.
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(filename: str) -> str:
    """`attachment; filename="..."` with an ASCII fallback, plus `filename*=UTF-8''...` (RFC 5987/6266)
    when the name is not plain ASCII. The name has been through safe_filename()."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    # No quotes, backslashes or control characters; no % either, which some browsers would decode.
    ascii_name = re.sub(r'[^\x20-\x7e]|["\\%]', "_", ascii_name)
    ascii_name = re.sub(r" +", " ", ascii_name).strip(" .")
    stem, _, ext = filename.rpartition(".")
    if not re.search(r"[A-Za-z0-9]", ascii_name.rpartition(".")[0]):
        ascii_name = f"document.{ext}" if stem else "document"
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe=_ATTR_CHARS)}"
    return value


# --- storage -------------------------------------------------------------------------------------
#
# Files go through app/storage.py under the key "uploads/<stored name>" (in UPLOAD_FOLDER with the
# local backend, in the bucket with S3).


def upload_folder() -> Path:
    """UPLOAD_FOLDER (the local backend's folder for "uploads/" keys), made if need be."""
    folder = local_storage().roots["uploads"]
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def key_of(stored_name: str) -> str:
    """The storage key of a file stored under this random name (never a path from anywhere else)."""
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name or ""):
        raise ValueError(f"Unexpected stored name {stored_name!r}")
    return f"uploads/{stored_name}"


def document_key(attachment: Attachment) -> str:
    try:
        return key_of(attachment.stored_name)
    except ValueError:
        raise ValueError(f"Unexpected stored name for attachment {attachment.id}") from None


def stored_file(stored_name: str) -> Path:
    """Where the local backend keeps a file stored under this random name."""
    return local_storage().path(key_of(stored_name))


def stored_path(attachment: Attachment) -> Path:
    """Where the local backend keeps the document's file."""
    return local_storage().path(document_key(attachment))


# Keys to remove when the session's transaction ends: on commit (deleted documents) or when it
# ends without one (uploads whose rows were never committed).
_DELETE_ON_COMMIT = "documents.delete_on_commit"
_DELETE_UNLESS_COMMITTED = "documents.delete_unless_committed"


def _remove(key: str) -> None:
    try:
        storage().delete(key)
    except Exception:  # the row is gone either way; an orphan file is only wasted space
        log.exception("Could not remove the stored file %s", key)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the outer transaction may still roll back
        return
    session.info.pop(_DELETE_UNLESS_COMMITTED, None)
    for key in session.info.pop(_DELETE_ON_COMMIT, []):
        _remove(key)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    # Still here: the transaction ended without committing (rollback, failed commit, closed session).
    session.info.pop(_DELETE_ON_COMMIT, None)  # the rows are still there, so their files stay
    for key in session.info.pop(_DELETE_UNLESS_COMMITTED, []):
        _remove(key)


def remove_unless_committed(key: str) -> None:
    """Remove a just-stored file again if the transaction ends without committing."""
    db.session.info.setdefault(_DELETE_UNLESS_COMMITTED, []).append(key)


def store_checked(data: bytes) -> str:
    """Store the bytes of a file already read and checked (app/services/office) under a new random
    name, like an upload: removed again if the transaction ends without committing. Returns the
    stored name."""
    stored_name = secrets.token_hex(16)
    key = key_of(stored_name)
    try:
        storage().put(key, data)
    except Exception:
        log.exception("Could not store a file as %s", key)
        raise ServiceError(FAILED_MESSAGE, FIELD) from None
    remove_unless_committed(key)
    return stored_name


def remove_after_commit(key: str) -> None:
    """Remove a stored file once the transaction that stopped needing it commits (a failed commit
    leaves it in place, with the row that names it)."""
    db.session.info.setdefault(_DELETE_ON_COMMIT, []).append(key)


def _spool(stream: BinaryIO, limit: int) -> tuple[BinaryIO, int]:
    """Copy the upload to a private temporary file (to read its type before it is stored), stopping
    once it is over `limit` bytes."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the caller
    size = 0
    try:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise TooLarge
            spooled.write(chunk)
        spooled.flush()
        spooled.seek(0)
    except BaseException:
        spooled.close()
        raise
    return spooled, size


# --- the verbs -------------------------------------------------------------------------------------


@dataclass
class Uploaded:
    attachment: Attachment
    message: str  # what to tell the user, e.g. that the name's extension was corrected


def upload_document(actor: User, contribution: Contribution, upload, description: str | None = None) -> Uploaded:
    """Store an uploaded file (a Werkzeug FileStorage) as a supporting document of the contribution.

    Raises ServiceError(field="file") saying why when the file is refused."""
    check_editable(actor, contribution)
    description = (description or "").strip() or None
    if description and len(description) > DESCRIPTION_MAX:
        raise ServiceError(f"Description must be {DESCRIPTION_MAX} characters or fewer", "description")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    stored_name = secrets.token_hex(16)
    key = key_of(stored_name)
    try:
        spooled, size = _spool(upload.stream, limit)
    except TooLarge:
        raise ServiceError(size_message(limit), FIELD) from None
    except OSError:
        log.exception("Could not read an upload")
        raise ServiceError(FAILED_MESSAGE, FIELD) from None
    with spooled:
        if size == 0:
            raise ServiceError(EMPTY_MESSAGE, FIELD)
        try:
            kind = sniff(spooled)
        except Refused as exc:
            log.info("Refused an upload named %r: %s", upload.filename, exc)
            raise ServiceError(str(exc), FIELD) from None
        spooled.seek(0)
        try:
            stored = storage().put(key, spooled)
        except Exception:
            log.exception("Could not store an upload as %s", key)
            _remove(key)
            raise ServiceError(FAILED_MESSAGE, FIELD) from None
    remove_unless_committed(key)
    size, sha256 = stored.size, stored.sha256

    filename = safe_filename(upload.filename, kind)
    attachment = Attachment(
        filename=filename,
        stored_name=stored_name,
        content_type=kind.mimetype,
        size_bytes=size,
        sha256=sha256,
        description=description,
        uploaded_by_id=actor.id,
        scan_status=scanning.initial_status(),
    )
    contribution.attachments.append(attachment)
    touch(actor, contribution)
    db.session.flush()
    record(
        actor,
        "contribution.document_uploaded",
        contribution,
        f"{actor.full_name} uploaded {filename} to {contribution.csp.name}'s contribution",
        attachment_id=attachment.id,
        filename=filename,
        content_type=kind.mimetype,
        size_bytes=size,
        sha256=sha256,
    )
    db.session.flush()
    if attachment.scan_status == ScanStatus.PENDING:
        _request_scan(attachment)

    given = _extension(upload.filename)
    if given and given not in kind.extensions:
        message = f"{filename} has been uploaded. It is a {kind.label} file, so its name now ends in {kind.extension}"
    else:
        message = f"{filename} has been uploaded"
    if attachment.scan_status == ScanStatus.PENDING:
        message += ". It is being checked for viruses: it can be downloaded once the check has finished"
    return Uploaded(attachment, message)


def _request_scan(attachment: Attachment) -> None:
    """Ask for the document's virus check once this transaction commits (nothing on a rollback)."""
    from app.jobs import defer
    from app.jobs.scanning import scan_document as scan_document_task

    defer(scan_document_task, attachment.id)


def delete_document(actor: User, contribution: Contribution, attachment: Attachment) -> None:
    """Delete a supporting document; its file goes once the deletion is committed."""
    check_editable(actor, contribution)
    if attachment.contribution_id != contribution.id:
        raise ValueError("The document belongs to another contribution")
    key = document_key(attachment)
    summary = f"{actor.full_name} deleted {attachment.filename} from {contribution.csp.name}'s contribution"
    detail = {"attachment_id": attachment.id, "filename": attachment.filename, "sha256": attachment.sha256}
    contribution.attachments.remove(attachment)  # delete-orphan: the row goes at the flush
    touch(actor, contribution)
    record(actor, "contribution.document_deleted", contribution, summary, **detail)
    db.session.flush()
    remove_after_commit(key)


def download(attachment: Attachment):
    """The document's file streamed as a download (None when the file is missing). Only for a
    document whose status is `available` (clean, or never checked): the route refuses the others."""
    if not attachment.scan_status.available:
        raise ValueError(f"Attachment {attachment.id} is {attachment.scan_status.value}: it is not downloaded")
    return stored_download(document_key(attachment), attachment.content_type, content_disposition(attachment.filename))
