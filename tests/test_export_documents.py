"""The Word and PDF exports of the collective bid and of one contribution, opened and read back.

The bid is built through the services (submit, accept, lead-held lines, merged text, sign-off);
expected totals are worked out here from the lines in the database."""

from __future__ import annotations

import io
import re
import secrets
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, BudgetLine, Contribution, MatchType, PartnerInvolvement, Round, User
from app.models.bid import LeadBudgetLine
from app.money import format_money as money
from app.services import consolidation, merge, review, signoff
from app.services import contributions as contribution_service
from app.services.exports.content import bid_content, contribution_content
from app.services.exports.pdf import render_pdf
from app.services.exports.word import render_docx
from tests.test_submit import complete_everything

BULLETS = (
    "Our plan, in short:\n\n- Detached youth work on three estates\n- Mentoring in schools\n\n"
    "And then:\n\n1. Recruit\n2. Train\n\nValue for money & <b>evidence</b> \"as written\""
)
AS_WRITTEN = 'Value for money & <b>evidence</b> "as written"'  # text, never markup
LOOK = Path("/tmp/export-look")


def _round(world) -> Round:
    return db.session.get(Round, world.round_a)


@pytest.fixture
def bid_world(app, world):
    """Two accepted contributions with match-funded lines, partners and documents; a lead-held
    line; merged text in every section (one with bullets and a numbered list)."""
    complete_everything(app, world.contribution_a1)
    complete_everything(app, world.contribution_a2)
    with app.test_request_context():  # the decision emails link to pages
        rnd = _round(world)
        years, cats = rnd.financial_years, rnd.cost_categories
        a1 = db.session.get(Contribution, world.contribution_a1)
        a2 = db.session.get(Contribution, world.contribution_a2)
        for c, rows in (
            (a1, [(0, 1, 40_000_00, 5_000_00, MatchType.CASH), (1, 0, 63_000_00, 2_500_50, MatchType.IN_KIND)]),
            (a2, [(1, 2, 12_345_67, 1_000_00, MatchType.CASH), (0, 3, 1_999_99, 0, None)]),
        ):
            for y, k, amount, match, kind in rows:
                db.session.add(BudgetLine(
                    contribution=c, financial_year=years[y], cost_category=cats[k], description=f"{c.csp.name} {y}/{k}",
                    amount_pence=amount, match_pence=match, match_type=kind if match else None,
                    match_source="County council" if match else None,
                ))
        db.session.add(PartnerInvolvement(contribution=a1, organisation_name="Thames Valley Police",
                                          role="Refers young people"))
        db.session.add(PartnerInvolvement(contribution=a2, organisation_name="thames valley police ",
                                          role="Shares data"))
        db.session.add(PartnerInvolvement(contribution=a1, organisation_name="Youth Action", role="Runs sessions"))
        for c in (a1, a2):
            db.session.add(Attachment(
                contribution=c, filename=f"problem-profile-{c.id}.pdf", stored_name=secrets.token_hex(16),
                content_type="application/pdf", size_bytes=2048, sha256="0" * 64, description="Problem profile",
            ))
        db.session.commit()

        managers = {world.contribution_a1: "csp_manager", world.contribution_a2: "other_csp_manager"}
        admin = db.session.get(User, world.users["lead_admin"])
        for cid, who in managers.items():
            contribution_service.submit(db.session.get(User, world.users[who]), db.session.get(Contribution, cid))
            db.session.commit()
            review.accept(admin, db.session.get(Contribution, cid))
            db.session.commit()

        bid = consolidation.get_or_create_bid(rnd)
        consolidation.add_lead_line(
            admin, bid, financial_year_id=years[1].id, cost_category_id=cats[4].id, description="Evaluation",
            amount_pence=10_000_00, match_pence=3_000_00, match_type="in_kind", match_source="OPCC staff time",
        )
        for n, section in enumerate(rnd.sections):
            text = BULLETS if n == 0 else f"Merged text for {section.title}."
            merge.save_text(admin, bid, section, text, expected_version=0)
            merge.set_section_state(admin, bid, section, final=True)
        db.session.commit()
    return world


def _sign_off(app, world) -> None:
    with app.test_request_context():
        admin = db.session.get(User, world.users["lead_admin"])
        signoff.sign_off(admin, consolidation.find_bid(_round(world)), "I confirm the bid is accurate.")
        db.session.commit()


def _expected(app, world) -> dict:
    """Totals worked out from the lines in the database, independently of the export code."""
    with app.app_context():
        rnd = _round(world)
        lines = [line for c in rnd.contributions for line in c.budget_lines]
        lead = list(db.session.scalars(select(LeadBudgetLine)))
        cells, by_year, by_who, match_by_kind = defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int)
        for line, who in [(x, x.contribution.csp.name) for x in lines] + [(x, "lead") for x in lead]:
            cells[(line.cost_category.name, line.financial_year.label)] += line.amount_pence
            by_year[line.financial_year.label] += line.amount_pence
            by_who[who] += line.amount_pence
            if line.match_pence:
                match_by_kind[line.match_type.label] += line.match_pence
        return {
            "cells": dict(cells), "by_year": dict(by_year), "by_who": dict(by_who), "match": dict(match_by_kind),
            "total": sum(by_year.values()), "match_total": sum(match_by_kind.values()),
            "years": [y.label for y in rnd.financial_years], "categories": [c.name for c in rnd.cost_categories],
            "sections": [f"{s.number}. {s.title}" for s in rnd.sections],
            "csps": [c.csp.name for c in rnd.contributions],
        }


def _docx(app, world):
    with app.app_context():
        data = render_docx(bid_content(_round(world)))
    return Document(io.BytesIO(data)), data


def _pdf(app, world, name: str | None = None):
    with app.app_context():
        data = render_pdf(bid_content(_round(world)))
    if name:
        LOOK.mkdir(exist_ok=True)
        (LOOK / name).write_bytes(data)
    return PdfReader(io.BytesIO(data)), data


def _tables(doc) -> list[list[list[str]]]:
    return [[[cell.text for cell in row.cells] for row in table.rows] for table in doc.tables]


def _table_with(doc, first_header: str, second_header: str | None = None) -> list[list[str]]:
    for rows in _tables(doc):
        if rows and rows[0][0] == first_header and (second_header is None or rows[0][1] == second_header):
            return rows
    raise AssertionError(f"No table headed {first_header!r}")


def _header_text(doc) -> str:
    return " ".join(p.text for p in doc.sections[0].header.paragraphs)


# --- Word ------------------------------------------------------------------------------------------

def test_word_bid_has_sections_in_order_with_merged_text(app, bid_world):
    expected = _expected(app, bid_world)
    doc, _ = _docx(app, bid_world)
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings[:2] == ["Summary", "Contents"]
    headings = headings[1:]
    assert headings[1:len(expected["sections"]) + 1] == expected["sections"]
    assert headings[len(expected["sections"]) + 1:] == ["Budget", "Outcomes", "Partners", "Supporting documents"]
    assert "Requested by CSP" in [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    # The contents list names every heading, numbered, in the same order.
    texts = [p.text for p in doc.paragraphs]
    start = texts.index("Contents") + 1
    assert texts[start:start + len(headings) - 1] == headings[1:]
    # The merged text, laid out: a paragraph, bullets and a numbered list.
    styled = [(p.style.name, p.text) for p in doc.paragraphs]
    assert ("Normal", "Our plan, in short:") in styled
    assert ("List Bullet", "Detached youth work on three estates") in styled
    assert ("List Bullet", "Mentoring in schools") in styled
    assert ("List Number", "Recruit") in styled and ("List Number", "Train") in styled
    assert ("Normal", AS_WRITTEN) in styled
    with app.app_context():
        rnd = _round(bid_world)
        for section in rnd.sections[1:]:
            assert f"Merged text for {section.title}." in texts
    # The cover names the fund, the round, the lead bidder and the partner CSPs.
    cover = _table_with(doc, "Fund")
    facts = {row[0]: row[1] for row in cover}
    assert facts["Lead bidder"] == "Thames Valley OPCC"
    assert facts["Partner CSPs"] == ", ".join(expected["csps"])
    assert facts["Status"] == "Draft"
    with app.app_context():
        content = bid_content(_round(bid_world))
    assert facts["Version"] == content.short_hash


def test_word_budget_totals_equal_the_lines(app, bid_world):
    e = _expected(app, bid_world)
    doc, _ = _docx(app, bid_world)
    years, cats = e["years"], e["categories"]

    grid = _table_with(doc, "Cost category")
    assert grid[0] == ["Cost category", *years, "Total"]
    for row, category in zip(grid[1:-1], cats, strict=True):
        assert row[0] == category
        amounts = [e["cells"].get((category, y), 0) for y in years]
        assert row[1:] == [money(a) for a in amounts] + [money(sum(amounts))]
    assert grid[-1] == ["Total", *(money(e["by_year"].get(y, 0)) for y in years), money(e["total"])]

    by_csp = _table_with(doc, "CSP", years[0])
    rows = {row[0]: row for row in by_csp[1:]}
    for name in e["csps"]:
        assert rows[name][len(years) + 1] == money(e["by_who"][name])
    lead_row = next(r for name, r in rows.items() if "lead-held lines" in name)
    assert lead_row[len(years) + 1] == money(e["by_who"]["lead"])
    assert rows["Total"][-2:] == [money(e["total"]), money(e["match_total"])]

    by_type = _table_with(doc, "Type", "Amount")
    assert {r[0]: r[1] for r in by_type[1:-1]} == {k: money(v) for k, v in e["match"].items()}
    assert by_type[-1] == ["Total", money(e["match_total"])]
    assert e["match"]["Cash"] and e["match"]["In-kind"]  # both kinds really are there

    cover_years = _table_with(doc, "Financial year")
    assert cover_years[-1] == ["Total", money(e["total"]), money(e["match_total"])]

    # Money is right-aligned; every table's header row repeats on each page.
    last_cell = doc.tables[[t.rows[0].cells[0].text for t in doc.tables].index("Cost category")].rows[1].cells[-1]
    assert last_cell.paragraphs[0].alignment == 2  # WD_ALIGN_PARAGRAPH.RIGHT
    for table in doc.tables[1:]:
        tr_pr = table.rows[0]._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None


def test_word_outcomes_partners_documents(app, bid_world):
    doc, _ = _docx(app, bid_world)
    outcomes = _table_with(doc, "CSP", "Measure")
    assert outcomes[0] == ["CSP", "Measure", "Baseline", "Target", "By when"]
    assert ["Reading Community Safety Partnership", "Young people completing the programme", "0", "120",
            "31 March 2020"] in outcomes
    partners = _table_with(doc, "Partner", "CSPs")
    police = [r for r in partners if r[0].casefold().strip() == "thames valley police"]
    assert len(police) == 1  # listed once, with both CSPs and their roles
    assert "Reading Community Safety Partnership" in police[0][1] and "Safer Slough Partnership" in police[0][1]
    assert "Refers young people" in police[0][2] and "Shares data" in police[0][2]
    documents = _table_with(doc, "CSP", "File name")
    assert len(documents) == 3 and all(r[2] == "Problem profile" and r[3] == "2 KB" for r in documents[1:])


def test_word_properties_language_footer_and_draft_marking(app, bid_world):
    doc, data = _docx(app, bid_world)
    assert doc.core_properties.title == "Early Intervention Youth Fund 2018"
    assert doc.core_properties.language == "en-GB"
    styles = doc.styles.element
    default_lang = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang"))
    assert default_lang.get(qn("w:val")) == "en-GB"
    footer_xml = doc.sections[0].footer._element.xml
    assert re.search(r"<w:instrText[^>]*>\s*PAGE\s*</w:instrText>", footer_xml)
    assert re.search(r"<w:instrText[^>]*>\s*NUMPAGES\s*</w:instrText>", footer_xml)
    assert "DRAFT" in _header_text(doc)
    texts = [p.text for p in doc.paragraphs]
    assert "Draft" in texts and not any("Signed off" in t for t in texts)
    # A4
    assert round(doc.sections[0].page_width.cm, 1) == 21.0 and round(doc.sections[0].page_height.cm, 1) == 29.7


def test_word_signed_off_is_marked_on_cover_and_header(app, bid_world):
    _sign_off(app, bid_world)
    doc, _ = _docx(app, bid_world)
    with app.app_context():
        admin = db.session.get(User, bid_world.users["lead_admin"]).full_name
    texts = [p.text for p in doc.paragraphs]
    marks = [t for t in texts if t.startswith("Signed off by")]
    assert marks and admin in marks[0] and re.search(r"on \d{1,2} \w+ \d{4}$", marks[0])
    assert "SIGNED OFF" in _header_text(doc)
    assert "I confirm the bid is accurate." in texts
    assert "Draft" not in texts and "DRAFT" not in _header_text(doc)


def test_word_empty_section_says_so(app, world):
    with app.app_context():
        doc = Document(io.BytesIO(render_docx(bid_content(_round(world)))))
    texts = [p.text for p in doc.paragraphs]
    assert texts.count("No text has been merged for this section yet") == len(_expected(app, world)["sections"])


# --- PDF -------------------------------------------------------------------------------------------

def _outline_titles(reader: PdfReader) -> list[str]:
    titles: list[str] = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


def test_pdf_bid_text_order_totals_pages_bookmarks_fonts_and_title(app, bid_world):
    e = _expected(app, bid_world)
    reader, data = _pdf(app, bid_world, "bid-draft.pdf")
    assert len(reader.pages) > 1
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    body = flat[flat.index("Our plan, in short:"):]  # after the cover and the contents list
    positions = [body.find(title) for title in e["sections"][1:]]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert "Detached youth work on three estates" in flat and "Recruit" in flat
    assert AS_WRITTEN in flat
    for amount in (e["total"], e["match_total"], *e["by_year"].values(), *e["by_who"].values(), *e["match"].values()):
        assert money(amount) in flat, money(amount)
    assert f"Page 1 of {len(reader.pages)}" in flat
    assert "DRAFT" in reader.pages[1].extract_text()
    titles = _outline_titles(reader)
    assert [t for t in titles if t in e["sections"]] == e["sections"]
    assert {"Contents", "Budget", "Outcomes", "Partners", "Supporting documents"} <= set(titles)
    assert reader.metadata.title == "Early Intervention Youth Fund 2018"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    fonts = []
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            fonts.append((font["/BaseFont"], any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))))
    assert fonts and all(embedded for _, embedded in fonts), fonts
    # The contents list links within the file, and nothing links anywhere else.
    links = [a.get_object().get("/A", {}) for page in reader.pages for a in page.get("/Annots", [])]
    assert links and not any(link.get("/S") == "/URI" for link in links)

    # Page 1 as a picture: it is really drawn.
    out = LOOK / "bid-cover"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(LOOK / "bid-draft.pdf"),
                    str(out)], check=True)
    png = out.with_suffix(".png")
    assert png.exists() and png.stat().st_size > 10_000
    budget_page = next(i for i, page in enumerate(reader.pages, 1) if "Requested by CSP" in page.extract_text())
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", str(budget_page), "-l", str(budget_page), "-singlefile",
                    str(LOOK / "bid-draft.pdf"), str(LOOK / "bid-budget")], check=True)


def test_pdf_signed_off_marking(app, bid_world):
    _sign_off(app, bid_world)
    reader, _ = _pdf(app, bid_world, "bid-signed-off.pdf")
    first = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "Signed off by" in first and "SIGNED OFF" in first
    assert all("SIGNED OFF" in page.extract_text() for page in reader.pages)
    assert "DRAFT" not in "".join(page.extract_text() for page in reader.pages)


# --- a contribution --------------------------------------------------------------------------------

def test_contribution_exports_in_both_formats(app, bid_world):
    with app.app_context():
        contribution = db.session.get(Contribution, bid_world.contribution_a1)
        name = contribution.csp.name
        lines = list(contribution.budget_lines)
        total = sum(line.amount_pence for line in lines)
        match_total = sum(line.match_pence or 0 for line in lines)
        answered = [f"{r.section.number}. {r.section.title}" for r in contribution.responses]
        content = contribution_content(contribution)
        doc = Document(io.BytesIO(render_docx(content)))
        data = render_pdf(content)
        pdf = PdfReader(io.BytesIO(data))
    LOOK.mkdir(exist_ok=True)
    (LOOK / "contribution.pdf").write_bytes(data)
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert [h for h in headings if h in answered] == sorted(answered, key=lambda h: int(h.split(".")[0]))
    assert "Requested by CSP" not in [p.text for p in doc.paragraphs]
    texts = [p.text for p in doc.paragraphs]
    assert "Our text for" in " ".join(texts)
    grid = _table_with(doc, "Cost category")
    assert grid[-1][-1] == money(total)
    budget_lines = _table_with(doc, "Year", "Category")
    assert len(budget_lines) == len(lines) + 2 and budget_lines[-1][-2:] == [money(total), money(match_total)]
    assert _table_with(doc, "Partner", "Role")[1:] == [["Thames Valley Police", "Refers young people"],
                                                     ["Youth Action", "Runs sessions"]]
    assert doc.core_properties.title == f"{name}: contribution to Early Intervention Youth Fund 2018"

    flat = re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in pdf.pages))
    assert f"Contribution from {name}" in flat and money(total) in flat and money(match_total) in flat
    assert "Requested by CSP" not in flat and "Accepted" in flat
    # Every page's running header has the title as written (punctuation and all) and the status.
    assert all(content.title in page.extract_text() and "ACCEPTED" in page.extract_text() for page in pdf.pages)
    assert [t for t in _outline_titles(pdf) if t in answered] == [h for h in headings if h in answered]


def test_unanswered_contribution_says_not_answered(app, world):
    with app.app_context():
        content = contribution_content(db.session.get(Contribution, world.contribution_a2))
        doc = Document(io.BytesIO(render_docx(content)))
        pdf = PdfReader(io.BytesIO(render_pdf(content)))
    assert [p.text for p in doc.paragraphs].count("Not answered") == len(content.sections) > 0
    flat = re.sub(r"\s+", " ", "".join(p.extract_text() for p in pdf.pages))
    assert flat.count("Not answered") == len(content.sections)


# --- Accessibility of the files ------------------------------------------------------------------

def test_pdf_is_tagged_pdf_ua_with_title_language_and_xmp(app, bid_world):
    reader, _ = _pdf(app, bid_world)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root  # tagged: headings, lists and tables reach a screen reader
    assert bool(root["/MarkInfo"]["/Marked"]) is True
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert root["/Lang"] == "en-GB"
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfuaid:part="1"' in xmp
    with app.app_context():
        title = bid_content(_round(bid_world)).title
    assert title in xmp and reader.metadata.title == title
    # The structure tree holds the document's headings and tables.
    kinds: set[str] = set()

    def walk(node, depth=0):
        node = node.get_object()
        if depth > 60:
            return
        if hasattr(node, "get") and node.get("/S"):
            kinds.add(str(node["/S"]))
        kids = node.get("/K") if hasattr(node, "get") else None
        for kid in (kids if isinstance(kids, list) else [kids] if kids is not None else []):
            if hasattr(kid, "get_object") and hasattr(kid.get_object(), "get"):
                walk(kid, depth + 1)

    walk(root["/StructTreeRoot"])
    assert {"/H1", "/Table", "/TH"} <= kinds


def test_word_headings_never_start_at_level_two_and_contents_links_reach_their_headings(app, bid_world):
    doc, _ = _docx(app, bid_world)
    levels = [int(p.style.name.split()[-1]) for p in doc.paragraphs if p.style.name.startswith("Heading ")]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), "a heading level is skipped"
    body = doc.element.body
    bookmarks = {
        b.get(qn("w:name")): b.getparent() for b in body.iter(qn("w:bookmarkStart"))
    }
    links = list(body.iter(qn("w:hyperlink")))
    assert links, "the contents list links to its headings"
    for link in links:
        anchor = link.get(qn("w:anchor"))
        paragraph = bookmarks[anchor]
        style = paragraph.find(qn("w:pPr")).find(qn("w:pStyle")).get(qn("w:val"))
        text = "".join(t.text for t in paragraph.iter(qn("w:t")))
        assert style == "Heading1" and text == "".join(t.text for t in link.iter(qn("w:t")))
