"""Configuration classes, read from environment variables.

Pick one with APP_ENV=development|testing|production (default: development).
Every variable is documented in the README under "Configuration".
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return int(value)


DEV_SECRET_KEY = "dev-only-secret-key-never-use-in-production"  # noqa: S105 - refused in production  # nosec B105


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says why."""


class Config:
    ENV_NAME = "base"
    SERVICE_NAME = os.environ.get("SERVICE_NAME", "Partnership Bid")
    SERVICE_PHASE = os.environ.get("SERVICE_PHASE", "Beta")
    HELP_EMAIL = os.environ.get("HELP_EMAIL", "partnership-bid-support@example.org")
    # Absolute base URL used in links inside emails, e.g. https://bids.example.org
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")

    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    DEBUG = False
    TESTING = False

    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'partnership-bid.sqlite'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)  # seconds, PostgreSQL

    # Sessions: server-side session records; the cookie only carries a random token.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 8 * 60)
    # The time-out warning (static/js/timeout-warning.mjs) opens this long before the idle limit.
    SESSION_WARNING_SECONDS = env_int("SESSION_WARNING_SECONDS", 2 * 60)
    # Flask refuses a session cookie this long after it was last written, even while the user is
    # busy (a non-permanent cookie is not re-signed on every request). Idle time is enforced on the
    # server (UserSession.last_seen_at), so this is only an outer limit.
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)

    # CSRF tokens last half a session; a form sent with an expired token comes back with its input.
    WTF_CSRF_TIME_LIMIT = env_int("WTF_CSRF_TIME_LIMIT", 4 * 60 * 60)

    # Password hashing (argon2id). The defaults are argon2-cffi's RFC 9106 low-memory profile.
    ARGON2_TIME_COST = env_int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = env_int("ARGON2_MEMORY_COST", 65536)  # KiB
    ARGON2_PARALLELISM = env_int("ARGON2_PARALLELISM", 4)

    INVITATION_HOURS = env_int("INVITATION_HOURS", 72)
    PASSWORD_RESET_MINUTES = env_int("PASSWORD_RESET_MINUTES", 60)

    # Rate limits (Flask-Limiter). memory:// is only for a single development process.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    # Only failed sign-ins count (app/services/throttle.py): a right password never uses anything up.
    # Per address, whatever the account: beyond this the address waits (a page saying so).
    SIGN_IN_LIMIT_PER_IP = os.environ.get("SIGN_IN_LIMIT_PER_IP", "50 per 15 minutes")
    # Per account from one address: each limit passed makes that address wait longer, never the
    # account's owner elsewhere (accounts are never locked). Also used for two-factor codes.
    SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP = os.environ.get(
        "SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP", "5 per minute;10 per 15 minutes;20 per hour"
    )
    # Failed sign-ins to one account, from anywhere, after which its owner is emailed (once per period).
    SIGN_IN_ALERT_AFTER = os.environ.get("SIGN_IN_ALERT_AFTER", "10 per hour")
    PASSWORD_RESET_LIMIT_PER_IP = os.environ.get("PASSWORD_RESET_LIMIT_PER_IP", "10 per hour")

    # Email. MAIL_BACKEND=smtp delivers with the MAIL_* settings; console prints to stdout.
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Partnership Bid <no-reply@example.org>")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
    OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12)
    # A worker claims this many emails at a time, for OUTBOX_LEASE_SECONDS (each email is taken
    # again just before it is sent); a run claims again until nothing is due.
    OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)
    OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
    # Sent emails recorded per commit: 1 keeps to one the emails a worker that dies may leave to
    # be sent twice; more is faster where commits are slow (see app/services/outbox.py).
    OUTBOX_EMAILS_PER_COMMIT = env_int("OUTBOX_EMAILS_PER_COMMIT", 1)
    # Reminders (flask reminders run): after downtime, only the latest missed reminder of each kind
    # is sent, and only if it was due less than this many hours ago; older ones are skipped.
    REMINDER_CATCH_UP_HOURS = env_int("REMINDER_CATCH_UP_HOURS", 20)
    # England and Wales bank holidays in gov.uk's JSON (app/workdays.py); empty: the file shipped.
    BANK_HOLIDAYS_FILE = os.environ.get("BANK_HOLIDAYS_FILE") or None

    # Background jobs (huey, app/jobs/). JOBS_URL picks the queue's store: redis://… in production
    # (every worker and app server shares it), sqlite:///path for one machine (the embedded default,
    # a file in instance/), memory:// for the tests (drained in-process by tests/jobs.py).
    JOBS_URL = os.environ.get("JOBS_URL") or f"sqlite:///{INSTANCE_DIR / 'jobs.sqlite'}"
    JOBS_QUEUE_NAME = os.environ.get("JOBS_QUEUE_NAME", "partnership-bid")
    JOB_WORKERS = env_int("JOB_WORKERS", 2)  # threads per `flask jobs worker`
    # An export whose job has not written its heartbeat for this long is stale: its worker died, and
    # the recovery job (every minute) queues it again, up to EXPORT_MAX_ATTEMPTS times in all.
    JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 5)
    JOB_STALE_SECONDS = env_int("JOB_STALE_SECONDS", 30)
    EXPORT_MAX_ATTEMPTS = env_int("EXPORT_MAX_ATTEMPTS", 3)

    # Security headers (flask-talisman). HTTPS redirects belong to production.
    FORCE_HTTPS = env_bool("FORCE_HTTPS", False)
    # Number of proxies in front of the app that set X-Forwarded-* headers (ProxyFix).
    PROXY_FIX_COUNT = env_int("PROXY_FIX_COUNT", 0)

    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 50 * 1024 * 1024)
    # Supporting documents: stored outside the static folder, under generated names.
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
    # Virus scanning of supporting documents by ClamAV's daemon (app/services/scanning.py):
    # "unix:///run/clamav/clamd.ctl" or "tcp://127.0.0.1:3310"; unset: files are not checked (the
    # documents page says so). CLAMD_TIMEOUT: seconds to wait for clamd to connect or to answer.
    CLAMD_URL = os.environ.get("CLAMD_URL") or None
    CLAMD_TIMEOUT = env_int("CLAMD_TIMEOUT", 60)
    # Where a file that contained a virus is moved ("quarantine/" keys; local backend only): never
    # served by the app, kept for whoever looks into it.
    QUARANTINE_FOLDER = os.environ.get("QUARANTINE_FOLDER", str(INSTANCE_DIR / "quarantine"))
    # Exported files (Word, PDF, Excel, CSV, ZIP), kept so they can be downloaded again later.
    EXPORT_FOLDER = os.environ.get("EXPORT_FOLDER", str(INSTANCE_DIR / "exports"))
    # Where those files live (app/storage.py): "local" (the two folders above) or "s3" (any
    # S3-compatible store; every app server behind a load balancer then sees every file).
    STORAGE_BACKEND = os.environ.get("STORAGE_BACKEND", "local")
    S3_BUCKET = os.environ.get("S3_BUCKET") or None
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None  # empty: AWS S3 itself
    S3_REGION = os.environ.get("S3_REGION") or None
    S3_PREFIX = os.environ.get("S3_PREFIX", "")  # e.g. "partnership-bid/" to share a bucket
    # Server-side encryption, always on: "AES256" (SSE-S3) or "aws:kms" (with S3_SSE_KMS_KEY_ID).
    S3_SSE = os.environ.get("S3_SSE", "AES256")
    S3_SSE_KMS_KEY_ID = os.environ.get("S3_SSE_KMS_KEY_ID") or None
    # Retention (app/services/retention.py, `flask retention run`): an export's file is removed this
    # many days after it was made (its record stays, saying so); 0 keeps export files for ever.
    EXPORT_RETENTION_DAYS = env_int("EXPORT_RETENTION_DAYS", 30)
    # Except the files of exports of a signed-off or submitted bid: kept until this many years after
    # the round's end (the latest of the funder's deadline, the bid's submission and the funder's
    # decision); 0 keeps them for ever. Seven years: a common public sector records period.
    ROUND_RETENTION_YEARS = env_int("ROUND_RETENTION_YEARS", 7)
    # A stored file that no record names is removed once it is this many hours old (at least 1),
    # never sooner: a request may have stored a file whose record it has not committed yet.
    ORPHAN_GRACE_HOURS = env_int("ORPHAN_GRACE_HOURS", 24)
    # Notifications read more than this many days ago are deleted (unread ones are kept); 0: never.
    NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90)
    JOB_RUN_RETENTION_DAYS = env_int("JOB_RUN_RETENTION_DAYS", 30)  # records of periodic jobs' runs
    QUARANTINE_RETENTION_DAYS = env_int("QUARANTINE_RETENTION_DAYS", 90)  # files that contained a virus
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # "json": one JSON object per line (production's default, for a log search); "text" for people.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    # /metrics answers only a request with "Authorization: Bearer <METRICS_TOKEN>"; unset: 404.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    # gunicorn's workers share their metrics through files in this folder (prometheus_client's
    # multiprocess mode, which reads the variable itself); unset: one process's own figures.
    PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
    # /readyz waits at most this long for Redis.
    READINESS_TIMEOUT_SECONDS = env_int("READINESS_TIMEOUT_SECONDS", 2)
    # Long lists are shown a page at a time (app/services/pages.py): rows of a table per page, and
    # large items per page (contribution cards on a CSP's home page, texts of merged revisions).
    PAGE_SIZE = 50
    PAGE_SIZE_CARDS = 10

    @classmethod
    def check(cls, config: dict) -> None:
        """Raise ConfigError when the configuration is unsafe for this environment."""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = env_bool("FLASK_DEBUG", True)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key-0123456789abcdef"  # noqa: S105 - the tests' own key  # nosec B105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.sqlite"))
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    RATELIMIT_STORAGE_URI = "memory://"
    # Generous in tests; the throttling tests build an app with the real limits.
    SIGN_IN_LIMIT_PER_IP = "10000 per minute"
    SIGN_IN_LIMIT_PER_ACCOUNT_AND_IP = "10000 per minute"
    SIGN_IN_ALERT_AFTER = "10000 per hour"
    PASSWORD_RESET_LIMIT_PER_IP = "10000 per minute"  # a rate limit, not a password  # nosec B105
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = env_int("TEST_MAIL_PORT", 2525)
    MAIL_TIMEOUT = 3
    BASE_URL = os.environ.get("BASE_URL", "http://localhost")
    SERVER_NAME = None
    # One fixed folder (not mkdtemp): the browser tests' gunicorn workers must share it.
    UPLOAD_FOLDER = str(Path(tempfile.gettempdir()) / "partnership-bid-test-uploads")
    EXPORT_FOLDER = str(Path(tempfile.gettempdir()) / "partnership-bid-test-exports")
    QUARANTINE_FOLDER = str(Path(tempfile.gettempdir()) / "partnership-bid-test-quarantine")
    # No virus scanner unless a test starts one (tests/conftest.py's clamd fixture).
    CLAMD_URL = None
    # The tests' own token, so that the access tests can scrape /metrics.
    METRICS_TOKEN = "testing-metrics-token"  # noqa: S105 - the tests' own token  # nosec B105
    # The queue in the test process's memory; tests run what was queued with tests/jobs.py, and the
    # tests of workers start real ones on Redis.
    JOBS_URL = os.environ.get("TEST_JOBS_URL", "memory://")


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    FORCE_HTTPS = env_bool("FORCE_HTTPS", True)
    PROXY_FIX_COUNT = env_int("PROXY_FIX_COUNT", 1)
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")

    @classmethod
    def check(cls, config: dict) -> None:
        problems = []
        if config.get("DEBUG"):
            problems.append("DEBUG is on: set FLASK_DEBUG=0.")
        secret = config.get("SECRET_KEY") or ""
        if len(secret) < 32 or secret == DEV_SECRET_KEY:
            problems.append("SECRET_KEY is missing or shorter than 32 characters: set a long random value.")
        if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            problems.append("DATABASE_URL must point at PostgreSQL, not SQLite.")
        if config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
            problems.append("RATELIMIT_STORAGE_URI is memory://: use Redis, e.g. redis://127.0.0.1:6379/0.")
        if not config["JOBS_URL"].startswith(("redis://", "rediss://", "postgresql://")):
            problems.append("JOBS_URL must point at Redis (redis://…) or PostgreSQL, shared by every worker.")
        backend = (config.get("STORAGE_BACKEND") or "local").lower()
        if backend not in ("local", "s3"):
            problems.append("STORAGE_BACKEND must be local or s3.")
        if backend == "s3" and not config.get("S3_BUCKET"):
            problems.append("STORAGE_BACKEND is s3 but S3_BUCKET is not set.")
        if backend == "s3" and config.get("S3_SSE") not in ("AES256", "aws:kms"):
            problems.append("S3_SSE must be AES256 or aws:kms.")
        clamd = config.get("CLAMD_URL") or ""
        if clamd and not clamd.startswith(("unix:///", "tcp://")):
            problems.append("CLAMD_URL must be unix:///path/to/clamd.ctl or tcp://host:port.")
        if problems:
            raise ConfigError("Refusing to start in production:\n- " + "\n- ".join(problems))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = (name or os.environ.get("APP_ENV") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from exc
