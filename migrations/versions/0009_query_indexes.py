"""Indexes the query plans on national data asked for: the activity page (a lead bidder's latest
events), a contribution's timeline (events about one object) and a contribution's merged sources

Revision ID: 0009_query_indexes
Revises: 0008_export_fingerprint
Create Date: 2026-11-30 16:30:00

"""
from alembic import op


revision = '0009_query_indexes'
down_revision = '0008_export_fingerprint'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        # (lead_bidder_id, created_at, id) also serves every lookup by lead_bidder_id alone.
        batch_op.drop_index('ix_audit_event_lead_bidder_id')
        batch_op.create_index('ix_audit_event_lead_bidder_created', ['lead_bidder_id', 'created_at', 'id'])
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'])
    with op.batch_alter_table('merged_source', schema=None) as batch_op:
        batch_op.create_index('ix_merged_source_contribution_id', ['contribution_id'])


def downgrade():
    with op.batch_alter_table('merged_source', schema=None) as batch_op:
        batch_op.drop_index('ix_merged_source_contribution_id')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_object')
        batch_op.drop_index('ix_audit_event_lead_bidder_created')
        batch_op.create_index('ix_audit_event_lead_bidder_id', ['lead_bidder_id'])
