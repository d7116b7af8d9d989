"""Input no form expects: control characters, line breaks in one-line fields, ids too large for the
id columns, partial dates. Each gets a GOV.UK error or is cleaned, never a server error, and what
was typed (cleaned) is what comes back or is saved."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Outcome, PartnerInvolvement, Round, SectionResponse
from tests.conftest import post_form

NUL = "\x00"


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- control characters ------------------------------------------------------------------------------

def test_nul_and_control_characters_in_section_text_are_dropped_and_the_rest_saved(app, world, signed_in):
    client = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/sections/{world.section_a}"
    text = f"Knife crime{NUL} rose\x07 by 20%.\r\n\r\n- a\tbullet\x1b"
    response = post_form(client, url, {"text": text, "save": "y", "version": "0"})
    assert response.status_code == 302, page_text(response)[:500]
    with app.app_context():
        saved = db.session.scalars(select(SectionResponse.text)).one()
    assert saved == "Knife crime rose by 20%.\n\n- a bullet"  # tidied: a tab is a space


def test_nul_in_a_partner_and_an_outcome_is_dropped_and_the_rest_saved(app, world, signed_in):
    client = signed_in("csp_manager")
    base = f"/contributions/{world.contribution_a1}"
    response = post_form(client, f"{base}/partners/new",
                         {"organisation_name": f"Reading{NUL} YOS", "role": f"Case work{NUL}.\nPremises."})
    assert response.status_code == 302, page_text(response)[:500]
    response = post_form(client, f"{base}/outcomes/new", {
        "measure": f"Exclusions{NUL}", "baseline": "42", "target": f"30{NUL} a year", "by_when": ["31", "3", "2020"],
    })
    assert response.status_code == 302, page_text(response)[:500]
    with app.app_context():
        partner = db.session.scalars(select(PartnerInvolvement)).one()
        outcome = db.session.scalars(select(Outcome)).one()
        assert (partner.organisation_name, partner.role) == ("Reading YOS", "Case work.\nPremises.")
        assert (outcome.measure, outcome.target) == ("Exclusions", "30 a year")


def test_a_refused_form_shows_the_text_again_without_control_characters(world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, f"/contributions/{world.contribution_a1}/partners/new",
                         {"organisation_name": "", "role": f"Referrals{NUL} and\x0b case work"})
    assert response.status_code == 400
    page = page_text(response)
    assert "Referrals and\ncase work" in page  # a vertical tab is Word's line break
    assert NUL not in page and "\x0b" not in page


# --- one-line fields ---------------------------------------------------------------------------------

def test_line_breaks_in_a_one_line_field_become_spaces(app, world, signed_in):
    """A round title with a line break would cut the subject line of every email about the round."""
    client = signed_in("lead_admin")
    response = post_form(client, f"/rounds/{world.round_a}/edit", {
        "fund_name": "Early Intervention Youth Fund", "funder": "Home Office",
        "title": "  Youth Fund\r\n2018\nsecond round\r ", "summary": "",
    })
    assert response.status_code == 302, page_text(response)[:800]
    with app.app_context():
        assert db.session.get(Round, world.round_a).title == "Youth Fund 2018 second round"


def test_a_refused_one_line_field_comes_back_on_one_line(world, signed_in):
    client = signed_in("lead_admin")
    response = post_form(client, f"/rounds/{world.round_a}/edit", {
        "fund_name": "", "funder": "Home\r\nOffice", "title": "Youth Fund 2018", "summary": "",
    })
    assert response.status_code == 400
    assert 'value="Home Office"' in response.get_data(as_text=True)


@pytest.mark.parametrize("password", ["correct horse\r\nbattery", " spaces around "])
def test_passwords_are_kept_as_typed(app, password):
    """What someone types as a password is theirs: no line breaks made spaces, no ends trimmed."""
    from app.auth.forms import SignInForm

    with app.test_request_context(method="POST", data={"email": " a@b.example ", "password": password}):
        assert SignInForm().password.data == password


# --- choosing the CSPs taking part ---------------------------------------------------------------------

def draft_round(admin) -> str:
    from tests.test_rounds import create

    return create(admin).headers["Location"].rsplit("/", 1)[1]


def test_choosing_no_csp_is_an_error_on_the_checkboxes(world, signed_in):
    admin = signed_in("lead_admin")
    rid = draft_round(admin)
    response = post_form(admin, f"/rounds/{rid}/participants", {})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    # The summary links to the first checkbox, and the checkboxes are one fieldset with its legend
    # and the message above them.
    assert '<a href="#csps">Select the CSPs taking part</a>' in body
    assert 'id="csps"' in body and f'name="take_part_{world.csp_a1}"' in body
    fieldset = body[body.index('<fieldset class="govuk-fieldset"'):body.index("</fieldset>")]
    assert "Which CSPs are taking part?" in fieldset
    assert 'class="govuk-error-message"' in fieldset and "Select the CSPs taking part" in fieldset


@pytest.mark.parametrize("manager", ["not a number", "-200", "99999999999999999999", "2147483647"])
def test_a_manager_not_in_the_list_is_an_error_not_a_server_error(world, signed_in, manager):
    admin = signed_in("lead_admin")
    rid = draft_round(admin)
    response = post_form(admin, f"/rounds/{rid}/participants",
                         {f"take_part_{world.csp_a1}": "y", f"manager_{world.csp_a1}": manager})
    assert response.status_code == 400
    body = html.unescape(response.get_data(as_text=True))
    assert f'href="#manager_{world.csp_a1}">Choose the CSP manager for Reading Community Safety Partnership' in body


# --- error summaries ---------------------------------------------------------------------------------

def test_each_missing_time_is_listed_in_the_error_summary_naming_its_deadline(world, signed_in):
    from tests.test_rounds import create

    response = create(signed_in("lead_admin"), funder_time="", internal_time="")
    assert response.status_code == 400
    body = html.unescape(response.get_data(as_text=True))
    summary = body[body.index("govuk-error-summary__list"):]
    summary = summary[:summary.index("</ul>")]
    assert '<a href="#funder_time">Enter a time for the funder\'s deadline</a>' in summary
    assert '<a href="#internal_time">Enter a time for the internal deadline</a>' in summary


def test_two_fields_with_the_same_message_are_both_listed(app):
    from wtforms import StringField

    from app.forms import BaseForm

    class TwoFields(BaseForm):
        first = StringField("First")
        second = StringField("Second")

    with app.test_request_context():
        form = TwoFields(meta={"csrf": False})
        form.add_error("first", "Enter a value")
        form.add_error("second", "Enter a value")
        assert [item["href"] for item in form.error_list] == ["#first", "#second"]


# --- ids too large for the id columns ------------------------------------------------------------------

HUGE = "99999999999999999999"
JUST_TOO_LARGE = str(2**31)


def save_section(client, world, text: str = "First draft.", version: str = "0"):
    url = f"/contributions/{world.contribution_a1}/sections/{world.section_a}"
    return post_form(client, url, {"text": text, "save": "y", "version": version})


@pytest.mark.parametrize("number", [HUGE, JUST_TOO_LARGE])
def test_comparing_with_a_revision_number_too_large_is_not_found(world, signed_in, number):
    client = signed_in("csp_manager")
    assert save_section(client, world).status_code == 302
    url = f"/contributions/{world.contribution_a1}/sections/{world.section_a}/compare"
    assert client.get(f"{url}?older=1&newer={number}").status_code == 404
    assert client.get(f"{url}?older={number}&newer=1").status_code == 404


@pytest.mark.parametrize("version", [JUST_TOO_LARGE, HUGE])
def test_a_section_sent_with_a_version_too_large_is_a_conflict_not_an_error(world, signed_in, version):
    client = signed_in("csp_manager")
    response = save_section(client, world, "What I typed", version=version)
    assert response.status_code == 409
    assert "What I typed" in response.get_data(as_text=True)


def test_a_merged_section_sent_with_a_version_too_large_is_a_conflict_not_an_error(world, signed_in):
    client = signed_in("lead_admin")
    response = post_form(client, f"/bid/rounds/{world.round_a}/sections/{world.section_a}",
                         {"text": "What I typed", "save": "y", "version": JUST_TOO_LARGE})
    assert response.status_code == 409
    assert "What I typed" in response.get_data(as_text=True)


def test_starting_a_round_from_a_round_id_too_large_is_an_error(world, signed_in):
    from tests.test_rounds import create

    response = create(signed_in("lead_admin"), start_from=f"round:{JUST_TOO_LARGE}")
    assert response.status_code == 400
    assert "Select one of the options shown" in response.get_data(as_text=True)


def test_a_comment_on_a_section_id_too_large_is_an_error(world, signed_in):
    client = signed_in("lead_admin")
    url = f"/review/contributions/{world.contribution_a1}/comments"
    response = post_form(client, url, {"section": JUST_TOO_LARGE, "body": "Please add the 2017 figures"},
                         page=url)
    assert response.status_code in (302, 400)


@pytest.mark.parametrize("path", [
    f"/admin/users/invite?organisation={HUGE}",
    f"/review/contributions/{{a1}}/comments?section={HUGE}",
    f"/contributions/{{a1}}/budget/lines/new?financial_year={HUGE}",
    f"/exports/{HUGE}",
    f"/rounds?page={HUGE}",
])
def test_a_huge_number_in_a_link_is_ignored_or_not_found(world, signed_in, path):
    who = "csp_manager" if "/contributions/" in path else "lead_admin"
    response = signed_in(who).get(path.format(a1=world.contribution_a1))
    assert response.status_code in (200, 404)


# --- the merged text ---------------------------------------------------------------------------------

def test_a_required_sections_merged_text_cannot_be_saved_empty(app, world, signed_in):
    from app.models import MergedSection

    client = signed_in("lead_admin")
    url = f"/bid/rounds/{world.round_a}/sections/{world.section_a}"
    assert post_form(client, url, {"text": "Our merged text.", "save": "y", "version": "0"}).status_code == 302
    with app.app_context():
        version = db.session.scalars(select(MergedSection.version)).one()

    response = post_form(client, url, {"text": " \r\n ", "save": "y", "version": str(version)})

    assert response.status_code == 400
    body = html.unescape(response.get_data(as_text=True))
    assert '<a href="#text">Enter the merged text: the funder requires this section</a>' in body
    with app.app_context():
        assert db.session.scalars(select(MergedSection.text)).one() == "Our merged text."


# --- GOV.UK date inputs ----------------------------------------------------------------------------------

PARTIAL_DATES = [
    (["", "3", "2030"], "must include a day"),
    (["14", "", "2030"], "must include a month"),
    (["14", "3", ""], "must include a year"),
    (["14", "", ""], "must include a month and year"),
    (["14", "3"], "must include a year"),  # a page sent with only two of the three inputs
    (["14", "3", "30"], "Year must include 4 numbers"),
    (["14", "3", "99999999999"], "Year must include 4 numbers"),
    (["14", "3", "0001"], "must be"),  # a real date long gone: refused, whichever rule says so
    (["31", "12", "9999"], "must be"),
]


def _date_form(app, world, signed_in, form: str):
    """(client, url, data without the date, the date field's name) for each form with a date."""
    from tests.test_rounds import new_round_data
    from tests.test_signoff import _backdate_sign_off, _sign_off, make_ready

    admin = signed_in("lead_admin")
    if form == "new round":
        return admin, "/rounds/new", new_round_data(), "funder_date"
    if form == "deadline change":
        return (admin, f"/rounds/{world.round_a}/deadlines/funder",
                {"new_time": "12pm", "reason": "The funder moved it"}, "new_date")
    if form == "extension":
        return (admin, f"/rounds/{world.round_a}/contributions/{world.contribution_a1}/extension",
                {"until_time": "12pm", "reason": "Their analyst was off sick"}, "until_date")
    make_ready(app, world)
    _sign_off(admin, world)
    _backdate_sign_off(app, world)
    return (admin, f"/bid/rounds/{world.round_a}/submitted",
            {"submitted_time": "11:45am", "funder_reference": "EIYF-2018-0042"}, "submitted_on")


@pytest.mark.parametrize("form", ["new round", "deadline change", "extension", "submitted to the funder"])
@pytest.mark.parametrize(("date", "message"), PARTIAL_DATES)
def test_a_partial_or_impossible_date_is_a_govuk_error_keeping_what_was_typed(app, world, signed_in, form, date,
                                                                            message):
    client, url, data, name = _date_form(app, world, signed_in, form)
    response = post_form(client, url, {**data, name: date})
    assert response.status_code == 400
    body = html.unescape(response.get_data(as_text=True))
    summary = body[body.index("govuk-error-summary__list"):]
    assert message in summary[:summary.index("</ul>")]
    if "must include a" in message:  # the summary links to the first part missing
        first = message.split("must include a ")[1].split()[0]
        assert f'href="#{name}-{first}"' in summary
    for part, value in zip(("day", "month", "year"), date, strict=False):
        assert f'id="{name}-{part}" name="{name}" type="text" value="{value}"' in body or not value


# --- text kept when a session ends ----------------------------------------------------------------------

def test_text_kept_after_the_session_ended_is_kept_without_control_characters(app, client, world):
    from datetime import timedelta

    import time_machine

    from app.models import PendingDraft
    from app.models.base import utcnow
    from tests.conftest import sign_in
    from tests.test_drafts import open_section, section_path

    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    later = utcnow() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 5)
    with time_machine.travel(later, tick=False):
        response = client.post(section_path(world), data={**fields, "text": f"Kept{NUL} text\x07", "save": "y"})
        assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(PendingDraft.form_data)).one()["text"] == "Kept text"


def test_a_date_of_spaces_is_missing(world, signed_in):
    from tests.test_rounds import create

    response = create(signed_in("lead_admin"), funder_date=[" ", " ", ""])
    assert response.status_code == 400
    assert '<a href="#funder_date-day">Enter the funder&#39;s deadline</a>' in response.get_data(as_text=True)
