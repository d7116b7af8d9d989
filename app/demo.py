"""Demo data: Thames Valley OPCC and its 14 Community Safety Partnerships (2018)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import ContributionStatus, Organisation, OrganisationKind, Role, User
from app.models.base import utcnow
from app.services.passwords import hash_password, password_problem

LEAD_NAME = "Thames Valley Office of the Police and Crime Commissioner"
LEAD_SHORT = "Thames Valley OPCC"

# (name, short name, area, manager's name, email local part)
CSPS = [
    (
        "Bracknell Forest Community Safety Partnership",
        "Bracknell Forest CSP",
        "Berkshire",
        "Hannah Clarke",
        "bracknell",
    ),
    ("Reading Community Safety Partnership", "Reading CSP", "Berkshire", "Tom Okafor", "reading"),
    ("Safer Slough Partnership", "Safer Slough", "Berkshire", "Amrit Dhillon", "slough"),
    (
        "West Berkshire Building Communities Together Partnership",
        "West Berkshire BCT",
        "Berkshire",
        "Claire Robson",
        "westberks",
    ),
    (
        "Royal Borough of Windsor and Maidenhead Community Safety Partnership",
        "RBWM CSP",
        "Berkshire",
        "James Whitfield",
        "rbwm",
    ),
    ("Wokingham Borough Community Safety Partnership", "Wokingham CSP", "Berkshire", "Sarah Lennox", "wokingham"),
    ("Safer MK", "Safer MK", "Milton Keynes", "Daniel Mensah", "safermk"),
    (
        "Aylesbury Vale Community Safety Partnership",
        "Aylesbury Vale CSP",
        "Buckinghamshire",
        "Rachel Hughes",
        "aylesbury",
    ),
    (
        "Chiltern and South Bucks Community Safety Partnership",
        "Chiltern and South Bucks CSP",
        "Buckinghamshire",
        "Mark Ellison",
        "chilternsb",
    ),
    ("Wycombe Community Safety Partnership", "Wycombe CSP", "Buckinghamshire", "Fatima Rahman", "wycombe"),
    ("Cherwell Safer Communities Partnership", "Cherwell SCP", "Oxfordshire", "Peter Doyle", "cherwell"),
    ("Oxford Community Safety Partnership", "Oxford CSP", "Oxfordshire", "Lucy Bennett", "oxford"),
    (
        "South and Vale Community Safety Partnership",
        "South and Vale CSP",
        "Oxfordshire",
        "Gareth Price",
        "southandvale",
    ),
    (
        "West Oxfordshire Community Safety Partnership",
        "West Oxfordshire CSP",
        "Oxfordshire",
        "Emma Sinclair",
        "westoxon",
    ),
]

LEAD_PEOPLE = [
    ("Alex Morgan", "admin@tvpcc.example.org", "Head of Policy and Partnerships", Role.LEAD_ADMIN),
    ("Priya Shah", "staff@tvpcc.example.org", "Community Safety Policy Officer", Role.LEAD_STAFF),
    ("Ian Thompson", "viewer@tvpcc.example.org", "Chief Finance Officer and Deputy Chief Executive", Role.VIEWER),
]

WORDS = [
    "amber",
    "badger",
    "canal",
    "copper",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbour",
    "island",
    "juniper",
    "kestrel",
    "lantern",
    "meadow",
    "nectar",
    "orchard",
    "pebble",
    "quarry",
    "river",
    "saffron",
    "thistle",
    "upland",
    "velvet",
    "willow",
    "yonder",
    "zephyr",
]


@dataclass
class Login:
    name: str
    email: str
    role: str
    organisation: str
    password: str


def make_password() -> str:
    while True:
        candidate = "-".join(secrets.choice(WORDS) for _ in range(4))
        if password_problem(candidate) is None:
            return candidate


def lead_exists() -> bool:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == LEAD_NAME)) is not None


def seed() -> list[Login]:
    """Create the demo lead bidder, CSPs and people. Returns their sign-in details."""
    logins: list[Login] = []
    lead = Organisation(kind=OrganisationKind.LEAD_BIDDER, name=LEAD_NAME, short_name=LEAD_SHORT, area="Thames Valley")
    db.session.add(lead)
    db.session.flush()

    def person(name, email, job, role, org):
        password = make_password()
        user = User(
            email=email,
            full_name=name,
            job_title=job,
            role=role,
            organisation=org,
            lead_bidder_id=lead.id,
            password_hash=hash_password(password),
            password_changed_at=utcnow(),
        )
        db.session.add(user)
        logins.append(Login(name, email, role.label, org.short_name or org.name, password))

    for name, email, job, role in LEAD_PEOPLE:
        person(name, email, job, role, lead)
    for csp_name, short, area, manager, slug in CSPS:
        csp = Organisation(
            kind=OrganisationKind.CSP, name=csp_name, short_name=short, area=area, lead_bidder_id=lead.id
        )
        db.session.add(csp)
        db.session.flush()
        person(manager, f"{slug}@csp.example.org", "Community Safety Manager", Role.CSP_MANAGER, csp)
    db.session.flush()
    seed_round(lead)
    return logins


# Which demo CSPs are at which stage: the rest have not started.
SUBMITTED = ("Reading CSP", "Safer Slough", "Safer MK", "Oxford CSP", "Wycombe CSP")
IN_PROGRESS = {  # (sections written, of which the first half are marked completed; budget lines)
    "Bracknell Forest CSP": (10, 12),
    "West Berkshire BCT": (7, 8),
    "RBWM CSP": (4, 6),
    "Cherwell SCP": (2, 0),
    "Aylesbury Vale CSP": (9, 12),
}


def seed_round(lead: Organisation):
    """An open EIYF-style round whose internal deadline is three weeks from today, with
    contributions in every state. Its emails are not sent (they are marked cancelled)."""
    from datetime import date, time, timedelta

    from app.dates import london_to_utc
    from app.models import OutboxEmail, OutboxStatus
    from app.services import rounds

    admin = next(u for u in lead.users if u.role == Role.LEAD_ADMIN)
    today = date.today()
    rnd = rounds.create_round(
        admin,
        fund_name="Early Intervention Youth Fund",
        funder="Home Office",
        title="Early Intervention Youth Fund: Thames Valley collective bid",
        summary="",
        funder_deadline=london_to_utc(today + timedelta(days=28), time(12)),
        internal_deadline=london_to_utc(today + timedelta(days=14), time(12)),
    )
    csps = sorted((o for o in lead.partners if o.kind == OrganisationKind.CSP), key=lambda c: c.name)
    rounds.set_participants(admin, rnd, {c.id: c.users[0].id for c in csps})
    rounds.open_round(admin, rnd)
    rnd.opened_at = utcnow() - timedelta(days=10)
    # The Home Office gave everyone a week more, three days ago: the deadlines history shows it.
    from app.services import deadlines

    outcome = deadlines.change_deadline(
        admin,
        rnd,
        "funder",
        london_to_utc(today + timedelta(days=35), time(12)),
        "Home Office extended the deadline by a week for every bid",
        move_internal=True,
    )
    outcome.change.changed_at = outcome.moved.changed_at = utcnow() - timedelta(days=3)
    db.session.flush()
    for contribution in rnd.contributions:
        short = contribution.csp.short_name
        if short in SUBMITTED:
            _fill(contribution, sections=99, completed=99, lines=99, complete_parts=True)
            contribution.status = ContributionStatus.SUBMITTED
            contribution.submitted_at = utcnow() - timedelta(days=1 + len(short) % 4, hours=len(short) % 7)
            contribution.submitted_by = contribution.manager
        elif short in IN_PROGRESS:
            written, lines = IN_PROGRESS[short]
            _fill(contribution, sections=written, completed=written // 2, lines=lines, complete_parts=False)
            contribution.status = ContributionStatus.IN_PROGRESS
    _review_and_merge(rnd, lead)
    db.session.execute(
        OutboxEmail.__table__.update()
        .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.lead_bidder_id == lead.id)
        .values(status=OutboxStatus.CANCELLED, last_error="Demo data: not sent")
    )
    db.session.flush()
    return rnd


# Of the submitted contributions: these are accepted, this one is sent back for changes.
ACCEPTED = ("Reading CSP", "Safer MK", "Oxford CSP")
SENT_BACK = "Safer Slough"


def _review_and_merge(rnd, lead: Organisation) -> None:
    """Lead staff review: three contributions accepted, one sent back with a message; a merged
    first draft of three sections of the collective bid."""
    from app.services import merge, review

    staff = next(u for u in lead.users if u.role == Role.LEAD_STAFF)
    by_name = {c.csp.short_name: c for c in rnd.contributions}
    for name in ACCEPTED:
        review.accept(staff, by_name[name])
    sent_back = by_name[SENT_BACK]
    sections = [s for s in rnd.sections if s.csp_contributes]
    review.request_changes(
        staff,
        sent_back,
        [f"section-{sections[0].id}", "budget"],
        "Thank you. Please add the 2017/18 figures for knife possession to your local need section, and split the "
        "mentoring budget line between the two financial years.",
    )
    db.session.flush()
    bid = merge.get_or_create_bid(rnd)
    for section in sections[:3]:
        merged = merge.merged_section(bid, section)
        merge.build_draft(staff, bid, section, expected_version=merged.version if merged else 0)
    db.session.flush()


def _fill(contribution, sections: int, completed: int, lines: int, complete_parts: bool) -> None:
    from app.demo_content import BUDGET_LINES, OUTCOMES, PARTNERS, SECTION_TEXT, local
    from app.models import BudgetLine, MatchType, Outcome, PartnerInvolvement, SectionResponse, SectionRevision

    facts = local(contribution.csp.short_name)
    manager = contribution.manager
    written = [s for s in contribution.round.sections if s.csp_contributes][:sections]
    for i, section in enumerate(written):
        text = SECTION_TEXT.get(section.title, "Our part of this section.").format(**facts)
        done = i < completed
        response = SectionResponse(
            contribution=contribution,
            section=section,
            text=text,
            completed=done,
            version=1,
            updated_at=utcnow(),
            updated_by_id=manager.id,
        )
        response.revisions.append(
            SectionRevision(number=1, text=text, word_count=len(text.split()), completed=done, created_by_id=manager.id)
        )
        db.session.add(response)
    years = contribution.round.financial_years
    categories = {c.name: c for c in contribution.round.cost_categories}
    for year_index, category, description, pounds, match, match_type, source in BUDGET_LINES[:lines]:
        db.session.add(
            BudgetLine(
                contribution=contribution,
                financial_year=years[year_index],
                cost_category=categories[category],
                description=description,
                amount_pence=pounds * 100,
                match_pence=match * 100,
                match_type=MatchType(match_type) if match_type else None,
                match_source=source.format(**facts) if source else None,
                updated_by_id=manager.id,
            )
        )
    if complete_parts or lines:
        for measure, baseline, target, by_when in OUTCOMES:
            db.session.add(
                Outcome(
                    contribution=contribution,
                    measure=measure,
                    baseline=baseline,
                    target=target.format(**facts),
                    by_when=by_when,
                )
            )
        for name, role in PARTNERS:
            db.session.add(
                PartnerInvolvement(contribution=contribution, organisation_name=name.format(**facts), role=role)
            )
    if complete_parts:
        contribution.budget_completed = contribution.outcomes_completed = True
        contribution.partners_completed = contribution.documents_completed = True


def format_logins(logins: list[Login]) -> str:
    lines = ["Demo sign-in details (demo data only - never use in production):", ""]
    width = max(len(x.email) for x in logins)
    pw_width = max(len(x.password) for x in logins)
    for x in logins:
        lines.append(f"  {x.email:<{width}}  {x.password:<{pw_width}}  {x.role}, {x.organisation}")
    return "\n".join(lines) + "\n"
