"""The lead bidder's internal notes on contributions: what its reviewers tell each other about a
contribution (or one section of it), which the CSP never sees.

Notes are InternalNote rows, a table of their own: nothing that reads comments (the CSP's pages,
the timeline the CSP sees, exports, emails) reads this table. Only the lead bidder's pages do, and
only through the functions here, which the rulebook guards (app/policy/rules.py):
- contribution.view_internal_notes: every lead bidder user, viewers included;
- contribution.add_internal_note: administrators and staff, in every round state but archived;
- internal_note.delete: the note's author only, likewise. Nobody changes a note once written: the
  author deletes it and writes another. Adding and deleting are audited (the trail keeps the text
  of a deleted note, for the lead bidder's administrators).
No email is sent about a note.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Contribution, User
from app.models.review import InternalNote
from app.policy import can, decide, require
from app.services import ServiceError
from app.services.audit import record
from app.services.contributions import csp_sections

MAX_NOTE = 5000


def can_view(user: User, contribution: Contribution) -> bool:
    return can(user, "contribution.view_internal_notes", contribution)


def can_add(user: User, contribution: Contribution) -> bool:
    return can(user, "contribution.add_internal_note", contribution)


def why_not_add(user: User, contribution: Contribution) -> str | None:
    """Why this person cannot add a note now, in words for the page; None when they can."""
    decision = decide(user, "contribution.add_internal_note", contribution)
    if decision:
        return None
    if decision.kind == "role":
        return "You can read internal notes. Only lead bidder administrators and staff can add them"
    return decision.reason


def notes(actor: User, contribution: Contribution) -> list[InternalNote]:
    """Every internal note on the contribution, oldest first, with its author and section: one query.
    Nothing for someone who may not read them (a CSP user asking gets an empty list, never a note)."""
    if not can_view(actor, contribution):
        return []
    query = (
        select(InternalNote)
        .where(InternalNote.contribution_id == contribution.id)
        .options(joinedload(InternalNote.author), joinedload(InternalNote.section))
        .order_by(InternalNote.created_at, InternalNote.id)
    )
    return list(db.session.scalars(query))


def by_section(all_notes: list[InternalNote]) -> dict[int | None, list[InternalNote]]:
    """Notes grouped by section id (None: on the contribution as a whole), keeping their order."""
    grouped: dict[int | None, list[InternalNote]] = {}
    for note in all_notes:
        grouped.setdefault(note.section_id, []).append(note)
    return grouped


def counts(actor: User, contributions: list[Contribution]) -> dict[int, int]:
    """How many internal notes each contribution has, by contribution id: one grouped query."""
    ids = [c.id for c in contributions if can_view(actor, c)]
    if not ids:
        return {}
    return dict(
        db.session.execute(
            select(InternalNote.contribution_id, func.count(InternalNote.id))
            .where(InternalNote.contribution_id.in_(ids))
            .group_by(InternalNote.contribution_id)
        ).all()
    )


def _where(note: InternalNote) -> str:
    return f"section {note.section.number}. {note.section.title}" if note.section else "the contribution as a whole"


def add_note(actor: User, contribution: Contribution, section_id: int | None, body: str) -> InternalNote:
    require(actor, "contribution.add_internal_note", contribution)
    section = None
    if section_id is not None:
        section = next((s for s in csp_sections(contribution) if s.id == section_id), None)
        if section is None:
            raise ServiceError("Select which part of the contribution your note is about", field="section")
    body = (body or "").strip()
    if not body:
        raise ServiceError("Enter the note", field="body")
    if len(body) > MAX_NOTE:
        raise ServiceError(f"The note must be {MAX_NOTE:,} characters or fewer", field="body")
    note = InternalNote(contribution=contribution, section=section, author_id=actor.id, body=body)
    db.session.add(note)
    db.session.flush()
    record(
        actor,
        "review.internal_note_added",
        contribution,
        f"{actor.full_name} added an internal note on {_where(note)} of {contribution.csp.name}'s contribution",
        note_id=note.id,
        section_id=section.id if section else None,
    )
    db.session.flush()
    return note


def delete_note(actor: User, note: InternalNote) -> None:
    require(actor, "internal_note.delete", note)
    contribution = note.contribution
    record(
        actor,
        "review.internal_note_deleted",
        contribution,
        f"{actor.full_name} deleted their internal note on {_where(note)} of {contribution.csp.name}'s contribution",
        note_id=note.id,
        section_id=note.section_id,
        written_at=note.created_at.isoformat(),
        text=note.body,
    )
    db.session.delete(note)
    db.session.flush()
