"""Email preferences: how each person gets notification emails (at once, a daily summary, off)
and whether a CSP contributor hears what their CSP's managers hear; each notification's email
decision and when it was emailed (for the daily summary)

Revision ID: 0016_notification_preferences
Revises: 0015_search
Create Date: 2026-11-30 22:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_notification_preferences'
down_revision = '0015_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_notifications',
                                      sa.Enum('immediately', 'daily', 'off', name='emailfrequency',
                                              native_enum=False, length=20),
                                      server_default='immediately', nullable=False))
        batch_op.add_column(sa.Column('follow_csp', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_via', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('digest_date', sa.Date(), nullable=True))
        batch_op.create_index('ix_notification_digest', ['email_via', 'emailed_at', 'user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_digest')
        batch_op.drop_column('digest_date')
        batch_op.drop_column('emailed_at')
        batch_op.drop_column('email_via')

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('follow_csp')
        batch_op.drop_column('email_notifications')
