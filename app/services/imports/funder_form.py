"""Starting a round's sections from the funder's application form (a Word .docx).

The lead bidder's administrator uploads the form while the round is a draft; we read its questions
and show them to check and change before anything is saved (read_form: nothing is written), then
add them, or replace the round's sections with them (add_sections: each section through the
rounds service, so each is audited as if added by hand).

What we take from the funder's text:
- each question becomes a section: its heading (without its number: our sections are numbered by
  their place) is the title, and a word limit written in it ("(max 500 words)", "500 words max",
  "Word limit: 250", "(250 words)" ...) becomes the merged bid's word limit and leaves the title;
- the text under the heading is the guidance writers see, without the form's own instructions
  about where to type ("Please answer in the box below", "Click or tap here to enter text") and
  without a paragraph that only states the limit ("Word limit: 1,000"). A limit inside a sentence
  ("... in no more than 750 words") is the funder's wording: it stays, and sets the limit;
- the per-CSP limit is left for the lead to choose: the funder never sets it.

Which headings are questions: the form's questions are at one heading level (the level whose
headings have the most word limits, else the most text); a heading above that level ("Part B: Your
proposal") is a part of the form, not a question, and headings below it are folded into the
question's guidance. Each found section is ticked to be added unless it is a part of the form or
looks like the form's own pages ("Guidance notes", "Declaration", "Contact details" ...) with no
word limit: the lead can tick or untick any of them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import CollectiveBid, MergedSection, Round, RoundFunderForm, User
from app.policy import can, require
from app.services import ServiceError, office
from app.services import funder_form as funder_forms
from app.services import rounds as rounds_service
from app.services.audit import record
from app.services.office import word

log = logging.getLogger(__name__)

ACTION = "round.import_sections"
MAX_SECTIONS = 60  # more headings than a funder's form has questions: the rest are left out
TITLE_MAX = 200  # SectionTemplate.title
GUIDANCE_MAX = 5000  # as SectionForm allows
WORD_LIMIT_MAX = 100_000

# --- word limits ---------------------------------------------------------------------------------

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)"
_WORDS = r"words?\b"
_BEFORE = (
    r"(?:max(?:imum)?\b\.?(?:\s+of)?|up\s+to(?:\s+a\s+max(?:imum)?(?:\s+of)?)?|no\s+more\s+than|not\s+more\s+than"
    r"|(?:must\s+|should\s+|does\s+|do\s+)?(?:not\s+(?:to\s+)?)?exceed(?:ing)?|limited\s+to|a\s+limit\s+of"
    r"|no\s+longer\s+than|fewer\s+than|less\s+than)"
)
_LIMIT = re.compile(
    "|".join(
        [
            rf"\b{_BEFORE}\s*{_NUM}\s*-?\s*{_WORDS}",  # (max 500 words), no more than 400 words
            rf"\bword[\s-]*(?:limit|count|max(?:imum)?)\b\s*(?:[:=–—-]|is|of)?\s*(?:max(?:imum)?\b\.?\s*)?{_NUM}"
            rf"(?!\s*[%£$\d])(?:\s*{_WORDS})?",  # Word limit: 250
            rf"\b{_NUM}\s*-?\s*{_WORDS}\s*(?:max(?:imum)?\b\.?|limit\b)",  # 500 words max, 500-word limit
            rf"[(\[]\s*{_NUM}\s*{_WORDS}\s*[)\]]",  # (250 words)
        ]
    ),
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"[(\[][^()\[\]]*[)\]]")
_EDGE = r"[\s\-–—:;,.|/]+"


def find_word_limit(text: str) -> tuple[int | None, tuple[int, int] | None]:
    """The first word limit written in the text, and where it is written: (500, (start, end)) for
    "... (max 500 words)"; (None, None) when there is none. A limit of 0 or over 100,000 is not one."""
    for match in _LIMIT.finditer(text or ""):
        number = next(g for g in match.groups() if g is not None)
        value = int(number.replace(",", ""))
        if 1 <= value <= WORD_LIMIT_MAX:
            return value, match.span()
    return None, None


def word_limit(text: str) -> int | None:
    """The first word limit written in the text ("Word limit: 250" -> 250), or None."""
    return find_word_limit(text)[0]


def without_limit(text: str) -> tuple[str, int | None]:
    """The text without its word limit (and the brackets or dash around it), and the limit:
    "Local need (max 500 words)" -> ("Local need", 500)."""
    limit, span = find_word_limit(text)
    if span is None:
        return text.strip(), None
    start, end = span
    for bracket in _BRACKETED.finditer(text):
        if bracket.start() <= start and end <= bracket.end():
            start, end = bracket.span()
            break
    before, after = re.sub(_EDGE + "$", "", text[:start]), re.sub("^" + _EDGE, "", text[end:])
    joined = f"{before} {after}" if before and after else before or after
    return " ".join(joined.split()).strip(), limit


# --- the form's own instructions ------------------------------------------------------------------

_INSTRUCTIONS = [
    # about where to type: "Please answer in the box below", "Type your response in the space provided"
    r"(?:please\s+)?(?:answer|respond|reply|write|type|enter|insert|complete|provide|give)\b.{0,60}?"
    r"\b(?:box|boxes|space|field|cell|table|template)\b(?:\s+(?:below|above|provided|overleaf)(?:\s+it)?)*",
    r"(?:click|tap)(?:\s+or\s+(?:click|tap))?\s+here\s+to\s+enter\s+(?:a\s+)?(?:text|date)",  # Word's placeholder
    r"\[?\s*(?:insert|enter|type|add)\s+(?:your\s+)?(?:text|answer|response|details)(?:\s+here)?\s*\]?",
    r"(?:your\s+)?(?:answer|response)(?:\s+here)?",
    r"(?:the\s+)?(?:text\s+)?box(?:es)?\s+(?:will\s+)?expands?\b.*",
    r"\(?continue\s+on\s+(?:a\s+)?separate\s+sheets?(?:\s+if\s+(?:necessary|needed))?\)?",
]
_INSTRUCTION = re.compile(r"^(?:" + "|".join(_INSTRUCTIONS) + r")\s*[.:!]?$", re.IGNORECASE)


def is_instruction(paragraph: str) -> bool:
    """A paragraph that tells people how to fill in the form, not what the funder wants to know."""
    text = " ".join(paragraph.split())
    return len(text.split()) <= 20 and bool(_INSTRUCTION.match(text))


def guidance_from(text: str) -> tuple[str, int | None]:
    """The guidance under a question, without the form's instructions and without a paragraph that
    only states the word limit; and the word limit written in it."""
    limit = None
    kept = []
    for paragraph in re.split(r"\n\s*\n", text or ""):
        if not paragraph.strip() or is_instruction(paragraph):
            continue
        rest, found = without_limit(paragraph)
        limit = limit or found
        if found and not re.search(r"[^\W\d_]", re.sub(r"\b(?:please|note|words?)\b", "", rest, flags=re.I)):
            continue  # "Word limit: 1,000", "(Maximum 500 words)": said by the word limit itself
        kept.append(paragraph.strip())
    return "\n\n".join(kept), limit


# --- which headings are questions ----------------------------------------------------------------

_NOT_A_QUESTION = re.compile(
    r"^(?:guidance(?:\s+notes?)?(?:\s+for\s+applicants|\s+on\s+completing\s+(?:this|the)\s+form)?"
    r"|notes(?:\s+for\s+(?:applicants|guidance|completion))?|introduction|background(?:\s+to\s+the\s+fund)?"
    r"|about\s+(?:this|the)\s+(?:form|fund)|how\s+to\s+(?:apply|complete\s+(?:this|the)\s+form|use\s+this\s+form)"
    r"|before\s+you\s+(?:start|begin|apply)|declarations?(?:\s+and\s+signatures?)?|signatures?|sign[\s-]?off"
    r"|contact\s+(?:details|information)|(?:applicant|organisation|lead\s+bidder)(?:'s|s)?\s+details"
    r"|(?:application\s+|submission\s+)?checklist|data\s+protection(?:\s+statement)?|privacy(?:\s+notice)?"
    r"|freedom\s+of\s+information|terms\s+and\s+conditions|glossary|(?:table\s+of\s+)?contents"
    r"|(?:annex|appendix)(?:es|ices)?(?:\s+\w+)?|eligibility(?:\s+criteria)?|assessment(?:\s+criteria)?"
    r"|scoring(?:\s+criteria)?|key\s+dates|what\s+happens\s+next|next\s+steps|further\s+information"
    r"|part\s+\w+|section\s+\w+)$",
    re.IGNORECASE,
)
_PART_PREFIX = re.compile(r"^(?:part|section)\s+[a-z0-9]{1,3}\s*[:.\-–—]\s*", re.IGNORECASE)


def looks_like_the_forms_own(title: str) -> bool:
    """A heading of the form's own pages (guidance notes, declaration, contact details ...)."""
    plain = " ".join(re.sub(r"[^\w\s'-]", " ", title).split())
    return bool(_NOT_A_QUESTION.match(plain) or _NOT_A_QUESTION.match(_PART_PREFIX.sub("", plain)))


@dataclass
class FoundSection:
    """A section found in the funder's form, as the preview shows it."""

    title: str
    guidance: str = ""
    word_limit: int | None = None
    include: bool = True
    number: str | None = None  # as the form numbers it ("3", "2.1"), for the preview only
    heading: str = ""  # the heading as the form has it: "1. Summary of the proposal (max 250 words)"
    shortened: bool = False  # the funder's text was longer than guidance can be: its end is left out


@dataclass
class FoundForm:
    filename: str
    sections: list[FoundSection]
    left_out: int = 0  # found beyond MAX_SECTIONS
    # The round's funder's form for the export, when it has one, and whether this file is it (read
    # from it, or the same bytes uploaded again): then nothing is offered for the export.
    current: RoundFunderForm | None = None
    is_current: bool = False
    # The signed reference to this upload, kept to become the round's form for the export when the
    # sections are saved (app/services/funder_form.py: hold_pending); None when not offered.
    pending: str | None = None


def _question_level(rows) -> int:
    scores: dict[int, list[int]] = {}
    for level, limit, text in rows:
        score = scores.setdefault(level, [0, 0])
        score[0] += bool(limit)
        score[1] += bool(text)
    return max(scores, key=lambda level: (scores[level][0], scores[level][1], -level))


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut).rstrip() + "…"


def sections_in(parts: list[word.Part]) -> list[FoundSection]:
    """The sections a funder's form asks for, from word.read(document, questions=True)."""
    headed = [p for p in parts if p.heading is not None and p.heading.level >= 1]  # not the cover's Title
    if not headed:
        return []
    rows = []
    for part in headed:
        title, limit = without_limit(part.heading.title)
        guidance, text_limit = guidance_from(part.text)
        rows.append([part.heading, title, guidance, limit or text_limit])
    level = _question_level([(h.level, limit, guidance) for h, _, guidance, limit in rows])
    found: list[FoundSection] = []
    for heading, title, guidance, limit in rows:
        if heading.level > level and found:  # a sub-heading of a question: part of its guidance
            question = found[-1]
            question.guidance = "\n\n".join(t for t in (question.guidance, heading.title, guidance) if t)
            question.word_limit = question.word_limit or limit
            continue
        # A heading above the questions' level is a part of the form ("Part B: Your proposal").
        include = bool(limit) or (heading.level == level and not looks_like_the_forms_own(title))
        found.append(FoundSection(title, guidance, limit, include, heading.number, heading.text))
    for section in found:
        if len(section.title) > TITLE_MAX:  # a question too long to be a title: all of it in the guidance
            section.guidance = "\n\n".join(t for t in (section.title, section.guidance) if t)
            section.title = _cut(section.title, TITLE_MAX)
        if len(section.guidance) > GUIDANCE_MAX:
            section.guidance, section.shortened = _cut(section.guidance, GUIDANCE_MAX), True
    return found


def _found(document, filename: str) -> FoundForm:
    try:
        parts = word.read(document, questions=True)
    except (ValueError, KeyError, AttributeError) as exc:  # a package python-docx opened but cannot follow
        log.info("Could not read the headings of a funder's form named %r: %r", filename, exc)
        raise ServiceError(office.UNREADABLE_MESSAGE, office.FIELD) from None
    found = sections_in(parts)
    if not found:
        raise ServiceError(
            "The selected file has no headings or questions we could find – in Word, give each question a "
            "heading style (Heading 1 or Heading 2) and upload it again",
            office.FIELD,
        )
    return FoundForm(filename, found[:MAX_SECTIONS], max(0, len(found) - MAX_SECTIONS))


def read_form(actor: User, rnd: Round, upload) -> FoundForm:
    """The sections of an uploaded funder's form, to check before adding: nothing is saved in the
    database. The file is opened only through app/services/office (refusing zip bombs, macros, old
    .doc files and content linked from other files, each saying why). When the actor may set the
    round's funder's form and this file is not already it, the file is kept as pending (a file, no
    row) so that saving the sections can make it the form for the export too."""
    require(actor, ACTION, rnd)
    data, given_name = office.read_upload(upload, office.CHOOSE_DOCX_MESSAGE)
    opened = office.check_docx(data, given_name)
    found = _found(office.open_docx(opened), opened.filename)
    found.current = funder_forms.funder_form_of(rnd)
    found.is_current = found.current is not None and found.current.sha256 == hashlib.sha256(data).hexdigest()
    if not found.is_current and can(actor, "round.manage_funder_form", rnd):
        found.pending = funder_forms.hold_pending(rnd, data, opened.filename)
    return found


def read_stored_form(actor: User, rnd: Round) -> FoundForm:
    """The sections of the round's funder's form already uploaded for the export (no second upload),
    checked again like an upload; nothing is saved."""
    require(actor, ACTION, rnd)
    current = funder_forms.funder_form_of(rnd)
    if current is None:
        raise ServiceError("The round has no funder’s form uploaded – upload the form", office.FIELD)
    try:
        data = funder_forms.read_form(current)
    except (OSError, ValueError):
        log.exception("Could not read the funder's form of round %s", rnd.id)
        raise ServiceError(office.UNREADABLE_MESSAGE + " on the funder’s form page", office.FIELD) from None
    opened = office.check_docx(data, current.filename)
    found = _found(office.open_docx(opened), current.filename)
    found.current, found.is_current = current, True
    return found


# --- saving ---------------------------------------------------------------------------------------


@dataclass
class NewSection:
    title: str
    guidance: str = ""
    word_limit: int | None = None


def _check_replaceable(rnd: Round) -> None:
    """The round's sections can be replaced unless the lead has already written merged text for one
    (CSPs' text is checked by delete_section: in a draft round they have written none)."""
    written = db.session.scalars(
        select(MergedSection.section_id)
        .join(CollectiveBid, MergedSection.bid_id == CollectiveBid.id)
        .where(CollectiveBid.round_id == rnd.id, MergedSection.text != "")
        .limit(1)
    ).first()
    if written is not None:
        title = next((s.title for s in rnd.sections if s.id == written), "a section")
        raise ServiceError(
            f"The collective bid already has text for {title}, so the round's sections cannot be replaced. "
            "Add these sections after them instead",
            field="mode",
        )


def add_sections(actor: User, rnd: Round, sections: list[NewSection], *, replace: bool = False,
                 filename: str = "", for_export: str | None = None) -> int:
    """Add the checked sections after the round's own, or in their place (replace=True), each
    through the rounds service (audited there), and record the import. With `for_export` (the
    signed reference read_form gave), the uploaded file also becomes the round's funder's form for
    the export (app/services/funder_form.py, audited there). Returns how many were added."""
    require(actor, ACTION, rnd)
    if not sections:
        raise ServiceError("Select at least one section to add", field="sections")
    if for_export:
        funder_forms.store_pending(actor, rnd, for_export)
    removed = 0
    if replace:
        _check_replaceable(rnd)
        for section in list(rnd.sections):
            rounds_service.delete_section(actor, rnd, section)
            removed += 1
        db.session.flush()
    for section in sections:
        rounds_service.save_section(
            actor,
            rnd,
            None,
            title=section.title,
            guidance=section.guidance,
            word_limit=section.word_limit,
            csp_word_limit=None,
            required=True,
            csp_contributes=True,
        )
    filename = (filename or "")[:200]
    source = f" ({filename})" if filename else ""
    record(
        actor,
        "round.sections_imported",
        rnd,
        f"{'Replaced the sections of' if replace else 'Added sections to'} {rnd.title} with {len(sections)} "
        f"from the funder's form{source}",
        added=len(sections),
        removed=removed,
        filename=filename,
    )
    return len(sections)
