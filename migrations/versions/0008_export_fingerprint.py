"""Export fingerprint: the bid's fingerprint when an export read its content, so the export page
knows the bid's current version without reading the whole bid

Exports made before have none: the page reads the content once for them, as before.

Revision ID: 0008_export_fingerprint
Revises: 0007_life_cycle
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_export_fingerprint'
down_revision = '0007_life_cycle'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_fingerprint', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.drop_column('content_fingerprint')
