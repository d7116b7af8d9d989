"""Text sent after the sender's session had ended is kept for them (app/drafts.py)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import time_machine
from sqlalchemy import delete, func, select
from werkzeug.datastructures import MultiDict

from app.drafts import DRAFT_DAYS, KEPT_MESSAGE, SIGN_IN_MESSAGE, purge_expired
from app.extensions import db
from app.models import PendingDraft, SectionResponse, UserSession
from app.models.base import utcnow
from tests.conftest import CSRF_RE, sign_in
from tests.factories import PASSWORD

TEXT = "Our problem profile shows 34 knife crime offences by under-18s in 2017/18.\n\n- schools\n- youth work"


def section_path(world) -> str:
    return f"/contributions/{world.contribution_a1}/sections/{world.section_a}"


def open_section(client, world) -> dict:
    """Load the section page as the editor did before their session ended: its hidden fields."""
    body = client.get(section_path(world)).get_data(as_text=True)
    return {"csrf_token": CSRF_RE.search(body).group(1), "version": "0"}


def drafts(app) -> list[PendingDraft]:
    with app.app_context():
        rows = list(db.session.scalars(select(PendingDraft)))
        for row in rows:
            db.session.expunge(row)
        return rows


def end_sessions(app) -> None:
    """The server forgets every signed-in session, as when they time out."""
    with app.app_context():
        db.session.execute(delete(UserSession))
        db.session.commit()


def kept_link(response) -> str:
    """The page the sign-in page will return to: the section, with the draft's token."""
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/sign-in"
    return parse_qs(location.query)["next"][0]


def test_text_sent_after_the_session_ended_is_kept_and_given_back_after_signing_in(app, client, world):
    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    idle = app.config["SESSION_IDLE_MINUTES"]

    # Hours later (the session and the form's token have both expired), they press Save.
    with time_machine.travel(utcnow() + timedelta(minutes=idle + 5), tick=False):
        response = client.post(section_path(world), data={**fields, "text": TEXT, "save": "y"})
        next_url = kept_link(response)
        assert next_url.startswith(section_path(world) + "?draft=")
        sign_in_page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert SIGN_IN_MESSAGE in sign_in_page

        (row,) = drafts(app)
        token = parse_qs(urlsplit(next_url).query)["draft"][0]
        assert row.user_id == world.users["csp_manager"]
        assert row.path == section_path(world)
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
        assert row.form_data == {"text": TEXT, "version": "0", "save": "y"}
        assert "csrf_token" not in row.form_data

        # Signing in again leads back to the section, filled in with what they sent.
        response = client.post(
            response.headers["Location"],
            data={
                "email": world.emails["csp_manager"],
                "password": PASSWORD,
                "csrf_token": CSRF_RE.search(sign_in_page).group(1),
            },
        )

        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        assert response.headers["Location"] == next_url
        page = client.get(next_url)
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert KEPT_MESSAGE in body
        assert "Our problem profile shows 34 knife crime offences" in body
        assert 'name="version" type="hidden" value="0"' in body
        assert 'data-warn-unsaved="changed"' in body
        # Never saved without them pressing Save. Looking at it changes nothing (a GET never
        # writes): it is there again on a second look, until they save it.
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(SectionResponse)) == 0
        assert len(drafts(app)) == 1
        again = client.get(next_url).get_data(as_text=True)
        assert KEPT_MESSAGE in again and "Our problem profile" in again
        response = client.post(next_url, data={
            "csrf_token": CSRF_RE.search(again).group(1), "text": TEXT, "version": "0", "save": "y",
        })
        assert response.status_code == 302
        assert drafts(app) == []
        with app.app_context():
            assert db.session.scalar(select(SectionResponse.text)) == TEXT
        after = client.get(next_url).get_data(as_text=True)
        assert KEPT_MESSAGE not in after


def _kept_for_manager(app, client, world) -> str:
    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    end_sessions(app)
    response = client.post(section_path(world), data={**fields, "text": TEXT, "save": "y"})
    return kept_link(response)


def test_only_the_same_person_gets_the_kept_text(app, client, world, signed_in):
    next_url = _kept_for_manager(app, client, world)

    # A colleague from the same CSP with the link sees the section as saved, without the text.
    colleague = signed_in("csp_contributor")
    body = colleague.get(next_url).get_data(as_text=True)
    assert KEPT_MESSAGE not in body and "Our problem profile" not in body

    # Someone else signing in on the same browser does not get it either.
    sign_in(client, world.emails["csp_contributor"])
    body = client.get(next_url).get_data(as_text=True)
    assert KEPT_MESSAGE not in body and "Our problem profile" not in body
    assert len(drafts(app)) == 1

    # The person who sent it does.
    owner = signed_in("csp_manager")
    assert "Our problem profile" in owner.get(next_url).get_data(as_text=True)
    assert len(drafts(app)) == 1


def test_the_kept_text_is_only_shown_on_the_page_it_was_sent_from(app, client, world, signed_in):
    next_url = _kept_for_manager(app, client, world)
    token = parse_qs(urlsplit(next_url).query)["draft"][0]
    owner = signed_in("csp_manager")
    other_section = f"/contributions/{world.contribution_a1}/sections/{world.section_a + 1}?draft={token}"
    assert "Our problem profile" not in owner.get(other_section).get_data(as_text=True)
    assert len(drafts(app)) == 1


def test_saving_the_kept_text_after_someone_else_saved_gets_the_conflict_page(app, client, world, signed_in):
    next_url = _kept_for_manager(app, client, world)
    colleague = signed_in("csp_contributor")
    body = colleague.get(section_path(world)).get_data(as_text=True)
    colleague.post(
        section_path(world),
        data={"text": "The colleague's text", "version": "0", "csrf_token": CSRF_RE.search(body).group(1), "save": "y"},
    )

    owner = signed_in("csp_manager")
    body = owner.get(next_url).get_data(as_text=True)
    response = owner.post(
        section_path(world),
        data={"text": TEXT, "version": "0", "csrf_token": CSRF_RE.search(body).group(1), "save": "y"},
    )
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "The colleague&#39;s text" in body and "Our problem profile shows 34" in body


def test_nothing_is_kept_from_a_browser_nobody_signed_in_on(app, client, world):
    response = client.post(section_path(world), data={"text": TEXT, "version": "0", "save": "y"})
    assert kept_link(response) == section_path(world)
    assert drafts(app) == []
    assert "Sign in to see this page" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_nothing_is_kept_after_signing_out_or_without_the_pages_own_token(app, client, world):
    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    end_sessions(app)
    # A form that did not come from this browser's page (another site's, say) is not kept.
    response = client.post(section_path(world), data={"text": TEXT, "version": "0", "csrf_token": "forged"})
    assert kept_link(response) == section_path(world)
    # Nor is an empty one.
    response = client.post(section_path(world), data={**fields, "text": "   "})
    assert kept_link(response) == section_path(world)
    assert drafts(app) == []

    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    body = client.get("/home").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": CSRF_RE.search(body).group(1)})
    response = client.post(section_path(world), data={**fields, "text": TEXT})
    assert kept_link(response) == section_path(world)
    assert drafts(app) == []


def test_only_the_latest_text_per_page_is_kept_and_passwords_never(app, client, world):
    sign_in(client, world.emails["csp_manager"])
    fields = open_section(client, world)
    end_sessions(app)
    client.post(section_path(world), data={**fields, "text": "First try"})
    client.post(section_path(world), data={**fields, "text": "Second try", "password": "hunter2"})
    (row,) = drafts(app)
    assert row.form_data == {"text": "Second try", "version": "0"}


def test_kept_text_is_deleted_after_seven_days(app, client, world, signed_in):
    next_url = _kept_for_manager(app, client, world)
    with time_machine.travel(utcnow() + timedelta(days=DRAFT_DAYS, minutes=1), tick=False):
        owner = signed_in("csp_manager")
        body = owner.get(next_url).get_data(as_text=True)
        assert "Our problem profile" not in body and KEPT_MESSAGE not in body
        assert len(drafts(app)) == 1  # the GET only read
        # The next draft kept by anyone purges those past their days.
        with app.app_context():
            purge_expired()
            db.session.commit()
    assert drafts(app) == []


def test_other_routes_still_send_people_to_sign_in_as_before(client, world):
    response = client.get(section_path(world) + "/history")
    assert response.status_code == 302
    history = f"%2Fcontributions%2F{world.contribution_a1}%2Fsections%2F{world.section_a}%2Fhistory"
    assert response.headers["Location"] == f"/sign-in?next={history}"
    response = client.post("/account/password", data={"password": "x"})
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")


def test_who_signed_in_is_remembered_in_a_signed_http_only_cookie(app, client, world):
    response = sign_in(client, world.emails["csp_manager"])
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("pb_last_user=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and f"Max-Age={DRAFT_DAYS * 24 * 3600}" in cookie
    fields = open_section(client, world)
    end_sessions(app)

    # A cookie changed by hand (to claim to be someone else) is ignored.
    value = client.get_cookie("pb_last_user").value
    client.set_cookie("pb_last_user", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    response = client.post(section_path(world), data={**fields, "text": TEXT})
    assert kept_link(response) == section_path(world)
    assert drafts(app) == []


def test_signing_out_removes_the_cookie(client, world):
    sign_in(client, world.emails["csp_manager"])
    body = client.get("/home").get_data(as_text=True)
    response = client.post("/sign-out", data={"csrf_token": CSRF_RE.search(body).group(1)})
    assert any(c.startswith("pb_last_user=;") for c in response.headers.getlist("Set-Cookie"))
    assert client.get_cookie("pb_last_user") is None


# --- Every form that creates or edits content ------------------------------------------------------

def _kept_and_refilled(app, world, who: str, path: str, fields: list[tuple[str, str]], expected: list[str]):
    """Open `path` signed in as `who`, let the session end, send `fields`, sign in again: the page
    comes back filled in with what was sent. The client, the way back, and the refilled page."""
    client = app.test_client()
    sign_in(client, world.emails[who])
    page = client.get(path)
    assert page.status_code == 200, path
    token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
    end_sessions(app)
    response = client.post(path, data=MultiDict([("csrf_token", token), *fields]))
    next_url = kept_link(response)
    assert next_url.startswith(path + "?draft="), next_url
    sign_in(client, world.emails[who])
    body = client.get(next_url).get_data(as_text=True)
    assert KEPT_MESSAGE in body, path
    for text in expected:
        assert text in body, (path, text)
    assert 'data-warn-unsaved="changed"' in body
    return client, next_url, body


def test_a_budget_line_and_an_outcome_with_its_date_come_back_after_signing_in(app, world):
    from tests.test_budget import line_data, round_ids

    ids = round_ids(app, world.round_a)
    base = f"/contributions/{world.contribution_a1}"
    line = line_data(ids, description="Mentors in three schools", amount="12,345.67")
    client, next_url, body = _kept_and_refilled(
        app, world, "csp_manager", f"{base}/budget/lines/new", list(line.items()),
        ['value="Mentors in three schools"', 'value="12,345.67"'],
    )
    radios = re.findall(r'<input[^>]*name="financial_year"[^>]*>', body)
    assert [r for r in radios if "checked" in r] == [r for r in radios if f'value="{ids.years[0]}"' in r]
    # Looking again writes nothing; saving the line removes what was kept.
    assert len(drafts(app)) == 1
    response = client.post(next_url, data={**line, "csrf_token": CSRF_RE.search(body).group(1)})
    assert response.status_code == 302
    assert drafts(app) == []
    assert KEPT_MESSAGE not in client.get(next_url).get_data(as_text=True)

    outcome = [("measure", "Knife crime offences by under-18s"), ("baseline", "34"), ("target", "20"),
               ("by_when", "31"), ("by_when", "3"), ("by_when", "2027")]
    _, _, body = _kept_and_refilled(
        app, world, "csp_manager", f"{base}/outcomes/new", outcome,
        ['value="Knife crime offences by under-18s"', 'value="31"', 'value="2027"'],
    )
    (row,) = drafts(app)
    assert row.form_data["by_when"] == ["31", "3", "2027"]


def test_the_leads_merged_text_comment_and_budget_line_come_back_and_can_be_discarded(app, world):
    from tests.test_budget import line_data, round_ids

    merged_path = f"/bid/rounds/{world.round_a}/sections/{world.section_a}"
    client, next_url, body = _kept_and_refilled(
        app, world, "lead_staff", merged_path,
        [("text", "Together the partnerships will reach 400 young people."), ("version", "0")],
        ["Together the partnerships will reach 400 young people."],
    )
    # "Discard what was kept": gone, and the page is as saved.
    token = parse_qs(urlsplit(next_url).query)["draft"][0]
    response = client.post("/kept/discard", data={"csrf_token": CSRF_RE.search(body).group(1), "draft": token})
    assert response.status_code == 302 and response.headers["Location"] == merged_path
    assert drafts(app) == []
    assert "reach 400 young people" not in client.get(next_url).get_data(as_text=True)

    _kept_and_refilled(
        app, world, "lead_staff", f"/review/contributions/{world.contribution_a1}/comments",
        [("body", "Please add your 2017/18 baseline."), ("section", "")],
        ["Please add your 2017/18 baseline."],
    )
    ids = round_ids(app, world.round_a)
    _kept_and_refilled(
        app, world, "lead_staff", f"/bid/rounds/{world.round_a}/budget/lines/new",
        list(line_data(ids, description="Evaluation by the lead bidder", amount="4,000").items()),
        ['value="Evaluation by the lead bidder"', 'value="4,000"'],
    )


def test_only_the_owner_can_discard_what_was_kept(app, client, world, signed_in):
    next_url = _kept_for_manager(app, client, world)
    token = parse_qs(urlsplit(next_url).query)["draft"][0]
    colleague = signed_in("csp_contributor")
    body = colleague.get("/home").get_data(as_text=True)
    colleague.post("/kept/discard", data={"csrf_token": CSRF_RE.search(body).group(1), "draft": token})
    assert len(drafts(app)) == 1
