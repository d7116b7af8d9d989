"""Internal notes: a lead bidder's notes on a contribution (or one of its sections) that its CSP
never sees, in a table of their own

Revision ID: 0014_internal_notes
Revises: 0012_notifications
Create Date: 2026-11-30 21:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0014_internal_notes'
down_revision = '0012_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'internal_note',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contribution_id', sa.Integer(), nullable=False),
        sa.Column('section_id', sa.Integer(), nullable=True),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['user_account.id'],
                                name=op.f('fk_internal_note_author_id_user_account')),
        sa.ForeignKeyConstraint(['contribution_id'], ['contribution.id'],
                                name=op.f('fk_internal_note_contribution_id_contribution'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['section_id'], ['round_section.id'],
                                name=op.f('fk_internal_note_section_id_round_section'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_note')),
    )
    with op.batch_alter_table('internal_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_internal_note_contribution_id'), ['contribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_internal_note_section_id'), ['section_id'], unique=False)


def downgrade():
    with op.batch_alter_table('internal_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_internal_note_section_id'))
        batch_op.drop_index(batch_op.f('ix_internal_note_contribution_id'))
    op.drop_table('internal_note')
