"""What an export contains, read once from the database into plain data.

Every format (Word, PDF, Excel, CSV, ZIP) is made from one `ExportContent`, so they all say the
same thing, and the renderers never touch the database. Totals are computed here from the lines
(`year_category_totals()`, `csp_budgets()` ...), once, in integer pence.

`content_hash` is the SHA-256 of the content (not of a file, and not of when it was made): two
exports with the same hash are the same version of the bid, whatever their format. It covers what
the bid says (sections, budget, outcomes, partners, documents and the round's rules that shape
them), not where the bid is in its life cycle: the fields marked NOT_CONTENT (status, sign-off,
deadlines) are shown in the files but left out of the hash, so signing off or marking the bid as
submitted does not make a new version of it, and the file sent to the funder stays "this version".
The status at the time of export is recorded beside the hash (ExportRecord.content_status).

The collective bid's content is what the bid pages show: the merged text of every section in
template order, the consolidated budget (accepted contributions and the lead's own lines), the
accepted contributions' outcomes, partners (de-duplicated) and supporting documents.
A contribution's content is that CSP's answers, budget, outcomes, partners and documents.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path

from app.models import Contribution, ContributionStatus, Round, ScanStatus
from app.models.base import utcnow

LEAD_LINES = "lead-held lines"
# Metadata of the ExportContent fields that describe the bid's workflow or schedule, not what it says.
NOT_CONTENT = {"content": False}  # the CSP column's words for the lead bidder's own budget lines


@dataclass(frozen=True)
class SectionText:
    number: int
    title: str
    text: str  # plain text (app.text.blocks lays it out)
    word_limit: int | None
    words: int
    lead_only: bool = False  # written by the lead bidder, not the CSPs


@dataclass(frozen=True)
class LineRow:
    csp: str  # the CSP's name, or f"{lead bidder} ({LEAD_LINES})"
    year: str  # "2018/19"
    category: str  # "Staff costs"
    description: str
    amount_pence: int
    match_pence: int
    match_type: str | None  # "Cash", "In-kind" or None
    match_source: str | None


@dataclass(frozen=True)
class OutcomeRow:
    csp: str
    measure: str
    baseline: str
    target: str
    by_when: date


@dataclass(frozen=True)
class PartnerRow:
    name: str
    csps: tuple[str, ...]
    roles: tuple[tuple[str, str], ...]  # (CSP name, role)


@dataclass(frozen=True)
class DocumentRow:
    csp: str
    filename: str
    description: str | None
    content_type: str
    size_bytes: int
    sha256: str
    key: str  # where the file is stored (app/storage.py; not part of the content hash)
    # Why its file is left out of the ZIP ("being checked for viruses", "contained a virus"); None
    # when it goes in (clean, or never checked). Part of the content hash only when set.
    held_back: str | None = None


@dataclass
class CspBudget:
    name: str
    lines: list[LineRow]
    amounts: dict[tuple[str, str], int]  # (category, year) -> pence
    by_year: dict[str, int]
    match_by_year: dict[str, int]
    total: int
    match_total: int


@dataclass
class ExportContent:
    kind: str  # "bid" or "contribution"
    title: str  # the round's title (bid) or "<CSP>: contribution to <round title>"
    fund_name: str
    funder: str
    round_title: str
    lead_bidder: str
    csps: list[str]  # the partner CSPs (bid: accepted contributions; contribution: that CSP)
    # "Draft", "Signed off", "Submitted to the funder"; a contribution's status label
    status: str = field(metadata=NOT_CONTENT)
    signed_off: bool = field(metadata=NOT_CONTENT)
    signed_off_by: str | None = field(metadata=NOT_CONTENT)
    signed_off_at: datetime | None = field(metadata=NOT_CONTENT)
    sign_off_declaration: str | None = field(metadata=NOT_CONTENT)
    funder_deadline: datetime = field(metadata=NOT_CONTENT)
    internal_deadline: datetime = field(metadata=NOT_CONTENT)
    years: list[str]  # financial year labels in order
    categories: list[str]  # cost category names in order
    year_caps: dict[str, int | None]
    cap_per_bid_pence: int | None
    match_percent: int | None
    sections: list[SectionText]
    lines: list[LineRow]
    outcomes: list[OutcomeRow]
    partners: list[PartnerRow]
    documents: list[DocumentRow]
    generated_at: datetime = field(default_factory=utcnow, metadata=NOT_CONTENT)
    content_hash: str = field(default="", metadata=NOT_CONTENT)

    # --- totals, in integer pence --------------------------------------------------------------

    def year_category_totals(self) -> dict[tuple[str, str], int]:
        """(category, year) -> amount requested; every cell present (0 where there are no lines)."""
        totals = {(c, y): 0 for c in self.categories for y in self.years}
        for line in self.lines:
            totals[(line.category, line.year)] = totals.get((line.category, line.year), 0) + line.amount_pence
        return totals

    def by_year(self) -> dict[str, int]:
        totals = dict.fromkeys(self.years, 0)
        for line in self.lines:
            totals[line.year] = totals.get(line.year, 0) + line.amount_pence
        return totals

    def by_category(self) -> dict[str, int]:
        totals = dict.fromkeys(self.categories, 0)
        for line in self.lines:
            totals[line.category] = totals.get(line.category, 0) + line.amount_pence
        return totals

    def match_by_year(self) -> dict[str, int]:
        totals = dict.fromkeys(self.years, 0)
        for line in self.lines:
            totals[line.year] = totals.get(line.year, 0) + line.match_pence
        return totals

    def match_by_type(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for line in self.lines:
            if line.match_pence:
                kind = line.match_type or "Cash"
                totals[kind] = totals.get(kind, 0) + line.match_pence
        return totals

    @property
    def total(self) -> int:
        return sum(line.amount_pence for line in self.lines)

    @property
    def match_total(self) -> int:
        return sum(line.match_pence for line in self.lines)

    def csp_budgets(self) -> list[CspBudget]:
        """One budget per CSP (in the order of `csps`, then the lead's own lines), each totalled."""
        order = list(self.csps) + sorted({line.csp for line in self.lines} - set(self.csps))
        budgets = []
        for name in order:
            lines = [line for line in self.lines if line.csp == name]
            if not lines and name not in self.csps:
                continue
            amounts = {(c, y): 0 for c in self.categories for y in self.years}
            by_year = dict.fromkeys(self.years, 0)
            match_by_year = dict.fromkeys(self.years, 0)
            for line in lines:
                amounts[(line.category, line.year)] += line.amount_pence
                by_year[line.year] += line.amount_pence
                match_by_year[line.year] += line.match_pence
            budgets.append(CspBudget(
                name=name, lines=lines, amounts=amounts, by_year=by_year, match_by_year=match_by_year,
                total=sum(by_year.values()), match_total=sum(match_by_year.values()),
            ))
        return budgets

    # --- what it is -----------------------------------------------------------------------------

    @property
    def short_hash(self) -> str:
        return self.content_hash[:12]

    def hashed(self) -> ExportContent:
        self.content_hash = content_hash(self)
        return self


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return None
    if isinstance(value, dict):
        return {"|".join(k) if isinstance(k, tuple) else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def content_hash(content: ExportContent) -> str:
    """The version: SHA-256 of every field except the NOT_CONTENT ones and the documents' storage keys."""
    data = asdict(content)
    for f in fields(content):
        if f.metadata.get("content", True) is False:
            data.pop(f.name)
    for doc in data["documents"]:
        doc.pop("key", None)
        if doc.get("held_back") is None:
            doc.pop("held_back", None)
    canonical = json.dumps(_jsonable(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- reading it from the database --------------------------------------------------------------

def _line_row(csp: str, line) -> LineRow:
    return LineRow(
        csp=csp,
        year=line.financial_year.label,
        category=line.cost_category.name,
        description=line.description,
        amount_pence=line.amount_pence,
        match_pence=line.match_pence or 0,
        match_type=line.match_type.label if line.match_pence and line.match_type else None,
        match_source=line.match_source if line.match_pence else None,
    )


def _sorted_lines(rnd: Round, lines: list) -> list:
    year_pos = {y.id: i for i, y in enumerate(rnd.financial_years)}
    cat_pos = {c.id: i for i, c in enumerate(rnd.cost_categories)}
    return sorted(lines, key=lambda line: (year_pos.get(line.financial_year_id, 0),
                                           cat_pos.get(line.cost_category_id, 0), line.id))


# Documents whose file is not put in the ZIP, and what its manifest says of each.
def document_note(doc) -> str:
    """A document's description in the exports' list of documents, saying when its file is not in the
    ZIP ("Problem profile – not included: contained a virus")."""
    if not doc.held_back:
        return doc.description or ""
    note = f"Not included: {doc.held_back}"
    return f"{doc.description} – {note[0].lower()}{note[1:]}" if doc.description else note


HELD_BACK = {
    ScanStatus.PENDING: "being checked for viruses",
    ScanStatus.INFECTED: "contained a virus",
    ScanStatus.FAILED: "could not be checked for viruses",
}


def _documents(contributions: list[Contribution]) -> list[DocumentRow]:
    from app.services.documents import document_key

    return [
        DocumentRow(
            csp=c.csp.name, filename=a.filename, description=a.description, content_type=a.content_type,
            size_bytes=a.size_bytes, sha256=a.sha256, key=document_key(a), held_back=HELD_BACK.get(a.scan_status),
        )
        for c in contributions
        for a in sorted(c.attachments, key=lambda a: (a.uploaded_at, a.id))
    ]


def _outcomes(contributions: list[Contribution]) -> list[OutcomeRow]:
    return [
        OutcomeRow(csp=c.csp.name, measure=o.measure, baseline=o.baseline, target=o.target, by_when=o.by_when)
        for c in contributions
        for o in sorted(c.outcomes, key=lambda o: (o.by_when, o.id))
    ]


def _round_fields(rnd: Round) -> dict:
    return {
        "fund_name": rnd.fund_name,
        "funder": rnd.funder,
        "round_title": rnd.title,
        "lead_bidder": rnd.lead_bidder.name,
        "funder_deadline": rnd.funder_deadline,
        "internal_deadline": rnd.internal_deadline,
        "years": [y.label for y in rnd.financial_years],
        "categories": [c.name for c in rnd.cost_categories],
        "year_caps": {y.label: y.cap_pence for y in rnd.financial_years},
        "cap_per_bid_pence": rnd.cap_per_bid_pence,
        "match_percent": rnd.match_percent,
    }


def bid_status(bid) -> tuple[str, bool]:
    """The bid's status in words ("Draft", "Signed off", "Submitted to the funder") and whether it
    has been signed off (and not reopened since)."""
    if bid is None:
        return "Draft", False
    return bid.status.label, bid.signed_off_at is not None and bid.status.value != "draft"


def bid_content(rnd: Round) -> ExportContent:
    """The collective bid as it is now."""
    from app.services import consolidation, merge
    from app.text import count_words

    consolidation.load_contributions(rnd, "budget_lines", "outcomes", "partners", "attachments",
                                     statuses={ContributionStatus.ACCEPTED})
    bid = consolidation.find_bid(rnd)
    contributions = merge.accepted(bid) if bid is not None else consolidation.accepted_contributions(rnd)
    merged = {m.section_id: m.text for m in bid.sections} if bid is not None else {}
    sections = [
        SectionText(
            number=s.number, title=s.title, text=merged.get(s.id, "") or "", word_limit=s.word_limit,
            words=count_words(merged.get(s.id, "")), lead_only=not s.csp_contributes,
        )
        for s in rnd.sections
    ]
    lines = [_line_row(c.csp.name, line) for c in contributions for line in _sorted_lines(rnd, c.budget_lines)]
    if bid is not None:
        lead_name = f"{rnd.lead_bidder.display_name} ({LEAD_LINES})"
        lines += [_line_row(lead_name, line) for line in _sorted_lines(rnd, bid.lead_lines)]
    partners = [
        PartnerRow(name=p.name, csps=tuple(p.csps), roles=tuple(p.roles))
        for p in consolidation.consolidated_partners(rnd)
    ]
    status, signed = bid_status(bid)
    return ExportContent(
        kind="bid",
        title=rnd.title,
        csps=[c.csp.name for c in contributions],
        status=status,
        signed_off=signed,
        signed_off_by=bid.signed_off_by.full_name if signed and bid.signed_off_by else None,
        signed_off_at=bid.signed_off_at if signed else None,
        sign_off_declaration=bid.sign_off_declaration if signed else None,
        sections=sections,
        lines=lines,
        outcomes=_outcomes(contributions),
        partners=partners,
        documents=_documents(contributions),
        **_round_fields(rnd),
    ).hashed()


def contribution_content(contribution: Contribution) -> ExportContent:
    """One CSP's contribution as it is now: the sections the CSPs write, in template order."""
    from app.services.contributions import csp_sections, response_for
    from app.text import count_words

    rnd = contribution.round
    name = contribution.csp.name
    sections = []
    for s in csp_sections(contribution):
        response = response_for(contribution, s)
        text = response.text if response is not None else ""
        sections.append(SectionText(number=s.number, title=s.title, text=text or "", word_limit=s.csp_word_limit,
                                    words=count_words(text)))
    partners = [PartnerRow(name=p.organisation_name, csps=(name,), roles=((name, p.role),))
                for p in sorted(contribution.partners, key=lambda p: p.organisation_name.casefold())]
    return ExportContent(
        kind="contribution",
        title=f"{name}: contribution to {rnd.title}",
        csps=[name],
        status=contribution.status.label,
        signed_off=False,
        signed_off_by=None,
        signed_off_at=None,
        sign_off_declaration=None,
        sections=sections,
        lines=[_line_row(name, line) for line in _sorted_lines(rnd, contribution.budget_lines)],
        outcomes=_outcomes([contribution]),
        partners=partners,
        documents=_documents([contribution]),
        **_round_fields(rnd),
    ).hashed()


# --- the version, without reading the content -----------------------------------------------------

# Part of every fingerprint: change it when what the content hash covers changes (the fields of
# ExportContent and its rows are part of the fingerprint already).
FINGERPRINT_VERSION = 2


def bid_fingerprint(rnd: Round, bid) -> str:
    """A fingerprint of everything the collective bid's content is made from, read without the
    content itself (no texts, no lines) in a few small queries: the same fingerprint means the
    same content, so an export made at this fingerprint has the current content hash.

    It holds the round's own settings that the content shows (title, fund, funder, caps, match
    funding, financial years, cost categories, sections, the lead bidder's names), the bid's merge
    order, which contributions are accepted and their CSPs' names, and, for the rows of each kind
    the content is made from (accepted contributions' budget lines, outcomes, partners and
    documents; the lead-held lines; the merged sections), how many there are, the newest one's id
    and time of creation and the sum of their versions. Every change of such a row adds one to its
    version (budget.update_if_version, merge's saves), a new row is newer than all the rows before
    it, and a deleted one lowers the count, so any change of the content changes the fingerprint.
    Signing off, submitting, reopening and deadlines are not in it, as they are not in the content."""
    from sqlalchemy import func, literal, select, union_all

    from app.extensions import db
    from app.models import (
        Attachment,
        BudgetLine,
        LeadBudgetLine,
        MergedSection,
        Organisation,
        Outcome,
        PartnerInvolvement,
    )

    accepted = (
        select(Contribution.id, Organisation.name)
        .join(Organisation, Organisation.id == Contribution.csp_id)
        .where(Contribution.round_id == rnd.id, Contribution.status == ContributionStatus.ACCEPTED)
        .order_by(Contribution.id)
    )
    accepted_ids = select(Contribution.id).where(
        Contribution.round_id == rnd.id, Contribution.status == ContributionStatus.ACCEPTED
    )
    bid_id = bid.id if bid is not None else None

    def stamps(kind: str, model, where, version, created):
        return select(literal(kind), func.count(model.id), func.coalesce(func.sum(version), 0),
                      func.max(model.id), func.max(created)).where(where)

    kinds = union_all(
        stamps("budget lines", BudgetLine, BudgetLine.contribution_id.in_(accepted_ids), BudgetLine.version,
               BudgetLine.created_at),
        stamps("outcomes", Outcome, Outcome.contribution_id.in_(accepted_ids), Outcome.version, Outcome.created_at),
        stamps("partners", PartnerInvolvement, PartnerInvolvement.contribution_id.in_(accepted_ids),
               PartnerInvolvement.version, PartnerInvolvement.created_at),
        stamps("documents", Attachment, Attachment.contribution_id.in_(accepted_ids), literal(0),
               Attachment.uploaded_at),
        # A virus check's result changes which files the ZIP holds: every change from pending lowers
        # the first count, and one to infected or failed raises the second.
        stamps("documents being checked", Attachment, Attachment.contribution_id.in_(accepted_ids)
               & (Attachment.scan_status == ScanStatus.PENDING), literal(0), Attachment.uploaded_at),
        stamps("documents held back", Attachment, Attachment.contribution_id.in_(accepted_ids)
               & Attachment.scan_status.in_([ScanStatus.INFECTED, ScanStatus.FAILED]), literal(0),
               Attachment.scanned_at),
        stamps("lead-held lines", LeadBudgetLine, LeadBudgetLine.bid_id == bid_id, LeadBudgetLine.version,
               LeadBudgetLine.created_at),
        stamps("merged sections", MergedSection, MergedSection.bid_id == bid_id, MergedSection.version,
               MergedSection.updated_at),
    )
    lead = rnd.lead_bidder
    parts = {
        "version": FINGERPRINT_VERSION,
        "fields": [[f.name for f in fields(kind)] for kind in (ExportContent, SectionText, LineRow, OutcomeRow,
                                                                PartnerRow, DocumentRow)],
        "round": [rnd.id, rnd.title, rnd.fund_name, rnd.funder, rnd.cap_per_bid_pence, rnd.match_percent,
                  lead.name, lead.display_name],
        "years": [[y.id, y.label, y.cap_pence] for y in rnd.financial_years],
        "categories": [[c.id, c.name] for c in rnd.cost_categories],
        "sections": [[s.id, s.title, s.word_limit, s.csp_contributes] for s in rnd.sections],
        "merge order": list(bid.merge_order or []) if bid is not None else None,
        "accepted": [list(row) for row in db.session.execute(accepted)],
        "rows": sorted([str(v) for v in row] for row in db.session.execute(kinds)),
    }
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
