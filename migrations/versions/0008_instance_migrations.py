"""instance migrations: the record of each instance moved between versions, and batches

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instance_migrations',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('instance_id', sa.String(36), nullable=False),
        sa.Column('process_key', sa.String(200), nullable=False),
        sa.Column('source_definition_id', sa.String(36), nullable=False),
        sa.Column('target_definition_id', sa.String(36), nullable=False),
        sa.Column('from_version', sa.Integer(), nullable=False),
        sa.Column('to_version', sa.Integer(), nullable=False),
        sa.Column('instructions', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(200), nullable=True),
        sa.Column('batch_id', sa.String(36), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_instance_migrations_instance_id', 'instance_migrations',
                    ['instance_id'])
    op.create_index('ix_instance_migrations_batch_id', 'instance_migrations', ['batch_id'])
    op.create_index('ix_instance_migrations_created_at', 'instance_migrations',
                    ['created_at'])
    op.create_table(
        'migration_batches',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('source_definition_id', sa.String(36), nullable=False),
        sa.Column('target_definition_id', sa.String(36), nullable=False),
        sa.Column('instructions', sa.JSON(), nullable=False),
        sa.Column('dry_run', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('failed', sa.Integer(), nullable=False),
        sa.Column('failures', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(200), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table('migration_batches')
    op.drop_index('ix_instance_migrations_created_at', table_name='instance_migrations')
    op.drop_index('ix_instance_migrations_batch_id', table_name='instance_migrations')
    op.drop_index('ix_instance_migrations_instance_id', table_name='instance_migrations')
    op.drop_table('instance_migrations')
