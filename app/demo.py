"""Demo data: Thames Valley OPCC and its 14 Community Safety Partnerships, with rounds that show
every step of the life cycle (the 2018 round's history holds the steps between open and archived).

- "Early Intervention Youth Fund 2018": the historic round as it ended. Opened on 2 August 2018, the
  Home Office's deadline of 12pm on Friday 14 September 2018 extended to 12pm on Friday 28 September
  2018 (the internal deadline moved with it), 13 contributions accepted and one excluded, every merged
  section final, signed off on 26 September, submitted on 28 September 2018, awarded £822,000 on
  12 November 2018 (when the results were announced) and archived. Its records and audit events are
  dated in 2018 (see _Clock).
- The current Early Intervention Youth Fund round, open, with deadlines a few weeks from today and
  financial years that follow from them, and contributions in every state.
- A Safer Streets Fund round being set up (draft).
No demo email is sent: every email the seeding queues is cancelled.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import bindparam, event, or_, select

from app.extensions import db
from app.models import AuditEvent, ContributionStatus, Organisation, OrganisationKind, Role, User
from app.models.base import UTCDateTime, utcnow
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
    """Create the demo lead bidder, CSPs, people and rounds. Returns their sign-in details."""
    from flask import current_app, has_request_context

    if has_request_context():
        return _seed()
    # The services build links to pages (task lists, for example), which need a request context.
    with current_app.test_request_context("/", base_url=current_app.config["BASE_URL"]):
        return _seed()


def _seed() -> list[Login]:
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
    seed_2018_round(lead)
    seed_round(lead)
    seed_draft_round(lead)
    cancel_emails(lead)
    return logins


def _people(lead: Organisation) -> tuple[User, User]:
    admin = next(u for u in lead.users if u.role == Role.LEAD_ADMIN)
    staff = next(u for u in lead.users if u.role == Role.LEAD_STAFF)
    return admin, staff


def _csps(lead: Organisation) -> list[Organisation]:
    return sorted((o for o in lead.partners if o.kind == OrganisationKind.CSP), key=lambda c: c.name)


def _london(day: date, hour: int, minute: int = 0) -> datetime:
    from app.dates import london_to_utc

    return london_to_utc(day, time(hour, minute))


def funded_years(funder_deadline: datetime) -> int:
    """The first of the two financial years a bid due at `funder_deadline` is for: the one that
    starts on the first 1 April after the deadline (the funder decides, then delivery starts)."""
    from app.dates import utc_to_london_parts
    from app.demo_content import financial_year_of

    return financial_year_of(utc_to_london_parts(funder_deadline)[0]) + 1


def cancel_emails(lead: Organisation) -> None:
    """The demo's emails are never sent: the seeding's events are made up (and many are from 2018)."""
    from app.models import OutboxEmail, OutboxStatus

    db.session.flush()
    db.session.execute(
        OutboxEmail.__table__.update()
        .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.lead_bidder_id == lead.id)
        .values(status=OutboxStatus.CANCELLED, last_error="Demo data: not sent")
    )
    db.session.flush()


class _Clock:
    """Dates the 2018 round's history. Each step is done through the services (so the records, the
    rulebook's checks and the audit events are the real ones), passing the historic time where a
    service takes `now`; `at(...)` marks the start of a step. `back_date()` then sets every
    timestamp written during a step (revisions, updated_at, outbox rows...) to the step's historic
    time; audit events, which are append-only, get theirs as they are written."""

    def __init__(self) -> None:
        self.started: list[datetime] = []  # the real time each step started, in order
        self.historic: list[datetime] = []  # the time it happened
        # Audit events are append-only (on PostgreSQL a trigger refuses UPDATE), so they are not
        # back-dated afterwards: each is written with its step's historic time in the first place.
        event.listen(AuditEvent, "before_insert", self._date_audit_event)

    def _date_audit_event(self, mapper, connection, target) -> None:
        if self.historic and (target.created_at is None or target.created_at >= self.started[0]):
            target.created_at = self.historic[-1]

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        when = _london(day, hour, minute)
        started = utcnow()
        while self.started and started <= self.started[-1]:
            started = utcnow()
        self.started.append(started)
        self.historic.append(when)
        return when

    def back_date(self) -> None:
        """One SELECT per table with timestamps, then one UPDATE per table (executemany)."""
        from bisect import bisect_right

        db.session.flush()
        event.remove(AuditEvent, "before_insert", self._date_audit_event)
        first, end = self.started[0], utcnow()
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
            if not columns or table is AuditEvent.__table__:  # dated as written (see __init__)
                continue
            keys = list(table.primary_key.columns)
            rows = db.session.execute(
                select(*keys, *columns).where(or_(*[c.between(first, end) for c in columns]))
            ).all()
            changes: dict[tuple[str, ...], list[dict]] = {}
            for row in rows:
                values = {
                    f"new_{c.name}": self.historic[bisect_right(self.started, row._mapping[c]) - 1]
                    for c in columns
                    if row._mapping[c] is not None and first <= row._mapping[c] <= end
                }
                values.update({f"key_{k.name}": row._mapping[k] for k in keys})
                changes.setdefault(tuple(sorted(values)), []).append(values)
            for names, params in changes.items():
                statement = (
                    table.update()
                    .where(*[k == bindparam(f"key_{k.name}") for k in keys])
                    .values({name[4:]: bindparam(name) for name in names if name.startswith("new_")})
                )
                db.session.execute(statement, params)
        db.session.expire_all()


# --- Early Intervention Youth Fund 2018, as it ended ---------------------------------------------------

TITLE_2018 = "Early Intervention Youth Fund 2018"
REFERENCE_2018 = "EIYF-2018-TVP-01"
AWARDED_2018_PENCE = 822_000_00
EXCLUDED_2018 = "West Oxfordshire CSP"
SENT_BACK_2018 = "Safer Slough"
# When each CSP submitted: (day of September 2018, hour). West Oxfordshire did not.
SUBMITTED_2018 = {
    "Reading CSP": (3, 15),
    "Safer MK": (5, 11),
    "Oxford CSP": (6, 16),
    "Safer Slough": (7, 10),
    "Wycombe CSP": (7, 14),
    "Aylesbury Vale CSP": (10, 12),
    "South and Vale CSP": (10, 17),
    "RBWM CSP": (11, 9),
    "Wokingham CSP": (12, 15),
    "Cherwell SCP": (12, 16),
    "Bracknell Forest CSP": (13, 11),
    "West Berkshire BCT": (13, 17),
    "Chiltern and South Bucks CSP": (14, 10),
}


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def seed_2018_round(lead: Organisation):
    """The historic round, from its creation on 31 July 2018 to its archiving in January 2019."""
    import io

    from werkzeug.datastructures import FileStorage

    from app.demo_content import BUDGET_LINES_2018, PERIOD_2018, local, minimal_pdf
    from app.models import BidOutcome
    from app.services import consolidation, deadlines, documents, merge, review, rounds, signoff
    from app.services import contributions as contribution_service

    admin, staff = _people(lead)
    csps = _csps(lead)
    clock = _Clock()

    clock.at(date(2018, 7, 31), 10, 15)  # the day after the fund's launch on 30 July
    rnd = rounds.create_round(
        admin,
        fund_name="Early Intervention Youth Fund",
        funder="Home Office",
        title=TITLE_2018,
        summary="",
        funder_deadline=_london(date(2018, 9, 14), 12),
        internal_deadline=_london(date(2018, 8, 31), 12),
    )
    rounds.set_participants(admin, rnd, {c.id: c.users[0].id for c in csps})
    rounds.open_round(admin, rnd, now=clock.at(date(2018, 8, 2), 9, 30))

    # August: the CSPs write. West Oxfordshire gets part of the way.
    by_name = {c.csp.short_name: c for c in rnd.contributions}
    for i, (short, contribution) in enumerate(sorted(by_name.items())):
        clock.at(date(2018, 8, 13) + timedelta(days=i % 12), 10 + i % 7)
        facts = local(short, PERIOD_2018)
        if short == EXCLUDED_2018:
            _fill(contribution, facts, sections=5, completed=3, lines=0, complete_parts=False, budget=BUDGET_LINES_2018)
            continue
        _fill(contribution, facts, sections=99, completed=99, lines=99, complete_parts=True, budget=BUDGET_LINES_2018)
        pdf = minimal_pdf(f"{facts['town']}: youth violence problem profile, {facts['last_fy']}")
        documents.upload_document(
            contribution.manager,
            contribution,
            FileStorage(io.BytesIO(pdf), filename=f"{facts['town']} problem profile 2018.pdf",
                        content_type="application/pdf"),
            description=f"Problem profile: youth violence and exploitation in {facts['town']}, {facts['last_fy']}",
        )

    # The Home Office gives every bidder two more weeks; the internal deadline moves with it.
    deadlines.change_deadline(
        admin,
        rnd,
        "funder",
        _london(date(2018, 9, 28), 12),
        "The Home Office extended the deadline for every bid by two weeks, to 12pm on Friday 28 September 2018",
        move_internal=True,
        now=clock.at(date(2018, 8, 29), 16),
    )
    deadlines.change_deadline(
        admin,
        rnd,
        "sign_off",
        _london(date(2018, 9, 26), 17),
        "The Chief Executive signs the bid off at the end of the day on Wednesday 26 September",
        now=clock.at(date(2018, 9, 3), 9, 30),
    )

    # September: submissions and review, in date order.
    local_need = next(s for s in rnd.sections if s.title == "Local need and evidence")
    events = []
    for short, (day, hour) in SUBMITTED_2018.items():
        contribution = by_name[short]
        submitted_on = date(2018, 9, day)
        events.append(((submitted_on, hour, 0), "submit", contribution))
        if contribution.csp.short_name == SENT_BACK_2018:
            events.append(((date(2018, 9, 11), 11, 0), "request_changes", contribution))
            events.append(((date(2018, 9, 13), 15, 30), "resubmit", contribution))
            events.append(((date(2018, 9, 14), 14, 0), "accept", contribution))
        else:
            events.append(((_next_working_day(submitted_on), 14, 0), "accept", contribution))
    events.append(((date(2018, 9, 14), 15, 0), "exclude", by_name[EXCLUDED_2018]))
    events.append(((date(2018, 9, 17), 9, 0), "close", None))
    events.sort(key=lambda e: (e[0], e[1] != "close"))
    for (day, hour, minute), action, contribution in events:
        now = clock.at(day, hour, minute)
        if action in ("submit", "resubmit"):
            if action == "resubmit":
                _revise(contribution, local_need, " In 2017/18 Thames Valley Police recorded 64 knife possession "
                        "offences by under-18s in Slough, up from 41 the year before.")
            contribution_service.submit(contribution.manager, contribution, now=now)
        elif action == "request_changes":
            review.request_changes(
                staff, contribution, [f"section-{local_need.id}"],
                "Thank you. Please add the 2017/18 figures for knife possession by under-18s to your local need "
                "section: the Home Office asks for local data.",
            )
        elif action == "accept":
            review.accept(staff, contribution)
        elif action == "exclude":
            review.exclude(
                staff, contribution,
                "West Oxfordshire did not submit by the internal deadline. Its young people will be reached "
                "through the Oxfordshire-wide detached youth work in the bid.",
            )
        else:
            rounds.close_round(admin, rnd, now=now)

    # The week before the deadline: the lead merges, shortens and finishes the bid.
    _merge_2018(clock, rnd, staff)
    _lead_lines_2018(clock, rnd, staff)
    bid = merge.bid_of(rnd)
    clock.at(date(2018, 9, 24), 11)
    for section in rnd.sections:
        merge.set_section_state(staff, bid, section, True)
    check = consolidation.readiness(rnd)
    if not check.ready:  # sign_off would refuse: say which demo data is wrong
        raise RuntimeError(f"The 2018 demo bid is not ready: {[i.problems for i in check.failing]}")

    signoff.sign_off(admin, bid, signoff.DEFAULT_DECLARATION, now=clock.at(date(2018, 9, 26), 16, 30))
    submitted = clock.at(date(2018, 9, 28), 11, 24)
    signoff.mark_submitted(admin, bid, submitted, REFERENCE_2018, now=submitted)
    # Results were announced on 12 November 2018: Thames Valley was awarded £822,000.
    signoff.record_outcome(admin, rnd, BidOutcome.AWARDED, AWARDED_2018_PENCE, date(2018, 11, 12),
                           now=clock.at(date(2018, 11, 12), 15, 40))
    signoff.archive(admin, rnd, now=clock.at(date(2019, 1, 7), 10))
    clock.back_date()
    return rnd


def _merge_2018(clock: _Clock, rnd, staff: User) -> None:
    """Automatic first drafts, then the lead's shorter texts within each section's word limit."""
    from app.demo_content import LEAD_TEXT_2018, MERGED_INTRO_2018
    from app.services import merge
    from app.text import count_words

    bid = merge.bid_of(rnd)
    clock.at(date(2018, 9, 18), 10)
    for section in rnd.sections:
        if section.csp_contributes:
            merge.build_draft(staff, bid, section, expected_version=0)
    for i, section in enumerate(rnd.sections):
        clock.at(date(2018, 9, 19 + i % 3), 10 + i % 6, 15)
        if section.csp_contributes:
            ws = merge.workspace(bid, section, with_diffs=False)
            points = [(p.contribution.csp.short_name, _first_sentence(p.text)) for p in ws.parts if p.text]
            text = MERGED_INTRO_2018[section.title]
            # A point from each partnership when they say different things and there is room for all.
            if len({sentence.replace(name, "") for name, sentence in points}) > 1:
                with_points = text + "\n\n" + "\n".join(f"- {name}: {sentence}" for name, sentence in points)
                if count_words(with_points) <= (section.word_limit or 10**6):
                    text = with_points
        else:
            text = LEAD_TEXT_2018[section.title]
        merged = merge.merged_section(bid, section)
        merge.save_text(staff, bid, section, text, expected_version=merged.version if merged else 0)


def _first_sentence(text: str) -> str:
    first = text.split("\n")[0]
    return first.split(". ")[0].rstrip(".") + "."


def _lead_lines_2018(clock: _Clock, rnd, staff: User) -> None:
    from app.demo_content import LEAD_LINES_2018
    from app.services import consolidation, merge

    bid = merge.bid_of(rnd)
    years = rnd.financial_years
    categories = {c.name: c for c in rnd.cost_categories}
    clock.at(date(2018, 9, 20), 16)
    for year_index, category, description, pounds, match, match_type, source in LEAD_LINES_2018:
        consolidation.add_lead_line(
            staff,
            bid,
            financial_year_id=years[year_index].id,
            cost_category_id=categories[category].id,
            description=description,
            amount_pence=pounds * 100,
            match_pence=match * 100 or None,
            match_type=match_type,
            match_source=source,
        )


def _revise(contribution, section, addition: str) -> None:
    """The CSP changes a section (a new revision), as asked."""
    from app.models import SectionRevision

    response = next(r for r in contribution.responses if r.section_id == section.id)
    response.text = response.text + addition
    response.version += 1
    response.updated_at = utcnow()
    response.revisions.append(
        SectionRevision(
            number=len(response.revisions) + 1,
            text=response.text,
            word_count=len(response.text.split()),
            completed=True,
            created_by_id=contribution.manager_id,
        )
    )
    db.session.flush()


# --- the current round: open, with contributions in every state ---------------------------------------

# Which demo CSPs are at which stage: the rest have not started.
SUBMITTED = ("Reading CSP", "Safer Slough", "Safer MK", "Oxford CSP", "Wycombe CSP", "West Oxfordshire CSP")
IN_PROGRESS = {  # (sections written, of which the first half are marked completed; budget lines)
    "Bracknell Forest CSP": (10, 12),
    "West Berkshire BCT": (7, 8),
    "RBWM CSP": (4, 6),
    "Cherwell SCP": (2, 0),
    "Aylesbury Vale CSP": (9, 12),
}
# Of the submitted contributions: these are accepted, this one is sent back for changes, this one was
# sent back and has come back (resubmitted); Wycombe waits for review. This one has not started and
# is excluded.
ACCEPTED = ("Reading CSP", "Safer MK", "West Oxfordshire CSP")
SENT_BACK = "Safer Slough"
RESUBMITTED = "Oxford CSP"
EXCLUDED = "Chiltern and South Bucks CSP"


def current_title(first_year: int) -> str:
    from app.demo_content import financial_year

    return f"Early Intervention Youth Fund {financial_year(first_year)} and {financial_year(first_year + 1)}"


def seed_round(lead: Organisation):
    """The current round: open, its internal deadline three weeks from today and the funder's five
    weeks, its financial years the two that follow the funder's deadline, and contributions in every
    state (not started, in progress, submitted, changes requested, resubmitted, accepted, excluded)."""
    from app.demo_content import BUDGET_LINES, Period, local
    from app.services import contributions as contribution_service
    from app.services import deadlines, internal_notes, review, rounds
    from app.services.round_templates import EIYF_2018

    admin, staff = _people(lead)
    today = date.today()
    funder_deadline = _london(today + timedelta(days=35), 12)  # after the extension below
    first_year = funded_years(funder_deadline)
    period = Period(first_year=first_year, written_on=today, starts=date(first_year, 4, 1))
    years = period.years
    rnd = rounds.create_round(
        admin,
        fund_name="Early Intervention Youth Fund",
        funder="Home Office",
        title=current_title(first_year),
        summary=(
            f"Up to £700,000 per bid, split equally across {years[0]} and {years[1]}, for early intervention "
            "and prevention work that keeps young people under 18 away from crime and violence, including gangs "
            "and county lines. Police and Crime Commissioners bid as lead bidder with their Community Safety "
            "Partnerships. Some match funding is expected."
        ),
        funder_deadline=_london(today + timedelta(days=28), 12),
        internal_deadline=_london(today + timedelta(days=14), 12),
    )
    rounds.update_budget_rules(
        admin,
        rnd,
        cap_per_bid_pence=EIYF_2018["cap_per_bid_pence"],
        match_percent=None,
        match_cash=True,
        match_in_kind=True,
        years=[(label, EIYF_2018["cap_per_bid_pence"] // 2) for label in years],
        categories=[c.name for c in rnd.cost_categories],
    )
    timetable = next(s for s in rnd.sections if s.title == "Delivery timetable and milestones")
    rounds.save_section(admin, rnd, timetable, title=timetable.title,
                        guidance=f"Key dates from mobilisation to the end of {period.facts()['end']}.")
    csps = _csps(lead)
    rounds.set_participants(admin, rnd, {c.id: c.users[0].id for c in csps})
    rounds.open_round(admin, rnd)
    rnd.opened_at = utcnow() - timedelta(days=10)
    # The Home Office gave everyone a week more, three days ago: the deadlines history shows it.
    outcome = deadlines.change_deadline(
        admin,
        rnd,
        "funder",
        funder_deadline,
        "Home Office extended the deadline by a week for every bid",
        move_internal=True,
    )
    outcome.change.changed_at = outcome.moved.changed_at = utcnow() - timedelta(days=3)
    db.session.flush()
    for contribution in rnd.contributions:
        short = contribution.csp.short_name
        facts = local(short, period)
        if short in SUBMITTED:
            _fill(contribution, facts, sections=99, completed=99, lines=99, complete_parts=True, budget=BUDGET_LINES)
            contribution.status = ContributionStatus.SUBMITTED
            contribution.submitted_at = utcnow() - timedelta(days=1 + len(short) % 4, hours=len(short) % 7)
            contribution.submitted_by = contribution.manager
        elif short in IN_PROGRESS:
            written, lines = IN_PROGRESS[short]
            _fill(contribution, facts, sections=written, completed=written // 2, lines=lines, complete_parts=False,
                  budget=BUDGET_LINES)
            contribution.status = ContributionStatus.IN_PROGRESS
    db.session.flush()
    by_name = {c.csp.short_name: c for c in rnd.contributions}
    sections = [s for s in rnd.sections if s.csp_contributes]
    last_fy = period.facts()["last_fy"]
    # Oxford was asked for more, changed its text and sent it back: resubmitted.
    oxford = by_name[RESUBMITTED]
    review.request_changes(
        staff, oxford, [f"section-{sections[2].id}"],
        "Please say how many of the young people you expect to be referred by schools, and how many by the "
        "exploitation panel.",
    )
    _revise(oxford, sections[2], " We expect about two thirds of referrals to come from schools and the rest from "
            "the exploitation panel.")
    contribution_service.submit(oxford.manager, oxford)
    # What the lead's reviewers tell each other, which Oxford never sees.
    internal_notes.add_note(
        staff, oxford, sections[2].id,
        "Two thirds from schools looks high next to last year's referrals. Check with the exploitation panel's "
        "chair before we accept.",
    )
    review.exclude(
        staff, by_name[EXCLUDED],
        "Chiltern and South Bucks will not take part this time: its youth work is already funded through the "
        "council's early help programme.",
    )
    _review_and_merge(rnd, lead, last_fy)
    return rnd


def _review_and_merge(rnd, lead: Organisation, last_fy: str) -> None:
    """Lead staff review: three contributions accepted, one sent back with a message; a merged
    first draft of three sections of the collective bid."""
    from app.services import merge, review

    _, staff = _people(lead)
    by_name = {c.csp.short_name: c for c in rnd.contributions}
    for name in ACCEPTED:
        review.accept(staff, by_name[name])
    sent_back = by_name[SENT_BACK]
    sections = [s for s in rnd.sections if s.csp_contributes]
    review.request_changes(
        staff,
        sent_back,
        [f"section-{sections[0].id}", "budget"],
        f"Thank you. Please add the {last_fy} figures for knife possession to your local need section, and split "
        "the mentoring budget line between the two financial years.",
    )
    db.session.flush()
    bid = merge.get_or_create_bid(rnd)
    for section in sections[:3]:
        merged = merge.merged_section(bid, section)
        merge.build_draft(staff, bid, section, expected_version=merged.version if merged else 0)
    db.session.flush()
    # Who does what: the administrator gives the staff member the third section to finish, due ten
    # days from today; Bracknell's manager keeps their budget for themself, due in a week.
    from app.services import assignments

    admin, _ = _people(lead)
    today = date.today()
    assignments.assign_section(admin, bid, sections[2], staff, today + timedelta(days=10))
    bracknell = by_name["Bracknell Forest CSP"]
    assignments.assign_item(bracknell.manager, bracknell, "budget", bracknell.manager, today + timedelta(days=7))
    db.session.flush()


# --- a round being set up -------------------------------------------------------------------------------

DRAFT_CSPS = ("Reading CSP", "Safer Slough", "Safer MK", "Oxford CSP", "Wycombe CSP")
DRAFT_SECTIONS = [
    ("Problem profile of the area", "Where and when neighbourhood crime and violence against women and girls "
     "happen, with the data behind it.", 750, 300),
    ("Proposed interventions", "What you will do in the area, from lighting and CCTV to youth outreach.", 1000, 400),
    ("Match funding", "Where the 50% match funding comes from, cash or in-kind.", 300, 150),
]


def seed_draft_round(lead: Organisation):
    """A Safer Streets round the OPCC is still setting up: its own budget rules (a cap per year, 50%
    match funding), a short template and five town-centre CSPs chosen; not open yet."""
    from app.demo_content import financial_year
    from app.services import rounds

    admin, _ = _people(lead)
    today = date.today()
    funder_deadline = _london(today + timedelta(days=84), 12)
    first_year = funded_years(funder_deadline)
    years = [financial_year(first_year), financial_year(first_year + 1)]
    rnd = rounds.create_round(
        admin,
        fund_name="Safer Streets Fund",
        funder="Home Office",
        title=f"Safer Streets Fund {years[0]} and {years[1]}: town centres",
        summary=(
            f"Up to £750,000 per bid: no more than £500,000 in {years[0]} and £250,000 in {years[1]}, with no "
            "moving money between years. 50% match funding, cash or in-kind, is mandatory."
        ),
        funder_deadline=funder_deadline,
        internal_deadline=_london(today + timedelta(days=63), 12),
        start_from="blank",
    )
    rounds.update_budget_rules(
        admin,
        rnd,
        cap_per_bid_pence=750_000_00,
        match_percent=50,
        match_cash=True,
        match_in_kind=True,
        years=[(years[0], 500_000_00), (years[1], 250_000_00)],
        categories=["Staff", "Capital works", "Commissioned services", "Evaluation"],
    )
    for title, guidance, limit, csp_limit in DRAFT_SECTIONS:
        rounds.save_section(admin, rnd, None, title=title, guidance=guidance, word_limit=limit,
                            csp_word_limit=csp_limit, required=True, csp_contributes=True)
    chosen = [c for c in _csps(lead) if c.short_name in DRAFT_CSPS]
    rounds.set_participants(admin, rnd, {c.id: c.users[0].id for c in chosen})
    return rnd


def _fill(contribution, facts: dict, sections: int, completed: int, lines: int, complete_parts: bool,
          budget: list) -> None:
    """Write a CSP's contribution as its manager would have: `sections` sections (the first
    `completed` of them marked as completed), the first `lines` of `budget`, outcomes and partners."""
    from app.demo_content import OUTCOMES, PARTNERS, SECTION_TEXT
    from app.models import BudgetLine, MatchType, Outcome, PartnerInvolvement, SectionResponse, SectionRevision

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
    for year_index, category, description, pounds, match, match_type, source in budget[:lines]:
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
        end = date(int(facts["end"].split()[-1]), 3, 31)
        for measure, baseline, target in OUTCOMES:
            db.session.add(
                Outcome(
                    contribution=contribution,
                    measure=measure,
                    baseline=baseline.format(**facts),
                    target=target.format(**facts),
                    by_when=end,
                )
            )
        for name, role in PARTNERS:
            db.session.add(
                PartnerInvolvement(contribution=contribution, organisation_name=name.format(**facts), role=role)
            )
    if complete_parts:
        contribution.budget_completed = contribution.outcomes_completed = True
        contribution.partners_completed = contribution.documents_completed = True
    db.session.flush()

def format_logins(logins: list[Login]) -> str:
    lines = ["Demo sign-in details (demo data only - never use in production):", ""]
    width = max(len(x.email) for x in logins)
    pw_width = max(len(x.password) for x in logins)
    for x in logins:
        lines.append(f"  {x.email:<{width}}  {x.password:<{pw_width}}  {x.role}, {x.organisation}")
    return "\n".join(lines) + "\n"
