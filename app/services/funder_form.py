"""The funder's own Word application form of a round: upload (or replace), download, remove.

One form per round, uploaded by a lead bidder administrator; the collective bid can then be
exported into a copy of it (app/services/exports/funder_form.py). The form is export configuration,
not bid content: it can be changed until the bid has gone to the funder, signed off or not
(round.manage_funder_form in app/policy/rules.py), and changing it does not change the bid's version.

The file is opened only through app/services/office (check_docx: a real .docx, no macros, no zip
bomb, no content pulled in from other files; old .doc files refused saying how to convert them) and
stored like supporting documents (app/services/documents.py: UPLOAD_FOLDER, a random name, the file
removed again if the transaction does not commit; a replaced or removed form's file goes once the
change is committed).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Round, RoundFunderForm, User
from app.models.base import utcnow
from app.policy import require
from app.services import ServiceError, documents, office
from app.services.audit import record
from app.services.exports.content import SectionText
from app.services.exports.funder_form import fill, question_rows, section_label
from app.services.office import word
from app.storage import Missing, storage
from app.storage import download as stored_download

log = logging.getLogger(__name__)

NO_HEADINGS_MESSAGE = (
    "The selected file has no headings for the bid’s sections to go under – in Word, give each "
    "question a heading style (Heading 1, Heading 2) and upload it again"
)
MISSING_MESSAGE = "The round has no funder’s form – upload it and export again"


class NoFunderForm(Exception):
    """The export was asked for while the round had a form, which has since been removed."""


def funder_form_of(rnd: Round) -> RoundFunderForm | None:
    return db.session.scalar(select(RoundFunderForm).where(RoundFunderForm.round_id == rnd.id))


def form_key(form: RoundFunderForm) -> str:
    return documents.key_of(form.stored_name)


def stored_path(form: RoundFunderForm) -> Path:
    """Where the local backend keeps the form's file."""
    return documents.stored_file(form.stored_name)


def read_form(form: RoundFunderForm) -> bytes:
    return storage().read(form_key(form))


def download(form: RoundFunderForm):
    """The form's file streamed as a download (None when the file is missing)."""
    return stored_download(form_key(form), documents.DOCX.mimetype, documents.content_disposition(form.filename))


@dataclass
class Uploaded:
    form: RoundFunderForm
    replaced: str | None  # the name of the form it replaced
    message: str


def upload_funder_form(actor: User, rnd: Round, upload) -> Uploaded:
    """Store the funder's form for the round, replacing the one it had. Raises ServiceError
    (field "file") saying why a file is refused."""
    require(actor, "round.manage_funder_form", rnd)
    data, given_name = office.read_upload(upload, office.CHOOSE_DOCX_MESSAGE)
    return store_funder_form(actor, rnd, data, given_name)


def store_funder_form(actor: User, rnd: Round, data: bytes, given_name: str) -> Uploaded:
    """Store these bytes (checked again here) as the round's funder's form, replacing the one it had,
    audited: the upload on the form's page and the form kept from adding the round's sections both
    come here."""
    require(actor, "round.manage_funder_form", rnd)
    opened = office.check_docx(data, given_name)
    document = office.open_docx(opened)
    headings = [p.heading for p in word.read(document) if p.heading is not None]
    if not headings and not question_rows(document):
        raise ServiceError(NO_HEADINGS_MESSAGE, office.FIELD)

    filename = documents.safe_filename(given_name, documents.DOCX)
    stored_name = documents.store_checked(data)
    sha256 = hashlib.sha256(data).hexdigest()
    form = funder_form_of(rnd)
    replaced = None
    if form is None:
        form = RoundFunderForm(lead_bidder_id=rnd.lead_bidder_id, round_id=rnd.id)
        db.session.add(form)
    else:
        replaced = form.filename
        documents.remove_after_commit(form_key(form))
    form.filename, form.stored_name, form.size_bytes, form.sha256 = filename, stored_name, len(data), sha256
    form.uploaded_by_id = actor.id
    form.uploaded_at = utcnow()
    db.session.flush()
    if replaced is None:
        summary = f"{actor.full_name} uploaded the funder’s form {filename} for {rnd.title}"
    else:
        summary = f"{actor.full_name} replaced the funder’s form {replaced} with {filename} for {rnd.title}"
    record(actor, "round.funder_form_uploaded", rnd, summary, filename=filename, size_bytes=len(data),
           sha256=sha256, replaced=replaced, headings=len(headings))
    db.session.flush()
    message = f"The funder’s form {filename} has been uploaded"
    if replaced is not None:
        message = f"The funder’s form has been replaced with {filename}"
    return Uploaded(form, replaced, message)


# --- a form uploaded to add the round's sections, kept for the export once they are saved -------------
#
# The sections' check page is stateless: the upload's POST keeps the checked file under the storage's
# "pending" folder under a random name and gives the page a reference to it, signed with the app's
# secret and naming the round and its lead bidder, so a changed or copied reference is refused. The
# POST that saves the sections stores it as the round's form (store_funder_form) and the pending copy
# goes once that commits; one never used goes after PENDING_MAX_AGE (the retention run removes it:
# app/services/retention.py).

PENDING_SALT = "funder-form-pending"
PENDING_MAX_AGE = 24 * 3600
PENDING_GONE_MESSAGE = (
    "The form you uploaded is no longer kept for the export – untick “Also use this form for the export "
    "into the funder’s form”, or upload the form again"
)


PENDING_PREFIX = "uploads/pending/"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=PENDING_SALT)


def hold_pending(rnd: Round, data: bytes, filename: str) -> str:
    """Keep checked bytes until the sections are saved; returns the signed reference for the page
    (no database write: a file under "uploads/pending/", removed after PENDING_MAX_AGE by the
    retention run)."""
    name = secrets.token_hex(16)
    try:
        storage().put(PENDING_PREFIX + name, data)
    except Exception:
        log.exception("Could not keep a pending funder's form")
        raise ServiceError(documents.FAILED_MESSAGE, office.FIELD) from None
    return _serializer().dumps({
        "round": rnd.id, "lead": rnd.lead_bidder_id, "name": name,
        "filename": documents.safe_filename(filename, documents.DOCX), "sha256": hashlib.sha256(data).hexdigest(),
    })


def store_pending(actor: User, rnd: Round, reference: str, *, field: str = "use_for_export") -> Uploaded | None:
    """Store the pending form this signed reference names as the round's funder's form. A reference
    that was changed, made for another round or lead bidder, or has expired is refused
    (ServiceError on `field`), as is a file that is not the one checked. None when the file is
    already the round's form (the same page sent again)."""
    require(actor, "round.manage_funder_form", rnd)
    try:
        held = _serializer().loads(reference or "", max_age=PENDING_MAX_AGE)
    except BadData:
        log.warning("Refused a pending funder's form reference for round %s", rnd.id)
        raise ServiceError(PENDING_GONE_MESSAGE, field) from None
    if not isinstance(held, dict) or held.get("round") != rnd.id or held.get("lead") != rnd.lead_bidder_id:
        log.warning("Refused a pending funder's form reference made for another round (round %s)", rnd.id)
        raise ServiceError(PENDING_GONE_MESSAGE, field)
    name = str(held.get("name", ""))
    if not all(c in "0123456789abcdef" for c in name) or len(name) != 32:
        raise ServiceError(PENDING_GONE_MESSAGE, field)
    key = PENDING_PREFIX + name
    current = funder_form_of(rnd)
    if current is not None and current.sha256 == held.get("sha256"):  # saved already (the page sent again)
        documents.remove_after_commit(key)
        return None
    try:
        data = storage().read(key)
    except Missing:
        raise ServiceError(PENDING_GONE_MESSAGE, field) from None
    if hashlib.sha256(data).hexdigest() != held.get("sha256"):
        raise ServiceError(PENDING_GONE_MESSAGE, field)
    try:
        uploaded = store_funder_form(actor, rnd, data, str(held.get("filename", "")))
    except ServiceError as exc:
        raise ServiceError(exc.message, field) from None
    documents.remove_after_commit(key)
    return uploaded


def remove_funder_form(actor: User, rnd: Round) -> str:
    """Remove the round's form; its file goes once the removal is committed. Returns its name."""
    require(actor, "round.manage_funder_form", rnd)
    form = funder_form_of(rnd)
    if form is None:
        raise ServiceError("The round has no funder’s form to remove")
    key, filename, sha256 = form_key(form), form.filename, form.sha256
    db.session.delete(form)
    record(actor, "round.funder_form_removed", rnd,
           f"{actor.full_name} removed the funder’s form {filename} from {rnd.title}", filename=filename,
           sha256=sha256)
    db.session.flush()
    documents.remove_after_commit(key)
    return filename


# --- what the form's headings will get ---------------------------------------------------------------


@dataclass
class Plan:
    """How the round's sections pair with the form's headings, for the form's page."""

    pairs: list[tuple[object, str | None]]  # (section template, the heading it goes under or None)
    unused_headings: list[str]

    @property
    def unplaced(self) -> list:
        return [section for section, heading in self.pairs if heading is None]


def plan(rnd: Round, form: RoundFunderForm) -> Plan | None:
    """Which heading (or table question) of the form each section of the round's template goes
    under, found by filling a copy exactly as the export does (None when the stored file cannot be
    read: the page says so rather than failing)."""
    sections = list(rnd.sections)
    stand_ins = [SectionText(s.number, s.title, "-", None, 1) for s in sections]
    try:
        _data, report = fill(read_form(form), stand_ins, form.filename)
    except (OSError, ServiceError, ValueError):
        log.exception("Could not read the funder's form of round %s", rnd.id)
        return None
    where = {p.section: p.heading for p in report.placed}
    return Plan([(s, where.get(section_label(t))) for s, t in zip(sections, stand_ins, strict=True)],
                report.unused_headings)


# --- the export --------------------------------------------------------------------------------------


def render_bid_into_form(rnd: Round, content) -> tuple[bytes, dict]:
    """The export of the collective bid into the round's form (app/services/exports)."""
    from app.services.exports.funder_form import render_into_form

    form = funder_form_of(rnd)
    if form is None:
        raise NoFunderForm(MISSING_MESSAGE)
    data, report = render_into_form(content, read_form(form), form.filename)
    report["form_sha256"] = form.sha256
    return data, report
