"""two indexes fewer to write at each start: each was the first column of another index

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 15:05:00

``ix_events_instance_id`` (``instance_id``) is the leading column of
``ix_events_instance_id_id`` (``instance_id, id``), and ``ix_instances_business_key``
(``business_key``) that of ``ix_instances_business_key_created`` (``business_key,
created_at``). Every lookup by instance or by business key is answered by the wider index
as well (equality, ``IN`` and ``IS NULL`` on the leading column), so the narrow ones were
only written: on SQLite each start wrote two more b-trees (about two pages of the log).
On PostgreSQL the events index is a partitioned one; dropping it drops it on every month.
``instances_history`` never had the narrow business-key index.
"""

from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

DROPPED = (('ix_events_instance_id', 'events', ['instance_id']),
           ('ix_instances_business_key', 'instances', ['business_key']))


def upgrade() -> None:
    for name, _, _ in DROPPED:
        op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns)
