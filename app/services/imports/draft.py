"""A CSP's Word draft, imported into its contribution's sections; and the Word template to draft in.

CSPs write in Word. They download a template of their contribution (the round's sections they
write, as numbered headings with the guidance and their word limit under each), write under the
headings, and upload it. The upload is opened through app.services.office (zip bombs, macros, old
.doc files and linked content refused) and read with app.services.office.word: each heading is
paired with a section by its number and title, tolerant of small differences.

Nothing is written until the CSP confirms the preview. Then each section they ticked is saved
through app.services.sections.save_section (a new revision, optimistic locking), as in progress,
against the version the preview showed. All or nothing: if any ticked section was saved by someone
else since the preview, nothing is imported and ImportConflict says which sections changed.

Decisions:
- Text over the CSP word limit is imported (a draft may be long; the section editor saves over the
  limit too), flagged in the preview; marking a section completed still needs text within it.
- An imported section is saved as in progress, even if it was completed: the CSP checks it and
  marks it completed in the section editor.
- The template's guidance, word limit line and instructions are left out when they are still in the
  document unchanged, so the round trip imports only what the CSP wrote.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Contribution, SectionResponse, SectionTemplate, User
from app.policy import require
from app.services import ServiceError, office
from app.services.audit import record
from app.services.contributions import csp_sections
from app.services.office import word
from app.services.sections import MAX_CHARACTERS, SectionConflict, save_section
from app.text import Diff, clean_text, count_words, diff_texts, normalise

IMPORT_ACTION = "contribution.import_draft"
TEMPLATE_ACTION = "contribution.draft_template"

INSTRUCTIONS = [
    "Write your contribution under each heading. Keep the headings as they are: when you upload this "
    "document, the text under each heading goes into that section of your contribution.",
    "You can delete the guidance under each heading or leave it: it is not imported. Write in "
    "paragraphs, bullet points, numbered lists or tables.",
]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FIRST_WORDS = 12
NONE_CHOSEN_MESSAGE = "Select the sections to import"


def limit_line(section: SectionTemplate) -> str:
    if section.csp_word_limit is None:
        return "No word limit for your part"
    return f"Word limit for your part: {section.csp_word_limit:,}"


def first_words(text: str, n: int = FIRST_WORDS) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def _boilerplate(sections: list[SectionTemplate]) -> set[str]:
    """The template's own words (instructions, guidance, word limit lines), as compared."""
    found = {" ".join(line.split()) for line in INSTRUCTIONS}
    for section in sections:
        found.add(limit_line(section))
        found.update(_paragraphs(section.guidance))
    return found


def _without(text: str, boilerplate: set[str]) -> str:
    """The text without the paragraphs that are the template's own, unchanged."""
    kept = [p for p in re.split(r"\n\s*\n", text) if " ".join(p.split()) not in boilerplate]
    return normalise("\n\n".join(kept))


# --- the preview ----------------------------------------------------------------------------------


@dataclass
class SectionPreview:
    section: SectionTemplate
    text: str  # what was found under its heading ("" if nothing)
    heading: str | None  # the document's heading it was found under
    saved_text: str  # what the section has now
    version: int  # the version of the saved text the preview was made against (0: never saved)
    completed: bool

    @property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def saved_words(self) -> int:
        return count_words(self.saved_text)

    @property
    def limit(self) -> int | None:
        return self.section.csp_word_limit

    @property
    def found(self) -> bool:
        return bool(self.text)

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.words > self.limit

    @property
    def too_long(self) -> bool:
        return len(self.text) > MAX_CHARACTERS

    @property
    def importable(self) -> bool:
        return self.found and not self.too_long

    @property
    def unchanged(self) -> bool:
        return self.text == self.saved_text


@dataclass
class Unmatched:
    heading: str | None  # None: the text before the first heading
    first_words: str


@dataclass
class Preview:
    filename: str
    sections: list[SectionPreview]
    unmatched: list[Unmatched] = field(default_factory=list)
    conflicts: dict[int, SectionResponse] = field(default_factory=dict)  # section id -> newer saved text
    diffs: dict[int, Diff] = field(default_factory=dict)  # section id -> the draft compared with the newer text

    @property
    def found(self) -> list[SectionPreview]:
        return [s for s in self.sections if s.found]

    @property
    def missing(self) -> list[SectionPreview]:
        return [s for s in self.sections if not s.found]


def _saved(contribution: Contribution) -> dict[int, SectionResponse]:
    """Every section's saved response, in one query, as the database has it now."""
    rows = db.session.scalars(
        select(SectionResponse)
        .where(SectionResponse.contribution_id == contribution.id)
        .execution_options(populate_existing=True)
    )
    return {r.section_id: r for r in rows}


def _section_preview(section, text, heading, saved: SectionResponse | None) -> SectionPreview:
    return SectionPreview(
        section=section,
        text=text,
        heading=heading,
        saved_text=saved.text if saved else "",
        version=saved.version if saved else 0,
        completed=bool(saved and saved.completed),
    )


def read_draft(document, sections: list[SectionTemplate]) -> tuple[dict[int, tuple[str, str]], list[Unmatched]]:
    """{section id: (text, heading)} for the sections found in the document, and what matched none.

    A lower-level heading that matches no section (a "Heading 2" inside a section) stays in the
    section above it, as a line of its text; a Title is the document's, never a section's."""
    boilerplate = _boilerplate(sections)
    parts = word.read(document)
    pairs, unmatched_parts = word.match(parts, sections)
    section_of = {id(part): section for section, part in pairs if part is not None}
    loose = {id(part) for part in unmatched_parts}
    texts: dict[int, list[str]] = {}
    headings: dict[int, str] = {}
    unmatched: list[Unmatched] = []
    current = None  # (section, its heading's level) whose text is being read
    for part in parts:
        text = _without(clean_text(part.text), boilerplate)
        if id(part) in section_of:
            section = section_of[id(part)]
            current = (section, part.heading.level)
            texts[section.id] = [text]
            headings[section.id] = part.heading.text
        elif id(part) in loose and current and part.heading.level > current[1]:
            texts[current[0].id].append(normalise(f"{part.heading.text}\n\n{text}"))
        elif part.heading is None or part.heading.level == 0 or id(part) in loose:
            current = None
            heading = part.heading.text if part.heading is not None and part.heading.level > 0 else None
            if text or heading:
                unmatched.append(Unmatched(heading, first_words(text)))
    found = {}
    for section_id, pieces in texts.items():
        text = normalise("\n\n".join(p for p in pieces if p))
        if text:
            found[section_id] = (text, headings[section_id])
    return found, unmatched


def preview(actor: User, contribution: Contribution, upload) -> Preview:
    """What importing this uploaded Word document would do: nothing is written.
    Raises ServiceError(field="file") when the file is refused or cannot be read."""
    require(actor, IMPORT_ACTION, contribution)
    document, opened = office.docx_from_upload(upload)
    return preview_document(contribution, document, opened.filename)


def preview_document(contribution: Contribution, document, filename: str) -> Preview:
    sections = csp_sections(contribution)
    try:
        found, unmatched = read_draft(document, sections)
    except Exception as exc:  # a package python-docx opens but whose parts are not as Word writes them  # noqa: BLE001
        raise ServiceError(office.UNREADABLE_MESSAGE, office.FIELD) from exc
    saved = _saved(contribution)
    previews = [
        _section_preview(s, *found.get(s.id, ("", None)), saved.get(s.id)) for s in sections
    ]
    return Preview(filename, previews, unmatched)


# --- confirming -----------------------------------------------------------------------------------


@dataclass
class Chosen:
    """One section the CSP ticked: the text the preview showed and the version it was made against."""

    section_id: int
    text: str
    version: int


class ImportConflict(ServiceError):
    """A ticked section was saved since the preview. Nothing was imported. `preview` is the preview
    again, against the versions saved now, with the newer texts in `preview.conflicts`."""

    def __init__(self, preview: Preview):
        names = ", ".join(f"{s.section.number}. {s.section.title}" for s in preview.sections
                          if s.section.id in preview.conflicts)
        super().__init__(f"Nothing was imported: these sections have changed since you uploaded your draft: {names}")
        self.preview = preview


def restate(contribution: Contribution, texts: dict[int, str], filename: str, versions: dict[int, int] | None = None,
            unmatched: list[Unmatched] | None = None) -> Preview:
    """The preview of texts carried by a confirm form (versions: as the form says; else as saved now)."""
    saved = _saved(contribution)
    previews = []
    for section in csp_sections(contribution):
        item = _section_preview(section, normalise(clean_text(texts.get(section.id, ""))), None, saved.get(section.id))
        if versions is not None and section.id in versions:
            item.version = versions[section.id]
        previews.append(item)
    return Preview(filename, previews, unmatched or [])


@dataclass
class Imported:
    sections: list[SectionTemplate]  # saved as a new revision
    unchanged: list[SectionTemplate]  # ticked, but the text was already the saved text


def import_sections(actor: User, contribution: Contribution, chosen: list[Chosen], filename: str = "") -> Imported:
    """Save each chosen section's text as a new revision (in progress), all or nothing.

    Raises ImportConflict (nothing written before it is raised, or the request must roll back when
    a save raced this one) and ServiceError (nothing chosen, a section not the CSP's, too long)."""
    require(actor, IMPORT_ACTION, contribution)
    if not chosen:
        raise ServiceError(NONE_CHOSEN_MESSAGE, "sections")
    sections = {s.id: s for s in csp_sections(contribution)}
    if any(c.section_id not in sections for c in chosen):
        raise ServiceError("This section is not part of the contribution", "sections")
    empty = [sections[c.section_id] for c in chosen if not normalise(c.text)]
    if empty:  # never blank a section: only text found in the document is imported
        raise ServiceError(f"No text was found for section {empty[0].number}. {empty[0].title}", "sections")
    saved = _saved(contribution)
    versions = {sid: response.version for sid, response in saved.items()}
    changed = {c.section_id for c in chosen if versions.get(c.section_id, 0) != c.version}
    texts = {c.section_id: c.text for c in chosen}
    if changed:
        raise _conflict(contribution, texts, filename, changed, saved)

    done, same = [], []
    for c in chosen:
        section = sections[c.section_id]
        try:
            result = save_section(actor, contribution, section, c.text, c.version, completed=False)
        except SectionConflict:  # saved by someone else between the check above and this save
            raise _conflict(contribution, texts, filename, {c.section_id}, _saved(contribution)) from None
        except ServiceError as exc:
            raise ServiceError(f"Section {section.number}. {section.title}: {exc.message}", "sections") from None
        (done if result.changed else same).append(section)
    if done:
        record(
            actor,
            "contribution.draft_imported",
            contribution,
            f"{actor.full_name} imported a Word draft{f' ({filename})' if filename else ''} into "
            f"{len(done)} section{'s' if len(done) != 1 else ''} of {contribution.csp.name}'s contribution: "
            + ", ".join(f"{s.number}. {s.title}" for s in done),
            sections=[s.id for s in done],
            filename=filename,
        )
        db.session.flush()
    return Imported(done, same)


def _conflict(contribution, texts, filename, changed: set[int], saved: dict[int, SectionResponse]) -> ImportConflict:
    again = restate(contribution, texts, filename)
    again.conflicts = {sid: saved[sid] for sid in changed if sid in saved}
    again.diffs = {sid: diff_texts(saved[sid].text, texts.get(sid, "")) for sid in again.conflicts}
    for item in again.sections:
        item.version = saved[item.section.id].version if item.section.id in saved else 0
    return ImportConflict(again)


# --- the Word template ----------------------------------------------------------------------------


def template_filename(contribution: Contribution) -> str:
    name = f"{contribution.csp.name} - {contribution.round.title} - draft.docx"
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", name)


def template_docx(actor: User, contribution: Contribution) -> bytes:
    """A Word document to draft the contribution in: the sections the CSP writes as numbered
    headings, each with its guidance and the CSP's word limit under it."""
    require(actor, TEMPLATE_ACTION, contribution)
    from docx import Document
    from docx.shared import Pt, RGBColor

    document = Document()
    styles = document.styles
    styles["Normal"].font.name = "Arial"
    styles["Normal"].font.size = Pt(11)
    grey = RGBColor(0x50, 0x5A, 0x5F)
    props = document.core_properties
    props.title = f"{contribution.csp.name}: {contribution.round.title}"
    props.author = contribution.csp.name
    document.add_heading(f"{contribution.csp.name}: {contribution.round.title}", level=0)
    for line in INSTRUCTIONS:
        document.add_paragraph(line)
    for section in csp_sections(contribution):
        document.add_heading(f"{section.number}. {section.title}", level=1)
        for paragraph in _paragraphs(section.guidance):
            run = document.add_paragraph().add_run(paragraph)
            run.italic, run.font.color.rgb = True, grey
        run = document.add_paragraph().add_run(limit_line(section))
        run.bold, run.font.color.rgb = True, grey
        document.add_paragraph()
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
