"""Virus checks of supporting documents: attachment.scan_status (pending, clean, infected, failed,
not_scanned), scanned_at and scan_result (the virus's name, or why the file could not be checked).

Every document uploaded before this revision was never checked, so it is not_scanned (its pages say
"Not checked for viruses" once a scanner is configured; `flask documents scan` checks them).

Revision ID: 0022_document_scan
Revises: 0021_retention
Create Date: 2026-12-02 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022_document_scan'
down_revision = '0021_retention'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'scan_status',
            sa.Enum('pending', 'clean', 'infected', 'failed', 'not_scanned', name='scanstatus',
                    native_enum=False, length=30),
            server_default='not_scanned', nullable=False,
        ))
        batch_op.add_column(sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('scan_result', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_attachment_scan_status', ['scan_status', 'uploaded_at'], unique=False)


def downgrade():
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index('ix_attachment_scan_status')
        batch_op.drop_column('scan_result')
        batch_op.drop_column('scanned_at')
        batch_op.drop_column('scan_status')
