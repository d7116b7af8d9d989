"""The access test: every (endpoint, method) of the URL map, in every life-cycle state of STATES,
for anonymous users and every user of the world, against what the rulebook decides.

For each entry of tests/access_policy.py and each state, the world (with the entries' objects) is
put in that state with every user already signed in (built once per worker and state, then
restored from a snapshot of its rows). Each user's expected answer is
`app.policy.decide(user, entry.action, record)`, the record being the one the URL names
(record_named_by), loaded in that state:

- allowed: 2xx, a redirect to anywhere but the sign-in page, or 400/409 (POSTs are sent with a
  valid CSRF token and an empty form, so most fail validation); a download is the file itself;
- refused by role: 403; by scope (another lead bidder's or another CSP's record): 404;
  by state: 403, or a redirect with the reason flashed; anonymous: a redirect to sign in;
- and the refused requests together change nothing: every table's rows are the same after them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import g, url_for
from sqlalchemy import select, update

from app.extensions import db, limiter
from app.models import (
    Contribution,
    ExportRecord,
    InternalNote,
    Notification,
    Organisation,
    Role,
    Round,
    RoundStatus,
    User,
    UserSession,
)
from app.models.base import utcnow
from app.policy import ALLOWED, RULES, Decision, decide
from app.policy.rules import visible_to_csps
from tests.access_policy import (
    CHECKED_INSIDE,
    MORE_STATES,
    NOT_TRIED,
    OBJECTS,
    POLICY,
    PUBLIC,
    SIGNED_IN,
    STATES,
    Route,
)
from tests.conftest import csrf_token, empty_tables, keep_rows, kept_rows, restore_rows, sign_in_directly, take_rows

ANONYMOUS = "anonymous"


# --- the table against the URL map and the rulebook ------------------------------------------------

def _url_map_keys(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_and_method_is_in_the_table(app):
    table = {route.key for route in POLICY}
    missing = sorted(_url_map_keys(app) - table)
    stale = sorted(table - _url_map_keys(app))
    assert not missing, f"Add these (endpoint, method) pairs to tests/policies/: {missing}"
    assert not stale, f"These (endpoint, method) pairs no longer exist: {stale}"


def test_each_entry_is_named_once_and_governed_by_a_rule():
    names = [route.name for route in POLICY]
    assert len(names) == len(set(names)), "an entry is in the table twice (give one a variant)"
    for route in POLICY:
        assert route.action in (PUBLIC, SIGNED_IN) or route.action in RULES, f"{route.name}: no rule {route.action}"


def test_every_rule_governs_a_route():
    unused = sorted(set(RULES) - {route.action for route in POLICY} - set(CHECKED_INSIDE))
    assert not unused, f"Rules that no route in the table is governed by: {unused}"
    assert set(CHECKED_INSIDE) <= set(RULES), "CHECKED_INSIDE names a rule that no longer exists"


def test_every_round_state_is_tried_or_said_why_not():
    tried = {_state_of(name) for name in STATES}
    assert set(RoundStatus) == tried | set(NOT_TRIED), "a round state is neither in STATES nor NOT_TRIED"
    assert not tried & set(NOT_TRIED)


def test_the_world_has_every_role_at_both_lead_bidders(app, world):
    with app.app_context():
        users = db.session.scalars(select(User).where(User.id.in_(world.users.values()))).all()
        for lead in (world.lead_a, world.lead_b):
            roles = {u.role for u in users if u.lead_bidder_id == lead}
            assert roles == set(Role), f"lead bidder {lead} has no user with the roles {set(Role) - roles}"
        assert any(u.organisation_id == world.csp_a2 for u in users), "no user of another CSP of lead bidder A"


def test_every_non_public_view_checks_sign_in(app):
    """A cheap guard against a route that forgot its decorator (the matrix below proves it)."""
    for route in POLICY:
        if route.action != PUBLIC:
            view = app.view_functions[route.endpoint]
            assert hasattr(view, "__wrapped__"), f"{route.endpoint} has no access decorator"


def test_views_with_a_rule_decorator_name_the_tables_rule(app):
    """@rule_required(action) on a view and the table agree (for the methods the table gives it)."""
    for route in POLICY:
        declared = getattr(app.view_functions[route.endpoint], "action", None)
        if declared and route.action in RULES:
            assert RULES[declared].roles >= RULES[route.action].roles, (
                f"{route.name}: the view lets only {sorted(RULES[declared].roles)} in, "
                f"but {route.action} allows {sorted(RULES[route.action].roles)}"
            )


def _state_of(name: str) -> RoundStatus:
    return {
        "draft": RoundStatus.DRAFT,
        "open": RoundStatus.OPEN,
        "contribution_submitted": RoundStatus.OPEN,
        "signed_off": RoundStatus.SIGNED_OFF,
        "submitted_to_funder": RoundStatus.SUBMITTED,
    }[name]


# --- the world in each state, every user signed in: built once per worker, then restored ------------

@dataclasses.dataclass
class StateSnapshot:
    w: SimpleNamespace  # the world's ids and the objects' (budget_line, document ...)
    rows: dict
    sequences: dict
    sessions: dict[str, tuple[dict[str, str], str]]  # user -> (cookies, CSRF token)
    lead_bidders: dict[str, int]  # user -> their lead bidder's id
    fingerprint: dict  # of the tables just restored
    files: dict  # path -> bytes of the files the objects stored (documents, exports)


_snapshots: dict[str, StateSnapshot] = {}


def _cookies(app, client) -> dict[str, str]:
    from app import drafts

    names = (app.config["SESSION_COOKIE_NAME"], drafts.OWNER_COOKIE)
    return {name: cookie.value for name in names if (cookie := client.get_cookie(name)) is not None}


def _build(app, request, state: str) -> StateSnapshot:
    world = request.getfixturevalue("world")
    w = SimpleNamespace(**dataclasses.asdict(world))
    with app.app_context():
        files = {}
        for make in OBJECTS:
            made = make(w)
            files.update(made.pop("files", {}))
            vars(w).update(made)
        db.session.commit()
        (STATES.get(state) or MORE_STATES[state])(w)
        db.session.commit()
    sessions = {}
    for user, email in [(ANONYMOUS, None), *world.emails.items()]:
        client = app.test_client()
        if email:
            sign_in_directly(client, email)
        token = csrf_token(client, "/account" if email else "/sign-in")  # puts the token in the session
        sessions[user] = (_cookies(app, client), token)
    with app.app_context():
        lead_bidders = {user: db.session.get(User, user_id).lead_bidder_id for user, user_id in world.users.items()}
        # Seen "tomorrow": however long the run, no request writes a session's "last seen" time.
        db.session.execute(update(UserSession).values(last_seen_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    rows, sequences = take_rows(app)
    return StateSnapshot(w, rows, sequences, sessions, lead_bidders, fingerprint(app), files)


def _restore(app, request, state: str) -> StateSnapshot:
    """The database as the state's snapshot has it (left as it is when the last test kept it so)."""
    snapshot = _snapshots.get(state)
    if snapshot is None:
        snapshot = _snapshots[state] = _build(app, request, state)
    elif kept_rows() != state:
        _put_back(app, snapshot)
    return snapshot


def _put_back(app, snapshot: StateSnapshot) -> None:
    """The state's tables as built, and its stored files (a request may have deleted the document)."""
    restore_rows(app, snapshot.rows, snapshot.sequences)
    for path, data in snapshot.files.items():
        if not path.exists():
            path.write_bytes(data)


@pytest.fixture(autouse=True)
def _clean(app, smtp_server):
    """Replaces conftest's _clean for this module: the tables are emptied after a test only when it
    changed them; otherwise (untouched) the next test of the same state starts from them as they are."""
    smtp_server.start()
    untouched: dict[str, str] = {}
    yield untouched
    with app.app_context():
        limiter.reset()
    if "state" in untouched:
        keep_rows(untouched["state"])
    else:
        empty_tables(app)


def _client(app, snapshot: StateSnapshot, user: str):
    client = app.test_client()
    cookies, token = snapshot.sessions[user]
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client, token


# --- what the rulebook expects ------------------------------------------------------------------------

def record_named_by(values: dict):
    """The record a URL names, for the rulebook: an export's contribution (or round), an internal note,
    a notification, else the contribution, round, CSP or user whose id it carries; None for a URL that
    names nothing."""
    if "notification_id" in values:  # a notification: its person's alone
        return db.session.get(Notification, values["notification_id"])
    if "export_id" in values:
        export = db.session.get(ExportRecord, values["export_id"])
        return export.contribution or export.round
    if "note_id" in values:  # an internal note: its rule asks who wrote it
        return db.session.get(InternalNote, values["note_id"])
    for key, model in (("contribution_id", Contribution), ("round_id", Round), ("csp_id", Organisation),
                       ("user_id", User)):
        if key in values:
            return db.session.get(model, values[key])
    return None


def expected(app, route: Route, values: dict, users: list[str], w) -> dict[str, Decision]:
    """The rulebook's decision for each user, on the record the URL names as it is now."""
    with app.app_context():
        record = record_named_by(values)
        return {user: _decide(route, db.session.get(User, w.users[user]) if user != ANONYMOUS else None, record)
                for user in users}


def _decide(route: Route, user: User | None, record) -> Decision:
    if route.action == PUBLIC:
        return ALLOWED
    if user is None:
        return Decision(False, 401, "Sign in to continue", "signed_out")
    if route.action == SIGNED_IN:
        return ALLOWED
    decision = decide(user, route.action, record)
    if decision.kind == "state" and user.is_csp and isinstance(record, Contribution) and visible_to_csps(user, record):
        # The rule says "This round has not opened yet"; the loader (get_contribution_or_404)
        # answers 404 instead, so that CSPs learn nothing of a round before it opens.
        return Decision(False, 404, decision.reason, "hidden")
    return decision


def fingerprint(app) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of its rows."""
    result = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            result[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.get("_flashes", [])]


def problem(route: Route, w, decision: Decision, response, client, user: str, elsewhere: bool) -> str | None:
    """What is wrong with the response, given the rulebook's decision; None when it is right.

    `elsewhere`: the user is of another lead bidder than the record the URL names. Refused by role
    there, they may get 404 as well as 403: the lead bidder's records are not even loaded for them
    (app/tenancy.py), so a view that loads before it checks the role finds nothing. Both refuse,
    and neither says whether the record exists."""
    status, location = response.status_code, response.headers.get("Location", "")
    to_sign_in = status == 302 and location.startswith("/sign-in")
    got = f"{status} {location}".strip()
    if decision.allowed and route.action == PUBLIC:  # anything but an error (often "sign in", or home)
        return None if status < 400 or status in (400, 409) else f"public: got {got}"
    if decision.allowed:
        if route.download:
            if status != 200 or not response.content_type.startswith(route.download):
                return f"allowed: expected the file ({route.download}), got {got} {response.content_type}"
            if route.file is not None and response.get_data() != route.file(w):
                return "allowed: the download is not the stored file"
            return None
        if 200 <= status < 300 or status in (400, 409) or (300 <= status < 400 and not to_sign_in):
            return None
        return f"allowed: expected 2xx, a redirect or 400/409, got {got}"
    if decision.kind == "signed_out":
        return None if to_sign_in and location.startswith("/sign-in?next=") else f"expected sign-in, got {got}"
    if decision.kind == "role":
        if status == 403 or (elsewhere and status == 404):
            return None
        return f"refused by role: expected 403, got {got}"
    if decision.kind in ("scope", "hidden"):
        return None if status == 404 else f"refused by scope: expected 404, got {got}"
    # refused by state: a 403 page, a redirect with the reason flashed, or the form back with the
    # reason on it (a save that arrives once the contribution is locked keeps what was typed)
    if status == 403:
        return None
    if status in (302, 303) and not to_sign_in and _flashes(client):
        return None
    if status in (400, 409) and decision.reason in html.unescape(response.get_data(as_text=True)):
        return None
    return f"refused by state ({decision.reason}): expected 403, a redirect or the form with the reason, got {got}"


def _request(client, route: Route, url: str, token: str, headers: dict):
    if route.method == "GET":
        return client.get(url, headers=headers)
    with client:  # keeps the request's context, to see whether the CSRF token was accepted
        response = client.post(url, data={"csrf_token": token}, headers=headers)
        assert not g.get("csrf_redispatched"), f"the CSRF token was refused: {route.name} {url}"
    return response


def _diff(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ: "audit_event: 12 -> 13 rows", "round: 2 -> 2 rows (changed)"."""
    changed = []
    for name, (was, _) in before.items():
        now = after[name][0]
        if before[name] != after[name]:
            changed.append(f"{name}: {was} -> {now} rows" + (" (changed)" if was == now else ""))
    return changed


# State by state, so that consecutive tests (on one xdist worker) share their state's tables.
CASES = [pytest.param(route, state, id=f"{route.name} [{state}]") for state in STATES for route in POLICY]


@pytest.mark.parametrize(("route", "state"), CASES)
def test_access(app, request, _clean, route: Route, state: str):
    snapshot = _restore(app, request, state)
    w = snapshot.w
    values = route.values(w)
    headers = route.headers(w) if route.headers else {}
    with app.test_request_context():
        url = url_for(route.endpoint, **values)
    users = [ANONYMOUS, *w.users]
    decisions = expected(app, route, values, users, w)
    # Users of another lead bidder than the record's (every record a URL names is lead bidder A's).
    elsewhere = {user: bool(values) and snapshot.lead_bidders.get(user, w.lead_a) != w.lead_a for user in users}
    problems = []

    # Refused requests first: together they must leave every table as it was.
    refused = [user for user in users if not decisions[user].allowed]
    for user in refused:
        client, token = _client(app, snapshot, user)
        response = _request(client, route, url, token, headers)
        if wrong := problem(route, w, decisions[user], response, client, user, elsewhere[user]):
            problems.append(f"{user}: {wrong}")
    after = fingerprint(app)
    if changed := _diff(snapshot.fingerprint, after):
        problems.append(f"refused requests ({', '.join(refused)}) changed the database: {changed}")

    # Then the allowed ones, each on the state as built: after a request that changed something
    # (a POST: signing out, deleting the document ...), the tables are put back for the next user.
    now = after
    for user in users:
        if decisions[user].allowed:
            if now != snapshot.fingerprint:
                _put_back(app, snapshot)
            client, token = _client(app, snapshot, user)
            response = _request(client, route, url, token, headers)
            if wrong := problem(route, w, decisions[user], response, client, user, elsewhere[user]):
                problems.append(f"{user}: {wrong}")
            now = fingerprint(app)
            if route.method == "GET" and now != snapshot.fingerprint and not route.writes_on_get:
                problems.append(f"{user}: a GET changed the database: {_diff(snapshot.fingerprint, now)}")
    if now == snapshot.fingerprint:
        _clean["state"] = state  # the next test of this state may start from these tables

    assert not problems, f"{route.name} [{state}] {url}:\n  " + "\n  ".join(problems)
