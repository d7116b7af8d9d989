"""Optimistic locking of budget lines, outcomes, partners and lead-held budget lines.

Two people edit the same item: the first save wins, the second is refused (409) with the first's
version shown and the second's typing kept, and saving again on purpose works. A delete of an item
changed since its confirmation page was loaded is refused the same way. Nothing is ever silently
overwritten, and audit events are written only for saves that happened."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Contribution, Outcome, PartnerInvolvement, Round, User
from app.models import BudgetLine as CSPBudgetLine
from app.models.bid import LeadBudgetLine
from app.services import ServiceError
from app.services import budget as budget_service
from app.services import consolidation as consolidation_service
from app.services.budget import ItemConflict, changed_before_delete_message, changed_message
from app.services.consolidation import get_or_create_bid
from tests.conftest import CSRF_RE
from tests.test_budget import VERSION_RE, create_line, error_summary, line_data, outcome_data, round_ids
from tests.test_consolidation import _form as lead_form
from tests.test_consolidation import add_lead_lines

# --- the four kinds of item -------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    noun: str
    editors: tuple[str, str]
    model: type
    action: str  # audit events: <action>.changed, <action>.deleted
    make: Callable  # (app, world) -> (edit page's URL, item id)
    first: Callable  # (app, world) -> what the first editor saves
    second: Callable  # (app, world) -> what the second editor types
    read: Callable  # item -> the values the two editors disagree about
    first_values: tuple
    second_values: tuple
    typed: tuple[str, ...]  # the second editor's typing, as it appears in the form's fields
    theirs: tuple[str, ...]  # the first editor's values, as they appear in the summary list
    delete_verb: str = "delete"


def _make_csp_line(app, world):
    ids = round_ids(app, world.round_a)
    line_id = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00, description="Mentors")
    return f"/contributions/{world.contribution_a1}/budget/lines/{line_id}", line_id


def _make_outcome(app, world):
    with app.app_context():
        outcome = Outcome(
            contribution_id=world.contribution_a1, measure="Permanent exclusions", baseline="42 in 2017/18",
            target="30 a year", by_when=date(2020, 3, 31),
        )  # fmt: skip
        db.session.add(outcome)
        db.session.commit()
        return f"/contributions/{world.contribution_a1}/outcomes/{outcome.id}", outcome.id


def _make_partner(app, world):
    with app.app_context():
        partner = PartnerInvolvement(
            contribution_id=world.contribution_a1, organisation_name="Reading Youth Offending Service", role="Referrals"
        )
        db.session.add(partner)
        db.session.commit()
        return f"/contributions/{world.contribution_a1}/partners/{partner.id}", partner.id


def _make_lead_line(app, world):
    add_lead_lines(app, world, [(0, 0, 1_000_00, 0, None)])
    with app.app_context():
        line_id = db.session.scalar(select(LeadBudgetLine.id))
    return f"/bid/rounds/{world.round_a}/budget/lines/{line_id}", line_id


def _lead_form(app, world, **overrides):
    with app.app_context():
        return lead_form(db.session.get(Round, world.round_a), **overrides)


KINDS = [
    Kind(
        name="budget line", noun="budget line", editors=("csp_manager", "csp_contributor"), model=CSPBudgetLine,
        action="budget_line", make=_make_csp_line,
        first=lambda app, world: line_data(
            round_ids(app, world.round_a), description="Mentors (first)", amount="1,500"
        ),
        second=lambda app, world: line_data(
            round_ids(app, world.round_a), description="Mentors for 20 young people (second)", amount="2,750.25"
        ),
        read=lambda line: (line.description, line.amount_pence),
        first_values=("Mentors (first)", 1_500_00), second_values=("Mentors for 20 young people (second)", 2_750_25),
        typed=('value="Mentors for 20 young people (second)"', 'value="2,750.25"'),
        theirs=("Mentors (first)", "£1,500.00"),
    ),
    Kind(
        name="outcome", noun="outcome", editors=("csp_manager", "csp_contributor"), model=Outcome,
        action="outcome", make=_make_outcome,
        first=lambda app, world: outcome_data(measure="Permanent exclusions", target="28 a year"),
        second=lambda app, world: outcome_data(measure="Permanent exclusions", target="20 a year",
                                               by_when=["1", "9", "2019"]),
        read=lambda outcome: (outcome.target, outcome.by_when),
        first_values=("28 a year", date(2020, 3, 31)), second_values=("20 a year", date(2019, 9, 1)),
        typed=('value="20 a year"', 'value="2019"'),
        theirs=("28 a year", "31 March 2020"),
    ),
    Kind(
        name="partner", noun="partner", editors=("csp_manager", "csp_contributor"), model=PartnerInvolvement,
        action="partner", make=_make_partner,
        first=lambda app, world: {
            "organisation_name": "Reading Youth Offending Service", "role": "Referrals and case work"
        },
        second=lambda app, world: {"organisation_name": "Reading YOS", "role": "Premises for group work"},
        read=lambda partner: (partner.organisation_name, partner.role),
        first_values=("Reading Youth Offending Service", "Referrals and case work"),
        second_values=("Reading YOS", "Premises for group work"),
        typed=('value="Reading YOS"', "Premises for group work</textarea>"),
        theirs=("Referrals and case work",),
        delete_verb="remove",
    ),
    Kind(
        name="lead-held budget line", noun="budget line", editors=("lead_admin", "lead_staff"), model=LeadBudgetLine,
        action="lead_budget_line", make=_make_lead_line,
        first=lambda app, world: _lead_form(app, world, description="Evaluation (first)", amount="20,000"),
        second=lambda app, world: _lead_form(app, world, description="Evaluation by a university (second)",
                                             amount="22,500"),
        read=lambda line: (line.description, line.amount_pence),
        first_values=("Evaluation (first)", 20_000_00),
        second_values=("Evaluation by a university (second)", 22_500_00),
        typed=('value="Evaluation by a university (second)"', 'value="22,500"'),
        theirs=("Evaluation (first)", "£20,000.00"),
    ),
]  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------


def open_page(client, url: str) -> tuple[str, str]:
    """Load a change or delete page: its CSRF token and the version it carries."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return page_state(response.get_data(as_text=True))


def page_state(page: str) -> tuple[str, str]:
    token, version = CSRF_RE.search(page), VERSION_RE.search(page)
    assert token and version, "no CSRF token or version on the page"
    return token.group(1), version.group(1)


def send(client, url: str, state: tuple[str, str], data: dict | None = None):
    token, version = state
    return client.post(url, data={**(data or {}), "csrf_token": token, "version": version})


def stored(app, kind: Kind, item_id: int):
    with app.app_context():
        item = db.session.get(kind.model, item_id)
        return None if item is None else (kind.read(item), item.version)


def events(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# --- editing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_second_save_is_refused_and_keeps_both_versions(app, world, signed_in, kind):
    url, item_id = kind.make(app, world)
    first, second = signed_in(kind.editors[0]), signed_in(kind.editors[1])
    first_state, second_state = open_page(first, url), open_page(second, url)
    assert first_state[1] == second_state[1] == "1"

    assert send(first, url, first_state, kind.first(app, world)).status_code == 302
    assert stored(app, kind, item_id) == (kind.first_values, 2)
    assert events(app, f"{kind.action}.changed") == 1

    response = send(second, url, second_state, kind.second(app, world))
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert error_summary(page) == [("#their-version", changed_message(kind.noun))]
    assert 'id="their-version"' in page and "Their version" in page and "Your version" in page
    for text in kind.theirs:  # their version, as saved now: in the summary list, not in a field
        assert text in page and f'value="{text}"' not in page
    for text in kind.typed:  # what the second editor typed is still in the form
        assert text in page
    # Nothing was saved and nothing recorded: the first editor's values stand.
    assert stored(app, kind, item_id) == (kind.first_values, 2)
    assert events(app, f"{kind.action}.changed") == 1

    # The page now carries the current version: saving again is a deliberate overwrite, and works.
    state = page_state(page)
    assert state[1] == "2"
    assert send(second, url, state, kind.second(app, world)).status_code == 302
    assert stored(app, kind, item_id) == (kind.second_values, 3)
    assert events(app, f"{kind.action}.changed") == 2

    # The first editor's page is out of date now, in turn.
    assert send(first, url, first_state, kind.first(app, world)).status_code == 409
    assert stored(app, kind, item_id) == (kind.second_values, 3)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_saving_what_is_already_saved_is_not_a_conflict(app, world, signed_in, kind):
    url, item_id = kind.make(app, world)
    first, second = signed_in(kind.editors[0]), signed_in(kind.editors[1])
    first_state, second_state = open_page(first, url), open_page(second, url)
    assert send(first, url, first_state, kind.first(app, world)).status_code == 302
    # The second editor typed exactly what the first saved: nothing to overwrite, nothing to do.
    assert send(second, url, second_state, kind.first(app, world)).status_code == 302
    assert stored(app, kind, item_id) == (kind.first_values, 2)
    assert events(app, f"{kind.action}.changed") == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_page_without_the_version_is_refused(app, world, signed_in, kind):
    url, item_id = kind.make(app, world)
    client = signed_in(kind.editors[0])
    token, _ = open_page(client, url)
    for data in ({}, {"version": ""}, {"version": "x"}):
        response = client.post(url, data={**kind.first(app, world), "csrf_token": token, **data})
        assert response.status_code == 400
        page = html.unescape(response.get_data(as_text=True))
        assert f"We could not tell which version of this {kind.noun} you opened, so nothing was saved" in page
        response = client.post(f"{url}/delete", data={"csrf_token": token, **data})
        assert response.status_code == 400
    assert stored(app, kind, item_id)[1] == 1
    assert events(app, f"{kind.action}.changed") == events(app, f"{kind.action}.deleted") == 0


# --- deleting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_deleting_an_item_changed_since_the_page_was_loaded_is_refused(app, world, signed_in, kind):
    url, item_id = kind.make(app, world)
    first, second = signed_in(kind.editors[0]), signed_in(kind.editors[1])
    delete_url = f"{url}/delete"
    delete_state = open_page(second, delete_url)
    assert send(first, url, open_page(first, url), kind.first(app, world)).status_code == 302

    response = send(second, delete_url, delete_state)
    assert response.status_code == 409
    page = html.unescape(response.get_data(as_text=True))
    assert error_summary(page) == [("#their-version", changed_before_delete_message(kind.noun, kind.delete_verb))]
    for text in kind.theirs:  # the page shows the item as it is now
        assert text in page
    assert stored(app, kind, item_id) == (kind.first_values, 2)
    assert events(app, f"{kind.action}.deleted") == 0

    # Confirming again, having seen what it is now, deletes it.
    state = page_state(page)
    assert state[1] == "2"
    assert send(second, delete_url, state).status_code == 302
    assert stored(app, kind, item_id) is None
    assert events(app, f"{kind.action}.deleted") == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_changing_or_deleting_an_item_someone_deleted_says_so(app, world, signed_in, kind):
    url, item_id = kind.make(app, world)
    first, second = signed_in(kind.editors[0]), signed_in(kind.editors[1])
    edit_state, delete_state = open_page(second, url), open_page(second, f"{url}/delete")
    assert send(first, f"{url}/delete", open_page(first, f"{url}/delete")).status_code == 302
    # The pages were loaded before it went: now its URL is simply not found, and nothing is written.
    assert send(second, url, edit_state, kind.second(app, world)).status_code == 404
    assert send(second, f"{url}/delete", delete_state).status_code == 404
    assert events(app, f"{kind.action}.deleted") == 1
    assert events(app, f"{kind.action}.changed") == 0


# --- the services -----------------------------------------------------------------------------


def test_services_refuse_a_stale_version_and_write_nothing(app, world):
    ids = round_ids(app, world.round_a)
    line_id = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00, description="Mentors")
    add_lead_lines(app, world, [(0, 0, 1_000_00, 0, None)])
    values = {
        "financial_year_id": ids.years[0], "cost_category_id": ids.categories[0], "description": "Changed",
        "amount_pence": 5_00,
    }  # fmt: skip
    with app.app_context():
        manager = db.session.get(User, world.users["csp_manager"])
        admin = db.session.get(User, world.users["lead_admin"])
        line = db.session.get(CSPBudgetLine, line_id)
        with pytest.raises(ItemConflict) as caught:
            budget_service.change_line(manager, line, expected_version=0, **values)
        assert caught.value.item is line and caught.value.field == "version"
        with pytest.raises(ItemConflict):
            budget_service.delete_line(manager, line, expected_version=7)
        assert budget_service.change_line(manager, line, expected_version=1, **values) is True
        assert line.version == 2
        db.session.commit()

        lead_line = db.session.scalar(select(LeadBudgetLine))
        with pytest.raises(ItemConflict):
            consolidation_service.change_lead_line(admin, lead_line, expected_version=2, **values)
        with pytest.raises(ItemConflict):
            consolidation_service.delete_lead_line(admin, lead_line, expected_version=2)
        db.session.rollback()

        # An item already deleted by someone else.
        consolidation_service.delete_lead_line(admin, lead_line, expected_version=1)
        db.session.commit()
        assert get_or_create_bid(db.session.get(Round, world.round_a)).lead_lines == []
        with pytest.raises(ServiceError, match="Someone else has deleted this budget line"):
            consolidation_service.delete_lead_line(admin, lead_line, expected_version=1)
        db.session.rollback()
    with app.app_context():
        assert db.session.get(CSPBudgetLine, line_id).description == "Changed"
        assert events(app, "budget_line.changed") == 1
        assert events(app, "budget_line.deleted") == 0
        assert events(app, "lead_budget_line.changed") == 0
        assert events(app, "lead_budget_line.deleted") == 1


def test_existing_rows_start_at_version_1(app, world):
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        partner = PartnerInvolvement(contribution=c, organisation_name="Thames Valley Police", role="Data")
        db.session.add(partner)
        db.session.commit()
        assert partner.version == 1


def test_adding_pages_carry_no_version(app, world, signed_in):
    client = signed_in("csp_manager")
    for path in ("budget/lines/new", "outcomes/new", "partners/new"):
        page = client.get(f"/contributions/{world.contribution_a1}/{path}").get_data(as_text=True)
        assert VERSION_RE.search(page) is None, path
    page = signed_in("lead_admin").get(f"/bid/rounds/{world.round_a}/budget/lines/new").get_data(as_text=True)
    assert VERSION_RE.search(page) is None
