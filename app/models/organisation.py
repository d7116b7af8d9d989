"""Organisations: lead bidders (OPCCs) and the CSPs and partners they work with."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, false, func, inspect, or_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow

if TYPE_CHECKING:
    from app.models.user import User


class OrganisationKind(enum.StrEnum):
    LEAD_BIDDER = "lead_bidder"
    CSP = "csp"


class Organisation(TenantScoped, db.Model):
    """A lead bidder (tenant) or one of its Community Safety Partnerships.

    A lead bidder has lead_bidder_id = NULL; every other organisation belongs to exactly one
    lead bidder, and everything it owns is only visible inside that lead bidder.
    """

    __tablename__ = "organisation"
    __table_args__ = (UniqueConstraint("lead_bidder_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganisationKind] = mapped_column(
        Enum(OrganisationKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(80))
    area: Mapped[str | None] = mapped_column(String(120))
    lead_bidder_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # A lead bidder administrator can require two-factor sign-in of everyone at a CSP (lead bidder
    # administrators and staff always need it: app/policy/rules.py two_factor_required()).
    two_factor_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lead_bidder: Mapped[Organisation | None] = relationship(remote_side=[id], back_populates="partners")
    partners: Mapped[list[Organisation]] = relationship(back_populates="lead_bidder")
    users: Mapped[list[User]] = relationship(back_populates="organisation", foreign_keys="User.organisation_id")

    @property
    def is_lead_bidder(self) -> bool:
        return self.kind == OrganisationKind.LEAD_BIDDER

    @property
    def tenant_id(self) -> int:
        """The lead bidder this organisation's data belongs to."""
        return self.id if self.lead_bidder_id is None else self.lead_bidder_id

    # Tenant scoping (TenantScoped): a lead bidder is its own tenant; a CSP belongs to its lead bidder.
    @classmethod
    def tenant_criterion(cls, tenant_id):
        return or_(cls.id == tenant_id, cls.lead_bidder_id == tenant_id)

    @classmethod
    def _tenant_clause(cls, tenant_id):
        table = cls.__table__
        return or_(table.c.id == tenant_id, table.c.lead_bidder_id == tenant_id)

    def loaded_tenant_id(self) -> int | None:
        loaded = inspect(self).dict
        if "lead_bidder_id" not in loaded:
            return None
        return loaded["lead_bidder_id"] if loaded["lead_bidder_id"] is not None else loaded.get("id")

    @property
    def display_name(self) -> str:
        """The short name where there is one: 'Thames Valley OPCC'."""
        return self.short_name or self.name

    @property
    def kind_label(self) -> str:
        return "Lead bidder" if self.is_lead_bidder else "Community Safety Partnership"

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


def csps_of(lead_bidder_id: int):
    """Select the CSPs of a lead bidder, in name order."""
    return (
        select(Organisation)
        .where(Organisation.lead_bidder_id == lead_bidder_id, Organisation.kind == OrganisationKind.CSP)
        .order_by(func.lower(Organisation.name))
    )
