"""Round set-up by the lead bidder: details, template, budget rules, CSPs, opening, extensions."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Contribution, Round, RoundStatus
from app.models.base import utcnow
from app.services.outbox import deliver_due
from tests.conftest import post_form

UTC = UTC


def new_round_data(**overrides):
    later = utcnow() + timedelta(days=60)
    data = {
        "fund_name": "Early Intervention Youth Fund",
        "funder": "Home Office",
        "title": "EIYF 2026",
        "summary": "",
        "funder_date": [str(later.day), str(later.month), str(later.year)],
        "funder_time": "12pm",
        "internal_date": [
            str((later - timedelta(days=14)).day),
            str((later - timedelta(days=14)).month),
            str((later - timedelta(days=14)).year),
        ],
        "internal_time": "9:30am",
        "start_from": "template:eiyf-2018",
    }
    data.update(overrides)
    return data


def create(admin, **overrides):
    response = post_form(admin, "/rounds/new", new_round_data(**overrides))
    return response


def test_create_a_round_from_the_eiyf_template(app, world, signed_in):
    admin = signed_in("lead_admin")
    response = create(admin)
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "EIYF 2026 has been created" in page
    assert "Template: 12 sections" in page
    assert "1. Summary of the proposal" in page and "12. Safeguarding" in page
    assert "£700,000.00" in page
    assert "2018/19: up to £350,000.00" in page
    with app.app_context():
        rnd = db.session.scalar(select(Round).where(Round.title == "EIYF 2026"))
        assert rnd.status == RoundStatus.DRAFT
        assert rnd.lead_bidder_id == world.lead_a
        assert [c.name for c in rnd.cost_categories][:2] == ["Staff", "Commissioned services"]
        local = rnd.internal_deadline.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
        assert (local.hour, local.minute) == (9, 30)
        assert [s.csp_contributes for s in rnd.sections].count(False) == 2


def test_round_form_errors_keep_the_input(world, signed_in):
    admin = signed_in("lead_admin")
    response = create(admin, title="", funder_time="25pm", internal_date=["31", "2", "2030"])
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter a title for the round" in page
    assert "Enter a time for the funder's deadline like 12pm, 9:30am or 17:00" in html.unescape(page)
    assert "Internal deadline for CSP contributions must be a real date" in page
    assert 'href="#internal_date-day"' in page
    assert 'value="Home Office"' in page


def test_internal_deadline_must_come_before_the_funders(world, signed_in):
    later = utcnow() + timedelta(days=60)
    response = create(
        signed_in("lead_admin"),
        internal_date=[str(later.day), str(later.month), str(later.year)],
        internal_time="1pm",
    )
    assert "The internal deadline must be before the funder" in response.get_data(as_text=True)


def test_copy_an_earlier_rounds_template(app, world, signed_in):
    admin = signed_in("lead_admin")
    response = create(admin, title="Safer Streets", start_from=f"round:{world.round_a}")
    assert response.status_code == 302
    with app.app_context():
        rnd = db.session.scalar(select(Round).where(Round.title == "Safer Streets"))
        assert len(rnd.sections) == 12 and not rnd.contributions
    # Another lead bidder's round cannot be copied.
    assert create(admin, title="Sneaky", start_from=f"round:{world.round_b}").status_code == 400


def test_edit_add_move_and_remove_sections(app, world, signed_in):
    admin = signed_in("lead_admin")
    rid = create(admin, start_from="blank").headers["Location"].rsplit("/", 1)[1]
    for title in ("Need", "Plan", "Risks"):
        response = post_form(
            admin,
            f"/rounds/{rid}/sections/new",
            {
                "title": title,
                "guidance": "Say it plainly.",
                "word_limit": "500",
                "csp_word_limit": "200",
                "required": "yes",
                "csp_contributes": "yes",
            },
        )
        assert response.status_code == 302
    bad = post_form(
        admin,
        f"/rounds/{rid}/sections/new",
        {"title": "Budget", "word_limit": "100", "csp_word_limit": "150", "required": "yes", "csp_contributes": "no"},
    )
    assert "The limit for each CSP must not be more than the limit for the bid" in bad.get_data(as_text=True)
    with app.app_context():
        rnd = db.session.get(Round, int(rid))
        ids = {s.title: s.id for s in rnd.sections}
    form = admin.get(f"/rounds/{rid}/sections/{ids['Plan']}/edit").get_data(as_text=True)
    assert 'value="Plan"' in form and 'value="500"' in form
    assert 'value="yes" checked' in form
    post_form(admin, f"/rounds/{rid}/sections/{ids['Risks']}/move", {"direction": "up"}, page=f"/rounds/{rid}")
    post_form(admin, f"/rounds/{rid}/sections/{ids['Need']}/delete")
    with app.app_context():
        rnd = db.session.get(Round, int(rid))
        assert [(s.number, s.title) for s in rnd.sections] == [(1, "Risks"), (2, "Plan")]


def test_a_section_with_csp_text_cannot_be_removed(app, world, signed_in):
    from app.models import SectionResponse

    with app.app_context():
        db.session.add(SectionResponse(contribution_id=world.contribution_a1, section_id=world.section_a, text="Ours"))
        db.session.commit()
    admin = signed_in("lead_admin")
    post_form(admin, f"/rounds/{world.round_a}/sections/{world.section_a}/delete")
    page = admin.get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert "CSPs have already written text for" in page


def test_budget_rules(app, world, signed_in):
    admin = signed_in("lead_admin")
    url = f"/rounds/{world.round_a}/budget-rules"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="2018/19"' in page and 'value="350,000.00"' in page
    response = post_form(
        admin,
        url,
        {
            "cap_per_bid": "£750,000",
            "match_percent": "50",
            "match_cash": "y",
            "year_1": "2022/23",
            "year_1_cap": "500,000",
            "year_2": "2023/24",
            "year_2_cap": "250000",
            "categories": "Staff\nEquipment\n\nEvaluation\n",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        assert rnd.cap_per_bid_pence == 750_000_00 and rnd.match_percent == 50
        assert (rnd.match_cash, rnd.match_in_kind) == (True, False)
        assert [(y.label, y.cap_pence) for y in rnd.financial_years] == [
            ("2022/23", 500_000_00),
            ("2023/24", 250_000_00),
        ]
        assert [c.name for c in rnd.cost_categories] == ["Staff", "Equipment", "Evaluation"]
    bad = post_form(admin, url, {"cap_per_bid": "lots", "year_1": "2022", "categories": ""})
    text = bad.get_data(as_text=True)
    assert "must be a number in pounds and pence" in text
    assert "Enter the financial year like 2018/19" in text
    assert "Enter at least one cost category" in text


def test_choose_participants_and_open_the_round(app, world, signed_in, smtp_server):
    admin = signed_in("lead_admin")
    rid = create(admin).headers["Location"].rsplit("/", 1)[1]
    page = admin.get(f"/rounds/{rid}").get_data(as_text=True)
    assert "Choose the CSPs taking part" in page
    managers = {world.csp_a1: world.users["csp_manager"], world.csp_a2: world.users["other_csp_manager"]}
    data = {}
    for csp, manager in managers.items():
        data[f"take_part_{csp}"] = "y"
        data[f"manager_{csp}"] = str(manager)
    assert post_form(admin, f"/rounds/{rid}/participants", data).status_code == 302

    # CSP users do not see a draft round.
    with app.app_context():
        contribution_id = db.session.scalar(
            select(Contribution.id).where(Contribution.round_id == int(rid), Contribution.csp_id == world.csp_a1)
        )
    manager = signed_in("csp_manager")
    assert manager.get(f"/contributions/{contribution_id}").status_code == 404

    assert post_form(admin, f"/rounds/{rid}/open").status_code == 302
    with app.app_context():
        assert db.session.get(Round, int(rid)).status == RoundStatus.OPEN
        deliver_due()
    emails = [m for m in smtp_server.to(world.emails["csp_manager"]) if "EIYF 2026" in m.subject]
    assert len(emails) == 1
    assert "EIYF 2026" in emails[0].subject
    assert "Reading Community Safety Partnership" in emails[0].text
    assert "2. Local need and evidence (up to 300 words)" in emails[0].text
    assert f"/contributions/{contribution_id}" in emails[0].text
    assert manager.get(f"/contributions/{contribution_id}").status_code == 200
    assert "EIYF 2026" in manager.get("/home").get_data(as_text=True)


def test_a_round_cannot_open_without_managers_or_after_its_deadline(app, world, signed_in):
    admin = signed_in("lead_admin")
    past = utcnow() - timedelta(days=3)
    rid = (
        create(
            admin,
            internal_date=[str(past.day), str(past.month), str(past.year)],
            internal_time="12pm",
        )
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    chosen = post_form(
        admin, f"/rounds/{rid}/participants", {f"take_part_{world.csp_a1}": "y", f"manager_{world.csp_a1}": ""}
    )
    assert chosen.status_code == 302, chosen.get_data(as_text=True)[-3000:]
    page = admin.get(f"/rounds/{rid}/open").get_data(as_text=True)
    assert "Choose a manager for Reading Community Safety Partnership" in page
    assert "The internal deadline has passed" in page
    post_form(admin, f"/rounds/{rid}/open")
    with app.app_context():
        assert db.session.get(Round, int(rid)).status == RoundStatus.DRAFT


def test_extension_for_one_csp(app, world, signed_in, smtp_server):
    admin = signed_in("lead_admin")
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        until = rnd.internal_deadline + timedelta(days=3)
    local = until.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    url = f"/rounds/{world.round_a}/contributions/{world.contribution_a1}/extension"
    response = post_form(
        admin,
        url,
        {
            "until_date": [str(local.day), str(local.month), str(local.year)],
            "until_time": local.strftime("%H:%M"),
            "reason": "Their analyst was off sick",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        contribution = db.session.get(Contribution, world.contribution_a1)
        assert contribution.deadline == until.replace(second=0, microsecond=0)
        assert contribution.extension_reason == "Their analyst was off sick"
        other = db.session.get(Contribution, world.contribution_a2)
        assert other.deadline == other.round.internal_deadline
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "contribution.extension_granted"))
        assert event.actor_id == world.users["lead_admin"]
        deliver_due()
    [email] = smtp_server.to(world.emails["csp_manager"])[-1:]
    assert "extended" in email.subject and "Their analyst was off sick" in email.text
    too_late = post_form(admin, url, {"until_date": ["1", "1", "2099"], "until_time": "12pm", "reason": "x"})
    assert "The extension must end before the funder" in too_late.get_data(as_text=True)


def test_round_pages_are_read_only_for_staff(world, signed_in):
    page = signed_in("lead_staff").get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert "Early Intervention Youth Fund 2018" in page
    assert "Add a section" not in page and "Change<span" not in page


def test_deadlines_are_shown_the_govuk_way(app, world, signed_in):
    with app.app_context():
        rnd = db.session.get(Round, world.round_a)
        rnd.internal_deadline = datetime(2030, 9, 13, 11, 0, tzinfo=UTC)
        rnd.funder_deadline = datetime(2030, 9, 27, 11, 0, tzinfo=UTC)
        db.session.commit()
    page = signed_in("lead_staff").get(f"/rounds/{world.round_a}").get_data(as_text=True)
    assert "12pm on Friday 13 September 2030" in page
