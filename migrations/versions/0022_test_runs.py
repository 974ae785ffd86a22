"""test runs: the console's "Run tests" queued as jobs, with their results

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 14:30:00

One row per run a person asked for: queued, running, then finished (the results of every
test file, as JSON) or stopped (the limit it went past). Only the newest runs of a version
are kept.
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'test_runs',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('definition_id', sa.String(36), nullable=False),
        sa.Column('requested_by', sa.String(200), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('results', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_test_runs_definition_created', 'test_runs',
                    ['definition_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_test_runs_definition_created', table_name='test_runs')
    op.drop_table('test_runs')
