"""What changed in a contribution since the lead bidder asked for changes.

- Sections keep every revision, so a section's text when changes were asked for is the revision
  current at the ChangeRequest's created_at; it is compared word by word (app.text.diff_texts, as on
  the CSP's own revision history) with the text now.
- Budget lines, outcomes and partners keep no history: request_changes() stores them on the
  ChangeRequest (snapshot_of), and they are compared item by item: added, removed, changed (old → new).
- The round overview flags contributions resubmitted after a change request that the lead bidder
  has not decided on since (to_review); each decision marks the request reviewed (mark_reviewed).

Everything here is computed when a page asks for it: only the "What changed" page compares texts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload, selectinload

from app.dates import govuk_date
from app.extensions import db
from app.models import BudgetLine, Contribution, SectionResponse, SectionRevision, SectionTemplate
from app.models.review import ChangeRequest
from app.money import format_money
from app.text import Diff, diff_texts

# --- the snapshot kept when changes are asked for ---------------------------------------------------


def snapshot_of(contribution: Contribution) -> dict:
    """The contribution's budget lines, outcomes and partners as plain data (JSON), as they are now."""
    loaded = db.session.scalars(
        select(Contribution)
        .where(Contribution.id == contribution.id)
        .options(
            selectinload(Contribution.budget_lines).options(
                joinedload(BudgetLine.financial_year), joinedload(BudgetLine.cost_category)
            ),
            selectinload(Contribution.outcomes),
            selectinload(Contribution.partners),
        )
    ).one()
    return {
        "budget": [
            {
                "id": line.id,
                "year": line.financial_year.label,
                "category": line.cost_category.name,
                "description": line.description,
                "amount_pence": line.amount_pence,
                "match_pence": line.match_pence,
                "match_type": line.match_type.label if line.match_type else None,
                "match_source": line.match_source or "",
            }
            for line in loaded.budget_lines
        ],
        "outcomes": [
            {"id": o.id, "measure": o.measure, "baseline": o.baseline, "target": o.target,
             "by_when": o.by_when.isoformat()}
            for o in loaded.outcomes
        ],
        "partners": [
            {"id": p.id, "organisation_name": p.organisation_name, "role": p.role} for p in loaded.partners
        ],
    }


# --- which change request, and whether the lead bidder has decided since ----------------------------


def latest_change_request(contribution: Contribution) -> ChangeRequest | None:
    """The contribution's latest change request, open or resolved (with who made it)."""
    return db.session.scalars(
        select(ChangeRequest)
        .where(ChangeRequest.contribution_id == contribution.id)
        .options(joinedload(ChangeRequest.created_by))
        .order_by(ChangeRequest.created_at.desc(), ChangeRequest.id.desc())
        .limit(1)
    ).first()


def to_review(contribution_ids: list[int]) -> set[int]:
    """Of these contributions, those resubmitted after a change request with no decision by the
    lead bidder since (accepting, asking for changes again, excluding): one query however many."""
    if not contribution_ids:
        return set()
    return set(db.session.scalars(
        select(ChangeRequest.contribution_id).where(
            ChangeRequest.contribution_id.in_(contribution_ids),
            ChangeRequest.resolved_at.is_not(None),
            ChangeRequest.reviewed_at.is_(None),
        ).distinct()
    ))


def mark_reviewed(contribution: Contribution, now: datetime) -> None:
    """The lead bidder has decided on the resubmitted contribution: its changes are reviewed."""
    db.session.execute(
        update(ChangeRequest)
        .where(
            ChangeRequest.contribution_id == contribution.id,
            ChangeRequest.resolved_at.is_not(None),
            ChangeRequest.reviewed_at.is_(None),
        )
        .values(reviewed_at=now)
        .execution_options(synchronize_session="fetch")
    )


# --- comparing ---------------------------------------------------------------------------------------


@dataclass
class SectionChange:
    section: SectionTemplate
    before: str  # the text when changes were asked for ("" if not written then)
    now: str
    diff: Diff
    asked: bool  # the lead bidder asked for changes to this section

    @property
    def changed(self) -> bool:
        return self.diff.changed


@dataclass
class ItemChange:
    kind: str  # "added", "removed" or "changed"
    name: str  # what the item is: "Youth worker (2018/19, Staff costs)"
    details: list[str] = field(default_factory=list)  # "Amount requested: £10,000.00 → £12,345.67"


@dataclass
class PartChanges:
    key: str  # "budget", "outcomes", "partners"
    title: str
    asked: bool
    items: list[ItemChange]

    def of_kind(self, kind: str) -> list[ItemChange]:
        return [i for i in self.items if i.kind == kind]


@dataclass
class WhatChanged:
    change_request: ChangeRequest
    sections: list[SectionChange]
    parts: list[PartChanges]
    has_snapshot: bool  # False for change requests made before snapshots were kept

    @property
    def resubmitted(self) -> bool:
        return self.change_request.resolved_at is not None

    @property
    def changed_sections(self) -> int:
        return sum(1 for s in self.sections if s.changed)


def _texts_then(contribution: Contribution, at: datetime) -> dict[int, str]:
    """Each section's text (by section id) as it was at `at`: its latest revision saved by then."""
    latest = (
        select(SectionRevision.response_id, func.max(SectionRevision.number).label("number"))
        .join(SectionResponse, SectionResponse.id == SectionRevision.response_id)
        .where(SectionResponse.contribution_id == contribution.id, SectionRevision.created_at <= at)
        .group_by(SectionRevision.response_id)
        .subquery()
    )
    rows = db.session.execute(
        select(SectionResponse.section_id, SectionRevision.text)
        .join(SectionRevision, SectionRevision.response_id == SectionResponse.id)
        .join(latest, (latest.c.response_id == SectionRevision.response_id)
              & (latest.c.number == SectionRevision.number))
    )
    return dict(rows.tuples().all())


def _line_name(line: dict) -> str:
    return f"{line['description']} ({line['year']}, {line['category']})"


def _match_words(line: dict) -> str:
    if not line["match_pence"]:
        return "None"
    words = format_money(line["match_pence"])
    if line.get("match_type"):
        words += f" {line['match_type'].lower()}"
    if line.get("match_source"):
        words += f" from {line['match_source']}"
    return words


BUDGET_FIELDS = (
    ("Financial year", lambda line: line["year"]),
    ("Cost category", lambda line: line["category"]),
    ("Description", lambda line: line["description"]),
    ("Amount requested", lambda line: format_money(line["amount_pence"])),
    ("Match funding", _match_words),
)
OUTCOME_FIELDS = (
    ("Measure", lambda o: o["measure"]),
    ("Baseline", lambda o: o["baseline"]),
    ("Target", lambda o: o["target"]),
    ("By when", lambda o: govuk_date(date.fromisoformat(o["by_when"]))),
)
PARTNER_FIELDS = (
    ("Organisation", lambda p: p["organisation_name"]),
    ("Role", lambda p: p["role"]),
)


def _summary(fields, item: dict) -> list[str]:
    return [f"{label}: {value(item)}" for label, value in fields]


def compare_items(before: list[dict], now: list[dict], fields, name) -> list[ItemChange]:
    """Items matched by id: those added, removed, and changed (each changed field as old → new)."""
    old = {item["id"]: item for item in before}
    new = {item["id"]: item for item in now}
    changes = []
    for item_id, item in new.items():
        if item_id not in old:
            changes.append(ItemChange("added", name(item), _summary(fields, item)))
            continue
        details = [
            f"{label}: {value(old[item_id])} → {value(item)}"
            for label, value in fields
            if value(old[item_id]) != value(item)
        ]
        if details:
            changes.append(ItemChange("changed", name(old[item_id]), details))
    changes += [ItemChange("removed", name(item), _summary(fields, item)) for i, item in old.items() if i not in new]
    return changes


PART_FIELDS = {
    "budget": ("Budget", BUDGET_FIELDS, _line_name),
    "outcomes": ("Outcomes", OUTCOME_FIELDS, lambda o: o["measure"]),
    "partners": ("Partners involved", PARTNER_FIELDS, lambda p: p["organisation_name"]),
}


def what_changed(contribution: Contribution, change: ChangeRequest, sections: list[SectionTemplate]) -> WhatChanged:
    """Every section's text then and now, compared word by word, and the budget lines, outcomes and
    partners added, removed and changed: a fixed number of queries however many sections or lines."""
    then = _texts_then(contribution, change.created_at)
    current = {
        r.section_id: r.text
        for r in db.session.scalars(select(SectionResponse).where(SectionResponse.contribution_id == contribution.id))
    }
    asked = set(change.items or [])
    section_changes = [
        SectionChange(
            section=s,
            before=then.get(s.id, ""),
            now=current.get(s.id, ""),
            diff=diff_texts(then.get(s.id, ""), current.get(s.id, "")),
            asked=f"section-{s.id}" in asked,
        )
        for s in sections
    ]
    parts = []
    if change.snapshot is not None:
        now = snapshot_of(contribution)
        for key, (title, fields, name) in PART_FIELDS.items():
            parts.append(PartChanges(key, title, key in asked,
                                     compare_items(change.snapshot.get(key, []), now[key], fields, name)))
    return WhatChanged(change, section_changes, parts, has_snapshot=change.snapshot is not None)
