"""Shared fixtures: the app on a database built by migrations, a real SMTP server on loopback,
a world of two lead bidders with users of every role, and signed-in clients.

Set TEST_DATABASE_URL to run everything on PostgreSQL (make test does both). Under pytest-xdist
(`-n 2`) each worker has its own database: TEST_DATABASE_URL's name (or instance/test.sqlite) with
the worker's id added, e.g. test_gw0; PostgreSQL databases are created when missing.

Speed: the world is built once (per worker) and kept as a snapshot of every table's rows; each
test that asks for it gets those rows back with plain INSERTs (and PostgreSQL's sequences set
back), so ids are the same in every test. Tests still commit for real: after each test that used
the app every table is emptied, as before. The snapshot is built again when it is more than a
minute old or the date has changed since, so "now" in the world is never far from a fresh one."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import make_url

os.environ["APP_ENV"] = "testing"


def _worker_database_url(url: str | None, worker: str) -> str:
    """This xdist worker's own database: the same server, the name with the worker's id added."""
    if not url:
        return f"sqlite:///{Path(__file__).resolve().parent.parent / 'instance' / f'test_{worker}.sqlite'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return url  # each worker's memory is its own already
        path = Path(parsed.database)
        return parsed.set(database=str(path.with_name(f"{path.stem}_{worker}{path.suffix}"))).render_as_string(
            hide_password=False
        )
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


if os.environ.get("PYTEST_XDIST_WORKER"):
    # Before the app's config is imported: TestingConfig reads TEST_DATABASE_URL once.
    os.environ["TEST_DATABASE_URL"] = _worker_database_url(
        os.environ.get("TEST_DATABASE_URL"), os.environ["PYTEST_XDIST_WORKER"]
    )

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from app import create_app, jobs  # noqa: E402
from app.extensions import db, limiter  # noqa: E402
from app.models import OutboxEmail, OutboxStatus, Role  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from tests.factories import PASSWORD, CSPFactory, LeadBidderFactory, UserFactory  # noqa: E402
from tests.jobs import forget_queued  # noqa: E402
from tests.smtp import SMTPServer  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def ensure_database(url: str) -> None:
    """Create a PostgreSQL database that does not exist yet (SQLite creates its file itself)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    for maintenance in ("postgres", "template1"):
        server = create_engine(parsed.set(database=maintenance), isolation_level="AUTOCOMMIT")
        try:
            with server.connect() as conn:
                name = {"name": parsed.database}
                if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), name):
                    conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
                return
        except OperationalError:
            if maintenance == "template1":
                raise
        finally:
            server.dispose()


def reset_database(app) -> None:
    """Drop everything and build the schema with the migrations, as production does."""
    ensure_database(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()


def empty_tables(app) -> None:
    from app.services.exports import forget_versions

    forget_versions()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # The audit trail refuses DELETE (migration 0010); the tests' superuser turns
                # triggers off for this transaction only, as no application user can.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    _database["empty"], _database["kept"] = True, None


def keep_rows(tag: str) -> None:
    """Leave this test's rows for the next test on purpose (the access test does, state by state,
    when a test changed nothing): `tag` says what they are. Any other test empties them first."""
    _database["empty"], _database["kept"] = False, tag


def kept_rows() -> str | None:
    """The tag of the rows the last test kept (keep_rows), if the database still holds them."""
    return _database["kept"]


# Whether the test database is known to be empty: set when empty_tables() has run, cleared after a
# test that may have written to it some other way (make_app without the app fixture). "kept": the
# rows a test left on purpose (keep_rows).
_database = {"empty": False, "kept": None}


@pytest.fixture(scope="session")
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_app(smtp_server):
    """Build another app on the same database with some settings changed."""
    apps = []

    def _make(**overrides):
        overrides.setdefault("MAIL_PORT", smtp_server.port)
        overrides.setdefault("MAIL_SERVER", "127.0.0.1")
        app = create_app("testing", **overrides)
        apps.append(app)
        return app

    yield _make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def app(make_app):
    app = make_app()
    reset_database(app)
    return app


S3_TESTS = os.environ.get("TEST_STORAGE") == "s3"


@dataclass(frozen=True, order=True)
class StoredFile:
    """One stored file as the tests look at it on the S3 backend (the few Path methods they use)."""

    app: object = field(compare=False, repr=False)
    key: str

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    def exists(self) -> bool:
        from app.storage import storage

        with self.app.app_context():
            return storage().exists(self.key)

    def read_bytes(self) -> bytes:
        from app.storage import storage

        with self.app.app_context():
            return storage().read(self.key)

    def write_bytes(self, data: bytes) -> None:
        from app.storage import storage

        with self.app.app_context():
            storage().put(self.key, data)

    def unlink(self, missing_ok: bool = False) -> None:
        from app.storage import storage

        with self.app.app_context():
            storage().delete(self.key)


@dataclass(frozen=True)
class StoredFolder:
    """A storage area ("uploads/", "exports/") as the tests look at a folder, on the S3 backend."""

    app: object
    prefix: str

    def __truediv__(self, name: str) -> StoredFile:
        return StoredFile(self.app, self.prefix + name)

    def exists(self) -> bool:
        return True

    def iterdir(self) -> list[StoredFile]:
        from app.storage import storage

        with self.app.app_context():
            listed = storage().listing(self.prefix)
        return [StoredFile(self.app, i.key) for i in listed if "/" not in i.key.removeprefix(self.prefix)]


def stored_folder(app, folder, prefix: str):
    """The test's folder with the local backend; the bucket's area of it with TEST_STORAGE=s3."""
    return StoredFolder(app, prefix) if S3_TESTS else folder


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server (moto's) on loopback for this test run, with test credentials."""
    from moto.server import ThreadedMotoServer

    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105
                   "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "eu-west-2"}
    before = {name: os.environ.get(name) for name in credentials}
    os.environ.update(credentials)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def s3(app, s3_server):
    """The app keeping its files in a new bucket of the loopback S3 server (SSE-S3 on). Its own
    MonkeyPatch: a test's monkeypatch.undo() leaves the bucket in place."""
    import secrets
    from types import SimpleNamespace

    import boto3

    bucket = f"test-{secrets.token_hex(6)}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="eu-west-2")
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    settings = {"STORAGE_BACKEND": "s3", "S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server,
                "S3_REGION": "eu-west-2", "S3_SSE": "AES256", "S3_SSE_KMS_KEY_ID": None, "S3_PREFIX": "bid/"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setitem(app.config, name, value)
        yield SimpleNamespace(client=client, bucket=bucket, prefix="bid/", endpoint=s3_server)


@pytest.fixture(autouse=True)
def _storage_backend(request):
    """TEST_STORAGE=s3: every test that uses the app keeps its files in the loopback S3 server."""
    uses_app = "app" in request.fixturenames or "world" in request.fixturenames
    if S3_TESTS and uses_app and not request.module.__name__.endswith("test_storage"):  # it picks its own
        request.getfixturevalue("s3")


@pytest.fixture(autouse=True)
def _clean(request, smtp_server):
    smtp_server.start()
    smtp_server.clear()
    uses_app = "app" in request.fixturenames or "world" in request.fixturenames
    if uses_app:  # the queue is the app's again, whatever app another test made
        jobs.init_app(request.getfixturevalue("app"))
    forget_queued()
    if uses_app and _database["kept"]:
        empty_tables(request.getfixturevalue("app"))
    yield
    if uses_app:
        app = request.getfixturevalue("app")
        empty_tables(app)
        with app.app_context():
            limiter.reset()
    else:
        _database["empty"], _database["kept"] = False, None


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class World:
    """Two lead bidders: A (the one under test, with users of every role) and B (another tenant).

    Each has an open EIYF-style round: A's with contributions from CSPs A1 (managed by
    csp_manager) and A2 (other_csp_manager), B's with one from CSP B1."""

    lead_a: int
    csp_a1: int
    csp_a2: int
    lead_b: int
    csp_b1: int
    users: dict[str, int]
    emails: dict[str, str]
    round_a: int = 0
    contribution_a1: int = 0
    contribution_a2: int = 0
    round_b: int = 0
    contribution_b1: int = 0
    section_a: int = 0  # the first section of round A that CSPs write


def open_round_for(lead_admin, managers_by_csp: dict, title: str = "Early Intervention Youth Fund 2018"):
    """An open round from the EIYF template; deadlines two and four weeks from now."""
    from app.services import rounds

    now = utcnow()
    rnd = rounds.create_round(
        lead_admin,
        fund_name="Early Intervention Youth Fund",
        funder="Home Office",
        title=title,
        summary="",
        funder_deadline=now + timedelta(days=28),
        internal_deadline=now + timedelta(days=14),
    )
    rounds.set_participants(lead_admin, rnd, managers_by_csp)
    rounds.open_round(lead_admin, rnd)
    db.session.flush()
    return rnd


def build_world(app) -> World:
    """Build the world with the services, on an empty database, and commit it."""
    with app.app_context():
        lead_a = LeadBidderFactory(name="Thames Valley OPCC")
        csp_a1 = CSPFactory(name="Reading Community Safety Partnership", lead_bidder=lead_a)
        csp_a2 = CSPFactory(name="Safer Slough Partnership", lead_bidder=lead_a)
        lead_b = LeadBidderFactory(name="Hampshire OPCC")
        csp_b1 = CSPFactory(name="Southampton Community Safety Partnership", lead_bidder=lead_b)
        people = {
            "lead_admin": UserFactory(role=Role.LEAD_ADMIN, organisation=lead_a, email="admin@a.example.org"),
            "lead_staff": UserFactory(role=Role.LEAD_STAFF, organisation=lead_a, email="staff@a.example.org"),
            "viewer": UserFactory(role=Role.VIEWER, organisation=lead_a, email="viewer@a.example.org"),
            "csp_manager": UserFactory(role=Role.CSP_MANAGER, organisation=csp_a1, email="manager@a1.example.org"),
            "csp_contributor": UserFactory(
                role=Role.CSP_CONTRIBUTOR, organisation=csp_a1, email="contributor@a1.example.org"
            ),
            "other_csp_manager": UserFactory(
                role=Role.CSP_MANAGER, organisation=csp_a2, email="manager@a2.example.org"
            ),
            "other_lead_admin": UserFactory(role=Role.LEAD_ADMIN, organisation=lead_b, email="admin@b.example.org"),
            "other_lead_csp_manager": UserFactory(
                role=Role.CSP_MANAGER, organisation=csp_b1, email="manager@b1.example.org"
            ),
            # Lead bidder B's users of the other roles (last, so the ids above never change): the
            # access test tries every role of another lead bidder.
            "other_lead_staff": UserFactory(role=Role.LEAD_STAFF, organisation=lead_b, email="staff@b.example.org"),
            "other_lead_viewer": UserFactory(role=Role.VIEWER, organisation=lead_b, email="viewer@b.example.org"),
            "other_lead_csp_contributor": UserFactory(
                role=Role.CSP_CONTRIBUTOR, organisation=csp_b1, email="contributor@b1.example.org"
            ),
        }
        db.session.flush()
        round_a = open_round_for(
            people["lead_admin"],
            {csp_a1.id: people["csp_manager"].id, csp_a2.id: people["other_csp_manager"].id},
        )
        round_b = open_round_for(people["other_lead_admin"], {csp_b1.id: people["other_lead_csp_manager"].id})
        by_csp = {c.csp_id: c.id for c in [*round_a.contributions, *round_b.contributions]}
        # The rounds' opening emails are queued but not delivered, so tests count only their own.
        db.session.execute(
            OutboxEmail.__table__.update().values(status=OutboxStatus.CANCELLED, last_error="Test world")
        )
        section_a = next(s for s in round_a.sections if s.csp_contributes)
        db.session.commit()
        return World(
            lead_a=lead_a.id,
            csp_a1=csp_a1.id,
            csp_a2=csp_a2.id,
            lead_b=lead_b.id,
            csp_b1=csp_b1.id,
            users={k: u.id for k, u in people.items()},
            emails={k: u.email for k, u in people.items()},
            round_a=round_a.id,
            contribution_a1=by_csp[csp_a1.id],
            contribution_a2=by_csp[csp_a2.id],
            round_b=round_b.id,
            contribution_b1=by_csp[csp_b1.id],
            section_a=section_a.id,
        )


_LONDON = ZoneInfo("Europe/London")
SNAPSHOT_MAX_AGE = timedelta(minutes=1)


class WorldSnapshot:
    """The rows of every table (and PostgreSQL's sequence positions) right after build_world()."""

    def __init__(self, app):
        empty_tables(app)
        with app.app_context():
            _restart_sequences()
        self.built_at = utcnow()
        self.world = build_world(app)
        self.rows, self.sequences = take_rows(app)

    def fresh(self) -> bool:
        """Young enough to stand for a world built now (same day in UTC and in the UK)."""
        now = utcnow()
        return (
            now - self.built_at < SNAPSHOT_MAX_AGE
            and now.date() == self.built_at.date()
            and now.astimezone(_LONDON).date() == self.built_at.astimezone(_LONDON).date()
        )

    def restore(self, app) -> World:
        restore_rows(app, self.rows, self.sequences)
        return copy.deepcopy(self.world)


def take_rows(app) -> tuple[dict[str, list[dict]], dict[str, int | None]]:
    """Every table's rows, and PostgreSQL's sequence positions: what restore_rows() puts back."""
    with app.app_context(), db.engine.connect() as conn:
        # In id order: PostgreSQL returns rows in the order they lie on disk, which after deletes and
        # updates need not be the order they were made in, and a CSP must be put back after its lead
        # bidder (organisation.lead_bidder_id refers to the same table).
        rows = {
            table.name: [
                dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            ]
            for table in db.metadata.sorted_tables
        }
        sequences = _sequence_positions(conn)
    _database["empty"], _database["kept"] = False, None
    return rows, sequences


def restore_rows(app, rows: dict[str, list[dict]], sequences: dict[str, int | None]) -> None:
    """Empty every table and put back the rows of take_rows() (the same ids, the same next ids)."""
    if not _database["empty"]:
        empty_tables(app)
    with app.app_context(), db.engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if rows.get(table.name):
                conn.execute(table.insert(), rows[table.name])
        _set_sequences(conn, sequences)
    _database["empty"], _database["kept"] = False, None


def _restart_sequences() -> None:
    """Ids start from 1 again (SQLite does this itself for tables without AUTOINCREMENT)."""
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:
        names = conn.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")).all()
        for name in names:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))


def _sequence_positions(conn) -> dict[str, int | None]:
    if conn.dialect.name != "postgresql":
        return {}
    rows = conn.execute(text("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"))
    return dict(rows.all())


def _set_sequences(conn, positions: dict[str, int | None]) -> None:
    """Put each sequence where it was in the snapshot, so the next ids are the same in every test."""
    if not positions:
        return
    calls = [
        f"setval('\"{name}\"', {value}, true)" if value is not None else f"setval('\"{name}\"', 1, false)"
        for name, value in positions.items()
    ]
    conn.execute(text("SELECT " + ", ".join(calls)))


_snapshot: dict[str, WorldSnapshot] = {}


@pytest.fixture
def world(app) -> World:
    """The world of build_world(), as if just built: restored from a snapshot of its rows."""
    snapshot = _snapshot.get("world")
    if snapshot is None or not snapshot.fresh():
        snapshot = _snapshot["world"] = WorldSnapshot(app)
        forget_queued()  # building it queued emails; a restored world has queued nothing
        return copy.deepcopy(snapshot.world)
    return snapshot.restore(app)


def csrf_token(client, path: str) -> str:
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({response.status_code})"
    return match.group(1)


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Sign in through the forms: the password, then (for someone with two-factor sign-in) a code
    from their app; someone who must set two-factor sign-in up first sets it up through its pages.
    Returns the last answer: the redirect into the service."""
    from tests.two_factor_codes import next_code

    path = "/sign-in" + (f"?next={next_url}" if next_url else "")
    token = csrf_token(client, "/sign-in")
    response = client.post(path, data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    if response.headers["Location"].startswith("/sign-in/two-factor"):
        code_page = response.headers["Location"]
        token = csrf_token(client, code_page)
        response = client.post(code_page, data={"code": next_code(email, client.application), "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    elif client.get(response.headers["Location"]).headers.get("Location") == "/account/two-factor":
        set_up_two_factor(client, email)
    return response


def set_up_two_factor(client, email: str) -> list[str]:
    """Set up two-factor sign-in through its pages, as a person with an authenticator app does.
    Returns the recovery codes shown."""
    from tests.two_factor_codes import KEY_RE, next_code, remember

    post_form(client, "/account/two-factor/start", page="/account/two-factor")
    page = client.get("/account/two-factor/set-up").get_data(as_text=True)
    remember(email, KEY_RE.search(page).group(1))
    response = post_form(client, "/account/two-factor/set-up", {"code": next_code(email, client.application)})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Your recovery codes" in html, html[:2000]
    return re.findall(r"<code>([a-z0-9-]+)</code>", html)


def sign_in_directly(client, email: str):
    """Sign in as the sign-in form does, without the form: a server-side session row and the cookies.

    Much quicker than sign_in() (no page to render, no password to hash), and it leaves the same
    state: UserSession row, last_sign_in_at, the "user.signed_in" audit event, Flask-Login's keys
    in the session cookie and the drafts' owner cookie. Tests of signing in itself use sign_in()."""
    from flask import session
    from flask_login import login_user

    from app import drafts
    from app.services.accounts import find_user_by_email
    from app.services.audit import record
    from app.services.sessions import start_session

    app = client.application
    with app.test_request_context("/sign-in", method="POST", environ_base=client.environ_base):
        user = find_user_by_email(email)
        assert user is not None and user.active, f"no active user {email}"
        user.last_sign_in_at = utcnow()
        session.clear()
        start_session(user, client.environ_base.get("HTTP_USER_AGENT"))
        login_user(user)  # sets the session keys; the drafts' cookie is set below instead
        record(user, "user.signed_in", user, f"{user.full_name} signed in")
        db.session.commit()
        values = dict(session)
        owner = drafts._owner_serializer().dumps(user.id)
    with client.session_transaction() as cookie_session:
        cookie_session.clear()
        cookie_session.update(values)
    client.set_cookie(drafts.OWNER_COOKIE, owner, max_age=drafts.DRAFT_DAYS * 24 * 3600, httponly=True, samesite="Lax")


def post_form(client, path: str, data: dict | None = None, follow_redirects: bool = False, page: str | None = None):
    """POST to a page the way a browser does: with the CSRF token from the page."""
    token = csrf_token(client, page or path)
    return client.post(path, data={**(data or {}), "csrf_token": token}, follow_redirects=follow_redirects)


@pytest.fixture
def signed_in(app, world):
    """signed_in('lead_admin') -> a test client signed in as that world user."""

    def _client(who: str):
        c = app.test_client()
        sign_in_directly(c, world.emails[who])
        return c

    return _client
