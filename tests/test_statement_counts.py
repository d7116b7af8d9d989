"""Every key page runs the same number of SQL statements however big the round is.

The round is built twice with the services (tests/sized_round.py): 7 CSPs with each section
written once, then 14 CSPs with each section written three times. Each page is asked for twice by
the same signed-in user and the second request's statements are counted (the first may warm
caches). A page fails if its count differs between the two rounds or is over its budget: a new
per-row query shows up here as a difference, not as a slow page on deadline day."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.extensions import db
from tests import sized_round
from tests.conftest import empty_tables, sign_in_directly

# page: (who asks, URL, most statements allowed). Each budget is what the page runs today: a change
# that adds a statement to a page fails here until the budget is raised on purpose.
PAGES = {
    "CSP home": ("csp_manager", "/home", 7),
    "task list": ("csp_manager", "/contributions/{contribution}", 9),  # + who has each part
    "section editor": ("csp_manager", "/contributions/{contribution}/sections/{csp_section}", 8),
    "budget": ("csp_manager", "/contributions/{contribution}/budget", 7),
    "outcomes": ("csp_manager", "/contributions/{contribution}/outcomes", 4),
    "partners": ("csp_manager", "/contributions/{contribution}/partners", 4),
    "documents": ("csp_manager", "/contributions/{contribution}/documents", 4),
    "check your answers": ("csp_manager", "/contributions/{contribution}/check-your-answers", 11),
    "lead home": ("lead_staff", "/home", 6),
    "rounds": ("lead_staff", "/rounds", 4),
    "round": ("lead_staff", "/rounds/{round}", 6),
    "round overview": ("lead_staff", "/review/rounds/{round}", 9),  # resubmissions to review; internal notes' counts
    "review of a contribution": ("lead_staff", "/review/contributions/{reviewed}", 14),  # + its internal notes
    "what changed": ("lead_staff", "/review/contributions/{reviewed}/changes", 13),
    "bid overview": ("lead_staff", "/bid/rounds/{round}", 14),  # + who has each section
    "merged section": ("lead_staff", "/bid/rounds/{round}/sections/{bid_section}", 10),
    "consolidated budget": ("lead_staff", "/bid/rounds/{round}/budget", 8),
    "bid outcomes": ("lead_staff", "/bid/rounds/{round}/outcomes", 4),
    "bid partners": ("lead_staff", "/bid/rounds/{round}/partners", 4),
    "whole bid": ("lead_staff", "/bid/rounds/{round}/whole", 12),
    "readiness": ("lead_staff", "/bid/rounds/{round}/readiness", 13),
    "deadlines": ("lead_admin", "/rounds/{round}/deadlines", 5),
    "reminders": ("lead_admin", "/rounds/{round}/reminders", 10),
    "exports": ("lead_staff", "/rounds/{round}/exports", 13),  # + the round's funder's form, if any
    "funder's form": ("lead_admin", "/rounds/{round}/funder-form", 3),
    "your tasks": ("csp_manager", "/tasks", 4),
    "your team": ("csp_manager", "/team", 4),
    "search (lead)": ("lead_staff", "/search?q=partnership", 3),
    "search (CSP)": ("csp_manager", "/search?q=youth+OR+partnership", 3),
    "what's new (CSP)": ("csp_manager", "/whats-new", 3),
    "what's new (lead)": ("lead_staff", "/whats-new", 3),
}


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def measure(app, csps: int, revisions: int) -> dict[str, tuple[int, list[str]]]:
    empty_tables(app)
    with app.test_request_context("/"):  # the services' emails link back to the service
        built = sized_round.build(csps, revisions)
    ids = {"round": built.round_id, "contribution": built.contribution_id, "csp_section": built.csp_section_id,
           "bid_section": built.bid_section_id, "reviewed": built.reviewed_id}
    clients = {}
    counts = {}
    for page, (who, url, _) in PAGES.items():
        client = clients.get(who)
        if client is None:
            client = clients[who] = app.test_client()
            sign_in_directly(client, built.emails[who])
        path = url.format(**ids)
        assert client.get(path).status_code == 200, f"{page}: {path}"
        with app.app_context(), counting() as statements:
            response = client.get(path)
        assert response.status_code == 200, f"{page}: {path}"
        counts[page] = (len(statements), statements)
    return counts


@pytest.fixture(scope="module")
def counts(app):
    small = measure(app, csps=7, revisions=1)
    large = measure(app, csps=14, revisions=3)
    empty_tables(app)
    return small, large


@pytest.mark.parametrize("page", list(PAGES))
def test_statements_do_not_grow_with_the_round(counts, page):
    small, large = counts
    (n_small, small_statements), (n_large, large_statements) = small[page], large[page]
    assert n_small == n_large, (
        f"{page}: {n_small} statements for 7 CSPs and 1 revision, {n_large} for 14 CSPs and 3 revisions\n"
        + "\n".join(s for s in large_statements if large_statements.count(s) > small_statements.count(s))[:6000]
    )


@pytest.mark.parametrize("page", list(PAGES))
def test_statements_within_the_page_budget(counts, page):
    _, large = counts
    n, statements = large[page]
    budget = PAGES[page][2]
    assert n <= budget, f"{page}: {n} statements, budget {budget}\n" + "\n".join(statements)[:6000]
