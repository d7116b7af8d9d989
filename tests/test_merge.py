"""The collective bid's merged sections: first drafts in the chosen order with attribution and
provenance, flags and diffs when a CSP text changes after the merge, re-merging and reviewing,
conflicting saves, word limits, lead-only sections, and who may do what."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEvent,
    CollectiveBid,
    Contribution,
    ContributionStatus,
    MergedRevision,
    MergedSection,
    MergedSource,
    Round,
    RoundStatus,
    SectionTemplate,
    User,
)
from app.models.bid import BidStatus
from app.services import merge
from app.services.sections import save_section
from app.text import diff_texts
from tests.conftest import post_form

READING = "Reading Community Safety Partnership"
SLOUGH = "Safer Slough Partnership"
READING_TEXT = "Knife crime among under-18s in Reading rose by a fifth in 2017/18."
SLOUGH_TEXT = "Slough saw 41 school exclusions linked to gang activity last year."


def write(app, world, who: str, contribution_id: int, text: str, section_id: int | None = None) -> None:
    """A CSP's text saved through the service (as the CSP would), then the contribution accepted."""
    with app.app_context():
        contribution = db.session.get(Contribution, contribution_id)
        section = db.session.get(SectionTemplate, section_id or world.section_a)
        status = contribution.status
        contribution.status = ContributionStatus.IN_PROGRESS
        db.session.flush()
        response = next((r for r in contribution.responses if r.section_id == section.id), None)
        save_section(db.session.get(User, world.users[who]), contribution, section, text,
                     response.version if response else 0, completed=False)
        contribution.status = status
        db.session.commit()


def set_status(app, contribution_id: int, status: ContributionStatus) -> None:
    with app.app_context():
        db.session.get(Contribution, contribution_id).status = status
        db.session.commit()


def accept_both(app, world) -> None:
    write(app, world, "csp_manager", world.contribution_a1, READING_TEXT)
    write(app, world, "other_csp_manager", world.contribution_a2, SLOUGH_TEXT)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)


def section_url(world, section_id=None) -> str:
    return f"/bid/rounds/{world.round_a}/sections/{section_id or world.section_a}"


def source_url(world, action: str) -> str:
    return f"{section_url(world)}/sources/{world.contribution_a1}/{action}"


def merged(app, world, section_id=None) -> MergedSection | None:
    with app.app_context():
        section_id = section_id or world.section_a
        row = db.session.scalar(select(MergedSection).where(MergedSection.section_id == section_id))
        if row is not None:
            db.session.expunge(row)
        return row


def version(app, world, section_id=None) -> int:
    row = merged(app, world, section_id)
    return row.version if row else 0


def build(client, world, section_id=None, **extra):
    url = section_url(world, section_id)
    return post_form(client, f"{url}/draft", {"version": str(version(client.application, world, section_id)), **extra},
                     page=url)


def save(client, world, text: str, at_version: int, section_id=None):
    url = section_url(world, section_id)
    return post_form(client, url, {"text": text, "version": str(at_version)})


def lead_only_section(app, world) -> int:
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        return next(s.id for s in rnd.sections if not s.csp_contributes)


def words(text: str) -> int:
    return len(text.split())


# --- the first draft ------------------------------------------------------------------------------


def test_draft_is_built_in_the_chosen_order_with_attribution_and_provenance(app, world, signed_in):
    accept_both(app, world)
    staff = signed_in("lead_staff")
    overview = staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    # Alphabetical by default: Reading, then Safer Slough.
    assert overview.index(READING) < overview.index(SLOUGH)

    moved = post_form(staff, f"/bid/rounds/{world.round_a}/merge-order/{world.contribution_a2}",
                      {"direction": "up"}, page=f"/bid/rounds/{world.round_a}")
    assert moved.status_code == 302
    response = build(staff, world)
    assert response.status_code == 302

    with app.app_context():
        bid = db.session.scalar(select(CollectiveBid).where(CollectiveBid.round_id == world.round_a))
        assert bid.merge_order == [world.contribution_a2, world.contribution_a1]
        row = db.session.scalar(select(MergedSection).where(MergedSection.section_id == world.section_a))
        assert row.text == f"{SLOUGH}:\n\n{SLOUGH_TEXT}\n\n{READING}:\n\n{READING_TEXT}"
        assert [(r.number, r.note) for r in row.revisions] == [(1, "Automatic first draft")]
        sources = {s.contribution_id: s for s in row.sources}
        assert set(sources) == {world.contribution_a1, world.contribution_a2}
        for contribution_id, source in sources.items():
            contribution = db.session.get(Contribution, contribution_id)
            latest = next(r for r in contribution.responses if r.section_id == world.section_a).revisions[-1]
            assert source.revision_id == latest.id
        assert sources[world.contribution_a2].position == 0
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"merge.draft_built", "bid.merge_order_changed"} <= actions

    page = staff.get(section_url(world)).get_data(as_text=True)
    assert 'maxwords' in page or 'data-maxwords' in page
    assert "In the merged text" in page


def test_excluded_and_unaccepted_contributions_are_not_merged(app, world, signed_in):
    write(app, world, "csp_manager", world.contribution_a1, READING_TEXT)
    write(app, world, "other_csp_manager", world.contribution_a2, SLOUGH_TEXT)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    set_status(app, world.contribution_a2, ContributionStatus.EXCLUDED)
    staff = signed_in("lead_staff")
    assert SLOUGH not in staff.get(section_url(world)).get_data(as_text=True)
    build(staff, world)
    row = merged(app, world)
    assert row.text == f"{READING}:\n\n{READING_TEXT}"
    set_status(app, world.contribution_a2, ContributionStatus.SUBMITTED)
    build(staff, world)
    assert SLOUGH not in merged(app, world).text


def test_contribution_accepted_after_the_draft_can_be_added(app, world, signed_in):
    write(app, world, "csp_manager", world.contribution_a1, READING_TEXT)
    write(app, world, "other_csp_manager", world.contribution_a2, SLOUGH_TEXT)
    set_status(app, world.contribution_a1, ContributionStatus.ACCEPTED)
    staff = signed_in("lead_staff")
    build(staff, world)
    set_status(app, world.contribution_a2, ContributionStatus.ACCEPTED)
    page = staff.get(section_url(world)).get_data(as_text=True)
    assert "Not yet in the merged text" in page
    assert "Needs review" in staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    response = post_form(staff, f"{section_url(world)}/sources/{world.contribution_a2}/add", page=section_url(world))
    assert response.status_code == 302
    assert merged(app, world).text == f"{READING}:\n\n{READING_TEXT}\n\n{SLOUGH}:\n\n{SLOUGH_TEXT}"
    assert "Not yet in the merged text" not in staff.get(section_url(world)).get_data(as_text=True)


def test_rebuilding_an_edited_text_asks_first_and_keeps_the_old_text(app, world, signed_in):
    accept_both(app, world)
    staff = signed_in("lead_staff")
    build(staff, world)
    save(staff, world, "The lead's own careful wording.", 1)
    asked = build(staff, world)
    assert asked.status_code == 200
    assert "Are you sure you want to replace the merged text?" in asked.get_data(as_text=True)
    assert merged(app, world).text == "The lead's own careful wording."

    confirmed = build(staff, world, confirm="yes")
    assert confirmed.status_code == 302
    row = merged(app, world)
    assert row.text.startswith(f"{READING}:")
    with app.app_context():
        texts = [r.text for r in db.session.scalars(select(MergedRevision).order_by(MergedRevision.number))]
    assert "The lead's own careful wording." in texts and len(texts) == 3


# --- provenance -----------------------------------------------------------------------------------


def changed_after_merge(app, world, signed_in):
    accept_both(app, world)
    staff = signed_in("lead_staff")
    build(staff, world)
    write(app, world, "csp_manager", world.contribution_a1, READING_TEXT.replace("a fifth", "a quarter"))
    return staff


def test_csp_edit_after_the_merge_is_flagged_with_the_diff(app, world, signed_in):
    staff = changed_after_merge(app, world, signed_in)
    page = staff.get(section_url(world)).get_data(as_text=True)
    assert "Changed since the merge" in page
    assert "changed its text after it was merged" in page
    assert re.search(r'<del class="pb-diff__del">.*?fifth.*?</del>', page)
    assert re.search(r'<ins class="pb-diff__ins">.*?quarter.*?</ins>', page)
    assert "Changes since revision 1" in page
    overview = staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    assert "Needs review" in overview and f"Changed since the merge: {READING}" in overview

    with app.app_context():
        bid = db.session.scalar(select(CollectiveBid))
        ws = merge.workspace(bid, db.session.get(SectionTemplate, world.section_a))
        part = ws.changed[0]
        assert part.contribution.id == world.contribution_a1
        assert (part.diff.words_added, part.diff.words_removed) == (1, 1)


def test_the_overview_flags_changes_without_computing_diffs(app, world, signed_in, monkeypatch):
    """The bid overview shows that a CSP changed its text, not how: no diff is made for it."""
    staff = changed_after_merge(app, world, signed_in)

    def no_diffs(*args, **kwargs):
        raise AssertionError("the overview computed a diff it does not show")

    monkeypatch.setattr(merge, "diff_texts", no_diffs)
    overview = staff.get(f"/bid/rounds/{world.round_a}")
    assert overview.status_code == 200
    assert f"Changed since the merge: {READING}" in overview.get_data(as_text=True)


def test_the_overview_reads_only_which_revision_each_csp_text_is_at(app, world, signed_in):
    """Whether a part changed since the merge is a matter of revision ids: the overview leaves the
    CSPs' texts unread."""
    changed_after_merge(app, world, signed_in)
    with app.app_context():
        workspaces = merge.overview(db.session.scalar(select(CollectiveBid)))
        parts = [p for ws in workspaces for p in ws.parts if p.latest is not None]
        assert parts and [p.contribution.id for ws in workspaces for p in ws.changed] == [world.contribution_a1]
        assert all("text" not in vars(p.latest) for p in parts)


def test_the_section_page_diffs_only_the_changed_parts_and_remembers_them(app, world, signed_in, monkeypatch):
    staff = changed_after_merge(app, world, signed_in)
    made = []

    def counted(older, newer):
        made.append((older, newer))
        return diff_texts(older, newer)

    merge._diff.cache_clear()
    monkeypatch.setattr(merge, "diff_texts", counted)
    for _ in range(2):
        page = staff.get(section_url(world)).get_data(as_text=True)
        assert re.search(r'<ins class="pb-diff__ins">.*?quarter.*?</ins>', page)
    assert made == [(READING_TEXT, READING_TEXT.replace("a fifth", "a quarter"))]  # Reading's, once


def test_remerge_replaces_the_csps_part_and_clears_the_flag(app, world, signed_in):
    staff = changed_after_merge(app, world, signed_in)
    response = post_form(staff, source_url(world, "re-merge"), page=section_url(world))
    assert response.status_code == 302
    row = merged(app, world)
    assert "a quarter" in row.text and "a fifth" not in row.text
    assert SLOUGH_TEXT in row.text
    page = staff.get(section_url(world)).get_data(as_text=True)
    assert "Changed since the merge" not in page
    with app.app_context():
        source = db.session.scalar(select(MergedSource).where(MergedSource.contribution_id == world.contribution_a1))
        assert source.revision.text.endswith("a quarter in 2017/18.")
        notes = [r.note for r in db.session.scalars(select(MergedRevision).order_by(MergedRevision.number))]
        assert notes == ["Automatic first draft", f"Re-merged {READING} (revision 2)"]
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merge.remerged")) is not None


def test_remerge_of_an_edited_part_explains_and_changes_nothing(app, world, signed_in):
    staff = changed_after_merge(app, world, signed_in)
    text = merged(app, world).text.replace("rose by a fifth", "rose by 20%")
    save(staff, world, text, 1)
    response = post_form(staff, f"{section_url(world)}/sources/{world.contribution_a1}/re-merge",
                         page=section_url(world), follow_redirects=True)
    assert "cannot be replaced automatically" in response.get_data(as_text=True)
    assert merged(app, world).text == text


def test_mark_as_reviewed_clears_the_flag_and_keeps_the_text(app, world, signed_in):
    staff = changed_after_merge(app, world, signed_in)
    before = merged(app, world)
    response = post_form(staff, source_url(world, "reviewed"), page=section_url(world))
    assert response.status_code == 302
    after = merged(app, world)
    assert (after.text, after.version) == (before.text, before.version)
    assert "Changed since the merge" not in staff.get(section_url(world)).get_data(as_text=True)
    with app.app_context():
        source = db.session.scalar(select(MergedSource).where(MergedSource.contribution_id == world.contribution_a1))
        assert source.reviewed_revision_id is not None and source.reviewed_revision_id > source.revision_id
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merge.reviewed")) is not None
    # A later change is flagged again.
    write(app, world, "csp_manager", world.contribution_a1, "Completely new text.")
    assert "Changed since the merge" in staff.get(section_url(world)).get_data(as_text=True)


# --- saving -------------------------------------------------------------------------------------


def test_conflicting_saves_keep_both_texts_and_every_revision(app, world, signed_in):
    accept_both(app, world)
    staff, admin = signed_in("lead_staff"), signed_in("lead_admin")
    build(staff, world)
    assert save(staff, world, "First editor's text.", 1).status_code == 302
    conflict = save(admin, world, "Second editor's text.", 1)
    assert conflict.status_code == 409
    body = conflict.get_data(as_text=True)
    assert "This section has changed since you opened it" in body
    assert "First editor&#39;s text." in body and "Second editor&#39;s text." in body
    assert merged(app, world).text == "First editor's text."
    # Saving again from the conflict page (at the newer version) works.
    assert save(admin, world, "Second editor's text.", 2).status_code == 302
    with app.app_context():
        texts = [r.text for r in db.session.scalars(select(MergedRevision).order_by(MergedRevision.number))]
    assert texts[1:] == ["First editor's text.", "Second editor's text."]
    history = staff.get(f"{section_url(world)}/history").get_data(as_text=True)
    assert "Revision 3 (the latest)" in history and "Automatic first draft" in history


def test_word_limit_overflow_when_texts_that_fit_overflow_together(app, world, signed_in):
    with app.app_context():
        section = db.session.get(SectionTemplate, world.section_a)
        section.csp_word_limit, section.word_limit = 15, 20
        db.session.commit()
    accept_both(app, world)
    each = [words(READING_TEXT), words(SLOUGH_TEXT)]
    assert all(n <= 15 for n in each) and sum(each) > 20
    staff = signed_in("lead_staff")
    before = staff.get(section_url(world)).get_data(as_text=True)
    together = sum(each)
    assert f"{together} words from 2 contributions" in before
    assert f"Together the accepted CSP texts are {together - 20} words over the funder" in before

    build(staff, world)
    text = merged(app, world).text
    expected = words(text)  # attribution lines count too
    assert expected == together + words(READING + ":") + words(SLOUGH + ":")
    page = staff.get(section_url(world)).get_data(as_text=True)
    assert f"The merged text is {expected - 20} words over the funder" in page
    assert 'data-maxwords="20"' in page
    overview = staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    assert f"{expected} of 20" in overview and f"{expected - 20} words over" in overview


def test_lead_only_sections_are_written_directly(app, world, signed_in):
    accept_both(app, world)
    section_id = lead_only_section(app, world)
    staff = signed_in("lead_staff")
    page = staff.get(section_url(world, section_id)).get_data(as_text=True)
    assert "Build the first draft" not in page and "The lead bidder writes this section" in page
    assert save(staff, world, "Thames Valley OPCC is the accountable body.", 0, section_id).status_code == 302
    row = merged(app, world, section_id)
    assert row.text == "Thames Valley OPCC is the accountable body." and row.version == 1
    assert "Written" in staff.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    refused = build(staff, world, section_id)
    assert refused.status_code == 302 and merged(app, world, section_id).version == 1


def test_invalid_or_unchanged_save(app, world, signed_in):
    staff = signed_in("lead_staff")
    long = save(staff, world, "x" * 50_001, 0)
    assert long.status_code == 400 and "must be 50,000 characters or fewer" in long.get_data(as_text=True)
    assert save(staff, world, "Text", 0).status_code == 302
    same = save(staff, world, "Text", 1)
    assert same.status_code == 302 and merged(app, world).version == 1


# --- who may do what ----------------------------------------------------------------------------


def test_get_or_create_bid_makes_one_bid(app, world):
    """Every round has its bid from the moment it is created (so pages only read it)."""
    with app.app_context():
        assert len(db.session.scalars(select(CollectiveBid)).all()) == 2  # rounds A and B
        rnd = db.session.get(Round, world.round_a)
        first_id = merge.get_or_create_bid(rnd).id
        db.session.commit()
        db.session.expunge_all()
        again = merge.get_or_create_bid(db.session.get(Round, world.round_a))
        assert again.id == first_id and again.status == BidStatus.DRAFT and again.merge_order == []
        assert len(db.session.scalars(select(CollectiveBid)).all()) == 2


def test_other_lead_bidder_gets_404(app, world, signed_in):
    other = signed_in("other_lead_admin")
    assert other.get(f"/bid/rounds/{world.round_a}").status_code == 404
    assert other.get(section_url(world)).status_code == 404
    # And a section of another round, through our own round's URL.
    admin = signed_in("lead_admin")
    with app.app_context():
        section_b = db.session.get(Round, world.round_b).sections[1].id
    assert admin.get(f"/bid/rounds/{world.round_a}/sections/{section_b}").status_code == 404


@pytest.mark.parametrize("who", ["csp_manager", "csp_contributor"])
def test_csp_users_get_403(app, world, signed_in, who):
    client = signed_in(who)
    assert client.get(f"/bid/rounds/{world.round_a}").status_code == 403
    assert client.get(section_url(world)).status_code == 403
    assert client.post(section_url(world), data={"text": "x", "version": "0"}).status_code == 403


def test_viewer_reads_but_cannot_change(app, world, signed_in):
    accept_both(app, world)
    build(signed_in("lead_staff"), world)
    viewer = signed_in("viewer")
    page = viewer.get(section_url(world)).get_data(as_text=True)
    assert READING_TEXT in page and "<textarea" not in page and "Build the first draft" not in page
    assert "Move up" not in viewer.get(f"/bid/rounds/{world.round_a}").get_data(as_text=True)
    # Refused by role, before the form (or its CSRF token) is read.
    assert viewer.post(section_url(world), data={"text": "x", "version": "1"}).status_code == 403
    assert viewer.post(f"{section_url(world)}/draft", data={"version": "1"}).status_code == 403


def test_signed_off_bid_is_read_only(app, world, signed_in):
    accept_both(app, world)
    staff = signed_in("lead_staff")
    build(staff, world)
    url = section_url(world)
    with app.app_context():
        db.session.get(Round, world.round_a).status = RoundStatus.SIGNED_OFF  # the bid is read from its round
        db.session.commit()
    page = staff.get(url).get_data(as_text=True)
    assert "<textarea" not in page and "cannot be changed" in page
    token_page = f"/bid/rounds/{world.round_a}"  # any page with a CSRF token
    refused = post_form(staff, url, {"text": "Changed after sign-off", "version": "1"}, page=token_page,
                        follow_redirects=True)
    assert "cannot be changed" in refused.get_data(as_text=True)
    build_refused = post_form(staff, f"{url}/draft", {"version": "1", "confirm": "yes"}, page=token_page)
    assert build_refused.status_code == 302
    row = merged(app, world)
    assert row.version == 1 and row.text.startswith(READING)


def test_get_or_create_bid_when_another_request_made_it_first(app, world, monkeypatch):
    """Two first visits at once: the slower one's INSERT does nothing and it loads the other's bid."""
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        made_first = merge.get_or_create_bid(rnd).id
        db.session.commit()
        real_scalar = db.session.scalar
        calls = []

        def scalar(statement, *args, **kwargs):
            calls.append(statement)
            if len(calls) == 1:  # this request's first look found nothing...
                return None
            return real_scalar(statement, *args, **kwargs)

        monkeypatch.setattr(db.session, "scalar", scalar)
        again = merge.get_or_create_bid(rnd)  # ...so it inserts, and the insert meets the other's row
        assert again.id == made_first
        monkeypatch.undo()
        assert len(db.session.scalars(select(CollectiveBid)).all()) == 2
