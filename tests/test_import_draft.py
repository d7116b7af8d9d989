"""A CSP's Word draft imported into its contribution: the Word template, the upload and its preview,
confirming (each section a new revision, all or nothing), hostile files, conflicts, statements."""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser

import docx
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Contribution, SectionResponse, SectionRevision, SectionTemplate, User
from app.services import documents as documents_service
from app.services import office
from app.services.office import word
from app.services.sections import save_section
from tests.fixtures import documents as files
from tests.fixtures import word_drafts
from tests.test_statement_counts import counting

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def base(world) -> str:
    return f"/contributions/{world.contribution_a1}"


class Inputs(HTMLParser):
    """The <input>s of the preview's confirm form."""

    def __init__(self):
        super().__init__()
        self.inputs: list[dict] = []
        self.in_confirm = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_confirm = attrs.get("action", "").endswith("/import/confirm")
        elif tag == "input" and self.in_confirm:
            self.inputs.append(attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_confirm = False


def confirm_data(page: str, untick: set[int] = frozenset()) -> dict:
    parser = Inputs()
    parser.feed(page)
    data: dict[str, list[str]] = {}
    for attrs in parser.inputs:
        if attrs.get("type") == "checkbox":
            if "checked" in attrs and int(attrs["value"]) not in untick:
                data.setdefault(attrs["name"], []).append(attrs["value"])
        elif attrs.get("name"):
            data.setdefault(attrs["name"], []).append(attrs.get("value", ""))
    return data


def upload(client, world, data: bytes, filename: str = "Reading draft.docx"):
    page = client.get(f"{base(world)}/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    token = token.group(1) or token.group(2)
    return client.post(
        f"{base(world)}/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def confirm(client, world, preview_page: str, untick: set[int] = frozenset()):
    return client.post(f"{base(world)}/import/confirm", data=confirm_data(preview_page, untick))


def sections(app, world) -> list[SectionTemplate]:
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        found = [s for s in contribution.round.sections if s.csp_contributes]
        for s in found:
            db.session.expunge(s)
        return found


def saved_texts(app, world) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            select(SectionTemplate.title, SectionResponse.text)
            .join(SectionResponse, SectionResponse.section_id == SectionTemplate.id)
            .where(SectionResponse.contribution_id == world.contribution_a1)
        ).all()
        return {title: text for title, text in rows if text}


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(SectionResponse).where(SectionResponse.version > 0)),
            db.session.scalar(select(func.count()).select_from(SectionRevision)),
            db.session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "user.signed_in")
            ),
        )


def page_text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


# --- the Word template, and the round trip ---------------------------------------------------------


def test_the_word_template_has_each_section_the_csp_writes_with_its_guidance_and_limit(app, signed_in, world):
    client = signed_in("csp_contributor")
    response = client.get(f"{base(world)}/import/template.docx")
    assert response.status_code == 200
    assert response.content_type == DOCX_TYPE
    assert "attachment" in response.headers["Content-Disposition"]
    document = docx.Document(io.BytesIO(response.get_data()))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    ours = sections(app, world)
    assert headings == [f"{s.number}. {s.title}" for s in ours]
    assert "1. Summary of the proposal" not in headings  # the lead bidder writes it
    body = [p.text for p in document.paragraphs]
    assert body[1].startswith("Write your contribution under each heading. Keep the headings")
    local_need = body.index("2. Local need and evidence")
    assert body[local_need + 1] == ours[0].guidance
    assert body[local_need + 2] == "Word limit for your part: 300"


def test_the_template_filled_in_word_imports_every_section_exactly(app, signed_in, world):
    client = signed_in("csp_manager")
    template = client.get(f"{base(world)}/import/template.docx").get_data()
    ours = sections(app, world)
    texts, expected = {}, {}
    for i, s in enumerate(ours):
        texts[f"{s.number}. "] = [
            f"Paragraph one of {s.title.lower()}, written in Word.",
            ("bullets", [f"point {i}a", f"point {i}b"]),
            "A closing paragraph & a “quoted” word.",
        ]
        expected[s.title] = (
            f"Paragraph one of {s.title.lower()}, written in Word.\n\n- point {i}a\n- point {i}b\n\n"
            'A closing paragraph & a "quoted" word.'  # Word's smart quotes made straight, as when pasted
        )
    ours_first = ours[0]
    texts[f"{ours_first.number}. "].append(("table", [["Year", "Young people"], ["2018/19", "120"]]))
    expected[ours_first.title] += "\n\nYear: Young people\n2018/19: 120"

    preview = upload(client, world, word_drafts.fill_template(template, texts))
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200, page_text(preview)[:2000]
    assert "No text found" not in page and "matched no section" not in page
    assert len(confirm_data(page)["sections"]) == len(ours)  # every section ticked

    done = confirm(client, world, page)
    assert done.status_code == 302 and done.headers["Location"] == base(world)
    assert saved_texts(app, world) == expected
    banner = page_text(client.get(base(world)))
    assert f"You imported {len(ours)} sections from Reading draft.docx" in banner
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contribution.draft_imported")).all()
        assert len(events) == 1
        assert "2. Local need and evidence" in events[0].summary and "Reading draft.docx" in events[0].summary
        assert events[0].detail["sections"] == [s.id for s in ours]
        assert db.session.scalar(select(func.count()).select_from(SectionRevision)) == len(ours)


def test_the_template_uploaded_unchanged_finds_nothing_to_import(app, signed_in, world):
    client = signed_in("csp_manager")
    template = client.get(f"{base(world)}/import/template.docx").get_data()
    response = upload(client, world, template)
    text = page_text(response)
    assert response.status_code == 200
    assert "No text found for these sections: 2. Local need and evidence;" in text
    assert "matched no section" not in text  # the guidance, limits and instructions are the template's
    assert "No text was found to import" in text


# --- a draft shaped like a real one -------------------------------------------------------------------


def test_a_real_looking_draft_is_previewed_section_by_section_and_imported(app, signed_in, world):
    client = signed_in("csp_manager")
    ours = {s.title: s for s in sections(app, world)}
    response = upload(client, world, word_drafts.realistic_draft())
    text = page_text(response)
    assert response.status_code == 200, text[:2000]
    # what was found, rendered as the section pages render text (bullets as a list)
    assert "Found under 3. Proposed intervensions and delivery model" in text  # a typo, matched
    assert "<li>46 young people known to be carrying knives</li>" in response.get_data(as_text=True)
    assert "a fifth" not in text  # deleted with tracked changes
    assert ("No text found for these sections: 9. Sustainability and exit strategy; 10. Risks and mitigations; "
            "11. Delivery timetable and milestones; 12. Safeguarding") in text
    assert ("This text matched no section: Appendix: contact details (Jo Bloggs, Community Safety Manager, "
            "jo.bloggs@reading.example.org)") in text
    assert f"This text is before the first heading, so it matched no section: {word_drafts.REALISTIC_PREAMBLE}" in text
    assert sorted(int(v) for v in confirm_data(response.get_data(as_text=True))["sections"]) == sorted(
        ours[t].id for t in word_drafts.REALISTIC_TEXT
    )

    done = confirm(client, world, response.get_data(as_text=True))
    assert done.status_code == 302
    assert saved_texts(app, world) == word_drafts.REALISTIC_TEXT
    section_page = page_text(client.get(f"{base(world)}/sections/{ours['Local need and evidence'].id}/view"))
    assert "Knife crime in Reading rose by 21% in 2017/18" in section_page


def test_an_unticked_section_is_left_as_it_is(app, signed_in, world):
    client = signed_in("csp_manager")
    ours = {s.title: s for s in sections(app, world)}
    response = upload(client, world, word_drafts.realistic_draft())
    skip = ours["Evidence base"].id
    assert confirm(client, world, response.get_data(as_text=True), untick={skip}).status_code == 302
    imported = saved_texts(app, world)
    assert "Evidence base" not in imported
    assert imported["Budget narrative"] == word_drafts.REALISTIC_TEXT["Budget narrative"]


def test_nothing_ticked_asks_for_a_section(app, signed_in, world):
    client = signed_in("csp_manager")
    response = upload(client, world, word_drafts.realistic_draft())
    ids = {int(v) for v in confirm_data(response.get_data(as_text=True))["sections"]}
    again = confirm(client, world, response.get_data(as_text=True), untick=ids)
    assert again.status_code == 400
    assert "Select the sections to import" in page_text(again)
    assert "Knife crime in Reading" in page_text(again)  # the preview again, with the texts
    assert counts(app)[:2] == (0, 0)


def test_text_over_the_word_limit_is_flagged_and_can_be_imported_as_in_progress(app, signed_in, world):
    client = signed_in("csp_manager")
    template = client.get(f"{base(world)}/import/template.docx").get_data()
    long_text = " ".join(f"word{i}" for i in range(320))
    response = upload(client, world, word_drafts.fill_template(template, {"2. ": [long_text]}))
    text = page_text(response)
    assert "320 words (limit for your part: 300) Over the limit 20 words over" in text
    assert confirm(client, world, response.get_data(as_text=True)).status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SectionResponse).where(SectionResponse.section_id == world.section_a,
                                                              SectionResponse.contribution_id == world.contribution_a1))
        assert row.text == long_text and row.completed is False


def test_a_section_with_text_gets_a_new_revision_on_top(app, signed_in, world):
    client = signed_in("csp_manager")
    with app.app_context():
        save_section(db.session.get(User, world.users["csp_manager"]),
                     db.session.get(Contribution, world.contribution_a1),
                     db.session.get(SectionTemplate, world.section_a), "Written on the site.", 0, completed=True)
        db.session.commit()
    response = upload(client, world, word_drafts.realistic_draft())
    assert ("The section already has text (4 words, marked as completed). Importing makes a new version on top and "
            "marks it as in progress") in page_text(response)
    assert confirm(client, world, response.get_data(as_text=True)).status_code == 302
    with app.app_context():
        revisions = db.session.scalars(
            select(SectionRevision).join(SectionResponse)
            .where(SectionResponse.section_id == world.section_a).order_by(SectionRevision.number)
        ).all()
        assert [(r.number, r.text[:20], r.completed) for r in revisions] == [
            (1, "Written on the site.", True), (2, "Knife crime in Readi", False)]


# --- conflicts ----------------------------------------------------------------------------------------


def test_a_section_saved_since_the_preview_stops_the_whole_import_and_both_texts_are_shown(app, signed_in, world):
    client = signed_in("csp_manager")
    response = upload(client, world, word_drafts.realistic_draft())
    preview_page = response.get_data(as_text=True)
    with app.app_context():  # a colleague saves section 2 in between
        save_section(db.session.get(User, world.users["csp_contributor"]),
                     db.session.get(Contribution, world.contribution_a1),
                     db.session.get(SectionTemplate, world.section_a), "The colleague's newer text.", 0,
                     completed=False)
        db.session.commit()
    before = counts(app)

    refused = confirm(client, world, preview_page)
    text = page_text(refused)
    assert refused.status_code == 409
    assert counts(app) == before  # nothing imported, in any section
    assert saved_texts(app, world) == {"Local need and evidence": "The colleague's newer text."}
    assert "Nothing has been imported. Someone saved this section after you uploaded your draft: " \
           "2. Local need and evidence" in text
    assert "The colleague's newer text." in text and "Knife crime in Reading rose by 21%" in text
    assert "Compare the newer text with your draft" in text

    # Importing again from the conflict page makes the draft the newest version; the colleague's stays in history.
    again = confirm(client, world, refused.get_data(as_text=True))
    assert again.status_code == 302
    assert saved_texts(app, world) == word_drafts.REALISTIC_TEXT
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SectionRevision)
                                 .join(SectionResponse).where(SectionResponse.section_id == world.section_a)) == 2


def test_a_tampered_form_imports_nothing(app, signed_in, world):
    client = signed_in("csp_manager")
    response = upload(client, world, word_drafts.realistic_draft())
    data = confirm_data(response.get_data(as_text=True))
    lead_only = next(s for s in sections_all(app, world) if not s.csp_contributes)
    bad = {**data, "sections": [*data["sections"], str(lead_only.id)], f"text-{lead_only.id}": "Sneaked in"}
    refused = client.post(f"{base(world)}/import/confirm", data=bad)
    assert refused.status_code == 400
    assert counts(app)[:2] == (0, 0)
    no_text = {**data, "sections": [*data["sections"], str(next(s for s in sections(app, world)
                                                             if s.title == "Safeguarding").id)]}
    refused = client.post(f"{base(world)}/import/confirm", data=no_text)
    assert refused.status_code == 400 and "No text was found for section 12. Safeguarding" in page_text(refused)
    assert counts(app)[:2] == (0, 0)
    nonsense = client.post(f"{base(world)}/import/confirm", data={**data, f"version-{world.section_a}": "x"})
    assert nonsense.status_code == 409  # an unknown version is treated as changed
    assert counts(app)[:2] == (0, 0)


def sections_all(app, world) -> list[SectionTemplate]:
    with app.app_context():
        found = list(db.session.get(Contribution, world.contribution_a1).round.sections)
        for s in found:
            db.session.expunge(s)
        return found


# --- hostile and wrong files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (lambda: files.docx_bomb(), "bomb.docx", documents_service.EXPANDS_MESSAGE),
        (lambda: word_drafts.as_docm(word_drafts.realistic_draft()), "draft.docm", documents_service.MACROS_MESSAGE),
        (lambda: files.legacy_doc(), "draft.doc", documents_service.LEGACY_WORD_MESSAGE),
        (lambda: word_drafts.with_external_template(word_drafts.realistic_draft()), "draft.docx",
         office.LINKED_MESSAGE),
        (lambda: files.pdf(), "draft.pdf", office.NOT_DOCX_MESSAGE),
        (lambda: files.xlsx(), "budget.xlsx", office.NOT_DOCX_MESSAGE),
        (lambda: b"", "empty.docx", documents_service.EMPTY_MESSAGE),
    ],
    ids=["zip-bomb", "macros", "legacy-doc", "linked-template", "pdf", "xlsx", "empty"],
)
def test_hostile_or_wrong_files_are_refused_saying_why(app, signed_in, world, data, filename, message):
    client = signed_in("csp_manager")
    before = counts(app)
    response = upload(client, world, data(), filename)
    assert response.status_code == 400
    text = page_text(response)
    assert "There is a problem" in text and html.unescape(message) in text
    assert counts(app) == before


def test_no_file_chosen(app, signed_in, world):
    client = signed_in("csp_manager")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                      client.get(f"{base(world)}/import").get_data(as_text=True))
    response = client.post(f"{base(world)}/import", data={"csrf_token": token.group(1) or token.group(2)})
    assert response.status_code == 400 and "Select a Word document (.docx)" in page_text(response)


# --- who sees the links ---------------------------------------------------------------------------------


def test_the_task_list_offers_word_to_csps_who_may_edit_only(app, signed_in, world):
    csp = page_text(signed_in("csp_contributor").get(base(world)))
    assert "Download a Word template" in csp and "Import from Word" in csp
    lead = page_text(signed_in("lead_staff").get(base(world)))
    assert "Import from Word" not in lead and "Download a Word template" not in lead
    with app.app_context():
        from app.models import ContributionStatus
        from app.models.base import utcnow

        c = db.session.get(Contribution, world.contribution_a1)
        c.status, c.submitted_at = ContributionStatus.SUBMITTED, utcnow()
        db.session.commit()
    client = signed_in("csp_manager")
    assert "Import from Word" not in page_text(client.get(base(world)))
    refused = client.get(f"{base(world)}/import")
    assert refused.status_code == 302 and refused.headers["Location"] == base(world)


# --- statements -----------------------------------------------------------------------------------------


def test_preview_and_confirm_do_not_query_per_section(app, signed_in, world):
    """The preview's statements are the same for 1 section found as for 6; confirming costs the
    save path's statements per section saved, plus a fixed number."""
    client = signed_in("csp_manager")
    template = client.get(f"{base(world)}/import/template.docx").get_data()
    ours = sections(app, world)
    small = word_drafts.fill_template(template, {f"{ours[0].number}. ": ["Only one section."]})
    large = word_drafts.fill_template(template, {f"{s.number}. ": [f"Text of {s.title}."] for s in ours[:6]})
    measured = {}
    for name, data in (("small", small), ("large", large)):
        upload(client, world, data)  # warm
        with app.app_context(), counting() as statements:
            response = upload(client, world, data)
        measured[name] = (len(statements), response)
    assert measured["small"][0] == measured["large"][0], "the preview runs a query per section"

    with app.app_context(), counting() as one:
        assert confirm(client, world, measured["small"][1].get_data(as_text=True)).status_code == 302
    with app.app_context(), counting() as six:
        page = upload(client, world, large).get_data(as_text=True)
        before = len(six)
        assert confirm(client, world, page).status_code == 302
    per_section = (len(six) - before - len(one)) / 5
    assert per_section <= 12, f"{per_section} statements per section imported"


# --- the reader, on the shapes real documents have ---------------------------------------------------------


def test_the_reader_on_a_real_looking_draft():
    parts = word.read(docx.Document(io.BytesIO(word_drafts.realistic_draft())))
    by_title = {p.heading.title if p.heading else None: p for p in parts}
    assert by_title[None].text == word_drafts.REALISTIC_PREAMBLE
    need = by_title["Local need and evidence"]
    assert need.heading.number == "2"  # from Word's list numbering, not typed
    assert "- 46 young people known to be carrying knives\n- 3 county lines" in need.text  # Symbol bullets
    assert "rose by 21% in" in need.text and "a fifth" not in need.text  # tracked changes accepted
    table = "Year: Sessions\n2018/19: 120\n2019/20: 160"  # a table, one row per line
    assert by_title["Proposed intervensions and delivery model"].text.endswith(table)
    assert by_title["Safeguarding"].text == ""


def test_matching_is_tolerant_of_typos_case_and_ampersands():
    parts = word.read(docx.Document(io.BytesIO(word_drafts.realistic_draft())))

    class S:
        def __init__(self, number, title):
            self.number, self.title = number, title

    wanted = [S(3, "Proposed interventions and delivery model"), S(4, "Target cohort, identification and referral"),
              S(6, "Outcomes, monitoring and evaluation"), S(12, "Safeguarding"),
              S(9, "Sustainability and exit strategy")]
    pairs, unmatched = word.match(parts, wanted)
    found = {s.title: (p.heading.title if p else None) for s, p in pairs}
    assert found == {
        "Proposed interventions and delivery model": "Proposed intervensions and delivery model",
        "Target cohort, identification and referral": "TARGET COHORT, IDENTIFICATION AND REFERRAL",
        "Outcomes, monitoring and evaluation": "Outcomes, monitoring & evaluation",
        "Safeguarding": "Safeguarding",
        "Sustainability and exit strategy": None,
    }
    assert "Appendix: contact details" in [p.heading.title for p in unmatched]


def test_the_reader_follows_styles_based_on_heading_styles():
    """A house style based on Heading 1 (as organisations' own Word templates have) is a heading;
    its base is looked up once per style."""
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    house = document.styles.add_style("CSP Heading", WD_STYLE_TYPE.PARAGRAPH)
    house.base_style = document.styles["Heading 1"]
    nested = document.styles.add_style("CSP Heading Red", WD_STYLE_TYPE.PARAGRAPH)
    nested.base_style = house
    document.add_paragraph("2. Local need and evidence", style="CSP Heading")
    document.add_paragraph("Knife crime rose.")
    document.add_paragraph("Evidence base", style="CSP Heading Red")
    document.add_paragraph("Mentoring works.")
    parts = word.read(document)
    assert [(p.heading.level, p.heading.number, p.heading.title, p.text) for p in parts] == [
        (1, "2", "Local need and evidence", "Knife crime rose."),
        (1, None, "Evidence base", "Mentoring works."),
    ]
