"""National demo data for load testing: `flask demo seed --scale national`.

41 lead bidders (the Police and Crime Commissioners' offices of England and Wales): 40 of them with
300 Community Safety Partnerships between them, and London with 100. Each lead bidder has three
rounds, as the Thames Valley demo does (app/demo.py):

- "Early Intervention Youth Fund 2018", archived: every CSP's contribution written to the word
  limits with several revisions per section, 20 budget lines, outcomes and partners; all accepted
  but one excluded; every merged section final; signed off, submitted, awarded (or not), archived.
- the current Early Intervention Youth Fund round, open, with contributions in every state
  (comments and change requests on those with the lead bidder), and a merged first draft of every
  section, some of whose CSP texts have changed since;
- a Safer Streets round being set up.

Three rounds have known sizes, so benchmarks can find them: the current round of Dyfed-Powys (5
CSPs), of Thames Valley (14 CSPs, the CSPs of the ordinary demo) and of London (100 CSPs). Their
sections have 20 revisions each; other rounds' have 2 to 6.

Everyone signs in with one known password (PASSWORD): admin@, staff@ and viewer@ at
`<area>.opcc.example.org`, and manager.<csp>@ and contributor.<csp>@ at `<area>.csp.example.org`.

Rows are written in bulk (a few multi-row INSERTs per table and lead bidder), not through the
services one record at a time; the states and timestamps follow the life cycle
(app/policy/lifecycle.py) as the services would leave them. Texts and figures come from a seeded
generator, so two runs make the same data but for the dates that follow today's.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import time as clock
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, insert, select

from app.extensions import db
from app.models import (
    Attachment,
    AuditEvent,
    BidOutcome,
    BudgetLine,
    ChangeRequest,
    CollectiveBid,
    Contribution,
    ContributionStatus,
    CostCategory,
    DeadlineChange,
    DeadlineKind,
    FinancialYear,
    LeadBudgetLine,
    MatchType,
    MergedRevision,
    MergedSection,
    MergedSource,
    Organisation,
    OrganisationKind,
    Outcome,
    PartnerInvolvement,
    ReminderSchedule,
    ReviewComment,
    Role,
    Round,
    RoundStatus,
    SectionResponse,
    SectionRevision,
    SectionTemplate,
    User,
)
from app.models.base import utcnow
from app.models.bid import SectionState

PASSWORD = "harbour-kestrel-lantern-upland"  # noqa: S105 - demo data only, printed for everyone  # nosec B105
DOMAIN = "example.org"

# (area, CSPs). 300 CSPs over the first 40; London has 100.
AREAS = [
    ("Avon and Somerset", 6),
    ("Bedfordshire", 4),
    ("Cambridgeshire", 6),
    ("Cheshire", 5),
    ("Cleveland", 4),
    ("Cumbria", 6),
    ("Derbyshire", 9),
    ("Devon and Cornwall", 11),
    ("Dorset", 4),
    ("Durham", 3),
    ("Dyfed-Powys", 5),
    ("Essex", 12),
    ("Gloucestershire", 6),
    ("Gwent", 5),
    ("Hampshire", 13),
    ("Hertfordshire", 10),
    ("Humberside", 5),
    ("Kent", 13),
    ("Lancashire", 14),
    ("Leicestershire", 8),
    ("Lincolnshire", 7),
    ("Merseyside", 6),
    ("Norfolk", 7),
    ("North Wales", 6),
    ("North Yorkshire", 7),
    ("Northamptonshire", 7),
    ("Northumbria", 6),
    ("Nottinghamshire", 8),
    ("South Wales", 7),
    ("South Yorkshire", 5),
    ("Staffordshire", 9),
    ("Suffolk", 7),
    ("Surrey", 11),
    ("Sussex", 13),
    ("Thames Valley", 14),
    ("Warwickshire", 5),
    ("West Mercia", 10),
    ("West Midlands", 7),
    ("West Yorkshire", 6),
    ("Wiltshire", 3),
    ("London", 100),
]
# The rounds benchmarks use, by their number of CSPs: the current round of this lead bidder.
BENCHMARK_AREAS = {5: "Dyfed-Powys", 14: "Thames Valley", 100: "London"}


@dataclass(frozen=True)
class Scale:
    areas: tuple[tuple[str, int], ...]
    revisions: tuple[int, int]  # revisions per section written, at least and at most
    benchmark_revisions: int  # per section, in the benchmark areas' current rounds


SCALES = {
    "national": Scale(tuple(AREAS), (2, 6), 20),
    # For tests: the three benchmark areas, London with 6 CSPs.
    "small": Scale((("Dyfed-Powys", 5), ("Thames Valley", 14), ("London", 6)), (1, 3), 3),
}


def lead_name(area: str) -> str:
    return f"{area} Office of the Police and Crime Commissioner"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def lead_email(area: str, who: str) -> str:
    """who: admin, staff or viewer."""
    return f"{who}@{slug(area)}.opcc.{DOMAIN}"


def csp_email(area: str, csp_short: str, who: str) -> str:
    """who: manager or contributor."""
    return f"{who}.{slug(csp_short.removesuffix(' CSP'))}@{slug(area)}.csp.{DOMAIN}"


def loaded() -> bool:
    """Whether the national data (or its small version) is in the database."""
    return (
        db.session.scalar(
            select(Organisation.id).where(
                Organisation.name == lead_name(BENCHMARK_AREAS[100]), Organisation.lead_bidder_id.is_(None)
            )
        )
        is not None
    )


# --- names ------------------------------------------------------------------------------------------------

TOWNS = [
    "Ashby",
    "Barton",
    "Bramley",
    "Burnham",
    "Carlton",
    "Chapelford",
    "Clifton",
    "Denby",
    "Easton",
    "Eldon",
    "Fairford",
    "Felling",
    "Greenhill",
    "Hadley",
    "Hartford",
    "Holbrook",
    "Kingsley",
    "Langley",
    "Leyton",
    "Marston",
    "Milford",
    "Moreton",
    "Newbold",
    "Northfield",
    "Oakley",
    "Oldbury",
    "Preston Vale",
    "Radford",
    "Redhill",
    "Ryton",
    "Sandford",
    "Shelton",
    "Southam",
    "Stanton",
    "Stockwell",
    "Sutton",
    "Thornbury",
    "Upton",
    "Walton",
    "Westbury",
    "Whitley",
    "Winslow",
    "Woodford",
    "Wroxham",
    "Yarwell",
    "Ashwell",
    "Brampton",
    "Charlton",
]
QUARTERS = ["North", "South", "East", "West", "Central"]


def csp_names(area: str, count: int) -> list[tuple[str, str]]:
    """(name, short name) of an area's CSPs."""
    if area == "Thames Valley":
        from app.demo import CSPS

        return [(name, short) for name, short, *_ in CSPS][:count]
    rng = random.Random(area)  # demo data, the same on every run  # nosec B311
    towns = rng.sample(TOWNS, len(TOWNS))
    places = towns + [f"{q} {t}" for t in towns for q in QUARTERS]
    return [(f"{p} Community Safety Partnership", f"{p} CSP") for p in places[:count]]


# --- text -------------------------------------------------------------------------------------------------

SENTENCES = [
    "Young people in {town} told us they carry knives because they feel unsafe on the way to school",
    "Referrals to the exploitation panel have risen every quarter since the problem profile was written",
    "Our detached youth workers meet young people where they are, in parks, on estates and at transport hubs",
    "Schools refer pupils at risk of exclusion, and each is offered a trusted adult within two weeks",
    "The youth offending service will identify first-time entrants who are not yet known to children's services",
    "County lines activity in {town} draws in children as young as twelve, most of them boys",
    "Mentors are recruited locally and trained in trauma-informed practice before they are matched",
    "Each young person has a plan agreed with them and their family, reviewed every six weeks",
    "We will measure attendance, exclusions, arrests and self-reported wellbeing at the start and the end",
    "An independent evaluator will compare outcomes with a matched group from the previous year",
    "The partnership board meets monthly and reports to the Police and Crime Commissioner each quarter",
    "Funding after the second year will come from the council's early help budget if the results hold",
    "The main risk is recruiting youth workers in time, so posts will be advertised before the award",
    "Every member of staff has an enhanced DBS check and safeguarding training refreshed every year",
    "Information is shared under the local safeguarding partnership's protocol, with consent where possible",
    "Police officers attached to schools will join the programme's case meetings once a fortnight",
    "Parents and carers are offered their own sessions on exploitation and the signs to look for",
    "The programme builds on a pilot that reduced repeat offending among its participants by a quarter",
    "Young people helped to design the sessions and two of them sit on the steering group",
    "Sports, music and mentoring sessions run on weekday evenings and through the school holidays",
    "A&E navigators at the hospital refer young people admitted with injuries from violence",
    "Data from police, health and schools will be brought together in one dashboard for the partnership",
    "The voluntary sector partners in {town} deliver most of the sessions, commissioned through open tender",
    "We expect to work with around {cohort} young people a year across the district",
    "Mobilisation takes three months, with the first referrals expected by the end of the first quarter",
    "Training for teachers covers contextual safeguarding and how to make a referral",
    "The work targets the wards with the highest rates of youth violence in the last three years",
    "Missing episodes are followed up with a return home interview within three days",
    "Outreach at the weekend focuses on the town centre and the late-night food outlets",
    "Each quarter the steering group reviews the risks and the budget against the plan",
]


def prose(rng: random.Random, words: int, town: str) -> list[str]:
    """Sentences of about `words` words in all (the last one cut to fit), about `town`."""
    out, count = [], 0
    while count < words:
        sentence = rng.choice(SENTENCES).format(town=town, cohort=rng.randrange(40, 400, 10))
        n = len(sentence.split())
        if count + n > words:
            sentence = " ".join(sentence.split()[: max(words - count, 1)])
            n = len(sentence.split())
        out.append(sentence + ".")
        count += n
    return out


def join(sentences: list[str]) -> str:
    """Paragraphs of four sentences."""
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def _words(text: str) -> int:
    return len(text.split())


# --- writing rows -----------------------------------------------------------------------------------------


def _insert(model, rows: list[dict], ids: bool = False) -> list[int]:
    """One bulk INSERT (batched by SQLAlchemy) of rows that all have the same keys; their new ids
    in the same order when `ids`."""
    if not rows:
        return []
    if ids:
        statement = insert(model).returning(model.id, sort_by_parameter_order=True)
        return list(db.session.execute(statement, rows).scalars())
    db.session.execute(insert(model), rows)
    return []


def _update(model, rows: list[dict]) -> None:
    """UPDATE rows by id ("key" in each dict): one executemany per set of columns changed."""
    table = model.__table__
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for names, params in groups.items():
        statement = (
            table.update()
            .where(table.c.id == bindparam("key"))
            .values({name: bindparam(name) for name in names if name != "key"})
        )
        db.session.execute(statement, params)


def _document(contribution: dict, at: datetime) -> dict:
    """A supporting document (a one-page PDF, stored like an upload) for a contribution."""
    from app.demo_content import minimal_pdf
    from app.services.documents import key_of
    from app.storage import storage

    town = contribution["csp"]["town"]
    data = minimal_pdf(f"{town}: youth violence problem profile")
    stored = secrets.token_hex(16)
    storage().put(key_of(stored), data)
    return {
        "contribution_id": contribution["id"],
        "filename": f"{town} problem profile.pdf",
        "stored_name": stored,
        "content_type": "application/pdf",
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "description": f"Problem profile: youth violence and exploitation in {town}",
        "uploaded_at": at,
        "uploaded_by_id": contribution["csp"]["manager"],
    }


@dataclass
class Report:
    leads: int = 0
    csps: int = 0
    users: int = 0
    rounds: int = 0
    contributions: int = 0
    revisions: int = 0
    audit_events: int = 0
    seconds: float = 0.0


@dataclass
class _Lead:
    area: str
    id: int
    admin: int
    staff: int
    viewer: int
    csps: list[dict]  # id, name, short, manager, contributor


class _Events:
    """Audit events of one lead bidder, written together."""

    def __init__(self, lead_id: int):
        self.lead_id = lead_id
        self.rows: list[dict] = []

    def add(
        self,
        at: datetime,
        actor: int | None,
        action: str,
        object_type: str,
        object_id: int | None,
        summary: str,
        **detail,
    ) -> None:
        self.rows.append(
            {
                "lead_bidder_id": self.lead_id,
                "actor_id": actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "summary": summary[:500],
                "detail": detail,
                "created_at": at,
            }
        )


def seed(scale_name: str = "national", progress=None) -> Report:
    """Load the national data into an empty database (the caller commits). `progress(message)` is
    told as each lead bidder is done."""
    from app.services.passwords import hash_password

    scale = SCALES[scale_name]
    started = clock.perf_counter()
    report = Report()
    password_hash = hash_password(PASSWORD)  # one hash for everyone: the same known password
    rng = random.Random(20181)  # demo data, the same on every run  # nosec B311
    for area, count in scale.areas:
        lead = _people(area, count, password_hash, report)
        events = _Events(lead.id)
        revisions = scale.benchmark_revisions if area in BENCHMARK_AREAS.values() else None
        _past_round(rng, lead, events, scale, report)
        _current_round(rng, lead, events, scale, report, revisions)
        _draft_round(lead, events, report)
        _insert(AuditEvent, events.rows)
        report.audit_events += len(events.rows)
        db.session.flush()
        if progress:
            progress(f"{area}: {count} CSPs")
    report.seconds = clock.perf_counter() - started
    return report


def _people(area: str, count: int, password_hash: str, report: Report) -> _Lead:
    now = utcnow()
    (lead_id,) = _insert(
        Organisation,
        [
            {
                "kind": OrganisationKind.LEAD_BIDDER,
                "name": lead_name(area),
                "short_name": f"{area} OPCC",
                "area": area,
                "lead_bidder_id": None,
            }
        ],
        ids=True,
    )
    names = csp_names(area, count)
    csp_ids = _insert(
        Organisation,
        [
            {"kind": OrganisationKind.CSP, "name": name, "short_name": short, "area": area, "lead_bidder_id": lead_id}
            for name, short in names
        ],
        ids=True,
    )

    def user(email, name, job, role, org):
        return {
            "email": email,
            "full_name": name,
            "job_title": job,
            "role": role,
            "organisation_id": org,
            "lead_bidder_id": lead_id,
            "password_hash": password_hash,
            "password_changed_at": now,
        }

    lead_users = [
        user(
            lead_email(area, "admin"),
            f"{area} Administrator",
            "Head of Policy and Partnerships",
            Role.LEAD_ADMIN,
            lead_id,
        ),
        user(
            lead_email(area, "staff"),
            f"{area} Policy Officer",
            "Community Safety Policy Officer",
            Role.LEAD_STAFF,
            lead_id,
        ),
        user(lead_email(area, "viewer"), f"{area} Finance Officer", "Chief Finance Officer", Role.VIEWER, lead_id),
    ]
    csp_users = []
    for (_, short), csp_id in zip(names, csp_ids, strict=True):
        place = short.removesuffix(" CSP")
        csp_users += [
            user(
                csp_email(area, short, "manager"),
                f"{place} Manager",
                "Community Safety Manager",
                Role.CSP_MANAGER,
                csp_id,
            ),
            user(
                csp_email(area, short, "contributor"),
                f"{place} Analyst",
                "Community Safety Analyst",
                Role.CSP_CONTRIBUTOR,
                csp_id,
            ),
        ]
    admin, staff, viewer, *others = _insert(User, lead_users + csp_users, ids=True)
    csps = [
        {
            "id": csp_id,
            "name": name,
            "short": short,
            "town": short.removesuffix(" CSP"),
            "manager": others[2 * i],
            "contributor": others[2 * i + 1],
        }
        for i, ((name, short), csp_id) in enumerate(zip(names, csp_ids, strict=True))
    ]
    report.leads += 1
    report.csps += count
    report.users += len(lead_users) + len(csp_users)
    return _Lead(area, lead_id, admin, staff, viewer, csps)


def _london(day: date, hour: int, minute: int = 0) -> datetime:
    from app.demo import _london as london

    return london(day, hour, minute)


def _make_round(
    lead: _Lead,
    events: _Events,
    report: Report,
    *,
    title: str,
    fund: str,
    summary: str,
    funder_deadline: datetime,
    internal_deadline: datetime,
    created_at: datetime,
    years: list,
    categories: list,
    sections: list,
    cap: int | None,
    match_percent: int | None = None,
    **values,
) -> dict:
    """The round, its template and the records made with it (collective bid, reminder schedule)."""
    row = {
        "lead_bidder_id": lead.id,
        "fund_name": fund,
        "funder": "Home Office",
        "title": title,
        "summary": summary,
        "cap_per_bid_pence": cap,
        "match_percent": match_percent,
        "match_cash": True,
        "match_in_kind": True,
        "funder_deadline": funder_deadline,
        "internal_deadline": internal_deadline,
        "created_at": created_at,
        "created_by_id": lead.admin,
    }
    defaults = {
        "sign_off_target": None,
        "status": RoundStatus.DRAFT,
        "opened_at": None,
        "closed_at": None,
        "outcome": None,
        "awarded_pence": None,
        "outcome_on": None,
        "outcome_recorded_by_id": None,
        "archived_at": None,
    }
    (round_id,) = _insert(Round, [row | defaults | values], ids=True)
    year_ids = _insert(
        FinancialYear,
        [
            {"round_id": round_id, "label": label, "cap_pence": cap_pence, "position": i}
            for i, (label, cap_pence) in enumerate(years)
        ],
        ids=True,
    )
    category_ids = _insert(
        CostCategory,
        [{"round_id": round_id, "name": name, "position": i} for i, name in enumerate(categories)],
        ids=True,
    )
    section_rows = [
        {
            "round_id": round_id,
            "position": i,
            "title": t,
            "guidance": g,
            "word_limit": limit,
            "csp_word_limit": csp_limit,
            "required": required,
            "csp_contributes": contributes,
        }
        for i, (t, g, limit, csp_limit, required, contributes) in enumerate(sections)
    ]
    section_ids = _insert(SectionTemplate, section_rows, ids=True)
    for row_, id_ in zip(section_rows, section_ids, strict=True):
        row_["id"] = id_
    (bid_id,) = _insert(
        CollectiveBid,
        [{"round_id": round_id, "lead_bidder_id": lead.id, "merge_order": [], "created_at": created_at, "version": 1}],
        ids=True,
    )
    _insert(ReminderSchedule, [{"round_id": round_id}])
    events.add(
        created_at,
        lead.admin,
        "round.created",
        "Round",
        round_id,
        f"Created the round {title}",
        start_from="template:eiyf-2018",
    )
    report.rounds += 1
    return {
        "id": round_id,
        "title": title,
        "years": year_ids,
        "categories": category_ids,
        "sections": section_rows,
        "bid": bid_id,
        "funder_deadline": funder_deadline,
        "internal_deadline": internal_deadline,
        "cap": cap,
    }


def _contributions(lead: _Lead, rnd: dict, statuses: list, report: Report, **common) -> list[dict]:
    rows = []
    for csp, status in zip(lead.csps, statuses, strict=True):
        rows.append(
            {
                "round_id": rnd["id"],
                "csp_id": csp["id"],
                "lead_bidder_id": lead.id,
                "manager_id": csp["manager"],
                "status": status,
            }
            | common
        )
    ids = _insert(Contribution, rows, ids=True)
    report.contributions += len(rows)
    return [dict(row, id=id_, csp=csp) for row, id_, csp in zip(rows, ids, lead.csps, strict=True)]


@dataclass
class _Written:
    """A CSP's sections as written: {section id: [revision ids, oldest first]}."""

    revisions: dict[int, list[int]] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)


def _write_sections(
    rng: random.Random,
    lead: _Lead,
    rnd: dict,
    contribution: dict,
    events: _Events,
    report: Report,
    *,
    written: int,
    completed: int,
    revisions: int,
    start: datetime,
    end: datetime,
    full: float = 1.0,
) -> list[tuple[dict, list[dict]]]:
    """(response row, its revision rows) for the first `written` CSP sections (the first
    `completed` of them marked as completed), each saved `revisions` times between start and end,
    growing to `full` of the CSP's word limit."""
    csp = contribution["csp"]
    sections = [s for s in rnd["sections"] if s["csp_contributes"]][:written]
    out = []
    span = (end - start).total_seconds()
    for i, section in enumerate(sections):
        limit = section["csp_word_limit"] or 300
        sentences = prose(rng, max(int(limit * full * rng.uniform(0.9, 1.0)), 20), csp["town"])
        done = i < completed
        saves = []
        for n in range(1, revisions + 1):
            text = join(sentences[: max(1, round(len(sentences) * n / revisions))])
            at = start + timedelta(seconds=span * (i * revisions + n) / (len(sections) * revisions + 1))
            by = csp["manager"] if n % 3 else csp["contributor"]
            last = n == revisions
            saves.append(
                {
                    "number": n,
                    "text": text,
                    "word_count": _words(text),
                    "completed": done and last,
                    "created_at": at,
                    "created_by_id": by,
                }
            )
            action = "section.completed" if done and last else "section.saved"
            events.add(
                at,
                by,
                action,
                "Contribution",
                contribution["id"],
                f"{csp['short']} {'marked as completed' if done and last else 'saved'} section "
                f"{section['position'] + 1}. {section['title']} (revision {n}, {_words(text):,} words)",
                section_id=section["id"],
                revision=n,
                words=_words(text),
            )
        last = saves[-1]
        response = {
            "contribution_id": contribution["id"],
            "section_id": section["id"],
            "text": last["text"],
            "completed": done,
            "version": revisions,
            "updated_at": last["created_at"],
            "updated_by_id": last["created_by_id"],
        }
        out.append((response, saves))
    report.revisions += sum(len(s) for _, s in out)
    return out


def _save_sections(batch: list[tuple[dict, list[dict]]], contribution_of: list[dict]) -> list[_Written]:
    """Insert responses then revisions for many contributions at once; what was written, per contribution."""
    responses = [r for r, _ in batch]
    response_ids = _insert(SectionResponse, responses, ids=True)
    revision_rows = []
    for response_id, (_, saves) in zip(response_ids, batch, strict=True):
        revision_rows += [dict(s, response_id=response_id) for s in saves]
    revision_ids = iter(_insert(SectionRevision, revision_rows, ids=True))
    written = {c["id"]: _Written() for c in contribution_of}
    for response, saves in batch:
        w = written[response["contribution_id"]]
        w.revisions[response["section_id"]] = [next(revision_ids) for _ in saves]
        w.texts[response["section_id"]] = response["text"]
    return [written[c["id"]] for c in contribution_of]


def _budget(
    rng: random.Random, rnd: dict, contribution: dict, lines: int, total_pence: int, at: datetime
) -> list[dict]:
    """`lines` budget lines over the round's years and categories adding up to about total_pence,
    half of them with cash or in-kind match funding."""
    years, categories = rnd["years"], rnd["categories"]
    rows = []
    per_year = total_pence // len(years)
    for y, year in enumerate(years):
        mine = [n for n in range(lines) if n % len(years) == y]
        weights = [rng.uniform(0.5, 2.0) for _ in mine]
        for n, weight in zip(mine, weights, strict=True):
            amount = max(int(per_year * weight / sum(weights)) // 100 * 100, 10_000)
            match = amount // 4 // 100 * 100 if n % 2 == 0 else 0
            rows.append(
                {
                    "contribution_id": contribution["id"],
                    "financial_year_id": year,
                    "cost_category_id": categories[n % len(categories)],
                    "description": f"{BUDGET_ITEMS[n % len(BUDGET_ITEMS)]} ({contribution['csp']['town']})",
                    "amount_pence": amount,
                    "match_pence": match,
                    "match_type": (MatchType.CASH if n % 4 == 0 else MatchType.IN_KIND) if match else None,
                    "match_source": f"{contribution['csp']['town']} Borough Council" if match else None,
                    "created_at": at,
                    "updated_at": at,
                    "updated_by_id": contribution["csp"]["manager"],
                }
            )
    return rows


BUDGET_ITEMS = [
    "Detached youth worker",
    "Specialist mentoring",
    "Teacher training on exploitation",
    "Laptops for youth workers",
    "Independent evaluation",
    "Programme coordinator",
    "Sports sessions",
    "Parenting workshops",
    "Return home interviews",
    "A&E youth navigator",
    "Music and arts sessions",
    "Venue hire",
    "Travel for young people",
    "Case management system",
    "DBS checks",
    "Steering group costs",
    "School holiday programme",
    "Weekend outreach",
    "Data analyst",
    "Communications",
]
OUTCOMES = [
    ("Young people engaged through detached youth work", "0", "{cohort}"),
    ("Young people referred by schools completing the programme", "0", "60"),
    ("Reduction in repeat violent offending by participants after 12 months", "Baseline from year 1", "25% fewer"),
    ("Fixed-term exclusions of participants", "{cohort} a year", "30% fewer"),
    ("Young people reporting they feel safer", "41%", "60%"),
]
PARTNERS = [
    ("{town} Youth Service", "Delivers detached youth work and refers young people"),
    ("{town} Academy", "Refers pupils at risk of exclusion and hosts sessions"),
    ("{town} Youth Offending Team", "Identifies first-time entrants and shares case information"),
    ("{area} Police", "Shares intelligence through the child exploitation panel"),
]


def _parts(lead: _Lead, contribution: dict, end: date, at: datetime) -> tuple[list[dict], list[dict]]:
    town = contribution["csp"]["town"]
    outcomes = [
        {
            "contribution_id": contribution["id"],
            "measure": m,
            "baseline": b.format(cohort=len(town) * 10),
            "target": t.format(cohort=len(town) * 10),
            "by_when": end,
            "created_at": at,
        }
        for m, b, t in OUTCOMES
    ]
    partners = [
        {
            "contribution_id": contribution["id"],
            "organisation_name": name.format(town=town, area=lead.area),
            "role": role,
            "created_at": at,
        }
        for name, role in PARTNERS
    ]
    return outcomes, partners


def _merge(
    rng: random.Random,
    lead: _Lead,
    rnd: dict,
    accepted: list[dict],
    written: dict[int, _Written],
    events: _Events,
    *,
    at: datetime,
    final: bool,
    stale_every: int = 0,
) -> None:
    """The collective bid's merged sections. A CSP section gets an automatic first draft from the
    accepted texts (in the merge order) with their sources; when `final`, a second revision cut to
    the word limit, marked final. The lead's staff write the lead-only sections (when not final,
    every other one). With `stale_every`, every so many sources were merged from the CSP's revision
    before its latest (the CSP has changed its text since)."""
    section_rows, revision_rows, plan = [], [], []
    for section in rnd["sections"]:
        limit = section["word_limit"] or 500
        texts = []
        if section["csp_contributes"]:
            draft = "\n\n".join(
                f"{c['csp']['name']}:\n\n{written[c['id']].texts[section['id']]}"
                for c in accepted
                if section["id"] in written[c["id"]].texts
            )
            if draft:
                texts.append((draft, "Automatic first draft"))
        if final or (not section["csp_contributes"] and section["position"] % 2 == 0):
            texts.append((join(prose(rng, int(limit * 0.95), lead.area)), None))
        if not texts:
            continue
        section_rows.append(
            {
                "bid_id": rnd["bid"],
                "section_id": section["id"],
                "text": texts[-1][0],
                "version": len(texts),
                "updated_at": at,
                "updated_by_id": lead.staff,
                "state": SectionState.FINAL if final else SectionState.DRAFT,
                "final_at": at if final else None,
                "final_by_id": lead.staff if final else None,
            }
        )
        revision_rows.append(
            [
                {
                    "number": n,
                    "text": text,
                    "word_count": _words(text),
                    "note": note,
                    "created_at": at,
                    "created_by_id": lead.staff,
                }
                for n, (text, note) in enumerate(texts, 1)
            ]
        )
        plan.append((section, texts[0][1] is not None))
    merged_ids = _insert(MergedSection, section_rows, ids=True)
    _insert(
        MergedRevision,
        [dict(r, merged_section_id=m) for m, rows in zip(merged_ids, revision_rows, strict=True) for r in rows],
    )
    sources = []
    for merged_id, (section, drafted) in zip(merged_ids, plan, strict=True):
        where = f"section {section['position'] + 1}. {section['title']} of the collective bid"
        if not drafted:
            events.add(
                at,
                lead.staff,
                "merge.saved",
                "MergedSection",
                merged_id,
                f"{lead.area} Policy Officer saved the merged text in {where}",
                bid_id=rnd["bid"],
                section_id=section["id"],
            )
            continue
        events.add(
            at,
            lead.staff,
            "merge.draft_built",
            "MergedSection",
            merged_id,
            f"{lead.area} Policy Officer built an automatic first draft in {where}",
            bid_id=rnd["bid"],
            section_id=section["id"],
        )
        for position, c in enumerate(a for a in accepted if section["id"] in written[a["id"]].revisions):
            ids = written[c["id"]].revisions[section["id"]]
            stale = stale_every and len(ids) > 1 and (position * 7 + section["position"]) % stale_every == 0
            sources.append(
                {
                    "merged_section_id": merged_id,
                    "contribution_id": c["id"],
                    "revision_id": ids[-2] if stale else ids[-1],
                    "reviewed_revision_id": None,
                    "position": position,
                    "merged_at": at,
                }
            )
    _insert(MergedSource, sources)


# --- the three rounds ---------------------------------------------------------------------------------------


def _past_round(rng: random.Random, lead: _Lead, events: _Events, scale: Scale, report: Report) -> None:
    """Early Intervention Youth Fund 2018, as it ended: archived."""
    from app.services.round_templates import EIYF_2018

    n = len(lead.csps)
    awarded = lead.id % 3 != 0
    opened = _london(date(2018, 8, 2), 9, 30)
    rnd = _make_round(
        lead,
        events,
        report,
        title="Early Intervention Youth Fund 2018",
        fund="Early Intervention Youth Fund",
        summary=EIYF_2018["summary"],
        funder_deadline=_london(date(2018, 9, 28), 12),
        internal_deadline=_london(date(2018, 9, 14), 12),
        created_at=_london(date(2018, 7, 31), 10),
        years=EIYF_2018["financial_years"],
        categories=EIYF_2018["cost_categories"],
        sections=EIYF_2018["sections"],
        cap=EIYF_2018["cap_per_bid_pence"],
        sign_off_target=_london(date(2018, 9, 26), 17),
        status=RoundStatus.ARCHIVED,
        opened_at=opened,
        closed_at=_london(date(2018, 9, 17), 9),
        outcome=BidOutcome.AWARDED if awarded else BidOutcome.NOT_AWARDED,
        awarded_pence=rng.randrange(400_000, 700_000, 1_000) * 100 if awarded else None,
        outcome_on=_london(date(2018, 11, 12), 15),
        outcome_recorded_by_id=lead.admin,
        archived_at=_london(date(2019, 1, 7), 10),
    )
    excluded = n - 1 if n >= 4 else None  # one CSP did not finish in time
    statuses = [S.EXCLUDED if i == excluded else S.ACCEPTED for i in range(n)]
    contributions = _contributions(lead, rnd, statuses, report, created_at=opened, updated_at=opened, version=3)
    written = _work(
        rng,
        lead,
        rnd,
        contributions,
        events,
        scale,
        report,
        revisions=None,
        start=_london(date(2018, 8, 6), 9),
        end=_london(date(2018, 9, 13), 12),
        year_end=date(2020, 3, 31),
        excluded_wrote=True,
        excluded_reason="It did not submit its contribution before the internal deadline",
    )
    accepted = [c for c in contributions if c["status"] == S.ACCEPTED]
    _merge(rng, lead, rnd, accepted, written, events, at=_london(date(2018, 9, 25), 11), final=True)
    signed, submitted = _london(date(2018, 9, 26), 16), _london(date(2018, 9, 28), 10)
    db.session.execute(
        CollectiveBid.__table__.update()
        .where(CollectiveBid.id == rnd["bid"])
        .values(
            merge_order=[c["id"] for c in accepted],
            signed_off_by_id=lead.admin,
            signed_off_at=signed,
            sign_off_declaration="I confirm that this bid is complete and accurate, and that the partners named in "
            "it have agreed to deliver it.",
            submitted_by_id=lead.admin,
            submitted_at=submitted,
            funder_reference=f"EIYF-2018-{slug(lead.area).upper()[:12]}-01",
            version=3,
        )
    )
    _lead_lines(rnd, lead, _london(date(2018, 9, 20), 16))
    _deadline_history(
        lead,
        rnd,
        events,
        old_funder=_london(date(2018, 9, 14), 12),
        old_internal=_london(date(2018, 8, 31), 12),
        at=_london(date(2018, 8, 29), 16),
        reason="The Home Office extended the deadline for every bid by two weeks",
    )
    title = rnd["title"]
    for at, action, summary in [
        (opened, "round.opened", f"Opened {title} to {n} CSPs"),
        (_london(date(2018, 9, 17), 9), "round.closed", f"Closed {title} for contributions"),
        (signed, "bid.signed_off", f"Signed off the bid for {title}"),
        (submitted, "bid.submitted", f"Marked the bid for {title} as submitted to Home Office"),
        (
            _london(date(2018, 11, 12), 15),
            "round.outcome_recorded",
            f"Recorded the outcome of {title}: {'awarded' if awarded else 'not awarded'}",
        ),
        (_london(date(2019, 1, 7), 10), "round.archived", f"Archived {title}"),
    ]:
        about_bid = action.startswith("bid.")
        events.add(
            at,
            lead.admin,
            action,
            "CollectiveBid" if about_bid else "Round",
            rnd["bid"] if about_bid else rnd["id"],
            summary,
        )


S = ContributionStatus
# The current round's contributions, in CSP order: 14 CSPs have every state.
STATE_PATTERN = [
    S.IN_PROGRESS,
    S.ACCEPTED,
    S.ACCEPTED,
    S.SUBMITTED,
    S.ACCEPTED,
    S.CHANGES_REQUESTED,
    S.ACCEPTED,
    S.RESUBMITTED,
    S.ACCEPTED,
    S.NOT_STARTED,
    S.ACCEPTED,
    S.EXCLUDED,
    S.ACCEPTED,
    S.IN_PROGRESS,
    S.ACCEPTED,
    S.ACCEPTED,
    S.SUBMITTED,
    S.ACCEPTED,
    S.IN_PROGRESS,
    S.ACCEPTED,
]


def _current_round(
    rng: random.Random, lead: _Lead, events: _Events, scale: Scale, report: Report, revisions: int | None
) -> None:
    """Open for contributions, deadlines a few weeks away, contributions in every state."""
    from app.demo import current_title, funded_years
    from app.demo_content import financial_year
    from app.services.round_templates import EIYF_2018

    today = date.today()
    now = utcnow()
    funder_deadline = _london(today + timedelta(days=35), 12)
    first_year = funded_years(funder_deadline)
    years = [(financial_year(first_year), 350_000_00), (financial_year(first_year + 1), 350_000_00)]
    opened = now - timedelta(days=10)
    rnd = _make_round(
        lead,
        events,
        report,
        title=current_title(first_year),
        fund="Early Intervention Youth Fund",
        summary=EIYF_2018["summary"].replace("2018/19 and 2019/20", f"{years[0][0]} and {years[1][0]}"),
        funder_deadline=funder_deadline,
        internal_deadline=_london(today + timedelta(days=21), 12),
        created_at=now - timedelta(days=12),
        years=years,
        categories=EIYF_2018["cost_categories"],
        sections=EIYF_2018["sections"],
        cap=EIYF_2018["cap_per_bid_pence"],
        status=RoundStatus.OPEN,
        opened_at=opened,
    )
    events.add(
        opened, lead.admin, "round.opened", "Round", rnd["id"], f"Opened {rnd['title']} to {len(lead.csps)} CSPs"
    )
    statuses = [STATE_PATTERN[i % len(STATE_PATTERN)] for i in range(len(lead.csps))]
    contributions = _contributions(lead, rnd, statuses, report, created_at=opened, updated_at=now, version=1)
    written = _work(
        rng,
        lead,
        rnd,
        contributions,
        events,
        scale,
        report,
        revisions=revisions,
        start=opened,
        end=now - timedelta(hours=6),
        year_end=date(first_year + 2, 3, 31),
        excluded_wrote=False,
        excluded_reason="Its youth work is already funded through the council's early help programme",
    )
    accepted = [c for c in contributions if c["status"] == S.ACCEPTED]
    _merge(rng, lead, rnd, accepted, written, events, at=now - timedelta(hours=3), final=False, stale_every=11)
    db.session.execute(
        CollectiveBid.__table__.update()
        .where(CollectiveBid.id == rnd["bid"])
        .values(merge_order=[c["id"] for c in accepted])
    )
    _lead_lines(rnd, lead, now - timedelta(hours=2))
    _deadline_history(
        lead,
        rnd,
        events,
        old_funder=_london(today + timedelta(days=28), 12),
        old_internal=_london(today + timedelta(days=14), 12),
        at=now - timedelta(days=3),
        reason="Home Office extended the deadline by a week for every bid",
    )
    # A CSP that has not started yet has an extension.
    late = next((c for c in contributions if c["status"] == S.NOT_STARTED), None)
    if late is not None:
        until, at = _london(today + timedelta(days=28), 12), now - timedelta(days=2)
        reason = "The community safety manager was on leave for two weeks of the round"
        db.session.execute(
            Contribution.__table__.update()
            .where(Contribution.id == late["id"])
            .values(
                extension_until=until,
                extension_reason=reason,
                extension_granted_by_id=lead.admin,
                extension_granted_at=at,
            )
        )
        _insert(
            DeadlineChange,
            [
                {
                    "lead_bidder_id": lead.id,
                    "round_id": rnd["id"],
                    "kind": DeadlineKind.EXTENSION,
                    "contribution_id": late["id"],
                    "old_at": rnd["internal_deadline"],
                    "new_at": until,
                    "reason": reason,
                    "caused_by_id": None,
                    "changed_at": at,
                    "changed_by_id": lead.admin,
                }
            ],
        )
        events.add(
            at,
            lead.admin,
            "contribution.extension_granted",
            "Contribution",
            late["id"],
            f"Gave {late['csp']['name']} an extension: {reason}",
            reason=reason,
        )


def _work(
    rng: random.Random,
    lead: _Lead,
    rnd: dict,
    contributions: list[dict],
    events: _Events,
    scale: Scale,
    report: Report,
    *,
    revisions: int | None,
    start: datetime,
    end: datetime,
    year_end: date,
    excluded_wrote: bool,
    excluded_reason: str,
) -> dict[int, _Written]:
    """What each CSP wrote, as its contribution's status says, and the lead's review of it. Returns
    what was written, by contribution id."""
    csp_sections = [s for s in rnd["sections"] if s["csp_contributes"]]
    batch, budget, outcomes, partners, comments, requests, attachments, updates = [], [], [], [], [], [], [], []
    share = rnd["cap"] * 9 // 10 // max(len(contributions), 1)
    for c in contributions:
        status, csp = c["status"], c["csp"]
        with_lead = status in (S.SUBMITTED, S.RESUBMITTED, S.ACCEPTED, S.CHANGES_REQUESTED)
        if with_lead:
            written = completed = len(csp_sections)
        elif status == S.IN_PROGRESS or (status == S.EXCLUDED and excluded_wrote):
            written = len(csp_sections) * 2 // 3
            completed = written // 2
        else:
            written = completed = 0
        submitted_at = end - timedelta(days=1 + c["id"] % 3)
        finished = submitted_at if with_lead else end
        if written:
            batch += _write_sections(
                rng,
                lead,
                rnd,
                c,
                events,
                report,
                written=written,
                completed=completed,
                revisions=revisions or rng.randint(*scale.revisions),
                start=start,
                end=finished,
                full=1.0 if with_lead else 0.7,
            )
        budget += _budget(rng, rnd, c, 20 if with_lead else (8 if written else 0), share, finished)
        values = {"updated_at": finished if written else start}
        if with_lead:
            o, p = _parts(lead, c, year_end, finished)
            outcomes += o
            partners += p
            attachments.append(_document(c, finished))
            values |= {
                "submitted_at": submitted_at,
                "submitted_by_id": csp["manager"],
                "budget_completed": True,
                "outcomes_completed": True,
                "partners_completed": True,
                "documents_completed": True,
            }
            events.add(
                submitted_at,
                csp["manager"],
                "contribution.submitted",
                "Contribution",
                c["id"],
                f"{csp['town']} Manager submitted {csp['name']}'s contribution",
            )
            review_at = submitted_at + timedelta(hours=4)
            first = csp_sections[0]
            comments += [
                {
                    "contribution_id": c["id"],
                    "section_id": first["id"],
                    "author_id": lead.staff,
                    "created_at": review_at,
                    "body": f"Thank you. Could you add the figures for {csp['town']} from the latest problem profile "
                    "to this section?",
                },
                {
                    "contribution_id": c["id"],
                    "section_id": first["id"],
                    "author_id": csp["manager"],
                    "created_at": review_at + timedelta(hours=2),
                    "body": "Yes: our analyst is pulling them together and we will add them this week.",
                },
            ]
            events.add(
                review_at,
                lead.staff,
                "review.commented",
                "Contribution",
                c["id"],
                f"{lead.area} Policy Officer commented on section {first['position'] + 1}. {first['title']} "
                f"of {csp['name']}'s contribution",
            )
            if status in (S.CHANGES_REQUESTED, S.RESUBMITTED):
                message = "Please split the mentoring budget line between the two financial years."
                items = ["budget", f"section-{first['id']}"]
                resolved = review_at + timedelta(hours=20) if status == S.RESUBMITTED else None
                requests.append(
                    {
                        "contribution_id": c["id"],
                        "items": items,
                        "message": message,
                        "created_by_id": lead.staff,
                        "created_at": review_at,
                        "resolved_at": resolved,
                    }
                )
                events.add(
                    review_at,
                    lead.staff,
                    "contribution.changes_requested",
                    "Contribution",
                    c["id"],
                    f"{lead.area} Policy Officer asked {csp['name']} to revisit: Budget, {first['title']}",
                    message=message,
                    items=items,
                    was_accepted=False,
                )
                if resolved:
                    values.update(submitted_at=resolved)
                    events.add(
                        resolved,
                        csp["manager"],
                        "contribution.submitted",
                        "Contribution",
                        c["id"],
                        f"{csp['town']} Manager resubmitted {csp['name']}'s contribution",
                        resubmitted=True,
                    )
            if status == S.ACCEPTED:
                values.update(decided_at=review_at + timedelta(hours=3), decided_by_id=lead.staff)
                events.add(
                    review_at + timedelta(hours=3),
                    lead.staff,
                    "contribution.accepted",
                    "Contribution",
                    c["id"],
                    f"{lead.area} Policy Officer accepted {csp['name']}'s contribution",
                )
        if status == S.EXCLUDED:
            values |= {"decided_at": end, "decided_by_id": lead.staff, "excluded_reason": excluded_reason}
            events.add(
                end,
                lead.staff,
                "contribution.excluded",
                "Contribution",
                c["id"],
                f"{lead.area} Policy Officer excluded {csp['name']}'s contribution: {excluded_reason}",
                reason=excluded_reason,
            )
        updates.append(values | {"key": c["id"]})
    written = _save_sections(batch, contributions)
    _insert(BudgetLine, budget)
    _insert(Outcome, outcomes)
    _insert(PartnerInvolvement, partners)
    _insert(ReviewComment, comments)
    _insert(ChangeRequest, requests)
    _insert(Attachment, attachments)
    _update(Contribution, updates)
    return {c["id"]: w for c, w in zip(contributions, written, strict=True)}


def _lead_lines(rnd: dict, lead: _Lead, at: datetime) -> None:
    _insert(
        LeadBudgetLine,
        [
            {
                "bid_id": rnd["bid"],
                "financial_year_id": year,
                "cost_category_id": rnd["categories"][-1],
                "description": "Programme management and evaluation",
                "amount_pence": 25_000_00,
                "match_pence": 0,
                "match_type": None,
                "match_source": None,
                "created_at": at,
                "updated_at": at,
                "updated_by_id": lead.staff,
            }
            for year in rnd["years"]
        ],
    )


def _deadline_history(
    lead: _Lead, rnd: dict, events: _Events, *, old_funder: datetime, old_internal: datetime, at: datetime, reason: str
) -> None:
    """The funder's deadline moved (from old_funder to the round's), the internal one with it."""
    common = {
        "lead_bidder_id": lead.id,
        "round_id": rnd["id"],
        "contribution_id": None,
        "reason": reason,
        "changed_at": at,
        "changed_by_id": lead.admin,
    }
    (funder_id,) = _insert(
        DeadlineChange,
        [dict(common, kind=DeadlineKind.FUNDER, old_at=old_funder, new_at=rnd["funder_deadline"], caused_by_id=None)],
        ids=True,
    )
    _insert(
        DeadlineChange,
        [
            dict(
                common,
                kind=DeadlineKind.INTERNAL,
                old_at=old_internal,
                new_at=rnd["internal_deadline"],
                caused_by_id=funder_id,
            )
        ],
    )
    events.add(
        at,
        lead.admin,
        "deadline.changed",
        "Round",
        rnd["id"],
        f"Changed the funder's deadline of {rnd['title']}: {reason}",
        kind="funder",
        reason=reason,
    )


def _draft_round(lead: _Lead, events: _Events, report: Report) -> None:
    """A Safer Streets round being set up: template, budget rules and CSPs chosen; not open."""
    from app.demo import DRAFT_SECTIONS, funded_years
    from app.demo_content import financial_year

    today = date.today()
    funder_deadline = _london(today + timedelta(days=84), 12)
    first = funded_years(funder_deadline)
    years = [financial_year(first), financial_year(first + 1)]
    rnd = _make_round(
        lead,
        events,
        report,
        title=f"Safer Streets Fund {years[0]} and {years[1]}: town centres",
        fund="Safer Streets Fund",
        summary=f"Up to £750,000 per bid: no more than £500,000 in {years[0]} and £250,000 in {years[1]}. "
        "50% match funding, cash or in-kind, is mandatory.",
        funder_deadline=funder_deadline,
        internal_deadline=_london(today + timedelta(days=63), 12),
        created_at=utcnow() - timedelta(days=1),
        years=[(years[0], 500_000_00), (years[1], 250_000_00)],
        categories=["Staff", "Capital works", "Commissioned services", "Evaluation"],
        sections=[(t, g, limit, csp_limit, True, True) for t, g, limit, csp_limit in DRAFT_SECTIONS],
        cap=750_000_00,
        match_percent=50,
    )
    _contributions(lead, rnd, [S.NOT_STARTED] * len(lead.csps), report, version=1)


# --- for benchmarks and tests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a benchmark needs to request the key pages of one benchmark round."""

    csps: int
    round_id: int
    bid_section_id: int  # a CSP section of the collective bid (merged)
    lead_admin: str
    csp_manager: str  # of a contribution still being written
    csp_contribution_id: int
    csp_section_id: int
    review_contribution_id: int  # an accepted contribution


def target(csps: int) -> Target:
    """The current round of the benchmark area with `csps` CSPs (5, 14 or 100 at national scale)."""
    area = BENCHMARK_AREAS[csps]
    lead = db.session.scalar(
        select(Organisation).where(Organisation.name == lead_name(area), Organisation.lead_bidder_id.is_(None))
    )
    rnd = db.session.scalar(select(Round).where(Round.lead_bidder_id == lead.id, Round.status == RoundStatus.OPEN))
    contributions = db.session.scalars(
        select(Contribution)
        .join(Organisation, Contribution.csp_id == Organisation.id)
        .where(Contribution.round_id == rnd.id)
        .order_by(func.lower(Organisation.name))
    ).all()
    writing = next(c for c in contributions if c.status == S.IN_PROGRESS and c.extension_until is None)
    accepted = next(c for c in contributions if c.status == S.ACCEPTED)
    section = next(s for s in rnd.sections if s.csp_contributes)
    manager = db.session.get(User, writing.manager_id)
    return Target(
        csps=len(contributions),
        round_id=rnd.id,
        bid_section_id=section.id,
        lead_admin=lead_email(area, "admin"),
        csp_manager=manager.email,
        csp_contribution_id=writing.id,
        csp_section_id=section.id,
        review_contribution_id=accepted.id,
    )


# The key pages of a benchmark round: (page, who is signed in: "csp" or "lead", endpoint, the Target's
# attribute for each URL argument).
KEY_PAGES = [
    ("CSP home", "csp", "main.home", {}),
    ("Contribution task list", "csp", "contributions.task_list", {"contribution_id": "csp_contribution_id"}),
    ("Section editor", "csp", "contributions.edit_section",
     {"contribution_id": "csp_contribution_id", "section_id": "csp_section_id"}),
    ("Budget", "csp", "contributions.budget", {"contribution_id": "csp_contribution_id"}),
    ("Lead home", "lead", "main.home", {}),
    ("Round overview", "lead", "review.overview", {"round_id": "round_id"}),
    ("Review of a contribution", "lead", "review.contribution", {"contribution_id": "review_contribution_id"}),
    ("Collective bid overview", "lead", "bid.overview", {"round_id": "round_id"}),
    ("Merged section", "lead", "bid.section", {"round_id": "round_id", "section_id": "bid_section_id"}),
    ("Consolidated budget", "lead", "bid.consolidation_budget", {"round_id": "round_id"}),
    ("Readiness", "lead", "bid.consolidation_readiness", {"round_id": "round_id"}),
    ("Deadlines", "lead", "deadlines.index", {"round_id": "round_id"}),
    ("Reminders", "lead", "reminders.index", {"round_id": "round_id"}),
    ("Exports", "lead", "exports.bid_exports", {"round_id": "round_id"}),
    ("What's new (CSP)", "csp", "whats_new.index", {}),
    ("What's new (lead)", "lead", "whats_new.index", {}),
    # Search: a value in quotes is the value itself, not the target's attribute of that name.
    ("Search (CSP)", "csp", "search.index", {"q": "'youth workers'"}),
    ("Search (lead)", "lead", "search.index", {"q": "'youth workers'"}),
]


def key_pages(t: Target) -> list[tuple[str, str, str]]:
    """(page, "csp" or "lead", path) of every key page of the target's round."""
    from flask import current_app, url_for

    with current_app.test_request_context("/"):
        return [(name, who, url_for(endpoint, **{arg: _value(t, attr) for arg, attr in args.items()}))
                for name, who, endpoint, args in KEY_PAGES]


def _value(t: Target, attr: str):
    return attr.strip("'") if attr.startswith("'") else getattr(t, attr)


def format_logins(scale_name: str) -> str:
    """Every sign-in of the national data (one password for all)."""
    scale = SCALES[scale_name]
    lines = [
        "National demo sign-in details (demo data only - never use in production).",
        f"Every account's password: {PASSWORD}",
        "",
    ]
    for area, count in scale.areas:
        lines.append(f"{lead_name(area)} ({count} CSPs):")
        lines += [f"  {lead_email(area, who)}" for who in ("admin", "staff", "viewer")]
        for _, short in csp_names(area, count):
            lines += [f"  {csp_email(area, short, who)}" for who in ("manager", "contributor")]
    return "\n".join(lines) + "\n"
