"""called instances: a call activity's process runs as an instance linked to its caller

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('parent_instance_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('parent_task_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('parent_element_id', sa.String(length=200), nullable=True))
        batch.create_index('ix_instances_parent_instance_id', ['parent_instance_id'])
        batch.create_foreign_key('fk_instances_parent_instance_id', 'instances',
                                 ['parent_instance_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.drop_constraint('fk_instances_parent_instance_id', type_='foreignkey')
        batch.drop_index('ix_instances_parent_instance_id')
        batch.drop_column('parent_element_id')
        batch.drop_column('parent_task_id')
        batch.drop_column('parent_instance_id')
