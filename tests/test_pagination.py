"""Lists that grow without bound are shown a page at a time, with GOV.UK pagination.

Each list is walked page by page as a user would, following the "Next" links, with more rows than
fit on a page (the page sizes are made small here): every page but the last is full, the pages
hold every row of the list once, another lead bidder's (or CSP's) rows are never counted nor
shown, and a page that does not exist is "Page not found", whatever is typed in the address.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Contribution,
    DeadlineChange,
    DeadlineKind,
    Reminder,
    ReminderKind,
    Round,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.services import audit, merge, rounds
from app.services import exports as exports_service
from app.services.pages import Page, PageNotFound, paginate, requested_number
from app.services.sections import save_section
from tests.conftest import open_round_for
from tests.factories import UserFactory

PAGE_SIZE = 3
CARDS = 2

TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)
NEXT_RE = re.compile(
    r'<div class="govuk-pagination__next">\s*<a class="govuk-link govuk-pagination__link" href="([^"]+)"'
)
JUNK = ["abc", "", "2.5", "-1", "١"]  # not written in ASCII digits: page 1
MISSING = ["0", "00", "99999999999999999999999", "9" * 5000]  # numbers that are no page: 404


@pytest.fixture(autouse=True)
def small_pages(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", PAGE_SIZE)
    monkeypatch.setitem(app.config, "PAGE_SIZE_CARDS", CARDS)


# --- the Page itself -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value, number",
    [(None, 1), ("", 1), ("abc", 1), ("2.5", 1), ("-3", 1), ("1e3", 1), ("²", 1), (" 7 ", 7), ("007", 7),
     ("0", 0), (4, 4), ("9" * 16, 0), ("9" * 5000, 0)],
)
def test_the_page_number_asked_for(value, number):
    assert requested_number(value) == number


@pytest.mark.parametrize(
    "number, pages, shown",
    [
        (1, 1, [1]),
        (1, 3, [1, 2, 3]),
        (1, 10, [1, 2, None, 10]),
        (3, 10, [1, 2, 3, 4, None, 10]),
        (4, 10, [1, 2, 3, 4, 5, None, 10]),  # one page left out is shown, not replaced by "..."
        (7, 42, [1, None, 6, 7, 8, None, 42]),
        (42, 42, [1, None, 41, 42]),
    ],
)
def test_the_page_numbers_linked_to(number, pages, shown):
    page = Page(items=[object()], number=number, per_page=1, total=pages)
    assert page.numbers() == shown


def test_a_page_knows_where_it_is():
    page = Page(items=["d", "e"], number=2, per_page=3, total=5)
    assert (page.pages, page.has_previous, page.has_next, page.first, page.last) == (2, True, False, 4, 5)
    assert list(page) == ["d", "e"] and len(page) == 2 and page[0] == "d" and page
    assert list(page.map(str.upper)) == ["D", "E"] and page.map(str.upper).total == 5
    empty = Page(items=[], number=1, per_page=3, total=0)
    assert (empty.pages, empty.has_next, bool(empty)) == (1, False, False)


def test_paginate_counts_once_and_refuses_pages_that_do_not_exist(app, world):
    with app.app_context():
        stmt = select(User).where(User.lead_bidder_id == world.lead_a).order_by(User.id)
        everyone = db.session.scalars(stmt).all()
        pages = [paginate(stmt, n) for n in range(1, -(-len(everyone) // PAGE_SIZE) + 1)]
        assert [u for p in pages for u in p] == everyone
        assert all(p.total == len(everyone) for p in pages)
        for number in ["0", str(len(pages) + 1), "9" * 30]:
            with pytest.raises(PageNotFound):
                paginate(stmt, number)
        assert paginate(stmt, "junk").number == 1
        nothing = paginate(stmt.where(User.id < 0), "1")
        assert (nothing.items, nothing.total, nothing.pages) == ([], 0, 1)


# --- every paginated list, walked as a user does ----------------------------------------------------

@dataclass
class Listing:
    client: object
    url: str
    items: Callable[[str], int]  # how many of the list's items a page shows
    total: int  # how many items the list has (counted in the database, for the user's tenant)
    shown: list[str]  # text that must appear on some page (rows of the user's own)
    hidden: list[str]  # text that must appear on no page (another lead bidder's or CSP's rows)
    size: int = PAGE_SIZE


def count(pattern: str, within: str | None = None) -> Callable[[str], int]:
    """Counts matches of `pattern`, only inside the element that `within` starts, if given."""

    def _count(page: str) -> int:
        if within is not None:
            start = page.find(within)
            if start < 0:
                return 0
            page = page[start : page.find("</table>", start)]
        return len(re.findall(pattern, page))

    return _count


TABLE_ROWS = r'<tr class="govuk-table__row">\s*<(?:td|th scope="row")'  # rows of a table's body, not its header


def walk(listing: Listing) -> list[str]:
    """Every page of the list from the first, following "Next"; checks each page on the way."""
    pages, url = [], listing.url
    while url:
        response = listing.client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        pages.append(page)
        found = NEXT_RE.search(page)
        url = html_lib.unescape(found.group(1)) if found else None
        assert len(pages) < 50, "the pages never end"
    expected_pages = -(-listing.total // listing.size)
    assert len(pages) == expected_pages > 1
    for number, page in enumerate(pages, start=1):
        title = TITLE_RE.search(page).group(1)
        assert f"(page {number} of {expected_pages})" in title
        assert 'aria-label="Page 1"' in page and f'aria-label="Page {number}" aria-current="page"' in page
        full = number < expected_pages
        assert listing.items(page) == (listing.size if full else listing.total - listing.size * (number - 1))
        assert ("Previous<span class=\"govuk-visually-hidden\"> page</span>" in page) == (number > 1)
    everything = "".join(pages)
    for text in listing.shown:
        assert text in everything
    for text in listing.hidden:
        assert text not in everything
    return pages


def check_addresses(listing: Listing, pages: list[str]) -> None:
    """Page 2's address, junk (page 1) and numbers that are no page (404), never a 500."""
    join = "&" if "?" in listing.url else "?"
    link = re.search(r'href="([^"]+)" aria-label="Page 2"', pages[0])
    assert html_lib.unescape(link.group(1)).split("#")[0] == f"{listing.url}{join}page=2"
    again = listing.client.get(f"{listing.url}{join}page=2").get_data(as_text=True)
    assert TITLE_RE.search(again).group(1) == TITLE_RE.search(pages[1]).group(1)
    for junk in JUNK:
        response = listing.client.get(f"{listing.url}{join}page={junk}")
        assert response.status_code == 200, junk
        assert listing.items(response.get_data(as_text=True)) == listing.size
    for missing in [*MISSING, str(len(pages) + 1)]:
        response = listing.client.get(f"{listing.url}{join}page={missing}")
        assert response.status_code == 404, missing
        assert "Page not found" in response.get_data(as_text=True)


def scalar(stmt) -> int:
    return db.session.scalar(stmt)


def test_activity(app, world, signed_in):
    admin = signed_in("lead_admin")
    with app.app_context():
        for i in range(7):
            audit.record(None, "test.event", summary=f"Marker A{i}", lead_bidder_id=world.lead_a)
            audit.record(None, "test.event", summary=f"Marker B{i}", lead_bidder_id=world.lead_b)
        db.session.commit()
        total = scalar(select(func.count()).where(AuditEvent.lead_bidder_id == world.lead_a))
    listing = Listing(
        admin, "/admin/activity", count(TABLE_ROWS, "<table"), total,
        [f"Marker A{i}<" for i in range(7)], [f"Marker B{i}<" for i in range(7)],
    )
    check_addresses(listing, walk(listing))


def test_users_keep_their_filter_from_page_to_page(app, world, signed_in):
    admin = signed_in("lead_admin")
    with app.app_context():
        lead_a = db.session.get(User, world.users["lead_admin"]).organisation
        lead_b = db.session.get(User, world.users["other_lead_admin"]).organisation
        for i in range(5):
            UserFactory(organisation=lead_a, full_name=f"Marker A{i}", active=False)
            UserFactory(organisation=lead_b, full_name=f"Marker B{i}", active=False)
        db.session.commit()
        deactivated = scalar(
            select(func.count()).where(User.lead_bidder_id == world.lead_a, User.active.is_(False))
        )
        everyone = scalar(select(func.count()).where(User.lead_bidder_id == world.lead_a))
    rows = count(r'<a class="govuk-link" href="/admin/users/\d+">')
    listing = Listing(
        admin, "/admin/users?status=deactivated", rows, deactivated,
        [f"Marker A{i}<" for i in range(5)], [f"Marker B{i}<" for i in range(5)],
    )
    pages = walk(listing)
    assert "status=deactivated&amp;page=2" in pages[0]  # the filter is kept
    assert f"{deactivated} people, showing 1 to {PAGE_SIZE}" in pages[0]
    check_addresses(listing, pages)
    listing = Listing(admin, "/admin/users?status=all", rows, everyone, listing.shown, listing.hidden)
    walk(listing)


def make_rounds(world, n: int) -> None:
    for who in ("lead_admin", "other_lead_admin"):
        actor = db.session.get(User, world.users[who])
        for i in range(n):
            now = utcnow()
            rounds.create_round(
                actor, fund_name="Safer Streets Fund", funder="Home Office",
                title=f"Marker {'A' if who == 'lead_admin' else 'B'}{i}", summary="",
                funder_deadline=now + timedelta(days=60 + i), internal_deadline=now + timedelta(days=40 + i),
            )
    db.session.commit()


def test_rounds(app, world, signed_in):
    with app.app_context():
        make_rounds(world, 5)
        total = scalar(select(func.count()).where(Round.lead_bidder_id == world.lead_a))
    listing = Listing(
        signed_in("lead_staff"), "/rounds", count(r'<th scope="row" class="govuk-table__header"><a '), total,
        [f"Marker A{i}<" for i in range(5)], [f"Marker B{i}<" for i in range(5)],
    )
    pages = walk(listing)
    assert f"{total} rounds, showing 1 to {PAGE_SIZE}" in pages[0]
    check_addresses(listing, pages)


def test_the_lead_home_page_shows_the_latest_rounds_and_links_to_them_all(app, world, signed_in):
    staff = signed_in("lead_staff")
    with app.app_context():
        make_rounds(world, 1)
    page = staff.get("/home").get_data(as_text=True)  # the world's round and Marker A0: all of them
    assert page.count('<li class="govuk-!-margin-bottom-4">') == CARDS
    assert "See all funding rounds" not in page
    with app.app_context():
        make_rounds(world, 2)
    page = staff.get("/home").get_data(as_text=True)
    assert page.count('<li class="govuk-!-margin-bottom-4">') == CARDS
    assert "Marker A1<" in page and "Marker A0<" in page  # the latest deadlines first
    assert "Marker B" not in page
    assert 'href="/rounds">See all funding rounds</a>' in page


def test_a_csp_home_page(app, world, signed_in):
    with app.app_context():
        admin, other_admin = (db.session.get(User, world.users[w]) for w in ("lead_admin", "other_lead_admin"))
        for i in range(3):
            open_round_for(
                admin, {world.csp_a1: world.users["csp_manager"], world.csp_a2: world.users["other_csp_manager"]},
                title=f"Marker A{i}",
            )
            open_round_for(other_admin, {world.csp_b1: world.users["other_lead_csp_manager"]}, title=f"Marker B{i}")
        only_a2 = open_round_for(admin, {world.csp_a2: world.users["other_csp_manager"]}, title="Marker A2 only")
        db.session.commit()
        total = scalar(select(func.count()).where(Contribution.csp_id == world.csp_a1))
        assert only_a2.id
    listing = Listing(
        signed_in("csp_manager"), "/home", count(r'<div class="govuk-summary-card">'), total,
        [f"Marker A{i}<" for i in range(3)], [*(f"Marker B{i}<" for i in range(3)), "Marker A2 only"], size=CARDS,
    )
    check_addresses(listing, walk(listing))


def make_exports(world, n: int) -> dict[str, list[int]]:
    ids: dict[str, list[int]] = {"bid_a": [], "bid_b": [], "a1": [], "a2": [], "b1": []}
    staff = db.session.get(User, world.users["lead_staff"])
    other = db.session.get(User, world.users["other_lead_admin"])
    round_a, round_b = db.session.get(Round, world.round_a), db.session.get(Round, world.round_b)
    for _ in range(n):
        ids["bid_a"].append(exports_service.request_export(staff, round_a, "csv").id)
        ids["bid_b"].append(exports_service.request_export(other, round_b, "csv").id)
        for key, contribution_id, rnd, actor in (
            ("a1", world.contribution_a1, round_a, staff),
            ("a2", world.contribution_a2, round_a, staff),
            ("b1", world.contribution_b1, round_b, other),
        ):
            contribution = db.session.get(Contribution, contribution_id)
            ids[key].append(exports_service.request_export(actor, rnd, "docx", contribution).id)
    db.session.commit()
    return ids


def test_exports_of_the_bid(app, world, signed_in):
    with app.app_context():
        ids = make_exports(world, 7)
    listing = Listing(
        signed_in("lead_staff"), f"/rounds/{world.round_a}/exports", count(r'href="/exports/\d+"'), 7,
        [f'/exports/{i}"' for i in ids["bid_a"]],
        [f'/exports/{i}"' for k in ("bid_b", "a1", "a2", "b1") for i in ids[k]],
    )
    pages = walk(listing)
    assert f'/rounds/{world.round_a}/exports?page=2#history"' in pages[0]  # back to the list, not the top
    check_addresses(listing, pages)


def test_exports_of_a_contribution(app, world, signed_in):
    with app.app_context():
        ids = make_exports(world, 4)
    listing = Listing(
        signed_in("csp_manager"), f"/contributions/{world.contribution_a1}/exports", count(r'href="/exports/\d+"'), 4,
        [f'/exports/{i}"' for i in ids["a1"]],
        [f'/exports/{i}"' for k in ("bid_a", "bid_b", "a2", "b1") for i in ids[k]],
    )
    check_addresses(listing, walk(listing))


def test_reminders_sent_waiting_and_not_sent(app, world, signed_in):
    with app.app_context():
        for rnd_id, lead, who, marker in (
            (world.round_a, world.lead_a, "csp_manager", "A"),
            (world.round_b, world.lead_b, "other_lead_csp_manager", "B"),
        ):
            for i in range(7):
                db.session.add(Reminder(
                    key=f"test:{marker}:{i}", lead_bidder_id=lead, round_id=rnd_id, user_id=world.users[who],
                    kind=ReminderKind.CSP_BEFORE, days=7, slot_at=utcnow() - timedelta(days=i),
                    cancelled_reason=f"Marker {marker}{i}",
                ))
        db.session.commit()
        total = scalar(select(func.count()).where(Reminder.round_id == world.round_a))
    listing = Listing(
        signed_in("lead_admin"), f"/rounds/{world.round_a}/reminders",
        count(TABLE_ROWS, '<table class="govuk-table pb-reminders-history">'), total,
        [f"Marker A{i}<" for i in range(7)], [f"Marker B{i}<" for i in range(7)],
    )
    pages = walk(listing)
    assert f'/rounds/{world.round_a}/reminders?page=2#sent"' in pages[0]
    check_addresses(listing, pages)


def test_the_history_of_deadline_changes(app, world, signed_in):
    with app.app_context():
        for rnd_id, lead, marker in ((world.round_a, world.lead_a, "A"), (world.round_b, world.lead_b, "B")):
            for i in range(4):
                db.session.add(DeadlineChange(
                    lead_bidder_id=lead, round_id=rnd_id, kind=DeadlineKind.FUNDER, old_at=utcnow(),
                    new_at=utcnow() + timedelta(days=i + 1), reason=f"Marker {marker}{i}",
                    changed_at=utcnow() - timedelta(hours=i),
                ))
        db.session.commit()
        total = scalar(select(func.count()).where(DeadlineChange.round_id == world.round_a))
    listing = Listing(
        signed_in("viewer"), f"/rounds/{world.round_a}/deadlines",
        count(TABLE_ROWS, '<table class="govuk-table pb-deadline-history">'), total,
        [f"Marker A{i}<" for i in range(4)], [f"Marker B{i}<" for i in range(4)],
    )
    pages = walk(listing)
    assert f'/rounds/{world.round_a}/deadlines?page=2#history"' in pages[0]
    check_addresses(listing, pages)


def save_times(contribution_id: int, section_id: int, who: int, n: int, marker: str) -> None:
    contribution = db.session.get(Contribution, contribution_id)
    section = db.session.get(SectionTemplate, section_id)
    actor = db.session.get(User, who)
    for i in range(n):
        response = next((r for r in contribution.responses if r.section_id == section.id), None)
        save_section(actor, contribution, section, f"{marker} {i}", response.version if response else 0, False)
        db.session.flush()
        db.session.expire(contribution, ["responses"])


def test_the_saved_versions_of_a_section(app, world, signed_in):
    with app.app_context():
        save_times(world.contribution_a1, world.section_a, world.users["csp_manager"], 7, "Reading")
        save_times(world.contribution_a2, world.section_a, world.users["other_csp_manager"], 5, "Slough")
        section_b = next(s for s in db.session.get(Round, world.round_b).sections if s.csp_contributes)
        save_times(world.contribution_b1, section_b.id, world.users["other_lead_csp_manager"], 5, "Southampton")
        db.session.commit()
    url = f"/contributions/{world.contribution_a1}/sections/{world.section_a}/history"
    listing = Listing(
        signed_in("csp_manager"), url, count(TABLE_ROWS, '<table class="govuk-table pb-revisions">'), 7,
        [f"> revision {n}</span>" for n in range(1, 8)], ["> revision 8</span>"],
    )
    pages = walk(listing)
    # The versions to compare are every version, whichever page is shown.
    assert all(f'<option value="{n}"' in pages[-1] for n in range(1, 8))
    check_addresses(listing, pages)


def test_the_history_of_a_merged_text(app, world, signed_in):
    with app.app_context():
        for rnd_id, who, marker, n in (
            (world.round_a, "lead_staff", "A", 5),
            (world.round_b, "other_lead_admin", "B", 7),
        ):
            rnd = db.session.get(Round, rnd_id)
            bid = merge.get_or_create_bid(rnd)
            section = next(s for s in rnd.sections if s.csp_contributes)
            actor = db.session.get(User, world.users[who])
            for i in range(n):
                merged = merge.merged_section(bid, section)
                merge.save_text(actor, bid, section, f"Marker {marker}{i} text", merged.version if merged else 0)
                db.session.flush()
        db.session.commit()
    listing = Listing(
        signed_in("viewer"), f"/bid/rounds/{world.round_a}/sections/{world.section_a}/history",
        count(r'<h2 class="govuk-heading-s govuk-!-margin-bottom-1">Revision \d+'), 5,
        [f"Marker A{i} text" for i in range(5)], [f"Marker B{i} text" for i in range(7)], size=CARDS,
    )
    pages = walk(listing)
    assert "(the latest)" in pages[0] and "(the latest)" not in "".join(pages[1:])
    check_addresses(listing, pages)


def test_a_list_of_one_page_has_no_pagination_and_a_plain_title(app, world, signed_in):
    page = signed_in("lead_staff").get("/rounds").get_data(as_text=True)
    assert "govuk-pagination" not in page
    assert "(page" not in TITLE_RE.search(page).group(1)
    assert signed_in("lead_staff").get("/rounds?page=2").status_code == 404
