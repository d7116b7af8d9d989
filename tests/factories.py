"""factory_boy factories for the models (they use the current app context's session)."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User
from app.models.base import utcnow
from app.models.user import TWO_FACTOR_ROLES
from app.services.passwords import hash_password
from tests.two_factor_codes import TOTP_SECRET

PASSWORD = "correct horse battery staple"


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class LeadBidderFactory(_Base):
    class Meta:
        model = Organisation

    kind = OrganisationKind.LEAD_BIDDER
    name = factory.Sequence(lambda n: f"Shire {n} Office of the Police and Crime Commissioner")
    short_name = factory.Sequence(lambda n: f"Shire {n} OPCC")


class CSPFactory(_Base):
    class Meta:
        model = Organisation

    kind = OrganisationKind.CSP
    name = factory.Sequence(lambda n: f"Town {n} Community Safety Partnership")
    short_name = factory.Sequence(lambda n: f"Town {n} CSP")
    lead_bidder = factory.SubFactory(LeadBidderFactory)


class UserFactory(_Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Person {n}")
    role = Role.LEAD_STAFF
    organisation = factory.SubFactory(LeadBidderFactory)
    lead_bidder_id = factory.LazyAttribute(lambda o: o.organisation.tenant_id)
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    password_changed_at = factory.LazyFunction(utcnow)
    # Those who must sign in with a second factor have one set up (tests/two_factor_codes.py).
    totp_secret = factory.LazyAttribute(lambda o: TOTP_SECRET if o.role in TWO_FACTOR_ROLES else None)
    two_factor_enabled_at = factory.LazyAttribute(lambda o: utcnow() if o.role in TWO_FACTOR_ROLES else None)
