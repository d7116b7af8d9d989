"""The collective bid filled into a copy of the funder's own Word application form.

The form is read with app/services/office/word.py: `read()` gives its headings and what lies under
each, `match()` pairs them with the bid's sections by number and title. Each merged section's text
then goes where a person filling the form in would put it:

1. into the answer box under its heading: the first table before the next heading that has an
   empty cell or one holding placeholder text ("Enter your answer here", "[Insert text]", "Click or
   tap here to enter text."): a one-cell box, or the answer column of a question | answer row;
2. else in place of a placeholder paragraph under the heading;
3. else as paragraphs at the end of the heading's part (after the funder's guidance under the
   question, before the next heading);
4. a section with no heading of its own goes in the answer cell of a two-column table's row whose
   question matches it (forms that ask their questions in a table rather than as headings).

The text is laid out by app.text.blocks in the form's own styles: its Normal paragraphs (in a cell,
the cell's own paragraph style), its List Bullet and List Number styles when it has them (each
numbered list starting at its own first number), else plain paragraphs starting "•" or "1.".
Nothing else in the document is touched.

What could not be placed is reported, not guessed: sections whose heading is not in the form,
headings of the form that got no section, and sections with no text yet (their heading is left as
the funder made it). The budget, outcomes and partners are not placed: a funder's budget is its own
table or spreadsheet, which only a person can fill in faithfully (the Excel export has every total).
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import asdict, dataclass, field

from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from app.services import office
from app.services.exports.content import ExportContent, SectionText
from app.services.office import word
from app.text import blocks

W_P, W_TBL, W_TR, W_TC, W_SDT = qn("w:p"), qn("w:tbl"), qn("w:tr"), qn("w:tc"), qn("w:sdt")
W_PPR, W_TCPR, W_NUMPR, W_PSTYLE = qn("w:pPr"), qn("w:tcPr"), qn("w:numPr"), qn("w:pStyle")
W_SHOWING_PLACEHOLDER = qn("w:showingPlcHdr")

# Text that a form puts in an answer box for the applicant to replace.
PLACEHOLDER = re.compile(
    r"^\s*(?:"
    r"\[[^\[\]]{0,80}\]"  # [Insert text], [Your answer]
    r"|<[^<>]{0,80}>"  # <insert text>
    r"|(?:click|tap|click or tap) here to enter (?:text|a date)\.?"
    r"|(?:please )?(?:enter|insert|type|write|add) (?:your |the )?(?:answer|text|response|details)(?: here)?\.?"
    r"|(?:your )?(?:answer|response) here\.?"
    r")\s*$",
    re.IGNORECASE,
)

CELL, PLACEHOLDER_PARAGRAPH, AFTER_HEADING = "answer box", "placeholder", "under the heading"


@dataclass
class Placed:
    section: str  # "3. Target cohort"
    heading: str  # the form's heading, as it shows it
    where: str  # CELL, PLACEHOLDER_PARAGRAPH or AFTER_HEADING


@dataclass
class FillReport:
    """What happened to each section: stored with the export (ExportRecord.report)."""

    form_filename: str = ""
    form_sha256: str = ""
    placed: list[Placed] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)  # sections whose heading is not in the form
    empty: list[str] = field(default_factory=list)  # sections with no text yet (nothing put in)
    unused_headings: list[str] = field(default_factory=list)  # the form's headings that got no section

    def as_json(self) -> dict:
        return asdict(self)


def section_label(section: SectionText) -> str:
    return f"{section.number}. {section.title}"


# --- finding where an answer goes ------------------------------------------------------------------


def _text_of(container) -> str:
    return " ".join(word.paragraph_text(p) for p in container.iter(W_P)).strip()


def is_placeholder(container) -> bool:
    """An empty cell or paragraph, or one holding only a form's placeholder text."""
    if any(True for _ in container.iter(W_SHOWING_PLACEHOLDER)):
        return True
    text = _text_of(container)
    return not text or bool(PLACEHOLDER.match(text))


def _cells(tr) -> list:
    return list(tr.iterchildren(W_TC))


def _is_question(tc) -> bool:
    """A cell that asks something ("Describe the cohort", "What will change?"), not a label of a
    table of figures ("2018/19", "Staff costs")."""
    text = _text_of(tc)
    return not is_placeholder(tc) and (text.endswith("?") or len(text.split()) >= 3)


def answer_cell(tbl):
    """The cell of a table that takes the answer: a one-cell box; in a two-column table, the right
    cell of the first row whose left cell asks a question and whose right cell is empty or a
    placeholder; or an empty cell under a label in a one-column box. None when the table is not an
    answer box (a table of figures or information, or one already filled in)."""
    rows = list(tbl.iterchildren(W_TR))
    if len(rows) == 1 and len(_cells(rows[0])) == 1:
        tc = _cells(rows[0])[0]
        return tc if is_placeholder(tc) else None
    if all(len(_cells(tr)) <= 2 for tr in rows):
        for tr in rows:
            cells = _cells(tr)
            if len(cells) == 2 and is_placeholder(cells[1]) and _is_question(cells[0]):
                return cells[1]
    # A box of several rows in one column, the first a label: "Answer" above an empty cell.
    for tr in rows[1:]:
        cells = _cells(tr)
        if len(cells) == 1 and is_placeholder(cells[0]):
            return cells[0]
    return None


# --- writing paragraphs ------------------------------------------------------------------------------


class _Styles:
    """The form's own styles for what we write, when it has them."""

    def __init__(self, document):
        by_name = {s.name: s for s in document.styles if s.type == 1}  # paragraph styles
        self.bullet = by_name.get("List Bullet")
        self.number = by_name.get("List Number")
        self.numbering = None
        self.number_abstract = None
        if self.number is not None:
            try:
                numbering = document.part.numbering_part.element
                num_pr = self.number.element.pPr.numPr
                num = numbering.num_having_numId(num_pr.numId.val)
                self.numbering, self.number_abstract = numbering, num.abstractNumId.val
            except (AttributeError, KeyError, NotImplementedError):  # no numbering: typed numbers
                self.number = None

    def new_list(self, start: int) -> int:
        num = self.numbering.add_num(self.number_abstract)
        num.add_lvlOverride(ilvl=0).add_startOverride(start)
        return num.numId


def _paragraph(base_ppr, text: str, style_id: str | None = None, num_id: int | None = None):
    p = OxmlElement("w:p")
    if base_ppr is not None:
        ppr = copy.deepcopy(base_ppr)
        for child in ppr.findall(W_NUMPR):
            ppr.remove(child)
        rpr = ppr.find(qn("w:rPr"))  # the paragraph mark's look (a placeholder's grey): not ours
        if rpr is not None:
            ppr.remove(rpr)
        p.append(ppr)
    if style_id is not None:
        ppr = p.get_or_add_pPr()
        for child in ppr.findall(W_PSTYLE):
            ppr.remove(child)
        ppr.style = style_id
    if num_id is not None:
        num_pr = p.get_or_add_pPr().get_or_add_numPr()
        num_pr.get_or_add_ilvl().val = 0
        num_pr.get_or_add_numId().val = num_id
    run = p.add_r()
    run.text = text  # "\n" becomes a line break, "\t" a tab
    return p


def paragraphs_for(text: str, styles: _Styles, base_ppr=None) -> list:
    """The section's text as w:p elements in the form's styles."""
    out = []
    for kind, items in blocks(text):
        if kind == "ul":
            for item in items:
                if styles.bullet is not None:
                    out.append(_paragraph(base_ppr, item, styles.bullet.style_id))
                else:
                    out.append(_paragraph(base_ppr, f"\u2022\t{item}"))
        elif kind == "ol":
            num_id = styles.new_list(items[0][0]) if styles.number is not None else None
            for number, item in items:
                if num_id is not None:
                    out.append(_paragraph(base_ppr, item, styles.number.style_id, num_id))
                else:
                    out.append(_paragraph(base_ppr, f"{number}.\t{item}"))
        else:
            out.append(_paragraph(base_ppr, "\n".join(items)))
    return out


def _fill_cell(tc, text: str, styles: _Styles) -> None:
    first = tc.find(W_P)
    if first is None:
        first = next(tc.iter(W_P), None)
    base_ppr = first.find(W_PPR) if first is not None else None
    new = paragraphs_for(text, styles, base_ppr)
    for child in list(tc):
        if child.tag != W_TCPR:
            tc.remove(child)
    for p in new:
        tc.append(p)


def _insert_after(anchor, new: list) -> None:
    for p in reversed(new):
        anchor.addnext(p)


def _place(part: word.Part, text: str, styles: _Styles) -> str:
    """Put the text under the part's heading; says where."""
    under = part.elements[1:]  # elements[0] is the heading's own paragraph
    for el in under:
        if el.tag == W_TBL:
            tc = answer_cell(el)
            if tc is not None:
                _fill_cell(tc, text, styles)
                return CELL
    for el in under:
        if el.tag == W_P and word.paragraph_text(el).strip() and is_placeholder(el):
            ppr = el.find(W_PPR)
            _insert_after(el, paragraphs_for(text, styles, ppr))
            el.getparent().remove(el)
            return PLACEHOLDER_PARAGRAPH
    anchor = part.elements[0]
    for el in under:  # after the funder's guidance under the question, not after blank lines
        if el.tag == W_TBL or word.paragraph_text(el).strip():
            anchor = el
    _insert_after(anchor, paragraphs_for(text, styles))
    return AFTER_HEADING


# --- forms laid out as a table of questions -------------------------------------------------------------


def question_rows(document) -> list[word.Part]:
    """The question | answer rows of the form's two-column tables whose answer cell is still empty
    or a placeholder, each as a Part whose heading is the question ("3. Target cohort" as typed) and
    whose only element is the table: for forms that ask their questions in a table, not headings."""
    rows = []
    for tbl in document.element.body.iter(W_TBL):
        trs = list(tbl.iterchildren(W_TR))
        if not trs or any(len(_cells(tr)) != 2 for tr in trs):
            continue
        for tr in trs:
            question, answer = _cells(tr)
            if _is_question(question) and is_placeholder(answer):
                number, title = word.split_number(" ".join(_text_of(question).split()))
                heading = word.Heading(1, title.rstrip(":"), number, next(question.iter(W_P)))
                rows.append(word.Part(heading, "", [tr]))
    return rows


def _fill_row(part: word.Part, text: str, styles: _Styles) -> str:
    _fill_cell(_cells(part.elements[0])[1], text, styles)
    return CELL


# --- the whole form ------------------------------------------------------------------------------------


def heading_as_shown(heading: word.Heading) -> str:
    """The heading as the form shows it: "Question 4: Target cohort", or "4. Target cohort" when
    Word numbers it."""
    typed = " ".join(word.paragraph_text(heading.element).split()) if heading.element is not None else ""
    if typed and (heading.number is None or heading.number in typed):
        return typed
    return heading.text


def fill(form_data: bytes, sections: list[SectionText], form_filename: str = "") -> tuple[bytes, FillReport]:
    """A copy of the form with the sections' text in it, and what could not be placed."""
    opened = office.check_docx(form_data, form_filename)
    document = office.open_docx(opened)
    parts = word.read(document)
    pairs, unused = word.match(parts, sections)
    styles = _Styles(document)
    report = FillReport(form_filename=form_filename)
    for section, part in pairs:
        label = section_label(section)
        if part is None:
            report.unplaced.append(label)
        elif not blocks(section.text):
            report.empty.append(label)
        else:
            where = _place(part, section.text, styles)
            report.placed.append(Placed(label, heading_as_shown(part.heading), where))
    # The form's title (a Title-styled paragraph) is not a question: it is not reported.
    report.unused_headings = [heading_as_shown(p.heading) for p in unused if p.heading.level > 0]
    # Sections with no heading of their own may be asked as a question in a table's row.
    if report.unplaced:
        by_label = {section_label(s): s for s in sections}
        left = [by_label[label] for label in report.unplaced]
        in_rows, _ = word.match(question_rows(document), left)
        for section, row in in_rows:
            if row is None:
                continue
            report.unplaced.remove(section_label(section))
            if not blocks(section.text):
                report.empty.append(section_label(section))
                continue
            report.placed.append(Placed(section_label(section), heading_as_shown(row.heading),
                                        _fill_row(row, section.text, styles)))
        order = {section_label(s): i for i, s in enumerate(sections)}
        report.placed.sort(key=lambda p: order[p.section])
        report.empty.sort(key=order.__getitem__)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue(), report


def render_into_form(content: ExportContent, form_data: bytes, form_filename: str = "") -> tuple[bytes, dict]:
    """The bid's sections filled into the funder's form: (the file's bytes, the report as JSON)."""
    data, report = fill(form_data, content.sections, form_filename)
    return data, report.as_json()


# --- the report, in words -------------------------------------------------------------------------------


def _sections(n: int) -> str:
    return "1 section" if n == 1 else f"{n} sections"


def report_summary(report: dict | None) -> list[dict]:
    """The report as the export's page says it: a list of {"title", "items", "advice"}."""
    if not report:
        return []
    said = []
    unplaced, empty, unused = report.get("unplaced", []), report.get("empty", []), report.get("unused_headings", [])
    if unplaced:
        said.append({
            "key": "unplaced",
            "title": f"{_sections(len(unplaced))} could not be placed in the funder’s form",
            "items": unplaced,
            "advice": "The form has no heading that matches "
            + ("it" if len(unplaced) == 1 else "them")
            + ". Copy " + ("it" if len(unplaced) == 1 else "them") + " in by hand from the Word export.",
        })
    if empty:
        said.append({
            "key": "empty",
            "title": f"{_sections(len(empty))} "
            + ("has" if len(empty) == 1 else "have") + " no text yet, so nothing was put in the funder’s form for "
            + ("it" if len(empty) == 1 else "them"),
            "items": empty,
            "advice": "Merge the text on the collective bid’s pages and export again.",
        })
    if unused:
        n = len(unused)
        said.append({
            "key": "unused",
            "title": ("1 heading" if n == 1 else f"{n} headings") + " in the funder’s form got no section",
            "items": unused,
            "advice": "Fill " + ("it" if n == 1 else "them") + " in by hand if the funder asks for "
            + ("it" if n == 1 else "them") + " (the budget, for example, is in the Excel export).",
        })
    return said
