"""the index of instances by status and process holds only the instances not ended

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 06:45:00

``ix_instances_status_key`` serves one query: the live counts by status and process (the
dashboard, ``/metrics``), which names the statuses that have not ended. It had an entry for
every instance, written at each start; an instance that ends at its start (an automatic
process) wrote it for nothing, and on SQLite, where every instance stays in ``instances``,
the index grew with the whole history. As a partial index over the statuses that query
names, an instance leaves it when it ends. The list of statuses is written out here, as the
engine's vocabulary had it when this migration was made (``engine.vocabulary.NOT_ENDED``).
"""

from alembic import op
import sqlalchemy as sa

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

NOT_ENDED_SQL = "status IN ('running', 'waiting', 'incident', 'suspended')"


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_instances_status_key")
    op.create_index('ix_instances_status_key', 'instances', ['status', 'process_key'],
                    sqlite_where=sa.text(NOT_ENDED_SQL), postgresql_where=sa.text(NOT_ENDED_SQL))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_instances_status_key")
    op.create_index('ix_instances_status_key', 'instances', ['status', 'process_key'])
