"""The search index: one row per thing a person can find with the search box.

Each row copies the words of one record (a round, a contribution, a CSP's section text, a section
of the collective bid, a comment, a document's name) with the facts that say who may see it: the
lead bidder, the round, the CSP (NULL for what belongs to the round as a whole, or to the lead bidder
alone) and `lead_only` (never shown to CSP users). app/services/search_index.py keeps the rows up to
date in the transaction that changes the records; app/services/search.py reads them.

The full-text index itself is not a model: on PostgreSQL a GIN index on the row's tsvector (a
generated column, `document`); on
SQLite an FTS5 table (external content: it holds only the index, the text stays here) kept in step
by triggers. Both are made by the migration (0015_search) and, for a database made from the models
(metadata.create_all), by the DDL events below; migrations and comparisons leave them alone by name
(`is_search_index`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import TenantScoped, UTCDateTime, utcnow

# What a row is about: `record_id` is the id of the record in its own table.
KINDS = ("round", "contribution", "section", "merged", "comment", "document")

FTS_TABLE = "search_entry_fts"  # SQLite: the FTS5 table (and its shadow tables search_entry_fts_*)
GIN_INDEX = "ix_search_entry_document"  # PostgreSQL: the GIN index on the rows' tsvector ...
DOCUMENT_COLUMN = "document"  # ... which is this generated column of search_entry (PostgreSQL only)

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE search_entry_fts USING fts5(title, body, content='search_entry', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN "
    "INSERT INTO search_entry_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN INSERT INTO search_entry_fts"
    "(search_entry_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN INSERT INTO search_entry_fts"
    "(search_entry_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_entry_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_DROP = ["DROP TABLE IF EXISTS search_entry_fts"]  # its triggers go with search_entry
PG_DDL = [
    # The row's tsvector, stored (computed once per write, not for every match of every search: the
    # ranking reads it too), and its GIN index.
    "ALTER TABLE search_entry ADD COLUMN document tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || body)) STORED",
    "CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)",
]


def is_search_index(name: str | None) -> bool:
    """Whether a table or index name is the full-text index (made by hand, not from the models)."""
    return bool(name) and (name in (GIN_INDEX, FTS_TABLE) or name.startswith(FTS_TABLE + "_"))


def include_name(name, type_, parent_names) -> bool:
    """Alembic's include_name: compare everything but the full-text index, which the models do not
    describe (the migration makes it, and tests/test_migrations.py checks it is there)."""
    if type_ == "column" and name == DOCUMENT_COLUMN and parent_names.get("table_name") == "search_entry":
        return False
    return not is_search_index(name)


class SearchEntry(TenantScoped, db.Model):
    __tablename__ = "search_entry"
    __table_args__ = (
        UniqueConstraint("kind", "record_id"),
        Index("ix_search_entry_lead_bidder_round", "lead_bidder_id", "round_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_bidder_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("funding_round.id", ondelete="CASCADE"), index=True)
    # The CSP whose record it is; NULL for the round itself and the lead bidder's own records.
    csp_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    contribution_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id", ondelete="CASCADE"), index=True)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("round_section.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    # For the lead bidder's users only (the collective bid's sections, internal notes): never a CSP's.
    lead_only: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _ddl(statements: list[str], dialect: str) -> list[DDL]:
    return [DDL(s).execute_if(dialect=dialect) for s in statements]


for _statement in [*_ddl(SQLITE_DDL, "sqlite"), *_ddl(PG_DDL, "postgresql")]:
    event.listen(SearchEntry.__table__, "after_create", _statement)
for _statement in _ddl(SQLITE_DROP, "sqlite"):
    event.listen(SearchEntry.__table__, "after_drop", _statement)
