"""Notifications: one row per person per event that matters to them, read or not yet read

Revision ID: 0012_notifications
Revises: 0011_audit_append_only
Create Date: 2026-11-30 21:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0012_notifications'
down_revision = '0011_audit_append_only'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_bidder_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('event_key', sa.String(length=200), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('contribution_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'],
                            name=op.f('fk_notification_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contribution_id'], ['contribution.id'],
                            name=op.f('fk_notification_contribution_id_contribution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lead_bidder_id'], ['organisation.id'],
                            name=op.f('fk_notification_lead_bidder_id_organisation')),
    sa.ForeignKeyConstraint(['round_id'], ['funding_round.id'],
                            name=op.f('fk_notification_round_id_funding_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                            name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('user_id', 'event_key', name=op.f('uq_notification_user_id_event_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_lead_bidder_id'), ['lead_bidder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_round_id'), ['round_id'], unique=False)
        batch_op.create_index('ix_notification_user_read', ['user_id', 'read_at'], unique=False)
        batch_op.create_index('ix_notification_user_created', ['user_id', 'created_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_user_created')
        batch_op.drop_index('ix_notification_user_read')
        batch_op.drop_index(batch_op.f('ix_notification_round_id'))
        batch_op.drop_index(batch_op.f('ix_notification_lead_bidder_id'))
        batch_op.drop_index(batch_op.f('ix_notification_contribution_id'))

    op.drop_table('notification')
