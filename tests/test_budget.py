"""Budget lines, outcomes and partners of a contribution: adding, changing, deleting, the totals,
the errors, who may change what, and marking each part as completed."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    BudgetLine,
    Contribution,
    ContributionStatus,
    MatchType,
    Outcome,
    PartnerInvolvement,
    Round,
    User,
)
from app.services import ServiceError
from app.services import budget as service
from app.services import contributions as contributions_service
from tests.conftest import CSRF_RE, post_form

# --- helpers ----------------------------------------------------------------------------------

VERSION_RE = re.compile(r'<input[^>]*name="version"[^>]*value="([0-9]*)"')


def post_page(client, path: str, data: dict | None = None):
    """POST a change or delete page the way a browser does: with the CSRF token and the item's
    version from the page as it was loaded (budget lines, outcomes and partners are versioned)."""
    page = client.get(path).get_data(as_text=True)
    token, version = CSRF_RE.search(page), VERSION_RE.search(page)
    assert token and version, f"no CSRF token or version on {path}"
    return client.post(path, data={**(data or {}), "csrf_token": token.group(1), "version": version.group(1)})



@dataclass
class Ids:
    years: list[int]
    year_labels: list[str]
    categories: list[int]
    category_names: list[str]


def round_ids(app, round_id: int) -> Ids:
    with app.app_context():
        rnd = db.session.get(Round, round_id)
        return Ids(
            years=[y.id for y in rnd.financial_years],
            year_labels=[y.label for y in rnd.financial_years],
            categories=[c.id for c in rnd.cost_categories],
            category_names=[c.name for c in rnd.cost_categories],
        )


def base(world, contribution_id: int | None = None) -> str:
    return f"/contributions/{contribution_id or world.contribution_a1}"


def line_data(ids: Ids, **overrides) -> dict:
    data = {
        "financial_year": str(ids.years[0]),
        "cost_category": str(ids.categories[0]),
        "description": "Detached youth worker (1 FTE)",
        "amount": "32,500",
        "match_amount": "",
        "match_source": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def add_line(client, world, ids: Ids, **overrides):
    return post_form(client, f"{base(world)}/budget/lines/new", line_data(ids, **overrides))


def lines(app, contribution_id: int) -> list[BudgetLine]:
    with app.app_context():
        found = db.session.scalars(
            select(BudgetLine).where(BudgetLine.contribution_id == contribution_id).order_by(BudgetLine.id)
        ).all()
        db.session.expunge_all()
        return found


def contribution(app, contribution_id: int) -> Contribution:
    with app.app_context():
        c = db.session.get(Contribution, contribution_id)
        db.session.expunge(c)
        return c


def actions(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.notlike("user.%"), AuditEvent.action.notlike("round.%"))
                .order_by(AuditEvent.id)
            )
        )


def create_line(app, contribution_id: int, year: int, category: int, amount: int, match: int = 0, kind=None, **kw):
    with app.app_context():
        line = BudgetLine(
            contribution_id=contribution_id,
            financial_year_id=year,
            cost_category_id=category,
            description=kw.get("description", "A line"),
            amount_pence=amount,
            match_pence=match,
            match_type=kind,
            match_source=kw.get("source"),
        )
        db.session.add(line)
        db.session.commit()
        return line.id


def set_status(app, contribution_id: int, status: ContributionStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, contribution_id).status = status
        db.session.commit()


class _Tables(HTMLParser):
    """Each <table id=...> as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", f"table-{len(self.tables)}"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def pounds(pence: int) -> str:
    """The expected on-screen text, written independently of app.money.format_money."""
    return f"£{Decimal(pence) / 100:,.2f}"


def error_summary(html: str) -> list[tuple[str, str]]:
    block = re.search(r'<div class="govuk-error-summary".*?</ul>', html, re.S)
    assert block, "no error summary"
    return re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(0))


def in_a_request(app, fn):
    with app.test_request_context():
        return fn()


# --- budget lines: adding ---------------------------------------------------------------------


def test_a_csp_manager_adds_a_budget_line_stored_in_pence(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    client = signed_in("csp_manager")
    assert contribution(app, world.contribution_a1).status == ContributionStatus.NOT_STARTED

    response = add_line(
        client, world, ids,
        financial_year=str(ids.years[1]), cost_category=str(ids.categories[1]),
        description="  Specialist mentoring  ", amount="£1,250.50",
        match_amount="500", match_type="in_kind", match_source=" Reading Borough Council ",
    )  # fmt: skip

    assert response.status_code == 302
    assert response.headers["Location"] == f"{base(world)}/budget"
    [line] = lines(app, world.contribution_a1)
    assert (line.financial_year_id, line.cost_category_id) == (ids.years[1], ids.categories[1])
    assert line.description == "Specialist mentoring"
    assert (line.amount_pence, line.match_pence) == (125_050, 50_000)
    assert line.match_type == MatchType.IN_KIND and line.match_source == "Reading Borough Council"
    assert line.updated_by_id == world.users["csp_manager"]
    c = contribution(app, world.contribution_a1)
    assert c.status == ContributionStatus.IN_PROGRESS  # touched
    assert actions(app) == ["budget_line.added"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "budget_line.added"))
        assert event.lead_bidder_id == world.lead_a and event.actor_id == world.users["csp_manager"]
        assert event.object_type == "BudgetLine" and event.object_id == line.id
        assert event.detail["contribution_id"] == world.contribution_a1
        assert event.detail["amount_pence"] == 125_050
        assert "£1,250.50" in event.summary

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Budget line added: Specialist mentoring" in page
    assert "£1,250.50" in page and "£500.00" in page and "In-kind: Reading Borough Council" in page


def test_a_csp_contributor_can_add_lines_too(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    assert add_line(signed_in("csp_contributor"), world, ids).status_code == 302
    assert len(lines(app, world.contribution_a1)) == 1


@pytest.mark.parametrize(
    ("typed", "pence"), [("1250", 125_000), ("1,250.50", 125_050), ("£1,250.50", 125_050), (" £ 1250.5 ", 125_050)]
)
def test_amounts_are_accepted_as_people_type_them(app, world, signed_in, typed, pence):
    ids = round_ids(app, world.round_a)
    assert add_line(signed_in("csp_manager"), world, ids, amount=typed).status_code == 302
    assert lines(app, world.contribution_a1)[0].amount_pence == pence


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the amount requested"),
        ("twelve hundred", "Amount requested must be a number in pounds and pence, like 1,250 or 1,250.50"),
        ("12,50", "Amount requested must be a number in pounds and pence, like 1,250 or 1,250.50"),
        ("1250.505", "Amount requested must not have more than 2 decimal places, like 1,250.50"),
        ("-250", "Amount requested must be £0 or more"),
        ("100,000,001", "Amount requested must be £10,000,000.00 or less"),
        ("0", "Amount requested must be more than £0, unless the whole line is match funding"),
    ],
)
def test_bad_amounts_are_refused_with_a_clear_message_keeping_the_input(app, world, signed_in, typed, message):
    ids = round_ids(app, world.round_a)
    response = add_line(signed_in("csp_manager"), world, ids, amount=typed, description="Youth workers & mentors")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_summary(page) == [("#amount", message)]
    assert '<p id="amount-error" class="govuk-error-message">' in page
    assert message in page.split('id="amount-error"')[1][:300]
    assert f'value="{typed}"' in page if typed else True
    assert 'value="Youth workers &amp; mentors"' in page  # the rest is kept too
    assert f'value="{ids.years[0]}" checked' in page
    assert re.search(r"<title>\s*Error: Add a budget line", page)
    assert lines(app, world.contribution_a1) == []
    assert actions(app) == []


def test_every_problem_is_shown_at_once_in_field_order(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    response = add_line(
        signed_in("csp_manager"), world, ids,
        financial_year=None, cost_category=None, description="", amount="abc", match_amount="5", match_source="x" * 201,
    )  # fmt: skip
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [
        ("#financial_year", "Select the financial year"),
        ("#cost_category", "Select the cost category"),
        ("#description", "Enter a description of what the money is for"),
        ("#amount", "Amount requested must be a number in pounds and pence, like 1,250 or 1,250.50"),
        ("#match_type", "Select whether the match funding is cash or in-kind"),
        ("#match_source", "Source of match funding must be 200 characters or fewer"),
    ]


def test_match_funding_needs_its_type(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    response = add_line(signed_in("csp_manager"), world, ids, match_amount="1,000")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_summary(page) == [("#match_type", "Select whether the match funding is cash or in-kind")]
    assert 'value="1,000"' in page


def test_a_match_type_without_an_amount_is_not_stored(app, world, signed_in):
    """A radio button cannot be unselected: choosing one and leaving the amount empty is fine."""
    ids = round_ids(app, world.round_a)
    assert add_line(signed_in("csp_manager"), world, ids, match_type="cash").status_code == 302
    [line] = lines(app, world.contribution_a1)
    assert (line.match_pence, line.match_type, line.match_source) == (0, None, None)


def test_a_match_source_without_an_amount_is_refused(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    response = add_line(signed_in("csp_manager"), world, ids, match_source="Thames Valley Police")
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [
        ("#match_amount", "Enter the amount of match funding, or remove its source")
    ]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("lots", "Match funding must be a number in pounds and pence, like 1,250 or 1,250.50"),
        ("-1", "Match funding must be £0 or more"),
        ("1.001", "Match funding must not have more than 2 decimal places, like 1,250.50"),
    ],
)
def test_bad_match_amounts_are_refused(app, world, signed_in, typed, message):
    ids = round_ids(app, world.round_a)
    response = add_line(signed_in("csp_manager"), world, ids, match_amount=typed, match_type="cash")
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [("#match_amount", message)]


def test_a_line_paid_for_by_match_funding_only_may_ask_for_nothing(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    response = add_line(
        signed_in("csp_manager"), world, ids, amount="0", match_amount="6,200", match_type="in_kind",
        match_source="Community safety team",
    )  # fmt: skip
    assert response.status_code == 302
    [line] = lines(app, world.contribution_a1)
    assert (line.amount_pence, line.match_pence, line.match_type) == (0, 620_000, MatchType.IN_KIND)


def test_only_the_match_types_the_round_takes_are_offered_and_accepted(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    with app.app_context():
        db.session.get(Round, world.round_a).match_in_kind = False
        db.session.commit()
    client = signed_in("csp_manager")
    form_page = client.get(f"{base(world)}/budget/lines/new").get_data(as_text=True)
    assert 'value="cash"' in form_page and 'value="in_kind"' not in form_page
    assert "This round takes cash match funding only." in form_page

    response = add_line(client, world, ids, match_amount="100", match_type="in_kind")
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [("#match_type", "Select the type of match funding")]
    # The service refuses it too, whatever the form does.
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        with pytest.raises(ServiceError, match="does not take in-kind match funding"):
            service.add_line(
                db.session.get(User, world.users["csp_manager"]), c,
                financial_year_id=ids.years[0], cost_category_id=ids.categories[0], description="x",
                amount_pence=100, match_pence=100, match_type=MatchType.IN_KIND,
            )  # fmt: skip


def test_a_round_without_match_funding_does_not_ask_for_it(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.match_cash = rnd.match_in_kind = False
        db.session.commit()
    client = signed_in("csp_manager")
    form_page = client.get(f"{base(world)}/budget/lines/new").get_data(as_text=True)
    assert "match_amount" not in form_page
    # A hand-made request with match funding is refused.
    response = add_line(client, world, ids, match_amount="100")
    assert response.status_code == 400
    assert "This round does not take match funding" in response.get_data(as_text=True)


def test_years_and_categories_must_be_the_rounds(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    other = round_ids(app, world.round_b)
    response = add_line(
        signed_in("csp_manager"), world, ids, financial_year=str(other.years[0]), cost_category=str(other.categories[0])
    )
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [
        ("#financial_year", "Select the financial year"),
        ("#cost_category", "Select the cost category"),
    ]
    response = add_line(signed_in("csp_manager"), world, ids, financial_year="nonsense")
    assert error_summary(response.get_data(as_text=True)) == [("#financial_year", "Select the financial year")]
    assert lines(app, world.contribution_a1) == []


def test_save_and_add_another_keeps_the_year(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    client = signed_in("csp_manager")
    response = post_form(
        client,
        f"{base(world)}/budget/lines/new",
        {**line_data(ids, financial_year=str(ids.years[1])), "add_another": "1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{base(world)}/budget/lines/new?financial_year={ids.years[1]}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Budget line added" in page
    assert f'value="{ids.years[1]}" checked' in page
    assert 'value="Detached youth worker (1 FTE)"' not in page


def test_a_missing_security_token_keeps_the_input_and_saves_nothing(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    response = signed_in("csp_manager").post(f"{base(world)}/budget/lines/new", data=line_data(ids, amount="777"))
    assert response.status_code == 400
    assert 'value="777"' in response.get_data(as_text=True)
    assert lines(app, world.contribution_a1) == []


# --- budget lines: changing and deleting ------------------------------------------------------


def test_changing_a_line(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    line_id = create_line(
        app, world.contribution_a1, ids.years[0], ids.categories[0], 125_050, 10_000, MatchType.CASH,
        description="Youth workers", source="Council",
    )  # fmt: skip
    client = signed_in("csp_manager")
    url = f"{base(world)}/budget/lines/{line_id}"
    form_page = client.get(url).get_data(as_text=True)
    assert 'value="1,250.50"' in form_page and 'value="100.00"' in form_page
    assert 'value="cash" checked' in form_page and 'value="Council"' in form_page

    response = post_page(
        client, url,
        line_data(ids, financial_year=str(ids.years[1]), description="Youth workers", amount="2,000",
                  match_amount="", match_type="cash", match_source=""),
    )  # fmt: skip
    assert response.status_code == 302
    [line] = lines(app, world.contribution_a1)
    assert (line.financial_year_id, line.amount_pence, line.match_pence, line.match_type) == (
        ids.years[1], 200_000, 0, None
    )
    assert actions(app) == ["budget_line.changed"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "budget_line.changed"))
        assert event.detail["changes"]["amount_pence"] == [125_050, 200_000]
        assert event.detail["changes"]["match_type"] == ["cash", None]
        assert ids.year_labels[1] in event.summary
    assert contribution(app, world.contribution_a1).status == ContributionStatus.IN_PROGRESS
    assert "Budget line changed: Youth workers" in client.get(f"{base(world)}/budget").get_data(as_text=True)

    # Saving without changing anything records nothing.
    post_page(client, url, line_data(ids, financial_year=str(ids.years[1]), description="Youth workers", amount="2000"))
    assert actions(app) == ["budget_line.changed"]


def test_a_change_with_errors_keeps_what_was_typed(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    line_id = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00)
    response = post_page(
        signed_in("csp_manager"), f"{base(world)}/budget/lines/{line_id}", line_data(ids, amount="£12.345")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="£12.345"' in page
    assert lines(app, world.contribution_a1)[0].amount_pence == 100_00


def test_deleting_a_line_asks_first(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    keep = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00, description="Keep me")
    line_id = create_line(app, world.contribution_a1, ids.years[1], ids.categories[2], 250_00, description="Laptops")
    client = signed_in("csp_manager")
    url = f"{base(world)}/budget/lines/{line_id}/delete"
    page = client.get(url).get_data(as_text=True)
    assert "Are you sure you want to delete this budget line?" in page
    assert "Laptops" in page and "£250.00" in page
    assert [line.id for line in lines(app, world.contribution_a1)] == [keep, line_id]

    response = post_page(client, url)
    assert response.status_code == 302
    assert [line.id for line in lines(app, world.contribution_a1)] == [keep]
    assert actions(app) == ["budget_line.deleted"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "budget_line.deleted"))
        assert event.object_id == line_id and event.detail["description"] == "Laptops"
    assert "Budget line deleted: Laptops" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert contribution(app, world.contribution_a1).status == ContributionStatus.IN_PROGRESS


def test_an_id_from_another_contribution_is_not_found(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    theirs = create_line(app, world.contribution_a2, ids.years[0], ids.categories[0], 100_00)
    with app.app_context():
        c2 = db.session.get(Contribution, world.contribution_a2)
        outcome = Outcome(contribution=c2, measure="m", baseline="b", target="t", by_when=date(2020, 3, 31))
        partner = PartnerInvolvement(contribution=c2, organisation_name="Slough Youth", role="r")
        db.session.add_all([outcome, partner])
        db.session.commit()
        outcome_id, partner_id = outcome.id, partner.id
    client = signed_in("csp_manager")
    for path in (
        f"budget/lines/{theirs}", f"budget/lines/{theirs}/delete", f"budget/lines/{theirs + 1000}",
        f"outcomes/{outcome_id}", f"outcomes/{outcome_id}/delete",
        f"partners/{partner_id}", f"partners/{partner_id}/delete",
    ):  # fmt: skip
        url = f"{base(world)}/{path}"
        assert client.get(url).status_code == 404, url
        assert post_form(client, url, line_data(ids), page=f"{base(world)}/budget").status_code == 404, url
    assert len(lines(app, world.contribution_a2)) == 1
    with app.app_context():
        assert db.session.get(Outcome, outcome_id) is not None
        assert db.session.get(PartnerInvolvement, partner_id) is not None
    assert actions(app) == []


# --- totals ----------------------------------------------------------------------------------


def twenty_lines(app, world, ids: Ids) -> list[tuple[int, int, int, int, MatchType | None]]:
    """20 lines spread over the years and categories (two categories left empty in one year)."""
    rng = random.Random(2018)
    made = []
    for n in range(20):
        year = ids.years[n % 2]
        category = ids.categories[(n * 5) % 4 if year == ids.years[0] else n % 6]
        amount = rng.randint(0, 60_000_00) if n % 7 else 0
        match = rng.randint(1, 9_000_00) if n % 3 == 0 else 0
        kind = (MatchType.CASH if n % 2 else MatchType.IN_KIND) if match else None
        if amount == 0 and match == 0:
            amount = 1
        create_line(
            app, world.contribution_a1, year, category, amount, match, kind,
            description=f"Line {n + 1}: detached youth work in the town centre and estates", source="Council",
        )  # fmt: skip
        made.append((year, category, amount, match, kind))
    return made


def test_budget_summary_totals_are_right(app, world):
    ids = round_ids(app, world.round_a)
    made = twenty_lines(app, world, ids)
    # The expected totals, computed here from the lines as made.
    cells, by_year, by_cat, match_cells = {}, {}, {}, {}
    for year, cat, amount, match, kind in made:
        cells[(cat, year)] = cells.get((cat, year), 0) + amount
        by_year[year] = by_year.get(year, 0) + amount
        by_cat[cat] = by_cat.get(cat, 0) + amount
        if match:
            match_cells[(kind, year)] = match_cells.get((kind, year), 0) + match
    total = sum(m[2] for m in made)
    match_total = sum(m[3] for m in made)

    with app.app_context():
        s = service.budget_summary(db.session.get(Contribution, world.contribution_a1))
        assert s.line_count == 20
        assert s.total == total and s.match_total == match_total
        assert [y.id for y in s.years] == ids.years and [c.id for c in s.categories] == ids.categories
        for c in s.categories:
            for y in s.years:
                assert s.amount(c, y) == cells.get((c.id, y.id), 0)
            assert s.by_category[c.id] == by_cat.get(c.id, 0)
        for y in s.years:
            assert s.by_year[y.id] == by_year.get(y.id, 0)
            for kind in MatchType:
                assert s.match(kind, y) == match_cells.get((kind, y.id), 0)
            assert s.match_by_year[y.id] == sum(v for (k, yid), v in match_cells.items() if yid == y.id)
        assert sum(s.by_year.values()) == sum(s.by_category.values()) == total
        assert s.match_by_type[MatchType.CASH] + s.match_by_type[MatchType.IN_KIND] == match_total
        assert [len(g.lines) for g in s.lines_by_year] == [10, 10]
        assert [g.amount_pence for g in s.lines_by_year] == [by_year[y] for y in ids.years]
        assert s.cap_per_bid_pence == 700_000_00
        assert str(s.match_percent) == f"{round(match_total * 100 / total, 1):.1f}"


def test_the_budget_page_shows_the_totals_table(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    made = twenty_lines(app, world, ids)
    page = signed_in("csp_manager").get(f"{base(world)}/budget").get_data(as_text=True)
    found = tables(page)

    totals = found["budget-totals"]
    assert totals[0] == ["Cost category", *ids.year_labels, "Total"]
    assert [row[0] for row in totals[1:]] == [*ids.category_names, "Total"]
    for r, cat in enumerate(ids.categories, start=1):
        expected = [sum(a for y, c, a, _, _ in made if c == cat and y == year) for year in ids.years]
        assert totals[r][1:] == [pounds(v) for v in [*expected, sum(expected)]], ids.category_names[r - 1]
    year_totals = [sum(a for y, _, a, _, _ in made if y == year) for year in ids.years]
    assert totals[-1][1:] == [pounds(v) for v in [*year_totals, sum(year_totals)]]

    match = found["match-totals"]
    assert [row[0] for row in match] == ["Type", "Cash", "In-kind", "Total match funding"]
    for row, kind in ((1, MatchType.CASH), (2, MatchType.IN_KIND)):
        expected = [sum(m for y, _, _, m, k in made if k == kind and y == year) for year in ids.years]
        assert match[row][1:] == [pounds(v) for v in [*expected, sum(expected)]]
    match_years = [sum(m for y, _, _, m, _ in made if y == year) for year in ids.years]
    assert match[3][1:] == [pounds(v) for v in [*match_years, sum(match_years)]]

    # One table of lines per year, each line with its change and delete links, and a total.
    for year, label in zip(ids.years, ids.year_labels, strict=True):
        rows = found[f"lines-{year}"]
        assert len(rows) == 1 + 10 + 1
        assert rows[-1][:3] == [f"Total for {label}", pounds(sum(a for y, _, a, _, _ in made if y == year)),
                                pounds(sum(m for y, _, _, m, _ in made if y == year))]  # fmt: skip
    assert page.count(">Change<span") == 20 and page.count(">Delete<span") == 20
    assert "The round’s cap is <strong>£700,000.00</strong> for the whole bid" in page
    assert "£350,000.00 in 2018/19 and £350,000.00 in 2019/20" in page
    assert "govuk-table__cell--numeric" in page


def test_an_empty_budget_says_so(app, world, signed_in):
    page = signed_in("csp_manager").get(f"{base(world)}/budget").get_data(as_text=True)
    assert "You have not added any budget lines yet." in page
    assert 'id="budget-totals"' not in page
    assert "Add a budget line" in page


# --- who may change what ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["lead_admin", "lead_staff", "viewer"])
def test_lead_bidder_users_see_the_parts_read_only(app, world, signed_in, who):
    ids = round_ids(app, world.round_a)
    line_id = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 123_45, description="Mentors")
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        db.session.add(Outcome(contribution=c, measure="Exclusions", baseline="42", target="30",
                               by_when=date(2020, 3, 31)))  # fmt: skip
        db.session.add(PartnerInvolvement(contribution=c, organisation_name="Reading YOS", role="Referrals"))
        db.session.commit()
    client = signed_in(who)

    budget_page = client.get(f"{base(world)}/budget")
    assert budget_page.status_code == 200
    html = budget_page.get_data(as_text=True)
    assert "Mentors" in html and "£123.45" in html
    assert "Add a budget line" not in html and ">Change<" not in html and "/budget/lines/" not in html
    assert "Have you completed this section?" not in html
    assert "Not completed yet" in html

    outcomes_page = client.get(f"{base(world)}/outcomes").get_data(as_text=True)
    assert "Exclusions" in outcomes_page and "31 March 2020" in outcomes_page
    assert "Add an outcome" not in outcomes_page and "/outcomes/" not in outcomes_page
    partners_page = client.get(f"{base(world)}/partners").get_data(as_text=True)
    assert "Reading YOS" in partners_page and "Referrals" in partners_page
    assert "Add a partner" not in partners_page and "/partners/" not in partners_page

    assert client.get(f"{base(world)}/budget/lines/new").status_code == 403
    assert client.get(f"{base(world)}/budget/lines/{line_id}").status_code == 403
    assert post_form(client, f"{base(world)}/budget", {"completed": "yes"}).status_code == 403
    assert post_form(client, f"{base(world)}/partners", {"completed": "yes"}).status_code == 403
    assert not contribution(app, world.contribution_a1).budget_completed


def test_a_submitted_contribution_is_locked(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    line_id = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00, description="Mentors")
    set_status(app, world.contribution_a1, ContributionStatus.SUBMITTED)
    client = signed_in("csp_manager")
    task_list = f"{base(world)}"

    for path in ("budget/lines/new", f"budget/lines/{line_id}", f"budget/lines/{line_id}/delete",
                 "outcomes/new", "partners/new"):  # fmt: skip
        response = client.get(f"{base(world)}/{path}")
        assert response.status_code == 302 and response.headers["Location"] == task_list, path
    response = post_form(client, f"{base(world)}/budget/lines/new", line_data(ids), page=f"{base(world)}/budget")
    assert response.headers["Location"] == task_list
    assert "This contribution was submitted, so it cannot be changed" in client.get(task_list).get_data(as_text=True)
    response = post_form(client, f"{base(world)}/budget/lines/{line_id}/delete", page=f"{base(world)}/budget")
    assert response.headers["Location"] == task_list
    response = post_form(client, f"{base(world)}/budget", {"completed": "yes"})
    assert response.headers["Location"] == task_list

    page = client.get(f"{base(world)}/budget").get_data(as_text=True)
    assert "Mentors" in page and "This contribution was submitted, so it cannot be changed" in page
    assert "Add a budget line" not in page and "/budget/lines/" not in page
    assert "Have you completed this section?" not in page
    assert len(lines(app, world.contribution_a1)) == 1
    assert not contribution(app, world.contribution_a1).budget_completed
    assert actions(app) == []

    # The services refuse too, whatever a route does.
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        manager = db.session.get(User, world.users["csp_manager"])
        with pytest.raises(ServiceError, match="submitted"):
            service.add_line(manager, c, financial_year_id=ids.years[0], cost_category_id=ids.categories[0],
                             description="x", amount_pence=1)  # fmt: skip
        with pytest.raises(ServiceError, match="submitted"):
            service.delete_line(manager, db.session.get(BudgetLine, line_id), expected_version=1)
        with pytest.raises(ServiceError, match="submitted"):
            service.add_partner(manager, c, organisation_name="x", role="y")
        with pytest.raises(ServiceError, match="submitted"):
            service.mark_outcomes_completed(manager, c, True)


def test_changes_requested_unlocks_it_again(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    set_status(app, world.contribution_a1, ContributionStatus.CHANGES_REQUESTED)
    assert add_line(signed_in("csp_manager"), world, ids).status_code == 302
    assert contribution(app, world.contribution_a1).status == ContributionStatus.CHANGES_REQUESTED


# --- completing the budget --------------------------------------------------------------------


def task_status(app, contribution_id: int, key: str) -> str:
    with app.test_request_context(), app.app_context():
        c = db.session.get(Contribution, contribution_id)
        return next(t.status for t in contributions_service.tasks(c) if t.key == key)


def test_completing_the_budget_needs_a_line(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    client = signed_in("csp_manager")
    url = f"{base(world)}/budget"
    assert task_status(app, world.contribution_a1, "budget") == contributions_service.NOT_STARTED

    response = post_form(client, url, {"completed": "yes"})
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [
        ("#completed", "Add at least one budget line before you mark the budget as completed")
    ]
    response = post_form(client, url, {})
    assert error_summary(response.get_data(as_text=True)) == [
        ("#completed", "Select whether you have completed this section")
    ]
    assert not contribution(app, world.contribution_a1).budget_completed

    add_line(client, world, ids)
    assert task_status(app, world.contribution_a1, "budget") == contributions_service.IN_PROGRESS
    response = post_form(client, url, {"completed": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == base(world)
    assert contribution(app, world.contribution_a1).budget_completed
    assert task_status(app, world.contribution_a1, "budget") == contributions_service.COMPLETED
    assert "Budget marked as completed" in client.get(base(world)).get_data(as_text=True)
    assert 'value="yes" checked' in client.get(url).get_data(as_text=True)

    response = post_form(client, url, {"completed": "no"})
    assert response.status_code == 302
    assert not contribution(app, world.contribution_a1).budget_completed
    assert task_status(app, world.contribution_a1, "budget") == contributions_service.IN_PROGRESS
    assert actions(app) == ["budget_line.added", "contribution.budget_completed", "contribution.budget_reopened"]


def test_deleting_the_last_line_of_a_completed_budget_reopens_it(app, world, signed_in):
    ids = round_ids(app, world.round_a)
    client = signed_in("csp_manager")
    first = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 100_00)
    second = create_line(app, world.contribution_a1, ids.years[0], ids.categories[0], 200_00)
    post_form(client, f"{base(world)}/budget", {"completed": "yes"})

    post_page(client, f"{base(world)}/budget/lines/{first}/delete")
    assert contribution(app, world.contribution_a1).budget_completed  # one line left
    page = client.get(f"{base(world)}/budget/lines/{second}/delete").get_data(as_text=True)
    assert "the budget will no longer be marked as completed" in page
    post_page(client, f"{base(world)}/budget/lines/{second}/delete")
    assert not contribution(app, world.contribution_a1).budget_completed
    assert task_status(app, world.contribution_a1, "budget") == contributions_service.NOT_STARTED
    assert actions(app)[-2:] == ["budget_line.deleted", "contribution.budget_reopened"]


# --- outcomes ---------------------------------------------------------------------------------


def outcome_data(**overrides) -> dict:
    data = {
        "measure": "Permanent exclusions of young people aged 11 to 16",
        "baseline": "42 in 2017/18",
        "target": "30 a year",
        "by_when": ["31", "3", "2020"],
    }
    data.update(overrides)
    return data


def test_adding_changing_and_deleting_an_outcome(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, f"{base(world)}/outcomes/new", outcome_data())
    assert response.status_code == 302 and response.headers["Location"] == f"{base(world)}/outcomes"
    with app.app_context():
        [outcome] = db.session.scalars(select(Outcome)).all()
        assert (outcome.contribution_id, outcome.by_when, outcome.target) == (
            world.contribution_a1, date(2020, 3, 31), "30 a year"
        )
        outcome_id = outcome.id
    page = client.get(f"{base(world)}/outcomes").get_data(as_text=True)
    assert "Outcome added" in page and "31 March 2020" in page and "42 in 2017/18" in page
    assert contribution(app, world.contribution_a1).status == ContributionStatus.IN_PROGRESS

    url = f"{base(world)}/outcomes/{outcome_id}"
    form_page = client.get(url).get_data(as_text=True)
    assert 'value="31"' in form_page and 'value="3"' in form_page and 'value="2020"' in form_page
    response = post_page(client, url, outcome_data(target="25 a year", by_when=["1", "sept", "2019"]))
    assert response.status_code == 302
    with app.app_context():
        outcome = db.session.get(Outcome, outcome_id)
        assert (outcome.target, outcome.by_when) == ("25 a year", date(2019, 9, 1))

    assert "Are you sure you want to delete this outcome?" in client.get(f"{url}/delete").get_data(as_text=True)
    assert post_page(client, f"{url}/delete").status_code == 302
    with app.app_context():
        assert db.session.get(Outcome, outcome_id) is None
    assert actions(app) == ["outcome.added", "outcome.changed", "outcome.deleted"]


@pytest.mark.parametrize(
    ("by_when", "message", "href"),
    [
        (["", "", ""], "Enter the date you will reach the target by", "#by_when-day"),
        (["31", "", "2020"], "By when must include a month", "#by_when-month"),
        (["", "", "2020"], "By when must include a day and month", "#by_when-day"),
        (["31", "2", "2020"], "By when must be a real date", "#by_when-day"),
        (["1", "13", "2020"], "By when must be a real date", "#by_when-month"),
        (["x", "3", "2020"], "By when must be a real date", "#by_when-day"),
        (["31", "3", "20"], "Year must include 4 numbers", "#by_when-year"),
    ],
)
def test_outcome_date_errors(app, world, signed_in, by_when, message, href):
    response = post_form(signed_in("csp_manager"), f"{base(world)}/outcomes/new", outcome_data(by_when=by_when))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_summary(page) == [(href, message)]
    assert 'value="Permanent exclusions of young people aged 11 to 16"' in page
    for part, typed in zip(("day", "month", "year"), by_when, strict=True):
        if typed:
            assert re.search(rf'id="by_when-{part}" name="by_when" type="text" value="{typed}"', page)
    with app.app_context():
        assert db.session.scalars(select(Outcome)).all() == []


def test_outcome_fields_are_required(app, world, signed_in):
    response = post_form(
        signed_in("csp_manager"), f"{base(world)}/outcomes/new", outcome_data(measure=" ", baseline="", target="")
    )
    assert error_summary(response.get_data(as_text=True)) == [
        ("#measure", "Enter what you will measure"),
        ("#baseline", "Enter the baseline: where things are now"),
        ("#target", "Enter the target you aim to reach"),
    ]


def test_completing_outcomes_needs_one(app, world, signed_in):
    client = signed_in("csp_manager")
    response = post_form(client, f"{base(world)}/outcomes", {"completed": "yes"})
    assert response.status_code == 400
    assert "Add at least one outcome before you mark outcomes as completed" in response.get_data(as_text=True)
    post_form(client, f"{base(world)}/outcomes/new", outcome_data())
    assert post_form(client, f"{base(world)}/outcomes", {"completed": "yes"}).status_code == 302
    assert contribution(app, world.contribution_a1).outcomes_completed
    assert task_status(app, world.contribution_a1, "outcomes") == contributions_service.COMPLETED


# --- partners ---------------------------------------------------------------------------------


def test_adding_changing_and_removing_a_partner(app, world, signed_in):
    client = signed_in("csp_contributor")
    response = post_form(
        client, f"{base(world)}/partners/new",
        {"organisation_name": "Reading Youth Offending Service", "role": "Referrals and case work.\nPremises."},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        [partner] = db.session.scalars(select(PartnerInvolvement)).all()
        partner_id = partner.id
        assert partner.role == "Referrals and case work.\nPremises."
    page = client.get(f"{base(world)}/partners").get_data(as_text=True)
    assert "Partner added: Reading Youth Offending Service" in page

    # The same organisation twice is refused, whatever its capitals.
    response = post_form(
        client, f"{base(world)}/partners/new", {"organisation_name": "reading youth offending service", "role": "x"}
    )
    assert response.status_code == 400
    assert error_summary(response.get_data(as_text=True)) == [
        ("#organisation_name", "You have already added reading youth offending service: change that partner instead")
    ]

    url = f"{base(world)}/partners/{partner_id}"
    assert "Referrals and case work." in client.get(url).get_data(as_text=True)
    response = post_page(client, url, {"organisation_name": "Reading Youth Offending Service", "role": "Referrals"})
    assert response.status_code == 302
    assert "Are you sure you want to remove Reading Youth Offending Service?" in client.get(f"{url}/delete").get_data(
        as_text=True
    )
    assert post_page(client, f"{url}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalars(select(PartnerInvolvement)).all() == []
    assert actions(app) == ["partner.added", "partner.changed", "partner.deleted"]


def test_partner_errors(app, world, signed_in):
    response = post_form(
        signed_in("csp_manager"), f"{base(world)}/partners/new", {"organisation_name": "", "role": "r" * 1001}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert error_summary(page) == [
        ("#organisation_name", "Enter the name of the organisation"),
        ("#role", "Role must be 1000 characters or fewer"),
    ]
    assert "r" * 1001 in page


def test_partners_can_be_completed_with_none(app, world, signed_in):
    """A CSP may deliver its part without other organisations: completing with none is allowed."""
    client = signed_in("csp_manager")
    page = client.get(f"{base(world)}/partners").get_data(as_text=True)
    assert "you can complete this section without adding any partners" in page
    assert post_form(client, f"{base(world)}/partners", {"completed": "yes"}).status_code == 302
    assert contribution(app, world.contribution_a1).partners_completed
    assert task_status(app, world.contribution_a1, "partners") == contributions_service.COMPLETED
    assert actions(app) == ["contribution.partners_completed"]
