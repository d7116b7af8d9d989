"""Tenant scoping by mechanism: a safety net under the explicit checks of app/policy/.

While a tenant (a lead bidder's organisation id) is set, every ORM SELECT that involves a
`TenantScoped` model (app/models/base.py) gets that model's tenant criterion added by
`with_loader_criteria`, wherever the model appears: the main entity, joins, aliases, eager loads,
relationship lazy loads and `session.get()` when it emits SQL. A row of another lead bidder is
then simply not found, even by a query that forgot its `where(... lead_bidder_id == ...)`.

Which tenant:
  * `tenant_scope(id)` / `unscoped()` (context managers) decide explicitly, in or out of a request;
  * otherwise, in a request, the signed-in user's lead bidder (Flask-Login's `g._login_user`, read
    without loading it: queries made while the user is being loaded, or with nobody signed in,
    such as sign-in itself and pages reached by a secret, are not scoped);
  * otherwise (command line, outbox worker, reminders runner, migrations, tests) nothing is filtered.

Not covered (the explicit checks in app/policy/ and the services still matter):
  * objects already in the session's identity map. `session.get()` returns them without SQL, so
    `TenantSession.get` compares the row's loaded tenant instead (direct owners always; children
    only when their parent is loaded); other identity-map hits (a many-to-one lazy load that finds
    its target already loaded) are not checked. `populate_existing=True` always emits SQL;
    refreshing expired attributes of an object already in hand (`session.refresh`, attribute
    access after commit) is a column load and deliberately not filtered;
  * Core statements on tables (`Model.__table__.select()`, `text()`, `from_statement`), and ORM
    UPDATE and DELETE statements: only SELECTs are filtered;
  * CSP-level separation inside a lead bidder (a CSP user sees only their own CSP): app/policy/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from flask import g, has_request_context
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import event, inspect
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria

# app.extensions imports this module to make db.session a TenantSession, before the models
# exist: TenantScoped (app/models/base.py) is imported where it is used.

_FROM_REQUEST = object()  # no explicit choice: use the signed-in user's lead bidder, if any
_choice: ContextVar[object] = ContextVar("tenant_choice", default=_FROM_REQUEST)


@contextmanager
def tenant_scope(lead_bidder_id: int) -> Iterator[None]:
    """Scope every query in the block to this lead bidder, whoever is signed in."""
    token = _choice.set(int(lead_bidder_id))
    try:
        yield
    finally:
        _choice.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    """Filter nothing in the block, even in a signed-in request. For lookups that are global on
    purpose (an email address is unique in the whole installation) and pages reached by a secret."""
    token = _choice.set(None)
    try:
        yield
    finally:
        _choice.reset(token)


def unscoped_view(view):
    """A view reached by a secret (an invitation or password reset link), which is about the
    secret's owner, not about whoever happens to be signed in on this browser."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        with unscoped():
            return view(*args, **kwargs)

    return wrapped


def current_tenant_id() -> int | None:
    """The lead bidder queries are scoped to now, or None (nothing is filtered)."""
    choice = _choice.get()
    if choice is not _FROM_REQUEST:
        return choice  # type: ignore[return-value]
    if not has_request_context():
        return None
    user = g.get("_login_user")  # set by Flask-Login once the user is loaded; never load it here
    if user is None or not user.is_authenticated:
        return None
    cached = g.get("_tenant_of_user")
    if cached is not None and cached[0] is user:
        return cached[1]
    tenant = inspect(user).dict.get("lead_bidder_id")
    if tenant is None:  # expired by a commit: reload it, unfiltered (it is the user's own row)
        with unscoped():
            tenant = user.lead_bidder_id
    g._tenant_of_user = (user, tenant)
    return tenant


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    # Column loads refresh an object already in hand (expired or deferred attributes): not filtered.
    if not state.is_select or state.is_column_load:
        return
    tenant = current_tenant_id()
    if tenant is None:
        return
    # Relationship loads are filtered too: objects loaded before the tenant was known (the
    # signed-in user) carry no criteria of their own.
    state.statement = state.statement.options(_criteria_for(tenant))


_options: dict[int, object] = {}


def _criteria_for(tenant: int):
    """The loader option for one tenant, made once (it is immutable; making it is the costly part)."""
    option = _options.get(tenant)
    if option is None:
        from app.models.base import TenantScoped

        if len(_options) > 10_000:
            _options.clear()
        # propagate_to_loaders=False: loaded objects do not carry this tenant's criteria out of
        # the scope into later lazy loads (in the scope, this hook adds them to those loads).
        option = _options[tenant] = with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_criterion(tenant),
            include_aliases=True,
            propagate_to_loaders=False,
        )
    return option


class TenantSession(FlaskSQLAlchemySession):
    """db.session's class: get() also refuses another tenant's object found in the identity map
    (where no SQL, and so no criteria, is involved), and finds nothing for an id beyond MAX_ID."""

    def get(self, entity, ident, **kwargs):
        from app.models.base import MAX_ID, TenantScoped

        if isinstance(ident, int) and not -MAX_ID - 1 <= ident <= MAX_ID:
            return None  # no row has such an id (and the database would refuse to look)
        obj = super().get(entity, ident, **kwargs)
        if obj is not None and isinstance(obj, TenantScoped):
            tenant = current_tenant_id()
            if tenant is not None:
                found = obj.loaded_tenant_id()
                if found is not None and found != tenant:
                    return None
        return obj

    def get_one(self, entity, ident, **kwargs):
        obj = self.get(entity, ident, **kwargs)
        if obj is None:
            raise NoResultFound("No row was found when one was required")
        return obj


event.listen(TenantSession, "do_orm_execute", _add_tenant_criteria)
