"""What changed since the lead bidder asked for changes: the reviewer's page comparing each section
word by word, and the budget lines, outcomes and partners item by item, with the text and items as
they were when changes were asked for; the round overview's flag for resubmissions not yet decided."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import BudgetLine, Contribution, Outcome, User
from app.models.review import ChangeRequest
from app.services import budget
from tests.conftest import post_form
from tests.test_review import review_url, section_key, submit_a1

CSP = "Reading Community Safety Partnership"
TAG = "Resubmitted – changes to review"


def ask_for_changes(world, staff, items=None, message="Please add the 2017/18 figures."):
    response = post_form(staff, review_url(world, "/request-changes"),
                         {"items": items or [section_key(world), "budget"], "message": message})
    assert response.status_code == 302


def rewrite_and_resubmit(app, world, manager, text: str):
    """The CSP changes section A's text, the budget line's amount, replaces the outcome, adds a partner,
    and submits again (through the pages for the text and the submission)."""
    data = {"text": text, "version": "1", "complete": "Mark as completed"}
    response = post_form(manager, f"/contributions/{world.contribution_a1}/sections/{world.section_a}", data)
    assert response.status_code == 302
    with app.test_request_context():
        who = db.session.get(User, world.users["csp_manager"])
        c = db.session.get(Contribution, world.contribution_a1)
        line = db.session.scalar(select(BudgetLine).where(BudgetLine.contribution_id == c.id))
        budget.change_line(who, line, expected_version=line.version, financial_year_id=line.financial_year_id,
                           cost_category_id=line.cost_category_id, description=line.description,
                           amount_pence=12_345_67)
        outcome = db.session.scalar(select(Outcome).where(Outcome.contribution_id == c.id))
        budget.add_outcome(who, c, measure="Fewer exclusions from school", baseline="30", target="20",
                           by_when=outcome.by_when)
        budget.delete_outcome(who, outcome, outcome.version)
        budget.add_partner(who, c, organisation_name="Youth Offending Team", role="Referrals")
        db.session.commit()
    response = post_form(manager, f"/contributions/{world.contribution_a1}/submit",
                         page=f"/contributions/{world.contribution_a1}/check-your-answers")
    assert response.headers["Location"].endswith("/submitted")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def card(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find('class="govuk-summary-card pb-', start + 1)
    return page[start:end if end != -1 else None]


def test_the_reviewer_sees_words_added_and_removed_and_the_budget_line_old_to_new(app, world, signed_in):
    manager = submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    ask_for_changes(world, staff)
    with app.app_context():
        title = db.session.get(Contribution, world.contribution_a1).round.sections
        other = next(s for s in title if s.csp_contributes and s.id != world.section_a)
        [section_a] = [s for s in title if s.id == world.section_a]
        old_text = f"Our text for {section_a.title}."
    rewrite_and_resubmit(app, world, manager, f"Our evidence for {section_a.title} from 2017/18.")

    review = staff.get(review_url(world)).get_data(as_text=True)
    assert "What changed since you requested changes" in review
    page = staff.get(review_url(world, "/changes"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)

    changed = card(html, f"change-section-{world.section_a}")
    # Removed and added words are marked, and say so in words (not by colour alone).
    assert re.search(r'<del class="pb-diff__del"><span class="govuk-visually-hidden">removed text: </span>text',
                     changed)
    assert re.search(r'<ins class="pb-diff__ins"><span class="govuk-visually-hidden">added text: </span>evidence',
                     changed)
    assert "from 2017/18" in text_of(changed) and "Changes asked for" in changed
    assert old_text.split()[0] in text_of(changed)
    # A section nobody touched says so.
    assert "No changes" in text_of(card(html, f"change-section-{other.id}"))

    budget_card = text_of(card(html, "change-budget"))
    assert "Changed (1)" in budget_card
    assert "Amount requested: £61,250.50 → £12,345.67" in budget_card
    assert "Two detached youth workers" in budget_card
    outcomes = text_of(card(html, "change-outcomes"))
    assert "Removed (1)" in outcomes and "Young people completing the programme" in outcomes
    assert "Added (1)" in outcomes and "Fewer exclusions from school" in outcomes
    partners = text_of(card(html, "change-partners"))
    assert "Added (1)" in partners and "Youth Offending Team" in partners and "Role: Referrals" in partners


def test_nothing_changed_says_no_changes_everywhere(app, world, signed_in):
    manager = submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    ask_for_changes(world, staff)
    response = post_form(manager, f"/contributions/{world.contribution_a1}/submit",
                         page=f"/contributions/{world.contribution_a1}/check-your-answers")
    assert response.headers["Location"].endswith("/submitted")
    html = staff.get(review_url(world, "/changes")).get_data(as_text=True)
    assert "<ins" not in html.split('id="sections"')[1] and "<del" not in html.split('id="sections"')[1]
    with app.app_context():
        sections = [s for s in db.session.get(Contribution, world.contribution_a1).round.sections
                    if s.csp_contributes]
    assert text_of(html).count("No changes") == len(sections) + 3  # every section, budget, outcomes, partners
    assert f"0 of {len(sections)} sections changed" in text_of(html)


def test_before_any_change_request_there_is_nothing_to_compare(app, world, signed_in):
    submit_a1(app, world, signed_in)
    html = signed_in("viewer").get(review_url(world, "/changes")).get_data(as_text=True)
    assert "there is nothing to compare" in html


def test_csp_users_never_see_the_lead_bidders_comparison(app, world, signed_in):
    submit_a1(app, world, signed_in)
    for who in ("csp_manager", "csp_contributor"):
        assert signed_in(who).get(review_url(world, "/changes")).status_code == 403


def test_the_overview_flags_a_resubmission_until_the_lead_decides(app, world, signed_in):
    manager = submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    overview = f"/review/rounds/{world.round_a}"
    assert TAG not in staff.get(overview).get_data(as_text=True)
    ask_for_changes(world, staff)
    assert TAG not in staff.get(overview).get_data(as_text=True)  # with the CSP: nothing to review yet
    rewrite_and_resubmit(app, world, manager, "A new text.")

    row = next(r for r in staff.get(overview).get_data(as_text=True).split("<tr") if CSP in r)
    assert TAG in row

    # Accepting is a decision: the flag goes.
    response = post_form(staff, review_url(world, "/accept"), {"version": _version(app, world)}, page=review_url(world))
    assert response.status_code == 302
    assert TAG not in staff.get(overview).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ChangeRequest)).reviewed_at is not None


def test_excluding_is_a_decision_and_including_again_does_not_bring_the_flag_back(app, world, signed_in):
    manager = submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    overview = f"/review/rounds/{world.round_a}"
    ask_for_changes(world, staff)
    rewrite_and_resubmit(app, world, manager, "A new text.")
    assert TAG in staff.get(overview).get_data(as_text=True)
    response = post_form(staff, review_url(world, "/exclude"),
                         {"reason": "Out of area", "version": _version(app, world)})
    assert response.status_code == 302
    assert TAG not in staff.get(overview).get_data(as_text=True)
    response = post_form(staff, review_url(world, "/include"), {"version": _version(app, world)},
                         page=review_url(world))
    assert response.status_code == 302
    page = staff.get(overview).get_data(as_text=True)
    assert TAG not in page and "Resubmitted" in page


def test_asking_for_changes_again_is_a_decision_and_the_next_resubmission_is_flagged(app, world, signed_in):
    manager = submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    overview = f"/review/rounds/{world.round_a}"
    ask_for_changes(world, staff)
    rewrite_and_resubmit(app, world, manager, "A new text.")
    ask_for_changes(world, staff, items=[section_key(world)], message="One more figure, please.")
    assert TAG not in staff.get(overview).get_data(as_text=True)
    data = {"text": "A newer text.", "version": "2", "complete": "Mark as completed"}
    assert post_form(manager, f"/contributions/{world.contribution_a1}/sections/{world.section_a}",
                     data).status_code == 302
    post_form(manager, f"/contributions/{world.contribution_a1}/submit",
              page=f"/contributions/{world.contribution_a1}/check-your-answers")
    assert TAG in staff.get(overview).get_data(as_text=True)
    # The comparison is with the latest request: "A new text." -> "A newer text."
    changed = card(staff.get(review_url(world, "/changes")).get_data(as_text=True),
                   f"change-section-{world.section_a}")
    assert "removed text: </span>new" in changed and "added text: </span>newer" in changed
    assert "One more figure" in staff.get(review_url(world, "/changes")).get_data(as_text=True)


def _version(app, world) -> str:
    with app.app_context():
        return str(db.session.get(Contribution, world.contribution_a1).version)
