"""The audit trail is append-only on PostgreSQL: a trigger refuses every UPDATE, DELETE and
TRUNCATE of audit_event, whoever asks (the application's own database user included). Only a
superuser who turns triggers off for a session (session_replication_role = replica, as the test
suite does to empty its tables) gets past it. SQLite has no such trigger: it is for development
and tests only.

Revision ID: 0011_audit_append_only
Revises: 0010_two_factor
Create Date: 2026-11-30 18:30:00

"""
from alembic import op


revision = '0011_audit_append_only'
down_revision = '0010_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(
        """
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()"
    )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
    op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
