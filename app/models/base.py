"""Shared column types and helpers for the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from sqlalchemy import DateTime, inspect, literal_column, select
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

# The largest id a row can have: id columns are INTEGER (32 bits on PostgreSQL, which refuses a
# larger number in a query on them: "integer out of range").
MAX_ID = 2**31 - 1


def as_id(value) -> int | None:
    """A number sent by a page or a link (an id, a version, a revision number) as an int when it is
    whole, written in digits and small enough for the id columns; else None, so that nonsense and
    numbers too large (PostgreSQL: "integer out of range") are never put in a query."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= MAX_ID else None
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL stores timestamptz; SQLite stores the naive UTC value. Reading always gives an
    aware datetime in UTC, and writing a naive datetime is refused so local times cannot slip in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored: give a timezone-aware UTC datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class TenantScoped:
    """A row that belongs to one lead bidder (tenant).

    While a tenant is set (a signed-in request, or `app.tenancy.tenant_scope`), every ORM SELECT
    of a TenantScoped model, its relationship loads and `session.get()` only find rows of that
    tenant: see app/tenancy.py. This is a safety net under the explicit checks of app/policy/,
    not a replacement for them.

    Most models have a `lead_bidder_id` column and need nothing else. A child table without one
    names the relationship to its parent in `__tenant_parent__`: its rows belong to the parent's
    tenant (`contribution_id IN (SELECT id FROM contribution WHERE lead_bidder_id = :tenant)`).
    """

    __tenant_parent__: ClassVar[str | None] = None

    @classmethod
    def tenant_criterion(cls, tenant_id):
        """SQL that is true for this model's rows of `tenant_id` (added to every scoped SELECT).

        with_loader_criteria first calls it on TenantScoped itself for a sample expression (to
        find the bound parameters of its lambda); then on each mapped class it applies to."""
        if cls is TenantScoped:
            return literal_column("1") == tenant_id
        if cls.__tenant_parent__ is None:
            return cls.lead_bidder_id == tenant_id
        fk, parent_key, parent = _parent_link(cls)
        return getattr(cls, fk.key).in_(select(parent_key).where(parent._tenant_clause(tenant_id)).correlate(None))

    @classmethod
    def _tenant_clause(cls, tenant_id):
        """As tenant_criterion, on the plain table (used inside a child's subquery, where the ORM
        must not add its own criteria or correlate the subquery with the enclosing query)."""
        if cls.__tenant_parent__ is None:
            return cls.__table__.c.lead_bidder_id == tenant_id
        fk, parent_key, parent = _parent_link(cls)
        return fk.in_(select(parent_key).where(parent._tenant_clause(tenant_id)).correlate(None))

    def loaded_tenant_id(self) -> int | None:
        """The tenant of this row from what is already loaded (no SQL), or None if unknown."""
        state = inspect(self)
        if self.__tenant_parent__ is None:
            return state.dict.get("lead_bidder_id")
        parent = state.dict.get(self.__tenant_parent__)
        if parent is None and state.session is not None:  # the parent may be loaded on its own
            fk, _, parent_class = _parent_link(type(self))
            if state.dict.get(fk.key) is not None:
                parent = state.session.identity_map.get(identity_key(parent_class, state.dict[fk.key]))
        return parent.loaded_tenant_id() if isinstance(parent, TenantScoped) else None


def _parent_link(cls):
    """(this table's foreign key column, the parent's key column, the parent class)."""
    link = cls.__dict__.get("_tenant_link")
    if link is None:
        rel = inspect(cls).relationships[cls.__tenant_parent__]
        ((local, remote),) = rel.local_remote_pairs
        link = (local, remote, rel.mapper.class_)
        cls._tenant_link = link
    return link


def render_item(type_, obj, autogen_context):
    """Alembic hook: write UTCDateTime into migrations as a plain timezone-aware DateTime."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
