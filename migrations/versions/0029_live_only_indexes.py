"""the indexes of instances by status and by version hold only the instances not ended

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 06:45:00

``ix_instances_status_key`` serves one query: the live counts by status and process (the
dashboard, ``/metrics``). ``ix_instances_definition_id`` serves one too: the live instances
of a version, a migration batch's candidates (definitions are never removed, so the foreign
key's check never needs it). Both queries name the statuses that have not ended. Both
indexes had an entry for every instance, written at each start: an instance that ends at its
start (an automatic process) wrote them for nothing, and on SQLite, where every instance
stays in ``instances``, they grew with the whole history. As partial indexes over the
statuses those queries name, an instance leaves them when it ends. The list of statuses is
written out here as the engine's vocabulary had it when this migration was made
(``engine.vocabulary.NOT_ENDED``).
"""

from alembic import op
import sqlalchemy as sa

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

NOT_ENDED_SQL = "status IN ('running', 'waiting', 'incident', 'suspended')"
INDEXES = (('ix_instances_status_key', ['status', 'process_key']),
           ('ix_instances_definition_id', ['definition_id']))


def upgrade() -> None:
    for name, columns in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.create_index(name, 'instances', columns, sqlite_where=sa.text(NOT_ENDED_SQL),
                        postgresql_where=sa.text(NOT_ENDED_SQL))


def downgrade() -> None:
    for name, columns in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.create_index(name, 'instances', columns)
