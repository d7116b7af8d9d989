"""A draft round's sections from the funder's application form (.docx): word limits read from the
funder's wordings, questions found by heading, bold line or table cell, a page to check and change
them before anything is saved, and files that are refused."""

from __future__ import annotations

import html
import io
import re

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Round, RoundStatus, SectionTemplate
from app.services import documents
from app.services.imports import funder_form
from app.services.office import LINKED_MESSAGE, word
from app.storage import storage
from tests.conftest import S3_TESTS, post_form
from tests.fixtures import documents as files
from tests.fixtures import funder_forms
from tests.test_rounds import create

# --- word limits in the funder's words -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit"),
    [
        ("(max 500 words)", 500),
        ("(Max. 500 words)", 500),
        ("Word limit: 250", 250),
        ("word limit of 300", 300),
        ("Word count: 600 words", 600),
        ("maximum of 300 words", 300),
        ("Maximum 800 words.", 800),
        ("no more than 400 words", 400),
        ("in not more than 350 words", 350),
        ("must not exceed 300 words", 300),
        ("up to 2,000 words", 2000),
        ("500 words max", 500),
        ("500 words maximum", 500),
        ("a 500-word limit", 500),
        ("(250 words)", 250),
        ("[250 words]", 250),
        ("Max. 1,000 words", 1000),
        ("Describe the need (max 500 words). Then the plan (max 200 words).", 500),
    ],
)
def test_a_word_limit_in_each_wording(text, limit):
    assert funder_form.word_limit(text) == limit


@pytest.mark.parametrize(
    "text",
    [
        "500 young people",
        "£500",
        "up to £700,000",
        "within 6 months",
        "at least 100 words",
        "a minimum of 100 words",
        "100 words minimum",
        "The word limit is set out in the guidance",
        "Word limit: 20%",
        "Section 3",
        "in 2018/19 and 2019/20",
        "(max 0 words)",
        "",
    ],
)
def test_things_that_are_not_word_limits(text):
    assert funder_form.word_limit(text) is None


@pytest.mark.parametrize(
    ("heading", "title", "limit"),
    [
        ("Summary of the proposal (max 250 words)", "Summary of the proposal", 250),
        ("Proposed interventions – maximum of 1,500 words", "Proposed interventions", 1500),
        ("Evidence base 500 words max", "Evidence base", 500),
        ("Outcomes (750 words)", "Outcomes", 750),
        ("Outcomes. Word limit: 250", "Outcomes", 250),
        ("Risks (max 500 words, including references)", "Risks", 500),
        ("Local need and evidence", "Local need and evidence", None),
        ("Reaching 500 young people", "Reaching 500 young people", None),
    ],
)
def test_a_word_limit_leaves_the_title(heading, title, limit):
    assert funder_form.without_limit(heading) == (title, limit)


def test_guidance_keeps_the_funders_explanation_not_the_forms_instructions():
    text = (
        "Describe the problem in your area.\n\n"
        "Please answer in the box below.\n\n"
        "Word limit: 1,000\n\n"
        "Click or tap here to enter text.\n\n"
        "Use data from the last three years, in no more than 750 words.\n\n"
        "The box will expand as you type."
    )
    assert funder_form.guidance_from(text) == (
        "Describe the problem in your area.\n\nUse data from the last three years, in no more than 750 words.",
        1000,
    )
    # An explanation that mentions a box is still the funder's explanation.
    assert not funder_form.is_instruction("Tick the box if your partnership includes a youth offending team, "
                                          "and describe its part in the programme and how it will be funded.")
    assert funder_form.is_instruction("Type your response in the space provided")
    assert funder_form.is_instruction("[Insert text here]")


@pytest.mark.parametrize(
    ("title", "own"),
    [
        ("Guidance notes", True),
        ("Declaration", True),
        ("Contact details", True),
        ("Part A: About your organisation", False),
        ("Part B", True),
        ("Annex 1", True),
        ("Local need and evidence", False),
        ("Delivery timetable and milestones", False),
        ("Guidance for CSPs on safeguarding", False),
    ],
)
def test_the_forms_own_pages(title, own):
    assert funder_form.looks_like_the_forms_own(title) is own


# --- reading the funder's forms (app/services/office/word.py) ---------------------------------------


def _read(data: bytes, **kwargs):
    return word.read(docx.Document(io.BytesIO(data)), **kwargs)


def _found(data: bytes):
    return funder_form.sections_in(_read(data, questions=True))


def test_a_form_numbered_by_word_with_a_cover_page_and_guidance_notes():
    found = _found(funder_forms.numbered_form())
    assert [(s.title, s.word_limit, s.include) for s in found] == [
        ("Guidance notes", None, False),
        ("Summary of the proposal", 250, True),
        ("Local need and evidence", 1000, True),  # the tracked change accepted: not "Local problems"
        ("Proposed interventions", 1500, True),
        ("Target cohort", 750, True),
        ("Evidence base", 500, True),
        ("Outcomes, monitoring and evaluation", 750, True),
        ("Budget", None, True),
        ("Declaration", None, False),
        ("Contact details", None, False),
    ]
    assert [s.number for s in found[1:4]] == ["1", "2", "3"]  # Word's list numbering, not in the text
    need = found[2]
    assert need.guidance == "Describe the problem in your area, using your problem profile."
    cohort = found[4]
    assert "500 young people within 6 months" in cohort.guidance


def test_a_form_asking_its_questions_in_a_table():
    found = _found(funder_forms.table_form())
    assert [(s.title, s.guidance, s.word_limit, s.include) for s in found] == [
        ("Part A: About your organisation", "Organisation name\nAddress", None, False),
        ("Part B: Your proposal", "", None, False),
        ("Summary of your bid", "Tell us what you will do, where and for whom.", 1000, True),
        ("Partnership and governance", "Who does what, and the accountable body.", 600, True),
        ("Risks and mitigations", "", 400, True),
    ]
    # Read without questions=True (the CSP's draft import, the export), the table is text as before.
    plain = _read(funder_forms.table_form())
    assert [p.heading.title for p in plain] == ["Part A: About your organisation", "Part B: Your proposal"]
    assert "Q1. Summary of your bid (Max. 1,000 words)" in plain[1].text


def test_a_form_with_bold_questions_and_no_heading_styles():
    found = _found(funder_forms.bold_form())
    assert [(s.title, s.word_limit) for s in found] == [("Area and crime problem", 500), ("Interventions", 800)]


def test_bold_questions_under_part_headings_and_a_title_on_the_cover():
    d = docx.Document()
    d.add_paragraph("Safer Streets Fund", style="Title")
    d.add_paragraph().add_run("Application form").bold = True  # on the cover: not a question
    d.add_heading("Part A: The area", 1)
    d.add_paragraph().add_run("Which area will the bid cover? (max 300 words)").bold = True
    d.add_paragraph("Name the streets or estate.")
    d.add_heading("Part B: The plan", 1)
    d.add_paragraph().add_run("What will you do? (max 800 words)").bold = True
    d.add_paragraph("List each intervention.")
    buffer = io.BytesIO()
    d.save(buffer)
    parts = _read(buffer.getvalue(), questions=True)
    assert [(p.heading.level, p.heading.title) for p in parts] == [
        (0, "Safer Streets Fund"),
        (1, "Part A: The area"),
        (2, "Which area will the bid cover? (max 300 words)"),
        (1, "Part B: The plan"),
        (2, "What will you do? (max 800 words)"),
    ]
    assert "Application form" in parts[0].text
    found = funder_form.sections_in(parts)
    assert [(s.title, s.include) for s in found] == [
        ("Part A: The area", False),
        ("Which area will the bid cover?", True),
        ("Part B: The plan", False),
        ("What will you do?", True),
    ]


def test_a_title_alone_does_not_hide_bold_headings():
    d = docx.Document()
    d.add_paragraph("Youth Fund form", style="Title")
    d.add_paragraph().add_run("Summary (250 words)").bold = True
    d.add_paragraph("A short overview.")
    buffer = io.BytesIO()
    d.save(buffer)
    assert [(p.heading.level, p.heading.title) for p in _read(buffer.getvalue())] == [
        (0, "Youth Fund form"),
        (1, "Summary (250 words)"),
    ]


def test_a_list_numbering_written_as_section_n():
    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="77"><w:lvl w:ilvl="0"><w:start w:val="1"/>'
        '<w:numFmt w:val="decimal"/><w:lvlText w:val="Section %1:"/></w:lvl></w:abstractNum>'
    ))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="77"><w:abstractNumId w:val="77"/></w:num>'))
    for title in ("Need", "Plan"):
        p = d.add_heading(title, 1)
        p._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="0"/><w:numId w:val="77"/></w:numPr>')
        )
    buffer = io.BytesIO()
    d.save(buffer)
    assert [(p.heading.number, p.heading.title) for p in _read(buffer.getvalue())] == [("1", "Need"), ("2", "Plan")]


def test_sub_headings_of_a_question_are_part_of_its_guidance():
    d = docx.Document()
    for n in (1, 2):
        d.add_heading(f"{n}. Question {n} (max {n}00 words)", 1)
        d.add_heading("What we look for", 2)
        d.add_paragraph(f"Good answer {n}.")
    buffer = io.BytesIO()
    d.save(buffer)
    found = funder_form.sections_in(_read(buffer.getvalue(), questions=True))
    assert [(s.title, s.guidance, s.word_limit) for s in found] == [
        ("Question 1", "What we look for\n\nGood answer 1.", 100),
        ("Question 2", "What we look for\n\nGood answer 2.", 200),
    ]


def test_a_question_too_long_for_a_title_keeps_all_its_words_in_the_guidance():
    d = docx.Document()
    long_question = "Describe " + "the local need in great detail " * 10 + "(max 500 words)"
    d.add_heading(long_question, 1)
    d.add_paragraph("Use local data. " * 400)
    buffer = io.BytesIO()
    d.save(buffer)
    (found,) = funder_form.sections_in(_read(buffer.getvalue(), questions=True))
    assert len(found.title) <= 200 and found.title.endswith("…")
    assert found.guidance.startswith("Describe the local need in great detail the local need")
    assert len(found.guidance) <= 5000 and found.shortened
    assert found.word_limit == 500


# --- the pages -------------------------------------------------------------------------------------


def _draft(app, admin, **overrides) -> int:
    response = create(admin, **overrides)
    assert response.status_code == 302
    with app.app_context():
        return db.session.scalar(select(Round.id).where(Round.title == overrides.get("title", "EIYF 2026")))


def _upload(client, rid: int, data: bytes, name: str = "EIYF application form.docx"):
    return post_form(client, f"/rounds/{rid}/sections/from-funders-form", {"file": (io.BytesIO(data), name)})


def _inputs(page: str) -> dict:
    """The values of the page's text inputs, textareas and checkboxes (ticked: "y"), by name."""
    values = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        values[name] = html.unescape(value)
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        values[name] = html.unescape(value).strip("\n")
    for tag in re.findall(r'<input[^>]*type="checkbox"[^>]*>', page):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        values[name] = "y" if "checked" in tag else ""
    for tag in re.findall(r'<input[^>]*type="radio"[^>]*checked[^>]*>', page):
        values[re.search(r'name="([^"]+)"', tag).group(1)] = re.search(r'value="([^"]*)"', tag).group(1)
    return values


def _save(client, rid: int, values: dict):
    data = {k: v for k, v in values.items() if v != "" or not k.startswith("include_")}
    data.pop("csrf_token", None)
    return post_form(client, f"/rounds/{rid}/sections/from-funders-form/check", data,
                     page=f"/rounds/{rid}/sections/from-funders-form")


def _sections(app, rid: int):
    with app.app_context():
        rnd = db.session.get(Round, rid)
        return [(s.title, s.guidance, s.word_limit, s.csp_word_limit) for s in rnd.sections]


def test_start_a_round_from_the_funders_form_check_change_and_save(app, world, signed_in):
    admin = signed_in("lead_admin")
    # The new-round page offers the funder's form as the start; it leads to the upload.
    assert "The funder&#39;s application form (.docx)" in admin.get("/rounds/new").get_data(as_text=True)
    response = create(admin, start_from="funder-form")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sections/from-funders-form")
    rid = int(response.headers["Location"].split("/")[2])
    assert _sections(app, rid) == []
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Now upload the funder" in html.unescape(page)

    response = _upload(admin, rid, funder_forms.numbered_form())
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "We found 10 sections in EIYF application form.docx. Nothing has been saved yet." in page
    assert "What should happen to the round" not in page  # nothing to replace
    assert "In the funder’s form: “1. Summary of the proposal (max 250 words)”" in page
    values = _inputs(page)
    assert values["title_2"] == "Summary of the proposal" and values["word_limit_2"] == "250"
    assert values["guidance_3"] == "Describe the problem in your area, using your problem profile."
    assert (values["include_1"], values["include_2"], values["include_9"]) == ("", "y", "")
    assert _sections(app, rid) == []  # nothing saved by looking

    values["title_2"] = "Summary"  # changed
    values["include_8"] = ""  # Budget: the round has its own budget pages
    values["word_limit_4"] = "1,200"
    response = _save(admin, rid, values)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/rounds/{rid}#sections")
    page = admin.get(f"/rounds/{rid}").get_data(as_text=True)
    assert "6 sections added from the funder&#39;s form" in page
    assert "1. Summary" in page and "6. Outcomes, monitoring and evaluation" in page
    assert _sections(app, rid) == [
        ("Summary", "Give a short overview of the whole programme.", 250, None),
        ("Local need and evidence", "Describe the problem in your area, using your problem profile.", 1000, None),
        ("Proposed interventions", "What you will deliver and who will deliver it.", 1200, None),
        ("Target cohort", "Which young people the work is for, in no more than 750 words. We expect to reach "
                          "500 young people within 6 months.", 750, None),
        ("Evidence base", "Why these interventions should work.", 500, None),
        ("Outcomes, monitoring and evaluation", "What will change, and how you will measure it.", 750, None),
    ]
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.summary.contains("EIYF 2026") | AuditEvent.action.like(
                "round.section%"))
        ).all()
        assert actions.count("round.section_added") == 6
        assert actions.count("round.sections_imported") == 1


def test_add_after_or_replace_the_rounds_sections(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin)  # the EIYF template's 12 sections
    page = _upload(admin, rid, funder_forms.table_form(), "form.docx").get_data(as_text=True)
    assert "What should happen to the round&#39;s 12 current sections?" in page
    values = _inputs(page)
    assert values["mode"] == "add"
    assert _save(admin, rid, values).status_code == 302
    titles = [t for t, *_ in _sections(app, rid)]
    assert len(titles) == 15 and titles[12:] == ["Summary of your bid", "Partnership and governance",
                                                 "Risks and mitigations"]

    values["mode"] = "replace"
    page = _save(admin, rid, values)
    assert page.status_code == 302
    assert "3 sections from the funder&#39;s form replaced the round&#39;s sections" in admin.get(
        f"/rounds/{rid}").get_data(as_text=True)
    assert _sections(app, rid) == [
        ("Summary of your bid", "Tell us what you will do, where and for whom.", 1000, None),
        ("Partnership and governance", "Who does what, and the accountable body.", 600, None),
        ("Risks and mitigations", "", 400, None),
    ]
    with app.app_context():
        removed = db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "round.section_removed")
        )
        assert removed == 15


def test_errors_name_the_section_and_keep_what_was_typed(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin, start_from="blank")
    values = _inputs(_upload(admin, rid, funder_forms.numbered_form()).get_data(as_text=True))
    values["title_3"] = ""
    values["guidance_3"] = "Our own words for the need."
    values["word_limit_5"] = "lots"
    values["title_1"] = ""  # not ticked: not checked, not added
    response = _save(admin, rid, values)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert page.count("There is a problem") == 1
    assert '<a href="#title_3">Enter a title for section 3</a>' in page
    assert "The word limit for section 5 must be a whole number from 1 to 100,000" in page
    assert "section 1" not in page.split("There is a problem")[1].split("</ul>")[0]
    kept = _inputs(response.get_data(as_text=True))
    assert kept["guidance_3"] == "Our own words for the need." and kept["word_limit_5"] == "lots"
    assert kept["title_2"] == "Summary of the proposal" and kept["include_1"] == ""
    assert _sections(app, rid) == []

    for i in range(1, 11):
        values[f"include_{i}"] = ""
    response = _save(admin, rid, values)
    assert response.status_code == 400
    assert '<a href="#include_1">Select at least one section to add</a>' in response.get_data(as_text=True)
    assert _sections(app, rid) == []


def test_nothing_chosen_or_no_questions_found(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin, start_from="blank")
    response = post_form(admin, f"/rounds/{rid}/sections/from-funders-form", {})
    assert response.status_code == 400 and "Select a Word document (.docx)" in response.get_data(as_text=True)
    d = docx.Document()
    d.add_paragraph("Just a letter, with no headings at all.")
    buffer = io.BytesIO()
    d.save(buffer)
    response = _upload(admin, rid, buffer.getvalue())
    assert response.status_code == 400
    assert "The selected file has no headings or questions we could find" in response.get_data(as_text=True)
    # The check page posted with no sections (a stale tab): back to the upload, nothing saved.
    response = _save(admin, rid, {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/sections/from-funders-form")
    assert _sections(app, rid) == []


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (files.docx_bomb(), "bomb.docx", documents.EXPANDS_MESSAGE),
        (files.docx(macros=True), "form.docm", documents.MACROS_MESSAGE),
        (files.legacy_doc(), "form.doc", documents.LEGACY_WORD_MESSAGE),
        (funder_forms.linked_template_form(), "linked.docx", LINKED_MESSAGE),
        (files.pdf(), "form.pdf", "The selected file must be a Word document (.docx)"),
    ],
    ids=["zip bomb", "macros", "legacy doc", "linked template", "pdf"],
)
def test_hostile_and_wrong_files_are_refused_saying_why(app, world, signed_in, data, name, message):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin, start_from="blank")
    response = _upload(admin, rid, data, name)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert message in page and page.count("There is a problem") == 1
    assert 'href="#file"' in page
    assert _sections(app, rid) == []
    with app.app_context():
        assert not db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "round.sections_imported")
        )


def test_only_while_the_round_is_a_draft_and_only_for_its_administrators(app, world, signed_in):
    admin = signed_in("lead_admin")
    # world.round_a is open: its page offers no import, and the pages refuse saying why.
    page = admin.get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert "Add sections from the funder" not in page and "Add a section" in page
    response = admin.get(f"/rounds/{world.round_a}/sections/from-funders-form")
    assert response.status_code == 403
    assert "The round is open for contributions, so sections can no longer be added from the funder" in html.unescape(
        response.get_data(as_text=True))
    with app.app_context():
        before = len(db.session.get(Round, world.round_a).sections)
    response = _save(admin, world.round_a, {"rows": "1", "include_1": "y", "title_1": "Sneaky"})
    assert response.status_code == 403
    assert len(_sections(app, world.round_a)) == before

    rid = _draft(app, admin, start_from="blank")
    assert "Add sections from the funder’s form (.docx)" in admin.get(f"/rounds/{rid}").get_data(as_text=True)
    editor = signed_in("lead_staff")
    assert editor.get(f"/rounds/{rid}/sections/from-funders-form").status_code == 403
    with app.app_context():
        rnd = db.session.get(Round, rid)
        rnd.status = RoundStatus.CLOSED
        db.session.commit()
    assert admin.get(f"/rounds/{rid}/sections/from-funders-form").status_code == 403


def test_the_service_reads_and_adds_through_the_rulebook(app, world):
    from werkzeug.datastructures import FileStorage

    from app.models import User
    from app.policy import NotAllowed

    with app.app_context():
        admin = db.session.get(User, world.users["lead_admin"])
        rnd = db.session.get(Round, world.round_a)  # open
        upload = FileStorage(io.BytesIO(funder_forms.table_form()), "form.docx")
        with pytest.raises(NotAllowed):
            funder_form.read_form(admin, rnd, upload)
        with pytest.raises(NotAllowed):
            funder_form.add_sections(admin, rnd, [funder_form.NewSection("Sneaky")])
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(SectionTemplate).where(
            SectionTemplate.title == "Sneaky")) == 0


def test_the_check_page_costs_the_same_however_many_sections_are_found(app, world, signed_in):
    from tests.test_statement_counts import counting

    admin = signed_in("lead_admin")
    rid = _draft(app, admin)  # with the template's 12 sections, to keep or replace
    counts = []
    # The first request may also note the session's activity: the second and third are compared.
    for form in (funder_forms.bold_form(), funder_forms.bold_form(), funder_forms.numbered_form()):  # 2, 2, 10
        token_page = admin.get(f"/rounds/{rid}/sections/from-funders-form")
        assert token_page.status_code == 200
        with app.app_context(), counting() as statements:
            response = _upload(admin, rid, form)
        assert response.status_code == 200
        counts.append([" ".join(s.split())[:60] for s in statements])
    assert len(counts[1]) == len(counts[2]) <= 5, counts[1:]


def test_sections_with_the_leads_merged_text_are_not_replaced(app, world, signed_in):
    from app.models import CollectiveBid, MergedSection

    admin = signed_in("lead_admin")
    rid = _draft(app, admin)
    with app.app_context():
        rnd = db.session.get(Round, rid)
        bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rid))
        db.session.add(MergedSection(bid_id=bid.id, section_id=rnd.sections[0].id, text="Our summary so far."))
        db.session.commit()
    values = _inputs(_upload(admin, rid, funder_forms.bold_form()).get_data(as_text=True))
    values["mode"] = "replace"
    response = _save(admin, rid, values)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert ('<a href="#mode">The collective bid already has text for Summary of the proposal, so the round\'s '
            "sections cannot be replaced. Add these sections after them instead</a>") in page
    assert len(_sections(app, rid)) == 12
    values["mode"] = "add"
    assert _save(admin, rid, values).status_code == 302
    assert [t for t, *_ in _sections(app, rid)][11:] == ["Safeguarding", "Area and crime problem", "Interventions"]


def test_numbers_typed_in_headings_are_not_part_of_the_title():
    d = docx.Document()
    for heading in ("Section 2: Local need (max 500 words)", "Question 3 – Delivery plan", "Q4. Risks", "5) Budget"):
        d.add_heading(heading, 1)
        d.add_paragraph("Tell us.")
    buffer = io.BytesIO()
    d.save(buffer)
    assert [(s.number, s.title, s.word_limit) for s in _found(buffer.getvalue())] == [
        ("2", "Local need", 500),
        ("3", "Delivery plan", None),
        ("4", "Risks", None),
        ("5", "Budget", None),
    ]


# --- one file: the form the sections came from is the form the bid is exported into -----------------


def _form_of(app, rid: int):
    from app.models import RoundFunderForm

    with app.app_context():
        form = db.session.scalar(select(RoundFunderForm).where(RoundFunderForm.round_id == rid))
        if form is not None:
            db.session.expunge(form)
        return form


def _audits(app, action: str) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == action)).all()


def _text(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))))


def _start_from_the_form(app, admin, title: str = "EIYF 2026"):
    response = create(admin, start_from="funder-form", title=title)
    rid = int(response.headers["Location"].split("/")[2])
    return rid, _upload(admin, rid, funder_forms.numbered_form())


def test_start_from_the_funders_form_then_export_the_bid_into_it_without_a_second_upload(app, world, signed_in):
    from app.models import MergedSection, SectionState
    from app.services.consolidation import get_or_create_bid
    from tests.test_exports import created_id, prepare, record

    admin = signed_in("lead_admin")
    rid, response = _start_from_the_form(app, admin)
    shown = _text(response)
    assert "Also use this form for the export into the funder’s form" in shown
    assert "This replaces" not in shown  # the round has no form yet
    values = _inputs(response.get_data(as_text=True))
    assert values["use_for_export"] == "y"  # ticked to start with
    assert _form_of(app, rid) is None  # nothing saved by looking

    response = _save(admin, rid, values)
    assert response.status_code == 302
    assert "The form will also be used for the export into the funder’s form" in _text(admin.get(f"/rounds/{rid}"))
    form = _form_of(app, rid)
    assert form.filename == "EIYF application form.docx" and form.size_bytes == len(funder_forms.numbered_form())
    assert [s.split(" uploaded ", 1)[1] for s in _audits(app, "round.funder_form_uploaded")] == [
        "the funder’s form EIYF application form.docx for EIYF 2026"]
    # The kept copy is gone once used: only the round's form remains.
    with app.app_context():
        import hashlib

        assert hashlib.sha256(storage().read(documents.key_of(form.stored_name))).hexdigest() == form.sha256
        from itsdangerous import URLSafeTimedSerializer

        held = URLSafeTimedSerializer(app.secret_key, salt="funder-form-pending").loads(values["for_export"])
        assert held["round"] == rid and held["sha256"] == form.sha256  # the very file that was checked
        assert not storage().exists(f"uploads/pending/{held['name']}")

    # The funder's form page has it, each section under its own question.
    page = _text(admin.get(f"/rounds/{rid}/funder-form"))
    assert "EIYF application form.docx" in page and "No matching heading" not in page
    assert "Add the round’s sections from this form" in page  # still a draft

    # The bid is exported into it with no second upload.
    with app.app_context():
        rnd = db.session.get(Round, rid)
        bid = get_or_create_bid(rnd)
        for s in rnd.sections:
            db.session.add(MergedSection(bid=bid, section=s, text=f"Our answer on {s.title.lower()}.", version=1,
                                         state=SectionState.DRAFT))
        db.session.commit()
    staff = signed_in("lead_staff")
    export_id = created_id(post_form(staff, f"/rounds/{rid}/exports", {"format": "funder-form"}))
    prepare(staff, export_id)
    assert record(app, export_id).status.value == "ready", record(app, export_id).error
    shown = _text(staff.get(f"/exports/{export_id}"))
    assert "sections were put in the funder’s form (EIYF application form.docx)" in shown, shown[-1500:]
    filled = docx.Document(io.BytesIO(staff.get(f"/exports/{export_id}/download").get_data()))
    texts = [p.text for p in filled.paragraphs]
    cohort = next(i for i, t in enumerate(texts) if t.startswith("Target cohort"))
    answer = texts.index("Our answer on target cohort.")
    evidence = next(i for i, t in enumerate(texts) if t.startswith("Evidence base"))
    assert cohort < answer < evidence, texts
    assert "Our answer on summary of the proposal." in texts


def test_unticking_the_box_leaves_the_funders_form_page_empty(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid, response = _start_from_the_form(app, admin)
    values = _inputs(response.get_data(as_text=True))
    values["use_for_export"] = ""
    data = {k: v for k, v in values.items() if k != "use_for_export"}
    response = _save(admin, rid, data)
    assert response.status_code == 302
    assert len(_sections(app, rid)) == 7
    assert "also be used for the export" not in _text(admin.get(f"/rounds/{rid}"))
    assert _form_of(app, rid) is None
    assert _audits(app, "round.funder_form_uploaded") == []
    assert "No form has been uploaded for this round yet." in _text(admin.get(f"/rounds/{rid}/funder-form"))


def test_read_the_sections_from_the_form_already_uploaded(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin, start_from="blank")
    assert "Use the funder’s form already uploaded" not in _text(admin.get(f"/rounds/{rid}/sections/from-funders-form"))
    # The funder's form page is where it was uploaded: it links to adding the sections from it.
    page = f"/rounds/{rid}/funder-form"
    data = funder_forms.numbered_form()
    assert post_form(admin, page, {"file": (io.BytesIO(data), "Funder form.docx")}).status_code == 302
    assert "Add the round’s sections from this form" in _text(admin.get(page))
    before = _form_of(app, rid)

    upload_page = admin.get(f"/rounds/{rid}/sections/from-funders-form")
    assert "Use the funder’s form already uploaded: Funder form.docx" in _text(upload_page)
    response = post_form(admin, f"/rounds/{rid}/sections/from-funders-form/stored", {},
                         page=f"/rounds/{rid}/sections/from-funders-form")
    assert response.status_code == 200
    shown = _text(response)
    assert "We found 10 sections in Funder form.docx. Nothing has been saved yet." in shown
    assert "This is the round’s funder’s form for the export (Funder form.docx)." in shown
    assert "Also use this form" not in shown  # it is already the form
    assert _sections(app, rid) == []
    assert _save(admin, rid, _inputs(response.get_data(as_text=True))).status_code == 302
    assert [t for t, *_ in _sections(app, rid)][0] == "Summary of the proposal"
    assert _form_of(app, rid).stored_name == before.stored_name  # untouched
    assert len(_audits(app, "round.funder_form_uploaded")) == 1

    # The same file uploaded again is recognised as the round's form: nothing to replace.
    shown = _text(_upload(admin, rid, data))
    assert "This is the round’s funder’s form for the export" in shown and "Also use this form" not in shown


def test_a_different_file_says_which_form_it_replaces(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = _draft(app, admin, start_from="blank")
    old = funder_forms.numbered_form()
    post_form(admin, f"/rounds/{rid}/funder-form", {"file": (io.BytesIO(old), "Old form.docx")})
    uploaded = _form_of(app, rid).uploaded_at
    response = _upload(admin, rid, funder_forms.table_form(), "New form.docx")
    shown = _text(response)
    from app.filters import govuk_date

    with app.app_context():
        assert f"This replaces Old form.docx, uploaded on {govuk_date(uploaded)}." in shown
    assert _save(admin, rid, _inputs(response.get_data(as_text=True))).status_code == 302
    assert _form_of(app, rid).filename == "New form.docx"
    assert _audits(app, "round.funder_form_uploaded")[-1].endswith(
        "replaced the funder’s form Old form.docx with New form.docx for EIYF 2026")


def test_a_changed_or_copied_reference_to_the_uploaded_file_is_refused(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid, response = _start_from_the_form(app, admin, "Round one")
    values = _inputs(response.get_data(as_text=True))
    other_rid = _draft(app, admin, title="Round two", start_from="blank")
    other_lead = signed_in("other_lead_admin")
    theirs = _draft(app, other_lead, title="Their round", start_from="blank")

    def refused(client, round_id, reference):
        response = _save(client, round_id, values | {"for_export": reference})
        assert response.status_code == 400
        assert "The form you uploaded is no longer kept for the export" in _text(response)
        assert _sections(app, round_id) == [] and _form_of(app, round_id) is None

    refused(admin, other_rid, values["for_export"])  # another round's file
    refused(other_lead, theirs, values["for_export"])  # another lead bidder's file
    refused(admin, rid, values["for_export"][:-2] + ("AA" if not values["for_export"].endswith("AA") else "BB"))
    from itsdangerous import URLSafeTimedSerializer

    with app.app_context():
        form_name = "0" * 32
        forged = URLSafeTimedSerializer("not the app's secret", salt="funder-form-pending").dumps(
            {"round": rid, "lead": world.lead_a, "name": form_name, "filename": "x.docx", "sha256": ""})
    refused(admin, rid, forged)
    # The page keeps what was chosen, and the genuine reference still works.
    assert _save(admin, rid, values).status_code == 302
    assert _form_of(app, rid).filename == "EIYF application form.docx"


@pytest.mark.skipif(S3_TESTS, reason="ages a file in the local folder; tests/test_storage.py sweeps the bucket")
def test_the_pending_file_is_checked_again_and_swept_when_old(app, world, tmp_path, monkeypatch):
    import os
    import time

    from app.models import User
    from app.services import ServiceError
    from app.services import funder_form as funder_forms_service
    from app.services.retention import run_retention

    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))

    with app.app_context():
        admin = db.session.get(User, world.users["lead_admin"])
        rnd = db.session.get(Round, world.round_a)
        reference = funder_forms_service.hold_pending(rnd, funder_forms.table_form(), "form.docx")
        folder = documents.upload_folder() / "pending"
        held = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime)[-1]
        held.write_bytes(b"changed")  # not the file that was checked
        with pytest.raises(ServiceError) as refused:
            funder_forms_service.store_pending(admin, rnd, reference)
        assert refused.value.field == "use_for_export"
        old = time.time() - funder_forms_service.PENDING_MAX_AGE - 60
        os.utime(held, (old, old))
        assert run_retention().pending_forms == 1  # the retention run removes it
        assert not held.exists()
        db.session.rollback()
