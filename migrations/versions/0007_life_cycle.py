"""Life cycle: the round holds the one state of the round and its bid; outcome and archive;
merged sections draft or final; every round has its collective bid and reminder schedule

- funding_round gains closed_at, the funder's outcome (awarded / not awarded, amount, date, who
  recorded it) and archived_at.
- collective_bid.status is folded into funding_round.status (signed_off / submitted) and dropped:
  two columns could disagree, one cannot.
- merged_section gains state (draft / final), final_at, final_by_id.
- Records that pages need are made here for existing rounds (the collective bid and the reminder
  schedule), so no page has to create them on a GET. New rounds get them when they are created.

Revision ID: 0007_life_cycle
Revises: 0006_item_versions
Create Date: 2026-11-30 12:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_life_cycle'
down_revision = '0006_item_versions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('funding_round', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.Enum('awarded', 'not_awarded', name='bidoutcome', native_enum=False, length=30), nullable=True))
        batch_op.add_column(sa.Column('awarded_pence', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome_on', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome_recorded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_funding_round_outcome_recorded_by_id_user_account'), 'user_account', ['outcome_recorded_by_id'], ['id'])

    with op.batch_alter_table('merged_section', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.Enum('draft', 'final', name='sectionstate', native_enum=False, length=30), server_default='draft', nullable=False))
        batch_op.add_column(sa.Column('final_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('final_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_merged_section_final_by_id_user_account'), 'user_account', ['final_by_id'], ['id'])

    # The bid's status moves to the round.
    op.execute(
        "UPDATE funding_round SET status = (SELECT b.status FROM collective_bid b WHERE b.round_id = funding_round.id) "
        "WHERE EXISTS (SELECT 1 FROM collective_bid b WHERE b.round_id = funding_round.id "
        "AND b.status IN ('signed_off', 'submitted'))"
    )
    with op.batch_alter_table('collective_bid', schema=None) as batch_op:
        batch_op.drop_column('status')

    # GET never writes: every existing round gets the records its pages need.
    op.execute(
        "INSERT INTO collective_bid (round_id, lead_bidder_id, merge_order, created_at, version) "
        "SELECT r.id, r.lead_bidder_id, '[]', CURRENT_TIMESTAMP, 1 FROM funding_round r "
        "WHERE NOT EXISTS (SELECT 1 FROM collective_bid b WHERE b.round_id = r.id)"
    )
    op.execute(
        "INSERT INTO reminder_schedule (round_id, enabled, send_time, csp_days_before, csp_on_the_day, "
        "csp_overdue_daily, csp_overdue_limit, lead_digest, lead_digest_days, funder_days_before, funder_on_the_day) "
        "SELECT r.id, true, '09:00', '[14, 7, 3, 1]', true, true, 5, true, 14, '[14, 7, 3, 1]', true "
        "FROM funding_round r WHERE NOT EXISTS (SELECT 1 FROM reminder_schedule s WHERE s.round_id = r.id)"
    )


def downgrade():
    with op.batch_alter_table('collective_bid', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('draft', 'signed_off', 'submitted', name='bidstatus', native_enum=False, length=30), server_default='draft', nullable=False))
    op.execute(
        "UPDATE collective_bid SET status = CASE (SELECT r.status FROM funding_round r WHERE r.id = collective_bid.round_id) "
        "WHEN 'signed_off' THEN 'signed_off' WHEN 'submitted' THEN 'submitted' WHEN 'outcome' THEN 'submitted' "
        "WHEN 'archived' THEN 'submitted' ELSE 'draft' END"
    )
    op.execute(
        "UPDATE funding_round SET status = 'closed' WHERE status IN ('signed_off', 'submitted', 'outcome', 'archived')"
    )
    with op.batch_alter_table('merged_section', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_merged_section_final_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('final_by_id')
        batch_op.drop_column('final_at')
        batch_op.drop_column('state')

    with op.batch_alter_table('funding_round', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_funding_round_outcome_recorded_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('archived_at')
        batch_op.drop_column('outcome_recorded_by_id')
        batch_op.drop_column('outcome_on')
        batch_op.drop_column('awarded_pence')
        batch_op.drop_column('outcome')
        batch_op.drop_column('closed_at')
