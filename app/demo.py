"""Demo data: Thames Valley OPCC and its 14 Community Safety Partnerships (2018)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User
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
    return logins


def format_logins(logins: list[Login]) -> str:
    lines = ["Demo sign-in details (demo data only - never use in production):", ""]
    width = max(len(x.email) for x in logins)
    pw_width = max(len(x.password) for x in logins)
    for x in logins:
        lines.append(f"  {x.email:<{width}}  {x.password:<{pw_width}}  {x.role}, {x.organisation}")
    return "\n".join(lines) + "\n"
