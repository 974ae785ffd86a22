"""the statistics index holds service calls only: step events no longer write it

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 17:20:00

``ix_events_type_created`` (``type, created_at``) had an entry for every event, but the only
query that filters events by type over a time window is the service-call statistics
(engine/statistics.py, ``type = 'service_call'``); the others that name a type look an
instance up first (``ix_events_instance_id_id``). A start wrote each of its event types at a
different place in that index: on SQLite a quarter of the pages a start wrote to the log.
It becomes a partial index over the service-call events, by time. On PostgreSQL the index is
a partitioned one, made on every month's partition by the server.
"""

from alembic import op
import sqlalchemy as sa

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

SERVICE_CALLS = "type = 'service_call'"


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_type_created")
    op.create_index('ix_events_service_calls', 'events', ['created_at'],
                    sqlite_where=sa.text(SERVICE_CALLS), postgresql_where=sa.text(SERVICE_CALLS))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_events_service_calls")
    op.create_index('ix_events_type_created', 'events', ['type', 'created_at'])
