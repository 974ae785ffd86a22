"""the parent and business-key indexes hold only the instances that have one

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 17:45:00

Most instances are called by nothing, and many are started without a business key; yet
``ix_instances_parent_instance_id`` and ``ix_instances_business_key_created`` had an entry
for every instance, each written at each start. Every lookup through them asks for one value
(``parent_instance_id = …`` or ``IN (…)``: the children of an instance, a removal's foreign
key check; ``business_key = …``), which on SQLite and on PostgreSQL proves the value is not
NULL, so partial indexes over the rows that have one answer them all. ``instances_history``
keeps its own indexes (migration 0024).
"""

from alembic import op
import sqlalchemy as sa

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

PARTIAL = (('ix_instances_parent_instance_id', ['parent_instance_id'],
            'parent_instance_id IS NOT NULL'),
           ('ix_instances_business_key_created', ['business_key', 'created_at'],
            'business_key IS NOT NULL'))


def upgrade() -> None:
    for name, columns, where in PARTIAL:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.create_index(name, 'instances', columns, sqlite_where=sa.text(where),
                        postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, columns, _ in PARTIAL:
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.create_index(name, 'instances', columns)
