"""Bulk actions: where people would otherwise repeat themselves, record by record.

Each bulk action is the per-record service, called once for each chosen record, in the request's
one transaction: its rule (`require()`), its state checks, its audit event and its emails are the
per-record action's own. Nothing is half-done on error because each per-record service refuses
*before* it writes (the rulebook, then a conditional UPDATE on the record's version that writes
nothing when someone else got there first). So the bulk action reports per record: what was done,
and what was not and why, in the rulebook's words; the others still go ahead. The route commits once.

- accepting several contributions (the review overview): `accept_preview` for the confirmation
  page, `accept_contributions` to accept them (review.accept each, at the version the page showed);
- reminding the CSPs of several contributions now: `remind_contributions` (reminders.remind_now
  each, once per contribution and request key);
- building the first drafts of every section of the collective bid: `build_all_drafts` builds the
  sections whose text nobody has edited, and lists those whose edited text a new draft would
  replace; `replace_drafts` replaces only those the user ticked, at the version the confirmation
  page showed (a section someone edited in between is not overwritten).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.models import Contribution, Round, SectionTemplate, User
from app.models.bid import CollectiveBid, SectionState
from app.policy import require, why_not
from app.services import ServiceError
from app.services import merge as merge_service
from app.services import reminders as reminders_service
from app.services import review as review_service

# The request key of a bulk reminder: a random value the form carries (uuid4().hex).
REQUEST_KEY = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Outcome:
    """One record of a bulk action: its name in words, whether it was done, and what happened
    (why not, in the rulebook's or the service's words)."""

    name: str
    done: bool
    detail: str = ""
    record_id: int | None = None
    version: int | None = None  # the record's version when it was shown (for a confirmation page)


@dataclass
class Result:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def done(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def not_done(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.done]


def _chosen(rnd: Round, ids) -> list[Contribution]:
    """The round's contributions with these ids, by CSP name (ids of other rounds are ignored:
    a page of ours never sends them)."""
    wanted = set(ids)
    return sorted((c for c in rnd.contributions if c.id in wanted), key=lambda c: (c.csp.name.lower(), c.id))


# --- accepting several contributions -------------------------------------------------------------


def accept_preview(actor: User, rnd: Round, ids) -> Result:
    """What accepting these contributions would do, for the confirmation page: done=True for
    those that can be accepted; the others with the rulebook's reason. Changes nothing."""
    require(actor, "round.accept_contributions", rnd)
    result = Result()
    for contribution in _chosen(rnd, ids):
        reason = why_not(actor, "contribution.accept", contribution)
        result.outcomes.append(
            Outcome(contribution.csp.name, reason is None, reason or "", contribution.id, contribution.version)
        )
    return result


def accept_contributions(actor: User, rnd: Round, versions: dict[int, int | None]) -> Result:
    """Accept each chosen contribution (review.accept: its rule, its audit event, its email to the
    CSP), at the version the confirmation page showed: one changed since is not accepted."""
    require(actor, "round.accept_contributions", rnd)
    result = Result()
    for contribution in _chosen(rnd, versions):
        name = contribution.csp.name
        try:
            review_service.accept(actor, contribution, versions[contribution.id])
        except ServiceError as exc:
            result.outcomes.append(Outcome(name, False, exc.message, contribution.id))
        else:
            result.outcomes.append(Outcome(name, True, "accepted", contribution.id))
    return result


# --- reminding several CSPs now ------------------------------------------------------------------


def remind_contributions(actor: User, rnd: Round, ids, request_key: str) -> Result:
    """Remind the people of each chosen contribution's CSP now (reminders.remind_now: its rule, its
    audit event, one email a person through the outbox). `request_key` is the form's unique value:
    the same request sent again reminds nobody twice."""
    require(actor, "round.remind_contributions", rnd)
    if not REQUEST_KEY.match(request_key or ""):
        raise ServiceError("Your request timed out. Try again")
    result = Result()
    for contribution in _chosen(rnd, ids):
        name = contribution.csp.name
        try:
            reminded = reminders_service.remind_now(actor, contribution, request_key)
        except ServiceError as exc:
            result.outcomes.append(Outcome(name, False, exc.message, contribution.id))
            continue
        if reminded:
            people = ", ".join(u.full_name for u in reminded)
            result.outcomes.append(Outcome(name, True, f"reminder queued for {people}", contribution.id))
        else:
            result.outcomes.append(Outcome(name, False, "already reminded by this request: nothing more was sent",
                                           contribution.id))
    return result


# --- the first drafts of every section -----------------------------------------------------------


def section_name(section: SectionTemplate) -> str:
    return f"{section.number}. {section.title}"


@dataclass(frozen=True)
class EditedSection:
    """A section whose merged text was edited since its automatic draft: replaced only if the user
    ticks it, and only if it is still at `version`."""

    section: SectionTemplate
    version: int
    words: int


@dataclass
class DraftsResult(Result):
    up_to_date: list[SectionTemplate] = field(default_factory=list)
    edited: list[EditedSection] = field(default_factory=list)


def build_all_drafts(actor: User, bid: CollectiveBid) -> DraftsResult:
    """Build the first draft of every section the CSPs write (merge.build_draft each), except:
    sections marked as final (listed, with the reason); sections whose text was edited since its
    last automatic draft (returned in `edited`, for the user to choose); sections never drafted
    that no accepted contribution has written yet (listed: an empty draft would help nobody);
    sections whose automatic draft is already what a new one would be (`up_to_date`). Lead-only
    sections have no CSP text to merge and are left alone."""
    require(actor, "bid.edit", bid)
    sections = [s for s in bid.round.sections if s.csp_contributes]
    workspaces = merge_service.workspaces(bid, sections)
    if not any(ws.parts for ws in workspaces):
        raise ServiceError("There are no accepted contributions to merge yet")
    result = DraftsResult()
    for ws in workspaces:
        section, name = ws.section, section_name(ws.section)
        if ws.merged is not None and ws.merged.state == SectionState.FINAL:
            reason = why_not(actor, "bid.edit_text", ws.merged) or "This section has been marked as final"
            result.outcomes.append(Outcome(name, False, reason, section.id))
        elif ws.edited_since_draft:
            result.edited.append(EditedSection(section, ws.merged.version, ws.words))
        elif not ws.drafted and not any(p.text for p in ws.parts):
            result.outcomes.append(Outcome(name, False, "none of the accepted contributions has text for it yet",
                                           section.id))
        elif ws.drafted and merge_service.draft_text(ws) == ws.text and not ws.changed and not ws.missing:
            result.up_to_date.append(section)
        else:
            result.outcomes.append(_build(actor, bid, section, ws.merged.version if ws.merged else 0, False))
    return result


def _build(actor: User, bid: CollectiveBid, section: SectionTemplate, version: int, confirmed: bool) -> Outcome:
    name = section_name(section)
    try:
        merge_service.build_draft(actor, bid, section, version, confirmed=confirmed)
    except merge_service.MergedConflict:
        return Outcome(name, False, "someone else changed its text after you looked, so it was not replaced. "
                                    "Check it, then build its draft again", section.id)
    except ServiceError as exc:
        return Outcome(name, False, exc.message, section.id)
    return Outcome(name, True, "replaced with a new first draft" if confirmed else "first draft built", section.id)


def replace_drafts(actor: User, bid: CollectiveBid, versions: dict[int, int], chosen: set[int]) -> Result:
    """The confirmation of build_all_drafts: for each section it listed (`versions`: section id ->
    the version the page showed), replace the edited text with a new first draft if the user ticked
    it (`chosen`) and it is still at that version; keep it otherwise."""
    require(actor, "bid.edit", bid)
    result = Result()
    for section in bid.round.sections:
        if section.id not in versions:
            continue
        if section.id not in chosen:
            result.outcomes.append(Outcome(section_name(section), False, "your edited text was kept", section.id))
            continue
        result.outcomes.append(_build(actor, bid, section, versions[section.id], True))
    return result
