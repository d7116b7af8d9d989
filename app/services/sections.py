"""The narrative sections of a contribution: saving text, marking a section completed, and its history.

Every save that changes the text (or whether the section is completed) makes a SectionRevision;
saving exactly what is already saved makes none. The save is a conditional UPDATE on the
SectionResponse's version, so when two people edit the same section the second save is refused
with a SectionConflict (the route shows both texts) instead of silently overwriting the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Contribution,
    ContributionStatus,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.services import ServiceError, insert_for_dialect
from app.services.audit import record
from app.services.contributions import check_editable, csp_sections, locked_message, touch
from app.services.pages import Page, empty, paginate
from app.text import count_words, normalise

# Longest text kept for one section: far more than any word limit, small enough to compare quickly.
MAX_CHARACTERS = 50_000

EDITABLE_STATUSES = [s for s in ContributionStatus if s.csp_can_edit]


class SectionConflict(ServiceError):
    """Someone saved the section after this editor loaded it. Nothing was saved."""

    def __init__(self, response: SectionResponse, their_text: str):
        super().__init__("Someone else saved this section while you were editing it", field="text")
        self.response = response  # as it is now, with the newer text
        self.their_text = their_text


@dataclass
class SaveResult:
    response: SectionResponse | None
    revision: SectionRevision | None  # None when nothing had changed (and nothing was written)
    words: int
    limit: int | None

    @property
    def changed(self) -> bool:
        return self.revision is not None

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.words > self.limit


def section_of(contribution: Contribution, section_id: int) -> SectionTemplate | None:
    """The round's section with this id, if the CSP writes it; None otherwise."""
    return next((s for s in csp_sections(contribution) if s.id == section_id), None)


def current_response(contribution: Contribution, section: SectionTemplate) -> SectionResponse | None:
    """The saved response as the database has it now (not as this session last saw it)."""
    return db.session.scalar(
        select(SectionResponse)
        .where(SectionResponse.contribution_id == contribution.id, SectionResponse.section_id == section.id)
        .execution_options(populate_existing=True)
    )


def completion_problem(section: SectionTemplate, text: str) -> str | None:
    """Why this text cannot be marked as completed, or None."""
    words = count_words(text)
    if words == 0:
        return "Enter your text before you mark this section as completed"
    limit = section.csp_word_limit
    if limit is not None and words > limit:
        return (
            f"Your text must be {limit:,} words or fewer to mark this section as completed. "
            f"It has {words:,} words"
        )
    return None


def save_section(
    actor: User,
    contribution: Contribution,
    section: SectionTemplate,
    text: str,
    expected_version: int,
    completed: bool,
) -> SaveResult:
    """Save a CSP's text for a section, as in progress or as completed.

    `expected_version` is the SectionResponse.version the editor loaded (0 before the first save).
    Raises SectionConflict when the saved text has moved on since then, and ServiceError when the
    contribution is locked or the text cannot be marked as completed. Saving over the word limit
    is allowed (work is never lost); marking completed needs text within the limit."""
    check_editable(actor, contribution)
    if section_of(contribution, section.id) is None:
        raise ServiceError("This section is not part of the contribution")
    text = normalise(text)
    if len(text) > MAX_CHARACTERS:
        raise ServiceError(f"Your text must be {MAX_CHARACTERS:,} characters or fewer", field="text")
    if completed:
        problem = completion_problem(section, text)
        if problem:
            raise ServiceError(problem, field="text")
    words = count_words(text)
    limit = section.csp_word_limit

    saved = current_response(contribution, section)
    as_saved = (saved.text, saved.completed) if saved else ("", False)
    if as_saved == (text, completed):
        return SaveResult(saved, None, words, limit)

    # The contribution must still be open for changes when this transaction writes: a submit that
    # lands first makes this UPDATE match nothing (PostgreSQL waits for the submit's row lock).
    now = utcnow()
    still_open = db.session.execute(
        update(Contribution)
        .where(Contribution.id == contribution.id, Contribution.status.in_(EDITABLE_STATUSES))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if still_open.rowcount != 1:
        db.session.refresh(contribution)
        raise ServiceError(locked_message(contribution), field="text")

    response = saved or _ensure_response(contribution, section)

    # Optimistic locking: only the editor who loaded the current version may write the next one.
    # Two saves at once cannot both match: the database applies one UPDATE after the other.
    result = db.session.execute(
        update(SectionResponse)
        .where(SectionResponse.id == response.id, SectionResponse.version == expected_version)
        .values(
            text=text,
            completed=completed,
            version=SectionResponse.version + 1,
            updated_at=now,
            updated_by_id=actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(response)
    if result.rowcount != 1:
        raise SectionConflict(response, text)

    revision = SectionRevision(
        response_id=response.id,
        number=response.version,  # one revision per version, so revision n is version n
        text=text,
        word_count=words,
        completed=completed,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(revision)
    touch(actor, contribution)
    over = f", over the {limit:,} word limit" if limit is not None and words > limit else ""
    record(
        actor,
        "section.completed" if completed else "section.saved",
        contribution,
        f"{actor.full_name} {'marked as completed' if completed else 'saved'} section {section.number}. "
        f"{section.title} for {contribution.csp.name} (revision {revision.number}, {words:,} words{over})",
        section_id=section.id,
        revision=revision.number,
        words=words,
    )
    db.session.flush()
    return SaveResult(response, revision, words, limit)


def _ensure_response(contribution: Contribution, section: SectionTemplate) -> SectionResponse:
    """The response row, created empty (version 0) on the first save. INSERT ... ON CONFLICT DO
    NOTHING: two first saves at once make one row, and the slower one then gets the conflict."""
    insert = insert_for_dialect()
    db.session.execute(
        insert(SectionResponse)
        .values(contribution_id=contribution.id, section_id=section.id, text="", completed=False, version=0)
        .on_conflict_do_nothing(index_elements=["contribution_id", "section_id"])
    )
    return current_response(contribution, section)


# --- history -----------------------------------------------------------------------------------


def revisions(response: SectionResponse | None, page=1) -> Page[SectionRevision]:
    """One page of the response's revisions, newest first. They are numbered 1 to page.total."""
    if response is None:
        return empty(page)
    return paginate(
        select(SectionRevision)
        .where(SectionRevision.response_id == response.id)
        .order_by(SectionRevision.number.desc())
        .options(selectinload(SectionRevision.created_by)),
        page,
    )


def revision(response: SectionResponse | None, number: int) -> SectionRevision | None:
    if response is None:
        return None
    return db.session.scalar(
        select(SectionRevision).where(SectionRevision.response_id == response.id, SectionRevision.number == number)
    )


def revision_count(response: SectionResponse | None) -> int:
    if response is None:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(SectionRevision).where(SectionRevision.response_id == response.id)
    )
