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
from dataclasses import dataclass
from pathlib import Path

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


def stored_path(form: RoundFunderForm) -> Path:
    return documents.stored_file(form.stored_name)


def read_form(form: RoundFunderForm) -> bytes:
    return stored_path(form).read_bytes()


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
        documents.remove_after_commit(stored_path(form))
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


def remove_funder_form(actor: User, rnd: Round) -> str:
    """Remove the round's form; its file goes once the removal is committed. Returns its name."""
    require(actor, "round.manage_funder_form", rnd)
    form = funder_form_of(rnd)
    if form is None:
        raise ServiceError("The round has no funder’s form to remove")
    path, filename, sha256 = stored_path(form), form.filename, form.sha256
    db.session.delete(form)
    record(actor, "round.funder_form_removed", rnd,
           f"{actor.full_name} removed the funder’s form {filename} from {rnd.title}", filename=filename,
           sha256=sha256)
    db.session.flush()
    documents.remove_after_commit(path)
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
