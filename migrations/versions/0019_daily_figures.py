"""daily figures: the dashboard's days added up once per process and day

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-03 12:10:00

``day_figures`` holds, per day and process, the instances started, how many of those have
completed, the instances completed and their durations (sum, maximum and a histogram with
buckets 10 % wide), added up incrementally behind the ``days`` watermark of ``stat_marks``
(engine/daily.py) and filled on first use. The dashboard reads at most 14 rows per process.
"""

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'day_figures',
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('process_key', sa.String(200), primary_key=True),
        sa.Column('started', sa.BigInteger(), nullable=False),
        sa.Column('started_completed', sa.BigInteger(), nullable=False),
        sa.Column('completed', sa.BigInteger(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('max_seconds', sa.Float(), nullable=False),
        sa.Column('buckets', sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('day_figures')
