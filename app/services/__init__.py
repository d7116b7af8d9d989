"""Services: the verbs of the application. They change state, record an audit event,
queue emails and flush; the request (or CLI command) commits once."""


class ServiceError(Exception):
    """A rule stopped the action. `field` names the form field the message belongs to."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def insert_for_dialect():
    """`insert` with `on_conflict_do_nothing` / `on_conflict_do_update` for the database in use
    (PostgreSQL in production, SQLite by default): how every "write once" in the services is made."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from app.extensions import db

    return pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
