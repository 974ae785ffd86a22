"""history lifetime: a process's history time-to-live, and ended instances found by end time

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 06:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('definitions') as batch:
        batch.add_column(sa.Column('history_ttl_days', sa.Integer(), nullable=True))
    op.create_index('ix_instances_ended_at', 'instances', ['ended_at'])


def downgrade() -> None:
    op.drop_index('ix_instances_ended_at', table_name='instances')
    with op.batch_alter_table('definitions') as batch:
        batch.drop_column('history_ttl_days')
