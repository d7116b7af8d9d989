"""Assignments: each item of a CSP's contribution, or each merged section of the collective bid,
given to one person with an optional due date

Revision ID: 0013_assignments
Revises: 0012_notifications
Create Date: 2026-11-30 21:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_assignments'
down_revision = '0012_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lead_bidder_id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('contribution_id', sa.Integer(), nullable=True),
        sa.Column('item_key', sa.String(length=40), nullable=True),
        sa.Column('merged_section_id', sa.Integer(), nullable=True),
        sa.Column('section_id', sa.Integer(), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=False),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('assigned_by_id', sa.Integer(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lead_bidder_id'], ['organisation.id'], ),
        sa.ForeignKeyConstraint(['round_id'], ['funding_round.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contribution_id'], ['contribution.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['merged_section_id'], ['merged_section.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['section_id'], ['round_section.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['assignee_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('contribution_id', 'item_key', name='uq_assignment_contribution_item'),
        sa.UniqueConstraint('merged_section_id', name='uq_assignment_merged_section'),
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_lead_bidder_id'), ['lead_bidder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_round_id'), ['round_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_assignee_id'), ['assignee_id'], unique=False)


def downgrade():
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_round_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_lead_bidder_id'))
    op.drop_table('assignment')
