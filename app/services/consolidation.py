"""The collective bid's consolidated budget, outcomes and partners, the lead's own budget lines,
and the readiness checklist. Everything here is computed from the ACCEPTED contributions (and
the lead's lines) each time it is asked for: nothing is copied.

Decisions (the issue left them open):
- Lead-held budget lines follow the same rules as a CSP's lines (app/services/budget.py) and can
  only be changed while the bid is a draft: a signed-off or submitted bid must be reopened first.
- Match funding counts towards the round's expectation only in the kinds the round allows (a line
  stored as in-kind in a cash-only round is shown but not counted).
- "Required documents present" means: every accepted contribution has marked its supporting
  documents as completed, and the bid has at least one supporting document.
- Every checklist item must pass before sign-off: there are no "warnings only" items.
- Lead-held budget lines use optimistic locking like a CSP's lines (app/services/budget.py): a change
  or delete names the version the editor loaded, and raises ItemConflict if it has moved on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import BudgetLine, Contribution, ContributionStatus, MatchType, Round, ScanStatus, User
from app.models.base import utcnow
from app.models.bid import CollectiveBid, LeadBudgetLine, SectionState
from app.money import format_money
from app.policy import require
from app.services import budget as budget_rules
from app.services.audit import record
from app.services.budget import (
    BudgetSummary,
    Invalid,
    LineTotals,
    allowed_match_types,
    budget_summary,
    delete_if_version,
    line_totals,
    prepare_change,
    summary_of_totals,
    update_if_version,
)

WAITING = (ContributionStatus.SUBMITTED, ContributionStatus.RESUBMITTED)


# --- the bid ------------------------------------------------------------------------------------

def get_or_create_bid(rnd: Round) -> CollectiveBid:
    """The round's collective bid (made on first use): app/services/merge.py's."""
    from app.services.merge import get_or_create_bid as merge_get_or_create

    return merge_get_or_create(rnd)


def find_bid(rnd: Round) -> CollectiveBid | None:
    return db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rnd.id))


def load_contributions(rnd: Round, *parts: str, statuses=None) -> list[Contribution]:
    """The round's contributions, each with its CSP, in one query; and for those in `statuses`
    (all, if None) the named collections ("budget_lines", "outcomes", "partners", "attachments"),
    one query per kind, instead of one query per contribution when a page reads them.

    The contributions become `rnd.contributions` for the rest of the request (the session keeps
    what is loaded only while something refers to it)."""
    loaded = "contributions" in vars(rnd)  # vars(): what is loaded, without making SQLAlchemy work it out
    if loaded and all("csp" in vars(c) for c in rnd.contributions):
        contributions = list(rnd.contributions)
    else:
        contributions = list(db.session.scalars(
            select(Contribution).where(Contribution.round_id == rnd.id).options(joinedload(Contribution.csp))
        ).unique())
        if not loaded:
            set_committed_value(rnd, "contributions", contributions)
    wanted = [c for c in contributions if statuses is None or c.status in statuses]
    for part in parts:
        unloaded = [c for c in wanted if part not in vars(c)]
        if not unloaded:
            continue
        relationship = getattr(Contribution, part).property
        child = relationship.mapper.class_
        rows: dict[int, list] = {c.id: [] for c in unloaded}
        for row in db.session.scalars(
            select(child).where(child.contribution_id.in_(rows)).order_by(*(relationship.order_by or ()))
        ):
            rows[row.contribution_id].append(row)
        for c in unloaded:
            set_committed_value(c, part, rows[c.id])
    return contributions


def accepted_contributions(rnd: Round) -> list[Contribution]:
    return sorted(
        (c for c in load_contributions(rnd) if c.status == ContributionStatus.ACCEPTED),
        key=lambda c: c.csp.name.lower(),
    )


def waiting_contributions(rnd: Round) -> list[Contribution]:
    """Submitted but not yet accepted (or excluded): not counted, shown as what they would add."""
    return sorted((c for c in load_contributions(rnd) if c.status in WAITING), key=lambda c: c.csp.name.lower())


# --- the consolidated budget -------------------------------------------------------------------

@dataclass
class CapCheck:
    key: str
    label: str
    ok: bool
    message: str


@dataclass
class BudgetTotals:
    """What the checklist needs of the budget: the totals of every counted line (accepted
    contributions and the lead's lines) and the checks against the round's caps."""

    bid: CollectiveBid | None
    summary: BudgetSummary  # every counted line: accepted contributions and the lead's lines
    lead_summary: BudgetSummary
    counted_match_types: list[MatchType]
    counted_match_pence: int
    checks: list[CapCheck]

    @property
    def within_caps(self) -> bool:
        return all(c.ok for c in self.checks if c.key != "match")

    @property
    def match_ok(self) -> bool:
        return all(c.ok for c in self.checks if c.key == "match")

    @property
    def counted_match_percent(self) -> Decimal | None:
        if not self.summary.total:
            return None
        return (Decimal(self.counted_match_pence) * 100 / Decimal(self.summary.total)).quantize(Decimal("0.1"))


@dataclass
class ConsolidatedBudget(BudgetTotals):
    """The consolidated budget page's: the totals, each partnership's budget and what the
    contributions waiting for review would add."""

    by_csp: list[tuple[str, Contribution | None, BudgetSummary]] = field(default_factory=list)
    waiting: list[tuple[Contribution, BudgetSummary]] = field(default_factory=list)

    @property
    def waiting_total(self) -> int:
        return sum(s.total for _, s in self.waiting)

    @property
    def waiting_match_total(self) -> int:
        return sum(s.match_total for _, s in self.waiting)


def _summary_of(rnd: Round, lines: list) -> BudgetSummary:
    """budget_summary's tables for any set of lines (CSP lines and lead lines look alike)."""
    return budget_summary(SimpleNamespace(round=rnd, budget_lines=lines))


def percent_text(value: Decimal | int) -> str:
    text = f"{value}"
    return text[:-2] if text.endswith(".0") else text


def cap_checks(rnd: Round, summary: BudgetSummary, counted_match_pence: int) -> list[CapCheck]:
    checks = []
    total = summary.total
    if rnd.cap_per_bid_pence is not None:
        cap = rnd.cap_per_bid_pence
        if total > cap:
            checks.append(CapCheck("bid", "Whole bid", False, (
                f"The bid asks for {format_money(total)}, which is {format_money(total - cap)} over the "
                f"{format_money(cap)} cap"
            )))
        else:
            checks.append(CapCheck("bid", "Whole bid", True, (
                f"The bid asks for {format_money(total)}, which is within the {format_money(cap)} cap"
                + (f" ({format_money(cap - total)} left)" if cap > total else "")
            )))
    for year in summary.years:
        if year.cap_pence is None:
            continue
        asked = summary.by_year.get(year.id, 0)
        if asked > year.cap_pence:
            checks.append(CapCheck(f"year-{year.id}", year.label, False, (
                f"{year.label} asks for {format_money(asked)}, which is {format_money(asked - year.cap_pence)} over "
                f"the {format_money(year.cap_pence)} cap for {year.label}"
            )))
        else:
            checks.append(CapCheck(f"year-{year.id}", year.label, True, (
                f"{year.label} asks for {format_money(asked)}, which is within the "
                f"{format_money(year.cap_pence)} cap for {year.label}"
            )))
    if rnd.match_percent:
        needed = -(-total * rnd.match_percent // 100)  # rounded up to the penny
        kinds = " or ".join(t.label.lower() for t in allowed_match_types(rnd)) or "no"
        if counted_match_pence >= needed:
            checks.append(CapCheck("match", "Match funding", True, (
                f"Match funding of {format_money(counted_match_pence)} meets the expected {rnd.match_percent}% "
                f"of the amount requested ({format_money(needed)})"
            )))
        else:
            checks.append(CapCheck("match", "Match funding", False, (
                f"Match funding ({kinds}) is {format_money(counted_match_pence)}, which is "
                f"{format_money(needed - counted_match_pence)} short of the expected {rnd.match_percent}% of the "
                f"amount requested ({format_money(needed)})"
            )))
    return checks


def _accepted_totals(rnd: Round) -> list[LineTotals]:
    """The accepted contributions' budget lines added up by the database, per financial year, cost
    category and match type: a few rows however many lines there are."""
    rows = db.session.execute(
        select(BudgetLine.financial_year_id, BudgetLine.cost_category_id, BudgetLine.match_type,
               func.sum(BudgetLine.amount_pence), func.sum(BudgetLine.match_pence), func.count())
        .join(Contribution, Contribution.id == BudgetLine.contribution_id)
        .where(Contribution.round_id == rnd.id, Contribution.status == ContributionStatus.ACCEPTED)
        .group_by(BudgetLine.financial_year_id, BudgetLine.cost_category_id, BudgetLine.match_type)
    )
    return [LineTotals(year, category, kind, int(amount or 0), int(match or 0), count)
            for year, category, kind, amount, match, count in rows]


def budget_totals(rnd: Round, bid: CollectiveBid | None = None, *, lines_loaded: bool = False) -> BudgetTotals:
    """The totals and cap checks alone (the checklist's): no per-partnership tables, and no budget
    line read unless `lines_loaded` (the accepted contributions' lines are in hand already):
    the database adds them up. `bid`: the round's bid, when the caller has it already."""
    bid = bid if bid is not None else find_bid(rnd)
    lead_lines = list(bid.lead_lines) if bid is not None else []
    if lines_loaded:
        csp_totals = line_totals(line for c in accepted_contributions(rnd) for line in c.budget_lines)
    else:
        csp_totals = _accepted_totals(rnd)
    summary = summary_of_totals(rnd, csp_totals + line_totals(lead_lines))
    counted_types = allowed_match_types(rnd)
    counted = sum(summary.match_by_type.get(t, 0) for t in counted_types)
    return BudgetTotals(
        bid=bid,
        summary=summary,
        lead_summary=_summary_of(rnd, lead_lines),
        counted_match_types=counted_types,
        counted_match_pence=counted,
        checks=cap_checks(rnd, summary, counted),
    )


def consolidated_budget(rnd: Round, bid: CollectiveBid | None = None) -> ConsolidatedBudget:
    """The totals, and each partnership's budget and the waiting contributions' (the budget page's)."""
    load_contributions(rnd, "budget_lines", statuses={ContributionStatus.ACCEPTED, *WAITING})
    totals = budget_totals(rnd, bid, lines_loaded=True)
    by_csp = [(c.csp.name, c, budget_summary(c)) for c in accepted_contributions(rnd)]
    by_csp.append((f"{rnd.lead_bidder.display_name} (lead-held lines)", None, totals.lead_summary))
    waiting = [(c, budget_summary(c)) for c in waiting_contributions(rnd)]
    return ConsolidatedBudget(**vars(totals), by_csp=by_csp, waiting=waiting)


# --- lead-held budget lines --------------------------------------------------------------------

def check_bid_editable(actor: User, bid: CollectiveBid) -> None:
    require(actor, "bid.edit", bid)


def _line_words(line: LeadBudgetLine) -> str:
    return f"{line.description} ({line.financial_year.label}, {line.cost_category.name})"


def _values(rnd: Round, data: dict) -> dict:
    problems = budget_rules.line_problems(rnd, **data)
    if problems:
        raise Invalid(problems)
    match = data["match_pence"] or 0
    return {
        "financial_year_id": data["financial_year_id"],
        "cost_category_id": data["cost_category_id"],
        "description": (data["description"] or "").strip(),
        "amount_pence": data["amount_pence"] or 0,
        "match_pence": match,
        "match_type": MatchType(data["match_type"]) if match else None,
        "match_source": ((data.get("match_source") or "").strip() or None) if match else None,
    }


def _detail(line: LeadBudgetLine) -> dict:
    return {
        "financial_year": line.financial_year.label,
        "cost_category": line.cost_category.name,
        "amount_pence": line.amount_pence,
        "match_pence": line.match_pence,
        "match_type": line.match_type.value if line.match_type else None,
    }


def add_lead_line(actor: User, bid: CollectiveBid, **data) -> LeadBudgetLine:
    check_bid_editable(actor, bid)
    data.setdefault("match_pence", None)
    data.setdefault("match_type", None)
    data.setdefault("match_source", None)
    values = _values(bid.round, data)
    line = LeadBudgetLine(bid=bid, updated_by_id=actor.id, **values)
    db.session.add(line)
    db.session.flush()
    db.session.refresh(line, ["financial_year", "cost_category"])
    record(actor, "lead_budget_line.added", line, (
        f"Added a lead-held budget line to the bid for {bid.round.title}: {_line_words(line)}, "
        f"{format_money(line.amount_pence)} requested"
    ), lead_bidder_id=bid.lead_bidder_id, bid_id=bid.id, **_detail(line))
    db.session.flush()
    return line


LEAD_LINE_GONE = "Someone else has deleted this budget line"

def change_lead_line(actor: User, line: LeadBudgetLine, *, expected_version: int, **data) -> bool:
    """Change a lead-held line; False when nothing changed. ItemConflict if it has moved on since
    `expected_version` (nothing is saved)."""
    bid = line.bid
    check_bid_editable(actor, bid)
    data.setdefault("match_pence", None)
    data.setdefault("match_type", None)
    data.setdefault("match_source", None)
    values = _values(bid.round, data)
    changes = prepare_change(line, values, expected_version, noun="budget line", gone=LEAD_LINE_GONE)
    if not changes:
        return False
    update_if_version(
        line,
        expected_version,
        {**values, "updated_at": utcnow(), "updated_by_id": actor.id},
        noun="budget line",
        gone=LEAD_LINE_GONE,
    )
    record(actor, "lead_budget_line.changed", line,
           f"Changed a lead-held budget line in the bid for {bid.round.title}: {_line_words(line)}",
           lead_bidder_id=bid.lead_bidder_id, bid_id=bid.id, changes=changes, version=line.version)
    db.session.flush()
    return True


def delete_lead_line(actor: User, line: LeadBudgetLine, expected_version: int) -> None:
    """Delete a lead-held line, unless it has changed since `expected_version` (ItemConflict)."""
    bid = line.bid
    check_bid_editable(actor, bid)
    summary = (
        f"Deleted a lead-held budget line from the bid for {bid.round.title}: {_line_words(line)}, "
        f"{format_money(line.amount_pence)} requested"
    )
    detail = {"description": line.description, **_detail(line)}
    delete_if_version(line, expected_version, noun="budget line", gone=LEAD_LINE_GONE)
    db.session.expire(bid, ["lead_lines"])
    record(actor, "lead_budget_line.deleted", line, summary, lead_bidder_id=bid.lead_bidder_id, bid_id=bid.id,
           **detail)
    db.session.flush()


# --- outcomes and partners ---------------------------------------------------------------------

def consolidated_outcomes(rnd: Round) -> list[tuple[Contribution, object]]:
    load_contributions(rnd, "outcomes", statuses={ContributionStatus.ACCEPTED})
    return [(c, o) for c in accepted_contributions(rnd) for o in c.outcomes]


_SPACES = re.compile(r"\s+")


def partner_key(name: str) -> str:
    """Organisation names compared without case and extra spacing."""
    return _SPACES.sub(" ", (name or "").strip()).casefold()


@dataclass
class Partner:
    name: str  # as first written (in CSP order)
    csps: list[str] = field(default_factory=list)
    roles: list[tuple[str, str]] = field(default_factory=list)  # (CSP name, role)


def consolidated_partners(rnd: Round) -> list[Partner]:
    partners: dict[str, Partner] = {}
    load_contributions(rnd, "partners", statuses={ContributionStatus.ACCEPTED})
    for c in accepted_contributions(rnd):
        for p in c.partners:
            key = partner_key(p.organisation_name)
            partner = partners.setdefault(key, Partner(name=_SPACES.sub(" ", p.organisation_name.strip())))
            if c.csp.name not in partner.csps:
                partner.csps.append(c.csp.name)
            partner.roles.append((c.csp.name, p.role))
    return sorted(partners.values(), key=lambda p: p.name.casefold())


# --- readiness ---------------------------------------------------------------------------------

@dataclass
class CheckItem:
    key: str
    title: str
    ok: bool
    problems: list[str]
    fix_text: str
    fix_href: str


@dataclass
class Readiness:
    items: list[CheckItem]

    @property
    def ready(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def failing(self) -> list[CheckItem]:
        return [i for i in self.items if not i.ok]


def _url(endpoint: str, fallback: str, **values) -> str:
    try:
        return url_for(endpoint, **values)
    except Exception:  # the other area's page may not exist yet
        return url_for(fallback, **values) if fallback else "#"


def readiness(
    rnd: Round,
    budget: BudgetTotals | None = None,
    workspaces: list | None = None,
    bid: CollectiveBid | None = None,
) -> Readiness:
    """The checklist. `budget`, `workspaces` (the sections' merge workspaces, merge.overview) and
    `bid`: when the caller has them already (the bid overview does), so they are not read twice."""
    budget = budget or budget_totals(rnd, bid)
    bid = budget.bid
    items = []
    review_href = _url("review.overview", "rounds.show", round_id=rnd.id)
    merge_href = _url("bid.overview", "rounds.show", round_id=rnd.id)
    budget_href = url_for("bid.consolidation_budget", round_id=rnd.id)

    # 1. contributions
    contributions = load_contributions(rnd)
    included = [c for c in contributions if c.status != ContributionStatus.EXCLUDED]
    problems = [
        f"{c.csp.name}: {c.status.label.lower()}, not accepted"
        for c in sorted(included, key=lambda c: c.csp.name.lower())
        if c.status != ContributionStatus.ACCEPTED
    ]
    if not any(c.status == ContributionStatus.ACCEPTED for c in contributions):
        problems.insert(0, "No contributions have been accepted yet")
    items.append(CheckItem("contributions", "Every contribution is accepted or excluded", not problems, problems,
                           "Review contributions", review_href))

    # 2. required sections: merged text within the word limit, marked as final, no CSP change waiting
    from app.services.merge import overview

    problems = []
    if workspaces is None:
        workspaces = overview(bid) if bid is not None else []
    known = {ws.section.id: ws for ws in workspaces}
    for section in rnd.sections:
        ws = known.get(section.id)
        words = ws.words if ws is not None else 0
        if section.required and words == 0:
            problems.append(f"{section.number}. {section.title}: no merged text yet")
            continue
        if section.word_limit and words > section.word_limit:
            problems.append(
                f"{section.number}. {section.title}: {words:,} words, {words - section.word_limit:,} over the "
                f"{section.word_limit:,} word limit"
            )
        if ws is not None and ws.changed:
            problems.append(
                f"{section.number}. {section.title}: changes from "
                + ", ".join(p.contribution.csp.name for p in ws.changed)
                + " not reviewed yet"
            )
        if section.required and (ws is None or ws.merged is None or ws.merged.state != SectionState.FINAL):
            problems.append(f"{section.number}. {section.title}: not marked as final")
    items.append(CheckItem("sections", "Every required section is final, within its word limit, with no CSP "
                           "changes waiting", not problems, problems, "Merge sections", merge_href))

    # 3. caps
    problems = [c.message for c in budget.checks if c.key != "match" and not c.ok]
    if not budget.summary.line_count:
        problems.insert(0, "The bid has no budget lines")
    items.append(CheckItem("budget", "The budget is within the round’s caps", not problems, problems,
                           "Check the budget", budget_href))

    # 4. match funding
    problems = [c.message for c in budget.checks if c.key == "match" and not c.ok]
    items.append(CheckItem("match", "Match funding meets the round’s expectation", not problems, problems,
                           "Check the match funding", budget_href + "#match-funding"))

    # 5. documents
    load_contributions(rnd, "attachments", statuses={ContributionStatus.ACCEPTED})
    accepted = accepted_contributions(rnd)
    problems = [f"{c.csp.name} has not marked its supporting documents as completed"
                for c in accepted if not c.documents_completed]
    if not any(c.attachments for c in accepted):
        problems.append("No supporting documents have been uploaded to the accepted contributions")
    # A document not yet cleared by its virus check would be left out of the ZIP for the funder.
    for c in sorted(accepted, key=lambda c: c.csp.name.lower()):
        for a in c.attachments:
            if a.scan_status == ScanStatus.PENDING:
                problems.append(f"{c.csp.name}: {a.filename} is still being checked for viruses")
            elif a.scan_status == ScanStatus.INFECTED:
                problems.append(f"{c.csp.name}: {a.filename} contained a virus and has been removed – ask for a "
                                "clean copy, or for the document to be deleted")
            elif a.scan_status == ScanStatus.FAILED:
                problems.append(f"{c.csp.name}: {a.filename} could not be checked for viruses – ask for a "
                                "smaller copy")
    items.append(CheckItem("documents", "Supporting documents are present", not problems, problems,
                           "Review contributions", review_href))
    return Readiness(items)


def accepted_count(rnd: Round) -> int:
    return len(accepted_contributions(rnd))



def get_lead_line(bid: CollectiveBid, line_id: int) -> LeadBudgetLine | None:
    line = db.session.get(LeadBudgetLine, line_id)
    return line if line is not None and line.bid_id == bid.id else None



# --- the whole bid on one page ---------------------------------------------------------------------

@dataclass
class WholeSection:
    section: object  # SectionTemplate
    text: str  # the merged text ("" when nothing is merged yet)
    words: int
    final: bool


@dataclass
class WholeBid:
    """Everything the bid says, in order, for reading (and printing) on one page: each section's
    merged text, the consolidated budget, the accepted contributions' outcomes and their partners."""

    bid: CollectiveBid | None
    sections: list[WholeSection]
    budget: ConsolidatedBudget
    outcomes: list[tuple[Contribution, object]]
    partners: list[Partner]

    @property
    def csps(self) -> list[str]:
        return [name for name, contribution, _ in self.budget.by_csp if contribution is not None]


def whole_bid(rnd: Round) -> WholeBid:
    """The whole bid in a fixed number of queries, however many sections, CSPs and lines it has."""
    from app.models.bid import MergedSection
    from app.text import count_words

    bid = find_bid(rnd)
    merged = {}
    if bid is not None:
        merged = {m.section_id: m for m in db.session.scalars(
            select(MergedSection).where(MergedSection.bid_id == bid.id))}
    sections = []
    for s in rnd.sections:
        m = merged.get(s.id)
        text = m.text if m is not None else ""
        sections.append(WholeSection(s, text or "", count_words(text), m is not None and m.state == SectionState.FINAL))
    return WholeBid(
        bid=bid,
        sections=sections,
        budget=consolidated_budget(rnd, bid),
        outcomes=consolidated_outcomes(rnd),
        partners=consolidated_partners(rnd),
    )
