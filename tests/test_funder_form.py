"""The funder's own Word application form: a lead bidder administrator uploads it for a round (once,
replaceable, removable, downloadable), hostile files are refused, and the collective bid is exported
into a copy of it with each section's text under its heading or in its answer box, the rest of the
form as the funder made it, and a report of what could not be placed."""

from __future__ import annotations

import html
import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ContributionStatus, MergedSection, Round, RoundFunderForm, SectionState
from app.services.consolidation import get_or_create_bid
from app.services.exports.content import SectionText
from app.services.exports.funder_form import fill
from app.services.office import word
from app.services.round_templates import EIYF_2018
from tests.conftest import post_form, stored_folder
from tests.fixtures import documents as hostile
from tests.fixtures import funder_forms_fill as forms
from tests.test_exports import created_id, prepare, record
from tests.test_signoff import _mark_submitted, _sign_off, make_ready

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TITLES = [title for title, *_ in EIYF_2018["sections"]]


def text_for(title: str) -> str:
    return (
        f"Our answer on {title.lower()}.\n"
        "A second line of the same paragraph.\n\n"
        f"- {title}: first point\n- {title}: second point\n\n"
        f"3. {title}: third step\n4. {title}: fourth step"
    )


def sections(empty: tuple[int, ...] = ()) -> list[SectionText]:
    return [
        SectionText(n, title, "" if n in empty else text_for(title), None, 10)
        for n, title in enumerate(TITLES, start=1)
    ]


def opened(data: bytes):
    """The file as Word would get it: a valid package, read back with python-docx."""
    assert zipfile.is_zipfile(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert "[Content_Types].xml" in zf.namelist()
        assert b"wordprocessingml.document.main+xml" in zf.read("[Content_Types].xml")
    return Document(io.BytesIO(data))


def blocks_of(doc) -> list[tuple[str, object]]:
    """The body's paragraphs and tables in order: ("p", text and style) or ("table", rows of cell text)."""
    out = []
    for el in doc.element.body.iterchildren():
        if el.tag == f"{W}p":
            out.append(("p", word.paragraph_text(el)))
        elif el.tag == f"{W}tbl":
            rows = [[word.paragraph_text(p) for p in tc.iter(f"{W}p")] for tr in el.iter(f"{W}tr")
                    for tc in tr.iter(f"{W}tc")]
            out.append(("table", rows))
    return out


def texts(doc) -> list[str]:
    """Every paragraph's text, in cells too, in document order."""
    return [word.paragraph_text(p) for p in doc.element.body.iter(f"{W}p")]


def assert_original_kept_in_order(original: bytes, filled: bytes, replaced: tuple[str, ...] = ()) -> None:
    """Every paragraph of the funder's form (but the placeholders it asked to replace) is still there, in order."""
    before = [t for t in texts(Document(io.BytesIO(original))) if t.strip() and t.strip() not in replaced]
    after = iter(texts(opened(filled)))
    for text in before:
        assert any(text == t for t in after), f"{text!r} is missing or out of order"


def after(paragraphs: list, text: str, n: int) -> list:
    i = next(i for i, p in enumerate(paragraphs) if p.text == text)
    return paragraphs[i + 1 : i + 1 + n]


# --- filling the form ------------------------------------------------------------------------------


def test_headings_form_gets_each_section_under_its_heading_after_the_guidance():
    original = forms.headings_form()
    data, report = fill(original, sections(), "EIYF form.docx")
    doc = opened(data)
    paragraphs = doc.paragraphs

    written = after(paragraphs, "4. Target cohort, identification & referral", 6)
    assert [p.text for p in written] == [
        "Which young people, and how they are referred.",  # the funder's guidance stays first
        "Our answer on target cohort, identification and referral.\nA second line of the same paragraph.",
        "Target cohort, identification and referral: first point",
        "Target cohort, identification and referral: second point",
        "Target cohort, identification and referral: third step",
        "Target cohort, identification and referral: fourth step",
    ]
    assert [p.style.name for p in written[1:]] == ["Normal", "List Bullet", "List Bullet", "List Number",
                                                    "List Number"]
    # The numbered list starts at the text's own first number, as a list of its own.
    num_id = written[4]._p.pPr.numPr.numId.val
    assert written[5]._p.pPr.numPr.numId.val == num_id
    num = doc.part.numbering_part.element.num_having_numId(num_id)
    assert num.find(qn("w:lvlOverride")).find(qn("w:startOverride")).get(qn("w:val")) == "3"
    # The next heading follows the answer (the blank line the form left for it stays after it).
    assert after(paragraphs, "Target cohort, identification and referral: fourth step", 2)[1].text == "5. Evidence base"

    assert_original_kept_in_order(original, data)
    assert [p.section for p in report.placed] == [f"{n}. {t}" for n, t in enumerate(TITLES[:8], start=1)]
    assert {p.where for p in report.placed} == {"under the heading"}
    assert report.unplaced == [f"{n}. {t}" for n, t in enumerate(TITLES, start=1)][8:]
    assert report.unused_headings == ["Applicant details", "Declaration"]  # not the form's title
    assert report.empty == []


def test_headings_numbered_by_word_are_matched_and_the_text_goes_straight_under_them():
    original = forms.numbered_headings_form()
    parts = word.read(Document(io.BytesIO(original)))
    assert [p.heading.number for p in parts if p.heading and p.heading.level == 1][:3] == ["1", "2", "3"]

    data, report = fill(original, sections())
    paragraphs = opened(data).paragraphs
    assert after(paragraphs, "Summary of the proposal", 1)[0].text.startswith("Our answer on summary of the proposal.")
    assert [p.text for p in after(paragraphs, "Local need and evidence", 2)] == [
        "Use your problem profile.",
        "Our answer on local need and evidence.\nA second line of the same paragraph.",
    ]
    assert [p.heading for p in report.placed][:2] == ["1. Summary of the proposal", "2. Local need and evidence"]
    assert len(report.placed) == 6 and len(report.unplaced) == 6
    assert report.unused_headings == []
    assert_original_kept_in_order(original, data)


def test_answer_boxes_and_question_rows_get_the_text_and_lose_their_placeholders():
    original = forms.answer_boxes_form()
    data, report = fill(original, sections())
    doc = opened(data)
    tables = [t for kind, t in blocks_of(doc) if kind == "table"]

    summary, need, interventions, cohort, figures = tables
    assert summary[0][0].startswith("Our answer on summary of the proposal.")
    assert "Enter your answer here" not in summary[0]
    assert need[0][0].startswith("Our answer on local need and evidence.")
    assert "[Insert text]" not in need[0]
    assert interventions[0][0].startswith("Our answer on proposed interventions")
    assert "Click or tap here to enter text." not in interventions[0]
    # The two-column table: the question stays, its answer cell gets the text; the next row is left.
    assert cohort[0] == ["Which young people is the work for, and how many?"]
    assert cohort[1][0].startswith("Our answer on target cohort") and len(cohort[1]) == 5
    assert cohort[2:] == [["How will they be identified and referred?"], [""]]
    # A table of figures under a matched heading is not an answer box: left alone; the placeholder
    # paragraph after it is replaced instead.
    assert figures == [["2018/19"], [""], ["2019/20"], [""]]
    paragraphs = doc.paragraphs
    assert after(paragraphs, "Explain the figures above.", 1)[0].text.startswith("Our answer on budget narrative.")
    assert "Enter your answer here" not in [p.text for p in paragraphs]

    # In a cell, the list items keep the form's list styles; the rest the cell's own paragraph style.
    cell = Document(io.BytesIO(data)).tables[0].rows[0].cells[0]
    assert [p.style.name for p in cell.paragraphs] == ["Normal", "List Bullet", "List Bullet", "List Number",
                                                        "List Number"]
    assert not any(r.italic for p in cell.paragraphs for r in p.runs)  # not the placeholder's look

    assert [(p.section, p.where) for p in report.placed] == [
        ("1. Summary of the proposal", "answer box"),
        ("2. Local need and evidence", "answer box"),
        ("3. Proposed interventions and delivery model", "answer box"),
        ("4. Target cohort, identification and referral", "answer box"),
        ("8. Budget narrative", "placeholder"),
    ]
    assert report.placed[0].heading == "Question 1: Summary of the proposal"  # as the form shows it
    assert "5. Evidence base" in report.unplaced
    assert report.unused_headings == []
    assert_original_kept_in_order(original, data, replaced=(
        "Enter your answer here", "[Insert text]", "Click or tap here to enter text."))


def test_a_form_without_list_styles_gets_plain_paragraphs_with_bullets_and_numbers():
    original = forms.without_list_styles(forms.headings_form())
    data, _ = fill(original, sections())
    written = after(opened(data).paragraphs, "Maximum 250 words.", 5)
    assert [p.text for p in written[1:]] == [
        "\u2022\tSummary of the proposal: first point",
        "\u2022\tSummary of the proposal: second point",
        "3.\tSummary of the proposal: third step",
        "4.\tSummary of the proposal: fourth step",
    ]
    assert {p.style.name for p in written} == {"Normal"}


def test_a_section_with_no_text_leaves_its_heading_as_the_funder_made_it():
    original = forms.answer_boxes_form()
    data, report = fill(original, sections(empty=(2,)))
    assert report.empty == ["2. Local need and evidence"]
    need = [t for kind, t in blocks_of(opened(data)) if kind == "table"][1]
    assert need == [["[Insert text]"]]


def test_a_ten_page_form_and_a_hundred_csp_bid_are_filled_in_well_under_a_second_or_two():
    """Not a benchmark: a guard against something quadratic. Each section as long as 100 CSPs'
    merged contributions (100 paragraphs of 250 words)."""
    paragraph = " ".join(["word"] * 250)
    long = [SectionText(n, t, "\n\n".join([paragraph] * 100), None, 25_000) for n, t in enumerate(TITLES, start=1)]
    form = forms.ten_page_form()
    started = time.perf_counter()
    data, report = fill(form, long)
    took = time.perf_counter() - started
    print(f"\nfilled a {len(form) // 1024}KB form with 12 sections of 25,000 words in {took:.2f}s "
          f"({len(data) // 1024}KB)")
    assert len(report.placed) == 12
    assert took < 10


# --- the form's page: upload, replace, download, remove -----------------------------------------------


@pytest.fixture(autouse=True)
def upload_folder(app, tmp_path, monkeypatch):
    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(folder))
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    return stored_folder(app, folder, "uploads/")


def page(world) -> str:
    return f"/rounds/{world.round_a}/funder-form"


def upload(client, world, data: bytes, filename: str = "EIYF application form.docx"):
    from tests.conftest import csrf_token

    token = csrf_token(client, page(world))
    return client.post(page(world), data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def text_of(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def stored(app, world) -> RoundFunderForm | None:
    with app.app_context():
        form = db.session.scalar(select(RoundFunderForm).where(RoundFunderForm.round_id == world.round_a))
        if form is not None:
            db.session.expunge(form)
        return form


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if not p.name.startswith(".")} if folder.exists() else set()


def test_a_lead_admin_uploads_replaces_downloads_and_removes_the_form(app, world, signed_in, upload_folder):
    admin = signed_in("lead_admin")
    response = admin.get(page(world))
    assert response.status_code == 200
    assert "No form has been uploaded for this round yet." in text_of(response)
    assert "Upload the funder’s form" in text_of(response)
    assert "The funder’s application form" in text_of(admin.get(f"/rounds/{world.round_a}"))

    first = forms.headings_form()
    response = upload(admin, world, first)
    assert response.status_code == 302 and response.headers["Location"] == page(world)
    shown = text_of(admin.get(page(world)))
    assert "The funder’s form EIYF application form.docx has been uploaded" in shown
    assert "Replace the funder’s form" in shown
    # Where each section will go, and what the form asks that no section answers.
    assert re.search(r"4\. Target cohort, identification and referral\s+4\. Target cohort, identification & referral",
                     shown)
    assert "4 sections have no matching heading in the form" in shown
    assert "Applicant details" in shown and "Declaration" in shown
    form = stored(app, world)
    assert files(upload_folder) == {form.stored_name}

    response = admin.get(f"{page(world)}/download")
    assert response.status_code == 200 and response.get_data() == first
    assert 'filename="EIYF application form.docx"' in response.headers["Content-Disposition"]

    second = forms.answer_boxes_form()
    response = upload(admin, world, second, "Corrected form.DOCX")
    assert "The funder’s form has been replaced with Corrected form.docx" in text_of(admin.get(page(world)))
    replaced = stored(app, world)
    assert replaced.id == form.id and replaced.sha256 != form.sha256 and replaced.filename == "Corrected form.docx"
    assert files(upload_folder) == {replaced.stored_name}  # the old file went with the commit
    assert admin.get(f"{page(world)}/download").get_data() == second

    response = admin.get(f"{page(world)}/remove")
    assert "Are you sure you want to remove the funder’s form Corrected form.docx?" in text_of(response)
    response = post_form(admin, f"{page(world)}/remove")
    assert response.status_code == 302
    assert "The funder’s form Corrected form.docx has been removed" in text_of(admin.get(page(world)))
    assert stored(app, world) is None and files(upload_folder) == set()
    assert admin.get(f"{page(world)}/download").status_code == 404

    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("round.funder_form%")).order_by(AuditEvent.id)
        ).all()
    assert actions == ["round.funder_form_uploaded", "round.funder_form_uploaded", "round.funder_form_removed"]


@pytest.mark.parametrize(("data", "filename", "message"), [
    (hostile.docx_bomb(), "form.docx", "The selected file expands to too much data when it is opened"),
    (hostile.docx(macros=True), "form.docm", "The selected file contains macros"),
    (hostile.legacy_doc(), "form.doc", "The selected file is an old Word document (.doc)"),
    (forms.with_attached_template(forms.headings_form()), "form.docx",
     "The selected file takes some of its content from other files"),
    (hostile.pdf(), "form.pdf", "The selected file must be a Word document (.docx)"),
    (forms.no_headings_form(), "form.docx", "The selected file has no headings for the bid’s sections to go under"),
    (b"", "form.docx", "The selected file is empty"),
], ids=["zip bomb", "macros", "legacy doc", "attached template", "pdf", "no headings", "empty"])
def test_hostile_or_unusable_files_are_refused_saying_why(app, world, signed_in, upload_folder, data, filename,
                                                          message):
    admin = signed_in("lead_admin")
    response = upload(admin, world, data, filename)
    assert response.status_code == 400
    shown = text_of(response)
    assert "There is a problem" in shown and message in shown
    assert stored(app, world) is None and files(upload_folder) == set()


def test_no_file_chosen(app, world, signed_in):
    admin = signed_in("lead_admin")
    response = post_form(admin, page(world))
    assert response.status_code == 400 and "Select a Word document (.docx)" in text_of(response)


def _upload_directly(app, world, data: bytes | None = None):
    from werkzeug.datastructures import FileStorage

    from app.models import User
    from app.services.funder_form import upload_funder_form

    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        actor = db.session.get(User, world.users["lead_admin"])
        upload_funder_form(actor, rnd, FileStorage(io.BytesIO(data or forms.answer_boxes_form()), filename="Form.docx"))
        db.session.commit()


def test_another_lead_bidder_cannot_see_download_replace_or_remove_the_form(app, world, signed_in):
    _upload_directly(app, world)
    before = stored(app, world)
    other = signed_in("other_lead_admin")
    assert other.get(page(world)).status_code == 404
    assert other.get(f"{page(world)}/download").status_code == 404
    assert other.get(f"{page(world)}/remove").status_code == 404
    token_page = f"/rounds/{world.round_b}/funder-form"
    from tests.conftest import csrf_token

    token = csrf_token(other, token_page)
    response = other.post(page(world), content_type="multipart/form-data",
                          data={"csrf_token": token, "file": (io.BytesIO(forms.headings_form()), "x.docx")})
    assert response.status_code == 404
    assert other.post(f"{page(world)}/remove", data={"csrf_token": token}).status_code == 404
    after_ = stored(app, world)
    assert (after_.id, after_.sha256) == (before.id, before.sha256)
    # Their own round has no form: lead bidder A's is not theirs.
    assert "No form has been uploaded for this round yet." in text_of(other.get(token_page))


def test_staff_may_download_but_not_change_it(app, world, signed_in):
    _upload_directly(app, world)
    staff = signed_in("lead_staff")
    shown = text_of(staff.get(page(world)))
    assert "Form.docx" in shown and "Replace the funder’s form" not in shown and "Remove" not in shown
    assert staff.get(f"{page(world)}/download").status_code == 200
    assert post_form(staff, f"{page(world)}/remove", page=page(world)).status_code == 403
    assert signed_in("csp_manager").get(page(world)).status_code == 403


def test_the_form_can_change_after_sign_off_but_not_once_the_bid_has_gone_to_the_funder(app, world, signed_in):
    make_ready(app, world)
    admin = signed_in("lead_admin")
    _sign_off(admin, world)
    with app.app_context():
        assert db.session.get(Round, world.round_a).status.value == "signed_off"
    assert upload(admin, world, forms.headings_form()).status_code == 302
    _mark_submitted(admin, world)
    response = upload(admin, world, forms.answer_boxes_form())
    assert response.status_code == 302
    shown = text_of(admin.get(page(world)))
    assert "The bid has been submitted to the funder, so the funder’s form cannot be changed" in shown
    assert "Replace the funder’s form" not in shown
    assert stored(app, world).filename == "EIYF application form.docx"


# --- exporting the bid into it ------------------------------------------------------------------------


def merged_bid(app, world, empty: tuple[int, ...] = ()) -> None:
    """Both contributions accepted and every section merged (section n's text from text_for)."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        for c in rnd.contributions:
            c.status = ContributionStatus.ACCEPTED
        bid = get_or_create_bid(rnd)
        for s in rnd.sections:
            text = "" if s.number in empty else text_for(s.title)
            db.session.add(MergedSection(bid=bid, section=s, text=text, version=1, state=SectionState.DRAFT))
        db.session.commit()


def exports_page(world) -> str:
    return f"/rounds/{world.round_a}/exports"


def test_the_format_is_offered_only_when_the_round_has_a_form(app, world, signed_in):
    staff = signed_in("lead_staff")
    shown = text_of(staff.get(exports_page(world)))
    assert "The funder’s form (Word)" not in shown
    response = post_form(staff, exports_page(world), {"format": "funder-form"})
    assert response.status_code == 400
    assert "Select the kind of file to export: Word document, PDF" in text_of(response)
    assert "upload the funder’s form" in text_of(signed_in("lead_admin").get(exports_page(world)))

    _upload_directly(app, world)
    shown = text_of(staff.get(exports_page(world)))
    assert "The funder’s form (Word)" in shown and "(Form.docx)" in shown
    # A contribution is never exported into the funder's form.
    assert "The funder’s form (Word)" not in text_of(
        signed_in("csp_manager").get(f"/contributions/{world.contribution_a1}/exports"))


def test_lead_staff_export_the_bid_into_the_form_and_see_what_could_not_be_placed(app, world, signed_in):
    merged_bid(app, world, empty=(3,))
    _upload_directly(app, world, forms.headings_form())
    staff = signed_in("lead_staff")
    export_id = created_id(post_form(staff, exports_page(world), {"format": "funder-form"}))
    prepare(staff, export_id)
    export = record(app, export_id)
    assert export.status.value == "ready", export.error
    assert export.filename.endswith(".docx") and " - funder's form - " in export.filename

    shown = text_of(staff.get(f"/exports/{export_id}"))
    assert "Download the filled-in funder’s form" in shown
    assert "7 sections were put in the funder’s form (Form.docx)" in shown
    assert "4 sections could not be placed in the funder’s form" in shown
    assert "Copy them in by hand from the Word export." in shown
    for n in (9, 10, 11, 12):
        assert f"{n}. {TITLES[n - 1]}" in shown
    assert "1 section has no text yet, so nothing was put in the funder’s form for it" in shown
    assert "3. Proposed interventions and delivery model" in shown
    assert "2 headings in the funder’s form got no section" in shown and "Applicant details" in shown
    assert export.report["unplaced"] == [f"{n}. {TITLES[n - 1]}" for n in (9, 10, 11, 12)]

    response = staff.get(f"/exports/{export_id}/download")
    assert response.status_code == 200
    data = response.get_data()
    paragraphs = opened(data).paragraphs
    assert after(paragraphs, "Describe the problem in your area, with data.", 1)[0].text.startswith(
        "Our answer on local need and evidence.")
    assert after(paragraphs, "What will be delivered and by whom.", 1)[0].text == ""  # no text yet: left
    assert_original_kept_in_order(forms.headings_form(), data)

    # The status the page polls carries the report too (the script swaps it in).
    status = staff.get(f"/exports/{export_id}/status").get_json()
    assert "4 sections could not be placed" in html.unescape(status["html"])


def test_an_export_whose_form_was_removed_meanwhile_says_so(app, world, signed_in):
    merged_bid(app, world)
    _upload_directly(app, world)
    staff = signed_in("lead_staff")
    export_id = created_id(post_form(staff, exports_page(world), {"format": "funder-form"}))
    admin = signed_in("lead_admin")
    post_form(admin, f"{page(world)}/remove")
    prepare(staff, export_id)
    assert record(app, export_id).status.value == "failed"
    assert "The funder’s form was removed before the file was made" in text_of(staff.get(f"/exports/{export_id}"))


def test_the_command_line_exports_into_the_form_and_says_what_could_not_be_placed(app, world, tmp_path):
    merged_bid(app, world)
    out = tmp_path / "filled.docx"
    args = ["export", "bid", str(world.round_a), "-f", "funder-form", "-o", str(out)]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1 and "Select the kind of file to export" in result.output

    _upload_directly(app, world, forms.headings_form())
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "4 sections could not be placed in the funder’s form: 9. Sustainability and exit strategy" in result.stderr
    assert_original_kept_in_order(forms.headings_form(), out.read_bytes())


def test_a_form_that_asks_its_questions_in_a_table_gets_the_answers_in_its_cells():
    original = forms.table_form()
    data, report = fill(original, sections())
    rows = ["\n".join(cell) for cell in [t for kind, t in blocks_of(opened(data)) if kind == "table"][0]]
    assert rows[0:2] == ["Name of the lead organisation", ""]  # no section for it: left alone
    assert rows[2] == "1. Summary of the proposal (250 words)"
    assert rows[3].startswith("Our answer on summary of the proposal.")
    need = rows.index("2. Local need and evidence")
    assert rows[need + 1].startswith("Our answer on local need and evidence.")
    evidence = rows.index("Describe the evidence base for your proposal")
    assert rows[evidence + 1].startswith("Our answer on evidence base.")
    assert rows[-2:] == ["What is the date today?", "1 December 2026"]  # answered already: left alone
    assert [(p.section, p.where) for p in report.placed] == [
        ("1. Summary of the proposal", "answer box"),
        ("2. Local need and evidence", "answer box"),
        ("5. Evidence base", "answer box"),
    ]
    assert "3. Proposed interventions and delivery model" in report.unplaced
    assert_original_kept_in_order(original, data, replaced=("[Insert text]", "Enter your answer here"))


def test_a_table_form_is_accepted_and_its_page_says_where_each_section_goes(app, world, signed_in):
    admin = signed_in("lead_admin")
    assert upload(admin, world, forms.table_form()).status_code == 302
    shown = text_of(admin.get(page(world)))
    assert re.search(r"5\. Evidence base\s+Describe the evidence base for your proposal", shown)
    assert "9 sections have no matching heading in the form" in shown
