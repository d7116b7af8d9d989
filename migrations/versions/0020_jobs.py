"""Background jobs: runs of periodic jobs (job_run, one row per job and period, so a job runs once
per period across workers), and what an export's job is doing (export_record.heartbeat_at,
attempts, stage), so an export whose worker died is noticed and made again.

Revision ID: 0020_jobs
Revises: 0019_funder_form
Create Date: 2026-12-01 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0020_jobs'
down_revision = '0019_funder_form'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=80), nullable=False),
    sa.Column('period_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run')),
    sa.UniqueConstraint('job', 'period_start', name=op.f('uq_job_run_job_period_start'))
    )
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('stage', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('export_record', schema=None) as batch_op:
        batch_op.drop_column('stage')
        batch_op.drop_column('attempts')
        batch_op.drop_column('heartbeat_at')
    op.drop_table('job_run')
