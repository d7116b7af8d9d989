"""A round of a chosen size, built with the services as people would build it: `csps` CSPs in
every contribution state, each section written `revisions` times, budget lines, outcomes,
partners, a document, comments, internal notes, an extension, a moved deadline, lead-held budget lines, a merged
bid whose sources have changed since, and an export. The statement-count test builds it small and large and asks every
key page for the same number of SQL statements."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from werkzeug.datastructures import FileStorage

from app.demo_content import minimal_pdf
from app.extensions import db
from app.models import OutboxEmail, OutboxStatus, Role
from app.models.base import utcnow
from tests.factories import CSPFactory, LeadBidderFactory, UserFactory

# One contribution in each state, in this order, then again: a round of 14 has two of each.
STATES = ("not_started", "in_progress", "submitted", "accepted", "changes_requested", "resubmitted", "excluded")


@dataclass
class SizedRound:
    round_id: int
    bid_section_id: int  # a merged section with every accepted CSP's text in it
    csp_section_id: int  # a section the CSP in progress has written `revisions` times
    contribution_id: int  # the contribution in progress (CSP pages)
    reviewed_id: int  # a resubmitted contribution (the review page)
    emails: dict[str, str] = field(default_factory=dict)  # role -> email


def build(csps: int, revisions: int) -> SizedRound:
    """Build the round (in the app context the caller holds) and commit it."""
    from app.services import (
        budget,
        consolidation,
        deadlines,
        documents,
        internal_notes,
        merge,
        review,
        rounds,
        sections,
    )
    from app.services import contributions as contribution_service
    from app.services.exports import prepare, request_export

    lead = LeadBidderFactory(name="Thames Valley OPCC")
    admin = UserFactory(role=Role.LEAD_ADMIN, organisation=lead, email="admin@sized.example.org")
    staff = UserFactory(role=Role.LEAD_STAFF, organisation=lead, email="staff@sized.example.org")
    managers = {}
    for i in range(csps):
        csp = CSPFactory(name=f"Community Safety Partnership {i + 1:03d}", lead_bidder=lead)
        managers[csp.id] = UserFactory(role=Role.CSP_MANAGER, organisation=csp, email=f"manager{i}@sized.example.org")
        UserFactory(role=Role.CSP_CONTRIBUTOR, organisation=csp, email=f"contributor{i}@sized.example.org")
    db.session.flush()
    now = utcnow()
    rnd = rounds.create_round(admin, fund_name="Early Intervention Youth Fund", funder="Home Office",
                              title="Early Intervention Youth Fund", summary="",
                              funder_deadline=now + timedelta(days=28), internal_deadline=now + timedelta(days=14))
    rounds.set_participants(admin, rnd, {csp_id: user.id for csp_id, user in managers.items()})
    rounds.open_round(admin, rnd)
    db.session.flush()
    written = [s for s in rnd.sections if s.csp_contributes]
    years, categories = rnd.financial_years, rnd.cost_categories
    contributions = sorted(rnd.contributions, key=lambda c: c.id)
    by_state: dict[str, list] = {}
    for i, contribution in enumerate(contributions):
        state = STATES[i % len(STATES)]
        by_state.setdefault(state, []).append(contribution)
        if state == "not_started":
            continue
        manager = contribution.manager
        for section in written:
            for n in range(revisions):
                response = sections.current_response(contribution, section)
                sections.save_section(manager, contribution, section,
                                      f"Revision {n + 1} of what {contribution.csp.name} will do.",
                                      response.version if response else 0, completed=True)
        for n in range(3):
            budget.add_line(manager, contribution, financial_year_id=years[n % len(years)].id,
                            cost_category_id=categories[n % len(categories)].id, description=f"Youth worker {n + 1}",
                            amount_pence=1_000_000 + n, match_pence=0)
        for n in range(2):
            budget.add_outcome(manager, contribution, measure=f"Measure {n + 1}", baseline="40 young people",
                               target="20% fewer", by_when=date(2029, 3, 31))
            budget.add_partner(manager, contribution, organisation_name=f"Partner {i % 3 + n}", role="Mentoring")
        documents.upload_document(manager, contribution, FileStorage(
            io.BytesIO(minimal_pdf("Problem profile")), filename="profile.pdf", content_type="application/pdf"))
        for n in range(revisions):  # a conversation: more comments, by more people, in the large round
            author = (staff, manager, admin)[n % 3]
            review.add_comment(author, contribution, written[0].id, f"Comment {n + 1} on this section.")
            review.add_comment(author, contribution, None, f"Comment {n + 1} on the whole contribution.")
            note_author = (staff, admin)[n % 2]  # the lead's internal notes, which no CSP page reads
            internal_notes.add_note(note_author, contribution, written[0].id, f"Internal note {n + 1} on this section.")
            internal_notes.add_note(note_author, contribution, None, f"Internal note {n + 1} on the whole.")
        if state == "in_progress":
            continue
        for part in ("budget", "outcomes", "partners", "documents"):
            contribution_service.set_part_completed(manager, contribution, part, True)
        contribution_service.submit(manager, contribution)
        if state in ("accepted", "excluded"):
            (review.accept if state == "accepted" else review.exclude)(staff, contribution, *(
                () if state == "accepted" else ("Already funded",)))
        elif state in ("changes_requested", "resubmitted"):
            review.request_changes(staff, contribution, [f"section-{written[0].id}"], "Please say more.")
            if state == "resubmitted":
                response = sections.current_response(contribution, written[0])
                sections.save_section(manager, contribution, written[0], "More about what we will do.",
                                      response.version, completed=True)
                contribution_service.submit(manager, contribution)
    in_progress = by_state["in_progress"][0]
    rounds.grant_extension(admin, in_progress, rnd.internal_deadline + timedelta(days=3), "Staff illness")
    deadlines.change_deadline(admin, rnd, "funder", rnd.funder_deadline + timedelta(days=7), "Extended by the funder")
    bid = merge.get_or_create_bid(rnd)
    for n in range(csps // 7):  # lead-held lines, one for every 7 CSPs
        consolidation.add_lead_line(staff, bid, financial_year_id=years[n % len(years)].id,
                                    cost_category_id=categories[-1].id, description=f"Evaluation {n + 1}",
                                    amount_pence=500_000)
    for section in written:
        merged = merge.merged_section(bid, section)
        merge.build_draft(staff, bid, section, expected_version=merged.version if merged else 0)
    # One accepted CSP is asked for more after the merge and changes its text: the bid shows it.
    changed = by_state["accepted"][0]
    review.request_changes(staff, changed, [f"section-{written[0].id}"], "One more figure, please.")
    response = sections.current_response(changed, written[0])
    sections.save_section(changed.manager, changed, written[0], "Changed after the merge.", response.version,
                          completed=True)
    contribution_service.submit(changed.manager, changed)
    review.accept(staff, changed)
    export = request_export(staff, rnd, "docx")
    db.session.commit()
    prepare(export.id)
    db.session.execute(OutboxEmail.__table__.update().values(status=OutboxStatus.CANCELLED, last_error="Sized round"))
    db.session.commit()
    in_progress_csp = in_progress.csp_id
    return SizedRound(
        round_id=rnd.id,
        bid_section_id=written[0].id,
        csp_section_id=written[0].id,
        contribution_id=in_progress.id,
        reviewed_id=by_state["resubmitted"][0].id,
        emails={
            "lead_admin": admin.email,
            "lead_staff": staff.email,
            "csp_manager": managers[in_progress_csp].email,
        },
    )
