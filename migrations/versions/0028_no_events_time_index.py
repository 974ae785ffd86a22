"""no index of every event by time: nothing reads events by time alone

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 17:55:00

Every read of the audit trail goes by instance (``ix_events_instance_id_id``: an instance's
history, the path it took, the security log's ``instance_id IS NULL``) or is the
service-call statistics over a time window, which has its own partial index (migration
0026). ``ix_events_created_at`` was written for each of a start's dozen events and read by
no query. On PostgreSQL the months are partitions of ``created_at`` already (a query on a
time range reads only its months); moving rows out of the default partition when a month
is made scans that partition, which holds only the events no month was made for.
"""

from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_created_at")


def downgrade() -> None:
    op.create_index('ix_events_created_at', 'events', ['created_at'])
