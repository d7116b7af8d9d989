"""The funder's own application form for a round (round_funder_form), and what an export has to
say besides its file (export_record.report: the sections an export into the funder's form could not
place, and the form's headings that got no section).

Revision ID: 0019_funder_form
Revises: 0018_change_snapshot
Create Date: 2026-12-01 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0019_funder_form'
down_revision = '0018_change_snapshot'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('round_funder_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lead_bidder_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['lead_bidder_id'], ['organisation.id'], name=op.f('fk_round_funder_form_lead_bidder_id_organisation')),
    sa.ForeignKeyConstraint(['round_id'], ['funding_round.id'], name=op.f('fk_round_funder_form_round_id_funding_round'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_round_funder_form_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_funder_form')),
    sa.UniqueConstraint('round_id', name=op.f('uq_round_funder_form_round_id')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_round_funder_form_stored_name'))
    )
    with op.batch_alter_table('round_funder_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_funder_form_lead_bidder_id'), ['lead_bidder_id'], unique=False)

    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.drop_column('report')

    with op.batch_alter_table('round_funder_form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_funder_form_lead_bidder_id'))

    op.drop_table('round_funder_form')
