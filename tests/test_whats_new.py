"""What's new: a person's own notifications, newest first, unread ones marked; opening one marks it
read and goes where it happened; "Mark all as read"; anyone else's is not found; the count of
unread ones in the menu of every page; a fixed number of statements however many there are."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import event, func, select

from app.dates import govuk_datetime
from app.extensions import db
from app.models import Notification, NotificationKind
from app.models.base import utcnow
from tests.conftest import csrf_token, post_form


def add(app, world, who: str, n: int = 1, *, read: bool = False, summary: str = "Something happened",
        hours_ago: int = 0) -> list[int]:
    """n notifications of the world person's, a minute apart (the last the newest)."""
    with app.app_context():
        now = utcnow()
        rows = [
            Notification(
                lead_bidder_id=world.lead_a if not who.startswith("other_lead") else world.lead_b,
                user_id=world.users[who],
                kind=NotificationKind.COMMENT.value,
                summary=f"{summary} {i + 1}",
                link=f"/contributions/{world.contribution_a1}",
                event_key=f"test:{who}:{summary}:{i}",
                actor_id=world.users["lead_staff"],
                round_id=world.round_a,
                contribution_id=world.contribution_a1,
                created_at=now - timedelta(hours=hours_ago, minutes=n - i),
                read_at=now if read else None,
            )
            for i in range(n)
        ]
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def page(client, path: str = "/whats-new") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def unread(app, world, who: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Notification)
            .where(Notification.user_id == world.users[who], Notification.read_at.is_(None))
        )


def menu_item(body: str) -> str:
    """The What's new item of the service navigation, as a screen reader reads it."""
    match = re.search(r'<a class="govuk-service-navigation__link" href="/whats-new"[^>]*>(.*?)</a>', body, re.S)
    assert match, "no What's new in the menu"
    return " ".join(re.sub(r"<[^>]+>", "", match.group(1)).split())


def test_the_page_lists_newest_first_with_the_unread_marked(app, world, signed_in):
    add(app, world, "lead_staff", 1, read=True, summary="Old news", hours_ago=2)
    add(app, world, "lead_staff", 2, summary="Fresh news")
    body = page(signed_in("lead_staff"))
    assert body.index("Fresh news 2") < body.index("Fresh news 1") < body.index("Old news 1")
    assert body.count('pb-notification pb-notification--unread"') == 2
    tag = r'<strong class="govuk-tag govuk-tag--blue pb-notification__tag">\s*New\s*</strong>'
    assert len(re.findall(tag, body)) == 2
    assert "You have 2 unread notifications" in body and "Mark all as read" in body
    with app.app_context():
        row = db.session.scalar(select(Notification).where(Notification.summary == "Fresh news 2"))
        when = govuk_datetime(row.created_at)
    # Who, when (GOV.UK style, London time), the round and the CSP, and a button naming what it opens.
    assert f"By {_name(app, world, 'lead_staff')} (Thames Valley OPCC), {when}" in body
    assert "Round: Early Intervention Youth Fund 2018" in body
    assert "CSP: Reading Community Safety Partnership" in body
    assert 'Open<span class="govuk-visually-hidden">: Comment, Fresh news 2</span>' in body
    # Nothing was marked read by looking.
    assert unread(app, world, "lead_staff") == 2


def _name(app, world, who: str) -> str:
    from app.models import User

    with app.app_context():
        return db.session.get(User, world.users[who]).full_name


def test_opening_marks_read_and_goes_where_it_happened(app, world, signed_in):
    [first, second] = add(app, world, "lead_staff", 2)
    client = signed_in("lead_staff")
    assert menu_item(page(client)) == "What’s new (2 unread)"
    response = post_form(client, f"/whats-new/{first}/open", page="/whats-new")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/contributions/{world.contribution_a1}"
    assert unread(app, world, "lead_staff") == 1
    body = page(client)
    assert menu_item(body) == "What’s new (1 unread)"
    assert body.count('pb-notification pb-notification--unread"') == 1
    # Opening it again still goes there, and changes nothing.
    with app.app_context():
        read_at = db.session.get(Notification, first).read_at
    assert post_form(client, f"/whats-new/{first}/open", page="/whats-new").status_code == 303
    with app.app_context():
        assert db.session.get(Notification, first).read_at == read_at
        assert db.session.get(Notification, second).read_at is None


def test_mark_all_as_read(app, world, signed_in):
    add(app, world, "csp_contributor", 3)
    add(app, world, "csp_manager", 1)
    client = signed_in("csp_contributor")
    before = unread(app, world, "csp_contributor")
    assert before >= 3  # with the round's opening
    response = post_form(client, "/whats-new/mark-all-read", page="/whats-new")
    assert response.status_code == 303 and response.headers["Location"] == "/whats-new"
    assert unread(app, world, "csp_contributor") == 0
    assert unread(app, world, "csp_manager") >= 1  # only your own
    body = page(client)
    assert "All your notifications are marked as read" in body
    assert "You have read all your notifications" in body and "Mark all as read" not in body
    assert menu_item(body) == "What’s new"


def test_someone_elses_notification_is_not_found(app, world, signed_in):
    [theirs] = add(app, world, "csp_manager", 1)
    for who in ("csp_contributor", "lead_admin", "other_csp_manager", "other_lead_admin"):
        client = signed_in(who)
        token = csrf_token(client, "/whats-new")
        assert client.post(f"/whats-new/{theirs}/open", data={"csrf_token": token}).status_code == 404, who
        assert "Something happened 1" not in page(client)
    assert unread(app, world, "csp_manager") >= 1
    with app.app_context():
        assert db.session.get(Notification, theirs).read_at is None


def test_nothing_new(app, world, signed_in):
    body = page(signed_in("lead_admin"))  # the world's only notifications are the CSPs' round openings
    assert "Nothing new." in body and "We will tell you here when a CSP submits" in body
    assert "Mark all as read" not in body
    assert menu_item(body) == "What’s new"


def test_the_menu_counts_the_unread_on_every_page(app, world, signed_in):
    client = signed_in("csp_manager")
    for path in ("/home", f"/contributions/{world.contribution_a1}", "/account"):
        body = page(client, path)
        assert menu_item(body) == "What’s new (1 unread)", path  # the round's opening
        assert '(1<span class="govuk-visually-hidden"> unread</span>)' in body


def test_a_real_event_arrives_and_opens(app, world, signed_in):
    staff = signed_in("lead_staff")
    url = f"/review/contributions/{world.contribution_a1}/comments"
    assert post_form(staff, url, {"section": "", "body": "Please add the 2017 figures."}).status_code == 302
    manager = signed_in("csp_manager")
    body = page(manager)
    assert "Please add the 2017 figures." in body and menu_item(body) == "What’s new (2 unread)"
    with app.app_context():
        row = db.session.scalar(select(Notification).where(Notification.user_id == world.users["csp_manager"],
                                                           Notification.kind == "comment"))
    response = post_form(manager, f"/whats-new/{row.id}/open", page="/whats-new")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"{url}#comment-")
    comments = page(manager, response.headers["Location"].split("#")[0])
    assert 'id="comment-' in comments and "Please add the 2017 figures." in comments


def test_a_page_of_many_costs_what_a_page_of_few_does(app, world, signed_in):
    client = signed_in("lead_staff")

    def statements(path: str) -> int:
        client.get(path)
        seen = []

        def count(conn, cursor, statement, *args):
            seen.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                assert client.get(path).status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    add(app, world, "lead_staff", 2, summary="Few")
    few = statements("/whats-new")
    add(app, world, "lead_staff", 25, summary="Many")
    assert statements("/whats-new") == few
    assert statements("/whats-new?page=2") == few
