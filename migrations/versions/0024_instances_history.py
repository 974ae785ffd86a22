"""ended instances out of the live table: ``instances_history``, by month of ``ended_at``

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 14:30:00

``instances_history`` has the columns of ``instances``; engine/archive.py moves instances
that ended a while ago into it, whole call trees at once, so the live table and its indexes
hold only what has not ended. On PostgreSQL it is range-partitioned on ``ended_at``, one
partition a month (made as rows arrive, engine/history_months.py) and a default one; the
primary key is (id, ended_at), as PostgreSQL requires the partition key in it. The finished
human tasks and resolved incidents of an archived instance stay where they are, so their
foreign keys to ``instances`` go (the engine removes them with their instance, as it does
events). SQLite keeps every instance in ``instances``: there the table is made, and stays
empty, so that reads are the same on both.
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None

INDEXES = (
    ('ix_instances_history_ended_at', ['ended_at']),
    ('ix_instances_history_created', ['created_at', 'id']),
    ('ix_instances_history_key_created', ['process_key', 'created_at']),
    ('ix_instances_history_status_created', ['status', 'created_at']),
    ('ix_instances_history_business_key_created', ['business_key', 'created_at']),
    ('ix_instances_history_parent', ['parent_instance_id']),
    ('ix_instances_history_definition', ['definition_id']),
)
FOREIGN_KEYS = (('human_tasks', 'human_tasks_instance_id_fkey'),
                ('incidents', 'incidents_instance_id_fkey'))


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE TABLE instances_history (LIKE instances INCLUDING DEFAULTS)"
                   " PARTITION BY RANGE (ended_at)")
        op.execute("ALTER TABLE instances_history ALTER COLUMN ended_at SET NOT NULL")
        op.execute("ALTER TABLE instances_history ADD CONSTRAINT instances_history_pkey"
                   " PRIMARY KEY (id, ended_at)")
        op.execute("CREATE TABLE instances_history_default PARTITION OF instances_history"
                   " DEFAULT")
        for table, name in FOREIGN_KEYS:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}")
    else:
        live = sa.Table('instances', sa.MetaData(), autoload_with=bind)
        op.create_table('instances_history', *[
            sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in live.columns])
    for name, columns in INDEXES:
        op.create_index(name, 'instances_history', columns)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        columns = ", ".join(f'"{c}"' for c in _columns(bind))
        op.execute(f"INSERT INTO instances ({columns}) SELECT {columns} FROM instances_history")
        for table, name in FOREIGN_KEYS:
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (instance_id)"
                       " REFERENCES instances (id)")
    op.drop_table('instances_history')


def _columns(bind: sa.Connection) -> list[str]:
    return [c['name'] for c in sa.inspect(bind).get_columns('instances')]
