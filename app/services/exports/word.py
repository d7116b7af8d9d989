"""The Word (.docx) export of the collective bid or of one contribution, made with python-docx.

Laid out as: a cover page (fund, round, lead bidder, partner CSPs, total requested by year,
status, version, when it was made), a contents list, every section in template order ("1. Title")
with its text laid out by `app.text.blocks`, then the budget tables, outcomes, partners and
supporting documents.

Decisions:
- The contents list is written out (the headings with their numbers, each a link to a bookmark
  on its heading), not a Word TOC field: a
  TOC field is empty until someone updates the fields in Word, and page numbers would be wrong in
  any other reader. The headings use the real Heading 1 / Heading 2 styles, so Word's navigation
  pane and "Insert table of contents" work as usual. No Heading 2 comes before the first Heading 1
  (the cover's "Total requested by year" sits under its "Summary").
- Every table's header row repeats on each page (w:tblHeader) and rows do not split across pages
  (w:cantSplit). Money is right-aligned, "£12,345.67".
- Signed-off exports say "Signed off by X on date" on the cover and in every page header;
  anything else says its status ("Draft") in the same places.
- Rows are added to tables cell by cell from the row's own <w:tc> elements, never through
  `table.cell(r, c)` (which walks the whole table each time): the file is made in linear time.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.enum.section import WD_SECTION_START
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.table import Table, _Cell

from app.dates import govuk_date, govuk_datetime
from app.money import format_money as money
from app.services.exports.content import ExportContent, document_note
from app.text import blocks

LANGUAGE = "en-GB"
FONT = "Arial"
INK = RGBColor(0x0B, 0x0C, 0x0C)
GREY = RGBColor(0x50, 0x5A, 0x5F)
HEADER_FILL = "E8EAEB"
TOTAL_FILL = "F3F2F1"
LEFT, RIGHT = WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT


# --- what the document says about itself -------------------------------------------------------

def status_line(content: ExportContent) -> str:
    """'Signed off by Ann Example on 28 September 2018', or the status ('Draft')."""
    if content.signed_off:
        who = f" by {content.signed_off_by}" if content.signed_off_by else ""
        when = f" on {govuk_date(content.signed_off_at)}" if content.signed_off_at else ""
        prefix = "Signed off" if content.status == "Signed off" else f"{content.status}. Signed off"
        return f"{prefix}{who}{when}"
    return content.status


def running_header(content: ExportContent) -> str:
    mark = "SIGNED OFF" if content.signed_off else content.status.upper()
    return f"{content.title} \u2014 {mark}"


def empty_text(content: ExportContent) -> str:
    return "Not answered" if content.kind == "contribution" else "No text has been merged for this section yet"


def contents_entries(content: ExportContent) -> list[str]:
    """The level-1 headings after the contents list, in order."""
    entries = [f"{s.number}. {s.title}" for s in content.sections]
    entries += ["Budget", "Outcomes", "Partners", "Supporting documents"]
    return entries


def roles_lines(roles: Sequence[tuple[str, str]], several: bool) -> list[str]:
    """A partner's roles, one a line; prefixed by the CSP's name when it works with several."""
    if several:
        return [f"{csp}: {role}" for csp, role in roles]
    return [role for _, role in roles]


def size_text(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# --- low-level helpers --------------------------------------------------------------------------

def _set_fonts(rpr, font: str = FONT) -> None:
    """Arial for every script, with the theme fonts removed (they would win over the name)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), font)


def _set_language(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), LANGUAGE)
    lang.set(qn("w:eastAsia"), LANGUAGE)
    lang.set(qn("w:bidi"), "ar-SA")


def _field(paragraph, instruction: str, placeholder: str = "1") -> None:
    """A complex field (PAGE, NUMPAGES) that Word and LibreOffice fill in when they lay out the page."""
    def run_with(child):
        run = paragraph.add_run()
        run._r.append(child)
        return run

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    paragraph.add_run(placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _shade(tc, fill: str) -> None:
    tcpr = tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    tcpr.append(shd)


def _row_flag(tr, name: str) -> None:
    trpr = tr.get_or_add_trPr()
    trpr.append(OxmlElement(name))


class _Table:
    """A table built row by row: header row marked to repeat, rows kept whole, money on the right."""

    def __init__(self, doc, headers: Sequence[str], right: Sequence[bool], widths: Sequence[float] | None = None):
        self.right = list(right)
        self.table: Table = doc.add_table(rows=0, cols=len(headers))
        self.table.style = doc.styles["Table Grid"]
        self.table.alignment = WD_TABLE_ALIGNMENT.LEFT
        self.widths = [Cm(w) for w in widths] if widths else None
        if self.widths:
            self.table.autofit = False
            for col, width in zip(self.table._tbl.tblGrid.gridCol_lst, self.widths, strict=True):
                col.w = width
        self.row(headers, bold=True, fill=HEADER_FILL, header=True)

    def row(self, values: Sequence[str], bold: bool = False, fill: str | None = None, header: bool = False) -> None:
        tr = self.table._tbl.add_tr()
        _row_flag(tr, "w:cantSplit")
        if header:
            _row_flag(tr, "w:tblHeader")
        for i, value in enumerate(values):
            tc = tr.add_tc()
            if self.widths:
                tc.width = self.widths[i]
            cell = _Cell(tc, self.table)
            paragraph = cell.paragraphs[0]
            paragraph.paragraph_format.space_after = Pt(0)
            paragraph.paragraph_format.space_before = Pt(0)
            if self.right[i]:
                paragraph.alignment = RIGHT
            run = paragraph.add_run(value)
            if bold:
                run.bold = True
            if fill:
                _shade(tc, fill)

    def total(self, values: Sequence[str]) -> None:
        self.row(values, bold=True, fill=TOTAL_FILL)


# --- the document -------------------------------------------------------------------------------

def _styles(doc) -> None:
    styles = doc.styles
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr)
    _set_language(rpr)

    normal = styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.font.color.rgb = INK
    _set_fonts(normal.element.get_or_add_rPr())
    _set_language(normal.element.get_or_add_rPr())
    normal.paragraph_format.space_after = Pt(6)
    normal.paragraph_format.line_spacing = 1.15

    for name, size, before, after in (("Title", 26, 0, 12), ("Heading 1", 17, 18, 8), ("Heading 2", 13, 14, 6)):
        style = styles[name]
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.italic = False
        style.font.color.rgb = INK
        _set_fonts(style.element.get_or_add_rPr())
        style.paragraph_format.space_before = Pt(before)
        style.paragraph_format.space_after = Pt(after)
    # The Title style's bottom border and spacing do not suit a cover page: keep it plain.
    ppr = styles["Title"].element.find(qn("w:pPr"))
    if ppr is not None:
        border = ppr.find(qn("w:pBdr"))
        if border is not None:
            ppr.remove(border)
    styles["Heading 1"].paragraph_format.keep_with_next = True
    styles["Heading 2"].paragraph_format.keep_with_next = True


def _page_setup(doc, content: ExportContent) -> None:
    section = doc.sections[0]
    section.start_type = WD_SECTION_START.NEW_PAGE
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin = section.bottom_margin = Cm(2.2)
    section.header_distance = section.footer_distance = Cm(1.0)

    header = section.header.paragraphs[0]
    header.text = ""
    run = header.add_run(running_header(content))
    run.font.size = Pt(8.5)
    run.font.color.rgb = GREY
    run.bold = content.signed_off

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for part in ("Page ",):
        footer.add_run(part)
    _field(footer, "PAGE")
    footer.add_run(" of ")
    _field(footer, "NUMPAGES")
    footer.add_run(f"   \u00b7   Version {content.short_hash}")
    for run in footer.runs:
        run.font.size = Pt(8.5)
        run.font.color.rgb = GREY


def _cover(doc, content: ExportContent) -> None:
    kicker = doc.add_paragraph()
    run = kicker.add_run(content.fund_name)
    run.font.size = Pt(13)
    run.font.color.rgb = GREY
    doc.add_paragraph(content.title, style="Title")
    what = doc.add_paragraph()
    what_run = what.add_run(
        "Collective bid" if content.kind == "bid" else f"Contribution from {content.csps[0] if content.csps else ''}"
    )
    what_run.font.size = Pt(14)

    mark = doc.add_paragraph()
    mark.paragraph_format.space_before = Pt(12)
    mark.paragraph_format.space_after = Pt(18)
    mark_run = mark.add_run(status_line(content))
    mark_run.bold = True
    mark_run.font.size = Pt(14)
    if content.signed_off:
        mark_run.font.color.rgb = RGBColor(0x00, 0x70, 0x3C)
    elif content.kind == "contribution":
        mark_run.font.color.rgb = RGBColor(0x1D, 0x70, 0xB8)
    else:
        mark_run.font.color.rgb = RGBColor(0xD4, 0x35, 0x1C)

    # The cover's own headings sit under a Heading 1, so the outline never starts at level 2
    # (a screen reader's list of headings, Word's navigation pane and accessibility checkers).
    doc.add_heading("Summary", level=1)
    facts = _Table(doc, ["", ""], [False, False], widths=[5.0, 11.6])
    facts.table._tbl.remove(facts.table._tbl.tr_lst[0])  # a list of facts needs no header row
    facts.row(["Fund", content.fund_name])
    facts.row(["Funder", content.funder])
    facts.row(["Round", content.round_title])
    facts.row(["Lead bidder", content.lead_bidder])
    label = "Partner CSPs" if content.kind == "bid" else "CSP"
    facts.row([label, ", ".join(content.csps) if content.csps else "None accepted yet"])
    facts.row(["Funder's deadline", govuk_datetime(content.funder_deadline)])
    facts.row(["Status", status_line(content)])
    facts.row(["Version", content.short_hash])
    facts.row(["Generated", govuk_datetime(content.generated_at)])
    for tr in facts.table._tbl.tr_lst:
        tr.tc_lst[0].xpath(".//w:r")[0].get_or_add_rPr().append(OxmlElement("w:b"))

    doc.add_heading("Total requested by year", level=2)
    by_year = content.by_year()
    match_by_year = content.match_by_year()
    table = _Table(doc, ["Financial year", "Requested", "Match funding"], [False, True, True], widths=[5.6, 5.5, 5.5])
    for year in content.years:
        table.row([year, money(by_year.get(year, 0)), money(match_by_year.get(year, 0))])
    table.total(["Total", money(content.total), money(content.match_total)])
    if content.signed_off and content.sign_off_declaration:
        doc.add_heading("Declaration", level=2)
        doc.add_paragraph(content.sign_off_declaration)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _anchor(index: int) -> str:
    return f"_pb_heading_{index}"  # a leading underscore: a hidden bookmark in Word


def _heading(doc, text: str, index: int):
    """A Heading 1 with a bookmark the contents list links to."""
    heading = doc.add_heading(text, level=1)
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), str(index))
    start.set(qn("w:name"), _anchor(index))
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), str(index))
    heading._p.insert(1 if heading._p.pPr is not None else 0, start)
    heading._p.append(end)
    return heading


def _contents(doc, content: ExportContent) -> None:
    """The headings, each a link to its place in the document (Ctrl+click in Word)."""
    doc.add_heading("Contents", level=1)
    for index, entry in enumerate(contents_entries(content)):
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(3)
        link = OxmlElement("w:hyperlink")
        link.set(qn("w:anchor"), _anchor(index))
        link.set(qn("w:history"), "1")
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = entry
        text.set(qn("xml:space"), "preserve")
        run.append(text)
        link.append(run)
        p._p.append(link)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


class _Numbering:
    """Numbered lists that start at the text's own first number, each list on its own."""

    def __init__(self, doc):
        self.doc = doc
        self.part = doc.part.numbering_part.element
        style = doc.styles["List Number"].element
        num_id = style.pPr.numPr.numId.val
        num = self.part.num_having_numId(num_id)
        self.abstract_id = num.abstractNumId.val

    def new_list(self, start: int) -> int:
        num = self.part.add_num(self.abstract_id)
        override = num.add_lvlOverride(ilvl=0)
        override.add_startOverride(start)
        return num.numId


def _text(doc, numbering: _Numbering, text: str, empty: str) -> None:
    laid_out = blocks(text)
    if not laid_out:
        p = doc.add_paragraph()
        run = p.add_run(empty)
        run.italic = True
        run.font.color.rgb = GREY
        return
    for kind, items in laid_out:
        if kind == "ul":
            for item in items:
                doc.add_paragraph(item, style="List Bullet")
        elif kind == "ol":
            num_id = numbering.new_list(items[0][0])
            for _, item in items:
                p = doc.add_paragraph(item, style="List Number")
                num_pr = p._p.get_or_add_pPr().get_or_add_numPr()
                num_pr.get_or_add_ilvl().val = 0
                num_pr.get_or_add_numId().val = num_id
        else:
            p = doc.add_paragraph()
            for i, line in enumerate(items):
                run = p.add_run(line)
                if i < len(items) - 1:
                    run.add_break()


def _sections(doc, content: ExportContent) -> None:
    numbering = _Numbering(doc)
    empty = empty_text(content)
    for index, section in enumerate(content.sections):
        _heading(doc, f"{section.number}. {section.title}", index)
        if section.word_limit:
            note = doc.add_paragraph()
            run = note.add_run(f"{section.words:,} words (limit {section.word_limit:,})")
            run.font.size = Pt(9)
            run.font.color.rgb = GREY
        _text(doc, numbering, section.text, empty)


def _none(doc, words: str) -> None:
    run = doc.add_paragraph().add_run(words)
    run.italic = True
    run.font.color.rgb = GREY


def _budget(doc, content: ExportContent) -> None:
    doc.add_page_break()
    _heading(doc, "Budget", len(content.sections))
    years = content.years
    doc.add_paragraph(
        f"Total requested: {money(content.total)}. Match funding: {money(content.match_total)}."
    )

    doc.add_heading("Requested by financial year and cost category", level=2)
    cells = content.year_category_totals()
    by_year, by_category = content.by_year(), content.by_category()
    table = _Table(doc, ["Cost category", *years, "Total"], [False] + [True] * (len(years) + 1))
    for category in content.categories:
        table.row([category, *(money(cells.get((category, y), 0)) for y in years), money(by_category[category])])
    table.total(["Total", *(money(by_year[y]) for y in years), money(content.total)])

    if content.kind == "bid":
        doc.add_heading("Requested by CSP", level=2)
        table = _Table(doc, ["CSP", *years, "Total", "Match funding"], [False] + [True] * (len(years) + 2))
        for budget in content.csp_budgets():
            table.row([budget.name, *(money(budget.by_year[y]) for y in years), money(budget.total),
                       money(budget.match_total)])
        table.total(["Total", *(money(by_year[y]) for y in years), money(content.total), money(content.match_total)])

    doc.add_heading("Match funding by type", level=2)
    by_type = content.match_by_type()
    if by_type:
        table = _Table(doc, ["Type", "Amount"], [False, True], widths=[8.3, 8.3])
        for kind, amount in by_type.items():
            table.row([kind, money(amount)])
        table.total(["Total", money(content.match_total)])
    else:
        _none(doc, "No match funding")

    if content.kind == "contribution":
        doc.add_heading("Budget lines", level=2)
        if content.lines:
            table = _Table(doc, ["Year", "Category", "Description", "Requested", "Match funding"],
                           [False, False, False, True, True], widths=[1.9, 3.2, 6.1, 2.7, 2.7])
            for line in content.lines:
                match = money(line.match_pence) if line.match_pence else ""
                if line.match_pence and line.match_type:
                    match += f" ({line.match_type.lower()})"
                table.row([line.year, line.category, line.description, money(line.amount_pence), match])
            table.total(["Total", "", "", money(content.total), money(content.match_total)])
        else:
            _none(doc, "No budget lines")


def _outcomes(doc, content: ExportContent) -> None:
    _heading(doc, "Outcomes", len(content.sections) + 1)
    if not content.outcomes:
        _none(doc, "No outcomes")
        return
    if content.kind == "bid":
        table = _Table(doc, ["CSP", "Measure", "Baseline", "Target", "By when"], [False] * 5,
                       widths=[3.3, 5.7, 2.3, 2.3, 3.0])
        for o in content.outcomes:
            table.row([o.csp, o.measure, o.baseline, o.target, govuk_date(o.by_when)])
    else:
        table = _Table(doc, ["Measure", "Baseline", "Target", "By when"], [False] * 4, widths=[8.0, 2.8, 2.8, 3.0])
        for o in content.outcomes:
            table.row([o.measure, o.baseline, o.target, govuk_date(o.by_when)])


def _partners(doc, content: ExportContent) -> None:
    _heading(doc, "Partners", len(content.sections) + 2)
    if not content.partners:
        _none(doc, "No partners")
        return
    if content.kind == "bid":
        table = _Table(doc, ["Partner", "CSPs", "Roles"], [False] * 3, widths=[4.6, 4.4, 7.6])
        for p in content.partners:
            table.row([p.name, ", ".join(p.csps), "\n".join(roles_lines(p.roles, several=len(p.csps) > 1))])
    else:
        table = _Table(doc, ["Partner", "Role"], [False, False], widths=[6.0, 10.6])
        for p in content.partners:
            table.row([p.name, "\n".join(roles_lines(p.roles, several=False))])


def _documents(doc, content: ExportContent) -> None:
    _heading(doc, "Supporting documents", len(content.sections) + 3)
    if not content.documents:
        _none(doc, "No supporting documents")
        return
    table = _Table(doc, ["CSP", "File name", "Description", "Size"], [False, False, False, True],
                   widths=[3.3, 4.6, 6.5, 2.2])
    for d in content.documents:
        table.row([d.csp, d.filename, document_note(d), size_text(d.size_bytes)])


def render_docx(content: ExportContent) -> bytes:
    doc = Document()
    _styles(doc)
    _page_setup(doc, content)
    props = doc.core_properties
    props.title = content.title
    props.subject = f"{content.fund_name}: {'collective bid' if content.kind == 'bid' else 'contribution'}"
    props.author = content.lead_bidder
    props.last_modified_by = content.lead_bidder
    props.language = LANGUAGE
    props.keywords = f"{content.status}; version {content.short_hash}"
    props.comments = status_line(content)
    props.created = props.modified = content.generated_at.replace(tzinfo=None)
    props.revision = 1

    _cover(doc, content)
    _contents(doc, content)
    _sections(doc, content)
    _budget(doc, content)
    _outcomes(doc, content)
    _partners(doc, content)
    _documents(doc, content)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
