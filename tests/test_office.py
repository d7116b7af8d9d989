"""Opening uploaded Word and Excel files (app/services/office) and reading a Word document's
headings and text (app/services/office/word.py), with files made here by python-docx and by hand."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

import docx
import openpyxl
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

from app.services import ServiceError, office
from app.services.office import word
from tests.fixtures import documents as samples

ATTACHED_TEMPLATE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/attachedTemplate"
HYPERLINK = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"


def saved(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def reopened(document):
    return docx.Document(io.BytesIO(saved(document)))


def with_relationship(data: bytes, kind: str, target: str) -> bytes:
    """The package with one more relationship of word/document.xml, to a target outside it."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "word/_rels/document.xml.rels":
                extra = f'<Relationship Id="rIdLinked" Type="{kind}" Target="{target}" TargetMode="External"/>'
                content = content.replace(b"</Relationships>", extra.encode() + b"</Relationships>")
            zf.writestr(info, content)
    return out.getvalue()


# --- checking files -------------------------------------------------------------------------------


def test_a_word_document_made_by_word_s_library_is_accepted(app):
    document = docx.Document()
    document.add_paragraph("Our local need")
    with app.app_context():
        opened = office.check_docx(saved(document), "Draft.docx")
        assert [p.text for p in office.open_docx(opened).paragraphs] == ["Our local need"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (samples.docx_bomb, "The selected file expands to too much data when it is opened"),
        (lambda: samples.docx(macros=True), "The selected file contains macros"),
        (samples.legacy_doc, "The selected file is an old Word document (.doc) – open it in Word, choose File"),
        (samples.legacy_xls, "The selected file is an old Excel workbook (.xls)"),
        (samples.xlsx, "The selected file must be a Word document (.docx)"),
        (samples.pdf, "The selected file must be a Word document (.docx)"),
        (samples.text, "The selected file must be a Word document (.docx)"),
        (samples.ooxml_encrypted, "The selected file is password protected"),
    ],
    ids=["zip-bomb", "macros", "doc", "xls", "xlsx", "pdf", "text", "encrypted"],
)
def test_a_file_that_is_not_a_safe_word_document_is_refused_saying_why(app, build, message):
    with app.app_context(), pytest.raises(ServiceError) as refused:
        office.check_docx(build(), "Draft.docx")
    assert refused.value.message.startswith(message)
    assert refused.value.field == "file"


def test_a_word_document_that_pulls_in_a_template_from_elsewhere_is_refused(app):
    data = with_relationship(saved(docx.Document()), ATTACHED_TEMPLATE, "https://attacker.example/t.dotm")
    with app.app_context(), pytest.raises(ServiceError) as refused:
        office.check_docx(data, "Draft.docx")
    assert refused.value.message.startswith("The selected file takes some of its content from other files")


def test_a_word_document_with_a_web_link_in_it_is_accepted_and_the_link_never_followed(app):
    data = with_relationship(saved(docx.Document()), HYPERLINK, "https://www.gov.uk/")
    with app.app_context():
        assert office.check_docx(data, "Draft.docx").external_links == [HYPERLINK]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: samples.xlsx(macros=True), "The selected file contains macros"),
        (samples.legacy_xls, "The selected file is an old Excel workbook (.xls) – open it in Excel"),
        (samples.docx, "The selected file must be an Excel workbook (.xlsx)"),
    ],
    ids=["macros", "xls", "docx"],
)
def test_a_file_that_is_not_a_safe_excel_workbook_is_refused_saying_why(app, build, message):
    with app.app_context(), pytest.raises(ServiceError) as refused:
        office.check_xlsx(build(), "Budget.xlsx")
    assert refused.value.message.startswith(message)


def test_an_excel_workbook_is_opened_with_its_values(app):
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "Detached youth work"
    workbook.active["B1"] = 35000
    buffer = io.BytesIO()
    workbook.save(buffer)
    with app.app_context():
        opened = office.open_xlsx(office.check_xlsx(buffer.getvalue(), "Budget.xlsx"))
    assert [c.value for c in opened.active[1]] == ["Detached youth work", 35000]


# --- reading a Word document ----------------------------------------------------------------------


def test_headings_split_the_document_into_parts_with_lists_and_tables_as_plain_text():
    document = docx.Document()
    document.add_paragraph("Reading Community Safety Partnership: draft for the OPCC")
    document.add_heading("1. Local need and evidence", 1)
    document.add_paragraph("Knife crime rose by a fifth.")
    document.add_paragraph("Schools referred 40 young people", style="List Bullet")
    document.add_paragraph("Youth offending team caseload up", style="List Bullet")
    document.add_paragraph("Map the hotspots", style="List Number")
    document.add_paragraph("Agree the cohort", style="List Number")
    document.add_heading("Section 2: Proposed interventions", 1)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Lead partner", "Reading YOT"
    table.cell(1, 0).text, table.cell(1, 1).text = "Staff", "Two detached youth workers"

    parts = word.read(reopened(document))

    assert [(p.heading and (p.heading.number, p.heading.title)) for p in parts] == [
        None,
        ("1", "Local need and evidence"),
        ("2", "Proposed interventions"),
    ]
    assert parts[0].text == "Reading Community Safety Partnership: draft for the OPCC"
    assert parts[1].text == (
        "Knife crime rose by a fifth.\n\n"
        "- Schools referred 40 young people\n- Youth offending team caseload up\n"
        "1. Map the hotspots\n2. Agree the cohort"
    )
    assert parts[2].text == "Lead partner: Reading YOT\nStaff: Two detached youth workers"


def _numbering(document, abstract_id: int, num_id: int, levels: str):
    """Add an abstract numbering definition and a w:num for it to the document's numbering part."""
    numbering = document.part.numbering_part.element
    abstract = parse_xml(f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{abstract_id}">{levels}</w:abstractNum>')
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)
    else:
        numbering.append(abstract)
    numbering.append(
        parse_xml(f'<w:num {nsdecls("w")} w:numId="{num_id}"><w:abstractNumId w:val="{abstract_id}"/></w:num>')
    )


def _number(paragraph, num_id: int, level: int = 0):
    ppr = paragraph._p.get_or_add_pPr()
    ppr.append(parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>'))


def test_headings_numbered_by_word_get_word_s_numbers_and_symbol_bullets_are_bullet_points():
    document = docx.Document()
    _numbering(
        document, 90, 90,
        f'<w:lvl {nsdecls("w")} w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="%1."/></w:lvl>'
        f'<w:lvl {nsdecls("w")} w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="%1.%2"/></w:lvl>',
    )  # fmt: skip
    _numbering(
        document,
        91,
        91,
        f'<w:lvl {nsdecls("w")} w:ilvl="0"><w:numFmt w:val="bullet"/><w:lvlText w:val="\uf0b7"/>'
        '<w:rPr><w:rFonts w:ascii="Symbol" w:hAnsi="Symbol" w:hint="default"/></w:rPr></w:lvl>',
    )
    for title in ("Summary", "Local need"):
        _number(document.add_heading(title, 1), 90)
    _number(document.add_heading("Data sources", 2), 90, 1)
    _number(document.add_paragraph("Police recorded crime"), 91)
    _number(document.add_paragraph("Hospital admissions"), 91)
    _number(document.add_heading("Delivery", 1), 90)

    parts = word.read(reopened(document))

    assert [(p.heading.number, p.heading.title, p.heading.level) for p in parts] == [
        ("1", "Summary", 1),
        ("2", "Local need", 1),
        ("2.1", "Data sources", 2),
        ("3", "Delivery", 1),
    ]
    assert parts[2].text == "- Police recorded crime\n- Hospital admissions"
    assert "\uf0b7" not in "".join(p.text for p in parts)


def test_tracked_changes_read_as_accepted_and_field_codes_are_not_text():
    document = docx.Document()
    document.add_heading("Local need", 1)
    paragraph = document.add_paragraph("Knife crime rose by ")
    w = nsdecls("w")
    paragraph._p.append(parse_xml(f'<w:del {w} w:id="1" w:author="A" w:date="2018-09-01T10:00:00Z">'
                                  '<w:r><w:delText>a fifth</w:delText></w:r></w:del>'))  # fmt: skip
    paragraph._p.append(parse_xml(f'<w:ins {w} w:id="2" w:author="B" w:date="2018-09-02T10:00:00Z">'
                                  '<w:r><w:t>22%</w:t></w:r></w:ins>'))  # fmt: skip
    paragraph._p.append(parse_xml(f'<w:moveFrom {w} w:id="3" w:author="B" w:date="2018-09-02T10:00:00Z">'
                                  '<w:r><w:t> in 2017</w:t></w:r></w:moveFrom>'))  # fmt: skip
    paragraph._p.append(parse_xml(f'<w:r {w}><w:fldChar w:fldCharType="begin"/></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {w}><w:instrText xml:space="preserve"> HYPERLINK "x" </w:instrText></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {w}><w:fldChar w:fldCharType="separate"/></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {w}><w:t xml:space="preserve"> (ONS)</w:t></w:r>'))
    paragraph._p.append(parse_xml(f'<w:r {w}><w:fldChar w:fldCharType="end"/></w:r>'))

    (part,) = word.read(reopened(document))

    assert part.text == "Knife crime rose by 22% (ONS)"


def test_merged_table_cells_count_once_and_content_controls_are_read():
    document = docx.Document()
    document.add_heading("Budget narrative", 1)
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "2018/19"
    table.cell(0, 1).text, table.cell(0, 2).text = "Staff", "£20,000"
    table.cell(1, 1).text, table.cell(1, 2).text = "Training", "£5,000"
    table.cell(2, 0).merge(table.cell(2, 1)).text = "Total"
    table.cell(2, 2).text = "£25,000"
    sdt = parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtPr/><w:sdtContent><w:p><w:r><w:t>Answer typed in a box</w:t>'
                    "</w:r></w:p></w:sdtContent></w:sdt>")  # fmt: skip
    document.element.body.insert(len(document.element.body) - 1, sdt)

    (part,) = word.read(reopened(document))

    assert part.text == "2018/19 | Staff | £20,000\nTraining: £5,000\nTotal: £25,000\n\nAnswer typed in a box"


def test_a_document_without_heading_styles_is_split_at_its_short_bold_paragraphs():
    document = docx.Document()
    for title, answer in (("1. Local need", "Knife crime rose."), ("2. Delivery", "Detached youth work.")):
        document.add_paragraph().add_run(title).bold = True
        document.add_paragraph(answer)
    document.add_paragraph().add_run("A long bold sentence that is not a heading. " * 3).bold = True

    parts = word.read(reopened(document))

    assert [(p.heading.number, p.heading.title) for p in parts] == [("1", "Local need"), ("2", "Delivery")]
    assert parts[1].text.startswith("Detached youth work.\n\nA long bold sentence")


# --- matching headings with a round's sections ----------------------------------------------------


@dataclass
class Section:
    number: int
    title: str


SECTIONS = [
    Section(1, "Summary of the proposal"),
    Section(2, "Local need and evidence"),
    Section(3, "Proposed interventions and delivery model"),
    Section(4, "Risks and mitigations"),
]


def _part(title: str, number: str | None = None) -> word.Part:
    return word.Part(word.Heading(1, title, number), "text")


def test_headings_match_sections_by_title_tolerant_of_small_differences_and_helped_by_numbers():
    parts = [
        _part("LOCAL NEED & EVIDENCE"),
        _part("Proposed intervention and delivery models"),
        _part("Risks", "4"),
        _part("Staffing structure chart"),
    ]

    pairs, unmatched = word.match(parts, SECTIONS)

    assert [(s.title, p and p.heading.title) for s, p in pairs] == [
        ("Summary of the proposal", None),
        ("Local need and evidence", "LOCAL NEED & EVIDENCE"),
        ("Proposed interventions and delivery model", "Proposed intervention and delivery models"),
        ("Risks and mitigations", "Risks"),
    ]
    assert [p.heading.title for p in unmatched] == ["Staffing structure chart"]


def test_a_heading_goes_to_one_section_only_the_best_match():
    parts = [_part("Local need and evidence"), _part("Local need and evidence (continued)")]

    pairs, unmatched = word.match(parts, SECTIONS)

    assert {s.number: p for s, p in pairs}[2] is parts[0]
    assert unmatched == [parts[1]]
