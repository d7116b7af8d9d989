"""The schema is built only by migrations, and the migrations build exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db
from app.models.base import render_item
from app.models.search import DOCUMENT_COLUMN, FTS_TABLE, GIN_INDEX, include_name


def schema_differences(app):
    # The search's full-text index (an FTS5 table on SQLite, a GIN index on PostgreSQL) is made by
    # the migration, not described by the models: compared by test_the_full_text_index_is_there.
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_item": render_item, "include_name": include_name}
        )
        return compare_metadata(context, db.metadata)


def full_text_index(app) -> set[str]:
    """The names of the full-text index's parts that the database has."""
    with app.app_context(), db.engine.connect() as conn:
        inspector = inspect(conn)
        if conn.dialect.name == "postgresql":
            return ({i["name"] for i in inspector.get_indexes("search_entry")} & {GIN_INDEX}) | (
                {c["name"] for c in inspector.get_columns("search_entry")} & {DOCUMENT_COLUMN})
        found = conn.exec_driver_sql("SELECT type, name FROM sqlite_master WHERE tbl_name IN (?, ?)",
                                     ("search_entry", FTS_TABLE)).all()
        return {name for kind, name in found if kind in ("table", "trigger") and name != "search_entry"}


EXPECTED_INDEX = {
    "postgresql": {GIN_INDEX, DOCUMENT_COLUMN},
    "sqlite": {FTS_TABLE, "search_entry_ai", "search_entry_ad", "search_entry_au"},
}


def test_the_full_text_index_is_there(app):
    assert full_text_index(app) == EXPECTED_INDEX[_dialect(app)]


def test_migrations_match_the_models(app):
    # The session's app fixture built the database with `upgrade()` alone.
    assert schema_differences(app) == []


def test_every_model_table_exists_after_upgrade(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_downgrade_and_upgrade_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    assert schema_differences(app) == []
    assert full_text_index(app) == EXPECTED_INDEX[_dialect(app)]


def _dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name
