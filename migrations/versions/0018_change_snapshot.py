"""What changed since changes were requested: a change request keeps the contribution's budget
lines, outcomes and partners as they were (snapshot), and when the lead bidder next decided after
the resubmission (reviewed_at).

Change requests made before this revision have no snapshot (their pages say so). Resolved ones are
marked reviewed unless they are the latest of a contribution still waiting for review, so the round
overview flags only resubmissions nobody has decided on yet.

Revision ID: 0018_change_snapshot
Revises: 0014_internal_notes
Create Date: 2026-11-30 21:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018_change_snapshot'
down_revision = '0014_internal_notes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('snapshot', sa.JSON(), nullable=True))

    op.execute(
        """
        UPDATE change_request SET reviewed_at = resolved_at
        WHERE resolved_at IS NOT NULL AND (
            contribution_id NOT IN (SELECT id FROM contribution WHERE status = 'resubmitted')
            OR EXISTS (SELECT 1 FROM change_request later
                       WHERE later.contribution_id = change_request.contribution_id
                       AND later.id > change_request.id)
        )
        """
    )


def downgrade():
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.drop_column('snapshot')
        batch_op.drop_column('reviewed_at')
