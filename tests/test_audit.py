"""The audit trail: administrators filter and download their own lead bidder's events; the trail
is append-only on PostgreSQL; passwords, tokens and cookies never reach it or the logs."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.models import AuditEvent, User
from app.services import audit
from tests.conftest import csrf_token, post_form, sign_in
from tests.test_accounts import deliver, invite, link_in


def _event(world, who: str, action: str, when: datetime, summary: str, object_type="Organisation", object_id=None):
    user = db.session.get(User, world.users[who])
    event = audit.record(user, action, None, summary)
    event.object_type, event.object_id, event.created_at = object_type, object_id, when
    return event


@pytest.fixture
def trail(app, world):
    """Events of lead bidder A (by two people, on three days) and one of lead bidder B."""
    with app.app_context():
        march_2, march_20 = datetime(2026, 3, 2, 10, tzinfo=UTC), datetime(2026, 3, 20, 9, tzinfo=UTC)
        _event(world, "lead_admin", "csp.added", march_2, "Added Safer Thame", "Organisation", 501)
        _event(world, "lead_staff", "budget_line.deleted", march_20, "Deleted a line", "BudgetLine", 77)
        # 23:30 UTC on 31 March is 00:30 on 1 April in London (summer time): an April event.
        april_1 = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
        _event(world, "lead_admin", "user.updated", april_1, "Updated Sam", "User", 9)
        _event(world, "other_lead_admin", "csp.added", march_20, "Added Hampshire secret CSP", "Organisation", 900)
        db.session.commit()


def _page(client, query=""):
    response = client.get(f"/admin/activity{query}")
    return response.status_code, response.get_data(as_text=True)


def test_admins_filter_their_activity_by_who_what_when_and_which_record(world, trail, signed_in):
    admin = signed_in("lead_admin")
    status, page = _page(admin)
    assert status == 200
    assert "Added Safer Thame" in page and "Deleted a line" in page and "Updated Sam" in page
    assert "Hampshire" not in page
    # The filter's lists name only lead bidder A's people and what they did.
    assert 'value="budget_line.deleted"' in page and "Budget line deleted" in page
    assert "admin@b.example.org" not in page

    _, page = _page(admin, f"?who={world.users['lead_staff']}")
    assert "Deleted a line" in page and "Added Safer Thame" not in page
    _, page = _page(admin, "?action=user.updated")
    assert "Updated Sam" in page and "Deleted a line" not in page
    # UK dates, both included: 20 March to 31 March (London) leaves out the event of 1 April 00:30.
    _, page = _page(admin, "?since=20&since=3&since=2026&until=31&until=3&until=2026")
    assert "Deleted a line" in page and "Updated Sam" not in page and "Added Safer Thame" not in page
    _, page = _page(admin, "?since=1&since=april&since=2026")
    assert "Updated Sam" in page and "Deleted a line" not in page
    _, page = _page(admin, "?record_type=BudgetLine&record_id=77")
    assert "Deleted a line" in page and "Updated Sam" not in page
    _, page = _page(admin, "?record_type=BudgetLine&record_id=78")
    assert "Deleted a line" not in page and "Nothing recorded" in page
    # Another lead bidder's person or record finds nothing, even asked for by number.
    _, page = _page(admin, f"?who={world.users['other_lead_admin']}")
    assert "Hampshire" not in page and "Added Safer Thame" not in page
    _, page = _page(admin, "?record_id=900")
    assert "Hampshire" not in page


def test_a_filter_that_is_not_a_date_says_so_and_keeps_what_was_typed(world, trail, signed_in):
    query = "?since=31&since=2&since=2026&until=1&until=1&until=2026&record_id=abc"
    status, page = _page(signed_in("lead_admin"), query)
    assert status == 400
    assert "There is a problem" in page and page.count("From must be a real date") == 2  # summary and field
    assert "Record number must be a whole number" in page
    assert 'value="31"' in page and 'value="abc"' in page
    assert "Download" not in page


def test_activity_is_paginated_with_the_filter_kept(app, world, signed_in):
    with app.app_context():
        for n in range(app.config["PAGE_SIZE"] + 3):
            _event(world, "lead_admin", "csp.added", datetime(2026, 5, 1, 9, n, tzinfo=UTC), f"Added CSP {n}")
        _event(world, "lead_staff", "user.updated", datetime(2026, 5, 2, tzinfo=UTC), "Staff change")
        db.session.commit()
    admin = signed_in("lead_admin")
    _, page = _page(admin, "?action=csp.added")
    assert "(page 1 of 2)" in page and "Staff change" not in page
    assert "/admin/activity?action=csp.added&amp;page=2" in page
    _, second = _page(admin, "?action=csp.added&page=2")
    assert "Added CSP 0<" in second and "Staff change" not in second


def _csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_the_csv_holds_the_filtered_events_of_the_admins_own_organisation_with_safe_cells(app, world, trail, signed_in):
    with app.app_context():
        for n, nasty in enumerate(['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]):
            _event(world, "lead_admin", "csp.added", datetime(2026, 4, 2, 9, n, tzinfo=UTC), nasty)
        db.session.commit()
    admin = signed_in("lead_admin")
    page = admin.get("/admin/activity?action=csp.added").get_data(as_text=True)
    assert "/admin/activity.csv?action=csp.added" in page

    rows = _csv_rows(admin.get("/admin/activity.csv"))
    assert rows[0] == list(audit.CSV_HEADERS)
    summaries = [row[-1] for row in rows[1:]]
    assert "Added Safer Thame" in summaries and "Deleted a line" in summaries
    assert not any("Hampshire" in cell for row in rows for cell in row)
    assert {"'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1+1", "'-2+3", "'@SUM(A1)"} <= set(summaries)
    assert not any(cell[:1] in ("=", "+", "-", "@") for row in rows for cell in row)
    deleted = next(row for row in rows if row[-1] == "Deleted a line")
    assert deleted[0] == "2026-03-20 09:00:00"  # UK time (GMT in March)
    assert deleted[2:6] == ["staff@a.example.org", "budget_line.deleted", "BudgetLine", "77"]

    rows = _csv_rows(admin.get(f"/admin/activity.csv?who={world.users['lead_staff']}"))
    assert [row[-1] for row in rows[1:]] == ["Deleted a line"]
    # Another lead bidder's administrator downloads only their own.
    rows = _csv_rows(signed_in("other_lead_admin").get("/admin/activity.csv"))
    assert [row[-1] for row in rows[1:] if row[3] == "csp.added"] == ["Added Hampshire secret CSP"]
    # Staff who are not administrators cannot.
    assert signed_in("lead_staff").get("/admin/activity.csv").status_code == 403


def test_the_audit_table_refuses_update_and_delete_on_postgresql(app, world, trail):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("The append-only trigger is PostgreSQL's (migration 0011); SQLite is for development only")

        def count() -> int:
            with db.engine.connect() as conn:
                return conn.scalar(select(func.count()).select_from(AuditEvent))

        before = count()
        for statement in (
            "UPDATE audit_event SET summary = 'rewritten'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                conn.execute(text(statement))
        # The ORM is refused the same way.
        event = db.session.scalars(select(AuditEvent)).first()
        event.summary = "rewritten"
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.commit()
        db.session.rollback()
        db.session.close()
        assert count() == before
        # Adding goes on as ever.
        audit.record(None, "test.appended", None, "Still appending", lead_bidder_id=world.lead_a)
        db.session.commit()
        assert count() == before + 1


def test_audit_record_drops_details_named_for_secrets(app, world):
    with app.app_context():
        event = audit.record(None, "user.updated", None, "x", lead_bidder_id=world.lead_a,
                             password="p", new_password="p", reset_token="t", session_cookie="c", changes=["role"])
        assert event.detail == {"changes": ["role"]}


SECRETS = {
    "password": "obsidian heron quartz 71",
    "new password": "marigold anvil tundra 58",
    "invited password": "saffron glacier beacon 23",
}


def test_passwords_tokens_and_cookies_reach_no_audit_event_and_no_log(app, world, signed_in, smtp_server, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        from app.services.passwords import hash_password

        user = db.session.get(User, world.users["csp_manager"])
        user.password_hash = hash_password(SECRETS["password"])
        db.session.commit()
    seen: set[str] = set(SECRETS.values())

    # Signing in through the form (a wrong password first), then changing the password.
    browser = app.test_client()
    post_form(browser, "/sign-in", {"email": world.emails["csp_manager"], "password": "wrong " + SECRETS["password"]})
    seen.add("wrong " + SECRETS["password"])
    sign_in(browser, world.emails["csp_manager"], SECRETS["password"])
    seen |= {cookie.value for cookie in browser._cookies.values() if len(cookie.value) >= 16}
    seen.add(csrf_token(browser, "/account/password"))
    post_form(browser, "/account/password", {
        "current_password": SECRETS["password"],
        "new_password": SECRETS["new password"],
        "confirm": SECRETS["new password"],
    })

    # A password reset by email.
    post_form(app.test_client(), "/password-reset", {"email": world.emails["csp_manager"]})
    deliver(app)
    reset_link = link_in(smtp_server.to(world.emails["csp_manager"])[-1])
    seen.add(reset_link.rsplit("/", 1)[1])
    resetter = app.test_client()
    reset_password = "juniper sextant meadow 14"
    seen.add(reset_password)
    post_form(resetter, reset_link, {"password": reset_password, "confirm": reset_password})

    # An invitation, accepted.
    invite(signed_in("lead_admin"), world, email="newcomer@reading.example.org")
    deliver(app)
    invitation = link_in(smtp_server.to("newcomer@reading.example.org")[-1])
    seen.add(invitation.rsplit("/", 1)[1])
    newcomer = app.test_client()
    post_form(newcomer, invitation, {"password": SECRETS["invited password"], "confirm": SECRETS["invited password"]})
    assert newcomer.get("/home").status_code == 200  # it worked
    seen |= {cookie.value for cookie in newcomer._cookies.values() if len(cookie.value) >= 16}
    newcomer.post("/sign-out", data={"csrf_token": csrf_token(newcomer, "/home")})

    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
    actions = {e.action for e in events}
    assert {"user.signed_in", "user.password_changed", "user.password_reset", "user.invitation_accepted"} <= actions
    stored = [f"{e.action} {e.summary} {json.dumps(e.detail, default=str)}" for e in events]
    # Every record but the test's own SMTP server's (aiosmtpd's "mail.log" logs the mail it receives).
    logged = [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records if r.name != "mail.log"]
    for secret in seen:
        assert not [s for s in stored if secret in s], "a secret reached the audit trail"
        assert not [s for s in logged if secret in s], "a secret reached the logs"
