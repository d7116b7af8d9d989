"""Reviewing contributions: the round overview, comments, asking for changes, accepting,
excluding and including again, and each contribution's activity timeline."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BudgetLine, Contribution, ContributionStatus, SectionTemplate
from app.models.base import utcnow
from app.models.review import ChangeRequest, ReviewComment
from app.services import review as service
from app.services.outbox import deliver_due
from tests.conftest import csrf_token, post_form
from tests.test_submit import complete_everything, status_of


def submit_a1(app, world, signed_in):
    """CSP A1 completes everything and its manager submits it through the pages."""
    complete_everything(app, world.contribution_a1)
    manager = signed_in("csp_manager")
    url = f"/contributions/{world.contribution_a1}/check-your-answers"
    response = post_form(manager, f"/contributions/{world.contribution_a1}/submit", page=url)
    assert response.headers["Location"].endswith("/submitted")
    return manager


def section_key(world) -> str:
    return f"section-{world.section_a}"


def deliver(app):
    with app.app_context():
        report = deliver_due()
    assert not report.errors, report.errors


def review_url(world, what: str = "") -> str:
    return f"/review/contributions/{world.contribution_a1}{what}"


# --- the overview ------------------------------------------------------------------------------


def test_overview_shows_each_csp_with_numbers_and_totals(app, world, signed_in):
    submit_a1(app, world, signed_in)
    with app.app_context():
        a2 = db.session.get(Contribution, world.contribution_a2)
        rnd = a2.round
        db.session.add_all(
            [
                BudgetLine(
                    contribution=a2,
                    financial_year=rnd.financial_years[0],
                    cost_category=rnd.cost_categories[0],
                    description="Mentoring",
                    amount_pence=1_000_01,
                ),
                BudgetLine(
                    contribution=a2,
                    financial_year=rnd.financial_years[-1],
                    cost_category=rnd.cost_categories[-1],
                    description="Evaluation",
                    amount_pence=2_345_66,
                ),
            ]
        )
        a2.status = ContributionStatus.IN_PROGRESS
        db.session.commit()
        parts = len([s for s in rnd.sections if s.csp_contributes]) + 4
    a1_total, a2_total = 61_250_50, 1_000_01 + 2_345_66  # pence, independently of the app

    page = signed_in("viewer").get(f"/review/rounds/{world.round_a}").get_data(as_text=True)
    assert "Reading Community Safety Partnership" in page and "Safer Slough Partnership" in page
    assert "1 of 2" in page  # contributions submitted
    assert f"{parts} of {parts}" in page  # A1's parts completed
    assert f"0 of {parts}" in page  # A2's
    assert "£61,250.50" in page and "£3,345.67" in page
    total = a1_total + a2_total
    assert f"£{total // 100:,}.{total % 100:02d}" in page
    assert "14 days left" in page or "13 days left" in page
    assert "What “at risk” means" in page
    # Not at risk yet: two weeks left.
    assert "pb-review-row--at-risk" not in page

    # Filter by status.
    submitted_only = signed_in("lead_staff").get(f"/review/rounds/{world.round_a}?status=submitted").get_data(
        as_text=True
    )
    assert "Reading Community Safety Partnership</a>" in submitted_only
    assert "Safer Slough Partnership</a>" not in submitted_only
    # Other lead bidder: 404.
    assert signed_in("other_lead_admin").get(f"/review/rounds/{world.round_a}").status_code == 404


def test_at_risk_rule_and_filter(app, world, signed_in):
    with app.app_context():
        a2 = db.session.get(Contribution, world.contribution_a2)
        a2.round.internal_deadline = utcnow() + timedelta(days=5)
        db.session.commit()
    # Five days left, nothing done: both contributions at risk.
    page = signed_in("lead_staff").get(f"/review/rounds/{world.round_a}?at_risk=y").get_data(as_text=True)
    assert page.count("pb-review-row--at-risk") == 2

    # A1 completes everything: no longer at risk with five days left.
    complete_everything(app, world.contribution_a1)
    page = signed_in("lead_staff").get(f"/review/rounds/{world.round_a}?at_risk=y").get_data(as_text=True)
    assert page.count("pb-review-row--at-risk") == 1
    assert "Safer Slough Partnership</a>" in page and "Reading Community Safety Partnership</a>" not in page

    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        now = utcnow()
        deadline = c.deadline
        assert not service.is_at_risk(c, 8, 16, now)  # half done, 5 days left
        assert service.is_at_risk(c, 7, 16, now)  # fewer than half
        assert not service.is_at_risk(c, 0, 16, deadline - timedelta(days=7, seconds=1))  # more than 7 days left
        assert service.is_at_risk(c, 0, 16, deadline - timedelta(days=7))
        assert service.is_at_risk(c, 16, 16, deadline + timedelta(seconds=1))  # deadline passed
        c.status = ContributionStatus.SUBMITTED
        assert not service.is_at_risk(c, 0, 16, deadline + timedelta(days=1))  # submitted: never


# --- asking for changes, and the resubmission ---------------------------------------------------


def test_request_changes_emails_the_manager_and_the_csp_resubmits(app, world, signed_in, smtp_server):
    manager = submit_a1(app, world, signed_in)
    deliver(app)
    smtp_server.clear()
    staff = signed_in("lead_staff")
    url = review_url(world, "/request-changes")
    page = staff.get(url).get_data(as_text=True)
    assert "Which parts should the CSP revisit?" in page

    # Nothing chosen and no message: both errors, and the page comes back with 400.
    response = post_form(staff, url, {"message": ""})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Select the parts the CSP should revisit" in body and "Enter a message for the CSP" in body

    message = "Please add the 2017 knife crime figures and split the budget by year."
    response = post_form(staff, url, {"items": [section_key(world), "budget"], "message": message})
    assert response.status_code == 302
    assert status_of(app, world.contribution_a1) == ContributionStatus.CHANGES_REQUESTED
    with app.app_context():
        change = db.session.scalar(select(ChangeRequest))
        assert change.items == [section_key(world), "budget"] and change.message == message
        assert change.resolved_at is None
        section = db.session.get(SectionTemplate, world.section_a)
        section_title = f"{section.number}. {section.title}"

    deliver(app)
    [email] = smtp_server.to(world.emails["csp_manager"])
    assert "asked for changes" in email.subject
    assert message in email.text and section_title in email.text and "Budget" in email.text
    assert f"/contributions/{world.contribution_a1}" in email.text
    # The CSP's contributors get what its managers get; nobody at another CSP does.
    [to_contributor] = smtp_server.to(world.emails["csp_contributor"])
    assert to_contributor.subject == email.subject and to_contributor.text.startswith("Dear ")
    assert not smtp_server.to(world.emails["other_csp_manager"])

    # The CSP sees what to revisit, with the message.
    tasks = manager.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert "has asked you to change your contribution" in tasks
    assert message in tasks and "Revisit" in tasks
    assert tasks.count("Asked to revisit") == 2
    section_page = manager.get(f"/contributions/{world.contribution_a1}/sections/{world.section_a}").get_data(
        as_text=True
    )
    assert "asked for changes to this section" in section_page

    # They change the section and resubmit: the request is resolved.
    data = {"text": "Knife crime rose by 22% in 2017.", "version": "1", "complete": "Mark as completed"}
    response = post_form(manager, f"/contributions/{world.contribution_a1}/sections/{world.section_a}", data)
    assert response.status_code == 302
    response = post_form(
        manager,
        f"/contributions/{world.contribution_a1}/submit",
        page=f"/contributions/{world.contribution_a1}/check-your-answers",
    )
    assert response.headers["Location"].endswith("/submitted")
    assert status_of(app, world.contribution_a1) == ContributionStatus.RESUBMITTED
    with app.app_context():
        assert db.session.scalar(select(ChangeRequest)).resolved_at is not None
    tasks = manager.get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert "has asked you to change your contribution" not in tasks

    timeline = staff.get(review_url(world, "/timeline")).get_data(as_text=True)
    titles = [t.split("<")[0] for t in timeline.split('pb-timeline__title">')[1:]]
    assert titles == ["Resubmitted", "Changes requested", "Submitted"]
    assert message in timeline


def test_changes_can_only_be_requested_on_a_submitted_contribution(app, world, signed_in):
    staff = signed_in("lead_staff")
    response = staff.get(review_url(world, "/request-changes"))
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "You can only ask for changes to a contribution that has been submitted" in page
    with app.app_context():
        from app.models import User

        actor = db.session.get(User, world.users["lead_staff"])
        c = db.session.get(Contribution, world.contribution_a1)
        try:
            service.request_changes(actor, c, ["budget"], "Why?")
        except service.ServiceError as exc:
            assert "submitted" in exc.message
        else:
            raise AssertionError("changes were requested on an unsubmitted contribution")


# --- accepting, excluding, including again ------------------------------------------------------


def test_accept_once_even_when_pressed_twice(app, world, signed_in, smtp_server):
    submit_a1(app, world, signed_in)
    deliver(app)
    smtp_server.clear()
    staff = signed_in("lead_staff")
    page = staff.get(review_url(world)).get_data(as_text=True)
    assert "Accept contribution" in page and "Ask for changes" in page
    with app.app_context():
        version = db.session.get(Contribution, world.contribution_a1).version
    token = csrf_token(staff, review_url(world))
    first = staff.post(review_url(world, "/accept"), data={"csrf_token": token, "version": version})
    second = staff.post(review_url(world, "/accept"), data={"csrf_token": token, "version": version})
    assert first.status_code == second.status_code == 302
    assert "already been accepted" in staff.get(second.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        assert c.status == ContributionStatus.ACCEPTED
        assert c.decided_by_id == world.users["lead_staff"] and c.decided_at is not None
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "contribution.accepted")).all()
        assert len(events) == 1
    deliver(app)
    [email] = smtp_server.to(world.emails["csp_manager"])
    assert "has accepted your contribution" in email.subject


def test_a_decision_on_an_old_page_is_refused(app, world, signed_in):
    submit_a1(app, world, signed_in)
    with app.app_context():
        from app.models import User

        c = db.session.get(Contribution, world.contribution_a1)
        stale = c.version
        db.session.execute(
            Contribution.__table__.update().where(Contribution.id == c.id).values(version=stale + 1)
        )
        db.session.commit()
        actor = db.session.get(User, world.users["lead_admin"])
        c = db.session.get(Contribution, world.contribution_a1)
        try:
            service.accept(actor, c, expected_version=stale)
        except service.ServiceError as exc:
            assert "Someone else changed this contribution" in exc.message
        else:
            raise AssertionError("a stale accept went through")
        db.session.rollback()
    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED


def test_exclude_with_a_reason_and_include_again(app, world, signed_in, smtp_server):
    submit_a1(app, world, signed_in)
    deliver(app)
    smtp_server.clear()
    admin = signed_in("lead_admin")
    url = review_url(world, "/exclude")
    response = post_form(admin, url, {"reason": ""})
    assert response.status_code == 400
    assert "Enter the reason for excluding the contribution" in response.get_data(as_text=True)
    response = post_form(admin, url, {"reason": "Outside the fund's focus on under-18s"})
    assert response.status_code == 302
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        assert c.status == ContributionStatus.EXCLUDED
        assert c.excluded_reason == "Outside the fund's focus on under-18s"
    deliver(app)
    [email] = smtp_server.to(world.emails["csp_manager"])
    assert "will not be part of the bid" in email.subject and "under-18s" in email.text

    # Excluded: not again; the CSP sees it is locked.
    again = admin.get(url)
    assert again.status_code == 302
    tasks = signed_in("csp_manager").get(f"/contributions/{world.contribution_a1}").get_data(as_text=True)
    assert "Excluded" in tasks

    # Include again: back to Submitted, for the lead to decide again.
    response = post_form(admin, review_url(world, "/include"), {"version": ""}, page=review_url(world))
    assert response.status_code == 302
    with app.app_context():
        c = db.session.get(Contribution, world.contribution_a1)
        assert c.status == ContributionStatus.SUBMITTED
        assert c.excluded_reason is None and c.decided_at is None
    timeline = admin.get(review_url(world, "/timeline")).get_data(as_text=True)
    assert "Included in the bid again" in timeline and "Excluded from the bid" in timeline


def test_an_unsubmitted_contribution_can_be_excluded_and_included_again_in_progress(app, world, signed_in):
    admin = signed_in("lead_admin")
    post_form(admin, review_url(world, "/exclude"), {"reason": "The CSP has withdrawn"})
    assert status_of(app, world.contribution_a1) == ContributionStatus.EXCLUDED
    post_form(admin, review_url(world, "/include"), page=review_url(world))
    assert status_of(app, world.contribution_a1) == ContributionStatus.IN_PROGRESS


def test_viewer_and_csp_users_cannot_act(app, world, signed_in):
    submit_a1(app, world, signed_in)
    viewer = signed_in("viewer")
    page = viewer.get(review_url(world)).get_data(as_text=True)
    assert "Accept contribution" not in page and "Only lead bidder administrators and staff" in page
    token = csrf_token(viewer, review_url(world))
    assert viewer.post(review_url(world, "/accept"), data={"csrf_token": token}).status_code == 403
    assert viewer.post(review_url(world, "/exclude"), data={"csrf_token": token, "reason": "x"}).status_code == 403
    assert viewer.post(review_url(world, "/comments"), data={"csrf_token": token, "body": "x"}).status_code == 403
    manager = signed_in("csp_manager")
    assert manager.get(review_url(world)).status_code == 403
    assert manager.get(f"/review/rounds/{world.round_a}").status_code == 403
    assert status_of(app, world.contribution_a1) == ContributionStatus.SUBMITTED


def test_other_tenant_and_other_csp_get_404(app, world, signed_in):
    submit_a1(app, world, signed_in)
    other_lead = signed_in("other_lead_admin")
    for path in ("", "/comments", "/timeline", "/request-changes", "/exclude"):
        assert other_lead.get(review_url(world, path)).status_code == 404, path
    other_csp = signed_in("other_csp_manager")
    for path in ("/comments", "/timeline"):
        assert other_csp.get(review_url(world, path)).status_code == 404, path
    token = csrf_token(other_csp, f"/review/contributions/{world.contribution_a2}/comments")
    response = other_csp.post(review_url(world, "/comments"), data={"csrf_token": token, "body": "Hello"})
    assert response.status_code == 404


# --- comments ---------------------------------------------------------------------------------


def test_comments_on_a_section_reach_the_csp_who_replies(app, world, signed_in):
    submit_a1(app, world, signed_in)
    staff = signed_in("lead_staff")
    response = post_form(
        staff,
        review_url(world, "/comments"),
        {"section": str(world.section_a), "body": "Which data source is the 22% from?", "return_to": "review"},
        page=review_url(world),
    )
    assert response.status_code == 302
    assert f"#section-{world.section_a}" in response.headers["Location"]
    review_page = staff.get(review_url(world)).get_data(as_text=True)
    assert "Which data source is the 22% from?" in review_page

    # The CSP's contributor sees it on the section and on the task list, and replies.
    contributor = signed_in("csp_contributor")
    section_url = f"/contributions/{world.contribution_a1}/sections/{world.section_a}/view"
    page = contributor.get(section_url).get_data(as_text=True)
    assert "Which data source is the 22% from?" in page and "Reply to the comments on this section" in page
    comments_url = review_url(world, f"/comments?section={world.section_a}")
    chosen = re.search(r"<option[^>]*selected[^>]*>([^<]*)<", contributor.get(comments_url).get_data(as_text=True))
    assert chosen and "Local need and evidence" in chosen.group(1)
    assert "Which data source is the 22% from?" in contributor.get(
        f"/contributions/{world.contribution_a1}"
    ).get_data(as_text=True)
    response = post_form(
        contributor,
        review_url(world, "/comments"),
        {"section": str(world.section_a), "body": "Thames Valley Police, 2017/18.", "return_to": "section"},
        page=comments_url,
    )
    assert response.headers["Location"].endswith(f"{section_url}#comments")
    assert "Thames Valley Police, 2017/18." in contributor.get(section_url).get_data(as_text=True)

    # A comment on the whole contribution, and an empty one refused.
    response = post_form(contributor, review_url(world, "/comments"), {"section": "", "body": "  "})
    assert response.status_code == 400 and "Enter your comment" in response.get_data(as_text=True)
    post_form(contributor, review_url(world, "/comments"), {"section": "", "body": "Thanks for the quick review."})

    with app.app_context():
        rows = db.session.scalars(select(ReviewComment).order_by(ReviewComment.id)).all()
        assert [(r.author_id, r.section_id) for r in rows] == [
            (world.users["lead_staff"], world.section_a),
            (world.users["csp_contributor"], world.section_a),
            (world.users["csp_contributor"], None),
        ]
        author = rows[0].author.full_name

    # The lead sees the reply; the viewer reads but cannot comment; the timeline has all three.
    page = staff.get(review_url(world)).get_data(as_text=True)
    assert "Thames Valley Police, 2017/18." in page and "Thanks for the quick review." in page
    viewer_page = signed_in("viewer").get(review_url(world, "/comments")).get_data(as_text=True)
    assert "Thames Valley Police, 2017/18." in viewer_page and "Add a comment" not in viewer_page
    timeline = signed_in("csp_manager").get(review_url(world, "/timeline")).get_data(as_text=True)
    assert timeline.count("Comment on") == 3 and author in timeline

    # Nobody else sees them.
    assert signed_in("other_csp_manager").get(review_url(world, "/comments")).status_code == 404
    other_home = signed_in("other_csp_manager").get(f"/contributions/{world.contribution_a2}").get_data(as_text=True)
    assert "Which data source" not in other_home


def test_a_comment_on_another_rounds_section_is_refused(app, world, signed_in):
    staff = signed_in("lead_staff")
    with app.app_context():
        b_section = db.session.get(Contribution, world.contribution_b1).round.sections[0].id
    response = post_form(staff, review_url(world, "/comments"), {"section": str(b_section), "body": "Hello"})
    assert response.status_code == 400
    assert "Select which part of the contribution" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ReviewComment)) is None


def test_timeline_shows_the_extension(app, world, signed_in):
    with app.app_context():
        from app.models import User
        from app.services.rounds import grant_extension

        c = db.session.get(Contribution, world.contribution_a1)
        admin = db.session.get(User, world.users["lead_admin"])
        grant_extension(admin, c, c.round.internal_deadline + timedelta(days=3), "Staff illness")
        db.session.commit()
    page = signed_in("csp_contributor").get(review_url(world, "/timeline")).get_data(as_text=True)
    assert "Extension granted" in page and "Staff illness" in page
