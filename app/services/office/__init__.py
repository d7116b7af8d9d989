"""Opening Word (.docx) and Excel (.xlsx) files that people upload, safely: one place for it.

Every import (a contribution's Word draft, a budget sheet, the funder's application form) opens
its file here. The checks are the supporting documents' (app/services/documents.py: the type from
the content, never the name; macros, passwords and old .doc/.xls files refused saying why; a
"zip bomb" refused by the sizes it declares) and, for imports:

- nothing in the file is ever run or fetched: macros are refused; Excel formulas are read as the
  values Excel saved with them (openpyxl's data_only), never worked out; links to other files
  (an attached template, linked data, a linked picture) are never followed;
- a Word file that would pull content from elsewhere when opened in Word (an attached template,
  a linked sub-document or frame, a linked OLE object) is refused, because what we read is not
  what its author sees;
- XML is parsed without entity expansion or network access (python-docx's parser; openpyxl uses
  defusedxml when it is installed, and it is pinned in requirements.txt).
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass, field

from flask import current_app

from app.services import ServiceError, documents

log = logging.getLogger(__name__)

FIELD = "file"

CHOOSE_DOCX_MESSAGE = "Select a Word document (.docx)"
CHOOSE_XLSX_MESSAGE = "Select an Excel workbook (.xlsx)"
NOT_DOCX_MESSAGE = "The selected file must be a Word document (.docx)"
NOT_XLSX_MESSAGE = "The selected file must be an Excel workbook (.xlsx)"
UNREADABLE_MESSAGE = "The selected file could not be read – open it, save it again and upload the new copy"
LINKED_MESSAGE = (
    "The selected file takes some of its content from other files (a linked template, document or "
    "object) – in Word, break the links or save a copy without them, and upload that copy"
)

# Relationship types that make Word fetch or embed another file's content when the document opens.
# Hyperlinks are fine: they are only followed if a reader clicks them.
_PULLS_CONTENT = ("/attachedTemplate", "/subDocument", "/frame", "/oleObject", "/package")


@dataclass
class Opened:
    """A checked file: its bytes, its name as given, and what it links to outside itself."""

    data: bytes
    filename: str
    external_links: list[str] = field(default_factory=list)  # relationship types with an external target


def read_upload(upload, choose_message: str) -> tuple[bytes, str]:
    """The bytes of an uploaded file (a Werkzeug FileStorage), refusing an empty or missing one
    and one over MAX_UPLOAD_BYTES."""
    if upload is None or not getattr(upload, "filename", ""):
        raise ServiceError(choose_message, FIELD)
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise ServiceError(documents.size_message(limit), FIELD)
    if not data:
        raise ServiceError(documents.EMPTY_MESSAGE, FIELD)
    return data, upload.filename


def _check(data: bytes, filename: str, expected: documents.FileType, wrong_type: str) -> Opened:
    try:
        kind = documents.sniff(data)
    except documents.Refused as exc:
        message = str(exc)
        if message == documents.TYPE_MESSAGE:
            message = wrong_type
        log.info("Refused an import named %r: %s", filename, message)
        raise ServiceError(message, FIELD) from None
    if kind is not expected:
        raise ServiceError(wrong_type, FIELD)
    return Opened(data, filename, _external_links(data))


def _external_links(data: bytes) -> list[str]:
    """The types of the package's relationships whose target is outside it (TargetMode="External")."""
    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if not name.endswith(".rels"):
                continue
            with zf.open(name) as entry:
                xml = entry.read(documents.XML_READ_LIMIT)
            for tag, attributes in documents._elements(xml):
                if tag == "Relationship" and attributes.get("TargetMode", "").lower() == "external":
                    found.append(attributes.get("Type", ""))
    return found


def check_docx(data: bytes, filename: str = "") -> Opened:
    """Check a Word document's bytes: a real .docx, not too big, no macros, no content pulled in
    from other files. Raises ServiceError(field="file") saying why."""
    opened = _check(data, filename, documents.DOCX, NOT_DOCX_MESSAGE)
    if any(kind.endswith(_PULLS_CONTENT) for kind in opened.external_links):
        raise ServiceError(LINKED_MESSAGE, FIELD)
    return opened


def check_xlsx(data: bytes, filename: str = "") -> Opened:
    """Check an Excel workbook's bytes: a real .xlsx, not too big, no macros. Links to other
    workbooks are allowed (their cells are read as the values Excel saved) and listed."""
    return _check(data, filename, documents.XLSX, NOT_XLSX_MESSAGE)


def open_docx(opened: Opened):
    """A python-docx Document of a checked file."""
    import docx

    try:
        return docx.Document(io.BytesIO(opened.data))
    except Exception as exc:  # python-docx raises many kinds on a damaged package  # noqa: BLE001
        log.info("Could not read a Word document named %r: %r", opened.filename, exc)
        raise ServiceError(UNREADABLE_MESSAGE, FIELD) from None


def open_xlsx(opened: Opened):
    """An openpyxl Workbook of a checked file, with each formula cell holding the value Excel
    saved for it (data_only): no formula is ever worked out here."""
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(opened.data), data_only=True, read_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package  # noqa: BLE001
        log.info("Could not read an Excel workbook named %r: %r", opened.filename, exc)
        raise ServiceError(UNREADABLE_MESSAGE, FIELD) from None


def docx_from_upload(upload):
    """Read, check and open an uploaded Word document: (python-docx Document, Opened)."""
    data, filename = read_upload(upload, CHOOSE_DOCX_MESSAGE)
    opened = check_docx(data, filename)
    return open_docx(opened), opened


def survey_xlsx(opened: Opened, survey) -> None:
    """Call `survey(workbook)` with the checked file opened read-only and streamed row by row, its
    formula cells holding their formulas as text ("=B2*12"), never their values nor run. Reading
    a few rows this way is quick whatever the file's size: it lets an import refuse a sheet too big
    to load whole, or note which cells are formulas, before open_xlsx() loads every cell."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(opened.data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package  # noqa: BLE001
        log.info("Could not read an Excel workbook named %r: %r", opened.filename, exc)
        raise ServiceError(UNREADABLE_MESSAGE, FIELD) from None
    try:
        survey(workbook)
    except ServiceError:
        raise
    except Exception as exc:  # a damaged sheet shows only when its rows are read  # noqa: BLE001
        log.info("Could not read an Excel workbook named %r: %r", opened.filename, exc)
        raise ServiceError(UNREADABLE_MESSAGE, FIELD) from None
    finally:
        workbook.close()


def xlsx_from_upload(upload, *, survey=None):
    """Read, check and open an uploaded Excel workbook: (openpyxl Workbook, Opened).

    `survey`, when given, is first called with the workbook streamed (see survey_xlsx); it may
    raise ServiceError to refuse the file before it is loaded whole."""
    data, filename = read_upload(upload, CHOOSE_XLSX_MESSAGE)
    opened = check_xlsx(data, filename)
    if survey is not None:
        survey_xlsx(opened, survey)
    return open_xlsx(opened), opened
