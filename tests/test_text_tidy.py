"""Pasting from Word and Outlook: text tidied into our plain-text layout when it is saved
(app.text.tidy), words counted as Word counts them (app.text.count_words), the person told what
was tidied, and text stored before tidying laid out the same way on the page and in the exports.

Clipboard texts are as Word and Outlook put them on the clipboard as plain text (what a browser
pastes into a textarea): "•" and a tab for a bullet, "o" and a tab for a second-level bullet,
Word's Symbol-font bullet U+F0B7 when the list was copied from some older documents, "1." and a
tab for a numbered list, non-breaking spaces from Outlook, smart quotes, soft hyphens, CRLF."""

from __future__ import annotations

import html
import io
import re

import pytest
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Contribution,
    ContributionStatus,
    MergedSection,
    PartnerInvolvement,
    ReviewComment,
    SectionResponse,
    SectionTemplate,
    User,
)
from app.services import merge as merge_service
from app.services.exports.content import contribution_content
from app.services.exports.pdf import render_pdf
from app.services.exports.word import render_docx
from app.services.sections import save_section
from app.text import blocks, count_words, render_text, tidy
from tests.conftest import post_form

# What Word puts on the clipboard as text for a short bid section with two kinds of list.
WORD_PASTE = (
    "Our approach\r\n"
    "We will work with:\r\n"
    "•\tschools in Reading and Slough\r\n"
    "o\tprimary schools first\r\n"
    "\uf0b7\tyouth offending teams\r\n"
    "\r\n"
    "\r\n"
    "\r\n"
    "Our three steps:\r\n"
    "1.\tFind the young people at risk\r\n"
    "2.\tOffer each one a mentor\r\n"
    "3.\tCheck in every month\r\n"
    "We\u2019ll report \u201cquarterly\u201d to the\u00a0lead bidder on co\u00adoperation.\r\n"
)
WORD_TIDIED = (
    "Our approach\n"
    "We will work with:\n"
    "- schools in Reading and Slough\n"
    "- primary schools first\n"
    "- youth offending teams\n"
    "\n"
    "Our three steps:\n"
    "1. Find the young people at risk\n"
    "2. Offer each one a mentor\n"
    "3. Check in every month\n"
    "We'll report \"quarterly\" to the lead bidder on cooperation."
)
# Words a person counts in Word: "Our approach" 2, "We will work with:" 4, bullets 5 + 3 + 3,
# "Our three steps:" 3, steps 6 + 5 + 4, last line 9. No bullets or numbers.
WORD_PASTE_WORDS = 2 + 4 + 5 + 3 + 3 + 3 + 6 + 5 + 4 + 9

# (pasted, tidied): one case per thing Word, Outlook or a browser puts in pasted text.
CASES = [
    ("•\tItem one\n•\tItem two", "- Item one\n- Item two"),
    ("o\tSub item", "- Sub item"),
    ("\uf0b7\tItem", "- Item"),
    ("\uf0b7Item", "- Item"),  # no gap: some paths drop the tab
    ("\uf0a7\tSquare (Wingdings)", "- Square (Wingdings)"),
    ("\uf0d8\tArrow (Wingdings)", "- Arrow (Wingdings)"),
    ("§\tSquare pasted as text", "- Square pasted as text"),
    ("Ø\tArrow pasted as text", "- Arrow pasted as text"),
    ("ü\tTick pasted as text", "- Tick pasted as text"),
    ("▪\tSmall square", "- Small square"),
    ("◦ Hollow", "- Hollow"),
    ("● Disc", "- Disc"),
    ("➢\tArrowhead", "- Arrowhead"),
    ("✓ Done", "- Done"),
    ("·         Outlook bullet", "- Outlook bullet"),  # after its non-breaking spaces are spaces
    ("·\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0 Outlook bullet", "- Outlook bullet"),
    ("–\tEn dash bullet", "- En dash bullet"),
    ("– En dash bullet", "- En dash bullet"),
    ("-\tHyphen and tab", "- Hyphen and tab"),
    ("    •\tIndented", "- Indented"),
    ("1.\tFirst\n2.\tSecond", "1. First\n2. Second"),
    ("1)\tFirst", "1. First"),
    ("1) First", "1. First"),
    ("(1)\tFirst", "1. First"),
    ("10.\tTenth", "10. Tenth"),
    ("a)\tFirst", "a) First"),  # letters are kept as written (see tidy's docstring)
    ("a.\tFirst", "a. First"),
    ("(a)\tFirst", "(a) First"),
    ("(iv)\tFourth", "(iv) Fourth"),
    ("i.\tFirst", "i. First"),
    ("Cost\u00a0£700", "Cost £700"),
    ("10\u202f000", "10 000"),  # narrow no-break space
    ("em\u2003space and thin\u2009space", "em space and thin space"),
    ("\u2018single\u2019 and \u201cdouble\u201d and \u201elow\u201c", "'single' and \"double\" and \"low\""),
    ("co\u00adoperate", "cooperate"),  # soft hyphen
    ("zero\u200bwidth\u2060joiner\ufeff", "zerowidthjoiner"),
    ("nul\x00 bell\x07 escape\x1b del\x7f", "nul bell escape del"),
    ("one\r\ntwo\rthree", "one\ntwo\nthree"),
    ("line\x0bbreak", "line\nbreak"),  # Word's manual line break
    ("para\u2029graph", "para\n\ngraph"),
    ("a\n\n\n\n\nb", "a\n\nb"),
    ("trailing   \nspaces\t", "trailing\nspaces"),
    ("word\ttab", "word tab"),
    ("A \uf0e0 symbol", "A  symbol"),  # a Wingdings envelope mid-line cannot be shown
    ("- already a bullet\n* and this\n1. and a number", "- already a bullet\n* and this\n1. and a number"),
    ("\n\n  text  \n\n", "text"),
    ("👍🏽 emoji, e\u0301 combining, עברית", "👍🏽 emoji, e\u0301 combining, עברית"),
    ("family 👨\u200d👩\u200d👧 stays", "family 👨\u200d👩\u200d👧 stays"),  # zero-width joiners kept
    ("", ""),
]

# (text, words): the counting rule.
COUNTS = [
    ("- one\n- two", 2),
    ("• one\n• two", 2),
    ("\uf0b7\tone", 1),
    ("1. one\n2. two", 2),
    ("a) one\n(b) two\niv. three\n(IV) four\nB) five", 5),
    ("A. N. Other", 3),  # a capital and a full stop is an initial: counted
    ("one – two", 3),  # a dash between spaces is a word in Word
    ("Fish & chips", 3),
    ("-", 1),
    ("1.", 1),  # a number with nothing after it is not a list
    ("don't stop-me now", 3),
    ("£700,000 per bid", 3),
    ("non\u00a0breaking", 2),
    ("co\u00adoperate", 1),
    ("emoji 👍 count", 3),
]


@pytest.mark.parametrize(("pasted", "tidied"), CASES)
def test_tidy_makes_pasted_text_our_plain_text(pasted, tidied):
    assert tidy(pasted).text == tidied


def test_a_word_paste_is_tidied_and_the_changes_said_in_words():
    result = tidy(WORD_PASTE)
    assert result.text == WORD_TIDIED
    assert result.changes == (
        "3 bullet points made into a list",
        "3 numbered points made into a numbered list",
        "smart quotes made straight",
        "non-breaking and other special spaces made ordinary spaces",
        "1 hidden character removed",
        "extra blank lines removed",
    )
    assert result.message.startswith("We tidied your text: 3 bullet points made into a list, ")


def test_what_a_browser_sends_for_typed_text_is_not_reported_as_tidied():
    # Browsers send every line break as CRLF; spaces at line ends are not worth a message either.
    result = tidy("We will:\r\n- mentor\r\n- train   \r\n\r\n1. First\r\n")
    assert result.text == "We will:\n- mentor\n- train\n\n1. First"
    assert result.changes == () and result.message is None


@settings(max_examples=300, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("ab1.)(-•o\t \n\r\u00a0\uf0b7\u2019\u00ad\x00·–§")), max_size=40))
def test_tidy_is_idempotent(text):
    once = tidy(text)
    twice = tidy(once.text)
    assert twice.text == once.text and twice.changes == ()


@pytest.mark.parametrize(("text", "words"), COUNTS)
def test_count_words_leaves_out_list_markers_and_counts_the_rest_as_word_does(text, words):
    assert count_words(text) == words


def test_the_word_paste_counts_as_word_counts_it():
    assert count_words(WORD_PASTE) == count_words(WORD_TIDIED) == WORD_PASTE_WORDS


def test_text_stored_before_tidying_is_laid_out_tidied():
    stored = "We will:\n\uf0b7\tmentor\n\uf0b7\ttrain"
    assert blocks(stored) == [("p", ["We will:"]), ("ul", ["mentor", "train"])]
    assert "\uf0b7" not in render_text(stored)


# --- saving through the pages ----------------------------------------------------------------------

def section_url(world) -> str:
    return f"/contributions/{world.contribution_a1}/sections/{world.section_a}"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_a_word_list_pasted_into_a_section_is_saved_as_a_list_and_the_person_told(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, section_url(world), {"text": WORD_PASTE, "version": "0", "save": "y"},
                         follow_redirects=True)
    assert response.status_code == 200
    page = page_text(response)
    assert "You saved section 2. Local need and evidence" in page
    assert ("We tidied your text: 3 bullet points made into a list, 3 numbered points made into a numbered "
            "list, smart quotes made straight") in page
    with app.app_context():
        row = db.session.scalars(select(SectionResponse)).one()
        assert row.text == WORD_TIDIED
        assert row.revisions[-1].word_count == WORD_PASTE_WORDS

    # The read-only page shows real lists, no literal bullets or boxes.
    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).status = ContributionStatus.SUBMITTED
        db.session.commit()
    shown = client.get(f"{section_url(world)}/view").get_data(as_text=True)
    assert ('<ul class="govuk-list govuk-list--bullet"><li>schools in Reading and Slough</li>'
            "<li>primary schools first</li><li>youth offending teams</li></ul>") in shown
    assert '<ol class="govuk-list govuk-list--number"><li>Find the young people at risk</li>' in shown
    assert "\uf0b7" not in shown and "•" not in shown


def test_the_word_count_on_the_editor_is_of_the_tidied_text(app, world, signed_in):
    with app.app_context():
        db.session.get(SectionTemplate, world.section_a).csp_word_limit = None
        db.session.commit()
    client = signed_in("csp_manager")
    post_form(client, section_url(world), {"text": WORD_PASTE, "version": "0", "save": "y"})
    page = page_text(client.get(section_url(world)))
    assert f"You have written {WORD_PASTE_WORDS} words" in page
    assert "- schools in Reading and Slough" in page  # the textarea holds the tidied text


def test_typed_text_saves_without_a_tidying_message(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, section_url(world), {"text": "We will:\r\n- mentor\r\n- train", "version": "0",
                                                      "save": "y"}, follow_redirects=True)
    page = page_text(response)
    assert "You saved section 2. Local need and evidence" in page and "We tidied your text" not in page


def test_a_refused_section_shows_the_tidied_text_again(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, section_url(world), {"text": "\uf0b7\tonly one " + "word " * 400,
                                                      "version": "0", "complete": "y"})
    assert response.status_code == 400
    page = page_text(response)
    assert "- only one word" in page and "\uf0b7" not in page
    assert "It has 402 words" in page


def test_other_multi_line_text_is_tidied_too(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, f"/contributions/{world.contribution_a1}/partners/new",
                         {"organisation_name": "Reading\u00a0YOS", "role": "•\tCase work\r\n•\tPremises"})
    assert response.status_code == 302
    with app.app_context():
        partner = db.session.scalars(select(PartnerInvolvement)).one()
        assert (partner.organisation_name, partner.role) == ("Reading\u00a0YOS", "- Case work\n- Premises")


def test_a_lead_bidders_comment_is_tidied(app, world, signed_in):
    with app.app_context():
        db.session.get(Contribution, world.contribution_a1).status = ContributionStatus.SUBMITTED
        db.session.commit()
    client = signed_in("lead_staff")
    url = f"/review/contributions/{world.contribution_a1}/comments"
    response = post_form(client, url, {"section": "", "body": "Please add:\r\n\uf0b7\tthe \u201cbaseline\u201d"})
    assert response.status_code == 302, page_text(response)[:300]
    with app.app_context():
        assert db.session.scalars(select(ReviewComment.body)).one() == 'Please add:\n- the "baseline"'


# --- saving through the services (imports save this way) --------------------------------------------

def _service_objects(world):
    return (db.session.get(User, world.users["csp_manager"]), db.session.get(Contribution, world.contribution_a1),
            db.session.get(SectionTemplate, world.section_a))


def test_nul_and_word_bullets_saved_through_the_service_are_tidied_on_every_database(app, world):
    """PostgreSQL refuses NUL in text: before tidying, a NUL that reached save_section other than
    through a form (an import) failed the save with a server error and the text was lost."""
    with app.app_context():
        actor, contribution, section = _service_objects(world)
        result = save_section(actor, contribution, section, "Knife\x00 crime\r\n\uf0b7\tschools", 0, completed=False)
        db.session.commit()
        assert result.words == 3
    with app.app_context():
        row = db.session.scalars(select(SectionResponse)).one()
        assert row.text == "Knife crime\n- schools" and row.revisions[-1].text == row.text


def test_nul_in_merged_text_saved_through_the_service_is_tidied(app, world):
    with app.app_context():
        rnd = db.session.get(Contribution, world.contribution_a1).round
        section = db.session.get(SectionTemplate, world.section_a)
        bid = merge_service.get_or_create_bid(rnd)
        actor = db.session.get(User, world.users["lead_staff"])
        merge_service.save_text(actor, bid, section, "Merged\x00 text\r\n•\tone", 0)
        db.session.commit()
    with app.app_context():
        assert db.session.scalars(select(MergedSection.text)).one() == "Merged text\n- one"


def test_nul_in_a_section_posted_on_the_page_is_dropped_and_the_rest_saved(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, section_url(world), {"text": "Before\x00after", "version": "0", "save": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(SectionResponse.text)).one() == "Beforeafter"


# --- exports of text stored before tidying ------------------------------------------------------------

def test_exports_of_text_stored_before_tidying_show_lists_not_boxes(app, world):
    with app.app_context():
        actor, contribution, section = _service_objects(world)
        save_section(actor, contribution, section, "Placeholder", 0, completed=False)
        # As stored before tidying existed: written to the row directly.
        row = db.session.scalars(select(SectionResponse)).one()
        row.text = "We will:\r\n\uf0b7\tmentor young people\r\n\uf0b7\ttrain staff"
        db.session.commit()
        content = contribution_content(db.session.get(Contribution, world.contribution_a1))
        doc = Document(io.BytesIO(render_docx(content)))
        pdf = PdfReader(io.BytesIO(render_pdf(content)))
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert bullets == ["mentor young people", "train staff"]
    assert not any("\uf0b7" in p.text for p in doc.paragraphs)
    flat = re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pdf.pages))
    assert "mentor young people" in flat and "\uf0b7" not in flat


def test_a_word_list_pasted_into_the_merged_text_is_tidied_and_the_lead_told(app, world, signed_in):
    from tests.test_merge import lead_only_section, merged, save

    section_id = lead_only_section(app, world)
    staff = signed_in("lead_staff")
    response = save(staff, world, "Accountable body:\r\n\uf0b7\tThames Valley OPCC", 0, section_id)
    assert response.status_code == 302
    page = page_text(staff.get(response.headers["Location"]))
    assert "You saved the merged text of section" in page
    assert "We tidied your text: 1 bullet point made into a list" in page
    assert merged(app, world, section_id).text == "Accountable body:\n- Thames Valley OPCC"
