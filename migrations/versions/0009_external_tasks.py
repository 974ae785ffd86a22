"""external tasks: service tasks that workers outside Bridgeflow perform, and their topics

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'external_tasks',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('instance_id', sa.String(36), sa.ForeignKey('instances.id'), nullable=False),
        sa.Column('definition_id', sa.String(36), nullable=False),
        sa.Column('process_key', sa.String(200), nullable=False),
        sa.Column('business_key', sa.String(200), nullable=True),
        sa.Column('spiff_task_id', sa.String(36), nullable=False),
        sa.Column('element_id', sa.String(200), nullable=False),
        sa.Column('topic', sa.String(200), nullable=False),
        sa.Column('priority', BIG_ID, nullable=False),
        sa.Column('locals', sa.JSON(), nullable=False),
        sa.Column('properties', sa.JSON(), nullable=False),
        sa.Column('lock_owner', sa.String(200), nullable=True),
        sa.Column('lock_expires_at', sa.DateTime(), nullable=True),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_details', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_external_tasks_instance_id', 'external_tasks', ['instance_id'])
    op.create_index('ix_external_tasks_topic', 'external_tasks', ['topic', 'lock_expires_at'])
    op.create_table(
        'external_topics',
        sa.Column('topic', sa.String(200), primary_key=True),
        sa.Column('last_worker_id', sa.String(200), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('external_topics')
    op.drop_index('ix_external_tasks_topic', table_name='external_tasks')
    op.drop_index('ix_external_tasks_instance_id', table_name='external_tasks')
    op.drop_table('external_tasks')
