"""The collective bid's merged sections: building a first draft from the accepted contributions,
saving the lead's edits, and keeping track of which CSP text each part was merged from.

- get_or_create_bid(round): the round's CollectiveBid, made on first use (safe when two requests
  make it at once: INSERT ... ON CONFLICT DO NOTHING on the unique round_id).
- Merge order: the accepted contributions in the order the lead chose (CollectiveBid.merge_order),
  the rest alphabetically by CSP name.
- Every change of a merged text is a conditional UPDATE on MergedSection.version and makes a
  MergedRevision, so history is never lost and a second editor gets a MergedConflict.
- Provenance: a MergedSource per contribution records the SectionRevision the merge used. A newer
  CSP revision (newer than both that and the one the lead marked as reviewed) flags the part.

The merged text is plain text. Each CSP's part is attributed with a line of its own:

    Reading Community Safety Partnership:

    The CSP's text...

so that it reads well when the bid is exported, and so that a part can be found again to re-merge it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import joinedload, load_only, selectinload

from app.extensions import db
from app.models import (
    CollectiveBid,
    Contribution,
    ContributionStatus,
    MergedRevision,
    MergedSection,
    MergedSource,
    Round,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.models.bid import SectionState
from app.policy import can, require
from app.services import ServiceError, insert_for_dialect
from app.services.audit import record
from app.services.pages import Page, empty, page_size, paginate
from app.services.sections import MAX_CHARACTERS
from app.text import Diff, count_words, diff_texts, normalise

DRAFT_NOTE = "Automatic first draft"


class MergedConflict(ServiceError):
    """Someone changed the merged text after this editor loaded it. Nothing was saved."""

    def __init__(self, merged: MergedSection, their_text: str):
        super().__init__("Someone else saved this section while you were editing it", field="text")
        self.merged = merged
        self.their_text = their_text


# --- the bid ---------------------------------------------------------------------------------


_insert = insert_for_dialect


def get_or_create_bid(rnd: Round) -> CollectiveBid:
    """The round's collective bid. It is made when the round is created (services.rounds), and for
    older rounds by migration 0007, so pages only read it; making it here is for that action alone
    (safe when two processes ask at once: the round id is unique)."""
    bid = bid_of(rnd)
    if bid is not None:
        return bid
    db.session.execute(
        _insert()(CollectiveBid)
        .values(round_id=rnd.id, lead_bidder_id=rnd.lead_bidder_id, merge_order=[], created_at=utcnow(), version=1)
        .on_conflict_do_nothing(index_elements=["round_id"])
    )
    return bid_of(rnd)


def bid_of(rnd: Round) -> CollectiveBid | None:
    """The round's collective bid, read only (GET pages use this: they never write)."""
    return db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == rnd.id))


def can_edit(user: User, bid: CollectiveBid) -> bool:
    return can(user, "bid.edit", bid)


def read_only_reason(bid: CollectiveBid) -> str | None:
    from app.policy.rules import bid_changeable

    return bid_changeable(None, bid)


def _check_editable(actor: User, bid: CollectiveBid) -> None:
    require(actor, "bid.edit", bid)


def accepted(bid: CollectiveBid) -> list[Contribution]:
    """The round's accepted contributions, in the merge order the lead chose; contributions not
    in it yet (newly accepted) follow, alphabetically by CSP name."""
    from app.services.consolidation import load_contributions

    rnd = bid.round
    if "contributions" in vars(rnd):  # read already (with their CSPs, if they were not)
        contributions = [c for c in load_contributions(rnd) if c.status == ContributionStatus.ACCEPTED]
    else:  # the accepted ones alone: a section's page needs no others
        contributions = list(db.session.scalars(
            select(Contribution)
            .where(Contribution.round_id == rnd.id, Contribution.status == ContributionStatus.ACCEPTED)
            .options(joinedload(Contribution.csp))
        ).unique())
    rank = {cid: i for i, cid in enumerate(bid.merge_order or [])}
    return sorted(contributions, key=lambda c: (rank.get(c.id, len(rank)), c.csp.name.lower(), c.id))


def move_contribution(actor: User, bid: CollectiveBid, contribution: Contribution, direction: str) -> None:
    _check_editable(actor, bid)
    order = accepted(bid)
    if contribution not in order or direction not in ("up", "down"):
        raise ServiceError("Only accepted contributions can be moved in the merge order")
    i = order.index(contribution)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
    bid.merge_order = [c.id for c in order]  # a new list, so the JSON column is written
    bid.version += 1
    record(
        actor,
        "bid.merge_order_changed",
        bid,
        f"{actor.full_name} moved {contribution.csp.name} {direction} the merge order: "
        + ", ".join(c.csp.name for c in order),
        merge_order=bid.merge_order,
    )
    db.session.flush()


# --- a section's sources -------------------------------------------------------------------------


def merged_section(bid: CollectiveBid, section: SectionTemplate) -> MergedSection | None:
    """As the database has it now."""
    return db.session.scalar(
        select(MergedSection)
        .where(MergedSection.bid_id == bid.id, MergedSection.section_id == section.id)
        .execution_options(populate_existing=True)
    )


def _ensure_merged(bid: CollectiveBid, section: SectionTemplate) -> MergedSection:
    db.session.execute(
        _insert()(MergedSection)
        .values(bid_id=bid.id, section_id=section.id, text="", version=0)
        .on_conflict_do_nothing(index_elements=["bid_id", "section_id"])
    )
    return merged_section(bid, section)


def _latest_revisions(
    contributions: list[Contribution], sections: list[SectionTemplate], texts: bool
) -> dict[tuple[int, int], SectionRevision]:
    """(contribution id, section id) -> the CSP's latest revision of that section, for every pair,
    in one query. Without `texts` only the revisions' ids and numbers are read (enough to tell
    whether a text changed since the merge; the texts are not needed for that)."""
    if not contributions or not sections:
        return {}
    mine = and_(
        SectionResponse.contribution_id.in_([c.id for c in contributions]),
        SectionResponse.section_id.in_([s.id for s in sections]),
    )
    # Revision n is version n (services/sections.py), so a response's latest revision is the one
    # numbered as its version: one index lookup per response, no grouping over every revision.
    query = (
        select(SectionRevision, SectionResponse.contribution_id, SectionResponse.section_id)
        .join(SectionResponse, and_(SectionRevision.response_id == SectionResponse.id,
                                    SectionRevision.number == SectionResponse.version))
        .where(mine)
    )
    if not texts:
        query = query.options(load_only(SectionRevision.id, SectionRevision.number, SectionRevision.response_id))
    return {(cid, sid): revision for revision, cid, sid in db.session.execute(query)}


@lru_cache(maxsize=128)
def _diff(older: str, newer: str) -> Diff:
    """diff_texts, remembered for the pairs of texts compared most recently (keyed by the texts
    themselves, so a pair of revisions, which never change, is compared once): difflib is the
    costly part of the section page."""
    return diff_texts(older, newer)


def attributed(name: str, text: str) -> str:
    """One CSP's part of a merged text: its name on a line of its own, a blank line, its text."""
    return f"{name}:\n\n{normalise(text)}"


@dataclass
class Part:
    """One accepted contribution's text for a section, and how it stands against the merge."""

    contribution: Contribution
    latest: SectionRevision | None  # the CSP's current text (its latest revision)
    source: MergedSource | None  # None: not in the merged text yet
    diff: Diff | None = None  # from `baseline` to `latest`, when changed
    baseline: SectionRevision | None = None  # the revision the lead last merged or reviewed

    @property
    def text(self) -> str:
        return self.latest.text if self.latest else ""

    @cached_property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def in_merge(self) -> bool:
        return self.source is not None

    @property
    def seen(self) -> int:
        """The id of the revision the lead last merged or marked as reviewed (0: none)."""
        if self.source is None:
            return 0
        return max(self.source.revision_id or 0, self.source.reviewed_revision_id or 0)

    @property
    def changed(self) -> bool:
        if self.source is None or self.latest is None:
            return False
        return self.latest.id > self.seen


@dataclass
class Workspace:
    bid: CollectiveBid
    section: SectionTemplate
    merged: MergedSection | None
    parts: list[Part] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.merged.text if self.merged else ""

    @cached_property
    def words(self) -> int:
        return count_words(self.text)

    @property
    def limit(self) -> int | None:
        return self.section.word_limit

    @property
    def over_limit(self) -> bool:
        return self.limit is not None and self.words > self.limit

    @property
    def csp_words(self) -> int:
        """The accepted CSP texts together: what a merge of them all would start from."""
        return sum(p.words for p in self.parts)

    @property
    def csp_over_limit(self) -> bool:
        return self.limit is not None and self.csp_words > self.limit

    @property
    def drafted(self) -> bool:
        return self.merged is not None and self.merged.version > 0

    @property
    def changed(self) -> list[Part]:
        return [p for p in self.parts if p.changed]

    @property
    def missing(self) -> list[Part]:
        """Accepted after the first draft: not yet in the merged text."""
        if not self.drafted or not self.section.csp_contributes:
            return []
        return [p for p in self.parts if not p.in_merge and p.latest is not None]

    @property
    def edited_since_draft(self) -> bool:
        """The merged text has been changed since the last automatic draft (so rebuilding it
        would replace the lead's edits, and must be confirmed)."""
        if self.merged is None or not self.merged.text:
            return False
        latest = db.session.execute(
            select(MergedRevision.note)
            .where(MergedRevision.merged_section_id == self.merged.id)
            .order_by(MergedRevision.number.desc())
            .limit(1)
        ).first()
        return latest is None or latest.note != DRAFT_NOTE

    @property
    def status(self) -> str:
        """not_started, written (lead-only sections), draft, needs_review, or final (marked final
        by a lead user, with no CSP change waiting)."""
        if not self.drafted or (not self.text and not self.section.csp_contributes):
            return "not_started"
        if self.changed or self.missing:
            return "needs_review"
        if self.merged is not None and self.merged.state == SectionState.FINAL:
            return "final"
        if not self.section.csp_contributes:
            return "written"
        return "draft"


def workspaces(
    bid: CollectiveBid, sections: list[SectionTemplate], *, texts: bool = True, with_diffs: bool = False
) -> list[Workspace]:
    """The workspaces of these sections, read in a fixed number of queries however many sections,
    contributions and revisions there are. `texts`: read the CSPs' texts (not needed to tell
    whether something changed). `with_diffs`: the word-level changes of each changed part, for the
    page that shows them (texts are read then)."""
    texts = texts or with_diffs
    query = (
        select(MergedSection)
        .where(MergedSection.bid_id == bid.id, MergedSection.section_id.in_([s.id for s in sections]))
        .options(selectinload(MergedSection.sources))
        .execution_options(populate_existing=True)
    )
    merged = {m.section_id: m for m in db.session.scalars(query)} if sections else {}
    contributing = [s for s in sections if s.csp_contributes]
    contributions = accepted(bid) if contributing else []
    latest = _latest_revisions(contributions, contributing, texts)
    result = []
    for section in sections:
        ws = Workspace(bid=bid, section=section, merged=merged.get(section.id))
        result.append(ws)
        if not section.csp_contributes:
            continue
        sources = {s.contribution_id: s for s in (ws.merged.sources if ws.merged else [])}
        ws.parts = [Part(c, latest.get((c.id, section.id)), sources.get(c.id)) for c in contributions]
    if with_diffs:
        changed = [p for ws in result for p in ws.changed]
        seen = [p.seen for p in changed]
        baselines = {
            r.id: r for r in db.session.scalars(select(SectionRevision).where(SectionRevision.id.in_(seen)))
        } if changed else {}
        for part in changed:
            part.baseline = baselines.get(part.seen)
            part.diff = _diff(part.baseline.text if part.baseline else "", part.latest.text)
    return result


def workspace(bid: CollectiveBid, section: SectionTemplate, with_diffs: bool = True) -> Workspace:
    """One section's workspace, with the CSPs' texts (and, by default, the changes of those
    changed since the merge, as the section page shows them)."""
    return workspaces(bid, [section], with_diffs=with_diffs)[0]


def set_section_state(actor: User, bid: CollectiveBid, section: SectionTemplate, final: bool) -> MergedSection:
    """Mark a merged section as final (readiness needs every required section final) or as a draft
    again (to change its text). A final section has text, within its word limit, and no CSP change
    waiting to be reviewed."""
    merged = merged_section(bid, section)
    if merged is None or not merged.text.strip():
        raise ServiceError(f"Write the merged text of {section.title} before you mark it as final")
    require(actor, "bid.mark_section_final" if final else "bid.mark_section_draft", merged)
    if final:
        ws = workspace(bid, section, with_diffs=False)
        if ws.over_limit:
            raise ServiceError(
                f"{section.title} is {ws.words - ws.limit:,} words over its limit of {ws.limit:,}: shorten it first"
            )
        if ws.changed:
            raise ServiceError(
                f"Review the CSPs' changes to {section.title} before you mark it as final: "
                + ", ".join(p.contribution.csp.name for p in ws.changed)
            )
    old, new = (SectionState.DRAFT, SectionState.FINAL) if final else (SectionState.FINAL, SectionState.DRAFT)
    now = utcnow()
    result = db.session.execute(
        update(MergedSection)
        .where(MergedSection.id == merged.id, MergedSection.state == old)
        .values(state=new, final_at=now if final else None, final_by_id=actor.id if final else None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ServiceError("Someone else changed this section just now. Check it and try again")
    db.session.refresh(merged)
    record(
        actor,
        "bid.section_final" if final else "bid.section_draft",
        bid,
        f"{actor.full_name} marked section {section.number}. {section.title} as {new.label.lower()}",
        section_id=section.id,
    )
    db.session.flush()
    return merged


def overview(bid: CollectiveBid) -> list[Workspace]:
    """Every section's workspace for the bid overview, which shows whether a CSP's text changed
    but not how: neither the CSPs' texts are read nor word-level diffs computed (the section page
    makes them, on demand). Every contribution of the round is read (in one query), as the
    overview and the checklist beside it need them all."""
    from app.services.consolidation import load_contributions

    load_contributions(bid.round)
    return workspaces(bid, list(bid.round.sections), texts=False)


# --- writing the merged text ---------------------------------------------------------------------


def _write(
    actor: User,
    bid: CollectiveBid,
    section: SectionTemplate,
    text: str,
    expected_version: int,
    *,
    note: str | None,
    action: str,
    summary: str,
    **detail,
) -> MergedRevision | None:
    """Write a new merged text and its revision, if the text is still at expected_version."""
    _check_editable(actor, bid)
    text = normalise(text)
    if len(text) > MAX_CHARACTERS:
        raise ServiceError(f"The merged text must be {MAX_CHARACTERS:,} characters or fewer", field="text")
    merged = merged_section(bid, section) or _ensure_merged(bid, section)
    require(actor, "bid.edit_text", merged)  # a final section is changed only once marked as a draft
    if merged.version == expected_version and merged.text == text and note is None:
        return None
    now = utcnow()
    result = db.session.execute(
        update(MergedSection)
        .where(MergedSection.id == merged.id, MergedSection.version == expected_version)
        .values(text=text, version=MergedSection.version + 1, updated_at=now, updated_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(merged)
    if result.rowcount != 1:
        raise MergedConflict(merged, text)
    words = count_words(text)
    revision = MergedRevision(
        merged_section_id=merged.id,
        number=merged.version,
        text=text,
        word_count=words,
        note=note,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(revision)
    limit = section.word_limit
    over = f", over the {limit:,} word limit" if limit is not None and words > limit else ""
    record(
        actor,
        action,
        merged,
        f"{actor.full_name} {summary} in section {section.number}. {section.title} of the collective bid "
        f"(revision {revision.number}, {words:,} words{over})",
        lead_bidder_id=bid.lead_bidder_id,
        bid_id=bid.id,
        section_id=section.id,
        revision=revision.number,
        words=words,
        **detail,
    )
    db.session.flush()
    return revision


EMPTY_REQUIRED = "Enter the merged text: the funder requires this section"


def save_text(
    actor: User, bid: CollectiveBid, section: SectionTemplate, text: str, expected_version: int
) -> MergedRevision | None:
    """The lead's own edit. None when nothing had changed. Over the word limit is allowed (work is
    never lost); the pages warn. A section the funder requires cannot be emptied (an optional one
    can: leaving it out of the bid)."""
    if section.required and not normalise(text):
        raise ServiceError(EMPTY_REQUIRED, field="text")
    return _write(actor, bid, section, text, expected_version, note=None, action="merge.saved",
                  summary="saved the merged text")


def _set_source(merged: MergedSection, contribution: Contribution, revision: SectionRevision | None,
                position: int) -> MergedSource:
    source = next((s for s in merged.sources if s.contribution_id == contribution.id), None)
    if source is None:
        source = MergedSource(merged_section_id=merged.id, contribution_id=contribution.id)
        merged.sources.append(source)
    source.revision_id = revision.id if revision else None
    source.reviewed_revision_id = None
    source.position = position
    source.merged_at = utcnow()
    return source


def draft_text(ws: Workspace) -> str:
    """The automatic first draft of a section: the accepted contributions' latest texts, in the
    merge order, each attributed to its CSP (the workspace read with the CSPs' texts)."""
    return "\n\n".join(attributed(p.contribution.csp.name, p.text) for p in ws.parts if p.text)


def build_draft(
    actor: User, bid: CollectiveBid, section: SectionTemplate, expected_version: int, confirmed: bool = False
) -> MergedRevision:
    """The merged text built from the accepted contributions' latest texts, in the merge order,
    each attributed to its CSP. Replaces the text (which stays in the revisions); when the lead has
    edited it since the last automatic draft, only if `confirmed`."""
    _check_editable(actor, bid)
    if not section.csp_contributes:
        raise ServiceError("The lead bidder writes this section: there are no CSP texts to merge")
    ws = workspace(bid, section, with_diffs=False)
    if not ws.parts:
        raise ServiceError("There are no accepted contributions to merge yet")
    if ws.edited_since_draft and not confirmed:
        raise ServiceError("Confirm that you want to replace the merged text, which has been edited")
    revision = _write(
        actor, bid, section, draft_text(ws), expected_version,
        note=DRAFT_NOTE, action="merge.draft_built",
        summary="built an automatic first draft from " + ", ".join(p.contribution.csp.name for p in ws.parts),
        contributions=[p.contribution.id for p in ws.parts],
    )
    merged = revision.merged_section
    keep = {p.contribution.id for p in ws.parts}
    for source in list(merged.sources):
        if source.contribution_id not in keep:
            merged.sources.remove(source)
    for position, part in enumerate(ws.parts):
        _set_source(merged, part.contribution, part.latest, position)
    db.session.flush()
    return revision


def _part(bid: CollectiveBid, section: SectionTemplate, contribution: Contribution) -> tuple[Workspace, Part]:
    ws = workspace(bid, section, with_diffs=False)
    part = next((p for p in ws.parts if p.contribution.id == contribution.id), None)
    if part is None:
        raise ServiceError(f"{contribution.csp.name}'s contribution has not been accepted into the bid")
    return ws, part


def remerge(actor: User, bid: CollectiveBid, section: SectionTemplate, contribution: Contribution) -> MergedRevision:
    """Replace one CSP's attributed part of the merged text with its current text. Only when that
    part is still in the merged text exactly as it was merged; otherwise a ServiceError explains."""
    _check_editable(actor, bid)
    ws, part = _part(bid, section, contribution)
    if part.source is None:
        raise ServiceError(f"{contribution.csp.name}'s text is not in the merged text yet: add it instead")
    if not part.changed:
        raise ServiceError(f"{contribution.csp.name}'s text has not changed since it was merged")
    name = contribution.csp.name
    merged_from = part.source.revision
    new_block = attributed(name, part.text) if part.text else ""
    text = ws.text
    if merged_from is None or not merged_from.text:
        text = "\n\n".join(t for t in (text, new_block) if t)
    else:
        old_block = attributed(name, merged_from.text)
        if text.count(old_block) != 1:
            raise ServiceError(
                f"{name}'s part of the merged text has been edited since it was merged, so it cannot be "
                "replaced automatically. Change the merged text by hand using the changes shown, then mark "
                f"{name}'s changes as reviewed"
            )
        text = text.replace(old_block, new_block)
        text = "\n\n".join(b for b in text.split("\n\n") if b.strip())  # no gap left by an emptied part
    revision = _write(
        actor, bid, section, text, ws.merged.version,
        note=f"Re-merged {name} (revision {part.latest.number})", action="merge.remerged",
        summary=f"re-merged {name}'s text (revision {part.latest.number})",
        contribution_id=contribution.id, source_revision=part.latest.number,
    )
    _set_source(revision.merged_section, contribution, part.latest, part.source.position)
    db.session.flush()
    return revision


def mark_reviewed(actor: User, bid: CollectiveBid, section: SectionTemplate, contribution: Contribution) -> None:
    """The lead has seen a CSP's newer text and dealt with it (or decided nothing needs to change)."""
    _check_editable(actor, bid)
    _, part = _part(bid, section, contribution)
    if part.source is None or not part.changed:
        raise ServiceError(f"There are no new changes from {contribution.csp.name} to review")
    part.source.reviewed_revision_id = part.latest.id
    record(
        actor,
        "merge.reviewed",
        part.source,
        f"{actor.full_name} marked {contribution.csp.name}'s changes (revision {part.latest.number}) to section "
        f"{section.number}. {section.title} as reviewed",
        lead_bidder_id=bid.lead_bidder_id,
        bid_id=bid.id,
        section_id=section.id,
        contribution_id=contribution.id,
        source_revision=part.latest.number,
    )
    db.session.flush()


def add_source(actor: User, bid: CollectiveBid, section: SectionTemplate, contribution: Contribution) -> MergedRevision:
    """A contribution accepted after the first draft: its attributed text added at the end."""
    _check_editable(actor, bid)
    ws, part = _part(bid, section, contribution)
    if part.source is not None:
        raise ServiceError(f"{contribution.csp.name}'s text is already in the merged text")
    if not ws.drafted:
        raise ServiceError("Build the first draft of this section first")
    name = contribution.csp.name
    block = attributed(name, part.text) if part.text else ""
    revision = _write(
        actor, bid, section, "\n\n".join(t for t in (ws.text, block) if t), ws.merged.version,
        note=f"Added {name}" + (f" (revision {part.latest.number})" if part.latest else ""),
        action="merge.source_added", summary=f"added {name}'s text",
        contribution_id=contribution.id,
    )
    position = max((s.position for s in revision.merged_section.sources), default=-1) + 1
    _set_source(revision.merged_section, contribution, part.latest, position)
    db.session.flush()
    return revision


def revision_count(merged: MergedSection | None) -> int:
    if merged is None:
        return 0
    return db.session.scalar(
        select(func.count()).select_from(MergedRevision).where(MergedRevision.merged_section_id == merged.id)
    )


def revisions(merged: MergedSection | None, page=1) -> Page[MergedRevision]:
    """One page of the merged text's revisions, newest first (PAGE_SIZE_CARDS: each shows its text)."""
    if merged is None:
        return empty(page, page_size("cards"))
    return paginate(
        select(MergedRevision)
        .where(MergedRevision.merged_section_id == merged.id)
        .order_by(MergedRevision.number.desc())
        .options(selectinload(MergedRevision.created_by)),
        page,
        page_size("cards"),
    )
