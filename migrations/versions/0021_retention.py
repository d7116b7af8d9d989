"""Retention: when an export's file was removed (export_record.file_removed_at, with the status
"removed"), and an index for finding notifications read long ago.

Revision ID: 0021_retention
Revises: 0020_jobs
Create Date: 2026-12-01 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0021_retention'
down_revision = '0020_jobs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_removed_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_read_at', ['read_at'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_read_at')

    # The code before this revision knows no "removed" export: such a record reads as failed, with why.
    op.execute(
        "UPDATE export_record SET status = 'failed', "
        "error = 'FileRemoved: the file was removed after its retention period' WHERE status = 'removed'"
    )
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.drop_column('file_removed_at')
