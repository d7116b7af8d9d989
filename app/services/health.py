"""Is the service able to answer: the health check's question to the database."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db


def check_database() -> None:
    """Ask the database the simplest question; raises if it cannot answer."""
    db.session.execute(select(1))
