"""Search: one row per thing a person can find (search_entry), with its full-text index, filled
from the records already there. PostgreSQL: a GIN index on the rows' tsvector. SQLite: an FTS5
table holding only the index (external content), kept in step with search_entry by triggers.

Revision ID: 0015_search
Revises: 0014_internal_notes
Create Date: 2026-11-30 21:30:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0015_search'
down_revision = '0014_internal_notes'
branch_labels = None
depends_on = None

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
PG_DDL = [
    # The row's tsvector, stored (computed once per write, not for every match of every search: the
    # ranking reads it too), and its GIN index.
    "ALTER TABLE search_entry ADD COLUMN document tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', title || ' ' || body)) STORED",
    "CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)",
]



# The rows of the records already there, as app/services/search_index.py writes them.
INSERT = ("INSERT INTO search_entry (lead_bidder_id, round_id, csp_id, contribution_id, section_id, kind, record_id, "
          "title, body, lead_only, updated_at) ")
# "clean": the text without the two characters that mark matches in snippets.
FILL = [
    "SELECT r.lead_bidder_id, r.id, NULL, NULL, NULL, 'round', r.id, "
    "replace(replace(r.title, :mark_start, ''), :mark_end, ''), "
    "replace(replace(r.fund_name || ' ' || r.funder || ' ' || r.summary, :mark_start, ''), :mark_end, ''), :no, :now "
    "FROM funding_round r",
    "SELECT c.lead_bidder_id, c.round_id, c.csp_id, c.id, NULL, 'contribution', c.id, "
    "replace(replace(o.name, :mark_start, ''), :mark_end, ''), "
    "replace(replace(coalesce(c.extension_reason, '') || ' ' || coalesce(c.excluded_reason, ''), :mark_start, ''), "
    ":mark_end, ''), :no, :now FROM contribution c JOIN organisation o ON o.id = c.csp_id",
    "SELECT c.lead_bidder_id, c.round_id, c.csp_id, c.id, sr.section_id, 'section', sr.id, "
    "replace(replace(s.title, :mark_start, ''), :mark_end, ''), "
    "replace(replace(sr.text, :mark_start, ''), :mark_end, ''), :no, :now "
    "FROM section_response sr JOIN contribution c ON c.id = sr.contribution_id "
    "JOIN round_section s ON s.id = sr.section_id WHERE sr.text != ''",
    "SELECT b.lead_bidder_id, b.round_id, NULL, NULL, ms.section_id, 'merged', ms.id, "
    "replace(replace(s.title, :mark_start, ''), :mark_end, ''), "
    "replace(replace(ms.text, :mark_start, ''), :mark_end, ''), :yes, :now "
    "FROM merged_section ms JOIN collective_bid b ON b.id = ms.bid_id "
    "JOIN round_section s ON s.id = ms.section_id WHERE ms.text != ''",
    "SELECT c.lead_bidder_id, c.round_id, c.csp_id, c.id, rc.section_id, 'comment', rc.id, "
    "replace(replace(coalesce(s.title, ''), :mark_start, ''), :mark_end, ''), "
    "replace(replace(rc.body, :mark_start, ''), :mark_end, ''), :no, :now "
    "FROM review_comment rc JOIN contribution c ON c.id = rc.contribution_id "
    "LEFT JOIN round_section s ON s.id = rc.section_id",
    "SELECT c.lead_bidder_id, c.round_id, c.csp_id, c.id, n.section_id, 'note', n.id, "
    "replace(replace(coalesce(s.title, ''), :mark_start, ''), :mark_end, ''), "
    "replace(replace(n.body, :mark_start, ''), :mark_end, ''), :yes, :now "
    "FROM internal_note n JOIN contribution c ON c.id = n.contribution_id "
    "LEFT JOIN round_section s ON s.id = n.section_id",
    "SELECT c.lead_bidder_id, c.round_id, c.csp_id, c.id, NULL, 'document', a.id, "
    "replace(replace(a.filename, :mark_start, ''), :mark_end, ''), "
    "replace(replace(coalesce(a.description, ''), :mark_start, ''), :mark_end, ''), :no, :now "
    "FROM attachment a JOIN contribution c ON c.id = a.contribution_id",
]


def upgrade():
    op.create_table(
        'search_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_bidder_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('csp_id', sa.Integer(), nullable=True),
        sa.Column('contribution_id', sa.Integer(), nullable=True),
        sa.Column('section_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('lead_only', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contribution_id'], ['contribution.id'],
                                name=op.f('fk_search_entry_contribution_id_contribution'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['csp_id'], ['organisation.id'], name=op.f('fk_search_entry_csp_id_organisation')),
        sa.ForeignKeyConstraint(['lead_bidder_id'], ['organisation.id'],
                                name=op.f('fk_search_entry_lead_bidder_id_organisation')),
        sa.ForeignKeyConstraint(['round_id'], ['funding_round.id'], name=op.f('fk_search_entry_round_id_funding_round'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['section_id'], ['round_section.id'],
                                name=op.f('fk_search_entry_section_id_round_section'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entry')),
        sa.UniqueConstraint('kind', 'record_id', name=op.f('uq_search_entry_kind_record_id')),
    )
    with op.batch_alter_table('search_entry', schema=None) as batch_op:
        batch_op.create_index('ix_search_entry_lead_bidder_round', ['lead_bidder_id', 'round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_entry_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_entry_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_entry_section_id'), ['section_id'], unique=False)
    bind = op.get_bind()
    for statement in SQLITE_DDL if bind.dialect.name == 'sqlite' else PG_DDL:
        op.execute(statement)
    now = datetime.now(UTC)
    params = {'mark_start': '\ue000', 'mark_end': '\ue001', 'no': False, 'yes': True,
              'now': now if bind.dialect.name == 'postgresql' else now.replace(tzinfo=None)}
    for select in FILL:
        bind.execute(sa.text(INSERT + select), params)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS search_entry_fts")
    with op.batch_alter_table('search_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_entry_section_id'))
        batch_op.drop_index(batch_op.f('ix_search_entry_contribution_id'))
        batch_op.drop_index(batch_op.f('ix_search_entry_round_id'))
        batch_op.drop_index('ix_search_entry_lead_bidder_round')
    op.drop_table('search_entry')
