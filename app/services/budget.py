"""A contribution's budget lines, outcomes and partners: the rules, the changes and the totals.

Every change checks the contribution can still be changed (check_editable), marks the
contribution as touched, records an audit event and flushes; the request commits.

Decisions (the issue left them open):
- Completing the budget needs at least one budget line; completing outcomes needs at least one
  outcome. Deleting the last one of either marks that part as not completed again.
- Partners can be completed with none: a CSP may deliver on its own, and says so by completing.
- A budget line may ask for £0 when it is paid for by match funding only (in-kind staff time, for
  example), but a line of £0 with no match funding is refused.
- The type of match funding is required when there is match funding, and ignored (not stored)
  when there is none: a radio button cannot be unselected without JavaScript. A source typed
  with no amount is refused, so nothing the user typed is silently dropped.
- The round's caps are shown for information only: a CSP's share is not capped individually.

Optimistic locking: budget lines, outcomes and partners have a `version`. A change is a conditional
UPDATE (... WHERE id = :id AND version = :expected, SET version = version + 1) and a delete a
conditional DELETE, against the version the editor loaded. When someone else got there first
nothing is written and ItemConflict is raised: the route shows their version and keeps what this
editor typed, so saving again is a deliberate overwrite, never a silent one. Saving exactly what is
already saved changes nothing, whatever the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select, update

from app.extensions import db
from app.models import (
    BudgetLine,
    Contribution,
    CostCategory,
    FinancialYear,
    MatchType,
    Outcome,
    PartnerInvolvement,
    Round,
    User,
)
from app.models.base import utcnow
from app.money import MAX_PENCE, format_money
from app.services import ServiceError
from app.services.audit import record, record_many
from app.services.contributions import check_editable, set_part_completed, touch

DESCRIPTION_MAX = 500
SOURCE_MAX = 200
MEASURE_MAX = 300
BASELINE_MAX = TARGET_MAX = 200
ORGANISATION_MAX = 200
ROLE_MAX = 1000

LINE_GONE = "Someone else has deleted this budget line"
OUTCOME_GONE = "Someone else has deleted this outcome"
PARTNER_GONE = "Someone else has removed this partner"


class Invalid(ServiceError):
    """One or more rules were broken: `problems` is [(form field name, message)], in field order."""

    def __init__(self, problems: list[tuple[str | None, str]]):
        super().__init__(problems[0][1], field=problems[0][0])
        self.problems = problems


def _raise_if(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise Invalid(problems)


def _clean(text: str | None) -> str:
    return (text or "").strip()


def _event(actor: User, action: str, obj, contribution: Contribution, summary: str, **detail) -> None:
    record(
        actor,
        action,
        obj,
        summary,
        lead_bidder_id=contribution.lead_bidder_id,
        contribution_id=contribution.id,
        csp_id=contribution.csp_id,
        **detail,
    )


def _changes(obj, values: dict) -> dict:
    """{name: [old, new]} for the attributes that differ (for the audit event). Sets nothing."""
    return {
        name: [_jsonable(getattr(obj, name)), _jsonable(new)]
        for name, new in values.items()
        if getattr(obj, name) != new
    }


def _jsonable(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, MatchType):
        return value.value
    return value


# --- optimistic locking -----------------------------------------------------------------------

class ItemConflict(ServiceError):
    """Someone changed the item after this editor loaded it. Nothing was saved (or deleted).

    `item` is the item as it is now, with its new version."""

    def __init__(self, item, message: str):
        super().__init__(message, field="version")
        self.item = item


def changed_message(noun: str) -> str:
    return (
        f"Someone else changed this {noun} while you were editing it. Check their version below, "
        "then save yours again if it is still right"
    )


def changed_before_delete_message(noun: str, verb: str = "delete") -> str:
    return (
        f"Someone else changed this {noun} after you opened this page. Check it below, then "
        f"{verb} it again if it should still go"
    )


def _reload(obj):
    """The object as the database has it now (refreshed in place), or None if it has gone."""
    model = type(obj)
    if db.session.scalar(select(model.id).where(model.id == obj.id)) is None:
        return None
    db.session.refresh(obj)
    return obj


def prepare_change(obj, values: dict, expected_version: int, *, noun: str, gone: str) -> dict:
    """The changes saving `values` would make to the item as it is now ({} for none).

    Raises ServiceError(gone) if the item has been deleted, and ItemConflict if it has changed
    since `expected_version` (unless what was typed is exactly what is saved now)."""
    if _reload(obj) is None:
        raise ServiceError(gone)
    changes = _changes(obj, values)
    if changes and obj.version != expected_version:
        raise ItemConflict(obj, changed_message(noun))
    return changes


def update_if_version(obj, expected_version: int, values: dict, *, noun: str, gone: str) -> None:
    """UPDATE ... WHERE id = :id AND version = :expected, SET version = version + 1; then the
    object shows the saved row. Two saves at once cannot both match: the database applies one
    UPDATE after the other (PostgreSQL makes the second wait, then sees the new version)."""
    model = type(obj)
    result = db.session.execute(
        update(model)
        .where(model.id == obj.id, model.version == expected_version)
        .values(**values, version=model.version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        if _reload(obj) is None:
            raise ServiceError(gone)
        raise ItemConflict(obj, changed_message(noun))
    db.session.refresh(obj)


def delete_if_version(obj, expected_version: int, *, noun: str, gone: str, verb: str = "delete") -> None:
    """DELETE ... WHERE id = :id AND version = :expected. The object is then detached from the
    session (its loaded values can still be read); parents' collections must be expired."""
    model = type(obj)
    result = db.session.execute(
        delete(model)
        .where(model.id == obj.id, model.version == expected_version)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        if _reload(obj) is None:
            raise ServiceError(gone)
        raise ItemConflict(obj, changed_before_delete_message(noun, verb))
    db.session.expunge(obj)


# --- budget lines -----------------------------------------------------------------------------

def allowed_match_types(rnd: Round) -> list[MatchType]:
    return [t for t, allowed in ((MatchType.CASH, rnd.match_cash), (MatchType.IN_KIND, rnd.match_in_kind)) if allowed]


def line_problems(
    rnd: Round,
    *,
    financial_year_id: int | None,
    cost_category_id: int | None,
    description: str | None,
    amount_pence: int | None,
    match_pence: int | None,
    match_type: MatchType | str | None,
    match_source: str | None,
) -> list[tuple[str, str]]:
    """What is wrong with a budget line for this round, as (field, message) in field order.

    None for a value means it was not given (or could not be read: the form reports that)."""
    problems = []
    if financial_year_id not in {y.id for y in rnd.financial_years}:
        problems.append(("financial_year", "Select the financial year"))
    if cost_category_id not in {c.id for c in rnd.cost_categories}:
        problems.append(("cost_category", "Select the cost category"))
    description = _clean(description)
    if not description:
        problems.append(("description", "Enter a description of what the money is for"))
    elif len(description) > DESCRIPTION_MAX:
        problems.append(("description", f"Description must be {DESCRIPTION_MAX} characters or fewer"))
    match = match_pence or 0
    if amount_pence is not None:
        if not 0 <= amount_pence <= MAX_PENCE:
            problems.append(("amount", f"Amount requested must be between £0 and {format_money(MAX_PENCE)}"))
        elif amount_pence == 0 and match == 0:
            problems.append(("amount", "Amount requested must be more than £0, unless the whole line is match funding"))
    allowed = allowed_match_types(rnd)
    if match_pence is not None and not 0 <= match_pence <= MAX_PENCE:
        problems.append(("match_amount", f"Match funding must be between £0 and {format_money(MAX_PENCE)}"))
    elif match > 0 and not allowed:
        problems.append(("match_amount", "This round does not take match funding: leave the match funding empty"))
    elif match == 0 and _clean(match_source):
        problems.append(("match_amount", "Enter the amount of match funding, or remove its source"))
    if match > 0 and allowed:
        try:
            kind = MatchType(match_type) if match_type else None
        except ValueError:
            kind = None
        if kind is None:
            problems.append((
                "match_type",
                "Select whether the match funding is cash or in-kind"
                if len(allowed) > 1
                else "Select the type of match funding",
            ))
        elif kind not in allowed:
            problems.append(("match_type", f"This round does not take {kind.label.lower()} match funding"))
    if len(_clean(match_source)) > SOURCE_MAX:
        problems.append(("match_source", f"Source of match funding must be {SOURCE_MAX} characters or fewer"))
    return problems


def _line_values(rnd: Round, **data) -> dict:
    _raise_if(line_problems(rnd, **data))
    match = data["match_pence"] or 0
    return {
        "financial_year_id": data["financial_year_id"],
        "cost_category_id": data["cost_category_id"],
        "description": _clean(data["description"]),
        "amount_pence": data["amount_pence"] or 0,
        "match_pence": match,
        "match_type": MatchType(data["match_type"]) if match else None,
        "match_source": (_clean(data["match_source"]) or None) if match else None,
    }


def _line_words(line: BudgetLine) -> str:
    return f"{line.description} ({line.financial_year.label}, {line.cost_category.name})"


def _line_detail(line: BudgetLine) -> dict:
    return {
        "financial_year": line.financial_year.label,
        "cost_category": line.cost_category.name,
        "amount_pence": line.amount_pence,
        "match_pence": line.match_pence,
        "match_type": _jsonable(line.match_type),
    }


def add_line(
    actor: User,
    contribution: Contribution,
    *,
    financial_year_id: int | None,
    cost_category_id: int | None,
    description: str | None,
    amount_pence: int | None,
    match_pence: int | None = None,
    match_type: MatchType | str | None = None,
    match_source: str | None = None,
) -> BudgetLine:
    check_editable(actor, contribution)
    values = _line_values(
        contribution.round,
        financial_year_id=financial_year_id,
        cost_category_id=cost_category_id,
        description=description,
        amount_pence=amount_pence,
        match_pence=match_pence,
        match_type=match_type,
        match_source=match_source,
    )
    line = BudgetLine(contribution=contribution, updated_by_id=actor.id, **values)
    db.session.add(line)
    touch(actor, contribution)
    db.session.flush()
    _event(
        actor,
        "budget_line.added",
        line,
        contribution,
        f"Added a budget line to {contribution.csp.name}'s contribution: {_line_words(line)}, "
        f"{format_money(line.amount_pence)} requested",
        **_line_detail(line),
    )
    db.session.flush()
    return line


def change_line(
    actor: User,
    line: BudgetLine,
    *,
    expected_version: int,
    financial_year_id: int | None,
    cost_category_id: int | None,
    description: str | None,
    amount_pence: int | None,
    match_pence: int | None = None,
    match_type: MatchType | str | None = None,
    match_source: str | None = None,
) -> bool:
    """Change a budget line; False (and nothing recorded) when nothing changed.

    `expected_version` is the line's version the editor loaded: ItemConflict if it has moved on."""
    contribution = line.contribution
    check_editable(actor, contribution)
    values = _line_values(
        contribution.round,
        financial_year_id=financial_year_id,
        cost_category_id=cost_category_id,
        description=description,
        amount_pence=amount_pence,
        match_pence=match_pence,
        match_type=match_type,
        match_source=match_source,
    )
    changes = prepare_change(line, values, expected_version, noun="budget line", gone=LINE_GONE)
    if not changes:
        return False
    update_if_version(
        line,
        expected_version,
        {**values, "updated_at": utcnow(), "updated_by_id": actor.id},
        noun="budget line",
        gone=LINE_GONE,
    )
    touch(actor, contribution)
    _event(
        actor,
        "budget_line.changed",
        line,
        contribution,
        f"Changed a budget line in {contribution.csp.name}'s contribution: {_line_words(line)}",
        changes=changes,
        version=line.version,
    )
    db.session.flush()
    return True


def delete_line(actor: User, line: BudgetLine, expected_version: int) -> None:
    """Delete a budget line, unless it has changed since `expected_version` (ItemConflict)."""
    contribution = line.contribution
    check_editable(actor, contribution)
    summary = (
        f"Deleted a budget line from {contribution.csp.name}'s contribution: {_line_words(line)}, "
        f"{format_money(line.amount_pence)} requested"
    )
    detail = {"description": line.description, **_line_detail(line)}
    delete_if_version(line, expected_version, noun="budget line", gone=LINE_GONE)
    db.session.expire(contribution, ["budget_lines"])
    _event(actor, "budget_line.deleted", line, contribution, summary, **detail)
    touch(actor, contribution)
    db.session.flush()
    if not contribution.budget_lines and contribution.budget_completed:
        set_part_completed(actor, contribution, "budget", False)
        db.session.flush()


# --- many lines at once (importing a budget sheet) ---------------------------------------------

BUDGET_CHANGED = (
    "Your budget has changed since you uploaded the file (a budget line was added, changed or deleted), "
    "so nothing was imported. Check your budget, then upload the file again"
)


class BudgetChanged(ServiceError):
    """The budget's lines are not the ones the editor saw: nothing was replaced."""

    def __init__(self):
        super().__init__(BUDGET_CHANGED, field="version")


def line_versions(contribution: Contribution) -> dict[int, int]:
    """{line id: version} of the contribution's budget lines now: the state a replacement is checked against."""
    return {line.id: line.version for line in contribution.budget_lines}


def add_lines(actor: User, contribution: Contribution, rows: list[dict]) -> list[int]:
    """Add many budget lines, each checked and recorded ("budget_line.added") as add_line does, in
    a few statements whatever their number (multi-row INSERTs). `rows` are add_line's keyword
    arguments; Invalid at the first line that breaks a rule (callers check every line first, to
    show every problem). Returns the new lines' ids."""
    check_editable(actor, contribution)
    rnd = contribution.round
    years = {y.id: y for y in rnd.financial_years}
    categories = {c.id: c for c in rnd.cost_categories}
    now = utcnow()
    values = [
        {**_line_values(rnd, **{"match_pence": None, "match_type": None, "match_source": None, **row}),
         "contribution_id": contribution.id, "updated_by_id": actor.id, "created_at": now, "updated_at": now}
        for row in rows
    ]  # fmt: skip
    if not values:
        return []
    # RETURNING the values with each id: the audit events need no particular order of the rows.
    table = BudgetLine.__table__
    saved = db.session.execute(
        table.insert().returning(
            table.c.id, table.c.financial_year_id, table.c.cost_category_id, table.c.description,
            table.c.amount_pence, table.c.match_pence, table.c.match_type,
        ),
        values,
    ).all()  # fmt: skip
    touch(actor, contribution)
    events = []
    for row in saved:
        year, category = years[row.financial_year_id], categories[row.cost_category_id]
        words = f"{row.description} ({year.label}, {category.name})"
        events.append((
            row.id,
            f"Added a budget line to {contribution.csp.name}'s contribution: {words}, "
            f"{format_money(row.amount_pence)} requested",
            {"contribution_id": contribution.id, "csp_id": contribution.csp_id,
             "financial_year": year.label, "cost_category": category.name, "amount_pence": row.amount_pence,
             "match_pence": row.match_pence, "match_type": _jsonable(row.match_type)},
        ))  # fmt: skip
    record_many(actor, "budget_line.added", BudgetLine.__name__, events, lead_bidder_id=contribution.lead_bidder_id)
    db.session.expire(contribution, ["budget_lines"])
    db.session.flush()
    return [row.id for row in saved]


def delete_lines(actor: User, contribution: Contribution, expected: dict[int, int]) -> list[BudgetLine]:
    """Delete every budget line of the contribution, as long as they are exactly the lines (and
    versions) in `expected` ({id: version}, from line_versions when the editor looked): if a line
    has been added, changed or deleted since, nothing is deleted (BudgetChanged). Each deleted line
    is recorded ("budget_line.deleted", with its description, year, category and amounts) as
    delete_line does. The "completed" answer is left alone: callers add the new lines next."""
    check_editable(actor, contribution)
    rnd = contribution.round
    rnd.financial_years, rnd.cost_categories  # noqa: B018 - loaded once, so each line's are in the session
    lines = list(contribution.budget_lines)
    if line_versions(contribution) != expected:
        raise BudgetChanged()
    events = [
        (
            line,
            f"Deleted a budget line from {contribution.csp.name}'s contribution: {_line_words(line)}, "
            f"{format_money(line.amount_pence)} requested",
            {"description": line.description, "match_source": line.match_source, **_line_detail(line),
             "version": line.version},
        )
        for line in lines
    ]  # fmt: skip
    by_version: dict[int, list[int]] = {}
    for line_id, version in expected.items():
        by_version.setdefault(version, []).append(line_id)
    deleted = 0
    for version, ids in by_version.items():
        deleted += db.session.execute(
            delete(BudgetLine)
            .where(BudgetLine.contribution_id == contribution.id, BudgetLine.id.in_(ids), BudgetLine.version == version)
            .execution_options(synchronize_session=False)
        ).rowcount
    if deleted != len(expected):  # someone changed or deleted one meanwhile: the request rolls back
        raise BudgetChanged()
    for line in lines:
        db.session.expunge(line)
    db.session.expire(contribution, ["budget_lines"])
    context = {"contribution_id": contribution.id, "csp_id": contribution.csp_id}
    record_many(actor, "budget_line.deleted", BudgetLine.__name__,
                [(line.id, summary, {**context, **detail}) for line, summary, detail in events],
                lead_bidder_id=contribution.lead_bidder_id)  # fmt: skip
    touch(actor, contribution)
    db.session.flush()
    return lines


def mark_budget_completed(actor: User, contribution: Contribution, completed: bool) -> None:
    check_editable(actor, contribution)
    if completed and not contribution.budget_lines:
        raise ServiceError("Add at least one budget line before you mark the budget as completed", field="completed")
    set_part_completed(actor, contribution, "budget", completed)
    db.session.flush()


# --- the budget's totals ----------------------------------------------------------------------

@dataclass
class YearLines:
    """One financial year's budget lines, in cost category order, with their totals."""

    year: FinancialYear
    lines: list[BudgetLine]
    amount_pence: int
    match_pence: int


@dataclass
class BudgetSummary:
    """A contribution's budget, totalled: amount requested by cost category and financial year,
    and match funding by type and financial year. Cells with no lines are 0."""

    years: list[FinancialYear]
    categories: list[CostCategory]
    match_types: list[MatchType]
    line_count: int
    amounts: dict[tuple[int, int], int] = field(default_factory=dict)  # (category id, year id)
    by_year: dict[int, int] = field(default_factory=dict)
    by_category: dict[int, int] = field(default_factory=dict)
    total: int = 0
    matches: dict[tuple[MatchType, int], int] = field(default_factory=dict)  # (type, year id)
    match_by_year: dict[int, int] = field(default_factory=dict)
    match_by_type: dict[MatchType, int] = field(default_factory=dict)
    match_total: int = 0
    cap_per_bid_pence: int | None = None
    year_caps: dict[int, int | None] = field(default_factory=dict)
    expected_match_percent: int | None = None
    lines_by_year: list[YearLines] = field(default_factory=list)

    def amount(self, category: CostCategory, year: FinancialYear) -> int:
        return self.amounts.get((category.id, year.id), 0)

    def match(self, kind: MatchType, year: FinancialYear) -> int:
        return self.matches.get((kind, year.id), 0)

    @property
    def match_percent(self) -> Decimal | None:
        """Match funding as a percentage of the amount requested, to 1 decimal place."""
        if not self.total:
            return None
        return (Decimal(self.match_total) * 100 / Decimal(self.total)).quantize(Decimal("0.1"), ROUND_HALF_UP)

    @property
    def has_caps(self) -> bool:
        return self.cap_per_bid_pence is not None or any(v is not None for v in self.year_caps.values())


@dataclass(frozen=True)
class LineTotals:
    """Budget lines of one financial year, cost category and match type, added up: one line, or
    many lines summed by the database (see consolidation.budget_totals)."""

    financial_year_id: int
    cost_category_id: int
    match_type: MatchType | None
    amount_pence: int
    match_pence: int
    count: int


def summary_of_totals(rnd, totals) -> BudgetSummary:
    """A BudgetSummary's totals (no lines by year) from LineTotals."""
    totals = list(totals)
    years, categories = list(rnd.financial_years), list(rnd.cost_categories)
    kinds_used = {t.match_type for t in totals if t.match_pence}
    match_types = [t for t in MatchType if t in kinds_used or t in allowed_match_types(rnd)]
    summary = BudgetSummary(
        years=years,
        categories=categories,
        match_types=match_types,
        line_count=sum(t.count for t in totals),
        by_year={y.id: 0 for y in years},
        by_category={c.id: 0 for c in categories},
        match_by_year={y.id: 0 for y in years},
        match_by_type=dict.fromkeys(match_types, 0),
        cap_per_bid_pence=rnd.cap_per_bid_pence,
        year_caps={y.id: y.cap_pence for y in years},
        expected_match_percent=rnd.match_percent,
    )
    for t in totals:
        key = (t.cost_category_id, t.financial_year_id)
        summary.amounts[key] = summary.amounts.get(key, 0) + t.amount_pence
        summary.by_year[t.financial_year_id] = summary.by_year.get(t.financial_year_id, 0) + t.amount_pence
        summary.by_category[t.cost_category_id] = summary.by_category.get(t.cost_category_id, 0) + t.amount_pence
        summary.total += t.amount_pence
        if t.match_pence:
            kind = t.match_type or MatchType.CASH  # a line from before the type was required
            mkey = (kind, t.financial_year_id)
            summary.matches[mkey] = summary.matches.get(mkey, 0) + t.match_pence
            year = t.financial_year_id
            summary.match_by_year[year] = summary.match_by_year.get(year, 0) + t.match_pence
            summary.match_by_type[kind] = summary.match_by_type.get(kind, 0) + t.match_pence
            summary.match_total += t.match_pence
    return summary


def line_totals(lines) -> list[LineTotals]:
    """Each budget line (a CSP's or the lead's) as LineTotals of its own."""
    return [LineTotals(line.financial_year_id, line.cost_category_id, line.match_type, line.amount_pence,
                       line.match_pence, 1) for line in lines]


def budget_summary(contribution: Contribution) -> BudgetSummary:
    """A contribution's budget (or any object with a round and budget lines), totalled, with its
    lines grouped by financial year."""
    lines = list(contribution.budget_lines)
    summary = summary_of_totals(contribution.round, line_totals(lines))
    years, categories = summary.years, summary.categories
    cat_pos = {c.id: i for i, c in enumerate(categories)}
    for year in years:
        in_year = sorted(
            (line for line in lines if line.financial_year_id == year.id),
            key=lambda line: (cat_pos.get(line.cost_category_id, 0), line.id),
        )
        if in_year:
            summary.lines_by_year.append(
                YearLines(
                    year=year,
                    lines=in_year,
                    amount_pence=sum(line.amount_pence for line in in_year),
                    match_pence=sum(line.match_pence for line in in_year),
                )
            )
    return summary


# --- outcomes ---------------------------------------------------------------------------------

def outcome_problems(
    *, measure: str | None, baseline: str | None, target: str | None, by_when: date | None
) -> list[tuple[str, str]]:
    problems = []
    for name, value, limit, empty, label in (
        ("measure", measure, MEASURE_MAX, "Enter what you will measure", "Measure"),
        ("baseline", baseline, BASELINE_MAX, "Enter the baseline: where things are now", "Baseline"),
        ("target", target, TARGET_MAX, "Enter the target you aim to reach", "Target"),
    ):
        value = _clean(value)
        if not value:
            problems.append((name, empty))
        elif len(value) > limit:
            problems.append((name, f"{label} must be {limit} characters or fewer"))
    if by_when is None:
        problems.append(("by_when", "Enter the date you will reach the target by"))
    return problems


def _outcome_values(**data) -> dict:
    _raise_if(outcome_problems(**data))
    return {
        "measure": _clean(data["measure"]),
        "baseline": _clean(data["baseline"]),
        "target": _clean(data["target"]),
        "by_when": data["by_when"],
    }


def add_outcome(
    actor: User, contribution: Contribution, *, measure: str | None, baseline: str | None,
    target: str | None, by_when: date | None,
) -> Outcome:  # fmt: skip
    check_editable(actor, contribution)
    values = _outcome_values(measure=measure, baseline=baseline, target=target, by_when=by_when)
    outcome = Outcome(contribution=contribution, **values)
    db.session.add(outcome)
    touch(actor, contribution)
    db.session.flush()
    _event(
        actor,
        "outcome.added",
        outcome,
        contribution,
        f"Added an outcome to {contribution.csp.name}'s contribution: {outcome.measure}",
        by_when=outcome.by_when.isoformat(),
    )
    db.session.flush()
    return outcome


def change_outcome(
    actor: User, outcome: Outcome, *, expected_version: int, measure: str | None, baseline: str | None,
    target: str | None, by_when: date | None,
) -> bool:  # fmt: skip
    """Change an outcome; False when nothing changed. ItemConflict if it has moved on since
    `expected_version`."""
    contribution = outcome.contribution
    check_editable(actor, contribution)
    values = _outcome_values(measure=measure, baseline=baseline, target=target, by_when=by_when)
    changes = prepare_change(outcome, values, expected_version, noun="outcome", gone=OUTCOME_GONE)
    if not changes:
        return False
    update_if_version(outcome, expected_version, values, noun="outcome", gone=OUTCOME_GONE)
    touch(actor, contribution)
    _event(
        actor,
        "outcome.changed",
        outcome,
        contribution,
        f"Changed an outcome in {contribution.csp.name}'s contribution: {outcome.measure}",
        changes=changes,
        version=outcome.version,
    )
    db.session.flush()
    return True


def delete_outcome(actor: User, outcome: Outcome, expected_version: int) -> None:
    contribution = outcome.contribution
    check_editable(actor, contribution)
    measure = outcome.measure
    delete_if_version(outcome, expected_version, noun="outcome", gone=OUTCOME_GONE)
    db.session.expire(contribution, ["outcomes"])
    _event(
        actor,
        "outcome.deleted",
        outcome,
        contribution,
        f"Deleted an outcome from {contribution.csp.name}'s contribution: {measure}",
        measure=measure,
    )
    touch(actor, contribution)
    db.session.flush()
    if not contribution.outcomes and contribution.outcomes_completed:
        set_part_completed(actor, contribution, "outcomes", False)
        db.session.flush()


def mark_outcomes_completed(actor: User, contribution: Contribution, completed: bool) -> None:
    check_editable(actor, contribution)
    if completed and not contribution.outcomes:
        raise ServiceError("Add at least one outcome before you mark outcomes as completed", field="completed")
    set_part_completed(actor, contribution, "outcomes", completed)
    db.session.flush()


# --- partners ---------------------------------------------------------------------------------

def partner_problems(
    contribution: Contribution, *, organisation_name: str | None, role: str | None, partner_id: int | None = None
) -> list[tuple[str, str]]:
    problems = []
    name = _clean(organisation_name)
    if not name:
        problems.append(("organisation_name", "Enter the name of the organisation"))
    elif len(name) > ORGANISATION_MAX:
        problems.append(("organisation_name", f"Organisation name must be {ORGANISATION_MAX} characters or fewer"))
    elif any(
        p.organisation_name.casefold() == name.casefold() and p.id != partner_id for p in contribution.partners
    ):
        problems.append(("organisation_name", f"You have already added {name}: change that partner instead"))
    role = _clean(role)
    if not role:
        problems.append(("role", "Enter the organisation's role"))
    elif len(role) > ROLE_MAX:
        problems.append(("role", f"Role must be {ROLE_MAX} characters or fewer"))
    return problems


def add_partner(
    actor: User, contribution: Contribution, *, organisation_name: str | None, role: str | None
) -> PartnerInvolvement:
    check_editable(actor, contribution)
    _raise_if(partner_problems(contribution, organisation_name=organisation_name, role=role))
    partner = PartnerInvolvement(
        contribution=contribution, organisation_name=_clean(organisation_name), role=_clean(role)
    )
    db.session.add(partner)
    touch(actor, contribution)
    db.session.flush()
    _event(
        actor,
        "partner.added",
        partner,
        contribution,
        f"Added {partner.organisation_name} as a partner in {contribution.csp.name}'s contribution",
    )
    db.session.flush()
    return partner


def change_partner(
    actor: User, partner: PartnerInvolvement, *, expected_version: int, organisation_name: str | None,
    role: str | None,
) -> bool:  # fmt: skip
    """Change a partner; False when nothing changed. ItemConflict if it has moved on since
    `expected_version`."""
    contribution = partner.contribution
    check_editable(actor, contribution)
    _raise_if(
        partner_problems(contribution, organisation_name=organisation_name, role=role, partner_id=partner.id)
    )
    values = {"organisation_name": _clean(organisation_name), "role": _clean(role)}
    changes = prepare_change(partner, values, expected_version, noun="partner", gone=PARTNER_GONE)
    if not changes:
        return False
    update_if_version(partner, expected_version, values, noun="partner", gone=PARTNER_GONE)
    touch(actor, contribution)
    _event(
        actor,
        "partner.changed",
        partner,
        contribution,
        f"Changed partner {partner.organisation_name} in {contribution.csp.name}'s contribution",
        changes=changes,
        version=partner.version,
    )
    db.session.flush()
    return True


def delete_partner(actor: User, partner: PartnerInvolvement, expected_version: int) -> None:
    contribution = partner.contribution
    check_editable(actor, contribution)
    name = partner.organisation_name
    delete_if_version(partner, expected_version, noun="partner", gone=PARTNER_GONE, verb="remove")
    db.session.expire(contribution, ["partners"])
    _event(
        actor,
        "partner.deleted",
        partner,
        contribution,
        f"Removed {name} as a partner from {contribution.csp.name}'s contribution",
        organisation_name=name,
    )
    touch(actor, contribution)
    db.session.flush()


def mark_partners_completed(actor: User, contribution: Contribution, completed: bool) -> None:
    """Partners can be completed with none: a CSP may have no partners outside itself."""
    check_editable(actor, contribution)
    set_part_completed(actor, contribution, "partners", completed)
    db.session.flush()
