"""Operations on several servers: /healthz (alive), /readyz (ready, with the reason when not),
request ids and JSON logs, and the Prometheus metrics behind their token."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import sys
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from app import logs
from app.extensions import db
from app.models import OutboxEmail
from app.models.base import utcnow
from app.models.outbox import OutboxStatus

TOKEN = "testing-metrics-token"  # noqa: S105 - TestingConfig's  # nosec B105


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- /healthz and /readyz ---------------------------------------------------------------------

def test_ready_when_every_dependency_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "not used", "storage": "ok", "queue": "not used"},
    }
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_not_ready_when_redis_is_down_names_redis(make_app):
    app = make_app(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0", READINESS_TIMEOUT_SECONDS=1)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["checks"]["redis"].startswith("unavailable: ")
    assert response.json["checks"]["database"] == "ok"
    assert "127.0.0.1" not in response.get_data(as_text=True)  # no address, no error text


def test_alive_but_not_ready_without_the_database_or_storage(make_app, tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("")
    app = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/folder/db.sqlite", UPLOAD_FOLDER=str(not_a_folder),
    )
    client = app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable: OperationalError"
    assert response.json["checks"]["storage"] == "unavailable: missing"
    assert response.json["checks"]["redis"] == "not used"


def test_a_database_that_never_answers_makes_the_server_not_ready_instead_of_hanging(make_app):
    # A server that accepts the connection and then says nothing (a hung database, a black-holed
    # address): without a connect timeout psycopg would wait for ever, and so would /readyz.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
                       DATABASE_CONNECT_TIMEOUT=1)
        assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 1}
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable: OperationalError"


def test_ready_with_a_bucket_only_while_the_bucket_answers(app, s3):
    client = app.test_client()
    assert client.get("/readyz").json["checks"]["storage"] == "ok"
    app.config["S3_BUCKET"] = "no-such-bucket"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"] == "unavailable: bucket not reachable"


def test_ops_addresses_never_touch_a_signed_in_session(app, world):
    from flask import g

    from tests.conftest import sign_in_directly

    client = app.test_client()
    sign_in_directly(client, world.emails["lead_admin"])
    for path in ["/readyz", "/healthz", "/metrics"]:
        with client:
            response = client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert "_login_user" not in g, path  # the session was not even read
        assert response.status_code == 200, path
        assert "Set-Cookie" not in response.headers, path


def test_a_storage_backend_can_add_its_check(client):
    from app.services import health

    def bucket():
        raise health.NotReady("bucket not found")

    health.add_readiness_check("bucket", bucket)
    try:
        response = client.get("/readyz")
    finally:
        del health.READINESS_CHECKS["bucket"]
    assert response.status_code == 503
    assert response.json["checks"]["bucket"] == "unavailable: bucket not found"


# --- request ids and logs ---------------------------------------------------------------------

def test_a_safe_request_id_is_kept_and_anything_else_replaced(client):
    with client:
        response = client.get("/help", headers={"X-Request-ID": "lb-1234abcd.XY_z"})
        from flask import g

        assert g.request_id == "lb-1234abcd.XY_z"
    assert response.headers["X-Request-ID"] == "lb-1234abcd.XY_z"
    for unsafe in ["short", "has space in it", "x" * 129, "bad;header=12345", "<script>12345"]:
        got = client.get("/help", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", got), unsafe
    assert client.get("/help").headers["X-Request-ID"] != client.get("/help").headers["X-Request-ID"]


class Captured:
    """JSON lines written by the app's loggers while the block runs."""

    def __enter__(self):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.JsonFormatter())
        logging.getLogger("app").addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        logging.getLogger("app").removeHandler(self.handler)

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


def test_one_json_line_per_request_with_its_id_and_timing(client):
    with Captured() as log:
        client.get("/help", headers={"X-Request-ID": "abcdef123456"})
        client.get("/no-such-page")
    done = [line for line in log.lines if line["logger"] == "app.requests"]
    assert len(done) == 2
    first = done[0]
    assert first["request_id"] == "abcdef123456"
    assert (first["method"], first["path"], first["endpoint"], first["status"]) == ("GET", "/help", "main.help", 200)
    assert first["level"] == "INFO" and first["message"] == "GET /help 200"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", first["time"])
    assert "user_id" not in first  # nobody signed in
    assert done[1]["status"] == 404 and done[1]["endpoint"] is None


def test_the_signed_in_users_id_is_on_the_line(app, world):
    from tests.conftest import sign_in_directly

    client = app.test_client()
    sign_in_directly(client, world.emails["csp_manager"])
    with Captured() as log:
        client.get("/help")
    (line,) = [line for line in log.lines if line["logger"] == "app.requests"]
    assert line["user_id"] == world.users["csp_manager"]


def test_an_exception_is_logged_with_its_traceback_and_a_jobs_fields():
    formatter = logs.JsonFormatter()
    try:
        raise ValueError("the reason")
    except ValueError:
        record = logging.getLogger("app.test").makeRecord(
            "app.test", logging.ERROR, __file__, 1, "Export %s failed", (7,), sys.exc_info()
        )
    with logs.bind(job="outbox send", run_id="r1"):
        line = json.loads(formatter.format(record))
    assert line["message"] == "Export 7 failed" and line["level"] == "ERROR"
    assert "Traceback" in line["exception"] and "ValueError: the reason" in line["exception"]
    assert (line["job"], line["run_id"]) == ("outbox send", "r1")
    assert "job" not in json.loads(formatter.format(record))  # only inside the block


def test_log_format_is_json_in_production_and_text_in_development():
    from config import DevelopmentConfig, ProductionConfig

    assert ProductionConfig.LOG_FORMAT == "json"
    assert DevelopmentConfig.LOG_FORMAT == "text"


# --- /metrics ---------------------------------------------------------------------------------

def scrape(client) -> dict:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.get_data(as_text=True))}


def value(families: dict, name: str, **labels) -> float:
    family = families[name]
    return next(s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_need_the_token(client, make_app):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    without = make_app(METRICS_TOKEN=None).test_client()
    assert without.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert without.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404


def requests_counted(families: dict, **labels) -> float:
    samples = families["partnership_bid_request_duration_seconds"].samples
    return sum(s.value for s in samples if s.name.endswith("_count") and s.labels == labels)


def test_the_latency_histogram_has_the_page_just_requested(client):
    labels = {"endpoint": "main.privacy", "method": "GET", "status": "2xx"}
    before = requests_counted(scrape(client), **labels)
    client.get("/privacy")
    after = scrape(client)
    assert requests_counted(after, **labels) == before + 1
    assert value(after, "partnership_bid_requests_in_progress") >= 1  # the scrape itself


def test_the_outbox_backlog_counts_emails_not_yet_sent(app, client):
    now = utcnow()
    with app.app_context():
        rows = [(OutboxStatus.PENDING, 600), (OutboxStatus.PENDING, 30), (OutboxStatus.PENDING, 5),
                (OutboxStatus.SENT, 9000)]
        for n, (status, age) in enumerate(rows):
            db.session.add(OutboxEmail(
                idempotency_key=f"ops-test-{n}", to_address="a@example.org", subject="S", body_text="B",
                template="test", status=status, created_at=now - timedelta(seconds=age),
            ))
        db.session.commit()
    families = scrape(client)
    assert value(families, "partnership_bid_outbox_backlog_emails") == 3
    assert 600 <= value(families, "partnership_bid_outbox_oldest_email_age_seconds") < 900
    assert value(families, "partnership_bid_reminder_lag_seconds") == 0
    assert value(families, "partnership_bid_exports", state="waiting") == 0
    assert value(families, "partnership_bid_exports", state="preparing") == 0


def test_gunicorns_workers_add_up_their_metrics_in_one_scrape(app, tmp_path):
    """gunicorn with deploy/gunicorn.conf.py, two worker processes and PROMETHEUS_MULTIPROC_DIR: every
    scrape counts the requests that both workers answered, whichever worker answers the scrape."""
    import os
    import subprocess
    import time
    import urllib.request
    from pathlib import Path

    from tests.smtp import free_port

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "left-by-an-earlier-run.db").write_bytes(b"stale")  # emptied when gunicorn starts
    port = free_port()
    env = {**os.environ, "APP_ENV": "testing", "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "PROMETHEUS_MULTIPROC_DIR": str(folder), "WEB_CONCURRENCY": "2"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "deploy/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
         "--no-control-socket", "wsgi:app"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def get(path, headers=None):
        request = urllib.request.Request(base + path, headers=headers or {})  # noqa: S310 - our own http:// server
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http:// server
            return response.read().decode()

    try:
        deadline = time.monotonic() + 60
        while True:  # wait for it to answer (an event: the first 200)
            try:
                get("/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for _ in range(40):
            get("/healthz")
        pids = set()
        for _ in range(10):  # several scrapes, answered by either worker: always the same total
            body = get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
            samples = {
                (s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(body) for s in family.samples
            }
            count = samples[("partnership_bid_request_duration_seconds_count",
                             (("endpoint", "main.healthz"), ("method", "GET"), ("status", "2xx")))]
            assert count == 41
            pids.update(p.name for p in folder.iterdir())
        assert not (folder / "left-by-an-earlier-run.db").exists()
        assert len({name.rsplit("_", 1)[-1] for name in pids}) >= 2  # both workers wrote their figures
    finally:
        server.terminate()
        server.wait(timeout=30)
