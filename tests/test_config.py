"""Production refuses unsafe settings and says why."""

from __future__ import annotations

import pytest

from app import create_app
from config import ConfigError, ProductionConfig

SAFE = {
    "DEBUG": False,
    "SECRET_KEY": "k" * 48,
    "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://bid@db.internal/bids",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "JOBS_URL": "redis://127.0.0.1:6379/1",
}


def test_production_accepts_safe_settings():
    # Checked without building an app: a production app would point the shared rate limiter
    # at Redis for the rest of the test session.
    config = {k: getattr(ProductionConfig, k) for k in dir(ProductionConfig) if k.isupper()}
    ProductionConfig.check({**config, **SAFE})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["FORCE_HTTPS"] is True


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"DEBUG": True}, "DEBUG is on"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is missing or shorter than 32 characters"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "dev-only-secret-key-never-use-in-production"}, "SECRET_KEY"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/x.sqlite"}, "DATABASE_URL must point at PostgreSQL"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, "RATELIMIT_STORAGE_URI is memory://"),
        ({"STORAGE_BACKEND": "nfs"}, "STORAGE_BACKEND must be local or s3"),
        ({"JOBS_URL": "sqlite:////srv/jobs.sqlite"}, "JOBS_URL must point at Redis"),
        ({"JOBS_URL": "memory://"}, "JOBS_URL must point at Redis"),
        ({"STORAGE_BACKEND": "s3", "S3_BUCKET": None}, "STORAGE_BACKEND is s3 but S3_BUCKET is not set"),
        ({"STORAGE_BACKEND": "s3", "S3_BUCKET": "bids", "S3_SSE": "none"}, "S3_SSE must be AES256 or aws:kms"),
    ],
)
def test_production_refuses_unsafe_settings(override, reason):
    with pytest.raises(ConfigError) as excinfo:
        create_app("production", **{**SAFE, **override})
    assert reason in str(excinfo.value)
    assert str(excinfo.value).startswith("Refusing to start in production")


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="APP_ENV must be one of"):
        create_app("staging")
